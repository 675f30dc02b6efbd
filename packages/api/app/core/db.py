"""The database: engine construction, the ORM base, reachability, and migrations.

Every wait on the database is bounded, so that a database that is down, hung or locked costs a
request a few seconds and a 503 with ``Retry-After`` (``is_unavailable`` tells such failures from
bugs, ``app.errors`` answers them), never a hang. ``Settings`` gives each bound and why:

- opening a connection: PostgreSQL's ``connect_timeout``;
- waiting for a free pooled connection: the pool timeout;
- a statement: PostgreSQL's ``statement_timeout`` while the server answers at all, and for one
  that does not, a lease (``app.core.lease``): a pooled connection must answer a ping within the
  connect timeout before each use, and no connection stays checked out longer than the
  statement timeout and a second;
- SQLite's write lock: its busy timeout, and the in-process queue of writers in front of it
  (``serialized_writes``) no longer.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` unless the operator
chooses ``NORMAL``: a write is on disk before the request that made it is answered.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.core.config import Settings
from app.core.lease import LeaseWatchdog

__all__ = [
    "LEASE_GRACE_SECONDS",
    "Base",
    "Database",
    "DatabaseLimits",
    "DatabaseUnavailableError",
    "MigrationLockTimeoutError",
    "database_error_classes",
    "is_unavailable",
    "make_engine",
    "migrate",
    "serialized_writes",
]

WRITE_LOCK = "write_lock"
WRITE_WAIT = "write_wait"
#: How much longer than the statement timeout a connection may stay checked out: the server's
#: own timeout fires first whenever the server answers at all, and the lease only when it does not.
LEASE_GRACE_SECONDS = 1.0
_FRESH = "fresh"
#: SQLite's primary result codes that say the database cannot be used now, not that a statement
#: is wrong: BUSY, LOCKED, IOERR, FULL, CANTOPEN (an extended code keeps its primary in its low
#: byte).
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 13, 14})
_SYNCHRONOUS = frozenset({"FULL", "NORMAL"})


class Base(DeclarativeBase):
    """The declarative base every table in ``app.models`` derives from."""


class DatabaseUnavailableError(SQLAlchemyError):
    """The database could not be used in time: a ping unanswered, the write queue full.

    A ``SQLAlchemyError``, so code that already tolerates a failing database (recording a
    token's last use, say) tolerates this too; ``is_unavailable`` says it means 503.
    """


@dataclass(frozen=True)
class DatabaseLimits:
    """The bounds on every wait for the database (``Settings`` explains each value).

    ``lease`` is off for maintenance (migrations), whose statements may rightly run long.
    """

    connect_timeout: int
    statement_timeout: float
    pool_timeout: float
    busy_timeout: float
    sqlite_synchronous: str = "FULL"
    lease: bool = True

    @property
    def lease_seconds(self) -> float:
        """How long a connection may be held: the statement timeout and the grace."""
        return self.statement_timeout + LEASE_GRACE_SECONDS

    def __post_init__(self) -> None:
        if self.sqlite_synchronous not in _SYNCHRONOUS:  # it is spliced into a PRAGMA
            raise ValueError(f"sqlite_synchronous is FULL or NORMAL, not {self.sqlite_synchronous}")

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, lease: bool = True
    ) -> DatabaseLimits:
        """The limits ``settings`` (default: the environment's) configure."""
        settings = settings or Settings()
        return cls(
            connect_timeout=settings.db_connect_timeout_seconds,
            statement_timeout=settings.db_statement_timeout_seconds,
            pool_timeout=settings.db_pool_timeout_seconds,
            busy_timeout=settings.sqlite_busy_timeout_seconds,
            sqlite_synchronous=settings.sqlite_synchronous,
            lease=lease,
        )


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _tune_sqlite(dbapi_connection: Any, _record: Any, *, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _postgres_options(url: str, statement_timeout: float) -> str:
    """libpq's ``options`` with the statement timeout added to any the URL carries (a
    ``search_path``, say): the server enforces it on every statement, at no cost per statement."""
    given = make_url(url).query.get("options", ())
    parts = [given] if isinstance(given, str) else list(given)
    parts.append(f"-c statement_timeout={max(1, round(statement_timeout * 1000))}")
    return " ".join(parts)


def _postgres_connect_args(url: str, limits: DatabaseLimits) -> dict[str, Any]:
    return {
        "connect_timeout": limits.connect_timeout,
        "options": _postgres_options(url, limits.statement_timeout),
    }


def make_engine(
    url: str, limits: DatabaseLimits | None = None, *, watchdog: LeaseWatchdog | None = None
) -> Engine:
    """An engine for ``url`` whose every wait is bounded by ``limits``; by default the
    environment's settings without leases, as maintenance commands such as ``migrate`` want.
    Leases are kept by ``watchdog`` (default: one of the engine's own)."""
    limits = limits or DatabaseLimits.from_settings(lease=False)
    if _is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": limits.busy_timeout},
            pool_size=20,
            pool_timeout=limits.pool_timeout,
        )
        event.listen(
            engine, "connect", partial(_tune_sqlite, synchronous=limits.sqlite_synchronous)
        )
        return engine
    if make_url(url).get_backend_name() != "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_timeout=limits.pool_timeout)
    engine = create_engine(
        url,
        connect_args=_postgres_connect_args(url, limits),
        pool_size=10,
        max_overflow=20,
        pool_timeout=limits.pool_timeout,
        pool_pre_ping=not limits.lease,  # with leases, the checkout below pings, bounded
    )
    if limits.lease:
        _lease_connections(engine, limits, watchdog or LeaseWatchdog("db-lease"))
    return engine


def _lease_connections(engine: Engine, limits: DatabaseLimits, watchdog: LeaseWatchdog) -> None:
    """Bound every checkout of ``engine``'s pool (see ``app.core.lease``).

    A pooled connection is pinged first (SQLAlchemy's pessimistic recipe, as ``pool_pre_ping``
    does, but bounded): a stale one, left by a database restart, is replaced at once; one whose
    ping the lease had to cut off means the database does not answer, so the request fails now
    rather than waiting again on a new connection. The connection then holds a lease of the
    statement timeout and ``LEASE_GRACE_SECONDS`` until it is checked in.
    """
    dialect = engine.dialect
    driver_error = dialect.loaded_dbapi.Error
    ping_seconds = float(limits.connect_timeout)
    lease_seconds = limits.lease_seconds

    def on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_FRESH] = True  # just connected: no need to ping it

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        fileno = dbapi_connection.fileno()
        if not record.info.pop(_FRESH, False):
            watchdog.arm(record, fileno, ping_seconds)
            try:
                dialect.do_ping(dbapi_connection)
            except driver_error as err:
                if watchdog.release(record):
                    raise DatabaseUnavailableError(
                        f"the database did not answer a ping within {ping_seconds:g} s"
                    ) from err
                raise DisconnectionError("the pooled connection is gone") from err
        watchdog.arm(record, fileno, lease_seconds)

    def on_release(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        watchdog.release(record)

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "checkout", on_checkout)
    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(engine, name, on_release)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be used right now (down, hung, locked, out of
    connections: a 503 worth retrying) rather than that this service has a bug (a 500)."""
    if isinstance(error, DatabaseUnavailableError | sa_exc.TimeoutError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        if error.orig is None:
            return False
        error = error.orig
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in _SQLITE_UNAVAILABLE
    # Connection failures, timeouts, a server shutting down, too many clients, lock waits: all
    # of psycopg's OperationalError, none of its errors that name a wrong statement.
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(error, psycopg.OperationalError)


def database_error_classes() -> tuple[type[Exception], ...]:
    """What a database failure can surface as: SQLAlchemy's errors, and the drivers' own where
    code calls a driver directly (the token lookup does). psycopg counts once imported, which
    creating a PostgreSQL engine does: ask after the app's ``Database`` exists."""
    classes: list[type[Exception]] = [SQLAlchemyError, sqlite3.Error]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        classes.append(psycopg.Error)
    return tuple(classes)


class Database:
    """One engine and its session factory, owned by the app (``app.state.db``).

    SQLite allows one writer at a time and makes the others sleep and retry; queueing writers
    on an in-process lock instead (``serialized_writes``) is several times faster under load.
    """

    def __init__(self, url: str, limits: DatabaseLimits | None = None) -> None:
        self.limits = limits or DatabaseLimits.from_settings()
        self._watchdog = LeaseWatchdog("db-lease")
        self.engine = make_engine(url, self.limits, watchdog=self._watchdog)
        lock = threading.Lock() if _is_sqlite(url) else None
        self.sessions = sessionmaker(
            self.engine,
            expire_on_commit=False,
            info={WRITE_LOCK: lock, WRITE_WAIT: self.limits.busy_timeout},
        )

    def session(self) -> Session:
        """A new session; the caller closes it (``with db.session() as session``)."""
        return self.sessions()

    def driver_connect_args(self) -> dict[str, Any]:
        """What the driver's ``connect`` gets for one of the pool's connections (the URL's
        parameters and the bounds: connect and statement timeouts), for code that opens a
        connection of its own, as the token reader does on PostgreSQL."""
        url = self.engine.url.render_as_string(hide_password=False)
        _, options = self.engine.dialect.create_connect_args(self.engine.url)
        if self.engine.dialect.name == "postgresql":
            options.update(_postgres_connect_args(url, self.limits))
        return dict(options)

    @contextmanager
    def leased(self, connection: Any) -> Iterator[None]:
        """Bound a call on a driver connection of one's own (anything with ``fileno()``) as the
        pool bounds its connections: after ``limits.lease_seconds`` its socket is shut, and the
        call's failure becomes ``DatabaseUnavailableError``."""
        key = object()
        seconds = self.limits.lease_seconds
        self._watchdog.arm(key, connection.fileno(), seconds)
        released = False
        try:
            yield
        except Exception as err:
            released = True
            if self._watchdog.release(key):
                raise DatabaseUnavailableError(
                    f"the database did not answer within {seconds:g} s"
                ) from err
            raise
        finally:
            if not released:
                self._watchdog.release(key)

    def is_reachable(self) -> bool:
        """Whether a trivial query answers; the health checks report it. It returns within the
        engine's bounds (pool, connect, ping), which ``/health`` tightens with its own timeout."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


@contextmanager
def serialized_writes(session: Session) -> Iterator[None]:
    """Hold the session's database write lock, if it has one, for a write transaction; waiting
    for it no longer than the busy timeout (``DatabaseUnavailableError`` after)."""
    lock = session.info.get(WRITE_LOCK)
    if lock is None:
        yield
        return
    wait: float = session.info.get(WRITE_WAIT, -1)
    if not lock.acquire(timeout=wait):
        raise DatabaseUnavailableError(f"the database's write lock stayed busy for {wait:g} s")
    try:
        yield
    finally:
        lock.release()


#: Seconds ``migrate`` waits for another process's migration, or for a lock on a table it alters.
#: A fresh schema takes well under a second to build, so a minute is room for real migrations on
#: a busy database while still failing a stuck deploy in one line rather than hanging it.
MIGRATION_LOCK_TIMEOUT = 60.0
#: SQLite's "database is locked" (``SQLITE_BUSY``) and PostgreSQL's "lock timeout" (SQLSTATE).
_SQLITE_BUSY = 5
_PG_LOCK_NOT_AVAILABLE = "55P03"


class MigrationLockTimeoutError(TimeoutError):
    """``migrate`` waited ``lock_timeout`` seconds for a lock and gave up (nothing changed)."""


def migrate(
    url: str, revision: str = "head", *, lock_timeout: float = MIGRATION_LOCK_TIMEOUT
) -> None:
    """Apply the Alembic migrations shipped inside the package (``app/migrations``), every one
    by default, or up to ``revision``.

    Any number of processes may call this at once on one database, as a fleet's first deploy
    does: the whole upgrade is one transaction that first takes the database's migration lock,
    so one process migrates and the others, once it commits, find the schema at ``revision`` and
    change nothing. The lock is PostgreSQL's transaction-level advisory lock (keyed by the schema
    the version table lives in, so deployments in other schemas do not wait) and SQLite's
    ``BEGIN EXCLUSIVE``; either is released by the commit, the rollback or the process's death.
    On SQLite this also makes the upgrade atomic: the driver otherwise commits each DDL statement
    on its own, which is how two processes used to build the same tables at once.

    Every lock wait, for the migration lock or for a table a running server holds, ends after
    ``lock_timeout`` seconds with ``MigrationLockTimeoutError``; the statements themselves have
    no time limit, since rewriting a large table takes what it takes.
    """
    config = Config()
    config.set_main_option("script_location", str(files("app") / "migrations"))
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        _exclusive_sqlite_transactions(engine, lock_timeout)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                _lock_postgres_migrations(connection, lock_timeout)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as err:
        sqlite_code = getattr(err.orig, "sqlite_errorcode", 0)  # extended: primary in low byte
        if sqlite_code & 0xFF == _SQLITE_BUSY or (
            getattr(err.orig, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE
        ):
            raise MigrationLockTimeoutError(
                f"gave up migrating after waiting {lock_timeout:g} s for a database lock: another "
                "process is migrating the database, or holds a table the migration alters"
            ) from None
        raise
    finally:
        engine.dispose()


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))  # 0 would mean "wait forever" to both databases


def _exclusive_sqlite_transactions(engine: Engine, lock_timeout: float) -> None:
    """Make ``engine``'s transactions real ones that start with ``BEGIN EXCLUSIVE`` (SQLAlchemy's
    recipe: the driver's own implicit BEGIN off, ours emitted), waiting up to ``lock_timeout``."""

    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_milliseconds(lock_timeout)}")
        cursor.close()

    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")

    event.listen(engine, "connect", _on_connect, insert=True)  # first: its PRAGMAs wait too
    event.listen(engine, "begin", _on_begin)


def _lock_postgres_migrations(connection: Connection, lock_timeout: float) -> None:
    """Take this schema's migration lock for the rest of the transaction, and bound every lock
    wait in it; ``statement_timeout`` is lifted, for this transaction only."""
    connection.execute(
        text(
            "SELECT set_config('lock_timeout', :wait, true),"
            " set_config('statement_timeout', '0', true)"
        ),
        {"wait": f"{_milliseconds(lock_timeout)}ms"},
    )
    schema = connection.scalar(text("SELECT current_schema()")) or ""
    digest = hashlib.blake2b(f"dreadnode-api migrations {schema}".encode(), digest_size=8)
    key = int.from_bytes(digest.digest(), "big", signed=True)
    connection.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS BIGINT))"), {"key": key})
