"""Jobs that run: progress, checkpoints, typed events, and the workers that run them.

Revision ID: v0007
Revises: v0006
Create Date: 2026-12-03

A job gains what a run records (start and finish times, step counters, trained tokens, the
latest loss, the trained adapter's sampler path, a failure's stable type and message), how many
times a worker has started it (``attempts``, bounded: a job whose worker keeps dying fails), which
worker runs it now (``worker_id``: every progress write is conditional on it, so a worker
presumed dead cannot overwrite its successor's work), and when a cancel was asked of it while it
ran. Every column is nullable or defaulted, so jobs created before this revision read as jobs
that never ran.

Events gain a ``data`` document (a ``training_step``'s step, loss, tokens and learning rate), so
the loss curve is the job's own event stream and a cursor (the event id) reads only what is new.
Checkpoints are rows in Tinker's own shape. ``workers`` holds one heartbeat per live worker:
a worker whose heartbeat is older than the lease is dead, and another takes over its jobs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0007"
down_revision = "v0006"
branch_labels = None
depends_on = None

#: Event types renamed to the vocabulary of running jobs (Together's), so a job's history reads
#: the same whether it was written before this revision or after.
_RENAMED_EVENTS = (("created", "job_pending"), ("cancelled", "job_cancelled"))


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("total_steps", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("epochs_completed", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("trained_tokens", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("loss", sa.Float(), nullable=True))
        batch.add_column(sa.Column("sampler_path", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("tinker_run_id", sa.String(300), nullable=True))
        batch.add_column(sa.Column("error_type", sa.String(64), nullable=True))
        batch.add_column(sa.Column("error_message", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("worker_id", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index("ix_jobs_status_seq", "jobs", ["status", "seq"])
    with op.batch_alter_table("job_events") as batch:
        batch.add_column(sa.Column("data", sa.JSON(), nullable=True))
    for old, new in _RENAMED_EVENTS:
        op.execute(
            sa.text("UPDATE job_events SET type = :new WHERE type = :old").bindparams(
                old=old, new=new
            )
        )
    op.create_table(
        "job_checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "job_seq",
            sa.Integer(),
            sa.ForeignKey("jobs.seq", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("checkpoint_id", sa.String(300), nullable=False),
        sa.Column("checkpoint_type", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("tinker_path", sa.String(1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("job_seq", "tinker_path", name="uq_job_checkpoints_path"),
    )
    op.create_index("ix_job_checkpoints_job_seq", "job_checkpoints", ["job_seq", "id"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_index("ix_job_checkpoints_job_seq", table_name="job_checkpoints")
    op.drop_table("job_checkpoints")
    for old, new in _RENAMED_EVENTS:
        op.execute(
            sa.text("UPDATE job_events SET type = :old WHERE type = :new").bindparams(
                old=old, new=new
            )
        )
    with op.batch_alter_table("job_events") as batch:
        batch.drop_column("data")
    op.drop_index("ix_jobs_status_seq", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "cancel_requested_at",
            "worker_id",
            "attempts",
            "error_message",
            "error_type",
            "tinker_run_id",
            "sampler_path",
            "loss",
            "trained_tokens",
            "epochs_completed",
            "total_steps",
            "step",
            "finished_at",
            "started_at",
        ):
            batch.drop_column(column)
