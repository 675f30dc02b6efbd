"""Every check the project runs, one session each; `nox` runs the default ones, as CI does.

Each package's test session installs that package alone, which proves it stands on its own.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_external_run = True
nox.options.reuse_existing_virtualenvs = True

SDK = "./packages/sdk"
TEST_TOOLS = ("pytest>=8",)


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


@nox.session(default=False)
def catalog(session: nox.Session) -> None:
    """List Tinker's base models from the embedded catalog (`dn train catalog`, offline)."""
    session.install(SDK)
    session.run("dn", "train", "catalog", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Measure suggestion quality and speed, and CLI start-up, each beside its baseline."""
    # Compile bytecode as pip does, so start-up is what a user's installed `dn` pays.
    session.install(SDK, env={"UV_COMPILE_BYTECODE": "1"})
    session.run("python", "benchmarks/suggest.py", *session.posargs)
    session.run("python", "benchmarks/cli_startup.py", *session.posargs)
