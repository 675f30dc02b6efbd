"""Dataset rows: create (after the file is stored), read, list, delete.

Every function takes the owner and filters by it, so no caller can reach another owner's
dataset. The bytes live in the dataset store under their sha256 (``app.datasets.store``); a
stored object may back rows of several owners, so it goes only with the last row that uses it.

Three races are closed here, on both databases and with several workers:

- *A delete and a job that names the dataset.* Deleting locks the dataset's row, then deletes it
  only if no queued or running job uses it, in one statement; creating a job
  (``app.storage.jobs.create_job``) inserts the job, then share-locks the row and gives up if it
  is gone. On PostgreSQL the locks order the two (the row lock is taken before the delete
  looks for jobs, so it sees every job whose creator held the share lock); on SQLite both are
  writes from their first statement, and SQLite has one writer at a time.
- *A delete and an upload of the same bytes by another owner.* Both hold the content's lock
  (``_lock_content``: an advisory lock on PostgreSQL, the write lock on SQLite) while one counts
  the rows using the object and the other inserts its row, and the delete removes the object
  while holding it. The upload stores the object before its row, so it checks, holding the lock,
  that the object is still there (``still_stored``) and otherwise gives up (``StoreChangedError``).
- *Two uploads of the same bytes by one owner.* The unique ``(owner, sha256)`` lets one row in;
  the other upload answers with that row.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.db import serialized_writes
from app.models import Dataset, Job, utcnow
from app.schemas import TokenCountStatus
from app.storage.jobs import ACTIVE_STATUSES
from app.training.datasets import DatasetCheck, DatasetFormat

__all__ = [
    "PROMPT_NOT_COUNTED",
    "CreatedDataset",
    "DatasetUsedByJobsError",
    "StoreChangedError",
    "count_datasets",
    "create_dataset",
    "delete_dataset",
    "find_dataset",
    "get_dataset",
    "list_datasets",
    "new_dataset_id",
]

#: The first key of every content lock (PostgreSQL's two-key advisory locks): a namespace of
#: this service's own, apart from the migration lock's one-key space.
_CONTENT_LOCK_SPACE = 0x64735F31  # "ds_1"
#: How many of the jobs that hold a dataset a refused delete names.
_JOBS_NAMED = 5


def new_dataset_id() -> str:
    """A fresh public id: ``ds-`` and 24 hex digits (96 random bits)."""
    return f"ds-{secrets.token_hex(12)}"


class DatasetUsedByJobsError(Exception):
    """Queued or running jobs train on the dataset (``job_ids`` names a few of them)."""

    def __init__(self, job_ids: Sequence[str]) -> None:
        super().__init__(", ".join(job_ids))
        self.job_ids = list(job_ids)


class StoreChangedError(Exception):
    """The stored object an upload put in place was deleted (with another owner's last row of
    the same bytes) before the upload's row was in: nothing was recorded; send it again."""


@dataclass(frozen=True)
class CreatedDataset:
    """A dataset row, and whether this upload created it (False: the owner had these bytes)."""

    dataset: Dataset
    created: bool


def get_dataset(session: Session, *, owner: str, dataset_id: str) -> Dataset | None:
    """The owner's dataset with this id, or None."""
    query = select(Dataset).where(Dataset.id == dataset_id, Dataset.owner == owner)
    return session.scalars(query).one_or_none()


def find_dataset(session: Session, *, owner: str, sha256: str) -> Dataset | None:
    """The owner's dataset with these bytes, or None."""
    query = select(Dataset).where(Dataset.owner == owner, Dataset.sha256 == sha256)
    return session.scalars(query).one_or_none()


def list_datasets(session: Session, *, owner: str, limit: int, offset: int) -> Sequence[Dataset]:
    """One page of the owner's datasets, newest first."""
    query = select(Dataset).where(Dataset.owner == owner).order_by(Dataset.seq.desc())
    return session.scalars(query.limit(limit).offset(offset)).all()


def count_datasets(session: Session, *, owner: str) -> int:
    """How many datasets the owner has."""
    query = select(func.count()).select_from(Dataset).where(Dataset.owner == owner)
    return int(session.scalar(query) or 0)


def _lock_content(session: Session, sha256: str) -> None:
    """Hold ``sha256``'s content lock until the transaction ends (PostgreSQL; on SQLite the
    transaction's first write takes the database's one write lock, which covers it)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(bytes.fromhex(sha256[:8]), "big", signed=True)
    session.execute(
        text("SELECT pg_advisory_xact_lock(:space, :key)"),
        {"space": _CONTENT_LOCK_SPACE, "key": key},
    )


#: Why a ``prompt`` dataset has no token counts (migration v0008 wrote the same words).
PROMPT_NOT_COUNTED = (
    "prompt datasets are for RL, whose tokens depend on what the model samples; they are not "
    "counted before a run"
)


def _token_counts_to_come(fmt: DatasetFormat) -> dict[str, Any]:
    """A new dataset's token counts: ``pending`` for the workers to count, or ``unavailable``
    (with why) for a format they do not count."""
    if fmt is DatasetFormat.PROMPT:
        return {
            "token_counts_status": TokenCountStatus.UNAVAILABLE,
            "token_counts_error": PROMPT_NOT_COUNTED,
        }
    return {"token_counts_status": TokenCountStatus.PENDING}


def create_dataset(
    session: Session,
    *,
    owner: str,
    name: str | None,
    check: DatasetCheck,
    still_stored: Callable[[], bool],
) -> CreatedDataset:
    """Record a checked file already in the store: a new row, or the owner's existing row for
    these bytes (another upload of them got in first).

    ``still_stored`` is asked, holding the content lock, whether the object is still in the
    store; if not, nothing is recorded and ``StoreChangedError`` is raised (see the module).
    """
    assert check.ok, "only a valid file is recorded"
    assert check.format is not None, "a valid file has a format"
    row = Dataset(
        id=new_dataset_id(),
        owner=owner,
        name=name,
        format=check.format.value,
        rows=check.rows,
        bytes=check.bytes,
        sha256=check.sha256,
        longest_row_bytes=check.longest_row_bytes,
        longest_row_line=check.longest_row_line,
        reference_fields=(
            None if check.reference_fields is None else check.reference_fields.to_json()
        ),
        created_at=utcnow(),
        **_token_counts_to_come(check.format),
    )
    with serialized_writes(session):
        try:
            _lock_content(session, check.sha256)
            session.add(row)
            session.flush()
        except IntegrityError:
            session.rollback()
            existing = find_dataset(session, owner=owner, sha256=check.sha256)
            if existing is None:
                raise
            session.rollback()  # end the read: the caller may go on to slow work
            return CreatedDataset(existing, created=False)
        if not still_stored():
            session.rollback()
            raise StoreChangedError(check.sha256)
        session.commit()
    return CreatedDataset(row, created=True)


def delete_dataset(
    session: Session, *, owner: str, dataset_id: str, delete_object: Callable[[str], None]
) -> bool:
    """Delete the owner's dataset unless a queued or running job uses it
    (``DatasetUsedByJobsError``), and its stored object (``delete_object(sha256)``) if no other row
    uses that; False if there is no such dataset.

    The object is removed before the commit, holding the content lock, so that no upload of the
    same bytes can record a row between the count and the removal. Should the commit then fail,
    the row stays without its object; uploading the file again puts the object back.
    """
    found = get_dataset(session, owner=owner, dataset_id=dataset_id)
    if found is None:
        return False
    sha256 = found.sha256
    active = (
        select(Job.id)
        .where(
            Job.owner == owner,
            Job.dataset_id == dataset_id,
            Job.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Job.seq)
    )
    with serialized_writes(session):
        _lock_content(session, sha256)
        locked = session.scalars(
            select(Dataset.seq)
            .where(Dataset.id == dataset_id, Dataset.owner == owner)
            .with_for_update()
        ).one_or_none()
        if locked is None:  # deleted meanwhile
            session.rollback()
            return False
        deleted = session.execute(
            delete(Dataset).where(Dataset.seq == locked, ~exists(active)).returning(Dataset.seq)
        ).scalar_one_or_none()
        if deleted is None:
            job_ids = list(session.scalars(active.limit(_JOBS_NAMED)))
            session.rollback()
            raise DatasetUsedByJobsError(job_ids)
        others = session.scalar(
            select(func.count()).select_from(Dataset).where(Dataset.sha256 == sha256)
        )
        if not others:
            delete_object(sha256)
        session.commit()
    return True
