"""What goes over the wire: URL, headers, query, body; and answers from a newer server."""

from __future__ import annotations

from typing import Any

import pytest

from dreadnode import __version__
from dreadnode.client import (
    Client,
    ConfigurationError,
    Hyperparameters,
    JobSpec,
    normalize_base_url,
)
from dreadnode.client.types import CatalogModel

from .fake_api import FakeAPI, Reply, job_json

CATALOG = "/api/v1/training/catalog"
#: An entry exactly as the API serves it (every field, ``lifecycle`` included).
QWEN = {
    "tinker_id": "Qwen/Qwen3-8B",
    "display_name": "Qwen3 8B",
    "family": "qwen",
    "type": "dense",
    "size_b": 8.0,
    "total_size_b": 8.0,
    "context_length": 32768,
    "extended_context_length": None,
    "supported_algorithms": ["sft", "importance_sampling", "ppo"],
    "pricing": None,
    "kind": "chat",
    "vision": False,
    "hidden_size": 4096,
    "lora_parameters_per_rank": 2883968,
    "max_lora_rank": None,
    "extended_context": False,
    "recommended_learning_rate": 0.00047297908091376354,
    "retirement": None,
    "lifecycle": "available",
}
FROM_THE_FUTURE = {
    **QWEN,
    "tinker_id": "mistralai/Mistral-9-Large",
    "display_name": "Mistral 9 Large",
    "family": "mistral",
    "type": "hybrid",
    "supported_algorithms": ["sft", "dpo"],
    "modalities": ["text", "image"],
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/api/v1"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/api/v1"),
        ("http://127.0.0.1:8000/api/v1", "http://127.0.0.1:8000/api/v1"),
        ("http://127.0.0.1:8000/api/v1/", "http://127.0.0.1:8000/api/v1"),
        (" https://example.com/dreadnode ", "https://example.com/dreadnode/api/v1"),
    ],
)
def test_normalize_base_url_adds_api_prefix_once(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


@pytest.mark.parametrize("given", ["", "127.0.0.1:8000", "ftp://host", "http://"])
def test_normalize_base_url_refuses_non_http(given: str) -> None:
    with pytest.raises(ValueError, match="server URL must look like"):
        normalize_base_url(given)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("http://[::1", "Invalid port"),
        ("http://127.0.0.1:99999", "port 99999 is not from 1 to 65535"),
        ("http://127.0.0.1:0", "port 0 is not from 1 to 65535"),
        ("http://:8000", "no host"),
        ("http://127.0.0.1:8000/?token=x", "must not have a query or fragment"),
    ],
)
def test_normalize_base_url_refuses_malformed_url_before_any_request(
    given: str, reason: str
) -> None:
    with pytest.raises(ConfigurationError, match="server URL must look like") as caught:
        Client(server_url=given)
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_client_reads_server_and_key_from_environment(
    fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DREADNODE_SERVER_URL", fake_api.url + "/api/v1/")
    monkeypatch.setenv("DREADNODE_API_KEY", "from-env")
    fake_api.script(
        "GET", "/api/v1/training/jobs", Reply(200, {"jobs": [], "total": 0, "limit": 5})
    )
    with Client() as client:
        client.list_jobs(limit=5)
    seen = fake_api.requests[0]
    assert seen.path == "/api/v1/training/jobs"
    assert seen.headers["x-api-key"] == "from-env"
    assert seen.query == {"limit": ["5"]}


def test_client_without_server_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DREADNODE_SERVER_URL", raising=False)
    with pytest.raises(ValueError, match="DREADNODE_SERVER_URL"):
        Client()


def test_every_request_names_the_sdk_version_in_user_agent(fake_api: FakeAPI) -> None:
    fake_api.script("GET", "/api/v1/training/jobs/job-1", Reply(200, job_json()))
    fake_api.script("POST", "/api/v1/training/jobs", Reply(201, job_json()))
    with Client(server_url=fake_api.url, api_key="k") as client:
        client.get_job("job-1")
        client.create_job(base_model="m/x", method="sft", dataset="d")
    agents = {seen.headers["user-agent"] for seen in fake_api.requests}
    assert agents == {f"dreadnode-training/{__version__}"}


@pytest.mark.parametrize("call", ["get_job", "cancel_job", "list_job_events", "get_catalog_model"])
@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_path_parameter_is_refused_before_any_request(
    fake_api: FakeAPI, call: str, empty: str
) -> None:
    with Client(server_url=fake_api.url) as client, pytest.raises(ValueError, match="non-empty"):
        getattr(client, call)(empty)
    assert fake_api.requests == []


@pytest.mark.parametrize("method", ["get_job", "cancel_job", "list_job_events"])
def test_job_id_with_slash_is_refused_before_any_request(fake_api: FakeAPI, method: str) -> None:
    with Client(server_url=fake_api.url) as client, pytest.raises(ValueError, match="'/'"):
        getattr(client, method)("a/b")
    assert fake_api.requests == []


def test_catalog_filters_become_query_parameters(fake_api: FakeAPI) -> None:
    fake_api.script(
        "GET", CATALOG, Reply(200, {"models": [QWEN], "total": 1, "limit": 5, "offset": 0})
    )
    with Client(server_url=fake_api.url) as client:
        page = client.list_catalog(query="llama 3.1", family="llama", max_size_b=10, limit=5)
    assert [m.tinker_id for m in page.models] == ["Qwen/Qwen3-8B"]
    assert fake_api.requests[0].query == {
        "query": ["llama 3.1"],
        "family": ["llama"],
        "max_size_b": ["10"],
        "limit": ["5"],
    }


def test_get_catalog_model_keeps_the_slash_of_the_id(fake_api: FakeAPI) -> None:
    fake_api.script("GET", CATALOG + "/Qwen/Qwen3-8B", Reply(200, QWEN))
    with Client(server_url=fake_api.url) as client:
        assert client.get_catalog_model("Qwen/Qwen3-8B").context_length == 32768


def test_catalog_from_a_newer_api_lists_unknown_family_as_is(fake_api: FakeAPI) -> None:
    page = {"models": [QWEN, FROM_THE_FUTURE], "total": 2, "limit": 20, "offset": 0}
    fake_api.script("GET", CATALOG, Reply(200, page))
    with Client(server_url=fake_api.url) as client:
        models = client.list_catalog().models
    assert [m.family for m in models] == ["qwen", "mistral"]
    assert models[0].unknown_values() == []
    assert models[1].unknown_values() == [
        "family 'mistral'",
        "type 'hybrid'",
        "algorithm 'dpo'",
    ]
    assert models[1].model_dump()["modalities"] == ["text", "image"]


def test_create_job_sends_only_given_fields(fake_api: FakeAPI) -> None:
    fake_api.script("POST", "/api/v1/training/jobs", Reply(201, job_json()))
    with Client(server_url=fake_api.url) as client:
        job = client.create_job(
            base_model="Qwen/Qwen3-8B",
            method="sft",
            dataset="s3://bucket/train.jsonl",
            tags=["demo"],
            hyperparameters={"learning_rate": 1e-4},
        )
    assert job.status == "queued"
    assert fake_api.requests[0].body == {
        "base_model": "Qwen/Qwen3-8B",
        "method": "sft",
        "dataset": "s3://bucket/train.jsonl",
        "tags": ["demo"],
        "hyperparameters": {"learning_rate": 1e-4},
    }


def test_create_job_refuses_unknown_hyperparameter_before_sending(fake_api: FakeAPI) -> None:
    with Client(server_url=fake_api.url) as client, pytest.raises(ValueError, match="warmup"):
        client.create_job(
            base_model="m/x", method="sft", dataset="d", hyperparameters={"warmup": 1}
        )
    assert fake_api.requests == []


def test_validate_then_create_one_spec_sends_the_same_body(fake_api: FakeAPI) -> None:
    fake_api.script("POST", "/api/v1/training/jobs/validate", Reply(200, {"valid": True}))
    fake_api.script("POST", "/api/v1/training/jobs", Reply(201, job_json()))
    spec: JobSpec = {
        "base_model": "Qwen/Qwen3-8B",
        "method": "sft",
        "dataset": "s3://bucket/train.jsonl",
        "name": None,
        "hyperparameters": Hyperparameters(lora_rank=16),
    }
    with Client(server_url=fake_api.url) as client:
        assert client.validate_job(**spec).valid
        client.create_job(**spec, idempotency_key="k-1")
    validated, created = (request.body for request in fake_api.requests)
    assert (
        validated
        == created
        == {
            "base_model": "Qwen/Qwen3-8B",
            "method": "sft",
            "dataset": "s3://bucket/train.jsonl",
            "tags": [],
            "hyperparameters": {"lora_rank": 16},
        }
    )


def test_create_job_refuses_unknown_field_before_sending(fake_api: FakeAPI) -> None:
    fields: dict[str, Any] = {"base_model": "m/x", "method": "sft", "dataset": "d", "epoch": 3}
    with Client(server_url=fake_api.url) as client, pytest.raises(ValueError, match="epoch"):
        client.create_job(**fields)
    assert fake_api.requests == []


def test_validate_job_returns_every_violation(fake_api: FakeAPI) -> None:
    answer = {
        "valid": False,
        "errors": [
            {"loc": ["body", "hyperparameters", "lora_rank"], "msg": "at most 32", "type": "le"},
            {"loc": ["body", "dataset"], "msg": "too short", "type": "string_too_short"},
        ],
    }
    fake_api.script("POST", "/api/v1/training/jobs/validate", Reply(200, answer))
    with Client(server_url=fake_api.url) as client:
        result = client.validate_job(base_model="m/x", method="sft", dataset="")
    assert result.valid is False
    assert [e.msg for e in result.errors] == ["at most 32", "too short"]


def test_events_and_job_pages_parse(fake_api: FakeAPI) -> None:
    events = {
        "events": [
            {
                "type": "created",
                "status": "queued",
                "message": None,
                "created_at": "2026-11-22T22:00:00Z",
            },
            {
                "type": "cancelled",
                "status": "cancelled",
                "message": "by user",
                "created_at": "2026-11-22T22:01:00Z",
            },
        ]
    }
    fake_api.script("GET", "/api/v1/training/jobs/job-1/events", Reply(200, events))
    with Client(server_url=fake_api.url) as client:
        history = client.list_job_events("job-1")
    assert [e.type for e in history.events] == ["created", "cancelled"]


def test_catalog_model_is_lenient_but_still_typed() -> None:
    with pytest.raises(ValueError, match="context_length"):
        CatalogModel.model_validate({**QWEN, "context_length": "lots"})
