"""Following a job to its end: ``dn train jobs events --follow``, ``dn train jobs watch`` and
``dn train sft|rl --watch``.

One loop does the following: every ``--interval`` seconds it reads the job (its status, progress
and figures), then the job's events after the last one it has read (the API's ``after`` cursor, so
no event is read or shown twice), and hands both to a view, until the job has finished. Reading
the job first means the events read next include everything up to the state it was read in: the
last checkpoint of a finished job is shown before its result.

The views:

* ``LineView``: one plain line per event, ``time  type  status  text`` (``events --follow``, and
  ``watch`` into a pipe, which adds the result);
* ``JsonLinesView``: one JSON object per event, as the API sent it (``events --follow --json``);
* ``QuietView``: nothing until the end, then the job as the API sent it (``watch --json``);
* ``BarView``: on a terminal, a rich progress bar (step N of M, epoch, loss, tokens, elapsed and
  remaining time) with a line above it per checkpoint, then the result.

An RL job's steps show their rewards where an SFT job's show the loss: the mean reward and its
spread, the share of prompts whose completions all scored alike (no signal to learn from), and
the completions the grader could not score (``dreadnode.cli.rl.describe_rewards``).

Exit codes: 0 when the job completed; 1 when it failed (``error: <type>: <message>``) or was
cancelled (``error: job ... was cancelled: <why>``). Ctrl-C stops the watching, never the job:
exit 130 and a line saying so. An API that stops answering (a restart) is waited for, up to
``OUTAGE_SECONDS``, before the watch fails (exit 1); the job is not affected either way.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from dreadnode.cli.api import api_client
from dreadnode.cli.errors import CLIError
from dreadnode.cli.interrupts import remembered_ctrl_c
from dreadnode.cli.output import format_duration, format_when, printable
from dreadnode.cli.parsing import bounded_float
from dreadnode.cli.rl import describe_rewards

if TYPE_CHECKING:
    import argparse

    from rich.progress import Progress, TaskID

    from dreadnode.client import APIError, Client, Job, JobEvent

__all__ = [
    "DEFAULT_INTERVAL",
    "EXIT_INTERRUPTED",
    "OUTAGE_SECONDS",
    "TERMINAL_STATUSES",
    "add_interval_argument",
    "describe_event",
    "event_line",
    "follow",
    "follow_job",
    "read_all_events",
    "watch_job",
]

#: The statuses a job does not leave.
TERMINAL_STATUSES: Final = frozenset({"completed", "failed", "cancelled"})
#: Seconds between two reads of a job, unless ``--interval`` says otherwise.
DEFAULT_INTERVAL: Final = 1.0
#: How long a watch waits for an API that stopped answering before it gives up.
OUTAGE_SECONDS: Final = 60.0
#: The most events the API answers at once (its ``limit``'s default and maximum): a full page
#: means there may be more.
EVENTS_PAGE: Final = 1000
#: The exit code of a watch stopped with Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED: Final = 130
#: Statuses an API answers while it cannot serve, that a later read may not meet.
_PASSING_STATUSES: Final = frozenset({429, 502, 503, 504})
#: How many recent steps the remaining time is estimated from.
_RATE_WINDOW: Final = 20


def add_interval_argument(parser: argparse.ArgumentParser) -> None:
    """``--interval SECONDS``: how often a watch reads the job."""
    parser.add_argument(
        "--interval",
        type=bounded_float(0.1, 60),
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"how often to read the job while following it, 0.1-60 (default {DEFAULT_INTERVAL:g})",
    )


# --- what an event says -----------------------------------------------------------------------


def _loss(value: object) -> str:
    """``2.3456``; a tiny loss in significant figures rather than as 0.0000."""
    if not isinstance(value, int | float):
        return printable(value)
    return f"{value:.4f}" if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else printable(value)


def _rate(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else printable(value)


def describe_event(event: JobEvent, total_steps: int | None = None) -> str:
    """What ``event`` says, in one line: a ``training_step`` as its figures (``step 12/40  loss
    2.3456  tokens 1,024  lr 9.5e-05``; an RL step's rewards where an SFT step has its loss:
    ``step 12/40  reward 0.625 (sd 0.212)  no signal 25%  tokens ...``), a ``checkpoint_save``
    as what was saved where, a ``job_error`` as ``<type>: <message>``, any other (a newer
    server's too) as its message. The server's strings are escaped (``printable``)."""
    data: dict[str, Any] = event.data or {}
    if event.type == "training_step" and "step" in data:
        step = _count(data["step"]) + (f"/{total_steps:,}" if total_steps else "")
        parts = [f"step {step}"]
        rewards = describe_rewards(data)
        if rewards is not None:
            parts.append(rewards)
        elif "loss" in data:
            parts.append(f"loss {_loss(data['loss'])}")
        if "tokens" in data:
            parts.append(f"tokens {_count(data['tokens'])}")
        if "learning_rate" in data:
            parts.append(f"lr {_rate(data['learning_rate'])}")
        return "  ".join(parts)
    if event.type == "checkpoint_save" and "tinker_path" in data:
        kind = printable(data.get("checkpoint_type", ""))
        return f"saved {kind} checkpoint at step {_count(data.get('step'))}: " + printable(
            data["tinker_path"]
        )
    if event.type == "job_error" and data.get("error_type"):
        return f"{printable(data['error_type'])}: {printable(event.message or '')}"
    return printable(event.message or "")


def event_line(event: JobEvent, total_steps: int | None = None) -> str:
    """``2026-11-22 22:00:05Z  training_step     running    step 12/40  loss 2.3456 ...``: the
    columns of ``dn train jobs events``, one event per line."""
    return (
        f"{format_when(event.created_at)}  {printable(event.type):<16}  "
        f"{printable(event.status or ''):<9}  {describe_event(event, total_steps)}".rstrip()
    )


# --- reading a job as it goes ---------------------------------------------------------------


def read_all_events(client: Client, job_id: str, after: int | None = None) -> list[JobEvent]:
    """Every event of the job after ``after`` (all of them for None), oldest first, reading
    page after page with the cursor. Events from an older server, which does not number them,
    come as one page."""
    events: list[JobEvent] = []
    cursor = after
    while True:
        page = client.list_job_events(job_id, after=cursor).events
        if cursor is not None:  # never show an event twice, whatever the server answered
            page = [e for e in page if e.id is not None and e.id > cursor]
        events += page
        if len(page) < EVENTS_PAGE or page[-1].id is None:
            return events
        cursor = page[-1].id


class View(Protocol):
    """Where a followed job's progress goes."""

    def show(self, job: Job, events: Sequence[JobEvent]) -> None:
        """The job as just read, and the events that are new since the last call."""

    def note(self, text: str) -> None:
        """Something about the watching itself (the API stopped answering, and came back)."""

    def finish(self, job: Job) -> None:
        """The job has finished: say how (a failure is reported by the caller, as an error)."""

    def close(self) -> None:
        """Stop drawing: the watch ended, or was interrupted."""


@dataclass
class Follower:
    """Reads a job and its new events, remembering the last event read (the cursor)."""

    client: Client
    job_id: str
    cursor: int | None = None
    #: The last event that put the job in a final status: what it says is why it ended.
    final_event: JobEvent | None = None

    def read(self) -> tuple[Job, list[JobEvent]]:
        job = self.client.get_job(self.job_id)
        events = read_all_events(self.client, self.job_id, self.cursor)
        for event in events:
            if event.id is None:
                raise CLIError(
                    "the API does not number this job's events (it is older than this dn), so "
                    "the job cannot be followed",
                    hints=(f"list its events with: dn train jobs events {self.job_id}",),
                )
            self.cursor = event.id
            if event.status in TERMINAL_STATUSES:
                self.final_event = event
        return job, events


def _passing(error: APIError) -> bool:
    """Whether a later read may well succeed: no answer at all, a rate limit, or a gateway
    that cannot reach the API (the client has retried each of these already, briefly)."""
    from dreadnode.client import APIConnectionError, APIStatusError

    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and error.status in _PASSING_STATUSES


def follow_job(follower: Follower, view: View, *, interval: float) -> Job:
    """Read the job every ``interval`` seconds, showing what is new, until it has finished;
    the finished job. An API that stops answering is waited for up to ``OUTAGE_SECONDS``."""
    with remembered_ctrl_c() as stop_if_ctrl_c:
        return _follow(follower, view, interval, stop_if_ctrl_c)


def _follow(
    follower: Follower, view: View, interval: float, stop_if_ctrl_c: Callable[[], None]
) -> Job:
    from dreadnode.client import APIError

    outage_since: float | None = None
    while True:
        stop_if_ctrl_c()
        try:
            job, events = follower.read()
        except APIError as error:
            now = time.monotonic()
            if not _passing(error) or (
                outage_since is not None and now - outage_since > OUTAGE_SECONDS
            ):
                raise
            if outage_since is None:
                outage_since = now
                view.note(
                    f"the API did not answer ({printable(error.message)}); trying again for up "
                    f"to {OUTAGE_SECONDS:g} s"
                )
            time.sleep(max(interval, 1.0))
            continue
        if outage_since is not None:
            outage_since = None
            view.note("the API answers again")
        view.show(job, events)
        if job.status in TERMINAL_STATUSES:
            return job
        time.sleep(interval)


def outcome(job: Job, final_event: JobEvent | None) -> int:
    """0 for a completed job; for a failed or cancelled one, the ``CLIError`` that says why."""
    if job.status == "completed":
        return 0
    if job.status == "failed":
        if job.error is not None:
            raise CLIError(f"{printable(job.error.type)}: {printable(job.error.message)}")
        if final_event is not None and final_event.status == "failed":
            raise CLIError(describe_event(final_event) or f"job {printable(job.id)} failed")
        raise CLIError(f"job {printable(job.id)} failed")
    why = final_event.message if final_event is not None else None
    reason = f": {printable(why)}" if why else ""
    raise CLIError(f"job {printable(job.id)} was {printable(job.status)}{reason}")


def completed_line(job: Job) -> str:
    """``completed in 12m 03s; model ft-...; sampler path: tinker://...``: the model the job
    made (to sample, or train on) when the server names one."""
    took = ""
    if job.started_at is not None and job.finished_at is not None:
        took = " in " + format_duration((job.finished_at - job.started_at).total_seconds())
    made = f"; model {printable(job.model_id)}" if job.model_id else ""
    where = f"; sampler path: {printable(job.sampler_path)}" if job.sampler_path else ""
    return f"completed{took}{made}{where}"


# --- the views --------------------------------------------------------------------------------


@dataclass
class LineView:
    """One plain line per event on stdout, flushed at once (a pipe reads it as it comes);
    with ``summary``, the result of a completed job last."""

    summary: bool = False
    total_steps: int | None = None

    def show(self, job: Job, events: Sequence[JobEvent]) -> None:
        self.total_steps = job.progress.total_steps or self.total_steps
        for event in events:
            sys.stdout.write(event_line(event, self.total_steps) + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        sys.stderr.write(f"note: {text}\n")
        sys.stderr.flush()

    def finish(self, job: Job) -> None:
        if self.summary and job.status == "completed":
            sys.stdout.write(completed_line(job) + "\n")
            sys.stdout.flush()

    def close(self) -> None:
        """Nothing is drawn."""


class JsonLinesView(LineView):
    """One JSON object per event, as the API sent it (JSON Lines)."""

    def show(self, job: Job, events: Sequence[JobEvent]) -> None:
        for event in events:
            sys.stdout.write(json.dumps(event.model_dump(mode="json")) + "\n")
        sys.stdout.flush()

    def finish(self, job: Job) -> None:
        """The events said it all."""


class QuietView(LineView):
    """Nothing while the job runs; the finished job, as the API sent it, at the end."""

    def show(self, job: Job, events: Sequence[JobEvent]) -> None:
        """Silent until the end."""

    def finish(self, job: Job) -> None:
        sys.stdout.write(json.dumps(job.model_dump(mode="json"), indent=2) + "\n")
        sys.stdout.flush()


@dataclass
class BarView:
    """A progress bar on the terminal, with a line above it for each checkpoint, start,
    restart, epoch and cancel request; then the result."""

    _progress: Progress | None = None
    _task: TaskID | None = None
    _started: bool = False
    #: Recent (step, time) pairs from the server's training_step events: the pace.
    _steps: deque[tuple[int, datetime]] = field(default_factory=lambda: deque(maxlen=_RATE_WINDOW))
    #: The latest RL step's rewards (``describe_rewards``), shown where an SFT job's loss is.
    _rewards: str | None = None
    _shown_events = frozenset(
        {"job_start", "job_restart", "epoch_complete", "checkpoint_save", "cancel_requested"}
    )

    def _bar(self) -> tuple[Progress, TaskID]:
        """The progress bar, made (not yet shown) the first time it is asked for."""
        if self._progress is None or self._task is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TextColumn("{task.fields[figures]}", markup=False),
                console=Console(highlight=False),
            )
            self._task = self._progress.add_task("", total=None, figures="")
        return self._progress, self._task

    def show(self, job: Job, events: Sequence[JobEvent]) -> None:
        from rich.text import Text

        progress, task = self._bar()
        total = job.progress.total_steps
        for event in events:
            data = event.data or {}
            if event.type == "training_step" and isinstance(data.get("step"), int):
                self._steps.append((data["step"], event.created_at))
                self._rewards = describe_rewards(data, compact=True) or self._rewards
            if event.type in self._shown_events:
                line = f"{format_when(event.created_at)}  {describe_event(event, total)}"
                progress.console.print(Text(line), soft_wrap=True)
        label = printable(job.status_message or job.status)
        if label.startswith("training:"):
            label = "training"  # the figures beside the bar say which step
        progress.update(
            task,
            description=label,
            total=total,
            completed=job.progress.step,
            figures=self._figures(job),
        )
        if not self._started:
            progress.start()  # drawn from the first reading on, never empty
            self._started = True

    def _figures(self, job: Job) -> str:
        """``step 12/40  epoch 1/3  loss 2.3456  tokens 12,288  5m 12s elapsed  ~3m left``; for
        an RL job, once a step has scored, ``step 12/40  reward 0.625±0.212  no signal 25%
        errors 3  5m 12s elapsed  ~3m left``: its rewards in place of the loss, in room the
        epoch and tokens leave (``dn train jobs get`` has them)."""
        if job.started_at is None:
            return ""
        step, total = job.progress.step, job.progress.total_steps
        parts = [f"step {step:,}" + (f"/{total:,}" if total else "")]
        if self._rewards is not None:
            parts.append(self._rewards)
        else:
            epochs = job.hyperparameters.get("epochs")
            done = job.progress.epochs_completed
            of = f"/{epochs}" if isinstance(epochs, int) else ""
            parts.append(f"epoch {done}{of} done")
            if job.loss is not None:
                parts.append(f"loss {_loss(job.loss)}")
            parts.append(f"tokens {job.trained_tokens:,}")
        end = job.finished_at or datetime.now(UTC)
        parts.append(format_duration((end - job.started_at).total_seconds()) + " elapsed")
        left = self._remaining(step, total)
        if left is not None and job.status not in TERMINAL_STATUSES:
            parts.append(f"~{format_duration(left)} left")
        return "  ".join(parts)

    def _remaining(self, step: int, total: int | None) -> float | None:
        """Seconds until the last step at the pace of the recent ones, by the server's clock."""
        if not total or len(self._steps) < 2:
            return None
        (first_step, first_time), (last_step, last_time) = self._steps[0], self._steps[-1]
        seconds = (last_time - first_time).total_seconds()
        if last_step <= first_step or seconds <= 0:
            return None
        return (total - step) * seconds / (last_step - first_step)

    def note(self, text: str) -> None:
        from rich.text import Text

        if self._progress is None or not self._started:
            sys.stderr.write(f"note: {text}\n")
        else:
            self._progress.console.print(Text(f"note: {text}"), soft_wrap=True)

    def finish(self, job: Job) -> None:
        from rich.text import Text

        progress, _ = self._bar()
        self.close()
        if job.status == "completed":
            progress.console.print(Text(completed_line(job)), soft_wrap=True)

    def close(self) -> None:
        if self._progress is not None and self._started:
            self._progress.stop()
            self._started = False


# --- the commands' shared part ----------------------------------------------------------------


def watch_job(
    client: Client,
    job_id: str,
    view: View,
    *,
    interval: float,
) -> int:
    """Follow the job to its end through ``view``: 0 when it completed, a ``CLIError`` (exit 1)
    when it failed or was cancelled, ``EXIT_INTERRUPTED`` on Ctrl-C (the job goes on)."""
    follower = Follower(client, job_id)
    try:
        job = follow_job(follower, view, interval=interval)
    except KeyboardInterrupt:
        view.close()
        shown = printable(job_id)
        sys.stderr.write(
            f"stopped watching; job {shown} keeps running (watch it again: dn train jobs watch "
            f"{shown}; stop it: dn train jobs cancel {shown})\n"
        )
        return EXIT_INTERRUPTED
    except BaseException:
        view.close()
        raise
    view.finish(job)
    return outcome(job, follower.final_event)


def view_for(*, as_json: bool, events_only: bool) -> View:
    """The view a command shows a followed job in: JSON for ``--json``; for ``events --follow``
    plain lines; for ``watch``, a progress bar on a terminal and plain lines elsewhere."""
    if as_json:
        return JsonLinesView() if events_only else QuietView()
    if events_only or not sys.stdout.isatty():
        return LineView(summary=not events_only)
    return BarView()


def follow(args: argparse.Namespace, job_id: str, *, events_only: bool = False) -> int:
    """Follow the job ``job_id`` on the server ``args`` names, as ``dn train jobs watch`` (or,
    with ``events_only``, ``dn train jobs events --follow``) shows it; the exit code."""
    view = view_for(as_json=args.json, events_only=events_only)
    again = "events --follow" if events_only else "watch"
    hint = f"the job is not affected; follow it again with: dn train jobs {again} {job_id}"
    with api_client(args, unavailable_hint=printable(hint)) as client:
        return watch_job(client, job_id, view, interval=args.interval)
