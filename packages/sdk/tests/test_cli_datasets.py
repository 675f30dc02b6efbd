"""``dn train datasets`` and ``dn train sft|rl --dataset FILE`` against a scripted API.

A bad file must fail here, with the validator's own words and line numbers, before any request;
a good one is uploaded as it is, and a job made from a file names the dataset the upload made.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dreadnode.cli.datasets import PROGRESS_MIN_BYTES, SHOWN_LINE_ERRORS
from dreadnode.cli.submit import local_dataset_path
from dreadnode.training.datasets import check_dataset_file, describe_dataset_problems

from .conftest import JOBS, DnRunner, console_script, dn_environment, write_grader
from .fake_api import (
    FakeAPI,
    Reply,
    dataset_json,
    envelope,
    job_json,
    unknown_estimate_json,
    validation_json,
)

DATASETS = "/api/v1/training/datasets"
DATASET_ID = "ds-0123456789abcdef01234567"
USER = {"role": "user", "content": "What is 2+2?"}
CHAT_ROW = {"messages": [USER, {"role": "assistant", "content": "4"}]}
TYPO_ROW = {"messages": [USER, {"role": "asistant", "content": "4"}]}
PROMPT_ROW = {"prompt": "What is 2+2?", "metadata": {"answer": 4}}


def _env(api: FakeAPI) -> dict[str, str]:
    return {"DREADNODE_SERVER_URL": api.url, "DREADNODE_API_KEY": "t0ken"}


def _write(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _answer(path: Path, **changes: Any) -> dict[str, Any]:
    """The API's answer to uploading ``path``: the figures its check of these bytes gives."""
    check = check_dataset_file(path)
    figures = {
        "format": str(check.format),
        "rows": check.rows,
        "bytes": check.bytes,
        "sha256": check.sha256,
        "longest_row_bytes": check.longest_row_bytes,
        "longest_row_line": check.longest_row_line,
    }
    return dataset_json(DATASET_ID, **{**figures, **changes})


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return _write(tmp_path / "good.jsonl", CHAT_ROW, CHAT_ROW, CHAT_ROW)


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    return _write(tmp_path / "bad.jsonl", CHAT_ROW, TYPO_ROW, CHAT_ROW)


# --- upload ---------------------------------------------------------------------------------


def test_upload_sends_the_file_and_prints_the_id(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    fake_api.script("POST", DATASETS, Reply(201, _answer(good)))
    result = dn("train", "datasets", "upload", str(good), "--name", "demo", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{DATASET_ID}\n"
    assert result.stderr == (
        f"uploaded {good} as {DATASET_ID}: 3 chat rows, 297 B; longest row: line 1, 98 bytes\n"
    )
    (seen,) = fake_api.requests
    assert (seen.raw, seen.query) == (good.read_bytes(), {"name": ["demo"]})


def test_upload_json_prints_the_dataset(dn: DnRunner, fake_api: FakeAPI, good: Path) -> None:
    fake_api.script("POST", DATASETS, Reply(200, _answer(good)))
    result = dn("train", "datasets", "upload", str(good), "--json", env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == _answer(good)


def test_upload_warns_when_the_server_got_other_bytes_than_were_checked(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    fake_api.script("POST", DATASETS, Reply(201, _answer(good, rows=4, sha256="ab" * 32)))
    result = dn("train", "datasets", "upload", str(good), env=_env(fake_api))
    assert result.returncode == 0
    assert result.stderr.splitlines()[0] == (
        f"warning: {good} changed after it was checked here; the server checked and kept the "
        "bytes it received (4 rows, sha256 abababababab)"
    )


def test_upload_of_bytes_already_there_says_when(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    fake_api.script("POST", DATASETS, Reply(200, _answer(good)))
    result = dn("train", "datasets", "upload", str(good), env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(
        f"{good} was already uploaded as {DATASET_ID} on 2026-11-22 22:00:00Z: "
    )


def test_bad_file_fails_here_with_the_validators_words_and_sends_nothing(
    dn: DnRunner, fake_api: FakeAPI, bad: Path
) -> None:
    result = dn("train", "datasets", "upload", str(bad), env=_env(fake_api))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        f"error: {bad}: 1 of 3 lines is not a valid chat row",
        "  line 2: messages.1.role: Unknown role 'asistant'; expected 'system', 'user', "
        "'assistant' or 'tool' (did you mean 'assistant'?)",
    ]
    assert fake_api.requests == []


def test_bad_file_json_is_the_servers_422_envelope(
    dn: DnRunner, fake_api: FakeAPI, bad: Path
) -> None:
    result = dn("train", "datasets", "upload", str(bad), "--json", env=_env(fake_api))
    check = check_dataset_file(bad)
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "code": 422,
        "detail": describe_dataset_problems(check),
        "type": "invalid_dataset",
        "errors": [
            {
                "loc": ["body", "line", 2, "messages", 1, "role"],
                "msg": check.errors[0].msg,
                "type": "invalid_role",
            }
        ],
    }
    assert result.stderr == f"error: {bad}: 1 of 3 lines is not a valid chat row\n"
    assert fake_api.requests == []


def test_many_bad_lines_show_the_first_few_and_the_count(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    file = _write(tmp_path / "typos.jsonl", CHAT_ROW, *[TYPO_ROW] * 250)
    human = dn("train", "datasets", "upload", str(file), env=_env(fake_api))
    lines = human.stderr.splitlines()
    assert lines[0] == (
        f"error: {file}: 250 of 251 lines are not valid chat rows; "
        f"the first {SHOWN_LINE_ERRORS} are listed"
    )
    assert [line.split(":")[0] for line in lines[1:-1]] == [
        f"  line {n}" for n in range(2, 2 + SHOWN_LINE_ERRORS)
    ]
    assert lines[-1] == "  (--json lists the first 100)"
    machine = json.loads(dn("train", "datasets", "upload", str(file), "--json").stdout)
    assert machine["detail"] == "250 of 251 lines are not valid chat rows; the first 100 are listed"
    assert len(machine["errors"]) == 100
    assert fake_api.requests == []


def test_empty_file_says_it_has_no_rows(dn: DnRunner, fake_api: FakeAPI, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    result = dn("train", "datasets", "upload", str(empty), env=_env(fake_api))
    assert (result.returncode, result.stderr) == (
        2,
        f"error: {empty}: The file has no rows: it is empty or every line is blank\n",
    )


@pytest.mark.parametrize("name", ["missing.jsonl", "."])
def test_path_that_is_no_file_is_usage_error(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    result = dn("train", "datasets", "upload", str(path), env=_env(fake_api))
    assert result.returncode == 2
    expected = "no such file" if name != "." else "is a directory, not a JSONL file"
    assert result.stderr.startswith("error: FILE: ")
    assert expected in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert fake_api.requests == []


def test_format_given_holds_every_row_to_it(dn: DnRunner, fake_api: FakeAPI, good: Path) -> None:
    result = dn("train", "datasets", "upload", str(good), "--format", "text", env=_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {good}: 3 of 3 lines are not valid text rows")
    assert fake_api.requests == []


def test_server_refusing_a_file_this_dn_passed_shows_its_lines(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    errors = [{"loc": ["body", "line", 3, "messages"], "msg": "No tools here",
               "type": "unsupported"}]  # fmt: skip
    fake_api.script("POST", DATASETS, envelope(422, "1 of 3 lines ...", "invalid_dataset", errors))
    result = dn("train", "datasets", "upload", str(good), env=_env(fake_api))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: the API refused {good}: 1 of 3 lines ...",
        "  line 3: messages: No tools here",
        "  this dn checked the file and found it good: is it older than the server?",
    ]


def test_upload_without_a_server_checks_the_file_first(dn: DnRunner, bad: Path) -> None:
    """No server configured: a bad file is still judged (the check needs none)."""
    result = dn("train", "datasets", "upload", str(bad))
    assert result.returncode == 2
    assert "1 of 3 lines is not a valid chat row" in result.stderr


def _dn_with_stderr_on_terminal(
    *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``dn`` with stderr on a pseudo-terminal (where progress bars go); stdout is a pipe."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [console_script("dn"), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=dn_environment({"TERM": "xterm", "COLUMNS": "120", **env}),
    )
    os.close(terminal)
    shown = bytearray()
    while select.select([controller], [], [], 60)[0]:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    process.stdout.close()
    code = process.wait(timeout=60)
    os.close(controller)
    return subprocess.CompletedProcess(process.args, code, stdout, shown.decode(errors="replace"))


def test_large_file_shows_progress_on_a_terminal_only(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    big = tmp_path / "big.jsonl"
    line = json.dumps({"text": "y" * 4000}) + "\n"
    big.write_text(line * (PROGRESS_MIN_BYTES // len(line) + 1))
    fake_api.script("POST", DATASETS, Reply(201, _answer(big)))
    on_terminal = _dn_with_stderr_on_terminal(
        "train", "datasets", "upload", str(big), env=_env(fake_api)
    )
    assert on_terminal.returncode == 0, on_terminal.stderr
    assert "checking big.jsonl" in on_terminal.stderr
    assert "uploading big.jsonl" in on_terminal.stderr
    assert on_terminal.stdout == f"{DATASET_ID}\n"
    piped = dn("train", "datasets", "upload", str(big), env=_env(fake_api))
    assert piped.returncode == 0, piped.stderr
    assert len(piped.stderr.splitlines()) == 1  # the summary alone: no bar in a pipe
    assert "checking" not in piped.stderr
    small = _dn_with_stderr_on_terminal(
        "train", "datasets", "upload", str(_write(tmp_path / "s.jsonl", CHAT_ROW)),
        env=_env(fake_api),
    )  # fmt: skip
    assert small.returncode == 0
    assert "checking" not in small.stderr
    assert [seen.raw for seen in fake_api.requests][:2] == [big.read_bytes()] * 2


# --- list, get, delete ----------------------------------------------------------------------


def test_list_shows_a_table_and_json(dn: DnRunner, fake_api: FakeAPI) -> None:
    page = {"datasets": [dataset_json(DATASET_ID, bytes=12_345_678, rows=9000)], "total": 4,
            "limit": 1, "offset": 0}  # fmt: skip
    fake_api.script("GET", DATASETS, Reply(200, page))
    table = dn("train", "datasets", "list", "--limit", "1", env=_env(fake_api))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "format", "rows", "size", "created"]
    assert lines[1].split() == [DATASET_ID, "demo", "chat", "9,000", "12.3", "MB",
                                "2026-11-22", "22:00:00Z"]  # fmt: skip
    assert lines[-1] == "showing 1 of 4 (raise --limit, up to 100, to see more)"
    as_json = dn("train", "datasets", "list", "--json", env=_env(fake_api))
    assert json.loads(as_json.stdout) == page
    assert [seen.query for seen in fake_api.requests] == [{"limit": ["1"]}, {"limit": ["20"]}]


def test_list_with_none_says_how_to_upload(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", DATASETS, Reply(200, {"datasets": [], "total": 0, "limit": 20}))
    result = dn("train", "datasets", "list", env=_env(fake_api))
    assert result.stdout == "No datasets; upload one with: dn train datasets upload FILE\n"


def test_get_shows_the_figures(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", f"{DATASETS}/{DATASET_ID}", Reply(200, dataset_json(DATASET_ID)))
    result = dn("train", "datasets", "get", DATASET_ID, env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    shown = dict(line.split("  ", 1) for line in result.stdout.splitlines())
    assert {k.strip(): v.strip() for k, v in shown.items()} == {
        "id": DATASET_ID,
        "name": "demo",
        "format": "chat",
        "rows": "3",
        "size": "312 B (312 bytes)",
        "longest row": "line 2: 120 bytes (up to 120 tokens)",
        "sha256": "ab" * 32,
        "created": "2026-11-22 22:00:00Z",
        "tokens": "pending: a worker counts them after the upload (the sizes above are bounds)",
    }
    as_json = dn("train", "datasets", "get", DATASET_ID, "--json", env=_env(fake_api))
    assert json.loads(as_json.stdout) == dataset_json(DATASET_ID)


def test_get_shows_the_exact_tokens_per_renderer(dn: DnRunner, fake_api: FakeAPI) -> None:
    counts = [
        {"renderer": "qwen3", "models": ["Qwen/Qwen3-8B", "Qwen/Qwen3-32B"],
         "tokens_processed": 12345, "tokens_trained": 2345, "longest_row_tokens": 812,
         "longest_row_line": 2, "error": None},
        {"renderer": "gpt_oss_no_sysprompt", "models": ["openai/gpt-oss-20b"],
         "tokens_processed": None, "tokens_trained": None, "longest_row_tokens": None,
         "longest_row_line": None, "error": "line 3: a tool message"},
    ]  # fmt: skip
    ready = dataset_json(DATASET_ID, token_counts_status="ready", token_counts=counts)
    fake_api.script("GET", f"{DATASETS}/{DATASET_ID}", Reply(200, ready))
    result = dn("train", "datasets", "get", DATASET_ID, env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "tokens       exact, per renderer (below)" in lines
    table = [line.split() for line in lines[lines.index("") + 1 :]]
    assert table == [
        ["renderer", "tokens", "trained", "longest", "row", "models"],
        ["qwen3", "12,345", "2,345", "812", "(line", "2)", "2"],
        ["gpt_oss_no_sysprompt", "-", "-", "line", "3:", "a", "tool", "message", "1"],
    ]


@pytest.mark.parametrize(
    ("status", "error", "shown"),
    [
        (
            "failed",
            "the dataset store could not be read",
            "failed: the dataset store could not be read",
        ),
        ("unavailable", "prompt datasets are for RL", "unavailable: prompt datasets are for RL"),
    ],
)
def test_get_says_why_there_are_no_exact_tokens(
    dn: DnRunner, fake_api: FakeAPI, status: str, error: str, shown: str
) -> None:
    dataset = dataset_json(DATASET_ID, token_counts_status=status, token_counts_error=error)
    fake_api.script("GET", f"{DATASETS}/{DATASET_ID}", Reply(200, dataset))
    result = dn("train", "datasets", "get", DATASET_ID, env=_env(fake_api))
    assert f"tokens       {shown}" in result.stdout.splitlines()


def test_get_shows_control_characters_as_escapes(dn: DnRunner, fake_api: FakeAPI) -> None:
    named = dataset_json(DATASET_ID, name="evil\x1b[2Jname\u202e")
    fake_api.script("GET", f"{DATASETS}/{DATASET_ID}", Reply(200, named))
    result = dn("train", "datasets", "get", DATASET_ID, env=_env(fake_api))
    assert "name         evil\\x1b[2Jname\\u202e\n" in result.stdout
    assert "\x1b" not in result.stdout


def test_get_unknown_is_one_line_exit_1(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script(
        "GET", f"{DATASETS}/ds-x", envelope(404, "Dataset 'ds-x' not found", "not_found")
    )
    result = dn("train", "datasets", "get", "ds-x", env=_env(fake_api))
    assert (result.returncode, result.stderr) == (1, "error: Dataset 'ds-x' not found\n")


@pytest.mark.parametrize("command", ["get", "delete"])
def test_a_path_is_not_a_dataset_id(dn: DnRunner, fake_api: FakeAPI, command: str) -> None:
    extra = "--yes" if command == "delete" else "--json"
    result = dn("train", "datasets", command, "./train.jsonl", extra, env=_env(fake_api))
    assert result.returncode == 2
    assert "is not a dataset id" in result.stderr
    assert "dn train datasets upload FILE" in result.stderr
    assert fake_api.requests == []


def test_delete_asks_and_refuses_without_a_terminal(dn: DnRunner, fake_api: FakeAPI) -> None:
    path = f"{DATASETS}/{DATASET_ID}"
    fake_api.script("DELETE", path, Reply(204))
    refused = dn("train", "datasets", "delete", DATASET_ID, env=_env(fake_api))
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert fake_api.requests == []
    deleted = dn("train", "datasets", "delete", DATASET_ID, "--yes", env=_env(fake_api))
    assert (deleted.returncode, deleted.stdout) == (0, f"deleted dataset {DATASET_ID}\n")
    as_json = dn("train", "datasets", "delete", DATASET_ID, "-y", "--json", env=_env(fake_api))
    assert json.loads(as_json.stdout) == {"id": DATASET_ID, "deleted": True}
    assert len(fake_api.seen("DELETE", path)) == 2


def test_delete_in_use_is_one_line_exit_1(dn: DnRunner, fake_api: FakeAPI) -> None:
    detail = "Dataset 'ds-1' is used by 1 queued or running job: job-1"
    fake_api.script("DELETE", f"{DATASETS}/ds-1", envelope(409, detail, "dataset_in_use"))
    result = dn("train", "datasets", "delete", "ds-1", "--yes", env=_env(fake_api))
    assert (result.returncode, result.stderr) == (1, f"error: {detail}\n")


# --- dn train sft|rl --dataset --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("ds-0123456789abcdef01234567", False),
        ("s3://bucket/train.jsonl", False),
        ("https://example.com/train.jsonl", False),
        ("my-dataset", False),
        ("./train.jsonl", True),
        ("../data/train.jsonl", True),
        ("data/train.jsonl", True),
        ("/home/me/train.jsonl", True),
        ("~/train.jsonl", True),
        ("train.jsonl", True),
        ("file:///home/me/train%20set.jsonl", True),
    ],
)
def test_local_path_or_id_or_uri(value: str, local: bool) -> None:
    path = local_dataset_path(value)
    assert (path is not None) is local
    if value.startswith("file://"):
        assert path == Path("/home/me/train set.jsonl")


def test_bare_name_of_an_existing_file_is_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "mydata", CHAT_ROW)
    monkeypatch.chdir(tmp_path)
    assert local_dataset_path("mydata") == Path("mydata")


def _sft(dn: DnRunner, api: FakeAPI, dataset: str, *args: str) -> subprocess.CompletedProcess[str]:
    return dn("train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", dataset, *args,
              env=_env(api))  # fmt: skip


def test_sft_with_a_file_uploads_it_then_creates_the_job_with_its_id(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    fake_api.script("POST", DATASETS, Reply(201, _answer(good)))
    fake_api.script("POST", JOBS, Reply(201, job_json("job-9", dataset=DATASET_ID)))
    result = _sft(dn, fake_api, str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "job-9\n"
    upload, create = fake_api.requests
    assert (upload.path, upload.raw) == (DATASETS, good.read_bytes())
    assert (create.path, create.body["dataset"]) == (JOBS, DATASET_ID)
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"uploaded {good} as {DATASET_ID}: 3 chat rows")
    assert lines[1].startswith("created sft job job-9")


@pytest.mark.parametrize(
    "dataset", [DATASET_ID, "s3://bucket/train.jsonl", "https://example.com/t.jsonl", "d"]
)
def test_sft_passes_ids_and_uris_through_unchanged(
    dn: DnRunner, fake_api: FakeAPI, dataset: str
) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-9", dataset=dataset)))
    result = _sft(dn, fake_api, dataset)
    assert result.returncode == 0, result.stderr
    (create,) = fake_api.requests
    assert create.body["dataset"] == dataset


def test_sft_with_a_bad_file_fails_here_and_sends_nothing(
    dn: DnRunner, fake_api: FakeAPI, bad: Path
) -> None:
    result = _sft(dn, fake_api, str(bad))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[:2] == [
        f"error: {bad}: 1 of 3 lines is not a valid chat row",
        "  line 2: messages.1.role: Unknown role 'asistant'; expected 'system', 'user', "
        "'assistant' or 'tool' (did you mean 'assistant'?)",
    ]
    assert fake_api.requests == []


def test_sft_with_prompt_rows_is_refused_before_upload(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", PROMPT_ROW, PROMPT_ROW)
    result = _sft(dn, fake_api, str(prompts))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: --dataset: {prompts} holds prompt rows, which train rl jobs, not sft",
        f"  submit it with: dn train rl --dataset {prompts} ...",
    ]
    assert fake_api.requests == []


def test_rl_with_prompt_rows_uploads_them(dn: DnRunner, fake_api: FakeAPI, tmp_path: Path) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", PROMPT_ROW)
    fake_api.script("POST", DATASETS, Reply(201, _answer(prompts)))
    fake_api.script("POST", JOBS, Reply(201, job_json(method="rl", algorithm="ppo")))
    grader = write_grader(tmp_path, {"type": "numeric", "field": "metadata.answer"})
    result = dn("train", "rl", "--model", "Qwen/Qwen3-8B", "--dataset", str(prompts),
                "--algorithm", "ppo", "--grader", grader, env=_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[1].body["dataset"] == DATASET_ID
    assert fake_api.requests[1].body["grader"] == {"type": "numeric", "field": "metadata.answer"}


def test_sft_with_a_missing_file_says_so(dn: DnRunner, fake_api: FakeAPI, tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = _sft(dn, fake_api, str(missing))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"error: --dataset: no such file: '{missing}'"
    assert fake_api.requests == []


def test_job_refused_after_the_upload_says_how_to_reuse_it(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    fake_api.script("POST", DATASETS, Reply(201, _answer(good)))
    fake_api.script("POST", JOBS, envelope(422, "learning_rate: too large", "validation_error"))
    result = _sft(dn, fake_api, str(good), "--learning-rate", "5")
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        "error: learning_rate: too large",
        f"  the dataset is uploaded: use it with --dataset {DATASET_ID}",
    ]


def test_dry_run_with_a_file_checks_it_and_uploads_nothing(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    unchecked = {"loc": ["body", "dataset"], "msg": "not checked", "type": "dataset_not_checked"}
    answer = {"valid": True, "errors": [], "warnings": [unchecked],
              "hyperparameters": {"lora_rank": 32}, "adapter_parameters": 92286976}  # fmt: skip
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = _sft(dn, fake_api, str(good), "--dry-run")
    assert result.returncode == 0, result.stderr
    (validate,) = fake_api.requests  # no upload, no job
    sha256 = check_dataset_file(good).sha256
    assert validate.body["dataset"] == f"s3://dn-dry-run/{sha256}.jsonl"
    assert result.stderr == (
        f"checked {good} here: 3 chat rows; longest row: line 1, 98 bytes (dry run: not uploaded)\n"
    )
    assert result.stdout.startswith("valid: ")


def test_dry_run_warns_of_a_row_longer_than_the_context(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    long_row = {"messages": [USER, {"role": "assistant", "content": "four " * 100}]}
    file = _write(tmp_path / "long.jsonl", CHAT_ROW, long_row)
    answer = {"valid": True, "errors": [], "hyperparameters": {"max_sequence_length": 256}}
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = _sft(dn, fake_api, str(file), "--dry-run", "--max-sequence-length", "256")
    assert result.returncode == 0, result.stderr
    size = check_dataset_file(file).longest_row_bytes
    assert f"warning: {file}: line 2 has up to {size:,} tokens" in result.stderr
    assert "more than max_sequence_length 256, so it may not fit" in result.stderr
    roomy = _sft(dn, fake_api, str(file), "--dry-run")  # Qwen3-8B's 32,768 tokens: it fits
    assert "warning" not in roomy.stderr


def test_dry_run_with_a_file_says_its_tokens_are_counted_once_it_is_uploaded(
    dn: DnRunner, fake_api: FakeAPI, good: Path
) -> None:
    stand_in = f"s3://dn-dry-run/{check_dataset_file(good).sha256}.jsonl"
    not_held = (
        f"the platform does not hold dataset {stand_in!r}, so its tokens are not known "
        "(upload it with `dn train datasets upload FILE` to have them counted)"
    )
    answer = validation_json(**unknown_estimate_json(not_held))
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = _sft(dn, fake_api, str(good), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "estimated cost: unknown (the exact tokens are counted once the file is uploaded: "
        f"dn train datasets upload {good})"
    )
    assert "dn-dry-run" not in result.stdout + result.stderr  # the stand-in is dn's, not theirs


def test_dry_run_with_a_file_keeps_a_reason_that_is_not_about_the_file(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", PROMPT_ROW)
    sampled = (
        "an RL job's tokens depend on what the model samples, so they are known only as it runs"
    )
    answer = validation_json(**unknown_estimate_json(sampled))
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    grader = write_grader(tmp_path, {"type": "numeric", "field": "metadata.answer"})
    result = dn("train", "rl", "--model", "Qwen/Qwen3-8B", "--dataset", str(prompts),
                "--grader", grader, "--dry-run", env=_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"estimated cost: unknown ({sampled})"
