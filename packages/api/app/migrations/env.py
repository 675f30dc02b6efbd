"""Alembic's environment: always run online, on the connection ``app.core.db.migrate`` passes."""

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
