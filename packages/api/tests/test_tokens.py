"""Operating tokens: where the database is, ``tokens list`` and ``tokens revoke``, unique active
names (and migration 0003 for databases that already hold duplicates), and when a token was last
used, recorded without a write per request."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.cli import main
from app.core.config import Settings, default_database_path
from app.core.db import Database, migrate
from app.core.security import NewToken
from app.models import ApiToken
from app.storage.tokens import DuplicateTokenNameError, TokenReader, create_token

from .conftest import BACKENDS, Api, free_port, fresh_database
from .conftest import create_token as create_token_with_cli

TOKEN_KEYS = {"name", "owner", "prefix", "read_only", "created_at", "last_used_at", "revoked_at"}


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "tokens.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


def _created(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["tokens", "create", *argv]) == 0
    return capsys.readouterr().out.splitlines()[-1]


def _listed(capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, object]:
    assert main(["tokens", "list", "--json", *flags]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_tokens_list_shows_every_active_token_but_never_a_secret(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = [
        _created(["--name", "ci", "--owner", "team", "--read-only"], capsys),
        _created(["--name", "dev"], capsys),
    ]
    assert main(["tokens", "list"]) == 0
    table_out = capsys.readouterr().out
    document = _listed(capsys)
    for shown in (table_out, json.dumps(document)):
        for secret in secrets:
            assert secret not in shown
            assert secret.rpartition("_")[2] not in shown
            assert hashlib.sha256(secret.encode()).hexdigest() not in shown
    lines = table_out.splitlines()
    assert lines[0] == f"database: {database}"
    assert lines[1].split() == ["NAME", "OWNER", "ACCESS", "TOKEN", "CREATED", "LAST", "USED"]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert lines[2].split()[:5] == ["ci", "team", "read-only", f"{secrets[0][:15]}_...", today]
    assert lines[2].split()[-1] == "never"
    assert lines[3].split()[:4] == ["dev", "dev", "read-write", f"{secrets[1][:15]}_..."]
    assert len(lines) == 4
    assert document["database"] == str(database)
    tokens = document["tokens"]
    assert isinstance(tokens, list)
    assert [set(token) for token in tokens] == [TOKEN_KEYS, TOKEN_KEYS]
    first = tokens[0]
    assert (first["name"], first["owner"], first["read_only"]) == ("ci", "team", True)
    assert first["prefix"] == secrets[0][3:15]
    assert (first["last_used_at"], first["revoked_at"]) == (None, None)
    created = datetime.fromisoformat(first["created_at"])
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


def test_tokens_list_with_no_tokens_says_how_to_make_one(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "no active tokens; create one with: dreadnode-api tokens create --name NAME"
    )
    assert _listed(capsys) == {"database": str(database), "tokens": []}


def test_tokens_revoke_hides_it_from_list_but_all_shows_when(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = _created(["--name", "ci", "--owner", "team"], capsys)
    _created(["--name", "dev"], capsys)
    assert main(["tokens", "revoke", "ci"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"database: {database}",
        f"revoked token 'ci' of owner 'team' ({secret[:15]}_...); every worker refuses it from "
        "its next request",
    ]
    active = _listed(capsys)["tokens"]
    assert isinstance(active, list)
    assert [token["name"] for token in active] == ["dev"]
    every = _listed(capsys, "--all")["tokens"]
    assert isinstance(every, list)
    assert [(token["name"], token["revoked_at"] is None) for token in every] == [
        ("ci", False),
        ("dev", True),
    ]
    assert main(["tokens", "list", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-1] == "REVOKED"
    assert lines[2].endswith(" UTC")
    assert lines[3].split()[-1] == "-"
    stored = Database(f"sqlite:///{database}")
    try:
        assert TokenReader(stored).authenticate(secret) is None
    finally:
        stored.dispose()


def test_tokens_revoke_unknown_or_already_revoked_name_exits_1_in_one_line(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _created(["--name", "ci"], capsys)
    assert main(["tokens", "revoke", "ci"]) == 0
    capsys.readouterr()
    for name in ("ci", "nobody"):
        assert main(["tokens", "revoke", name]) == 1
        assert capsys.readouterr().err == (
            f"dreadnode-api: error: no active token named {name!r} (see: dreadnode-api tokens "
            "list)\n"
        )


def _operator_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an operator who set no DATABASE_URL, with a home of their own."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "XDG_DATA_HOME")}
    return {**env, "HOME": str(tmp_path / "home"), **extra}


def _in(directory: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_default_database_is_one_file_whatever_the_current_directory(tmp_path: Path) -> None:
    data_home = tmp_path / "data"
    env = _operator_env(tmp_path, XDG_DATA_HOME=str(data_home))
    expected = data_home / "dreadnode-api" / "dreadnode-api.db"
    created = _in(tmp_path / "one", env, "tokens", "create", "--name", "ci")
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[0] == f"database: {expected}"
    listed = _in(tmp_path / "two", env, "tokens", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["database"] == str(expected)
    assert [token["name"] for token in document["tokens"]] == ["ci"]
    assert expected.is_file()
    assert (expected.parent.stat().st_mode & 0o777) == 0o700
    assert not list((tmp_path / "one").iterdir())
    assert not list((tmp_path / "two").iterdir())


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG rules are for Unix")
@pytest.mark.parametrize("xdg", [None, "", "relative/data"], ids=["unset", "empty", "relative"])
def test_default_database_without_absolute_xdg_data_home_is_in_local_share(
    xdg: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    expected = tmp_path / ".local" / "share" / "dreadnode-api" / "dreadnode-api.db"
    assert default_database_path() == expected
    assert Settings().database_url == f"sqlite:///{expected}"


def test_explicit_database_url_in_missing_directory_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "api.db"
    env = _operator_env(tmp_path, DATABASE_URL=f"sqlite:///{missing}")
    result = _in(tmp_path / "cwd", env, "tokens", "list")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"database: {missing}"]
    assert result.stderr.startswith("dreadnode-api: error: database error: ")
    assert result.stderr.count("\n") == 1
    assert not missing.parent.exists()


def test_database_url_password_is_printed_masked(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://operator:hunter2@127.0.0.1:{free_port()}/api"  # nobody listens
    masked = url.replace(":hunter2@", ":***@")
    env = _operator_env(tmp_path, DATABASE_URL=url)
    checked = _in(tmp_path, env, "serve", "--check", "--port", str(free_port()))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[0] == f"database: {masked}"
    listed = _in(tmp_path, env, "tokens", "list")
    assert listed.returncode == 1
    assert listed.stdout.splitlines() == [f"database: {masked}"]
    assert listed.stderr.startswith("dreadnode-api: error: database error: ")
    assert listed.stderr.count("\n") == 1
    assert "hunter2" not in checked.stdout + checked.stderr + listed.stdout + listed.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0003_keeps_duplicate_named_tokens_working_under_new_names(
    backend: str, tmp_path: Path
) -> None:
    with fresh_database(backend, tmp_path) as url:
        migrate(url, "0002")
        old = [NewToken() for _ in range(3)]
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                for token, name in zip(old, ["ci", "ci", "ci-2"], strict=True):
                    connection.execute(
                        insert(ApiToken.__table__).values(
                            name=name,
                            owner="team",
                            prefix=token.prefix,
                            token_hash=token.token_hash,
                            read_only=False,
                            created_at=datetime.now(UTC),
                        )
                    )
            migrate(url)
            stored = Database(url)
            try:
                reader = TokenReader(stored)
                found = [reader.authenticate(token.token) for token in old]
                assert [row.name if row else None for row in found] == ["ci", "ci-2-2", "ci-2"]
                with stored.session() as session, pytest.raises(DuplicateTokenNameError):
                    create_token(session, name="ci-2-2", owner=None, read_only=False)
            finally:
                stored.dispose()
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(
                    insert(ApiToken.__table__).values(
                        name="ci",
                        owner="x",
                        prefix=NewToken().prefix,
                        token_hash="0" * 64,
                        read_only=False,
                        created_at=datetime.now(UTC),
                    )
                )
        finally:
            engine.dispose()


def _last_used(api: Api, name: str) -> datetime | None:
    with api.engine.connect() as connection:
        moment = connection.scalar(
            select(ApiToken.last_used_at).where(
                ApiToken.name == name, ApiToken.revoked_at.is_(None)
            )
        )
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_last_used_is_recorded_at_most_once_a_minute_per_token(api: Api) -> None:
    name = f"last-used-{api.backend}-{time.monotonic_ns()}"
    secret = create_token_with_cli(api.env, "--name", name)
    assert _last_used(api, name) is None
    before = datetime.now(UTC) - timedelta(seconds=1)
    with api.client(secret) as client:
        assert client.get("/training/catalog", params={"limit": 1}).status_code == 200
        first = _last_used(api, name)
        assert first is not None
        assert before <= first <= datetime.now(UTC) + timedelta(seconds=1)
        for _ in range(10):
            assert client.get("/training/jobs").status_code == 200
        assert _last_used(api, name) == first  # no write per request
        with api.engine.begin() as connection:  # as if the last use were two minutes ago
            connection.execute(
                update(ApiToken)
                .where(ApiToken.name == name)
                .values(last_used_at=datetime.now(UTC) - timedelta(minutes=2))
            )
        refreshed = datetime.now(UTC) - timedelta(seconds=1)
        assert client.get("/training/jobs").status_code == 200
    again = _last_used(api, name)
    assert again is not None
    assert again >= refreshed
    listed = subprocess.run(
        [sys.executable, "-m", "app", "tokens", "list", "--json"],
        env={**os.environ, **api.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown = {token["name"]: token for token in json.loads(listed.stdout)["tokens"]}
    assert datetime.fromisoformat(shown[name]["last_used_at"]) == again
