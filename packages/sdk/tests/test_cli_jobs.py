"""`dn train jobs get|events|watch|cancel` and `dn train sft --watch` on jobs that run: what a
user sees of a job's progress, its checkpoints and its end, and the exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dreadnode.cli import watch
from dreadnode.cli.main import main
from dreadnode.cli.output import SPARK_BLOCKS, sparkline
from dreadnode.client import Job, JobEvent

from .conftest import GRADER, JOBS, DnRunner, console_script, dn_environment
from .fake_api import (
    COST_FIELDS,
    NOT_HELD,
    PPO_DEFAULTS,
    RL_DEFAULTS,
    FakeAPI,
    JobRun,
    Reply,
    envelope,
    estimate_json,
    event_json,
    job_json,
    rl_figures,
    timestamp,
)

JOB = JOBS + "/job-1"
FINAL = "tinker://run-1/sampler_weights/final"
FAST = ("--interval", "0.1")


def _env(api: FakeAPI, **extra: str) -> dict[str, str]:
    return {"DREADNODE_SERVER_URL": api.url, "DREADNODE_API_KEY": "t0ken", **extra}


def _checkpoint(
    step: int, kind: str = "training", size: int | None = 1_234_000_000
) -> dict[str, Any]:
    path = f"tinker://run-1/weights/{step:06d}" if kind == "training" else FINAL
    return {"checkpoint_id": f"ckpt-{step}", "checkpoint_type": kind, "step": step,
            "time": timestamp(10 + step), "tinker_path": path, "size_bytes": size}  # fmt: skip


def _running(step: int, total: int | None = 4, **changes: Any) -> dict[str, Any]:
    """Job 1 as the API answers it while a worker trains it."""
    message = "preparing: reading and rendering the dataset"
    if total is not None:
        message = f"training: step {step} of {total}"
    run: dict[str, Any] = {
        "status": "running",
        "status_message": message,
        "started_at": timestamp(2),
        "updated_at": timestamp(2 + step),
        "progress": {"step": step, "total_steps": total, "epochs_completed": 0},
        "trained_tokens": step * 1024,
        "loss": 2.5 - 0.25 * (step - 1) if step else None,
        "hyperparameters": {"learning_rate": 0.0001, "lora_rank": 32, "epochs": 1},
    }
    return job_json(**{**run, **changes})


def _step(event_id: int, step: int) -> dict[str, Any]:
    data = {"step": step, "loss": 2.5 - 0.25 * (step - 1), "tokens": 1024, "learning_rate": 1e-4}
    return event_json(event_id, "training_step", "running", data=data)


def _saved(event_id: int, step: int, kind: str = "training") -> dict[str, Any]:
    path = _checkpoint(step, kind)["tinker_path"]
    data = {"step": step, "checkpoint_type": kind, "tinker_path": path}
    message = f"Saved {kind} checkpoint ckpt-{step} at step {step}"
    return event_json(event_id, "checkpoint_save", "running", message, data)


def _run(end: str = "completed") -> JobRun:
    """Job 1 from queued to ``end``, over five reads: four steps, two checkpoints, one epoch."""
    queued = job_json(status_message="waiting for a worker", queue_position=0)
    finished: dict[str, Any] = {
        "status_message": None,
        "finished_at": timestamp(10),
        "updated_at": timestamp(10),
        "progress": {"step": 4, "total_steps": 4, "epochs_completed": 1},
    }
    if end == "completed":
        saved = [_checkpoint(2), _checkpoint(4, "sampler")]
        last = _running(4, status="completed", checkpoints=saved, sampler_path=FINAL, **finished)
        ending = [_saved(9, 4, "sampler"),
                  event_json(10, "job_complete", "completed",
                             f"Training finished; the adapter is at {FINAL}")]  # fmt: skip
    elif end == "failed":
        error = {"type": "tinker_error", "message": "Tinker refused the batch"}
        last = _running(4, status="failed", error=error, checkpoints=[_checkpoint(2)], **finished)
        ending = [event_json(9, "job_error", "failed", "Tinker refused the batch",
                             {"error_type": "tinker_error"})]  # fmt: skip
    else:
        last = _running(4, status="cancelled", cancel_requested=True, checkpoints=[_checkpoint(2)],
                        **finished)  # fmt: skip
        ending = [
            event_json(9, "cancel_requested", "running",
                       "Cancel asked by alice; the job stops at its next step"),
            event_json(10, "job_cancelled", "cancelled",
                       "Cancelled at step 4; the checkpoints saved so far are kept"),
        ]  # fmt: skip
    return JobRun(
        "job-1",
        [
            (queued, [event_json(1, "job_pending", "queued", "Queued; waiting for a worker")]),
            (_running(0, None), [event_json(2, "job_start", "running", "Started by worker w-1")]),
            (_running(2, checkpoints=[_checkpoint(2)]), [_step(3, 1), _step(4, 2), _saved(5, 2)]),
            (_running(4, checkpoints=[_checkpoint(2)]),
             [_step(6, 3), _step(7, 4),
              event_json(8, "epoch_complete", "running", "Epoch 1 done", {"epoch": 1})]),
            (last, ending),
        ],
    )  # fmt: skip


#: What ``events --follow`` (and ``watch`` into a pipe) prints of ``_run()``'s first 8 events.
LINES = [
    "2026-11-22 22:00:01Z  job_pending       queued     Queued; waiting for a worker",
    "2026-11-22 22:00:02Z  job_start         running    Started by worker w-1",
    "2026-11-22 22:00:03Z  training_step     running    step 1/4  loss 2.5000  tokens 1,024  "
    "lr 0.0001",
    "2026-11-22 22:00:04Z  training_step     running    step 2/4  loss 2.2500  tokens 1,024  "
    "lr 0.0001",
    "2026-11-22 22:00:05Z  checkpoint_save   running    saved training checkpoint at step 2: "
    "tinker://run-1/weights/000002",
    "2026-11-22 22:00:06Z  training_step     running    step 3/4  loss 2.0000  tokens 1,024  "
    "lr 0.0001",
    "2026-11-22 22:00:07Z  training_step     running    step 4/4  loss 1.7500  tokens 1,024  "
    "lr 0.0001",
    "2026-11-22 22:00:08Z  epoch_complete    running    Epoch 1 done",
]
COMPLETED = [
    "2026-11-22 22:00:09Z  checkpoint_save   running    saved sampler checkpoint at step 4: "
    + FINAL,
    f"2026-11-22 22:00:10Z  job_complete      completed  Training finished; the adapter is at "
    f"{FINAL}",
]


# --- get ---------------------------------------------------------------------------------------


def test_jobs_get_shows_progress_loss_and_checkpoints(dn: DnRunner, fake_api: FakeAPI) -> None:
    checkpoints = [_checkpoint(2), _checkpoint(4, "sampler", size=None)]
    fake_api.script("GET", JOB, Reply(200, _running(4, checkpoints=checkpoints)))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == "status           running (training: step 4 of 4)"
    assert lines[-10:] == [
        "created          2026-11-22 22:00:00Z",
        "updated          2026-11-22 22:00:06Z",
        "started          2026-11-22 22:00:02Z",
        "progress         step 4 of 4 (100%), 0 of 1 epochs done",
        "trained tokens   4,096",
        "loss             1.7500 (step 4)",
        "checkpoints      2",
        "  step  type      saved                 size    path",
        "     2  training  2026-11-22 22:00:12Z  1.2 GB  tinker://run-1/weights/000002",
        f"     4  sampler   2026-11-22 22:00:14Z          {FINAL}",
    ]
    # Into a pipe there is no sparkline, so the loss curve is not even asked for.
    assert [seen.path for seen in fake_api.requests] == [JOB]


def test_jobs_get_on_a_terminal_draws_the_latest_losses_as_a_sparkline(
    dn_on_terminal: DnRunner, fake_api: FakeAPI
) -> None:
    points = [
        {"step": step, "loss": 3.0 - step / 25, "tokens": 512, "learning_rate": 1e-4,
         "time": timestamp(step)}
        for step in range(1, 51)
    ]  # fmt: skip
    points[-1]["loss"] = 1.3  # a bump at the end: the curve must show it
    fake_api.script("GET", JOB, Reply(200, _running(50, 100, loss=1.3)))
    fake_api.script("GET", JOB + "/metrics", Reply(200, {"points": points}))
    result = dn_on_terminal("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    (curve,) = [line for line in result.stdout.splitlines() if line.startswith("loss curve")]
    drawn = sparkline([p["loss"] for p in points[-40:]])
    assert curve == f"loss curve       {drawn}  steps 11-50: 2.5600 to 1.3000"
    assert (drawn[0], drawn[-2], drawn[-1]) == (SPARK_BLOCKS[-1], SPARK_BLOCKS[0], SPARK_BLOCKS[1])


def test_jobs_get_on_a_terminal_asks_for_no_curve_before_the_first_step(
    dn_on_terminal: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("GET", JOB, Reply(200, _running(0, None)))
    result = dn_on_terminal("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert "status           running (preparing: reading and rendering the dataset)" in (
        result.stdout
    )
    assert "progress         step 0 (total not known yet), 0 of 1 epochs done" in result.stdout
    assert [seen.path for seen in fake_api.requests] == [JOB]


def test_jobs_get_failed_job_shows_its_error(dn: DnRunner, fake_api: FakeAPI) -> None:
    error = {"type": "row_too_long", "message": "line 3 has 40,000 tokens, more than 32,768"}
    failed = _running(2, status="failed", status_message=None, error=error,
                      finished_at=timestamp(62))  # fmt: skip
    fake_api.script("GET", JOB, Reply(200, failed))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == "status           failed"
    assert "finished         2026-11-22 22:01:02Z (after 1m 00s)" in lines
    assert lines[-1] == "error            row_too_long: line 3 has 40,000 tokens, more than 32,768"


def test_jobs_get_completed_job_shows_the_sampler_path(dn: DnRunner, fake_api: FakeAPI) -> None:
    done = _running(4, status="completed", status_message=None, sampler_path=FINAL)
    fake_api.script("GET", JOB, Reply(200, done))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.stdout.splitlines()[-1] == f"sampler path     {FINAL}"


def test_jobs_get_queued_job_says_what_it_waits_for(dn: DnRunner, fake_api: FakeAPI) -> None:
    queued = job_json(status_message="waiting for a worker: none is running", queue_position=2)
    fake_api.script("GET", JOB, Reply(200, queued))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    lines = result.stdout.splitlines()
    assert (
        lines[2] == "status           queued (waiting for a worker: none is running; 2 jobs ahead)"
    )
    assert lines[-1].startswith("updated ")  # nothing of a run that has not started


def test_jobs_get_escapes_the_servers_strings(dn: DnRunner, fake_api: FakeAPI) -> None:
    saved = [{**_checkpoint(2), "tinker_path": "tinker://\x1b]0;pwned\x07"}]
    error = {"type": "x\x1b[2J", "message": "a\u202eb"}
    hostile = _running(2, status="failed", error=error, checkpoints=saved)
    fake_api.script("GET", JOB, Reply(200, hostile))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert not any(char in result.stdout for char in "\x1b\x07\u202e")
    assert "error            x\\x1b[2J: a\\u202eb" in result.stdout
    assert "tinker://\\x1b]0;pwned\\x07" in result.stdout


def _costing(**changes: Any) -> dict[str, Any]:
    """Job 1 two steps into a run on a counted dataset: its exact tokens, the estimate, and
    2,795 tokens sent so far at $0.44 per million."""
    spend = {"processed_tokens": 2795, "spent_usd": 0.00123}
    hyperparameters = {"learning_rate": 0.0001, "lora_rank": 32, "epochs": 3}
    return _running(2, hyperparameters=hyperparameters, **{**estimate_json(), **spend, **changes})


@pytest.mark.parametrize(
    ("cap", "spent"),
    [
        (1.0, "$0.00123 of $1.00 cap (2,795 tokens sent)"),
        (None, "$0.00123, no cap (2,795 tokens sent)"),
    ],
)
def test_jobs_get_shows_the_estimate_and_the_spend_against_the_cap(
    dn: DnRunner, fake_api: FakeAPI, cap: float | None, spent: str
) -> None:
    fake_api.script("GET", JOB, Reply(200, _costing(max_cost_usd=cap)))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("tokens           1,234 per epoch, 3,702 in all (3 epochs)")
    assert lines[start + 1 : start + 3] == [
        "estimated cost   $0.00163 (train $0.44 per million tokens, Tinker's price list of "
        "2026-12-04 16:00 UTC)",
        f"spent            {spent}",
    ]


def test_jobs_get_says_a_cancelled_job_was_stopped_by_its_budget(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    stopped = _costing(status="cancelled", status_message=None, cancel_reason="budget",
                       max_cost_usd=0.0013, finished_at=timestamp(8))  # fmt: skip
    fake_api.script("GET", JOB, Reply(200, stopped))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == (
        "status           cancelled by budget (going on would have taken its spend over "
        "the $0.0013 cap)"
    )
    assert "spent            $0.00123 of $0.0013 cap (2,795 tokens sent)" in lines
    cancelled_by_owner = _costing(status="cancelled", status_message=None, cancel_reason="user")
    fake_api.script("GET", JOB, Reply(200, cancelled_by_owner))
    shown = dn("train", "jobs", "get", "job-1", env=_env(fake_api)).stdout.splitlines()
    assert shown[2] == "status           cancelled by user"


def test_jobs_get_says_the_spend_is_unknown_without_a_price(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    unpriced = {
        "train_usd_per_million": None,
        "price_as_of": None,
        "price_source": None,
        "reason": "no price known for 'Qwen/Qwen3-8B' in Tinker's price list",
    }
    job = job_json(cost_estimate=unpriced, spent_usd=None)
    fake_api.script("GET", JOB, Reply(200, job))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        "estimated cost   unknown (no price known for 'Qwen/Qwen3-8B' in Tinker's price list)"
    ) in lines
    assert "spent            unknown (no price known when the job was created)" in lines


def test_jobs_get_from_an_older_server_says_what_it_does_not_report(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    older = {k: v for k, v in _running(2).items() if k not in COST_FIELDS}
    fake_api.script("GET", JOB, Reply(200, older))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "estimated cost   unknown (this server does not estimate costs)" in lines
    assert "spent            unknown (this server does not report spending)" in lines
    assert "progress         step 2 of 4 (50%), 0 of 1 epochs done" in lines


def test_jobs_get_json_passes_the_cost_fields_through(dn: DnRunner, fake_api: FakeAPI) -> None:
    stopped = _costing(status="cancelled", cancel_reason="budget", max_cost_usd=1.0)
    fake_api.script("GET", JOB, Reply(200, stopped))
    result = dn("train", "jobs", "get", "job-1", "--json", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert {key: shown[key] for key in COST_FIELDS} == {key: stopped[key] for key in COST_FIELDS}


# --- events -----------------------------------------------------------------------------------


def test_jobs_events_shows_each_steps_figures(dn: DnRunner, fake_api: FakeAPI) -> None:
    run = _run()
    run.stage = 4  # finished: every event is there
    run.install(fake_api)
    result = dn("train", "jobs", "events", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0].split() == ["time", "event", "status", "message"]
    assert [line.split(maxsplit=4) for line in lines[1:]] == [
        line.split(maxsplit=4) for line in LINES + COMPLETED
    ]


def test_jobs_events_follow_reads_with_the_cursor_and_stops_when_completed(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    run = _run()
    run.install(fake_api)
    result = dn("train", "jobs", "events", "job-1", "--follow", *FAST, env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == LINES + COMPLETED
    # Each read asked for what came after the last event it had, and got only that.
    afters = [seen.query.get("after") for seen in fake_api.seen("GET", JOB + "/events")]
    assert afters == [None, ["1"], ["2"], ["5"], ["8"]]
    assert run.served == [[1], [2], [3, 4, 5], [6, 7, 8], [9, 10]]


@pytest.mark.parametrize(
    ("end", "last", "error"),
    [
        ("failed",
         "2026-11-22 22:00:09Z  job_error         failed     tinker_error: Tinker refused the "
         "batch",
         "error: tinker_error: Tinker refused the batch"),
        ("cancelled",
         "2026-11-22 22:00:10Z  job_cancelled     cancelled  Cancelled at step 4; the "
         "checkpoints saved so far are kept",
         "error: job job-1 was cancelled: Cancelled at step 4; the checkpoints saved so far are "
         "kept"),
    ],
)  # fmt: skip
def test_jobs_events_follow_exits_1_with_the_reason_when_the_job_does_not_complete(
    dn: DnRunner, fake_api: FakeAPI, end: str, last: str, error: str
) -> None:
    _run(end).install(fake_api)
    result = dn("train", "jobs", "events", "job-1", "-f", *FAST, env=_env(fake_api))
    assert result.returncode == 1
    assert result.stdout.splitlines()[: len(LINES)] == LINES
    assert result.stdout.splitlines()[-1] == last
    assert result.stderr == error + "\n"


def test_jobs_events_follow_json_prints_one_event_a_line(dn: DnRunner, fake_api: FakeAPI) -> None:
    import json

    run = _run()
    run.install(fake_api)
    result = dn("train", "jobs", "events", "job-1", "--follow", "--json", *FAST,
                env=_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["id"] for e in events] == list(range(1, 11))
    assert events[2]["data"] == {"step": 1, "loss": 2.5, "tokens": 1024, "learning_rate": 1e-4}


def test_jobs_events_follow_of_a_finished_job_prints_its_history_and_stops(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    run = _run()
    run.stage = 4
    run.install(fake_api)
    result = dn("train", "jobs", "events", "job-1", "--follow", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 10
    assert len(fake_api.seen("GET", JOB + "/events")) == 1  # no second read, no wait


# --- watch ------------------------------------------------------------------------------------


def test_jobs_watch_in_a_pipe_prints_plain_lines_and_the_sampler_path(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    _run().install(fake_api)
    result = dn("train", "jobs", "watch", "job-1", *FAST, env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        *LINES,
        *COMPLETED,
        f"completed in 8s; sampler path: {FINAL}",
    ]


def test_jobs_watch_failed_job_exits_1_with_the_error_line(dn: DnRunner, fake_api: FakeAPI) -> None:
    _run("failed").install(fake_api)
    result = dn("train", "jobs", "watch", "job-1", *FAST, env=_env(fake_api))
    assert result.returncode == 1
    assert result.stderr == "error: tinker_error: Tinker refused the batch\n"
    assert "completed" not in result.stdout
    assert "Traceback" not in result.stderr


def test_jobs_watch_cancelled_job_exits_1_saying_why(dn: DnRunner, fake_api: FakeAPI) -> None:
    _run("cancelled").install(fake_api)
    result = dn("train", "jobs", "watch", "job-1", *FAST, env=_env(fake_api))
    assert result.returncode == 1
    assert result.stderr == (
        "error: job job-1 was cancelled: Cancelled at step 4; the checkpoints saved so far "
        "are kept\n"
    )


def test_jobs_watch_json_prints_only_the_finished_job(dn: DnRunner, fake_api: FakeAPI) -> None:
    import json

    _run().install(fake_api)
    result = dn("train", "jobs", "watch", "job-1", "--json", *FAST, env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    job = json.loads(result.stdout)
    assert (job["status"], job["sampler_path"]) == ("completed", FINAL)


def test_jobs_watch_on_a_terminal_shows_checkpoints_and_the_result(
    dn_on_terminal: DnRunner, fake_api: FakeAPI
) -> None:
    _run().install(fake_api)
    result = dn_on_terminal("train", "jobs", "watch", "job-1", *FAST, env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[:5] == [
        "2026-11-22 22:00:02Z  Started by worker w-1",
        "2026-11-22 22:00:05Z  saved training checkpoint at step 2: tinker://run-1/weights/000002",
        "2026-11-22 22:00:08Z  Epoch 1 done",
        f"2026-11-22 22:00:09Z  saved sampler checkpoint at step 4: {FINAL}",
        # The bar as it ended (a dumb terminal is shown only the last drawing).
        lines[4],
    ]
    assert lines[4].startswith("completed ")
    assert lines[4].endswith("step 4/4  epoch 1/1 done  loss 1.7500  tokens 4,096  8s elapsed")
    assert [line for line in lines[5:] if line] == [f"completed in 8s; sampler path: {FINAL}"]


def test_jobs_watch_waits_out_an_api_that_stops_answering(dn: DnRunner, fake_api: FakeAPI) -> None:
    run = _run()
    run.install(fake_api)
    busy = envelope(503, "Service unavailable", "service_unavailable")
    busy.headers["Retry-After"] = "0"
    fake_api.script("GET", JOB, Reply(200, job_json()), busy, busy, busy, run.read_job)
    result = dn("train", "jobs", "watch", "job-1", *FAST, env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "note: the API did not answer (Service unavailable); trying again for up to 60 s",
        "note: the API answers again",
    ]
    assert result.stdout.splitlines()[-1] == f"completed in 8s; sampler path: {FINAL}"


def test_jobs_watch_gives_up_on_an_api_gone_too_long(
    fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(watch, "OUTAGE_SECONDS", 0.5)
    busy = envelope(503, "Service unavailable", "service_unavailable")
    busy.headers["Retry-After"] = "0"
    fake_api.script("GET", JOB, busy)
    for name, value in _env(fake_api).items():
        monkeypatch.setenv(name, value)
    assert main(["train", "jobs", "watch", "job-1", *FAST]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "note: the API did not answer (Service unavailable); trying again for up to 0.5 s",
        "error: Service unavailable",
        "  the job is not affected; follow it again with: dn train jobs watch job-1",
    ]


def _ctrl_c_as_on_a_terminal(argv: list[str]) -> list[str]:
    """``argv`` run with Ctrl-C's default disposition, as a terminal's foreground command has
    it. A test run may inherit SIGINT ignored (a non-interactive shell ignores it in the
    commands it puts in the background, and CI may run that way); Python then leaves it
    ignored, rightly, and no Ctrl-C would ever reach the command under test."""
    reset = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return [sys.executable, "-c", reset, *argv]


@pytest.fixture
def ctrl_c_as_on_a_terminal() -> Iterator[None]:
    """This process's Ctrl-C is Python's own for the test (see ``_ctrl_c_as_on_a_terminal``)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_jobs_watch_ctrl_c_stops_watching_not_the_job(fake_api: FakeAPI) -> None:
    JobRun("job-1", [(_running(1), [_step(1, 1)])]).install(fake_api)
    process = subprocess.Popen(
        _ctrl_c_as_on_a_terminal([console_script("dn"), "train", "jobs", "watch", "job-1", *FAST]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dn_environment(_env(fake_api)),
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert first.split()[2:5] == ["training_step", "running", "step"]
    assert process.returncode == 130
    assert stderr == (
        "stopped watching; job job-1 keeps running (watch it again: dn train jobs watch job-1; "
        "stop it: dn train jobs cancel job-1)\n"
    )
    assert fake_api.seen("POST", JOB + "/cancel") == []


class _CtrlCLostInAFinalizer:
    """A follower of a job that keeps running, during whose second read Ctrl-C is pressed and
    its KeyboardInterrupt lost, as Python loses one raised while a finalizer runs."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> tuple[Job, list[JobEvent]]:
        self.reads += 1
        if self.reads == 2:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # the signal's handler runs here
            except KeyboardInterrupt:
                pass  # lost
        if self.reads > 3:
            pytest.fail("the watch went on after Ctrl-C")
        return Job.model_validate(_running(1)), []


@pytest.mark.usefixtures("ctrl_c_as_on_a_terminal")
def test_jobs_watch_stops_after_ctrl_c_even_when_its_interrupt_was_lost() -> None:
    follower = _CtrlCLostInAFinalizer()
    with pytest.raises(KeyboardInterrupt):
        watch.follow_job(follower, watch.LineView(summary=True), interval=0.01)  # type: ignore[arg-type]
    assert follower.reads == 2
    # Ctrl-C is Python's own again once the watch is over.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("action", ["watch", "events"])
def test_jobs_follow_of_an_unknown_job_is_one_line(
    dn: DnRunner, fake_api: FakeAPI, action: str
) -> None:
    detail = "Training job 'job-1' not found"
    fake_api.script("GET", JOB, envelope(404, detail, "not_found_error"))
    follow = ["--follow"] if action == "events" else []
    result = dn("train", "jobs", action, "job-1", *follow, env=_env(fake_api))
    assert (result.returncode, result.stderr) == (1, f"error: {detail}\n")


@pytest.mark.parametrize("interval", ["0", "61", "soon"])
def test_jobs_watch_interval_out_of_bounds_is_a_usage_error(
    dn: DnRunner, fake_api: FakeAPI, interval: str
) -> None:
    result = dn("train", "jobs", "watch", "job-1", "--interval", interval, env=_env(fake_api))
    assert result.returncode == 2
    assert result.stderr.startswith("error: dn train jobs watch: argument --interval: ")
    assert fake_api.requests == []


# --- cancel and sft --watch -------------------------------------------------------------------


def test_jobs_cancel_running_job_says_it_stops_at_its_next_step(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    stopping = _running(2, cancel_requested=True, status_message="stopping: cancel requested")
    fake_api.script("POST", JOB + "/cancel", Reply(200, stopping))
    result = dn("train", "jobs", "cancel", "job-1", "--yes", env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "cancel requested: job job-1 is running and stops at its next step "
        "(follow it with: dn train jobs watch job-1)\n"
    )


def test_sft_watch_follows_the_new_job_to_its_end(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json(warnings=[])))
    _run().install(fake_api)
    result = dn("train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", "s3://b/t.jsonl",
                "--watch", *FAST, env=_env(fake_api))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "job-1",
        *LINES,
        *COMPLETED,
        f"completed in 8s; sampler path: {FINAL}",
    ]
    assert result.stderr.splitlines() == [
        "created sft job job-1 on Qwen/Qwen3-8B; watching it (Ctrl-C stops watching, not the job)",
        f"estimated cost: unknown ({NOT_HELD})",
    ]


def test_rl_watch_of_a_failing_job_exits_1(dn: DnRunner, fake_api: FakeAPI, grader: str) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json(method="rl", algorithm="ppo")))
    _run("failed").install(fake_api)
    result = dn("train", "rl", "--model", "Qwen/Qwen3-8B", "--dataset", "d", "--algorithm", "ppo",
                "--grader", grader, "--watch", "--json", *FAST, env=_env(fake_api))  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == "error: tinker_error: Tinker refused the batch\n"
    assert '"status": "failed"' in result.stdout


# --- an RL job -------------------------------------------------------------------------------

#: What each step of the RL run below scored: mean, spread, share of groups with no signal, and
#: completions the grader could not score.
REWARDS = [(0.25, 0.433, 0.5, 0), (0.625, 0.212, 0.25, 3)]


def _rl_running(step: int, **changes: Any) -> dict[str, Any]:
    """Job 1 as an RL job with a grader, ``step`` steps into a two-step PPO run."""
    hyperparameters = {"learning_rate": 0.0001, "lora_rank": 32, "epochs": 1, **RL_DEFAULTS,
                       **PPO_DEFAULTS}  # fmt: skip
    rl = {"method": "rl", "algorithm": "ppo", "grader": GRADER, "hyperparameters": hyperparameters}
    return _running(step, 2, **{**rl, **changes})


def _rl_step(event_id: int, step: int) -> dict[str, Any]:
    data = {"step": step, "loss": 0.01, "tokens": 1024, "learning_rate": 1e-4,
            **rl_figures(*REWARDS[step - 1])}  # fmt: skip
    return event_json(event_id, "training_step", "running", data=data)


def _rl_points() -> list[dict[str, Any]]:
    return [
        {"step": step, "loss": 0.01, "tokens": 1024, "learning_rate": 1e-4,
         "time": timestamp(2 + step), **rl_figures(*REWARDS[step - 1])}
        for step in (1, 2)
    ]  # fmt: skip


def _rl_run() -> JobRun:
    done = {"status_message": None, "finished_at": timestamp(6), "updated_at": timestamp(6),
            "sampler_path": FINAL}  # fmt: skip
    return JobRun(
        "job-1",
        [
            (_rl_running(0), [event_json(1, "job_start", "running", "Started by worker w-1")]),
            (_rl_running(1), [_rl_step(2, 1)]),
            (_rl_running(2, status="completed", **done),
             [_rl_step(3, 2), event_json(4, "job_complete", "completed", "Training finished")]),
        ],
    )  # fmt: skip


def test_jobs_get_shows_an_rl_jobs_grader_what_a_step_samples_and_its_latest_reward(
    dn: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("GET", JOB, Reply(200, _rl_running(2)))
    fake_api.script("GET", JOB + "/metrics", Reply(200, {"points": _rl_points()}))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "method           rl" in lines
    start = lines.index("each step        32 prompts x 4 completions = 128 completions of at "
                        "most 256 tokens, at temperature 1; ppo clips probability ratios "
                        "outside 0.8-1.2")  # fmt: skip
    assert lines[start + 1] == "grader           string_check eq on 'answer' (last_line)"
    assert "reward           0.625 (sd 0.212)  no signal 25%  grading errors 3 (step 2)" in lines
    assert not any(line.startswith("loss ") for line in lines)  # the reward stands in for it
    # Into a pipe too: an RL job's rewards are on its curve only.
    assert [seen.path for seen in fake_api.requests] == [JOB, JOB + "/metrics"]


def test_jobs_get_on_a_terminal_draws_an_rl_jobs_rewards(
    dn_on_terminal: DnRunner, fake_api: FakeAPI
) -> None:
    fake_api.script("GET", JOB, Reply(200, _rl_running(2)))
    fake_api.script("GET", JOB + "/metrics", Reply(200, {"points": _rl_points()}))
    result = dn_on_terminal("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    (curve,) = [line for line in result.stdout.splitlines() if line.startswith("reward curve")]
    assert curve == f"reward curve     {sparkline([0.25, 0.625])}  steps 1-2: 0.250 to 0.625"
    assert "loss curve" not in result.stdout


def test_jobs_get_of_an_sft_job_shows_no_grader(dn: DnRunner, fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOB, Reply(200, _running(2)))
    result = dn("train", "jobs", "get", "job-1", env=_env(fake_api))
    assert result.returncode == 0, result.stderr
    assert "grader" not in result.stdout
    assert "loss             2.2500 (step 2)" in result.stdout.splitlines()


def test_jobs_watch_in_a_pipe_shows_each_rl_steps_rewards(dn: DnRunner, fake_api: FakeAPI) -> None:
    _rl_run().install(fake_api)
    result = dn("train", "jobs", "watch", "job-1", *FAST, env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "2026-11-22 22:00:01Z  job_start         running    Started by worker w-1",
        "2026-11-22 22:00:02Z  training_step     running    step 1/2  reward 0.250 (sd 0.433)  "
        "no signal 50%  tokens 1,024  lr 0.0001",
        "2026-11-22 22:00:03Z  training_step     running    step 2/2  reward 0.625 (sd 0.212)  "
        "no signal 25%  grading errors 3  tokens 1,024  lr 0.0001",
        "2026-11-22 22:00:04Z  job_complete      completed  Training finished",
        f"completed in 4s; sampler path: {FINAL}",
    ]


def test_jobs_watch_on_a_terminal_shows_the_latest_rewards_beside_the_bar(
    dn_on_terminal: DnRunner, fake_api: FakeAPI
) -> None:
    _rl_run().install(fake_api)
    result = dn_on_terminal("train", "jobs", "watch", "job-1", *FAST, env=_env(fake_api))
    assert (result.returncode, result.stderr) == (0, "")
    # The bar as it ended, on the 80 columns of a dumb terminal: the whole line fits.
    (bar,) = [line.rstrip() for line in result.stdout.splitlines() if "step 2/2" in line]
    assert bar.startswith("completed ")
    assert bar.endswith("step 2/2  reward 0.625\u00b10.212  no signal 25%  errors 3  4s elapsed")


# --- the sparkline ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "drawn"),
    [
        ([], ""),
        ([2.0], SPARK_BLOCKS[0]),
        ([1.0, 1.0, 1.0], SPARK_BLOCKS[0] * 3),
        ([3.0, 2.0, 1.0], SPARK_BLOCKS[-1] + SPARK_BLOCKS[4] + SPARK_BLOCKS[0]),
        ([0.0, 7.0, 1.0], SPARK_BLOCKS[0] + SPARK_BLOCKS[7] + SPARK_BLOCKS[1]),
    ],
)
def test_sparkline_spans_the_lowest_to_the_highest_value(values: list[float], drawn: str) -> None:
    assert sparkline(values) == drawn
