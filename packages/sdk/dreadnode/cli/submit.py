"""``dn train sft`` and ``dn train rl``: check the model locally, then validate or create the job.

The model (and the LoRA rank it is asked to train with) is checked against the embedded catalog
before anything is sent, so a typo, a retired model or a job on a model with no renderer fails in
milliseconds with the API's own words and exit 2, even with no server configured. A model Tinker
retires soon is a warning on stderr, and the job is still submitted. Everything else
(hyperparameter bounds, context length) is the API's to check: ``--dry-run`` asks it for every
violation at once without creating anything, and shows the values the job would train with and
its adapter's size.

``--model`` may also be one of the user's own models (``ft-...``, what a completed job made;
``dn train models list``): the embedded catalog does not know those, so such an id is sent as it
is, and the API checks the job as one on the model's root catalog model, at its LoRA rank.

An RL job needs ``--grader FILE``: a JSON declaration of how each sampled completion is scored.
It is checked here first (``dreadnode.cli.rl``): a file that is not JSON or not a valid grader,
or a local dataset whose rows lack a field the grader reads, fails with exit 2 and nothing is
sent; so do the RL knobs' bounds (``--group-size``, ``--max-tokens``, ``--temperature``, and
``--clip-low``/``--clip-high`` for ``--algorithm ppo`` only), and ``--grader`` or an RL knob on
``sft``. A dry run of an RL job also says what a step samples and how it is graded.

``--dataset`` takes a dataset id (``ds-...``), a URI for data the platform does not hold
(``s3://``, ``https://``), or a file on this machine: a file is checked here by the server's
rules (a bad line fails in milliseconds, exit 2, and nothing is sent), its format is held to the
method, and it is uploaded before the job is created with the new dataset's id. A dry run checks
the file but does not upload it: the API validates the rest of the job.

``--max-cost USD`` caps what the job may spend: the API refuses a job whose estimate is over it
and stops one before a step would take its spend over it. A dry run and a new job both show the
exact tokens the job sends to Tinker and what they are estimated to cost, or why that is not
known yet (a local file's tokens are counted once it is uploaded).

``--watch`` follows the new job to its end, as ``dn train jobs watch`` does (and exits as it
does: 0 when the job completed, 1 when it failed or was cancelled).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO
from urllib.parse import unquote, urlsplit

from dreadnode.cli.api import add_server_arguments, api_client, format_error_item
from dreadnode.cli.contract import HYPERPARAMETERS, METHODS, MODEL_ID_PREFIX, PPO, Hyperparameter
from dreadnode.cli.costs import estimate_fields
from dreadnode.cli.datasets import check_local_dataset, describe_dataset, upload_checked_dataset
from dreadnode.cli.day import catalog_day
from dreadnode.cli.errors import CLIError, UsageError
from dreadnode.cli.output import format_adapter, format_value, printable
from dreadnode.cli.parsing import positive_float
from dreadnode.cli.rl import (
    GRADER_FLAG,
    check_grader_fields,
    describe_grader,
    describe_sampling,
    read_grader,
)
from dreadnode.cli.watch import add_interval_argument, follow
from dreadnode.training.models import (
    TrainingModel,
    describe_retiring_training_model,
    describe_unknown_training_model,
    describe_unrenderable_training_model,
    get_training_model,
)

if TYPE_CHECKING:
    from dreadnode.client import ErrorItem, Job, JobSpec, JobValidation
    from dreadnode.training.datasets import DatasetCheck
    from dreadnode.training.graders import Grader

__all__ = [
    "add_submit_parsers",
    "check_dataset_fits",
    "check_model",
    "job_spec",
    "local_dataset_path",
    "names_own_model",
    "run_submit",
]

#: Endings that make a bare name (``train.jsonl``) a file: no dataset id or URI has them.
FILE_SUFFIXES: Final = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".txt")
#: The id prefix of a dataset uploaded to the API.
DATASET_ID_PREFIX: Final = "ds-"
#: The warning the API gives for a URI it did not check; a dry run's stand-in for a local file
#: (checked here) gets it too, and it is not the user's to read.
DATASET_NOT_CHECKED: Final = "dataset_not_checked"
#: Where a dry run says a local file is (a URI the API does not hold); the file's sha256 and
#: ``.jsonl`` follow.
DRY_RUN_STAND_IN: Final = "s3://dn-dry-run/"


def add_submit_parsers(commands: Any) -> None:
    """Register one subcommand per training method (``sft``, ``rl``) under ``dn train``."""
    for method in METHODS:
        parser = commands.add_parser(method.name, help=method.help, description=method.description)
        _add_job_arguments(parser, method.name)
        default, *others = method.algorithms
        if others:
            parser.add_argument(
                "--algorithm",
                choices=method.algorithms,
                default=default,
                help=f"the {method.name.upper()} objective (default: {default})",
            )
        parser.set_defaults(handler=run_submit, method=method.name, algorithm=default)


def _add_job_arguments(parser: argparse.ArgumentParser, method: str) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="base model id from `dn train catalog`, e.g. Qwen/Qwen3.5-9B-Base, or one of "
        "your models (ft-..., from `dn train models list`) to train further",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        help="a JSONL file here (checked, then uploaded), a dataset id from "
        "`dn train datasets list`, or an s3:// or https:// URI",
    )
    parser.add_argument("--name", help="a name for the job")
    parser.add_argument(
        "--tag", dest="tags", action="append", default=[], help="a tag (repeatable)"
    )
    knobs = parser.add_argument_group("hyperparameters (bounds are checked by the API)")
    for knob in HYPERPARAMETERS:
        if knob.methods is None:
            knobs.add_argument(
                knob.flag, dest=knob.name, type=knob.parser, help=knob.help_for(method)
            )
    _add_method_arguments(parser, method)
    parser.add_argument(
        "--max-cost",
        type=positive_float,
        metavar="USD",
        help="the most the job may spend, in US dollars: the API refuses the job when its "
        "estimate is higher, and stops it before a step would take its spend over it",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="ask the API for every problem with this job without creating it",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="follow the new job to its end, as `dn train jobs watch` does",
    )
    add_interval_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    add_server_arguments(parser)


#: The example the help and the missing-grader error give (the API's own).
GRADER_EXAMPLE: Final = '{"type": "string_check", "field": "answer", "extract": "last_line"}'


def _add_method_arguments(parser: argparse.ArgumentParser, method: str) -> None:
    """``--grader`` and the knobs that go with some methods only, offered on those. Another
    method's command takes them too, hidden from its help, to refuse them in the API's words
    (``--grader`` on ``sft``: only RL jobs sample completions to grade) rather than as an
    unknown flag."""
    rl = method == "rl"
    group = (
        parser.add_argument_group("reinforcement learning (bounds checked here and by the API)")
        if rl
        else parser
    )
    group.add_argument(
        GRADER_FLAG,
        metavar="FILE",
        help=(
            "required: a JSON file declaring how each sampled completion is scored against its "
            f"prompt's row (- reads stdin), e.g. {GRADER_EXAMPLE}; checked here first"
        )
        if rl
        else argparse.SUPPRESS,
    )
    for knob in HYPERPARAMETERS:
        if knob.methods is None:
            continue
        if method in knob.methods:
            group.add_argument(
                knob.flag, dest=knob.name, type=knob.parser, help=knob.help_for(method)
            )
        else:  # taken as text, to be refused whatever its value (check_method_settings)
            group.add_argument(knob.flag, dest=knob.name, help=argparse.SUPPRESS)


def names_own_model(model_id: str) -> bool:
    """Whether ``--model`` names one of the user's own models (``ft-...``): the API's to look
    up (and to check the job against), since only it knows the user's models."""
    return model_id.startswith(MODEL_ID_PREFIX)


def check_model(
    model_id: str, algorithm: str, lora_rank: int | None = None, *, on: date | None = None
) -> TrainingModel:
    """The model ``--model`` selects; exit 2 for one the embedded catalog does not accept on that
    day (unknown, retired, a suffix it does not offer), that lacks ``algorithm``, that Tinker
    would refuse ``lora_rank`` for, or that has no renderer to turn rows into tokens (an SFT
    job's rows, an RL job's prompts, and back again the completions it grades). ``on`` defaults
    to the CLI's day (``catalog_day``).

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
    unrenderable = describe_unrenderable_training_model(model_id, on=day)
    if unrenderable is not None:
        raise UsageError(unrenderable)
    return model


def check_method_settings(args: argparse.Namespace) -> tuple[dict[str, Any], Grader] | None:
    """The grader ``--grader`` declares, as JSON and parsed, for an RL job (None for another
    method); exit 2 before anything is sent for a setting the API would refuse: a grader
    missing on RL or given on SFT, an RL knob on SFT, a PPO clip on another algorithm, a grader
    file that is not a valid grader. The words are the API's, with the flag that was typed."""
    source: str | None = getattr(args, "grader", None)
    if args.method != "rl" and source is not None:
        raise UsageError(
            f"{GRADER_FLAG}: A grader scores sampled completions, which only RL jobs have; "
            "remove it (or submit an RL job: dn train rl)"
        )
    for knob in HYPERPARAMETERS:
        if getattr(args, knob.name, None) is not None:
            _check_knob_fits(knob, args.method, args.algorithm)
    if args.method != "rl":
        return None
    if source is None:
        raise UsageError(
            f"{GRADER_FLAG}: An RL job needs a grader: how each sampled completion is scored, "
            f"e.g. {GRADER_EXAMPLE} (give it as a JSON file: {GRADER_FLAG} FILE)"
        )
    return read_grader(source)


def _check_knob_fits(knob: Hyperparameter, method: str, algorithm: str | None) -> None:
    """Exit 2 for a knob given to a method or algorithm it does not go with."""
    if knob.methods is not None and method not in knob.methods:
        if method == "sft":
            why = f"{knob.name} is an RL setting; an SFT job samples nothing, so remove it"
        else:
            why = f"{knob.name} does not go with {method} jobs; remove it"
        raise UsageError(f"{knob.flag}: {why}")
    if knob.algorithms is not None and algorithm not in knob.algorithms:
        if knob.algorithms == (PPO,):
            why = (
                f"{knob.name} sets PPO's clipping; algorithm {algorithm!r} does not clip "
                f"(use --algorithm {PPO}, or remove it)"
            )
        else:
            wanted = " or ".join(repr(a) for a in knob.algorithms)
            why = f"{knob.name} goes with algorithm {wanted} only, not {algorithm!r}"
        raise UsageError(f"{knob.flag}: {why}")


def _warn(warnings: list[ErrorItem] | None, local: str | None) -> None:
    """Each warning once on stderr: the server's when it answered any, else the local one."""
    lines = [item.msg for item in warnings] if warnings else ([local] if local else [])
    for line in lines:
        sys.stderr.write(f"warning: {line}\n")


def local_dataset_path(value: str) -> Path | None:
    """The file on this machine that ``--dataset`` names, or None for what the API resolves
    itself: a dataset id (``ds-...``) or a URI (``s3://``, ``https://``; and other schemes, for
    the API to refuse). A ``file://`` URI names a local file.

    A value is a local file when one exists by that name, or when it looks like a path
    (``./train.jsonl``, ``~/train.jsonl``, ``data/train.jsonl``, ``train.jsonl``): the API would
    only refuse it, so a missing one fails here instead. Anything else (``my-data``) goes to the
    API as it is, which says whether it knows it.
    """
    text = value.strip()
    if text.lower().startswith("file://"):
        return Path(unquote(urlsplit(text).path))
    if "://" in text:
        return None
    if text.startswith(DATASET_ID_PREFIX) and "/" not in text and os.sep not in text:
        return None
    path = Path(text).expanduser()
    looks_like_a_path = (
        text.startswith(("~", "."))
        or "/" in text
        or os.sep in text
        or text.lower().endswith(FILE_SUFFIXES)
    )
    return path if looks_like_a_path or path.exists() else None


def check_dataset_fits(path: Path, check: DatasetCheck, method: str) -> None:
    """Exit 2 when the file's rows do not train ``method`` (prompt rows carry no answer to
    imitate; chat rows no reward to learn from), before the file is sent."""
    from dreadnode.training.datasets import FORMAT_METHODS

    fits = FORMAT_METHODS[check.format] if check.format is not None else method
    if fits != method:
        raise UsageError(
            f"--dataset: {path} holds {check.format} rows, which train {fits} jobs, not {method}",
            hints=(f"submit it with: dn train {fits} --dataset {path} ...",),
        )


def _check_local_dataset(args: argparse.Namespace) -> tuple[Path, DatasetCheck] | None:
    """The local file ``--dataset`` names and its verdict (exit 2 for a bad one), or None when
    it names no local file."""
    path = local_dataset_path(args.dataset)
    if path is None:
        return None
    if not path.exists():
        raise UsageError(
            f"--dataset: no such file: {args.dataset!r}",
            hints=(
                "give a JSONL file on this machine, a dataset id from `dn train datasets list`, "
                "or an s3:// or https:// URI",
            ),
        )
    check = check_local_dataset(path, as_json=args.json, label="--dataset")
    check_dataset_fits(path, check, args.method)
    return path, check


def _check_completion_fits(
    model: TrainingModel, max_tokens: object, max_sequence_length: object
) -> None:
    """Exit 2 for an RL completion as long as the sequence it shares with its prompt
    (``--max-sequence-length``, else the model's context): no prompt would fit beside it (the
    API's rule and words)."""
    if not isinstance(max_tokens, int):
        return
    if isinstance(max_sequence_length, int) and max_sequence_length < model.context_length:
        limit, room = max_sequence_length, f"max_sequence_length {max_sequence_length:,}"
    else:
        limit = model.context_length
        room = f"the context of {model.tinker_id!r} ({model.context_length:,} tokens)"
    if max_tokens >= limit:
        raise UsageError(
            f"--max-tokens: max_tokens {max_tokens:,} leaves no room for a prompt in {room}"
        )


def _check_grader_and_dataset(
    args: argparse.Namespace,
) -> tuple[dict[str, Any] | None, tuple[Path, DatasetCheck] | None]:
    """The grader's declaration (RL only) and the local dataset file with its verdict (None when
    ``--dataset`` names none), each checked here: exit 2 for a bad one, and for a file whose
    rows lack a field the grader reads."""
    grader = check_method_settings(args)
    local = _check_local_dataset(args)
    if grader is None:
        return None, local
    declaration, parsed = grader
    if local is not None:
        check_grader_fields(parsed, *local)
    return declaration, local


def _check_model_here(args: argparse.Namespace) -> tuple[TrainingModel | None, str | None]:
    """The catalog model ``--model`` selects and the warning if it retires soon, after the
    checks the embedded catalog allows (exit 2 for a model the API would refuse); (None, None)
    for one of the user's own models, which only the API knows and checks."""
    if names_own_model(args.model):
        return None, None
    day = catalog_day()
    model = check_model(args.model, args.algorithm, args.lora_rank, on=day)
    _check_completion_fits(
        model, getattr(args, "max_tokens", None), getattr(args, "max_sequence_length", None)
    )
    return model, describe_retiring_training_model(args.model, on=day)


def run_submit(args: argparse.Namespace) -> int:
    """Validate (``--dry-run``) or create the job described by ``args``, uploading its
    dataset first when ``--dataset`` is a local file."""
    model, retiring = _check_model_here(args)
    declaration, local = _check_grader_and_dataset(args)
    job = job_spec(args, grader=declaration)
    if args.dry_run:
        if local is not None:
            # Not uploaded: a dry run creates nothing. A URI stands in for the file (checked
            # above), so the API judges the rest of the job and says what it would train with.
            job["dataset"] = f"{DRY_RUN_STAND_IN}{local[1].sha256}.jsonl"
            sys.stderr.write(f"{_describe_check(*local)} (dry run: not uploaded)\n")
        with api_client(args) as client:
            validation = client.validate_job(**job)
        warnings = validation.warnings
        unknown_because = None
        if local is not None:
            warnings = [w for w in warnings if w.type != DATASET_NOT_CHECKED]
            _warn_row_length(*local, model, args.max_sequence_length)
            unknown_because = _unknown_cost_of_local_file(validation, local[0])
        _warn(warnings, retiring)
        return _report_validation(
            validation,
            as_json=args.json,
            unknown_because=unknown_because,
            algorithm=args.algorithm,
            grader=declaration,
        )
    uploaded: str | None = None
    try:
        with api_client(args) as client:
            if local is not None:
                path, check = local
                dataset = upload_checked_dataset(client, path, check, name=None, format=None)
                uploaded = dataset.id
                sys.stderr.write(describe_dataset(dataset, path) + "\n")
                job["dataset"] = dataset.id
            created = client.create_job(**job)
    except CLIError as error:
        if uploaded is None:
            raise
        # The upload worked and is kept: say how to use it rather than send it again.
        raise CLIError(
            error.message,
            code=error.code,
            hints=(*error.hints, f"the dataset is uploaded: use it with --dataset {uploaded}"),
        ) from error
    _warn(created.warnings, retiring)
    if args.watch:
        # --json: only the finished job, at the end (one JSON document on stdout).
        if not args.json:
            sys.stdout.write(created.id + "\n")
            sys.stdout.flush()
            sys.stderr.write(
                f"created {created.method} job {printable(created.id)} on "
                f"{printable(created.base_model)}; watching it (Ctrl-C stops watching, not "
                "the job)\n"
            )
            _write_estimate(created, sys.stderr)
            sys.stderr.flush()
        return follow(args, created.id)
    if args.json:
        sys.stdout.write(created.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(created.id + "\n")
        sys.stderr.write(
            f"created {created.method} job {created.id} on {created.base_model} "
            f"({created.status}); follow it with: dn train jobs watch {created.id}\n"
        )
        _write_estimate(created, sys.stderr)
    return 0


def _write_estimate(
    answer: Job | JobValidation, stream: TextIO, *, unknown_because: str | None = None
) -> None:
    """``tokens: 1,234 per epoch, ...`` and ``estimated cost: $0.0016 (...)``, one a line."""
    for label, text in estimate_fields(answer, unknown_because=unknown_because):
        stream.write(f"{label}: {printable(text)}\n")


def _unknown_cost_of_local_file(validation: JobValidation, path: Path) -> str | None:
    """Why a dry run with a local file has no estimate, when the API's reason is that it does
    not hold the stand-in URI: that URI is this CLI's, not the user's, and the tokens are
    counted once the file is uploaded. None leaves any other reason (an RL job's, a missing
    price) as the API gave it."""
    reason = validation.cost_estimate.reason
    if validation.estimated_cost_usd is not None or reason is None:
        return None
    if DRY_RUN_STAND_IN not in reason:
        return None
    return (
        "the exact tokens are counted once the file is uploaded: "
        f"dn train datasets upload {shlex.quote(str(path))}"
    )


def _warn_row_length(
    path: Path, check: DatasetCheck, model: TrainingModel | None, max_sequence_length: int | None
) -> None:
    """The API's warning for a row that may not fit the job's context, for a file it has not
    seen (a dry run): a row's bytes bound its tokens from above, so it may well fit. For one of
    the user's models (``model`` None) the context is known to the API only: without
    ``--max-sequence-length`` there is nothing to compare with."""
    if max_sequence_length is not None:
        context, named = max_sequence_length, f"max_sequence_length {max_sequence_length:,}"
    elif model is None:
        return
    else:
        context = model.context_length
        named = f"the context of {model.tinker_id!r} ({context:,} tokens)"
    if check.longest_row_bytes > context:
        sys.stderr.write(
            f"warning: {path}: line {check.longest_row_line:,} has up to "
            f"{check.longest_row_bytes:,} tokens (its bytes; a token takes at least one), more "
            f"than {named}, so it may not fit\n"
        )


def _describe_check(path: Path, check: DatasetCheck) -> str:
    """``checked train.jsonl here: 9,000 chat rows, longest row: line 17, 4,321 bytes``."""
    return (
        f"checked {path} here: {check.rows:,} {check.format} rows; longest row: line "
        f"{check.longest_row_line:,}, {check.longest_row_bytes:,} bytes"
    )


def job_spec(args: argparse.Namespace, *, grader: dict[str, Any] | None = None) -> JobSpec:
    """The job the parsed command line describes, with the ``grader`` declaration read from
    ``--grader`` (``check_method_settings``); a hyperparameter not given is left out (the
    server's default then applies, and is reported as defaulted)."""
    spec: JobSpec = {
        "base_model": args.model,
        "method": args.method,
        "algorithm": args.algorithm,
        "dataset": args.dataset,
        "name": args.name,
        "tags": args.tags,
        "hyperparameters": {
            knob.name: getattr(args, knob.name)
            for knob in HYPERPARAMETERS
            if getattr(args, knob.name, None) is not None
        },
        "max_cost_usd": args.max_cost,
    }
    if grader is not None:
        spec["grader"] = grader
    return spec


def _report_validation(
    validation: JobValidation,
    *,
    as_json: bool,
    unknown_because: str | None = None,
    algorithm: str | None = None,
    grader: dict[str, Any] | None = None,
) -> int:
    """0 when the API would accept the job (with what it would train with, for an RL job what
    a step samples and how it is graded, and what it would cost); otherwise every violation,
    one per line, exit 1."""
    if as_json:
        sys.stdout.write(validation.model_dump_json(indent=2) + "\n")
    elif validation.valid:
        sys.stdout.write("valid: the API would accept this job (dry run, nothing created)\n")
        _write_effective(validation)
        if grader is not None:
            sampling = describe_sampling(validation.hyperparameters or {}, algorithm)
            if sampling is not None:
                sys.stdout.write(f"each step: {sampling}\n")
            sys.stdout.write(f"grader: {describe_grader(grader)}\n")
        _write_estimate(validation, sys.stdout, unknown_because=unknown_because)
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
