"""The SDK's client against the real API server: typed answers and typed errors over the wire."""

from __future__ import annotations

import pytest

from dreadnode.client import (
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)

from .conftest import LiveAPI

MODEL = "Qwen/Qwen3-8B"


def test_client_reads_catalog_entry_with_slash_and_peft_ids(live_api: LiveAPI) -> None:
    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        assert client.get_catalog_model(MODEL).context_length == 32768
        page = client.list_catalog(family="gpt-oss", limit=1)
        assert (len(page.models), page.total) == (1, 2)
        with pytest.raises(NotFoundError, match=r"Did you mean one of: Qwen/Qwen3-8B"):
            client.get_catalog_model("Qwen/Qwen3-8B-Instruc")
        with pytest.raises(NotFoundError, match=r"was retired on 2026-06-12"):
            client.get_catalog_model("meta-llama/Llama-3.1-8B")


def test_same_idempotency_key_returns_the_same_job(live_api: LiveAPI) -> None:
    with Client(server_url=live_api.url, api_key=live_api.token) as client:
        first = client.create_job(
            base_model=MODEL, method="sft", dataset="s3://b/t", idempotency_key="e2e-replay"
        )
        again = client.create_job(
            base_model=MODEL, method="sft", dataset="s3://b/t", idempotency_key="e2e-replay"
        )
        assert again.id == first.id
        with pytest.raises(ConflictError):
            client.create_job(
                base_model=MODEL, method="sft", dataset="s3://other", idempotency_key="e2e-replay"
            )


def test_invalid_job_raises_with_every_violation(live_api: LiveAPI) -> None:
    with (
        Client(server_url=live_api.url, api_key=live_api.token) as client,
        pytest.raises(UnprocessableEntityError) as caught,
    ):
        client.create_job(
            base_model=MODEL,
            method="rl",
            algorithm="sft",
            dataset="s3://b/t",
            hyperparameters={"lora_rank": 48},
        )
    assert caught.value.type == "validation_error"
    assert [e["type"] for e in caught.value.errors] == [
        "algorithm_method_mismatch", "grader_required", "invalid_lora_rank"
    ]  # fmt: skip
    assert caught.value.detail == "; ".join(e["msg"] for e in caught.value.errors)


def test_wrong_token_raises_authentication_error(live_api: LiveAPI) -> None:
    with (
        Client(server_url=live_api.url, api_key="wrong") as client,
        pytest.raises(AuthenticationError, match="Authentication failed"),
    ):
        client.list_jobs()
