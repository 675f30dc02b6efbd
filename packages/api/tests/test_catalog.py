"""The catalog endpoints, through a real server: filters, paging, lookups, ETags."""

from __future__ import annotations

from datetime import date

import pytest

from app.training import pages
from app.training.catalog import (
    TINKER_RETIREMENTS,
    TrainingModel,
    filter_training_models,
    get_training_model,
    retired_training_models,
)
from app.training.pages import PAGE_CACHE_SIZE, CatalogFilters, catalog_page

from .conftest import (
    RETIRING,
    WRONG_SUFFIXES,
    Api,
    assert_no_retiring_headers,
    assert_retiring_headers,
    envelope,
)

#: The models served today, in catalog order (retired ones are never listed).
SERVED = filter_training_models()
ALL_IDS = [model.tinker_id for model in SERVED]
JUNE_RETIREMENTS = [r for r in TINKER_RETIREMENTS if r.retired_on == date(2026, 6, 12)]


def public(model: TrainingModel, lifecycle: str = "available") -> dict[str, object]:
    """An entry as the API answers it with no price list (test servers fetch none)."""
    return {**model.model_dump(mode="json"), "lifecycle": lifecycle, "price": None}


def get_model(tinker_id: str) -> TrainingModel:
    return get_model_on(tinker_id, None)


def get_model_on(tinker_id: str, day: date | None) -> TrainingModel:
    model = get_training_model(tinker_id, on=day)
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
    assert body["models"][0] == public(SERVED[0])


def test_list_catalog_pages_with_limit_and_offset(api: Api) -> None:
    with api.client() as client:
        body = client.get("/training/catalog", params={"limit": 5, "offset": 20}).json()
        beyond = client.get("/training/catalog", params={"offset": 1000}).json()
    assert ids(body) == ALL_IDS[20:25]
    assert body["total"] == len(ALL_IDS)
    assert beyond["models"] == []
    assert beyond["total"] == len(ALL_IDS)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"query": "qwen 3.5"}, [m for m in ALL_IDS if "Qwen3.5" in m]),
        ({"family": "qwen"}, [m.tinker_id for m in SERVED if m.family == "qwen"]),
        (
            {"algorithm": "ppo"},
            [m.tinker_id for m in SERVED if "ppo" in m.supported_algorithms],
        ),
        ({"min_size_b": 30}, [m.tinker_id for m in SERVED if m.size_b >= 30]),
        ({"max_size_b": 3}, [m.tinker_id for m in SERVED if m.size_b <= 3]),
        (
            {"family": "qwen", "min_size_b": 9, "max_size_b": 9},
            ["Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B-Base"],
        ),
        ({"kind": "base"}, ["Qwen/Qwen3.5-9B-Base", "Qwen/Qwen3.5-35B-A3B-Base"]),
        (
            {"vision": "true", "family": "nemotron"},
            ["nvidia/NVIDIA-Nemotron-3.5-Super-VL-120B-A12B-BF16"],
        ),
        ({"vision": "false"}, [m.tinker_id for m in SERVED if m.vision is False]),
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
        ({"kind": "instruct"}, "kind"),
        ({"vision": "maybe"}, "vision"),
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
        long_query = client.get("/training/catalog", params={"query": "qwen " * 39 + "qw"})
        short_query = client.get("/training/catalog", params={"query": "qwen qw"})
        far = client.get("/training/catalog", params={"offset": 2**31 - 1})
    assert long_query.status_code == 200
    assert long_query.json() == short_query.json()
    assert long_query.json()["models"]
    assert (far.status_code, far.json()["models"]) == (200, [])


def test_list_catalog_page_cache_stays_bounded() -> None:
    for n in range(PAGE_CACHE_SIZE * 3):
        filters = CatalogFilters(query=f"qwen {n}", max_size_b=n / 7)
        catalog_page(filters, limit=20, offset=0, day=date(2026, 12, 1))
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
    assert response.json() == public(get_model("Qwen/Qwen3-8B"))
    assert_no_retiring_headers(response)


@pytest.mark.parametrize(
    ("tinker_id", "context"),
    [
        ("Qwen/Qwen3.6-35B-A3B:peft:262144", 262144),
        ("openai/gpt-oss-120b:peft:131072", 131072),
        ("zai-org/GLM-5.3:peft:262144", 262144),  # served only with its suffix
    ],
)
def test_read_catalog_entry_describes_a_peft_id_as_itself(
    api: Api, tinker_id: str, context: int
) -> None:
    with api.client() as client:
        found = client.get(f"/training/catalog/{tinker_id}")
    assert found.status_code == 200
    body = found.json()
    assert (body["tinker_id"], body["context_length"]) == (tinker_id, context)
    assert body["extended_context"] is False
    assert body == public(get_model(tinker_id))


@pytest.mark.parametrize(
    ("path", "detail"),
    WRONG_SUFFIXES,
)
def test_read_catalog_entry_wrong_suffix_is_answered_specifically(
    api: Api, path: str, detail: str
) -> None:
    with api.client() as client:
        response = client.get(f"/training/catalog/{path}")
    assert envelope(response, 404, "not_found_error")["detail"] == detail


def test_read_catalog_entry_unknown_suggests_near_matches(api: Api) -> None:
    with api.client() as client:
        typo = client.get("/training/catalog/Qwen/Qwen3.5-9B-Bas")
        nothing = client.get("/training/catalog/acme/zzzz")
    assert envelope(typo, 404, "not_found_error")["detail"] == (
        "Unknown training base model 'Qwen/Qwen3.5-9B-Bas'. Did you mean one of: "
        "Qwen/Qwen3.5-9B-Base, Qwen/Qwen3.5-9B?"
    )
    assert envelope(nothing, 404, "not_found_error")["detail"] == (
        "Unknown training base model 'acme/zzzz'."
    )


def test_read_catalog_entry_typo_of_a_retired_id_names_it_first(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/catalog/Qwen/Qwen3-30B-A3")
    assert envelope(response, 404, "not_found_error")["detail"] == (
        "Unknown training base model 'Qwen/Qwen3-30B-A3'. The nearest id, Qwen/Qwen3-30B-A3B, "
        "was retired on 2026-06-12; Tinker recommends Qwen/Qwen3.6-35B-A3B instead. "
        "Did you mean one of: Qwen/Qwen3.6-35B-A3B, Qwen/Qwen3.5-35B-A3B-Base?"
    )


def test_read_catalog_entry_retired_names_date_and_replacement(api: Api) -> None:
    with api.client() as client:
        replaced = client.get(f"/training/catalog/{RETIRING}")
        unreplaced = client.get("/training/catalog/Qwen/Qwen3.5-27B")
    assert envelope(replaced, 404, "not_found_error")["detail"] == (
        "Training base model 'meta-llama/Llama-3.1-8B' was retired on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
    )
    assert envelope(unreplaced, 404, "not_found_error")["detail"] == (
        "Training base model 'Qwen/Qwen3.5-27B' was retired on 2026-06-12."
    )


def test_list_retired_models_with_dates_and_replacements(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/catalog/retired")
    assert response.status_code == 200
    body = response.json()
    retired = retired_training_models()  # today's, as the unpinned server judges
    assert body == {"retired": [r.model_dump(mode="json") for r in retired], "total": len(retired)}
    assert body["total"] >= 21  # every retirement the reference lists is past
    assert body["retired"][0] == {
        "tinker_id": "meta-llama/Llama-3.1-8B",
        "retired_on": "2026-06-12",
        "replacement": "Qwen/Qwen3.5-9B-Base",
        "announced_on": "2026-05-18",
    }


def test_retiring_model_is_listed_with_its_lifecycle_and_headers(api_before_june: Api) -> None:
    with api_before_june.client() as client:
        listed = client.get("/training/catalog", params={"family": "llama", "limit": 100})
        entry = client.get(f"/training/catalog/{RETIRING}")
        cached = client.get(
            f"/training/catalog/{RETIRING}", headers={"If-None-Match": entry.headers["etag"]}
        )
        unreplaced = client.get("/training/catalog/meta-llama/Llama-3.1-8B-Instruct")
        retired = client.get("/training/catalog/retired")
    assert ids(listed.json()) == [
        "meta-llama/Llama-3.1-8B-Instruct",
        RETIRING,
        "meta-llama/Llama-3.1-70B",
        "meta-llama/Llama-3.3-70B-Instruct",
        "meta-llama/Llama-3.2-3B",
        "meta-llama/Llama-3.2-1B",
    ]
    assert {m["lifecycle"] for m in listed.json()["models"]} == {"retiring"}
    assert_no_retiring_headers(listed)  # a listing is about many models; each says its own
    assert entry.status_code == 200
    assert entry.json() == public(get_model_on(RETIRING, date(2026, 6, 1)), "retiring")
    assert entry.json()["retirement"] == {
        "tinker_id": RETIRING,
        "retired_on": "2026-06-12",
        "replacement": "Qwen/Qwen3.5-9B-Base",
        "announced_on": "2026-05-18",
    }
    assert_retiring_headers(entry)
    assert cached.status_code == 304
    assert_retiring_headers(cached)
    assert_retiring_headers(unreplaced, successor=None)
    assert retired.json() == {"retired": [], "total": 0}


def test_read_catalog_on_retirement_day_refuses_what_was_retiring(
    api_on_retirement_day: Api,
) -> None:
    with api_on_retirement_day.client() as client:
        entry = client.get(f"/training/catalog/{RETIRING}")
        listed = client.get("/training/catalog", params={"family": "llama", "limit": 100})
        retired = client.get("/training/catalog/retired")
        later = client.get("/training/catalog/Qwen/Qwen3.6-27B")
    assert envelope(entry, 404, "not_found_error")["detail"] == (
        "Training base model 'meta-llama/Llama-3.1-8B' was retired on 2026-06-12; "
        "Tinker recommends Qwen/Qwen3.5-9B-Base instead."
    )
    assert_no_retiring_headers(entry)
    assert (listed.json()["models"], listed.json()["total"]) == ([], 0)
    assert retired.json() == {
        "retired": [r.model_dump(mode="json") for r in JUNE_RETIREMENTS],
        "total": 19,
    }
    # Qwen3.6-27B's retirement was announced on 2026-08-19: on 2026-06-12 nobody knew of it yet.
    assert later.json()["lifecycle"] == "available"
    assert_no_retiring_headers(later)


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
