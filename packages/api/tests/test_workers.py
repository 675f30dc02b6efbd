"""Several uvicorn workers sharing one database: concurrent creation, listing and idempotency."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine

from .conftest import BACKENDS, PREFIX, Api, Server, create_token, fresh_database

WORKERS = 2
CONCURRENT = 40
JOB = {"base_model": "Qwen/Qwen3-8B", "method": "rl", "dataset": "s3://bucket/prompts.jsonl"}


@pytest.fixture(scope="module", params=BACKENDS)
def pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server with several worker processes on a fresh database of one backend."""
    backend: str = request.param
    directory = tmp_path_factory.mktemp(f"workers-{backend}")
    with fresh_database(backend, directory) as url:
        env = {"DATABASE_URL": url, "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0"}
        api = Api(backend=backend, url="", env=env, engine=create_engine(url))
        api.tokens["alice"] = create_token(env, "--name", "alice")
        command = [sys.executable, "-m", "app", "serve", "--port", "{port}"]
        server = Server(
            [*command, "--workers", str(WORKERS), "--no-access-log"], env, directory / "log"
        )
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
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (CONCURRENT - 1) + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert pool.count() == before + 1
