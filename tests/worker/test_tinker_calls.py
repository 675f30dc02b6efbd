"""How the worker treats Tinker's answers: which failures it retries and for how long, which
fail a job at once, and how it computes a step's loss from what Tinker returns."""

from __future__ import annotations

from typing import Any

import pytest

from app.worker.tinker_calls import (
    RETRY_ATTEMPTS,
    TinkerRequestError,
    TinkerUnavailableError,
    _with_retries,
    mean_loss,
)


class Flaky:
    """A call that fails with ``errors`` in turn, then answers ``done``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def wrapped(status: int) -> ValueError:
    """A refused request as tinker 0.16.1's futures report it."""
    return ValueError(
        f"Error retrieving result: Error code: {status} - {{'detail': 'nope'}} with status code "
        f"e.status_code={status} for self.request_id='3'"
    )


def test_transient_failures_are_retried_with_growing_waits() -> None:
    waits: list[float] = []
    call = Flaky(wrapped(503), wrapped(429), wrapped(502))
    assert _with_retries("forward_backward", call, waits.append) == "done"
    assert call.calls == 4
    assert len(waits) == 3
    assert 1 <= waits[0] <= 1.2
    assert 2 <= waits[1] <= 2.4
    assert 4 <= waits[2] <= 4.8


def test_refused_request_fails_at_once_with_tinkers_words() -> None:
    waits: list[float] = []
    call = Flaky(wrapped(400))
    with pytest.raises(TinkerRequestError, match=r"optim_step failed: Tinker answered 400: .*nope"):
        _with_retries("optim_step", call, waits.append)
    assert (call.calls, waits) == (1, [])


def test_a_service_that_stays_down_fails_after_the_last_try() -> None:
    waits: list[float] = []
    call = Flaky(*[wrapped(503)] * RETRY_ATTEMPTS)
    with pytest.raises(TinkerUnavailableError, match=f"failed {RETRY_ATTEMPTS} times"):
        _with_retries("save_state", call, waits.append)
    assert call.calls == RETRY_ATTEMPTS
    assert max(waits) <= 30 * 1.2  # capped
    assert sum(waits) < 90  # about a minute in all


def test_connection_errors_are_transient() -> None:
    import httpx
    import tinker

    request = httpx.Request("POST", "http://127.0.0.1:9/api/v1/forward_backward")
    call = Flaky(tinker.APIConnectionError(request=request))
    assert _with_retries("forward_backward", call, lambda _: None) == "done"


class Output:
    def __init__(self, *logprobs: list[float]) -> None:
        import tinker

        self.loss_fn_outputs: list[dict[str, Any]] = [
            {"logprobs": tinker.types.TensorData(data=row, dtype="float32", shape=[len(row)])}
            for row in logprobs
        ]


def test_mean_loss_is_the_weighted_negative_log_likelihood_per_trained_token() -> None:
    output = Output([-1.0, -2.0, -3.0], [-4.0, -5.0])
    weights = [[0.0, 1.0, 1.0], [1.0, 0.0]]
    assert mean_loss(output, weights) == pytest.approx((2.0 + 3.0 + 4.0) / 3)
    assert mean_loss(Output([-1.0]), [[0.0]]) == 0.0
