"""How ``dreadnode-api serve`` runs the app under uvicorn: bounded request heads, workers that
never outlive their supervisor, and one log stream.

- **Heads.** uvicorn's h11 protocol is the one of its HTTP parsers that bounds a request's line
  and headers (``h11_max_incomplete_event_size``: past it, 400 and the connection closed, as soon
  as that much has arrived); httptools buffers a header of any size. uvicorn also arms no timer
  on a connection until it has answered a request on it, so one that never finishes its head
  (nothing sent, or a header a byte at a time) would be held for ever: ``BoundedHeadH11Protocol``
  closes it ``header_read_timeout`` seconds after it opened, or after a new head began.
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
import signal
import threading
import time
from functools import partial
from typing import Any, cast

import h11
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG, Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from app.core.config import Settings
from app.errors import ERROR_TYPES

__all__ = [
    "BoundedHeadH11Protocol",
    "create_worker_app",
    "http_protocol",
    "log_config",
    "stop_when_supervisor_dies",
]

logger = logging.getLogger("app.serving")

#: Seconds a stopping worker gets beyond its graceful shutdown before it exits regardless.
EXIT_MARGIN_SECONDS = 5


class BoundedHeadH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline on each request's head: from the connection's
    opening, or from the first byte of a later head (between requests uvicorn's own keep-alive
    timeout applies). When it passes the connection is closed without an answer, as uvicorn
    closes an idle one; a client that had sent part of a head is named in one info line."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_read_timeout: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_read_timeout = header_read_timeout
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
        """uvicorn's answer to a request h11 could not parse, in the API's error envelope (with
        why, when it is the head's size) rather than as plain text; the connection then closes."""
        pending, _closed = self.conn.trailing_data
        limit = self.config.h11_max_incomplete_event_size
        if limit is not None and len(pending) > limit:
            detail = f"Request line and headers larger than the limit of {limit:,} bytes"
        else:
            detail = "Malformed HTTP request"
        body = json.dumps(
            {"code": 400, "detail": detail, "type": ERROR_TYPES[400], "errors": []}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

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
        BoundedHeadH11Protocol, header_read_timeout=settings.header_read_timeout_seconds
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
