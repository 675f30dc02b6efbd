"""Datasets end to end: the real ``dn`` uploading to the real API server, on both deployments.

Each deployment is a server of its own, as it would be run: SQLite with the directory store
beside its file (the embedded default), and PostgreSQL with an S3 store on a real S3 endpoint on
loopback (moto's server; when ``TEST_DATABASE_URL`` is set). The tests read the database and the
store directly, bypassing the API, to prove that a refused file left nothing in either, and that
a bad file never reached the server at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveAPI, console_script, postgres_schema, running_api

MODEL = "Qwen/Qwen3-8B"
#: Small enough to pass a file over it in a test, far above every other file here.
MAX_BYTES = 2_000_000
USER = {"role": "user", "content": "What is 2+2?"}
CHAT_ROW = {"messages": [USER, {"role": "assistant", "content": "4"}]}
LONG_ROW = {"messages": [USER, {"role": "assistant", "content": "It is four. " * 20}]}
TYPO_ROW = {"messages": [USER, {"role": "asistant", "content": "4"}]}


@dataclass(frozen=True)
class Deployment:
    """A running server and what to read behind its back: its database and its store."""

    name: str
    api: LiveAPI
    database_url: str
    env: dict[str, str]

    def count_rows(self, table: str) -> int:
        from sqlalchemy import create_engine, func, select
        from sqlalchemy import table as table_clause

        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                query = select(func.count()).select_from(table_clause(table))
                return int(connection.scalar(query) or 0)
        finally:
            engine.dispose()

    def stored(self) -> list[str]:
        """Every file or object the dataset store holds, staging files included."""
        setting = self.env.get("DREADNODE_API_DATASET_STORE")
        if setting is None:
            from app.datasets.store import default_store_path

            root = default_store_path(self.database_url)
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        import boto3

        bucket = setting.removeprefix("s3://").split("/", 1)[0]
        client = boto3.client(
            "s3",
            endpoint_url=self.env["DREADNODE_API_S3_ENDPOINT_URL"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_REGION"],
        )
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        objects = [item["Key"] for page in pages for item in page.get("Contents", [])]
        staging = Path(self.env["XDG_DATA_HOME"])
        return sorted(objects + [f"staging:{p.name}" for p in staging.rglob("*") if p.is_file()])

    def dn(
        self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The installed ``dn`` against this server, as the user ``e2e``."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE")}
        full_env.update(DREADNODE_SERVER_URL=self.api.url, DREADNODE_API_KEY=self.api.token)
        full_env.update(env or {})
        return subprocess.run(
            [console_script("dn"), *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=cwd,
            timeout=120,
            check=False,
        )


DEPLOYMENTS = [
    "sqlite-directory",
    pytest.param(
        "postgresql-s3",
        marks=pytest.mark.skipif(
            not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set"
        ),
    ),
]


@pytest.fixture(scope="module", params=DEPLOYMENTS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    name: str = request.param
    workdir = tmp_path_factory.mktemp(name)
    settings = {
        "DREADNODE_API_DATASET_MAX_BYTES": str(MAX_BYTES),
        "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0",
    }
    with ExitStack() as stack:
        if name == "sqlite-directory":
            database_url = f"sqlite:///{workdir / 'api.sqlite3'}"
        else:
            from app.testing import MOTO_CREDENTIALS, moto_s3

            database_url = stack.enter_context(
                postgres_schema(os.environ["TEST_DATABASE_URL"], "e2e_datasets")
            )
            endpoint = stack.enter_context(moto_s3("e2e-datasets", workdir / "moto.log"))
            settings.update(
                DREADNODE_API_DATASET_STORE="s3://e2e-datasets/datasets",
                DREADNODE_API_S3_ENDPOINT_URL=endpoint,
                XDG_DATA_HOME=str(workdir / "data"),
                **MOTO_CREDENTIALS,
            )
        api = stack.enter_context(running_api(workdir, DATABASE_URL=database_url, **settings))
        yield Deployment(name, api, database_url, api.env)


def _write(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _figures(path: Path) -> dict[str, Any]:
    """A file's figures worked out here, independently of either validator."""
    data = path.read_bytes()
    lines = data.split(b"\n")[:-1]
    longest = max(range(len(lines)), key=lambda i: (len(lines[i]), -i))
    return {
        "rows": len(lines),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "longest_row_bytes": len(lines[longest]),
        "longest_row_line": longest + 1,
    }


def _upload(deployment: Deployment, path: Path, *args: str) -> dict[str, Any]:
    result = deployment.dn("train", "datasets", "upload", str(path), "--json", *args)
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_good_file_uploads_with_the_right_figures(deployment: Deployment, tmp_path: Path) -> None:
    good = _write(tmp_path / "good.jsonl", CHAT_ROW, LONG_ROW, CHAT_ROW)
    rows_before = deployment.count_rows("datasets")
    dataset = _upload(deployment, good, "--name", "arithmetic")
    assert {key: dataset[key] for key in _figures(good)} == _figures(good)
    assert (dataset["format"], dataset["name"]) == ("chat", "arithmetic")
    assert dataset["id"].startswith("ds-")
    assert dataset["created_at"].endswith("Z")
    assert deployment.count_rows("datasets") == rows_before + 1
    assert any(dataset["sha256"] in key for key in deployment.stored())
    assert not any("staging" in key for key in deployment.stored())

    again = deployment.dn("train", "datasets", "upload", str(good))
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{dataset['id']}\n"  # the same bytes: the same dataset
    assert f"was already uploaded as {dataset['id']}" in again.stderr
    assert deployment.count_rows("datasets") == rows_before + 1


def test_bad_file_fails_here_with_the_servers_words_and_nothing_is_sent(
    deployment: Deployment, tmp_path: Path
) -> None:
    bad = _write(tmp_path / "bad.jsonl", CHAT_ROW, CHAT_ROW, TYPO_ROW)
    rows_before, stored_before = deployment.count_rows("datasets"), deployment.stored()
    local = deployment.dn("train", "datasets", "upload", str(bad))
    assert (local.returncode, local.stdout) == (2, "")
    assert local.stderr.splitlines() == [
        f"error: {bad}: 1 of 3 lines is not a valid chat row",
        "  line 3: messages.1.role: Unknown role 'asistant'; expected 'system', 'user', "
        "'assistant' or 'tool' (did you mean 'assistant'?)",
    ]
    # No server is needed to refuse it: nothing was ever going to be sent.
    offline = deployment.dn(
        "train", "datasets", "upload", str(bad), env={"DREADNODE_SERVER_URL": "http://127.0.0.1:9"}
    )
    assert (offline.returncode, offline.stderr) == (2, local.stderr)
    assert deployment.count_rows("datasets") == rows_before
    assert deployment.stored() == stored_before

    # What dn prints with --json is word for word what the server answers for the same bytes.
    from dreadnode.client import Client, UnprocessableEntityError

    envelope = json.loads(deployment.dn("train", "datasets", "upload", str(bad), "--json").stdout)
    client = Client(server_url=deployment.api.url, api_key=deployment.api.token)
    with client, pytest.raises(UnprocessableEntityError) as refused:
        client.upload_dataset(bad)
    server = refused.value
    assert (server.status, server.type, server.detail, server.errors) == (
        envelope["code"],
        envelope["type"],
        envelope["detail"],
        envelope["errors"],
    )
    assert deployment.count_rows("datasets") == rows_before
    assert deployment.stored() == stored_before


def test_sft_with_a_local_file_uploads_it_and_the_job_names_it(
    deployment: Deployment, tmp_path: Path
) -> None:
    good = _write(tmp_path / "train.jsonl", CHAT_ROW, CHAT_ROW, LONG_ROW, CHAT_ROW)
    created = deployment.dn(
        "train", "sft", "--model", MODEL, "--dataset", "./train.jsonl", "--epochs", "3", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    job = json.loads(created.stdout)
    listing = json.loads(deployment.dn("train", "datasets", "list", "--json").stdout)
    newest = listing["datasets"][0]
    assert newest["sha256"] == _figures(good)["sha256"]
    assert created.stderr.startswith(f"uploaded train.jsonl as {newest['id']}: 4 chat rows")
    assert job["dataset"] == newest["id"]
    assert job["dataset_rows"] == 4
    assert job["training_tokens_bound"] == _figures(good)["bytes"] * 3
    assert not any(w["type"] == "dataset_not_checked" for w in job["warnings"])


def test_sft_with_a_bad_file_writes_nothing(deployment: Deployment, tmp_path: Path) -> None:
    _write(tmp_path / "train.jsonl", CHAT_ROW, TYPO_ROW)
    jobs_before, rows_before = deployment.count_rows("jobs"), deployment.count_rows("datasets")
    result = deployment.dn(
        "train", "sft", "--model", MODEL, "--dataset", "./train.jsonl", cwd=tmp_path
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: train.jsonl: 1 of 2 lines is not a valid chat row\n")
    assert "  line 2: messages.1.role: Unknown role 'asistant'" in result.stderr
    assert (deployment.count_rows("jobs"), deployment.count_rows("datasets")) == (
        jobs_before,
        rows_before,
    )


def test_list_get_and_delete_with_json(deployment: Deployment, tmp_path: Path) -> None:
    first = _upload(deployment, _write(tmp_path / "a.jsonl", CHAT_ROW), "--name", "a")
    second = _upload(deployment, _write(tmp_path / "b.jsonl", CHAT_ROW, CHAT_ROW))
    listing = json.loads(deployment.dn("train", "datasets", "list", "--json").stdout)
    assert [d["id"] for d in listing["datasets"][:2]] == [second["id"], first["id"]]
    assert listing["total"] == deployment.count_rows("datasets")
    table = deployment.dn("train", "datasets", "list", "--limit", "1")
    assert table.stdout.splitlines()[1].split()[:2] == [second["id"], "chat"]

    got = deployment.dn("train", "datasets", "get", first["id"], "--json")
    assert json.loads(got.stdout) == first

    job_id = deployment.dn(
        "train", "sft", "--model", MODEL, "--dataset", first["id"]
    ).stdout.strip()
    in_use = deployment.dn("train", "datasets", "delete", first["id"], "--yes")
    assert in_use.returncode == 1
    assert in_use.stderr.startswith(f"error: Dataset {first['id']!r} ")
    assert job_id in in_use.stderr  # the job that uses it
    assert len(in_use.stderr.splitlines()) == 1
    assert deployment.dn("train", "jobs", "cancel", job_id, "--yes").returncode == 0

    deleted = deployment.dn("train", "datasets", "delete", first["id"], "--yes", "--json")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"id": first["id"], "deleted": True}
    gone = deployment.dn("train", "datasets", "get", first["id"])
    assert (gone.returncode, gone.stderr) == (1, f"error: Dataset {first['id']!r} not found\n")
    assert not any(first["sha256"] in key for key in deployment.stored())
    assert any(second["sha256"] in key for key in deployment.stored())


def test_ids_and_uris_pass_through_and_unknown_ids_are_refused(
    deployment: Deployment, tmp_path: Path
) -> None:
    uri = deployment.dn("train", "sft", "--model", MODEL, "--dataset", "s3://b/t.jsonl", "--json")
    assert uri.returncode == 0, uri.stderr
    job = json.loads(uri.stdout)
    assert (job["dataset"], job["dataset_rows"], job["training_tokens_bound"]) == (
        "s3://b/t.jsonl",
        None,
        None,
    )
    assert [w["type"] for w in job["warnings"]] == ["dataset_not_checked"]
    assert uri.stderr == f"warning: {job['warnings'][0]['msg']}\n"
    jobs_before = deployment.count_rows("jobs")
    unknown = deployment.dn("train", "sft", "--model", MODEL, "--dataset", "ds-" + "0" * 24)
    assert unknown.returncode == 1
    assert "'ds-000000000000000000000000'" in unknown.stderr.splitlines()[0]
    prompts = _upload(deployment, _write(tmp_path / "p.jsonl", {"prompt": "2+2?"}))
    mismatch = deployment.dn("train", "sft", "--model", MODEL, "--dataset", prompts["id"])
    assert mismatch.returncode == 1
    assert "prompt" in mismatch.stderr.splitlines()[0]
    assert deployment.count_rows("jobs") == jobs_before


def test_file_over_the_servers_limit_is_refused_in_one_line(
    deployment: Deployment, tmp_path: Path
) -> None:
    big = tmp_path / "big.jsonl"
    line = json.dumps({"text": "z" * 1000}) + "\n"
    big.write_text(line * (MAX_BYTES // len(line) + 10))
    rows_before, stored_before = deployment.count_rows("datasets"), deployment.stored()
    result = deployment.dn("train", "datasets", "upload", str(big))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert f"{MAX_BYTES:,}" in result.stderr or str(MAX_BYTES) in result.stderr
    assert (deployment.count_rows("datasets"), deployment.stored()) == (rows_before, stored_before)


def test_refused_token_on_an_upload_is_said_as_such(deployment: Deployment, tmp_path: Path) -> None:
    """The server answers before it reads the body; the client must read that answer rather
    than report the connection it then closes."""
    file = tmp_path / "medium.jsonl"
    line = json.dumps({"text": "w" * 1000}) + "\n"
    file.write_text(line * (MAX_BYTES // 2 // len(line)))
    result = deployment.dn(
        "train", "datasets", "upload", str(file), env={"DREADNODE_API_KEY": "dn_wrong"}
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "error: Authentication failed"
