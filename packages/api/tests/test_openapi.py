"""The served OpenAPI document says what the wire does: every error status of every operation is
the envelope, both token schemes are declared, the job body is the operation's request body, and
the docs pages load with no network."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from .conftest import PREFIX, Api, envelope

#: Every operation and the statuses it documents: each one the code can answer with.
DOCUMENTED_STATUSES = {
    ("get", "/health"): {200, 422, 500, 503},
    ("get", f"{PREFIX}/health"): {200, 422, 500, 503},
    ("get", f"{PREFIX}/training/catalog"): {200, 304, 401, 422, 426, 429, 500, 503},
    ("get", f"{PREFIX}/training/catalog/retired"): {200, 304, 401, 422, 426, 429, 500, 503},
    ("get", f"{PREFIX}/training/catalog/{{tinker_id}}"): {
        *(200, 304, 401, 404, 422, 426, 429, 500, 503)
    },
    ("post", f"{PREFIX}/training/jobs"): {
        *(201, 400, 401, 403, 408, 409, 413, 415, 422, 426, 429, 500, 503)
    },
    ("get", f"{PREFIX}/training/jobs"): {200, 401, 422, 426, 429, 500, 503},
    ("post", f"{PREFIX}/training/jobs/validate"): {
        *(200, 400, 401, 408, 413, 415, 422, 426, 429, 500, 503)
    },
    ("get", f"{PREFIX}/training/jobs/{{job_id}}"): {200, 401, 404, 422, 426, 429, 500, 503},
    ("post", f"{PREFIX}/training/jobs/{{job_id}}/cancel"): {
        *(200, 401, 403, 404, 409, 422, 426, 429, 500, 503)
    },
    ("get", f"{PREFIX}/training/jobs/{{job_id}}/events"): {200, 401, 404, 422, 426, 429, 500, 503},
    ("get", f"{PREFIX}/training/jobs/{{job_id}}/metrics"): {200, 401, 404, 422, 426, 429, 500, 503},
    ("post", f"{PREFIX}/training/datasets"): {
        *(200, 201, 400, 401, 403, 408, 413, 415, 422, 426, 429, 500, 503)
    },
    ("get", f"{PREFIX}/training/datasets"): {200, 401, 422, 426, 429, 500, 503},
    ("get", f"{PREFIX}/training/datasets/{{dataset_id}}"): {
        *(200, 401, 404, 422, 426, 429, 500, 503)
    },
    ("delete", f"{PREFIX}/training/datasets/{{dataset_id}}"): {
        *(204, 401, 403, 404, 409, 422, 426, 429, 500, 503)
    },
    ("get", f"{PREFIX}/training/models"): {200, 401, 422, 426, 429, 500, 503},
    ("get", f"{PREFIX}/training/models/{{model_id}}"): {200, 401, 404, 422, 426, 429, 500, 503},
    ("patch", f"{PREFIX}/training/models/{{model_id}}"): {
        *(200, 400, 401, 403, 404, 408, 409, 413, 415, 422, 426, 429, 500, 503)
    },
    ("delete", f"{PREFIX}/training/models/{{model_id}}"): {
        *(204, 401, 403, 404, 409, 422, 426, 429, 500, 503)
    },
    ("post", f"{PREFIX}/training/models/{{model_id}}/sample"): {
        *(200, 400, 401, 404, 408, 409, 413, 415, 422, 426, 429, 500, 502, 503)
    },
}

#: The API reference's wording of each error status.
SEED_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Authentication failed",
    403: "Access forbidden",
    404: "Not found",
    408: "Request timeout",
    409: "Already exists",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Validation error",
    426: "Upgrade required",
    429: "Rate limited",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}

ENVELOPE_REF = "#/components/schemas/ErrorResponse"


@pytest.fixture(scope="module")
def schema(api: Api) -> dict[str, Any]:
    response = httpx.get(f"{api.url}{PREFIX}/openapi.json", timeout=30)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def test_every_operation_documents_each_status_it_can_return(schema: dict[str, Any]) -> None:
    documented = {
        key: {int(status) for status in operation["responses"]}
        for key, operation in operations(schema).items()
    }
    assert documented == DOCUMENTED_STATUSES


def test_every_error_response_is_the_envelope(schema: dict[str, Any]) -> None:
    for (method, path), operation in operations(schema).items():
        for status, response in operation["responses"].items():
            if int(status) < 400 or (path.endswith("/health") and status == "503"):
                continue
            content = response["content"]
            assert list(content) == ["application/json"], (method, path, status)
            assert content["application/json"]["schema"] == {"$ref": ENVELOPE_REF}
            expected = SEED_DESCRIPTIONS[int(status)]
            if int(status) in {400, 403, 404, 409, 422}:
                # Those an operation words for itself say what it means there.
                assert response["description"], (method, path, status)
            else:
                assert response["description"] == expected, (method, path, status)


def test_generic_error_descriptions_match_the_reference(schema: dict[str, Any]) -> None:
    catalog = schema["paths"][f"{PREFIX}/training/catalog"]["get"]["responses"]
    assert {
        int(status): catalog[status]["description"] for status in catalog if int(status) >= 400
    } == {status: SEED_DESCRIPTIONS[status] for status in (401, 422, 426, 429, 500, 503)}
    assert catalog["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert catalog["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert "WWW-Authenticate" in catalog["401"]["headers"]


def test_the_envelope_schema_has_the_reference_names_and_descriptions(
    schema: dict[str, Any],
) -> None:
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert "ValidationError" not in components
    error = components["ErrorResponse"]
    assert error["description"] == "Canonical API error envelope returned by the API."
    assert sorted(error["required"]) == ["code", "detail", "errors", "type"]
    assert error["properties"]["code"]["description"] == "HTTP status code"
    assert error["properties"]["detail"]["description"] == "Human-readable error message"
    assert error["properties"]["type"]["description"] == "Stable machine-readable error type"
    entry = components["ErrorEntry"]["properties"]
    assert entry["loc"]["description"] == "Where the validation error occurred"
    assert entry["msg"]["description"] == "Human-readable validation message"
    assert entry["type"]["description"] == "Machine-readable validation error type"


def test_the_catalog_page_has_the_reference_names(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    ok = schema["paths"][f"{PREFIX}/training/catalog"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/TrainingCatalogResponse"
    page = components["TrainingCatalogResponse"]
    assert page["description"] == "Paginated list response for GET /training/catalog."
    assert page["properties"]["models"]["items"] == {
        "$ref": "#/components/schemas/CatalogEntryPublic"
    }
    entry = components["CatalogEntryPublic"]
    assert entry["description"] == "One base model available for hosted training jobs."


def test_both_token_schemes_guard_every_training_operation(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {**schemes["BearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["APIKeyHeader"] == {
        **schemes["APIKeyHeader"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    for (method, path), operation in operations(schema).items():
        if path.endswith("/health"):
            assert "security" not in operation, (method, path)
        else:
            # Either scheme alone suffices: two requirement objects, not one with both.
            assert operation["security"] == [{"BearerToken": []}, {"APIKeyHeader": []}]


QUOTA_HEADERS = {
    f"{prefix}RateLimit-{name}" for prefix in ("", "X-") for name in ("Limit", "Remaining", "Reset")
}


def test_the_quota_headers_are_documented_where_they_are_sent(schema: dict[str, Any]) -> None:
    """A client reading the schema learns of the headers the middleware adds to each answer
    after the token is counted (``test_rate_limits`` sees them sent); the 401 given before it
    documents none."""
    for (method, path), operation in operations(schema).items():
        if path.endswith("/health"):
            continue
        responses = operation["responses"]
        success = next(status for status in responses if status.startswith("2"))
        assert set(responses[success]["headers"]) >= QUOTA_HEADERS, (method, path)
        assert set(responses["429"]["headers"]) >= QUOTA_HEADERS, (method, path)
        assert not QUOTA_HEADERS & set(responses["401"]["headers"]), (method, path)
        header = responses[success]["headers"]["RateLimit-Remaining"]
        assert header["schema"] == {"type": "integer"}


@pytest.mark.parametrize("path", ["/training/jobs", "/training/jobs/validate"])
def test_the_job_body_is_the_operations_request_body(schema: dict[str, Any], path: str) -> None:
    body = schema["paths"][f"{PREFIX}{path}"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}}
    }
    job = schema["components"]["schemas"]["JobCreate"]
    assert sorted(job["required"]) == ["base_model", "dataset", "method"]
    assert job["additionalProperties"] is False


def test_a_body_breaking_schema_and_catalog_rules_reports_both_at_once(api: Api) -> None:
    # FastAPI reads the body, but every violation still comes back in one answer.
    body = {
        "base_model": "Qwen/Qwen3-8B-Typo",
        "method": "sft",
        "dataset": "s3://b/t.jsonl",
        "hyperparameters": {"epochs": 0},
    }
    with api.client() as client:
        response = client.post("/training/jobs", json=body)
    errors = envelope(response, 422, "validation_error")["errors"]
    assert [item["type"] for item in errors] == ["greater_than_equal", "unknown_base_model"]


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_pages_load_their_assets_from_the_server(api: Api, page: str) -> None:
    html = httpx.get(f"{api.url}{PREFIX}/{page}", timeout=30)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert sources, html.text
    for source in sources:
        assert source.startswith(f"{PREFIX}/"), source  # nothing fetched from another host
        asset = httpx.get(f"{api.url}{source}", timeout=30)
        assert asset.status_code == 200, source
    assert f"{PREFIX}/openapi.json" in html.text


def test_the_documented_job_example_is_accepted_today(api: Api, schema: dict[str, Any]) -> None:
    # The docs page's "Try it out" starts from it: it must name a model Tinker serves today. Its
    # dataset is a URI (no id of the reader's can be in a document), so it is not checked.
    (example,) = schema["components"]["schemas"]["JobCreate"]["examples"]
    with api.client() as client:
        verdict = client.post("/training/jobs/validate", json=example).json()
    warned = [warning["type"] for warning in verdict["warnings"]]
    assert (verdict["valid"], warned) == (True, ["dataset_not_checked"]), verdict
