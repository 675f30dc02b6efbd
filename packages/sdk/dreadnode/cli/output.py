"""How ``dn`` prints listings for people: one table style, one footer, one page-size limit.

rich is imported inside ``write_table`` only, so ``dn train catalog --json`` never pays for it.
The table is rendered to text and written with ``sys.stdout.write`` like every other line: a
reader that went away (``dn ... | head -1``) then raises ``BrokenPipeError`` to ``main``, which
exits 0 quietly, rather than reaching rich's own handler, which exits 1.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from dreadnode.cli.errors import UsageError

__all__ = [
    "MAX_LIMIT",
    "SPARK_BLOCKS",
    "can_show",
    "confirm_delete",
    "format_adapter",
    "format_duration",
    "format_size",
    "format_usd",
    "format_value",
    "format_when",
    "page_footer",
    "printable",
    "printable_text",
    "sparkline",
    "write_json",
    "write_table",
]

#: What a terminal would act on rather than show: C0 and C1 controls and DEL (ESC starts an
#: escape sequence that can move the cursor, recolour or retitle the window), the line and
#: paragraph separators, and the bidirectional formatting characters (U+202E shows
#: ``exe.txt`` as ``txt.exe``). The server refuses them in what it stores today; a row stored
#: before that rule, or a server that does not enforce it, still reaches this client.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def printable(value: object) -> str:
    """``value`` as text that shows exactly what it holds: each character above written as its
    escape (``\\x1b``, ``\\u202e``), so it is seen, never obeyed."""
    text = str(value)
    return _UNPRINTABLE.sub(lambda found: repr(found.group())[1:-1], text)


#: ``_UNPRINTABLE`` without the line feed and the tab: what multi-line text keeps.
_UNPRINTABLE_IN_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def printable_text(text: str) -> str:
    """``text`` as ``printable`` shows it, but with its line breaks and tabs kept: for text
    that is read as lines (a sampled completion), not as one value of a table."""
    return _UNPRINTABLE_IN_TEXT.sub(lambda found: repr(found.group())[1:-1], text)


#: The largest page the API serves (docs/api.md: ``limit`` 1-100), so every ``--limit`` stops here.
MAX_LIMIT: Final = 100


def write_table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    no_wrap: Collection[str] = (),
    right: Collection[str] = (),
) -> None:
    """A borderless table with a bold header; the columns named in ``no_wrap`` never wrap and
    those in ``right`` are right-aligned. Cells are shown as text, never as rich markup: a
    server's strings are data, and a "[" in one must not become styling, nor an ESC in one
    a terminal command (``printable``)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # On a terminal, long rows scroll rather than fold; in a pipe, a wide fixed width keeps each
    # row on one line for grep and cut.
    console = Console(soft_wrap=False) if sys.stdout.isatty() else Console(width=200)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in header:
        table.add_column(
            column, no_wrap=column in no_wrap, justify="right" if column in right else "left"
        )
    for row in rows:
        table.add_row(*(Text(printable(cell)) for cell in row))
    with console.capture() as captured:
        console.print(table)
    sys.stdout.write(captured.get())


def page_footer(shown: int, total: int, *, offset: int | None = None) -> str:
    """``showing 3 of 40 (raise --limit, up to 100, to see more)``; no advice when all are shown.

    For a command that pages with ``--offset`` (``offset`` given), where the page starts and
    how to read the next: ``showing 21-40 of 57 (--offset 40 shows the next)``."""
    if offset is None or (offset == 0 and shown == total):
        footer = f"showing {shown} of {total}"
        if shown < total:
            footer += f" (raise --limit, up to {MAX_LIMIT}, to see more)"
        return footer
    last = offset + shown
    footer = f"showing {offset + 1}-{last} of {total}"
    if last < total:
        footer += f" (--offset {last} shows the next)"
    return footer


def write_json(payload: Any) -> None:
    """``payload`` as indented JSON and nothing else, for scripts."""
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")


def format_value(value: object) -> str:
    """A hyperparameter as a person reads it: ``0.000473``, ``32``, ``1000000``; a value of a kind
    this SDK does not expect (from a newer server) as it came, never a crash."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)  # an int in full: 1000000 steps, not 1e+06


def format_adapter(parameters: int | None, lora_rank: object) -> str:
    """``92,286,976 parameters (rank 32)``, or ``unknown size (rank 32)`` for a model whose LoRA
    parameters per rank the catalog does not know."""
    size = "unknown size" if parameters is None else f"{parameters:,} parameters"
    return f"{size} (rank {format_value(lora_rank)})"


def format_usd(amount: float, *, significant: int = 3) -> str:
    """``$1.50``, ``$1,234.50``, ``$0.0016``: cents at least, and for an amount under a cent
    enough decimals for ``significant`` digits, so that a run costing a fraction of a cent does
    not read as free ($0.00). Zeros past the cents are dropped (``$0.05``, not ``$0.050``)."""
    if not math.isfinite(amount):
        return f"${amount}"  # never sent by the API; shown as it came rather than a crash
    decimals = 2
    if amount:
        decimals = max(2, significant - 1 - math.floor(math.log10(abs(amount))))
    text = f"{amount:,.{decimals}f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    sign, whole = ("-", whole[1:]) if whole.startswith("-") else ("", whole)
    return f"{sign}${whole}.{fraction}"


def format_when(moment: datetime) -> str:
    """``2026-11-22 22:00:00Z``: seconds are enough to tell events apart, and UTC says so."""
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M:%SZ")
    return moment.isoformat(sep=" ", timespec="seconds")


def format_size(count: int) -> str:
    """``312 B``, ``12.3 MB``, ``1.2 GB``: decimal units, as the progress bar shows them."""
    if count < 1000:
        return f"{count} B"
    value = count / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def format_duration(seconds: float) -> str:
    """``45s``, ``12m 03s``, ``3h 07m``: a run's length as a person reads it."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


#: The eight heights of a sparkline, lowest first.
SPARK_BLOCKS: Final = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def can_show(text: str) -> bool:
    """Whether stdout's encoding has every character of ``text`` (a terminal set to Latin-1
    has no block characters: writing one there would fail)."""
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def sparkline(values: Sequence[float]) -> str:
    """``values`` as one block character each, the lowest as ``\u2581`` and the highest as
    ``\u2588``; a flat series is drawn at the lowest height."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    top = len(SPARK_BLOCKS) - 1
    if span <= 0:
        return SPARK_BLOCKS[0] * len(values)
    return "".join(SPARK_BLOCKS[round((value - low) / span * top)] for value in values)


def confirm_delete(question: str) -> bool:
    """Ask on a terminal whether to delete; refuse (exit 2) when stdin is not one, so a script
    never deletes without ``--yes``."""
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to delete without confirmation: stdin is not a terminal; "
            "pass --yes to delete anyway"
        )
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}
