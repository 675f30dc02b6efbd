"""The embedded catalog holds consistent figures, and refuses inconsistent ones at import."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from dreadnode.training import (
    TINKER_MODELS,
    TINKER_RETIREMENTS,
    TrainingAlgorithm,
    TrainingModel,
    TrainingModelRetirement,
    TrainingModelType,
    get_training_model,
)

DAY = date(2026, 12, 1)


def _served(tinker_id: str) -> TrainingModel:
    model = get_training_model(tinker_id, on=DAY)
    assert model is not None
    return model


def test_catalog_ids_are_unique() -> None:
    ids = [model.tinker_id for model in TINKER_MODELS]
    assert len(ids) == len(set(ids))


def test_retirements_name_each_id_once() -> None:
    ids = [retirement.tinker_id for retirement in TINKER_RETIREMENTS]
    assert len(ids) == len(set(ids))


def test_every_replacement_is_a_served_catalog_model() -> None:
    for retirement in TINKER_RETIREMENTS:
        if retirement.replacement is not None:
            assert get_training_model(retirement.replacement, on=DAY) is not None


def test_every_model_trains_with_sft() -> None:
    assert all(TrainingAlgorithm.SFT in model.supported_algorithms for model in TINKER_MODELS)


def test_moe_size_is_active_parameters() -> None:
    kimi = _served("moonshotai/Kimi-K2.6")
    assert kimi.type is TrainingModelType.MOE
    assert (kimi.size_b, kimi.total_size_b) == (32, 1000)
    assert _served("openai/gpt-oss-20b").size_b == 3.6


def test_pricing_is_unconfirmed_everywhere() -> None:
    # The reference only has third-party transcriptions: the catalog must not present them as fact.
    assert all(model.pricing is None for model in TINKER_MODELS)


def test_extended_context_flag_follows_its_length() -> None:
    qwen = _served("Qwen/Qwen3.5-397B-A17B")
    assert qwen.extended_context is True
    assert qwen.extended_context_id == "Qwen/Qwen3.5-397B-A17B:peft:262144"
    small = _served("Qwen/Qwen3-8B")
    assert (small.extended_context, small.extended_context_id) == (False, None)
    assert qwen.model_dump(mode="json")["extended_context"] is True


def test_entry_json_carries_training_facts_and_retirement() -> None:
    entry = _served("Qwen/Qwen3.5-9B-Base").listed(DAY)
    assert (entry["kind"], entry["vision"], entry["retirement"]) == ("base", True, None)
    assert entry["lifecycle"] == "available"
    assert entry["recommended_learning_rate"] == pytest.approx(4.73e-4, rel=1e-3)
    retired = next(m for m in TINKER_MODELS if m.tinker_id == "meta-llama/Llama-3.1-8B")
    assert retired.listed(date(2026, 6, 1))["lifecycle"] == "retiring"
    assert retired.model_dump(mode="json")["retirement"] == {
        "tinker_id": "meta-llama/Llama-3.1-8B",
        "retired_on": "2026-06-12",
        "replacement": "Qwen/Qwen3.5-9B-Base",
        "announced_on": "2026-05-18",
    }


def test_learning_rate_is_calibrated_only_for_qwen() -> None:
    assert _served("Qwen/Qwen3.8-27B").default_learning_rate == pytest.approx(
        5e-4 * (2000 / 5120) ** 0.0775
    )
    nemotron = _served("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")
    assert nemotron.recommended_learning_rate is None
    assert nemotron.default_learning_rate == 1e-4  # Tinker's AdamParams default


def test_adapter_size_is_rank_times_parameters_per_rank() -> None:
    assert _served("Qwen/Qwen3-8B").adapter_parameters(32) == 32 * (1769472 + 958464 + 156032)
    retired = next(m for m in TINKER_MODELS if m.tinker_id == "Qwen/Qwen3-32B")
    assert retired.adapter_parameters(32) is None  # unknown, never guessed


@pytest.mark.parametrize(
    ("rank", "problem"),
    [
        (1, None),
        (32, None),
        (64, None),
        (128, None),
        (48, "lora_rank must be a power of two (Tinker refuses others), got 48"),
        (0, "lora_rank must be a power of two (Tinker refuses others), got 0"),
        (
            256,
            "lora_rank 256 exceeds 128, the largest rank known to train on Tinker "
            "(Qwen/Qwen3-8B publishes no maximum)",
        ),
    ],
)
def test_lora_rank_must_be_a_power_of_two_within_the_known_bound(
    rank: int, problem: str | None
) -> None:
    assert _served("Qwen/Qwen3-8B").lora_rank_problem(rank) == problem


def test_lora_rank_bound_is_the_models_own_maximum_where_known() -> None:
    capped = _served("Qwen/Qwen3-8B").model_copy(update={"max_lora_rank": 32})
    assert capped.lora_rank_problem(64) == "lora_rank 64 exceeds the maximum of Qwen/Qwen3-8B (32)"
    assert capped.lora_rank_problem(32) is None


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "tinker_id": "org/Model-1B",
        "display_name": "Model 1B",
        "family": "qwen",
        "type": "dense",
        "size_b": 1,
        "total_size_b": 1,
        "context_length": 4096,
        "supported_algorithms": ["sft"],
    }
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"supported_algorithms": ["ppo"]}, "must include 'sft'"),
        ({"supported_algorithms": ["sft", "sft"]}, "must not repeat"),
        ({"total_size_b": 2}, "dense model's total_size_b"),
        ({"type": "moe", "total_size_b": 1}, "must exceed its size_b"),
        ({"extended_context_length": 1024}, "must exceed context_length"),
        ({"family": "mistral"}, "family"),
        ({"kind": "instruct"}, "kind"),
        ({"max_lora_rank": 48}, "max_lora_rank must be a power of two"),
        ({"size_b": 0.01, "total_size_b": 0.01}, "size_b"),
        ({"tinker_id": "no-organisation"}, "tinker_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_entry_rejects_inconsistent_data(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TrainingModel.model_validate(_entry(**changes))


def test_retirement_rejects_an_announcement_after_the_date() -> None:
    with pytest.raises(ValidationError, match="announced_on must not come after retired_on"):
        TrainingModelRetirement(
            tinker_id="org/Model-1B", retired_on=date(2026, 6, 1), announced_on=date(2026, 6, 2)
        )


def test_entry_is_immutable() -> None:
    with pytest.raises(ValidationError):
        TINKER_MODELS[0].context_length = 1  # type: ignore[misc]
