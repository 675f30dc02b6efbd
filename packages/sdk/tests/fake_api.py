"""A real HTTP server on loopback, scripted per test, standing in for the training API.

Tests of the client talk to it over real sockets (no mocked transport), so what they prove holds
for what goes over the wire: headers, retries counted on the server side, timeouts, proxy pages.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "COST_FIELDS",
    "NOT_HELD",
    "OWN_MODEL_ID",
    "PPO_DEFAULTS",
    "PRICE_AS_OF",
    "RL_DEFAULTS",
    "TRAIN_RATE",
    "FakeAPI",
    "JobRun",
    "Reply",
    "Seen",
    "cost_estimate_json",
    "dataset_json",
    "envelope",
    "estimate_json",
    "event_json",
    "job_json",
    "model_json",
    "rl_figures",
    "running_fake_api",
    "sample_json",
    "timestamp",
    "unknown_estimate_json",
    "validation_json",
]


@dataclass
class Reply:
    """One scripted answer: a dict body is sent as JSON, a str body as it is."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    #: The body's bytes as they came (``body`` is them parsed, when they were sent as JSON).
    raw: bytes = b""


#: An answer computed from the request when it comes (see ``JobRun``).
Responder = Callable[[Seen], Reply]


def envelope(status: int, detail: str, type_: str, errors: list[Any] | None = None) -> Reply:
    """An error answer in the API's canonical envelope."""
    body = {"code": status, "detail": detail, "type": type_, "errors": errors or []}
    return Reply(status, body)


#: Tinker's train rate for Qwen/Qwen3-8B in the price list the fake server fetched, USD per
#: million tokens, and when it fetched it.
TRAIN_RATE = 0.44
PRICE_AS_OF = "2026-12-04T16:00:00Z"
#: Why a job on a URI the platform does not hold has no estimate, in the API's words.
NOT_HELD = (
    "the platform does not hold dataset 's3://bucket/train.jsonl', so its tokens are not known "
    "(upload it with `dn train datasets upload FILE` to have them counted)"
)


def cost_estimate_json(reason: str | None = None) -> dict[str, Any]:
    """The basis of an estimate: the train rate known, and ``reason`` when the tokens are not."""
    return {
        "train_usd_per_million": TRAIN_RATE,
        "price_as_of": PRICE_AS_OF,
        "price_source": "https://example.com/tinker/prices",
        "reason": reason,
    }


def estimate_json() -> dict[str, Any]:
    """The estimate of three passes over a counted dataset, 1,234 tokens a pass, at
    ``TRAIN_RATE``: the fields a job and a dry run's answer carry."""
    return {
        "tokens_per_epoch": 1234,
        "total_tokens": 3702,
        "estimated_cost_usd": round(3702 * TRAIN_RATE / 1e6, 6),
        "cost_estimate": cost_estimate_json(),
    }


def unknown_estimate_json(reason: str) -> dict[str, Any]:
    """An estimate the API could not make, and why: no tokens counted, so no cost."""
    return {
        "tokens_per_epoch": None,
        "total_tokens": None,
        "estimated_cost_usd": None,
        "cost_estimate": cost_estimate_json(reason),
    }


#: The fields the cost contract added to a job: an older server's answer has none of them.
COST_FIELDS = (
    *estimate_json(),
    "max_cost_usd",
    "processed_tokens",
    "spent_usd",
    "cancel_reason",
)


def validation_json(**changes: Any) -> dict[str, Any]:
    """A dry run's answer for a valid SFT job of three epochs on a counted dataset: what it
    would train with, and its estimate (``estimate_json``)."""
    answer: dict[str, Any] = {
        "valid": True,
        "errors": [],
        "warnings": [],
        "hyperparameters": {"learning_rate": 0.0001, "epochs": 3, "lora_rank": 32},
        "defaulted_hyperparameters": ["learning_rate", "lora_rank"],
        "adapter_parameters": 32 * 2883968,
        **estimate_json(),
    }
    answer.update(changes)
    return answer


#: The knobs the API fills in for an RL job that names none (``app.training.rl_settings``); a
#: ``ppo`` job adds ``PPO_DEFAULTS``.
RL_DEFAULTS: dict[str, Any] = {
    "batch_size": 32,
    "group_size": 4,
    "max_tokens": 256,
    "temperature": 1.0,
}
PPO_DEFAULTS: dict[str, Any] = {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2}


def rl_figures(
    reward_mean: float, reward_std: float, no_signal: float, grading_errors: int = 0
) -> dict[str, Any]:
    """What an RL step adds to its ``training_step`` event's ``data`` and its metric point."""
    return {
        "reward_mean": reward_mean,
        "reward_std": reward_std,
        "no_signal_fraction": no_signal,
        "sampled_tokens": 4096,
        "grading_errors": grading_errors,
    }


def job_json(job_id: str = "job-1", status: str = "queued", **changes: Any) -> dict[str, Any]:
    """A job as every job read answers it: the effective hyperparameters (``learning_rate`` and
    ``lora_rank`` always present), the names the server defaulted and the adapter's size, its
    cost (unknown: the platform does not hold its dataset; no cap) and the run's figures as they
    are before a worker starts it. The answer to a creation adds ``warnings``; pass them in
    ``changes``."""
    job: dict[str, Any] = {
        "id": job_id,
        "name": "demo",
        "base_model": "Qwen/Qwen3-8B",
        "method": "sft",
        "algorithm": "sft",
        "dataset": "s3://bucket/train.jsonl",
        "tags": ["demo"],
        "hyperparameters": {"learning_rate": 0.0001, "lora_rank": 32},
        "defaulted_hyperparameters": ["lora_rank"],
        "grader": None,
        "adapter_parameters": 32 * 2883968,
        "status": status,
        "status_message": None,
        "queue_position": None,
        "cancel_requested": False,
        "created_at": "2026-11-22T22:00:00Z",
        "updated_at": "2026-11-22T22:00:00Z",
        "started_at": None,
        "finished_at": None,
        "progress": {"step": 0, "total_steps": None, "epochs_completed": 0},
        "trained_tokens": 0,
        "loss": None,
        "checkpoints": [],
        "sampler_path": None,
        "error": None,
        **unknown_estimate_json(NOT_HELD),
        "max_cost_usd": None,
        "processed_tokens": 0,
        "spent_usd": 0.0,
        "cancel_reason": None,
    }
    job.update(changes)
    return job


#: When the jobs of ``job_json`` were created; a run's events follow it a second apart.
CREATED_AT = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)


def timestamp(seconds: float) -> str:
    """The API's spelling of the moment ``seconds`` after ``CREATED_AT``."""
    return (CREATED_AT + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def event_json(
    event_id: int,
    type_: str,
    status: str,
    message: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event as ``GET /training/jobs/{id}/events`` answers it, ``event_id`` seconds after
    the job was created."""
    return {
        "id": event_id,
        "type": type_,
        "status": status,
        "message": message,
        "created_at": timestamp(event_id),
        "data": data,
    }


@dataclass
class JobRun:
    """A job that moves on while it is watched, as a worker would run it.

    ``stages`` are what the server holds at each moment: the job then (``GET .../{id}``) and the
    events added by then. Each read of the events answers those of the stages so far, newer
    than its ``after`` cursor, and moves the run on to its next stage; the last stage stays.
    ``served`` records the id of every event each read answered, so a test can see that none
    was sent twice.
    """

    job_id: str
    stages: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]]
    stage: int = 0
    served: list[list[int]] = field(default_factory=list)

    def install(self, api: FakeAPI, prefix: str = "/api/v1/training/jobs") -> None:
        api.script("GET", f"{prefix}/{self.job_id}", self.read_job)
        api.script("GET", f"{prefix}/{self.job_id}/events", self.read_events)

    def read_job(self, seen: Seen) -> Reply:
        return Reply(200, self.stages[self.stage][0])

    def read_events(self, seen: Seen) -> Reply:
        after = int(seen.query["after"][0]) if "after" in seen.query else -1
        released = [e for _, events in self.stages[: self.stage + 1] for e in events]
        answer = [e for e in released if e["id"] > after]
        self.served.append([e["id"] for e in answer])
        self.stage = min(self.stage + 1, len(self.stages) - 1)
        return Reply(200, {"events": answer})


def dataset_json(dataset_id: str = "ds-0123456789abcdef01234567", **changes: Any) -> dict[str, Any]:
    """A dataset as the API answers it: three chat rows, their figures and the file's hash."""
    dataset: dict[str, Any] = {
        "id": dataset_id,
        "name": "demo",
        "format": "chat",
        "rows": 3,
        "bytes": 312,
        "sha256": "ab" * 32,
        "longest_row_bytes": 120,
        "longest_row_line": 2,
        "created_at": "2026-11-22T22:00:00Z",
        "token_counts_status": "pending",
        "token_counts": None,
        "token_counts_error": None,
    }
    dataset.update(changes)
    return dataset


#: The id of a model a user's completed job made (``ft-`` and 24 hex digits).
OWN_MODEL_ID = "ft-0123456789abcdef01234567"


def model_json(model_id: str = OWN_MODEL_ID, **changes: Any) -> dict[str, Any]:
    """A model as ``/training/models`` answers it: by default one of the caller's, made by an
    SFT job on Qwen/Qwen3-8B; a catalog id (``Qwen/Qwen3-8B``) gives the catalog's base model,
    with ``null`` for what only a trained model has."""
    sampling = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 256}
    training = {"learning_rate": 0.00047297908091376354, "lora_rank": 32}
    model: dict[str, Any] = {
        "id": model_id,
        "name": "sums",
        "description": "adds two numbers",
        "read_only": False,
        "owned": True,
        "parent_model": "Qwen/Qwen3-8B",
        "base_model": "Qwen/Qwen3-8B",
        "revision": 1,
        "created_at": "2026-12-05T10:00:00Z",
        "last_modified": "2026-12-05T11:30:00Z",
        "default_model": False,
        "renderer": "qwen3",
        "context_length": 32768,
        "sampling": sampling,
        "training": training,
        "job_id": "job-1",
        "method": "sft",
        "sampler_path": "tinker://run-1/sampler_weights/final",
        "training_checkpoint": "tinker://run-1/weights/final",
        "lora_rank": 32,
        "dataset": "ds-0123456789abcdef01234567",
        "trained_tokens": 3702,
    }
    if not model_id.startswith("ft-"):
        model.update(
            name=model_id.rpartition("/")[2].replace("-", " "),
            description=None,
            read_only=True,
            owned=False,
            parent_model=None,
            base_model=model_id,
            revision=0,
            created_at=None,
            last_modified=None,
            job_id=None,
            method=None,
            sampler_path=None,
            training_checkpoint=None,
            lora_rank=None,
            dataset=None,
            trained_tokens=None,
        )
    model.update(changes)
    return model


def sample_json(
    *texts: str, model: str = OWN_MODEL_ID, finish_reason: str = "stop", **changes: Any
) -> dict[str, Any]:
    """A sample's answer: one completion per text (``"5"`` when none is given), each of as
    many tokens as it has words, ended as ``finish_reason`` says, with the model's defaults."""
    completions = [
        {"text": text, "tokens": len(text.split()), "finish_reason": finish_reason}
        for text in texts or ("5",)
    ]
    answer: dict[str, Any] = {
        "model": model,
        "completions": completions,
        "prompt_tokens": 14,
        "completion_tokens": sum(c["tokens"] for c in completions),
        "sampling": {"temperature": 1.0, "top_p": 1.0, "max_tokens": 256},
        "seed": None,
    }
    answer.update(changes)
    return answer


class FakeAPI:
    """Answers each (method, path) from its script; the last reply of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Reply | Responder]] = {}
        self.requests: list[Seen] = []
        self.url = ""
        self._lock = threading.Lock()

    def script(self, method: str, path: str, *replies: Reply | Responder) -> None:
        """Answer ``method path`` with ``replies`` in turn (the last one repeats); a responder
        (a function of the request) computes its reply when the request comes."""
        self.scripts[(method, path)] = list(replies)

    def seen(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            replies = self.scripts.get((seen.method, seen.path))
            if not replies:
                return envelope(404, "Not Found", "not_found_error")
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
            return reply if isinstance(reply, Reply) else reply(seen)


def _handler(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests assert on ``api.requests``, not on a log."""

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=json.loads(raw) if raw and self._sent_json() else None,
                raw=raw,
            )
            reply = api.answer(seen)
            time.sleep(reply.delay)
            if isinstance(reply.body, str):
                payload = reply.body.encode()
            else:
                payload = json.dumps(reply.body).encode() if reply.body is not None else b""
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing left to answer

        def _sent_json(self) -> bool:
            """A JSON body (a dataset upload's JSON Lines are kept as bytes only)."""
            return self.headers.get("Content-Type", "application/json").startswith(
                "application/json"
            )

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

    return Handler


@contextmanager
def running_fake_api() -> Iterator[FakeAPI]:
    """Serve a fresh ``FakeAPI`` on a free loopback port for the duration of the block."""
    api = FakeAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
