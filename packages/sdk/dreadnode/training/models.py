"""Tinker's trainable base models: the SDK's catalog, and the source of truth for every copy.

The API keeps a mirror of this module in ``packages/api/app/training/catalog.py`` so that it can
validate a job's base model without importing SDK code; ``python -m tools.catalog_sync sync``
rewrites that mirror from this file (everything below its own docstring), and ``check`` fails CI
whenever the two disagree in data, schema or behaviour.

This module is deliberately self-contained (standard library, pydantic and rapidfuzz only): the
checker loads it straight from its file, with neither package installed, and the CLI lists it
offline with no server and no credentials.

Every figure comes from ``shared/reference/tinker-models.md``. Where a fact is not confirmed the
field says so with ``None`` (pricing, for now, everywhere) rather than holding a guess.

Tinker retires models every few weeks and announces each retirement two to four weeks ahead. A
retirement is one record in ``TINKER_RETIREMENTS``, entered the day it is announced; its date, not
a release, decides. Every function whose answer depends on the day takes it as ``on`` (default:
today in UTC), so tests, the checker and the API's setting can pin it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache, lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

__all__ = [
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_LORA_RANK",
    "EXTENDED_CONTEXT_SEPARATOR",
    "MAX_KNOWN_LORA_RANK",
    "TINKER_MODELS",
    "TINKER_RETIREMENTS",
    "TrainingAlgorithm",
    "TrainingModel",
    "TrainingModelFamily",
    "TrainingModelKind",
    "TrainingModelPricing",
    "TrainingModelRetirement",
    "TrainingModelStatus",
    "TrainingModelType",
    "TrainingQueryError",
    "TrainingRenderer",
    "describe_retiring_training_model",
    "describe_unknown_training_model",
    "describe_unrenderable_training_model",
    "filter_training_models",
    "get_training_model",
    "get_training_model_retirement",
    "retired_training_models",
    "suggest_training_models",
    "training_day",
    "training_model_status",
]


class TrainingModelFamily(StrEnum):
    """The model families Tinker serves or served; a closed set so that a typo in the data fails
    at import. ``llama`` stays while retired records name it."""

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


class TrainingModelKind(StrEnum):
    """A chat (instruction-tuned) model, or a base model to tune from raw text."""

    CHAT = "chat"
    BASE = "base"


class TrainingAlgorithm(StrEnum):
    """Training objectives the platform submits; ``sft`` is the cross-entropy loss."""

    SFT = "sft"
    IMPORTANCE_SAMPLING = "importance_sampling"
    PPO = "ppo"


class TrainingRenderer(StrEnum):
    """How a model's chat rows become tokens and loss weights: Thinking Machines' cookbook
    renderer names (``recommended_renderers``, the first, recommended one); a closed set so that
    a typo in the data fails at import. ``role_colon`` is plain "Role: text" turns for base
    models."""

    DEEPSEEKV3 = "deepseekv3"
    DEEPSEEKV4_1 = "deepseekv4_1"
    GLM5_3_MAX_REASONING = "glm5_3_max_reasoning"
    GPT_OSS_NO_SYSPROMPT = "gpt_oss_no_sysprompt"
    NEMOTRON3 = "nemotron3"
    NEMOTRON3_ULTRA = "nemotron3_ultra"
    QWEN3 = "qwen3"
    QWEN3_5 = "qwen3_5"
    QWEN3_8_XHIGH_REASONING = "qwen3_8_xhigh_reasoning"
    ROLE_COLON = "role_colon"
    TML_V0 = "tml_v0"


class TrainingModelStatus(StrEnum):
    """Where a model stands on a given day: accepted, accepted with a warning, or refused."""

    AVAILABLE = "available"
    RETIRING = "retiring"
    RETIRED = "retired"


#: Tinker serves an extended-context variant of some models as ``<tinker_id>:peft:<tokens>``.
EXTENDED_CONTEXT_SEPARATOR = ":peft:"
#: Tinker's and the cookbook's default LoRA rank, used when a job names none.
DEFAULT_LORA_RANK = 32
#: Tinker's own default learning rate (``AdamParams``), for models with no calibrated one.
DEFAULT_LEARNING_RATE = 1e-4
#: The largest LoRA rank known to train on Tinker; the bound where a model publishes no maximum.
MAX_KNOWN_LORA_RANK = 128
#: The cookbook's ``get_lr`` for Qwen models: ``5e-4 * (2000 / hidden_size) ** 0.0775``. Other
#: families are "not yet calibrated", so they have no recommended learning rate.
_QWEN_LR_BASE, _QWEN_LR_HIDDEN, _QWEN_LR_EXPONENT = 5e-4, 2000, 0.0775
_QWEN_FAMILY = "qwen"

Price = Annotated[float, Field(ge=0)]
TinkerId = Annotated[
    str, Field(min_length=3, pattern=r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:peft:\d+)?$")
]


def training_day(on: date | None = None) -> date:
    """The day a date-dependent answer is for: ``on`` when pinned, else today in UTC."""
    return datetime.now(UTC).date() if on is None else on


class TrainingModelPricing(BaseModel):
    """USD per million tokens. Each price is None until it is confirmed from Tinker itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefill: Price | None = None
    sample: Price | None = None
    train: Price | None = None


class TrainingModelRetirement(BaseModel):
    """A retirement Tinker announced: the day it takes effect, and the model Tinker recommends
    instead where it names one (an id of ``TINKER_MODELS``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tinker_id: TinkerId
    retired_on: date
    replacement: str | None = None
    #: The day Tinker announced it, where a source gives it (the ``Deprecation`` header's date).
    announced_on: date | None = None

    @model_validator(mode="after")
    def _check_dates(self) -> TrainingModelRetirement:
        if self.announced_on is not None and self.announced_on > self.retired_on:
            raise ValueError("announced_on must not come after retired_on")
        return self

    def status(self, on: date | None = None) -> TrainingModelStatus:
        """Retired from ``retired_on`` on; retiring before it, once announced (a day before the
        announcement, where its date is known, the model was simply available)."""
        day = training_day(on)
        if day >= self.retired_on:
            return TrainingModelStatus.RETIRED
        if self.announced_on is not None and day < self.announced_on:
            return TrainingModelStatus.AVAILABLE
        return TrainingModelStatus.RETIRING

    def describe(self, on: date | None = None) -> str:
        """One sentence a user sees, the same from the CLI and the API."""
        if self.status(on) is TrainingModelStatus.RETIRED:
            message = f"Training base model {self.tinker_id!r} was retired on {self.retired_on}"
        else:
            message = f"Training base model {self.tinker_id!r} retires on {self.retired_on}"
        if self.replacement is not None:
            message += f"; Tinker recommends {self.replacement} instead"
        return message + "."


class TrainingModel(BaseModel):
    """One base model Tinker accepts for LoRA training, or accepted until its retirement.

    ``size_b`` is the parameter count that drives cost: for a mixture-of-experts model that is the
    active parameters per token, and ``total_size_b`` keeps the full count beside it. The training
    facts (``kind`` to ``renderer``) are None wherever the reference has no source for them.

    ``renderer`` names the renderer that turns this model's chat rows into tokens and loss
    weights (Tinker trains on tokens, so each model's rows are rendered with its own chat
    template and tokenizer). It is None where no renderer exists, and a supervised fine-tuning
    job on such a model is refused (``describe_unrenderable_training_model``). A ``:peft:`` id
    uses its model's renderer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tinker_id: TinkerId
    display_name: str = Field(min_length=1)
    family: TrainingModelFamily
    type: TrainingModelType
    size_b: float = Field(ge=0.1)
    total_size_b: float = Field(ge=0.1)
    context_length: int = Field(ge=1)
    extended_context_length: int | None = Field(default=None, ge=1)
    supported_algorithms: tuple[TrainingAlgorithm, ...] = Field(min_length=1)
    pricing: TrainingModelPricing | None = None
    kind: TrainingModelKind | None = None
    vision: bool | None = None
    hidden_size: int | None = Field(default=None, ge=1)
    lora_parameters_per_rank: int | None = Field(default=None, ge=1)
    max_lora_rank: int | None = Field(default=None, ge=1)
    renderer: TrainingRenderer | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def extended_context(self) -> bool:
        """Whether a ``:peft:`` variant with a longer context exists (derived, never stored)."""
        return self.extended_context_length is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def recommended_learning_rate(self) -> float | None:
        """The cookbook's calibrated LoRA learning rate; None where it has none for the family."""
        if self.family != _QWEN_FAMILY or self.hidden_size is None:
            return None
        rate: float = _QWEN_LR_BASE * (_QWEN_LR_HIDDEN / self.hidden_size) ** _QWEN_LR_EXPONENT
        return rate

    @computed_field  # type: ignore[prop-decorator]
    @property
    def retirement(self) -> TrainingModelRetirement | None:
        """Tinker's announced retirement of this model (or of the model it is a variant of)."""
        return get_training_model_retirement(self.tinker_id)

    @property
    def extended_context_id(self) -> str | None:
        """The id selecting the extended-context variant: ``Qwen/Qwen3.6-35B-A3B:peft:262144``."""
        if self.extended_context_length is None:
            return None
        return f"{self.tinker_id}{EXTENDED_CONTEXT_SEPARATOR}{self.extended_context_length}"

    @property
    def default_learning_rate(self) -> float:
        """What a job that names no learning rate trains with."""
        recommended = self.recommended_learning_rate
        return DEFAULT_LEARNING_RATE if recommended is None else recommended

    def status(self, on: date | None = None) -> TrainingModelStatus:
        """Available, retiring (accepted with a warning) or retired (refused) on that day."""
        retirement = self.retirement
        return TrainingModelStatus.AVAILABLE if retirement is None else retirement.status(on)

    def listed(self, on: date | None = None) -> dict[str, Any]:
        """The entry as the API and ``dn train catalog --json`` show it: its fields, its
        ``lifecycle`` on that day, and its live ``price``, which only a server that fetched
        Tinker's price list knows (null here; the API fills it in). One shape, written once, so
        online and offline agree."""
        return {**self.model_dump(mode="json"), "lifecycle": self.status(on).value, "price": None}

    def adapter_parameters(self, lora_rank: int) -> int | None:
        """Parameters of a LoRA adapter of this rank (mlp, attention and unembedding, as Tinker
        trains by default); None where the per-rank count is unknown."""
        if self.lora_parameters_per_rank is None:
            return None
        return lora_rank * self.lora_parameters_per_rank

    def lora_rank_problem(self, lora_rank: int) -> str | None:
        """Why Tinker would refuse this rank for this model, or None when it is acceptable."""
        if lora_rank < 1 or lora_rank & (lora_rank - 1):
            return f"lora_rank must be a power of two (Tinker refuses others), got {lora_rank}"
        if self.max_lora_rank is not None and lora_rank > self.max_lora_rank:
            return (
                f"lora_rank {lora_rank} exceeds the maximum of {self.tinker_id} "
                f"({self.max_lora_rank})"
            )
        if lora_rank > MAX_KNOWN_LORA_RANK:
            return (
                f"lora_rank {lora_rank} exceeds {MAX_KNOWN_LORA_RANK}, the largest rank known to "
                f"train on Tinker ({self.tinker_id} publishes no maximum)"
            )
        return None

    def extended_variant(self) -> TrainingModel | None:
        """This model as its ``:peft:`` id describes it: that id, and that id's context."""
        variant_id = self.extended_context_id
        if variant_id is None or self.extended_context_length is None:
            return None
        tokens = self.extended_context_length
        return self.model_copy(
            update={
                "tinker_id": variant_id,
                "display_name": f"{self.display_name} ({round(tokens / 1000)}K context)",
                "context_length": tokens,
                "extended_context_length": None,
            }
        )

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
        if self.max_lora_rank is not None and self.max_lora_rank & (self.max_lora_rank - 1):
            raise ValueError("max_lora_rank must be a power of two")
        return self


# --- catalog data: begin ---------------------------------------------------------------------
# Everything between the begin and end markers is data; `python -m tools.catalog_sync sync` copies
# the SDK's module into the API's mirror. Edit it here, never in the mirror. Each figure is the
# reference's (shared/reference/tinker-models.md); None where it gives none.

_ALL = (TrainingAlgorithm.SFT, TrainingAlgorithm.IMPORTANCE_SAMPLING, TrainingAlgorithm.PPO)

TINKER_MODELS: tuple[TrainingModel, ...] = (
    TrainingModel(
        tinker_id="Qwen/Qwen3-8B",
        display_name="Qwen3 8B",
        family=TrainingModelFamily.QWEN,
        type=TrainingModelType.DENSE,
        size_b=8,
        total_size_b=8,
        context_length=32768,
        supported_algorithms=_ALL,
        kind=TrainingModelKind.CHAT,
        vision=False,
        hidden_size=4096,
        lora_parameters_per_rank=1769472 + 958464 + 156032,
        renderer=TrainingRenderer.QWEN3,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        hidden_size=2560,
        lora_parameters_per_rank=1130496 + 897024 + 250880,
        renderer=TrainingRenderer.QWEN3_5,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        hidden_size=4096,
        lora_parameters_per_rank=1572864 + 1130496 + 252416,
        renderer=TrainingRenderer.QWEN3_5,
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
        kind=TrainingModelKind.BASE,
        vision=True,
        hidden_size=4096,
        lora_parameters_per_rank=1572864 + 1130496 + 252416,
        renderer=TrainingRenderer.ROLE_COLON,
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
        kind=TrainingModelKind.BASE,
        vision=True,
        hidden_size=2048,
        lora_parameters_per_rank=16281600 + 1013760 + 250368,
        renderer=TrainingRenderer.ROLE_COLON,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        hidden_size=4096,
        lora_parameters_per_rank=96030720 + 2841600 + 252416,
        renderer=TrainingRenderer.QWEN3_5,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        hidden_size=2048,
        lora_parameters_per_rank=16281600 + 1013760 + 250368,
        renderer=TrainingRenderer.QWEN3_5,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        hidden_size=5120,
        lora_parameters_per_rank=4325376 + 2965504 + 253440,
        renderer=TrainingRenderer.QWEN3_8_XHIGH_REASONING,
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
        kind=TrainingModelKind.CHAT,
        vision=False,
        lora_parameters_per_rank=94307328 + 2440000 + 136448,
        renderer=TrainingRenderer.DEEPSEEKV3,
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
        kind=TrainingModelKind.CHAT,
        vision=False,
        lora_parameters_per_rank=6842880 + 497664 + 203968,
        renderer=TrainingRenderer.GPT_OSS_NO_SYSPROMPT,
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
        kind=TrainingModelKind.CHAT,
        vision=False,
        lora_parameters_per_rank=40124160 + 746496 + 203968,
        renderer=TrainingRenderer.GPT_OSS_NO_SYSPROMPT,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        lora_parameters_per_rank=144583680 + 1940288 + 171008,
        # The cookbook names kimi_k26, but no renderer package implements it yet (tml-renderers
        # 0.2.1 has K2 and K2.5 only): no SFT until one does.
        renderer=None,
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
        kind=TrainingModelKind.CHAT,
        vision=False,
        lora_parameters_per_rank=11346176 + 584832 + 133760,
        renderer=TrainingRenderer.NEMOTRON3,
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
        kind=TrainingModelKind.CHAT,
        vision=False,
        lora_parameters_per_rank=111349760 + 1675264 + 135168,
        renderer=TrainingRenderer.NEMOTRON3,
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
        kind=TrainingModelKind.CHAT,
        vision=False,
        lora_parameters_per_rank=254529536 + 4134912 + 139264,
        renderer=TrainingRenderer.NEMOTRON3_ULTRA,
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
        kind=TrainingModelKind.CHAT,
        vision=False,
        lora_parameters_per_rank=11346176 + 584832 + 133760,
        renderer=TrainingRenderer.NEMOTRON3_ULTRA,
    ),
    TrainingModel(
        tinker_id="nvidia/NVIDIA-Nemotron-3.5-Super-VL-120B-A12B-BF16",
        display_name="Nemotron 3.5 Super VL 120B-A12B",
        family=TrainingModelFamily.NEMOTRON,
        type=TrainingModelType.MOE,
        size_b=12,
        total_size_b=120,
        context_length=65536,
        extended_context_length=262144,
        supported_algorithms=_ALL,
        kind=TrainingModelKind.CHAT,
        vision=True,
        lora_parameters_per_rank=111349760 + 1675264 + 135168,
        renderer=TrainingRenderer.NEMOTRON3_ULTRA,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        lora_parameters_per_rank=154705920 + 3424256 + 207168,
        renderer=TrainingRenderer.TML_V0,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        lora_parameters_per_rank=64503808 + 1311744 + 205120,
        renderer=TrainingRenderer.TML_V0,
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
        kind=TrainingModelKind.CHAT,
        vision=True,
        lora_parameters_per_rank=128065536 + 2347008 + 205632,
        renderer=TrainingRenderer.TML_V0,
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
        kind=TrainingModelKind.CHAT,
        vision=None,
        lora_parameters_per_rank=121356288 + 2920320 + 161024,
        renderer=TrainingRenderer.GLM5_3_MAX_REASONING,
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
        kind=TrainingModelKind.CHAT,
        vision=None,
        lora_parameters_per_rank=75755520 + 2009088 + 158976,
        renderer=TrainingRenderer.GLM5_3_MAX_REASONING,
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
        kind=TrainingModelKind.CHAT,
        vision=None,
        lora_parameters_per_rank=107673600 + 1013760 + 134400,
        renderer=TrainingRenderer.DEEPSEEKV4_1,
    ),
    TrainingModel(
        tinker_id="deepseek-ai/DeepSeek-V4.1-Flash-1017:peft:262144",
        display_name="DeepSeek V4.1 Flash 1017 (262K context)",
        family=TrainingModelFamily.DEEPSEEK,
        type=TrainingModelType.MOE,
        size_b=16,
        total_size_b=552,
        context_length=262144,
        supported_algorithms=_ALL,
        kind=TrainingModelKind.CHAT,
        vision=None,
        lora_parameters_per_rank=107673600 + 1013760 + 134400,
        renderer=TrainingRenderer.DEEPSEEKV4_1,
    ),
    # Retired (see TINKER_RETIREMENTS): kept with the facts they had when Tinker served them, so
    # that a day pinned before their retirement sees them as they were.
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
        tinker_id="moonshotai/Kimi-K2-Thinking",
        display_name="Kimi K2 Thinking",
        family=TrainingModelFamily.KIMI,
        type=TrainingModelType.MOE,
        size_b=32,
        total_size_b=1000,
        context_length=32768,
        supported_algorithms=_ALL,
    ),
)

#: R1: twenty models retired at once, announced 25 days ahead.
_JUNE_2026, _MAY_18_2026 = date(2026, 6, 12), date(2026, 5, 18)

#: Every retirement Tinker has announced, entered on the day of the announcement. The date decides:
#: before it the model is accepted with a warning, from it on it is refused everywhere.
TINKER_RETIREMENTS: tuple[TrainingModelRetirement, ...] = (
    TrainingModelRetirement(
        tinker_id="meta-llama/Llama-3.1-8B",
        retired_on=_JUNE_2026,
        replacement="Qwen/Qwen3.5-9B-Base",
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="meta-llama/Llama-3.1-70B",
        retired_on=_JUNE_2026,
        replacement="Qwen/Qwen3.5-9B-Base",
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="meta-llama/Llama-3.2-1B",
        retired_on=_JUNE_2026,
        replacement="Qwen/Qwen3.5-9B-Base",
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="meta-llama/Llama-3.2-3B",
        retired_on=_JUNE_2026,
        replacement="Qwen/Qwen3.5-9B-Base",
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="meta-llama/Llama-3.1-8B-Instruct",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="meta-llama/Llama-3.3-70B-Instruct",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-4B-Instruct-2507",
        retired_on=_JUNE_2026,
        replacement="Qwen/Qwen3.5-4B",
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-30B-A3B",
        retired_on=_JUNE_2026,
        replacement="Qwen/Qwen3.6-35B-A3B",
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-30B-A3B-Instruct-2507",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-30B-A3B-Base",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-VL-30B-A3B-Instruct",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-32B",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-8B-Base",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-235B-A22B-Instruct-2507",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3-VL-235B-A22B-Instruct",
        retired_on=_JUNE_2026,
        replacement="Qwen/Qwen3.5-397B-A17B",
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3.5-27B",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3.5-35B-A3B",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="deepseek-ai/DeepSeek-V3.1-Base",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="moonshotai/Kimi-K2-Thinking",
        retired_on=_JUNE_2026,
        replacement=None,
        announced_on=_MAY_18_2026,
    ),
    TrainingModelRetirement(
        tinker_id="moonshotai/Kimi-K2.5",
        retired_on=date(2026, 7, 12),
        replacement="moonshotai/Kimi-K2.6",
    ),
    TrainingModelRetirement(
        tinker_id="Qwen/Qwen3.6-27B",
        retired_on=date(2026, 9, 2),
        replacement="Qwen/Qwen3.8-27B",
        announced_on=date(2026, 8, 19),
    ),
)

# --- catalog data: end -----------------------------------------------------------------------

_BY_ID: dict[str, TrainingModel] = {model.tinker_id: model for model in TINKER_MODELS}
_RETIREMENTS: dict[str, TrainingModelRetirement] = {r.tinker_id: r for r in TINKER_RETIREMENTS}


def get_training_model_retirement(tinker_id: str) -> TrainingModelRetirement | None:
    """Tinker's announced retirement of this id, whatever the day; a ``:peft:`` id shares its
    model's. None when none is announced."""
    retirement = _RETIREMENTS.get(tinker_id)
    if retirement is None and EXTENDED_CONTEXT_SEPARATOR in tinker_id:
        retirement = _RETIREMENTS.get(tinker_id.rpartition(EXTENDED_CONTEXT_SEPARATOR)[0])
    return retirement


def training_model_status(tinker_id: str, *, on: date | None = None) -> TrainingModelStatus | None:
    """Where an id stands on that day; None for an id Tinker never served under that name."""
    model = _lookup(tinker_id)
    if model is not None:
        return model.status(on)
    retirement = get_training_model_retirement(tinker_id)
    return None if retirement is None else retirement.status(on)


def _lookup(tinker_id: str) -> TrainingModel | None:
    """The entry (or ``:peft:`` variant) with exactly this id, whatever the day."""
    model = _BY_ID.get(tinker_id)
    if model is not None:
        return model
    base_id, separator, _ = tinker_id.rpartition(EXTENDED_CONTEXT_SEPARATOR)
    base = _BY_ID.get(base_id) if separator else None
    if base is None or base.extended_context_id != tinker_id:
        return None
    return _variant(base.tinker_id)


@cache
def _variant(base_id: str) -> TrainingModel | None:
    return _BY_ID[base_id].extended_variant()


def get_training_model(tinker_id: str, *, on: date | None = None) -> TrainingModel | None:
    """The model this exact id selects on that day, or None (ids are case-sensitive, like
    Tinker's).

    A served ``:peft:`` id is an id too: it answers that variant, with its own ``tinker_id`` and
    its own (extended) context length. A retired model is None from its retirement day on.
    """
    model = _lookup(tinker_id)
    if model is None or model.status(on) is TrainingModelStatus.RETIRED:
        return None
    return model


def retired_training_models(*, on: date | None = None) -> list[TrainingModelRetirement]:
    """Every retirement in effect on that day, in the order Tinker announced them."""
    day = training_day(on)
    return [r for r in TINKER_RETIREMENTS if r.retired_on <= day]


def describe_retiring_training_model(tinker_id: str, *, on: date | None = None) -> str | None:
    """The warning for an accepted model that Tinker retires later, or None when none is due:
    "Training base model 'X' retires on D; Tinker recommends Y instead." """
    retirement = get_training_model_retirement(tinker_id)
    if retirement is None or retirement.status(on) is not TrainingModelStatus.RETIRING:
        return None
    return _as_asked(retirement, tinker_id).describe(on)


#: How many models with a renderer the refusal of a model without one names.
_RENDERER_ALTERNATIVES = 2


def describe_unrenderable_training_model(tinker_id: str, *, on: date | None = None) -> str | None:
    """Why a job on this id is refused, or None when it is not for want of a renderer (the model
    has one, or the catalog does not accept the id that day: that is
    ``describe_unknown_training_model``'s to say).

    Tinker trains on tokens, so an SFT row, and an RL prompt, must be rendered with the model's
    own chat template (and an RL job's completions decoded with it to be graded); where the
    model has no renderer the job is refused rather than rendered with a guess. The message
    names the accepted models of the same kind with a renderer nearest in size (active
    parameters). The CLI and the API both say this.
    """
    day = training_day(on)
    model = get_training_model(tinker_id, on=day)
    if model is None or model.renderer is not None:
        return None
    rendered = [
        m for m in filter_training_models(kind=model.kind, on=day) if m.renderer is not None
    ]
    # Stable sort: equally near models keep catalog order.
    rendered.sort(key=lambda m: max(m.size_b, model.size_b) / min(m.size_b, model.size_b))
    message = (
        f"Training base model {tinker_id!r} has no renderer yet, so its rows cannot be turned "
        "into tokens (nor an RL job's completions back into text); choose a model with one"
    )
    nearest = [m.tinker_id for m in rendered[:_RENDERER_ALTERNATIVES]]
    if nearest:
        message += f", such as {' or '.join(nearest)}"
    return message + " (each entry of `dn train catalog --json` names its renderer)."


def _as_asked(retirement: TrainingModelRetirement, tinker_id: str) -> TrainingModelRetirement:
    """The retirement worded for the id the user gave (a ``:peft:`` id shares its model's)."""
    if retirement.tinker_id == tinker_id:
        return retirement
    return retirement.model_copy(update={"tinker_id": tinker_id})


# --- filtering ---------------------------------------------------------------------------------


class TrainingQueryError(ValueError):
    """A bad argument to a catalog function; ``argument`` names it so that callers (the API's
    error ``loc``, the CLI's flag) can point at it without reading the message."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


def _tokens(text: str) -> list[str]:
    """Runs of letters or digits, lower-cased: "Qwen3.5-9B" is ["qwen", "3", "5", "9", "b"]."""
    return re.findall(r"[^\W\d_]+|\d+", text.lower())


def _term_pattern(term: str) -> re.Pattern[str] | None:
    """A pattern matching ``term`` as whole tokens in a ``_tokens`` haystack joined by spaces.

    A trailing word may be a prefix ("lla" finds "llama"); a trailing number may not, so that
    "3.5" finds "Qwen3.5-9B" but not "Qwen3.55"-like ids.
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


def _check_size_bounds(min_size_b: float | None, max_size_b: float | None) -> None:
    for bound, name in ((min_size_b, "min_size_b"), (max_size_b, "max_size_b")):
        if bound is not None and not bound >= 0:
            raise TrainingQueryError(name, f"{name} must be a number >= 0, got {bound}")
    if min_size_b is not None and max_size_b is not None and min_size_b > max_size_b:
        raise TrainingQueryError(
            "min_size_b", f"min_size_b ({min_size_b}) must not exceed max_size_b ({max_size_b})"
        )


def filter_training_models(
    *,
    query: str | None = None,
    family: str | TrainingModelFamily | None = None,
    algorithm: str | TrainingAlgorithm | None = None,
    min_size_b: float | None = None,
    max_size_b: float | None = None,
    kind: str | TrainingModelKind | None = None,
    vision: bool | None = None,
    on: date | None = None,
    models: Iterable[TrainingModel] = TINKER_MODELS,
) -> list[TrainingModel]:
    """Every model accepted on that day matching all the given filters, in catalog order.

    ``query`` matches when each of its words appears in the id or display name as whole tokens,
    ignoring case and punctuation ("llama 3.1", "8b instruct", "qwen3.5"). Sizes bound ``size_b``
    (active parameters) inclusively. Retired models never match; retiring ones do.
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
    wanted_kind = None if kind is None else _choice(kind, TrainingModelKind, "kind")
    if vision is not None and not isinstance(vision, bool):
        raise TrainingQueryError("vision", f"vision must be true or false, got {vision!r}")
    _check_size_bounds(min_size_b, max_size_b)

    day = training_day(on)
    tests: list[Callable[[TrainingModel], bool]] = [
        lambda m: m.status(day) is not TrainingModelStatus.RETIRED
    ]
    if wanted_family is not None:
        tests.append(lambda m: m.family == wanted_family)
    if wanted_algorithm is not None:
        tests.append(lambda m: wanted_algorithm in m.supported_algorithms)
    if wanted_kind is not None:
        tests.append(lambda m: m.kind == wanted_kind)
    if vision is not None:
        tests.append(lambda m: m.vision is vision)
    if min_size_b is not None:
        tests.append(lambda m: m.size_b >= min_size_b)
    if max_size_b is not None:
        tests.append(lambda m: m.size_b <= max_size_b)
    if patterns:
        tests.append(
            lambda m: all(
                p.search(" ".join(_tokens(f"{m.tinker_id} {m.display_name}"))) for p in patterns
            )
        )
    return [model for model in models if all(test(model) for test in tests)]


# --- suggestions -------------------------------------------------------------------------------

#: Below this score (0-100) a model is not plausibly what the user meant, so it is not suggested.
SUGGESTION_CUTOFF = 65.0
#: Share of the score given to the version and size numbers: "Llama-3.1-8B-Instruc" is far nearer
#: to "Llama-3.1-8B" than to "Llama-3.3-70B-Instruct", although the latter shares more letters.
_NUMBER_WEIGHT = 0.15
#: A query that is the start of an id (four characters at least) scores at least this, so that
#: "Qwen/Qwen3.5-397B" ranks "Qwen/Qwen3.5-397B-A17B" first; longer prefixes score higher.
_PREFIX_FLOOR = 90.0
_PREFIX_MIN_LENGTH = 4


def _key(text: str) -> str:
    """Case and separators carry no meaning in a typo: "qwen_qwen3 8b" is "Qwen/Qwen3-8B"."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _numbers(text: str) -> str:
    return " ".join(re.findall(r"\d+", text))


def _prefix_key(text: str) -> str:
    """Case and spacing ignored, but the dots and dashes kept: "Qwen3.8" starts "Qwen3.8-27B"
    and not "Qwen3-8B", which ``_key`` could not tell apart."""
    return re.sub(r"[\s_]+", "-", text.strip().lower())


class _Candidates:
    """Suggestable ids with their comparison keys, precomputed once per day and candidate set."""

    __slots__ = ("fulls", "ids", "names", "numbers", "starts")

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = tuple(ids)
        self.fulls = [_key(i) for i in ids]
        self.names = [_key(i.partition("/")[2]) for i in ids]
        self.numbers = [_numbers(i.partition("/")[2]) for i in ids]
        self.starts = [(_prefix_key(i), _prefix_key(i.partition("/")[2])) for i in ids]

    def scores(self, query: str) -> list[float]:
        """Each id's score for ``query`` (0-100), in ``ids`` order."""
        # Imported here, not at module level: listing the catalog never needs it, and `dn`
        # starts faster without it. rapidfuzz's own loops score every id at C speed.
        from rapidfuzz.fuzz import ratio
        from rapidfuzz.process import extract

        key = _key(query)
        numbers = _numbers(query.rpartition("/")[2])
        text = [0.0] * len(self.ids)
        for choices in (self.fulls, self.names):
            for _, score, index in extract(key, choices, scorer=ratio, limit=None):
                text[index] = max(text[index], score)
        agree = [0.0] * len(self.ids)
        for _, score, index in extract(numbers, self.numbers, scorer=ratio, limit=None):
            agree[index] = 100.0 if numbers == self.numbers[index] else score
        scores = [
            (1 - _NUMBER_WEIGHT) * t + _NUMBER_WEIGHT * a for t, a in zip(text, agree, strict=True)
        ]
        if len(key) >= _PREFIX_MIN_LENGTH:
            start = _prefix_key(query)
            for index, (full, name) in enumerate(self.starts):
                target = full if full.startswith(start) else name if name.startswith(start) else ""
                if target:
                    covered = _PREFIX_FLOOR + (100 - _PREFIX_FLOOR) * len(start) / len(target)
                    scores[index] = max(scores[index], covered)
        return scores


@lru_cache(maxsize=8)
def _candidates(day: date, extended: bool) -> tuple[_Candidates, dict[str, TrainingModel]]:
    """The ids accepted on ``day`` (``:peft:`` ids only when ``extended``), and their models."""
    models: dict[str, TrainingModel] = {}
    for model in TINKER_MODELS:
        if model.status(day) is TrainingModelStatus.RETIRED:
            continue
        models[model.tinker_id] = model
        variant = _variant(model.tinker_id) if extended else None
        if variant is not None:
            models[variant.tinker_id] = variant
    return _Candidates(list(models)), models


@lru_cache(maxsize=8)
def _retired_candidates(day: date) -> _Candidates:
    return _Candidates([r.tinker_id for r in retired_training_models(on=day)])


def _check_suggest_arguments(query: object, limit: object) -> None:
    if not isinstance(query, str) or not query.strip():
        raise TrainingQueryError("query", "query must be a non-empty string")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise TrainingQueryError("limit", f"limit must be an integer >= 1, got {limit!r}")


def suggest_training_models(
    query: str, limit: int = 3, *, on: date | None = None
) -> list[TrainingModel]:
    """The models accepted on that day that the user plausibly meant by ``query``, best first;
    empty when nothing is close.

    The score compares the query with each id, and with the id without its organisation, ignoring
    case and separators, then weighs in how well the numbers agree; a query that starts an id
    ranks it first. ``:peft:`` ids are candidates only when the query itself asks for one (it
    mentions ``peft``). Retired models are never suggested.
    """
    _check_suggest_arguments(query, limit)
    return [model for _, model in _ranked(query, training_day(on))[:limit]]


def _ranked(query: str, day: date) -> list[tuple[float, TrainingModel]]:
    """Every plausible model for ``query`` on ``day`` with its score, best first."""
    if not _key(query):
        return []
    candidates, models = _candidates(day, "peft" in _key(query))
    scored = [
        (score, models[tinker_id])
        for score, tinker_id in zip(candidates.scores(query), candidates.ids, strict=True)
        if score >= SUGGESTION_CUTOFF
    ]
    # Stable sort: equal scores keep catalog order, so answers are deterministic on both sides.
    scored.sort(key=lambda item: -item[0])
    return scored


def _nearest_retired(query: str, day: date, than: float) -> TrainingModelRetirement | None:
    """The retired id nearest to ``query`` if it is nearer than ``than`` (the best live score)."""
    candidates = _retired_candidates(day)
    if not candidates.ids or not _key(query):
        return None
    best, tinker_id = max(
        zip(candidates.scores(query), candidates.ids, strict=True), key=lambda i: i[0]
    )
    if best < SUGGESTION_CUTOFF or best <= than:
        return None
    return _RETIREMENTS[tinker_id]


def _suffix_problem(model_id: str, day: date) -> str | None:
    """What is wrong with ``<id>:peft:<tokens>`` when ``<id>`` is a model accepted on that day."""
    base_id, separator, tokens = model_id.rpartition(EXTENDED_CONTEXT_SEPARATOR)
    base = get_training_model(base_id, on=day) if separator else None
    if base is None:
        return None
    if base.extended_context_length is None:
        return (
            f"{base.tinker_id} has no extended-context variant; its context is "
            f"{base.context_length:,} tokens"
        )
    return (
        f"{base.tinker_id} offers {EXTENDED_CONTEXT_SEPARATOR}{base.extended_context_length}, "
        f"not {EXTENDED_CONTEXT_SEPARATOR}{tokens}"
    )


def describe_unknown_training_model(
    model_id: str, limit: int = 2, *, on: date | None = None
) -> str:
    """What to tell a user whose ``--model`` the catalog does not accept on that day.

    - a retired id: "Training base model 'X' was retired on D; Tinker recommends Y instead."
    - a suffix the model does not offer: "Unknown training base model 'X:peft:9': X offers
      :peft:N, not :peft:9." (or that X has no extended-context variant at all)
    - a typo: "Unknown training base model 'X'. Did you mean one of: A, B?", naming first the
      retired id it is nearest to, with its date and replacement, when that is the nearest.

    The CLI (before sending) and the API (when rejecting) both say exactly this, so a user sees
    the same words either way.
    """
    day = training_day(on)
    retirement = get_training_model_retirement(model_id)
    if retirement is not None and retirement.status(day) is TrainingModelStatus.RETIRED:
        return _as_asked(retirement, model_id).describe(day)
    message = f"Unknown training base model {model_id!r}"
    suffix = _suffix_problem(model_id, day)
    if suffix is not None:
        return f"{message}: {suffix}."
    message += "."
    if not model_id.strip():
        return message
    _check_suggest_arguments(model_id, limit)
    ranked = _ranked(model_id, day)
    suggestions = [model for _, model in ranked[:limit]]
    nearest = _nearest_retired(model_id, day, ranked[0][0] if ranked else 0.0)
    if nearest is not None:
        message += f" The nearest id, {nearest.tinker_id}, was retired on {nearest.retired_on}"
        if nearest.replacement is not None:
            message += f"; Tinker recommends {nearest.replacement} instead"
        message += "."
    if suggestions:
        message += f" Did you mean one of: {', '.join(m.tinker_id for m in suggestions)}?"
    return message
