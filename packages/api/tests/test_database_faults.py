"""The API when its database fails: down, hung or locked, it answers 503 with ``Retry-After``
within a few seconds on every database-backed route, ``/health`` says ``degraded`` within its
own timeout, nothing is written, and the same server recovers by itself once the database does.

On PostgreSQL the server reaches its database through a TCP proxy this module owns
(``app.testing.TcpProxy``), switched between passing, refusing (down) and black-holing (hung:
connections accepted, nothing answered, open ones included). On SQLite another connection holds
the write lock. Every client call has a timeout and every test a deadline (``deadline``).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.db import Database, DatabaseLimits
from app.testing import TcpProxy

from .conftest import (
    BACKENDS,
    PREFIX,
    Api,
    LiveServer,
    create_token,
    envelope,
    fresh_database,
    running_api,
)

#: No test here may take longer, whatever the server does.
TEST_SECONDS = 60
#: Every request's own timeout: far above any bound the server promises, so a hang shows.
CLIENT_SECONDS = 20.0
#: The defaults the server runs with here (``Settings``).
HEALTH_SECONDS = 2.0
CONNECT_SECONDS = 3.0
STATEMENT_SECONDS = 5.0
#: Scheduling slack on a loaded CI machine, on top of a bound.
SLACK_SECONDS = 1.5
#: The SQLite busy timeout the lock tests run with (short, so they are quick).
BUSY_SECONDS = 2.0

JOB = {"base_model": "Qwen/Qwen3-8B", "method": "sft", "dataset": "s3://bucket/train.jsonl"}
#: PostgreSQL as ``BACKENDS`` has it: skipped when ``TEST_DATABASE_URL`` is unset.
POSTGRES = BACKENDS[1]


class DeadlineError(Exception):
    """A test ran past ``TEST_SECONDS``."""


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    """Fail any test still running after ``TEST_SECONDS`` (SIGALRM interrupts a blocked call)."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise DeadlineError(f"the test ran longer than {TEST_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TEST_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Answer:
    """A response and how long it took to come."""

    response: httpx.Response
    seconds: float


def timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> Answer:
    start = time.monotonic()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return Answer(response, time.monotonic() - start)


def assert_unavailable(answer: Answer, within: float) -> None:
    """A 503 in the envelope, with a ``Retry-After`` in whole seconds, within ``within`` s."""
    envelope(answer.response, 503, "service_unavailable_error")
    assert int(answer.response.headers["Retry-After"]) >= 1
    assert answer.seconds < within, f"{answer.response.request.url} took {answer.seconds:.1f} s"


def assert_degraded(answer: Answer) -> None:
    assert answer.response.status_code == 503
    body = answer.response.json()
    assert body["status"] == "degraded"
    assert body["database"] == "unreachable"
    assert answer.seconds < HEALTH_SECONDS + SLACK_SECONDS, f"/health took {answer.seconds:.1f} s"


# --- PostgreSQL behind a proxy -------------------------------------------------------------


@dataclass
class Proxied:
    """A server whose database connections all go through ``proxy``."""

    api: Api
    proxy: TcpProxy
    job_id: str

    def client(self, token: str = "alice") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api.tokens.get(token, token)}"}
        return httpx.Client(base_url=self.api.url, headers=headers, timeout=CLIENT_SECONDS)


@pytest.fixture(scope="module", params=[POSTGRES])
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    """A server on a fresh PostgreSQL schema, through a proxy (skipped without PostgreSQL)."""
    directory = tmp_path_factory.mktemp("proxied")
    with fresh_database("postgresql", directory) as direct_url:
        direct = make_url(direct_url)
        proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
        through = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        # Tokens are made straight on the database; only the server goes through the proxy.
        direct_env = {"DATABASE_URL": direct_url}
        env = {"DATABASE_URL": through, "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0"}
        engine = create_engine(direct_url)
        api = Api(backend="postgresql", url="", env=env, engine=engine)
        for name in ("alice", "unused", "spare"):
            api.tokens[name] = create_token(direct_env, "--name", name)
        try:
            with LiveServer(env, directory / "server.log") as server:
                api.url, api.server = server.url, server
                with httpx.Client(base_url=server.url, timeout=CLIENT_SECONDS) as client:
                    auth = {"Authorization": f"Bearer {api.tokens['alice']}"}
                    made = client.post(f"{PREFIX}/training/jobs", json=JOB, headers=auth)
                assert made.status_code == 201, made.text
                yield Proxied(api, proxy, made.json()["id"])
        finally:
            proxy.close()
            engine.dispose()


@pytest.fixture
def proxied(proxied_server: Proxied) -> Iterator[Proxied]:
    """The proxied server with its database passing again after each test, and answering."""
    yield proxied_server
    proxied_server.proxy.set_mode("pass")
    with proxied_server.client() as client:
        for _ in range(50):
            if client.get("/health").status_code == 200:
                break
            time.sleep(0.1)


def _database_routes(job_id: str) -> list[tuple[str, str, dict[str, object]]]:
    """One request to every route that needs the database (each authenticates against it)."""
    jobs = f"{PREFIX}/training/jobs"
    return [
        ("GET", f"{PREFIX}/training/catalog", {}),
        ("GET", f"{PREFIX}/training/catalog/retired", {}),
        ("GET", f"{PREFIX}/training/catalog/Qwen/Qwen3-8B", {}),
        ("GET", jobs, {}),
        ("POST", jobs, {"json": JOB}),
        ("POST", f"{jobs}/validate", {"json": JOB}),
        ("GET", f"{jobs}/{job_id}", {}),
        ("GET", f"{jobs}/{job_id}/events", {}),
        ("POST", f"{jobs}/{job_id}/cancel", {}),
    ]


async def _all_at_once(
    proxied: Proxied, requests: list[tuple[str, str, dict[str, object]]], token: str = "alice"
) -> list[Answer]:
    headers = {"Authorization": f"Bearer {proxied.api.tokens[token]}"}
    async with httpx.AsyncClient(
        base_url=proxied.api.url, headers=headers, timeout=CLIENT_SECONDS
    ) as client:

        async def one(method: str, path: str, kwargs: dict[str, object]) -> Answer:
            start = time.monotonic()
            response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
            return Answer(response, time.monotonic() - start)

        return list(await asyncio.gather(*(one(m, p, k) for m, p, k in requests)))


def test_database_passing_answers_every_route(proxied: Proxied) -> None:
    with proxied.client() as client:
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["database"] == "ok"
    routes = [r for r in _database_routes(proxied.job_id) if not r[1].endswith("/cancel")]
    answers = asyncio.run(_all_at_once(proxied, routes))
    assert [a.response.status_code for a in answers] == [200, 200, 200, 200, 201, 200, 200, 200]


def test_black_hole_health_answers_degraded_within_its_timeout(proxied: Proxied) -> None:
    proxied.proxy.set_mode("black-hole")
    with proxied.client() as client:
        for path in ("/health", f"{PREFIX}/health", "/health"):
            assert_degraded(timed(client, "GET", path))


def test_black_hole_every_database_route_answers_503_within_seconds(proxied: Proxied) -> None:
    before = proxied.api.count()
    proxied.proxy.set_mode("black-hole")
    # All at once, as clients would keep coming: none waits for another's timeout.
    answers = asyncio.run(_all_at_once(proxied, _database_routes(proxied.job_id)))
    for answer in answers:
        assert_unavailable(answer, within=CONNECT_SECONDS + SLACK_SECONDS)
    # And again, now that the pool holds no connection that answered before the hang.
    for answer in asyncio.run(_all_at_once(proxied, _database_routes(proxied.job_id)[:3])):
        assert_unavailable(answer, within=CONNECT_SECONDS + SLACK_SECONDS)
    proxied.proxy.set_mode("pass")
    assert proxied.api.count() == before
    with proxied.client() as client:
        job = client.get(f"{PREFIX}/training/jobs/{proxied.job_id}")
    assert job.json()["status"] == "queued"  # the cancel did not happen either


def test_database_down_token_never_seen_gets_503_not_401(proxied: Proxied) -> None:
    for mode in ("black-hole", "refuse"):
        proxied.proxy.set_mode(mode)
        with proxied.client("unused") as client:
            answer = timed(client, "GET", f"{PREFIX}/training/catalog")
        assert_unavailable(answer, within=CONNECT_SECONDS + SLACK_SECONDS)
        # A token that cannot be one is refused without asking the database.
        with proxied.client("dn_not_a_token") as client:
            assert envelope(client.get(f"{PREFIX}/training/jobs"), 401, "authentication_error")
    proxied.proxy.set_mode("pass")
    with proxied.client("unused") as client:
        assert client.get(f"{PREFIX}/training/catalog").status_code == 200


def test_refused_database_answers_503_at_once(proxied: Proxied) -> None:
    before = proxied.api.count()
    proxied.proxy.set_mode("refuse")
    with proxied.client() as client:
        health = timed(client, "GET", "/health")
    assert_degraded(health)
    assert health.seconds < 1.0
    for answer in asyncio.run(_all_at_once(proxied, _database_routes(proxied.job_id))):
        assert_unavailable(answer, within=1.0 + SLACK_SECONDS)
    proxied.proxy.set_mode("pass")
    assert proxied.api.count() == before


def test_outage_then_recovery_same_server_answers_200(proxied: Proxied) -> None:
    assert proxied.api.server is not None
    process = proxied.api.server.process
    with proxied.client() as client:
        for mode in ("black-hole", "refuse"):
            proxied.proxy.set_mode(mode)
            assert_unavailable(timed(client, "GET", f"{PREFIX}/training/jobs"), within=4.5)
            proxied.proxy.set_mode("pass")
            # The very next requests, with no restart and no wait, find the database again.
            health = timed(client, "GET", "/health")
            assert health.response.status_code == 200, health.response.text
            assert health.response.json()["database"] == "ok"
            listed = client.get(f"{PREFIX}/training/jobs")
            assert listed.status_code == 200
            made = client.post(f"{PREFIX}/training/jobs", json=JOB)
            assert made.status_code == 201
            assert client.get(f"{PREFIX}/training/jobs/{made.json()['id']}").status_code == 200
    assert process.poll() is None


def test_locked_table_answers_503_after_the_statement_timeout(proxied: Proxied) -> None:
    with proxied.client() as client:
        assert client.get(f"{PREFIX}/training/jobs").status_code == 200  # token use recorded
        with proxied.api.engine.connect() as holder:
            holder.execute(text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
            answer = timed(client, "GET", f"{PREFIX}/training/jobs")
            holder.rollback()
        assert_unavailable(answer, within=STATEMENT_SECONDS + SLACK_SECONDS)
        assert answer.seconds > STATEMENT_SECONDS - 0.5  # it did wait for the lock, that long
        assert client.get(f"{PREFIX}/training/jobs").status_code == 200


# --- SQLite locked -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    directory = tmp_path_factory.mktemp("sqlite-lock")
    busy = {"DREADNODE_API_SQLITE_BUSY_TIMEOUT_SECONDS": str(BUSY_SECONDS)}
    with running_api("sqlite", directory, **busy) as api:
        yield api


def _hold_write_lock(api: Api) -> sqlite3.Connection:
    """Another connection (an operator's shell, a backup) that takes the write lock and keeps
    it until rolled back."""
    path = make_url(api.env["DATABASE_URL"]).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None, timeout=1)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_sqlite_locked_job_creation_answers_503_within_busy_timeout_and_writes_nothing(
    sqlite_api: Api,
) -> None:
    with sqlite_api.client() as client:
        client.timeout = httpx.Timeout(CLIENT_SECONDS)
        assert client.post("/training/jobs", json=JOB).status_code == 201  # token use recorded
        before = sqlite_api.count()
        holder = _hold_write_lock(sqlite_api)
        try:
            answer = timed(client, "POST", "/training/jobs", json=JOB)
            keyed = timed(
                client, "POST", "/training/jobs", json=JOB, headers={"Idempotency-Key": "locked"}
            )
            listed = client.get("/training/jobs")  # reading does not need the write lock
            stored = holder.execute("SELECT count(*) FROM jobs").fetchone()[0]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for attempt in (answer, keyed):
            assert_unavailable(attempt, within=BUSY_SECONDS + SLACK_SECONDS)
            assert attempt.seconds > BUSY_SECONDS - 0.5  # it waited for the lock first
        assert listed.status_code == 200
        assert stored == before
        assert sqlite_api.count() == before
        # Released: the same request works, and the key refused meanwhile is free to use.
        assert client.post("/training/jobs", json=JOB).status_code == 201
        retried = client.post("/training/jobs", json=JOB, headers={"Idempotency-Key": "locked"})
        assert retried.status_code == 201
        assert retried.headers.get("idempotent-replayed") is None
        assert sqlite_api.count() == before + 2


def test_sqlite_locked_concurrent_writers_all_answer_503_none_waits_forever(
    sqlite_api: Api,
) -> None:
    writers = 6
    before = sqlite_api.count()
    holder = _hold_write_lock(sqlite_api)
    try:

        async def burst() -> list[Answer]:
            headers = {"Authorization": f"Bearer {sqlite_api.tokens['alice']}"}
            base = f"{sqlite_api.url}{PREFIX}"
            async with httpx.AsyncClient(
                base_url=base, headers=headers, timeout=CLIENT_SECONDS
            ) as client:

                async def one() -> Answer:
                    start = time.monotonic()
                    response = await client.post("/training/jobs", json=JOB)
                    return Answer(response, time.monotonic() - start)

                return list(await asyncio.gather(*(one() for _ in range(writers))))

        answers = asyncio.run(burst())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Writers queue for the lock one at a time in the server; each waits at most the busy
    # timeout for it and the busy timeout again for SQLite's own lock.
    for answer in answers:
        assert_unavailable(answer, within=2 * BUSY_SECONDS + SLACK_SECONDS)
    assert sqlite_api.count() == before
    with sqlite_api.client() as client:
        assert client.post("/training/jobs", json=JOB).status_code == 201


# --- Durability ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(None, 2), ("full", 2), ("NORMAL", 1)],
    ids=["default", "full", "normal"],
)
def test_sqlite_commits_are_synced_full_by_default_in_wal_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None, expected: int
) -> None:
    if setting is None:
        monkeypatch.delenv("DREADNODE_API_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("DREADNODE_API_SQLITE_SYNCHRONOUS", setting)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    database = Database(url, DatabaseLimits.from_settings(Settings()))
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            # 2 is FULL: the log is synced at every commit, so an acknowledged job survives an
            # OS crash or a power cut; 1 (NORMAL) syncs only at checkpoints.
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == expected
    finally:
        database.dispose()
