"""Every check the project runs, one session each; `nox` runs the default ones, as CI does.

Each package's test session installs that package alone, which proves it stands on its own.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_external_run = True
nox.options.reuse_existing_virtualenvs = True
# Compile every installed module's bytecode at install time, as pip does by default. uv does not,
# and where PYTHONDONTWRITEBYTECODE is set (these machines set it) nothing ever caches it: each
# server, worker and CLI process a test starts compiled its imports afresh: about 2 s of a
# server's 3 s start-up, and half the API tests' time (538 s -> 269 s measured).
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")

SDK = "./packages/sdk"
API = "./packages/api"
#: The API with what its own tests start besides it (a loopback S3 endpoint: moto).
API_TESTED = "./packages/api[test]"
TEST_TOOLS = ("pytest>=8",)
#: The worker's CPU PyTorch, installed first so that nothing pulls a CUDA build of several GB (pip
#: finds this build where the machines keep it; uv would not look there, hence pip for the
#: sessions that need it).
TORCH_CPU = "torch==2.13.0"
#: The API with its worker extra and its test extra.
API_WORKER = "./packages/api[worker,test]"
#: A real Tinker-compatible server to train on without a Tinker key (SkyRL tx, JAX on the CPU),
#: and the one ``tinker`` SDK it speaks to (0.18 and newer call a route it lacks). Pinned: the
#: engine's behaviour is part of what the worker's tests assert.
LOCAL_TINKER = (
    "skyrl-tx[tinker]==0.3.0",
    "tinker==0.16.1",
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
)
# All the mirror checker needs: what the two catalog modules import (neither package installed;
# the modules compared line by line are only read).
CATALOG_CHECK_DEPS = ("pydantic==2.13.4", "rapidfuzz==3.14.6")
#: The PostgreSQL the development machines run (database `test`, user `postgres`, trust auth).
LOCAL_POSTGRES = ("127.0.0.1", 5432)
LOCAL_POSTGRES_ADDRESS = f"{LOCAL_POSTGRES[0]}:{LOCAL_POSTGRES[1]}"
LOCAL_POSTGRES_URL = f"postgresql+psycopg://postgres@{LOCAL_POSTGRES_ADDRESS}/test"


@functools.cache
def local_postgres_answers() -> bool:
    """Whether the development machines' PostgreSQL accepts a connection within 2 s."""
    try:
        socket.create_connection(LOCAL_POSTGRES, timeout=2).close()
    except OSError:
        return False
    return True


def test_database_env(session: nox.Session) -> dict[str, str]:
    """TEST_DATABASE_URL for a test session: as set, even empty (SQLite only); unset, the local
    PostgreSQL when it answers, so plain `nox` tests what CI tests. The log says which."""
    if "TEST_DATABASE_URL" in os.environ:
        url = os.environ["TEST_DATABASE_URL"]
        # Not the URL itself: one that is set may hold a password.
        session.log(
            "TEST_DATABASE_URL is set: PostgreSQL too"
            if url
            else "TEST_DATABASE_URL is empty: SQLite only"
        )
    elif local_postgres_answers():
        url = LOCAL_POSTGRES_URL
        session.log(f"PostgreSQL answers on {LOCAL_POSTGRES_ADDRESS}: TEST_DATABASE_URL={url}")
    else:
        url = ""
        session.log(
            f"no PostgreSQL on {LOCAL_POSTGRES_ADDRESS}, TEST_DATABASE_URL unset: SQLite only"
        )
    return {"TEST_DATABASE_URL": url}


def install_beside_torch(session: nox.Session, *packages: str) -> None:
    """Install the CPU PyTorch with pip (only pip finds it), then ``packages`` beside it with uv
    when nox brought uv along (as `nox[uv]` does), else with pip. The worker's forty-odd packages
    took pip 113 s and uv 24 s here, bytecode compiled by both; uv keeps the torch it finds."""
    session.install(TORCH_CPU)
    uv = shutil.which("uv")
    if uv is None:
        session.install(*packages)
        return
    python = os.path.join(session.bin, "python")
    session.run_install(uv, "pip", "install", "--python", python, *packages, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """Run every pre-commit hook (ruff, mypy, hygiene) over all files."""
    session.install("pre-commit>=3.7")
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure", *session.posargs)


@nox.session(name="tests-sdk")
def tests_sdk(session: nox.Session) -> None:
    """Install the SDK alone and run its tests."""
    session.install(SDK, *TEST_TOOLS)
    session.run("pytest", "packages/sdk/tests", *session.posargs)


@nox.session
def integration(session: nox.Session) -> None:
    """Install the SDK and the API together; run the cross-package tests (real server, real dn),
    on PostgreSQL too when one is found."""
    session.install(SDK, API_TESTED, *TEST_TOOLS)
    # On PostgreSQL too when one is found: datasets end to end on PostgreSQL and the S3 store.
    # tests/worker needs the worker's own install: `nox -s worker`.
    session.run(
        "pytest", "tests", "--ignore=tests/worker", *session.posargs, env=test_database_env(session)
    )


@nox.session(venv_backend="venv")
def worker(session: nox.Session) -> None:
    """Train jobs end to end on a local Tinker engine: the API, workers and dn, on SQLite and
    PostgreSQL (when one is found); the renderers and the tinker SDK's surface."""
    install_beside_torch(session, SDK, API_WORKER, *LOCAL_TINKER, *TEST_TOOLS)
    # The newest tinker wheel the SDK-surface test compares with, downloaded once and kept.
    wheels = os.environ.get("TINKER_WHEEL_CACHE", str(session.cache_dir / "tinker-wheels"))
    env = {**test_database_env(session), "TINKER_WHEEL_CACHE": wheels}
    session.run("pytest", "tests/worker", *session.posargs, env=env)


@nox.session(name="tests-api")
def tests_api(session: nox.Session) -> None:
    """Install the API alone and run its tests (on PostgreSQL too when one is found)."""
    session.install(API_TESTED, *TEST_TOOLS, "httpx>=0.27")
    env = test_database_env(session)
    session.run("pytest", "packages/api/tests", "-m", "not schemathesis", *session.posargs, env=env)


@nox.session
def schemathesis(session: nox.Session) -> None:
    """Run schemathesis against a live API on its own OpenAPI schema (SQLite, and PostgreSQL
    when one is found); the checks are in packages/api/schemathesis.toml."""
    # Pinned: a new release brings new checks, which should arrive as a deliberate change.
    session.install(API_TESTED, *TEST_TOOLS, "httpx>=0.27", "schemathesis==4.32.5")
    env = test_database_env(session)
    session.run(
        "pytest", "packages/api/tests", "-m", "schemathesis", "-s", *session.posargs, env=env
    )


@nox.session(name="catalog-parity")
def catalog_parity(session: nox.Session) -> None:
    """Check every API mirror against its SDK source (tools/catalog_sync/mirrors.py): the catalog
    in data, schema and behaviour, the dataset validator line by line."""
    session.install(*CATALOG_CHECK_DEPS)
    session.run("python", "-m", "tools.catalog_sync", "check", *session.posargs)


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Serve the API on 127.0.0.1:8000 (or `-- --port N`), printing a fresh development token."""
    import time

    session.install(API)
    serve_args = ["--host", "127.0.0.1", "--port", "8000", *session.posargs]
    # The server's own preflight: exits 1 with one line when the port is busy, before any token
    # exists; otherwise its last line is the URL these arguments really serve.
    checked = session.run("dreadnode-api", "serve", "--check", *serve_args, silent=True)
    url = str(checked).strip().splitlines()[-1]
    # Active token names are unique; a name per run keeps earlier runs' tokens working.
    name = f"dev-{time.strftime('%Y%m%d-%H%M%S')}"
    output = session.run("dreadnode-api", "tokens", "create", "--name", name, silent=True)
    token = str(output).strip().splitlines()[-1]
    session.log(f"API:   {url}  (docs at {url}/docs)")
    session.log(f"token: {token}")
    session.log(f'try:   curl -H "Authorization: Bearer {token}" {url}/training/catalog')
    session.run("dreadnode-api", "serve", *serve_args)


@nox.session(name="train-local", default=False, venv_backend="venv")
def train_local(session: nox.Session) -> None:
    """Serve the API with a training worker on a local Tinker engine (offline); prints a token."""
    install_beside_torch(session, SDK, API_WORKER, *LOCAL_TINKER)
    session.run("python", "-m", "app.localtinker.trial", *session.posargs)


@nox.session(default=False)
def catalog(session: nox.Session) -> None:
    """List Tinker's base models from the embedded catalog (`dn train catalog`, offline)."""
    session.install(SDK)
    session.run("dn", "train", "catalog", *session.posargs)


@nox.session(default=False, venv_backend="venv")
def bench(session: nox.Session) -> None:
    """Measure suggestions, CLI start-up, catalog check, API, datasets, rendering and the
    training worker (SFT and RL), each beside a baseline."""
    # pip compiles bytecode, so start-up is what a user's installed `dn` pays; and pip finds the
    # CPU PyTorch the worker's measurements need.
    session.install(SDK)
    # A missed target exits 1 and says MISSED; every benchmark still runs, so one slow figure
    # does not hide the others.
    measured = [0, 1]
    session.run("python", "benchmarks/suggest.py", *session.posargs, success_codes=measured)
    session.run("python", "benchmarks/cli_startup.py", *session.posargs, success_codes=measured)
    # The SDK brings pydantic and rapidfuzz, all that `python -m tools.catalog_sync check` needs.
    session.run("python", "benchmarks/catalog_check.py", *session.posargs, success_codes=measured)
    session.install(API)
    session.run("python", "benchmarks/api.py", *session.posargs, success_codes=measured)
    # Local validation needs the SDK only; an upload measurement beside it needs the API too.
    session.run("python", "benchmarks/datasets.py", *session.posargs, success_codes=measured)
    session.install(TORCH_CPU)
    session.install(API_WORKER, *LOCAL_TINKER)
    session.run("python", "benchmarks/api_startup.py", *session.posargs, success_codes=measured)
    session.run("python", "benchmarks/rendering.py", *session.posargs, success_codes=measured)
    session.run("python", "benchmarks/worker.py", *session.posargs, success_codes=measured)
    session.run("python", "benchmarks/worker_rl.py", *session.posargs, success_codes=measured)
