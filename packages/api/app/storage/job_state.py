"""The one owner of a job's status and history: every transition and every event goes through here.

The API creates and cancels jobs; the worker claims them, records progress and checkpoints, and
finishes them. Each rule (which status may follow which, what a transition records, which event
it writes) is written once, in this module, so the API and the worker cannot disagree on them.

Statuses: ``queued → running → completed | failed | cancelled``, and ``queued → cancelled``. A
cancel asked of a running job does not end it here: it sets ``cancel_requested_at``, and the
worker ends the job ``cancelled`` at its next step (``record_step`` tells it to stop), keeping the
checkpoints saved so far.

Every write by a worker is conditional on the job still being ``running`` *and* on ``worker_id``
naming that worker. A worker taken for dead whose job another worker recovered (``claim`` sets the
new ``worker_id``) therefore writes nothing more: its next write answers ``Ownership.LOST`` and
it stops. That fence, not any timing, is what keeps one job from being trained by two workers.

Events use Together's fine-tuning vocabulary where it fits: ``job_pending``, ``job_start``,
``job_restart`` (a recovered run), ``training_step``, ``checkpoint_save``, ``epoch_complete``,
``cancel_requested``, ``job_complete``, ``job_error``, ``job_cancelled``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from app.core.db import serialized_writes
from app.models import Job, JobCheckpoint, JobEvent, utcnow
from app.schemas import TERMINAL_STATUSES, CancelReason, JobStatus

__all__ = [
    "ACTIVE_STATUSES",
    "MAX_ERROR_MESSAGE",
    "CancelOutcome",
    "EventType",
    "JobAlreadyFinishedError",
    "Ownership",
    "cancel",
    "claim",
    "complete",
    "created_event",
    "fail",
    "finish_cancelled",
    "latest_training_checkpoint",
    "list_checkpoints",
    "list_events",
    "queue_position",
    "record_checkpoint",
    "record_epoch",
    "record_step",
    "set_plan",
]

ACTIVE_STATUSES = tuple(status.value for status in JobStatus if status not in TERMINAL_STATUSES)
#: A stored failure message is cut to this many characters (the column's size).
MAX_ERROR_MESSAGE = 2000

_INSERT_EVENT = insert(cast(Table, JobEvent.__table__))


class EventType(StrEnum):
    """What happened to a job; the ``type`` of its events."""

    JOB_PENDING = "job_pending"
    JOB_START = "job_start"
    JOB_RESTART = "job_restart"
    TRAINING_STEP = "training_step"
    CHECKPOINT_SAVE = "checkpoint_save"
    EPOCH_COMPLETE = "epoch_complete"
    CANCEL_REQUESTED = "cancel_requested"
    JOB_COMPLETE = "job_complete"
    JOB_ERROR = "job_error"
    JOB_CANCELLED = "job_cancelled"


class Ownership(StrEnum):
    """What a worker learns from recording progress: go on, stop because the owner cancelled,
    or stop because the job is no longer this worker's (finished, or recovered by another)."""

    OWNED = "owned"
    CANCEL_REQUESTED = "cancel_requested"
    LOST = "lost"


class CancelOutcome(StrEnum):
    """A cancel ended a queued job at once, or asked a running one to stop at its next step."""

    CANCELLED = "cancelled"
    REQUESTED = "requested"


class JobAlreadyFinishedError(Exception):
    """The job is already in a terminal status."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Claim:
    """A job a worker now runs: its row as claimed, and whether an earlier attempt started it."""

    job: Job
    restarted: bool


def created_event(now: datetime) -> dict[str, Any]:
    """The event a new job starts its history with (inserted in the creation's transaction)."""
    return _event(EventType.JOB_PENDING, JobStatus.QUEUED, "Queued; waiting for a worker", now)


def _event(
    kind: EventType,
    status: JobStatus,
    message: str | None,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "type": kind.value,
        "status": status.value,
        "message": message,
        "created_at": now,
        "data": data,
    }


def _add_event(session: Session, job_seq: int, event: dict[str, Any]) -> None:
    session.connection().execute(_INSERT_EVENT, {**event, "job_seq": job_seq})


def cancel(session: Session, *, owner: str, job_id: str) -> tuple[Job, CancelOutcome] | None:
    """Cancel the owner's job: a queued one ends ``cancelled`` now (no worker will start it); a
    running one is asked to stop at its next step. None if there is no such job,
    ``JobAlreadyFinishedError`` if it has ended. Asking twice is not an error.

    Each is one conditional UPDATE, so a cancel racing a worker's claim either ends the job
    before the claim (which then finds nothing to claim) or asks the running job to stop.
    """
    now = utcnow()
    with serialized_writes(session):
        queued = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.owner == owner, Job.status == JobStatus.QUEUED.value)
            .values(
                status=JobStatus.CANCELLED.value,
                cancel_reason=CancelReason.USER.value,
                updated_at=now,
                finished_at=now,
            )
            .returning(Job.seq)
        ).scalar_one_or_none()
        if queued is not None:
            message = f"Cancelled by {owner} before it started"
            data = {"reason": CancelReason.USER.value}
            event = _event(EventType.JOB_CANCELLED, JobStatus.CANCELLED, message, now, data)
            _add_event(session, queued, event)
            session.commit()
            return _reread(session, owner, job_id), CancelOutcome.CANCELLED
        running = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.owner == owner,
                Job.status == JobStatus.RUNNING.value,
                Job.cancel_requested_at.is_(None),
            )
            .values(cancel_requested_at=now, updated_at=now)
            .returning(Job.seq)
        ).scalar_one_or_none()
        if running is not None:
            message = f"Cancel asked by {owner}; the job stops at its next step"
            _add_event(
                session,
                running,
                _event(EventType.CANCEL_REQUESTED, JobStatus.RUNNING, message, now),
            )
            session.commit()
            return _reread(session, owner, job_id), CancelOutcome.REQUESTED
        session.rollback()
    job = _reread_or_none(session, owner, job_id)
    if job is None:
        return None
    if job.status == JobStatus.RUNNING.value:
        return job, CancelOutcome.REQUESTED
    raise JobAlreadyFinishedError(job.status)


def _reread_or_none(session: Session, owner: str, job_id: str) -> Job | None:
    session.expire_all()
    return session.scalars(select(Job).where(Job.id == job_id, Job.owner == owner)).one_or_none()


def _reread(session: Session, owner: str, job_id: str) -> Job:
    job = _reread_or_none(session, owner, job_id)
    assert job is not None
    return job


def claim(session: Session, *, job_id: str, worker_id: str, max_attempts: int) -> Claim | None:
    """Make ``worker_id`` the job's runner: a queued job starts (``job_start``), a running one
    whose earlier runner died restarts (``job_restart``); ``attempts`` counts both. None when
    there is nothing to run: the job was cancelled or finished meanwhile, or is unknown.

    A job claimed more than ``max_attempts`` times fails instead (its workers keep dying), with
    that reason, and None is returned.
    """
    now = utcnow()
    with serialized_writes(session):
        job = session.scalars(select(Job).where(Job.id == job_id).with_for_update()).one_or_none()
        if job is None or job.status not in ACTIVE_STATUSES:
            session.rollback()
            return None
        restarted = job.status == JobStatus.RUNNING.value
        attempts = job.attempts + 1
        if attempts > max_attempts:
            message = (
                f"The job's worker stopped {job.attempts} times before it could finish "
                f"(the limit is {max_attempts}); it was not retried again"
            )
            _finish(session, job, JobStatus.FAILED, now, error=("worker_lost", message))
            session.commit()
            return None
        job.status = JobStatus.RUNNING.value
        job.worker_id = worker_id
        job.attempts = attempts
        job.updated_at = now
        if job.started_at is None:
            job.started_at = now
        if restarted:
            checkpoint = latest_training_checkpoint(session, job)
            resumed_at = 0 if checkpoint is None else checkpoint.step
            message = (
                f"Resumed by worker {worker_id} from step {resumed_at}, its last checkpoint "
                f"(attempt {attempts})"
            )
            kind = EventType.JOB_RESTART
        else:
            message = f"Started by worker {worker_id}"
            kind = EventType.JOB_START
        _add_event(session, job.seq, _event(kind, JobStatus.RUNNING, message, now))
        session.commit()
        return Claim(job=job, restarted=restarted)


def _owned(job_id: str, worker_id: str) -> Any:
    """The WHERE clause every worker write carries: still running, still this worker's."""
    return (
        (Job.id == job_id) & (Job.status == JobStatus.RUNNING.value) & (Job.worker_id == worker_id)
    )


def _ownership(
    session: Session, job_id: str, worker_id: str, **values: Any
) -> tuple[int, Ownership]:
    """Apply ``values`` if the worker still owns the job; say whether a cancel is pending."""
    row = session.execute(
        update(Job)
        .where(_owned(job_id, worker_id))
        .values(**values)
        .returning(Job.seq, Job.cancel_requested_at)
    ).one_or_none()
    if row is None:
        return -1, Ownership.LOST
    seq, cancel_requested_at = row
    return seq, Ownership.CANCEL_REQUESTED if cancel_requested_at else Ownership.OWNED


def set_plan(
    session: Session,
    *,
    job_id: str,
    worker_id: str,
    total_steps: int,
    step: int,
    trained_tokens: int,
    epochs_completed: int,
) -> Ownership:
    """Record the run's length once the dataset is rendered, and where this attempt starts: at
    step 0, or, resuming, at its latest checkpoint, with the counters as they were there (steps
    done after that checkpoint by a worker that died are trained again, so they are not counted
    twice)."""
    with serialized_writes(session):
        _, owned = _ownership(
            session,
            job_id,
            worker_id,
            total_steps=total_steps,
            step=step,
            trained_tokens=trained_tokens,
            epochs_completed=epochs_completed,
            updated_at=utcnow(),
        )
        session.commit()
    return owned


def latest_training_checkpoint(session: Session, job: Job) -> JobCheckpoint | None:
    """The checkpoint a resumed run starts from: the job's latest ``training`` checkpoint."""
    return session.scalars(
        select(JobCheckpoint)
        .where(JobCheckpoint.job_seq == job.seq, JobCheckpoint.checkpoint_type == "training")
        .order_by(JobCheckpoint.step.desc(), JobCheckpoint.id.desc())
        .limit(1)
    ).one_or_none()


def record_step(
    session: Session,
    *,
    job_id: str,
    worker_id: str,
    step: int,
    loss: float,
    tokens: int,
    processed_tokens: int,
    learning_rate: float,
    figures: Mapping[str, Any] | None = None,
) -> Ownership:
    """One optimizer step done: the job's counters and a ``training_step`` event, in one commit.
    ``step`` is 1-based (the number of steps done); ``tokens`` those this step trained on,
    ``processed_tokens`` those it sent to Tinker (what Tinker bills); ``figures`` an RL step's
    reward figures, added to the event."""
    now = utcnow()
    with serialized_writes(session):
        seq, owned = _ownership(
            session,
            job_id,
            worker_id,
            step=step,
            loss=loss,
            trained_tokens=Job.trained_tokens + tokens,
            processed_tokens=Job.processed_tokens + processed_tokens,
            updated_at=now,
        )
        if owned is not Ownership.LOST:
            data = {
                "step": step,
                "loss": loss,
                "tokens": tokens,
                "processed_tokens": processed_tokens,
                "learning_rate": learning_rate,
                **(figures or {}),
            }
            _add_event(
                session, seq, _event(EventType.TRAINING_STEP, JobStatus.RUNNING, None, now, data)
            )
        session.commit()
    return owned


def trained_steps(session: Session, job: Job) -> dict[int, tuple[dict[str, Any], datetime]]:
    """Each trained step's ``training_step`` data and time, in step order. A step trained again
    after a resume from an earlier checkpoint has two events; the later one is what the adapter
    holds."""
    query = (
        select(JobEvent.data, JobEvent.created_at)
        .where(JobEvent.job_seq == job.seq, JobEvent.type == EventType.TRAINING_STEP.value)
        .order_by(JobEvent.id)
    )
    steps: dict[int, tuple[dict[str, Any], datetime]] = {}
    for data, created_at in session.execute(query):
        if data:
            steps[int(data["step"])] = (data, created_at)
    return dict(sorted(steps.items()))


def trained_tokens_through(session: Session, job: Job, step: int) -> int:
    """Tokens the adapter was trained on by its first ``step`` steps, as they were last trained:
    what a resumed RL run has done (its tokens depend on what it sampled, so only the record
    knows them)."""
    return sum(
        int(data["tokens"])
        for done, (data, _) in trained_steps(session, job).items()
        if done <= step
    )


def record_epoch(session: Session, *, job_id: str, worker_id: str, epoch: int) -> Ownership:
    """Epoch ``epoch`` (1-based) is done."""
    now = utcnow()
    with serialized_writes(session):
        seq, owned = _ownership(session, job_id, worker_id, epochs_completed=epoch, updated_at=now)
        if owned is not Ownership.LOST:
            event = _event(
                EventType.EPOCH_COMPLETE,
                JobStatus.RUNNING,
                f"Epoch {epoch} done",
                now,
                {"epoch": epoch},
            )
            _add_event(session, seq, event)
        session.commit()
    return owned


def record_checkpoint(
    session: Session,
    *,
    job_id: str,
    worker_id: str,
    checkpoint_id: str,
    checkpoint_type: str,
    step: int,
    tinker_path: str,
    size_bytes: int | None,
) -> Ownership:
    """A checkpoint Tinker saved: its row and a ``checkpoint_save`` event."""
    now = utcnow()
    with serialized_writes(session):
        seq, owned = _ownership(session, job_id, worker_id, updated_at=now)
        if owned is not Ownership.LOST:
            session.add(
                JobCheckpoint(
                    job_seq=seq,
                    checkpoint_id=checkpoint_id,
                    checkpoint_type=checkpoint_type,
                    step=step,
                    tinker_path=tinker_path,
                    size_bytes=size_bytes,
                    time=now,
                )
            )
            data = {"step": step, "checkpoint_type": checkpoint_type, "tinker_path": tinker_path}
            message = f"Saved {checkpoint_type} checkpoint {checkpoint_id} at step {step}"
            _add_event(
                session,
                seq,
                _event(EventType.CHECKPOINT_SAVE, JobStatus.RUNNING, message, now, data),
            )
        session.commit()
    return owned


def _finish(
    session: Session,
    job: Job,
    status: JobStatus,
    now: datetime,
    *,
    error: tuple[str, str] | None = None,
    message: str | None = None,
    cancel_reason: CancelReason | None = None,
) -> None:
    job.status = status.value
    job.finished_at = now
    job.updated_at = now
    if error is not None:
        job.error_type, job.error_message = error[0], error[1][:MAX_ERROR_MESSAGE]
    kinds = {
        JobStatus.COMPLETED: EventType.JOB_COMPLETE,
        JobStatus.FAILED: EventType.JOB_ERROR,
        JobStatus.CANCELLED: EventType.JOB_CANCELLED,
    }
    text = job.error_message if error is not None else message
    data: dict[str, Any] | None = None
    if error is not None:
        data = {"error_type": job.error_type}
    elif cancel_reason is not None:
        job.cancel_reason = cancel_reason.value
        data = {"reason": cancel_reason.value}
    _add_event(session, job.seq, _event(kinds[status], status, text, now, data))


def _finish_owned(
    session: Session,
    job_id: str,
    worker_id: str,
    status: JobStatus,
    *,
    error: tuple[str, str] | None = None,
    message: str | None = None,
    sampler_path: str | None = None,
    cancel_reason: CancelReason | None = None,
    then: Callable[[Job, datetime], str | None] | None = None,
) -> bool:
    """Finish the job if it is still this worker's; ``then`` adds to the same transaction what
    the finish makes (a completed job's model) and returns the words it adds to the message."""
    now = utcnow()
    with serialized_writes(session):
        job = session.scalars(
            select(Job).where(_owned(job_id, worker_id)).with_for_update()
        ).one_or_none()
        if job is None:
            session.rollback()
            return False
        if sampler_path is not None:
            job.sampler_path = sampler_path
        if then is not None:
            added = then(job, now)
            message = message if added is None else f"{message}; {added}"
        _finish(
            session, job, status, now, error=error, message=message, cancel_reason=cancel_reason
        )
        session.commit()
    return True


def complete(
    session: Session, *, job_id: str, worker_id: str, sampler_path: str, training_checkpoint: str
) -> bool:
    """The run finished: the trained adapter's sampler path, ``completed``, and the owner's new
    model (``app.storage.models``), in one commit, so a completed job always has its model.
    False if the job was no longer this worker's."""
    from app.storage.models import create_for_job

    def make_model(job: Job, now: datetime) -> str:
        model = create_for_job(
            session,
            job,
            training_checkpoint=training_checkpoint,
            sampler_path=sampler_path,
            now=now,
        )
        job.model_id = model.id
        return f"it is your model {model.id} ({model.name}, revision {model.revision})"

    return _finish_owned(
        session,
        job_id,
        worker_id,
        JobStatus.COMPLETED,
        sampler_path=sampler_path,
        message=f"Training finished; the adapter is at {sampler_path}",
        then=make_model,
    )


def fail(session: Session, *, job_id: str, worker_id: str, error_type: str, message: str) -> bool:
    """The run failed for a reason with a stable ``error_type`` and a human message."""
    return _finish_owned(session, job_id, worker_id, JobStatus.FAILED, error=(error_type, message))


def finish_cancelled(
    session: Session,
    *,
    job_id: str,
    worker_id: str,
    step: int,
    reason: CancelReason = CancelReason.USER,
    why: str | None = None,
    sampler_path: str | None = None,
) -> bool:
    """The worker stopped a job, because its owner cancelled it or (``reason`` budget, ``why``
    saying how) because its next step would take its spend over its cap; its checkpoints
    stay, and ``sampler_path`` is the weights it trained, when the worker saved them."""
    stopped = f"Cancelled at step {step}" if why is None else f"Stopped at step {step}: {why}"
    kept = "the checkpoints saved so far are kept"
    if step == 0:
        kept = "nothing was trained"
    elif sampler_path is not None:
        kept = f"its weights at step {step} are saved to sample from ({sampler_path})"
    return _finish_owned(
        session,
        job_id,
        worker_id,
        JobStatus.CANCELLED,
        message=f"{stopped}; {kept}",
        cancel_reason=reason,
        sampler_path=sampler_path,
    )


def queue_position(session: Session, job: Job) -> int | None:
    """How many queued jobs are ahead of this one (0: next); None unless the job is queued.
    Workers take jobs, SFT and RL alike, in creation order, so this is the job's place."""
    if job.status != JobStatus.QUEUED.value:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.status == JobStatus.QUEUED.value, Job.seq < job.seq)
    )
    return int(ahead or 0)


def list_events(session: Session, job: Job, *, after: int | None, limit: int) -> Sequence[JobEvent]:
    """The job's events oldest first; with ``after``, only those newer than that event id."""
    query = select(JobEvent).where(JobEvent.job_seq == job.seq)
    if after is not None:
        query = query.where(JobEvent.id > after)
    return session.scalars(query.order_by(JobEvent.id).limit(limit)).all()


def list_checkpoints(session: Session, job: Job) -> Sequence[JobCheckpoint]:
    """The job's checkpoints, oldest first."""
    return session.scalars(
        select(JobCheckpoint).where(JobCheckpoint.job_seq == job.seq).order_by(JobCheckpoint.id)
    ).all()
