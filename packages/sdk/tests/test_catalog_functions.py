"""Lookup, filters and suggestions: what `dn train catalog` and job validation rely on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dreadnode.training import (
    TINKER_MODELS,
    TrainingModelFamily,
    TrainingQueryError,
    describe_unknown_training_model,
    filter_training_models,
    get_training_model,
    resolve_training_model,
    suggest_training_models,
)


def _ids(models: object) -> list[str]:
    return [model.tinker_id for model in models]  # type: ignore[attr-defined]


def test_get_training_model_finds_exact_id() -> None:
    model = get_training_model("Qwen/Qwen3-8B")
    assert model is not None
    assert model.display_name == "Qwen3 8B"


@pytest.mark.parametrize("tinker_id", ["qwen/qwen3-8b", "Qwen/Qwen3-8B ", "Qwen3-8B", ""])
def test_get_training_model_is_exact(tinker_id: str) -> None:
    assert get_training_model(tinker_id) is None


def test_resolve_accepts_listed_extended_context() -> None:
    resolved = resolve_training_model("Qwen/Qwen3.6-35B-A3B:peft:262144")
    assert resolved is not None
    model, context = resolved
    assert (model.tinker_id, context) == ("Qwen/Qwen3.6-35B-A3B", 262144)


@pytest.mark.parametrize(
    "model_id",
    [
        "Qwen/Qwen3.6-35B-A3B:peft:131072",  # not the listed length
        "meta-llama/Llama-3.1-8B:peft:131072",  # no extended variant at all
        "Qwen/Qwen3.6-35B-A3B:peft:",
        "nope/Model:peft:262144",
    ],
)
def test_resolve_rejects_unlisted_extended_context(model_id: str) -> None:
    assert resolve_training_model(model_id) is None


def test_resolve_plain_id_uses_base_context() -> None:
    assert resolve_training_model("openai/gpt-oss-120b") == (
        get_training_model("openai/gpt-oss-120b"),
        32768,
    )


def test_filter_without_arguments_lists_whole_catalog_in_order() -> None:
    assert _ids(filter_training_models()) == _ids(TINKER_MODELS)


def test_filter_by_query_matches_whole_tokens() -> None:
    assert _ids(filter_training_models(query="llama 3.1")) == [
        "meta-llama/Llama-3.1-8B-Instruct",
        "meta-llama/Llama-3.1-8B",
        "meta-llama/Llama-3.1-70B",
    ]
    assert _ids(filter_training_models(query="8B INSTRUCT")) == ["meta-llama/Llama-3.1-8B-Instruct"]
    assert filter_training_models(query="banana") == []


def test_filter_by_family_accepts_enum_or_string() -> None:
    by_string = filter_training_models(family="gpt-oss")
    assert _ids(by_string) == ["openai/gpt-oss-20b", "openai/gpt-oss-120b"]
    assert filter_training_models(family=TrainingModelFamily.GPT_OSS) == by_string


def test_filter_by_algorithm() -> None:
    assert len(filter_training_models(algorithm="ppo")) == len(TINKER_MODELS)


def test_filter_by_size_bounds_active_parameters_inclusively() -> None:
    small = filter_training_models(min_size_b=3, max_size_b=3.6)
    assert all(3 <= model.size_b <= 3.6 for model in small)
    assert "openai/gpt-oss-20b" in _ids(small)  # 21B total, 3.6B active
    assert "meta-llama/Llama-3.2-3B" in _ids(small)


def test_filters_combine() -> None:
    assert _ids(filter_training_models(query="base", family="qwen", max_size_b=8)) == [
        "Qwen/Qwen3-8B-Base",
        "Qwen/Qwen3-30B-A3B-Base",
        "Qwen/Qwen3.5-35B-A3B-Base",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ""}, "query must contain"),
        ({"query": "  --  "}, "query must contain"),
        ({"family": "mistral"}, "allowed: deepseek, glm, gpt-oss, inkling, kimi, llama"),
        ({"algorithm": "dpo"}, "allowed: sft, importance_sampling, ppo"),
        ({"min_size_b": 10, "max_size_b": 5}, "must not exceed"),
        ({"min_size_b": -1}, "min_size_b must be a number >= 0"),
        ({"max_size_b": float("nan")}, "max_size_b must be a number >= 0"),
    ],
)
def test_filter_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        filter_training_models(**kwargs)  # type: ignore[arg-type]


def test_suggest_seed_example_ranks_instruct_then_base() -> None:
    suggestions = suggest_training_models("meta-llama/Llama-3.1-8B-Instruc")
    assert suggestions[:2] == ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B"]


def test_suggest_llama3_gives_three_llama3_models() -> None:
    suggestions = suggest_training_models("llama3", limit=3)
    assert len(suggestions) == 3
    assert all(s.startswith("meta-llama/Llama-3.") for s in suggestions)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("qwen/qwen3-8b", "Qwen/Qwen3-8B"),
        ("Qwen3-8B", "Qwen/Qwen3-8B"),
        ("Qwen_Qwen3_8B", "Qwen/Qwen3-8B"),
        ("openai/gpt-oss-12b", "openai/gpt-oss-120b"),
        ("deepseek-ai/DeepSeek-V31", "deepseek-ai/DeepSeek-V3.1"),
        ("thinkingmachines/Inklnig", "thinkingmachines/Inkling"),
    ],
)
def test_suggest_finds_what_was_meant_first(typo: str, meant: str) -> None:
    assert suggest_training_models(typo)[0] == meant


@pytest.mark.parametrize("query", ["banana", "SELECT * FROM models", "gpt-4o", "!!!"])
def test_suggest_nothing_for_non_models(query: str) -> None:
    assert suggest_training_models(query) == []


def test_suggest_extended_context_only_when_asked() -> None:
    assert suggest_training_models("Qwen/Qwen3.5-397B-A17B:peft:131072")[0] == (
        "Qwen/Qwen3.5-397B-A17B:peft:262144"
    )
    assert not any(":peft:" in s for s in suggest_training_models("Qwen/Qwen3.5-397B-A17"))


def test_suggest_respects_limit() -> None:
    assert len(suggest_training_models("qwen3", limit=1)) == 1


@pytest.mark.parametrize(("query", "limit"), [("", 3), ("   ", 3), ("llama", 0), ("llama", -1)])
def test_suggest_rejects_bad_arguments(query: str, limit: int) -> None:
    with pytest.raises(ValueError, match=r"query must be|limit must be"):
        suggest_training_models(query, limit=limit)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: filter_training_models(family="mistral"), "family"),
        (lambda: filter_training_models(algorithm="dpo"), "algorithm"),
        (lambda: filter_training_models(query="--"), "query"),
        (lambda: filter_training_models(max_size_b=-2), "max_size_b"),
        (lambda: filter_training_models(min_size_b=9, max_size_b=1), "min_size_b"),
        (lambda: suggest_training_models("llama", limit=0), "limit"),
    ],
)
def test_query_errors_name_the_argument_to_blame(call: Callable[[], object], argument: str) -> None:
    with pytest.raises(TrainingQueryError) as caught:
        call()
    assert caught.value.argument == argument
    assert isinstance(caught.value, ValueError)


def test_describe_unknown_model_suggests_two_near_matches() -> None:
    assert describe_unknown_training_model("meta-llama/Llama-3.1-8B-Instruc") == (
        "Unknown training base model 'meta-llama/Llama-3.1-8B-Instruc'. Did you mean one of: "
        "meta-llama/Llama-3.1-8B-Instruct, meta-llama/Llama-3.1-8B?"
    )


def test_describe_unknown_model_without_near_match_asks_nothing() -> None:
    assert describe_unknown_training_model("banana") == "Unknown training base model 'banana'."
    assert describe_unknown_training_model("") == "Unknown training base model ''."


def test_describe_retired_model_says_when() -> None:
    message = describe_unknown_training_model("Qwen/Qwen3.5-27B")
    assert message.startswith("Training base model 'Qwen/Qwen3.5-27B' was retired on 2026-06-12.")
