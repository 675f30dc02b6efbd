"""The one domain function every job request goes through, before anything is written.

Pydantic checks each field's shape and bounds (``app.schemas.JobCreate``); this module adds the
checks that need the catalog or several fields at once, and reports all violations together,
even when some fields failed pydantic already, so one round trip tells the user everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.errors import BadRequestError, ErrorItem, error_item, pydantic_error_items
from app.schemas import JobCreate, JobMethod
from app.training.catalog import (
    RETIRED_TINKER_MODELS,
    TrainingAlgorithm,
    resolve_training_model,
    suggest_training_models,
)

__all__ = ["JobCheck", "check_job", "parse_json_body", "unknown_model_message"]

#: How many near matches an unknown-model message offers.
SUGGESTIONS = 2

#: The algorithms each method may use; the first is the default.
METHOD_ALGORITHMS: Mapping[JobMethod, tuple[TrainingAlgorithm, ...]] = {
    JobMethod.SFT: (TrainingAlgorithm.SFT,),
    JobMethod.RL: (TrainingAlgorithm.IMPORTANCE_SAMPLING, TrainingAlgorithm.PPO),
}


def _did_you_mean(model_id: str) -> str:
    suggestions = suggest_training_models(model_id, SUGGESTIONS) if model_id.strip() else []
    return f" Did you mean one of: {', '.join(suggestions)}?" if suggestions else ""


def unknown_model_message(model_id: str) -> str:
    """ "Unknown training base model 'X'. Did you mean one of: A, B?" (no question if none)."""
    return f"Unknown training base model {model_id!r}.{_did_you_mean(model_id)}"


@dataclass(frozen=True)
class JobCheck:
    """The outcome: the parsed job with its effective algorithm, or every violation."""

    job: JobCreate | None
    algorithm: TrainingAlgorithm | None
    errors: list[ErrorItem] = field(default_factory=list)
    raw: Any = None


def parse_json_body(body: bytes) -> Any:
    """The decoded JSON body, or a 400 when it is not JSON at all."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequestError(f"Malformed JSON in the request body: {err}") from None


def check_job(body: bytes) -> JobCheck:
    """Validate a job request body completely; raises ``BadRequestError`` for malformed JSON."""
    raw = parse_json_body(body)
    errors: list[ErrorItem] = []
    job: JobCreate | None = None
    try:
        job = JobCreate.model_validate_json(body)
    except ValidationError as err:
        errors.extend(pydantic_error_items(err.errors(include_url=False), prefix=("body",)))
    if not isinstance(raw, dict):
        return JobCheck(job=None, algorithm=None, errors=errors, raw=raw)

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
        return JobCheck(job=None, algorithm=None, errors=errors, raw=raw)
    return JobCheck(job=job, algorithm=algorithm, errors=[], raw=raw)


def _base_model_error(model_id: str) -> ErrorItem:
    retired_on = RETIRED_TINKER_MODELS.get(model_id)
    if retired_on is not None:
        return error_item(
            ("body", "base_model"),
            f"Training base model {model_id!r} was retired on {retired_on}."
            f"{_did_you_mean(model_id)}",
            "retired_base_model",
        )
    return error_item(("body", "base_model"), unknown_model_message(model_id), "unknown_base_model")
