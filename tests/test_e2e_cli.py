"""The whole flow a user follows, end to end: the real ``dn`` against the real API server.

Nothing is mocked: ``dn`` runs as a subprocess, talks HTTP to ``python -m app serve`` on loopback,
which stores jobs in a temporary SQLite file that these tests also read directly, to prove that a
rejected request wrote nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.testing import free_port
from dreadnode.client import Client

from .conftest import GRADER, DnRun, LiveAPI, running_api

MODEL = "Qwen/Qwen3.5-9B-Base"


def _create(dn: DnRun, *args: str) -> str:
    created = dn("train", "sft", "--model", MODEL, "--dataset", "s3://bucket/train.jsonl", *args)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def test_catalog_lists_from_the_server_with_filters(dn: DnRun, live_api: LiveAPI) -> None:
    filters = ("--family", "qwen", "--query", "base", "--max-size-b", "10", "--kind", "base")
    online = dn("train", "catalog", "--json", *filters)
    assert online.returncode == 0, online.stderr
    assert online.stderr == ""  # into a pipe the listing comes alone (the source: on a terminal)
    payload = json.loads(online.stdout)
    assert set(payload) == {"models", "total", "limit"}
    assert [m["tinker_id"] for m in payload["models"]] == [
        "Qwen/Qwen3.5-9B-Base",
        "Qwen/Qwen3.5-35B-A3B-Base",
    ]
    assert {m["lifecycle"] for m in payload["models"]} == {"available"}
    offline = dn("train", "catalog", "--json", "--offline", *filters)
    assert offline.stderr == ""
    assert json.loads(offline.stdout) == payload  # the server's mirror and the SDK agree


def test_catalog_table_from_the_server_pages_with_limit(dn: DnRun) -> None:
    result = dn("train", "catalog", "--family", "nemotron", "--limit", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["tinker_id", "name", "family"]
    assert lines[-1].startswith("showing 2 of 5")


def test_submit_typo_shows_hint_exits_2_and_writes_nothing(dn: DnRun, live_api: LiveAPI) -> None:
    jobs_before = live_api.count_rows("jobs")
    listed_before = json.loads(dn("train", "jobs", "list", "--json").stdout)["total"]
    result = dn("train", "sft", "--model", "Qwen/Qwen3.5-9B-Bas", "--dataset", "s3://b/t")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "error: Unknown training base model 'Qwen/Qwen3.5-9B-Bas'. "
        "Did you mean one of: Qwen/Qwen3.5-9B-Base, Qwen/Qwen3.5-9B?"
    )
    assert live_api.count_rows("jobs") == jobs_before
    assert json.loads(dn("train", "jobs", "list", "--json").stdout)["total"] == listed_before


def test_dry_run_shows_every_violation_and_writes_nothing(dn: DnRun, live_api: LiveAPI) -> None:
    jobs_before = live_api.count_rows("jobs")
    result = dn(
        "train", "sft", "--model", MODEL, "--dataset", "s3://b/t", "--dry-run",
        "--learning-rate", "5", "--max-sequence-length", "999999", "--batch-size", "0",
    )  # fmt: skip
    assert result.returncode == 1
    # A URI's data is not the platform's to check: a warning first, then the refusal.
    warning, *lines = result.stderr.splitlines()
    assert warning.startswith("warning: Dataset 's3://b/t' ")
    assert lines[0] == "error: the API would reject this job (3 problems; dry run, nothing created)"
    assert any("batch_size" in line for line in lines[1:])
    assert any("learning_rate" in line for line in lines[1:])
    assert any("exceeds the context length" in line for line in lines[1:])
    assert live_api.count_rows("jobs") == jobs_before
    valid = dn("train", "sft", "--model", MODEL, "--dataset", "s3://b/t", "--dry-run")
    assert (valid.returncode, valid.stdout.split(":")[0]) == (0, "valid")
    assert "adapter: 94,584,832 parameters (rank 32)" in valid.stdout
    assert "(default)" in valid.stdout
    assert live_api.count_rows("jobs") == jobs_before


def test_submit_list_get_events_cancel_and_cancel_again(dn: DnRun, live_api: LiveAPI) -> None:
    jobs_before = live_api.count_rows("jobs")
    job_id = _create(dn, "--name", "e2e run", "--tag", "e2e", "--learning-rate", "0.0001")
    assert live_api.count_rows("jobs") == jobs_before + 1

    listed = json.loads(dn("train", "jobs", "list", "--json").stdout)
    assert listed["jobs"][0]["id"] == job_id  # newest first
    table = dn("train", "jobs", "list", "--status", "queued").stdout
    assert job_id in table

    job = json.loads(dn("train", "jobs", "get", job_id, "--json").stdout)
    assert (job["status"], job["name"], job["tags"]) == ("queued", "e2e run", ["e2e"])
    assert job["hyperparameters"]["learning_rate"] == 0.0001
    # No worker runs beside this server: the job says what it waits for.
    shown = dn("train", "jobs", "get", job_id).stdout
    assert "status           queued (waiting for a worker: none is running; " in shown
    assert (job["status_message"], job["progress"]) == (
        "waiting for a worker: none is running",
        {"step": 0, "total_steps": None, "epochs_completed": 0},
    )

    events = json.loads(dn("train", "jobs", "events", job_id, "--json").stdout)["events"]
    assert [(e["type"], e["status"], e["data"]) for e in events] == [
        ("job_pending", "queued", None)
    ]

    refused = dn("train", "jobs", "cancel", job_id)  # stdin is not a terminal
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr

    cancelled = dn("train", "jobs", "cancel", job_id, "--yes")
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout == f"cancelled job {job_id} (status: cancelled)\n"

    again = dn("train", "jobs", "cancel", job_id, "--yes")
    assert again.returncode == 1
    assert again.stderr.startswith("error: ")
    assert "already cancelled" in again.stderr
    assert len(again.stderr.splitlines()) == 1
    assert "Traceback" not in again.stderr

    history = dn("train", "jobs", "events", job_id)
    assert [line.split()[2] for line in history.stdout.splitlines()[1:]] == [
        "job_pending",
        "job_cancelled",
    ]

    # Following a finished job prints its history (read with the cursor) and exits as it ended.
    followed = dn("train", "jobs", "events", job_id, "--follow")
    assert followed.returncode == 1
    assert [line.split()[2] for line in followed.stdout.splitlines()] == [
        "job_pending",
        "job_cancelled",
    ]
    assert followed.stderr.startswith(f"error: job {job_id} was cancelled: Cancelled by ")
    assert followed.stderr.endswith(" before it started\n")
    assert len(followed.stderr.splitlines()) == 1
    newer = json.loads(dn("train", "jobs", "events", job_id, "--json").stdout)["events"]
    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        assert client.list_job_events(job_id, after=newer[0]["id"]).events[0].type == (
            "job_cancelled"
        )
        assert client.list_job_events(job_id, after=newer[-1]["id"]).events == []
        assert client.get_job_metrics(job_id).points == []


def test_rl_job_with_ppo(dn: DnRun, grader_file: str) -> None:
    created = dn(
        "train", "rl", "--model", "Qwen/Qwen3-8B", "--dataset", "s3://b/t", "--algorithm", "ppo",
        "--grader", grader_file, "--group-size", "8", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    job = json.loads(created.stdout)
    assert (job["method"], job["algorithm"], job["status"]) == ("rl", "ppo", "queued")
    assert job["grader"] == {**GRADER, "operation": "eq", "pattern": None, "marker": None}
    assert job["hyperparameters"]["group_size"] == 8
    assert (job["hyperparameters"]["clip_low_threshold"], job["hyperparameters"][
        "clip_high_threshold"]) == (0.8, 1.2)  # fmt: skip
    shown = dn("train", "jobs", "get", job["id"])
    assert "string_check eq on 'answer' (last_line)" in shown.stdout


KIMI = "moonshotai/Kimi-K2.6"


def test_a_model_without_a_renderer_fails_here_for_sft_and_rl(
    dn: DnRun, live_api: LiveAPI, grader_file: str
) -> None:
    jobs_before = live_api.count_rows("jobs")
    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        verdict = client.validate_job(base_model=KIMI, method="sft", dataset="s3://b/t")
    assert [(e.loc, e.type) for e in verdict.errors] == [(["body", "base_model"], "no_renderer")]
    # An RL job needs the renderer too: its prompts become tokens, its completions text to grade.
    for method in (["sft"], ["rl", "--grader", grader_file]):
        refused = dn("train", *method, "--model", KIMI, "--dataset", "s3://b/t")
        assert (refused.returncode, refused.stdout) == (2, "")
        assert refused.stderr.splitlines()[0] == f"error: {verdict.errors[0].msg}"
    assert live_api.count_rows("jobs") == jobs_before
    listed = json.loads(dn("train", "catalog", "--json", "--query", "kimi").stdout)
    assert [(m["tinker_id"], m["renderer"]) for m in listed["models"]] == [(KIMI, None)]


def test_unknown_job_is_a_clear_not_found(dn: DnRun) -> None:
    result = dn("train", "jobs", "get", "00000000-0000-0000-0000-000000000000")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "not found" in result.stderr


def test_catalog_with_server_url_naming_a_route_hints_at_the_url(
    dn: DnRun, live_api: LiveAPI
) -> None:
    result = dn("train", "catalog", "--server-url", live_api.url + "/api/v1/training")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: Not found"
    unrouted = f"{live_api.url}/api/v1/training/api/v1/training/catalog"
    assert f"the API has no route GET {unrouted}; is the server URL right?" in lines[1]


def test_jobs_get_id_with_slash_is_a_usage_error(dn: DnRun) -> None:
    result = dn("train", "jobs", "get", "a/b")
    assert result.returncode == 2
    assert "job ids never contain '/'" in result.stderr


def test_another_owners_job_is_not_found(dn: DnRun, live_api: LiveAPI) -> None:
    job_id = _create(dn)
    stranger = live_api.create_token("stranger")
    result = dn("train", "jobs", "get", job_id, env={"DREADNODE_API_KEY": stranger})
    assert result.returncode == 1
    assert "not found" in result.stderr
    theirs = dn("train", "jobs", "list", "--json", env={"DREADNODE_API_KEY": stranger})
    mine = json.loads(theirs.stdout)
    assert mine["jobs"] == []


def test_read_only_token_cannot_create(dn: DnRun, live_api: LiveAPI) -> None:
    reader = live_api.create_token("reader", "--read-only")
    result = dn(
        "train", "sft", "--model", MODEL, "--dataset", "s3://b/t",
        env={"DREADNODE_API_KEY": reader},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert dn("train", "jobs", "list", env={"DREADNODE_API_KEY": reader}).returncode == 0


def test_wrong_token_is_a_clear_authentication_message(dn: DnRun) -> None:
    result = dn("train", "jobs", "list", env={"DREADNODE_API_KEY": "dn_not_a_real_token"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: Authentication failed",
        "  the token was refused: check DREADNODE_API_KEY or --api-key",
    ]


def test_missing_token_says_how_to_set_one(dn: DnRun) -> None:
    result = dn("train", "jobs", "list", env={"DREADNODE_API_KEY": ""})
    assert result.returncode == 1
    assert "no token configured: set DREADNODE_API_KEY" in result.stderr


def test_server_down_is_a_clear_connection_message(dn: DnRun) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for args in (("train", "jobs", "list"), ("train", "catalog")):
        result = dn(*args, env={"DREADNODE_SERVER_URL": down})
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: cannot reach the API at {down}/api/v1")
        assert "is the API server running?" in result.stderr
        assert "Traceback" not in result.stderr


def test_no_server_configured_is_a_usage_error(dn: DnRun) -> None:
    result = dn("train", "jobs", "list", env={"DREADNODE_SERVER_URL": ""})
    assert result.returncode == 2
    assert "set DREADNODE_SERVER_URL or pass --server-url" in result.stderr


def test_server_url_and_api_key_flags(dn: DnRun, live_api: LiveAPI) -> None:
    result = dn(
        "train", "jobs", "list", "--server-url", live_api.url + "/api/v1",
        "--api-key", live_api.token, env={"DREADNODE_SERVER_URL": "", "DREADNODE_API_KEY": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_sdk_older_than_the_server_minimum_is_told_to_upgrade(dn: DnRun, tmp_path: Path) -> None:
    with running_api(tmp_path, DREADNODE_API_MIN_SDK_VERSION="99.0") as strict:
        result = dn(
            "train", "jobs", "list", env={"DREADNODE_SERVER_URL": strict.url,
                                          "DREADNODE_API_KEY": strict.token},
        )  # fmt: skip
    assert result.returncode == 1
    assert "upgrade it: pip install --upgrade dreadnode-training" in result.stderr


@pytest.mark.parametrize(
    "model",
    [
        "Qwen/Qwen3.5-9B-Bas",  # a typo
        "Qwen/Qwen3.5-27B",  # retired, no replacement, never an entry
        "meta-llama/Llama-3.1-8B",  # retired, with a replacement
        "meta-llama/Llama-3.1-8B-Instruc",  # a typo whose nearest id is retired
        "Qwen/Qwen3-8B:peft:131072",  # a suffix the model does not offer
        "Qwen/Qwen3.5-397B-A17B:peft:999",  # the wrong suffix
        "banana/Nothing-Like-It",
        "moonshotai/Kimi-K2.6",  # served, but no renderer: SFT refused (no_renderer)
        "moonshotai/Kimi-K2.6:peft:131072",  # its :peft: id has its renderer: none
    ],
)
def test_local_model_check_says_what_the_api_would_say(
    dn: DnRun, live_api: LiveAPI, model: str
) -> None:
    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        verdict = client.validate_job(base_model=model, method="sft", dataset="s3://b/t")
    (api_error,) = [e for e in verdict.errors if e.loc[-1] == "base_model"]
    local = dn("train", "sft", "--model", model, "--dataset", "s3://b/t")
    assert local.returncode == 2
    assert local.stderr.splitlines()[0] == f"error: {api_error.msg}"


def test_defaults_are_visible_on_the_stored_job(dn: DnRun) -> None:
    job_id = _create(dn)
    job = json.loads(dn("train", "jobs", "get", job_id, "--json").stdout)
    assert job["hyperparameters"]["lora_rank"] == 32
    assert job["hyperparameters"]["learning_rate"] == pytest.approx(5e-4 * (2000 / 4096) ** 0.0775)
    assert job["defaulted_hyperparameters"] == ["learning_rate", "lora_rank"]
    assert job["adapter_parameters"] == 32 * (1572864 + 1130496 + 252416)
    given = _create(dn, "--lora-rank", "64", "--learning-rate", "0.0003")
    stored = json.loads(dn("train", "jobs", "get", given, "--json").stdout)
    assert (stored["hyperparameters"]["lora_rank"], stored["defaulted_hyperparameters"]) == (64, [])


def test_rank_64_is_accepted_and_48_refused(dn: DnRun, live_api: LiveAPI) -> None:
    assert _create(dn, "--lora-rank", "64")
    jobs_before = live_api.count_rows("jobs")
    refused = dn("train", "sft", "--model", MODEL, "--dataset", "s3://b/t", "--lora-rank", "48")
    assert refused.returncode == 2
    assert "lora_rank must be a power of two (Tinker refuses others), got 48" in refused.stderr
    too_large = dn("train", "sft", "--model", MODEL, "--dataset", "s3://b/t", "--lora-rank", "256")
    assert too_large.returncode == 2
    assert "exceeds 128, the largest rank known to train on Tinker" in too_large.stderr
    assert live_api.count_rows("jobs") == jobs_before
    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        verdict = client.validate_job(
            base_model=MODEL, method="sft", dataset="s3://b/t", hyperparameters={"lora_rank": 48}
        )
    assert [e.type for e in verdict.errors] == ["invalid_lora_rank"]


def test_peft_id_is_described_as_itself(dn: DnRun, live_api: LiveAPI) -> None:
    peft = "Qwen/Qwen3.5-397B-A17B:peft:262144"
    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        entry = client.get_catalog_model(peft)
    assert (entry.tinker_id, entry.context_length) == (peft, 262144)
    created = dn("train", "sft", "--model", peft, "--dataset", "s3://b/t", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["base_model"] == peft


def test_retired_listing_agrees_online_and_offline(dn: DnRun) -> None:
    online = dn("train", "catalog", "--retired", "--json")
    assert online.returncode == 0, online.stderr
    payload = json.loads(online.stdout)
    assert payload["total"] == 21
    llama = {r["tinker_id"]: r for r in payload["retired"]}["meta-llama/Llama-3.1-8B"]
    assert (llama["retired_on"], llama["replacement"]) == ("2026-06-12", "Qwen/Qwen3.5-9B-Base")
    offline = dn("train", "catalog", "--retired", "--json", "--offline")
    assert json.loads(offline.stdout) == payload


BEFORE_JUNE = "2026-06-01"  # the June retirements were announced, not yet in effect
RETIRING = "meta-llama/Llama-3.1-8B"
RETIRING_WARNING = (
    "warning: Training base model 'meta-llama/Llama-3.1-8B' retires on 2026-06-12; "
    "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
)


@pytest.fixture(scope="module")
def api_before_june(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    """A server whose day is pinned before the June retirements."""
    with running_api(
        tmp_path_factory.mktemp("before-june"), DREADNODE_API_CATALOG_DAY=BEFORE_JUNE
    ) as api:
        yield api


def _on(api: LiveAPI, day: str) -> dict[str, str]:
    return {"DREADNODE_SERVER_URL": api.url, "DREADNODE_API_KEY": api.token,
            "DREADNODE_CATALOG_DAY": day}  # fmt: skip


def test_retiring_model_is_warned_of_with_headers(
    dn: DnRun, api_before_june: LiveAPI, grader_file: str
) -> None:
    jobs_before = api_before_june.count_rows("jobs")
    on_day = _on(api_before_june, BEFORE_JUNE)
    # Retiring, it is still listed; a job on it is refused for want of a renderer (a retired
    # entry keeps no training facts): here before anything is sent, and by the API with the
    # retirement beside the refusal.
    refused = dn(
        "train", "rl", "--model", RETIRING, "--dataset", "s3://b/t", "--grader", grader_file,
        env=on_day,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: Training base model {RETIRING!r} has no renderer")
    assert api_before_june.count_rows("jobs") == jobs_before
    listed = dn("train", "catalog", "--family", "llama", env=on_day)
    assert "retiring 2026-06-12" in listed.stdout
    headers = {"Authorization": f"Bearer {api_before_june.token}"}
    with httpx.Client(base_url=api_before_june.url + "/api/v1", headers=headers) as http:
        entry = http.get(f"/training/catalog/{RETIRING}")
        verdict = http.post(
            "/training/jobs/validate",
            json={"base_model": RETIRING, "method": "rl", "dataset": "s3://b/t", "grader": GRADER},
        )
    assert entry.status_code == 200
    assert verdict.json()["valid"] is False
    assert [e["type"] for e in verdict.json()["errors"]] == ["no_renderer"]
    for answer in (entry, verdict):
        assert answer.headers["Deprecation"] == "@1779062400"  # 2026-05-18, the announcement
        assert answer.headers["Sunset"] == "Fri, 12 Jun 2026 00:00:00 GMT"
    # Beside it, the URI's dataset_not_checked warning.
    assert [w for w in verdict.json()["warnings"] if w["type"] != "dataset_not_checked"] == [
        {"loc": ["body", "base_model"], "msg": RETIRING_WARNING.removeprefix("warning: "),
         "type": "model_retiring"}
    ]  # fmt: skip


def test_retiring_model_is_refused_once_its_day_comes(dn: DnRun, tmp_path: Path) -> None:
    retired = (
        "Training base model 'meta-llama/Llama-3.1-8B' was retired on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
    )
    with running_api(tmp_path, DREADNODE_API_CATALOG_DAY="2026-06-12") as api:
        on_day = _on(api, "2026-06-12")
        local = dn("train", "sft", "--model", RETIRING, "--dataset", "s3://b/t", env=on_day)
        assert (local.returncode, local.stderr.splitlines()[0]) == (2, f"error: {retired}")
        with Client(server_url=api.url, api_key=api.token) as client:
            verdict = client.validate_job(base_model=RETIRING, method="sft", dataset="s3://b/t")
        assert [(e.type, e.msg) for e in verdict.errors] == [("retired_base_model", retired)]
        assert api.count_rows("jobs") == 0
