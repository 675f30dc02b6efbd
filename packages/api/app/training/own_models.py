"""The user's own models as job validation and the model routes see them: how their ids look,
what a job on one inherits from it, what to say when a ``base_model`` names none, and the
defaults a model is sampled and trained with.

A model a job made keeps the catalog model at the root of its chain (``root_model``): its
renderer, context length and prices are that model's, and when Tinker retires that model every
descendant goes with it (Tinker serves an adapter only on its base). So a job on one of the
owner's models is validated as a job on the root, with two checks of its own: the root must
still be served, and the adapter's LoRA rank is the model's (a checkpoint's rank is fixed).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date

from app.training.catalog import (
    describe_unknown_training_model,
    get_training_model_retirement,
    suggest_training_models,
)

__all__ = [
    "MODEL_ID_PREFIX",
    "SAMPLING_DEFAULTS",
    "OwnModelFacts",
    "OwnModels",
    "SamplingDefaults",
    "describe_retired_root",
    "describe_unknown_base_model",
    "name_stem",
    "new_model_id",
    "unique_name",
]

#: What every model id of a user's starts with (``ft-`` and 24 hex digits): a ``base_model``
#: that does is looked up among the caller's models, never in the catalog.
MODEL_ID_PREFIX = "ft-"


def new_model_id() -> str:
    """A fresh, unguessable model id."""
    return f"{MODEL_ID_PREFIX}{secrets.token_hex(12)}"


@dataclass(frozen=True)
class SamplingDefaults:
    """What a sample request that says nothing else samples with."""

    temperature: float
    top_p: float
    max_tokens: int


#: The service's sampling defaults: Tinker's own ``temperature`` and ``top_p`` (1: the model's
#: distribution as it is), and completions of up to 256 tokens, the RL jobs' default too.
SAMPLING_DEFAULTS = SamplingDefaults(temperature=1.0, top_p=1.0, max_tokens=256)


@dataclass(frozen=True)
class OwnModelFacts:
    """What a job on one of the owner's models needs to know of it."""

    id: str
    name: str
    root_model: str
    revision: int
    lora_rank: int
    training_checkpoint: str


@dataclass(frozen=True)
class OwnModels:
    """The owner's models as validation looks them up: one by id (``find``), and every id with
    its name (``names``, only read to suggest what a mistyped id may have meant)."""

    find: Callable[[str], OwnModelFacts | None]
    names: Callable[[], Sequence[tuple[str, str]]]


def describe_retired_root(model: OwnModelFacts, day: date) -> str | None:
    """Why ``model`` can no longer be trained or sampled (its root model is retired on
    ``day``), or None while the root is served."""
    retirement = get_training_model_retirement(model.root_model)
    if retirement is None or retirement.retired_on > day:
        return None
    return (
        f"Your model {model.id!r} ({model.name}) was trained from {model.root_model!r}, which "
        f"Tinker retired on {retirement.retired_on}, and no adapter is served without its base "
        "model" + (f"; train again on {retirement.replacement}" if retirement.replacement else "")
    )


#: Below this score (0-100) one of the user's models is not plausibly what they meant.
_OWN_CUTOFF = 70.0
#: Suggestions one answer names at most.
_SUGGESTIONS = 3


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _close_own(value: str, own: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The owner's models whose id or name is near ``value``, best first."""
    from rapidfuzz.fuzz import ratio

    key = _key(value)
    if not key:
        return []
    scored = [
        (max(ratio(key, _key(model_id)), ratio(key, _key(name))), model_id, name)
        for model_id, name in own
    ]
    scored = [item for item in scored if item[0] >= _OWN_CUTOFF]
    scored.sort(key=lambda item: -item[0])
    return [(model_id, name) for _, model_id, name in scored]


def describe_unknown_base_model(value: str, day: date, own: Sequence[tuple[str, str]]) -> str:
    """What to tell a user whose ``base_model`` is neither a catalog id accepted on ``day`` nor
    one of their models (``own``: each id and name). A catalog-looking value gets the catalog's
    own answer (a retirement, a wrong suffix, the nearest ids); the owner's models near it are
    named first, with their names, since a user who has models most often means one of them."""
    close = _close_own(value, own) if value.strip() else []
    if value.startswith(MODEL_ID_PREFIX):
        message = (
            f"Unknown base model {value!r}: none of your models has that id "
            "(`dn train models list` shows them)"
        )
        if not close:
            return message + "."
        named = ", ".join(f"{model_id} ({name})" for model_id, name in close[:_SUGGESTIONS])
        return f"{message}. Did you mean one of: {named}?"
    catalog = describe_unknown_training_model(value, on=day)
    if not close:
        return catalog
    picks = [f"{model_id} (your model {name!r})" for model_id, name in close[:_SUGGESTIONS]]
    room = _SUGGESTIONS - len(picks)
    if room:
        picks += [model.tinker_id for model in suggest_training_models(value, room, on=day)]
    return (
        f"Unknown base model {value!r}: neither a catalog model nor one of yours. "
        f"Did you mean one of: {', '.join(picks)}?"
    )


def name_stem(job_name: str | None, base_model: str, day: date) -> str:
    """What a job's model is named: the job's name, else the base model's name without its
    organisation and the day (``Qwen3-8B-2026-12-05``); short enough for a ``-N`` after it."""
    return (job_name or f"{base_model.rpartition('/')[2]}-{day.isoformat()}")[:190]


def unique_name(stem: str, taken: Collection[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3`` ... when the owner has that name (``taken``)."""
    name, count = stem, 1
    while name in taken:
        count += 1
        name = f"{stem}-{count}"
    return name
