"""Lookup, lifecycle, filters and suggestions: what `dn train catalog` and job validation rely on.

Every date-dependent call pins its day, so these answers do not change as the calendar moves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

import pytest

from dreadnode.training import (
    TINKER_MODELS,
    TrainingModel,
    TrainingModelFamily,
    TrainingModelStatus,
    TrainingQueryError,
    describe_retiring_training_model,
    describe_unknown_training_model,
    describe_unrenderable_training_model,
    filter_training_models,
    get_training_model,
    retired_training_models,
    suggest_training_models,
    training_day,
    training_model_status,
)

TODAY = date(2026, 12, 1)
#: Before the June retirements: the 19 models Tinker retired on 2026-06-12 were still retiring.
BEFORE_JUNE = date(2026, 6, 1)
JUNE = date(2026, 6, 12)


def _ids(models: Iterable[TrainingModel]) -> list[str]:
    return [model.tinker_id for model in models]


def test_get_training_model_finds_exact_id() -> None:
    model = get_training_model("Qwen/Qwen3-8B", on=TODAY)
    assert model is not None
    assert model.display_name == "Qwen3 8B"


@pytest.mark.parametrize("tinker_id", ["qwen/qwen3-8b", "Qwen/Qwen3-8B ", "Qwen3-8B", ""])
def test_get_training_model_is_exact(tinker_id: str) -> None:
    assert get_training_model(tinker_id, on=TODAY) is None


def test_get_training_model_describes_a_peft_id_as_itself() -> None:
    model = get_training_model("Qwen/Qwen3.6-35B-A3B:peft:262144", on=TODAY)
    assert model is not None
    assert (model.tinker_id, model.context_length) == ("Qwen/Qwen3.6-35B-A3B:peft:262144", 262144)
    assert model.display_name == "Qwen3.6 35B-A3B (262K context)"
    assert (model.extended_context, model.extended_context_id) == (False, None)
    base = get_training_model("Qwen/Qwen3.6-35B-A3B", on=TODAY)
    assert base is not None
    assert model.lora_parameters_per_rank == base.lora_parameters_per_rank


@pytest.mark.parametrize(
    "model_id",
    [
        "Qwen/Qwen3.6-35B-A3B:peft:131072",  # not the listed length
        "Qwen/Qwen3-8B:peft:131072",  # no extended variant at all
        "Qwen/Qwen3.6-35B-A3B:peft:",
        "zai-org/GLM-5.3:peft:262144:peft:262144",
        "nope/Model:peft:262144",
    ],
)
def test_get_training_model_rejects_unlisted_extended_context(model_id: str) -> None:
    assert get_training_model(model_id, on=TODAY) is None


def test_retiring_model_is_accepted_until_its_date() -> None:
    before = get_training_model("meta-llama/Llama-3.1-8B", on=BEFORE_JUNE)
    assert before is not None
    assert before.status(BEFORE_JUNE) is TrainingModelStatus.RETIRING
    assert get_training_model("meta-llama/Llama-3.1-8B", on=JUNE) is None  # refused on the day
    assert get_training_model("Qwen/Qwen3-8B", on=BEFORE_JUNE) is not None


def test_status_follows_the_day() -> None:
    assert training_model_status("Qwen/Qwen3.6-27B", on=date(2026, 9, 1)) == "retiring"
    assert training_model_status("Qwen/Qwen3.6-27B", on=date(2026, 9, 2)) == "retired"
    assert training_model_status("Qwen/Qwen3.5-27B", on=TODAY) == "retired"  # retired, no facts
    assert training_model_status("Qwen/Qwen3-8B", on=TODAY) == "available"
    assert training_model_status("nope/Model", on=TODAY) is None


def test_model_is_available_until_its_retirement_is_announced() -> None:
    announced = date(2026, 5, 18)
    assert training_model_status("meta-llama/Llama-3.1-8B", on=date(2026, 5, 17)) == "available"
    assert training_model_status("meta-llama/Llama-3.1-8B", on=announced) == "retiring"
    assert describe_retiring_training_model("meta-llama/Llama-3.1-8B", on=date(2026, 5, 17)) is None
    # Kimi-K2.5's announcement date is unknown: retiring on every day before its date.
    assert training_model_status("moonshotai/Kimi-K2.5", on=date(2026, 1, 1)) == "retiring"


def test_training_day_defaults_to_today_in_utc() -> None:
    assert training_day(BEFORE_JUNE) == BEFORE_JUNE
    before = datetime.now(UTC).date()
    assert before <= training_day() <= datetime.now(UTC).date()  # midnight may pass between


def test_retired_listing_holds_retirements_in_effect_on_the_day() -> None:
    assert len(retired_training_models(on=TODAY)) == 21
    assert len(retired_training_models(on=JUNE)) == 19
    assert retired_training_models(on=BEFORE_JUNE) == []
    kimi = {r.tinker_id: r for r in retired_training_models(on=TODAY)}["moonshotai/Kimi-K2.5"]
    assert (str(kimi.retired_on), kimi.replacement) == ("2026-07-12", "moonshotai/Kimi-K2.6")


def test_retiring_warning_names_date_and_replacement() -> None:
    assert describe_retiring_training_model("meta-llama/Llama-3.1-8B", on=BEFORE_JUNE) == (
        "Training base model 'meta-llama/Llama-3.1-8B' retires on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
    )
    assert describe_retiring_training_model("meta-llama/Llama-3.1-8B-Instruct", on=BEFORE_JUNE) == (
        "Training base model 'meta-llama/Llama-3.1-8B-Instruct' retires on 2026-06-12."
    )
    assert describe_retiring_training_model("meta-llama/Llama-3.1-8B", on=JUNE) is None
    assert describe_retiring_training_model("Qwen/Qwen3-8B", on=TODAY) is None


def test_filter_without_arguments_lists_the_served_catalog_in_order() -> None:
    served = [m for m in TINKER_MODELS if m.status(TODAY) is not TrainingModelStatus.RETIRED]
    assert _ids(filter_training_models(on=TODAY)) == _ids(served)
    assert len(served) == 24


def test_filter_lists_retiring_models_and_never_retired_ones() -> None:
    assert "meta-llama/Llama-3.1-8B" in _ids(filter_training_models(family="llama", on=BEFORE_JUNE))
    assert filter_training_models(family="llama", on=JUNE) == []
    assert len(filter_training_models(on=BEFORE_JUNE)) == len(TINKER_MODELS)


def test_filter_by_query_matches_whole_tokens() -> None:
    assert _ids(filter_training_models(query="qwen 3.5 9b", on=TODAY)) == [
        "Qwen/Qwen3.5-9B",
        "Qwen/Qwen3.5-9B-Base",
    ]
    assert _ids(filter_training_models(query="gpt oss 120B", on=TODAY)) == ["openai/gpt-oss-120b"]
    assert filter_training_models(query="banana", on=TODAY) == []


def test_filter_query_accepts_non_ascii_letters() -> None:
    assert filter_training_models(query="qwén", on=TODAY) == []  # a word, not an error


def test_filter_by_family_accepts_enum_or_string() -> None:
    by_string = filter_training_models(family="gpt-oss", on=TODAY)
    assert _ids(by_string) == ["openai/gpt-oss-20b", "openai/gpt-oss-120b"]
    assert filter_training_models(family=TrainingModelFamily.GPT_OSS, on=TODAY) == by_string


def test_filter_by_kind_and_vision() -> None:
    assert _ids(filter_training_models(kind="base", on=TODAY)) == [
        "Qwen/Qwen3.5-9B-Base",
        "Qwen/Qwen3.5-35B-A3B-Base",
    ]
    vision = _ids(filter_training_models(vision=True, family="nemotron", on=TODAY))
    assert vision == ["nvidia/NVIDIA-Nemotron-3.5-Super-VL-120B-A12B-BF16"]
    no_vision = filter_training_models(vision=False, on=TODAY)
    assert "Qwen/Qwen3-8B" in _ids(no_vision)
    assert all(m.vision is False for m in no_vision)  # unknown (None) is neither


def test_filter_by_algorithm() -> None:
    assert len(filter_training_models(algorithm="ppo", on=TODAY)) == 24


def test_filter_by_size_bounds_active_parameters_inclusively() -> None:
    small = filter_training_models(min_size_b=3, max_size_b=3.6, on=TODAY)
    assert all(3 <= model.size_b <= 3.6 for model in small)
    assert "openai/gpt-oss-20b" in _ids(small)  # 21B total, 3.6B active


def test_filters_combine() -> None:
    assert _ids(filter_training_models(query="base", family="qwen", max_size_b=8, on=TODAY)) == [
        "Qwen/Qwen3.5-35B-A3B-Base",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ""}, "query must contain"),
        ({"query": "  --  "}, "query must contain"),
        ({"family": "mistral"}, "allowed: deepseek, glm, gpt-oss, inkling, kimi, llama"),
        ({"algorithm": "dpo"}, "allowed: sft, importance_sampling, ppo"),
        ({"kind": "instruct"}, "unknown kind 'instruct'; allowed: chat, base"),
        ({"vision": "yes"}, "vision must be true or false"),
        ({"min_size_b": 10, "max_size_b": 5}, "must not exceed"),
        ({"min_size_b": -1}, "min_size_b must be a number >= 0"),
        ({"max_size_b": float("nan")}, "max_size_b must be a number >= 0"),
    ],
)
def test_filter_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        filter_training_models(**kwargs)  # type: ignore[arg-type]


def test_suggest_returns_models_best_first() -> None:
    suggestions = suggest_training_models("Qwen/Qwen3.5-9B-Bas", limit=3, on=TODAY)
    assert all(isinstance(m, TrainingModel) for m in suggestions)
    assert _ids(suggestions)[:2] == ["Qwen/Qwen3.5-9B-Base", "Qwen/Qwen3.5-9B"]


@pytest.mark.parametrize(
    ("prefix", "meant"),
    [
        ("Qwen/Qwen3.5-397B", "Qwen/Qwen3.5-397B-A17B"),
        ("Qwen3.5-35B", "Qwen/Qwen3.5-35B-A3B-Base"),
        ("nvidia/NVIDIA-Nemotron-3-Ultra", "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16"),
        ("thinkingmachines/Inkling-2", "thinkingmachines/Inkling-2-Small"),
    ],
)
def test_suggest_ranks_the_id_a_prefix_starts_first(prefix: str, meant: str) -> None:
    assert _ids(suggest_training_models(prefix, on=TODAY))[0] == meant


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
    assert _ids(suggest_training_models(typo, on=TODAY))[0] == meant


def test_suggest_never_offers_a_retired_model() -> None:
    retired = {r.tinker_id for r in retired_training_models(on=TODAY)}
    for query in ("meta-llama/Llama-3.1-8B", "llama3", "Qwen/Qwen3-32B", "Kimi-K2.5"):
        assert retired.isdisjoint(_ids(suggest_training_models(query, on=TODAY)))
    # Before its date a retiring model is still a candidate.
    assert _ids(suggest_training_models("meta-llama/Llama-3.1-8B", on=BEFORE_JUNE))[0] == (
        "meta-llama/Llama-3.1-8B"
    )


@pytest.mark.parametrize("query", ["banana", "SELECT * FROM models", "gpt-4o", "!!!"])
def test_suggest_nothing_for_non_models(query: str) -> None:
    assert suggest_training_models(query, on=TODAY) == []


def test_suggest_extended_context_only_when_asked() -> None:
    asked = suggest_training_models("Qwen/Qwen3.5-397B-A17B:peft:131072", on=TODAY)
    assert asked[0].tinker_id == "Qwen/Qwen3.5-397B-A17B:peft:262144"
    assert asked[0].context_length == 262144
    plain = _ids(suggest_training_models("Qwen/Qwen3.5-397B-A17", on=TODAY))
    assert not any(":peft:" in s for s in plain)


def test_suggest_respects_limit() -> None:
    assert len(suggest_training_models("qwen3", limit=1, on=TODAY)) == 1


@pytest.mark.parametrize(("query", "limit"), [("", 3), ("   ", 3), ("qwen", 0), ("qwen", -1)])
def test_suggest_rejects_bad_arguments(query: str, limit: int) -> None:
    with pytest.raises(ValueError, match=r"query must be|limit must be"):
        suggest_training_models(query, limit=limit)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: filter_training_models(family="mistral"), "family"),
        (lambda: filter_training_models(algorithm="dpo"), "algorithm"),
        (lambda: filter_training_models(kind="chatty"), "kind"),
        (lambda: filter_training_models(query="--"), "query"),
        (lambda: filter_training_models(max_size_b=-2), "max_size_b"),
        (lambda: filter_training_models(min_size_b=9, max_size_b=1), "min_size_b"),
        (lambda: suggest_training_models("qwen", limit=0), "limit"),
    ],
)
def test_query_errors_name_the_argument_to_blame(call: Callable[[], object], argument: str) -> None:
    with pytest.raises(TrainingQueryError) as caught:
        call()
    assert caught.value.argument == argument
    assert isinstance(caught.value, ValueError)


def test_describe_unknown_model_suggests_two_near_matches() -> None:
    assert describe_unknown_training_model("Qwen/Qwen3.5-9B-Bas", on=TODAY) == (
        "Unknown training base model 'Qwen/Qwen3.5-9B-Bas'. Did you mean one of: "
        "Qwen/Qwen3.5-9B-Base, Qwen/Qwen3.5-9B?"
    )


def test_describe_unknown_model_without_near_match_asks_nothing() -> None:
    assert describe_unknown_training_model("banana", on=TODAY) == (
        "Unknown training base model 'banana'."
    )
    assert describe_unknown_training_model("", on=TODAY) == "Unknown training base model ''."


def test_describe_retired_model_names_date_and_replacement() -> None:
    assert describe_unknown_training_model("meta-llama/Llama-3.1-8B", on=TODAY) == (
        "Training base model 'meta-llama/Llama-3.1-8B' was retired on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
    )
    assert describe_unknown_training_model("Qwen/Qwen3.5-27B", on=TODAY) == (
        "Training base model 'Qwen/Qwen3.5-27B' was retired on 2026-06-12."
    )


def test_describe_retired_peft_id_names_the_id_given() -> None:
    assert describe_unknown_training_model("moonshotai/Kimi-K2.5:peft:131072", on=TODAY) == (
        "Training base model 'moonshotai/Kimi-K2.5:peft:131072' was retired on 2026-07-12; "
        "Tinker recommends moonshotai/Kimi-K2.6 instead."
    )


def test_describe_typo_of_retired_model_names_it_then_live_suggestions() -> None:
    assert describe_unknown_training_model("Qwen3-VL-235B", on=TODAY).startswith(
        "Unknown training base model 'Qwen3-VL-235B'. The nearest id, "
        "Qwen/Qwen3-VL-235B-A22B-Instruct, was retired on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-397B-A17B instead."
    )
    assert describe_unknown_training_model("moonshotai/Kimi-K2.5-Instruct", on=TODAY) == (
        "Unknown training base model 'moonshotai/Kimi-K2.5-Instruct'. The nearest id, "
        "moonshotai/Kimi-K2.5, was retired on 2026-07-12; Tinker recommends moonshotai/Kimi-K2.6 "
        "instead. Did you mean one of: moonshotai/Kimi-K2.6?"
    )


def test_describe_wrong_suffix_answers_specifically() -> None:
    assert describe_unknown_training_model("Qwen/Qwen3-8B:peft:131072", on=TODAY) == (
        "Unknown training base model 'Qwen/Qwen3-8B:peft:131072': Qwen/Qwen3-8B has no "
        "extended-context variant; its context is 32,768 tokens."
    )
    assert describe_unknown_training_model("Qwen/Qwen3.5-397B-A17B:peft:999", on=TODAY) == (
        "Unknown training base model 'Qwen/Qwen3.5-397B-A17B:peft:999': Qwen/Qwen3.5-397B-A17B "
        "offers :peft:262144, not :peft:999."
    )


KIMI_NO_RENDERER = (
    "Training base model 'moonshotai/Kimi-K2.6' has no renderer yet, so its rows cannot be "
    "turned into tokens (nor an RL job's completions back into text); choose a model with one, "
    "such as deepseek-ai/DeepSeek-V3.1 or Qwen/Qwen3.8-27B (each entry of `dn train catalog "
    "--json` names its renderer)."
)


def test_a_model_without_a_renderer_is_described_with_the_nearest_ones_that_have_one() -> None:
    # Kimi-K2.6 is a chat model with 32B active parameters: DeepSeek-V3.1 (37B) and Qwen3.8-27B
    # are the nearest chat models with a renderer.
    assert describe_unrenderable_training_model("moonshotai/Kimi-K2.6", on=TODAY) == (
        KIMI_NO_RENDERER
    )
    peft = "moonshotai/Kimi-K2.6:peft:131072"
    assert describe_unrenderable_training_model(peft, on=TODAY) == KIMI_NO_RENDERER.replace(
        "'moonshotai/Kimi-K2.6'", repr(peft)
    )


@pytest.mark.parametrize(
    "tinker_id",
    [
        "Qwen/Qwen3-8B",
        "Qwen/Qwen3.5-9B-Base",
        "Qwen/Qwen3.5-397B-A17B:peft:262144",
        "zai-org/GLM-5.3:peft:262144",
        "Qwen/Qwen3.5-9B-Bas",  # unknown: describe_unknown_training_model says why
        "meta-llama/Llama-3.1-8B",  # retired: likewise
    ],
)
def test_no_renderer_refusal_only_for_accepted_models_without_one(tinker_id: str) -> None:
    assert describe_unrenderable_training_model(tinker_id, on=TODAY) is None


def test_every_accepted_model_but_kimi_has_a_renderer_and_variants_keep_theirs() -> None:
    accepted = filter_training_models(on=TODAY)
    assert [m.tinker_id for m in accepted if m.renderer is None] == ["moonshotai/Kimi-K2.6"]
    for model in accepted:
        variant = model.extended_variant()
        if variant is not None:
            assert variant.renderer is model.renderer
