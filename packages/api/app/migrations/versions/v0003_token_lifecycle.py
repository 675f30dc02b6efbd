"""Tokens record when they were last used and when they were revoked; active names are unique.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

``tokens revoke NAME`` needs a name to stand for one token, so a partial unique index covers the
names of active (unrevoked) tokens; both SQLite and PostgreSQL support ``WHERE`` on an index.
Before this revision ``tokens create`` accepted a name twice: the oldest token keeps the name,
each later one is renamed ``NAME-<id>`` (``tokens list`` shows the new names), and none stops
working. Tokens from before this revision have never been used as far as the database knows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEX = "uq_api_tokens_active_name"
ACTIVE = sa.text("revoked_at IS NULL")
NAME_LENGTH = 200


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    _rename_duplicate_names()
    op.create_index(
        INDEX, "api_tokens", ["name"], unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE
    )


def _rename_duplicate_names() -> None:
    tokens = sa.table("api_tokens", sa.column("id", sa.Integer), sa.column("name", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(tokens.c.id, tokens.c.name).order_by(tokens.c.id)).all()
    taken = {name for _, name in rows}
    seen: set[str] = set()
    for token_id, name in rows:
        if name not in seen:
            seen.add(name)
            continue
        suffix = f"-{token_id}"
        while (new_name := name[: NAME_LENGTH - len(suffix)] + suffix) in taken:
            suffix += f"-{token_id}"
        taken.add(new_name)
        connection.execute(sa.update(tokens).where(tokens.c.id == token_id).values(name=new_name))


def downgrade() -> None:
    # Without the column a revoked token would work again: its row goes instead.
    op.execute("DELETE FROM api_tokens WHERE revoked_at IS NOT NULL")
    op.drop_index(INDEX, table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("last_used_at")
