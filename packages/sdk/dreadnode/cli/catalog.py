"""``dn train catalog``: list Tinker's base models, filtered, as a table or as JSON.

It reads the API's catalog when a server is configured (``--server-url`` or
``$DREADNODE_SERVER_URL``) and the catalog embedded in the SDK otherwise, so it works offline with
no credentials. ``--offline`` forces the embedded one, and is what a failing server's error
suggests. Both give the same output, and a newer server's entry with a family this SDK does not
know is shown as-is with a hint to upgrade rather than failing the listing.

A filter the server refuses is a usage error (exit 2) in the same words as offline, where the
embedded catalog refuses it: the same ``--family banana`` fails the same way either way.

On a terminal, one line on stderr says where the listing came from. Into a pipe or a file the
listing is data and comes alone: its reader may stop early (``dn train catalog | head -1``),
and then nothing at all is on stderr, as there is no telling, after the fact, that it did.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from dreadnode import __version__
from dreadnode.cli.api import add_server_arguments, api_client, configured_server_url
from dreadnode.cli.day import catalog_day
from dreadnode.cli.errors import UsageError
from dreadnode.cli.output import MAX_LIMIT, page_footer, write_json, write_table
from dreadnode.cli.parsing import bounded_int, non_negative_float
from dreadnode.training.models import (
    TrainingAlgorithm,
    TrainingModelFamily,
    TrainingModelKind,
    TrainingQueryError,
    filter_training_models,
    retired_training_models,
    suggest_training_models,
)

if TYPE_CHECKING:
    from dreadnode.client import CatalogPage, Client

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
    "kind": "--kind",
    "vision": "--vision",
}

#: Each query parameter of ``GET /training/catalog`` that ``dn`` sends, and the flag that sets it,
#: so that the server's refusal of one names the flag to fix.
PARAMETER_FLAGS: Final = {**FILTER_FLAGS, "limit": "--limit"}
OFFLINE_HINT: Final = "the catalog embedded in this SDK needs no server: dn train catalog --offline"

#: A catalog entry as JSON (``TrainingModel.model_dump(mode="json")`` or the API's answer).
Entry = Mapping[str, Any]


def add_catalog_parser(commands: Any) -> None:
    """Register ``catalog`` under ``dn train``."""
    parser = commands.add_parser(
        "catalog",
        help="list the base models Tinker can fine-tune",
        description=(
            "List the base models Tinker can fine-tune. Filters combine with AND. Sizes are "
            "billions of active parameters; a mixture of experts shows active of total "
            "('3B of 30B'). Reads the API when a server is configured, the catalog embedded in "
            "this SDK otherwise."
        ),
    )
    parser.add_argument("--query", help="words that must appear in the id or name, e.g. 'qwen 3.5'")
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
        "--kind", choices=[k.value for k in TrainingModelKind], help="chat or base models only"
    )
    vision = parser.add_mutually_exclusive_group()
    vision.add_argument(
        "--vision", dest="vision", action="store_const", const=True, help="models that take images"
    )
    vision.add_argument(
        "--no-vision", dest="vision", action="store_const", const=False, help="text-only models"
    )
    parser.add_argument(
        "--min-size-b",
        type=non_negative_float,
        metavar="BILLIONS",
        help="smallest size, in billions of active parameters (for a mixture of experts, "
        "those used per token, not its total)",
    )
    parser.add_argument(
        "--max-size-b",
        type=non_negative_float,
        metavar="BILLIONS",
        help="largest size, in billions of active parameters",
    )
    parser.add_argument(
        "--limit",
        type=bounded_int(1, MAX_LIMIT),
        help=f"how many models to show, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})",
    )
    parser.add_argument(
        "--retired",
        action="store_true",
        help=(
            "list the models Tinker has retired (all of them: no filters), with the date and "
            "the replacement it names"
        ),
    )
    parser.add_argument(
        "--prices",
        action="store_true",
        help="show each model's live price (USD per million tokens) from Tinker's published "
        "list, as the server last fetched it, with its date (JSON always carries it)",
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
    server_url = None if args.offline else configured_server_url(args)
    day = catalog_day()
    filters = {name: getattr(args, name) for name in FILTER_FLAGS}
    if args.retired:
        _refuse_listing_flags(filters, limit=args.limit, prices=args.prices)
        return _run_retired(args, server_url, day)
    limit = DEFAULT_LIMIT if args.limit is None else args.limit
    # Checked locally either way, so a bad query or size range is the same usage error (exit 2)
    # online and offline; online, family and algorithm are left to the server, which may know
    # values this SDK does not (its 422 is then a one-line error).
    local = filters if server_url is None else {**filters, "family": None, "algorithm": None}
    try:
        matches = filter_training_models(**local, on=day)
    except TrainingQueryError as err:
        flag = FILTER_FLAGS.get(err.argument, err.argument)
        raise UsageError(f"dn train catalog: {flag}: {err}") from None
    if server_url is None:
        source = f"embedded in dreadnode-training {__version__} (offline)"
        shown: list[Entry] = [model.listed(day) for model in matches[:limit]]
        total = len(matches)
    else:
        with api_client(args, unavailable_hint=OFFLINE_HINT) as client:
            page = _list_served(client, filters, limit)
            source = f"from {client.base_url} (server)"
        shown = [entry.model_dump(mode="json") for entry in page.models]
        total = page.total
        _warn_unknown_values(page.models)
    _say_source(source)
    if args.json:
        write_json({"models": shown, "total": total, "limit": limit})
    elif args.prices:
        print_price_table(shown, total=total, offline=server_url is None)
    else:
        print_table(shown, total=total)
        if not shown and args.query:
            suggestions = suggest_training_models(args.query, on=day)
            if suggestions:
                names = ", ".join(model.tinker_id for model in suggestions)
                sys.stdout.write(f"Did you mean: {names}?\n")
    return 0


def _list_served(client: Client, filters: Mapping[str, Any], limit: int) -> CatalogPage:
    """The server's page; its refusal of a filter is a usage error naming the flag (exit 2)."""
    from dreadnode.client import UnprocessableEntityError

    try:
        return client.list_catalog(**filters, limit=limit)
    except UnprocessableEntityError as err:
        refusal = _refused_filters(err.errors)
        if refusal is None:
            raise  # not about what the user typed: api_client reports it (exit 1)
        raise refusal from None


def _refused_filters(errors: Sequence[Mapping[str, Any]]) -> UsageError | None:
    """``dn train catalog: --family: unknown family 'banana'; allowed: ...``, the line offline
    gives, from the server's 422 items; None unless every item is about a parameter we sent."""
    lines = []
    for item in errors:
        loc = [str(part) for part in item.get("loc") or []]
        if len(loc) != 2 or loc[0] != "query" or loc[1] not in PARAMETER_FLAGS:
            return None
        lines.append(f"{PARAMETER_FLAGS[loc[1]]}: {item.get('msg', '')}")
    if not lines:
        return None
    first, *others = lines
    return UsageError(f"dn train catalog: {first}", hints=tuple(others))


def _say_source(source: str) -> None:
    """Where the listing came from, on stderr, for a person at a terminal only (see above)."""
    if sys.stdout.isatty():
        sys.stderr.write(f"catalog: {source}\n")


def _refuse_listing_flags(filters: Mapping[str, Any], *, limit: int | None, prices: bool) -> None:
    """``--retired`` lists every retirement (as the API's ``/training/catalog/retired`` does):
    a filter, a limit or ``--prices`` given with it would be silently ignored, so it is a usage
    error."""
    given = [flag for name, flag in FILTER_FLAGS.items() if filters[name] is not None]
    if filters["vision"] is False:
        given[given.index("--vision")] = "--no-vision"
    if limit is not None:
        given.append("--limit")
    if prices:
        given.append("--prices")
    if given:
        raise UsageError(
            f"dn train catalog: --retired lists every retired model; it takes no {', '.join(given)}"
        )


def _run_retired(args: argparse.Namespace, server_url: str | None, day: date) -> int:
    """``--retired``: what Tinker retired, when, and what it recommends instead."""
    if server_url is None:
        source = f"embedded in dreadnode-training {__version__} (offline)"
        retired = [r.model_dump(mode="json") for r in retired_training_models(on=day)]
    else:
        with api_client(args, unavailable_hint=OFFLINE_HINT + " --retired") as client:
            answer = client.list_retired_models()
            source = f"from {client.base_url} (server)"
        retired = [r.model_dump(mode="json") for r in answer.retired]
    _say_source(source)
    if args.json:
        write_json({"retired": retired, "total": len(retired)})
        return 0
    if not retired:
        sys.stdout.write("No model has been retired.\n")
        return 0
    rows = [(r["tinker_id"], r["retired_on"], r["replacement"] or "-") for r in retired]
    write_table(("tinker_id", "retired on", "replacement"), rows, no_wrap={"tinker_id"})
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


def format_lifecycle(entry: Entry) -> str:
    """ "available", or "retiring 2026-06-12 -> Qwen/Qwen3.5-9B-Base" (the replacement if any)."""
    retirement = entry.get("retirement")
    if entry.get("lifecycle") != "retiring" or not isinstance(retirement, Mapping):
        return str(entry.get("lifecycle", "available"))
    text = f"retiring {retirement.get('retired_on')}"
    if retirement.get("replacement"):
        text += f" -> {retirement['replacement']}"
    return text


def _money(price: Mapping[str, Any] | None, rate: str) -> str:
    """``$0.40``, ``$1.875``: cents at least, and every digit the list gives (up to six)."""
    value = None if price is None else price.get(rate)
    if value is None:
        return "-"
    whole, _, fraction = f"{value:,.6f}".partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def print_price_table(entries: Sequence[Entry], *, total: int, offline: bool) -> None:
    """The entries with their live prices, then "showing N of M" and where the prices come from
    and when they were fetched (or why there are none)."""
    if not entries:
        sys.stdout.write("No models match these filters.\n")
        return
    rates = ("train", "sample", "prefill", "cached_prefill")
    rows = [
        (entry["tinker_id"], *(_money(entry.get("price"), rate) for rate in rates))
        for entry in entries
    ]
    headers = ("tinker_id", "train", "sample", "prefill", "cached prefill")
    write_table(headers, rows, no_wrap={"tinker_id"}, right=set(headers[1:]))
    sys.stdout.write(page_footer(len(entries), total) + "\n")
    sys.stdout.write(price_source_line(entries, offline=offline) + "\n")


def price_source_line(entries: Sequence[Entry], *, offline: bool) -> str:
    """Where the shown prices come from and when they were fetched, or why none are shown."""
    if offline:
        return "no prices offline: live prices come from a server that fetched Tinker's list"
    priced = [entry["price"] for entry in entries if entry.get("price")]
    if not priced:
        return (
            "no prices: the server has not fetched Tinker's price list yet, or has none "
            "configured (DREADNODE_API_PRICE_LIST_URL)"
        )
    sources = sorted({str(price["source"]) for price in priced})
    as_of = max(str(price["price_as_of"]) for price in priced)
    dated = as_of.replace("T", " ")[:16] + ("Z" if as_of.endswith("Z") else "")
    return f"USD per million tokens, from {', '.join(sources)} as of {dated}"


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
            format_lifecycle(entry),
        )
        for entry in entries
    ]
    write_table(
        ("tinker_id", "name", "family", "type", "size", "context", "algorithms", "lifecycle"),
        rows,
        no_wrap={"tinker_id"},
        right={"size", "context"},
    )
    sys.stdout.write(page_footer(len(entries), total) + "\n")
