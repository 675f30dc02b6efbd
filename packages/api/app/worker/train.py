"""One attempt at one job: claim it, read and render its rows, train step by step on Tinker from
its last checkpoint, and finish it, recording every transition through ``app.storage.job_state``.

Where a run can fail, it fails as early and as cheaply as it can: a model without a renderer, a
bad or missing dataset, or a row longer than the model's context fails the job before the first
Tinker call, naming the line. Tinker's transient errors are retried (``tinker_calls``); a
permanent one fails the job with Tinker's message. Anything unexpected fails the job as
``internal_error`` with the exception's type, never with a traceback (the log has that).

A job on one of the owner's models (``start_checkpoint`` set) starts from that model's training
checkpoint, its weights only: the new job's optimizer starts afresh, as its schedule does. A
completed job leaves the owner a model (``job_state.complete``) whose training checkpoint is the
run's last.

Durability comes from checkpoints: every ``checkpoint_every_steps`` steps a training checkpoint
(weights and optimizer state) is saved on Tinker and recorded here. A later attempt, on this
worker or another, rebuilds the same plan and resumes from the latest training checkpoint, so a
crash costs at most the steps since it.

A job with a ``max_cost_usd`` is held to it here, at the train rate known at its creation. Once
the rows are rendered the whole run's tokens are known: a run that would cost more than the cap
ends ``cancelled`` (reason ``budget``) before its first Tinker call, as creation refuses one whose
estimate is over it (a job created while its dataset's tokens were still being counted had no
estimate then). During the run, each step is priced before it is sent, and the job stops rather
than take its spend over the cap, keeping what it trained. Spend counts every token sent, steps
trained again after a crash included (Tinker bills them again), which is how a resumed run can
reach its cap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.config import Settings
from app.core.db import Database, is_unavailable
from app.models import Job
from app.schemas import CancelReason, JobMethod
from app.storage import job_state
from app.storage.job_state import Ownership
from app.training.catalog import get_training_model
from app.training.estimates import dollars
from app.training.money import usd
from app.worker.dataset import DatasetUnusableError, read_rows
from app.worker.plan import Step, TrainingPlan, make_plan
from app.worker.tinker_calls import (
    TinkerRequestError,
    TinkerSession,
    TinkerUnavailableError,
    mean_loss,
)

if TYPE_CHECKING:
    from app.worker.rendering import RowRenderer
    from app.worker.rl import RLPrompt, RLSettings, StepResult

__all__ = ["JobFailedError", "WorkerContext", "run_job"]

logger = logging.getLogger("app.worker")


@dataclass(frozen=True)
class WorkerContext:
    """What every attempt needs: who the worker is, the database, settings, and Tinker."""

    worker_id: str
    db: Database
    settings: Settings
    tinker_base_url: str | None
    tinker_api_key: str


class JobFailedError(Exception):
    """The job cannot go on; it fails with a stable type and this message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def run_job(job_id: str, ctx: WorkerContext) -> None:
    """Run one attempt at the job, whatever its state: a job already finished or cancelled is
        left alone, a job whose runner died resumes from its last checkpoint. The database being
    unavailable is raised, never recorded as the job's failure (it could not be recorded anyway)."""
    with ctx.db.session() as session:
        claimed = job_state.claim(
            session,
            job_id=job_id,
            worker_id=ctx.worker_id,
            max_attempts=ctx.settings.job_max_attempts,
        )
    if claimed is None:
        return
    try:
        _run(claimed.job, ctx)
    except JobFailedError as err:
        _fail(ctx, job_id, err.error_type, err.message)
    except Exception as err:
        if is_unavailable(err):
            raise  # not the job's fault: the attempt is made again once the database answers
        logger.exception("job %s failed unexpectedly", job_id)
        message = f"The worker failed unexpectedly ({type(err).__name__}); the team has the details"
        _fail(ctx, job_id, "internal_error", message)


def _fail(ctx: WorkerContext, job_id: str, error_type: str, message: str) -> None:
    with ctx.db.session() as session:
        job_state.fail(
            session, job_id=job_id, worker_id=ctx.worker_id, error_type=error_type, message=message
        )


@dataclass
class _PreparedRL:
    """An RL run's plan (its rows are prompts), the prompts, the renderer and the settings."""

    plan: TrainingPlan
    prompts: list[RLPrompt]
    renderer: RowRenderer
    settings: RLSettings


@dataclass
class _Prepared:
    """The run's plan, and per dataset row: its datums (a row may render to several
    sequences), their shifted loss weights, how many tokens it trains on and how many it sends
    (every token of its sequences: what Tinker bills)."""

    plan: TrainingPlan
    datums: list[list[Any]] = field(default_factory=list)
    weights: list[list[list[float]]] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)


def _rows_and_renderer(job: Job, ctx: WorkerContext) -> tuple[list[Any], RowRenderer, int]:
    """The job's rows, its model's renderer and the longest sequence it allows."""
    model = get_training_model(job.catalog_model, on=job.created_at.date())
    renderer_name = None if model is None else model.renderer
    if model is None or renderer_name is None:
        raise JobFailedError(
            "no_renderer", f"No renderer turns {job.catalog_model}'s chats into tokens"
        )
    try:
        with ctx.db.session() as session:
            _, rows = read_rows(session, job, ctx.settings)
    except DatasetUnusableError as problem:
        raise JobFailedError(problem.error_type, problem.message) from problem
    from app.worker.rendering import get_row_renderer

    renderer = get_row_renderer(renderer_name, job.catalog_model)
    limit = job.hyperparameters.get("max_sequence_length") or model.context_length
    return rows, renderer, min(limit, model.context_length)


def _too_long(job: Job, line: int, tokens: int, limit: int, what: str = "") -> JobFailedError:
    return JobFailedError(
        "row_too_long",
        f"Line {line} is {tokens:,} tokens{what} with {job.catalog_model}'s renderer, more than "
        f"the {limit:,} the job allows; shorten or remove it",
    )


def _prepare(job: Job, ctx: WorkerContext) -> _Prepared:
    """Read, render and check every row; plan the run. No Tinker call yet."""
    rows, renderer, limit = _rows_and_renderer(job, ctx)
    from app.worker.rendering import RowRenderError, to_datum

    prepared = _Prepared(plan=make_plan(job.id, len(rows), job.hyperparameters))
    for item in rows:
        try:
            sequences = renderer.render(item.row, item.line)
        except RowRenderError as err:
            raise JobFailedError("invalid_dataset", str(err)) from err
        row_datums: list[Any] = []
        row_weights: list[list[float]] = []
        for rendered in sequences:
            if len(rendered.tokens) > limit:
                raise _too_long(job, item.line, len(rendered.tokens), limit)
            row_datums.append(to_datum(rendered))
            row_weights.append(list(rendered.weights[1:]))
        prepared.datums.append(row_datums)
        prepared.weights.append(row_weights)
        prepared.tokens.append(sum(w > 0 for weights in row_weights for w in weights))
        prepared.sent.append(sum(len(rendered.tokens) for rendered in sequences))
    return prepared


def _prepare_rl(job: Job, ctx: WorkerContext) -> _PreparedRL:
    """Read and render every prompt, and check that each row carries what the grader reads and
    leaves room for a completion. No Tinker call yet."""
    from app.training.graders import GradingError, parse_grader
    from app.worker.rendering import RowRenderError
    from app.worker.rl import RLPrompt, RLSettings

    if job.grader is None:
        raise JobFailedError("invalid_grader", "The RL job has no grader")
    grader = parse_grader(job.grader)
    settings = RLSettings.of(job.id, job.algorithm, job.hyperparameters, grader)
    rows, renderer, limit = _rows_and_renderer(job, ctx)
    prompts: list[RLPrompt] = []
    for item in rows:
        try:
            grader.score("", item.row)
        except GradingError as err:
            raise JobFailedError(
                "invalid_dataset", f"Line {item.line}: {err}, which the grader reads"
            ) from err
        try:
            tokens = renderer.render_prompt(item.row, item.line)
        except RowRenderError as err:
            raise JobFailedError("invalid_dataset", str(err)) from err
        if len(tokens) + settings.max_tokens > limit:
            what = f" plus max_tokens {settings.max_tokens:,}"
            raise _too_long(job, item.line, len(tokens) + settings.max_tokens, limit, what)
        prompts.append(RLPrompt(row=item.row, line=item.line, tokens=tokens))
    plan = make_plan(job.id, len(prompts), job.hyperparameters, steps_set_length=True)
    return _PreparedRL(plan=plan, prompts=prompts, renderer=renderer, settings=settings)


def _run(job: Job, ctx: WorkerContext) -> None:
    if job.cancel_requested_at is not None:
        _cancelled(ctx, job.id, job.step)
        return
    prepared: _Prepared | _PreparedRL = (
        _prepare_rl(job, ctx) if job.method == JobMethod.RL else _prepare(job, ctx)
    )
    plan = prepared.plan
    with ctx.db.session() as session:
        resume = job_state.latest_training_checkpoint(session, job)
        start = 0 if resume is None else resume.step
        trained = (
            job_state.trained_tokens_through(session, job, start)
            if isinstance(prepared, _PreparedRL)
            else plan.trained_tokens_before(start, prepared.tokens)
        )
    with ctx.db.session() as session:
        owned = job_state.set_plan(
            session,
            job_id=job.id,
            worker_id=ctx.worker_id,
            total_steps=plan.total_steps,
            step=start,
            trained_tokens=trained,
            epochs_completed=plan.epochs_before(start),
        )
    if _stop(ctx, job.id, owned, start):
        return
    if isinstance(prepared, _Prepared):
        remaining = sum(prepared.sent[row] for step in plan.steps[start:] for row in step.rows)
        what = "the run" if start == 0 else f"the rest of the run, from step {start},"
        over = _Budget.of(job).refuses(remaining, what)
        if over is not None:
            _cancelled(ctx, job.id, start, reason=CancelReason.BUDGET, why=over)
            return
    tinker = _connect(ctx)
    try:
        if resume is None and job.start_checkpoint is not None:
            tinker.start_from(job.start_checkpoint)  # trained on top of one of the owner's models
        elif resume is None:
            tinker.start(base_model=job.base_model, rank=int(job.hyperparameters["lora_rank"]))
        else:
            tinker.resume(resume.tinker_path)
        _train(job, ctx, tinker, prepared, start)
    except TinkerUnavailableError as err:
        raise JobFailedError("tinker_unavailable", str(err)) from err
    except TinkerRequestError as err:
        raise JobFailedError("tinker_error", str(err)) from err


def _connect(ctx: WorkerContext) -> TinkerSession:
    return TinkerSession.connect(base_url=ctx.tinker_base_url, api_key=ctx.tinker_api_key)


@dataclass
class _Budget:
    """A job's cap and its spend so far, at the train rate known at its creation."""

    cap: float | None
    usd_per_million: float | None
    sent: int

    @classmethod
    def of(cls, job: Job) -> _Budget:
        rate = (job.cost_estimate or {}).get("train_usd_per_million")
        return cls(cap=job.max_cost_usd, usd_per_million=rate, sent=job.processed_tokens or 0)

    def refuses(self, tokens: int, what: str = "its next step") -> str | None:
        """Why sending ``tokens`` more (``what`` sends them) would break the cap, or None."""
        if self.cap is None or self.usd_per_million is None:
            return None
        spent = usd(self.sent, self.usd_per_million)
        after = usd(self.sent + tokens, self.usd_per_million)
        if after <= self.cap:
            return None
        return (
            f"{what} sends {tokens:,} tokens, which would take its spend from "
            f"{dollars(spent)} to {dollars(after)}, over its max_cost_usd {dollars(self.cap)}"
        )


def _sft_step(
    tinker: TinkerSession, prepared: _Prepared, step: Step, rate: float, budget: _Budget
) -> StepResult:
    """One supervised step: the step's rows' datums, trained with cross-entropy."""
    from app.worker.rl import StepResult

    sent = sum(prepared.sent[row] for row in step.rows)
    over = budget.refuses(sent)
    if over is not None:
        return StepResult(loss=0.0, tokens=0, sent=0, figures={}, over_budget=over)
    datums = [datum for row in step.rows for datum in prepared.datums[row]]
    output = tinker.train_step(datums, learning_rate=rate)
    loss = mean_loss(output, [weights for row in step.rows for weights in prepared.weights[row]])
    tokens = sum(prepared.tokens[row] for row in step.rows)
    return StepResult(loss=loss, tokens=tokens, sent=sent, figures={})


def _rl_step(
    tinker: TinkerSession, prepared: _PreparedRL, index: int, rate: float, budget: _Budget
) -> StepResult:
    from app.worker.rl import rl_step

    return rl_step(
        tinker,
        prepared.settings,
        prepared.renderer,
        [prepared.prompts[row] for row in prepared.plan.steps[index].rows],
        step=index,
        learning_rate=rate,
        refuses=budget.refuses,
    )


def _train(
    job: Job,
    ctx: WorkerContext,
    tinker: TinkerSession,
    prepared: _Prepared | _PreparedRL,
    start: int,
) -> None:
    plan = prepared.plan
    every = ctx.settings.checkpoint_every_steps
    budget = _Budget.of(job)
    for index in range(start, plan.total_steps):
        step = plan.steps[index]
        rate = plan.learning_rate_at(index)
        if isinstance(prepared, _PreparedRL):
            result = _rl_step(tinker, prepared, index, rate, budget)
        else:
            result = _sft_step(tinker, prepared, step, rate, budget)
        if result.over_budget is not None:
            _stop_for_budget(ctx, job, tinker, index, start=start, why=result.over_budget)
            return
        budget.sent += result.sent
        done = index + 1
        with ctx.db.session() as session:
            owned = job_state.record_step(
                session,
                job_id=job.id,
                worker_id=ctx.worker_id,
                step=done,
                loss=result.loss,
                tokens=result.tokens,
                processed_tokens=result.sent,
                learning_rate=rate,
                figures=result.figures,
            )
            if owned is Ownership.OWNED and step.ends_epoch:
                owned = job_state.record_epoch(
                    session, job_id=job.id, worker_id=ctx.worker_id, epoch=step.epoch
                )
        if _stop(ctx, job.id, owned, done):
            return
        if done % every == 0 and done < plan.total_steps:
            _checkpoint(ctx, job, tinker, done, "training")
    training_path = _checkpoint(ctx, job, tinker, plan.total_steps, "training")
    sampler_path = _checkpoint(ctx, job, tinker, plan.total_steps, "sampler")
    with ctx.db.session() as session:
        job_state.complete(
            session,
            job_id=job.id,
            worker_id=ctx.worker_id,
            sampler_path=sampler_path,
            training_checkpoint=training_path,
        )


def _stop_for_budget(
    ctx: WorkerContext, job: Job, tinker: TinkerSession, step: int, *, start: int, why: str
) -> None:
    """End the job ``cancelled`` (reason budget) before ``step`` + 1, keeping what was paid for:
    the steps done are checkpointed (unless a checkpoint at ``step`` exists already: this
    attempt resumed there, or saved one on the way) and their weights saved to sample from."""
    sampler_path = None
    if step > 0:
        if step != start and step % ctx.settings.checkpoint_every_steps != 0:
            _checkpoint(ctx, job, tinker, step, "training")
        sampler_path = _checkpoint(ctx, job, tinker, step, "sampler")
    _cancelled(ctx, job.id, step, reason=CancelReason.BUDGET, why=why, sampler_path=sampler_path)


def _checkpoint(ctx: WorkerContext, job: Job, tinker: TinkerSession, step: int, kind: str) -> str:
    name = f"step-{step:06d}" if kind == "training" else f"sampler-step-{step:06d}"
    path = tinker.save_state(name) if kind == "training" else tinker.save_sampler(name)
    with ctx.db.session() as session:
        job_state.record_checkpoint(
            session,
            job_id=job.id,
            worker_id=ctx.worker_id,
            checkpoint_id=name,
            checkpoint_type=kind,
            step=step,
            tinker_path=path,
            size_bytes=None,
        )
    return path


def _stop(ctx: WorkerContext, job_id: str, owned: Ownership, step: int) -> bool:
    """Whether to stop here: the owner cancelled (the job ends ``cancelled``), or the job is no
    longer this worker's (another took it over, or it ended): then nothing more is written."""
    if owned is Ownership.CANCEL_REQUESTED:
        _cancelled(ctx, job_id, step)
        return True
    return owned is Ownership.LOST


def _cancelled(
    ctx: WorkerContext,
    job_id: str,
    step: int,
    *,
    reason: CancelReason = CancelReason.USER,
    why: str | None = None,
    sampler_path: str | None = None,
) -> None:
    with ctx.db.session() as session:
        job_state.finish_cancelled(
            session,
            job_id=job_id,
            worker_id=ctx.worker_id,
            step=step,
            reason=reason,
            why=why,
            sampler_path=sampler_path,
        )
