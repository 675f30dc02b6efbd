"""Jobs run end to end: the real API, real workers and a real Tinker-compatible engine, on
SQLite and on PostgreSQL. What a user watches: a job goes queued → running → completed with a
falling loss, checkpoints and an adapter; a cancel stops it within seconds; a killed worker's
job resumes from its last checkpoint; two workers never run one job twice.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.worker.conftest import (
    CHAT_ROWS,
    CHECKPOINT_EVERY,
    NO_TINKER,
    Deployment,
    several_workers,
)


def _steps_trained(deployment: Deployment, job_id: str) -> list[int]:
    """The step numbers of the job's training_step events, in the order they happened."""
    return [e.data["step"] for e in deployment.events(job_id) if e.type == "training_step"]


def test_job_runs_to_completion_with_falling_loss(one_run_jobs: Deployment, tmp_path: Path) -> None:
    dataset = one_run_jobs.upload(tmp_path / "chat.jsonl", CHAT_ROWS)
    job_id = one_run_jobs.create_job(dataset, batch_size=4, epochs=3)  # 2 steps an epoch, 6 in all
    queued = one_run_jobs.job(job_id)
    assert queued.status == "queued"
    assert queued.status_message.startswith("waiting for a worker")
    one_run_jobs.start_worker("solo")

    job = one_run_jobs.wait_for_status(job_id, "completed", "failed", "cancelled")
    assert job.status == "completed", job.error
    assert (job.progress.step, job.progress.total_steps, job.progress.epochs_completed) == (6, 6, 3)
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.started_at <= job.finished_at
    assert job.trained_tokens > 0
    assert job.sampler_path is not None
    assert job.sampler_path.startswith("tinker://")
    assert job.status_message is None
    assert job.error is None

    with one_run_jobs.client() as client:
        points = client.get_job_metrics(job_id).points
    assert [point.step for point in points] == [1, 2, 3, 4, 5, 6]
    assert points[-1].loss < points[0].loss  # it learned
    assert points[0].learning_rate > points[-1].learning_rate  # linear decay
    assert job.loss == points[-1].loss

    kinds = [(c.checkpoint_type, c.step) for c in job.checkpoints]
    assert kinds == [("training", 2), ("training", 4), ("training", 6), ("sampler", 6)]
    assert all(c.tinker_path.startswith("tinker://") for c in job.checkpoints)
    assert job.checkpoints[-1].tinker_path == job.sampler_path

    types = [event.type for event in one_run_jobs.events(job_id)]
    assert types[:2] == ["job_pending", "job_start"]
    assert types[-1] == "job_complete"
    assert types.count("training_step") == 6
    assert types.count("epoch_complete") == 3
    assert types.count("checkpoint_save") == 4


def test_cancel_stops_a_running_job_within_seconds(
    one_run_jobs: Deployment, tmp_path: Path
) -> None:
    dataset = one_run_jobs.upload(tmp_path / "chat.jsonl", CHAT_ROWS)
    job_id = one_run_jobs.create_job(dataset, batch_size=2, epochs=25)  # 100 steps: never finishes
    one_run_jobs.start_worker("cancel")
    one_run_jobs.wait_for_step(job_id, CHECKPOINT_EVERY + 1)

    with one_run_jobs.client() as client:
        asked = client.cancel_job(job_id)
    assert asked.status == "running"
    assert asked.cancel_requested
    asked_at = time.monotonic()
    job = one_run_jobs.wait_for_status(job_id, "cancelled", "failed", "completed", timeout=60)
    took = time.monotonic() - asked_at

    assert job.status == "cancelled", job.error
    assert took < 30, f"the cancel took {took:.1f} s to land"
    assert job.progress.step < job.progress.total_steps
    assert next(c.step for c in job.checkpoints if c.checkpoint_type == "training") == 2
    assert job.sampler_path is None
    types = [event.type for event in one_run_jobs.events(job_id)]
    assert "cancel_requested" in types
    assert types[-1] == "job_cancelled"
    # A cancelled job stays cancelled: the worker does not pick it up again.
    time.sleep(2)
    assert one_run_jobs.job(job_id).progress.step == job.progress.step


def test_killed_worker_resumes_from_its_last_checkpoint(jobs: Deployment, tmp_path: Path) -> None:
    dataset = jobs.upload(tmp_path / "chat.jsonl", CHAT_ROWS)
    job_id = jobs.create_job(dataset, batch_size=2, epochs=2)  # 8 steps
    worker = jobs.start_worker("crashy")
    reached = jobs.wait_for_step(job_id, 2 * CHECKPOINT_EVERY + 1)  # past the 2nd checkpoint
    worker.kill()
    killed_at = jobs.job(job_id)
    saved = [c.step for c in killed_at.checkpoints if c.checkpoint_type == "training"]
    assert saved, "a checkpoint was saved before the kill"
    last_checkpoint = max(saved)
    assert killed_at.status == "running"
    assert killed_at.progress.step >= reached.progress.step

    jobs.start_worker("crashy")  # the same worker, restarted
    job = jobs.wait_for_status(job_id, "completed", "failed", "cancelled")
    assert job.status == "completed", job.error
    assert job.progress.step == job.progress.total_steps == 8

    steps = _steps_trained(jobs, job_id)
    before = steps[: steps.index(killed_at.progress.step) + 1]
    after = steps[len(before) :]
    # The new attempt starts right after the last checkpoint: it never goes back further, and
    # trains again only the steps the dead worker did after that checkpoint.
    assert before == list(range(1, killed_at.progress.step + 1))
    assert after == list(range(last_checkpoint + 1, 9))
    events = jobs.events(job_id)
    restarts = [e for e in events if e.type == "job_restart"]
    assert len(restarts) == 1
    assert f"from step {last_checkpoint}, its last checkpoint" in (restarts[0].message or "")
    with jobs.client() as client:
        points = client.get_job_metrics(job_id).points
    assert [point.step for point in points] == list(range(1, 9))  # each step once, as last trained


def test_worker_without_a_key_says_what_to_set(deployment: Deployment) -> None:
    import subprocess

    from tests.conftest import console_script

    env = {**deployment.env, "TINKER_BASE_URL": NO_TINKER["TINKER_BASE_URL"]}
    result = subprocess.run(
        [console_script("dreadnode-api"), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("dreadnode-api: error: ")
    assert "TINKER_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_rows_longer_than_the_context_fail_before_any_tinker_call(
    no_tinker: Deployment, tmp_path: Path
) -> None:
    jobs = no_tinker
    long_row = {
        "messages": [
            {"role": "user", "content": "Repeat after me. " + "word " * 300},
            {"role": "assistant", "content": "word " * 300},
        ]
    }
    dataset = jobs.upload(tmp_path / "long.jsonl", [*CHAT_ROWS[:2], long_row])
    job_id = jobs.create_job(dataset, max_sequence_length=256)
    jobs.start_worker("strict")
    job = jobs.wait_for_status(job_id, "failed", "completed", "cancelled", timeout=120)
    assert job.status == "failed"
    assert job.error is not None
    assert job.error.type == "row_too_long"
    assert "Line 3 is" in job.error.message
    assert "256" in job.error.message
    assert job.checkpoints == []
    assert job.progress.step == 0


@several_workers
def test_two_workers_run_each_job_once(jobs: Deployment, tmp_path: Path) -> None:
    dataset = jobs.upload(tmp_path / "chat.jsonl", CHAT_ROWS)
    created = [jobs.create_job(dataset, batch_size=4, epochs=2) for _ in range(3)]
    jobs.start_worker("left")
    jobs.start_worker("right")
    finished = [jobs.wait_for_status(job_id, "completed", "failed") for job_id in created]
    assert [job.status for job in finished] == ["completed"] * 3
    runners = set()
    for job_id in created:
        events = jobs.events(job_id)
        starts = [e for e in events if e.type == "job_start"]
        assert len(starts) == 1
        assert not [e for e in events if e.type == "job_restart"]
        assert _steps_trained(jobs, job_id) == [1, 2, 3, 4]  # no step twice
        runners.add((starts[0].message or "").rsplit(" ", 1)[-1])
    assert runners == {"left", "right"}  # both shared the queue


@several_workers
def test_a_dead_workers_job_is_taken_over_by_another(jobs: Deployment, tmp_path: Path) -> None:
    dataset = jobs.upload(tmp_path / "chat.jsonl", CHAT_ROWS)
    job_id = jobs.create_job(dataset, batch_size=2, epochs=2)  # 8 steps
    first = jobs.start_worker("doomed")
    jobs.wait_for_step(job_id, CHECKPOINT_EVERY + 1)
    first.kill()
    # Another worker, under another name: it finds the dead worker's lease expired and resumes.
    jobs.start_worker("heir")
    job = jobs.wait_for_status(job_id, "completed", "failed", timeout=240)
    assert job.status == "completed", job.error
    restarts = [e for e in jobs.events(job_id) if e.type == "job_restart"]
    assert len(restarts) == 1
    assert "heir" in (restarts[0].message or "")


def test_dn_trains_a_local_file_and_watches_it_to_the_end(
    one_run_jobs: Deployment, tmp_path: Path
) -> None:
    import json
    import os
    import subprocess

    from tests.conftest import console_script

    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps(row) + "\n" for row in CHAT_ROWS))
    one_run_jobs.start_worker("for-dn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE")}
    env.update(DREADNODE_SERVER_URL=one_run_jobs.api.url, DREADNODE_API_KEY=one_run_jobs.api.token)
    result = subprocess.run(
        [console_script("dn"), "train", "sft", "--model", "Qwen/Qwen3-8B", "--dataset", str(chat),
         "--batch-size", "4", "--epochs", "2", "--lora-rank", "8", "--learning-rate", "0.01",
         "--watch", "--interval", "0.5"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    # Into a pipe, watch prints plain lines: the steps as they come, then the result.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "step 4/4" in out
    assert "completed" in out
    assert "tinker://" in out  # the adapter's sampler path
