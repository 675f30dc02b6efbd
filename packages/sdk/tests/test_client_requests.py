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
    MultiDeclaration,
    StringCheckDeclaration,
    normalize_base_url,
)
from dreadnode.client.types import CatalogModel
from dreadnode.training import get_training_model
from dreadnode.training.graders import parse_grader

from .conftest import CATALOG, FROM_THE_FUTURE, GRADER, JOBS, QWEN
from .fake_api import FakeAPI, Reply, event_json, job_json, rl_figures


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
    fake_api.script("GET", JOBS, Reply(200, {"jobs": [], "total": 0, "limit": 5}))
    with Client() as client:
        client.list_jobs(limit=5)
    seen = fake_api.requests[0]
    assert seen.path == JOBS
    assert seen.headers["x-api-key"] == "from-env"
    assert seen.query == {"limit": ["5"]}


def test_client_without_server_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DREADNODE_SERVER_URL", raising=False)
    with pytest.raises(ValueError, match="DREADNODE_SERVER_URL"):
        Client()


def test_every_request_names_the_sdk_version_in_user_agent(fake_api: FakeAPI) -> None:
    fake_api.script("GET", JOBS + "/job-1", Reply(200, job_json()))
    fake_api.script("POST", JOBS, Reply(201, job_json()))
    with Client(server_url=fake_api.url, api_key="k") as client:
        client.get_job("job-1")
        client.create_job(base_model="m/x", method="sft", dataset="d")
    agents = {seen.headers["user-agent"] for seen in fake_api.requests}
    assert agents == {f"dreadnode-training/{__version__}"}


@pytest.mark.parametrize(
    "call", ["get_job", "cancel_job", "list_job_events", "get_job_metrics", "get_catalog_model"]
)
@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_path_parameter_is_refused_before_any_request(
    fake_api: FakeAPI, call: str, empty: str
) -> None:
    with Client(server_url=fake_api.url) as client, pytest.raises(ValueError, match="non-empty"):
        getattr(client, call)(empty)
    assert fake_api.requests == []


@pytest.mark.parametrize("method", ["get_job", "cancel_job", "list_job_events", "get_job_metrics"])
def test_job_id_with_slash_is_refused_before_any_request(fake_api: FakeAPI, method: str) -> None:
    with Client(server_url=fake_api.url) as client, pytest.raises(ValueError, match="'/'"):
        getattr(client, method)("a/b")
    assert fake_api.requests == []


def test_catalog_filters_become_query_parameters(fake_api: FakeAPI) -> None:
    fake_api.script(
        "GET", CATALOG, Reply(200, {"models": [QWEN], "total": 1, "limit": 5, "offset": 0})
    )
    with Client(server_url=fake_api.url) as client:
        page = client.list_catalog(
            query="qwen3", family="qwen", max_size_b=10, kind="chat", vision=False, limit=5
        )
    assert [m.tinker_id for m in page.models] == ["Qwen/Qwen3-8B"]
    assert fake_api.requests[0].query == {
        "query": ["qwen3"],
        "family": ["qwen"],
        "max_size_b": ["10"],
        "kind": ["chat"],
        "vision": ["false"],
        "limit": ["5"],
    }


def test_catalog_vision_true_is_sent_as_the_api_spells_it(fake_api: FakeAPI) -> None:
    fake_api.script("GET", CATALOG, Reply(200, {"models": [], "total": 0, "limit": 20}))
    with Client(server_url=fake_api.url) as client:
        client.list_catalog(vision=True)
    assert fake_api.requests[0].query == {"vision": ["true"]}


def test_catalog_entry_of_the_fake_api_is_the_embedded_entry_as_served() -> None:
    model = get_training_model("Qwen/Qwen3-8B")
    assert model is not None
    assert {**model.model_dump(mode="json"), "lifecycle": "available", "price": None} == QWEN
    assert CatalogModel.model_validate(QWEN).model_dump(mode="json") == QWEN


def test_catalog_entry_of_a_retiring_model_carries_its_retirement(fake_api: FakeAPI) -> None:
    retirement = {
        "tinker_id": "meta-llama/Llama-3.1-8B",
        "retired_on": "2026-06-12",
        "replacement": "Qwen/Qwen3.5-9B-Base",
        "announced_on": "2026-05-18",
    }
    entry = {**QWEN, "tinker_id": retirement["tinker_id"], "lifecycle": "retiring",
             "retirement": retirement}  # fmt: skip
    fake_api.script("GET", CATALOG + "/meta-llama/Llama-3.1-8B", Reply(200, entry))
    with Client(server_url=fake_api.url) as client:
        got = client.get_catalog_model("meta-llama/Llama-3.1-8B")
    assert got.lifecycle == "retiring"
    assert got.retirement is not None
    assert (str(got.retirement.retired_on), got.retirement.replacement) == (
        "2026-06-12",
        "Qwen/Qwen3.5-9B-Base",
    )
    assert got.model_dump(mode="json") == entry


def test_list_retired_models_reads_the_retired_listing(fake_api: FakeAPI) -> None:
    listing = {
        "retired": [
            {"tinker_id": "Qwen/Qwen3.6-27B", "retired_on": "2026-09-02",
             "replacement": "Qwen/Qwen3.8-27B", "announced_on": "2026-08-19"},
            {"tinker_id": "Qwen/Qwen3-32B", "retired_on": "2026-06-12", "replacement": None,
             "announced_on": "2026-05-18"},
        ],
        "total": 2,
    }  # fmt: skip
    fake_api.script("GET", CATALOG + "/retired", Reply(200, listing))
    with Client(server_url=fake_api.url) as client:
        retired = client.list_retired_models()
    assert fake_api.requests[0].path == CATALOG + "/retired"
    assert [(r.tinker_id, r.replacement) for r in retired.retired] == [
        ("Qwen/Qwen3.6-27B", "Qwen/Qwen3.8-27B"),
        ("Qwen/Qwen3-32B", None),
    ]
    assert retired.total == 2
    assert retired.model_dump(mode="json") == listing


def test_get_catalog_model_keeps_the_suffix_of_a_peft_id(fake_api: FakeAPI) -> None:
    peft = "Qwen/Qwen3.5-397B-A17B:peft:262144"
    fake_api.script("GET", CATALOG + "/" + peft, Reply(200, {**QWEN, "tinker_id": peft}))
    with Client(server_url=fake_api.url) as client:
        assert client.get_catalog_model(peft).tinker_id == peft
    assert fake_api.requests[0].path == CATALOG + "/" + peft


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
        "kind 'omni'",
        "renderer 'mistral_v9'",
        "lifecycle 'preview'",
        "algorithm 'dpo'",
    ]
    assert models[1].model_dump()["modalities"] == ["text", "image"]


def test_create_job_sends_only_given_fields(fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json()))
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
    fake_api.script("POST", JOBS + "/validate", Reply(200, {"valid": True}))
    fake_api.script("POST", JOBS, Reply(201, job_json()))
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


@pytest.mark.parametrize(
    "grader",
    [
        GRADER,
        StringCheckDeclaration(type="string_check", field="answer", extract="last_line"),
        parse_grader(GRADER),  # the SDK's own grader: its defaults are sent too
    ],
    ids=["dict", "declaration", "parsed"],
)
def test_create_job_sends_the_grader_and_the_rl_knobs(fake_api: FakeAPI, grader: Any) -> None:
    fake_api.script("POST", JOBS, Reply(201, job_json(method="rl", grader=GRADER)))
    knobs = {"group_size": 8, "max_tokens": 512, "temperature": 0.7, "clip_low_threshold": 0.7,
             "clip_high_threshold": 1.3}  # fmt: skip
    with Client(server_url=fake_api.url) as client:
        job = client.create_job(
            base_model="Qwen/Qwen3-8B", method="rl", algorithm="ppo", dataset="ds-1",
            hyperparameters=knobs, grader=grader,
        )  # fmt: skip
    assert job.grader == GRADER
    (sent,) = fake_api.requests
    assert sent.body["hyperparameters"] == knobs
    parsed = not isinstance(grader, dict | StringCheckDeclaration)
    assert sent.body["grader"] == ({**GRADER, "operation": "eq"} if parsed else GRADER)


def test_create_job_sends_a_multi_grader_with_its_weights(fake_api: FakeAPI) -> None:
    fake_api.script("POST", JOBS + "/validate", Reply(200, {"valid": True}))
    numeric = {"type": "numeric", "field": "answer"}
    declaration = {
        "type": "multi",
        "graders": [{"weight": 0.5, "grader": GRADER}, {"weight": 2, "grader": numeric}],
    }
    with Client(server_url=fake_api.url) as client:
        client.validate_job(base_model="m/x", method="rl", dataset="d", grader=declaration)
    assert fake_api.requests[0].body["grader"] == declaration
    assert MultiDeclaration.model_validate(declaration).graders[1].weight == 2


def test_grader_values_are_the_servers_to_check_but_not_its_shape(fake_api: FakeAPI) -> None:
    """A pattern that does not compile goes to the server, which reports it with every other
    problem; a grader of no known type cannot even be written as the body."""
    fake_api.script("POST", JOBS + "/validate", Reply(200, {"valid": False}))
    bad_value = {"type": "string_check", "field": "answer", "extract": "regex", "pattern": "("}
    with Client(server_url=fake_api.url) as client:
        assert not client.validate_job(base_model="m/x", method="rl", dataset="d",
                                       grader=bad_value).valid  # fmt: skip
        with pytest.raises(ValueError, match="regex_check"):
            client.validate_job(base_model="m/x", method="rl", dataset="d",
                                grader={"type": "regex_check", "field": "answer"})  # fmt: skip
    assert [r.body["grader"] for r in fake_api.requests] == [bad_value]


def test_sft_job_reads_without_a_grader_and_an_older_servers_too(fake_api: FakeAPI) -> None:
    older = job_json()
    del older["grader"]
    fake_api.script("GET", JOBS + "/job-1", Reply(200, job_json()), Reply(200, older))
    with Client(server_url=fake_api.url) as client:
        assert client.get_job("job-1").grader is None
        assert client.get_job("job-1").grader is None


def test_validate_job_returns_every_violation(fake_api: FakeAPI) -> None:
    rank_problem = "lora_rank must be a power of two (Tinker refuses others), got 48"
    answer = {
        "valid": False,
        "errors": [
            {"loc": ["body", "hyperparameters", "lora_rank"], "msg": rank_problem,
             "type": "invalid_lora_rank"},
            {"loc": ["body", "dataset"], "msg": "too short", "type": "string_too_short"},
        ],
        "warnings": [],
        "hyperparameters": None,
        "defaulted_hyperparameters": [],
        "adapter_parameters": None,
    }  # fmt: skip
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    with Client(server_url=fake_api.url) as client:
        result = client.validate_job(
            base_model="Qwen/Qwen3-8B", method="sft", dataset="", hyperparameters={"lora_rank": 48}
        )
    assert result.valid is False
    assert [(e.type, e.msg) for e in result.errors] == [
        ("invalid_lora_rank", rank_problem),
        ("string_too_short", "too short"),
    ]
    assert result.hyperparameters is None


def test_validate_job_of_a_retiring_model_answers_warnings_and_effective_values(
    fake_api: FakeAPI,
) -> None:
    warning = {
        "loc": ["body", "base_model"],
        "msg": "Training base model 'meta-llama/Llama-3.1-8B' retires on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead.",
        "type": "model_retiring",
    }
    answer = {
        "valid": True,
        "errors": [],
        "warnings": [warning],
        "hyperparameters": {"learning_rate": 0.0001, "lora_rank": 32},
        "defaulted_hyperparameters": ["learning_rate", "lora_rank"],
        "adapter_parameters": None,
    }
    fake_api.script("POST", JOBS + "/validate", Reply(200, answer))
    with Client(server_url=fake_api.url) as client:
        result = client.validate_job(
            base_model="meta-llama/Llama-3.1-8B", method="sft", dataset="s3://b/t.jsonl"
        )
    assert result.valid is True
    (warned,) = result.warnings
    assert (warned.type, warned.loc) == ("model_retiring", ["body", "base_model"])
    assert result.hyperparameters == {"learning_rate": 0.0001, "lora_rank": 32}
    assert result.defaulted_hyperparameters == ["learning_rate", "lora_rank"]


def test_create_job_answer_carries_defaults_adapter_size_and_warnings(fake_api: FakeAPI) -> None:
    warning = {"loc": ["body", "base_model"], "msg": "retires soon", "type": "model_retiring"}
    fake_api.script("POST", JOBS, Reply(201, job_json(warnings=[warning])))
    with Client(server_url=fake_api.url) as client:
        job = client.create_job(base_model="Qwen/Qwen3-8B", method="sft", dataset="d")
    assert job.hyperparameters == {"learning_rate": 0.0001, "lora_rank": 32}
    assert job.defaulted_hyperparameters == ["lora_rank"]
    assert job.adapter_parameters == 32 * 2883968
    assert [w.msg for w in job.warnings] == ["retires soon"]


def test_job_from_an_older_server_reads_without_the_new_fields(fake_api: FakeAPI) -> None:
    older = job_json()
    for name in ("defaulted_hyperparameters", "adapter_parameters"):
        del older[name]
    fake_api.script("GET", JOBS + "/job-1", Reply(200, older))
    with Client(server_url=fake_api.url) as client:
        job = client.get_job("job-1")
    assert (job.defaulted_hyperparameters, job.adapter_parameters, job.warnings) == ([], None, [])


def test_events_and_job_pages_parse(fake_api: FakeAPI) -> None:
    events = {
        "events": [
            event_json(1, "job_pending", "queued", "Queued; waiting for a worker"),
            event_json(2, "job_cancelled", "cancelled", "Cancelled by alice before it started"),
        ]
    }
    fake_api.script("GET", JOBS + "/job-1/events", Reply(200, events))
    with Client(server_url=fake_api.url) as client:
        history = client.list_job_events("job-1")
    assert [(e.id, e.type) for e in history.events] == [(1, "job_pending"), (2, "job_cancelled")]
    assert fake_api.requests[0].query == {}


def test_list_job_events_sends_the_cursor_and_reads_each_events_figures(fake_api: FakeAPI) -> None:
    step = {"step": 12, "loss": 2.3456, "tokens": 1024, "learning_rate": 9.5e-05}
    page = {"events": [event_json(43, "training_step", "running", data=step)]}
    fake_api.script("GET", JOBS + "/job-1/events", Reply(200, page))
    with Client(server_url=fake_api.url) as client:
        (event,) = client.list_job_events("job-1", after=42, limit=10).events
    assert fake_api.requests[0].query == {"after": ["42"], "limit": ["10"]}
    assert (event.id, event.type, event.data) == (43, "training_step", step)


def test_events_from_an_older_server_read_without_ids(fake_api: FakeAPI) -> None:
    older = {"type": "created", "status": "queued", "message": None,
             "created_at": "2026-11-22T22:00:00Z"}  # fmt: skip
    fake_api.script("GET", JOBS + "/job-1/events", Reply(200, {"events": [older]}))
    with Client(server_url=fake_api.url) as client:
        (event,) = client.list_job_events("job-1").events
    assert (event.id, event.type, event.data) == (None, "created", None)


def test_get_job_metrics_reads_the_loss_curve_and_is_retried(fake_api: FakeAPI) -> None:
    points = [
        {"step": step, "loss": 3.0 - step / 10, "tokens": 512, "learning_rate": 1e-4,
         "time": f"2026-11-22T22:00:0{step}Z"}
        for step in (1, 2)
    ]  # fmt: skip
    busy = Reply(503, "busy", {"Retry-After": "0"}, content_type="text/plain")
    fake_api.script("GET", JOBS + "/job-1/metrics", busy, Reply(200, {"points": points}))
    with Client(server_url=fake_api.url) as client:
        curve = client.get_job_metrics("job-1")
    assert [(p.step, p.loss, p.tokens) for p in curve.points] == [(1, 2.9, 512), (2, 2.8, 512)]
    assert curve.points[0].time.isoformat() == "2026-11-22T22:00:01+00:00"
    assert len(fake_api.requests) == 2


def test_get_job_metrics_reads_an_rl_steps_rewards(fake_api: FakeAPI) -> None:
    sft = {"step": 1, "loss": 2.5, "tokens": 512, "learning_rate": 1e-4,
           "time": "2026-11-22T22:00:01Z"}  # fmt: skip
    rl = {**sft, "step": 2, **rl_figures(0.625, 0.212, 0.25, 3)}
    fake_api.script("GET", JOBS + "/job-1/metrics", Reply(200, {"points": [sft, rl]}))
    with Client(server_url=fake_api.url) as client:
        first, second = client.get_job_metrics("job-1").points
    assert (first.reward_mean, first.grading_errors) == (None, None)  # an SFT step, an older server
    assert (second.reward_mean, second.reward_std, second.no_signal_fraction) == (
        0.625,
        0.212,
        0.25,
    )
    assert (second.sampled_tokens, second.grading_errors) == (4096, 3)


def test_job_of_a_run_reads_its_progress_checkpoints_and_error_typed(fake_api: FakeAPI) -> None:
    checkpoint = {"checkpoint_id": "ckpt-2", "checkpoint_type": "training", "step": 2,
                  "time": "2026-11-22T22:00:12Z", "tinker_path": "tinker://run-1/weights/2",
                  "size_bytes": None}  # fmt: skip
    failed = job_json(
        status="failed",
        started_at="2026-11-22T22:00:02Z",
        finished_at="2026-11-22T22:01:02Z",
        progress={"step": 2, "total_steps": 40, "epochs_completed": 0},
        trained_tokens=2048,
        loss=2.25,
        checkpoints=[checkpoint],
        error={"type": "tinker_error", "message": "Tinker refused the batch"},
    )
    fake_api.script("GET", JOBS + "/job-1", Reply(200, failed))
    with Client(server_url=fake_api.url) as client:
        job = client.get_job("job-1")
    assert (job.progress.step, job.progress.total_steps, job.trained_tokens) == (2, 40, 2048)
    assert (job.checkpoints[0].tinker_path, job.checkpoints[0].size_bytes) == (
        "tinker://run-1/weights/2",
        None,
    )
    assert job.error is not None
    assert (job.error.type, job.error.message) == ("tinker_error", "Tinker refused the batch")
    assert job.finished_at is not None
    assert job.started_at is not None
    assert (job.finished_at - job.started_at).total_seconds() == 60


def test_job_from_a_server_that_runs_no_jobs_reads_as_not_started(fake_api: FakeAPI) -> None:
    older = job_json()
    for name in ("status_message", "queue_position", "cancel_requested", "started_at",
                 "finished_at", "progress", "trained_tokens", "loss", "checkpoints",
                 "sampler_path", "error"):  # fmt: skip
        del older[name]
    fake_api.script("GET", JOBS + "/job-1", Reply(200, older))
    with Client(server_url=fake_api.url) as client:
        job = client.get_job("job-1")
    assert (job.progress.step, job.progress.total_steps, job.trained_tokens) == (0, None, 0)
    assert (job.status_message, job.started_at, job.checkpoints, job.error) == (
        None,
        None,
        [],
        None,
    )
    assert job.cancel_requested is False


def test_catalog_model_is_lenient_but_still_typed() -> None:
    with pytest.raises(ValueError, match="context_length"):
        CatalogModel.model_validate({**QWEN, "context_length": "lots"})
