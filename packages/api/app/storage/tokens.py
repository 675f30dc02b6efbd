"""Token rows: create, list and revoke them, and find the active row a presented token belongs to.

Names are unique among active tokens (a partial unique index, migration 0003), so an operator
can revoke a token by the name they gave it; a revoked token's name may be given again.

Every request authenticates against the database, the store all workers share, so a revocation
is seen by every worker on its next request. That lookup is one indexed query sent straight to
the driver (``TokenReader``). On SQLite it runs on a connection of its own, on the event loop
itself: a WAL read never waits for a writer and takes a few microseconds, far less than the hop
to a thread, whose GIL hand-offs under load cost milliseconds. When the token was last used is
recorded at most once per ``LAST_USED_RESOLUTION`` per token: the write is conditional, so
several workers seeing a stale time at once still write it once.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import sqlite_path
from app.core.db import Database, serialized_writes
from app.core.security import NewToken, hashes_match, token_prefix
from app.models import ApiToken, utcnow

__all__ = [
    "LAST_USED_RESOLUTION",
    "MAX_NAME_LENGTH",
    "ActiveToken",
    "DuplicateTokenNameError",
    "TokenInfo",
    "TokenReader",
    "create_token",
    "list_tokens",
    "record_use",
    "revoke_token",
]

#: How stale a token's ``last_used_at`` may get before a request writes it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: The ``name`` column's width; PostgreSQL refuses longer values, SQLite would keep them.
MAX_NAME_LENGTH = 200
#: How long an inline SQLite read may wait for the database (it blocks the event loop meanwhile).
READ_TIMEOUT_SECONDS = 2.0


class DuplicateTokenNameError(ValueError):
    """An active token already has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"an active token named {name!r} already exists; revoke it first "
            f"(dreadnode-api tokens revoke {name}) or choose another --name"
        )
        self.name = name


@dataclass(frozen=True)
class TokenInfo:
    """What an operator may see of a token: everything but the secret and its hash."""

    name: str
    owner: str
    prefix: str
    read_only: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class ActiveToken:
    """The row a presented, unrevoked token belongs to, as a request needs it."""

    id: int
    name: str
    owner: str
    prefix: str
    read_only: bool
    last_used_at: datetime | None

    def use_is_stale(self, now: datetime) -> bool:
        """Whether this use should be written: never recorded, or not for a while."""
        return self.last_used_at is None or _as_utc(self.last_used_at) <= now - LAST_USED_RESOLUTION


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time the service stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        name=row.name,
        owner=row.owner,
        prefix=row.prefix,
        read_only=row.read_only,
        created_at=_as_utc(row.created_at),
        last_used_at=None if row.last_used_at is None else _as_utc(row.last_used_at),
        revoked_at=None if row.revoked_at is None else _as_utc(row.revoked_at),
    )


def create_token(session: Session, *, name: str, owner: str | None, read_only: bool) -> str:
    """Store a new token for ``owner`` (default: ``name``) and return it; it is never stored.

    Raises ``DuplicateTokenNameError`` when an active token has ``name`` already, and
    ``ValueError`` for a blank or over-long name.
    """
    name = name.strip()
    owner = (owner or "").strip() or name
    if not name:
        raise ValueError("--name must not be empty")
    for what, value in (("--name", name), ("--owner", owner)):
        if len(value) > MAX_NAME_LENGTH:
            raise ValueError(f"{what} must be at most {MAX_NAME_LENGTH} characters")
    active = select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    token = NewToken()
    with serialized_writes(session):
        if session.scalars(active).first() is not None:
            raise DuplicateTokenNameError(name)
        session.add(
            ApiToken(
                name=name,
                owner=owner,
                prefix=token.prefix,
                token_hash=token.token_hash,
                read_only=read_only,
                created_at=utcnow(),
            )
        )
        try:
            session.commit()
        except IntegrityError:  # another process created the same name between check and insert
            session.rollback()
            if session.scalars(active).first() is not None:
                raise DuplicateTokenNameError(name) from None
            raise
    return token.token


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[TokenInfo]:
    """Tokens oldest first; only active ones unless ``include_revoked``."""
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [_info(row) for row in session.scalars(query)]


def revoke_token(session: Session, name: str) -> TokenInfo | None:
    """Revoke the active token called ``name``: every worker refuses it from its next request.

    Returns what was revoked, or None when no active token has that name.
    """
    with serialized_writes(session):
        row = session.scalars(
            select(ApiToken).where(ApiToken.name == name.strip(), ApiToken.revoked_at.is_(None))
        ).one_or_none()
        if row is None:
            return None
        row.revoked_at = utcnow()
        session.commit()
    return _info(row)


_ACTIVE_BY_PREFIX = select(
    ApiToken.id,
    ApiToken.name,
    ApiToken.owner,
    ApiToken.prefix,
    ApiToken.token_hash,
    ApiToken.read_only,
    ApiToken.last_used_at,
).where(ApiToken.revoked_at.is_(None))


def record_use(session: Session, token: ActiveToken, now: datetime) -> None:
    """Set the token's ``last_used_at`` to ``now`` unless some worker did so recently."""
    cutoff = now - LAST_USED_RESOLUTION
    with serialized_writes(session):
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token.id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= cutoff),
            )
            .values(last_used_at=now)
        )
        session.commit()


class TokenReader:
    """Authenticates presented tokens for one worker, asking the database every time.

    The query is compiled once and sent straight to the driver: SQLAlchemy's per-execution
    work costs some 100 µs, the query itself a few. ``inline`` says whether ``authenticate``
    may run on the event loop: on a SQLite file the reader has a connection of its own, used
    only from the loop's thread, so it never waits for a pooled connection that request threads
    hold. Other databases answer over the network, so there it borrows a pooled connection and
    belongs in a thread.
    """

    def __init__(self, database: Database) -> None:
        engine = database.engine
        dialect = engine.dialect
        query = _ACTIVE_BY_PREFIX.where(ApiToken.prefix == bindparam("prefix"))
        self._sql = str(query.compile(dialect=dialect))
        self._positional = dialect.positional
        self._engine = engine
        self._own: sqlite3.Connection | None = None
        if sqlite_path(engine.url.render_as_string(hide_password=False)) is not None:
            (filename, *_), options = dialect.create_connect_args(engine.url)
            # A read waits only while another connection recovers the WAL; bound that wait,
            # since the event loop waits with it.
            own = sqlite3.connect(
                str(filename),
                timeout=READ_TIMEOUT_SECONDS,
                check_same_thread=False,  # made here, used on the loop's thread only
                uri=bool(options.get("uri", False)),
            )
            weakref.finalize(self, own.close)
            self._own = own
        self.inline = self._own is not None

    def authenticate(self, token: str) -> ActiveToken | None:
        """The active row of a valid token, or None; found by prefix, compared in constant time."""
        prefix = token_prefix(token)
        if prefix is None:
            return None
        params: Sequence[str] | dict[str, str] = (
            (prefix,) if self._positional else {"prefix": prefix}
        )
        if self._own is not None:
            row = self._own.execute(self._sql, params).fetchone()
        else:
            connection = self._engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(self._sql, params)
                row = cursor.fetchone()
                cursor.close()
            finally:
                connection.close()  # back to the pool, its transaction rolled back
        if row is None:
            return None
        token_id, name, owner, row_prefix, token_hash, read_only, last_used_at = row
        if not hashes_match(token, token_hash):
            return None
        if isinstance(last_used_at, str):  # SQLite's driver hands back the stored text
            last_used_at = datetime.fromisoformat(last_used_at)
        return ActiveToken(
            id=token_id,
            name=name,
            owner=owner,
            prefix=row_prefix,
            read_only=bool(read_only),
            last_used_at=last_used_at,
        )
