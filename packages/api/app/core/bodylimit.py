"""Request bodies are bounded in size and in time while they stream in, before any is buffered.

Without this, a route that reads its body (the job operations) would hold all of it in memory
whatever its size (ten 50 MB bodies took a worker from 83 to 916 MB), and uvicorn would wait for
a stalled body for ever. The checks are made as the application reads the body, so they run
before authentication, before any query, and only for routes that read a body:

- a declared ``Content-Length`` over the limit is a 413 at once, with not a byte read (and no
  ``100 Continue`` sent, so a client that asked first sends nothing);
- a body without one (chunked) is counted as it arrives and cut off with a 413 the moment it
  passes the limit, so at most one limit's worth (plus a read chunk) is ever held;
- the whole body must arrive within the read timeout from when its headers did, or it is a
  408: a total deadline, not one per chunk, so a client dripping a byte at a time cannot hold
  the connection either.

Routes that stream a large body to storage (a dataset upload) are named in ``streamed``, each
with bounds of its own: a size limit of its own, checked the same two ways, and instead of the
deadline an idle timeout (408 when no byte has arrived for that long), so a 200 MB upload on a
slow link may take minutes while one that has stopped is still cut off in seconds.

Both errors are raised as ``HTTPException`` from ``receive``: FastAPI lets those through from
body reading, and the app's handlers give them the envelope. Any answer sent before the body
was read to its end says ``Connection: close``, so the server drops the rest of the body rather
than reading it to find where the next request starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BodyIdleTimeoutError",
    "BodyLimitMiddleware",
    "BodyReadTimeoutError",
    "BodyTooLargeError",
    "StreamedBody",
    "describe_size",
]


def describe_size(size: int) -> str:
    """``1 MiB (1,048,576 bytes)``: the unit a person reads, and the exact figure."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"


class BodyTooLargeError(HTTPException):
    """The body is, or says it will be, over the limit."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        given = "" if declared is None else f" (Content-Length: {declared:,} bytes)"
        super().__init__(413, f"Request body too large{given}; the limit is {describe_size(limit)}")


class BodyReadTimeoutError(HTTPException):
    """The body did not arrive in time."""

    def __init__(self, timeout: float) -> None:
        super().__init__(408, f"Request body not received in full within {timeout:g} s")


class BodyIdleTimeoutError(HTTPException):
    """A streamed body stopped arriving."""

    def __init__(self, timeout: float, received: int) -> None:
        super().__init__(
            408, f"No part of the request body arrived for {timeout:g} s ({received:,} bytes in)"
        )


@dataclass(frozen=True)
class StreamedBody:
    """The bounds of a route that streams its body: its size limit, and the seconds it may go
    without a byte arriving."""

    max_bytes: int
    idle_timeout: float


class BodyLimitMiddleware:
    """Enforce ``max_bytes`` and ``read_timeout`` (seconds) on every HTTP request's body, but
    for the ``(method, path)`` routes in ``streamed``, which have bounds of their own."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        read_timeout: float,
        streamed: Mapping[tuple[str, str], StreamedBody] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.streamed = dict(streamed or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = _BodyGuard(self, scope, receive, send)
        await self.app(scope, guard.receive, guard.send)


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None  # the HTTP parser has already refused a malformed one
    return int(value)


class _BodyGuard:
    """One request's ``receive`` and ``send``, counting its body against the limits."""

    def __init__(self, limits: BodyLimitMiddleware, scope: Scope, receive: Receive, send: Send):
        headers = Headers(scope=scope)
        streamed = limits.streamed.get((scope["method"], scope["path"]))
        self.max_bytes = limits.max_bytes if streamed is None else streamed.max_bytes
        self.timeout = limits.read_timeout
        self.deadline = anyio.current_time() + limits.read_timeout
        #: For a streamed body: the seconds each read may wait (no total deadline).
        self.idle_timeout = None if streamed is None else streamed.idle_timeout
        self.declared = _declared_length(headers)
        has_body = bool(self.declared) or "transfer-encoding" in headers
        self.complete = not has_body
        self.received = 0
        self._receive = receive
        self._send = send

    async def receive(self) -> Message:
        if self.complete:  # the body is in (or there is none): waiting for a disconnect, say
            return await self._receive()
        if self.declared is not None and self.declared > self.max_bytes:
            raise BodyTooLargeError(self.max_bytes, self.declared)
        message: Message | None = None
        if self.idle_timeout is None:
            wait = self.deadline - anyio.current_time()
        else:
            wait = self.idle_timeout
        with anyio.move_on_after(wait):
            message = await self._receive()
        if message is None:
            if self.idle_timeout is not None:
                raise BodyIdleTimeoutError(self.idle_timeout, self.received)
            raise BodyReadTimeoutError(self.timeout)
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                raise BodyTooLargeError(self.max_bytes)
            self.complete = not message.get("more_body", False)
        else:  # http.disconnect: the client has gone, there is no more body to bound
            self.complete = True
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and not self.complete:
            headers = [
                (name, value)
                for name, value in message.get("headers", [])
                if name.lower() != b"connection"
            ]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await self._send(message)
