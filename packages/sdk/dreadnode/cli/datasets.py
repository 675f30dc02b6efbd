"""``dn train datasets upload|list|get|delete``, and the local check every upload starts with.

A file is checked on the user's machine before a byte of it is sent, by the same rules as the
server (``dreadnode.training.datasets``, which the API mirrors word for word): a bad file fails
in milliseconds, exit 2, naming its bad lines as the server would, and nothing is sent. Only a
good file is uploaded; the server checks it again as it streams in (it trusts no client).

The bad lines a person reads are the first few (``SHOWN_LINE_ERRORS``) and the count: enough to
see the pattern (a misspelt role on every row) without burying the terminal. ``--json`` prints
what the server would answer instead: its 422 envelope, the first 100 lines in ``errors``.

Files over ``PROGRESS_MIN_BYTES`` get a progress bar on stderr while they are checked and sent,
only when stderr is a terminal: in a pipe or a log it would be noise.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from dreadnode.cli.api import add_server_arguments, api_client
from dreadnode.cli.contract import DATASET_FORMATS
from dreadnode.cli.errors import CLIError, UsageError
from dreadnode.cli.output import (
    MAX_LIMIT,
    confirm_delete,
    format_size,
    format_when,
    page_footer,
    printable,
    write_json,
    write_table,
)
from dreadnode.cli.parsing import bounded_int

if TYPE_CHECKING:
    from dreadnode.client import APIStatusError, Client, Dataset, TokenCount
    from dreadnode.training.datasets import DatasetCheck

__all__ = [
    "INVALID_DATASET",
    "PROGRESS_MIN_BYTES",
    "SHOWN_LINE_ERRORS",
    "add_datasets_parser",
    "check_local_dataset",
    "describe_dataset",
    "upload_checked_dataset",
]

#: Files at least this large show a progress bar (on a terminal): below it, checking and
#: sending take well under a second on any link worth uploading over.
PROGRESS_MIN_BYTES: Final = 8 * 1024 * 1024
#: How many bad lines a person is shown; ``--json`` has the first 100.
SHOWN_LINE_ERRORS: Final = 10
#: The ``type`` of the API's 422 for a bad file.
INVALID_DATASET: Final = "invalid_dataset"


def add_datasets_parser(commands: Any) -> None:
    """Register ``datasets`` and its subcommands under ``dn train``."""
    datasets = commands.add_parser(
        "datasets",
        help="upload, list, inspect and delete your training datasets",
        description="Your training datasets: JSONL files, checked line by line at upload.",
    )
    actions = datasets.add_subparsers(dest="action", metavar="ACTION", required=True)

    upload = actions.add_parser(
        "upload",
        help="check a JSONL file here, then upload it",
        description="Check a JSONL file on this machine (nothing is sent if it is bad), then "
        "upload it. Prints the dataset id, for `dn train sft|rl --dataset ID`.",
    )
    upload.add_argument("file", metavar="FILE", help="the JSONL file, one row per line")
    upload.add_argument("--name", help="a name for the dataset")
    upload.add_argument(
        "--format",
        choices=DATASET_FORMATS,
        help="hold every row to this format (default: the first valid row decides)",
    )
    upload.set_defaults(handler=run_upload)

    listing = actions.add_parser("list", help="your datasets, newest first")
    listing.add_argument(
        "--limit",
        type=bounded_int(1, MAX_LIMIT),
        default=20,
        help=f"how many datasets to show, 1-{MAX_LIMIT} (default 20)",
    )
    listing.set_defaults(handler=run_list)

    get = actions.add_parser("get", help="one dataset")
    get.add_argument("dataset_id", metavar="ID")
    get.set_defaults(handler=run_get)

    delete = actions.add_parser(
        "delete", help="delete a dataset (refused while a queued or running job uses it)"
    )
    delete.add_argument("dataset_id", metavar="ID")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=run_delete)

    for action in (upload, listing, get, delete):
        action.add_argument("--json", action="store_true", help="print the API's answer as JSON")
        add_server_arguments(action)


# --- the local check, shared with `dn train sft|rl --dataset FILE` ---------------------------


def check_local_dataset(
    path: Path, format: str | None = None, *, as_json: bool = False, label: str = "FILE"
) -> DatasetCheck:
    """The verdict on ``path`` by the server's rules, or exit 2 saying why it is not a dataset.

    A bad file raises a ``UsageError`` whose message is the sentence the server would put in
    its ``detail`` and whose hints are the first bad lines; with ``as_json`` the server's 422
    envelope is printed on stdout first. ``label`` names the argument in the errors about a
    path that is no readable file (``FILE``, ``--dataset``).
    """
    from dreadnode.training.datasets import DatasetFormat, check_dataset_file

    size = _readable_size(path, label)
    try:
        with _progress(f"checking {path.name}", size) as advance:
            done = 0

            def on_bytes(count: int) -> None:
                nonlocal done
                done += count
                if advance is not None:
                    advance(done)

            check = check_dataset_file(
                path, None if format is None else DatasetFormat(format), on_bytes=on_bytes
            )
    except OSError as err:
        raise UsageError(f"{label}: cannot read {str(path)!r} ({err.strerror or err})") from None
    if check.ok:
        return check
    if as_json:
        write_json(_envelope(check))
    raise _bad_file(path, check, verbose=not as_json)


def upload_checked_dataset(
    client: Client, path: Path, check: DatasetCheck, *, name: str | None, format: str | None
) -> Dataset:
    """Upload a file ``check_local_dataset`` passed; warn if what arrived is not what was
    checked (the file changed in between: the server checked what it got, but it is not what
    the user looked at)."""
    from dreadnode.client import UnprocessableEntityError

    with _progress(f"uploading {path.name}", check.bytes) as advance:
        on_progress = None if advance is None else (lambda sent, _total: advance(sent))
        try:
            dataset = client.upload_dataset(path, name=name, format=format, on_progress=on_progress)
        except UnprocessableEntityError as err:
            if err.type != INVALID_DATASET:
                raise
            raise _refused_by_server(path, err) from err
        except OSError as err:
            raise CLIError(f"{path}: {err.strerror or err}") from None
    if dataset.sha256 != check.sha256:
        sys.stderr.write(
            f"warning: {path} changed after it was checked here; the server checked and kept "
            f"the bytes it received ({dataset.rows:,} rows, sha256 {dataset.sha256[:12]})\n"
        )
    return dataset


def describe_dataset(dataset: Dataset, path: Path | None = None) -> str:
    """``uploaded train.jsonl as ds-...: 9,000 chat rows, 12.3 MB; longest row: line 17,
    4,321 bytes``; for bytes the owner had uploaded before, says so and when."""
    figures = (
        f"{dataset.rows:,} {printable(dataset.format)} rows, {format_size(dataset.bytes)}; longest "
        f"row: line {dataset.longest_row_line:,}, {dataset.longest_row_bytes:,} bytes"
    )
    source = "" if path is None else f"{path} "
    shown_id = printable(dataset.id)
    if dataset.uploaded_before:
        uploaded = format_when(dataset.created_at)
        return f"{source}was already uploaded as {shown_id} on {uploaded}: {figures}"
    return f"uploaded {source}as {shown_id}: {figures}"


def _readable_size(path: Path, label: str) -> int:
    """The size of the file at ``path``; exit 2 for a path that is none."""
    try:
        if path.is_dir():
            raise UsageError(f"{label}: {str(path)!r} is a directory, not a JSONL file")
        return path.stat().st_size
    except FileNotFoundError:
        raise UsageError(f"{label}: no such file: {str(path)!r}") from None
    except OSError as err:
        raise UsageError(f"{label}: cannot read {str(path)!r} ({err.strerror or err})") from None


def _envelope(check: DatasetCheck) -> dict[str, Any]:
    """What the API answers for this file: its 422 envelope, word for word."""
    from dreadnode.training.datasets import describe_dataset_problems

    return {
        "code": 422,
        "detail": describe_dataset_problems(check),
        "type": INVALID_DATASET,
        "errors": [
            {"loc": ["body", "line", e.line, *e.loc], "msg": e.msg, "type": e.type}
            for e in check.errors
        ],
    }


def _line(line: object, loc: Sequence[object], msg: str) -> str:
    """``line 9000: messages.2.role: Unknown role 'asistant'; ...``."""
    where = f"line {line}"
    if loc:
        where += ": " + ".".join(str(part) for part in loc)
    return f"{where}: {msg}"


def _bad_file(path: Path, check: DatasetCheck, *, verbose: bool) -> UsageError:
    """``train.jsonl: 3 of 9,000 lines are not valid chat rows`` and the first bad lines."""
    from dreadnode.training.datasets import describe_dataset_problems

    shown = dataclasses.replace(check, errors=check.errors[:SHOWN_LINE_ERRORS])
    sentence = describe_dataset_problems(shown)
    hints: list[str] = []
    if verbose:
        hints = [_line(e.line, e.loc, e.msg) for e in shown.errors if e.msg != sentence]
        if len(check.errors) > len(shown.errors):
            hints.append(f"(--json lists the first {len(check.errors):,})")
    return UsageError(f"{path}: {sentence}", hints=tuple(hints))


def _refused_by_server(path: Path, err: APIStatusError) -> CLIError:
    """The server's 422 for a file the local check passed (a server with other rules): its
    sentence and bad lines, shown as the local check shows them (exit 1: the API refused)."""
    hints = []
    for item in err.errors[:SHOWN_LINE_ERRORS]:
        loc = list(item.get("loc") or [])
        msg = printable(item.get("msg", ""))
        if loc[:2] == ["body", "line"] and len(loc) > 2:
            hints.append(_line(loc[2], [printable(part) for part in loc[3:]], msg))
        elif item.get("msg") != err.detail:
            hints.append(msg)
    if len(err.errors) > SHOWN_LINE_ERRORS:
        hints.append(f"... and {len(err.errors) - SHOWN_LINE_ERRORS:,} more")
    hints.append("this dn checked the file and found it good: is it older than the server?")
    return CLIError(f"the API refused {path}: {printable(err.detail)}", hints=tuple(hints))


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar on stderr, as a callback taking the bytes done so far; None
    (no bar) for a small file or when stderr is not a terminal."""
    if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


# --- the commands ----------------------------------------------------------------------------


def run_upload(args: argparse.Namespace) -> int:
    path = Path(args.file).expanduser()
    check = check_local_dataset(path, args.format, as_json=args.json)
    with api_client(args) as client:
        dataset = upload_checked_dataset(client, path, check, name=args.name, format=args.format)
    if args.json:
        write_json(dataset.model_dump(mode="json"))
        return 0
    sys.stdout.write(dataset.id + "\n")
    sys.stderr.write(describe_dataset(dataset, path) + "\n")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with api_client(args) as client:
        page = client.list_datasets(limit=args.limit)
    if args.json:
        write_json(page.model_dump(mode="json"))
        return 0
    if not page.datasets:
        sys.stdout.write("No datasets; upload one with: dn train datasets upload FILE\n")
        return 0
    rows = [
        (
            d.id,
            d.name or "",
            d.format,
            f"{d.rows:,}",
            format_size(d.bytes),
            format_when(d.created_at),
        )
        for d in page.datasets
    ]
    header = ("id", "name", "format", "rows", "size", "created")
    write_table(header, rows, no_wrap={"id"}, right={"rows", "size"})
    sys.stdout.write(page_footer(len(rows), page.total) + "\n")
    return 0


def run_get(args: argparse.Namespace) -> int:
    _require_id(args)
    with api_client(args) as client:
        dataset = client.get_dataset(args.dataset_id)
    if args.json:
        write_json(dataset.model_dump(mode="json"))
        return 0
    fields = [
        ("id", dataset.id),
        ("name", dataset.name or ""),
        ("format", dataset.format),
        ("rows", f"{dataset.rows:,}"),
        ("size", f"{format_size(dataset.bytes)} ({dataset.bytes:,} bytes)"),
        (
            "longest row",
            f"line {dataset.longest_row_line:,}: {dataset.longest_row_bytes:,} bytes "
            f"(up to {dataset.longest_row_bytes:,} tokens)",
        ),
        ("sha256", dataset.sha256),
        ("created", format_when(dataset.created_at)),
        ("tokens", _token_counts_line(dataset)),
    ]
    width = max(len(label) for label, _ in fields)
    shown = "".join(f"{label:<{width}}  {printable(value)}\n" for label, value in fields)
    sys.stdout.write(shown)
    if dataset.token_counts_status == "ready" and dataset.token_counts:  # noqa: S105
        _write_token_counts(dataset.token_counts)
    return 0


def _token_counts_line(dataset: Dataset) -> str:
    """Where the exact counts stand, in words."""
    status = dataset.token_counts_status
    if status == "ready":
        return "exact, per renderer (below)"
    if status == "pending":
        return "pending: a worker counts them after the upload (the sizes above are bounds)"
    reason = f": {dataset.token_counts_error}" if dataset.token_counts_error else ""
    return f"{status}{reason}"


def _write_token_counts(counts: Sequence[TokenCount]) -> None:
    """One row per renderer: what one pass sends to Tinker, and the longest sequence."""
    rows = []
    for count in counts:
        if count.error is not None:
            figures = ("-", "-", count.error)
        else:
            figures = (
                f"{count.tokens_processed or 0:,}",
                f"{count.tokens_trained or 0:,}",
                f"{count.longest_row_tokens or 0:,} (line {count.longest_row_line or 0:,})",
            )
        rows.append((count.renderer, *figures, f"{len(count.models)}"))
    sys.stdout.write("\n")
    header = ("renderer", "tokens", "trained", "longest row", "models")
    write_table(header, rows, right={"tokens", "trained", "models"})


def run_delete(args: argparse.Namespace) -> int:
    _require_id(args)
    if not args.yes and not confirm_delete(f"Delete dataset {args.dataset_id}? [y/N] "):
        sys.stderr.write("not deleted\n")
        return 0
    with api_client(args) as client:
        client.delete_dataset(args.dataset_id)
    if args.json:
        write_json({"id": args.dataset_id, "deleted": True})
    else:
        sys.stdout.write(f"deleted dataset {args.dataset_id}\n")
    return 0


def _require_id(args: argparse.Namespace) -> None:
    """Refuse, before any request, an id no dataset can have (empty, or with a "/"); a path
    given where an id goes is most likely a file meant for ``upload``."""
    if not args.dataset_id.strip():
        raise UsageError("the dataset id must not be empty (see 'dn train datasets list')")
    if "/" in args.dataset_id:
        raise UsageError(
            f"{args.dataset_id!r} is not a dataset id: dataset ids never contain '/' "
            "(see 'dn train datasets list'; upload a file with 'dn train datasets upload FILE')"
        )
