"""The tables: API tokens, datasets, training jobs, their events and checkpoints, the models
completed jobs made, the workers that run jobs, and idempotency keys (SQLAlchemy 2).

The schema itself is created only by the Alembic migrations in ``app/migrations``; these classes
describe it for queries and must match the latest migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

__all__ = [
    "ApiToken",
    "Dataset",
    "IdempotencyKey",
    "Job",
    "JobCheckpoint",
    "JobEvent",
    "TrainedModel",
    "Worker",
    "utcnow",
]


def utcnow() -> datetime:
    """Now, in UTC; every timestamp the service stores."""
    return datetime.now(UTC)


class ApiToken(Base):
    """A token's non-secret lookup prefix and the sha256 of the whole token, never the token.

    A revoked token keeps its row (``revoked_at`` set), so ``tokens list --all`` can still say
    who had it and when it was last used. Only one active token may have a given name, so
    ``tokens revoke NAME`` names one token.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index(
            "uq_api_tokens_active_name",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    read_only: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Recorded at most once a minute per token (``app.storage.tokens.record_use``).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Dataset(Base):
    """An uploaded JSONL file that passed every check, and its figures. ``seq`` orders an
    owner's datasets by upload; ``id`` (``ds-`` and 24 hex digits) is the public identifier.

    The bytes live in the dataset store (``app.datasets``) under their sha256, so two owners'
    identical files are one stored object with two rows; one owner's identical files are one
    row (the unique constraint), which is how a second upload finds the first.
    """

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("owner", "sha256", name="uq_datasets_owner_sha256"),
        Index("ix_datasets_owner_seq", "owner", "seq"),
        Index("ix_datasets_sha256", "sha256"),
        Index("ix_datasets_token_counts_status", "token_counts_status", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    owner: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    longest_row_bytes: Mapped[int] = mapped_column(BigInteger)
    longest_row_line: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: ``pending`` until a worker has counted the tokens, then ``ready`` or ``failed``;
    #: ``unavailable`` for a format that is not counted (``app.storage.datasets``).
    token_counts_status: Mapped[str] = mapped_column(String(16))
    #: Per renderer: the models it serves and the tokens a job on them sends (``app.worker.
    #: token_counts``); None until counted.
    token_counts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    token_counts_error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    #: The ``catalog_key`` the counts were made for (migration v0010); a worker of a release
    #: with another catalog counts the dataset again.
    token_counts_catalog: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: A ``prompt`` dataset's reference fields: each row field a grader may read, with the
    #: first line lacking it (``ReferenceFields.to_json``; migration v0011); None for other
    #: formats and for datasets uploaded before it.
    reference_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Job(Base):
    """A training job. ``seq`` orders jobs by creation; ``id`` is the public identifier.

    A job on an uploaded dataset records its id (``dataset_id``, also its ``dataset``), its row
    count and a bound on the tokens it trains on; a job on a URI the platform does not hold
    has none of the three. ``dataset_id`` is no foreign key: a finished job keeps naming the
    dataset it trained on after the dataset is deleted (``app.storage.datasets``).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_owner_seq", "owner", "seq"),
        Index("ix_jobs_dataset_id", "dataset_id"),
        Index("ix_jobs_status_seq", "status", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    owner: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    base_model: Mapped[str] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(1024))
    tags: Mapped[list[str]] = mapped_column(JSON)
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    defaulted_hyperparameters: Mapped[list[str]] = mapped_column(JSON)
    adapter_parameters: Mapped[int | None] = mapped_column(BigInteger)
    dataset_id: Mapped[str | None] = mapped_column(String(32))
    dataset_rows: Mapped[int | None] = mapped_column(BigInteger)
    training_tokens_bound: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What a run records (migration v0007); ``app.jobs.transitions`` is the only writer.
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_steps: Mapped[int | None] = mapped_column(Integer)
    epochs_completed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    trained_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    loss: Mapped[float | None] = mapped_column(Float)
    sampler_path: Mapped[str | None] = mapped_column(String(1024))
    tinker_run_id: Mapped[str | None] = mapped_column(String(300))
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    worker_id: Mapped[str | None] = mapped_column(String(200))
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What it will cost and has cost (migration v0009): the estimate made at creation, its
    # basis (``cost_estimate``: the train rate, when and where it was read, or why unknown),
    # the owner's cap, the tokens sent to Tinker so far and why a cancelled job was cancelled.
    tokens_per_epoch: Mapped[int | None] = mapped_column(BigInteger)
    total_tokens: Mapped[int | None] = mapped_column(BigInteger)
    estimated_cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    max_cost_usd: Mapped[float | None] = mapped_column(Float)
    processed_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cancel_reason: Mapped[str | None] = mapped_column(String(16))
    #: An RL job's grader as declared (migration v0011); None for SFT.
    grader: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: For a job on one of the owner's models (``base_model`` is its id, migration v0012): the
    #: catalog model at the root of its chain and the training checkpoint it starts from.
    root_model: Mapped[str | None] = mapped_column(String(300), nullable=True)
    start_checkpoint: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    #: The model the job made once it completed (kept after the model is deleted).
    model_id: Mapped[str | None] = mapped_column(String(32), nullable=True)

    @property
    def catalog_model(self) -> str:
        """The catalog id whose facts (renderer, context, prices) the job trains under."""
        return self.root_model or self.base_model


class TrainedModel(Base):
    """A model a completed job made (migration v0012): the owner's to sample, train further,
    rename and delete. ``seq`` orders an owner's models by creation; ``id`` (``ft-`` and 24 hex
    digits) is the public identifier, which a job's ``base_model`` may name.

    ``parent_model`` is what the job trained from (a catalog id, or another model's id, which
    stays named after that model is deleted) and ``root_model`` the catalog model at the root
    of the chain, whose renderer and context every descendant keeps. ``revision`` is one more
    than the parent's (a catalog model's is 0).
    """

    __tablename__ = "training_models"
    __table_args__ = (
        UniqueConstraint("owner", "name", name="uq_training_models_owner_name"),
        UniqueConstraint("job_id", name="uq_training_models_job_id"),
        Index("ix_training_models_owner_seq", "owner", "seq"),
        Index(
            "uq_training_models_owner_default",
            "owner",
            unique=True,
            sqlite_where=text("default_model"),
            postgresql_where=text("default_model"),
        ),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    owner: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    job_id: Mapped[str] = mapped_column(String(36))
    method: Mapped[str] = mapped_column(String(16))
    parent_model: Mapped[str] = mapped_column(String(300))
    root_model: Mapped[str] = mapped_column(String(300))
    revision: Mapped[int] = mapped_column(Integer)
    lora_rank: Mapped[int] = mapped_column(Integer)
    sampler_path: Mapped[str] = mapped_column(String(1024))
    training_checkpoint: Mapped[str] = mapped_column(String(1024))
    dataset: Mapped[str] = mapped_column(String(1024))
    trained_tokens: Mapped[int] = mapped_column(BigInteger)
    default_model: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Sampling defaults the owner set (None: the service's, ``app.training.own_models``).
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    top_p: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobEvent(Base):
    """Something that happened to a job (created, job_start, training_step, ...), oldest first
    by ``id``, which is also the cursor a reader passes to get only newer events. ``data`` holds
    an event's figures (a training step's step, loss, tokens and learning rate)."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_seq: Mapped[int] = mapped_column(ForeignKey("jobs.seq", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JobCheckpoint(Base):
    """A checkpoint a job saved on Tinker, in Tinker's own shape: ``training`` (optimizer state
    too; a job resumes from it) or ``sampler`` (weights to sample from: the trained adapter)."""

    __tablename__ = "job_checkpoints"
    __table_args__ = (
        UniqueConstraint("job_seq", "tinker_path", name="uq_job_checkpoints_path"),
        Index("ix_job_checkpoints_job_seq", "job_seq", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_seq: Mapped[int] = mapped_column(ForeignKey("jobs.seq", ondelete="CASCADE"))
    checkpoint_id: Mapped[str] = mapped_column(String(300))
    checkpoint_type: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer)
    tinker_path: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Worker(Base):
    """A live training worker and its last heartbeat. A worker whose heartbeat is older than the
    lease is taken for dead: another worker recovers its jobs (``app.worker.liveness``)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    concurrency: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` an owner used, the hash of the body it came with, its job, and the
    answer its creation was given (replayed as it was). ``created_at`` decides when it expires
    (``Settings.idempotency_ttl_hours``); the sweep goes by it, hence its index."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("owner", "key", name="uq_idempotency_owner_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    job_seq: Mapped[int] = mapped_column(ForeignKey("jobs.seq", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The status and JSON body the creation answered; None for keys stored before v0004.
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RateLimitCounter(Base):
    """One rate-limit key (``token:<prefix>`` or ``auth:<address>``) and its GCRA state: the
    unix time ``tat`` at which its bucket is full again, and whether its last request passed
    (``app.core.ratelimit``). On PostgreSQL the table is UNLOGGED (migration v0005); on SQLite
    these rows live in a file beside the database, never in it."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    tat: Mapped[float] = mapped_column(Float, nullable=False)
    allowed: Mapped[int] = mapped_column(Integer, nullable=False)
