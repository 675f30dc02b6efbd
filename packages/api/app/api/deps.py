"""Request dependencies, as ``Annotated`` aliases handlers name in their signatures."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.db import Database
from app.core.ratelimit import STATE_KEY, Quota, RateLimiter, client_key
from app.core.security import token_prefix
from app.core.versioning import sdk_too_old
from app.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
    UpgradeRequiredError,
)
from app.models import utcnow
from app.storage.tokens import ActiveToken, TokenReader, record_use
from app.training.catalog import training_day
from app.training.prices import PriceBook, PriceList

__all__ = [
    "CatalogDay",
    "CurrentUser",
    "DatabaseDep",
    "Prices",
    "Principal",
    "SessionDep",
    "SettingsDep",
    "WriterUser",
    "check_client_version",
]


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    """The app's database."""
    database: Database = request.app.state.db
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(database: DatabaseDep) -> AsyncIterator[Session]:
    """A session for this request, closed as the handler returns (``scope="function"``), before
    the answer is sent: a client slow to read its answer holds no pooled connection meanwhile.

    Async only to skip two threadpool hops: opening a session does no I/O, and the handlers that
    use it are sync functions, which FastAPI runs in the threadpool.
    """
    with database.session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_catalog_day(settings: SettingsDep) -> date:
    """The day this request's catalog answers are for: the pinned setting, else today (UTC)."""
    return training_day(settings.catalog_day)


CatalogDay = Annotated[date, Depends(get_catalog_day)]


async def get_prices(request: Request) -> PriceList | None:
    """This process's last good copy of Tinker's price list (None before the first arrives);
    a refresh starts behind it when one is due, and the request never waits for it."""
    book: PriceBook = request.app.state.price_book
    return book.current()


Prices = Annotated[PriceList | None, Depends(get_prices)]


async def check_client_version(request: Request, settings: SettingsDep, _user: CurrentUser) -> None:
    """426 for an SDK older than the server's minimum (other clients pass).

    Judged after authentication (``_user``; FastAPI resolves it once per request, shared with
    the handler's): the answer names the minimum, and even an answer that did not would give it
    away to anyone without a token, who could bisect it by trying versions (426 or 401). An old
    SDK without a valid token is told about its token first, which it must fix either way. The
    header's parsing is bounded and cannot fail (``app.core.versioning``).
    """
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
    """A Bearer token wins; any other ``Authorization`` scheme (a proxy's Basic credentials, say)
    is not ours, so ``X-API-Key`` is used instead."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return token.strip() or None
    return request.headers.get("x-api-key")


def _record_use(database: Database, row: ActiveToken) -> None:
    """Record that ``row`` was used, if its recorded use is over a minute old (in a thread: on
    SQLite the write may wait for the write lock). Failing to record it does not fail the
    request."""
    try:
        with database.session() as session:
            record_use(session, row, utcnow())
    except SQLAlchemyError as err:
        logging.getLogger(__name__).warning("could not record a use of %r: %s", row.name, err)


def _authenticate_and_count(
    reader: TokenReader, limiter: RateLimiter, token: str
) -> tuple[ActiveToken | None, Quota | None]:
    """The token's row and, for a valid one, its counted quota: in one thread hop, where both
    go to a database across the network."""
    row = reader.authenticate(token)
    return row, (None if row is None else limiter.take_token(row.prefix))


async def get_current_user(request: Request, database: DatabaseDep) -> Principal:
    """The token's principal; 401 without a valid (unrevoked) token, 429 over the token's rate
    limit, or for an invalid token from an address past its failed sign-in limit.

    The database is asked on every request: it is the one store every worker shares, so a
    token revoked there is refused by the next request whichever worker takes it, and a token's
    rate limit holds across workers (``app.core.ratelimit``). No token, or one not of the
    ``dn_<prefix>_<secret>`` shape, is a 401 at no query's cost, whatever came before. A
    well-formed one is looked up even from an address past its failed sign-in limit: a valid
    token passes (its own rate limit still applies), since everyone behind one NAT or proxy
    shares that address and one stale token there must not lock the others out; only an
    invalid one gets the 429.
    """
    limiter: RateLimiter = request.app.state.rate_limiter
    address = client_key(request.client.host if request.client else None)
    token = _presented_token(request)
    if not token or token_prefix(token) is None:
        raise AuthenticationError()
    reader: TokenReader | None = getattr(request.app.state, "token_reader", None)
    if reader is None:  # one per app, made in the worker that serves it
        reader = request.app.state.token_reader = TokenReader(database)
    quota: Quota | None = None
    if reader.inline:
        row = reader.authenticate(token)
    else:
        row, quota = await run_in_threadpool(_authenticate_and_count, reader, limiter, token)
    if row is None:
        retry_after = await limiter.fail(address)
        if retry_after:
            raise RateLimitError(retry_after)
        raise AuthenticationError()
    if row.use_is_stale(utcnow()):
        await run_in_threadpool(_record_use, database, row)
    if reader.inline:
        quota = await limiter.take_token_async(row.prefix)
    if quota is not None:
        setattr(request.state, STATE_KEY, quota)  # the headers middleware adds its headers
        if not quota.allowed:
            raise RateLimitError(quota.retry_after)
    return Principal(owner=row.owner, token_name=row.name, read_only=row.read_only)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_writer(user: CurrentUser) -> Principal:
    """The principal, if it may write; 403 for a read-only token."""
    if user.read_only:
        raise PermissionDeniedError(f"Token {user.token_name!r} is read-only")
    return user


WriterUser = Annotated[Principal, Depends(get_writer)]
