"""Which catalog a dataset's token counts were made for, so a release that adds a model counts
the datasets again.

Revision ID: v0010
Revises: v0009
Create Date: 2026-12-04

``token_counts_catalog`` holds the key of the catalog's renderer groups the counts were made for
(``app.worker.token_counts.catalog_key``). Datasets counted before this revision have none, so
the workers count them once more; their figures keep serving until the new ones land.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0010"
down_revision = "v0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("token_counts_catalog", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("token_counts_catalog")
