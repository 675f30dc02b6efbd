"""``HEAD`` for every ``GET`` route: the same status and headers, no body (RFC 9110, 9.3.2).

FastAPI routes answer only the methods they declare, so without this a monitor's ``HEAD /health``
is a 405. Rewriting the method at the edge keeps each route declared once (and the OpenAPI
description free of duplicate operations), and runs the GET with all its checks: authentication,
rate limits and errors answer exactly as they would for GET.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGetMiddleware"]


class HeadAsGetMiddleware:
    """Serve ``HEAD`` as ``GET`` and drop the body, keeping ``Content-Length`` as GET's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
