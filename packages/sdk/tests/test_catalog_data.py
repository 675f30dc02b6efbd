"""The embedded catalog holds Tinker's real, current models with consistent figures."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dreadnode.training import (
    RETIRED_TINKER_MODELS,
    TINKER_MODELS,
    TrainingAlgorithm,
    TrainingModel,
    TrainingModelType,
)


def test_catalog_ids_are_unique() -> None:
    ids = [model.tinker_id for model in TINKER_MODELS]
    assert len(ids) == len(set(ids))


def test_catalog_holds_the_docs_example_models() -> None:
    ids = {model.tinker_id for model in TINKER_MODELS}
    assert {"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B", "Qwen/Qwen3-8B"} <= ids


def test_catalog_excludes_retired_models() -> None:
    ids = {model.tinker_id for model in TINKER_MODELS}
    assert ids.isdisjoint(RETIRED_TINKER_MODELS)
    assert "Qwen/Qwen3.5-27B" in RETIRED_TINKER_MODELS


def test_every_model_trains_with_sft() -> None:
    assert all(TrainingAlgorithm.SFT in model.supported_algorithms for model in TINKER_MODELS)


def test_moe_size_is_active_parameters() -> None:
    kimi = next(m for m in TINKER_MODELS if m.tinker_id == "moonshotai/Kimi-K2.6")
    assert kimi.type is TrainingModelType.MOE
    assert (kimi.size_b, kimi.total_size_b) == (32, 1000)
    gpt_oss = next(m for m in TINKER_MODELS if m.tinker_id == "openai/gpt-oss-20b")
    assert gpt_oss.size_b == 3.6


def test_pricing_is_unconfirmed_everywhere() -> None:
    # The reference only has third-party transcriptions: the catalog must not present them as fact.
    assert all(model.pricing is None for model in TINKER_MODELS)


def test_extended_context_flag_follows_its_length() -> None:
    qwen = next(m for m in TINKER_MODELS if m.tinker_id == "Qwen/Qwen3.5-397B-A17B")
    assert qwen.extended_context is True
    assert qwen.extended_context_id == "Qwen/Qwen3.5-397B-A17B:peft:262144"
    llama = next(m for m in TINKER_MODELS if m.tinker_id == "meta-llama/Llama-3.1-8B")
    assert llama.extended_context is False
    assert llama.extended_context_id is None
    assert qwen.model_dump(mode="json")["extended_context"] is True


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "tinker_id": "org/Model-1B",
        "display_name": "Model 1B",
        "family": "llama",
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
        ({"size_b": 0.01, "total_size_b": 0.01}, "size_b"),
        ({"tinker_id": "no-organisation"}, "tinker_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_entry_rejects_inconsistent_data(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TrainingModel.model_validate(_entry(**changes))


def test_entry_is_immutable() -> None:
    with pytest.raises(ValidationError):
        TINKER_MODELS[0].context_length = 1  # type: ignore[misc]
