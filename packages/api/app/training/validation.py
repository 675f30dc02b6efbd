"""The one domain function every job request goes through, before anything is written.

Pydantic checks each field's shape and bounds (``app.schemas.JobCreate``); this module adds the
checks that need the catalog, the owner's datasets or several fields at once, and reports all
violations together, even when some fields failed pydantic already, so one round trip tells the
user everything.

The owner's datasets come in as a lookup (``DatasetLookup``: an id to its figures, or None), so
the function stays pure: the route reads the database, tests pass a dict's ``get``. A job's
``dataset`` is one of:

- a dataset id (``ds-...``) of the owner's: its format must feed the job's method, and a row
  longer in bytes than the job's context is worth a warning: byte-level tokenizers spend at
  least one byte per token, so a row's bytes bound its tokens from above;
- an ``s3://`` or ``https://`` URI: data the platform does not hold, accepted with a warning
  that it was not checked;
- anything else, which can only be a path on the user's machine (``./train.jsonl``,
  ``/home/...``, ``file://...``): refused, with the command that uploads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from app.errors import ErrorItem, error_item, pydantic_error_items
from app.schemas import JobCreate, JobMethod, TokenCountStatus
from app.training.catalog import (
    DEFAULT_LORA_RANK,
    TrainingAlgorithm,
    TrainingModel,
    TrainingModelStatus,
    describe_retiring_training_model,
    describe_unknown_training_model,
    describe_unrenderable_training_model,
    get_training_model,
    training_model_status,
)
from app.training.datasets import FORMAT_METHODS, DatasetFormat
from app.training.estimates import CostEstimate, dollars, estimate_job
from app.training.graders import parse_grader
from app.training.own_models import (
    MODEL_ID_PREFIX,
    OwnModelFacts,
    OwnModels,
    describe_retired_root,
    describe_unknown_base_model,
)
from app.training.prices import PriceList
from app.training.rl_settings import RL_KNOBS, grader_dataset_errors, rl_defaults, rl_errors

__all__ = [
    "DATASET_ID_PREFIX",
    "DatasetFacts",
    "DatasetLookup",
    "JobCheck",
    "RenderedFacts",
    "check_job",
    "effective_hyperparameters",
]

#: What every dataset id starts with; a ``dataset`` that does is looked up, never read as a path.
DATASET_ID_PREFIX = "ds-"
#: The URI schemes a job may name data by without uploading it (compared case-insensitively).
DATASET_URI_SCHEMES = ("s3://", "https://")
#: How to upload a file, as every refusal of a local path says.
UPLOAD_HINT = "upload the file with `dn train datasets upload FILE`"


@dataclass(frozen=True)
class RenderedFacts:
    """A dataset's exact figures under one renderer (a worker counted them): the tokens one
    pass sends, its longest rendered sequence and line, or why a row cannot be rendered."""

    renderer: str
    longest_row_tokens: int | None
    longest_row_line: int | None
    error: str | None = None
    tokens_processed: int | None = None


@dataclass(frozen=True)
class DatasetFacts:
    """What job creation needs to know of an uploaded dataset; ``rendered`` maps each catalog
    id to its renderer's exact figures once a worker has counted them (None until then), and
    ``token_counts_status`` says where the count stands (with its error when it failed)."""

    id: str
    format: DatasetFormat
    rows: int
    bytes: int
    longest_row_bytes: int
    longest_row_line: int
    rendered: Mapping[str, RenderedFacts] | None = None
    token_counts_status: TokenCountStatus = TokenCountStatus.PENDING
    token_counts_error: str | None = None
    #: A prompt dataset's reference fields as stored (``ReferenceFields.to_json``); None for
    #: other formats and for datasets uploaded before they were recorded.
    reference_fields: Mapping[str, Any] | None = None


#: The owner's dataset with this id, or None.
DatasetLookup = Callable[[str], DatasetFacts | None]

#: The algorithms each method may use; the first is the default.
METHOD_ALGORITHMS: Mapping[JobMethod, tuple[TrainingAlgorithm, ...]] = {
    JobMethod.SFT: (TrainingAlgorithm.SFT,),
    JobMethod.RL: (TrainingAlgorithm.IMPORTANCE_SAMPLING, TrainingAlgorithm.PPO),
}


@dataclass(frozen=True)
class JobCheck:
    """The outcome: the parsed job with what it will train with, or every violation (a job
    refused only for its budget keeps ``job`` and ``algorithm``, with no ``hyperparameters``).

    ``hyperparameters`` holds every effective value (the given ones and the model's defaults),
    ``defaulted`` names the ones filled in; ``warnings`` are worth telling but refuse nothing.
    ``base_model`` is the id of the catalog model the body names, even when other checks failed,
    so that every answer about that model can say where it stands (``model_retiring``).
    ``dataset`` is the uploaded dataset the job trains on (None for a URI), and
    ``training_tokens_bound`` its bytes times the job's epochs: no more tokens than that can
    be trained on, whatever the tokenizer. ``estimate`` is its exact tokens and their price
    (each figure, or why it is unknown), for a job valid but for its budget too.
    """

    job: JobCreate | None
    algorithm: TrainingAlgorithm | None
    base_model: str | None = None
    errors: list[ErrorItem] = field(default_factory=list)
    warnings: list[ErrorItem] = field(default_factory=list)
    hyperparameters: dict[str, Any] | None = None
    defaulted: list[str] = field(default_factory=list)
    adapter_parameters: int | None = None
    dataset: DatasetFacts | None = None
    training_tokens_bound: int | None = None
    estimate: CostEstimate | None = None
    #: The owner's model the job trains on top of (its ``base_model`` names it), or None.
    parent: OwnModelFacts | None = None


def effective_hyperparameters(
    given: dict[str, Any],
    model: TrainingModel,
    algorithm: TrainingAlgorithm | None = None,
    *,
    lora_rank: int = DEFAULT_LORA_RANK,
) -> tuple[dict[str, Any], list[str]]:
    """The values a job trains with, and the sorted names of those filled in from defaults:
    the model's recommended learning rate (Tinker's own where none is calibrated) and rank 32
    (``lora_rank``: a job on one of the owner's models keeps that model's), and for an RL
    ``algorithm`` its sampling knobs (``app.training.rl_settings``)."""
    effective = {
        name: value
        for name, value in given.items()
        if value is not None or name not in RL_KNOBS  # an RL knob is shown where it applies
    }
    defaults = {"learning_rate": model.default_learning_rate, "lora_rank": lora_rank}
    if algorithm is not None and algorithm is not TrainingAlgorithm.SFT:
        defaults.update(rl_defaults(algorithm))
    defaulted = sorted(name for name in defaults if effective.get(name) is None)
    effective.update({name: defaults[name] for name in defaulted})
    return effective, defaulted


def check_job(
    raw: Any,
    day: date,
    *,
    datasets: DatasetLookup,
    prices: PriceList | None = None,
    prices_configured: bool = False,
    own_models: OwnModels | None = None,
) -> JobCheck:
    """Validate a decoded job request body completely, with the catalog as it stands on ``day``
    and the owner's ``datasets``, and estimate its cost from Tinker's ``prices`` (None: not
    fetched yet, or, without ``prices_configured``, not read by this server). A ``base_model``
    may name one of ``own_models`` (``app.training.own_models``): the job is then checked as a
    job on the catalog model at its root, at the model's LoRA rank.

    The model validates the decoded object (see ``JobCreate`` for how it stays as strict as
    validating JSON), and the cross-field checks read the same object.
    """
    errors: list[ErrorItem] = []
    job: JobCreate | None = None
    try:
        job = JobCreate.model_validate(raw)
    except ValidationError as err:
        errors.extend(pydantic_error_items(err.errors(include_url=False), prefix=("body",)))
    if not isinstance(raw, dict):
        return JobCheck(job=None, algorithm=None, errors=errors)

    failed = [tuple(item["loc"][1:]) for item in errors]

    def clean(*path: str) -> tuple[bool, Any]:
        """Whether pydantic accepted the value at ``path``, and the raw value (None if absent)."""
        if any(path[: len(bad)] == bad for bad in failed):
            return False, None
        value: Any = raw
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return True, value

    warnings: list[ErrorItem] = []
    _, base_model = clean("base_model")
    model, parent = _check_base_model(base_model, day, own_models, errors, warnings)

    _, method = clean("method")
    errors.extend(_renderer_errors(model, method, day))
    algorithm_ok, given = clean("algorithm")
    algorithm: TrainingAlgorithm | None = None
    if isinstance(method, str) and method in set(JobMethod) and algorithm_ok:
        allowed = METHOD_ALGORITHMS[JobMethod(method)]
        algorithm = allowed[0] if given is None else TrainingAlgorithm(given)
        if algorithm is not None and algorithm not in allowed:
            errors.append(
                error_item(
                    ("body", "algorithm"),
                    f"Algorithm {algorithm.value!r} does not go with method {method!r}; "
                    f"method {method!r} takes {' or '.join(repr(a.value) for a in allowed)}",
                    "algorithm_method_mismatch",
                )
            )
        elif algorithm is not None and model is not None:
            errors.extend(_model_algorithm_errors(model, algorithm))
    errors.extend(
        rl_errors(method=method if isinstance(method, str) else None, algorithm=algorithm, raw=raw)
    )

    _, length = clean("hyperparameters", "max_sequence_length")
    if model is not None:
        _, rank = clean("hyperparameters", "lora_rank")
        errors.extend(_model_hyperparameter_errors(model, length, rank))
        errors.extend(_parent_rank_errors(parent, rank))

    _, reference = clean("dataset")
    dataset: DatasetFacts | None = None
    if isinstance(reference, str):
        job_method = (
            JobMethod(method) if isinstance(method, str) and method in set(JobMethod) else None
        )
        dataset = _check_dataset(
            reference,
            datasets,
            method=job_method,
            context=_context(model, length),
            model_id=None if model is None else model.tinker_id,
            errors=errors,
            warnings=warnings,
        )

    errors.extend(
        _rl_fit_errors(
            method,
            model,
            dataset,
            grader=clean("grader"),
            max_tokens=clean("hyperparameters", "max_tokens"),
            max_sequence_length=clean("hyperparameters", "max_sequence_length"),
        )
    )

    accepted_id = None if model is None else model.tinker_id
    if errors or job is None or model is None:
        return JobCheck(
            job=None, algorithm=None, base_model=accepted_id, errors=errors, warnings=warnings
        )
    return _accepted(
        job,
        algorithm,
        model,
        dataset,
        warnings,
        prices=prices,
        prices_configured=prices_configured,
        parent=parent,
    )


def _accepted(
    job: JobCreate,
    algorithm: TrainingAlgorithm | None,
    model: TrainingModel,
    dataset: DatasetFacts | None,
    warnings: list[ErrorItem],
    *,
    prices: PriceList | None,
    prices_configured: bool,
    parent: OwnModelFacts | None,
) -> JobCheck:
    """A job that passed every other check: what it trains with, what it will cost, and
    whether that fits its budget (the one check that needs the rest to be known)."""
    effective, defaulted = effective_hyperparameters(
        job.hyperparameters.model_dump(),
        model,
        algorithm,
        lora_rank=DEFAULT_LORA_RANK if parent is None else parent.lora_rank,
    )
    epochs = job.hyperparameters.epochs or 1
    estimate = estimate_job(
        model_id=model.tinker_id,
        method=job.method,
        dataset=dataset,
        reference=job.dataset,
        hyperparameters=effective,
        prices=prices,
        prices_configured=prices_configured,
    )
    budget_errors = _budget_errors(job.max_cost_usd, estimate)
    if budget_errors:
        # The job itself is valid (kept: an idempotent retry is matched by it); only the live
        # estimate refuses it now.
        return JobCheck(
            job=job,
            algorithm=algorithm,
            base_model=model.tinker_id,
            errors=budget_errors,
            warnings=warnings,
            estimate=estimate,
            parent=parent,
        )
    return JobCheck(
        job=job,
        algorithm=algorithm,
        base_model=model.tinker_id,
        warnings=warnings,
        hyperparameters=effective,
        defaulted=defaulted,
        adapter_parameters=model.adapter_parameters(effective["lora_rank"]),
        dataset=dataset,
        # An RL job trains on what it samples, which its dataset's bytes do not bound.
        training_tokens_bound=None
        if dataset is None or job.method == JobMethod.RL
        else dataset.bytes * epochs,
        estimate=estimate,
        parent=parent,
    )


_BUDGET_LOC = ("body", "max_cost_usd")


def _budget_errors(cap: float | None, estimate: CostEstimate) -> list[ErrorItem]:
    """A cap the estimate already exceeds, or one nobody could hold the job to: the worker
    tracks spend at the train price known now, so without one the cap would be a promise it
    cannot keep. A cap on a job whose tokens are not known yet (counts pending, RL) is held
    to as the job runs."""
    if cap is None:
        return []
    rate = estimate.train_usd_per_million
    if rate is None:
        message = (
            f"max_cost_usd {dollars(cap)} cannot be held to: {estimate.price_reason}, and the "
            "worker tracks a job's spend at its train price"
        )
        return [error_item(_BUDGET_LOC, message, "budget_unenforceable")]
    if estimate.usd is None or estimate.usd <= cap:
        return []
    as_of = "" if estimate.price_as_of is None else f" of {estimate.price_as_of:%Y-%m-%d}"
    message = (
        f"The estimated cost, {dollars(estimate.usd)} ({estimate.total_tokens or 0:,} tokens at "
        f"${rate:g} per million, Tinker's price list{as_of}), is over max_cost_usd {dollars(cap)}"
    )
    return [error_item(_BUDGET_LOC, message, "over_budget")]


_DATASET_LOC = ("body", "dataset")


def _check_dataset(
    reference: str,
    datasets: DatasetLookup,
    *,
    method: JobMethod | None,
    context: tuple[int, str] | None,
    model_id: str | None,
    errors: list[ErrorItem],
    warnings: list[ErrorItem],
) -> DatasetFacts | None:
    """The uploaded dataset ``reference`` names, adding to ``errors`` why it names none (an
    unknown id, a path on the user's machine), does not fit ``method``, or (counted exactly
    for ``model_id``) has a row longer than the job's ``context`` or one its renderer cannot
    render; and to ``warnings`` a URI the platform cannot check or, until the exact counts are
    in, a row that may not fit the context."""
    if reference.startswith(DATASET_ID_PREFIX):
        found = datasets(reference)
        if found is None:
            message = (
                f"Unknown dataset {reference!r}: none of your datasets has that id "
                "(`dn train datasets list` shows them)"
            )
            errors.append(error_item(_DATASET_LOC, message, "unknown_dataset"))
            return None
        if method is not None:
            errors.extend(_format_errors(found, method))
        counted = found.rendered or {}
        rendered = None if model_id is None else counted.get(model_id)
        if rendered is not None and model_id is not None and method is JobMethod.SFT:
            errors.extend(_rendered_errors(found, rendered, model_id, context))
        elif context is not None and found.longest_row_bytes > context[0]:
            warnings.append(_row_length_warning(found, *context))
        return found
    scheme = next((s for s in DATASET_URI_SCHEMES if reference[: len(s)].lower() == s), None)
    if scheme is not None and len(reference) > len(scheme):
        message = (
            f"Dataset {reference!r} was not checked: the platform does not hold it, so a bad "
            f"row fails the job only once it runs ({UPLOAD_HINT} to have it checked now)"
        )
        warnings.append(error_item(_DATASET_LOC, message, "dataset_not_checked"))
        return None
    message = (
        f"Dataset {reference!r} is not a dataset id or an s3:// or https:// URI, and a path on "
        f"your machine cannot be read by the platform: {UPLOAD_HINT} and pass the id it prints"
    )
    errors.append(error_item(_DATASET_LOC, message, "local_dataset_path"))
    return None


def _format_errors(dataset: DatasetFacts, method: JobMethod) -> list[ErrorItem]:
    """A dataset whose rows do not feed ``method`` (chat rows for RL, prompts for SFT)."""
    if FORMAT_METHODS[dataset.format] == method.value:
        return []
    fitting = [form.value for form, feeds in FORMAT_METHODS.items() if feeds == method.value]
    return [
        error_item(
            _DATASET_LOC,
            f"Dataset {dataset.id!r} holds {dataset.format.value} rows, which train with method "
            f"{FORMAT_METHODS[dataset.format]!r}; method {method.value!r} takes "
            f"{_either(fitting)} rows",
            "dataset_format_mismatch",
        )
    ]


def _either(names: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _context(model: TrainingModel | None, length: Any) -> tuple[int, str] | None:
    """The job's context in tokens, and how to name it: its ``max_sequence_length`` when given
    (well-formed), else the model's context length; None when neither is known."""
    if isinstance(length, int) and not isinstance(length, bool):
        return length, f"max_sequence_length {length:,}"
    if model is not None:
        named = f"the context of {model.tinker_id!r} ({model.context_length:,} tokens)"
        return model.context_length, named
    return None


def _rendered_errors(
    dataset: DatasetFacts, rendered: RenderedFacts, model_id: str, context: tuple[int, str] | None
) -> list[ErrorItem]:
    """What the exact counts refuse: a row the model's renderer cannot render, or a rendered
    sequence longer than the job's context (the worker would fail the job on either)."""
    if rendered.error is not None:
        message = (
            f"Dataset {dataset.id!r} cannot be trained on {model_id!r}: its renderer "
            f"({rendered.renderer}) refuses {rendered.error}"
        )
        return [error_item(_DATASET_LOC, message, "dataset_row_not_renderable")]
    longest = rendered.longest_row_tokens
    if context is None or longest is None or longest <= context[0]:
        return []
    message = (
        f"Dataset {dataset.id!r}: line {rendered.longest_row_line or 0:,} is {longest:,} tokens "
        f"rendered for {model_id!r} ({rendered.renderer}), more than {context[1]}"
    )
    return [error_item(_DATASET_LOC, message, "dataset_row_too_long")]


def _row_length_warning(dataset: DatasetFacts, context: int, named: str) -> ErrorItem:
    """A row that may not fit the context. Its bytes bound its tokens from above (a byte-level
    tokenizer spends at least one byte per token), so the row may well fit: a warning."""
    return error_item(
        _DATASET_LOC,
        f"Dataset {dataset.id!r}: line {dataset.longest_row_line:,} has up to "
        f"{dataset.longest_row_bytes:,} tokens (its bytes; a token takes at least one), more "
        f"than {named}, so it may not fit",
        "dataset_row_may_exceed_context",
    )


def _check_base_model(
    base_model: Any,
    day: date,
    own_models: OwnModels | None,
    errors: list[ErrorItem],
    warnings: list[ErrorItem],
) -> tuple[TrainingModel | None, OwnModelFacts | None]:
    """The catalog model a well-formed ``base_model`` trains on (its own, or the root of the
    owner's model it names) and that owner's model; adding to ``errors`` why there is none and
    to ``warnings`` a retirement to come."""
    if not isinstance(base_model, str):
        return None, None
    parent = _own_model(base_model, own_models)
    model = get_training_model(base_model if parent is None else parent.root_model, on=day)
    if model is None:
        errors.append(_base_model_error(base_model, day, parent, own_models))
        return None, parent
    retiring = describe_retiring_training_model(model.tinker_id, on=day)
    if retiring is not None:
        warnings.append(error_item(("body", "base_model"), retiring, "model_retiring"))
    return model, parent


def _own_model(base_model: str, own_models: OwnModels | None) -> OwnModelFacts | None:
    """The owner's model ``base_model`` names, or None (a catalog id, or no such model)."""
    if own_models is None or not base_model.startswith(MODEL_ID_PREFIX):
        return None
    return own_models.find(base_model)


def _base_model_error(
    model_id: str, day: date, parent: OwnModelFacts | None, own_models: OwnModels | None
) -> ErrorItem:
    """Why ``model_id`` cannot be trained on: one of the owner's models whose root is retired,
    a retired catalog id, or an unknown id (with what it may have meant, among the catalog's
    ids and the owner's models)."""
    loc = ("body", "base_model")
    if parent is not None:
        return error_item(loc, describe_retired_root(parent, day) or "", "retired_base_model")
    retired = training_model_status(model_id, on=day) is TrainingModelStatus.RETIRED
    if retired:
        return error_item(
            loc, describe_unknown_training_model(model_id, on=day), "retired_base_model"
        )
    own = [] if own_models is None else own_models.names()
    message = describe_unknown_base_model(model_id, day, own)
    return error_item(loc, message, "unknown_base_model")


def _parent_rank_errors(parent: OwnModelFacts | None, rank: Any) -> list[ErrorItem]:
    """A LoRA rank other than the owner's model's: its checkpoint holds an adapter of that rank,
    which a job on it keeps."""
    if parent is None or not isinstance(rank, int) or rank == parent.lora_rank:
        return []
    message = (
        f"lora_rank {rank} differs from your model {parent.id!r}'s rank {parent.lora_rank}: "
        "a job on it trains its adapter further, at its rank (leave lora_rank out)"
    )
    return [error_item(("body", "hyperparameters", "lora_rank"), message, "lora_rank_mismatch")]


def _renderer_errors(model: TrainingModel | None, method: Any, day: date) -> list[ErrorItem]:
    """A job on a model with no renderer: its rows (an RL job's prompts, and the completions it
    grades) cannot be turned into tokens and back, so it is refused here rather than failing
    once it runs."""
    if model is None or method not in set(JobMethod):
        return []
    unrenderable = describe_unrenderable_training_model(model.tinker_id, on=day)
    if unrenderable is None:
        return []
    return [error_item(("body", "base_model"), unrenderable, "no_renderer")]


def _rl_fit_errors(
    method: Any,
    model: TrainingModel | None,
    dataset: DatasetFacts | None,
    *,
    grader: tuple[bool, Any],
    max_tokens: tuple[bool, Any],
    max_sequence_length: tuple[bool, Any],
) -> list[ErrorItem]:
    """What an RL job's well-formed grader and ``max_tokens`` (each: whether pydantic took it,
    and its value) do not fit: fields the dataset's rows lack, a completion that the sequence
    a prompt and its completion share (``max_sequence_length``, else the model's context)
    cannot hold beside any prompt. Nothing for another method."""
    errors: list[ErrorItem] = []
    if method != JobMethod.RL:
        return errors
    grader_ok, declared = grader
    if grader_ok and declared is not None and dataset is not None:
        errors += grader_dataset_errors(
            parse_grader(declared), dataset.id, dataset.reference_fields
        )
    _, length = max_tokens
    _, sequence = max_sequence_length
    if model is not None and isinstance(length, int):
        errors += _max_tokens_errors(model, length, sequence if isinstance(sequence, int) else None)
    return errors


def _max_tokens_errors(
    model: TrainingModel, max_tokens: int, max_sequence_length: int | None
) -> list[ErrorItem]:
    """An RL completion as long as the sequence it shares with its prompt: no prompt would fit
    beside it (the worker's limit: ``max_sequence_length``, else the model's context)."""
    if max_sequence_length is not None and max_sequence_length < model.context_length:
        limit, room = max_sequence_length, f"max_sequence_length {max_sequence_length:,}"
    else:
        limit = model.context_length
        room = f"the context of {model.tinker_id!r} ({model.context_length:,} tokens)"
    if max_tokens < limit:
        return []
    message = f"max_tokens {max_tokens:,} leaves no room for a prompt in {room}"
    return [error_item(("body", "hyperparameters", "max_tokens"), message, "max_tokens_too_large")]


def _model_algorithm_errors(model: TrainingModel, algorithm: TrainingAlgorithm) -> list[ErrorItem]:
    if algorithm in model.supported_algorithms:
        return []
    supported = ", ".join(a.value for a in model.supported_algorithms)
    return [
        error_item(
            ("body", "algorithm"),
            f"Training base model {model.tinker_id!r} does not support algorithm "
            f"{algorithm.value!r}; it supports: {supported}",
            "unsupported_algorithm",
        )
    ]


def _model_hyperparameter_errors(model: TrainingModel, length: Any, rank: Any) -> list[ErrorItem]:
    """What the chosen model refuses among the (already well-formed) hyperparameters."""
    errors: list[ErrorItem] = []
    if isinstance(length, int) and length > model.context_length:
        hint = ""
        if model.extended_context_id:
            hint = f"; {model.extended_context_id!r} trains with {model.extended_context_length}"
        errors.append(
            error_item(
                ("body", "hyperparameters", "max_sequence_length"),
                f"max_sequence_length {length} exceeds the context length of {model.tinker_id!r} "
                f"({model.context_length} tokens){hint}",
                "context_length_exceeded",
            )
        )
    problem = model.lora_rank_problem(rank) if isinstance(rank, int) else None
    if problem is not None:
        errors.append(
            error_item(("body", "hyperparameters", "lora_rank"), problem, "invalid_lora_rank")
        )
    return errors
