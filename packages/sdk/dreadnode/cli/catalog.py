"""``dn train catalog``: list Tinker's base models, filtered, as a table or as JSON.

It reads the catalog embedded in the SDK, so it works offline with no credentials.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from dreadnode.cli.errors import UsageError
from dreadnode.cli.parsing import bounded_int, non_negative_float
from dreadnode.training.models import (
    TrainingAlgorithm,
    TrainingModel,
    TrainingModelFamily,
    TrainingModelType,
    filter_training_models,
    suggest_training_models,
)

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "add_catalog_parser", "format_size", "run_catalog"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def add_catalog_parser(commands: Any) -> None:
    """Register ``catalog`` under ``dn train``."""
    parser = commands.add_parser(
        "catalog",
        help="list the base models Tinker can fine-tune",
        description="List the base models Tinker can fine-tune. Filters combine with AND.",
    )
    parser.add_argument(
        "--query", help="words that must appear in the id or name, e.g. 'llama 3.1'"
    )
    parser.add_argument("--family", choices=[f.value for f in TrainingModelFamily])
    parser.add_argument("--algorithm", choices=[a.value for a in TrainingAlgorithm])
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
    parser.set_defaults(handler=run_catalog)


def run_catalog(args: argparse.Namespace) -> int:
    """List the embedded catalog with the filters in ``args``."""
    try:
        matches = filter_training_models(
            query=args.query,
            family=args.family,
            algorithm=args.algorithm,
            min_size_b=args.min_size_b,
            max_size_b=args.max_size_b,
        )
    except ValueError as err:
        raise UsageError(f"dn train catalog: {err}") from None
    shown = matches[: args.limit]
    if args.json:
        payload = {
            "models": [model.model_dump(mode="json") for model in shown],
            "total": len(matches),
            "limit": args.limit,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        print_table(shown, total=len(matches))
        if not matches and args.query:
            suggestions = suggest_training_models(args.query)
            if suggestions:
                sys.stdout.write(f"Did you mean: {', '.join(suggestions)}?\n")
    return 0


def format_size(model: TrainingModel) -> str:
    """ "8B" for a dense model; "3B of 30B" for a mixture of experts (active of total)."""
    size = f"{model.size_b:g}B"
    if model.type is TrainingModelType.MOE:
        return f"{size} of {model.total_size_b:g}B"
    return size


def format_context(model: TrainingModel) -> str:
    text = f"{model.context_length:,}"
    if model.extended_context_length is not None:
        text += f" ({model.extended_context_length:,} :peft:)"
    return text


def print_table(models: Sequence[TrainingModel], *, total: int) -> None:
    """A rich table, then "showing N of M"; imported lazily so ``--json`` starts faster."""
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False) if sys.stdout.isatty() else Console(width=200)
    if not models:
        console.print("No models match these filters.")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("tinker_id", no_wrap=True)
    table.add_column("name")
    table.add_column("family")
    table.add_column("type")
    table.add_column("size", justify="right")
    table.add_column("context", justify="right")
    table.add_column("algorithms")
    for model in models:
        table.add_row(
            model.tinker_id,
            model.display_name,
            model.family.value,
            model.type.value,
            format_size(model),
            format_context(model),
            ", ".join(a.value for a in model.supported_algorithms),
        )
    console.print(table)
    footer = f"showing {len(models)} of {total}"
    if len(models) < total:
        footer += f" (raise --limit, up to {MAX_LIMIT}, to see more)"
    console.print(footer, highlight=False)
