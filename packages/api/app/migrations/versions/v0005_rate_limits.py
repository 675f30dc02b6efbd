"""Rate-limit counters every worker shares (PostgreSQL), in an UNLOGGED table.

Revision ID: v0005
Revises: v0004
Create Date: 2026-12-02

Every authenticated request updates one row here (``app.core.ratelimit``), so the table is
UNLOGGED: its writes skip the WAL and the fsync, and a crash empties it, which only refills
every bucket. On SQLite the counters live in a file of their own beside the database (no fsync,
no contention for the database's write lock), so this revision changes nothing there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0005"
down_revision = "v0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Integer(), nullable=False),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("rate_limits")
