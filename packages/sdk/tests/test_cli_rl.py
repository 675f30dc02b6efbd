"""``dn train rl --grader FILE`` against a scripted API: a good job sends its grader and knobs; a
bad grader, a missing one, a dataset without the grader's field and a knob out of bounds each
fail here in one line, exit 2, with nothing sent; a dry run says what a step samples and how it
is graded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dreadnode.cli.rl import describe_grader
from dreadnode.training.datasets import check_dataset_file

from .conftest import GRADER, JOBS, DnRunner, console_script, dn_environment, write_grader
from .fake_api import (
    PPO_DEFAULTS,
    RL_DEFAULTS,
    FakeAPI,
    Reply,
    dataset_json,
    job_json,
    unknown_estimate_json,
    validation_json,
)

DATASETS = "/api/v1/training/datasets"
DATASET_ID = "ds-0123456789abcdef01234567"
MODEL = ("--model", "Qwen/Qwen3-8B")
SAMPLED = "an RL job's tokens depend on what the model samples, so they are known only as it runs"


def _env(api: FakeAPI) -> dict[str, str]:
    return {"DREADNODE_SERVER_URL": api.url, "DREADNODE_API_KEY": "t0ken"}


def _prompts(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _rl(dn: DnRunner, api: FakeAPI, *args: str) -> subprocess.CompletedProcess[str]:
    return dn("train", "rl", *MODEL, *args, env=_env(api))


def _one_line_and_nothing_sent(result: subprocess.CompletedProcess[str], api: FakeAPI) -> str:
    """The one line ``dn`` failed with (exit 2, nothing on stdout, no request)."""
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert api.requests == []
    (line,) = result.stderr.splitlines()
    return line


# --- a good job ---------------------------------------------------------------------------------


def test_rl_sends_the_grader_and_its_knobs(dn: DnRunner, fake_api: FakeAPI, grader: str) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json(method="rl", algorithm="ppo")))
    result = _rl(
        dn, fake_api, "--dataset", "s3://b/prompts.jsonl", "--grader", grader,
        "--algorithm", "ppo", "--group-size", "8", "--max-tokens", "512", "--temperature", "0.7",
        "--clip-low", "0.75", "--clip-high", "1.25", "--batch-size", "16",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "job-1\n"
    (sent,) = fake_api.requests
    assert sent.body == {
        "base_model": "Qwen/Qwen3-8B",
        "method": "rl",
        "algorithm": "ppo",
        "dataset": "s3://b/prompts.jsonl",
        "tags": [],
        "hyperparameters": {
            "batch_size": 16,
            "group_size": 8,
            "max_tokens": 512,
            "temperature": 0.7,
            "clip_low_threshold": 0.75,
            "clip_high_threshold": 1.25,
        },
        "grader": GRADER,
    }


def test_rl_reads_the_grader_from_stdin(fake_api: FakeAPI) -> None:
    declaration = {"type": "numeric", "field": "metadata.value", "tolerance": 0.01}
    fake_api.script("POST", JOBS, Reply(201, job_json(method="rl")))
    result = subprocess.run(
        [console_script("dn"), "train", "rl", *MODEL, "--dataset", "ds-1", "--grader", "-"],
        input=json.dumps(declaration),
        capture_output=True,
        text=True,
        env=dn_environment(_env(fake_api)),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].body["grader"] == declaration


def test_rl_with_a_local_file_whose_rows_carry_the_field_uploads_it(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path, grader: str
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", {"prompt": "1+1?", "answer": "2"},
                       {"prompt": "2+2?", "answer": 4})  # fmt: skip
    check = check_dataset_file(prompts)
    uploaded = dataset_json(DATASET_ID, format="prompt", rows=2, bytes=check.bytes,
                            sha256=check.sha256)  # fmt: skip
    fake_api.script("POST", DATASETS, Reply(201, uploaded))
    fake_api.script("POST", JOBS, Reply(201, job_json(method="rl", dataset=DATASET_ID)))
    result = _rl(dn, fake_api, "--dataset", str(prompts), "--grader", grader)
    assert result.returncode == 0, result.stderr
    upload, create = fake_api.requests
    assert upload.path == DATASETS
    assert (create.body["dataset"], create.body["grader"]) == (DATASET_ID, GRADER)


# --- refused here, in one line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declaration", "problem"),
    [
        ("type: string_check", "is not JSON: Expecting value (line 1, column 1)"),
        ('{"type": "string_check", "field": "answer"', "is not JSON: Expecting ',' delimiter "
         "(line 1, column 43)"),
        ({"type": "regex_check", "field": "answer"}, "is not a valid grader: type: unknown type "
         "'regex_check'; a grader's type is 'string_check', 'numeric', 'text_similarity' or "
         "'multi'"),
        ({"field": "answer"}, "is not a valid grader: type: missing; a grader's type is "
         "'string_check', 'numeric', 'text_similarity' or 'multi'"),
        ({"type": "string_check", "field": "answer", "extract": "regex", "pattern": "(\\d+"},
         "is not a valid grader: pattern: pattern is not a regular expression: missing ), "
         "unterminated subpattern at position 0"),
        ({"type": "string_check", "field": "answer", "extract": "after"},
         "is not a valid grader: extract 'after' needs a marker"),
        ({"type": "numeric", "field": "answer", "tolerance": -1},
         "is not a valid grader: tolerance: Input should be greater than or equal to 0"),
        ({"type": "string_check", "field": "answer", "operation": "equals"},
         "is not a valid grader: operation: Input should be 'eq', 'ne', 'like' or 'ilike'"),
        ([GRADER], "is not a valid grader: Input should be a valid dictionary or object to "
         "extract fields from"),
    ],
    ids=["not-json", "cut-short", "wrong-type", "no-type", "bad-regex", "no-marker",
         "negative-tolerance", "bad-operation", "a-list"],
)  # fmt: skip
def test_a_bad_grader_file_is_one_line_and_sends_nothing(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path, declaration: Any, problem: str
) -> None:
    path = write_grader(tmp_path, declaration)
    for dry_run in ([], ["--dry-run"]):
        result = _rl(dn, fake_api, "--dataset", "ds-1", "--grader", path, *dry_run)
        assert _one_line_and_nothing_sent(result, fake_api) == f"error: --grader: {path} {problem}"


def test_each_problem_of_a_grader_is_a_line_of_its_own(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    declaration = {"type": "multi", "graders": [
        {"weight": 0, "grader": {"type": "numeric", "field": "answer"}},
        {"weight": 1, "grader": {"type": "text_similarity", "field": "answer", "marker": "##"}},
    ]}  # fmt: skip
    path = write_grader(tmp_path, declaration)
    result = _rl(dn, fake_api, "--dataset", "ds-1", "--grader", path)
    assert (result.returncode, fake_api.requests) == (2, [])
    assert result.stderr.splitlines() == [
        f"error: --grader: {path} is not a valid grader (2 problems)",
        "  graders.0.weight: Input should be greater than 0",
        "  graders.1.grader: marker goes with extract 'after' only",
    ]


@pytest.mark.parametrize("where", ["missing.json", "."])
def test_a_grader_path_that_is_no_file_is_one_line(
    dn: DnRunner, fake_api: FakeAPI, where: str
) -> None:
    line = _one_line_and_nothing_sent(
        _rl(dn, fake_api, "--dataset", "ds-1", "--grader", where), fake_api
    )
    assert (
        line
        == {
            "missing.json": "error: --grader: no such file: 'missing.json'",
            ".": "error: --grader: '.' is a directory, not a JSON file",
        }[where]
    )


def test_rl_without_a_grader_is_one_line_giving_an_example(dn: DnRunner, fake_api: FakeAPI) -> None:
    line = _one_line_and_nothing_sent(_rl(dn, fake_api, "--dataset", "ds-1"), fake_api)
    assert line == (
        "error: --grader: An RL job needs a grader: how each sampled completion is scored, e.g. "
        '{"type": "string_check", "field": "answer", "extract": "last_line"} (give it as a JSON '
        "file: --grader FILE)"
    )


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_dataset_lacking_the_graders_field_names_the_line(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path, grader: str, dry_run: bool
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", {"prompt": "1+1?", "answer": "2"},
                       {"prompt": "2+2?", "answer": 4}, {"prompt": "3+3?"})  # fmt: skip
    result = _rl(dn, fake_api, "--dataset", str(prompts), "--grader", grader,
                 *(["--dry-run"] if dry_run else []))  # fmt: skip
    assert _one_line_and_nothing_sent(result, fake_api) == (
        f"error: --grader: {prompts}: line 3 has no 'answer' (a string or a number), which the "
        "grader reads"
    )


def test_a_dataset_with_none_of_the_graders_field_says_no_row_has_it(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", {"prompt": "1+1?", "metadata": {"answer": 2}})
    grader = write_grader(tmp_path, {"type": "numeric", "field": "metadata.value"})
    result = _rl(dn, fake_api, "--dataset", str(prompts), "--grader", grader)
    assert _one_line_and_nothing_sent(result, fake_api) == (
        f"error: --grader: {prompts}: no row has 'metadata.value' (a string or a number), which "
        "the grader reads"
    )


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("--group-size=1", "must be from 2 to 64, got 1"),
        ("--group-size=65", "must be from 2 to 64, got 65"),
        ("--group-size=4.5", "expected a whole number, got '4.5'"),
        ("--max-tokens=0", "must be from 1 to 32768, got 0"),
        ("--max-tokens=32769", "must be from 1 to 32768, got 32769"),
        ("--temperature=0", "must be > 0 and <= 2, got 0"),
        ("--temperature=2.5", "must be > 0 and <= 2, got 2.5"),
        ("--temperature=hot", "expected a number, got 'hot'"),
        ("--clip-low=1", "must be >= 0 and < 1, got 1"),
        ("--clip-low=-0.1", "must be >= 0 and < 1, got -0.1"),
        ("--clip-high=1", "must be > 1 and <= 10, got 1"),
        ("--clip-high=11", "must be > 1 and <= 10, got 11"),
    ],
)
def test_an_rl_knob_out_of_bounds_is_one_line_and_sends_nothing(
    dn: DnRunner, fake_api: FakeAPI, grader: str, given: str, why: str
) -> None:
    result = _rl(dn, fake_api, "--dataset", "ds-1", "--grader", grader, "--algorithm", "ppo", given)
    flag = given.partition("=")[0]
    assert _one_line_and_nothing_sent(result, fake_api) == (
        f"error: dn train rl: argument {flag}: {why} (see 'dn train rl --help')"
    )


def test_a_completion_as_long_as_the_models_context_is_one_line(
    dn: DnRunner, fake_api: FakeAPI, grader: str
) -> None:
    result = _rl(dn, fake_api, "--dataset", "ds-1", "--grader", grader, "--max-tokens", "32768")
    assert _one_line_and_nothing_sent(result, fake_api) == (
        "error: --max-tokens: max_tokens 32,768 leaves no room for a prompt in the context of "
        "'Qwen/Qwen3-8B' (32,768 tokens)"
    )


def test_a_completion_as_long_as_max_sequence_length_is_one_line(
    dn: DnRunner, fake_api: FakeAPI, grader: str
) -> None:
    result = _rl(
        dn, fake_api, "--dataset", "ds-1", "--grader", grader, "--max-tokens", "512",
        "--max-sequence-length", "512",
    )  # fmt: skip
    assert _one_line_and_nothing_sent(result, fake_api) == (
        "error: --max-tokens: max_tokens 512 leaves no room for a prompt in max_sequence_length 512"
    )


@pytest.mark.parametrize(("flag", "name"), [("--clip-low", "clip_low_threshold"),
                                            ("--clip-high", "clip_high_threshold")])  # fmt: skip
def test_a_clip_threshold_without_ppo_is_one_line(
    dn: DnRunner, fake_api: FakeAPI, grader: str, flag: str, name: str
) -> None:
    result = _rl(dn, fake_api, "--dataset", "ds-1", "--grader", grader, flag, "0.9" if
                 flag == "--clip-low" else "1.1")  # fmt: skip
    assert _one_line_and_nothing_sent(result, fake_api) == (
        f"error: {flag}: {name} sets PPO's clipping; algorithm 'importance_sampling' does not "
        "clip (use --algorithm ppo, or remove it)"
    )


# --- dry run ------------------------------------------------------------------------------------


def _effective(algorithm: str, **given: Any) -> dict[str, Any]:
    """The API's dry-run answer for an RL job on Qwen3-8B that gave ``given``."""
    defaults = {"learning_rate": 0.000473, "lora_rank": 32, **RL_DEFAULTS}
    if algorithm == "ppo":
        defaults.update(PPO_DEFAULTS)
    return validation_json(
        hyperparameters={**defaults, **given},
        defaulted_hyperparameters=sorted(set(defaults) - set(given)),
        **unknown_estimate_json(SAMPLED),
    )


def test_dry_run_shows_what_a_step_samples_and_how_it_is_graded(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path
) -> None:
    declaration = {"type": "multi", "graders": [
        {"weight": 0.8, "grader": {"type": "numeric", "field": "answer", "extract": "after",
                                   "marker": "####", "tolerance": 0.01}},
        {"weight": 0.2, "grader": GRADER},
    ]}  # fmt: skip
    path = write_grader(tmp_path, declaration)
    fake_api.script("POST", JOBS + "/validate", Reply(200, _effective("ppo", group_size=8)))
    result = _rl(dn, fake_api, "--dataset", "ds-1", "--grader", path, "--algorithm", "ppo",
                 "--group-size", "8", "--dry-run")  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "valid: the API would accept this job (dry run, nothing created)",
        "  learning_rate        0.000473 (default)",
        "  lora_rank            32 (default)",
        "  batch_size           32 (default)",
        "  group_size           8",
        "  max_tokens           256 (default)",
        "  temperature          1 (default)",
        "  clip_low_threshold   0.8 (default)",
        "  clip_high_threshold  1.2 (default)",
        "adapter: 92,286,976 parameters (rank 32)",
        "each step: 32 prompts x 8 completions = 256 completions of at most 256 tokens, at "
        "temperature 1; ppo clips probability ratios outside 0.8-1.2",
        "grader: multi: 0.8 x numeric within 0.01 on 'answer' (after '####') + 0.2 x "
        "string_check eq on 'answer' (last_line)",
        f"estimated cost: unknown ({SAMPLED})",
    ]
    (sent,) = fake_api.requests
    assert (sent.path, sent.body["grader"]) == (JOBS + "/validate", declaration)


def test_dry_run_without_ppo_says_nothing_of_clipping(
    dn: DnRunner, fake_api: FakeAPI, grader: str
) -> None:
    answer = _effective("importance_sampling", temperature=0.7, max_tokens=1024)
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = _rl(dn, fake_api, "--dataset", "ds-1", "--grader", grader, "--temperature", "0.7",
                 "--max-tokens", "1024", "--dry-run")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-3:-1] == [
        "each step: 32 prompts x 4 completions = 128 completions of at most 1,024 tokens, at "
        "temperature 0.7",
        "grader: string_check eq on 'answer' (last_line)",
    ]


# --- one line per grader ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declaration", "line"),
    [
        (GRADER, "string_check eq on 'answer' (last_line)"),
        ({"type": "string_check", "field": "metadata.label", "operation": "ilike"},
         "string_check ilike on 'metadata.label' (whole)"),
        ({"type": "numeric", "field": "answer", "extract": "regex", "pattern": r"= (\d+)"},
         r"numeric within 0 on 'answer' (regex '= (\d+)')"),
        ({"type": "text_similarity", "field": "answer"}, "text_similarity on 'answer' (whole)"),
        # A newer server's grader type is shown as it came, never a crash.
        ({"type": "python", "source": "def grade(): ..."},
         '{"type": "python", "source": "def grade(): ..."}'),
        ({"type": "multi", "graders": "all"}, '{"type": "multi", "graders": "all"}'),
    ],
)  # fmt: skip
def test_a_grader_is_described_in_one_line(declaration: Any, line: str) -> None:
    assert describe_grader(declaration) == line
