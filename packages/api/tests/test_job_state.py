"""The rules of a job's life, as the worker meets them: who may write to a running job, when a
job stops being retried, and what a cancel does at each stage. The worker's own tests run these
paths with real processes; here each rule is pinned on its own, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.db import Database
from app.storage import job_state
from app.storage.job_state import CancelOutcome, Ownership

from .conftest import Api
from .test_jobs import VALID, create


@pytest.fixture
def db(api: Api) -> Iterator[Database]:
    database = Database(api.env["DATABASE_URL"])
    try:
        yield database
    finally:
        database.dispose()


def _new_job(api: Api) -> str:
    with api.client() as client:
        response = create(client, VALID)
    assert response.status_code == 201
    return str(response.json()["id"])


def _claim(db: Database, job_id: str, worker: str, max_attempts: int = 3) -> job_state.Claim | None:
    with db.session() as session:
        return job_state.claim(session, job_id=job_id, worker_id=worker, max_attempts=max_attempts)


def _step(db: Database, job_id: str, worker: str, step: int) -> Ownership:
    with db.session() as session:
        return job_state.record_step(
            session, job_id=job_id, worker_id=worker, step=step, loss=1.0, tokens=10,
            processed_tokens=12, learning_rate=1e-4,
        )  # fmt: skip


def _types(api: Api, job_id: str) -> list[str]:
    with api.client() as client:
        return [e["type"] for e in client.get(f"/training/jobs/{job_id}/events").json()["events"]]


def test_a_worker_taken_for_dead_writes_nothing_once_another_claims_the_job(
    api: Api, db: Database
) -> None:
    job_id = _new_job(api)
    first = _claim(db, job_id, "first")
    assert first is not None
    assert not first.restarted
    assert _step(db, job_id, "first", 1) is Ownership.OWNED
    second = _claim(db, job_id, "second")
    assert second is not None
    assert second.restarted
    # The first worker, still alive after all, is fenced off: its writes do nothing.
    assert _step(db, job_id, "first", 2) is Ownership.LOST
    with db.session() as session:
        assert not job_state.complete(
            session,
            job_id=job_id,
            worker_id="first",
            sampler_path="tinker://x/sampler",
            training_checkpoint="tinker://x/weights/step-2",
        )
    assert _step(db, job_id, "second", 2) is Ownership.OWNED
    with api.client() as client:
        job = client.get(f"/training/jobs/{job_id}").json()
    assert (job["status"], job["progress"]["step"], job["trained_tokens"]) == ("running", 2, 20)
    assert _types(api, job_id) == [
        "job_pending", "job_start", "training_step", "job_restart", "training_step",
    ]  # fmt: skip


def test_a_job_whose_workers_keep_dying_fails_after_the_last_attempt(
    api: Api, db: Database
) -> None:
    job_id = _new_job(api)
    for worker in ("a", "b", "c"):
        assert _claim(db, job_id, worker, max_attempts=3) is not None
    assert _claim(db, job_id, "d", max_attempts=3) is None
    with api.client() as client:
        job = client.get(f"/training/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["error"]["type"] == "worker_lost"
    assert "stopped 3 times" in job["error"]["message"]
    assert job["finished_at"] is not None
    assert _types(api, job_id)[-1] == "job_error"


def test_cancel_ends_a_queued_job_and_no_worker_starts_it(api: Api, db: Database) -> None:
    job_id = _new_job(api)
    with api.client() as client:
        assert client.post(f"/training/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    assert _claim(db, job_id, "late") is None
    assert "job_start" not in _types(api, job_id)


def test_cancel_of_a_running_job_is_asked_then_lands_at_the_next_step(
    api: Api, db: Database
) -> None:
    job_id = _new_job(api)
    assert _claim(db, job_id, "w") is not None
    with api.client() as client:
        asked = client.post(f"/training/jobs/{job_id}/cancel")
        again = client.post(f"/training/jobs/{job_id}/cancel")
    assert asked.status_code == 200
    assert (asked.json()["status"], asked.json()["cancel_requested"]) == ("running", True)
    assert asked.json()["status_message"] == "stopping: cancel requested"
    assert again.status_code == 200  # asking twice is not an error
    assert _step(db, job_id, "w", 1) is Ownership.CANCEL_REQUESTED
    with db.session() as session:
        assert job_state.finish_cancelled(session, job_id=job_id, worker_id="w", step=1)
    with api.client() as client:
        ended = client.post(f"/training/jobs/{job_id}/cancel")
    assert ended.status_code == 409
    assert _types(api, job_id).count("cancel_requested") == 1
    assert _types(api, job_id)[-1] == "job_cancelled"


def test_cancel_outcomes_are_told_apart(api: Api, db: Database) -> None:
    queued, running = _new_job(api), _new_job(api)
    assert _claim(db, running, "w") is not None
    with db.session() as session:
        first = job_state.cancel(session, owner="alice", job_id=queued)
        second = job_state.cancel(session, owner="alice", job_id=running)
        nobody = job_state.cancel(session, owner="mallory", job_id=queued)
    assert first is not None
    assert first[1] is CancelOutcome.CANCELLED
    assert second is not None
    assert second[1] is CancelOutcome.REQUESTED
    assert nobody is None  # another owner's job is not there for them
