"""The API server's start-up time and memory, beside a bare FastAPI app on uvicorn in the same run.

The renderers (PyTorch) and the tinker SDK are the worker's: the API must not pay for them on
every start, nor keep them in memory. Each of ``STARTS`` rounds starts `python -m app serve`
(one worker, as ``app.testing`` starts it) on a fresh SQLite file that `tokens create` has just
migrated, then the baseline: a bare FastAPI app with one ``/health`` route under `python -m
uvicorn`. Measured from just before each process starts: the first 200 on ``GET /health`` (polled
every ``POLL_SECONDS``), then for the API the first answered catalog page; then its resident
memory (VmRSS) after that page and a job validation, the baseline's after ``/health``. Figures
are medians; the machine is shared, so the ratios to the baseline are what to read.

Every process measured lists the modules it imported on its way out, so what its requests
imported lazily counts too: none of ``WORKER_ONLY`` may be among the API's (a target: a miss
exits 1). The check only bites where they are installed, as `nox -s bench` installs them; the
report says which are.

Bytecode: these machines set PYTHONDONTWRITEBYTECODE, and an editable install has none for the
app's own modules, so each start would compile them afresh, which an installed server does not.
Both servers read and write their bytecode under a temporary PYTHONPYCACHEPREFIX instead, filled
by one unmeasured start of each. Linux only (memory is read from /proc). Run with `nox -s bench`.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.testing import STARTUP_SECONDS, LiveServer, create_token, serve_command

STARTS = 7
POLL_SECONDS = 0.01
PREFIX = "/api/v1"
CATALOG = f"{PREFIX}/training/catalog"
VALIDATE = f"{PREFIX}/training/jobs/validate"
JOB = {"base_model": "Qwen/Qwen3-8B", "method": "sft", "dataset": "s3://bucket/train.jsonl"}
#: What only the training worker (its extra, or the local Tinker engine) may import.
WORKER_ONLY = ("dbos", "jax", "tinker", "tml_renderers", "torch")
BASELINE_APP = '''\
"""The least a FastAPI server on uvicorn starts with: one route."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
'''
#: ``python -c PROBE OUT MODULE ARGS...`` runs ``python -m MODULE ARGS...`` and, on its way out,
#: writes the names in ``sys.modules`` to OUT. uvicorn stops on SIGTERM, then raises it again
#: with the handler it found: this one, so the process exits through Python, and atexit runs.
PROBE = textwrap.dedent(
    """\
    import atexit, runpy, signal, sys
    out, module = sys.argv[1], sys.argv[2]
    def report():
        with open(out, "w") as file:
            file.write("\\n".join(sorted(sys.modules)))
    atexit.register(report)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    """
)


@dataclass(frozen=True)
class Start:
    """One start of a server, in seconds from just before its process started, and MiB."""

    health_s: float
    ready_s: float  # the API: its first catalog page; the baseline: its first /health
    rss_mib: float
    modules: frozenset[str]


class TimedServer(LiveServer):
    """``LiveServer`` whose wait is the measurement: timed from just before the process starts,
    polled every ``POLL_SECONDS``, and over at the first 200 (not at any answer)."""

    def __init__(self, env: Mapping[str, str], log: Path, command: Sequence[str]) -> None:
        self.started = time.perf_counter()
        self.health_s = 0.0
        super().__init__(env, log, command)

    def _wait_until_healthy(self) -> None:
        while time.perf_counter() - self.started < STARTUP_SECONDS:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.process.returncode}:\n{self.log_text()}"
                )
            if request(self.url, "GET", "/health")[0] == 200:
                self.health_s = time.perf_counter() - self.started
                return
            time.sleep(POLL_SECONDS)
        raise RuntimeError(f"no 200 on /health in {STARTUP_SECONDS} s:\n{self.log_text()}")

    def since_start(self) -> float:
        return time.perf_counter() - self.started

    def rss_mib(self) -> float:
        """The server's resident memory now (VmRSS, in kB in /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc: memory is measured on Linux only")


def request(
    url: str, method: str, path: str, token: str | None = None, body: object = None
) -> tuple[int, object]:
    """One request: its status and JSON body; status 0 when nothing answered."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    prepared = urllib.request.Request(url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(prepared, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, None


def probed(out: Path, module: str, command: Sequence[str]) -> list[str]:
    """``command`` (``python -m module ARGS``) run through PROBE, which writes ``out``."""
    return [sys.executable, "-c", PROBE, str(out), module, *command[3:]]


def start_api(directory: Path, bytecode: Mapping[str, str]) -> Start:
    """Serve on a fresh SQLite file; time /health and the first catalog page, then validate a
    job and read the memory."""
    env = {**bytecode, "DATABASE_URL": f"sqlite:///{directory / 'api.db'}"}
    token = create_token(env, "--name", "bench")  # migrates the file, before the clock starts
    command = serve_command("--workers", "1")
    assert command[1:3] == ["-m", "app"], command  # what ``probed`` takes apart
    out = directory / "api.modules"
    with TimedServer(env, directory / "api.log", probed(out, "app", command)) as server:
        status, _ = request(server.url, "GET", CATALOG, token)
        ready_s = server.since_start()
        if status != 200:
            raise RuntimeError(f"GET {CATALOG} answered {status}:\n{server.log_text()}")
        status, verdict = request(server.url, "POST", VALIDATE, token, JOB)
        if status != 200 or not isinstance(verdict, dict) or verdict.get("valid") is not True:
            raise RuntimeError(f"POST {VALIDATE} answered {status}: {verdict}")
        rss = server.rss_mib()
        health_s = server.health_s
    return Start(health_s, ready_s, rss, read_modules(out, server))


def start_baseline(directory: Path, bytecode: Mapping[str, str]) -> Start:
    """The bare app on uvicorn: time its first 200 on /health, then read the memory."""
    (directory / "baseline_app.py").write_text(BASELINE_APP)
    command = [sys.executable, "-m", "uvicorn", "baseline_app:app", "--app-dir", str(directory)]
    command += ["--host", "127.0.0.1", "--port", "{port}", "--no-access-log"]
    out = directory / "baseline.modules"
    command = probed(out, "uvicorn", command)
    with TimedServer(bytecode, directory / "baseline.log", command) as server:
        rss = server.rss_mib()
        health_s = server.health_s
    return Start(health_s, health_s, rss, read_modules(out, server))


def read_modules(out: Path, server: LiveServer) -> frozenset[str]:
    if not out.exists():
        raise RuntimeError(f"the server did not list its modules on exit:\n{server.log_text()}")
    return frozenset(out.read_text().splitlines())


def main() -> int:
    api: list[Start] = []
    baseline: list[Start] = []
    with tempfile.TemporaryDirectory() as scratch:
        # "" unsets PYTHONDONTWRITEBYTECODE for the children: they fill the cache, then read it.
        bytecode = {"PYTHONPYCACHEPREFIX": str(Path(scratch) / "pycache")}
        bytecode["PYTHONDONTWRITEBYTECODE"] = ""
        for round_ in range(STARTS + 1):  # the first round fills the bytecode cache: not counted
            for name, run, starts in (
                ("api", start_api, api),
                ("baseline", start_baseline, baseline),
            ):
                directory = Path(scratch) / f"{name}-{round_}"
                directory.mkdir()
                result = run(directory, bytecode)
                if round_:
                    starts.append(result)
    api_health = statistics.median(start.health_s for start in api)
    api_catalog = statistics.median(start.ready_s for start in api)
    api_rss = statistics.median(start.rss_mib for start in api)
    base_health = statistics.median(start.health_s for start in baseline)
    base_rss = statistics.median(start.rss_mib for start in baseline)
    modules = {
        name: statistics.median(len(start.modules) for start in starts)
        for name, starts in (("api", api), ("baseline", baseline))
    }
    print(f"api start-up over {STARTS} starts each, beside a bare FastAPI app (median)")
    print(f"  api: first 200 on /health            {api_health * 1000:8.1f} ms")
    print(f"  api: first catalog page              {api_catalog * 1000:8.1f} ms")
    print(f"  baseline: first 200 on /health       {base_health * 1000:8.1f} ms")
    print(f"  ratio (/health)                      {api_health / base_health:8.2f}x")
    print(f"  ratio (catalog page / baseline)      {api_catalog / base_health:8.2f}x")
    print(f"  api: RSS after catalog and validate  {api_rss:8.1f} MiB")
    print(f"  baseline: RSS after /health          {base_rss:8.1f} MiB")
    print(f"  ratio (RSS)                          {api_rss / base_rss:8.2f}x")
    print(f"  api: modules imported                {modules['api']:8.0f}")
    print(f"  baseline: modules imported           {modules['baseline']:8.0f}")
    installed = [name for name in WORKER_ONLY if importlib.util.find_spec(name) is not None]
    print(
        f"worker-only modules installed here: {', '.join(installed) or 'none'} "
        f"(of {', '.join(WORKER_ONLY)})"
    )
    loaded = sorted(
        {name.split(".")[0] for start in api for name in start.modules} & set(WORKER_ONLY)
    )
    if loaded:
        print(f"the API server imported worker-only modules: {', '.join(loaded)}")
    met = not loaded
    print(f"target (no worker-only module in the API server): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
