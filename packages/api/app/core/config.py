"""Service settings, read from the environment (pydantic-settings).

``DATABASE_URL`` keeps its conventional unprefixed name; every other setting is
``DREADNODE_API_<NAME>``. The app factory takes a ``Settings`` so tests build their own.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["API_PREFIX", "Settings"]

#: Every route but the bare ``/health`` lives under this prefix (docs/api.md).
API_PREFIX = "/api/v1"
_DAY_FORM = re.compile(r"\d{4}-\d{2}-\d{2}")


class Settings(BaseSettings):
    """What an operator may tune; the defaults serve a laptop on an embedded SQLite file."""

    model_config = SettingsConfigDict(env_prefix="DREADNODE_API_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///./dreadnode-api.db",
        validation_alias=AliasChoices("DATABASE_URL", "DREADNODE_API_DATABASE_URL"),
        min_length=1,
    )
    #: Clients whose User-Agent names an older ``dreadnode-training`` SDK get 426.
    min_sdk_version: str = "0.1.0"
    #: Requests per minute per token; 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    #: Seconds a verified token is trusted without asking the database again; 0 always asks.
    token_cache_seconds: float = Field(default=30.0, ge=0)
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
