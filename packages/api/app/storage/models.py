"""The user's own models: made when a job completes, read, renamed, deleted.

Every function takes the owner and filters by it, so no caller can reach another owner's model.

A model a queued or running job trains on cannot be deleted, and the race between the two is
closed as for datasets (``app.storage.datasets``): a job on a model is inserted first and the
model share-locked after, in one transaction (``lock_model``), while a delete locks the model's
row before it counts the jobs using it. Whichever commits second sees the other: the creation
finds the model gone and writes nothing, or the delete finds the job and refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.db import serialized_writes
from app.models import Job, TrainedModel, utcnow
from app.storage.job_state import ACTIVE_STATUSES
from app.training.own_models import OwnModelFacts, name_stem, new_model_id, unique_name

__all__ = [
    "ModelInUseError",
    "NameTakenError",
    "count_models",
    "create_for_job",
    "delete_model",
    "facts_of",
    "get_model",
    "list_models",
    "lock_model",
    "model_names",
    "own_model_facts",
    "update_model",
]

#: Jobs a refused delete names (the first ones, oldest first).
_JOBS_NAMED = 5
#: The most of an owner's models read to suggest what a mistyped id meant.
_SUGGESTION_POOL = 1000
#: Tries at a unique name when concurrent completions pick the same one.
_NAME_TRIES = 5


class ModelInUseError(Exception):
    """Queued or running jobs train on the model; ``job_ids`` names the first of them."""

    def __init__(self, job_ids: list[str]) -> None:
        super().__init__(", ".join(job_ids))
        self.job_ids = job_ids


class NameTakenError(Exception):
    """Another of the owner's models has that name."""


def get_model(session: Session, *, owner: str, model_id: str) -> TrainedModel | None:
    """The owner's model with this id, or None."""
    query = select(TrainedModel).where(TrainedModel.id == model_id, TrainedModel.owner == owner)
    return session.scalars(query).one_or_none()


def own_model_facts(session: Session, *, owner: str, model_id: str) -> OwnModelFacts | None:
    """What job validation needs of the owner's model, or None."""
    row = get_model(session, owner=owner, model_id=model_id)
    return None if row is None else facts_of(row)


def facts_of(row: TrainedModel) -> OwnModelFacts:
    """What job validation and sampling need of a model row."""
    return OwnModelFacts(
        id=row.id,
        name=row.name,
        root_model=row.root_model,
        revision=row.revision,
        lora_rank=row.lora_rank,
        training_checkpoint=row.training_checkpoint,
    )


def model_names(session: Session, *, owner: str) -> list[tuple[str, str]]:
    """The owner's newest models' ids and names, for suggestions."""
    query = (
        select(TrainedModel.id, TrainedModel.name)
        .where(TrainedModel.owner == owner)
        .order_by(TrainedModel.seq.desc())
        .limit(_SUGGESTION_POOL)
    )
    return [(model_id, name) for model_id, name in session.execute(query)]


def _matching(owner: str, query: str | None) -> Any:
    condition = TrainedModel.owner == owner
    if query:
        pattern = f"%{query.lower()}%"
        condition = condition & or_(
            func.lower(TrainedModel.name).like(pattern, escape="\\"),
            func.lower(TrainedModel.id).like(pattern, escape="\\"),
            func.lower(TrainedModel.root_model).like(pattern, escape="\\"),
        )
    return condition


def _escaped(query: str | None) -> str | None:
    """``query`` with LIKE's wildcards taken literally."""
    if query is None:
        return None
    return query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_models(
    session: Session, *, owner: str, query: str | None, limit: int, offset: int
) -> Sequence[TrainedModel]:
    """One page of the owner's models (those whose name, id or root model holds ``query``,
    ignoring case), newest first."""
    found = select(TrainedModel).where(_matching(owner, _escaped(query)))
    return session.scalars(
        found.order_by(TrainedModel.seq.desc()).limit(limit).offset(offset)
    ).all()


def count_models(session: Session, *, owner: str, query: str | None) -> int:
    """How many of the owner's models match ``query``."""
    found = select(func.count()).select_from(TrainedModel)
    return int(session.scalar(found.where(_matching(owner, _escaped(query)))) or 0)


def update_model(
    session: Session, *, owner: str, model_id: str, changes: dict[str, Any]
) -> TrainedModel | None:
    """Apply ``changes`` (column to value) to the owner's model; None if there is none,
    ``NameTakenError`` for a name another of the owner's models has. Making it the default
    takes that from the owner's other models in the same transaction."""
    with serialized_writes(session):
        row = session.scalars(
            select(TrainedModel)
            .where(TrainedModel.id == model_id, TrainedModel.owner == owner)
            .with_for_update()
        ).one_or_none()
        if row is None:
            session.rollback()
            return None
        if changes.get("default_model"):
            session.execute(
                update(TrainedModel)
                .where(
                    TrainedModel.owner == owner,
                    TrainedModel.default_model.is_(True),
                    TrainedModel.id != model_id,
                )
                .values(default_model=False)
            )
        for column, value in changes.items():
            setattr(row, column, value)
        row.updated_at = utcnow()
        try:
            session.commit()
        except IntegrityError as err:
            session.rollback()
            if "name" in changes:
                raise NameTakenError(changes["name"]) from err
            raise
    session.refresh(row)
    return row


def delete_model(session: Session, *, owner: str, model_id: str) -> bool:
    """Delete the owner's model unless a queued or running job trains on it
    (``ModelInUseError``); False if there is no such model. Its jobs keep their history."""
    active = (
        select(Job.id)
        .where(Job.owner == owner, Job.base_model == model_id, Job.status.in_(ACTIVE_STATUSES))
        .order_by(Job.seq)
    )
    with serialized_writes(session):
        locked = session.scalars(
            select(TrainedModel.seq)
            .where(TrainedModel.id == model_id, TrainedModel.owner == owner)
            .with_for_update()
        ).one_or_none()
        if locked is None:
            session.rollback()
            return False
        deleted = session.execute(
            delete(TrainedModel)
            .where(TrainedModel.seq == locked, ~exists(active))
            .returning(TrainedModel.seq)
        ).scalar_one_or_none()
        if deleted is None:
            job_ids = list(session.scalars(active.limit(_JOBS_NAMED)))
            session.rollback()
            raise ModelInUseError(job_ids)
        session.commit()
    return True


def lock_model(session: Session, *, owner: str, model_id: str) -> bool:
    """Share-lock the owner's model until the commit (PostgreSQL; on SQLite the job's insert
    already holds the one write lock); False if it is gone."""
    query = (
        select(TrainedModel.seq)
        .where(TrainedModel.id == model_id, TrainedModel.owner == owner)
        .with_for_update(read=True)
    )
    return session.scalars(query).one_or_none() is not None


def create_for_job(
    session: Session, job: Job, *, training_checkpoint: str, sampler_path: str, now: datetime
) -> TrainedModel:
    """The model a completed job made, added in the caller's transaction (the job's own
    completion): named after the job (unique among the owner's), one revision above what it
    trained from. Concurrent completions that pick the same name retry with the next one."""
    parent_revision = 0
    if job.root_model is not None:  # trained on one of the owner's models
        parent_revision = (
            session.scalar(
                select(TrainedModel.revision).where(
                    TrainedModel.id == job.base_model, TrainedModel.owner == job.owner
                )
            )
            or 0
        )
    root = job.catalog_model
    stem = name_stem(job.name, root, now.date())
    for _ in range(_NAME_TRIES):
        taken = set(
            session.scalars(
                select(TrainedModel.name).where(
                    TrainedModel.owner == job.owner, TrainedModel.name.startswith(stem)
                )
            )
        )
        row = TrainedModel(
            id=new_model_id(),
            owner=job.owner,
            name=unique_name(stem, taken),
            description=None,
            job_id=job.id,
            method=job.method,
            parent_model=job.base_model,
            root_model=root,
            revision=parent_revision + 1,
            lora_rank=int(job.hyperparameters["lora_rank"]),
            sampler_path=sampler_path,
            training_checkpoint=training_checkpoint,
            dataset=job.dataset,
            trained_tokens=job.trained_tokens or 0,
            default_model=False,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        return row
    raise RuntimeError(f"no free model name for job {job.id} after {_NAME_TRIES} tries")
