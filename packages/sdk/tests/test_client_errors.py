"""Each failure of a call becomes the documented exception, with what a caller needs to act on."""

from __future__ import annotations

import socket

import pytest

from dreadnode.client import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    Client,
    ConflictError,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    UnprocessableEntityError,
    UpgradeRequiredError,
    ValidationError,
)

from .fake_api import FakeAPI, Reply, envelope

NO_RETRY = RetryPolicy(max_retries=0)
JOB = "/api/v1/training/jobs/job-1"


def _client(api: FakeAPI, **kwargs: object) -> Client:
    return Client(server_url=api.url, api_key="t0ken", retry=NO_RETRY, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "type_", "exception"),
    [
        (400, "bad_request_error", BadRequestError),
        (401, "authentication_error", AuthenticationError),
        (403, "permission_error", PermissionDeniedError),
        (404, "not_found_error", NotFoundError),
        (405, "method_not_allowed_error", APIStatusError),
        (409, "conflict_error", ConflictError),
        (422, "validation_error", UnprocessableEntityError),
        (426, "upgrade_required_error", UpgradeRequiredError),
        (429, "rate_limit_error", RateLimitError),
        (500, "server_error", InternalServerError),
        (502, "bad_gateway_error", BadGatewayError),
        (503, "service_unavailable_error", ServiceUnavailableError),
        (504, "gateway_timeout_error", GatewayTimeoutError),
        (507, "server_error", InternalServerError),
    ],
)
def test_get_job_raises_the_class_of_each_status(
    fake_api: FakeAPI, status: int, type_: str, exception: type[APIStatusError]
) -> None:
    fake_api.script("GET", JOB, envelope(status, f"it failed with {status}", type_))
    with _client(fake_api) as client, pytest.raises(exception) as caught:
        client.get_job("job-1")
    assert type(caught.value) is exception
    assert (caught.value.status, caught.value.type) == (status, type_)
    assert caught.value.detail == f"it failed with {status}"


def test_validation_error_is_the_422_class_with_every_violation(fake_api: FakeAPI) -> None:
    errors = [
        {"loc": ["body", "hyperparameters", "lora_rank"], "msg": "too big", "type": "x"},
        {"loc": ["body", "dataset"], "msg": "missing", "type": "missing"},
    ]
    fake_api.script(
        "POST",
        "/api/v1/training/jobs",
        envelope(422, "too big; missing", "validation_error", errors),
    )
    with _client(fake_api) as client, pytest.raises(ValidationError) as caught:
        client.create_job(base_model="m/x", method="sft", dataset="d")
    assert caught.value.errors == errors
    assert str(caught.value) == "422 validation_error: too big; missing"


def test_status_error_carries_request_id(fake_api: FakeAPI) -> None:
    reply = envelope(404, "Job not found", "not_found_error")
    reply.headers["X-Request-ID"] = "req-42"
    fake_api.script("GET", JOB, reply)
    with _client(fake_api) as client, pytest.raises(NotFoundError) as caught:
        client.get_job("job-1")
    assert caught.value.request_id == "req-42"


def test_rate_limit_error_carries_retry_after(fake_api: FakeAPI) -> None:
    reply = envelope(429, "Too many requests", "rate_limit_error")
    reply.headers["Retry-After"] = "7"
    fake_api.script("GET", JOB, reply)
    with _client(fake_api) as client, pytest.raises(RateLimitError) as caught:
        client.get_job("job-1")
    assert caught.value.retry_after == 7


def test_html_error_page_from_a_proxy_is_a_clear_status_error(fake_api: FakeAPI) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    fake_api.script("GET", JOB, Reply(502, page, content_type="text/html"))
    with _client(fake_api) as client, pytest.raises(BadGatewayError) as caught:
        client.get_job("job-1")
    assert "not the API's JSON error envelope" in caught.value.detail
    assert "text/html" in caught.value.detail
    assert "502 Bad Gateway" in caught.value.detail
    assert caught.value.type is None


def test_html_page_with_status_200_is_a_response_validation_error(fake_api: FakeAPI) -> None:
    page = "<html><body>Please sign in to the corporate proxy</body></html>"
    fake_api.script("GET", JOB, Reply(200, page, content_type="text/html"))
    with _client(fake_api) as client, pytest.raises(APIResponseValidationError) as caught:
        client.get_job("job-1")
    assert "not with the API's JSON" in caught.value.message
    assert "corporate proxy" in caught.value.message
    assert caught.value.status == 200


def test_json_of_the_wrong_shape_is_a_response_validation_error(fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOB, Reply(200, {"hello": "world"}))
    with _client(fake_api) as client, pytest.raises(APIResponseValidationError):
        client.get_job("job-1")


def test_refused_connection_is_a_connection_error_from_the_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        with (
            Client(server_url=f"http://127.0.0.1:{port}", retry=NO_RETRY) as client,
            pytest.raises(APIConnectionError) as caught,
        ):
            client.list_jobs()
    assert type(caught.value) is APIConnectionError
    assert f"cannot reach the API at http://127.0.0.1:{port}/api/v1" in caught.value.message
    assert caught.value.__cause__ is not None


def test_slow_answer_is_a_timeout_error(fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOB, Reply(200, {}, delay=1.0))
    with _client(fake_api, timeout=0.2) as client, pytest.raises(APITimeoutError) as caught:
        client.get_job("job-1")
    assert isinstance(caught.value, APIConnectionError)
    assert "did not answer within 0.2 s" in caught.value.message
    assert caught.value.__cause__ is not None
