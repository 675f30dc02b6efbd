"""Job endpoints through a real server: creation checks before any write, listing, owner
isolation, cancellation and events, on every backend (idempotency: test_idempotency.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import (
    GRADER,
    NO_ESTIMATE,
    RETIRING,
    WRONG_SUFFIXES,
    Api,
    assert_no_retiring_headers,
    assert_retiring_headers,
    envelope,
    unestimated,
)

VALID: dict[str, Any] = {
    "base_model": "Qwen/Qwen3-8B",
    "method": "sft",
    "algorithm": "sft",
    "dataset": "s3://bucket/train.jsonl",
    "name": "my run",
    "tags": ["demo"],
    "hyperparameters": {
        "learning_rate": 1e-4,
        "batch_size": 32,
        "epochs": 1,
        "steps": None,
        "max_sequence_length": 4096,
        "lora_rank": 32,
    },
}


def not_checked(dataset: str = VALID["dataset"]) -> dict[str, Any]:
    """The warning every job on a URI gets: the platform could not check its rows."""
    return {
        "loc": ["body", "dataset"],
        "msg": f"Dataset {dataset!r} was not checked: the platform does not hold it, so a bad "
        "row fails the job only once it runs (upload the file with `dn train datasets upload "
        "FILE` to have it checked now)",
        "type": "dataset_not_checked",
    }


#: The warnings of a job on VALID's dataset (a URI) that nothing else warns about.
URI_WARNINGS = [not_checked()]


def job(**changes: Any) -> dict[str, Any]:
    """A valid body with ``changes`` (``...`` drops a key); an RL job gets a grader."""
    body = {**VALID, **changes}
    if body.get("method") == "rl" and "grader" not in changes:
        body["grader"] = GRADER
    return {key: value for key, value in body.items() if value is not ...}


def hyper(**changes: Any) -> dict[str, Any]:
    return {**VALID["hyperparameters"], **changes}


def create(client: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/training/jobs", json=body, headers=headers)


def test_create_job_returns_queued_job(api: Api) -> None:
    before = api.count()
    with api.client() as client:
        response = create(client, VALID)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {
        "id", "name", "base_model", "method", "algorithm", "dataset", "grader", "tags",
        "hyperparameters", "defaulted_hyperparameters", "adapter_parameters", "dataset_rows",
        "training_tokens_bound", "status", "created_at", "updated_at", "warnings",
        "status_message", "queue_position", "cancel_requested", "started_at", "finished_at",
        "progress", "trained_tokens", "loss", "checkpoints", "sampler_path", "model_id", "error",
        "tokens_per_epoch", "total_tokens", "estimated_cost_usd", "cost_estimate",
        "max_cost_usd", "processed_tokens", "spent_usd", "cancel_reason",
    }  # fmt: skip
    assert created["status"] == "queued"
    # Nothing has run: no progress, no times, no checkpoints, no error.
    assert created["progress"] == {"step": 0, "total_steps": None, "epochs_completed": 0}
    assert (created["started_at"], created["finished_at"], created["error"]) == (None, None, None)
    assert (created["checkpoints"], created["trained_tokens"], created["loss"]) == ([], 0, None)
    assert created["hyperparameters"] == VALID["hyperparameters"]
    assert (created["defaulted_hyperparameters"], created["warnings"]) == ([], URI_WARNINGS)
    # A URI the platform does not hold: nothing known of its rows.
    assert (created["dataset_rows"], created["training_tokens_bound"]) == (None, None)
    assert (created["tokens_per_epoch"], created["estimated_cost_usd"]) == (None, None)
    # No cap asked, nothing sent, nothing priced (this server reads no price list).
    assert (created["max_cost_usd"], created["processed_tokens"]) == (None, 0)
    assert (created["spent_usd"], created["cancel_reason"]) == (None, None)
    assert created["adapter_parameters"] == 32 * (1769472 + 958464 + 156032)
    assert (created["base_model"], created["name"], created["tags"]) == (
        "Qwen/Qwen3-8B", "my run", ["demo"],
    )  # fmt: skip
    assert created["created_at"].endswith("Z")
    assert api.count() == before + 1


@pytest.mark.parametrize(("method", "expected"), [("sft", "sft"), ("rl", "importance_sampling")])
def test_create_job_defaults_algorithm_from_method(api: Api, method: str, expected: str) -> None:
    with api.client() as client:
        response = create(client, job(method=method, algorithm=...))
    assert response.status_code == 201
    assert response.json()["algorithm"] == expected


def test_create_job_accepts_listed_extended_context_length(api: Api) -> None:
    body = job(
        base_model="Qwen/Qwen3.6-35B-A3B:peft:262144",
        hyperparameters={"max_sequence_length": 262144},
    )
    with api.client() as client:
        response = create(client, body)
    assert response.status_code == 201
    assert response.json()["base_model"] == "Qwen/Qwen3.6-35B-A3B:peft:262144"


TYPO = "Qwen/Qwen3.5-9B-Bas"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            job(base_model=TYPO),
            [(["body", "base_model"], "unknown_base_model")],
        ),
        (
            job(base_model="Qwen/Qwen3-30B-A3B"),
            [(["body", "base_model"], "retired_base_model")],
        ),
        (
            job(method="sft", algorithm="ppo"),
            [(["body", "algorithm"], "algorithm_method_mismatch")],
        ),
        (
            job(method="rl", algorithm="sft"),
            [(["body", "algorithm"], "algorithm_method_mismatch")],
        ),
        (
            job(hyperparameters=hyper(max_sequence_length=32769)),
            [(["body", "hyperparameters", "max_sequence_length"], "context_length_exceeded")],
        ),
        (
            job(
                base_model="Qwen/Qwen3.6-35B-A3B",
                hyperparameters=hyper(max_sequence_length=100_000),
            ),
            [(["body", "hyperparameters", "max_sequence_length"], "context_length_exceeded")],
        ),
        (
            job(dataset=..., method=...),
            [(["body", "method"], "missing"), (["body", "dataset"], "missing")],
        ),
        (
            job(
                base_model=TYPO,
                algorithm="ppo",
                dataset="",
                name="",
                tags=["x" * 65],
                extra=1,
                hyperparameters={
                    "learning_rate": 0,
                    "batch_size": 4097,
                    "epochs": 0,
                    "steps": 1_000_001,
                    "max_sequence_length": 0,
                    "lora_rank": 0,
                    "warmup": 1,
                },
            ),
            [
                (["body", "dataset"], "string_too_short"),
                (["body", "name"], "string_too_short"),
                (["body", "tags", 0], "string_too_long"),
                (["body", "hyperparameters", "learning_rate"], "greater_than"),
                (["body", "hyperparameters", "batch_size"], "less_than_equal"),
                (["body", "hyperparameters", "epochs"], "greater_than_equal"),
                (["body", "hyperparameters", "steps"], "less_than_equal"),
                (["body", "hyperparameters", "max_sequence_length"], "greater_than_equal"),
                (["body", "hyperparameters", "lora_rank"], "greater_than_equal"),
                (["body", "hyperparameters", "warmup"], "extra_forbidden"),
                (["body", "extra"], "extra_forbidden"),
                (["body", "base_model"], "unknown_base_model"),
                (["body", "algorithm"], "algorithm_method_mismatch"),
            ],
        ),
        (
            job(hyperparameters=hyper(lora_rank=48)),
            [(["body", "hyperparameters", "lora_rank"], "invalid_lora_rank")],
        ),
        (
            job(hyperparameters=hyper(lora_rank=256)),
            [(["body", "hyperparameters", "lora_rank"], "invalid_lora_rank")],
        ),
        (
            job(base_model="Qwen/Qwen3-8B:peft:131072"),
            [(["body", "base_model"], "unknown_base_model")],
        ),
        (job(tags=["t"] * 21), [(["body", "tags"], "too_long")]),
        (job(tags=["demo", "x", "demo"]), [(["body", "tags"], "duplicate_tag")]),
        (job(dataset="d" * 1025), [(["body", "dataset"], "string_too_long")]),
        (job(method="dpo"), [(["body", "method"], "enum")]),
        (
            job(hyperparameters=hyper(batch_size="32")),
            [(["body", "hyperparameters", "batch_size"], "int_type")],
        ),
    ],
    ids=[
        "unknown", "retired", "sft-ppo", "rl-sft", "context", "context-without-peft", "missing",
        "everything-at-once", "rank-48", "rank-256", "wrong-suffix", "too-many-tags",
        "duplicate-tags", "long-dataset", "bad-method", "string-number",
    ],
)  # fmt: skip
def test_create_job_rejects_every_violation_and_writes_nothing(
    api: Api, body: dict[str, Any], expected: list[tuple[list[Any], str]]
) -> None:
    before = (api.count("jobs"), api.count("job_events"))
    with api.client() as client:
        response = create(client, body)
        validated = client.post("/training/jobs/validate", json=body)
    errors = envelope(response, 422, "validation_error")["errors"]
    assert sorted((e["loc"], e["type"]) for e in errors) == sorted(expected)
    assert validated.status_code == 200
    warned = URI_WARNINGS if body.get("dataset") == VALID["dataset"] else []
    assert validated.json() == {
        "valid": False,
        "errors": errors,
        "warnings": warned,
        "hyperparameters": None,
        "defaulted_hyperparameters": [],
        "adapter_parameters": None,
        **NO_ESTIMATE,
    }
    assert (api.count("jobs"), api.count("job_events")) == before


def test_create_job_unknown_model_detail_suggests_near_matches(api: Api) -> None:
    with api.client() as client:
        response = create(client, job(base_model=TYPO))
    assert envelope(response, 422, "validation_error")["detail"] == (
        "Unknown training base model 'Qwen/Qwen3.5-9B-Bas'. Did you mean one of: "
        "Qwen/Qwen3.5-9B-Base, Qwen/Qwen3.5-9B?"
    )


@pytest.mark.parametrize(
    ("base_model", "detail"),
    [
        (
            RETIRING,
            "Training base model 'meta-llama/Llama-3.1-8B' was retired on 2026-06-12; "
            "Tinker recommends Qwen/Qwen3.5-9B-Base instead.",
        ),
        (
            "Qwen/Qwen3-30B-A3B",
            "Training base model 'Qwen/Qwen3-30B-A3B' was retired on 2026-06-12; "
            "Tinker recommends Qwen/Qwen3.6-35B-A3B instead.",
        ),
        (
            "Qwen/Qwen3-32B",
            "Training base model 'Qwen/Qwen3-32B' was retired on 2026-06-12.",
        ),
    ],
)
def test_create_job_retired_model_names_date_and_replacement(
    api: Api, base_model: str, detail: str
) -> None:
    before = (api.count("jobs"), api.count("job_events"))
    with api.client() as client:
        response = create(client, job(base_model=base_model))
    body = envelope(response, 422, "validation_error")
    assert body["detail"] == detail
    assert body["errors"] == [
        {"loc": ["body", "base_model"], "msg": detail, "type": "retired_base_model"}
    ]
    assert_no_retiring_headers(response)
    assert (api.count("jobs"), api.count("job_events")) == before


@pytest.mark.parametrize(
    ("base_model", "detail"),
    WRONG_SUFFIXES,
)
def test_create_job_wrong_suffix_is_answered_specifically(
    api: Api, base_model: str, detail: str
) -> None:
    before = api.count()
    with api.client() as client:
        response = create(client, job(base_model=base_model))
    body = envelope(response, 422, "validation_error")
    assert body["errors"] == [
        {"loc": ["body", "base_model"], "msg": detail, "type": "unknown_base_model"}
    ]
    assert api.count() == before


def test_create_job_accepts_power_of_two_ranks_above_32(api: Api) -> None:
    with api.client() as client:
        for rank in (64, 128):
            response = create(client, job(hyperparameters=hyper(lora_rank=rank)))
            assert response.status_code == 201, response.text
            assert response.json()["hyperparameters"]["lora_rank"] == rank


@pytest.mark.parametrize(
    ("rank", "message"),
    [
        (48, "lora_rank must be a power of two (Tinker refuses others), got 48"),
        (
            256,
            "lora_rank 256 exceeds 128, the largest rank known to train on Tinker "
            "(Qwen/Qwen3-8B publishes no maximum)",
        ),
    ],
)
def test_create_job_rank_error_says_why(api: Api, rank: int, message: str) -> None:
    with api.client() as client:
        response = create(client, job(hyperparameters=hyper(lora_rank=rank)))
    assert envelope(response, 422, "validation_error")["detail"] == message


def test_create_job_fills_the_models_defaults_and_says_so(api: Api) -> None:
    body = job(hyperparameters={"epochs": 2})
    with api.client() as client:
        created = create(client, body).json()
        stored = client.get(f"/training/jobs/{created['id']}").json()
        other = create(client, job(base_model="openai/gpt-oss-20b", hyperparameters={})).json()
    assert stored["hyperparameters"]["learning_rate"] == pytest.approx(
        5e-4 * (2000 / 4096) ** 0.0775  # the cookbook's get_lr for Qwen3-8B's hidden size
    )
    assert (stored["hyperparameters"]["lora_rank"], stored["hyperparameters"]["epochs"]) == (32, 2)
    assert stored["defaulted_hyperparameters"] == ["learning_rate", "lora_rank"]
    assert stored["adapter_parameters"] == 32 * (1769472 + 958464 + 156032)
    assert other["hyperparameters"]["learning_rate"] == 1e-4  # not calibrated: Tinker's default
    assert other["adapter_parameters"] == 32 * (6842880 + 497664 + 203968)


def test_validate_job_shows_effective_hyperparameters_and_adapter_size(api: Api) -> None:
    body = job(hyperparameters={"lora_rank": 64})
    with api.client() as client:
        response = client.post("/training/jobs/validate", json=body)
    assert response.json() == {
        "valid": True,
        "errors": [],
        "warnings": URI_WARNINGS,
        "hyperparameters": {
            "learning_rate": pytest.approx(4.7298e-4, rel=1e-4),
            "batch_size": None,
            "epochs": None,
            "steps": None,
            "max_sequence_length": None,
            "lora_rank": 64,
        },
        "defaulted_hyperparameters": ["learning_rate"],
        "adapter_parameters": 64 * (1769472 + 958464 + 156032),
        **unestimated(
            "the platform does not hold dataset 's3://bucket/train.jsonl', so its tokens are not "
            "known (upload it with `dn train datasets upload FILE` to have them counted)"
        ),
    }


RETIRING_WARNING = {
    "loc": ["body", "base_model"],
    "msg": "Training base model 'meta-llama/Llama-3.1-8B' retires on 2026-06-12; "
    "Tinker recommends Qwen/Qwen3.5-9B-Base instead.",
    "type": "model_retiring",
}
#: An RL job on RETIRING. Refused for want of a renderer, as an SFT job is (a retired entry knows
#: no training facts, its renderer included): no job on it can be created any more.
RETIRING_RL = {"base_model": RETIRING, "method": "rl", "algorithm": "importance_sampling"}


def _stored_on_retiring_model(api: Api, client: httpx.Client) -> str:
    """A job on RETIRING, as releases before RL jobs ran stored it (they accepted RL jobs on a
    model without a renderer): created on another model, then moved to it in the database."""
    from sqlalchemy import column, table, update

    job_id = str(create(client, job()).json()["id"])
    jobs = table("jobs", column("id"), column("base_model"))
    with api.engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(base_model=RETIRING))
    return job_id


def test_jobs_on_a_retiring_model_are_warned_of_with_headers(api_before_june: Api) -> None:
    body = job(**RETIRING_RL, hyperparameters={})
    with api_before_june.client() as client:
        validated = client.post("/training/jobs/validate", json=body)
        refused = create(client, body)
        stored = _stored_on_retiring_model(api_before_june, client)
        before = api_before_june.count()
        read = client.get(f"/training/jobs/{stored}")
        cancelled = client.post(f"/training/jobs/{stored}/cancel")
        ordinary = create(client, job())
    warned = [RETIRING_WARNING, *URI_WARNINGS]
    assert (validated.json()["valid"], validated.json()["warnings"]) == (False, warned)
    assert [e["type"] for e in validated.json()["errors"]] == ["no_renderer"]
    assert envelope(refused, 422, "validation_error")["errors"] == validated.json()["errors"]
    assert read.json()["base_model"] == RETIRING
    assert cancelled.json()["status"] == "cancelled"
    for response in (validated, refused, read, cancelled):
        assert_retiring_headers(response)
    assert api_before_june.count() == before + 1  # the ordinary job
    assert_no_retiring_headers(ordinary)
    assert ordinary.json()["warnings"] == URI_WARNINGS


def test_create_job_invalid_on_retiring_model_still_warns(api_before_june: Api) -> None:
    before = api_before_june.count()
    body = job(base_model=RETIRING, hyperparameters={"lora_rank": 48})
    with api_before_june.client() as client:
        validated = client.post("/training/jobs/validate", json=body)
        created = create(client, body)
    assert validated.json()["valid"] is False
    assert validated.json()["warnings"] == [RETIRING_WARNING, *URI_WARNINGS]
    # An SFT job: the retiring model has no renderer either.
    assert [e["type"] for e in validated.json()["errors"]] == ["no_renderer", "invalid_lora_rank"]
    assert envelope(created, 422, "validation_error")["errors"] == validated.json()["errors"]
    for response in (validated, created):
        assert_retiring_headers(response)
    assert api_before_june.count() == before


def test_create_job_on_retirement_day_refuses_the_retiring_model(
    api_before_june: Api, api_on_retirement_day: Api
) -> None:
    body = job(**RETIRING_RL)
    detail = (
        "Training base model 'meta-llama/Llama-3.1-8B' was retired on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
    )
    with api_before_june.client() as before_june:
        stored = _stored_on_retiring_model(api_before_june, before_june)
    before = api_on_retirement_day.count()
    with api_on_retirement_day.client() as on_the_day:
        refused = create(on_the_day, body)
        validated = on_the_day.post("/training/jobs/validate", json=body)
        kept = on_the_day.get(f"/training/jobs/{stored}")
    assert envelope(refused, 422, "validation_error")["errors"] == [
        {"loc": ["body", "base_model"], "msg": detail, "type": "retired_base_model"}
    ]
    assert (validated.json()["valid"], validated.json()["warnings"]) == (False, URI_WARNINGS)
    assert validated.json()["errors"] == refused.json()["errors"]
    assert api_on_retirement_day.count() == before
    # A job stored while the model was retiring stays readable, and no longer warns of a date
    # that has passed.
    assert kept.status_code == 200
    assert kept.json()["base_model"] == RETIRING
    for response in (refused, validated, kept):
        assert_no_retiring_headers(response)


@pytest.mark.parametrize("content", [b"{bad", b"", b"\xff\xfe", b'{"a": }'])
def test_create_job_rejects_malformed_json_with_400(api: Api, content: bytes) -> None:
    before = api.count()
    with api.client() as client:
        response = client.post(
            "/training/jobs", content=content, headers={"Content-Type": "application/json"}
        )
    envelope(response, 400, "bad_request_error")
    assert api.count() == before


@pytest.mark.parametrize("path", ["/training/jobs", "/training/jobs/validate"])
def test_create_job_rejects_deeply_nested_json_with_400(api: Api, path: str) -> None:
    before = api.count()
    with api.client() as client:
        response = client.post(
            path,
            content=b"[" * 100_000 + b"]" * 100_000,
            headers={"Content-Type": "application/json"},
        )
    assert "Malformed JSON" in envelope(response, 400, "bad_request_error")["detail"]
    assert api.count() == before


@pytest.mark.parametrize("content", [b"[]", b"null", b"42"])
def test_create_job_rejects_non_object_body_with_422(api: Api, content: bytes) -> None:
    before = api.count()
    with api.client() as client:
        response = client.post(
            "/training/jobs", content=content, headers={"Content-Type": "application/json"}
        )
    envelope(response, 422, "validation_error")
    assert api.count() == before


@pytest.mark.parametrize("path", ["/training/jobs", "/training/jobs/validate"])
@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
def test_create_job_without_json_content_type_is_415(
    api: Api, path: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    before = api.count()
    with api.client() as client:
        response = client.post(path, content=json.dumps(VALID).encode(), headers=headers)
    body = envelope(response, 415, "unsupported_media_type_error")
    assert "application/json" in body["detail"]
    assert api.count() == before


@pytest.mark.parametrize("path", ["/training/jobs", "/training/jobs/validate"])
@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=latin-1", 'application/json; charset="UTF-16"'],
)
def test_create_job_declared_in_another_charset_is_415(
    api: Api, path: str, content_type: str
) -> None:
    before = api.count()
    with api.client() as client:
        response = client.post(
            path, content=json.dumps(VALID).encode(), headers={"Content-Type": content_type}
        )
    body = envelope(response, 415, "unsupported_media_type_error")
    charset = content_type.rpartition("=")[2].strip('"').lower()
    assert body["detail"] == (
        f"A JSON body must be UTF-8, but the Content-Type declares charset={charset!r}; send "
        "UTF-8 and declare charset=utf-8 or no charset"
    )
    assert api.count() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.x+json",
        'application/json; charset="UTF8"',
    ],
)
def test_create_job_accepts_json_content_type_variants(api: Api, content_type: str) -> None:
    with api.client() as client:
        response = client.post(
            "/training/jobs",
            content=json.dumps(VALID).encode(),
            headers={"Content-Type": content_type},
        )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_create_job_rejects_non_finite_learning_rate(api: Api, number: str) -> None:
    # JSON has no NaN or Infinity, but Python's json (and so many clients) writes them.
    content = json.dumps(job(hyperparameters={"learning_rate": 0.5})).replace("0.5", number)
    before = api.count()
    with api.client() as client:
        response = client.post(
            "/training/jobs", content=content, headers={"Content-Type": "application/json"}
        )
    body = envelope(response, 422, "validation_error")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [
        (["body", "hyperparameters", "learning_rate"], "finite_number")
    ]
    assert "finite number" in body["detail"]
    assert "less than or equal" not in body["detail"]
    assert api.count() == before


def test_validate_job_accepts_valid_body_without_writing(api: Api) -> None:
    before = api.count()
    with api.client("reader") as client:
        response = client.post("/training/jobs/validate", json=VALID)
    verdict = response.json()
    assert (response.status_code, verdict["valid"], verdict["errors"]) == (200, True, [])
    assert verdict["hyperparameters"] == VALID["hyperparameters"]
    assert api.count() == before


def test_read_jobs_lists_own_jobs_newest_first_with_paging(api: Api) -> None:
    with api.client("bob") as client:
        made = [create(client, job(name=f"run {i}")).json()["id"] for i in range(3)]
        everything = client.get("/training/jobs", params={"limit": 100}).json()
        page = client.get("/training/jobs", params={"limit": 2, "offset": 1}).json()
    listed = [item["id"] for item in everything["jobs"]]
    assert listed[:3] == made[::-1]
    assert everything["total"] == len(listed)
    assert [item["id"] for item in page["jobs"]] == listed[1:3]
    assert (page["total"], page["limit"], page["offset"]) == (everything["total"], 2, 1)


def test_read_jobs_filters_by_status(api: Api) -> None:
    with api.client("bob") as client:
        kept = create(client, VALID).json()["id"]
        cancelled = create(client, VALID).json()["id"]
        assert client.post(f"/training/jobs/{cancelled}/cancel").status_code == 200
        queued = client.get("/training/jobs", params={"status": "queued", "limit": 100}).json()
        gone = client.get("/training/jobs", params={"status": "cancelled", "limit": 100}).json()
        bad = client.get("/training/jobs", params={"status": "paused"})
    assert kept in [item["id"] for item in queued["jobs"]]
    assert {item["status"] for item in queued["jobs"]} == {"queued"}
    assert cancelled in [item["id"] for item in gone["jobs"]]
    assert {item["status"] for item in gone["jobs"]} == {"cancelled"}
    assert queued["total"] == len(queued["jobs"])
    assert envelope(bad, 422, "validation_error")["errors"][0]["loc"] == ["query", "status"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"offset": 2**31}, {"offset": 2**63}],
)
def test_read_jobs_rejects_out_of_range_paging(api: Api, params: dict[str, int]) -> None:
    with api.client() as client:
        response = client.get("/training/jobs", params=params)
    body = envelope(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", next(iter(params))]


def test_read_jobs_accepts_largest_offset(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/jobs", params={"offset": 2**31 - 1})
    assert response.status_code == 200
    assert (response.json()["jobs"], response.json()["offset"]) == ([], 2**31 - 1)


def test_read_job_returns_own_job(api: Api) -> None:
    with api.client() as client:
        created = create(client, VALID).json()
        response = client.get(f"/training/jobs/{created['id']}")
    assert created.pop("warnings") == URI_WARNINGS  # what to know at creation, not of the job
    read = response.json()
    # The queue is read live, on reads only: a creation's answer is replayed as it was.
    assert (created.pop("queue_position"), created.pop("status_message")) == (None, None)
    assert read.pop("queue_position") >= 0
    assert read.pop("status_message").startswith("waiting for a worker")
    assert (response.status_code, read) == (200, created)


def test_read_job_of_another_owner_is_not_found(api: Api) -> None:
    with api.client("alice") as alice, api.client("bob") as bob:
        job_id = create(alice, VALID).json()["id"]
        listed = bob.get("/training/jobs", params={"limit": 100}).json()
        responses = [
            bob.get(f"/training/jobs/{job_id}"),
            bob.post(f"/training/jobs/{job_id}/cancel"),
            bob.get(f"/training/jobs/{job_id}/events"),
        ]
        still = alice.get(f"/training/jobs/{job_id}").json()
    assert job_id not in [item["id"] for item in listed["jobs"]]
    for response in responses:
        envelope(response, 404, "not_found_error")
    assert still["status"] == "queued"


@pytest.mark.parametrize("suffix", ["", "/cancel", "/events"])
def test_read_job_unknown_id_is_not_found(api: Api, suffix: str) -> None:
    with api.client() as client:
        method = client.post if suffix == "/cancel" else client.get
        response = method(f"/training/jobs/00000000-0000-0000-0000-000000000000{suffix}")
    assert "not found" in envelope(response, 404, "not_found_error")["detail"]


def test_cancel_job_then_again_conflicts(api: Api) -> None:
    with api.client() as client:
        job_id = create(client, VALID).json()["id"]
        cancelled = client.post(f"/training/jobs/{job_id}/cancel")
        again = client.post(f"/training/jobs/{job_id}/cancel")
        events = client.get(f"/training/jobs/{job_id}/events")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["updated_at"] >= cancelled.json()["created_at"]
    assert "already cancelled" in envelope(again, 409, "conflict_error")["detail"]
    # A queued job ends at once; it never ran, so it never started.
    assert cancelled.json()["finished_at"] is not None
    assert cancelled.json()["started_at"] is None
    history = events.json()["events"]
    assert [(e["type"], e["status"]) for e in history] == [
        ("job_pending", "queued"),
        ("job_cancelled", "cancelled"),
    ]
    assert "waiting for a worker" in history[0]["message"]
    assert all(set(e) == {"id", "type", "status", "message", "created_at", "data"} for e in history)
    assert history[0]["id"] < history[1]["id"]


def test_read_job_events_of_new_job_has_pending_event(api: Api) -> None:
    with api.client() as client:
        job_id = create(client, VALID).json()["id"]
        response = client.get(f"/training/jobs/{job_id}/events")
    assert response.status_code == 200
    assert [e["type"] for e in response.json()["events"]] == ["job_pending"]


def test_read_job_events_after_cursor_returns_only_newer(api: Api) -> None:
    with api.client() as client:
        job_id = create(client, VALID).json()["id"]
        first = client.get(f"/training/jobs/{job_id}/events").json()["events"]
        client.post(f"/training/jobs/{job_id}/cancel")
        newer = client.get(f"/training/jobs/{job_id}/events", params={"after": first[-1]["id"]})
        none_newer = client.get(
            f"/training/jobs/{job_id}/events", params={"after": newer.json()["events"][-1]["id"]}
        )
    assert [e["type"] for e in newer.json()["events"]] == ["job_cancelled"]
    assert none_newer.json()["events"] == []


def test_read_queued_job_says_it_waits_for_a_worker(api: Api) -> None:
    with api.client() as client:
        sft = create(client, VALID).json()["id"]
        second = create(client, {**VALID, "name": "second"}).json()["id"]
        first_read = client.get(f"/training/jobs/{sft}").json()
        second_read = client.get(f"/training/jobs/{second}").json()
        metrics = client.get(f"/training/jobs/{sft}/metrics")
    # No worker runs against this server: the owner is told so, with the job's place.
    assert first_read["status_message"] == "waiting for a worker: none is running"
    assert second_read["queue_position"] == first_read["queue_position"] + 1
    assert metrics.status_code == 200
    assert metrics.json() == {"points": []}


def test_read_only_token_reads_but_cannot_write(api: Api) -> None:
    with api.client("alice") as alice, api.client("reader") as reader:
        job_id = create(alice, VALID).json()["id"]
        before = api.count()
        denied_create = create(reader, VALID)
        denied_cancel = reader.post(f"/training/jobs/{job_id}/cancel")
        read = reader.get(f"/training/jobs/{job_id}")
    envelope(denied_create, 403, "permission_error")
    envelope(denied_cancel, 403, "permission_error")
    assert api.count() == before
    assert read.status_code == 200
    assert read.json()["status"] == "queued"
