"""How ``dreadnode-api serve`` runs the app under uvicorn: bounded request heads, workers that
never outlive their supervisor, and one log stream.

- **Heads.** uvicorn's h11 protocol is the one of its HTTP parsers that bounds a request's line
  and headers at all, and h11 bounds only a head still arriving (``max_incomplete_event_size``):
  a larger head that arrives whole in one read, or 5,000 tiny header fields, would be parsed.
  ``BoundedHeadConnection`` measures every head however it arrives and counts its fields (431
  and the connection closed above either limit). uvicorn also arms no timer on a connection
  until it has answered a request on it, so one that never finishes its head (nothing sent, or a
  header a byte at a time) would be held for ever: ``BoundedHeadH11Protocol`` closes it
  ``header_read_timeout`` seconds after it opened, or after a new head began.
- **Framing.** A request with both ``Content-Length`` and ``Transfer-Encoding`` is refused (400)
  and its connection closed (RFC 9112, 6.1): h11 would read it as chunked and go on reading the
  connection, so the bytes a front proxy framed by ``Content-Length`` as the first request's
  body would run here as a second, smuggled request. A ``Transfer-Encoding`` other than exactly
  ``chunked``, or given twice, h11 refuses itself.
- **Workers.** With ``--workers N`` uvicorn's supervisor spawns the workers with multiprocessing
  and hands them its listening socket. If the supervisor is SIGKILLed, nothing tells them: they
  keep serving the port and a restart fails with "Address already in use". Each worker here
  watches the supervisor's end of the pipe multiprocessing gave it (the kernel closes it when
  the supervisor dies, however it dies, on every OS) and then stops as on SIGTERM.
- **Logs.** uvicorn's logging configuration, plus the ``app`` logger at INFO on the same stream,
  so the app's own lines (a 500 with its traceback, a client gone mid-body) are not lost.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from functools import partial
from http import HTTPStatus
from typing import Any, cast

import h11
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG, Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from app.core.config import Settings
from app.errors import ERROR_TYPES

__all__ = [
    "BoundedHeadConnection",
    "BoundedHeadH11Protocol",
    "create_worker_app",
    "http_protocol",
    "log_config",
    "stop_when_supervisor_dies",
]

logger = logging.getLogger("app.serving")

#: The head limit when uvicorn is given none (h11's own default); ``serve`` always gives one.
DEFAULT_MAX_HEAD_BYTES = 16 * 1024
#: Seconds a stopping worker gets beyond its graceful shutdown before it exits regardless.
EXIT_MARGIN_SECONDS = 5


#: The end of a request head, as h11 finds it: a blank line (CRLF or a bare LF).
_HEAD_END = re.compile(b"\n\r?\n")


class HeadRefusedError(h11.RemoteProtocolError):
    """A request head h11 parsed but the server will not serve: ``error_status_hint`` is the
    answer's status, the message its detail (safe to show: it names only sizes and headers)."""


class BoundedHeadConnection(h11.Connection):
    """h11's server side of a connection, with the request-head rules h11 lacks: at most
    ``max_head_bytes`` of request line and headers whether the head arrived in pieces (h11's
    own check) or whole, at most ``max_fields`` header fields, never both ``Content-Length`` and
    ``Transfer-Encoding``. Every refusal h11 or these rules raise is kept as ``refusal``, for
    the protocol's answer to say why."""

    def __init__(self, *, max_head_bytes: int, max_fields: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes
        self.max_fields = max_fields
        self.refusal: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        head_bytes = None
        if self.their_state is h11.IDLE:
            # The next head is at the start of what is buffered: measure it before h11 parses
            # it (h11 keeps no record of a parsed head's size).
            pending, _closed = self.trailing_data
            end = _HEAD_END.search(pending)
            if end is not None:
                head_bytes = end.end()
        try:
            event = super().next_event()
            if isinstance(event, h11.Request):
                self._judge(event, head_bytes)
        except h11.RemoteProtocolError as err:
            self.refusal = err
            raise
        return event

    def _judge(self, request: h11.Request, head_bytes: int | None) -> None:
        if head_bytes is not None and head_bytes > self.max_head_bytes:
            raise HeadRefusedError(
                f"Request line and headers are {head_bytes:,} bytes; the limit is "
                f"{self.max_head_bytes:,} bytes",
                error_status_hint=431,
            )
        if len(request.headers) > self.max_fields:
            raise HeadRefusedError(
                f"Request has {len(request.headers):,} header fields; the limit is "
                f"{self.max_fields:,}",
                error_status_hint=431,
            )
        names = {name for name, _value in request.headers}
        if b"content-length" in names and b"transfer-encoding" in names:
            raise HeadRefusedError(
                "Request has both Content-Length and Transfer-Encoding: its framing is "
                "ambiguous (RFC 9112, section 6.1); send one of them",
                error_status_hint=400,
            )


class BoundedHeadH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline on each request's head: from the connection's
    opening, or from the first byte of a later head (between requests uvicorn's own keep-alive
    timeout applies). When it passes the connection is closed without an answer, as uvicorn
    closes an idle one; a client that had sent part of a head is named in one info line."""

    conn: BoundedHeadConnection

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_read_timeout: float,
        max_header_fields: int,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_read_timeout = header_read_timeout
        self.conn = BoundedHeadConnection(
            max_head_bytes=config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES,
            max_fields=max_header_fields,
        )
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_head_deadline()  # part of a head is in: the rest has until the deadline
        else:
            self._disarm_head_deadline()  # the head is complete (the body has its own bound)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(
                self.header_read_timeout, self._head_deadline_passed
            )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request head it will not serve, in the API's error envelope
        rather than as plain text: 431 for a head over a limit, else 400, with h11's or our
        reason; the connection then closes, whatever followed the head unread."""
        status, detail = self._refusal()
        body = json.dumps(
            {"code": status, "detail": detail, "type": ERROR_TYPES[status], "errors": []}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        reason = HTTPStatus(status).phrase.encode()
        for event in (
            h11.Response(status_code=status, headers=headers, reason=reason),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

    def _refusal(self) -> tuple[int, str]:
        """The status and detail of the answer to the head being refused."""
        refusal = self.conn.refusal
        if isinstance(refusal, HeadRefusedError):
            return refusal.error_status_hint, str(refusal)
        limit = self.conn.max_head_bytes
        pending, _closed = self.conn.trailing_data
        if len(pending) > limit:  # h11's own bound, on a head still arriving
            return 431, f"Request line and headers larger than the limit of {limit:,} bytes"
        reason = f": {refusal}" if refusal is not None and str(refusal) else ""
        return 400, f"Malformed HTTP request{reason}"

    def _head_deadline_passed(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        pending, _closed = self.conn.trailing_data
        if pending:
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
            logger.info(
                "closed the connection from %s: its request head (%d bytes so far) did not "
                "arrive in full within %g s",
                client,
                len(pending),
                self.header_read_timeout,
            )
        self.timeout_keep_alive_handler()  # uvicorn's own close of a connection gone quiet


def http_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """The protocol class to hand uvicorn (as ``http=``), with the head deadline of ``settings``.

    A ``partial`` rather than a class made on the fly, so that it pickles by reference into the
    spawned workers; uvicorn calls it exactly as it calls a protocol class.
    """
    factory = partial(
        BoundedHeadH11Protocol,
        header_read_timeout=settings.header_read_timeout_seconds,
        max_header_fields=settings.max_header_fields,
    )
    return cast("type[asyncio.Protocol]", factory)


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, with the ``app`` loggers on its stream at INFO."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["app"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def stop_when_supervisor_dies(grace_seconds: float) -> bool:
    """In a worker spawned by uvicorn's supervisor, start a thread that stops this process once
    the supervisor has gone: SIGTERM to itself (uvicorn's graceful shutdown, which closes the
    listening socket at once), then, should that not finish within ``grace_seconds`` plus a
    margin, an immediate exit. Returns whether there is a supervisor to watch: a server run with
    one worker is its own supervisor."""
    supervisor = multiprocessing.parent_process()
    if supervisor is None:
        return False

    def watch() -> None:
        supervisor.join()  # returns when the supervisor's end of the pipe closes: it has exited
        logger.warning(
            "the supervisor process [%s] has gone; worker [%d] stops", supervisor.pid, os.getpid()
        )
        signal.raise_signal(signal.SIGTERM)
        time.sleep(grace_seconds + EXIT_MARGIN_SECONDS)
        logger.error("worker [%d] did not stop in time after its supervisor; exiting", os.getpid())
        os._exit(1)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()
    return True


def create_worker_app() -> FastAPI:
    """The app as ``serve`` runs it (uvicorn's factory, called in each worker process): the
    settings from the environment, and the watch on the supervisor where there is one."""
    from app.main import create_app

    settings = Settings()
    stop_when_supervisor_dies(settings.shutdown_timeout_seconds)
    return create_app(settings)
