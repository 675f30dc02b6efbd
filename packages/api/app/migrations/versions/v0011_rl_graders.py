"""RL jobs: a job's grader, and the reference fields an uploaded prompt dataset's rows carry.

Revision ID: v0011
Revises: v0010
Create Date: 2026-12-04

``jobs.grader`` is an RL job's grader as declared (null for SFT and for every older job: RL jobs
could not run before this revision). ``datasets.reference_fields`` records, for a ``prompt``
dataset, which row fields a grader may read and the first line lacking each, so job creation
can refuse a grader whose fields the rows do not carry without reading the file again. Datasets
uploaded before this revision have none; a grader on them is checked by the worker, before its
first Tinker call, naming the line.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0011"
down_revision = "v0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("grader", sa.JSON(), nullable=True))
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("reference_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("reference_fields")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("grader")
