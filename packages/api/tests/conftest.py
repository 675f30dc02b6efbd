"""Real servers for the tests: ``python -m app serve`` on a free loopback port, per backend.

Each backend (SQLite always; PostgreSQL when ``TEST_DATABASE_URL`` is set) gets one server for
the whole session, with tokens made by the real ``tokens create`` command. A PostgreSQL run lives
in its own freshly created schema, dropped afterwards, since CI runs may share the database.
Datasets go where each kind of deployment would keep them: SQLite's server uses the default
directory store beside its database file, PostgreSQL's an S3 store on a real S3 endpoint (moto's
server on loopback, started with it).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select, table, text
from sqlalchemy.engine import make_url

from app.testing import (
    MOTO_CREDENTIALS,
    LiveServer,
    app_command,
    create_token,
    free_port,
    moto_s3,
    serve_command,
)

__all__ = [
    "BACKENDS",
    "GOOD",
    "NO_ESTIMATE",
    "PEFT",
    "PEFT_BASE",
    "PREFIX",
    "QWEN",
    "S3_BUCKET",
    "Api",
    "LiveServer",
    "PriceServer",
    "app_command",
    "create_token",
    "dataset_store_env",
    "envelope",
    "free_port",
    "fresh_database",
    "raw_answers",
    "running_api",
    "serve_command",
    "unestimated",
]

PREFIX = "/api/v1"
#: A grader every RL job in these tests may declare: the completion equals the row's answer.
GRADER: dict[str, Any] = {"type": "string_check", "field": "answer"}
ENVELOPE_KEYS = {"code", "detail", "type", "errors"}
#: A validation's cost fields when the job is invalid: nothing estimated, and why.
NO_ESTIMATE: dict[str, Any] = {
    "tokens_per_epoch": None,
    "total_tokens": None,
    "estimated_cost_usd": None,
    "cost_estimate": {
        "train_usd_per_million": None,
        "price_as_of": None,
        "price_source": None,
        "reason": "the job is not valid (see `errors`), so it was not estimated",
    },
}


def unestimated(reason: str) -> dict[str, Any]:
    """A job answer's cost fields when the cost is unknown for ``reason`` (no price known)."""
    return {**NO_ESTIMATE, "cost_estimate": {**NO_ESTIMATE["cost_estimate"], "reason": reason}}


@dataclass
class Api:
    """A running server on one backend, its tokens, and direct access to its database."""

    backend: str
    url: str
    env: dict[str, str]
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    server: LiveServer | None = None

    def client(self, token: str | None = "alice", **headers: str) -> httpx.Client:
        """An httpx client on the API prefix, authenticated as the named token (if any)."""
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {self.tokens.get(token, token)}")
        return httpx.Client(base_url=f"{self.url}{PREFIX}", headers=headers, timeout=30)

    def count(self, name: str = "jobs") -> int:
        """Rows in a table, counted in the database itself."""
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(table(name))) or 0)

    def stored_objects(self) -> list[str]:
        """Everything the server's dataset store holds, staging files included, seen from
        outside the server: a directory store's files (``.staging/...`` among them); for an S3
        store every object in its bucket, each multipart upload left unfinished
        (``multipart:KEY``) and each local staging file (``staging:NAME``). Sorted."""
        setting = self.env.get("DREADNODE_API_DATASET_STORE")
        if setting and setting.startswith("s3://"):
            return sorted(_bucket_contents(self.env, setting) + _s3_staging_files(self.env))
        if setting:
            root = Path(setting)
        else:
            from app.datasets.store import default_store_path

            root = default_store_path(self.env["DATABASE_URL"])
        return sorted(_files_under(root))


def _files_under(root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]


def _bucket_contents(env: dict[str, str], setting: str) -> list[str]:
    """The bucket's objects and unfinished multipart uploads, asked of the endpoint by another
    client than the server's (boto3, which moto brings along)."""
    import boto3

    bucket = setting.removeprefix("s3://").split("/", 1)[0]
    client = boto3.client(
        "s3",
        endpoint_url=env["DREADNODE_API_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    objects = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    unfinished = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return objects + [f"multipart:{upload['Key']}" for upload in unfinished]


def _s3_staging_files(env: dict[str, str]) -> list[str]:
    """An S3 store's local staging files: anything in the server's data directory (its
    ``XDG_DATA_HOME``, this test's own), where its staging directory is."""
    return [f"staging:{name}" for name in _files_under(Path(env["XDG_DATA_HOME"]))]


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(_postgres_url() is None, reason="TEST_DATABASE_URL is not set"),
    ),
]


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty database: a temp SQLite file, or a new PostgreSQL schema dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'api.db'}"
        return
    base = _postgres_url()
    assert base is not None
    schema = f"api_test_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


#: The bucket of the S3 dataset store a test server may use (each on its own moto server).
S3_BUCKET = "dreadnode-datasets"


@contextmanager
def dataset_store_env(
    kind: Literal["directory", "s3"], directory: Path
) -> Iterator[dict[str, str]]:
    """The environment of a server whose datasets go to ``kind`` of store: the default
    directory (nothing to set), or an S3 store on a moto server started here (its objects gone
    with it), its staging directory under ``directory``."""
    if kind == "directory":
        yield {}
        return
    with moto_s3(S3_BUCKET, directory / "moto.log") as endpoint:
        yield {
            "DREADNODE_API_DATASET_STORE": f"s3://{S3_BUCKET}/datasets",
            "DREADNODE_API_S3_ENDPOINT_URL": endpoint,
            **MOTO_CREDENTIALS,
            # The data directory holds the S3 store's local staging files: this test's own.
            "XDG_DATA_HOME": str(directory / "data"),
        }


@contextmanager
def running_api(
    backend: str,
    directory: Path,
    *,
    dataset_store: Literal["directory", "s3"] = "directory",
    **settings: str,
) -> Iterator[Api]:
    """A server on a fresh database of ``backend``, with tokens alice, bob (another owner) and a
    read-only one; ``dataset_store`` says where its datasets go (``dataset_store_env``);
    ``settings`` are extra ``DREADNODE_API_...`` environment variables."""
    with (
        fresh_database(backend, directory) as url,
        dataset_store_env(dataset_store, directory) as store_env,
    ):
        env = {
            "DATABASE_URL": url,
            "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0",
            **store_env,
            **settings,
        }
        engine = create_engine(url)
        api = Api(backend=backend, url="", env=env, engine=engine)
        api.tokens["alice"] = create_token(env, "--name", "alice")
        api.tokens["bob"] = create_token(env, "--name", "bob")
        api.tokens["reader"] = create_token(
            env, "--name", "reader", "--owner", "alice", "--read-only"
        )
        with LiveServer(env, directory / "server.log") as server:
            api.url, api.server = server.url, server
            try:
                yield api
            finally:
                engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The server for one backend, its catalog judged on today's date: SQLite with the
    directory store, PostgreSQL with the S3 store."""
    backend: str = request.param
    store: Literal["directory", "s3"] = "s3" if backend == "postgresql" else "directory"
    with running_api(backend, tmp_path_factory.mktemp(backend), dataset_store=store) as api:
        yield api


#: A day the June 2026 retirements were announced (2026-05-18) but not yet in effect.
BEFORE_JUNE = "2026-06-01"
#: The day they took effect: from it on, those models are refused.
RETIREMENT_DAY = "2026-06-12"
#: A real model retiring on RETIREMENT_DAY, with a replacement: Qwen/Qwen3.5-9B-Base.
RETIRING = "meta-llama/Llama-3.1-8B"

#: ``:peft:`` ids whose suffix the model does not offer, and the answer each must get.
WRONG_SUFFIXES = [
    (
        "Qwen/Qwen3-8B:peft:131072",
        "Unknown training base model 'Qwen/Qwen3-8B:peft:131072': Qwen/Qwen3-8B has no "
        "extended-context variant; its context is 32,768 tokens.",
    ),
    (
        "Qwen/Qwen3.5-397B-A17B:peft:999",
        "Unknown training base model 'Qwen/Qwen3.5-397B-A17B:peft:999': "
        "Qwen/Qwen3.5-397B-A17B offers :peft:262144, not :peft:999.",
    ),
]


@pytest.fixture(scope="session")
def api_before_june(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server (SQLite) whose catalog day is pinned before the June retirements, so the real
    models they name (all six Llama models among them) are retiring: accepted with a warning
    and Deprecation/Sunset headers."""
    directory = tmp_path_factory.mktemp("before-june")
    with running_api("sqlite", directory, DREADNODE_API_CATALOG_DAY=BEFORE_JUNE) as api:
        yield api


@pytest.fixture(scope="session")
def api_on_retirement_day(
    api_before_june: Api, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """The same deployment as ``api_before_june`` (its database, its tokens, the same code) on
    the day the June retirements take effect: only the date has moved on."""
    env = {**api_before_june.env, "DREADNODE_API_CATALOG_DAY": RETIREMENT_DAY}
    log = tmp_path_factory.mktemp("retirement-day") / "server.log"
    server = LiveServer(env, log)
    try:
        yield Api(
            backend=api_before_june.backend,
            url=server.url,
            env=env,
            engine=api_before_june.engine,
            tokens=api_before_june.tokens,
            server=server,
        )
    finally:
        server.close()


def assert_retiring_headers(
    response: httpx.Response,
    *,
    deprecation: str = "@1779062400",  # 2026-05-18 00:00 UTC, the June retirements' announcement
    sunset: str = "Fri, 12 Jun 2026 00:00:00 GMT",
    successor: str | None = "Qwen/Qwen3.5-9B-Base",
) -> None:
    """Assert the RFC 9745/8594 headers of an answer about a retiring model (RETIRING's)."""
    assert response.headers["Deprecation"] == deprecation
    assert response.headers["Sunset"] == sunset
    if successor is None:
        assert "Link" not in response.headers
    else:
        link = f'<{PREFIX}/training/catalog/{successor}>; rel="successor-version"'
        assert response.headers["Link"] == link


def assert_no_retiring_headers(response: httpx.Response) -> None:
    """Assert an answer says nothing about a retirement in its headers."""
    for name in ("Deprecation", "Sunset", "Link"):
        assert name not in response.headers, name


def envelope(
    response: httpx.Response, status: int, type_: str, *, joined: bool = True
) -> dict[str, Any]:
    """Assert ``response`` is the canonical error envelope with this status and type; its
    ``detail`` joins the ``errors`` messages unless ``joined`` is False (a refused dataset's
    detail counts its bad lines instead)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["code"] == status
    assert body["type"] == type_
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["errors"], list)
    for item in body["errors"]:
        assert set(item) == {"loc", "msg", "type"}
        assert isinstance(item["loc"], list)
        assert all(isinstance(part, str | int) for part in item["loc"])
        assert isinstance(item["msg"], str)
        assert isinstance(item["type"], str)
    if body["errors"] and joined:
        assert body["detail"] == "; ".join(item["msg"] for item in body["errors"])
    assert "Traceback" not in response.text
    return body  # type: ignore[no-any-return]


def raw_answers(
    api: Api, *writes: bytes, timeout: float = 5
) -> tuple[list[tuple[int, dict[str, str], dict[str, Any]]], bool]:
    """Send ``writes`` on one raw connection (each its own ``send``), as a hostile client would,
    and read every answer until the server closes the connection or ``timeout`` passes: each
    answer's status, lower-cased headers and JSON body, and whether the server closed the
    connection. A refusal that cuts a write short is what some of these tests want."""
    answers: list[tuple[int, dict[str, str], dict[str, Any]]] = []
    with socket.create_connection(("127.0.0.1", int(api.url.rsplit(":", 1)[1])), timeout) as sock:
        for data in writes:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                break
        received, closed = b"", False
        try:
            while chunk := sock.recv(65536):
                received += chunk
            closed = True
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            closed = False
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines)
        }
        length = int(headers.get("content-length", "0"))
        body, received = rest[:length], rest[length:]
        answers.append((int(status_line.split()[1]), headers, json.loads(body) if body else {}))
    return answers, closed


QWEN = "Qwen/Qwen3-8B"
PEFT = "Qwen/Qwen3.6-35B-A3B:peft:262144"
PEFT_BASE = "Qwen/Qwen3.6-35B-A3B"
#: A list in Tinker's format: money as "$x.yz" strings, one entry per exact id.
GOOD = [
    {"tinker_id": QWEN, "prefill": "$0.13", "cached_prefill": "$0.03", "sample": "$0.40",
     "train": "$0.40"},
    {"tinker_id": PEFT_BASE, "prefill": "$0.36", "sample": "$0.89", "train": "$1.07"},
    {"tinker_id": PEFT, "prefill": "$0.72", "sample": "$1.78", "train": "$2.14",
     "note": "extended context"},
]  # fmt: skip


@dataclass
class PriceServer:
    """A loopback HTTP server answering what the test sets: ``status`` and ``body``, or nothing
    at all while ``hang`` is set; ``requests`` counts what it was asked."""

    status: int = 200
    body: bytes = json.dumps(GOOD).encode()
    hang: bool = False
    requests: int = 0
    user_agents: list[str] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def serve(self, payload: Any, status: int = 200) -> None:
        self.body, self.status, self.hang = json.dumps(payload).encode(), status, False


@contextmanager
def serving_prices() -> Iterator[PriceServer]:
    """A ``PriceServer`` on loopback until the block ends."""
    state = PriceServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            state.user_agents.append(self.headers.get("User-Agent", ""))
            if state.hang:
                state.released.wait(30)
                return
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/tinker/models.json"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()


@contextmanager
def api_reading(prices: PriceServer, directory: Path) -> Iterator[Api]:
    """An API (SQLite) fetching from ``prices``: kept one second, two seconds to fetch."""
    settings = {
        "DREADNODE_API_PRICE_LIST_URL": prices.url,
        "DREADNODE_API_PRICE_LIST_TTL_SECONDS": "1",
        "DREADNODE_API_PRICE_LIST_TIMEOUT_SECONDS": "2",
    }
    with running_api("sqlite", directory, **settings) as api:
        yield api


@pytest.fixture
def price_server() -> Iterator[PriceServer]:
    """A price list a test may change (a new list, a 500, a hang)."""
    with serving_prices() as state:
        yield state


@pytest.fixture
def priced(price_server: PriceServer, tmp_path: Path) -> Iterator[Api]:
    """An API reading ``price_server``, for one test."""
    with api_reading(price_server, tmp_path) as api:
        yield api


@pytest.fixture(scope="module")
def shared_prices() -> Iterator[PriceServer]:
    """A price list no test changes (GOOD), shared by a module's tests."""
    with serving_prices() as state:
        yield state


@pytest.fixture(scope="module")
def pricing(shared_prices: PriceServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An API reading ``shared_prices``, shared by a module's tests (each test makes its own
    datasets and jobs, so they do not see each other's)."""
    with api_reading(shared_prices, tmp_path_factory.mktemp("priced")) as api:
        yield api
