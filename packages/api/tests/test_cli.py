"""The operator command line: ``main([...])`` in process, and the installed console script."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.cli import main
from app.core.config import Settings
from app.core.db import Database, migrate
from app.schemas import JobPublic
from app.storage.jobs import get_job

PORT_RANGE = "must be a port from 1 to 65535"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_tokens_create_prints_token_last_and_stores_only_its_hash(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tokens", "create", "--name", "ci", "--owner", "team", "--read-only"])
    out = capsys.readouterr().out
    token = out.splitlines()[-1]
    assert code == 0
    assert token.startswith("dn_")
    assert len(token) > 40
    assert "read-only" in out.splitlines()[0]
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
    assert main(["tokens", "create", "--name", "a"]) == 0
    second = capsys.readouterr().out.splitlines()[-1]
    assert first != second


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
    assert version == "0002"
    assert {"api_tokens", "jobs", "job_events", "idempotency_keys"} <= tables


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
    ],
    ids=["bad-url", "unreachable-token", "unreachable-serve", "blank-name"],
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
    script = Path(sys.executable).with_name("dreadnode-api")
    executable = str(script) if script.exists() else shutil.which("dreadnode-api")
    assert executable is not None, "the dreadnode-api console script is not installed"
    for command in ([executable], [sys.executable, "-m", "app"]):
        result = subprocess.run(
            [*command, "tokens", "create", "--name", "script"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1].startswith("dn_")
