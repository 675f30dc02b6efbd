"""The domain check on its own, for a case today's catalog cannot produce over HTTP: a model
that does not support the requested algorithm (every current entry supports all three)."""

from __future__ import annotations

from datetime import date

import pytest

from app.training import validation
from app.training.catalog import TrainingAlgorithm, TrainingModel, TrainingModelFamily
from app.training.datasets import DatasetFormat

DAY = date(2026, 12, 1)
SFT_ONLY = TrainingModel(
    tinker_id="acme/Sft-Only-8B",
    display_name="SFT only 8B",
    family=TrainingModelFamily.QWEN,
    type="dense",
    size_b=8,
    total_size_b=8,
    context_length=4096,
    supported_algorithms=(TrainingAlgorithm.SFT,),
)


@pytest.fixture
def sft_only_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    def lookup(model_id: str, *, on: date | None = None) -> TrainingModel | None:
        return SFT_ONLY if model_id == SFT_ONLY.tinker_id else None

    monkeypatch.setattr(validation, "get_training_model", lookup)


@pytest.mark.usefixtures("sft_only_catalog")
def test_check_job_rejects_algorithm_the_model_does_not_support() -> None:
    body = {
        "base_model": SFT_ONLY.tinker_id,
        "method": "rl",
        "algorithm": "ppo",
        "dataset": "s3://b/d.jsonl",
        "grader": {"type": "string_check", "field": "answer"},
    }
    check = validation.check_job(body, DAY, datasets={}.get)
    assert check.job is None
    assert [(e["loc"], e["type"]) for e in check.errors] == [
        (["body", "algorithm"], "unsupported_algorithm")
    ]
    assert "supports: sft" in check.errors[0]["msg"]


@pytest.mark.usefixtures("sft_only_catalog")
def test_check_job_reports_unsupported_algorithm_beside_field_errors() -> None:
    body = {
        "base_model": SFT_ONLY.tinker_id,
        "method": "rl",
        "dataset": "s3://b/d.jsonl",
        "grader": {"type": "string_check", "field": "answer"},
        "hyperparameters": {"lora_rank": 0, "max_sequence_length": 5000},
    }
    check = validation.check_job(body, DAY, datasets={}.get)
    assert sorted(e["type"] for e in check.errors) == [
        "context_length_exceeded",
        "greater_than_equal",
        "unsupported_algorithm",
    ]


def test_check_job_reads_datasets_only_through_its_lookup() -> None:
    facts = validation.DatasetFacts(
        id="ds-0123456789abcdef01234567",
        format=DatasetFormat.TEXT,
        rows=10,
        bytes=1000,
        longest_row_bytes=120,
        longest_row_line=4,
    )
    asked: list[str] = []

    def lookup(dataset_id: str) -> validation.DatasetFacts | None:
        asked.append(dataset_id)
        return facts if dataset_id == facts.id else None

    body = {
        "base_model": "Qwen/Qwen3-8B",
        "method": "sft",
        "dataset": facts.id,
        "hyperparameters": {"epochs": 2, "max_sequence_length": 100},
    }
    check = validation.check_job(body, DAY, datasets=lookup)
    assert (check.errors, check.dataset, check.training_tokens_bound) == ([], facts, 2000)
    assert [w["type"] for w in check.warnings] == ["dataset_row_may_exceed_context"]
    uri = validation.check_job({**body, "dataset": "s3://b/x.jsonl"}, DAY, datasets=lookup)
    assert (uri.dataset, uri.training_tokens_bound) == (None, None)
    assert asked == [facts.id]  # a URI is never looked up


def _counted(rendered: dict[str, validation.RenderedFacts]) -> validation.DatasetFacts:
    """A chat dataset whose longest row is 5,000 bytes, counted exactly for these ids."""
    return validation.DatasetFacts(
        id="ds-0123456789abcdef01234567",
        format=DatasetFormat.CHAT,
        rows=10,
        bytes=20_000,
        longest_row_bytes=5_000,
        longest_row_line=4,
        rendered=rendered,
    )


def _sft(facts: validation.DatasetFacts, length: int) -> validation.JobCheck:
    body = {
        "base_model": "Qwen/Qwen3-8B",
        "method": "sft",
        "dataset": facts.id,
        "hyperparameters": {"max_sequence_length": length},
    }
    return validation.check_job(body, DAY, datasets=lambda _: facts)


def test_exact_counts_refuse_a_row_longer_than_the_context_by_its_rendered_length() -> None:
    facts = _counted({"Qwen/Qwen3-8B": validation.RenderedFacts("qwen3", 1_300, 7)})
    refused = _sft(facts, 1_024)
    assert [(e["type"], e["msg"]) for e in refused.errors] == [
        (
            "dataset_row_too_long",
            "Dataset 'ds-0123456789abcdef01234567': line 7 is 1,300 tokens rendered for "
            "'Qwen/Qwen3-8B' (qwen3), more than max_sequence_length 1,024",
        )
    ]
    # Exact, it replaces the byte bound: 5,000 bytes would only have warned.
    assert refused.warnings == []
    fits = _sft(facts, 2_048)
    assert (fits.errors, fits.warnings) == ([], [])


def test_exact_counts_refuse_a_row_the_models_renderer_cannot_render() -> None:
    error = "line 3: a tool message cannot be rendered with gpt_oss_no_sysprompt"
    facts = _counted({"Qwen/Qwen3-8B": validation.RenderedFacts("qwen3", None, None, error)})
    assert [e["type"] for e in _sft(facts, 8_192).errors] == ["dataset_row_not_renderable"]


def test_until_counted_the_byte_bound_only_warns() -> None:
    other_model = _counted({"Qwen/Qwen3-32B": validation.RenderedFacts("qwen3", 9_999, 1)})
    check = _sft(other_model, 1_024)
    assert check.errors == []
    assert [w["type"] for w in check.warnings] == ["dataset_row_may_exceed_context"]
