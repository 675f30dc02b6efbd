"""The one domain function every job request goes through, before anything is written.

Pydantic checks each field's shape and bounds (``app.schemas.JobCreate``); this module adds the
checks that need the catalog or several fields at once, and reports all violations together,
even when some fields failed pydantic already, so one round trip tells the user everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from pydantic import ValidationError

from app.errors import BadRequestError, ErrorItem, error_item, pydantic_error_items
from app.schemas import JobCreate, JobMethod
from app.training.catalog import (
    RETIRED_TINKER_MODELS,
    TrainingAlgorithm,
    describe_unknown_training_model,
    resolve_training_model,
)

__all__ = ["JobCheck", "check_job", "parse_json_body"]

#: The algorithms each method may use; the first is the default.
METHOD_ALGORITHMS: Mapping[JobMethod, tuple[TrainingAlgorithm, ...]] = {
    JobMethod.SFT: (TrainingAlgorithm.SFT,),
    JobMethod.RL: (TrainingAlgorithm.IMPORTANCE_SAMPLING, TrainingAlgorithm.PPO),
}


@dataclass(frozen=True)
class JobCheck:
    """The outcome: the parsed job with its effective algorithm, or every violation."""

    job: JobCreate | None
    algorithm: TrainingAlgorithm | None
    errors: list[ErrorItem] = field(default_factory=list)


def parse_json_body(body: bytes) -> Any:
    """The decoded JSON body, or a 400 when it is not JSON at all.

    pydantic-core's parser, not ``json``: it is iterative with a nesting limit, so a body of
    100,000 ``[`` is a 400 rather than a ``RecursionError``. NaN and Infinity still parse, so that
    the field they land in can say it wants a finite number.
    """
    try:
        return pydantic_core.from_json(body)
    except ValueError as err:
        raise BadRequestError(f"Malformed JSON in the request body: {err}") from None


def check_job(body: bytes) -> JobCheck:
    """Validate a job request body completely; raises ``BadRequestError`` for malformed JSON.

    The body is parsed once; the model validates the decoded object (see ``JobCreate`` for how
    it stays as strict as validating JSON), and the cross-field checks read the same object.
    """
    raw = parse_json_body(body)
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

    resolved = None
    _, base_model = clean("base_model")
    if isinstance(base_model, str):
        resolved = resolve_training_model(base_model)
        if resolved is None:
            errors.append(_base_model_error(base_model))

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
        elif algorithm is not None and resolved is not None:
            model = resolved[0]
            if algorithm not in model.supported_algorithms:
                supported = ", ".join(a.value for a in model.supported_algorithms)
                errors.append(
                    error_item(
                        ("body", "algorithm"),
                        f"Training base model {base_model!r} does not support algorithm "
                        f"{algorithm.value!r}; it supports: {supported}",
                        "unsupported_algorithm",
                    )
                )

    _, length = clean("hyperparameters", "max_sequence_length")
    if resolved is not None and isinstance(length, int) and length > resolved[1]:
        model, context = resolved
        hint = ""
        if model.extended_context_id and model.extended_context_id != base_model:
            hint = f"; {model.extended_context_id!r} trains with {model.extended_context_length}"
        errors.append(
            error_item(
                ("body", "hyperparameters", "max_sequence_length"),
                f"max_sequence_length {length} exceeds the context length of {base_model!r} "
                f"({context} tokens){hint}",
                "context_length_exceeded",
            )
        )

    if errors:
        return JobCheck(job=None, algorithm=None, errors=errors)
    return JobCheck(job=job, algorithm=algorithm, errors=[])


def _base_model_error(model_id: str) -> ErrorItem:
    retired = model_id in RETIRED_TINKER_MODELS
    return error_item(
        ("body", "base_model"),
        describe_unknown_training_model(model_id),
        "retired_base_model" if retired else "unknown_base_model",
    )
