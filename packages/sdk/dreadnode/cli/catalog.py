"""``dn train catalog``: list Tinker's base models, filtered, as a table or as JSON.

It reads the API's catalog when a server is configured (``--server-url`` or
``$DREADNODE_SERVER_URL``) and the catalog embedded in the SDK otherwise, so it works offline with
no credentials; one line on stderr says which. ``--offline`` forces the embedded one. Both give
the same output, and a newer server's entry with a family this SDK does not know is shown as-is
with a hint to upgrade rather than failing the listing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

from dreadnode import __version__
from dreadnode.cli.api import add_server_arguments, api_client, configured_server_url
from dreadnode.cli.errors import UsageError
from dreadnode.cli.output import MAX_LIMIT, page_footer, write_json, write_table
from dreadnode.cli.parsing import bounded_int, non_negative_float
from dreadnode.training.models import (
    TrainingAlgorithm,
    TrainingModelFamily,
    TrainingQueryError,
    filter_training_models,
    suggest_training_models,
)

__all__ = ["DEFAULT_LIMIT", "add_catalog_parser", "format_size", "print_table", "run_catalog"]

DEFAULT_LIMIT = 20
#: Each filter of ``filter_training_models`` and the flag that sets it, so that a
#: ``TrainingQueryError`` can name the flag to fix.
FILTER_FLAGS: Final = {
    "query": "--query",
    "family": "--family",
    "algorithm": "--algorithm",
    "min_size_b": "--min-size-b",
    "max_size_b": "--max-size-b",
}

#: A catalog entry as JSON (``TrainingModel.model_dump(mode="json")`` or the API's answer).
Entry = Mapping[str, Any]


def add_catalog_parser(commands: Any) -> None:
    """Register ``catalog`` under ``dn train``."""
    parser = commands.add_parser(
        "catalog",
        help="list the base models Tinker can fine-tune",
        description=(
            "List the base models Tinker can fine-tune. Filters combine with AND. Reads the API "
            "when a server is configured, the catalog embedded in this SDK otherwise."
        ),
    )
    parser.add_argument(
        "--query", help="words that must appear in the id or name, e.g. 'llama 3.1'"
    )
    # Not argparse choices: a newer server knows values this SDK does not, so online the server
    # decides; offline the embedded catalog refuses an unknown one (exit 2, listing the allowed).
    parser.add_argument(
        "--family",
        help=f"one of {', '.join(TrainingModelFamily)} (a newer server may know more)",
    )
    parser.add_argument(
        "--algorithm",
        help=f"one of {', '.join(TrainingAlgorithm)} (a newer server may know more)",
    )
    parser.add_argument(
        "--min-size-b", type=non_negative_float, help="smallest size, in billions of parameters"
    )
    parser.add_argument(
        "--max-size-b", type=non_negative_float, help="largest size, in billions of parameters"
    )
    parser.add_argument(
        "--limit",
        type=bounded_int(1, MAX_LIMIT),
        default=DEFAULT_LIMIT,
        help=f"how many models to show, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON and nothing else")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="list the catalog embedded in this SDK even when a server is configured",
    )
    add_server_arguments(parser)
    parser.set_defaults(handler=run_catalog)


def run_catalog(args: argparse.Namespace) -> int:
    """List the catalog (the API's or the embedded one) with the filters in ``args``."""
    filters = {name: getattr(args, name) for name in FILTER_FLAGS}
    server_url = None if args.offline else configured_server_url(args)
    # Checked locally either way, so a bad query or size range is the same usage error (exit 2)
    # online and offline; online, family and algorithm are left to the server, which may know
    # values this SDK does not (its 422 is then a one-line error).
    local = filters if server_url is None else {**filters, "family": None, "algorithm": None}
    try:
        matches = filter_training_models(**local)
    except TrainingQueryError as err:
        flag = FILTER_FLAGS.get(err.argument, err.argument)
        raise UsageError(f"dn train catalog: {flag}: {err}") from None
    if server_url is None:
        source = f"embedded in dreadnode-training {__version__} (offline)"
        shown: list[Entry] = [model.model_dump(mode="json") for model in matches[: args.limit]]
        total = len(matches)
    else:
        with api_client(args) as client:
            page = client.list_catalog(**filters, limit=args.limit)
            source = f"from {client.base_url} (server)"
        shown = [entry.model_dump(mode="json") for entry in page.models]
        total = page.total
        _warn_unknown_values(page.models)
    sys.stderr.write(f"catalog: {source}\n")
    if args.json:
        write_json({"models": shown, "total": total, "limit": args.limit})
    else:
        print_table(shown, total=total)
        if not shown and args.query:
            suggestions = suggest_training_models(args.query)
            if suggestions:
                sys.stdout.write(f"Did you mean: {', '.join(suggestions)}?\n")
    return 0


def _warn_unknown_values(models: Sequence[Any]) -> None:
    """One stderr note per entry from a newer server that this SDK cannot fully describe."""
    for model in models:
        unknown = model.unknown_values()
        if unknown:
            sys.stderr.write(
                f"note: {model.tinker_id} has {', '.join(unknown)}, unknown to dreadnode-training "
                f"{__version__}; shown as the server sent it. Upgrade: "
                "pip install --upgrade dreadnode-training\n"
            )


def format_size(entry: Entry) -> str:
    """ "8B" for a dense model; "3B of 30B" for a mixture of experts (active of total)."""
    size = f"{entry['size_b']:g}B"
    total = entry.get("total_size_b")
    if entry.get("type") == "moe" and total is not None:
        return f"{size} of {total:g}B"
    return size


def format_context(entry: Entry) -> str:
    text = f"{entry['context_length']:,}"
    if entry.get("extended_context_length") is not None:
        text += f" ({entry['extended_context_length']:,} :peft:)"
    return text


def print_table(entries: Sequence[Entry], *, total: int) -> None:
    """The entries as a table, then "showing N of M"."""
    if not entries:
        sys.stdout.write("No models match these filters.\n")
        return
    rows = [
        (
            entry["tinker_id"],
            entry["display_name"],
            entry["family"],
            entry["type"],
            format_size(entry),
            format_context(entry),
            ", ".join(entry["supported_algorithms"]),
        )
        for entry in entries
    ]
    write_table(
        ("tinker_id", "name", "family", "type", "size", "context", "algorithms"),
        rows,
        no_wrap={"tinker_id"},
        right={"size", "context"},
    )
    sys.stdout.write(page_footer(len(entries), total) + "\n")
