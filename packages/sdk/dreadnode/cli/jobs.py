"""``dn train jobs list|get|cancel|events``: the caller's own jobs on the API.

Tables for people, ``--json`` for scripts (the API's answer as it came). ``cancel`` asks before it
acts on a terminal, and refuses without ``--yes`` when nobody is there to ask (exit 2), so a script
never cancels a job by accident. Answering no is not a failure: the user got what they chose
(exit 0, "not cancelled").
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import Any

from dreadnode.cli.api import add_server_arguments, api_client
from dreadnode.cli.contract import JOB_STATUSES
from dreadnode.cli.errors import UsageError
from dreadnode.cli.output import (
    MAX_LIMIT,
    format_adapter,
    format_value,
    page_footer,
    printable,
    write_json,
    write_table,
)
from dreadnode.cli.parsing import bounded_int

__all__ = ["add_jobs_parser"]


def add_jobs_parser(commands: Any) -> None:
    """Register ``jobs`` and its subcommands under ``dn train``."""
    jobs = commands.add_parser(
        "jobs", help="list, inspect and cancel your jobs", description="Your training jobs."
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
    events.set_defaults(handler=run_events)

    for action in (listing, get, cancel, events):
        action.add_argument("--json", action="store_true", help="print the API's answer as JSON")
        add_server_arguments(action)


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
            _when(job.created_at),
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
        ("status", job.status),
        ("model", job.base_model),
        ("method", job.method),
        ("algorithm", job.algorithm or ""),
        ("dataset", job.dataset),
        ("tags", ", ".join(job.tags)),
        ("hyperparameters", knobs or "(defaults)"),
        ("created", _when(job.created_at)),
        ("updated", _when(job.updated_at)),
    ]
    rank = job.hyperparameters.get("lora_rank")  # an older server's job may name none
    if rank is not None:
        fields.insert(-2, ("adapter", format_adapter(job.adapter_parameters, rank)))
    width = max(len(label) for label, _ in fields)
    sys.stdout.write("".join(f"{label:<{width}}  {printable(value)}\n" for label, value in fields))
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    _require_id(args)
    if not args.yes and not _confirm(f"Cancel job {args.job_id}? [y/N] "):
        sys.stderr.write("not cancelled\n")
        return 0
    with api_client(args) as client:
        job = client.cancel_job(args.job_id)
    if args.json:
        write_json(job.model_dump(mode="json"))
    else:
        sys.stdout.write(f"cancelled job {job.id} (status: {job.status})\n")
    return 0


def run_events(args: argparse.Namespace) -> int:
    _require_id(args)
    with api_client(args) as client:
        history = client.list_job_events(args.job_id)
    if args.json:
        write_json(history.model_dump(mode="json"))
        return 0
    rows = [
        (_when(event.created_at), event.type, event.status or "", event.message or "")
        for event in history.events
    ]
    if not rows:
        sys.stdout.write("No events.\n")
        return 0
    write_table(("time", "event", "status", "message"), rows)
    return 0


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


def _when(moment: datetime) -> str:
    """``2026-11-22 22:00:00Z``: seconds are enough to tell jobs apart, and UTC says so."""
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M:%SZ")
    return moment.isoformat(sep=" ", timespec="seconds")
