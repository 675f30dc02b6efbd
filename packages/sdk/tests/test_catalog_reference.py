"""Every catalog entry pinned to the figures of the reference (shared/reference/tinker-models.md).

The checker keeps the API's mirror equal to the SDK's copy, so a wrong figure entered here would
spread to both unnoticed. This table is typed in again from the reference, independently of the
catalog module, so a slip in either is caught.
"""

from __future__ import annotations

import pytest

from dreadnode.training import RETIRED_TINKER_MODELS, TINKER_MODELS, get_training_model

# tinker_id: (family, type, total B, active B, context, :peft: context or None)
REFERENCE: dict[str, tuple[str, str, float, float, int, int | None]] = {
    "meta-llama/Llama-3.1-8B-Instruct": ("llama", "dense", 8, 8, 32768, None),
    "meta-llama/Llama-3.1-8B": ("llama", "dense", 8, 8, 32768, None),
    "meta-llama/Llama-3.1-70B": ("llama", "dense", 70, 70, 32768, None),
    "meta-llama/Llama-3.3-70B-Instruct": ("llama", "dense", 70, 70, 32768, None),
    "meta-llama/Llama-3.2-3B": ("llama", "dense", 3, 3, 32768, None),
    "meta-llama/Llama-3.2-1B": ("llama", "dense", 1, 1, 32768, None),
    "Qwen/Qwen3-8B": ("qwen", "dense", 8, 8, 32768, None),
    "Qwen/Qwen3-8B-Base": ("qwen", "dense", 8, 8, 32768, None),
    "Qwen/Qwen3-32B": ("qwen", "dense", 32, 32, 32768, None),
    "Qwen/Qwen3-30B-A3B-Base": ("qwen", "moe", 30, 3, 32768, None),
    "Qwen/Qwen3-235B-A22B-Instruct-2507": ("qwen", "moe", 235, 22, 32768, None),
    "Qwen/Qwen3-VL-235B-A22B-Instruct": ("qwen", "moe", 235, 22, 32768, None),
    "Qwen/Qwen3.5-4B": ("qwen", "dense", 4, 4, 65536, None),
    "Qwen/Qwen3.5-9B": ("qwen", "dense", 9, 9, 65536, None),
    "Qwen/Qwen3.5-9B-Base": ("qwen", "dense", 9, 9, 65536, None),
    "Qwen/Qwen3.5-35B-A3B-Base": ("qwen", "moe", 35, 3, 65536, None),
    "Qwen/Qwen3.5-397B-A17B": ("qwen", "moe", 397, 17, 65536, 262144),
    "Qwen/Qwen3.6-27B": ("qwen", "dense", 27, 27, 65536, None),
    "Qwen/Qwen3.6-35B-A3B": ("qwen", "moe", 35, 3, 65536, 262144),
    "Qwen/Qwen3.8-27B": ("qwen", "dense", 27, 27, 65536, 262144),
    "deepseek-ai/DeepSeek-V3.1": ("deepseek", "moe", 671, 37, 32768, None),
    "deepseek-ai/DeepSeek-V3.1-Base": ("deepseek", "moe", 671, 37, 32768, None),
    "openai/gpt-oss-20b": ("gpt-oss", "moe", 21, 3.6, 32768, None),
    "openai/gpt-oss-120b": ("gpt-oss", "moe", 117, 5.1, 32768, 131072),
    "moonshotai/Kimi-K2-Thinking": ("kimi", "moe", 1000, 32, 32768, None),
    "moonshotai/Kimi-K2.6": ("kimi", "moe", 1000, 32, 32768, 131072),
    "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": ("nemotron", "moe", 30, 3, 65536, None),
    "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16": ("nemotron", "moe", 120, 12, 65536, 262144),
    "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16": ("nemotron", "moe", 550, 55, 65536, 262144),
    "nvidia/NVIDIA-Nemotron-3.5-Lightning-30B-A3B-BF16": (
        "nemotron", "moe", 30, 3, 65536, 262144,
    ),
    "thinkingmachines/Inkling": ("inkling", "moe", 975, 41, 65536, 262144),
    "thinkingmachines/Inkling-Small": ("inkling", "moe", 276, 12, 65536, 262144),
    "thinkingmachines/Inkling-2-Small": ("inkling", "moe", 594, 17, 65536, 262144),
    # Served only under their suffixed id: the context is the number in the suffix.
    "zai-org/GLM-5.3:peft:262144": ("glm", "moe", 744, 40, 262144, None),
    "zai-org/GLM-5.3-Flash:peft:262144": ("glm", "moe", 320, 18, 262144, None),
    "deepseek-ai/DeepSeek-V4.1-Flash:peft:262144": ("deepseek", "moe", 552, 16, 262144, None),
}  # fmt: skip

RETIRED = {
    "Qwen/Qwen3-4B-Instruct-2507",
    "Qwen/Qwen3-30B-A3B",
    "Qwen/Qwen3-30B-A3B-Instruct-2507",
    "Qwen/Qwen3-VL-30B-A3B-Instruct",
    "Qwen/Qwen3.5-27B",
    "Qwen/Qwen3.5-35B-A3B",
}


def test_catalog_lists_exactly_the_reference_models() -> None:
    assert {model.tinker_id for model in TINKER_MODELS} == set(REFERENCE)


@pytest.mark.parametrize("tinker_id", sorted(REFERENCE))
def test_entry_matches_reference_figures(tinker_id: str) -> None:
    model = get_training_model(tinker_id)
    assert model is not None
    family, kind, total, active, context, extended = REFERENCE[tinker_id]
    assert (model.family.value, model.type.value) == (family, kind)
    assert (model.total_size_b, model.size_b) == (total, active)  # MoE: size_b is active
    assert (model.context_length, model.extended_context_length) == (context, extended)


def test_retired_models_are_the_reference_list_with_their_date() -> None:
    assert dict.fromkeys(RETIRED, "2026-06-12") == RETIRED_TINKER_MODELS
