"""Training workers' heartbeats: who is alive, who is not.

A worker beats every third of the lease (``Settings.worker_lease_seconds``). The API reads the
table to tell a queued job's owner whether any worker runs at all; each worker reads it to find
workers whose lease ran out, whose jobs it then recovers (``app.worker.liveness``). Deleting a
dead worker's row is conditional on its heartbeat still being stale, so of several live workers
that notice one death, exactly one takes its jobs over. A worker that stops, cleanly or not,
leaves its row to go stale: its jobs are then recovered by whichever comes first, itself
restarted under the same id or another worker.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.core.db import serialized_writes
from app.models import Worker, utcnow

__all__ = ["beat", "count_live_workers", "stale_workers", "take_over"]


def beat(session: Session, *, worker_id: str, concurrency: int) -> None:
    """Record that the worker is alive now (inserting its row on its first beat)."""
    now = utcnow()
    with serialized_writes(session):
        updated = session.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(heartbeat_at=now)
            .returning(Worker.id)
        ).first()
        if updated is None:
            session.add(
                Worker(id=worker_id, started_at=now, heartbeat_at=now, concurrency=concurrency)
            )
        session.commit()


def count_live_workers(session: Session, *, lease: timedelta) -> int:
    """Workers whose heartbeat is within the lease."""
    cutoff = utcnow() - lease
    count = session.scalar(
        select(func.count()).select_from(Worker).where(Worker.heartbeat_at >= cutoff)
    )
    return int(count or 0)


def stale_workers(session: Session, *, lease: timedelta, but: str) -> list[str]:
    """Workers other than ``but`` whose heartbeat is older than the lease."""
    cutoff = utcnow() - lease
    query = select(Worker.id).where(Worker.heartbeat_at < cutoff, Worker.id != but)
    return list(session.scalars(query.order_by(Worker.heartbeat_at)))


def take_over(session: Session, *, worker_id: str, lease: timedelta) -> bool:
    """Remove a dead worker's row if its heartbeat is still stale; True for the one caller that
    removed it, which then recovers the dead worker's jobs."""
    cutoff = utcnow() - lease
    with serialized_writes(session):
        removed = session.execute(
            delete(Worker)
            .where(Worker.id == worker_id, Worker.heartbeat_at < cutoff)
            .returning(Worker.id)
        ).first()
        session.commit()
    return removed is not None
