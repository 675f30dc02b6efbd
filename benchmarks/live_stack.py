"""What the worker benchmarks share: an API, a worker and a local Tinker engine on loopback, and
how to read a finished job's step times.

A local engine allows ``max_lora_adapters - 1`` training clients in its lifetime, so each
benchmark that trains starts its own stack (``running_stack``).
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.testing import LiveServer, console_script, create_token

__all__ = ["Stack", "client_for", "median_step_gap", "running_stack", "wait_finished"]


@dataclass(frozen=True)
class Stack:
    """A running API (``url``, ``token``), its worker, the engine they train on, and a scratch
    directory."""

    directory: Path
    url: str
    token: str
    engine: Any


def client_for(url: str, token: str) -> Any:
    from dreadnode.client import Client

    return Client(server_url=url, api_key=token)


def wait_finished(client: Any, job_id: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get_job(job_id)
        if job.status in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not finish in {timeout:g} s")


def median_step_gap(client: Any, job_id: str) -> float:
    """The median time between a completed job's ``training_step`` events, the first gap left
    out (it may still compile new shapes)."""
    events = client.list_job_events(job_id).events
    stamps = [e.created_at for e in events if e.type == "training_step"]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    return statistics.median(gaps[1:])


@contextmanager
def running_stack(prefix: str, *, model_dir: Path | None = None) -> Iterator[Stack]:
    """An API on a fresh SQLite file, one worker, and an engine of 4 adapter slots (3 training
    clients) on ``model_dir`` (default: the stand-in Qwen3); all stopped at the end."""
    from app.localtinker import LocalTinker

    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        directory = Path(scratch)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE")}
        env.update(
            DATABASE_URL=f"sqlite:///{directory / 'api.sqlite3'}",
            DREADNODE_API_RATE_LIMIT_PER_MINUTE="0",
        )
        token = create_token(env, "--name", "bench")
        engine = LocalTinker(
            directory / "tinker",
            model_dir=model_dir,
            backend_config={"max_lora_adapters": 4, "max_lora_rank": 8},
        )
        with engine, LiveServer(env, directory / "server.log") as server:
            with (directory / "worker.log").open("wb") as log:
                worker = subprocess.Popen(
                    [console_script("dreadnode-api"), "worker", "--id", "bench"],
                    env={**env, **engine.client_env()},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                yield Stack(directory, server.url, token, engine)
            finally:
                worker.terminate()
                worker.wait(timeout=30)
