"""What several test modules share: the installed ``dn`` executable, a scripted API server on
loopback, the API's paths, and catalog entries exactly as the API serves them."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .fake_api import FakeAPI, running_fake_api

DnRunner = Callable[..., subprocess.CompletedProcess[str]]

#: An RL job's grader as a user declares it: the completion's last line against the row's
#: ``answer``.
GRADER: dict[str, Any] = {"type": "string_check", "field": "answer", "extract": "last_line"}

JOBS = "/api/v1/training/jobs"
CATALOG = "/api/v1/training/catalog"
MODELS = "/api/v1/training/models"
#: An entry exactly as the API serves it: ``TrainingModel.model_dump(mode="json")`` of
#: Qwen/Qwen3-8B plus its ``lifecycle`` and (no list fetched) ``price`` (every field, written out
#: so that a change shows here).
QWEN: dict[str, Any] = {
    "tinker_id": "Qwen/Qwen3-8B",
    "display_name": "Qwen3 8B",
    "family": "qwen",
    "type": "dense",
    "size_b": 8.0,
    "total_size_b": 8.0,
    "context_length": 32768,
    "extended_context_length": None,
    "supported_algorithms": ["sft", "importance_sampling", "ppo"],
    "pricing": None,
    "kind": "chat",
    "vision": False,
    "hidden_size": 4096,
    "lora_parameters_per_rank": 2883968,
    "max_lora_rank": None,
    "renderer": "qwen3",
    "extended_context": False,
    "recommended_learning_rate": 0.00047297908091376354,
    "retirement": None,
    "lifecycle": "available",
    "price": None,
}
#: An entry from a newer server: values and a field this SDK has never heard of.
FROM_THE_FUTURE: dict[str, Any] = {
    **QWEN,
    "tinker_id": "mistralai/Mistral-9-Large",
    "display_name": "Mistral 9 Large",
    "family": "mistral",
    "type": "hybrid",
    "kind": "omni",
    "renderer": "mistral_v9",
    "lifecycle": "preview",
    "supported_algorithms": ["sft", "dpo"],
    "modalities": ["text", "image"],
}


def dn_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``DREADNODE_*`` setting, plus ``extra``: ``dn``
    sees only what a test gives it (no server, no pinned day) unless the test says so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREADNODE_")}
    env.update(extra or {})
    return env


def server_env(api: FakeAPI) -> dict[str, str]:
    """What points ``dn`` at the scripted server ``api``, with a token."""
    return {"DREADNODE_SERVER_URL": api.url, "DREADNODE_API_KEY": "t0ken"}


def console_script(name: str) -> str:
    """The installed console script ``name``, preferring the one beside this interpreter."""
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"the `{name}` console script is not installed; install packages/sdk first")
    return found


@pytest.fixture(scope="session")
def dn() -> DnRunner:
    """Run ``dn`` with the given arguments, offline, and return the finished process; ``input``
    is what it reads on stdin (a pipe), when given."""
    executable = console_script("dn")

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [executable, *args],
            capture_output=True,
            text=True,
            env=dn_environment(env),
            input=input,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def dn_on_terminal() -> DnRunner:
    """Run ``dn`` with its stdout on a pseudo-terminal, as a person at a shell sees it, and return
    the finished process: ``stdout`` is what the terminal showed (with ``\r\n`` as ``\n``),
    ``stderr`` what went to a pipe beside it."""
    import pty

    executable = console_script("dn")

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        controller, terminal = pty.openpty()
        try:
            process = subprocess.Popen(
                [executable, *args],
                stdin=subprocess.DEVNULL,
                stdout=terminal,
                stderr=subprocess.PIPE,
                env=dn_environment({"TERM": "dumb", **(env or {})}),
            )
            os.close(terminal)
            terminal = -1
            shown = bytearray()
            while select.select([controller], [], [], 60)[0]:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: dn exited, and the terminal's other side with it
                    break
                if not chunk:
                    break
                shown += chunk
            assert process.stderr is not None
            stderr = process.stderr.read().decode()
            process.stderr.close()
            code = process.wait(timeout=60)
        finally:
            os.close(controller)
            if terminal != -1:
                os.close(terminal)
        stdout = shown.decode().replace("\r\n", "\n")
        return subprocess.CompletedProcess(process.args, code, stdout, stderr)

    return run


@pytest.fixture
def fake_api() -> Iterator[FakeAPI]:
    """A scripted HTTP server on a free loopback port (see ``fake_api.py``)."""
    with running_fake_api() as api:
        yield api


def write_grader(directory: Path, declaration: Any = GRADER, name: str = "grader.json") -> str:
    """A grader file in ``directory`` holding ``declaration`` (JSON; a str is written as it is),
    as ``--grader`` takes it."""
    path = directory / name
    text = declaration if isinstance(declaration, str) else json.dumps(declaration)
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def grader(tmp_path: Path) -> str:
    """The path of a file holding ``GRADER``, for ``dn train rl --grader``."""
    return write_grader(tmp_path)
