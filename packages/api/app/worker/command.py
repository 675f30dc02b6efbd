"""``dreadnode-api worker``: checks what a worker needs, then serves until SIGTERM or Ctrl-C.

Each missing piece is one line naming what to set or install, never a traceback: the Tinker key
(``TINKER_API_KEY``, which starts with ``tml-``), and the ``worker`` extra's packages.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
from types import FrameType

from app.core.config import Settings

__all__ = ["WORKER_PACKAGES", "run_worker"]

#: What the ``worker`` extra brings, by import name.
WORKER_PACKAGES = ("dbos", "tinker", "tml_renderers")


def _fail(message: str) -> int:
    sys.stderr.write(f"dreadnode-api: error: {message}\n")
    return 1


def run_worker(settings: Settings, *, worker_id: str | None, concurrency: int) -> int:
    """Serve as a training worker; the exit code."""
    key = os.environ.get("TINKER_API_KEY", "").strip()
    if not key:
        return _fail(
            "the worker trains on Tinker: set TINKER_API_KEY (a key starting with tml-), and "
            "TINKER_BASE_URL for a Tinker-compatible service other than Tinker's own"
        )
    if not key.startswith("tml-"):
        return _fail("TINKER_API_KEY must start with tml- (Tinker's keys do)")
    missing = [name for name in WORKER_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return _fail(
            f"the worker needs {', '.join(missing)}: install the worker extra, "
            "pip install 'dreadnode-api[worker]'"
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from app.worker.service import WorkerService, make_context

    base_url = os.environ.get("TINKER_BASE_URL", "").strip() or None
    name = worker_id or socket.gethostname()
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("app.worker").info("stopping on signal %d", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    ctx = make_context(settings, worker_id=name, base_url=base_url, api_key=key)
    sys.stdout.write(
        f"worker:   {name} (concurrency {concurrency}), Tinker at {base_url or 'Tinker'}\n"
    )
    sys.stdout.flush()
    try:
        WorkerService(ctx=ctx, concurrency=concurrency, stopping=stopping).run()
    except Exception as err:
        # The log has the traceback; the operator's terminal gets one line.
        logging.getLogger("app.worker").debug("the worker stopped", exc_info=True)
        return _fail(f"the worker stopped: {type(err).__name__}: {err}".splitlines()[0])
    # A job still running resumes from its last checkpoint when this worker restarts under the
    # same id, or when another worker finds its heartbeat gone; nothing is lost by leaving now.
    os._exit(0)
