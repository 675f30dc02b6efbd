"""`dn` against a scripted API on loopback: what a user sees for each answer, and the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dreadnode import __version__
from dreadnode.cli import api as cli_api
from dreadnode.cli.output import format_usd
from dreadnode.client._retry import RetryWait
from dreadnode.training import TrainingQueryError, filter_training_models

from .conftest import CATALOG, FROM_THE_FUTURE, JOBS, QWEN, DnRunner, console_script, dn_environment
from .fake_api import (
    FakeAPI,
    Reply,
    envelope,
    estimate_json,
    job_json,
    unknown_estimate_json,
    validation_json,
)


def _env(api: FakeAPI, **extra: str) -> dict[str, str]:
    return {"DREADNODE_SERVER_URL": api.url, "DREADNODE_API_KEY": "t0ken", **extra}


def test_catalog_reads_the_server_when_one_is_configured(dn: DnRunner, fake_api: FakeAPI) -> None:
    page = {"models": [QWEN], "total": 3, "limit": 1, "offset": 0}
    fake_api.script("GET", CATALOG, Reply(200, page))
    result = dn(
        "train", "catalog", "--json", "--family", "qwen", "--limit", "1", env=_env(fake_api)
    )
    assert (result.returncode, result.stderr) == (0, "")  # into a pipe: the listing alone
    assert json.loads(result.stdout) == {"models": [QWEN], "total": 3, "limit": 1}
    assert fake_api.requests[0].query == {"family": ["qwen"], "limit": ["1"]}
    assert fake_api.requests[0].headers["x-api-key"] == "t0ken"


def test_catalog_prices_shows_the_servers_live_prices_and_their_date(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    price = {
        "prefill": 0.13, "cached_prefill": None, "sample": 0.4, "train": 1.875, "note": None,
        "price_as_of": "2026-12-04T09:30:12.5Z", "source": "https://prices.example/models.json",
    }  # fmt: skip
    unpriced = {**QWEN, "tinker_id": "Qwen/Qwen3-32B", "price": None}
    page = {"models": [{**QWEN, "price": price}, unpriced], "total": 2, "limit": 20, "offset": 0}
    fake_api.script("GET", CATALOG, Reply(200, page))
    result = dn("train", "catalog", "--prices", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split() for line in lines[:4]] == [
        ["tinker_id", "train", "sample", "prefill", "cached", "prefill"],
        ["Qwen/Qwen3-8B", "$1.875", "$0.40", "$0.13", "-"],
        ["Qwen/Qwen3-32B", "-", "-", "-", "-"],
        ["showing", "2", "of", "2"],
    ]
    assert lines[4:] == [
        "USD per million tokens, from https://prices.example/models.json as of 2026-12-04 09:30Z"
    ]


def test_catalog_prices_says_why_there_are_none(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", CATALOG, Reply(200, {"models": [QWEN], "total": 1, "limit": 20}))
    online = dn("train", "catalog", "--prices", env=_env(fake_api))
    assert online.stdout.splitlines()[-1] == (
        "no prices: the server has not fetched Tinker's price list yet, or has none configured "
        "(DREADNODE_API_PRICE_LIST_URL)"
    )
    offline = dn("train", "catalog", "--prices", "--offline", "--limit", "1")
    assert offline.stdout.splitlines()[-1] == (
        "no prices offline: live prices come from a server that fetched Tinker's list"
    )


def test_catalog_server_url_flag_needs_no_environment(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", CATALOG, Reply(200, {"models": [], "total": 0, "limit": 20}))
    result = dn("train", "catalog", "--server-url", fake_api.url + "/api/v1")
    assert result.returncode == 0, result.stderr
    assert len(fake_api.seen("GET", CATALOG)) == 1
    assert "No models match these filters." in result.stdout


def test_catalog_offline_flag_ignores_the_server(
    dn_on_terminal: DnRunner, fake_api: FakeAPI
) -> None:
    result = dn_on_terminal("train", "catalog", "--json", "--offline", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"catalog: embedded in dreadnode-training {__version__} (offline)\n"
    assert fake_api.requests == []


@pytest.mark.parametrize("mode", [["--json"], [], ["--retired"]], ids=["json", "table", "retired"])
def test_catalog_on_a_terminal_says_it_came_from_the_server(
    dn_on_terminal: DnRunner, fake_api: FakeAPI, mode: list[str]
) -> None:
    fake_api.script("GET", CATALOG, Reply(200, {"models": [QWEN], "total": 1, "limit": 20}))
    fake_api.script("GET", CATALOG + "/retired", Reply(200, {"retired": [], "total": 0}))
    result = dn_on_terminal("train", "catalog", *mode, env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"catalog: from {fake_api.url}/api/v1 (server)\n"
    assert ("Qwen/Qwen3-8B" in result.stdout) is (mode != ["--retired"])


def test_catalog_from_the_server_piped_into_head_says_nothing_on_stderr(fake_api: FakeAPI) -> None:
    page = {"models": [QWEN] * 20, "total": 20, "limit": 20, "offset": 0}
    fake_api.script("GET", CATALOG, Reply(200, page))
    dn = subprocess.Popen(
        [console_script("dn"), "train", "catalog"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dn_environment(_env(fake_api)),
    )
    head = subprocess.run(["head", "-1"], stdin=dn.stdout, capture_output=True, check=True)
    assert dn.stdout is not None
    dn.stdout.close()
    _, stderr = dn.communicate(timeout=60)
    assert (dn.returncode, stderr) == (0, b"")
    assert head.stdout.split() == [
        b"tinker_id",
        b"name",
        b"family",
        b"type",
        b"size",
        b"context",
        b"algorithms",
        b"lifecycle",
    ]


@pytest.mark.parametrize(
    ("args", "query"),
    [
        (["--kind", "base"], {"kind": ["base"]}),
        (["--vision"], {"vision": ["true"]}),
        (["--no-vision", "--kind", "chat"], {"kind": ["chat"], "vision": ["false"]}),
    ],
)
def test_catalog_kind_and_vision_go_to_the_server(
    dn: DnRunner, fake_api: FakeAPI, args: list[str], query: dict[str, list[str]]
) -> None:
    fake_api.script("GET", CATALOG, Reply(200, {"models": [QWEN], "total": 1, "limit": 20}))
    result = dn("train", "catalog", "--json", *args, env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].query == {**query, "limit": ["20"]}


def test_catalog_online_json_agrees_with_offline(dn: DnRunner, fake_api: FakeAPI) -> None:
    offline = json.loads(dn("train", "catalog", "--json", "--query", "qwen3 8b").stdout)
    fake_api.script("GET", CATALOG, Reply(200, {**offline, "offset": 0}))
    online = dn("train", "catalog", "--json", "--query", "qwen3 8b", env=_env(fake_api))
    assert json.loads(online.stdout) == offline
    assert offline["models"] == [QWEN]


def test_catalog_table_shows_the_servers_lifecycle(dn: DnRunner, fake_api: FakeAPI) -> None:
    retirement = {"tinker_id": "Qwen/Qwen3-8B", "retired_on": "2027-01-06",
                  "replacement": "Qwen/Qwen3.5-9B", "announced_on": "2026-12-16"}  # fmt: skip
    retiring = {**QWEN, "lifecycle": "retiring", "retirement": retirement}
    fake_api.script("GET", CATALOG, Reply(200, {"models": [retiring], "total": 1, "limit": 20}))
    result = dn("train", "catalog", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[1]
    assert row.rstrip().endswith("retiring 2027-01-06 -> Qwen/Qwen3.5-9B")


def test_catalog_retired_reads_the_servers_listing(dn: DnRunner, fake_api: FakeAPI) -> None:
    listing = {
        "retired": [{"tinker_id": "Qwen/Qwen3.6-27B", "retired_on": "2026-09-02",
                     "replacement": "Qwen/Qwen3.8-27B", "announced_on": "2026-08-19"}],
        "total": 1,
    }  # fmt: skip
    fake_api.script("GET", CATALOG + "/retired", Reply(200, listing))
    as_json = dn("train", "catalog", "--retired", "--json", env=_env(fake_api))
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == listing
    assert as_json.stderr == ""
    table = dn("train", "catalog", "--retired", env=_env(fake_api))
    assert table.stdout.splitlines()[1].split() == [
        "Qwen/Qwen3.6-27B",
        "2026-09-02",
        "Qwen/Qwen3.8-27B",
    ]
    assert [seen.path for seen in fake_api.requests] == [CATALOG + "/retired"] * 2


def test_catalog_family_unknown_here_is_left_to_the_server(dn: DnRunner, fake_api: FakeAPI) -> None:
    page = {"models": [FROM_THE_FUTURE], "total": 1, "limit": 20, "offset": 0}
    fake_api.script("GET", CATALOG, Reply(200, page))
    result = dn("train", "catalog", "--json", "--family", "mistral", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].query["family"] == ["mistral"]
    assert json.loads(result.stdout)["models"][0]["family"] == "mistral"


def _refusal(**filters: Any) -> Reply:
    """The API's 422 for ``filters``: its catalog copy raises what the SDK's raises, and the
    route reports it at ``("query", argument)`` (app/api/routes/catalog.py)."""
    with pytest.raises(TrainingQueryError) as raised:
        filter_training_models(**filters)
    item = {
        "loc": ["query", raised.value.argument],
        "msg": str(raised.value),
        "type": "value_error",
    }
    return envelope(422, str(raised.value), "validation_error", [item])


@pytest.mark.parametrize(
    ("args", "filters"),
    [
        (["--family", "banana"], {"family": "banana"}),
        (["--algorithm", "dpo"], {"algorithm": "dpo"}),
    ],
)
def test_catalog_value_the_server_refuses_exits_2_as_offline(
    dn: DnRunner, fake_api: FakeAPI, args: list[str], filters: dict[str, str]
) -> None:
    fake_api.script("GET", CATALOG, _refusal(**filters))
    online = dn("train", "catalog", *args, env=_env(fake_api))
    offline = dn("train", "catalog", "--offline", *args, env=_env(fake_api))
    assert len(fake_api.requests) == 1  # online, the server judged it
    assert (online.returncode, online.stdout) == (offline.returncode, offline.stdout) == (2, "")
    assert online.stderr == offline.stderr
    assert online.stderr.startswith(f"error: dn train catalog: {args[0]}: unknown ")
    assert len(online.stderr.splitlines()) == 1


def test_catalog_server_refusing_several_filters_names_each_flag(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    errors = [
        {"loc": ["query", "family"], "msg": "unknown family 'x'", "type": "value_error"},
        {"loc": ["query", "query"], "msg": "String should have at most 200 characters",
         "type": "string_too_long"},
    ]  # fmt: skip
    fake_api.script("GET", CATALOG, envelope(422, "invalid", "validation_error", errors))
    result = dn("train", "catalog", "--family", "x", "--query", "q", env=_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: dn train catalog: --family: unknown family 'x'",
        "  --query: String should have at most 200 characters",
    ]


def test_catalog_422_about_something_not_sent_stays_the_servers_error(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    errors = [{"loc": ["header", "x-api-key"], "msg": "malformed token", "type": "value_error"}]
    fake_api.script("GET", CATALOG, envelope(422, "malformed token", "validation_error", errors))
    result = dn("train", "catalog", env=_env(fake_api))
    assert (result.returncode, result.stderr) == (1, "error: malformed token\n")


def test_catalog_offline_refuses_a_family_it_does_not_know(dn: DnRunner, fake_api: FakeAPI) -> None:
    result = dn("train", "catalog", "--offline", "--family", "mistral", env=_env(fake_api))
    assert result.returncode == 2
    assert "--family: unknown family 'mistral'" in result.stderr
    assert fake_api.requests == []


def test_catalog_from_a_newer_server_shows_unknown_family_with_upgrade_hint(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    page = {"models": [QWEN, FROM_THE_FUTURE], "total": 2, "limit": 20, "offset": 0}
    fake_api.script("GET", CATALOG, Reply(200, page))
    result = dn("train", "catalog", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "Mistral-9" in line)
    assert "mistral" in row.split()
    assert "sft, dpo" in row
    assert "family 'mistral'" in result.stderr
    assert "lifecycle 'preview'" in result.stderr
    assert row.rstrip().endswith("preview")
    assert "pip install --upgrade dreadnode-training" in result.stderr
    as_json = json.loads(dn("train", "catalog", "--json", env=_env(fake_api)).stdout)
    assert as_json["models"][1]["modalities"] == ["text", "image"]


OFFLINE_HINT = "  the catalog embedded in this SDK needs no server: dn train catalog --offline"


def test_catalog_unreachable_server_is_one_line_exit_1(dn: DnRunner) -> None:
    result = dn("train", "catalog", env={"DREADNODE_SERVER_URL": "http://127.0.0.1:9"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the API at http://127.0.0.1:9/api/v1")
    assert result.stderr.splitlines()[1:] == [
        "  is the API server running? check DREADNODE_SERVER_URL or --server-url",
        OFFLINE_HINT,
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("retired", [False, True])
@pytest.mark.parametrize(
    "reply",
    [
        envelope(500, "Internal server error", "internal_error"),
        Reply(502, "<html>Bad Gateway</html>", {"Retry-After": "0"}, content_type="text/html"),
    ],
    ids=["500", "proxy-502"],
)
def test_catalog_failing_server_suggests_offline(
    dn: DnRunner, fake_api: FakeAPI, reply: Reply, retired: bool
) -> None:
    path, args = (CATALOG + "/retired", ["--retired"]) if retired else (CATALOG, [])
    fake_api.script("GET", path, reply)
    result = dn("train", "catalog", *args, env=_env(fake_api))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.splitlines()[-1] == OFFLINE_HINT + (" --retired" if retired else "")


def test_catalog_refusal_that_offline_cannot_cure_does_not_suggest_it(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("GET", CATALOG, envelope(401, "Authentication failed", "authentication_error"))
    result = dn("train", "catalog", env=_env(fake_api))
    assert result.returncode == 1
    assert "--offline" not in result.stderr


def test_jobs_unreachable_server_does_not_suggest_offline(dn: DnRunner) -> None:
    result = dn("train", "jobs", "list", env={"DREADNODE_SERVER_URL": "http://127.0.0.1:9"})
    assert result.returncode == 1
    assert "--offline" not in result.stderr


@pytest.mark.parametrize(
    ("where", "url"),
    [
        ("DREADNODE_SERVER_URL", "http://[::1"),
        ("DREADNODE_SERVER_URL", "http://127.0.0.1:99999"),
        ("--server-url", "ftp://x"),
        ("--server-url", "http://127.0.0.1:99999"),
    ],
)
def test_catalog_malformed_server_url_is_usage_error_naming_its_source(
    dn: DnRunner, where: str, url: str
) -> None:
    if where == "--server-url":
        result = dn("train", "catalog", "--server-url", url)
    else:
        result = dn("train", "catalog", env={where: url})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {where}: server URL must look like http://127.0.0.1:8000")
    assert repr(url) in lines[0]


def test_sft_typo_is_refused_locally_without_a_request(dn: DnRunner, fake_api: FakeAPI) -> None:
    result = dn(
        "train",
        "sft",
        "--model",
        "Qwen/Qwen3.5-9B-Bas",
        "--dataset",
        "d",
        env=_env(fake_api),
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error: Unknown training base model 'Qwen/Qwen3.5-9B-Bas'. Did you mean one "
        "of: Qwen/Qwen3.5-9B-Base, Qwen/Qwen3.5-9B?"
    )
    assert fake_api.requests == []


def test_sft_typo_fails_even_with_no_server_configured(dn: DnRunner) -> None:
    result = dn("train", "sft", "--model", "Qwen/Qwen3-8", "--dataset", "d")
    assert result.returncode == 2
    assert "Did you mean one of: Qwen/Qwen3-8B" in result.stderr


def test_sft_retired_model_says_it_was_retired(dn: DnRunner, fake_api: FakeAPI) -> None:
    result = dn("train", "sft", "--model", "Qwen/Qwen3.5-27B", "--dataset", "d", env=_env(fake_api))
    assert result.returncode == 2
    assert "'Qwen/Qwen3.5-27B' was retired on 2026-06-12" in result.stderr
    assert fake_api.requests == []


def test_sft_without_server_names_the_variable(dn: DnRunner) -> None:
    result = dn("train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d")
    assert result.returncode == 2
    assert "DREADNODE_SERVER_URL" in result.stderr
    assert "--server-url" in result.stderr


def test_sft_creates_the_job_and_prints_its_id(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-9")))
    result = dn(
        "train",
        "sft",
        "--model",
        "Qwen/Qwen3-8B",
        "--dataset",
        "s3://b/t.jsonl",
        "--name",
        "demo",
        "--tag",
        "a",
        "--tag",
        "b",
        "--learning-rate",
        "1e-4",
        "--lora-rank",
        "16",
        env=_env(fake_api),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "job-9\n"
    assert fake_api.requests[0].body == {
        "base_model": "Qwen/Qwen3-8B",
        "method": "sft",
        "algorithm": "sft",
        "dataset": "s3://b/t.jsonl",
        "name": "demo",
        "tags": ["a", "b"],
        "hyperparameters": {"learning_rate": 1e-4, "lora_rank": 16},
    }


def test_sft_json_prints_the_whole_job(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-9")))
    result = dn(
        "train",
        "sft",
        "--model",
        "Qwen/Qwen3-8B",
        "--dataset",
        "d",
        "--json",
        env=_env(fake_api),
    )
    assert json.loads(result.stdout)["id"] == "job-9"


@pytest.mark.parametrize(
    ("args", "algorithm"), [([], "importance_sampling"), (["--algorithm", "ppo"], "ppo")]
)
def test_rl_sends_its_algorithm(
    dn: DnRunner, fake_api: FakeAPI, grader: str, args: list[str], algorithm: str
) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json(method="rl", algorithm=algorithm)))
    result = dn(
        "train", "rl", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--grader", grader, *args,
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].body["method"] == "rl"
    assert fake_api.requests[0].body["algorithm"] == algorithm


def test_dry_run_prints_every_violation_and_creates_nothing(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    answer = {
        "valid": False,
        "errors": [
            {
                "loc": ["body", "hyperparameters", "batch_size"],
                "msg": "must be at most 4096",
                "type": "le",
            },
            {
                "loc": ["body", "hyperparameters", "learning_rate"],
                "msg": "must be at most 1",
                "type": "le",
            },
        ],
    }
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = dn(
        "train",
        "sft",
        "--model",
        "Qwen/Qwen3-8B",
        "--dataset",
        "d",
        "--dry-run",
        "--batch-size",
        "5000",
        "--learning-rate",
        "5",
        env=_env(fake_api),
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: the API would reject this job (2 problems; dry run, nothing created)",
        "  hyperparameters.batch_size: must be at most 4096",
        "  hyperparameters.learning_rate: must be at most 1",
    ]
    assert fake_api.seen("POST", JOBS) == []


def test_dry_run_of_a_valid_job_shows_effective_values_and_adapter_size(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    answer = {
        "valid": True,
        "errors": [],
        "warnings": [],
        "hyperparameters": {
            "learning_rate": 0.000473,
            "steps": 1000000,
            "lora_rank": 32,
        },
        "defaulted_hyperparameters": ["learning_rate", "lora_rank"],
        "adapter_parameters": 92286976,
    }
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--steps", "1000000",
        "--dry-run", env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].body["hyperparameters"] == {"steps": 1000000}
    assert fake_api.seen("POST", JOBS) == []
    lines = result.stdout.splitlines()
    assert lines[0] == "valid: the API would accept this job (dry run, nothing created)"
    assert [line.split() for line in lines[1:-1]] == [
        ["learning_rate", "0.000473", "(default)"],
        ["steps", "1000000"],
        ["lora_rank", "32", "(default)"],
        ["adapter:", "92,286,976", "parameters", "(rank", "32)"],
    ]
    # An answer without an estimate (an older server's) says so, rather than a cost of $0.
    assert lines[-1] == "estimated cost: unknown (this server does not estimate costs)"


def test_dry_run_says_when_the_adapter_size_is_unknown(dn: DnRunner, fake_api: FakeAPI) -> None:
    answer = {"valid": True, "errors": [], "hyperparameters": {"lora_rank": 64}}
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--dry-run",
        env=_env(fake_api),
    )  # fmt: skip
    assert "adapter: unknown size (rank 64)" in result.stdout.splitlines()


PRICED = "train $0.44 per million tokens, Tinker's price list of 2026-12-04 16:00 UTC"


@pytest.mark.parametrize(
    ("changes", "tokens", "cost"),
    [
        ({}, "1,234 per epoch, 3,702 in all (3 epochs)", "$0.00163"),
        # ``steps`` ends the run before its epochs do: the total is the share they cover.
        (
            {"hyperparameters": {"epochs": 1, "steps": 1, "lora_rank": 32}, "total_tokens": 412,
             "estimated_cost_usd": 0.000181},
            "1,234 per epoch, 412 in all (1 epoch, at most 1 step)",
            "$0.000181",
        ),
    ],
)  # fmt: skip
def test_dry_run_shows_the_exact_tokens_and_what_they_would_cost(
    dn: DnRunner, fake_api: FakeAPI, changes: dict[str, Any], tokens: str, cost: str
) -> None:
    fake_api.script("POST", JOBS + "/validate", Reply(200, validation_json(**changes)))
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "ds-1", "--dry-run",
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        f"tokens: {tokens}",
        f"estimated cost: {cost} ({PRICED})",
    ]


@pytest.mark.parametrize(
    "reason",
    [
        "token counts pending: a worker is counting the dataset's tokens",
        "no price known for 'Qwen/Qwen3-8B' in Tinker's price list",
    ],
)
def test_dry_run_says_why_the_cost_is_not_known(
    dn: DnRunner, fake_api: FakeAPI, reason: str
) -> None:
    unknown = validation_json(**unknown_estimate_json(reason))
    fake_api.script("POST", JOBS + "/validate", Reply(200, unknown))
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "ds-1", "--dry-run",
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == f"estimated cost: unknown ({reason})"
    assert not any(line.startswith("tokens:") for line in lines)  # nothing counted to show


def test_sft_prints_the_new_jobs_estimate_beside_its_id(dn: DnRunner, fake_api: FakeAPI) -> None:
    created = job_json("job-9", dataset="ds-1", hyperparameters={"epochs": 3}, **estimate_json())
    fake_api.script("POST", JOBS, Reply(201, created))
    result = dn("train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "ds-1",
                env=_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "job-9\n"  # stdout stays the id alone, for scripts
    assert result.stderr.splitlines()[1:] == [
        "tokens: 1,234 per epoch, 3,702 in all (3 epochs)",
        f"estimated cost: $0.00163 ({PRICED})",
    ]


@pytest.mark.parametrize("method", ["sft", "rl"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_max_cost_is_sent_as_the_jobs_cap(
    dn: DnRunner, fake_api: FakeAPI, grader: str, method: str, dry_run: bool
) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-9", method=method, max_cost_usd=2.5)))
    fake_api.script("POST", JOBS + "/validate", Reply(200, validation_json()))
    result = dn(
        "train", method, "--model", "Qwen/Qwen3-8B", "--dataset", "ds-1", "--max-cost", "2.50",
        *(["--dry-run"] if dry_run else []), *(["--grader", grader] if method == "rl" else []),
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (sent,) = fake_api.requests
    assert sent.path == JOBS + ("/validate" if dry_run else "")
    assert sent.body["max_cost_usd"] == 2.5


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0", "must be a number > 0, got '0'"),
        ("-1", "must be a number > 0, got '-1'"),
        ("five", "expected a number, got 'five'"),
        ("nan", "expected a finite number, got 'nan'"),
        ("inf", "expected a finite number, got 'inf'"),
    ],
)
def test_bad_max_cost_is_one_line_and_sends_nothing(
    dn: DnRunner, fake_api: FakeAPI, value: str, why: str
) -> None:
    result = dn("train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "ds-1",
                f"--max-cost={value}", env=_env(fake_api))  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: dn train sft: argument --max-cost: {why} (see 'dn train sft --help')\n"
    )
    assert fake_api.requests == []


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "$0.00"),
        (0.00162888, "$0.00163"),  # a fraction of a cent is not $0.00
        (0.05, "$0.05"),
        (1, "$1.00"),
        (1234.5, "$1,234.50"),
    ],
)
def test_money_shows_cents_and_enough_digits_for_a_fraction_of_a_cent(
    amount: float, shown: str
) -> None:
    assert format_usd(amount) == shown


RETIRING = "meta-llama/Llama-3.1-8B"
BEFORE_JUNE = {"DREADNODE_CATALOG_DAY": "2026-06-01"}
#: A retirement the server knows and this SDK's catalog does not yet (a newer server's): every
#: retiring model the catalog knows has no renderer, so no job on one gets past the local check.
SERVER_RETIRING_WARNING = (
    "Training base model 'Qwen/Qwen3-8B' retires on 2027-01-06; "
    "Tinker recommends Qwen/Qwen3.5-9B instead."
)
SERVER_WARNING = {"loc": ["body", "base_model"], "msg": SERVER_RETIRING_WARNING,
                  "type": "model_retiring"}  # fmt: skip


@pytest.mark.parametrize("method", ["sft", "rl"])
def test_a_job_on_a_retiring_model_without_a_renderer_is_refused_here(
    dn: DnRunner, fake_api: FakeAPI, grader: str, method: str
) -> None:
    result = dn(
        "train", method, "--model", RETIRING, "--dataset", "d",
        *(["--grader", grader] if method == "rl" else []), env=_env(fake_api, **BEFORE_JUNE),
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(
        "error: Training base model 'meta-llama/Llama-3.1-8B' has no renderer yet"
    )
    assert "warning:" not in result.stderr
    assert fake_api.requests == []


def test_a_retirement_the_server_warns_of_is_said_once_and_the_job_still_submitted(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-7", warnings=[SERVER_WARNING])))
    result = dn("train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "job-7\n"
    assert result.stderr.splitlines()[0] == f"warning: {SERVER_RETIRING_WARNING}"
    assert result.stderr.count("warning:") == 1
    assert len(fake_api.seen("POST", JOBS)) == 1


def test_sft_on_a_retired_model_names_date_and_replacement(dn: DnRunner, fake_api: FakeAPI) -> None:
    result = dn("train", "sft", "--model", RETIRING, "--dataset", "d", env=_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error: Training base model 'meta-llama/Llama-3.1-8B' was retired on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
    )
    assert fake_api.requests == []


def test_dry_run_prints_the_servers_retirement_warning_once(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    answer = {"valid": True, "errors": [], "warnings": [SERVER_WARNING],
              "hyperparameters": {"learning_rate": 0.0001, "lora_rank": 32},
              "defaulted_hyperparameters": ["learning_rate", "lora_rank"],
              "adapter_parameters": None}  # fmt: skip
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--dry-run",
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"warning: {SERVER_RETIRING_WARNING}"]
    assert "adapter: unknown size (rank 32)" in result.stdout.splitlines()


def test_json_with_a_retirement_warning_keeps_stdout_pure_json(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-7", warnings=[SERVER_WARNING])))
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--json",
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "job-7"
    assert result.stderr.splitlines() == [f"warning: {SERVER_RETIRING_WARNING}"]


def test_sft_typo_nearest_to_a_retired_id_names_it(dn: DnRunner, fake_api: FakeAPI) -> None:
    result = dn(
        "train", "sft", "--model", "meta-llama/Llama-3.1-8B-Instruc", "--dataset", "d",
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error: Unknown training base model 'meta-llama/Llama-3.1-8B-Instruc'. The nearest id, "
        "meta-llama/Llama-3.1-8B-Instruct, was retired on 2026-06-12."
    )
    assert fake_api.requests == []


def test_sft_model_retired_in_september_names_its_replacement(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    result = dn("train", "sft", "--model", "Qwen/Qwen3.6-27B", "--dataset", "d", env=_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error: Training base model 'Qwen/Qwen3.6-27B' was retired on 2026-09-02; "
        "Tinker recommends Qwen/Qwen3.8-27B instead."
    )
    assert fake_api.requests == []


KIMI = "moonshotai/Kimi-K2.6"
#: Typed in from the catalog's rule: the chat models with a renderer nearest Kimi-K2.6's 32B
#: active parameters are DeepSeek-V3.1 (37B) and Qwen3.8-27B.
KIMI_NO_RENDERER = (
    "Training base model 'moonshotai/Kimi-K2.6' has no renderer yet, so its rows cannot be "
    "turned into tokens (nor an RL job's completions back into text); choose a model with one, "
    "such as deepseek-ai/DeepSeek-V3.1 or Qwen/Qwen3.8-27B (each entry of `dn train catalog "
    "--json` names its renderer)."
)


@pytest.mark.parametrize("extra", [(), ("--dry-run",), ("--json",)])
def test_sft_on_a_model_without_a_renderer_fails_here_with_exit_2(
    dn: DnRunner, fake_api: FakeAPI, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    data = tmp_path / "train.jsonl"
    row = {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}
    data.write_text(json.dumps(row) + "\n", encoding="utf-8")
    for dataset in ("s3://b/train.jsonl", str(data)):  # a local file is not even uploaded
        result = dn(
            "train", "sft", "--model", KIMI, "--dataset", dataset, *extra, env=_env(fake_api)
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.splitlines()[0] == f"error: {KIMI_NO_RENDERER}"
    assert fake_api.requests == []


def test_sft_on_a_model_without_a_renderer_fails_with_no_server_configured(dn: DnRunner) -> None:
    result = dn("train", "sft", "--model", f"{KIMI}:peft:131072", "--dataset", "s3://b/t.jsonl")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "error: " + KIMI_NO_RENDERER.replace(
        repr(KIMI), repr(f"{KIMI}:peft:131072")
    )


def test_rl_on_a_model_without_a_renderer_fails_here_too(
    dn: DnRunner, fake_api: FakeAPI, grader: str
) -> None:
    """Its prompts must be rendered, and its completions decoded to be graded."""
    result = dn(
        "train", "rl", "--model", KIMI, "--algorithm", "ppo", "--dataset", "s3://b/p.jsonl",
        "--grader", grader, env=_env(fake_api),
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"error: {KIMI_NO_RENDERER}"]
    assert fake_api.requests == []


@pytest.mark.parametrize("day", ["June", "2026-6-1", "20260601", "2026-02-30"])
def test_sft_malformed_day_is_a_usage_error_before_any_request(
    dn: DnRunner, fake_api: FakeAPI, day: str
) -> None:
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d",
        env=_env(fake_api, DREADNODE_CATALOG_DAY=day),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"error: DREADNODE_CATALOG_DAY must be a date like 2026-06-01 (YYYY-MM-DD), got {day!r}\n"
    )
    assert fake_api.requests == []


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "Qwen/Qwen3-8B:peft:131072",
            "Qwen/Qwen3-8B has no extended-context variant; its context is 32,768 tokens.",
        ),
        (
            "Qwen/Qwen3.5-397B-A17B:peft:999",
            "Qwen/Qwen3.5-397B-A17B offers :peft:262144, not :peft:999.",
        ),
    ],
)
def test_sft_wrong_suffix_is_answered_specifically(
    dn: DnRunner, fake_api: FakeAPI, model: str, message: str
) -> None:
    result = dn("train", "sft", "--model", model, "--dataset", "d", env=_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].endswith(message)
    assert fake_api.requests == []


@pytest.mark.parametrize("rank", ["64", "128"])
def test_sft_lora_rank_above_32_is_submitted(dn: DnRunner, fake_api: FakeAPI, rank: str) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json("job-8")))
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--lora-rank", rank,
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fake_api.requests[0].body["hyperparameters"] == {"lora_rank": int(rank)}


@pytest.mark.parametrize(
    ("rank", "message"),
    [
        ("48", "--lora-rank: lora_rank must be a power of two (Tinker refuses others), got 48"),
        (
            "256",
            "--lora-rank: lora_rank 256 exceeds 128, the largest rank known to train on Tinker "
            "(Qwen/Qwen3-8B publishes no maximum)",
        ),
        ("0", "--lora-rank: must be a whole number >= 1, got 0"),
    ],
)
def test_sft_lora_rank_tinker_would_refuse_is_refused_locally(
    dn: DnRunner, fake_api: FakeAPI, rank: str, message: str
) -> None:
    result = dn(
        "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--lora-rank", rank,
        env=_env(fake_api),
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert message in line
    assert fake_api.requests == []


def test_jobs_list_shows_a_table(dn: DnRunner, fake_api: FakeAPI) -> None:
    page = {"jobs": [job_json("job-2", "running"), job_json("job-1")], "total": 5, "limit": 2}
    fake_api.script("GET", JOBS, Reply(200, page))
    result = dn("train", "jobs", "list", "--limit", "2", "--status", "running", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "status", "method", "algorithm", "model", "name", "created"]
    assert lines[1].split()[:2] == ["job-2", "running"]
    assert "2026-11-22 22:00:00Z" in lines[1]
    assert lines[-1].startswith("showing 2 of 5")
    assert fake_api.requests[0].query == {"status": ["running"], "limit": ["2"]}


def test_jobs_show_control_and_bidi_characters_escaped(dn: DnRunner, fake_api: FakeAPI) -> None:
    """A name stored before the server refused such characters is shown, not obeyed: an ESC
    would clear the owner's screen, a U+202E would turn the text around it backwards."""
    hostile = job_json(name="run\x1b[2J\u202etxt.exe", tags=["a\u2028b"])
    fake_api.script("GET", JOBS, Reply(200, {"jobs": [hostile], "total": 1, "limit": 20}))
    fake_api.script("GET", JOBS + "/job-1", Reply(200, hostile))
    listed = dn("train", "jobs", "list", env=_env(fake_api))
    shown = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    for result in (listed, shown):
        assert result.returncode == 0, result.stderr
        assert "run\\x1b[2J\\u202etxt.exe" in result.stdout
        assert not any(char in result.stdout for char in "\x1b\u202e\u2028")
    assert "tags             a\\u2028b\n" in shown.stdout


def test_jobs_get_and_events(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOBS + "/job-1", Reply(200, job_json()))
    events = {
        "events": [
            {
                "id": 1,
                "type": "job_pending",
                "status": "queued",
                "message": None,
                "created_at": "2026-11-22T22:00:00Z",
                "data": None,
            }
        ]
    }
    fake_api.script("GET", JOBS + "/job-1/events", Reply(200, events))
    got = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert got.returncode == 0, got.stderr
    assert "status           queued" in got.stdout
    assert "hyperparameters  learning_rate=0.0001, lora_rank=32 (default)\n" in got.stdout
    assert "adapter          92,286,976 parameters (rank 32)\n" in got.stdout
    history = dn("train", "jobs", "events", "job-1", env=_env(fake_api))
    assert history.stdout.splitlines()[1].split() == [
        "2026-11-22",
        "22:00:00Z",
        "job_pending",
        "queued",
    ]
    as_json = json.loads(
        dn("train", "jobs", "events", "job-1", "--json", env=_env(fake_api)).stdout
    )
    assert as_json == events


def test_jobs_cancel_refuses_without_yes_when_stdin_is_not_a_terminal(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    result = dn("train", "jobs", "cancel", "job-1", env=_env(fake_api))
    assert result.returncode == 2
    assert "pass --yes" in result.stderr
    assert fake_api.requests == []


def test_jobs_cancel_twice_reports_the_conflict(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script(
        "POST",
        JOBS + "/job-1/cancel",
        Reply(200, job_json(status="cancelled")),
        envelope(409, "Job job-1 is already cancelled", "conflict_error"),
    )
    first = dn("train", "jobs", "cancel", "job-1", "--yes", env=_env(fake_api))
    assert (first.returncode, first.stdout) == (0, "cancelled job job-1 (status: cancelled)\n")
    second = dn("train", "jobs", "cancel", "job-1", "--yes", env=_env(fake_api))
    assert second.returncode == 1
    assert second.stderr == "error: Job job-1 is already cancelled\n"


def test_wrong_token_is_one_clear_line(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOBS, envelope(401, "Authentication failed", "authentication_error"))
    result = dn("train", "jobs", "list", env=_env(fake_api))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: Authentication failed",
        "  the token was refused: check DREADNODE_API_KEY or --api-key",
    ]


def test_upgrade_required_says_how_to_upgrade(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOBS, envelope(426, "SDK too old", "upgrade_required_error"))
    result = dn("train", "jobs", "list", env=_env(fake_api))
    assert result.returncode == 1
    assert f"this is dreadnode-training {__version__}" in result.stderr


def test_proxy_page_is_one_clear_line_without_traceback(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script(
        "GET", JOBS + "/job-1", Reply(502, "<html>Bad Gateway</html>", content_type="text/html")
    )
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api, DREADNODE_API_KEY="k"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: HTTP 502 Bad Gateway")
    assert "Traceback" not in result.stderr


def test_catalog_route_not_found_hints_at_the_server_url(dn: DnRunner, fake_api: FakeAPI) -> None:
    # A server URL that already names a route: /api/v1 is appended after it, to no route.
    wrong = fake_api.url + "/api/v1/training"
    unrouted = "/api/v1/training/api/v1/training/catalog"
    fake_api.script("GET", unrouted, envelope(404, "Not found", "not_found_error"))
    result = dn("train", "catalog", "--server-url", wrong, "--api-key", "k")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: Not found"
    assert f"GET {fake_api.url}{unrouted}" in lines[1]
    assert "is the server URL right?" in lines[1]
    assert "DREADNODE_SERVER_URL or --server-url" in lines[1]


def test_jobs_get_unknown_job_gets_no_server_url_hint(dn: DnRunner, fake_api: FakeAPI) -> None:
    detail = "Training job 'job-404' not found"
    fake_api.script("GET", JOBS + "/job-404", envelope(404, detail, "not_found_error"))
    result = dn("train", "jobs", "get", "job-404", env=_env(fake_api))
    assert (result.returncode, result.stderr) == (1, f"error: {detail}\n")


@pytest.mark.parametrize("action", ["get", "events", "cancel"])
def test_jobs_id_with_slash_is_refused_before_sending(
    dn: DnRunner, fake_api: FakeAPI, action: str
) -> None:
    result = dn("train", "jobs", action, "a/b", "--yes" if action == "cancel" else "--json",
                env=_env(fake_api))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: 'a/b' is not a job id: job ids never contain '/' (see 'dn train jobs list'; "
        "models are listed by 'dn train catalog')"
    ]
    assert fake_api.requests == []


def test_debug_shows_the_traceback(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOBS + "/job-1", envelope(404, "Job not found", "not_found_error"))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api, DREADNODE_DEBUG="1"))
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.endswith("error: Job not found\n")


def test_cli_names_the_same_variables_as_the_client() -> None:
    from dreadnode import client

    assert (cli_api.SERVER_URL_ENV, cli_api.API_KEY_ENV) == (
        client.SERVER_URL_ENV,
        client.API_KEY_ENV,
    )


def test_offline_catalog_never_imports_httpx() -> None:
    code = (
        "import sys\n"
        "from dreadnode.cli.main import main\n"
        "assert main(['train', 'catalog', '--json']) == 0\n"
        "assert main(['train', 'catalog', '--limit', '1']) == 0\n"
        "sys.stderr.write(str('httpx' in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": ""},
    )
    assert result.stderr.endswith("False")


def _cancel_on_a_terminal(api: FakeAPI, answer: str) -> subprocess.CompletedProcess[str]:
    """Run ``dn train jobs cancel`` with a pseudo-terminal as stdin, typing ``answer``."""
    import os
    import pty

    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        return subprocess.run(
            [console_script("dn"), "train", "jobs", "cancel", "job-1"],
            stdin=terminal,
            capture_output=True,
            text=True,
            env=dn_environment(_env(api)),
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_jobs_cancel_asks_on_a_terminal_and_cancels_on_yes(fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS + "/job-1/cancel", Reply(200, job_json(status="cancelled")))
    result = _cancel_on_a_terminal(fake_api, "y\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "Cancel job job-1? [y/N] "
    assert result.stdout == "cancelled job job-1 (status: cancelled)\n"
    assert len(fake_api.requests) == 1


@pytest.mark.parametrize("answer", ["\n", "n\n", "no\n", "nope\n"])
def test_jobs_cancel_declined_on_a_terminal_is_not_an_error(fake_api: FakeAPI, answer: str) -> None:
    result = _cancel_on_a_terminal(fake_api, answer)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "Cancel job job-1? [y/N] not cancelled\n"
    assert fake_api.requests == []


def test_rate_limit_wait_is_announced_before_it_starts(fake_api: FakeAPI) -> None:
    limited = envelope(429, "Rate limit exceeded", "rate_limit_error")
    limited.headers["Retry-After"] = "2"
    page = {"jobs": [job_json()], "total": 1, "limit": 20}
    fake_api.script("GET", JOBS, limited, Reply(200, page))
    process = subprocess.Popen(
        [console_script("dn"), "train", "jobs", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dn_environment(_env(fake_api)),
    )
    assert process.stderr is not None
    note = process.stderr.readline()  # "" (end of file) if dn said nothing before finishing
    announced = time.monotonic()
    retried_yet = len(fake_api.seen("GET", JOBS))
    stdout, stderr = process.communicate(timeout=60)
    waited = time.monotonic() - announced
    assert note == (
        "note: the API is rate limiting requests (429 Too Many Requests); "
        "waiting 2 s, as it asked, before retry 1 of 2\n"
    )
    assert retried_yet == 1  # said while waiting, not after
    assert waited > 1.5
    assert (process.returncode, stderr) == (0, "")
    assert stdout.splitlines()[1].split()[0] == "job-1"
    assert len(fake_api.seen("GET", JOBS)) == 2


@pytest.mark.parametrize(
    ("wait", "line"),
    [
        (
            RetryWait(attempt=1, delay=0.73, status=429, retry_after=None, max_retries=2),
            "note: the API is rate limiting requests (429 Too Many Requests); "
            "waiting 0.7 s before retry 1 of 2\n",
        ),
        (
            RetryWait(attempt=2, delay=8.0, status=429, retry_after=3600.0, max_retries=2),
            "note: the API is rate limiting requests (429 Too Many Requests); "
            "waiting 8 s (it asked for 3600 s) before retry 2 of 2\n",
        ),
        (
            RetryWait(attempt=1, delay=2.0, status=503, retry_after=2.0, max_retries=2),
            "note: the API answered 503 Service Unavailable; "
            "waiting 2 s, as it asked, before retry 1 of 2\n",
        ),
        # A backoff nobody asked for, after a gateway error or no answer, is too short to say.
        (RetryWait(attempt=1, delay=0.4, status=502, retry_after=None, max_retries=2), ""),
        (RetryWait(attempt=1, delay=0.4, status=None, retry_after=None, max_retries=2), ""),
        (RetryWait(attempt=1, delay=0.0, status=429, retry_after=0.0, max_retries=2), ""),
    ],
)
def test_announced_waits_say_why_and_how_long(
    wait: RetryWait, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_api.announce_wait(wait)
    assert capsys.readouterr().err == line


def test_a_proxy_asking_to_wait_is_announced_then_reported(dn: DnRunner, fake_api: FakeAPI) -> None:
    busy = Reply(503, "<html>busy</html>", {"Retry-After": "0.1"}, content_type="text/html")
    fake_api.script("GET", JOBS, busy)
    result = dn("train", "jobs", "list", env=_env(fake_api))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[:2] == [
        f"note: the API answered 503 Service Unavailable; waiting 0.1 s, as it asked, "
        f"before retry {attempt} of 2"
        for attempt in (1, 2)
    ]
    assert lines[2].startswith("error: HTTP 503 Service Unavailable")
    assert len(fake_api.requests) == 3
