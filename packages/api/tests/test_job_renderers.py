"""Jobs on a model with no renderer, through a real server on every backend: an SFT job cannot
turn its rows into tokens, so it is refused before anything is written; an RL job is not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Api, envelope

KIMI = "moonshotai/Kimi-K2.6"


def _body(base_model: str = KIMI, **changes: Any) -> dict[str, Any]:
    return {"base_model": base_model, "method": "sft", "dataset": "s3://b/train.jsonl", **changes}


def _no_renderer(model_id: str) -> dict[str, Any]:
    """The error, typed in here from the catalog's rule: Kimi-K2.6 is a chat model with 32B
    active parameters, and DeepSeek-V3.1 (37B) and Qwen3.8-27B are the chat models with a
    renderer nearest it in size."""
    return {
        "loc": ["body", "base_model"],
        "msg": f"Training base model {model_id!r} has no renderer yet, so its rows cannot be "
        "turned into tokens (nor an RL job's completions back into text); choose a model with "
        "one, such as deepseek-ai/DeepSeek-V3.1 or Qwen/Qwen3.8-27B (each entry of `dn train "
        "catalog --json` names its renderer).",
        "type": "no_renderer",
    }


def _create(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/training/jobs", json=body)


@pytest.mark.parametrize("model_id", [KIMI, f"{KIMI}:peft:131072"])
def test_sft_on_a_model_without_a_renderer_is_422_and_writes_nothing(
    api: Api, model_id: str
) -> None:
    before = (api.count("jobs"), api.count("job_events"))
    with api.client() as client:
        refused = _create(client, _body(model_id))
        validated = client.post("/training/jobs/validate", json=_body(model_id))
        entry = client.get(f"/training/catalog/{model_id}")
    body = envelope(refused, 422, "validation_error")
    assert body["errors"] == [_no_renderer(model_id)]
    assert body["detail"] == _no_renderer(model_id)["msg"]
    assert (validated.json()["valid"], validated.json()["errors"]) == (False, body["errors"])
    assert (api.count("jobs"), api.count("job_events")) == before
    # The catalog says why: the entry (and its :peft: id) names no renderer.
    assert entry.status_code == 200
    assert entry.json()["renderer"] is None


def test_no_renderer_is_reported_beside_the_jobs_other_errors(api: Api) -> None:
    before = api.count("jobs")
    body = _body(hyperparameters={"lora_rank": 48, "max_sequence_length": 40000})
    with api.client() as client:
        refused = _create(client, body)
    assert [e["type"] for e in envelope(refused, 422, "validation_error")["errors"]] == [
        "no_renderer",
        "context_length_exceeded",
        "invalid_lora_rank",
    ]
    assert api.count("jobs") == before


def test_rl_on_a_model_without_a_renderer_is_refused_too(api: Api) -> None:
    """An RL job renders its prompts and decodes what the model writes: no renderer, no job."""
    before = api.count("jobs")
    body = _body(method="rl", algorithm="ppo", grader={"type": "string_check", "field": "answer"})
    with api.client() as client:
        refused = _create(client, body)
    assert envelope(refused, 422, "validation_error")["errors"] == [_no_renderer(KIMI)]
    assert api.count("jobs") == before


@pytest.mark.parametrize(
    ("model_id", "renderer"),
    [
        ("Qwen/Qwen3.5-9B-Base", "role_colon"),
        ("zai-org/GLM-5.3:peft:262144", "glm5_3_max_reasoning"),
        ("Qwen/Qwen3.5-397B-A17B:peft:262144", "qwen3_5"),  # a :peft: id: its model's renderer
    ],
)
def test_sft_on_a_model_with_a_renderer_is_accepted(api: Api, model_id: str, renderer: str) -> None:
    with api.client() as client:
        entry = client.get(f"/training/catalog/{model_id}")
        created = _create(client, _body(model_id))
    assert entry.json()["renderer"] == renderer
    assert created.status_code == 201, created.text
