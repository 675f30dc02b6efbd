"""Fixtures for the end-to-end tests: the real API server as a subprocess, and the real ``dn``.

Only the standard library is imported here, so that the checker tests beside these (which need
neither package installed) still collect. The e2e tests themselves need both packages installed
(``nox -s integration``).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["DnRun", "LiveAPI", "free_port", "running_api"]

STARTUP_SECONDS = 30


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _executable(name: str) -> str:
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed; run these tests with `nox -s integration`")
    return found


@dataclass(frozen=True)
class LiveAPI:
    """A running API server: its root URL, a token for owner ``e2e``, and its SQLite file."""

    url: str
    token: str
    database: Path
    env: dict[str, str]

    def count_rows(self, table: str) -> int:
        """Rows in ``table``, read straight from the database file, bypassing the API."""
        with closing(sqlite3.connect(self.database)) as connection:
            (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return int(count)

    def create_token(self, name: str, *extra: str) -> str:
        """A new token made with the operator command, as an operator would."""
        created = subprocess.run(
            [sys.executable, "-m", "app", "tokens", "create", "--name", name, *extra],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        return created.stdout.strip().splitlines()[-1]


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the API server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the API server did not answer /health in {STARTUP_SECONDS} s:\n{log.read_text()}")


@contextmanager
def running_api(workdir: Path, **settings: str) -> Iterator[LiveAPI]:
    """Create a token with ``python -m app tokens create``, then serve on a free port.

    ``settings`` are extra environment variables for the server (``DREADNODE_API_...``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "api.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE")}
    env.update({"DATABASE_URL": f"sqlite:///{database}", **settings})
    port = free_port()
    operator = LiveAPI(url=f"http://127.0.0.1:{port}", token="", database=database, env=env)
    api = LiveAPI(operator.url, operator.create_token("e2e"), database, env)
    log = workdir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            _wait_for_health(api.url, process, log)
            yield api
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    """One real API server for the whole session, on a temporary SQLite file."""
    with running_api(tmp_path_factory.mktemp("api")) as api:
        yield api


DnRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def dn(live_api: LiveAPI) -> DnRun:
    """Run the installed ``dn`` against ``live_api`` (override with ``env=``)."""
    executable = _executable("dn")

    def run(
        *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE")}
        full_env["DREADNODE_SERVER_URL"] = live_api.url
        full_env["DREADNODE_API_KEY"] = live_api.token
        full_env.update(env or {})
        full_env = {k: v for k, v in full_env.items() if v != ""}
        return subprocess.run(
            [executable, *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=stdin,
            timeout=60,
            check=False,
        )

    return run
