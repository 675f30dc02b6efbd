"""Request ids, and the last stop for an exception no handler took.

Every response the app sends carries ``X-Request-ID``: the client's own when it sent a sane one
(so a proxy's or a caller's id follows the request through), else a new one. The log line of a
500 names it, so a user who quotes the id from a failed answer leads an operator straight to
the traceback.

This middleware is also where a crash stops. Starlette's handler for ``Exception`` answers with
the envelope but then re-raises, by design, so that the server may log it: uvicorn then logs the
same error a second time and closes the connection, keep-alive or not. Here the exception is
handed to that same handler (``app.errors``: one log line with the traceback and the request id,
the envelope for the client) and goes no further, so each 500 is logged once and the client's
connection stays usable. The middleware must be the outermost one the app adds, so that an
exception from any other middleware reaches it too.

A client that hangs up before its body has arrived is no crash, whatever the app made of it
(FastAPI answers a 400 nobody receives; a route reading the stream itself raises
``ClientDisconnect``): one info line says so, with the request id and how much had arrived.
"""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The handler Starlette is also given for ``Exception``: one log line and one answer for a crash.
from app.errors import _unhandled_error as answer_unhandled_error

__all__ = ["REQUEST_ID_HEADER", "RequestIdMiddleware"]

logger = logging.getLogger("app.requests")

REQUEST_ID_HEADER = "X-Request-ID"
#: A client's id is kept if it is 1-128 characters of this set: enough for UUIDs, W3C trace
#: ids and the ids proxies add, and nothing that could forge a log line or a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=@-]{1,128}")


def _request_id(headers: Headers) -> str:
    """The client's id if it is sane, else a new one (a bad id is replaced, never refused)."""
    given = headers.get(REQUEST_ID_HEADER)
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class _BodyWatch:
    """``receive``, noting how much body arrived and whether the client left before the end."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.received = 0
        self.complete = False
        self.abandoned = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        elif message["type"] == "http.disconnect" and not self.complete:
            self.abandoned = True
        return message


class RequestIdMiddleware:
    """Give each HTTP request an id, echo it on the response, answer any crash, and note a
    client gone mid-body (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _request_id(headers)
        scope.setdefault("state", {})["request_id"] = request_id  # request.state.request_id
        body = _BodyWatch(receive)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, body.receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - this is where every unhandled error ends
            if not (body.abandoned and isinstance(exc, ClientDisconnect)):
                response = await answer_unhandled_error(Request(scope, receive), exc)
                if not started:
                    await response(scope, receive, send_with_id)
                # Otherwise the answer was under way: uvicorn closes the connection, the only
                # way left to tell the client that it is incomplete.
        if body.abandoned:
            client = scope.get("client")
            raw_path = scope.get("raw_path") or scope["path"].encode()
            path = raw_path.decode("ascii", "backslashreplace")
            logger.info(
                "client %s disconnected before sending its whole request body: %s %s "
                "(request id %s; %d of %s bytes arrived)",
                f"{client[0]}:{client[1]}" if client else "unknown",
                scope["method"],
                path,
                request_id,
                body.received,
                headers.get("content-length", "an unknown number of"),
            )
