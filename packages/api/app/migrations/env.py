"""Alembic's environment: always run online, on the connection ``app.core.db.migrate`` passes.

That connection is already inside the one transaction that holds the database's migration lock
(see ``migrate``), so ``begin_transaction`` below opens nothing of its own: every revision of an
upgrade commits together, after the lock was taken, or not at all. Never open another connection
here; it would run outside the lock.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app import models
from app.core.db import Base

assert models  # the tables register on Base.metadata when app.models is imported

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `dreadnode-api migrate`, which passes a connection")

context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
