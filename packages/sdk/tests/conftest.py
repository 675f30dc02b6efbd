"""Helpers for running the installed ``dn`` executable, and a scripted API server on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .fake_api import FakeAPI, running_fake_api

DnRunner = Callable[..., subprocess.CompletedProcess[str]]


def console_script(name: str) -> str:
    """The installed console script ``name``, preferring the one beside this interpreter."""
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"the `{name}` console script is not installed; install packages/sdk first")
    return found


@pytest.fixture(scope="session")
def dn() -> DnRunner:
    """Run ``dn`` with the given arguments, offline, and return the finished process."""
    executable = console_script("dn")

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE_")}
        full_env.update(env or {})
        return subprocess.run(
            [executable, *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def fake_api() -> Iterator[FakeAPI]:
    """A scripted HTTP server on a free loopback port (see ``fake_api.py``)."""
    with running_fake_api() as api:
        yield api
