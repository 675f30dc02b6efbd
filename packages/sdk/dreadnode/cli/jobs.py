"""``dn train jobs list|get|cancel|events|watch``: the caller's own jobs on the API.

Tables for people, ``--json`` for scripts (the API's answer as it came). ``get`` shows how far a
job has come (and, on a terminal, its loss curve as a sparkline; for an RL job its grader, what a
step samples, and its latest rewards and their curve in place of the loss), its checkpoints, the
trained adapter and why it failed; and its money: the estimate, what it has spent against its
cap, and whether its budget stopped it. ``events --follow`` and ``watch`` follow a job to its end
(``dreadnode.cli.watch``). ``cancel`` asks before it acts on a terminal, and refuses without
``--yes`` when nobody is there to ask (exit 2), so a script never cancels a job by accident.
Answering no is not a failure: the user got what they chose (exit 0, "not cancelled"). A
running job is not stopped at once: it stops at its next step, which ``cancel`` says.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from dreadnode.cli.api import add_server_arguments, api_client
from dreadnode.cli.contract import JOB_STATUSES
from dreadnode.cli.costs import cost_fields
from dreadnode.cli.errors import UsageError
from dreadnode.cli.output import (
    MAX_LIMIT,
    SPARK_BLOCKS,
    can_show,
    format_adapter,
    format_duration,
    format_size,
    format_usd,
    format_value,
    format_when,
    page_footer,
    printable,
    sparkline,
    write_json,
    write_table,
)
from dreadnode.cli.parsing import bounded_int
from dreadnode.cli.rl import describe_grader, describe_rewards, describe_sampling, format_reward
from dreadnode.cli.watch import add_interval_argument, describe_event, follow, read_all_events

if TYPE_CHECKING:
    from dreadnode.client import Client, Job, MetricPoint

__all__ = ["add_jobs_parser"]

#: How many of the latest steps the loss sparkline of ``get`` draws.
SPARK_POINTS: Final = 40
#: How many checkpoints ``get`` lists (the latest); ``--json`` has them all.
SHOWN_CHECKPOINTS: Final = 10


def add_jobs_parser(commands: Any) -> None:
    """Register ``jobs`` and its subcommands under ``dn train``."""
    jobs = commands.add_parser(
        "jobs",
        help="list, inspect, follow and cancel your jobs",
        description="Your training jobs.",
    )
    actions = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="your jobs, newest first")
    listing.add_argument("--status", choices=JOB_STATUSES, help="only jobs in this state")
    listing.add_argument(
        "--limit",
        type=bounded_int(1, MAX_LIMIT),
        default=20,
        help=f"how many jobs to show, 1-{MAX_LIMIT} (default 20)",
    )
    listing.set_defaults(handler=run_list)

    get = actions.add_parser("get", help="one job")
    get.add_argument("job_id", metavar="ID")
    get.set_defaults(handler=run_get)

    cancel = actions.add_parser("cancel", help="cancel a job that has not finished")
    cancel.add_argument("job_id", metavar="ID")
    cancel.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    cancel.set_defaults(handler=run_cancel)

    events = actions.add_parser("events", help="a job's history, oldest first")
    events.add_argument("job_id", metavar="ID")
    events.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="go on printing new events as they come until the job finishes (exit 0 when it "
        "completed, 1 when it failed or was cancelled); --json prints one JSON object a line",
    )
    add_interval_argument(events)
    events.set_defaults(handler=run_events)

    watch = actions.add_parser(
        "watch",
        help="follow a job to its end",
        description="Follow a job to its end: a progress bar on a terminal, one line per event "
        "elsewhere. Exit 0 when it completed, 1 when it failed or was cancelled; Ctrl-C stops "
        "watching, not the job.",
    )
    watch.add_argument("job_id", metavar="ID")
    add_interval_argument(watch)
    watch.set_defaults(handler=run_watch)

    for action in (listing, get, cancel, events):
        action.add_argument("--json", action="store_true", help="print the API's answer as JSON")
        add_server_arguments(action)
    watch.add_argument(
        "--json", action="store_true", help="print nothing until the end, then the job as JSON"
    )
    add_server_arguments(watch)


def run_list(args: argparse.Namespace) -> int:
    with api_client(args) as client:
        page = client.list_jobs(status=args.status, limit=args.limit)
    if args.json:
        write_json(page.model_dump(mode="json"))
        return 0
    rows = [
        (
            job.id,
            job.status,
            job.method,
            job.algorithm or "",
            job.base_model,
            job.name or "",
            format_when(job.created_at),
        )
        for job in page.jobs
    ]
    if not rows:
        sys.stdout.write("No jobs" + (f" with status {args.status}" if args.status else "") + ".\n")
        return 0
    header = ("id", "status", "method", "algorithm", "model", "name", "created")
    write_table(header, rows, no_wrap={"id"})
    sys.stdout.write(page_footer(len(rows), page.total) + "\n")
    return 0


def run_get(args: argparse.Namespace) -> int:
    _require_id(args)
    with api_client(args) as client:
        job = client.get_job(args.job_id)
        drawn = not args.json and sys.stdout.isatty() and can_show(SPARK_BLOCKS)
        # An RL job's latest rewards are on its curve only: read it into a pipe too.
        wanted = drawn or (not args.json and job.method == "rl")
        curve = _loss_curve(client, job) if wanted else []
    if args.json:
        write_json(job.model_dump(mode="json"))
        return 0
    knobs = ", ".join(
        f"{name}={format_value(value)}"
        + (" (default)" if name in job.defaulted_hyperparameters else "")
        for name, value in job.hyperparameters.items()
        if value is not None
    )
    fields = [
        ("id", job.id),
        ("name", job.name or ""),
        ("status", _status(job)),
        ("model", job.base_model),
        ("method", job.method),
        ("algorithm", job.algorithm or ""),
        ("dataset", job.dataset),
        ("tags", ", ".join(job.tags)),
        ("hyperparameters", knobs or "(defaults)"),
    ]
    if job.method == "rl":
        sampling = describe_sampling(job.hyperparameters, job.algorithm)
        if sampling is not None:
            fields.append(("each step", sampling))
    if job.grader is not None:
        fields.append(("grader", describe_grader(job.grader)))
    rank = job.hyperparameters.get("lora_rank")  # an older server's job may name none
    if rank is not None:
        fields.append(("adapter", format_adapter(job.adapter_parameters, rank)))
    fields += cost_fields(job)
    fields += [("created", format_when(job.created_at)), ("updated", format_when(job.updated_at))]
    fields += _run_fields(job, curve, drawn=drawn)
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        sys.stdout.write(f"{label:<{width}}  {printable(value)}\n")
        if label == "checkpoints":
            sys.stdout.write("".join(f"  {line}\n" for line in _checkpoint_table(job)))
    return 0


def _status(job: Job) -> str:
    """``queued (waiting for a worker; 2 jobs ahead)``, ``running (training: step 12 of 40)``,
    ``cancelled by budget (its next step would have taken its spend over the $1.00 cap)``."""
    status, notes = job.status, []
    if job.status == "cancelled" and job.cancel_reason:
        status += f" by {job.cancel_reason}"
        if job.cancel_reason == "budget":
            notes.append(_budget_stop(job))
    if job.status_message:
        notes.append(job.status_message)
    if job.queue_position is not None:
        ahead = job.queue_position
        notes.append("next in line" if ahead == 0 else f"{ahead:,} job{'s' * (ahead != 1)} ahead")
    return status + (f" ({'; '.join(notes)})" if notes else "")


def _budget_stop(job: Job) -> str:
    """Why a budget stops a job: the worker cancels it before sending what would take its spend
    over the cap (the whole run, before it starts, or the next step); the job's events say
    which, with the figures."""
    cap = "its cap" if job.max_cost_usd is None else f"the {format_usd(job.max_cost_usd)} cap"
    return f"going on would have taken its spend over {cap}"


def _run_fields(job: Job, curve: Sequence[MetricPoint], *, drawn: bool) -> list[tuple[str, str]]:
    """What the run has done so far: times, progress, tokens, loss (an RL job's rewards, when
    its curve has them), the curve as a sparkline (when ``drawn``), checkpoints, the adapter
    and the error; nothing for a job no worker has started."""
    fields: list[tuple[str, str]] = []
    if job.started_at is not None:
        fields.append(("started", format_when(job.started_at)))
    if job.finished_at is not None:
        finished = format_when(job.finished_at)
        if job.started_at is not None:
            took = (job.finished_at - job.started_at).total_seconds()
            finished += f" (after {format_duration(took)})"
        fields.append(("finished", finished))
    progress = job.progress
    if job.started_at is not None or progress.step:
        fields.append(("progress", _describe_progress(job)))
        fields.append(("trained tokens", f"{job.trained_tokens:,}"))
    rewarded = [(p.step, p.reward_mean, p) for p in curve if p.reward_mean is not None]
    if rewarded:
        step, _, latest = rewarded[-1]
        rewards = describe_rewards(latest.model_dump(), named=False)
        fields.append(("reward", f"{rewards} (step {step:,})"))
    elif job.loss is not None:
        fields.append(("loss", f"{_format_loss(job.loss)} (step {progress.step:,})"))
    if rewarded and drawn:
        (first_step, first_mean, _), (last_step, last_mean, _) = rewarded[0], rewarded[-1]
        fields.append(
            (
                "reward curve",
                f"{sparkline([mean for _, mean, _ in rewarded])}  steps {first_step:,}-"
                f"{last_step:,}: {format_reward(first_mean)} to {format_reward(last_mean)}",
            )
        )
    elif curve and drawn:
        first, last = curve[0], curve[-1]
        fields.append(
            (
                "loss curve",
                f"{sparkline([p.loss for p in curve])}  steps {first.step:,}-{last.step:,}: "
                f"{_format_loss(first.loss)} to {_format_loss(last.loss)}",
            )
        )
    if job.checkpoints:
        count = len(job.checkpoints)
        shown = "" if count <= SHOWN_CHECKPOINTS else f" (the latest {SHOWN_CHECKPOINTS})"
        fields.append(("checkpoints", f"{count:,}{shown}"))
    if job.sampler_path:
        fields.append(("sampler path", job.sampler_path))
    if job.model_id:
        fields.append(("trained model", f"{job.model_id} (dn train models get {job.model_id})"))
    if job.error is not None:
        fields.append(("error", f"{job.error.type}: {job.error.message}"))
    return fields


def _describe_progress(job: Job) -> str:
    """``step 12 of 40 (30%), 1 of 3 epochs done``; ``step 0 (total not known yet)``."""
    step, total = job.progress.step, job.progress.total_steps
    if total:
        text = f"step {step:,} of {total:,} ({step * 100 // total}%)"
    else:
        text = f"step {step:,} (total not known yet)"
    epochs = job.hyperparameters.get("epochs")
    done = job.progress.epochs_completed
    of = f" of {epochs}" if isinstance(epochs, int) else ""
    return f"{text}, {done}{of} epoch{'s' * (done != 1 or bool(of))} done"


def _format_loss(value: float) -> str:
    return f"{value:.4f}" if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"


def _loss_curve(client: Client, job: Job) -> list[MetricPoint]:
    """The latest ``SPARK_POINTS`` points of the job's loss curve (an RL job's carry its
    rewards); none before its first step, or from an older server that has no curve to give."""
    from dreadnode.client import NotFoundError

    if not job.progress.step and job.loss is None:
        return []
    try:
        points = client.get_job_metrics(job.id).points
    except NotFoundError:
        return []
    return points[-SPARK_POINTS:]


def _checkpoint_table(job: Job) -> list[str]:
    """The latest checkpoints, one line each under a header: step, type, when, size, path."""
    rows = [("step", "type", "saved", "size", "path")]
    for checkpoint in job.checkpoints[-SHOWN_CHECKPOINTS:]:
        size = "" if checkpoint.size_bytes is None else format_size(checkpoint.size_bytes)
        rows.append(
            (
                f"{checkpoint.step:,}",
                printable(checkpoint.checkpoint_type),
                format_when(checkpoint.time),
                size,
                printable(checkpoint.tinker_path),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for step, *middle, path in rows:
        cells = [step.rjust(widths[0])]
        cells += [cell.ljust(width) for cell, width in zip(middle, widths[1:-1], strict=True)]
        lines.append("  ".join([*cells, path]))
    return lines


def run_cancel(args: argparse.Namespace) -> int:
    _require_id(args)
    if not args.yes and not _confirm(f"Cancel job {args.job_id}? [y/N] "):
        sys.stderr.write("not cancelled\n")
        return 0
    with api_client(args) as client:
        job = client.cancel_job(args.job_id)
    if args.json:
        write_json(job.model_dump(mode="json"))
    elif job.status == "running":
        shown = printable(job.id)
        sys.stdout.write(
            f"cancel requested: job {shown} is running and stops at its next step "
            f"(follow it with: dn train jobs watch {shown})\n"
        )
    else:
        sys.stdout.write(f"cancelled job {printable(job.id)} (status: {printable(job.status)})\n")
    return 0


def run_events(args: argparse.Namespace) -> int:
    _require_id(args)
    if args.follow:
        return follow(args, args.job_id, events_only=True)
    with api_client(args) as client:
        events = read_all_events(client, args.job_id)
        total = None
        if not args.json and any(event.type == "training_step" for event in events):
            total = client.get_job(args.job_id).progress.total_steps  # for "step 12/40"
    if args.json:
        write_json({"events": [event.model_dump(mode="json") for event in events]})
        return 0
    rows = [
        (
            format_when(event.created_at),
            event.type,
            event.status or "",
            describe_event(event, total),
        )
        for event in events
    ]
    if not rows:
        sys.stdout.write("No events.\n")
        return 0
    write_table(("time", "event", "status", "message"), rows)
    return 0


def run_watch(args: argparse.Namespace) -> int:
    _require_id(args)
    return follow(args, args.job_id)


def _confirm(question: str) -> bool:
    """Ask on a terminal whether to go on; refuse (exit 2) when stdin is not one, since nobody
    can answer."""
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to cancel without confirmation: stdin is not a terminal; "
            "pass --yes to cancel anyway"
        )
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def _require_id(args: argparse.Namespace) -> None:
    """Refuse, before any request, an id no job can have: the API's ids are UUIDs, and a "/"
    would only reach a route that does not exist ("Not found", which says nothing useful)."""
    if not args.job_id.strip():
        raise UsageError("the job id must not be empty (see 'dn train jobs list')")
    if "/" in args.job_id:
        raise UsageError(
            f"{args.job_id!r} is not a job id: job ids never contain '/' "
            "(see 'dn train jobs list'; models are listed by 'dn train catalog')"
        )
