"""Jobs record which hyperparameters were defaulted and the size of their LoRA adapter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Jobs created before this revision stored only the values their request gave: they keep an empty
``defaulted_hyperparameters`` and an unknown (NULL) ``adapter_parameters``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("defaulted_hyperparameters", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("adapter_parameters", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("adapter_parameters")
        batch.drop_column("defaulted_hyperparameters")
