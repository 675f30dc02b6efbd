"""The worker's one door to Tinker: every call it makes on the ``tinker`` SDK is in this module.

Production runs the newest ``tinker`` release; the local engine the tests train on (SkyRL tx)
speaks only to ``tinker`` 0.16.1. The worker therefore uses only calls present in both, and
``SDK_SURFACE`` names each of them, so a test can compare their signatures across the two
versions and an upgrade that breaks one fails CI rather than a job.

Errors are sorted here once: a connection failure, a timeout, 408, 429 and 5xx are transient and
retried with capped exponential backoff (the SDK retries some of them itself first); any other
status (400 "rank must be a power of 2", 401, 404 ...) is permanent and fails the job with
Tinker's own message.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import tinker

__all__ = [
    "RETRY_ATTEMPTS",
    "SDK_SURFACE",
    "SampleRequest",
    "Sampled",
    "TinkerRequestError",
    "TinkerSession",
    "TinkerUnavailableError",
    "mean_loss",
]

logger = logging.getLogger("app.worker")

#: Every ``tinker`` call the worker makes here, with the keyword arguments it passes (each call
#: passes all its arguments by keyword, so their names are the contract). ``rendering.TINKER_API``
#: lists the calls that build datums.
SDK_SURFACE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "tinker.ServiceClient": ("base_url", "api_key"),
        "tinker.ServiceClient.create_lora_training_client": ("base_model", "rank"),
        "tinker.ServiceClient.create_training_client_from_state_with_optimizer": ("path",),
        "tinker.ServiceClient.create_training_client_from_state": ("path",),
        "tinker.TrainingClient.forward_backward": ("data", "loss_fn", "loss_fn_config"),
        "tinker.TrainingClient.save_weights_and_get_sampling_client": (),
        "tinker.SamplingClient.sample": ("prompt", "num_samples", "sampling_params"),
        "tinker.ServiceClient.create_sampling_client": ("model_path", "base_model"),
        "tinker.types.SamplingParams": ("max_tokens", "temperature", "seed", "stop", "top_p"),
        "tinker.TrainingClient.optim_step": ("adam_params",),
        "tinker.TrainingClient.save_state": ("name",),
        "tinker.TrainingClient.save_weights_for_sampler": ("name",),
        "tinker.types.AdamParams": ("learning_rate",),
        "tinker.APIConnectionError": (),
        "tinker.APIStatusError": (),
    }
)

#: Tries of one call before the job fails as ``tinker_unavailable``: 6 tries over about a
#: minute (1, 2, 4, 8, 16 s, then 30 s at most between tries, each with up to 20 % jitter), long
#: enough to ride out a restart or a brief overload of the service, short enough that a job on
#: a service that is really down fails while its owner is still watching.
RETRY_ATTEMPTS = 6
_FIRST_BACKOFF = 1.0
_MAX_BACKOFF = 30.0
_TRANSIENT_STATUSES = frozenset({408, 429})

T = TypeVar("T")


class TinkerRequestError(Exception):
    """Tinker refused a request for good: the job fails with this message."""


class TinkerUnavailableError(TinkerRequestError):
    """Tinker could not be reached, or kept failing, for every retry."""


#: How a future's ``result()`` reports a refused request in tinker 0.16.1: a ``ValueError``
#: whose text carries the status ("Error retrieving result: Error code: 400 - {...}").
_WRAPPED_STATUS = re.compile(r"Error code: (\d{3})\b")


def _status(error: BaseException) -> int | None:
    """The HTTP status a failed call got, however the SDK reported it; None for none."""
    import tinker

    if isinstance(error, tinker.APIStatusError):
        return int(error.status_code)
    found = _WRAPPED_STATUS.search(str(error)) if isinstance(error, ValueError) else None
    return int(found.group(1)) if found else None


def _transient(error: BaseException) -> bool:
    import tinker

    if isinstance(error, tinker.APIConnectionError):
        return True
    status = _status(error)
    return status is not None and (status in _TRANSIENT_STATUSES or status >= 500)


def _describe(error: BaseException) -> str:
    import tinker

    if isinstance(error, tinker.APIStatusError):
        return f"Tinker answered {error.status_code}: {error.message}"
    status = _status(error)
    if status is not None:
        detail = str(error).split(" - ", 1)[-1].split(" with status code", 1)[0]
        return f"Tinker answered {status}: {detail}"
    return f"{type(error).__name__}: {error}"


def _with_retries(what: str, call: Callable[[], T], sleep: Callable[[float], None]) -> T:
    delay = _FIRST_BACKOFF
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            return call()
        except Exception as err:
            if not _transient(err):
                raise TinkerRequestError(f"{what} failed: {_describe(err)}") from err
            if attempt == RETRY_ATTEMPTS:
                message = f"{what} failed {RETRY_ATTEMPTS} times; last: {_describe(err)}"
                raise TinkerUnavailableError(message) from err
            logger.warning("%s failed (%s); retrying in %.1f s", what, _describe(err), delay)
            sleep(delay * (1 + random.random() / 5))  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, _MAX_BACKOFF)
    raise AssertionError("unreachable")  # pragma: no cover


def _resolved(created: Any) -> Any:
    """The training client itself. tinker 0.38 returns a future of it (a deprecated wrapper
    that still acts as the client, but creates the run lazily, so a failed creation would
    surface later as a failed step and never be retried as a creation); 0.16.1 returns the
    client. Waiting here makes both create the run inside the creation's own retries."""
    import tinker

    future = getattr(tinker, "APIFuture", None)
    if future is not None and isinstance(created, future):
        return created.result()
    return created


def mean_loss(output: Any, weights: Sequence[Sequence[float]]) -> float:
    """The step's loss per trained token: the weighted negative log-likelihood of the targets,
    from the per-token log-probabilities Tinker returns (its ``metrics`` may be empty)."""
    total = 0.0
    weight_sum = 0.0
    for record, row_weights in zip(output.loss_fn_outputs, weights, strict=True):
        logprobs = record["logprobs"].tolist()
        for logprob, weight in zip(logprobs, row_weights, strict=True):
            total -= logprob * weight
            weight_sum += weight
    return total / weight_sum if weight_sum else 0.0


@dataclass(frozen=True)
class SampleRequest:
    """How to sample: ``count`` completions per prompt of at most ``max_tokens``, at
    ``temperature`` and ``top_p``, ending at ``stop``, with one seed per prompt (None: any)."""

    count: int
    max_tokens: int
    temperature: float
    stop: list[int] | list[str]
    seeds: Sequence[int | None]
    top_p: float = 1.0


@dataclass(frozen=True)
class Sampled:
    """One sampled completion: its tokens, the sampler's log-probability of each, and why it
    ended (``stop``: a stop token or text; ``length``: ``max_tokens``)."""

    tokens: list[int]
    logprobs: list[float]
    stop_reason: str = "stop"


@dataclass
class TinkerSession:
    """One job's training client on Tinker, with the calls the worker makes on it."""

    service: tinker.ServiceClient
    client: tinker.TrainingClient | None = None
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def connect(cls, *, base_url: str | None, api_key: str) -> TinkerSession:
        import tinker

        return cls(service=tinker.ServiceClient(base_url=base_url, api_key=api_key))

    def start(self, *, base_model: str, rank: int) -> None:
        """A fresh LoRA adapter on ``base_model``."""
        self.client = _with_retries(
            "Creating the training run",
            lambda: _resolved(
                self.service.create_lora_training_client(base_model=base_model, rank=rank)
            ),
            self.sleep,
        )

    def start_from(self, path: str) -> None:
        """A new run on the weights of a training checkpoint (another job's), with a fresh
        optimizer: Tinker reads the checkpoint's base model and rank."""
        self.client = _with_retries(
            f"Starting from {path}",
            lambda: _resolved(self.service.create_training_client_from_state(path=path)),
            self.sleep,
        )

    def resume(self, path: str) -> None:
        """The adapter and optimizer state of a training checkpoint, as they were saved."""
        self.client = _with_retries(
            f"Resuming from {path}",
            lambda: _resolved(
                self.service.create_training_client_from_state_with_optimizer(path=path)
            ),
            self.sleep,
        )

    def _client(self) -> tinker.TrainingClient:
        if self.client is None:
            raise RuntimeError("start() or resume() first")
        return self.client

    def train_step(
        self,
        datums: list[Any],
        *,
        learning_rate: float,
        loss_fn: str = "cross_entropy",
        loss_fn_config: dict[str, float] | None = None,
    ) -> Any:
        """One forward-backward pass over ``datums`` with ``loss_fn`` and one Adam step; the
        pass's output."""
        import tinker

        client = self._client()
        output = _with_retries(
            "forward_backward",
            lambda: client.forward_backward(
                data=datums, loss_fn=loss_fn, loss_fn_config=loss_fn_config
            ).result(),
            self.sleep,
        )
        params = tinker.types.AdamParams(learning_rate=learning_rate)
        _with_retries(
            "optim_step", lambda: client.optim_step(adam_params=params).result(), self.sleep
        )
        return output

    def save_state(self, name: str) -> str:
        """A training checkpoint (weights and optimizer state); its ``tinker://`` path."""
        client = self._client()
        saved = _with_retries(
            "save_state", lambda: client.save_state(name=name).result(), self.sleep
        )
        return str(saved.path)

    def save_sampler(self, name: str) -> str:
        """The adapter's weights for sampling; their ``tinker://`` path."""
        client = self._client()
        saved = _with_retries(
            "save_weights_for_sampler",
            lambda: client.save_weights_for_sampler(name=name).result(),
            self.sleep,
        )
        return str(saved.path)

    def sampler(self) -> Any:
        """A sampling client on the adapter's current weights (Tinker keeps them only for the
        session: nothing is listed as a checkpoint)."""
        client = self._client()

        def snapshot() -> Any:  # called here, so the SDK surface test sees the call
            return client.save_weights_and_get_sampling_client()

        return _with_retries("save_weights_and_get_sampling_client", snapshot, self.sleep)

    def sample(
        self, sampler: Any, prompts: Sequence[Sequence[int]], request: SampleRequest
    ) -> list[list[Sampled]]:
        """``request.count`` completions of each prompt, the prompts' requests all sent before
        any answer is awaited (Tinker samples them together), each retried on its own."""
        import tinker

        def send(index: int) -> Any:
            params = tinker.types.SamplingParams(
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                seed=request.seeds[index],
                stop=request.stop,
                top_p=request.top_p,
            )
            return sampler.sample(
                prompt=tinker.types.ModelInput.from_ints(list(prompts[index])),
                num_samples=request.count,
                sampling_params=params,
            )

        futures = [[send(index)] for index in range(len(prompts))]

        def answer(index: int) -> Any:
            sent = futures[index]
            return (sent.pop() if sent else send(index)).result()  # a retry sends again

        answers = [
            _with_retries("sample", lambda index=index: answer(index), self.sleep)  # type: ignore[misc]
            for index in range(len(prompts))
        ]
        return [
            [
                Sampled(
                    tokens=list(sequence.tokens),
                    logprobs=list(sequence.logprobs or []),
                    stop_reason=str(sequence.stop_reason),
                )
                for sequence in got.sequences
            ]
            for got in answers
        ]

    def sampling_client(self, *, model_path: str | None, base_model: str | None) -> Any:
        """A sampling client of saved sampler weights (``model_path``) or of a base model."""
        return _with_retries(
            "Creating the sampling client",
            lambda: _resolved(
                self.service.create_sampling_client(model_path=model_path, base_model=base_model)
            ),
            self.sleep,
        )
