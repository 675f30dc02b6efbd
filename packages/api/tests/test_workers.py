"""Several uvicorn workers sharing one database: concurrent creation, listing and idempotency,
and a revoked token refused by every worker on its very next request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine

from .conftest import (
    BACKENDS,
    GRADER,
    PREFIX,
    Api,
    LiveServer,
    app_command,
    create_token,
    fresh_database,
    serve_command,
)

WORKERS = 3
#: Connections opened before a revocation, kept alive, so that each stays with one worker.
PINNED = 12
CONCURRENT = 40
JOB = {
    "base_model": "Qwen/Qwen3-8B",
    "method": "rl",
    "dataset": "s3://bucket/prompts.jsonl",
    "grader": GRADER,
}


@pytest.fixture(scope="module", params=BACKENDS)
def pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server with several worker processes on a fresh database of one backend."""
    backend: str = request.param
    directory = tmp_path_factory.mktemp(f"workers-{backend}")
    with fresh_database(backend, directory) as url:
        # The revocation test sends dozens of refused tokens on purpose; the per-address limit on
        # failed sign-ins (tested in test_rate_limits.py) would answer them 429.
        env = {
            "DATABASE_URL": url,
            "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0",
            "DREADNODE_API_FAILED_AUTH_PER_MINUTE": "0",
        }
        api = Api(backend=backend, url="", env=env, engine=create_engine(url))
        api.tokens["alice"] = create_token(env, "--name", "alice")
        server = LiveServer(env, directory / "log", serve_command("--workers", str(WORKERS)))
        api.url, api.server = server.url, server
        try:
            yield api
        finally:
            server.close()
            api.engine.dispose()


async def _burst(api: Api, headers: dict[str, str]) -> list[httpx.Response]:
    auth = {"Authorization": f"Bearer {api.tokens['alice']}", **headers}
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=f"{api.url}{PREFIX}", headers=auth, limits=limits) as c:
        return list(
            await asyncio.gather(*(c.post("/training/jobs", json=JOB) for _ in range(CONCURRENT)))
        )


def test_create_jobs_concurrently_across_workers_keeps_every_job(pool: Api) -> None:
    before = pool.count()
    responses = asyncio.run(_burst(pool, {}))
    assert [r.status_code for r in responses] == [201] * CONCURRENT
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == CONCURRENT
    assert pool.count() == before + CONCURRENT
    with pool.client() as client:
        listed = client.get("/training/jobs", params={"limit": 100}).json()
    assert ids <= {item["id"] for item in listed["jobs"]}


def test_create_job_same_idempotency_key_concurrently_creates_one_job(pool: Api) -> None:
    before = pool.count()
    responses = asyncio.run(_burst(pool, {"Idempotency-Key": "burst"}))
    # Every answer is the first one's (a replay is a 201 too), and all but one say they replay.
    assert [r.status_code for r in responses] == [201] * CONCURRENT
    assert all(r.json() == responses[0].json() for r in responses)
    replayed = [r.headers.get("idempotent-replayed") for r in responses]
    assert sorted(replayed, key=str) == [None] + ["true"] * (CONCURRENT - 1)
    assert pool.count() == before + 1


def _fresh_connection_get(api: Api, token: str) -> httpx.Response:
    """One request on a new connection, so any worker may accept it."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    return httpx.get(f"{api.url}{PREFIX}/training/jobs", headers=headers, timeout=10)


def test_revoked_token_is_refused_at_once_by_every_worker(pool: Api) -> None:
    token = create_token(pool.env, "--name", "revocable")
    auth = {"Authorization": f"Bearer {token}"}
    pinned = [
        httpx.Client(base_url=f"{pool.url}{PREFIX}", headers=auth, timeout=10)
        for _ in range(PINNED)
    ]
    try:

        async def spread() -> list[int]:
            # Many concurrent new connections land on every worker of the three.
            limits = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(headers=auth, limits=limits, timeout=10) as client:
                url = f"{pool.url}{PREFIX}/training/jobs"
                answers = await asyncio.gather(*(client.get(url) for _ in range(CONCURRENT)))
            return [answer.status_code for answer in answers]

        assert asyncio.run(spread()) == [200] * CONCURRENT
        for client in pinned:
            for _ in range(3):
                assert client.get("/training/jobs").status_code == 200

        revoked = app_command("tokens", "revoke", "revocable", env=pool.env)
        assert revoked.returncode == 0, revoked.stderr

        after = [_fresh_connection_get(pool, token) for _ in range(20)]
        after += [client.get("/training/jobs") for client in pinned]
        assert [answer.status_code for answer in after] == [401] * (20 + PINNED)
        assert {answer.json()["type"] for answer in after} == {"authentication_error"}
        assert asyncio.run(spread()) == [401] * CONCURRENT
    finally:
        for client in pinned:
            client.close()
    assert _fresh_connection_get(pool, pool.tokens["alice"]).status_code == 200


def test_serve_says_where_it_serves_and_which_database(pool: Api) -> None:
    assert pool.server is not None
    lines = pool.server.log.read_text().splitlines()
    database = pool.env["DATABASE_URL"]
    shown = database.removeprefix("sqlite:///") if pool.backend == "sqlite" else database
    assert lines[0] == f"database: {shown}"
    url = f"{pool.url}{PREFIX}"
    assert lines[1] == f"serving:  {url}  (docs at {url}/docs)"
