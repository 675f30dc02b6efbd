"""Idempotency keys keep the answer they were given, and expire.

Revision ID: v0004
Revises: 0003
Create Date: 2026-12-02

A replay answers what the first request was answered (its status and body, as Stripe replays),
not the job as it stands now, so each key stores that answer. Keys expire (the service's
``idempotency_ttl_hours``) and are swept by age, which the index on ``created_at`` keeps cheap.
Keys stored before this revision have no answer stored: theirs is rebuilt from the job as a 201
(``app.api.routes.jobs``) until they expire, so a retry across the upgrade still creates nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "ix_idempotency_keys_created_at"


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("response_status", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("response_body", sa.JSON(), nullable=True))
    op.create_index(INDEX, "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="idempotency_keys")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("response_body")
        batch.drop_column("response_status")
