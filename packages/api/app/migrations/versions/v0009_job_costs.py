"""What a job will cost and has cost: its exact tokens, the estimate and its basis, the owner's
cap, the tokens sent to Tinker so far, and why a cancelled job was cancelled.

Revision ID: v0009
Revises: v0008
Create Date: 2026-12-04

Jobs created before this revision have no estimate (``cost_estimate`` null: the API says they
were created before costs were estimated), no cap, and ``processed_tokens`` 0; a job cancelled
before it was cancelled by its owner, the only way there was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0009"
down_revision = "v0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("tokens_per_epoch", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("total_tokens", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("estimated_cost_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("cost_estimate", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("max_cost_usd", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("processed_tokens", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("cancel_reason", sa.String(16), nullable=True))
    op.execute("UPDATE jobs SET cancel_reason = 'user' WHERE status = 'cancelled'")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "cancel_reason",
            "processed_tokens",
            "max_cost_usd",
            "cost_estimate",
            "estimated_cost_usd",
            "total_tokens",
            "tokens_per_epoch",
        ):
            batch.drop_column(column)
