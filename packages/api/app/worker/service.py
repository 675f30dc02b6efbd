"""The worker process: a durable queue of jobs on DBOS Transact, fed from the jobs table.

Why DBOS: it keeps its queue and workflow state in the stores we already run (a SQLite file
beside ours, or our PostgreSQL, schema ``dbos``), admits exactly one runner per queued workflow
(its dequeue is one atomic ENQUEUED → PENDING update), limits how many run per worker
(``worker_concurrency``), and re-enqueues a worker's unfinished workflows when it restarts under
the same executor id. What it does not do alone, taking over the jobs of a worker that never
comes back, this module adds with heartbeats (``app.storage.workers``): a worker silent for a
lease is dead, one live worker wins the right to put its unfinished workflows back on the
queue, and DBOS hands each to exactly one runner again. Should the "dead" worker be alive after
all (a long pause), ``app.storage.job_state``'s ownership fence stops it at its next write.

The API writes only the jobs table (it does not depend on DBOS). Each worker polls it for queued
supervised jobs, oldest first, and enqueues each under the workflow id ``job-<id>``: the id is
the deduplication, so several workers enqueueing one job make one workflow. The workflow itself
is one call, ``run_job``: the job's progress lives in our own tables (steps, checkpoints), which
is what a resumed attempt reads, so DBOS need not record every step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app import __version__
from app.core.config import Settings, sqlite_path
from app.core.db import Database, is_unavailable
from app.models import Job
from app.schemas import JobStatus
from app.storage import workers
from app.worker.train import WorkerContext, run_job

__all__ = ["QUEUE_NAME", "WorkerService", "dbos_database_url"]

logger = logging.getLogger("app.worker")

#: The DBOS queue every worker takes supervised jobs from.
QUEUE_NAME = "training-sft"
#: The DBOS queue of datasets whose tokens are to be counted.
COUNTING_QUEUE = "dataset-tokens"
#: Seconds between two looks at the jobs table for new queued jobs, and DBOS's own queue poll:
#: a job starts about this long after its creation on an idle worker; the query is one indexed
#: read, so twice a second costs nothing.
POLL_SECONDS = 0.5
#: Jobs enqueued per poll at most: a burst of creations is taken in slices.
POLL_BATCH = 50

#: This process's worker context, set as it starts: a workflow's only argument is the job's id,
#: so that DBOS stores (and a recovering worker reads) nothing but that.
_CONTEXT: dict[str, WorkerContext] = {}


#: Seconds between two tries of a job whose attempt met an unavailable database: doubling from
#: the first to the last, so a database back within seconds costs seconds, and one down for
#: long is asked about twice a minute.
DATABASE_RETRY_SECONDS = (1.0, 30.0)


def _while_the_database_is_down(what: str, run: Callable[[], None]) -> None:
    """``run`` until it ends without the database failing under it, waiting between tries
    (doubling from the first wait to the last). Were a workflow to end in error instead, what
    it runs would stay queued, running or pending with no workflow left (its id is taken)."""
    delay, longest = DATABASE_RETRY_SECONDS
    while True:
        try:
            run()
        except Exception as err:
            if not is_unavailable(err):
                raise
            logger.warning(
                "%s: the database is unavailable (%s); again in %.0f s", what, err, delay
            )
            time.sleep(delay)
            delay = min(delay * 2, longest)
        else:
            return


def _worker() -> WorkerContext:
    if "worker" not in _CONTEXT:
        raise RuntimeError("the worker is not started")
    return _CONTEXT["worker"]


def _train_job(job_id: str) -> None:
    """The workflow body: attempts at the job (see ``app.worker.train``) until one ends without
    the database failing under it."""
    ctx = _worker()
    _while_the_database_is_down(f"job {job_id}", lambda: run_job(job_id, ctx))


def _count_tokens(dataset_id: str) -> None:
    """The workflow body counting a dataset's tokens (``app.worker.token_counts``): retried
    while the database is unavailable, as a job is; any other failure is recorded on the
    dataset (``failed``), never left ``pending`` with its workflow id taken."""
    from app.worker import token_counts

    ctx = _worker()

    def count() -> None:
        try:
            token_counts.count_dataset(dataset_id, ctx)
        except Exception as err:
            if is_unavailable(err):
                raise
            logger.exception("dataset %s: its tokens could not be counted", dataset_id)
            token_counts.record_failure(ctx, dataset_id, f"the tokens could not be counted: {err}")

    _while_the_database_is_down(f"dataset {dataset_id}", count)


def dbos_database_url(settings: Settings) -> str:
    """Where DBOS keeps its queue: our PostgreSQL itself (its own ``dbos`` schema), or a SQLite
    file beside ours (SQLite has one writer at a time, and DBOS polls its queue often: in a
    file of its own that polling never waits behind our writes)."""
    path = sqlite_path(settings.database_url)
    if path is None:
        return settings.database_url
    return f"sqlite:///{path.with_name(path.name + '.dbos')}"


@dataclass
class WorkerService:
    """One worker process: DBOS launched, the dispatcher and heartbeat threads running."""

    ctx: WorkerContext
    concurrency: int
    stopping: threading.Event

    def run(self) -> None:
        """Serve until ``stopping`` is set."""
        from dbos import DBOS, DBOSConfig

        _CONTEXT["worker"] = self.ctx
        config: DBOSConfig = {
            "name": "dreadnode-training",
            "system_database_url": dbos_database_url(self.ctx.settings),
            "executor_id": self.ctx.worker_id,
            # One version for every worker of a release, so any of them may recover another's
            # workflows; DBOS would otherwise derive it from the code's hash.
            "application_version": __version__,
            "dbos_system_schema": self.ctx.settings.worker_queue_schema,
            "log_level": "WARNING",
        }
        DBOS(config=config)
        workflow = DBOS.workflow(name="train_job", max_recovery_attempts=None)(_train_job)
        counting = DBOS.workflow(name="count_tokens", max_recovery_attempts=None)(_count_tokens)
        DBOS.launch()
        queue = DBOS.register_queue(
            QUEUE_NAME,
            worker_concurrency=self.concurrency,
            polling_interval_sec=POLL_SECONDS,
        )
        # One count at a time per worker: counting is CPU work beside the jobs' network waits.
        counts = DBOS.register_queue(
            COUNTING_QUEUE, worker_concurrency=1, polling_interval_sec=POLL_SECONDS
        )
        self._beat()
        beats = threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)
        beats.start()
        logger.info("worker %s ready (concurrency %d)", self.ctx.worker_id, self.concurrency)
        try:
            self._dispatch((queue, workflow, self._queued_jobs, "job"),
                           (counts, counting, self._pending_datasets, "tokens"))  # fmt: skip
        finally:
            DBOS.destroy(workflow_completion_timeout_sec=0)

    def _dispatch(self, *feeds: tuple[Any, Any, Any, str]) -> None:
        """Enqueue what each feed's query finds (queue, workflow, query, id prefix): the query
        gives (key, argument) pairs, each enqueued under the workflow id ``<prefix>-<key>``:
        several workers enqueueing one item make one workflow."""
        from dbos import SetWorkflowID

        enqueued: set[str] = set()
        while not self.stopping.is_set():
            for queue, workflow, waiting, prefix in feeds:
                try:
                    for key, argument in waiting():
                        workflow_id = f"{prefix}-{key}"
                        if workflow_id in enqueued:
                            continue
                        with SetWorkflowID(workflow_id):
                            queue.enqueue(workflow, argument)
                        enqueued.add(workflow_id)
                except Exception:
                    logger.exception("could not read or enqueue %s work; trying again", prefix)
            self.stopping.wait(POLL_SECONDS)

    def _queued_jobs(self) -> list[tuple[str, str]]:
        query = (
            select(Job.id)
            .where(Job.status == JobStatus.QUEUED.value)
            .order_by(Job.seq)
            .limit(POLL_BATCH)
        )
        with self.ctx.db.session() as session:
            return [(job_id, job_id) for job_id in session.scalars(query)]

    def _pending_datasets(self) -> list[tuple[str, str]]:
        from app.worker.token_counts import pending_datasets

        return pending_datasets(self.ctx, POLL_BATCH)

    def _beat(self) -> None:
        with self.ctx.db.session() as session:
            workers.beat(session, worker_id=self.ctx.worker_id, concurrency=self.concurrency)

    def _heartbeats(self) -> None:
        """Beat every third of the lease; recover the jobs of workers whose lease ran out."""
        from dbos import DBOS

        lease = timedelta(seconds=self.ctx.settings.worker_lease_seconds)
        while not self.stopping.wait(lease.total_seconds() / 3):
            try:
                self._beat()
                with self.ctx.db.session() as session:
                    dead = workers.stale_workers(session, lease=lease, but=self.ctx.worker_id)
                for worker_id in dead:
                    with self.ctx.db.session() as session:
                        won = workers.take_over(session, worker_id=worker_id, lease=lease)
                    if won:
                        self._recover(DBOS, worker_id)
            except Exception:
                logger.exception("heartbeat failed; trying again")

    def _recover(self, dbos: Any, worker_id: str) -> None:
        """Put a dead worker's unfinished jobs back on the queue, each to be run by exactly one
        worker (DBOS's dequeue); they resume from their last checkpoints."""
        pending = dbos.list_workflows(
            status="PENDING", executor_id=worker_id, load_input=False, load_output=False
        )
        for status in pending:
            dbos.resume_workflow(status.workflow_id, queue_name=QUEUE_NAME)
        logger.warning("worker %s is silent; resumed its %d jobs", worker_id, len(pending))


def make_context(
    settings: Settings, *, worker_id: str, base_url: str | None, api_key: str
) -> WorkerContext:
    """The context every attempt of this worker shares."""
    return WorkerContext(
        worker_id=worker_id,
        db=Database(settings.database_url),
        settings=settings,
        tinker_base_url=base_url,
        tinker_api_key=api_key,
    )
