"""What an RL job adds to a job: its knobs and their defaults, its grader, and the rules that tie
them to the method, the algorithm and the dataset.

Kept apart from ``app.training.validation`` (which calls ``rl_errors`` and ``rl_defaults``) so
that every RL rule is in one place, with the figures docs/api.md documents:

- ``group_size`` (4): completions sampled per prompt. Each completion's advantage is its reward
  minus its group's mean, so a group needs two at least; the cookbook's RL recipes sample 4 to
  16 per prompt.
- ``max_tokens`` (256): the longest completion; a prompt plus this must fit the model's context.
- ``temperature`` (1.0): sampling at 1 keeps the sampler's log-probabilities those of the policy
  being trained, which the importance-sampling and PPO losses assume.
- ``batch_size`` (32 for RL): prompts per step, so a step trains on ``batch_size x group_size``
  completions.
- ``clip_low_threshold`` (0.8) and ``clip_high_threshold`` (1.2), PPO only: the probability
  ratios outside which PPO clips, Tinker's ``loss_fn_config`` keys and its defaults.

A knob given where it has no meaning (``group_size`` on SFT, a clip threshold on
``importance_sampling``) is refused rather than ignored: a user who sets one believes it acts.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from app.errors import ErrorItem, error_item
from app.training.catalog import TrainingAlgorithm
from app.training.datasets import ReferenceFields
from app.training.graders import Grader, grader_field_problems

__all__ = [
    "DEFAULT_RL_BATCH_SIZE",
    "PPO_DEFAULTS",
    "RL_DEFAULTS",
    "RL_KNOBS",
    "grader_dataset_errors",
    "rl_defaults",
    "rl_errors",
]

#: Prompts per RL step when the job does not say.
DEFAULT_RL_BATCH_SIZE = 32
#: Every RL job's knobs and their defaults.
RL_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {"group_size": 4, "max_tokens": 256, "temperature": 1.0, "batch_size": DEFAULT_RL_BATCH_SIZE}
)
#: A PPO job's clip thresholds and their defaults (Tinker's).
PPO_DEFAULTS: Mapping[str, float] = MappingProxyType(
    {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2}
)
_RL_ONLY = ("group_size", "max_tokens", "temperature")
#: The knobs only RL jobs have: an SFT job's hyperparameters do not list them.
RL_KNOBS = frozenset({*_RL_ONLY, *PPO_DEFAULTS})
_GRADER_LOC = ("body", "grader")


def rl_defaults(algorithm: TrainingAlgorithm) -> dict[str, Any]:
    """The defaults an RL job with ``algorithm`` is filled in with."""
    defaults = dict(RL_DEFAULTS)
    if algorithm is TrainingAlgorithm.PPO:
        defaults.update(PPO_DEFAULTS)
    return defaults


def rl_errors(
    *, method: str | None, algorithm: TrainingAlgorithm | None, raw: Mapping[str, Any]
) -> list[ErrorItem]:
    """What the body's grader and knobs break given its method and algorithm: a grader missing
    on RL or given on SFT, an RL knob on SFT, a PPO knob on another algorithm. ``raw`` is the
    decoded body (its own errors were reported already)."""
    errors: list[ErrorItem] = []
    knobs = raw.get("hyperparameters")
    given = (
        {name for name, value in knobs.items() if value is not None}
        if isinstance(knobs, dict)
        else set()
    )
    grader = raw.get("grader")
    if method == "rl" and grader is None:
        message = (
            "An RL job needs a grader: how each sampled completion is scored, e.g. "
            '{"type": "string_check", "field": "answer", "extract": "last_line"}'
        )
        errors.append(error_item(_GRADER_LOC, message, "grader_required"))
    if method == "sft":
        if grader is not None:
            message = "A grader scores sampled completions, which only RL jobs have; remove it"
            errors.append(error_item(_GRADER_LOC, message, "grader_not_for_sft"))
        for name in sorted(given & {*_RL_ONLY, *PPO_DEFAULTS}):
            message = f"{name} is an RL setting; an SFT job samples nothing, so remove it"
            errors.append(
                error_item(("body", "hyperparameters", name), message, "rl_only_hyperparameter")
            )
    elif method == "rl" and algorithm is not None and algorithm is not TrainingAlgorithm.PPO:
        for name in sorted(given & set(PPO_DEFAULTS)):
            message = (
                f"{name} sets PPO's clipping; algorithm {algorithm.value!r} does not clip "
                "(use algorithm 'ppo', or remove it)"
            )
            errors.append(
                error_item(("body", "hyperparameters", name), message, "ppo_only_hyperparameter")
            )
    return errors


def grader_dataset_errors(
    grader: Grader, dataset_id: str, reference_fields: Mapping[str, Any] | None
) -> list[ErrorItem]:
    """The grader's fields that the uploaded dataset's rows do not all carry, each with the first
    line lacking it. Nothing for a dataset whose fields were not recorded (uploaded before they
    were): the worker checks those rows before it starts."""
    if reference_fields is None:
        return []
    fields = ReferenceFields.from_json(reference_fields)
    return [
        error_item(_GRADER_LOC, f"Dataset {dataset_id!r}: {message}", "grader_field_missing")
        for _, message in grader_field_problems(grader, fields)
    ]
