"""Running the real server from tests and benchmarks: a free port, the console scripts, operator
commands and a live server that stops by itself.

It ships with the package (as ``fastapi.testclient`` does) so that the API's own tests, the
cross-package tests in ``tests/`` and ``benchmarks/api.py`` start the server one way, with one
set of timeouts, rather than three. The standard library only: callers may not have httpx or
pytest, and a failure is an exception whose message carries the server's log.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

__all__ = [
    "MOTO_CREDENTIALS",
    "STARTUP_SECONDS",
    "LiveServer",
    "TcpProxy",
    "app_command",
    "console_script",
    "create_token",
    "free_port",
    "moto_s3",
    "serve_command",
]

#: How long a server may take to answer ``/health`` (migrations included) before it has failed.
STARTUP_SECONDS = 30
#: How long a server may take to stop when asked, before it is killed.
STOP_SECONDS = 10


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def console_script(name: str) -> str:
    """The installed console script ``name``: the one beside this interpreter (the environment
    under test), else the first on ``PATH``."""
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"the {name!r} console script is not installed here")
    return found


def app_command(
    *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m app ARGS`` as an operator would (``env`` over this process's own)."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def create_token(env: Mapping[str, str], *args: str) -> str:
    """A new token from ``tokens create ARGS`` (the secret is its last line)."""
    result = app_command("tokens", "create", *args, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"tokens create {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.splitlines()[-1]


def serve_command(*extra: str) -> list[str]:
    """``python -m app serve`` on loopback, on the port ``LiveServer`` picks (``{port}``)."""
    return [
        sys.executable,
        "-m",
        "app",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--no-access-log",
        *extra,
    ]


class _StoppedOnExit:
    """Leaving a ``with`` block calls ``close``: a test's processes and sockets stop with it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class LiveServer(_StoppedOnExit):
    """A server in a subprocess on a free loopback port, ready once ``/health`` answers at all;
    stopped (killed if it will not stop) by ``close`` or on leaving a ``with`` block.

    ``command`` may hold ``{port}``, replaced by the chosen port; its output goes to ``log``.
    It fetches no price list unless ``env`` names one (``DREADNODE_API_PRICE_LIST_URL``): a test
    server never reaches out to Tinker's site, and a test that wants prices serves its own.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log: Path,
        command: Sequence[str] | None = None,
        *,
        inherit_environment: bool = True,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        base = {**(os.environ if inherit_environment else {}), "DREADNODE_API_PRICE_LIST_URL": ""}
        arguments = [part.replace("{port}", str(self.port)) for part in command or serve_command()]
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                arguments, env={**base, **env}, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.close()
            raise

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the API server exited with {self.process.returncode}:\n{self.log_text()}"
                )
            try:
                # An http URL on loopback, built above: no other scheme can reach urlopen.
                health = f"{self.url}/health"
                with urllib.request.urlopen(health, timeout=1):  # noqa: S310
                    return
            except urllib.error.HTTPError:
                return  # it answers, if only to say its database is down (503)
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"the API server did not answer /health in {STARTUP_SECONDS} s:\n{self.log_text()}"
        )

    def log_text(self) -> str:
        """What the server has written so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def close(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``STOP_SECONDS``."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


#: Credentials and region for a store served by ``moto_s3``: moto takes any, but the client
#: must sign its requests with something, and must never go looking for real ones.
MOTO_CREDENTIALS: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextlib.contextmanager
def moto_s3(bucket: str, log: Path) -> Iterator[str]:
    """A real S3 endpoint on a free loopback port (moto's server, in a subprocess, with its
    output in ``log``) holding an empty ``bucket``; yields the endpoint URL and stops the server
    on exit. Its objects live in the server's memory and go with it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto exited with {process.returncode}:\n{_read(log)}")
            try:
                # Path-style CreateBucket; moto takes unsigned requests. An http URL on
                # loopback, built above: no other scheme can reach urlopen.
                create = urllib.request.Request(f"{url}/{bucket}", method="PUT")  # noqa: S310
                with urllib.request.urlopen(create, timeout=1):  # noqa: S310
                    break
            except urllib.error.HTTPError as refused:  # it answers: no point waiting longer
                reason = refused.read().decode(errors="replace")
                raise RuntimeError(f"moto refused to create bucket {bucket!r}: {reason}") from None
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto did not answer in {STARTUP_SECONDS} s:\n{_read(log)}"
                    ) from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read(log: Path, lines: int = 40) -> str:
    """The last ``lines`` of a log (moto logs every request)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


ProxyMode = Literal["pass", "refuse", "black-hole"]


class TcpProxy(_StoppedOnExit):
    """A TCP proxy on a free loopback port in front of a real server (a database), switched
    between modes while it runs, so a test can make the database go down, hang and come back
    under an API server that keeps running: point its ``DATABASE_URL`` at ``port``.

    ``pass`` forwards both ways. ``refuse`` closes every connection, open ones included, and
    each new one as soon as it is accepted: a database that is down. ``black-hole`` accepts new
    connections and forwards nothing either way on any connection: a database whose host still
    answers TCP while the database does not. Bytes held back are not lost: back in ``pass`` they
    flow on, as after a network partition heals.
    """

    #: How often a held-back connection looks at the mode again.
    TICK_SECONDS = 0.02

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode: ProxyMode = "pass"
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        #: Connections accepted so far, in any mode.
        self.accepted = 0
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._acceptor.start()

    def set_mode(self, mode: ProxyMode) -> None:
        """Switch to ``mode``; ``refuse`` also closes every open connection at once."""
        if mode not in ("pass", "refuse", "black-hole"):
            raise ValueError(f"unknown proxy mode {mode!r}")
        with self._lock:
            self.mode = mode
            doomed = list(self._sockets) if mode == "refuse" else []
        for sock in doomed:
            self._drop(sock)

    def _track(self, sock: socket.socket) -> bool:
        """Remember ``sock`` to close it later, unless it should be closed now."""
        with self._lock:
            if self._closed.is_set() or self.mode == "refuse":
                return False
            self._sockets.add(sock)
            return True

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):  # never connected, or already shut
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            self.accepted += 1
            if not self._track(client):
                self._drop(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        """Hold a new connection while black-holed, then connect it upstream and pump."""
        while self._holding() and not self._closed.is_set():
            time.sleep(self.TICK_SECONDS)
        if self.mode != "pass" or self._closed.is_set():
            self._drop(client)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            self._drop(client)
            return
        if not self._track(upstream):
            self._drop(upstream)
            self._drop(client)
            return
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        """Copy ``source`` to ``target`` while passing; hold still while black-holed."""
        try:
            while not self._closed.is_set():
                if self._holding():
                    time.sleep(self.TICK_SECONDS)
                    continue
                readable, _, _ = select.select([source], [], [], self.TICK_SECONDS)
                if not readable or self._holding():  # the mode may have changed meanwhile
                    continue
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except (OSError, ValueError):
            pass  # one side closed (ValueError: select on a socket closed meanwhile)
        self._drop(source)
        self._drop(target)

    def _holding(self) -> bool:
        return self.mode == "black-hole"

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._closed.set()
        self._listener.close()
        with self._lock:
            doomed = list(self._sockets)
        for sock in doomed:
            self._drop(sock)
        self._acceptor.join(timeout=5)
