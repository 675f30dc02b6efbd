"""Service settings, read from the environment (pydantic-settings).

``DATABASE_URL`` keeps its conventional unprefixed name; every other setting is
``DREADNODE_API_<NAME>``. The app factory takes a ``Settings`` so tests build their own.

Without ``DATABASE_URL`` the embedded SQLite file lives in the user's data directory, one place
whatever directory a command runs from: ``tokens create`` in one directory and ``serve`` in
another must see the same tokens.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from datetime import date
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

__all__ = ["API_PREFIX", "Settings", "default_database_path", "describe_database", "sqlite_path"]

#: Every route but the bare ``/health`` lives under this prefix (docs/api.md).
API_PREFIX = "/api/v1"
_DAY_FORM = re.compile(r"\d{4}-\d{2}-\d{2}")


class Settings(BaseSettings):
    """What an operator may tune; the defaults serve a laptop on an embedded SQLite file."""

    model_config = SettingsConfigDict(env_prefix="DREADNODE_API_", extra="ignore", frozen=True)

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{default_database_path()}",
        validation_alias=AliasChoices("DATABASE_URL", "DREADNODE_API_DATABASE_URL"),
        min_length=1,
    )
    #: Clients whose User-Agent names an older ``dreadnode-training`` SDK get 426.
    min_sdk_version: str = "0.1.0"
    #: Requests per minute per token; 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    #: The day the catalog's lifecycle is judged on (``YYYY-MM-DD``); unset means today in UTC,
    #: read per request. Pin it to preview a coming retirement, or in tests.
    catalog_day: date | None = None

    @field_validator("catalog_day", mode="before")
    @classmethod
    def _check_day(cls, value: object) -> object:
        """Only the calendar form, as ``dn`` reads ``DREADNODE_CATALOG_DAY``: pydantic alone
        would also take a unix timestamp or a datetime. Blank means unset."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if _DAY_FORM.fullmatch(text):
            with contextlib.suppress(ValueError):  # 2026-02-30 has the form but is no day
                return date.fromisoformat(text)
        raise ValueError(f"must be a date like 2026-06-01 (YYYY-MM-DD), got {value!r}")

    @field_validator("min_sdk_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)*", value):
            raise ValueError("min_sdk_version must look like 1.2.3")
        return value


APP_DIRECTORY = "dreadnode-api"
DATABASE_FILE = "dreadnode-api.db"


def default_database_path() -> Path:
    """Where the embedded SQLite file lives unless ``DATABASE_URL`` says otherwise.

    The platform's per-user data directory: ``$XDG_DATA_HOME`` (when absolute, as the XDG spec
    requires) or ``~/.local/share`` on Linux and other Unixes, ``~/Library/Application Support``
    on macOS, ``%LOCALAPPDATA%`` on Windows; then ``dreadnode-api/dreadnode-api.db``. These few
    rules are all this service needs of a platform-directories library, so it takes none.
    """
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = Path(os.environ.get("XDG_DATA_HOME", ""))
        base = xdg if xdg.is_absolute() else Path.home() / ".local" / "share"
    return base / APP_DIRECTORY / DATABASE_FILE


def sqlite_path(url: str) -> Path | None:
    """The absolute file a ``sqlite:`` URL names; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def describe_database(url: str) -> str:
    """The database as an operator should see it: a SQLite file's path, or the URL with any
    password masked (never printed, even in an error)."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "SQLite in memory (gone when the process ends)"
    return parsed.render_as_string(hide_password=True)
