"""Fixtures for jobs that really run: a local Tinker engine, the API, and training workers, each a
real process on loopback (``nox -s worker`` installs what they need).

One engine serves the whole session (it takes 20-30 s to start); each deployment (SQLite, and
PostgreSQL when ``TEST_DATABASE_URL`` names one) is an API server with its own database, and
each test starts the workers it needs. Workers checkpoint every 2 steps and count as dead after
a 6 s lease, so a killed worker's job resumes, and is taken over, within the tests' time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    JsonServer,
    LiveAPI,
    console_script,
    postgres_schema,
    running_api,
    serving_json,
)

__all__ = [
    "CHAT_ROWS",
    "NO_TINKER",
    "TRAIN_USD_PER_MILLION",
    "Deployment",
    "WorkerProcess",
    "several_workers",
    "wait_for",
]

#: Steps between checkpoints in these tests: a kill mid-job loses at most this many.
CHECKPOINT_EVERY = 2
#: Seconds a silent worker's lease lasts in these tests (the setting's smallest sane value is 3).
LEASE_SECONDS = 6
#: Training clients an engine may create in its lifetime (SkyRL tx allows this many - 1): one per
#: job attempt; no test makes more than 3. Kept this small on purpose: the engine's step computes
#: over every adapter slot (the vocabulary-wide unembedding included), so 12 slots made a step of
#: the stand-in 20-30 s where 4 take about a second. Each test gets a fresh engine instead.
MAX_LORA_ADAPTERS = 4
#: The jobs' LoRA rank, and the largest the engine takes.
LORA_RANK = 8

#: The train rate of the price list the deployments' API reads (Tinker's format, served on
#: loopback): far above Tinker's, so that a few hundred tokens cost cents and a cap bites.
TRAIN_USD_PER_MILLION = 100.0
PRICE_LIST = [
    {"tinker_id": "Qwen/Qwen3-8B", "prefill": "$20", "cached_prefill": "$4", "sample": "$60",
     "train": f"${TRAIN_USD_PER_MILLION:g}"},
]  # fmt: skip

#: Short chats: a user asks for a sum, the assistant answers. Loss on the answers must fall.
CHAT_ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"What is {a} plus {b}?"},
            {"role": "assistant", "content": f"{a} plus {b} is {a + b}."},
        ]
    }
    for a, b in [(2, 3), (4, 5), (1, 1), (7, 2), (3, 3), (6, 1), (5, 5), (8, 1)]
]


def wait_for(what: str, check: Callable[[], Any], *, timeout: float, interval: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass
class WorkerProcess:
    """A ``dreadnode-api worker`` process and its log."""

    worker_id: str
    process: subprocess.Popen[bytes]
    log: Path
    #: Set when the test ends the worker; a worker that exits by itself has failed.
    ended: bool = False

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to tidy anything up."""
        self.ended = True
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.ended = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Deployment:
    """An API server, its database, and the environment its workers share with it."""

    name: str
    api: LiveAPI
    workdir: Path
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)
    #: ``TINKER_BASE_URL`` and ``TINKER_API_KEY`` of the engine the current test trains on.
    engine_env: dict[str, str] = field(default_factory=dict)
    #: The base model a sampling client asks that engine for (it serves its stand-in by path).
    engine_model: str = ""

    def start_worker(self, worker_id: str, *, concurrency: int = 1) -> WorkerProcess:
        log = self.workdir / f"worker-{worker_id}-{len(self.workers)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [console_script("dreadnode-api"), "worker", "--id", worker_id,
                 "--concurrency", str(concurrency)],
                env={**self.env, **self.engine_env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        worker = WorkerProcess(worker_id, process, log)
        self.workers.append(worker)
        return worker

    def client(self) -> Any:
        from dreadnode.client import Client

        return Client(server_url=self.api.url, api_key=self.api.token)

    def upload(self, path: Path, rows: list[dict[str, Any]]) -> str:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        with self.client() as client:
            return str(client.upload_dataset(path).id)

    def create_job(
        self,
        dataset: str,
        *,
        max_cost_usd: float | None = None,
        base_model: str = "Qwen/Qwen3-8B",
        name: str | None = None,
        **hyperparameters: Any,
    ) -> str:
        """An SFT job on ``base_model`` (a catalog id, or one of the owner's model ids, whose
        rank the job keeps) at learning rate 1e-2."""
        if not base_model.startswith("ft-"):
            hyperparameters.setdefault("lora_rank", LORA_RANK)
        with self.client() as client:
            job = client.create_job(
                base_model=base_model,
                method="sft",
                dataset=dataset,
                name=name,
                hyperparameters={"learning_rate": 1e-2, **hyperparameters},
                max_cost_usd=max_cost_usd,
            )
        return str(job.id)

    def create_rl_job(
        self, dataset: str, *, grader: dict[str, Any], algorithm: str, **hyperparameters: Any
    ) -> str:
        with self.client() as client:
            job = client.create_job(
                base_model="Qwen/Qwen3-8B",
                method="rl",
                algorithm=algorithm,
                dataset=dataset,
                grader=grader,
                hyperparameters={"lora_rank": LORA_RANK, **hyperparameters},
            )
        return str(job.id)

    def job(self, job_id: str) -> Any:
        with self.client() as client:
            return client.get_job(job_id)

    def events(self, job_id: str) -> list[Any]:
        with self.client() as client:
            return list(client.list_job_events(job_id).events)

    def check_workers(self) -> None:
        """Fail at once, with its log, if a worker died that the test did not end."""
        for worker in self.workers:
            if not worker.ended and worker.process.poll() is not None:
                pytest.fail(f"worker {worker.worker_id} exited by itself:\n{worker.log_text()}")

    def wait_for_status(self, job_id: str, *statuses: str, timeout: float = 240) -> Any:
        def finished() -> Any:
            self.check_workers()
            job = self.job(job_id)
            return job if job.status in statuses else None

        return wait_for(f"job {job_id} to be {' or '.join(statuses)}", finished, timeout=timeout)

    def wait_for_step(self, job_id: str, step: int, *, timeout: float = 240) -> Any:
        def reached() -> Any:
            self.check_workers()
            job = self.job(job_id)
            return job if job.progress.step >= step else None

        return wait_for(f"job {job_id} to reach step {step}", reached, timeout=timeout)


DEPLOYMENTS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set"
        ),
    ),
]


def _schema_of(url: str) -> str:
    """The schema a ``postgres_schema`` URL's connections use (its ``search_path`` option)."""
    from sqlalchemy.engine import make_url

    options = make_url(url).query["options"]
    return str(options).split("search_path=", 1)[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "several_workers: several workers on one queue (PostgreSQL deployments only)"
    )
    config.addinivalue_line(
        "markers",
        "sqlite_only: nothing the test checks depends on the database (SQLite deployments only)",
    )


@pytest.fixture(scope="module", params=DEPLOYMENTS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """An API server on SQLite or PostgreSQL; workers started in it share its settings."""
    name: str = request.param
    workdir = tmp_path_factory.mktemp(f"jobs-{name}")
    settings = {
        "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0",
        "DREADNODE_API_CHECKPOINT_EVERY_STEPS": str(CHECKPOINT_EVERY),
        "DREADNODE_API_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        # The dataset store, for a database that is not a SQLite file.
        "XDG_DATA_HOME": str(workdir / "data"),
    }
    with ExitStack() as stack:
        prices = JsonServer()
        prices.body = PRICE_LIST
        _, root = stack.enter_context(serving_json(prices))
        settings["DREADNODE_API_PRICE_LIST_URL"] = f"{root}/tinker/models.json"
        if name == "sqlite":
            database_url = f"sqlite:///{workdir / 'api.sqlite3'}"
        else:
            database_url = stack.enter_context(
                postgres_schema(os.environ["TEST_DATABASE_URL"], "e2e_jobs")
            )
            # The durable queue's own schema, so concurrent runs on one database never share it.
            queue_schema = stack.enter_context(
                postgres_schema(os.environ["TEST_DATABASE_URL"], "e2e_queue")
            )
            settings["DREADNODE_API_WORKER_QUEUE_SCHEMA"] = _schema_of(queue_schema)
        api = stack.enter_context(running_api(workdir, DATABASE_URL=database_url, **settings))
        yield Deployment(name, api, workdir, dict(api.env))


#: A test that needs several workers sharing one queue: on PostgreSQL only, where deployments
#: run several (on SQLite it is skipped before an engine starts).
several_workers = pytest.mark.several_workers


@pytest.fixture
def jobs(
    deployment: Deployment, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Deployment]:
    """The deployment, for one test, with a fresh Tinker engine (SkyRL tx on loopback with the
    stand-in Qwen3: the real vocabulary, a tiny model) that its workers train on. The workers
    the test starts are stopped at its end, so the next test starts with none running."""
    from app.localtinker import LocalTinker

    if request.node.get_closest_marker("several_workers") and deployment.name != "postgresql":
        pytest.skip("several workers share one queue on PostgreSQL")
    engine = LocalTinker(
        tmp_path / "tinker",
        backend_config={"max_lora_adapters": MAX_LORA_ADAPTERS, "max_lora_rank": LORA_RANK},
    )
    with engine, _workers_stopped(deployment):
        deployment.engine_env = engine.client_env()
        yield deployment


@pytest.fixture(scope="module")
def _shared_engine(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], list[str]]]:
    """One engine for a module's tests that each train a single run (``one_run_jobs``), per
    deployment: its client environment, and the tests that used it so far."""
    from app.localtinker import LocalTinker

    engine = LocalTinker(
        tmp_path_factory.mktemp("tinker-shared"),
        backend_config={"max_lora_adapters": MAX_LORA_ADAPTERS, "max_lora_rank": LORA_RANK},
    )
    with engine:
        yield engine.client_env(), []


@pytest.fixture
def one_run_jobs(
    deployment: Deployment,
    _shared_engine: tuple[dict[str, str], list[str]],
    request: pytest.FixtureRequest,
) -> Iterator[Deployment]:
    """As ``jobs``, for a test that starts exactly one training run, on an engine it shares with
    the module's other such tests: an engine's start (10-15 s) is paid once for as many runs as
    its lifetime allows (``MAX_LORA_ADAPTERS`` - 1). A test that starts more, or a module with
    more such tests, takes ``jobs``."""
    env, users = _shared_engine
    users.append(request.node.name)
    if len(users) > MAX_LORA_ADAPTERS - 1:
        pytest.fail(f"the shared engine allows {MAX_LORA_ADAPTERS - 1} runs; used by {users}")
    with _workers_stopped(deployment):
        deployment.engine_env = env
        yield deployment


#: Where no Tinker answers.
NO_TINKER = {"TINKER_BASE_URL": "http://127.0.0.1:9", "TINKER_API_KEY": "tml-unreachable"}


@pytest.fixture
def no_tinker(deployment: Deployment) -> Iterator[Deployment]:
    """The deployment, for a test whose workers must never reach Tinker: they are pointed at a
    port where nothing answers (a Tinker call would fail the test's job as unreachable)."""
    with _workers_stopped(deployment):
        deployment.engine_env = NO_TINKER
        yield deployment


@contextmanager
def _workers_stopped(deployment: Deployment) -> Iterator[None]:
    """Stop the workers started inside the block when it ends, however it ends."""
    started = len(deployment.workers)
    try:
        yield
    finally:
        for worker in deployment.workers[started:]:
            worker.stop()


@pytest.fixture
def rl_jobs(
    deployment: Deployment, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Deployment]:
    """As ``jobs``, on an engine whose stand-in writes a few tokens far more often than the
    rest (``peaked_standin_dir``), and whose URL the test reads in ``engine_env``."""
    from app.localtinker import LocalTinker, peaked_standin_dir

    if request.node.get_closest_marker("sqlite_only") and deployment.name != "sqlite":
        pytest.skip("nothing this test checks depends on the database; it runs on SQLite")
    model = peaked_standin_dir()
    engine = LocalTinker(
        tmp_path / "tinker",
        model_dir=model,
        backend_config={"max_lora_adapters": MAX_LORA_ADAPTERS, "max_lora_rank": LORA_RANK},
    )
    with engine, _workers_stopped(deployment):
        deployment.engine_env = engine.client_env()
        deployment.engine_model = str(model)
        yield deployment
