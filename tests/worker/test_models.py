"""A user's own models, end to end on the local Tinker engine, on SQLite and PostgreSQL: a job
completes and its model appears (revision 1); it is sampled through the API as the catalog's base
model is; a second job trains on top of it (revision 2, its parent named) and starts from its
weights, so its first loss is below the first job's on the same data; the model cannot be
deleted while that job may still run, and can be after.

The engine serves its stand-in as ``Qwen/Qwen3-8B`` (``LocalTinker(served_as=...)``), so the
API samples the base model by its catalog id exactly as it would on Tinker. Sampling is served
by a second API process on the deployment's database, the one given the engine's address.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.worker.conftest import CHAT_ROWS, LORA_RANK, MAX_LORA_ADAPTERS, NO_TINKER, Deployment

BASE = "Qwen/Qwen3-8B"
PREFIX = "/api/v1"
#: Steady enough that six steps on the whole dataset lower the loss every time (1e-2 overshoots).
LEARNING_RATE = 3e-3


@pytest.fixture
def served(deployment: Deployment, tmp_path: Path) -> Iterator[tuple[Deployment, httpx.Client]]:
    """The deployment on a fresh engine serving its stand-in as ``Qwen/Qwen3-8B``, and a client
    of an API process on the deployment's database that samples on that engine."""
    from app.localtinker import LocalTinker
    from app.testing import LiveServer

    engine = LocalTinker(
        tmp_path / "tinker",
        served_as=BASE,
        backend_config={"max_lora_adapters": MAX_LORA_ADAPTERS, "max_lora_rank": LORA_RANK},
    )
    with engine:
        deployment.engine_env = engine.client_env()
        env = {**deployment.env, **engine.client_env()}
        try:
            with (
                LiveServer(env, tmp_path / "sampling-api.log", inherit_environment=False) as api,
                httpx.Client(
                    base_url=f"{api.url}{PREFIX}",
                    headers={"Authorization": f"Bearer {deployment.api.token}"},
                    timeout=120,
                ) as client,
            ):
                yield deployment, client
        finally:
            for worker in deployment.workers:
                worker.stop()


def _first_loss(deployment: Deployment, job_id: str) -> float:
    with deployment.client() as client:
        return float(client.get_job_metrics(job_id).points[0].loss)


def _model(client: httpx.Client, model_id: str) -> dict[str, Any]:
    response = client.get(f"/training/models/{model_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_model_is_made_sampled_trained_further_and_deleted(
    served: tuple[Deployment, httpx.Client], tmp_path: Path
) -> None:
    deployment, api = served
    dataset = deployment.upload(tmp_path / "chat.jsonl", CHAT_ROWS)
    # One step is the whole dataset, so the two jobs' first losses are on the same rows.
    first_id = deployment.create_job(
        dataset, name="sums", batch_size=len(CHAT_ROWS), epochs=6, learning_rate=LEARNING_RATE
    )
    deployment.start_worker("models")
    first = deployment.wait_for_status(first_id, "completed", "failed", "cancelled")
    assert first.status == "completed", first.error

    parent = _model(api, first.model_id)
    assert (parent["name"], parent["revision"], parent["parent_model"]) == ("sums", 1, BASE)
    assert parent["job_id"] == first_id
    assert parent["sampler_path"] == first.sampler_path
    assert parent["training_checkpoint"] == first.checkpoints[-2].tinker_path  # the last training
    assert parent["trained_tokens"] == first.trained_tokens
    owned = api.get("/training/models", params={"kind": "owned"}).json()["models"]
    assert [m["id"] for m in owned] == [parent["id"]]

    chat = {"messages": [{"role": "user", "content": "What is 2 plus 3?"}]}
    sampled = api.post(
        f"/training/models/{parent['id']}/sample", json={**chat, "n": 2, "max_tokens": 8, "seed": 7}
    )
    assert sampled.status_code == 200, sampled.text
    answer = sampled.json()
    assert len(answer["completions"]) == 2
    assert all(1 <= c["tokens"] <= 8 for c in answer["completions"])
    assert all(c["finish_reason"] in ("stop", "length") for c in answer["completions"])
    assert answer["prompt_tokens"] > 0
    assert answer["completion_tokens"] == sum(c["tokens"] for c in answer["completions"])
    assert answer["sampling"] == {"temperature": 1.0, "top_p": 1.0, "max_tokens": 8}
    again = api.post(
        f"/training/models/{parent['id']}/sample", json={**chat, "n": 2, "max_tokens": 8, "seed": 7}
    )
    assert again.json()["completions"] == answer["completions"]  # a seed repeats its answer
    base = api.post(
        f"/training/models/{BASE}/sample", json={"prompt": "2 plus 3 is", "max_tokens": 4}
    )
    assert base.status_code == 200, base.text
    assert base.json()["completions"][0]["tokens"] <= 4

    second_id = deployment.create_job(
        dataset,
        base_model=parent["id"],
        name="sums again",
        batch_size=len(CHAT_ROWS),
        epochs=1,
        learning_rate=LEARNING_RATE,
    )
    refused = api.delete(f"/training/models/{parent['id']}")
    assert refused.status_code == 409
    assert refused.json()["type"] == "model_in_use"
    assert second_id in refused.json()["detail"]

    second = deployment.wait_for_status(second_id, "completed", "failed", "cancelled")
    assert second.status == "completed", second.error
    assert second.hyperparameters["lora_rank"] == LORA_RANK  # the parent's rank, kept
    child = _model(api, second.model_id)
    assert (child["revision"], child["parent_model"], child["base_model"]) == (
        2,
        parent["id"],
        BASE,
    )
    # It started from the first model's weights: lower loss on the same rows from its first step.
    assert _first_loss(deployment, second_id) < _first_loss(deployment, first_id)

    assert api.delete(f"/training/models/{parent['id']}").status_code == 204
    assert api.get(f"/training/models/{parent['id']}").status_code == 404
    assert deployment.job(first_id).model_id == parent["id"]  # the job keeps its history
    assert _model(api, child["id"])["parent_model"] == parent["id"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: a hung Tinker."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("outage", ["down", "hung"])
def test_a_tinker_outage_is_a_503_with_retry_after_within_the_bound(
    deployment: Deployment, tmp_path: Path, silent_port: int, outage: str
) -> None:
    import time

    from app.testing import LiveServer

    if deployment.name != "sqlite":
        pytest.skip("nothing this test checks depends on the database; it runs on SQLite")
    address = (
        NO_TINKER["TINKER_BASE_URL"] if outage == "down" else f"http://127.0.0.1:{silent_port}"
    )
    env = {
        **deployment.env,
        "TINKER_BASE_URL": address,
        "TINKER_API_KEY": NO_TINKER["TINKER_API_KEY"],
        "DREADNODE_API_SAMPLE_TIMEOUT_SECONDS": "4",
    }
    with LiveServer(env, tmp_path / "api.log", inherit_environment=False) as api:
        started = time.monotonic()
        answer = httpx.post(
            f"{api.url}{PREFIX}/training/models/{BASE}/sample",
            json={"prompt": "2 plus 3 is", "max_tokens": 4},
            headers={"Authorization": f"Bearer {deployment.api.token}"},
            timeout=60,
        )
        took = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "30"
    assert answer.json()["detail"].startswith("Tinker is unavailable: ")
    assert took < 15  # the 4 s bound, with room for a loaded machine; never the 60 s default
