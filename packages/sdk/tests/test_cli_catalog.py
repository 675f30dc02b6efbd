"""`dn train catalog` as a user runs it: a real subprocess, no server, no credentials."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from dreadnode.training import filter_training_models, get_training_model

from .conftest import DnRunner, console_script, dn_environment

#: What `dn` lists today: the served models, in catalog order (retired ones never appear).
SERVED = filter_training_models()


def test_catalog_json_prints_models_total_and_limit_only(dn: DnRunner) -> None:
    result = dn("train", "catalog", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # nothing but JSON on stdout
    assert set(payload) == {"models", "total", "limit"}
    assert payload["total"] == len(SERVED) == 24
    assert payload["limit"] == 20
    assert len(payload["models"]) == 20
    first = payload["models"][0]
    assert first == SERVED[0].listed()
    assert first["supported_algorithms"] == ["sft", "importance_sampling", "ppo"]
    assert (first["pricing"], first["kind"], first["retirement"]) == (None, "chat", None)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--query", "qwen 3.5 9b"], ["Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B-Base"]),
        (["--family", "gpt-oss"], ["openai/gpt-oss-20b", "openai/gpt-oss-120b"]),
        (
            ["--family", "qwen", "--query", "base", "--max-size-b", "9"],
            ["Qwen/Qwen3.5-9B-Base", "Qwen/Qwen3.5-35B-A3B-Base"],
        ),
        (["--kind", "base"], ["Qwen/Qwen3.5-9B-Base", "Qwen/Qwen3.5-35B-A3B-Base"]),
        (
            ["--vision", "--family", "nemotron"],
            ["nvidia/NVIDIA-Nemotron-3.5-Super-VL-120B-A12B-BF16"],
        ),
        (["--no-vision", "--family", "gpt-oss"], ["openai/gpt-oss-20b", "openai/gpt-oss-120b"]),
        (["--query", "llama"], []),  # every Llama model is retired
        (
            ["--min-size-b", "50", "--family", "nemotron"],
            ["nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16"],
        ),
        (
            ["--algorithm", "ppo", "--family", "kimi"],
            ["moonshotai/Kimi-K2.6"],
        ),
    ],
)
def test_catalog_filters(dn: DnRunner, args: list[str], expected: list[str]) -> None:
    result = dn("train", "catalog", "--json", *args)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [m["tinker_id"] for m in payload["models"]] == expected
    assert payload["total"] == len(expected)


def test_catalog_limit_caps_models_but_total_counts_all(dn: DnRunner) -> None:
    result = dn("train", "catalog", "--json", "--family", "qwen", "--limit", "2")
    payload = json.loads(result.stdout)
    assert len(payload["models"]) == 2
    assert payload["total"] == 8
    assert payload["limit"] == 2


def test_catalog_table_shows_columns_and_footer(dn: DnRunner) -> None:
    result = dn("train", "catalog", "--family", "gpt-oss")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = ["tinker_id", "name", "family", "type", "size", "context", "algorithms", "lifecycle"]
    assert lines[0].split() == header
    assert "openai/gpt-oss-120b" in result.stdout
    assert "5.1B of 117B" in result.stdout  # active of total, for a mixture of experts
    assert "131,072 :peft:" in result.stdout
    assert lines[-1] == "showing 2 of 2"


def test_catalog_table_footer_says_how_to_see_more(dn: DnRunner) -> None:
    result = dn("train", "catalog", "--limit", "3")
    assert f"showing 3 of {len(SERVED)}" in result.stdout.splitlines()[-1]
    assert "--limit" in result.stdout.splitlines()[-1]


def test_catalog_no_match_says_so_and_suggests(dn: DnRunner) -> None:
    result = dn("train", "catalog", "--query", "Qwen3.5-9B-Instruct")
    assert result.returncode == 0
    assert "No models match these filters." in result.stdout
    assert "Did you mean: Qwen/Qwen3.5-9B" in result.stdout


def test_catalog_shows_retiring_models_on_a_pinned_day(dn: DnRunner) -> None:
    result = dn(
        "train", "catalog", "--family", "llama", env={"DREADNODE_CATALOG_DAY": "2026-06-01"}
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:-1]}
    assert (
        rows["meta-llama/Llama-3.1-8B"]
        .rstrip()
        .endswith("retiring 2026-06-12 -> Qwen/Qwen3.5-9B-Base")
    )
    assert rows["meta-llama/Llama-3.1-8B-Instruct"].rstrip().endswith("retiring 2026-06-12")
    assert result.stdout.splitlines()[-1] == "showing 6 of 6"
    later = dn("train", "catalog", "--family", "llama", env={"DREADNODE_CATALOG_DAY": "2026-06-12"})
    assert later.stdout == "No models match these filters.\n"


def test_catalog_json_carries_lifecycle_and_retirement_on_a_pinned_day(dn: DnRunner) -> None:
    result = dn(
        "train", "catalog", "--json", "--query", "llama 3.1 8b",
        env={"DREADNODE_CATALOG_DAY": "2026-06-01"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    entries = {entry["tinker_id"]: entry for entry in json.loads(result.stdout)["models"]}
    assert set(entries) == {"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct"}
    assert entries["meta-llama/Llama-3.1-8B-Instruct"]["retirement"]["replacement"] is None
    entry = entries["meta-llama/Llama-3.1-8B"]
    assert entry["lifecycle"] == "retiring"
    assert entry["retirement"] == {
        "tinker_id": "meta-llama/Llama-3.1-8B",
        "retired_on": "2026-06-12",
        "replacement": "Qwen/Qwen3.5-9B-Base",
        "announced_on": "2026-05-18",
    }
    model = get_training_model("meta-llama/Llama-3.1-8B", on=date(2026, 6, 1))
    assert model is not None
    assert entry == {**model.model_dump(mode="json"), "lifecycle": "retiring", "price": None}


def test_catalog_lists_every_model_as_available_once_retirements_are_past(dn: DnRunner) -> None:
    payload = json.loads(dn("train", "catalog", "--json", "--limit", "100").stdout)
    assert {entry["lifecycle"] for entry in payload["models"]} == {"available"}
    assert {entry["retirement"] is None for entry in payload["models"]} == {True}


def test_catalog_malformed_day_is_a_usage_error(dn: DnRunner) -> None:
    result = dn("train", "catalog", env={"DREADNODE_CATALOG_DAY": "June"})
    assert result.returncode == 2
    assert result.stderr == (
        "error: DREADNODE_CATALOG_DAY must be a date like 2026-06-01 (YYYY-MM-DD), got 'June'\n"
    )


def test_catalog_retired_lists_dates_and_replacements(dn: DnRunner) -> None:
    table = dn("train", "catalog", "--retired")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["tinker_id", "retired", "on", "replacement"]
    assert lines[1].split() == ["meta-llama/Llama-3.1-8B", "2026-06-12", "Qwen/Qwen3.5-9B-Base"]
    assert lines[5].split() == ["meta-llama/Llama-3.1-8B-Instruct", "2026-06-12", "-"]
    payload = json.loads(dn("train", "catalog", "--retired", "--json").stdout)
    assert payload["total"] == len(payload["retired"]) == 21
    assert payload["retired"][-1] == {
        "tinker_id": "Qwen/Qwen3.6-27B",
        "retired_on": "2026-09-02",
        "replacement": "Qwen/Qwen3.8-27B",
        "announced_on": "2026-08-19",
    }
    before = dn("train", "catalog", "--retired", env={"DREADNODE_CATALOG_DAY": "2026-06-01"})
    assert before.stdout == "No model has been retired.\n"
    july = json.loads(
        dn(
            "train", "catalog", "--retired", "--json", env={"DREADNODE_CATALOG_DAY": "2026-07-12"}
        ).stdout
    )
    assert july["total"] == 20  # June's nineteen and Kimi-K2.5; Qwen3.6-27B still served
    assert july["retired"][-1]["tinker_id"] == "moonshotai/Kimi-K2.5"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--family", "qwen"], "--family"),
        (["--no-vision"], "--no-vision"),
        (["--kind", "base", "--limit", "5"], "--kind, --limit"),
    ],
)
def test_catalog_retired_with_filters_is_a_usage_error(
    dn: DnRunner, args: list[str], named: str
) -> None:
    result = dn("train", "catalog", "--retired", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: dn train catalog: --retired lists every retired model; it takes no {named}\n"
    )


def test_catalog_json_with_no_match_is_empty_list(dn: DnRunner) -> None:
    payload = json.loads(dn("train", "catalog", "--json", "--query", "banana").stdout)
    assert payload == {"models": [], "total": 0, "limit": 20}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--limit", "0"], "--limit: must be from 1 to 100, got 0"),
        (["--limit", "101"], "--limit: must be from 1 to 100, got 101"),
        (["--limit", "ten"], "--limit: expected a whole number, got 'ten'"),
        (["--family", "mistral"], "--family: unknown family 'mistral'; allowed: deepseek, glm"),
        (["--algorithm", "dpo"], "--algorithm: unknown algorithm 'dpo'; allowed: sft, "),
        (["--min-size-b", "-1"], "--min-size-b: must be a number >= 0"),
        (["--max-size-b", "big"], "--max-size-b: expected a number, got 'big'"),
        (["--min-size-b", "10", "--max-size-b", "5"], "--min-size-b: min_size_b (10.0) must not"),
        (["--query", "..."], "--query: query must contain at least one letter or digit"),
        (["--kind", "instruct"], "--kind: invalid choice: 'instruct'"),
        (["--vision", "--no-vision"], "--no-vision: not allowed with argument --vision"),
        (["--colour", "red"], "unrecognized argument --colour (see 'dn train catalog --help')"),
        (["--jsn"], "dn train catalog: unrecognized argument --jsn; did you mean --json?"),
    ],
)
def test_catalog_usage_errors_exit_2_with_one_line(
    dn: DnRunner, args: list[str], fragment: str
) -> None:
    result = dn("train", "catalog", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]


@pytest.mark.parametrize("args", [[], ["train"], ["fly"]])
def test_missing_or_unknown_command_is_usage_error(dn: DnRunner, args: list[str]) -> None:
    result = dn(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_help_and_version_exit_0(dn: DnRunner) -> None:
    catalog_help = dn("train", "catalog", "--help")
    assert catalog_help.returncode == 0
    assert "--retired" in catalog_help.stdout
    version = dn("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("dn ")


def test_dreadnode_alias_runs_the_same_cli() -> None:
    result = subprocess.run(
        [console_script("dreadnode"), "train", "catalog", "--json", "--limit", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(result.stdout)["limit"] == 1


def test_help_says_active_parameters_for_every_size_filter(dn: DnRunner) -> None:
    text = " ".join(dn("train", "catalog", "--help").stdout.split())
    assert "Sizes are billions of active parameters" in text
    for flag, side in (("--min-size-b", "smallest"), ("--max-size-b", "largest")):
        assert f"{flag} BILLIONS {side} size, in billions of active parameters" in text


def test_catalog_on_a_terminal_says_it_is_embedded_on_stderr(dn_on_terminal: DnRunner) -> None:
    result = dn_on_terminal("train", "catalog", "--json", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "catalog: embedded in dreadnode-training 0.1.0 (offline)\n"
    assert json.loads(result.stdout)["limit"] == 1


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["table", "json"])
def test_catalog_into_a_pipe_or_file_is_the_listing_alone(
    dn: DnRunner, tmp_path: Path, mode: list[str]
) -> None:
    piped = dn("train", "catalog", *mode)
    assert (piped.returncode, piped.stderr) == (0, "")
    listing = tmp_path / "listing"
    with listing.open("w") as out:
        written = subprocess.run(
            [console_script("dn"), "train", "catalog", *mode],
            stdout=out, stderr=subprocess.PIPE, text=True, env=dn_environment(), check=False,
        )  # fmt: skip
    assert (written.returncode, written.stderr) == (0, "")
    assert listing.read_text() == piped.stdout


def _dn_into_closed_pipe(*args: str, read_first_line: bool) -> subprocess.CompletedProcess[bytes]:
    """Run ``dn`` with stdout into a pipe whose reader closes early, as ``dn ... | head -1``.

    With ``read_first_line`` the reader takes one line first (``head -1`` itself); without, it
    closes before ``dn`` writes anything, so the closed pipe is certain to be met.
    """
    process = subprocess.Popen(
        [console_script("dn"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dn_environment(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    if read_first_line:
        process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    return subprocess.CompletedProcess(process.args, process.wait(timeout=60), b"", stderr)


@pytest.mark.parametrize("read_first_line", [False, True], ids=["closed-at-once", "head-1"])
@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["table", "json"])
def test_catalog_into_closed_pipe_exits_0_quietly(mode: list[str], read_first_line: bool) -> None:
    result = _dn_into_closed_pipe(
        "train", "catalog", "--limit", "100", *mode, read_first_line=read_first_line
    )
    assert result.returncode == 0, result.stderr
    # Nothing at all: no source line, no "Exception ignored", no traceback.
    assert result.stderr == b""


def head_1(*args: str) -> tuple[int, str, str]:
    """``dn ARGS | head -1`` as a shell runs it: dn's exit code, its stderr, what head printed."""
    dn = subprocess.Popen(
        [console_script("dn"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dn_environment(),
    )
    head = subprocess.run(
        ["head", "-1"], stdin=dn.stdout, capture_output=True, text=True, timeout=60, check=True
    )
    assert dn.stdout is not None
    assert dn.stderr is not None
    dn.stdout.close()  # head has gone: this pipe now has no reader at all
    stderr = dn.stderr.read().decode()
    dn.stderr.close()
    return dn.wait(timeout=60), stderr, head.stdout


@pytest.mark.parametrize("mode", [[], ["--json"], ["--retired"]], ids=["table", "json", "retired"])
def test_catalog_piped_into_head_exits_0_with_nothing_on_stderr(
    dn: DnRunner, mode: list[str]
) -> None:
    code, stderr, first = head_1("train", "catalog", *mode)
    assert (code, stderr) == (0, "")
    assert first == dn("train", "catalog", *mode).stdout.splitlines(keepends=True)[0]
