"""Fixtures for the end-to-end tests: the real API server as a subprocess, and the real ``dn``.

Only the standard library is imported at the top, so that the checker tests beside these (which
need neither package installed) still collect; the server is started by the API package's
``app.testing``, imported where it is used, as the API's own tests and the benchmarks start it.
The e2e tests themselves need both packages installed (``nox -s integration``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "DnRun",
    "JsonServer",
    "LiveAPI",
    "console_script",
    "postgres_schema",
    "running_api",
]


def console_script(name: str) -> str:
    """The installed console script ``name`` (``dn``, ``dreadnode-api``), or a test failure
    that says how to install it."""
    try:
        from app.testing import console_script as find
    except ImportError:
        pytest.fail("the API package is not installed; run these tests with `nox -s integration`")
    try:
        return find(name)
    except FileNotFoundError as err:
        pytest.fail(f"{err}; run these tests with `nox -s integration`")


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
        from app.testing import create_token

        return create_token(self.env, "--name", name, *extra)


@contextmanager
def running_api(workdir: Path, **settings: str) -> Iterator[LiveAPI]:
    """Create a token with ``python -m app tokens create``, then serve on a free port.

    ``settings`` are extra environment variables for the server (``DREADNODE_API_...``); none
    of this process's own ``DREADNODE`` settings leak in.
    """
    from app.testing import LiveServer, create_token

    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "api.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE")}
    env.update({"DATABASE_URL": f"sqlite:///{database}", **settings})
    token = create_token(env, "--name", "e2e")
    with LiveServer(env, workdir / "server.log", inherit_environment=False) as server:
        yield LiveAPI(server.url, token, database, env)


@contextmanager
def postgres_schema(base: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one server, as a URL whose connections use it; dropped
    afterwards (test runs may share the database)."""
    import secrets

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    """One real API server for the whole session, on a temporary SQLite file."""
    with running_api(tmp_path_factory.mktemp("api")) as api:
        yield api


DnRun = Callable[..., subprocess.CompletedProcess[str]]

#: The grader RL jobs in these tests declare: the completion's last line is the row's answer.
GRADER: dict[str, Any] = {"type": "string_check", "field": "answer", "extract": "last_line"}


@pytest.fixture(scope="session")
def grader_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``GRADER`` in a file, for ``dn train rl --grader``."""
    path = tmp_path_factory.mktemp("grader") / "grader.json"
    path.write_text(json.dumps(GRADER), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def dn(live_api: LiveAPI) -> DnRun:
    """Run the installed ``dn`` against ``live_api`` (override with ``env=``)."""
    executable = console_script("dn")

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


class JsonServer:
    """What a ``json_server`` answers next: a status, a JSON body, after an optional delay; and
    what it was asked (path and ``X-API-Key`` of each request, and each ``User-Agent``)."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = None
        self.delay = 0.0
        self.requests: list[tuple[str, str | None]] = []
        self.user_agents: list[str] = []


@pytest.fixture
def json_server() -> Iterator[tuple[JsonServer, str]]:
    """A real HTTP server on loopback standing in for one of Tinker's (its service, its price
    list), and its root URL; every GET gets what its ``JsonServer`` says."""
    with serving_json(JsonServer()) as served:
        yield served


@contextmanager
def serving_json(state: JsonServer) -> Iterator[tuple[JsonServer, str]]:
    """``json_server`` for any scope: serve ``state`` on loopback until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("X-API-Key")))
            state.user_agents.append(self.headers.get("User-Agent", ""))
            time.sleep(state.delay)
            payload = json.dumps(state.body).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            try:
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first: a timeout test wants exactly that

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
