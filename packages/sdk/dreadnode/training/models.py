"""Tinker's trainable base models: the SDK's catalog, and the source of truth for every copy.

The API keeps a mirror of this module in ``packages/api/app/training/catalog.py`` so that it can
validate a job's base model without importing SDK code; ``tools/catalog_sync`` fails CI whenever the
two disagree in data, schema or behaviour, and ``python -m tools.catalog_sync sync`` rewrites the
mirror's data block from this one.

This module is deliberately self-contained (standard library, pydantic and rapidfuzz only): the
checker loads it straight from its file, with neither package installed, and the CLI lists it
offline with no server and no credentials.

Every figure comes from ``shared/reference/tinker-models.md``. Where a fact is not confirmed the
field says so with ``None`` (pricing, for now, everywhere) rather than holding a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

__all__ = [
    "EXTENDED_CONTEXT_SEPARATOR",
    "RETIRED_TINKER_MODELS",
    "TINKER_MODELS",
    "TrainingAlgorithm",
    "TrainingModel",
    "TrainingModelFamily",
    "TrainingModelPricing",
    "TrainingModelType",
    "TrainingQueryError",
    "describe_unknown_training_model",
    "filter_training_models",
    "get_training_model",
    "resolve_training_model",
    "suggest_training_models",
]


class TrainingModelFamily(StrEnum):
    """The model families Tinker serves; a closed set so that a typo in the data fails at import."""

    DEEPSEEK = "deepseek"
    GLM = "glm"
    GPT_OSS = "gpt-oss"
    INKLING = "inkling"
    KIMI = "kimi"
    LLAMA = "llama"
    NEMOTRON = "nemotron"
    QWEN = "qwen"


class TrainingModelType(StrEnum):
    """Dense or mixture-of-experts; it decides what ``size_b`` means (see ``TrainingModel``)."""

    DENSE = "dense"
    MOE = "moe"


class TrainingAlgorithm(StrEnum):
    """Training objectives the platform submits; ``sft`` is the cross-entropy loss."""

    SFT = "sft"
    IMPORTANCE_SAMPLING = "importance_sampling"
    PPO = "ppo"


#: Tinker serves an extended-context variant of some models as ``<tinker_id>:peft:<tokens>``.
EXTENDED_CONTEXT_SEPARATOR = ":peft:"

Price = Annotated[float, Field(ge=0)]


class TrainingModelPricing(BaseModel):
    """USD per million tokens. Each price is None until it is confirmed from Tinker itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefill: Price | None = None
    sample: Price | None = None
    train: Price | None = None


class TrainingModel(BaseModel):
    """One base model Tinker accepts for LoRA training.

    ``size_b`` is the parameter count that drives cost: for a mixture-of-experts model that is the
    active parameters per token, and ``total_size_b`` keeps the full count beside it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tinker_id: str = Field(min_length=3, pattern=r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:peft:\d+)?$")
    display_name: str = Field(min_length=1)
    family: TrainingModelFamily
    type: TrainingModelType
    size_b: float = Field(ge=0.1)
    total_size_b: float = Field(ge=0.1)
    context_length: int = Field(ge=1)
    extended_context_length: int | None = Field(default=None, ge=1)
    supported_algorithms: tuple[TrainingAlgorithm, ...] = Field(min_length=1)
    pricing: TrainingModelPricing | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def extended_context(self) -> bool:
        """Whether a ``:peft:`` variant with a longer context exists (derived, never stored)."""
        return self.extended_context_length is not None

    @property
    def extended_context_id(self) -> str | None:
        """The id selecting the extended-context variant: ``Qwen/Qwen3.6-35B-A3B:peft:262144``."""
        if self.extended_context_length is None:
            return None
        return f"{self.tinker_id}{EXTENDED_CONTEXT_SEPARATOR}{self.extended_context_length}"

    @model_validator(mode="after")
    def _check_consistency(self) -> TrainingModel:
        if TrainingAlgorithm.SFT not in self.supported_algorithms:
            raise ValueError("supported_algorithms must include 'sft'")
        if len(set(self.supported_algorithms)) != len(self.supported_algorithms):
            raise ValueError("supported_algorithms must not repeat an algorithm")
        if self.type is TrainingModelType.DENSE and self.total_size_b != self.size_b:
            raise ValueError("a dense model's total_size_b must equal its size_b")
        if self.type is TrainingModelType.MOE and self.total_size_b <= self.size_b:
            raise ValueError("a mixture-of-experts model's total_size_b must exceed its size_b")
        if self.extended_context_length is not None:
            if self.extended_context_length <= self.context_length:
                raise ValueError("extended_context_length must exceed context_length")
            if EXTENDED_CONTEXT_SEPARATOR in self.tinker_id:
                raise ValueError("an id that already carries ':peft:' has no further variant")
        return self


# --- catalog data: begin ---------------------------------------------------------------------
# Everything between the begin and end markers is data; `python -m tools.catalog_sync sync` copies
# it verbatim into the API's mirror. Edit it here, never in the mirror.

_ALL = (TrainingAlgorithm.SFT, TrainingAlgorithm.IMPORTANCE_SAMPLING, TrainingAlgorithm.PPO)

TINKER_MODELS: tuple[TrainingModel, ...] = (
    TrainingModel(
        tinker_id="meta-llama/Llama-3.1-8B-Instruct",
        display_name="Llama 3.1 8B Instruct",
        family=TrainingModelFamily.LLAMA,
        type=TrainingModelType.DENSE,
        size_b=8,
        total_size_b=8,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="meta-llama/Llama-3.1-8B",
        display_name="Llama 3.1 8B",
        family=TrainingModelFamily.LLAMA,
        type=TrainingModelType.DENSE,
        size_b=8,
        total_size_b=8,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="meta-llama/Llama-3.1-70B",
        display_name="Llama 3.1 70B",
        family=TrainingModelFamily.LLAMA,
        type=TrainingModelType.DENSE,
        size_b=70,
        total_size_b=70,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="meta-llama/Llama-3.3-70B-Instruct",
        display_name="Llama 3.3 70B Instruct",
        family=TrainingModelFamily.LLAMA,
        type=TrainingModelType.DENSE,
        size_b=70,
        total_size_b=70,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="meta-llama/Llama-3.2-3B",
        display_name="Llama 3.2 3B",
        family=TrainingModelFamily.LLAMA,
        type=TrainingModelType.DENSE,
        size_b=3,
        total_size_b=3,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="meta-llama/Llama-3.2-1B",
        display_name="Llama 3.2 1B",
        family=TrainingModelFamily.LLAMA,
        type=TrainingModelType.DENSE,
        size_b=1,
        total_size_b=1,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3-8B",
        display_name="Qwen3 8B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=8,
        total_size_b=8,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3-8B-Base",
        display_name="Qwen3 8B Base",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=8,
        total_size_b=8,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3-32B",
        display_name="Qwen3 32B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=32,
        total_size_b=32,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3-30B-A3B-Base",
        display_name="Qwen3 30B-A3B Base",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.MOE,
        size_b=3,
        total_size_b=30,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3-235B-A22B-Instruct-2507",
        display_name="Qwen3 235B-A22B Instruct 2507",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.MOE,
        size_b=22,
        total_size_b=235,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3-VL-235B-A22B-Instruct",
        display_name="Qwen3 VL 235B-A22B Instruct",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.MOE,
        size_b=22,
        total_size_b=235,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.5-4B",
        display_name="Qwen3.5 4B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=4,
        total_size_b=4,
        context_length=65536,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.5-9B",
        display_name="Qwen3.5 9B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=9,
        total_size_b=9,
        context_length=65536,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.5-9B-Base",
        display_name="Qwen3.5 9B Base",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=9,
        total_size_b=9,
        context_length=65536,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.5-35B-A3B-Base",
        display_name="Qwen3.5 35B-A3B Base",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.MOE,
        size_b=3,
        total_size_b=35,
        context_length=65536,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.5-397B-A17B",
        display_name="Qwen3.5 397B-A17B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.MOE,
        size_b=17,
        total_size_b=397,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.6-27B",
        display_name="Qwen3.6 27B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=27,
        total_size_b=27,
        context_length=65536,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.6-35B-A3B",
        display_name="Qwen3.6 35B-A3B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.MOE,
        size_b=3,
        total_size_b=35,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="Qwen/Qwen3.8-27B",
        display_name="Qwen3.8 27B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=27,
        total_size_b=27,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="deepseek-ai/DeepSeek-V3.1",
        display_name="DeepSeek V3.1",
        family=TrainingModelFamily.DEEPSEEK,
        type=TrainingModelType.MOE,
        size_b=37,
        total_size_b=671,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="deepseek-ai/DeepSeek-V3.1-Base",
        display_name="DeepSeek V3.1 Base",
        family=TrainingModelFamily.DEEPSEEK,
        type=TrainingModelType.MOE,
        size_b=37,
        total_size_b=671,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="deepseek-ai/DeepSeek-V4.1-Flash:peft:262144",
        display_name="DeepSeek V4.1 Flash (262K context)",
        family=TrainingModelFamily.DEEPSEEK,
        type=TrainingModelType.MOE,
        size_b=16,
        total_size_b=552,
        context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="openai/gpt-oss-20b",
        display_name="gpt-oss 20B",
        family=TrainingModelFamily.GPT_OSS,
        type=TrainingModelType.MOE,
        size_b=3.6,
        total_size_b=21,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="openai/gpt-oss-120b",
        display_name="gpt-oss 120B",
        family=TrainingModelFamily.GPT_OSS,
        type=TrainingModelType.MOE,
        size_b=5.1,
        total_size_b=117,
        context_length=32768,
        extended_context_length=131072,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="moonshotai/Kimi-K2-Thinking",
        display_name="Kimi K2 Thinking",
        family=TrainingModelFamily.KIMI,
        type=TrainingModelType.MOE,
        size_b=32,
        total_size_b=1000,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="moonshotai/Kimi-K2.6",
        display_name="Kimi K2.6",
        family=TrainingModelFamily.KIMI,
        type=TrainingModelType.MOE,
        size_b=32,
        total_size_b=1000,
        context_length=32768,
        extended_context_length=131072,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",
        display_name="Nemotron 3 Nano 30B-A3B",
        family=TrainingModelFamily.NEMOTRON,
        type=TrainingModelType.MOE,
        size_b=3,
        total_size_b=30,
        context_length=65536,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16",
        display_name="Nemotron 3 Super 120B-A12B",
        family=TrainingModelFamily.NEMOTRON,
        type=TrainingModelType.MOE,
        size_b=12,
        total_size_b=120,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16",
        display_name="Nemotron 3 Ultra 550B-A55B",
        family=TrainingModelFamily.NEMOTRON,
        type=TrainingModelType.MOE,
        size_b=55,
        total_size_b=550,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="nvidia/NVIDIA-Nemotron-3.5-Lightning-30B-A3B-BF16",
        display_name="Nemotron 3.5 Lightning 30B-A3B",
        family=TrainingModelFamily.NEMOTRON,
        type=TrainingModelType.MOE,
        size_b=3,
        total_size_b=30,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="thinkingmachines/Inkling",
        display_name="Inkling",
        family=TrainingModelFamily.INKLING,
        type=TrainingModelType.MOE,
        size_b=41,
        total_size_b=975,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="thinkingmachines/Inkling-Small",
        display_name="Inkling Small",
        family=TrainingModelFamily.INKLING,
        type=TrainingModelType.MOE,
        size_b=12,
        total_size_b=276,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="thinkingmachines/Inkling-2-Small",
        display_name="Inkling 2 Small",
        family=TrainingModelFamily.INKLING,
        type=TrainingModelType.MOE,
        size_b=17,
        total_size_b=594,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="zai-org/GLM-5.3:peft:262144",
        display_name="GLM-5.3 (262K context)",
        family=TrainingModelFamily.GLM,
        type=TrainingModelType.MOE,
        size_b=40,
        total_size_b=744,
        context_length=262144,
        supported_algorithms=_ALL,
    ),
    TrainingModel(
        tinker_id="zai-org/GLM-5.3-Flash:peft:262144",
        display_name="GLM-5.3 Flash (262K context)",
        family=TrainingModelFamily.GLM,
        type=TrainingModelType.MOE,
        size_b=18,
        total_size_b=320,
        context_length=262144,
        supported_algorithms=_ALL,
    ),
)

#: Ids Tinker no longer accepts, with the day they were retired, so an error can say so plainly.
RETIRED_TINKER_MODELS: dict[str, str] = {
    "Qwen/Qwen3-4B-Instruct-2507": "2026-06-12",
    "Qwen/Qwen3-30B-A3B": "2026-06-12",
    "Qwen/Qwen3-30B-A3B-Instruct-2507": "2026-06-12",
    "Qwen/Qwen3-VL-30B-A3B-Instruct": "2026-06-12",
    "Qwen/Qwen3.5-27B": "2026-06-12",
    "Qwen/Qwen3.5-35B-A3B": "2026-06-12",
}

# --- catalog data: end -----------------------------------------------------------------------

_BY_ID: dict[str, TrainingModel] = {model.tinker_id: model for model in TINKER_MODELS}


def get_training_model(tinker_id: str) -> TrainingModel | None:
    """The entry with exactly this id, or None (ids are case-sensitive, like Tinker's)."""
    return _BY_ID.get(tinker_id)


def resolve_training_model(model_id: str) -> tuple[TrainingModel, int] | None:
    """The entry a ``--model`` string selects and the context length it trains with.

    Accepts an exact id, or ``<id>:peft:<tokens>`` where that entry lists that extended context;
    anything else is None. Why a separate function: only job creation needs the effective context.
    """
    model = _BY_ID.get(model_id)
    if model is not None:
        return model, model.context_length
    base_id, separator, tokens = model_id.rpartition(EXTENDED_CONTEXT_SEPARATOR)
    model = _BY_ID.get(base_id) if separator else None
    if model is None or model.extended_context_length is None:
        return None
    if tokens != str(model.extended_context_length):
        return None
    return model, model.extended_context_length


# --- filtering ---------------------------------------------------------------------------------


class TrainingQueryError(ValueError):
    """A bad argument to a catalog function; ``argument`` names it so that callers (the API's
    error ``loc``, the CLI's flag) can point at it without reading the message."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


def _tokens(text: str) -> list[str]:
    """Runs of letters or digits, lower-cased: "Qwen3.5-9B" is ["qwen", "3", "5", "9", "b"]."""
    return re.findall(r"[a-z]+|[0-9]+", text.lower())


def _term_pattern(term: str) -> re.Pattern[str] | None:
    """A pattern matching ``term`` as whole tokens in a ``_tokens`` haystack joined by spaces.

    A trailing word may be a prefix ("lla" finds "llama"); a trailing number may not, so that
    "3.1" finds "Llama-3.1-8B" but not "Qwen3-14B"-like ids.
    """
    tokens = _tokens(term)
    if not tokens:
        return None
    tail = r"(?= |$)" if tokens[-1].isdigit() else ""
    return re.compile(r"(?:^| )" + re.escape(" ".join(tokens)) + tail)


def _choice(value: str | StrEnum, enum: type[StrEnum], name: str) -> StrEnum:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise TrainingQueryError(
            name, f"unknown {name} {str(value)!r}; allowed: {allowed}"
        ) from None


def filter_training_models(
    *,
    query: str | None = None,
    family: str | TrainingModelFamily | None = None,
    algorithm: str | TrainingAlgorithm | None = None,
    min_size_b: float | None = None,
    max_size_b: float | None = None,
    models: Iterable[TrainingModel] = TINKER_MODELS,
) -> list[TrainingModel]:
    """Every model matching all the given filters, in catalog order.

    ``query`` matches when each of its words appears in the id or display name as whole tokens,
    ignoring case and punctuation ("llama 3.1", "8b instruct", "qwen3.5"). Sizes bound ``size_b``
    (active parameters) inclusively.
    The CLI and the API's mirror both page over this one function, so their answers cannot differ.
    """
    patterns: list[re.Pattern[str]] = []
    if query is not None:
        patterns = [p for p in map(_term_pattern, query.split()) if p is not None]
        if not patterns:
            raise TrainingQueryError("query", "query must contain at least one letter or digit")
    wanted_family = None if family is None else _choice(family, TrainingModelFamily, "family")
    wanted_algorithm = (
        None if algorithm is None else _choice(algorithm, TrainingAlgorithm, "algorithm")
    )
    for bound, name in ((min_size_b, "min_size_b"), (max_size_b, "max_size_b")):
        if bound is not None and not bound >= 0:
            raise TrainingQueryError(name, f"{name} must be a number >= 0, got {bound}")
    if min_size_b is not None and max_size_b is not None and min_size_b > max_size_b:
        raise TrainingQueryError(
            "min_size_b", f"min_size_b ({min_size_b}) must not exceed max_size_b ({max_size_b})"
        )

    matches = []
    for model in models:
        if wanted_family is not None and model.family != wanted_family:
            continue
        if wanted_algorithm is not None and wanted_algorithm not in model.supported_algorithms:
            continue
        if min_size_b is not None and model.size_b < min_size_b:
            continue
        if max_size_b is not None and model.size_b > max_size_b:
            continue
        if patterns:
            haystack = " ".join(_tokens(f"{model.tinker_id} {model.display_name}"))
            if not all(pattern.search(haystack) for pattern in patterns):
                continue
        matches.append(model)
    return matches


# --- suggestions -------------------------------------------------------------------------------

#: Below this score (0-100) a model is not plausibly what the user meant, so it is not suggested.
SUGGESTION_CUTOFF = 65.0
#: Share of the score given to the version and size numbers: "Llama-3.1-8B-Instruc" is far nearer
#: to "Llama-3.1-8B" than to "Llama-3.3-70B-Instruct", although the latter shares more letters.
_NUMBER_WEIGHT = 0.15


def _key(text: str) -> str:
    """Case and separators carry no meaning in a typo: "qwen_qwen3 8b" is "Qwen/Qwen3-8B"."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _numbers(text: str) -> str:
    return " ".join(re.findall(r"\d+", text))


class _Candidate:
    """A suggestable id with its precomputed comparison keys (built once, at import)."""

    __slots__ = ("full", "name", "numbers", "tinker_id")

    def __init__(self, tinker_id: str) -> None:
        name = tinker_id.partition("/")[2]
        self.tinker_id = tinker_id
        self.full = _key(tinker_id)
        self.name = _key(name)
        self.numbers = _numbers(name)

    def score(self, key: str, numbers: str, ratio: Callable[[str, str], float]) -> float:
        text = max(ratio(key, self.full), ratio(key, self.name))
        digits = 100.0 if numbers == self.numbers else ratio(numbers, self.numbers)
        return (1 - _NUMBER_WEIGHT) * text + _NUMBER_WEIGHT * digits


_CANDIDATES = tuple(_Candidate(model.tinker_id) for model in TINKER_MODELS)
_EXTENDED_CANDIDATES = tuple(
    _Candidate(model.extended_context_id) for model in TINKER_MODELS if model.extended_context_id
)


def suggest_training_models(query: str, limit: int = 3) -> list[str]:
    """Catalog ids the user plausibly meant by ``query``, best first; empty when nothing is close.

    The score compares the query with each id, and with the id without its organisation, ignoring
    case and separators, then weighs in how well the numbers agree. Extended-context ids are
    candidates only when the query itself asks for one (it mentions ``peft``).
    """
    if not isinstance(query, str) or not query.strip():
        raise TrainingQueryError("query", "query must be a non-empty string")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise TrainingQueryError("limit", f"limit must be an integer >= 1, got {limit!r}")
    # Imported here, not at module level: listing the catalog never needs it, and `dn` starts
    # faster without it.
    from rapidfuzz.fuzz import ratio

    key = _key(query)
    if not key:
        return []
    numbers = _numbers(query.rpartition("/")[2])
    candidates = _CANDIDATES + _EXTENDED_CANDIDATES if "peft" in key else _CANDIDATES
    scored = [(c.score(key, numbers, ratio), c.tinker_id) for c in candidates]
    plausible = [item for item in scored if item[0] >= SUGGESTION_CUTOFF]
    # Stable sort: equal scores keep catalog order, so answers are deterministic on both sides.
    plausible.sort(key=lambda item: -item[0])
    return [tinker_id for _, tinker_id in plausible[:limit]]


def describe_unknown_training_model(model_id: str, limit: int = 2) -> str:
    """What to tell a user whose ``--model`` the catalog does not accept, in one sentence or two.

    "Unknown training base model 'X'. Did you mean one of: A, B?", or "... was retired on D."
    for a retired id; the question is left out when nothing is near. The CLI (before sending) and
    the API (when rejecting) both say exactly this, so a user sees the same words either way.
    """
    retired_on = RETIRED_TINKER_MODELS.get(model_id)
    if retired_on is not None:
        message = f"Training base model {model_id!r} was retired on {retired_on}."
    else:
        message = f"Unknown training base model {model_id!r}."
    suggestions = suggest_training_models(model_id, limit) if model_id.strip() else []
    if suggestions:
        message += f" Did you mean one of: {', '.join(suggestions)}?"
    return message
