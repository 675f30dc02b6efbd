"""RL jobs at creation, through a real server on every backend: a grader is required and checked
with the job's other errors, against the rows of the stored dataset; the RL knobs get their
defaults, and are refused where they mean nothing. Nothing is stored for a refused job."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from .conftest import GRADER, Api
from .test_dataset_jobs import RL, SFT, refused
from .test_datasets import jsonl, uploaded


def _prompts(*answers: Any) -> bytes:
    """A prompt dataset, one row per answer (``...``: a row without one), never seen before."""
    tag = secrets.token_hex(4)
    return jsonl(
        [
            {"prompt": f"Say {tag}."}
            if answer is ...
            else {"prompt": f"Say {tag}.", "answer": answer}
            for answer in answers
        ]
    )


def test_rl_job_stores_its_grader_and_fills_in_its_knobs(api: Api) -> None:
    dataset = uploaded(api, _prompts("4", 4, "four"))
    grader = {"type": "numeric", "field": "answer", "extract": "last_line", "tolerance": 0.5}
    body = {**RL, "dataset": dataset["id"], "grader": grader, "hyperparameters": {"max_tokens": 64}}
    with api.client() as client:
        created = client.post("/training/jobs", json=body)
        read = client.get(f"/training/jobs/{created.json().get('id')}")
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["algorithm"] == "importance_sampling"
    assert job["grader"] == {**grader, "pattern": None, "marker": None}
    assert read.json()["grader"] == job["grader"]
    knobs = job["hyperparameters"]
    assert (knobs["group_size"], knobs["max_tokens"], knobs["temperature"]) == (4, 64, 1.0)
    assert knobs["batch_size"] == 32  # prompts per step
    assert "clip_low_threshold" not in knobs  # PPO's only
    assert {"group_size", "temperature", "batch_size"} <= set(job["defaulted_hyperparameters"])
    assert "max_tokens" not in job["defaulted_hyperparameters"]


def test_ppo_job_gets_tinkers_clip_thresholds(api: Api) -> None:
    dataset = uploaded(api, _prompts("a"))
    body = {**RL, "algorithm": "ppo", "dataset": dataset["id"]}
    body["hyperparameters"] = {"clip_high_threshold": 1.28}
    with api.client() as client:
        created = client.post("/training/jobs", json=body)
    assert created.status_code == 201, created.text
    knobs = created.json()["hyperparameters"]
    assert (knobs["clip_low_threshold"], knobs["clip_high_threshold"]) == (0.8, 1.28)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"grader": None}, [(["body", "grader"], "grader_required")]),
        (
            {"method": "sft", "dataset": "s3://b/chat.jsonl"},
            [(["body", "grader"], "grader_not_for_sft")],
        ),
        (
            {
                "method": "sft",
                "grader": None,
                "hyperparameters": {"group_size": 8, "temperature": 0.7},
            },
            [
                (["body", "hyperparameters", "group_size"], "rl_only_hyperparameter"),
                (["body", "hyperparameters", "temperature"], "rl_only_hyperparameter"),
            ],
        ),
        (
            {"hyperparameters": {"clip_low_threshold": 0.9}},
            [(["body", "hyperparameters", "clip_low_threshold"], "ppo_only_hyperparameter")],
        ),
        (
            {"grader": {"type": "string_check", "field": "answer", "extract": "regex"}},
            [(["body", "grader", "string_check"], "value_error")],
        ),
        (
            {"grader": {"type": "string_check", "field": "answer", "pattern": "(["}},
            [(["body", "grader", "string_check", "pattern"], "value_error")],
        ),
        (
            {"grader": {"type": "exact", "field": "answer"}},
            [(["body", "grader"], "union_tag_invalid")],
        ),
        (
            {"hyperparameters": {"group_size": 1, "max_tokens": 40_000}},
            [
                (["body", "hyperparameters", "group_size"], "greater_than_equal"),
                (["body", "hyperparameters", "max_tokens"], "less_than_equal"),
            ],
        ),
        (
            {"hyperparameters": {"max_tokens": 32_768}},
            [(["body", "hyperparameters", "max_tokens"], "max_tokens_too_large")],
        ),
        (
            {"hyperparameters": {"max_tokens": 1024, "max_sequence_length": 1024}},
            [(["body", "hyperparameters", "max_tokens"], "max_tokens_too_large")],
        ),
    ],
    ids=[
        "no-grader",
        "grader-on-sft",
        "rl-knob-on-sft",
        "ppo-knob-on-importance-sampling",
        "regex-without-pattern",
        "pattern-not-a-regex",
        "unknown-grader-type",
        "knobs-out-of-bounds",
        "completion-fills-the-context",
        "completion-fills-max-sequence-length",
    ],
)
def test_rl_job_mistakes_are_refused_with_nothing_stored(
    api: Api, changes: dict[str, Any], expected: list[tuple[list[str], str]]
) -> None:
    body = {**RL, "dataset": "s3://b/prompts.jsonl", **changes}
    body = {key: value for key, value in body.items() if value is not None}
    errors = refused(api, body)
    assert [(error["loc"], error["type"]) for error in errors] == expected


def test_grader_fields_the_rows_lack_are_refused_naming_the_line(api: Api) -> None:
    dataset = uploaded(api, _prompts("1", "2", ..., "4"))
    grader = {
        "type": "multi",
        "graders": [
            {"weight": 1, "grader": GRADER},
            {"weight": 1, "grader": {"type": "text_similarity", "field": "metadata.hint"}},
        ],
    }
    errors = refused(api, {**RL, "dataset": dataset["id"], "grader": grader})
    assert errors == [
        {
            "loc": ["body", "grader"],
            "msg": f"Dataset {dataset['id']!r}: line 3 has no 'answer' (a string or a number), "
            "which the grader reads",
            "type": "grader_field_missing",
        },
        {
            "loc": ["body", "grader"],
            "msg": f"Dataset {dataset['id']!r}: no row has 'metadata.hint' (a string or a "
            "number), which the grader reads",
            "type": "grader_field_missing",
        },
    ]


def test_sft_job_errors_say_nothing_of_graders(api: Api) -> None:
    errors = refused(
        api, {**SFT, "dataset": "s3://b/chat.jsonl", "hyperparameters": {"lora_rank": 3}}
    )
    assert [error["type"] for error in errors] == ["invalid_lora_rank"]
