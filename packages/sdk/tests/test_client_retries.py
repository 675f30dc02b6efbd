"""Retries: only what is safe to repeat, only failures a later attempt can cure, never forever."""

from __future__ import annotations

import time

import pytest

from dreadnode.client import (
    Client,
    ConflictError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
)
from dreadnode.client._retry import parse_retry_after, retry_delay

from .fake_api import FakeAPI, Reply, envelope, job_json

FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)
JOBS = "/api/v1/training/jobs"
UNAVAILABLE = envelope(503, "Service unavailable", "service_unavailable_error")


def _client(api: FakeAPI, retry: RetryPolicy = FAST) -> Client:
    return Client(server_url=api.url, api_key="t0ken", retry=retry)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_retries_transient_status_then_succeeds(fake_api: FakeAPI, status: int) -> None:
    fake_api.script("GET", JOBS + "/job-1", envelope(status, "busy", "x"), Reply(200, job_json()))
    with _client(fake_api) as client:
        assert client.get_job("job-1").id == "job-1"
    assert len(fake_api.seen("GET", JOBS + "/job-1")) == 2


def test_get_gives_up_after_max_retries(fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOBS, UNAVAILABLE)
    with _client(fake_api) as client, pytest.raises(ServiceUnavailableError):
        client.list_jobs()
    assert len(fake_api.seen("GET", JOBS)) == 3  # the first attempt and two retries


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 500])
def test_get_does_not_retry_what_a_retry_cannot_cure(fake_api: FakeAPI, status: int) -> None:
    fake_api.script("GET", JOBS, envelope(status, "no", "x"))
    with _client(fake_api) as client, pytest.raises(Exception, match="no"):
        client.list_jobs()
    assert len(fake_api.seen("GET", JOBS)) == 1


def test_create_job_sends_idempotency_key_and_retries_with_the_same_key(
    fake_api: FakeAPI,
) -> None:
    fake_api.script("POST", JOBS, UNAVAILABLE, Reply(201, job_json()))
    with _client(fake_api) as client:
        job = client.create_job(base_model="Qwen/Qwen3-8B", method="sft", dataset="d")
    assert job.id == "job-1"
    attempts = fake_api.seen("POST", JOBS)
    assert len(attempts) == 2
    keys = {attempt.headers["idempotency-key"] for attempt in attempts}
    assert len(keys) == 1
    assert len(keys.pop()) == 36  # a uuid4


def test_create_job_sends_a_fresh_key_per_call(fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json()))
    with _client(fake_api) as client:
        client.create_job(base_model="m/x", method="sft", dataset="d")
        client.create_job(base_model="m/x", method="sft", dataset="d")
    keys = [seen.headers["idempotency-key"] for seen in fake_api.seen("POST", JOBS)]
    assert len(set(keys)) == 2


def test_create_job_uses_the_callers_key(fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json()))
    with _client(fake_api) as client:
        client.create_job(base_model="m/x", method="sft", dataset="d", idempotency_key="run-7")
    assert fake_api.seen("POST", JOBS)[0].headers["idempotency-key"] == "run-7"


def test_create_job_without_idempotency_key_is_never_retried(fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS, UNAVAILABLE, Reply(201, job_json()))
    with _client(fake_api) as client, pytest.raises(ServiceUnavailableError):
        client.create_job(base_model="m/x", method="sft", dataset="d", idempotency_key=None)
    attempts = fake_api.seen("POST", JOBS)
    assert len(attempts) == 1
    assert "idempotency-key" not in attempts[0].headers


def test_cancel_is_never_retried(fake_api: FakeAPI) -> None:
    path = JOBS + "/job-1/cancel"
    fake_api.script("POST", path, UNAVAILABLE, Reply(200, job_json(status="cancelled")))
    with _client(fake_api) as client, pytest.raises(ServiceUnavailableError):
        client.cancel_job("job-1")
    assert len(fake_api.seen("POST", path)) == 1


def test_cancel_twice_is_a_conflict(fake_api: FakeAPI) -> None:
    path = JOBS + "/job-1/cancel"
    fake_api.script(
        "POST",
        path,
        Reply(200, job_json(status="cancelled")),
        envelope(409, "Job job-1 is already cancelled", "conflict_error"),
    )
    with _client(fake_api) as client:
        assert client.cancel_job("job-1").status == "cancelled"
        with pytest.raises(ConflictError, match="already cancelled"):
            client.cancel_job("job-1")


def test_connection_errors_are_retried_on_get(fake_api: FakeAPI) -> None:
    # The first answer comes too late for the timeout; the retry gets the fast one.
    fake_api.script(
        "GET", JOBS + "/job-1", Reply(200, job_json(), delay=0.6), Reply(200, job_json())
    )
    with Client(server_url=fake_api.url, retry=FAST, timeout=0.2) as client:
        assert client.get_job("job-1").id == "job-1"
    assert len(fake_api.seen("GET", JOBS + "/job-1")) == 2


def test_retry_after_is_honoured(fake_api: FakeAPI) -> None:
    busy = envelope(429, "slow down", "rate_limit_error")
    busy.headers["Retry-After"] = "1"
    fake_api.script("GET", JOBS, busy, Reply(200, {"jobs": [], "total": 0, "limit": 20}))
    patient = RetryPolicy(max_retries=1, base_delay=0.01, max_delay=5)
    start = time.monotonic()
    with _client(fake_api, patient) as client:
        assert client.list_jobs().total == 0
    assert time.monotonic() - start >= 0.9


def test_retry_after_is_capped(fake_api: FakeAPI) -> None:
    busy = envelope(429, "come back in an hour", "rate_limit_error")
    busy.headers["Retry-After"] = "3600"
    fake_api.script("GET", JOBS, busy)
    start = time.monotonic()
    with _client(fake_api) as client, pytest.raises(RateLimitError) as caught:
        client.list_jobs()
    assert time.monotonic() - start < 2
    assert len(fake_api.seen("GET", JOBS)) == 3
    assert caught.value.retry_after == 3600


def test_server_error_500_is_not_retried(fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOBS, envelope(500, "Internal server error", "server_error"))
    with _client(fake_api) as client, pytest.raises(InternalServerError):
        client.list_jobs()
    assert len(fake_api.seen("GET", JOBS)) == 1


def test_retry_delay_backs_off_exponentially_within_the_cap() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=1, max_delay=3)
    delays = [
        retry_delay(policy=policy, attempt=n, safe_to_repeat=True, status=503, jitter=lambda: 1.0)
        for n in range(1, 5)
    ]
    assert delays == [1, 2, 3, 3]


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past: now
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
