"""The one domain function every job request goes through, before anything is written.

Pydantic checks each field's shape and bounds (``app.schemas.JobCreate``); this module adds the
checks that need the catalog or several fields at once, and reports all violations together,
even when some fields failed pydantic already, so one round trip tells the user everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from app.errors import ErrorItem, error_item, pydantic_error_items
from app.schemas import JobCreate, JobMethod
from app.training.catalog import (
    DEFAULT_LORA_RANK,
    TrainingAlgorithm,
    TrainingModel,
    TrainingModelStatus,
    describe_retiring_training_model,
    describe_unknown_training_model,
    get_training_model,
    training_model_status,
)

__all__ = ["JobCheck", "check_job", "effective_hyperparameters"]

#: The algorithms each method may use; the first is the default.
METHOD_ALGORITHMS: Mapping[JobMethod, tuple[TrainingAlgorithm, ...]] = {
    JobMethod.SFT: (TrainingAlgorithm.SFT,),
    JobMethod.RL: (TrainingAlgorithm.IMPORTANCE_SAMPLING, TrainingAlgorithm.PPO),
}


@dataclass(frozen=True)
class JobCheck:
    """The outcome: the parsed job with what it will train with, or every violation.

    ``hyperparameters`` holds every effective value (the given ones and the model's defaults),
    ``defaulted`` names the ones filled in; ``warnings`` are worth telling but refuse nothing.
    ``base_model`` is the id of the catalog model the body names, even when other checks failed,
    so that every answer about that model can say where it stands (``model_retiring``).
    """

    job: JobCreate | None
    algorithm: TrainingAlgorithm | None
    base_model: str | None = None
    errors: list[ErrorItem] = field(default_factory=list)
    warnings: list[ErrorItem] = field(default_factory=list)
    hyperparameters: dict[str, Any] | None = None
    defaulted: list[str] = field(default_factory=list)
    adapter_parameters: int | None = None


def effective_hyperparameters(
    given: dict[str, Any], model: TrainingModel
) -> tuple[dict[str, Any], list[str]]:
    """The values a job trains with, and the sorted names of those filled in from defaults:
    the model's recommended learning rate (Tinker's own where none is calibrated) and rank 32."""
    effective = dict(given)
    defaults = {"learning_rate": model.default_learning_rate, "lora_rank": DEFAULT_LORA_RANK}
    defaulted = sorted(name for name in defaults if effective.get(name) is None)
    effective.update({name: defaults[name] for name in defaulted})
    return effective, defaulted


def check_job(raw: Any, day: date) -> JobCheck:
    """Validate a decoded job request body completely, with the catalog as it stands on ``day``.

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

    model: TrainingModel | None = None
    warnings: list[ErrorItem] = []
    _, base_model = clean("base_model")
    if isinstance(base_model, str):
        model = get_training_model(base_model, on=day)
        if model is None:
            errors.append(_base_model_error(base_model, day))
        else:
            retiring = describe_retiring_training_model(base_model, on=day)
            if retiring is not None:
                warnings.append(error_item(("body", "base_model"), retiring, "model_retiring"))

    _, method = clean("method")
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

    if model is not None:
        _, length = clean("hyperparameters", "max_sequence_length")
        _, rank = clean("hyperparameters", "lora_rank")
        errors.extend(_model_hyperparameter_errors(model, length, rank))

    accepted_id = None if model is None else model.tinker_id
    if errors or job is None or model is None:
        return JobCheck(
            job=None, algorithm=None, base_model=accepted_id, errors=errors, warnings=warnings
        )
    effective, defaulted = effective_hyperparameters(job.hyperparameters.model_dump(), model)
    return JobCheck(
        job=job,
        algorithm=algorithm,
        base_model=accepted_id,
        warnings=warnings,
        hyperparameters=effective,
        defaulted=defaulted,
        adapter_parameters=model.adapter_parameters(effective["lora_rank"]),
    )


def _base_model_error(model_id: str, day: date) -> ErrorItem:
    retired = training_model_status(model_id, on=day) is TrainingModelStatus.RETIRED
    return error_item(
        ("body", "base_model"),
        describe_unknown_training_model(model_id, on=day),
        "retired_base_model" if retired else "unknown_base_model",
    )


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
