"""The user's own models: what a completed job leaves, to list, sample and train further.

Revision ID: v0012
Revises: v0011
Create Date: 2026-12-05

``training_models`` holds one row per model a completed job made: its owner, a name unique per
owner, the job that made it, the model it was trained from (``parent_model``: a catalog id or
another of the owner's models) and the catalog model at the root of that chain, its revision
(one more than its parent's; a catalog model is revision 0), and where Tinker keeps its weights
(the sampler path to sample from, the training checkpoint to train on from). At most one model
per owner is the owner's default (a partial unique index).

``jobs.root_model`` and ``jobs.start_checkpoint`` record, for a job trained on top of one of the
owner's models (its ``base_model`` is that model's id), the catalog model underneath and the
training checkpoint it starts from; both are null for a job on a catalog model, as for every job
created before this revision. ``jobs.model_id`` is the model a completed job made (kept after
that model is deleted, as the job's history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0012"
down_revision = "v0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_models",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("parent_model", sa.String(300), nullable=False),
        sa.Column("root_model", sa.String(300), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("lora_rank", sa.Integer(), nullable=False),
        sa.Column("sampler_path", sa.String(1024), nullable=False),
        sa.Column("training_checkpoint", sa.String(1024), nullable=False),
        sa.Column("dataset", sa.String(1024), nullable=False),
        sa.Column("trained_tokens", sa.BigInteger(), nullable=False),
        sa.Column("default_model", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("top_p", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner", "name", name="uq_training_models_owner_name"),
        sa.UniqueConstraint("job_id", name="uq_training_models_job_id"),
    )
    op.create_index("ix_training_models_owner_seq", "training_models", ["owner", "seq"])
    op.create_index(
        "uq_training_models_owner_default",
        "training_models",
        ["owner"],
        unique=True,
        sqlite_where=sa.text("default_model"),
        postgresql_where=sa.text("default_model"),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("root_model", sa.String(300), nullable=True))
        batch.add_column(sa.Column("start_checkpoint", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("model_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("model_id")
        batch.drop_column("start_checkpoint")
        batch.drop_column("root_model")
    op.drop_index("uq_training_models_owner_default", table_name="training_models")
    op.drop_index("ix_training_models_owner_seq", table_name="training_models")
    op.drop_table("training_models")
