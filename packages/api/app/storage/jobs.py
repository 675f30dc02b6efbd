"""Job rows: create (with an optional idempotency key), read, list, cancel, events.

Every function takes the owner and filters by it, so no caller can reach another owner's job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.db import serialized_writes
from app.models import IdempotencyKey, Job, JobEvent, utcnow
from app.schemas import TERMINAL_STATUSES, JobCreate, JobStatus
from app.training.catalog import TrainingAlgorithm

__all__ = [
    "DuplicateIdempotencyKeyError",
    "JobAlreadyFinishedError",
    "cancel_job",
    "count_jobs",
    "create_job",
    "find_idempotent_job",
    "get_job",
    "list_job_events",
    "list_jobs",
]

_INSERT_JOB = insert(cast(Table, Job.__table__)).returning(cast(Table, Job.__table__).c.seq)
_INSERT_EVENT = insert(cast(Table, JobEvent.__table__))
_INSERT_KEY = insert(cast(Table, IdempotencyKey.__table__))

ACTIVE_STATUSES = tuple(status.value for status in JobStatus if status not in TERMINAL_STATUSES)


class DuplicateIdempotencyKeyError(Exception):
    """Another request stored the same idempotency key first (a concurrent retry)."""


class JobAlreadyFinishedError(Exception):
    """The job is already in a terminal status."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def create_job(
    session: Session,
    *,
    owner: str,
    job: JobCreate,
    algorithm: TrainingAlgorithm,
    hyperparameters: dict[str, Any],
    defaulted: list[str],
    adapter_parameters: int | None,
    idempotency: tuple[str, str] | None = None,
) -> Job:
    """Insert a queued job, its ``created`` event and its ``(key, request hash)`` in one commit.

    ``hyperparameters`` are the effective values (``defaulted`` names those filled in), so the
    stored job says exactly what it trains with.

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
        "adapter_parameters": adapter_parameters,
        "status": JobStatus.QUEUED.value,
        "created_at": now,
        "updated_at": now,
    }
    event = {
        "type": "created",
        "status": JobStatus.QUEUED.value,
        "message": None,
        "created_at": now,
    }
    with serialized_writes(session):
        connection = session.connection()
        try:
            seq = connection.execute(_INSERT_JOB, values).scalar_one()
            connection.execute(_INSERT_EVENT, {**event, "job_seq": seq})
            if idempotency is not None:
                key, request_hash = idempotency
                connection.execute(
                    _INSERT_KEY,
                    {
                        "owner": owner,
                        "key": key,
                        "request_hash": request_hash,
                        "job_seq": seq,
                        "created_at": now,
                    },
                )
            session.commit()
        except IntegrityError as err:
            session.rollback()
            if idempotency is not None:
                raise DuplicateIdempotencyKeyError(idempotency[0]) from err
            raise
    return Job(seq=seq, **values)


def find_idempotent_job(session: Session, *, owner: str, key: str) -> tuple[str, Job] | None:
    """The request hash stored with ``key`` and the job it created, or None."""
    found = session.execute(
        select(IdempotencyKey.request_hash, Job)
        .join(Job, Job.seq == IdempotencyKey.job_seq)
        .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    ).one_or_none()
    return None if found is None else (found[0], found[1])


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


def cancel_job(session: Session, *, owner: str, job_id: str) -> Job | None:
    """Cancel the owner's job; None if there is none, ``JobAlreadyFinishedError`` if it ended.

    The status check and the update are one conditional UPDATE, so two workers cancelling at
    once cannot both succeed.
    """
    now = utcnow()
    with serialized_writes(session):
        return _cancel(session, owner=owner, job_id=job_id, now=now)


def _cancel(session: Session, *, owner: str, job_id: str, now: datetime) -> Job | None:
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.owner == owner, Job.status.in_(ACTIVE_STATUSES))
        .values(status=JobStatus.CANCELLED.value, updated_at=now)
        .returning(Job.seq)
    )
    seq = result.scalar_one_or_none()
    if seq is None:
        session.rollback()
        job = get_job(session, owner=owner, job_id=job_id)
        if job is None:
            return None
        raise JobAlreadyFinishedError(job.status)
    session.add(
        JobEvent(
            job_seq=seq,
            type="cancelled",
            status=JobStatus.CANCELLED.value,
            message=f"Cancelled by {owner}",
            created_at=now,
        )
    )
    session.commit()
    return get_job(session, owner=owner, job_id=job_id)


def list_job_events(session: Session, *, owner: str, job_id: str) -> Sequence[JobEvent] | None:
    """The owner's job's events, oldest first; None if there is no such job."""
    job = get_job(session, owner=owner, job_id=job_id)
    if job is None:
        return None
    return session.scalars(
        select(JobEvent).where(JobEvent.job_seq == job.seq).order_by(JobEvent.id)
    ).all()
