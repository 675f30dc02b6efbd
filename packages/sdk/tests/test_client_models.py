"""The client's ``/training/models`` methods: what goes over the wire, what comes back typed,
and what is retried (an update, whose values are absolute) and what never is (a delete, a
sample: each attempt samples again)."""

from __future__ import annotations

from typing import Any

import pytest

from dreadnode.client import (
    Client,
    ConflictError,
    ModelUpdate,
    RetryPolicy,
    SampleMessage,
    ServiceUnavailableError,
)

from .conftest import JOBS, MODELS
from .fake_api import OWN_MODEL_ID, FakeAPI, Reply, envelope, job_json, model_json, sample_json

FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)
OWN = f"{MODELS}/{OWN_MODEL_ID}"
UNAVAILABLE = envelope(503, "Tinker is unavailable", "service_unavailable_error")


def _client(api: FakeAPI) -> Client:
    return Client(server_url=api.url, api_key="t0ken", retry=FAST)


def test_list_models_sends_only_the_filters_given(fake_api: FakeAPI) -> None:
    page = {"models": [model_json(), model_json("Qwen/Qwen3-8B")], "total": 2, "limit": 5,
            "offset": 0}  # fmt: skip
    fake_api.script("GET", MODELS, Reply(200, page))
    with _client(fake_api) as client:
        listed = client.list_models(kind="owned", query="sums", limit=5)
        client.list_models()
    assert [(m.id, m.owned, m.read_only) for m in listed.models] == [
        (OWN_MODEL_ID, True, False),
        ("Qwen/Qwen3-8B", False, True),
    ]
    assert listed.model_dump(mode="json") == page
    assert [seen.query for seen in fake_api.requests] == [
        {"kind": ["owned"], "query": ["sums"], "limit": ["5"]},
        {},
    ]


def test_get_model_reads_every_field_typed(fake_api: FakeAPI) -> None:
    fake_api.script("GET", OWN, Reply(200, model_json()))
    with _client(fake_api) as client:
        model = client.get_model(OWN_MODEL_ID)
    assert (model.sampling.temperature, model.sampling.max_tokens) == (1.0, 256)
    assert (model.training.lora_rank, model.lora_rank, model.trained_tokens) == (32, 32, 3702)
    assert model.created_at is not None
    assert model.created_at.isoformat() == "2026-12-05T10:00:00+00:00"
    assert model.model_dump(mode="json") == model_json()


@pytest.mark.parametrize("model_id", ["Qwen/Qwen3-8B", "Qwen/Qwen3.5-397B-A17B:peft:262144"])
def test_a_catalog_id_keeps_its_slash_and_suffix_in_the_path(
    fake_api: FakeAPI, model_id: str
) -> None:
    fake_api.script("GET", f"{MODELS}/{model_id}", Reply(200, model_json(model_id)))
    fake_api.script("POST", f"{MODELS}/{model_id}/sample", Reply(200, sample_json()))
    with _client(fake_api) as client:
        assert client.get_model(model_id).base_model == model_id
        client.sample_model(model_id, prompt="2 + 3 =")
    assert [seen.path for seen in fake_api.requests] == [
        f"{MODELS}/{model_id}",
        f"{MODELS}/{model_id}/sample",
    ]


@pytest.mark.parametrize(
    ("changes", "body"),
    [
        ({"name": "sums-v2"}, {"name": "sums-v2"}),
        ({"description": None}, {"description": None}),
        ({"temperature": None, "top_p": None}, {"temperature": None, "top_p": None}),
        ({"default_model": True, "temperature": 0.7}, {"default_model": True, "temperature": 0.7}),
    ],
)
def test_update_model_sends_the_keys_given_and_none_as_null(
    fake_api: FakeAPI, changes: dict[str, Any], body: dict[str, Any]
) -> None:
    fake_api.script("PATCH", OWN, Reply(200, model_json()))
    with _client(fake_api) as client:
        assert client.update_model(OWN_MODEL_ID, **changes).id == OWN_MODEL_ID
    (seen,) = fake_api.requests
    assert (seen.method, seen.body) == ("PATCH", body)


@pytest.mark.parametrize(
    ("changes", "said"), [({}, "nothing to change"), ({"temprature": 0.7}, "temprature")]
)
def test_update_model_refuses_no_change_or_an_unknown_one_before_sending(
    fake_api: FakeAPI, changes: dict[str, Any], said: str
) -> None:
    with _client(fake_api) as client, pytest.raises(ValueError, match=said):
        client.update_model(OWN_MODEL_ID, **changes)
    assert fake_api.requests == []


def test_update_model_is_retried_and_delete_is_not(fake_api: FakeAPI) -> None:
    fake_api.script("PATCH", OWN, UNAVAILABLE, Reply(200, model_json()))
    fake_api.script("DELETE", OWN, UNAVAILABLE)
    with _client(fake_api) as client:
        client.update_model(OWN_MODEL_ID, name="sums")
        with pytest.raises(ServiceUnavailableError):
            client.delete_model(OWN_MODEL_ID)
    assert len(fake_api.seen("PATCH", OWN)) == 2
    assert len(fake_api.seen("DELETE", OWN)) == 1


def test_delete_model_in_use_is_a_conflict_of_its_type(fake_api: FakeAPI) -> None:
    fake_api.script("DELETE", OWN, envelope(409, "in use by job-2", "model_in_use"))
    with _client(fake_api) as client, pytest.raises(ConflictError) as caught:
        client.delete_model(OWN_MODEL_ID)
    assert (caught.value.type, caught.value.detail) == ("model_in_use", "in use by job-2")


def test_sample_model_sends_messages_and_only_the_settings_given(fake_api: FakeAPI) -> None:
    fake_api.script("POST", f"{OWN}/sample", Reply(200, sample_json("5", "five", seed=7)))
    messages = [
        SampleMessage(role="system", content="Answer briefly."),
        {"role": "user", "content": "What is 2 plus 3?"},
    ]
    with _client(fake_api) as client:
        result = client.sample_model(OWN_MODEL_ID, messages=messages, n=2, stop=("\n",), seed=7)
    assert [(c.text, c.finish_reason) for c in result.completions] == [
        ("5", "stop"),
        ("five", "stop"),
    ]
    assert (result.seed, result.sampling.max_tokens) == (7, 256)
    assert fake_api.requests[0].body == {
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What is 2 plus 3?"},
        ],
        "n": 2,
        "stop": ["\n"],
        "seed": 7,
    }


@pytest.mark.parametrize(
    "prompts",
    [{}, {"prompt": "2 + 3 =", "messages": [{"role": "user", "content": "2 + 3?"}]}],
    ids=["neither", "both"],
)
def test_sample_model_takes_exactly_one_of_messages_or_prompt(
    fake_api: FakeAPI, prompts: dict[str, Any]
) -> None:
    with _client(fake_api) as client, pytest.raises(ValueError, match="exactly one"):
        client.sample_model(OWN_MODEL_ID, **prompts)
    assert fake_api.requests == []


def test_sample_model_refuses_a_message_of_another_shape_before_sending(
    fake_api: FakeAPI,
) -> None:
    with _client(fake_api) as client, pytest.raises(ValueError, match="text"):
        client.sample_model(OWN_MODEL_ID, messages=[{"role": "user", "text": "2 + 3?"}])
    assert fake_api.requests == []


def test_sample_model_is_never_retried(fake_api: FakeAPI) -> None:
    """Each attempt would sample (and be billed) again: the 503 and its Retry-After go to the
    caller at once."""
    down = envelope(503, "Tinker is unavailable", "service_unavailable_error")
    down.headers["Retry-After"] = "0"
    fake_api.script("POST", f"{OWN}/sample", down, Reply(200, sample_json()))
    with _client(fake_api) as client, pytest.raises(ServiceUnavailableError) as caught:
        client.sample_model(OWN_MODEL_ID, prompt="2 + 3 =", seed=1)
    assert caught.value.headers["retry-after"] == "0"
    assert len(fake_api.requests) == 1


def test_job_names_the_model_it_made_and_an_older_servers_none(fake_api: FakeAPI) -> None:
    older = job_json(status="completed")
    fake_api.script("GET", f"{JOBS}/job-1",
                    Reply(200, job_json(status="completed", model_id=OWN_MODEL_ID)),
                    Reply(200, older))  # fmt: skip
    with _client(fake_api) as client:
        assert client.get_job("job-1").model_id == OWN_MODEL_ID
        assert client.get_job("job-1").model_id is None


def test_model_update_body_keeps_an_explicit_null_apart_from_a_field_left_out() -> None:
    body = ModelUpdate.model_validate({"description": None, "name": "x"})
    assert body.model_dump(mode="json", exclude_unset=True) == {"description": None, "name": "x"}
