"""Start and stop SkyRL tx, a local Tinker-compatible server, around tests and benchmarks.

Why this exists: the worker trains through the official ``tinker`` SDK, and every test of it
needs a real server that speaks Tinker's API. SkyRL tx (``skyrl-tx==0.3.0``, ``tx.tinker.api``)
is one, on JAX and the CPU, good with ``tinker==0.16.1``. Starting it by hand has traps that
this module removes once for every caller:

- Its API server starts the training engine as ``uv run --extra tinker --extra jax -m
  tx.tinker.engine ...``. A real ``uv`` would sync whichever project it finds (ours!) instead of
  using the installed package, so a ``uv`` shim goes first on ``PATH``: it drops everything
  before ``-m`` and runs the same interpreter.
- Compiling the engine's JAX programs costs seconds per shape; a persistent compilation cache
  shared across runs (``JAX_COMPILATION_CACHE_DIR``) pays that once per machine.
- ``/api/v1/healthz`` answers before the engine has loaded the model; ``LocalTinker`` also waits
  for the engine's "Starting background engine" line, so the first request is not a hidden
  20-second wait.
- The engine is a grandchild: the server runs in its own process group, stopped whole (SIGTERM,
  then SIGKILL) on exit, and both processes ask the kernel to kill them if their parent dies
  (Linux), so a killed test run leaves nothing computing on a two-core machine.

jax, torch and tinker are never imported here: they live in the server's interpreter, which may
be another virtualenv's (``python=``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from app.localtinker.standin import build_standin_model

__all__ = [
    "API_KEY",
    "DEFAULT_BACKEND_CONFIG",
    "ENGINE_READY_LINE",
    "LocalTinker",
    "LocalTinkerError",
    "default_cache_dir",
    "free_port",
    "group_members",
]

#: The key clients send. SkyRL tx checks none, but the ``tinker`` SDK insists on the prefix.
API_KEY: Final = "tml-localtinker"
#: Engine settings measured on two cores with the real vocabulary (151,936). skyrl-tx's default
#: ``loss_chunk_size`` (1024) pads a step's tokens up to a multiple of 1024 before the
#: vocabulary-sized matmul and loops over chunks: 0 (no chunking) made steps 2.4x cheaper
#: (12.5 -> 5.3 CPU-seconds for 4 rows of 128 tokens). ``train_micro_batch_size`` 1 keeps that
#: unchunked matmul to one row at a time (memory bounded by the longest row) and makes the
#: compiled shape [1, bucket] whatever the batch size, so a new batch size costs no recompile.
DEFAULT_BACKEND_CONFIG: Final[Mapping[str, object]] = {
    "max_lora_adapters": 4,
    "max_lora_rank": 32,
    "loss_chunk_size": 0,
    "train_micro_batch_size": 1,
}
#: What the engine logs once the model is loaded and it polls for work (skyrl-tx 0.3.0).
ENGINE_READY_LINE: Final = "Starting background engine"
_LOG_TAIL_CHARS: Final = 4000

# Runs in place of `uv`: skyrl-tx's API server launches its engine as `uv run ... -m MODULE ...`.
_SHIM = '''\
"""uv stand-in written by app.localtinker: `uv run [...] -m MODULE ARGS` runs
`python -m MODULE ARGS` with this interpreter, dying with its parent (Linux)."""
import os
import signal
import sys

arguments = sys.argv[1:]
if "-m" not in arguments:
    sys.exit("app.localtinker's uv shim only runs `uv run ... -m MODULE ...`: " + repr(arguments))
try:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass  # not Linux: the process group is still stopped whole
os.execv(sys.executable, [sys.executable, *arguments[arguments.index("-m"):]])
'''


class LocalTinkerError(RuntimeError):
    """The server could not start (died, or never became ready); the message has its log."""


def default_cache_dir() -> Path:
    """Where stand-in models and the JAX compilation cache live across runs:
    ``$DREADNODE_LOCALTINKER_CACHE``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``) /
    ``dreadnode-localtinker``."""
    explicit = os.environ.get("DREADNODE_LOCALTINKER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dreadnode-localtinker"


#: ``lm_head``'s spread in the peaked stand-in (see ``build_standin_model``).
PEAKED_UNEMBEDDING_STD: Final = 1.0


def peaked_standin_dir() -> Path:
    """The stand-in whose next token is peaked, as a trained model's is, built once in
    :func:`default_cache_dir`: a reward on what it writes can rise within a few RL steps, where
    the default stand-in spreads its guesses over the whole vocabulary."""
    return build_standin_model(
        default_cache_dir() / "standin-qwen3-peaked", unembedding_std=PEAKED_UNEMBEDDING_STD
    )


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalTinker:
    """SkyRL tx serving Tinker's API on loopback, as a context manager.

    ``python`` is the interpreter of the virtualenv that has ``skyrl-tx[tinker]`` (default: this
    one). ``model_dir`` is the model it loads (default: the stand-in Qwen3 built, once, in
    :func:`default_cache_dir`). ``run_dir`` receives the database, checkpoints, the shim and the
    log (``localtinker.log``); ``compile_cache_dir`` defaults to ``default_cache_dir()/"jax"``.
    ``backend_config`` goes to the engine as ``--backend-config`` over
    :data:`DEFAULT_BACKEND_CONFIG`; ``max_lora_adapters`` - 1 training clients can be created
    per server lifetime (slot 0 is the base model's).

    ``served_as`` names the model as Tinker would (``Qwen/Qwen3-8B``): the engine then loads it
    under that id (a link by that relative path in ``run_dir``, the engine's working directory,
    which SkyRL tx reads before any hub), so a client that samples the base model by its catalog
    id, as the API does, is answered. Without it the engine's base model is the directory's path.

    ``start`` (or entering the ``with`` block) returns once the engine is ready, or raises
    :class:`LocalTinkerError` with the log's tail; ``close`` (or leaving it) stops every process.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        python: str | os.PathLike[str] | None = None,
        port: int | None = None,
        model_dir: str | os.PathLike[str] | None = None,
        backend_config: Mapping[str, object] | None = None,
        compile_cache_dir: str | os.PathLike[str] | None = None,
        startup_timeout: float = 240.0,
        stop_timeout: float = 5.0,
        wait_for_engine: bool = True,
        env: Mapping[str, str] | None = None,
        served_as: str | None = None,
    ) -> None:
        self.run_dir = Path(run_dir).absolute()
        self.served_as = served_as
        self.python = str(python or sys.executable)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_key = API_KEY
        self.model_dir = Path(model_dir).absolute() if model_dir is not None else None
        self.backend_config: dict[str, object] = {
            **DEFAULT_BACKEND_CONFIG,
            **(backend_config or {}),
        }
        self.compile_cache_dir = Path(
            compile_cache_dir if compile_cache_dir is not None else default_cache_dir() / "jax"
        ).absolute()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.wait_for_engine = wait_for_engine
        self.extra_env = dict(env or {})
        self.log_path = self.run_dir / "localtinker.log"
        self.process: subprocess.Popen[bytes] | None = None
        #: Seconds from launch to ready, set by ``start``.
        self.startup_seconds: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> Self:
        """Launch the server and wait until it (and, unless told not to, its engine) is ready."""
        if self.process is not None:
            raise RuntimeError("this LocalTinker was already started")
        if self.model_dir is None:
            self.model_dir = build_standin_model(default_cache_dir() / "standin-qwen3")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.compile_cache_dir.mkdir(parents=True, exist_ok=True)
        if self.served_as is not None:
            link = self.run_dir / self.served_as
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(self.model_dir, target_is_directory=True)
        shim = self._write_uv_shim()
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.python,
                    str(shim.with_suffix(".py")),
                    "run",
                    "-m",
                    "tx.tinker.api",
                    *self._server_arguments(),
                ],
                env=self._environment(shim.parent),
                cwd=self.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped whole in close()
            )
        try:
            self._wait_until_ready(started)
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def close(self) -> None:
        """Stop the server and its engine: SIGTERM to the process group, SIGKILL after
        ``stop_timeout``; returns once no process of the group is left running."""
        process = self.process
        if process is None:
            return
        group = process.pid  # start_new_session: the group id is the leader's pid
        _signal_group(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=self.stop_timeout)
        deadline = time.monotonic() + self.stop_timeout
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        if group_members(group) or process.poll() is None:
            _signal_group(group, signal.SIGKILL)
            process.wait()
            deadline = time.monotonic() + self.stop_timeout
            while group_members(group) and time.monotonic() < deadline:
                time.sleep(0.05)

    # -- information -----------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The API server's pid (also its process group's id), once started."""
        return self.process.pid if self.process is not None else None

    @property
    def base_model(self) -> str:
        """The id a sampling client names the engine's base model by."""
        return self.served_as if self.served_as is not None else str(self.model_dir)

    def client_env(self) -> dict[str, str]:
        """``TINKER_BASE_URL`` and ``TINKER_API_KEY`` for a ``tinker`` client of this server."""
        return {"TINKER_BASE_URL": self.base_url, "TINKER_API_KEY": self.api_key}

    def log_text(self) -> str:
        """What the server and its engine have written so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """The end of the log, for error messages."""
        return self.log_text()[-chars:]

    # -- internals -------------------------------------------------------------------------

    def _server_arguments(self) -> list[str]:
        """The command line of ``python -m tx.tinker.api`` after the module."""
        return [
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--base-model",
            self.base_model,
            "--database-url",
            f"sqlite:///{self.run_dir / 'tinker.db'}",
            "--checkpoints-base",
            str(self.run_dir / "ckpts"),
            "--backend-config",
            json.dumps(self.backend_config, sort_keys=True),
        ]

    def _write_uv_shim(self) -> Path:
        """``RUN/bin/uv`` (a shell script running ``RUN/bin/uv.py`` with ``self.python``)."""
        directory = self.run_dir / "bin"
        directory.mkdir(exist_ok=True)
        script = directory / "uv.py"
        script.write_text(_SHIM)
        launcher = directory / "uv"
        launcher.write_text(
            f'#!/bin/sh\nexec {shlex.quote(self.python)} {shlex.quote(str(script))} "$@"\n'
        )
        launcher.chmod(0o755)
        return launcher

    def _environment(self, shim_dir: Path) -> dict[str, str]:
        """The server's environment: ours, the shim first on PATH, JAX on the CPU with its
        persistent cache, nothing fetched from a model hub, and the caller's ``env`` last."""
        env = dict(os.environ)
        env.update(
            {
                "PATH": os.pathsep.join([str(shim_dir), env.get("PATH", "")]),
                "JAX_PLATFORMS": "cpu",
                "JAX_COMPILATION_CACHE_DIR": str(self.compile_cache_dir),
                "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false",
                "PYTHONUNBUFFERED": "1",
                "COLUMNS": "240",  # rich's log lines: one line each in the file
            }
        )
        env.pop("VIRTUAL_ENV", None)  # the shim picks the interpreter, not an outer venv
        env.update(self.extra_env)
        return env

    def _wait_until_ready(self, started: float) -> None:
        """Poll ``/api/v1/healthz``, then the log for the engine's ready line."""
        assert self.process is not None
        deadline = started + self.startup_timeout
        health = f"{self.base_url}/api/v1/healthz"
        answered = False
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise LocalTinkerError(
                    f"the local Tinker server exited with {code} while starting; log "
                    f"{self.log_path}:\n{self.log_tail()}"
                )
            if not answered:
                # An http URL on loopback, built above: no other scheme reaches urlopen.
                with (
                    contextlib.suppress(urllib.error.URLError, OSError),
                    urllib.request.urlopen(health, timeout=2) as response,  # noqa: S310
                ):
                    answered = response.status == 200
            if answered and (not self.wait_for_engine or ENGINE_READY_LINE in self.log_text()):
                return
            time.sleep(0.2)
        waiting_for = "its engine" if answered else "/api/v1/healthz"
        raise LocalTinkerError(
            f"the local Tinker server was not ready ({waiting_for}) after "
            f"{self.startup_timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}"
        )


def _signal_group(group: int, signum: signal.Signals) -> None:
    """Send ``signum`` to every process of ``group``; an empty group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes of process group ``group``.

    On Linux from ``/proc``, so that an already-dead engine waiting to be reaped by init does not
    count; elsewhere ``[group]`` while any member can be signalled.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [group]
    members: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] not in ("Z", "X") and int(fields[2]) == group:
            members.append(int(entry.name))
    return members
