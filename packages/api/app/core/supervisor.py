"""``serve --workers N``'s supervisor: uvicorn's own, except that SIGTERM or SIGINT stops a restart
of the workers at once instead of waiting for it to finish.

uvicorn's supervisor queues a signal and acts on it in its main loop, between its chores. One
chore is the restart SIGHUP asks for, which replaces the workers one by one, each new one booted
before the old one goes: a SIGTERM during it waits until every worker has been replaced, new
ones still being started after it (14 s from SIGTERM to the last worker's exit, measured with
four workers on a loaded two-core host). That is past the graceful-shutdown bound the workers are
given, and with more workers past an orchestrator's patience, which then SIGKILLs the
supervisor and leaves its workers running until each notices
(``app.core.serving.stop_when_supervisor_dies``).

The restart does check ``should_exit`` between its steps (every second while a new worker
boots), so setting it at once is enough; the signal handler cannot do so itself: it runs on the
main thread wherever that thread is, perhaps inside the event's own lock. It writes a byte to a
pipe instead, which takes no lock, and a thread waiting on the pipe sets ``should_exit``. The
new worker not yet serving is killed (as uvicorn does when one fails to boot) and uvicorn's loop
then stops and joins the workers as before.

What this cannot shorten: after a worker dies, uvicorn pings its replacement until it answers,
which it does once it has imported the app, and a stop waits for that (seconds, at most the
healthcheck timeout).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from socket import socket
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import Config
from uvicorn.supervisors.multiprocess import Multiprocess

__all__ = ["Supervisor", "run"]

logger = logging.getLogger("uvicorn.error")

#: The signals that stop the server (SIGBREAK is Windows' Ctrl-Break).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name)
)


class Supervisor(Multiprocess):
    """uvicorn's multiprocess supervisor, which a stop signal reaches even mid-restart."""

    def __init__(self, config: Config, sockets: list[socket]) -> None:
        super().__init__(config, sockets)  # installs uvicorn's queueing handlers, then ours
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)  # a flood of signals must not block the handler
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop_signal)
        threading.Thread(target=self._stop_on_signal, name="supervisor-stop", daemon=True).start()

    def _on_stop_signal(self, sig: int, _frame: FrameType | None) -> None:
        """Wake the stopping thread; nothing else, since the main thread may hold any lock."""
        with contextlib.suppress(BlockingIOError):  # the pipe is full: it is awake already
            os.write(self._wake_write, bytes([sig]))

    def _stop_on_signal(self) -> None:
        """Set ``should_exit`` on the first stop signal: uvicorn's loop does the rest."""
        sig = os.read(self._wake_read, 1)[0]
        logger.info("Received %s, exiting.", signal.Signals(sig).name)
        self.should_exit.set()


def run(app: str, **options: Any) -> None:
    """``uvicorn.run(app, **options)``, with ``Supervisor`` in charge of several workers (uvicorn's
    own on Windows, whose Python 3.11 cannot make a pipe non-blocking)."""
    if options.get("workers", 1) <= 1 or os.name == "nt":
        uvicorn.run(app, **options)
        return
    config = Config(app, **options)
    Supervisor(config, sockets=[config.bind_socket()]).run()
