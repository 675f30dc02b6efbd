"""Sampling a model for ``POST /training/models/{id}/sample``: its prompt rendered as its jobs
render prompts, its completions sampled on Tinker and decoded with the same renderer.

The API process samples through the worker's own door to Tinker (``app.worker.tinker_calls``)
and its renderers (``app.worker.rendering``), so a model is sampled exactly as an RL job samples
it. Both need the ``worker`` extra and a Tinker key (``TINKER_API_KEY``); a server without either
answers 503 saying which, and every other route works as before.

Each request is bounded in time (``Settings.sample_timeout_seconds``): Tinker's transient
failures are retried only while the deadline allows, and a call that hangs is abandoned at it,
answering 503 with ``Retry-After``. One Tinker service client serves the process, and the
sampling clients of the models sampled lately are kept (``SAMPLING_CLIENTS``), since creating one
is a round trip of its own.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from app.core.config import Settings

__all__ = [
    "SAMPLING_CLIENTS",
    "SampleOutcome",
    "SampleSpec",
    "Sampler",
    "SamplingUnavailableError",
    "TinkerDownError",
    "TinkerRefusedError",
]

#: Sampling clients kept per process (one per model sampled lately), least recently used first out.
SAMPLING_CLIENTS = 32
#: Requests sampled at once per process; more wait for a thread (each mostly waits on Tinker).
_THREADS = 8
#: What a server without the worker extra lacks.
_NEEDED = ("tinker", "tml_renderers")


class SamplingUnavailableError(Exception):
    """This server cannot sample: no Tinker key, or not the worker extra."""


class TinkerDownError(Exception):
    """Tinker could not be reached or kept failing within the request's time."""


class TinkerRefusedError(Exception):
    """Tinker refused the request for good (an unknown checkpoint, say); its words."""


@dataclass(frozen=True)
class SampleSpec:
    """One sample: what to sample (sampler weights, or a base model by its catalog id), how its
    prompt is rendered, and the sampling settings."""

    model_path: str | None
    base_model: str
    renderer: str
    context_length: int
    messages: list[dict[str, str]] | None
    prompt: str | None
    max_tokens: int
    temperature: float
    top_p: float
    n: int
    stop: list[str]
    seed: int | None


@dataclass(frozen=True)
class SampledText:
    text: str
    tokens: int
    finish_reason: str


@dataclass(frozen=True)
class SampleOutcome:
    completions: list[SampledText]
    prompt_tokens: int


class Sampler:
    """The process's sampler: built on first use, so a server that never samples never imports
    Tinker's SDK."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.tinker_api_key
        self._base_url = settings.tinker_base_url
        self._timeout = settings.sample_timeout_seconds
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: OrderedDict[tuple[str | None, str | None], Any] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="sample")

    def unavailable(self) -> str | None:
        """Why this server cannot sample, or None."""
        if not self._key:
            return (
                "This server cannot sample: it has no Tinker key (set TINKER_API_KEY, and "
                "TINKER_BASE_URL for a Tinker-compatible service, where the API runs)"
            )
        missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
        if missing:
            return (
                "This server cannot sample: it lacks the worker extra's "
                f"{' and '.join(missing)} (install dreadnode-api[worker])"
            )
        return None

    def sample(self, spec: SampleSpec) -> SampleOutcome:
        """The completions, within the request's time; ``SamplingUnavailableError``,
        ``TinkerDownError`` or ``TinkerRefusedError`` otherwise, and ``ValueError`` (its message
        for the user) for a prompt the renderer refuses."""
        why = self.unavailable()
        if why is not None:
            raise SamplingUnavailableError(why)
        deadline = time.monotonic() + self._timeout
        future = self._pool.submit(self._sample, spec, deadline)
        try:
            return future.result(timeout=self._timeout)
        except FutureTimeout:
            raise TinkerDownError(f"Tinker did not answer within {self._timeout:g} s") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- in a pool thread --------------------------------------------------------------------

    def _sample(self, spec: SampleSpec, deadline: float) -> SampleOutcome:
        from app.worker.rendering import RowRenderError, get_row_renderer
        from app.worker.tinker_calls import (
            SampleRequest,
            TinkerRequestError,
            TinkerUnavailableError,
        )

        renderer = get_row_renderer(spec.renderer, spec.base_model)
        if spec.messages is not None:
            try:
                tokens = renderer.render_prompt({"prompt": spec.messages}, 1)
            except RowRenderError as err:
                raise ValueError(f"The messages cannot be rendered: {err.reason}") from err
            stop = renderer.stop
        else:
            assert spec.prompt is not None
            tokens = renderer.encode_text(spec.prompt)
            stop = list(spec.stop)
        if len(tokens) + spec.max_tokens > spec.context_length:
            raise ValueError(
                f"The prompt is {len(tokens):,} tokens, which with max_tokens "
                f"{spec.max_tokens:,} passes {spec.base_model}'s context "
                f"({spec.context_length:,} tokens)"
            )
        request = SampleRequest(
            count=spec.n,
            max_tokens=spec.max_tokens,
            temperature=spec.temperature,
            top_p=spec.top_p,
            stop=stop,
            seeds=[spec.seed],
        )
        try:
            session = self._tinker(deadline)
            client = self._client(session, spec, deadline)
            sampled = session.sample(client, [tokens], request)[0]
        except TinkerUnavailableError as err:
            raise TinkerDownError(str(err)) from err
        except TinkerRequestError as err:
            raise TinkerRefusedError(str(err)) from err
        completions = []
        for one in sampled:
            text = (
                renderer.completion_text(one.tokens)
                if spec.messages is not None
                else renderer.decode(one.tokens)
            )
            text, cut = _cut(text, spec.stop)
            finish = "stop" if cut or one.stop_reason == "stop" else "length"
            completions.append(SampledText(text=text, tokens=len(one.tokens), finish_reason=finish))
        return SampleOutcome(completions=completions, prompt_tokens=len(tokens))

    def _tinker(self, deadline: float) -> Any:
        from app.worker.tinker_calls import TinkerSession

        with self._lock:
            if self._session is None:
                self._session = TinkerSession.connect(
                    base_url=self._base_url, api_key=self._key or ""
                )
            session = self._session
        return _with_deadline(session, deadline)

    def _client(self, session: Any, spec: SampleSpec, deadline: float) -> Any:
        key = (spec.model_path, None if spec.model_path else spec.base_model)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        client = session.sampling_client(model_path=key[0], base_model=key[1])
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > SAMPLING_CLIENTS:
                self._clients.popitem(last=False)
        return client


def _with_deadline(session: Any, deadline: float) -> Any:
    """The process's Tinker session, seen by one request: its retries wait only while the
    request's deadline allows, then give up as Tinker being unavailable."""
    from dataclasses import replace

    from app.worker.tinker_calls import TinkerUnavailableError

    def sleep(seconds: float) -> None:
        if time.monotonic() + seconds > deadline:
            raise TinkerUnavailableError("Tinker kept failing until the request's time ran out")
        time.sleep(seconds)

    bounded: Callable[[float], None] = sleep
    return replace(session, sleep=bounded)


def _cut(text: str, stops: list[str]) -> tuple[str, bool]:
    """``text`` up to the first of ``stops`` in it, and whether one was found."""
    found = [index for index in (text.find(stop) for stop in stops) if index >= 0]
    if not found:
        return text, False
    return text[: min(found)], True
