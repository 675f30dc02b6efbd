"""Jobs on datasets, through a real server on every backend: a job names a dataset id of its
owner's (its rows and a token bound recorded), a URI with a warning, never a local path; an
unknown, foreign or mismatched dataset is refused with the job's other errors and no job row;
a row longer than the context is warned about."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import column, select, table

from .conftest import GRADER, Api, envelope
from .test_datasets import chat_file, chat_row, jsonl, uploaded

SFT = {"base_model": "Qwen/Qwen3-8B", "method": "sft"}
RL = {"base_model": "Qwen/Qwen3-8B", "method": "rl", "grader": GRADER}


def refused(api: Api, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors a creation answers (422, no job written), checked to be validation's too."""
    before = (api.count("jobs"), api.count("job_events"))
    with api.client() as client:
        response = client.post("/training/jobs", json=body)
        verdict = client.post("/training/jobs/validate", json=body).json()
    errors: list[dict[str, Any]] = envelope(response, 422, "validation_error")["errors"]
    assert (verdict["valid"], verdict["errors"]) == (False, errors)
    assert (api.count("jobs"), api.count("job_events")) == before
    return errors


def stored_job(api: Api, job_id: str) -> dict[str, Any]:
    jobs = table("jobs", column("id"), column("dataset_id"), column("dataset_rows"))
    jobs.append_column(column("training_tokens_bound"))
    with api.engine.connect() as connection:
        row = connection.execute(select(jobs).where(jobs.c.id == job_id)).one()
    return dict(row._mapping)


def test_job_on_an_uploaded_dataset_records_its_rows_and_token_bound(api: Api) -> None:
    dataset = uploaded(api, chat_file(rows=7))
    body = {**SFT, "dataset": dataset["id"], "hyperparameters": {"epochs": 3}}
    with api.client() as client:
        created = client.post("/training/jobs", json=body)
        read = client.get(f"/training/jobs/{created.json()['id']}")
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["warnings"] == []  # checked at upload: nothing to warn of
    assert (job["dataset"], job["dataset_rows"]) == (dataset["id"], 7)
    assert job["training_tokens_bound"] == dataset["bytes"] * 3
    assert read.json()["training_tokens_bound"] == dataset["bytes"] * 3
    assert stored_job(api, job["id"]) == {
        "id": job["id"],
        "dataset_id": dataset["id"],
        "dataset_rows": 7,
        "training_tokens_bound": dataset["bytes"] * 3,
    }


def test_job_without_epochs_bounds_tokens_by_one_pass(api: Api) -> None:
    dataset = uploaded(api, chat_file())
    with api.client() as client:
        job = client.post("/training/jobs", json={**SFT, "dataset": dataset["id"]}).json()
    assert job["training_tokens_bound"] == dataset["bytes"]


def test_rl_job_on_a_prompt_dataset_is_accepted(api: Api) -> None:
    rows = [{"prompt": f"Solve {secrets.token_hex(4)}.", "answer": "4"}]
    dataset = uploaded(api, jsonl(rows))
    with api.client() as client:
        created = client.post("/training/jobs", json={**RL, "dataset": dataset["id"]})
    assert created.status_code == 201, created.text
    assert created.json()["dataset_rows"] == 1
    # It trains on the completions it samples, which the file's bytes do not bound.
    assert created.json()["training_tokens_bound"] is None


def test_job_on_an_unknown_dataset_is_refused(api: Api) -> None:
    errors = refused(api, {**SFT, "dataset": "ds-000000000000000000000000"})
    assert errors == [
        {
            "loc": ["body", "dataset"],
            "msg": "Unknown dataset 'ds-000000000000000000000000': none of your datasets has "
            "that id (`dn train datasets list` shows them)",
            "type": "unknown_dataset",
        }
    ]


def test_job_on_another_owners_dataset_is_refused_as_unknown(api: Api) -> None:
    theirs = uploaded(api, chat_file(), token="bob")
    errors = refused(api, {**SFT, "dataset": theirs["id"]})
    assert [(error["loc"], error["type"]) for error in errors] == [
        (["body", "dataset"], "unknown_dataset")
    ]


def test_dataset_errors_come_with_the_jobs_other_errors(api: Api) -> None:
    body = {
        "base_model": "Qwen/Qwen3-8B-Typo",
        "method": "sft",
        "dataset": "ds-000000000000000000000000",
        "hyperparameters": {"epochs": 0},
    }
    errors = refused(api, body)
    assert sorted(error["type"] for error in errors) == [
        "greater_than_equal",
        "unknown_base_model",
        "unknown_dataset",
    ]


@pytest.mark.parametrize(
    ("method", "content", "message"),
    [
        (
            "sft",
            lambda: jsonl([{"prompt": f"Solve {secrets.token_hex(4)}."}]),
            "holds prompt rows, which train with method 'rl'; method 'sft' takes chat, "
            "prompt_completion or text rows",
        ),
        (
            "rl",
            chat_file,
            "holds chat rows, which train with method 'sft'; method 'rl' takes prompt rows",
        ),
    ],
)
def test_job_on_a_dataset_of_the_wrong_format_is_refused(
    api: Api, method: str, content: Callable[[], bytes], message: str
) -> None:
    dataset = uploaded(api, content())
    grader = {"grader": GRADER} if method == "rl" else {}
    errors = refused(api, {**SFT, "method": method, "dataset": dataset["id"], **grader})
    assert errors == [
        {
            "loc": ["body", "dataset"],
            "msg": f"Dataset {dataset['id']!r} {message}",
            "type": "dataset_format_mismatch",
        }
    ]


@pytest.mark.parametrize(
    "path",
    [
        "./train.jsonl",
        "train.jsonl",
        "/home/me/data/train.jsonl",
        "~/train.jsonl",
        "file:///home/me/train.jsonl",
        "C:\\Users\\me\\train.jsonl",
    ],
)
def test_job_on_a_local_path_is_refused_with_the_upload_command(api: Api, path: str) -> None:
    errors = refused(api, {**SFT, "dataset": path})
    assert errors == [
        {
            "loc": ["body", "dataset"],
            "msg": f"Dataset {path!r} is not a dataset id or an s3:// or https:// URI, and a "
            "path on your machine cannot be read by the platform: upload the file with "
            "`dn train datasets upload FILE` and pass the id it prints",
            "type": "local_dataset_path",
        }
    ]


@pytest.mark.parametrize(
    "uri", ["s3://bucket/train.jsonl", "https://example.com/train.jsonl", "S3://Bucket/x"]
)
def test_job_on_a_uri_is_accepted_with_a_warning(api: Api, uri: str) -> None:
    with api.client() as client:
        created = client.post("/training/jobs", json={**SFT, "dataset": uri})
    assert created.status_code == 201, created.text
    job = created.json()
    assert [warning["type"] for warning in job["warnings"]] == ["dataset_not_checked"]
    assert job["warnings"][0]["loc"] == ["body", "dataset"]
    assert (job["dataset"], job["dataset_rows"], job["training_tokens_bound"]) == (uri, None, None)
    assert stored_job(api, job["id"])["dataset_id"] is None


def _long_row_file(row_bytes: int) -> tuple[bytes, int]:
    """A chat file whose second line is the longest, ``row_bytes`` long."""
    short = json.dumps(chat_row(secrets.token_hex(8)))
    fill = row_bytes - len(json.dumps(chat_row("")))
    long = json.dumps(chat_row("z" * fill))
    assert len(long.encode()) == row_bytes
    return (short + "\n" + long + "\n" + short + "\n").encode(), 2


def test_job_warns_when_a_row_may_exceed_its_context(api: Api) -> None:
    content, line = _long_row_file(5000)
    dataset = uploaded(api, content)
    assert (dataset["longest_row_bytes"], dataset["longest_row_line"]) == (5000, line)
    body = {**SFT, "dataset": dataset["id"], "hyperparameters": {"max_sequence_length": 4096}}
    with api.client() as client:
        created = client.post("/training/jobs", json=body)
        roomy = client.post(
            "/training/jobs",
            json={**body, "hyperparameters": {"max_sequence_length": 8192}},
        )
        model_context = client.post("/training/jobs", json={**SFT, "dataset": dataset["id"]})
    assert created.status_code == 201  # a warning, not a refusal: the row may well fit
    assert created.json()["warnings"] == [
        {
            "loc": ["body", "dataset"],
            "msg": f"Dataset {dataset['id']!r}: line 2 has up to 5,000 tokens (its bytes; a "
            "token takes at least one), more than max_sequence_length 4,096, so it may not fit",
            "type": "dataset_row_may_exceed_context",
        }
    ]
    assert roomy.json()["warnings"] == []
    assert model_context.json()["warnings"] == []  # Qwen3-8B's own context: 32,768 tokens


def test_job_without_a_length_is_judged_by_the_models_context(api: Api) -> None:
    content, _ = _long_row_file(40_000)
    dataset = uploaded(api, content)
    with api.client() as client:
        created = client.post("/training/jobs", json={**SFT, "dataset": dataset["id"]})
    (warning,) = created.json()["warnings"]
    assert warning["type"] == "dataset_row_may_exceed_context"
    assert warning["msg"].endswith(
        "more than the context of 'Qwen/Qwen3-8B' (32,768 tokens), so it may not fit"
    )


def test_job_on_a_deleted_dataset_is_refused(api: Api) -> None:
    dataset = uploaded(api, chat_file())
    with api.client() as client:
        assert client.delete(f"/training/datasets/{dataset['id']}").status_code == 204
    errors = refused(api, {**SFT, "dataset": dataset["id"]})
    assert [error["type"] for error in errors] == ["unknown_dataset"]


def _create(api: Api, body: dict[str, Any]) -> int:
    with api.client() as client:
        return client.post("/training/jobs", json=body).status_code


def _delete(api: Api, dataset_id: str) -> int:
    with api.client() as client:
        return client.delete(f"/training/datasets/{dataset_id}").status_code


def test_delete_racing_job_creations_never_leaves_a_job_without_its_dataset(api: Api) -> None:
    # A delete answers 204 only if no queued job uses the dataset, and a creation answers 201
    # only if the dataset is still there: run together, never both.
    for _ in range(3):
        dataset = uploaded(api, chat_file())
        body = {**SFT, "dataset": dataset["id"]}
        with ThreadPoolExecutor(max_workers=9) as pool:
            creations = [pool.submit(_create, api, body) for _ in range(8)]
            deletion = pool.submit(_delete, api, dataset["id"])
            created = [future.result() for future in creations]
        assert set(created) <= {201, 422}, created
        if deletion.result() == 204:
            assert 201 not in created, created
        else:
            assert (deletion.result(), 201 in created) == (409, True)
