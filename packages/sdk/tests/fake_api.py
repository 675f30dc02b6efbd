"""A real HTTP server on loopback, scripted per test, standing in for the training API.

Tests of the client talk to it over real sockets (no mocked transport), so what they prove holds
for what goes over the wire: headers, retries counted on the server side, timeouts, proxy pages.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FakeAPI",
    "Reply",
    "Seen",
    "dataset_json",
    "envelope",
    "job_json",
    "running_fake_api",
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


def envelope(status: int, detail: str, type_: str, errors: list[Any] | None = None) -> Reply:
    """An error answer in the API's canonical envelope."""
    body = {"code": status, "detail": detail, "type": type_, "errors": errors or []}
    return Reply(status, body)


def job_json(job_id: str = "job-1", status: str = "queued", **changes: Any) -> dict[str, Any]:
    """A job as every job read answers it: the effective hyperparameters (``learning_rate`` and
    ``lora_rank`` always present), the names the server defaulted and the adapter's size. The
    answer to a creation adds ``warnings``; pass them in ``changes``."""
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
        "adapter_parameters": 32 * 2883968,
        "status": status,
        "created_at": "2026-11-22T22:00:00Z",
        "updated_at": "2026-11-22T22:00:00Z",
    }
    job.update(changes)
    return job


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
    }
    dataset.update(changes)
    return dataset


class FakeAPI:
    """Answers each (method, path) from its script; the last reply of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[Seen] = []
        self.url = ""
        self._lock = threading.Lock()

    def script(self, method: str, path: str, *replies: Reply) -> None:
        self.scripts[(method, path)] = list(replies)

    def seen(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            replies = self.scripts.get((seen.method, seen.path))
            if not replies:
                return envelope(404, "Not Found", "not_found_error")
            return replies.pop(0) if len(replies) > 1 else replies[0]


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
