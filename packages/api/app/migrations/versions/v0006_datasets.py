"""Uploaded datasets, and jobs that record the dataset they train on.

Revision ID: v0006
Revises: v0005
Create Date: 2026-12-03

A dataset row is written only for a file that passed every check and is in the dataset store;
``(owner, sha256)`` is unique, so the same bytes uploaded twice by one owner are one dataset.
Jobs gain the dataset's id, its row count and a training-token bound, all NULL for a job on a
URI the platform does not hold, as for every job created before this revision (their
``dataset`` strings stay as they were given, local paths included). ``dataset_id`` is indexed:
deleting a dataset asks whether a queued or running job still uses it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0006"
down_revision = "v0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("longest_row_bytes", sa.BigInteger(), nullable=False),
        sa.Column("longest_row_line", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner", "sha256", name="uq_datasets_owner_sha256"),
    )
    op.create_index("ix_datasets_owner_seq", "datasets", ["owner", "seq"])
    op.create_index("ix_datasets_sha256", "datasets", ["sha256"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("dataset_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("dataset_rows", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("training_tokens_bound", sa.BigInteger(), nullable=True))
    op.create_index("ix_jobs_dataset_id", "jobs", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_dataset_id", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("training_tokens_bound")
        batch.drop_column("dataset_rows")
        batch.drop_column("dataset_id")
    op.drop_index("ix_datasets_sha256", table_name="datasets")
    op.drop_index("ix_datasets_owner_seq", table_name="datasets")
    op.drop_table("datasets")
