"""Job rows: create (with an optional idempotency key), read, list, cancel, events.

Every function takes the owner and filters by it, so no caller can reach another owner's job.

An idempotency key is stored in the creation's own transaction, with the answer the creation
gives (rendered before the commit), so a key exists only for a job that exists and a replay can
answer exactly what the first request was answered. A creation that fails (the database down,
say) leaves nothing behind, so retrying it with the same key is a fresh attempt. Keys expire
after a TTL: an expired key is treated as unused (its row replaced by the new one), and each
keyed creation also deletes up to ``SWEEP_BATCH`` expired keys of anyone's, so the table never
holds much more than one TTL's worth of keys.

A job on an uploaded dataset is inserted first and its dataset share-locked after, in the same
transaction: if the dataset was deleted meanwhile, nothing is written (``DatasetGoneError``);
``app.storage.datasets`` explains why this order closes the race with a delete. A job on one of
the owner's models locks that model the same way (``ModelGoneError``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.db import serialized_writes
from app.models import Dataset, IdempotencyKey, Job, JobCheckpoint, JobEvent, utcnow
from app.schemas import RL_STEP_FIGURES, JobCreate, JobStatus, MetricPoint
from app.storage import job_state
from app.storage.job_state import ACTIVE_STATUSES, CancelOutcome, JobAlreadyFinishedError
from app.storage.models import lock_model
from app.training.catalog import TrainingAlgorithm
from app.training.estimates import CostEstimate
from app.training.own_models import OwnModelFacts
from app.training.validation import DatasetFacts

__all__ = [
    "ACTIVE_STATUSES",
    "SWEEP_BATCH",
    "CancelOutcome",
    "DatasetGoneError",
    "DuplicateIdempotencyKeyError",
    "IdempotentRequest",
    "JobAlreadyFinishedError",
    "ModelGoneError",
    "StoredAnswer",
    "cancel_job",
    "checkpoints_of",
    "count_jobs",
    "create_job",
    "find_idempotent_answer",
    "get_job",
    "list_job_events",
    "list_jobs",
    "loss_curve",
]

_INSERT_JOB = insert(cast(Table, Job.__table__)).returning(cast(Table, Job.__table__).c.seq)
_INSERT_EVENT = insert(cast(Table, JobEvent.__table__))
_INSERT_KEY = insert(cast(Table, IdempotencyKey.__table__))

#: The most expired keys one creation deletes: enough to outpace the keys being added (each
#: adds one), few enough that the sweep costs a creation next to nothing.
SWEEP_BATCH = 100

#: A creation's answer: its JSON body, rendered from the new job.
Render = Callable[[Job], dict[str, Any]]


@dataclass(frozen=True)
class IdempotentRequest:
    """A creation's ``Idempotency-Key``, the hash of its validated body, how long keys are kept,
    and the status its answer has (stored with the body for the replay)."""

    key: str
    request_hash: str
    ttl: timedelta
    status: int


@dataclass(frozen=True)
class StoredAnswer:
    """What an unexpired key remembers: the body's hash, the answer (None for a key stored
    before answers were, migration v0004), and the job it created."""

    request_hash: str
    status: int | None
    body: dict[str, Any] | None
    job: Job


class DuplicateIdempotencyKeyError(Exception):
    """Another request stored the same idempotency key first (a concurrent retry)."""


class DatasetGoneError(Exception):
    """The job's dataset was deleted between the job's checks and its insertion."""


class ModelGoneError(Exception):
    """The owner's model the job trains on was deleted between the job's checks and its
    insertion (``app.storage.models`` closes that race as datasets do)."""


def _estimate_columns(estimate: CostEstimate) -> dict[str, Any]:
    """The estimate as the job's columns (its basis as JSON, the time as ISO 8601 text)."""
    public = estimate.public()
    basis = public["cost_estimate"]
    if basis["price_as_of"] is not None:
        basis = {**basis, "price_as_of": basis["price_as_of"].isoformat()}
    return {**public, "cost_estimate": basis}


def create_job(
    session: Session,
    *,
    owner: str,
    job: JobCreate,
    algorithm: TrainingAlgorithm,
    hyperparameters: dict[str, Any],
    defaulted: list[str],
    adapter_parameters: int | None,
    render: Render,
    idempotency: IdempotentRequest | None = None,
    dataset: DatasetFacts | None = None,
    training_tokens_bound: int | None = None,
    estimate: CostEstimate | None = None,
    parent: OwnModelFacts | None = None,
) -> dict[str, Any]:
    """Insert a queued job, its ``created`` event and its idempotency key (with the answer,
    ``render(job)``) in one commit; return that answer. ``DuplicateIdempotencyKeyError`` when
    a concurrent request stored the key first, ``DatasetGoneError`` when ``dataset`` (the
    uploaded dataset the job trains on) no longer exists.

    ``hyperparameters`` are the effective values (``defaulted`` names those filled in), so the
    stored job says exactly what it trains with; ``estimate`` is what it will send to Tinker
    and cost, whose train rate the worker holds the job's ``max_cost_usd`` to.

    Prebuilt Core INSERTs rather than the unit of work: creation is the hot write path, and the
    ORM's flush bookkeeping would cost more than the statements themselves.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "owner": owner,
        "name": job.name,
        "base_model": job.base_model,
        "method": job.method.value,
        "algorithm": algorithm.value,
        "dataset": job.dataset,
        "tags": list(job.tags),
        "hyperparameters": hyperparameters,
        "defaulted_hyperparameters": defaulted,
        "grader": None if job.grader is None else job.grader.model_dump(mode="json"),
        "adapter_parameters": adapter_parameters,
        "dataset_id": None if dataset is None else dataset.id,
        "dataset_rows": None if dataset is None else dataset.rows,
        "training_tokens_bound": training_tokens_bound,
        **_estimate_columns(estimate or CostEstimate()),
        "max_cost_usd": job.max_cost_usd,
        "root_model": None if parent is None else parent.root_model,
        "start_checkpoint": None if parent is None else parent.training_checkpoint,
        "model_id": None,
        "status": JobStatus.QUEUED.value,
        "created_at": now,
        "updated_at": now,
        # What a run will record, as a job that has not run yet has it (the answer shows it).
        "step": 0,
        "epochs_completed": 0,
        "trained_tokens": 0,
        "processed_tokens": 0,
        "attempts": 0,
    }
    event = job_state.created_event(now)
    with serialized_writes(session):
        connection = session.connection()
        try:
            seq = connection.execute(_INSERT_JOB, values).scalar_one()
            if dataset is not None and not _lock_dataset(session, owner, dataset.id):
                session.rollback()
                raise DatasetGoneError(dataset.id)
            if parent is not None and not lock_model(session, owner=owner, model_id=parent.id):
                session.rollback()
                raise ModelGoneError(parent.id)
            connection.execute(_INSERT_EVENT, {**event, "job_seq": seq})
            answer = render(Job(seq=seq, **values))
            if idempotency is not None:
                _store_key(
                    session,
                    owner=owner,
                    idempotency=idempotency,
                    job_seq=seq,
                    now=now,
                    answer=answer,
                )
            session.commit()
        except IntegrityError as err:
            session.rollback()
            if idempotency is not None:
                raise DuplicateIdempotencyKeyError(idempotency.key) from err
            raise
    return answer


def _lock_dataset(session: Session, owner: str, dataset_id: str) -> bool:
    """Share-lock the owner's dataset row until the commit (PostgreSQL; on SQLite the job's
    insert already holds the one write lock); False if it is gone."""
    query = (
        select(Dataset.seq)
        .where(Dataset.id == dataset_id, Dataset.owner == owner)
        .with_for_update(read=True)
    )
    return session.scalars(query).one_or_none() is not None


def _store_key(
    session: Session,
    *,
    owner: str,
    idempotency: IdempotentRequest,
    job_seq: int,
    now: datetime,
    answer: dict[str, Any],
) -> None:
    """Replace this key's expired row, if any, sweep other expired keys, and insert the key.

    The sweep skips rows another transaction is sweeping (``SKIP LOCKED`` on PostgreSQL; SQLite
    has one writer at a time), so concurrent creations do not queue behind each other for it.
    """
    cutoff = now - idempotency.ttl
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.owner == owner,
            IdempotencyKey.key == idempotency.key,
            IdempotencyKey.created_at < cutoff,
        )
    )
    expired = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.created_at < cutoff)
        .order_by(IdempotencyKey.created_at)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(expired)))
    session.connection().execute(
        _INSERT_KEY,
        {
            "owner": owner,
            "key": idempotency.key,
            "request_hash": idempotency.request_hash,
            "job_seq": job_seq,
            "created_at": now,
            "response_status": idempotency.status,
            "response_body": answer,
        },
    )


def find_idempotent_answer(
    session: Session, *, owner: str, key: str, ttl: timedelta
) -> StoredAnswer | None:
    """What the owner's ``key`` remembers, or None if it is unused or older than ``ttl``."""
    found = session.execute(
        select(
            IdempotencyKey.request_hash,
            IdempotencyKey.response_status,
            IdempotencyKey.response_body,
            Job,
        )
        .join(Job, Job.seq == IdempotencyKey.job_seq)
        .where(
            IdempotencyKey.owner == owner,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at >= utcnow() - ttl,
        )
    ).one_or_none()
    if found is None:
        return None
    request_hash, status, body, job = found
    return StoredAnswer(request_hash=request_hash, status=status, body=body, job=job)


def get_job(session: Session, *, owner: str, job_id: str) -> Job | None:
    """The owner's job with this id, or None."""
    return session.scalars(select(Job).where(Job.id == job_id, Job.owner == owner)).one_or_none()


def list_jobs(
    session: Session, *, owner: str, status: JobStatus | None, limit: int, offset: int
) -> Sequence[Job]:
    """One page of the owner's jobs, newest first."""
    query = select(Job).where(Job.owner == owner)
    if status is not None:
        query = query.where(Job.status == status.value)
    return session.scalars(query.order_by(Job.seq.desc()).limit(limit).offset(offset)).all()


def count_jobs(session: Session, *, owner: str, status: JobStatus | None) -> int:
    """How many jobs the owner has (with that status)."""
    query = select(func.count()).select_from(Job).where(Job.owner == owner)
    if status is not None:
        query = query.where(Job.status == status.value)
    return int(session.scalar(query) or 0)


def cancel_job(session: Session, *, owner: str, job_id: str) -> tuple[Job, CancelOutcome] | None:
    """Cancel the owner's job (``app.storage.job_state.cancel`` owns the rule); None if there is
    none, ``JobAlreadyFinishedError`` if it ended."""
    return job_state.cancel(session, owner=owner, job_id=job_id)


def list_job_events(
    session: Session, *, owner: str, job_id: str, after: int | None = None, limit: int = 1000
) -> Sequence[JobEvent] | None:
    """The owner's job's events, oldest first (only those after the event id ``after``); None
    if there is no such job."""
    job = get_job(session, owner=owner, job_id=job_id)
    if job is None:
        return None
    return job_state.list_events(session, job, after=after, limit=limit)


def checkpoints_of(session: Session, seqs: Sequence[int]) -> dict[int, list[JobCheckpoint]]:
    """The checkpoints of a page of jobs, by job, oldest first (one query for the page)."""
    found: dict[int, list[JobCheckpoint]] = {seq: [] for seq in seqs}
    if not seqs:
        return found
    query = select(JobCheckpoint).where(JobCheckpoint.job_seq.in_(seqs)).order_by(JobCheckpoint.id)
    for row in session.scalars(query):
        found[row.job_seq].append(row)
    return found


def loss_curve(session: Session, job: Job) -> list[MetricPoint]:
    """One point per trained step, in step order, as the adapter holds it
    (``job_state.trained_steps``)."""
    return [
        MetricPoint(
            step=step,
            loss=data["loss"],
            tokens=data["tokens"],
            learning_rate=data["learning_rate"],
            time=created_at,
            **{name: data.get(name) for name in RL_STEP_FIGURES},
        )
        for step, (data, created_at) in job_state.trained_steps(session, job).items()
    ]
