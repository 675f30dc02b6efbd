"""Idempotent job creation as Stripe promises it, through a real server on every backend: a
replay is the first answer itself (201, the same body, ``Idempotent-Replayed: true``), a key is
remembered for its TTL and then free again, expired keys are swept in bounded batches, and a
creation the database failed stored nothing, so its retry with the same key is a fresh one."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, select, text, update
from sqlalchemy.engine import make_url

from app.models import IdempotencyKey
from app.storage.jobs import SWEEP_BATCH

from .conftest import BACKENDS, Api, envelope, running_api
from .test_jobs import VALID, create, hyper, job

KEYS = cast(Table, IdempotencyKey.__table__)


def fresh_key(label: str) -> dict[str, str]:
    """An ``Idempotency-Key`` header no other test uses (the servers are shared)."""
    return {"Idempotency-Key": f"{label}-{uuid.uuid4().hex}"}


def backdate(api: Api, age: timedelta, *keys: str) -> None:
    """Make the stored keys ``age`` old, as if that much time had passed since their request."""
    with api.engine.begin() as connection:
        connection.execute(
            update(KEYS).where(KEYS.c.key.in_(keys)).values(created_at=datetime.now(UTC) - age)
        )


def stored(api: Api, *keys: str) -> int:
    """How many of ``keys`` the database holds."""
    with api.engine.connect() as connection:
        query = select(func.count()).select_from(KEYS).where(KEYS.c.key.in_(keys))
        return int(connection.scalar(query) or 0)


def test_create_job_replay_is_the_first_answer_with_201(api: Api) -> None:
    key = fresh_key("replay")
    with api.client() as client:
        first = create(client, VALID, **key)
        before = (api.count("jobs"), api.count("job_events"), api.count("idempotency_keys"))
        again = create(client, VALID, **key)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (api.count("jobs"), api.count("job_events"), api.count("idempotency_keys")) == before


def test_create_job_replay_answers_what_was_answered_then_not_the_job_now(api: Api) -> None:
    key = fresh_key("then")
    with api.client() as client:
        first = create(client, VALID, **key)
        cancelled = client.post(f"/training/jobs/{first.json()['id']}/cancel")
        again = create(client, VALID, **key)
        now = client.get(f"/training/jobs/{first.json()['id']}")
    assert cancelled.status_code == 200
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.json() == first.json()
    assert again.json()["status"] == "queued"
    assert now.json()["status"] == "cancelled"


def test_create_job_replays_equivalent_body_with_same_idempotency_key(api: Api) -> None:
    key = fresh_key("equivalent")
    spelled_out = job(algorithm="sft")
    implied = dict(reversed(job(algorithm=...).items()))
    implied["hyperparameters"] = {k: v for k, v in hyper().items() if v is not None}
    with api.client() as client:
        first = create(client, spelled_out, **key)
        before = api.count()
        again = create(client, implied, **key)
    assert first.status_code == 201
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.json() == first.json()
    assert api.count() == before


def test_create_job_idempotency_key_with_other_algorithm_conflicts(api: Api) -> None:
    key = fresh_key("other-algorithm")
    with api.client() as client:
        assert create(client, job(method="rl", algorithm=...), **key).status_code == 201
        before = api.count()
        response = create(client, job(method="rl", algorithm="ppo"), **key)
    envelope(response, 409, "conflict_error")
    assert api.count() == before


def test_create_job_idempotency_key_with_other_body_conflicts(api: Api) -> None:
    key = fresh_key("conflict")
    with api.client() as client:
        assert create(client, VALID, **key).status_code == 201
        before = api.count()
        response = create(client, job(dataset="s3://other"), **key)
    envelope(response, 409, "conflict_error")
    assert api.count() == before


def test_create_job_idempotency_keys_are_per_owner(api: Api) -> None:
    key = fresh_key("shared")
    with api.client("alice") as alice, api.client("bob") as bob:
        mine = create(alice, VALID, **key)
        theirs = create(bob, VALID, **key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]


def test_create_job_rejected_request_uses_no_key(api: Api) -> None:
    key = fresh_key("rejected")
    with api.client() as client:
        rejected = create(client, job(base_model="Qwen/Qwen3-8", tags=["a", "a"]), **key)
        fixed = create(client, VALID, **key)
    envelope(rejected, 422, "validation_error")
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\tkey"])
def test_create_job_rejects_bad_idempotency_key(api: Api, key: str) -> None:
    before = api.count()
    with api.client() as client:
        response = create(client, VALID, **{"Idempotency-Key": key})
    envelope(response, 400, "bad_request_error")
    assert api.count() == before


def test_create_job_key_within_a_day_still_replays(api: Api) -> None:
    key = fresh_key("within")
    with api.client() as client:
        first = create(client, VALID, **key)
        backdate(api, timedelta(hours=23, minutes=59), key["Idempotency-Key"])
        again = create(client, VALID, **key)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.json() == first.json()


def test_create_job_key_older_than_a_day_is_free_for_a_new_job(api: Api) -> None:
    key = fresh_key("expired")
    with api.client() as client:
        first = create(client, VALID, **key)
        backdate(api, timedelta(hours=24, minutes=1), key["Idempotency-Key"])
        before = api.count()
        second = create(client, job(dataset="s3://bucket/other.jsonl"), **key)
        replayed = create(client, job(dataset="s3://bucket/other.jsonl"), **key)
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert api.count() == before + 1
    assert stored(api, key["Idempotency-Key"]) == 1  # the expired row was replaced
    assert (replayed.headers["idempotent-replayed"], replayed.json()) == ("true", second.json())


def test_keyed_creation_sweeps_expired_keys_a_bounded_batch_at_a_time(api: Api) -> None:
    old = [fresh_key("sweep")["Idempotency-Key"] for _ in range(SWEEP_BATCH + 5)]
    with api.client() as client:
        for key in old:
            assert create(client, VALID, **{"Idempotency-Key": key}).status_code == 201
        # Older than any other test's expired keys, so these are the ones swept first.
        backdate(api, timedelta(days=30), *old)
        assert create(client, VALID, **fresh_key("sweeper")).status_code == 201
        after_one = stored(api, *old)
        assert create(client, VALID).status_code == 201  # a creation without a key sweeps nothing
        after_unkeyed = stored(api, *old)
        assert create(client, VALID, **fresh_key("sweeper")).status_code == 201
    assert (after_one, after_unkeyed, stored(api, *old)) == (5, 5, 0)


@pytest.fixture(scope="module", params=BACKENDS)
def hourly(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """A server whose keys live an hour (``DREADNODE_API_IDEMPOTENCY_TTL_HOURS=1``), with short
    database bounds so that a database it cannot write to fails a request in about a second."""
    directory = tmp_path_factory.mktemp(f"hourly-{request.param}")
    settings = {
        "DREADNODE_API_IDEMPOTENCY_TTL_HOURS": "1",
        "DREADNODE_API_SQLITE_BUSY_TIMEOUT_SECONDS": "1",
        "DREADNODE_API_DB_STATEMENT_TIMEOUT_SECONDS": "1",
    }
    with running_api(request.param, directory, **settings) as api:
        yield api


def test_create_job_key_ttl_is_the_setting(hourly: Api) -> None:
    kept, expired = fresh_key("kept"), fresh_key("gone")
    with hourly.client() as client:
        for key in (kept, expired):
            assert create(client, VALID, **key).status_code == 201
        backdate(hourly, timedelta(minutes=59), kept["Idempotency-Key"])
        backdate(hourly, timedelta(minutes=61), expired["Idempotency-Key"])
        again_kept = create(client, VALID, **kept)
        again_expired = create(client, VALID, **expired)
    assert again_kept.headers.get("idempotent-replayed") == "true"
    assert again_expired.status_code == 201
    assert "idempotent-replayed" not in again_expired.headers


class _WriteLock:
    """Hold the database's write lock from outside the server, as a backup or a stuck
    transaction would: SQLite's RESERVED lock, PostgreSQL's EXCLUSIVE lock on ``jobs`` (reads
    still pass; the server's insert waits, then times out)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: Any = None

    def __enter__(self) -> _WriteLock:
        if self.api.backend == "sqlite":
            path = make_url(self.api.env["DATABASE_URL"]).database
            assert path is not None
            self._sqlite = sqlite3.connect(Path(path), isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")
        else:
            self._postgres = self.api.engine.connect()
            self._postgres.begin()
            self._postgres.execute(text("LOCK TABLE jobs IN EXCLUSIVE MODE"))
        return self

    def __exit__(self, *_: object) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
        if self._postgres is not None:
            self._postgres.rollback()
            self._postgres.close()


def test_create_job_the_database_failed_is_retried_with_the_same_key_as_new(
    hourly: Api,
) -> None:
    key = fresh_key("unavailable")
    before = hourly.count()
    with hourly.client() as client:
        with _WriteLock(hourly):
            failed = create(client, VALID, **key)
            during = (hourly.count(), stored(hourly, key["Idempotency-Key"]))
        retried = create(client, VALID, **key)
        replayed = create(client, VALID, **key)
    envelope(failed, 503, "service_unavailable_error")
    assert int(failed.headers["retry-after"]) >= 1
    assert during == (before, 0)  # nothing of the failed attempt was stored
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert hourly.count() == before + 1
    assert (replayed.headers["idempotent-replayed"], replayed.json()) == ("true", retried.json())
