"""``dn train sft`` and ``dn train rl``: check the model locally, then validate or create the job.

The model (and the LoRA rank it is asked to train with) is checked against the embedded catalog
before anything is sent, so a typo or a retired model fails in milliseconds with the API's own
words and exit 2, even with no server configured. A model Tinker retires soon is a warning on
stderr, and the job is still submitted. Everything else (hyperparameter bounds, context length)
is the API's to check: ``--dry-run`` asks it for every violation at once without creating
anything, and shows the values the job would train with and its adapter's size.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from dreadnode.cli.api import add_server_arguments, api_client, format_error_item
from dreadnode.cli.contract import HYPERPARAMETERS, METHODS
from dreadnode.cli.day import catalog_day
from dreadnode.cli.errors import CLIError, UsageError
from dreadnode.cli.output import format_adapter, format_value
from dreadnode.training.models import (
    TrainingModel,
    describe_retiring_training_model,
    describe_unknown_training_model,
    get_training_model,
)

if TYPE_CHECKING:
    from dreadnode.client import ErrorItem, JobSpec, JobValidation

__all__ = ["add_submit_parsers", "check_model", "job_spec", "run_submit"]


def add_submit_parsers(commands: Any) -> None:
    """Register one subcommand per training method (``sft``, ``rl``) under ``dn train``."""
    for method in METHODS:
        parser = commands.add_parser(method.name, help=method.help, description=method.description)
        _add_job_arguments(parser)
        default, *others = method.algorithms
        if others:
            parser.add_argument(
                "--algorithm",
                choices=method.algorithms,
                default=default,
                help=f"the {method.name.upper()} objective (default: {default})",
            )
        parser.set_defaults(handler=run_submit, method=method.name, algorithm=default)


def _add_job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="base model id from `dn train catalog`, e.g. Qwen/Qwen3.5-9B-Base",
    )
    parser.add_argument("--dataset", required=True, help="where the training data is")
    parser.add_argument("--name", help="a name for the job")
    parser.add_argument(
        "--tag", dest="tags", action="append", default=[], help="a tag (repeatable)"
    )
    knobs = parser.add_argument_group("hyperparameters (bounds are checked by the API)")
    for knob in HYPERPARAMETERS:
        knobs.add_argument(knob.flag, dest=knob.name, type=knob.parser, help=knob.bounds)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="ask the API for every problem with this job without creating it",
    )
    parser.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    add_server_arguments(parser)


def check_model(
    model_id: str, algorithm: str, lora_rank: int | None = None, *, on: date | None = None
) -> TrainingModel:
    """The model ``--model`` selects; exit 2 for one the embedded catalog does not accept on that
    day (unknown, retired, a suffix it does not offer), that lacks ``algorithm``, or that Tinker
    would refuse ``lora_rank`` for. ``on`` defaults to the CLI's day (``catalog_day``).

    The messages come from the catalog's functions, as the API's do, so they are word for word
    what the API would answer for the same model (an e2e test holds them equal).
    """
    if not model_id.strip():
        raise UsageError("--model must not be empty", hints=("list the models: dn train catalog",))
    day = catalog_day() if on is None else on
    model = get_training_model(model_id, on=day)
    if model is None:
        raise UsageError(
            describe_unknown_training_model(model_id, on=day),
            hints=("list the models: dn train catalog",),
        )
    problem = None if lora_rank is None else model.lora_rank_problem(lora_rank)
    if problem is not None:
        raise UsageError(f"--lora-rank: {problem}")
    if algorithm not in {a.value for a in model.supported_algorithms}:
        supported = ", ".join(a.value for a in model.supported_algorithms)
        raise UsageError(
            f"{model.tinker_id} does not support the {algorithm} algorithm (supported: {supported})"
        )
    return model


def _warn(warnings: list[ErrorItem] | None, local: str | None) -> None:
    """Each warning once on stderr: the server's when it answered any, else the local one."""
    lines = [item.msg for item in warnings] if warnings else ([local] if local else [])
    for line in lines:
        sys.stderr.write(f"warning: {line}\n")


def run_submit(args: argparse.Namespace) -> int:
    """Validate (``--dry-run``) or create the job described by ``args``."""
    day = catalog_day()
    check_model(args.model, args.algorithm, args.lora_rank, on=day)
    retiring = describe_retiring_training_model(args.model, on=day)
    job = job_spec(args)
    with api_client(args) as client:
        if args.dry_run:
            validation = client.validate_job(**job)
            _warn(validation.warnings, retiring)
            return _report_validation(validation, as_json=args.json)
        created = client.create_job(**job)
    _warn(created.warnings, retiring)
    if args.json:
        sys.stdout.write(created.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(created.id + "\n")
        sys.stderr.write(
            f"created {created.method} job {created.id} on {created.base_model} "
            f"({created.status}); follow it with: dn train jobs get {created.id}\n"
        )
    return 0


def job_spec(args: argparse.Namespace) -> JobSpec:
    """The job the parsed command line describes; a hyperparameter not given is left out (the
    server's default then applies, and is reported as defaulted)."""
    return {
        "base_model": args.model,
        "method": args.method,
        "algorithm": args.algorithm,
        "dataset": args.dataset,
        "name": args.name,
        "tags": args.tags,
        "hyperparameters": {
            knob.name: getattr(args, knob.name)
            for knob in HYPERPARAMETERS
            if getattr(args, knob.name) is not None
        },
    }


def _report_validation(validation: JobValidation, *, as_json: bool) -> int:
    """0 when the API would accept the job; otherwise every violation, one per line, exit 1."""
    if as_json:
        sys.stdout.write(validation.model_dump_json(indent=2) + "\n")
    elif validation.valid:
        sys.stdout.write("valid: the API would accept this job (dry run, nothing created)\n")
        _write_effective(validation)
    if validation.valid:
        return 0
    count = len(validation.errors)
    raise CLIError(
        f"the API would reject this job ({count} problem{'' if count == 1 else 's'}; "
        "dry run, nothing created)",
        hints=tuple(format_error_item(item) for item in validation.errors),
    )


def _write_effective(validation: JobValidation) -> None:
    """The values the job would train with, defaults marked, and its adapter's size."""
    hyperparameters = validation.hyperparameters or {}
    for name, value in hyperparameters.items():
        if value is None:
            continue
        mark = " (default)" if name in validation.defaulted_hyperparameters else ""
        sys.stdout.write(f"  {name:<20} {format_value(value)}{mark}\n")
    rank = hyperparameters.get("lora_rank")
    if rank is None:
        return
    sys.stdout.write(f"adapter: {format_adapter(validation.adapter_parameters, rank)}\n")
