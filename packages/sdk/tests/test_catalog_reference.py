"""Every catalog entry and retirement pinned to the reference (shared/reference/tinker-models.md).

The checker keeps the API's mirror equal to the SDK's copy, so a wrong figure entered here would
spread to both unnoticed. These tables are typed in again from the reference (revised 2026-11-24),
independently of the catalog module, so a slip in either is caught. The renderers are the
reference's renderer table (revised 2026-12-03).
"""

# ruff: noqa: E501 (the tables keep one reference row per line, so they read like the reference)

from __future__ import annotations

from datetime import date

import pytest

from dreadnode.training import (
    TINKER_MODELS,
    TINKER_RETIREMENTS,
    get_training_model,
    get_training_model_retirement,
)

#: A day after every retirement the reference lists.
AFTER_ALL = date(2026, 11, 24)

# Served: tinker_id -> (family, type, total B, active B, context, :peft: context or None,
#                       chat/base, vision, hidden size or None, LoRA parameters per rank)
SERVED: dict[str, tuple[str, str, float, float, int, int | None, str, bool | None, int | None, int]] = {
    "Qwen/Qwen3-8B": ("qwen", "dense", 8, 8, 32768, None, "chat", False, 4096, 1769472 + 958464 + 156032),
    "Qwen/Qwen3.5-4B": ("qwen", "dense", 4, 4, 65536, None, "chat", True, 2560, 1130496 + 897024 + 250880),
    "Qwen/Qwen3.5-9B": ("qwen", "dense", 9, 9, 65536, None, "chat", True, 4096, 1572864 + 1130496 + 252416),
    "Qwen/Qwen3.5-9B-Base": ("qwen", "dense", 9, 9, 65536, None, "base", True, 4096, 1572864 + 1130496 + 252416),
    "Qwen/Qwen3.5-35B-A3B-Base": ("qwen", "moe", 35, 3, 65536, None, "base", True, 2048, 16281600 + 1013760 + 250368),
    "Qwen/Qwen3.5-397B-A17B": ("qwen", "moe", 397, 17, 65536, 262144, "chat", True, 4096, 96030720 + 2841600 + 252416),
    "Qwen/Qwen3.6-35B-A3B": ("qwen", "moe", 35, 3, 65536, 262144, "chat", True, 2048, 16281600 + 1013760 + 250368),
    "Qwen/Qwen3.8-27B": ("qwen", "dense", 27, 27, 65536, 262144, "chat", True, 5120, 4325376 + 2965504 + 253440),
    "deepseek-ai/DeepSeek-V3.1": ("deepseek", "moe", 671, 37, 32768, None, "chat", False, None, 94307328 + 2440000 + 136448),
    "openai/gpt-oss-20b": ("gpt-oss", "moe", 21, 3.6, 32768, None, "chat", False, None, 6842880 + 497664 + 203968),
    "openai/gpt-oss-120b": ("gpt-oss", "moe", 117, 5.1, 32768, 131072, "chat", False, None, 40124160 + 746496 + 203968),
    "moonshotai/Kimi-K2.6": ("kimi", "moe", 1000, 32, 32768, 131072, "chat", True, None, 144583680 + 1940288 + 171008),
    "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": ("nemotron", "moe", 30, 3, 65536, None, "chat", False, None, 11346176 + 584832 + 133760),
    "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16": ("nemotron", "moe", 120, 12, 65536, 262144, "chat", False, None, 111349760 + 1675264 + 135168),
    "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16": ("nemotron", "moe", 550, 55, 65536, 262144, "chat", False, None, 254529536 + 4134912 + 139264),
    "nvidia/NVIDIA-Nemotron-3.5-Lightning-30B-A3B-BF16": ("nemotron", "moe", 30, 3, 65536, 262144, "chat", False, None, 11346176 + 584832 + 133760),
    "nvidia/NVIDIA-Nemotron-3.5-Super-VL-120B-A12B-BF16": ("nemotron", "moe", 120, 12, 65536, 262144, "chat", True, None, 111349760 + 1675264 + 135168),
    "thinkingmachines/Inkling": ("inkling", "moe", 975, 41, 65536, 262144, "chat", True, None, 154705920 + 3424256 + 207168),
    "thinkingmachines/Inkling-Small": ("inkling", "moe", 276, 12, 65536, 262144, "chat", True, None, 64503808 + 1311744 + 205120),
    "thinkingmachines/Inkling-2-Small": ("inkling", "moe", 594, 17, 65536, 262144, "chat", True, None, 128065536 + 2347008 + 205632),
    # Served only under their suffixed id: the context is the number in the suffix; the reference
    # says "all MoE, chat" and nothing of vision.
    "zai-org/GLM-5.3:peft:262144": ("glm", "moe", 744, 40, 262144, None, "chat", None, None, 121356288 + 2920320 + 161024),
    "zai-org/GLM-5.3-Flash:peft:262144": ("glm", "moe", 320, 18, 262144, None, "chat", None, None, 75755520 + 2009088 + 158976),
    "deepseek-ai/DeepSeek-V4.1-Flash:peft:262144": ("deepseek", "moe", 552, 16, 262144, None, "chat", None, None, 107673600 + 1013760 + 134400),
    "deepseek-ai/DeepSeek-V4.1-Flash-1017:peft:262144": ("deepseek", "moe", 552, 16, 262144, None, "chat", None, None, 107673600 + 1013760 + 134400),
}  # fmt: skip

# Retired entries keep the figures the first edition gave them, with no training facts:
# tinker_id -> (family, type, total B, active B, context)
RETIRED_ENTRIES: dict[str, tuple[str, str, float, float, int]] = {
    "meta-llama/Llama-3.1-8B-Instruct": ("llama", "dense", 8, 8, 32768),
    "meta-llama/Llama-3.1-8B": ("llama", "dense", 8, 8, 32768),
    "meta-llama/Llama-3.1-70B": ("llama", "dense", 70, 70, 32768),
    "meta-llama/Llama-3.3-70B-Instruct": ("llama", "dense", 70, 70, 32768),
    "meta-llama/Llama-3.2-3B": ("llama", "dense", 3, 3, 32768),
    "meta-llama/Llama-3.2-1B": ("llama", "dense", 1, 1, 32768),
    "Qwen/Qwen3-8B-Base": ("qwen", "dense", 8, 8, 32768),
    "Qwen/Qwen3-32B": ("qwen", "dense", 32, 32, 32768),
    "Qwen/Qwen3-30B-A3B-Base": ("qwen", "moe", 30, 3, 32768),
    "Qwen/Qwen3-235B-A22B-Instruct-2507": ("qwen", "moe", 235, 22, 32768),
    "Qwen/Qwen3-VL-235B-A22B-Instruct": ("qwen", "moe", 235, 22, 32768),
    "Qwen/Qwen3.6-27B": ("qwen", "dense", 27, 27, 65536),
    "deepseek-ai/DeepSeek-V3.1-Base": ("deepseek", "moe", 671, 37, 32768),
    "moonshotai/Kimi-K2-Thinking": ("kimi", "moe", 1000, 32, 32768),
}

JUNE = date(2026, 6, 12)
# tinker_id -> (retired on, replacement or None, announced on or None)
RETIREMENTS: dict[str, tuple[date, str | None, date | None]] = {
    "meta-llama/Llama-3.1-8B": (JUNE, "Qwen/Qwen3.5-9B-Base", date(2026, 5, 18)),
    "meta-llama/Llama-3.1-70B": (JUNE, "Qwen/Qwen3.5-9B-Base", date(2026, 5, 18)),
    "meta-llama/Llama-3.2-1B": (JUNE, "Qwen/Qwen3.5-9B-Base", date(2026, 5, 18)),
    "meta-llama/Llama-3.2-3B": (JUNE, "Qwen/Qwen3.5-9B-Base", date(2026, 5, 18)),
    "meta-llama/Llama-3.1-8B-Instruct": (JUNE, None, date(2026, 5, 18)),
    "meta-llama/Llama-3.3-70B-Instruct": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3-4B-Instruct-2507": (JUNE, "Qwen/Qwen3.5-4B", date(2026, 5, 18)),
    "Qwen/Qwen3-30B-A3B": (JUNE, "Qwen/Qwen3.6-35B-A3B", date(2026, 5, 18)),
    "Qwen/Qwen3-30B-A3B-Instruct-2507": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3-30B-A3B-Base": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3-VL-30B-A3B-Instruct": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3-32B": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3-8B-Base": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3-235B-A22B-Instruct-2507": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3-VL-235B-A22B-Instruct": (JUNE, "Qwen/Qwen3.5-397B-A17B", date(2026, 5, 18)),
    "Qwen/Qwen3.5-27B": (JUNE, None, date(2026, 5, 18)),
    "Qwen/Qwen3.5-35B-A3B": (JUNE, None, date(2026, 5, 18)),
    "deepseek-ai/DeepSeek-V3.1-Base": (JUNE, None, date(2026, 5, 18)),
    "moonshotai/Kimi-K2-Thinking": (JUNE, None, date(2026, 5, 18)),
    "moonshotai/Kimi-K2.5": (date(2026, 7, 12), "moonshotai/Kimi-K2.6", None),
    "Qwen/Qwen3.6-27B": (date(2026, 9, 2), "Qwen/Qwen3.8-27B", date(2026, 8, 19)),
}

# Served: tinker_id -> the cookbook renderer (the first, recommended one), or None where no
# renderer package implements it (Kimi-K2.6's kimi_k26: none in tml-renderers 0.2.1).
RENDERERS: dict[str, str | None] = {
    "Qwen/Qwen3-8B": "qwen3",
    "Qwen/Qwen3.5-4B": "qwen3_5",
    "Qwen/Qwen3.5-9B": "qwen3_5",
    "Qwen/Qwen3.5-397B-A17B": "qwen3_5",
    "Qwen/Qwen3.6-35B-A3B": "qwen3_5",  # 3.6 shares 3.5's tokenizer and template
    "Qwen/Qwen3.8-27B": "qwen3_8_xhigh_reasoning",
    "Qwen/Qwen3.5-9B-Base": "role_colon",
    "Qwen/Qwen3.5-35B-A3B-Base": "role_colon",
    "deepseek-ai/DeepSeek-V3.1": "deepseekv3",
    "deepseek-ai/DeepSeek-V4.1-Flash:peft:262144": "deepseekv4_1",
    "deepseek-ai/DeepSeek-V4.1-Flash-1017:peft:262144": "deepseekv4_1",
    "openai/gpt-oss-20b": "gpt_oss_no_sysprompt",
    "openai/gpt-oss-120b": "gpt_oss_no_sysprompt",
    "moonshotai/Kimi-K2.6": None,
    "zai-org/GLM-5.3:peft:262144": "glm5_3_max_reasoning",
    "zai-org/GLM-5.3-Flash:peft:262144": "glm5_3_max_reasoning",
    "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": "nemotron3",
    "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16": "nemotron3",
    "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16": "nemotron3_ultra",
    "nvidia/NVIDIA-Nemotron-3.5-Lightning-30B-A3B-BF16": "nemotron3_ultra",
    "nvidia/NVIDIA-Nemotron-3.5-Super-VL-120B-A12B-BF16": "nemotron3_ultra",
    "thinkingmachines/Inkling": "tml_v0",
    "thinkingmachines/Inkling-Small": "tml_v0",
    "thinkingmachines/Inkling-2-Small": "tml_v0",
}

#: The cookbook's get_lr for Qwen, computed here from the formula as the reference states it.
QWEN_LR = {hidden: 5e-4 * (2000 / hidden) ** 0.0775 for hidden in (2048, 2560, 4096, 5120)}


def test_catalog_holds_exactly_the_served_and_the_formerly_served_models() -> None:
    assert {model.tinker_id for model in TINKER_MODELS} == set(SERVED) | set(RETIRED_ENTRIES)


def test_catalog_serves_exactly_the_reference_lineup_today() -> None:
    served = {m.tinker_id for m in TINKER_MODELS if get_training_model(m.tinker_id, on=AFTER_ALL)}
    assert served == set(SERVED)


@pytest.mark.parametrize("tinker_id", sorted(SERVED))
def test_served_entry_matches_reference_figures(tinker_id: str) -> None:
    model = get_training_model(tinker_id, on=AFTER_ALL)
    assert model is not None
    family, kind, total, active, context, extended, chat, vision, hidden, per_rank = SERVED[
        tinker_id
    ]
    assert (model.family.value, model.type.value) == (family, kind)
    assert (model.total_size_b, model.size_b) == (total, active)  # MoE: size_b is active
    assert (model.context_length, model.extended_context_length) == (context, extended)
    assert model.kind is not None
    assert (model.kind.value, model.vision) == (chat, vision)
    assert (model.hidden_size, model.lora_parameters_per_rank) == (hidden, per_rank)
    assert model.max_lora_rank is None  # no source publishes a per-model maximum
    assert model.recommended_learning_rate == (QWEN_LR[hidden] if hidden else None)
    assert model.retirement is None


@pytest.mark.parametrize("tinker_id", sorted(RETIRED_ENTRIES))
def test_retired_entry_keeps_its_figures_and_knows_no_training_facts(tinker_id: str) -> None:
    model = get_training_model(tinker_id, on=date(2026, 5, 1))  # before any retirement
    assert model is not None
    family, kind, total, active, context = RETIRED_ENTRIES[tinker_id]
    assert (model.family.value, model.type.value) == (family, kind)
    assert (model.total_size_b, model.size_b, model.context_length) == (total, active, context)
    facts = (model.kind, model.vision, model.hidden_size, model.lora_parameters_per_rank)
    assert facts == (None, None, None, None)
    assert model.renderer is None  # the reference's renderer table lists served models only
    assert model.retirement is not None


def test_retirements_are_the_reference_list_with_dates_and_replacements() -> None:
    recorded = {
        r.tinker_id: (r.retired_on, r.replacement, r.announced_on) for r in TINKER_RETIREMENTS
    }
    assert recorded == RETIREMENTS


@pytest.mark.parametrize("tinker_id", sorted(RETIREMENTS))
def test_retired_id_is_refused_after_its_date(tinker_id: str) -> None:
    assert get_training_model(tinker_id, on=AFTER_ALL) is None
    retirement = get_training_model_retirement(tinker_id)
    assert retirement is not None
    assert retirement.retired_on == RETIREMENTS[tinker_id][0]


def test_renderer_table_covers_exactly_the_served_models() -> None:
    assert set(RENDERERS) == set(SERVED)


@pytest.mark.parametrize("tinker_id", sorted(SERVED))
def test_served_entry_names_the_reference_renderer(tinker_id: str) -> None:
    model = get_training_model(tinker_id, on=AFTER_ALL)
    assert model is not None
    renderer = None if model.renderer is None else model.renderer.value
    assert renderer == RENDERERS[tinker_id]
    variant = model.extended_variant()  # a :peft: id uses its base id's renderer
    if variant is not None:
        looked_up = get_training_model(variant.tinker_id, on=AFTER_ALL)
        assert looked_up is not None
        assert looked_up.renderer == model.renderer
        assert looked_up.listed(AFTER_ALL)["renderer"] == RENDERERS[tinker_id]
