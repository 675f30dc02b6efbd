"""A query parameter no route declares is a typo, answered with a 422 naming the nearest one."""

from __future__ import annotations

import pytest

from .conftest import Api, envelope


def test_misspelt_filter_is_refused_with_the_parameter_meant(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/catalog", params={"famly": "qwen"})
    body = envelope(response, 422, "validation_error")
    assert body["errors"] == [
        {
            "loc": ["query", "famly"],
            "msg": "unknown query parameter 'famly'; did you mean 'family'?",
            "type": "unknown_query_parameter",
        }
    ]


def test_every_unknown_parameter_is_reported_once(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/jobs?limt=2&statsu=queued&limt=3&limit=1")
    body = envelope(response, 422, "validation_error")
    assert [item["msg"] for item in body["errors"]] == [
        "unknown query parameter 'limt'; did you mean 'limit'?",
        "unknown query parameter 'statsu'; did you mean 'status'?",
    ]


def test_a_parameter_like_none_declared_lists_those_that_are(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/jobs", params={"zzz": "1"})
    body = envelope(response, 422, "validation_error")
    assert (
        body["detail"]
        == "unknown query parameter 'zzz'; this operation takes: status, limit, offset"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/training/catalog/retired",
        "/training/catalog/Qwen/Qwen3-8B",
        "/training/jobs/no-such-job",
        "/training/jobs/no-such-job/metrics",
        "/health",
    ],
)
def test_routes_without_query_parameters_refuse_any(api: Api, path: str) -> None:
    with api.client() as client:
        response = client.get(path, params={"verbose": "1"})
    body = envelope(response, 422, "validation_error")
    assert body["detail"] == "unknown query parameter 'verbose'; this operation takes none"


def test_unknown_parameter_on_a_write_writes_nothing(api: Api) -> None:
    before = api.count()
    body = {"base_model": "Qwen/Qwen3-8B", "method": "sft", "dataset": "s3://b/t.jsonl"}
    with api.client() as client:
        response = client.post("/training/jobs", params={"dry_run": "true"}, json=body)
    envelope(response, 422, "validation_error")
    assert api.count() == before


def test_declared_parameters_still_filter(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/catalog", params={"family": "qwen", "limit": 1})
    assert response.status_code == 200, response.text
    assert [model["family"] for model in response.json()["models"]] == ["qwen"]
