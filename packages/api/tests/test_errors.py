"""Every error status the API produces, each in the canonical envelope, through real servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from .conftest import PREFIX, Api, LiveServer, create_token, envelope

SDK_AGENT = "dreadnode-training/{}"


@pytest.mark.parametrize("path", ["/health", f"{PREFIX}/health"])
def test_read_health_needs_no_token_and_reports_database(api: Api, path: str) -> None:
    response = httpx.get(f"{api.url}{path}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "database", "version"}
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert isinstance(body["version"], str)


@pytest.mark.parametrize(
    ("path", "token"),
    [
        ("/health", False),
        (f"{PREFIX}/health", False),
        (f"{PREFIX}/training/catalog?limit=2", True),
        (f"{PREFIX}/training/catalog/Qwen/Qwen3-8B", True),
        (f"{PREFIX}/training/catalog/acme/zzzz", True),
        (f"{PREFIX}/training/jobs", True),
        (f"{PREFIX}/training/catalog", False),
    ],
    ids=["health", "api-health", "catalog", "entry", "unknown-entry", "jobs", "no-token"],
)
def test_head_answers_like_get_without_body(api: Api, path: str, token: bool) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['alice']}"} if token else {}
    got = httpx.get(f"{api.url}{path}", headers=headers)
    head = httpx.head(f"{api.url}{path}", headers=headers)
    assert head.status_code == got.status_code
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "www-authenticate"):
        assert head.headers.get(name) == got.headers.get(name), name


def test_head_on_post_only_route_is_405(api: Api) -> None:
    with api.client() as client:
        response = client.head("/training/jobs/x/cancel")
    assert (response.status_code, response.content) == (405, b"")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer dn_0123456789ab_" + "A" * 43},
        {"X-API-Key": "dn_0123456789ab_" + "A" * 43},
    ],
    ids=["missing", "empty", "basic", "malformed", "unknown", "unknown-api-key"],
)
def test_read_catalog_without_valid_token_is_401(api: Api, headers: dict[str, str]) -> None:
    with api.client(token=None, **headers) as client:
        response = client.get("/training/catalog")
    body = envelope(response, 401, "authentication_error")
    assert body["detail"] == "Authentication failed"
    assert body["errors"] == []


def test_read_jobs_with_right_prefix_but_wrong_secret_is_401(api: Api) -> None:
    real = api.tokens["alice"]
    forged = real[:16] + ("B" if real[16] != "B" else "C") + real[17:]
    with api.client(token=forged) as client:
        envelope(client.get("/training/jobs"), 401, "authentication_error")


@pytest.mark.parametrize("path", [f"{PREFIX}/nope", "/nope", f"{PREFIX}/training"])
def test_request_unknown_route_is_404(api: Api, path: str) -> None:
    response = httpx.get(f"{api.url}{path}", headers={"Authorization": "Bearer x"})
    envelope(response, 404, "not_found_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/training/jobs"),
        ("PUT", "/training/catalog"),
        ("POST", "/training/catalog/Qwen/Qwen3-8B"),
        ("GET", "/training/jobs/x/cancel"),
        ("POST", "/health"),
    ],
)
def test_request_wrong_method_is_405(api: Api, method: str, path: str) -> None:
    with api.client() as client:
        response = client.request(method, path)
    envelope(response, 405, "method_not_allowed_error")
    assert response.headers["allow"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/training/jobs", "GET, HEAD, POST"), ("/training/jobs/x/cancel", "POST")],
)
def test_405_allow_names_every_method_of_the_path(api: Api, path: str, allowed: str) -> None:
    # GET and POST /training/jobs are two routes; Allow must name both, not the first matched.
    with api.client() as client:
        response = client.request("OPTIONS", path)
    body = envelope(response, 405, "method_not_allowed_error")
    assert response.headers["allow"] == allowed
    assert body["detail"] == f"Method OPTIONS not allowed; this path answers {allowed}"


def test_request_with_current_sdk_user_agent_passes(api: Api) -> None:
    with api.client(**{"User-Agent": SDK_AGENT.format("0.1.0")}) as client:
        assert client.get("/training/catalog", params={"limit": 1}).status_code == 200


def test_request_with_broken_database_is_500_without_traceback(api: Api) -> None:
    assert api.server is not None
    with api.engine.begin() as connection:
        connection.execute(text("ALTER TABLE jobs RENAME TO jobs_moved_away"))
    try:
        with api.client() as client:
            response = client.get("/training/jobs")
    finally:
        with api.engine.begin() as connection:
            connection.execute(text("ALTER TABLE jobs_moved_away RENAME TO jobs"))
    body = envelope(response, 500, "server_error")
    assert body["detail"] == "Internal server error"
    assert "jobs" not in response.text
    assert "Traceback" in api.server.log.read_text()
    with api.client() as client:
        assert client.get("/training/jobs").status_code == 200


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A SQLite server that allows 3 requests per minute per token (the SDK version check is
    tested in test_hostile_input.py)."""
    directory = tmp_path_factory.mktemp("strict")
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'api.db'}",
        "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "3",
    }
    api = Api(backend="sqlite", url="", env=env, engine=None)  # type: ignore[arg-type]
    api.tokens["alice"] = create_token(env, "--name", "alice")
    api.tokens["bob"] = create_token(env, "--name", "bob")
    server = LiveServer(env, directory / "server.log")
    api.url, api.server = server.url, server
    try:
        yield api
    finally:
        server.close()


def test_request_over_rate_limit_is_429_with_retry_after(strict: Api) -> None:
    with strict.client("alice") as alice, strict.client("bob") as bob:
        allowed = [alice.get("/training/catalog", params={"limit": 1}) for _ in range(3)]
        limited = alice.get("/training/catalog", params={"limit": 1})
        other = bob.get("/training/catalog", params={"limit": 1})
    assert [response.status_code for response in allowed] == [200, 200, 200]
    envelope(limited, 429, "rate_limit_error")
    assert int(limited.headers["retry-after"]) >= 1
    assert other.status_code == 200


def test_read_health_with_unreachable_database_is_503(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'api.db'}"}
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    server = LiveServer(env, tmp_path / "server.log", [*command, "--port", "{port}"])
    try:
        response = httpx.get(f"{server.url}/health")
    finally:
        server.close()
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unreachable", "version": ANY_STR}


class _AnyStr(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)

    __hash__ = str.__hash__


ANY_STR = _AnyStr()
