"""The catalog endpoints, through a real server: filters, paging, lookups, ETags."""

from __future__ import annotations

import pytest

from app.training import pages
from app.training.catalog import TINKER_MODELS, TrainingModel, get_training_model
from app.training.pages import PAGE_CACHE_SIZE, CatalogFilters, catalog_page

from .conftest import Api, envelope

ALL_IDS = [model.tinker_id for model in TINKER_MODELS]


def get_model(tinker_id: str) -> TrainingModel:
    model = get_training_model(tinker_id)
    assert model is not None
    return model


def ids(body: dict[str, object]) -> list[str]:
    models = body["models"]
    assert isinstance(models, list)
    return [model["tinker_id"] for model in models]


def test_list_catalog_defaults_to_first_page_of_twenty(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/catalog")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"models", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (len(ALL_IDS), 20, 0)
    assert ids(body) == ALL_IDS[:20]
    assert body["models"][0] == TINKER_MODELS[0].model_dump(mode="json")


def test_list_catalog_pages_with_limit_and_offset(api: Api) -> None:
    with api.client() as client:
        body = client.get("/training/catalog", params={"limit": 5, "offset": 30}).json()
        beyond = client.get("/training/catalog", params={"offset": 1000}).json()
    assert ids(body) == ALL_IDS[30:35]
    assert body["total"] == len(ALL_IDS)
    assert beyond["models"] == []
    assert beyond["total"] == len(ALL_IDS)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"query": "llama 3.1"}, [m for m in ALL_IDS if "Llama-3.1" in m]),
        ({"family": "qwen"}, [m.tinker_id for m in TINKER_MODELS if m.family == "qwen"]),
        (
            {"algorithm": "ppo"},
            [m.tinker_id for m in TINKER_MODELS if "ppo" in m.supported_algorithms],
        ),
        ({"min_size_b": 30}, [m.tinker_id for m in TINKER_MODELS if m.size_b >= 30]),
        ({"max_size_b": 3}, [m.tinker_id for m in TINKER_MODELS if m.size_b <= 3]),
        (
            {"family": "llama", "min_size_b": 8, "max_size_b": 8},
            ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B"],
        ),
    ],
)
def test_list_catalog_filters_combine(
    api: Api, params: dict[str, object], expected: list[str]
) -> None:
    with api.client() as client:
        body = client.get("/training/catalog", params={**params, "limit": 100}).json()
    assert expected
    assert ids(body) == expected
    assert body["total"] == len(expected)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"family": "mistral"}, "family"),
        ({"algorithm": "dpo"}, "algorithm"),
        ({"query": "--"}, "query"),
        ({"min_size_b": -1}, "min_size_b"),
        ({"min_size_b": 10, "max_size_b": 1}, "min_size_b"),
        ({"family": "query"}, "family"),
        ({"algorithm": "max_size_b"}, "algorithm"),
        ({"max_size_b": "inf"}, "max_size_b"),
        ({"min_size_b": "nan"}, "min_size_b"),
        ({"query": "x" * 201}, "query"),
    ],
)
def test_list_catalog_rejects_bad_filters(api: Api, params: dict[str, object], field: str) -> None:
    with api.client() as client:
        response = client.get("/training/catalog", params=params)
    body = envelope(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", field]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}, {"offset": 2**63}],
)
def test_list_catalog_rejects_out_of_range_paging(api: Api, params: dict[str, object]) -> None:
    with api.client() as client:
        response = client.get("/training/catalog", params=params)
    body = envelope(response, 422, "validation_error")
    assert body["errors"][0]["loc"][:2] == ["query", next(iter(params))]


def test_list_catalog_accepts_longest_query_and_largest_offset(api: Api) -> None:
    with api.client() as client:
        long_query = client.get("/training/catalog", params={"query": "llama " * 33 + "ll"})
        short_query = client.get("/training/catalog", params={"query": "llama ll"})
        far = client.get("/training/catalog", params={"offset": 2**31 - 1})
    assert long_query.status_code == 200
    assert long_query.json() == short_query.json()
    assert long_query.json()["models"]
    assert (far.status_code, far.json()["models"]) == (200, [])


def test_list_catalog_page_cache_stays_bounded() -> None:
    for n in range(PAGE_CACHE_SIZE * 3):
        catalog_page(CatalogFilters(query=f"llama {n}", max_size_b=n / 7), limit=20, offset=0)
    assert pages._cached_page.cache_info().currsize <= PAGE_CACHE_SIZE


def test_read_catalog_with_trailing_slash_redirects_to_list(api: Api) -> None:
    with api.client() as client:
        redirect = client.get("/training/catalog/", params={"limit": 1})
        followed = client.get("/training/catalog/", params={"limit": 1}, follow_redirects=True)
    assert redirect.status_code == 307
    assert redirect.headers["location"].endswith("/api/v1/training/catalog?limit=1")
    assert followed.status_code == 200
    assert ids(followed.json()) == ALL_IDS[:1]


def test_read_catalog_entry_returns_one_model(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/catalog/Qwen/Qwen3-8B")
    assert response.status_code == 200
    assert response.json() == get_model("Qwen/Qwen3-8B").model_dump(mode="json")


def test_read_catalog_entry_accepts_listed_extended_context_id(api: Api) -> None:
    with api.client() as client:
        found = client.get("/training/catalog/Qwen/Qwen3.6-35B-A3B:peft:262144")
        unlisted = client.get("/training/catalog/Qwen/Qwen3.6-35B-A3B:peft:1000")
    assert found.status_code == 200
    assert found.json()["tinker_id"] == "Qwen/Qwen3.6-35B-A3B"
    envelope(unlisted, 404, "not_found_error")


def test_read_catalog_entry_unknown_suggests_near_matches(api: Api) -> None:
    with api.client() as client:
        typo = client.get("/training/catalog/meta-llama/Llama-3.1-8B-Instruc")
        nothing = client.get("/training/catalog/acme/zzzz")
    assert envelope(typo, 404, "not_found_error")["detail"] == (
        "Unknown training base model 'meta-llama/Llama-3.1-8B-Instruc'. Did you mean one of: "
        "meta-llama/Llama-3.1-8B-Instruct, meta-llama/Llama-3.1-8B?"
    )
    assert envelope(nothing, 404, "not_found_error")["detail"] == (
        "Unknown training base model 'acme/zzzz'."
    )


def test_read_catalog_entry_retired_says_when(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/catalog/Qwen/Qwen3.5-27B")
    detail = envelope(response, 404, "not_found_error")["detail"]
    assert detail.startswith("Training base model 'Qwen/Qwen3.5-27B' was retired on 2026-06-12.")
    assert "Did you mean one of: " in detail


@pytest.mark.parametrize(
    "path", ["/training/catalog?family=qwen&limit=3", "/training/catalog/Qwen/Qwen3-8B"]
)
def test_read_catalog_answers_304_for_matching_etag(api: Api, path: str) -> None:
    with api.client() as client:
        first = client.get(path)
        etag = first.headers["etag"]
        cached = client.get(path, headers={"If-None-Match": etag})
        listed = client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
        stale = client.get(path, headers={"If-None-Match": '"stale"'})
    assert first.status_code == 200
    assert (cached.status_code, cached.content, cached.headers["etag"]) == (304, b"", etag)
    assert listed.status_code == 304
    assert (stale.status_code, stale.json()) == (200, first.json())


def test_read_catalog_etag_differs_between_pages(api: Api) -> None:
    with api.client() as client:
        first = client.get("/training/catalog", params={"limit": 2})
        second = client.get("/training/catalog", params={"limit": 2, "offset": 2})
    assert first.headers["etag"] != second.headers["etag"]


def test_read_catalog_accepts_x_api_key(api: Api) -> None:
    with api.client(token=None, **{"X-API-Key": api.tokens["bob"]}) as client:
        response = client.get("/training/catalog", params={"limit": 1})
    assert response.status_code == 200


def test_read_catalog_with_basic_authorization_falls_back_to_x_api_key(api: Api) -> None:
    headers = {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": api.tokens["bob"]}
    with api.client(token=None, **headers) as client:
        response = client.get("/training/catalog", params={"limit": 1})
    assert response.status_code == 200


def test_read_catalog_with_bad_bearer_ignores_x_api_key(api: Api) -> None:
    headers = {"Authorization": "Bearer not-a-token", "X-API-Key": api.tokens["bob"]}
    with api.client(token=None, **headers) as client:
        response = client.get("/training/catalog", params={"limit": 1})
    envelope(response, 401, "authentication_error")
