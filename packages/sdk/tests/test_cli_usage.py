"""How ``dn`` answers a command line it cannot run as typed, and where its choices come from.

An unknown flag is named by the command it was given to, with the nearest flag that command has;
the statuses, methods, algorithms and hyperparameters every command offers come from one table
(``dreadnode.cli.contract``), held equal here to the client's types and the catalog's enums.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from typing import get_args

import pytest

from dreadnode.cli import contract, jobs, models, submit
from dreadnode.cli.errors import UsageError
from dreadnode.cli.main import build_parser
from dreadnode.client.types import Hyperparameters
from dreadnode.training import TrainingAlgorithm
from dreadnode.training.datasets import FORMAT_METHODS, DatasetFormat

from .conftest import JOBS, DnRunner
from .fake_api import FakeAPI, Reply


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every runnable command of ``dn``, found in the parser itself so a new one is covered."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path
    for group in groups:
        for name, child in group.choices.items():
            yield from _commands(child, (*path, name))


COMMANDS = list(_commands(build_parser()))


def test_every_command_is_found() -> None:
    assert {" ".join(c) for c in COMMANDS} == {
        "train catalog", "train sft", "train rl",
        "train jobs list", "train jobs get", "train jobs cancel", "train jobs events",
        "train jobs watch",
        "train datasets upload", "train datasets list", "train datasets get",
        "train datasets delete",
        "train models list", "train models get", "train models update", "train models delete",
        "train models sample",
    }  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_unknown_flag_names_the_command_and_the_nearest_flag(
    dn: DnRunner, command: tuple[str, ...]
) -> None:
    result = dn(*command, "--jsn")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: dn {' '.join(command)}: unrecognized argument --jsn; did you mean --json?\n"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["train", "catalog", "--famly", "qwen"], "dn train catalog: unrecognized argument "
         "--famly; did you mean --family?"),
        # The typo is the problem, not the required --model it leaves missing.
        (["train", "sft", "--modle", "Qwen/Qwen3-8B", "--dataset", "d"], "dn train sft: "
         "unrecognized argument --modle; did you mean --model?"),
        (["train", "sft", "--learning_rate", "1e-4"], "dn train sft: unrecognized argument "
         "--learning_rate; did you mean --learning-rate?"),
        (["train", "rl", "--algoritm=ppo"], "dn train rl: unrecognized argument --algoritm; "
         "did you mean --algorithm?"),
        (["train", "jobs", "list", "--stauts", "running"], "dn train jobs list: unrecognized "
         "argument --stauts; did you mean --status?"),
        (["train", "jobs", "cancel", "job-1", "--yse"], "dn train jobs cancel: unrecognized "
         "argument --yse; did you mean --yes?"),
        (["train", "catalog", "--famly", "qwen", "--jsn"], "dn train catalog: unrecognized "
         "arguments --famly --jsn; did you mean --family for --famly, --json for --jsn?"),
        (["train", "catalog", "--colour", "red"], "dn train catalog: unrecognized argument "
         "--colour (see 'dn train catalog --help')"),
        (["train", "jobs", "get", "job-1", "job-2"], "dn train jobs get: unrecognized argument "
         "job-2 (see 'dn train jobs get --help')"),
        (["train", "catalog", "-j"], "dn train catalog: unrecognized argument -j (see 'dn train "
         "catalog --help')"),
        (["train", "--jsn", "catalog"], "dn train: unrecognized argument --jsn (see 'dn train "
         "--help')"),
        (["--verison"], "dn: unrecognized argument --verison; did you mean --version?"),
    ],
)  # fmt: skip
def test_unknown_argument_is_one_line_exit_2(dn: DnRunner, args: list[str], line: str) -> None:
    result = dn(*args)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {line}\n")


def test_a_flags_unambiguous_start_still_works(dn: DnRunner) -> None:
    result = dn("train", "catalog", "--js", "--lim", "1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["limit"] == 1


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["train", "catalog", "--query", "\udcffqwen"],
         "dn train catalog: --query: '\\xffqwen' is not UTF-8 text; is the terminal set to UTF-8?"),
        (["train", "catalog", "--query=qw\udce9n"],
         "dn train catalog: --query: 'qw\\xe9n' is not UTF-8 text; is the terminal set to UTF-8?"),
        (["train", "jobs", "get", "job\udcff"],
         "dn train jobs get: 'job\\xff' is not UTF-8 text; is the terminal set to UTF-8?"),
    ],
)  # fmt: skip
def test_bytes_that_are_not_utf8_are_a_usage_error_not_a_crash(
    dn: DnRunner, fake_api: FakeAPI, args: list[str], line: str
) -> None:
    # What a terminal set to Latin-1 sends for "qwén" is the byte 0xe9, which reaches Python as
    # a lone surrogate (and subprocess sends such a surrogate as that byte). No request could
    # carry it (httpx cannot encode it): it is refused before any is sent.
    result = dn(*args, env={"DREADNODE_SERVER_URL": fake_api.url, "DREADNODE_API_KEY": "k"})
    assert (result.returncode, result.stderr) == (2, f"error: {line}\n")
    assert fake_api.requests == []


@pytest.mark.parametrize("query", ["qwén", "日本語", "straße"])
def test_query_with_non_ascii_letters_is_accepted_online_and_offline(
    dn: DnRunner, fake_api: FakeAPI, query: str
) -> None:
    offline = dn("train", "catalog", "--json", "--query", query)
    assert (offline.returncode, offline.stderr) == (0, "")
    assert json.loads(offline.stdout)["models"] == []  # no id or name has these words (yet)
    fake_api.script("GET", "/api/v1/training/catalog", Reply(200, json.loads(offline.stdout)))
    env = {"DREADNODE_SERVER_URL": fake_api.url, "DREADNODE_API_KEY": "k"}
    online = dn("train", "catalog", "--json", "--query", query, env=env)
    assert (online.returncode, online.stderr) == (0, "")
    assert fake_api.requests[0].query["query"] == [query]  # sent as typed, UTF-8 on the wire


# --- one table ------------------------------------------------------------------------------


def _option(parser: argparse.ArgumentParser, *path: str, flag: str) -> argparse.Action:
    for name in path:
        group = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = group.choices[name]
    return next(a for a in parser._actions if flag in a.option_strings)


def test_status_choices_are_the_table(dn: DnRunner) -> None:
    assert _option(build_parser(), "train", "jobs", "list", flag="--status").choices == (
        contract.JOB_STATUSES
    )
    result = dn("train", "jobs", "list", "--status", "paused")
    assert result.returncode == 2
    listed = re.search(r"choose from (.*)\)", result.stderr)
    assert listed is not None
    assert re.findall(r"'(\w+)'", listed.group(1)) == list(contract.JOB_STATUSES)


def test_model_kind_flags_are_the_table(
    dn: DnRunner, fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One flag per kind (``--owned``, ``--base``), each sending its kind as ``kind``; a kind
    added to the table is a flag of its own."""
    for kind in contract.MODEL_KINDS:
        assert _option(build_parser(), "train", "models", "list", flag=f"--{kind}").const == kind
    fake_api.script("GET", "/api/v1/training/models", Reply(200, {"models": [], "total": 0,
                                                                  "limit": 20}))  # fmt: skip
    env = {"DREADNODE_SERVER_URL": fake_api.url, "DREADNODE_API_KEY": "k"}
    for kind in contract.MODEL_KINDS:
        assert dn("train", "models", "list", f"--{kind}", env=env).returncode == 0
    assert [seen.query["kind"] for seen in fake_api.requests] == [[k] for k in contract.MODEL_KINDS]
    monkeypatch.setattr(models, "MODEL_KINDS", (*contract.MODEL_KINDS, "shared"))
    parsed = build_parser().parse_args(["train", "models", "list", "--shared"])
    assert parsed.kind == "shared"


def test_rl_algorithms_are_every_catalog_algorithm_but_sft(dn: DnRunner) -> None:
    rl = [a.value for a in TrainingAlgorithm if a is not TrainingAlgorithm.SFT]
    assert _option(build_parser(), "train", "rl", flag="--algorithm").choices == tuple(rl)
    result = dn("train", "rl", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--algorithm", "sft")
    assert result.returncode == 2
    assert f"(choose from {', '.join(repr(a) for a in rl)})" in result.stderr
    # sft trains with one algorithm only, so it takes no flag for it
    assert dn("train", "sft", "--algorithm", "ppo").stderr.startswith(
        "error: dn train sft: unrecognized argument --algorithm"
    )


def test_dataset_format_choices_are_the_validators_formats(dn: DnRunner) -> None:
    formats = [f.value for f in DatasetFormat]
    assert tuple(formats) == contract.DATASET_FORMATS
    option = _option(build_parser(), "train", "datasets", "upload", flag="--format")
    assert option.choices == contract.DATASET_FORMATS
    result = dn("train", "datasets", "upload", "x.jsonl", "--format", "sharegpt")
    assert result.returncode == 2
    assert f"(choose from {', '.join(repr(f) for f in formats)})" in result.stderr
    # every format trains one of the methods `dn train` submits
    assert set(FORMAT_METHODS) == set(DatasetFormat)
    assert set(FORMAT_METHODS.values()) == {m.name for m in contract.METHODS}


def test_methods_are_the_subcommands_that_submit() -> None:
    assert [m.name for m in contract.METHODS] == ["sft", "rl"]
    assert {m.name for m in contract.METHODS} <= {" ".join(c[1:]) for c in COMMANDS}
    assert sorted(a for m in contract.METHODS for a in m.algorithms) == sorted(TrainingAlgorithm)


def test_hyperparameters_are_the_client_types_fields() -> None:
    wire = {
        name: get_args(field.annotation) for name, field in Hyperparameters.model_fields.items()
    }
    assert {knob.name: (knob.kind, type(None)) for knob in contract.HYPERPARAMETERS} == wire


#: A value inside a knob's bounds, by its type, unless the knob is named here.
IN_BOUNDS: dict[type | str, str] = {
    float: "0.9",
    int: "16",
    "clip_high_threshold": "1.5",
    "max_sequence_length": "64",
}  # a completion of max_tokens 16 leaves room for a prompt in 64


def _in_bounds(knob: contract.Hyperparameter) -> str:
    return IN_BOUNDS.get(knob.name, IN_BOUNDS[knob.kind])


@pytest.mark.parametrize("method", ["sft", "rl"])
def test_every_hyperparameter_flag_of_a_method_is_offered_and_sent(
    dn: DnRunner, fake_api: FakeAPI, grader: str, method: str
) -> None:
    knobs = [k for k in contract.HYPERPARAMETERS if k.methods is None or method in k.methods]
    flags = [arg for k in knobs for arg in (k.flag, _in_bounds(k))]
    rl = ["--grader", grader, "--algorithm", "ppo"] if method == "rl" else []
    answer = {"valid": True, "errors": [], "hyperparameters": {}}
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = dn(
        "train", method, "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--dry-run", *rl, *flags,
        env={"DREADNODE_SERVER_URL": fake_api.url, "DREADNODE_API_KEY": "k"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].body["hyperparameters"] == {
        k.name: k.kind(_in_bounds(k)) for k in knobs
    }
    shown = dn("train", method, "--help").stdout
    offered = re.findall(r"^  (--[\w-]+)", shown, re.MULTILINE)
    assert [flag for flag in offered if flag in {k.flag for k in contract.HYPERPARAMETERS}] == [
        k.flag for k in knobs
    ]
    general = shown.split("hyperparameters (bounds are checked by the API):")[1].split("\n\n")[0]
    assert re.findall(r"^  (--[\w-]+)", general, re.MULTILINE) == [
        k.flag for k in knobs if k.methods is None
    ]


def test_sft_offers_no_rl_setting_and_refuses_each_in_one_line(
    dn: DnRunner, fake_api: FakeAPI, grader: str
) -> None:
    shown = dn("train", "sft", "--help").stdout
    assert "--grader" not in shown
    rl_only = [k for k in contract.HYPERPARAMETERS if k.methods == ("rl",)]
    assert {k.flag for k in rl_only} == {
        "--group-size", "--max-tokens", "--temperature", "--clip-low", "--clip-high",
    }  # fmt: skip
    assert not any(k.flag in shown for k in rl_only)
    env = {"DREADNODE_SERVER_URL": fake_api.url, "DREADNODE_API_KEY": "k"}
    sft = ("train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d")
    for knob in rl_only:
        result = dn(*sft, knob.flag, "0.9" if knob.kind is float else "8", env=env)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == (
            f"error: {knob.flag}: {knob.name} is an RL setting; an SFT job samples nothing, "
            "so remove it\n"
        )
    result = dn(*sft, "--grader", grader, env=env)
    assert (result.returncode, result.stderr) == (
        2,
        "error: --grader: A grader scores sampled completions, which only RL jobs have; remove "
        "it (or submit an RL job: dn train rl)\n",
    )
    assert fake_api.requests == []


def test_a_row_added_to_a_table_reaches_argparse_and_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warmup = contract.Hyperparameter("warmup_steps", int, "0-10,000")
    monkeypatch.setattr(submit, "HYPERPARAMETERS", (*contract.HYPERPARAMETERS, warmup))
    dpo = contract.Method("dpo", "submit a preference job", "Preference tuning.", ("dpo", "ipo"))
    monkeypatch.setattr(submit, "METHODS", (*contract.METHODS, dpo))
    monkeypatch.setattr(jobs, "JOB_STATUSES", (*contract.JOB_STATUSES, "paused"))
    parser = build_parser()
    args = parser.parse_args(
        ["train", "dpo", "--model", "m", "--dataset", "d", "--warmup-steps", "100",
         "--algorithm", "ipo"]
    )  # fmt: skip
    spec = submit.job_spec(args)
    assert (spec["method"], spec["algorithm"], spec["hyperparameters"]) == (
        "dpo", "ipo", {"warmup_steps": 100},
    )  # fmt: skip
    assert parser.parse_args(["train", "jobs", "list", "--status", "paused"]).status == "paused"
    with pytest.raises(UsageError, match="did you mean --warmup-steps"):
        parser.parse_args(["train", "sft", "--model", "m", "--dataset", "d", "--wramup-steps", "1"])
