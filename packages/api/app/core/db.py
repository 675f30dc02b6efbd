"""The database: engine construction, the ORM base, reachability, and migrations.

SQLite (the embedded default) gets WAL and a busy timeout so that the threadpool's concurrent
requests wait for the write lock instead of failing; PostgreSQL needs nothing special.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

__all__ = ["Base", "Database", "make_engine", "migrate", "serialized_writes"]

WRITE_LOCK = "write_lock"


class Base(DeclarativeBase):
    """The declarative base every table in ``app.models`` derives from."""


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; ``sqlite:`` URLs are tuned for a threaded server."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """One engine and its session factory, owned by the app (``app.state.db``).

    SQLite allows one writer at a time and makes the others sleep and retry; queueing writers
    on an in-process lock instead (``serialized_writes``) is several times faster under load.
    """

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        lock = threading.Lock() if url.startswith("sqlite") else None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info={WRITE_LOCK: lock})

    def session(self) -> Session:
        """A new session; the caller closes it (``with db.session() as session``)."""
        return self.sessions()

    def is_reachable(self) -> bool:
        """Whether a trivial query answers; the health checks report it."""
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
    """Hold the session's database write lock, if it has one, for a write transaction."""
    lock = session.info.get(WRITE_LOCK)
    if lock is None:
        yield
        return
    with lock:
        yield


def migrate(url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations shipped inside the package (``app/migrations``), every one
    by default, or up to ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(files("app") / "migrations"))
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
