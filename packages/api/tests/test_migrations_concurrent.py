"""A fleet's first deploy: many processes migrate one fresh database at once, and all succeed.

Before the migration lock, two processes racing on a fresh database failed in about half the
runs (PostgreSQL: a duplicate ``pg_type`` key; SQLite: "table api_tokens already exists"), so
each test runs several rounds of six processes. The lock's bounded wait is tested too: a lock
held past it is one line and exit 1, in seconds, with nothing changed.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib.resources import files
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text

from app.core.db import _lock_postgres_migrations
from app.testing import STARTUP_SECONDS, STOP_SECONDS

from .conftest import BACKENDS, app_command, free_port, fresh_database

ROUNDS = 3
PROCESSES = 6
SERVERS = 3
#: How long a process of a round may take, migrations and interpreter start-up included.
PROCESS_SECONDS = 90
TABLES = {"alembic_version", "api_tokens", "jobs", "job_events", "idempotency_keys"}


def _head() -> str:
    script = ScriptDirectory(str(files("app") / "migrations"))
    head = script.get_current_head()
    assert head is not None
    return head


def _assert_at_head(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            assert versions == [(_head(),)]
            assert set(inspect(connection).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def _start(arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # No price list, as for every test server: its fetch is not what these processes test.
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "app", *arguments],
            env={**os.environ, "DREADNODE_API_PRICE_LIST_URL": "", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def _stopped_at_exit(processes: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Stop every process started here, whatever the test's outcome."""
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_many_processes_at_once_on_fresh_database_all_succeed(
    backend: str, tmp_path: Path
) -> None:
    for round_ in range(ROUNDS):
        directory = tmp_path / f"round-{round_}"
        directory.mkdir()
        with fresh_database(backend, directory) as url:
            env = {"DATABASE_URL": url}
            logs = [directory / f"migrate-{n}.log" for n in range(PROCESSES)]
            processes = [_start(["migrate"], env, log) for log in logs]
            with _stopped_at_exit(processes):
                codes = [process.wait(timeout=PROCESS_SECONDS) for process in processes]
            outputs = [log.read_text() for log in logs]
            assert codes == [0] * PROCESSES, "\n".join(outputs)
            for output in outputs:
                assert output.splitlines()[-1] == "migrations applied", output
            _assert_at_head(url)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).json()["database"] == "ok"
    except (httpx.HTTPError, ValueError, KeyError):
        return False


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_with_workers_several_at_once_on_fresh_database_all_serve(
    backend: str, tmp_path: Path
) -> None:
    with fresh_database(backend, tmp_path) as url:
        env = {"DATABASE_URL": url, "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0"}
        ports = [free_port() for _ in range(SERVERS)]
        logs = [tmp_path / f"serve-{port}.log" for port in ports]
        processes = [
            _start(["serve", "--port", str(port), "--workers", "2", "--no-access-log"], env, log)
            for port, log in zip(ports, logs, strict=True)
        ]
        with _stopped_at_exit(processes):
            waiting = {f"http://127.0.0.1:{port}" for port in ports}
            deadline = time.monotonic() + STARTUP_SECONDS * 2
            while waiting and time.monotonic() < deadline:
                exited = [p for p in processes if p.poll() is not None]
                assert not exited, "\n".join(log.read_text() for log in logs)
                waiting = {server for server in waiting if not _healthy(server)}
                time.sleep(0.2)
            assert not waiting, "\n".join(log.read_text() for log in logs)
        _assert_at_head(url)
        for log in logs:
            assert "error" not in log.read_text().lower(), log.read_text()


@contextmanager
def _migration_lock_held(backend: str, url: str) -> Iterator[None]:
    """Hold what a migrating process holds: SQLite's exclusive lock, or the PostgreSQL schema's
    advisory migration lock, until the block ends."""
    if backend == "sqlite":
        path = make_url(url).database
        assert path is not None
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    engine = create_engine(url)
    try:
        with ExitStack() as stack:
            connection = stack.enter_context(engine.begin())
            _lock_postgres_migrations(connection, 60)
            yield
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_while_another_holds_the_lock_gives_up_in_one_line(
    backend: str, tmp_path: Path
) -> None:
    with fresh_database(backend, tmp_path) as url:
        env = {"DATABASE_URL": url, "DREADNODE_API_MIGRATION_LOCK_TIMEOUT_SECONDS": "1"}
        with _migration_lock_held(backend, url):
            began = time.monotonic()
            refused = app_command("migrate", env=env, timeout=30)
            elapsed = time.monotonic() - began
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert refused.stderr == (
            "dreadnode-api: error: gave up migrating after waiting 1 s for a database lock: "
            "another process is migrating the database, or holds a table the migration alters "
            "(DREADNODE_API_MIGRATION_LOCK_TIMEOUT_SECONDS sets the wait)\n"
        )
        assert elapsed < 10  # the wait, plus an interpreter's start-up
        engine = create_engine(url)
        try:
            assert "alembic_version" not in inspect(engine).get_table_names()  # nothing changed
        finally:
            engine.dispose()
        migrated = app_command("migrate", env=env)  # the lock released, the same command works
        assert migrated.returncode == 0, migrated.stderr
        _assert_at_head(url)


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_that_fails_midway_leaves_nothing_half_built(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = create_engine(url)
        try:
            with engine.begin() as connection:  # in the way of the first revision's third table
                connection.execute(text("CREATE TABLE jobs (unrelated INTEGER)"))
            failed = app_command("migrate", env={"DATABASE_URL": url})
            assert failed.returncode == 1
            assert failed.stderr.startswith("dreadnode-api: error: database error: ")
            assert failed.stderr.count("\n") == 1
            # api_tokens, created before jobs failed, went with the rest: a retry starts clean.
            assert set(inspect(engine).get_table_names()) == {"jobs"}
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE jobs"))
        finally:
            engine.dispose()
        retried = app_command("migrate", env={"DATABASE_URL": url})
        assert retried.returncode == 0, retried.stderr
        _assert_at_head(url)
