"""Datasets' exact token counts, per renderer, computed by the workers after an upload.

Revision ID: v0008
Revises: v0007
Create Date: 2026-12-04

A dataset's byte figures bound its tokens from above; the workers render every row with the
renderer of each catalog model that could train on it and record, per renderer, the tokens a job
would send to Tinker (``token_counts``, a JSON list). ``token_counts_status`` says where that
stands: ``pending`` until a worker has counted, then ``ready`` or ``failed`` (with
``token_counts_error``); ``unavailable`` for what is not counted (a ``prompt`` dataset, for RL).
Datasets uploaded before this revision are ``pending`` (or ``unavailable``), so the workers count
them too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0008"
down_revision = "v0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(
            sa.Column(
                "token_counts_status", sa.String(16), nullable=False, server_default="pending"
            )
        )
        batch.add_column(sa.Column("token_counts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("token_counts_error", sa.String(2000), nullable=True))
    op.execute(
        sa.text(
            "UPDATE datasets SET token_counts_status = 'unavailable', token_counts_error = "
            ":why WHERE format = 'prompt'"
        ).bindparams(why=PROMPT_NOT_COUNTED)
    )
    op.create_index("ix_datasets_token_counts_status", "datasets", ["token_counts_status", "seq"])


#: Written into the rows this revision marks; the service writes the same words for new ones.
PROMPT_NOT_COUNTED = (
    "prompt datasets are for RL, whose tokens depend on what the model samples; they are not "
    "counted before a run"
)


def downgrade() -> None:
    op.drop_index("ix_datasets_token_counts_status", table_name="datasets")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("token_counts_error")
        batch.drop_column("token_counts")
        batch.drop_column("token_counts_status")
