"""Request dependencies, as ``Annotated`` aliases handlers name in their signatures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import Database
from app.core.ratelimit import RateLimiter
from app.core.versioning import sdk_too_old
from app.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
    UpgradeRequiredError,
)
from app.storage.tokens import find_token

__all__ = [
    "CurrentUser",
    "DatabaseDep",
    "Principal",
    "RawBody",
    "SessionDep",
    "SettingsDep",
    "WriterUser",
    "check_client_version",
]


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database."""
    database: Database = request.app.state.db
    return database


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A session for this request, closed when the response is done."""
    with database.session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]


async def read_body(request: Request) -> bytes:
    """The raw request body; job handlers parse it themselves to report every violation."""
    return await request.body()


RawBody = Annotated[bytes, Depends(read_body)]


def check_client_version(request: Request, settings: SettingsDep) -> None:
    """426 for an SDK older than the server's minimum (other clients pass)."""
    version = sdk_too_old(request.headers.get("user-agent", ""), settings.min_sdk_version)
    if version is not None:
        raise UpgradeRequiredError(
            f"dreadnode-training {version} is too old for this server; upgrade to "
            f"{settings.min_sdk_version} or newer"
        )


@dataclass(frozen=True)
class Principal:
    """Who is calling: the owner whose jobs they see, and whether they may write."""

    owner: str
    token_name: str
    read_only: bool


def _presented_token(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return request.headers.get("x-api-key")


def get_current_user(request: Request, session: SessionDep) -> Principal:
    """The token's principal; 401 without a valid token, 429 over the token's rate limit."""
    token = _presented_token(request)
    row = find_token(session, token) if token else None
    if row is None:
        raise AuthenticationError()
    limiter: RateLimiter = request.app.state.rate_limiter
    retry_after = limiter.acquire(row.prefix)
    if retry_after:
        raise RateLimitError(retry_after)
    return Principal(owner=row.owner, token_name=row.name, read_only=row.read_only)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def get_writer(user: CurrentUser) -> Principal:
    """The principal, if it may write; 403 for a read-only token."""
    if user.read_only:
        raise PermissionDeniedError(f"Token {user.token_name!r} is read-only")
    return user


WriterUser = Annotated[Principal, Depends(get_writer)]
