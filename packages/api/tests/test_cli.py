"""The operator command line: ``main([...])`` in process, and the installed console script."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from app.cli import main
from app.core.config import Settings
from app.core.db import Database, migrate
from app.schemas import JobPublic
from app.storage.jobs import get_job
from app.testing import console_script

from .conftest import free_port

PORT_RANGE = "must be a port from 1 to 65535"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_tokens_create_prints_token_last_and_stores_only_its_hash(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tokens", "create", "--name", "ci", "--owner", "team", "--read-only"])
    out = capsys.readouterr().out
    token = out.splitlines()[-1]
    assert code == 0
    assert token.startswith("dn_")
    assert len(token) > 40
    assert out.splitlines()[0] == f"database: {tmp_path / 'cli.db'}"
    assert "read-only" in out.splitlines()[1]
    engine = create_engine(database)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT name, owner, prefix, token_hash, read_only FROM api_tokens")
        ).one()
        dump = "\n".join(line for line in connection.connection.iterdump())
    engine.dispose()
    assert (row.name, row.owner, bool(row.read_only)) == ("ci", "team", True)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix in token
    assert token not in dump


def test_tokens_create_twice_gives_different_tokens(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "create", "--name", "a"]) == 0
    first = capsys.readouterr().out.splitlines()[-1]
    assert main(["tokens", "create", "--name", "b"]) == 0
    second = capsys.readouterr().out.splitlines()[-1]
    assert first != second


def test_tokens_create_duplicate_active_name_exits_1_until_revoked(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "create", "--name", "ci"]) == 0
    capsys.readouterr()
    assert main(["tokens", "create", "--name", " ci ", "--owner", "other"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "dreadnode-api: error: an active token named 'ci' already exists; revoke it first "
        "(dreadnode-api tokens revoke ci) or choose another --name\n"
    )
    assert "dn_" not in captured.out
    assert main(["tokens", "revoke", "ci"]) == 0
    assert main(["tokens", "create", "--name", "ci"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("dn_")
    engine = create_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, revoked_at IS NULL AS active FROM api_tokens ORDER BY id")
        ).all()
    engine.dispose()
    assert [(row.name, bool(row.active)) for row in rows] == [("ci", False), ("ci", True)]


def test_tokens_create_over_long_name_exits_1(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "create", "--name", "n" * 201]) == 1
    assert capsys.readouterr().err == (
        "dreadnode-api: error: --name must be at most 200 characters\n"
    )


def test_migrate_applies_migrations_idempotently(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.count("migrations applied") == 2
    engine = create_engine(database)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        tables = {
            name
            for (name,) in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
            )
        }
    engine.dispose()
    head = ScriptDirectory(str(files("app") / "migrations")).get_current_head()
    assert version == head
    assert {
        "api_tokens", "datasets", "jobs", "job_events", "job_checkpoints", "workers",
        "idempotency_keys",
    } <= tables  # fmt: skip


@pytest.mark.parametrize(
    "argv", [[], ["tokens", "create"], ["serve", "--port", "x"], ["frobnicate"]]
)
def test_main_usage_error_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve", "--port", "99999"], f"argument --port: {PORT_RANGE}, got 99999"),
        (["serve", "--port", "0"], f"argument --port: {PORT_RANGE}, got 0"),
        (["serve", "--port", "-1"], f"argument --port: {PORT_RANGE}, got -1"),
        (["serve", "--workers", "0"], "argument --workers: must be at least 1, got 0"),
        (["serve", "--workers", "two"], "argument --workers: invalid integer: 'two'"),
    ],
)
def test_serve_rejects_out_of_range_port_or_workers_as_usage_error(
    database: str, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:")
    assert err.splitlines()[-1] == f"dreadnode-api serve: error: {expected}"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "url"),
    [
        (["migrate"], "nonsense://"),
        (["tokens", "create", "--name", "x"], "sqlite:///{missing}/db.sqlite"),
        (["serve", "--port", "1"], "sqlite:///{missing}/db.sqlite"),
        (["tokens", "create", "--name", " "], "sqlite:///{tmp}/ok.db"),
        (["tokens", "list"], "sqlite:///{missing}/db.sqlite"),
        (["tokens", "revoke", "nobody"], "sqlite:///{tmp}/ok.db"),
    ],
    ids=[
        "bad-url",
        "unreachable-token",
        "unreachable-serve",
        "blank-name",
        "unreachable-list",
        "revoke-unknown",
    ],
)
def test_main_failure_is_one_line_without_traceback(
    argv: list[str],
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url.format(missing=tmp_path / "missing", tmp=tmp_path))
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("dreadnode-api: error: ")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("RATE_LIMIT_PER_MINUTE", "-5", "rate_limit_per_minute: "),
        ("CATALOG_DAY", "2026-13-01", "catalog_day: Value error, must be a date like 2026-06-01"),
        ("CATALOG_DAY", "2026-02-30", "catalog_day: Value error, must be a date like 2026-06-01"),
        ("CATALOG_DAY", "1780000000", "catalog_day: Value error, must be a date like 2026-06-01"),
        ("CATALOG_DAY", "20260601", "catalog_day: Value error, must be a date like 2026-06-01"),
        # uvicorn would take either for a host name no peer has, and believe no proxy at all.
        ("FORWARDED_ALLOW_IPS", "proxy.internal", "forwarded_allow_ips: Value error, must be IP"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.1/8", "forwarded_allow_ips: Value error, must be IP"),
    ],
)
@pytest.mark.usefixtures("database")
def test_main_rejects_invalid_setting(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(f"DREADNODE_API_{name}", value)
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"dreadnode-api: error: invalid setting {expected}")
    assert err.count("\n") == 1


@pytest.mark.parametrize("value", ["2026-06-01", " 2026-06-01 ", ""])
def test_settings_read_catalog_day_as_calendar_day(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DREADNODE_API_CATALOG_DAY", value)
    assert Settings().catalog_day == (date(2026, 6, 1) if value else None)


def test_migrate_keeps_jobs_stored_before_effective_hyperparameters(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate(database, "0001")
    engine = create_engine(database)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, owner, name, base_model, method, algorithm, dataset, tags,"
                " hyperparameters, status, created_at, updated_at) VALUES ('old', 'alice', NULL,"
                " 'Qwen/Qwen3-8B', 'sft', 'sft', 'd', '[]', '{\"lora_rank\": 16}', 'queued',"
                " '2026-11-22 22:00:00.000000', '2026-11-22 22:00:00.000000')"
            )
        )
    engine.dispose()
    assert main(["migrate"]) == 0
    stored = Database(database)
    try:
        with stored.session() as session:
            job = get_job(session, owner="alice", job_id="old")
            assert job is not None
            public = JobPublic.model_validate(job)
    finally:
        stored.dispose()
    assert public.hyperparameters == {"lora_rank": 16}
    assert (public.defaulted_hyperparameters, public.adapter_parameters) == ([], None)


def test_console_script_and_module_run_the_same_command(database: str) -> None:
    executable = console_script("dreadnode-api")
    for name, command in (("script", [executable]), ("module", [sys.executable, "-m", "app"])):
        result = subprocess.run(
            [*command, "tokens", "create", "--name", name],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1].startswith("dn_")


def _serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m app serve ARGS``, bounded in time: a wrong answer here would be serving."""
    return subprocess.run(
        [sys.executable, "-m", "app", "serve", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("check", [False, True], ids=["serve", "serve-check"])
def test_serve_on_busy_port_exits_1_before_migrating(
    busy_port: int, check: bool, tmp_path: Path
) -> None:
    database = tmp_path / "never.db"
    result = _serve(
        "--port",
        str(busy_port),
        *(["--check"] if check else []),
        env={"DATABASE_URL": f"sqlite:///{database}"},
    )
    assert result.returncode == 1
    assert result.stderr == f"dreadnode-api: error: port {busy_port} on 127.0.0.1 is in use\n"
    assert result.stdout == ""
    assert not database.exists()


def test_serve_check_on_free_port_prints_the_url_last_and_touches_nothing(
    tmp_path: Path,
) -> None:
    port = free_port()
    database = tmp_path / "untouched.db"
    result = _serve(
        "--check",
        "--host",
        "127.0.0.1",
        "--port",
        "8000",
        "--port",
        str(port),  # the last --port wins, as it does for serve itself
        env={"DATABASE_URL": f"sqlite:///{database}"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"database: {database}",
        f"port {port} on 127.0.0.1 is free; the API would be at:",
        f"http://127.0.0.1:{port}/api/v1",
    ]
    assert not database.exists()
    with socket.socket() as again:  # the check let the port go
        again.bind(("127.0.0.1", port))


def test_serve_on_unbindable_address_exits_1_in_one_line(tmp_path: Path) -> None:
    result = _serve(
        "--host", "192.0.2.1", "--port", str(free_port()), env={"DATABASE_URL": "sqlite://"}
    )
    assert result.returncode == 1
    assert result.stderr.startswith("dreadnode-api: error: cannot listen on port ")
    assert result.stderr.count("\n") == 1
