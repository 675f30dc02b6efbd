"""Process hygiene and the server's own request bounds, read from the server's log.

A killed supervisor takes its workers with it, so the port is free for a restart; a SIGTERM to
the supervisor stops it and every child within the graceful-shutdown bound, after a worker was
replaced as in the middle of a restart; each 500 is logged once, with its traceback and the
request id the client was given, and the client's connection survives it; a client gone
mid-body is one info line; a request head that is too big or too slow is refused without
holding the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.testing import STARTUP_SECONDS, STOP_SECONDS

from .conftest import (
    BACKENDS,
    GRADER,
    PREFIX,
    Api,
    LiveServer,
    envelope,
    free_port,
    fresh_database,
    running_api,
    serve_command,
)

#: The head deadline of the module's servers, short so that the tests of it are quick.
HEAD_SECONDS = 1
KEEP_ALIVE_SECONDS = 1
#: How long a log line may take to appear after the request that causes it.
LOG_SECONDS = 5
JOB = {
    "base_model": "Qwen/Qwen3-8B",
    "method": "rl",
    "dataset": "s3://bucket/prompts.jsonl",
    "grader": GRADER,
}


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server of one backend with short head and keep-alive deadlines."""
    backend: str = request.param
    with running_api(
        backend,
        tmp_path_factory.mktemp(f"hygiene-{backend}"),
        DREADNODE_API_HEADER_READ_TIMEOUT_SECONDS=str(HEAD_SECONDS),
        DREADNODE_API_KEEP_ALIVE_TIMEOUT_SECONDS=str(KEEP_ALIVE_SECONDS),
    ) as api:
        yield api


def _log(api: Api) -> str:
    assert api.server is not None
    return api.server.log_text()


def _wait_for_log(api: Api, needle: str) -> str:
    """The server's log once it holds ``needle`` (or, failing, as it is after the wait)."""
    deadline = time.monotonic() + LOG_SECONDS
    while needle not in _log(api) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _log(api)


def _lines_with(log: str, needle: str) -> list[str]:
    return [line for line in log.splitlines() if needle in line]


def _local_port(response: httpx.Response) -> int:
    """The client-side port of the connection that carried ``response``."""
    address = response.extensions["network_stream"].get_extra_info("client_addr")
    return int(address[1])


def test_server_error_is_logged_once_with_request_id_and_connection_stays_usable(
    api: Api,
) -> None:
    with api.client() as client:
        created = client.post("/training/jobs", json=JOB)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        # A row the API cannot have written (a status outside its enum): reading it is a real
        # crash in the response model, on both databases.
        with api.engine.begin() as connection:
            connection.execute(
                text("UPDATE jobs SET status = 'exploded' WHERE id = :id"), {"id": job_id}
            )
        crashed = client.get(f"/training/jobs/{job_id}", headers={"X-Request-ID": "ticket-4711"})
        body = envelope(crashed, 500, "server_error")
        assert body["detail"] == "Internal server error"
        assert "exploded" not in crashed.text
        assert crashed.headers["X-Request-ID"] == "ticket-4711"
        after = client.get("/training/catalog", params={"limit": 1})
        assert after.status_code == 200
        assert _local_port(after) == _local_port(crashed)  # the same keep-alive connection

    log = _wait_for_log(api, "ticket-4711")
    lines = _lines_with(log, "ticket-4711")
    assert lines == [
        f"ERROR:    unhandled error on GET {PREFIX}/training/jobs/{job_id} (request id ticket-4711)"
    ]
    after_line = log[log.index(lines[0]) :]
    assert after_line.splitlines()[1] == "Traceback (most recent call last):"
    assert "ValidationError" in after_line
    assert "Exception in ASGI application" not in log
    assert log.count(f"GET {PREFIX}/training/jobs/{job_id}") == 1


def test_every_response_carries_a_request_id_the_clients_when_sane(api: Api) -> None:
    generated = re.compile(r"[0-9a-f]{32}")
    with api.client() as client:
        kept = client.get("/training/catalog", headers={"X-Request-ID": "trace:ab-12/3"})
        assert kept.headers["X-Request-ID"] == "trace:ab-12/3"
        for insane in (
            "a" * 129,
            "two words",
            "semi;colon",
            b"caf\xc3\xa9",
        ):
            replaced = client.get("/training/catalog", headers={"X-Request-ID": insane})
            assert replaced.status_code == 200
            assert generated.fullmatch(replaced.headers["X-Request-ID"]), insane
        ids = {client.get("/training/catalog").headers["X-Request-ID"] for _ in range(3)}
        assert len(ids) == 3
        assert all(generated.fullmatch(value) for value in ids)
        missing = client.get("/training/jobs/no-such-job")
        assert envelope(missing, 404, "not_found_error")
        assert generated.fullmatch(missing.headers["X-Request-ID"])
    unauthenticated = httpx.get(f"{api.url}{PREFIX}/training/catalog")
    assert unauthenticated.status_code == 401
    assert generated.fullmatch(unauthenticated.headers["X-Request-ID"])
    assert generated.fullmatch(httpx.get(f"{api.url}/health").headers["X-Request-ID"])


def _connect(api: Api) -> socket.socket:
    port = int(api.url.rsplit(":", 1)[1])
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.settimeout(10)
    return connection


def test_client_gone_mid_body_is_one_info_line(api: Api) -> None:
    head = (
        f"POST {PREFIX}/training/jobs HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {api.tokens['alice']}\r\nContent-Type: application/json\r\n"
        "X-Request-ID: gone-mid-body\r\nContent-Length: 1000\r\n\r\n"
    )
    with _connect(api) as connection:
        connection.sendall(head.encode() + b'{"base_model": ')
        time.sleep(0.3)  # the server is reading the body when the client goes
    log = _wait_for_log(api, "gone-mid-body")
    lines = _lines_with(log, "gone-mid-body")
    assert len(lines) == 1, log
    assert lines[0].startswith("INFO:     client 127.0.0.1:")
    assert lines[0].endswith(
        f"disconnected before sending its whole request body: POST {PREFIX}/training/jobs "
        "(request id gone-mid-body; 15 of 1000 bytes arrived)"
    )
    following = log[log.index(lines[0]) :].splitlines()[1:2]
    assert not following or not following[0].startswith("Traceback")
    with api.client() as client:  # and the server carries on
        assert client.get("/training/catalog", params={"limit": 1}).status_code == 200


def _read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_oversized_request_head_is_refused_at_once(api: Api) -> None:
    with api.client() as client:  # 8 KiB of headers is fine (the limit is 16 KiB)
        assert client.get("/health", headers={"X-Padding": "a" * 8192}).status_code == 200
    began = time.monotonic()
    with _connect(api) as connection:
        # Refused before it was all sent, the send fails: what this test wants.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 8_000_000)
        answer = _read_until_closed(connection)
    assert time.monotonic() - began < 3
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    with _connect(api) as connection:  # 20 KiB, just over the limit, still arriving: a clean 431
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 20480)
        answer = _read_until_closed(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in head.lower()
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body) == {
        "code": 431,
        "detail": "Request line and headers larger than the limit of 16,384 bytes",
        "type": "request_header_too_large_error",
        "errors": [],
    }
    assert httpx.get(f"{api.url}/health").status_code == 200


def test_unparsable_request_is_400_in_the_envelope(api: Api) -> None:
    with _connect(api) as connection:
        connection.sendall(b"NOT AN HTTP REQUEST\r\n\r\n")
        answer = _read_until_closed(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert json.loads(body)["detail"].startswith("Malformed HTTP request: ")


def test_stalled_request_head_is_closed_after_the_head_deadline(api: Api) -> None:
    with _connect(api) as trickle, _connect(api) as silent:
        began = time.monotonic()
        trickle.sendall(b"GET /health HTTP/1.1\r\nX-Slow: 1")  # and nothing more
        assert _read_until_closed(trickle) == b""
        assert _read_until_closed(silent) == b""  # a connection that never sent a byte
        elapsed = time.monotonic() - began
    assert HEAD_SECONDS * 0.8 <= elapsed < HEAD_SECONDS + 3
    log = _wait_for_log(api, "did not arrive in full")
    assert _lines_with(log, "did not arrive in full within 1 s"), log


def _read_response(connection: socket.socket) -> bytes:
    """One whole response (head and ``Content-Length`` body) from ``connection``."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    assert length is not None, head
    while len(body) < int(length.group(1)):
        body += connection.recv(65536)
    return received


def test_idle_keep_alive_connection_is_closed_after_keep_alive_timeout(api: Api) -> None:
    with _connect(api) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        assert _read_response(connection).startswith(b"HTTP/1.1 200 ")
        began = time.monotonic()
        assert _read_until_closed(connection) == b""
        elapsed = time.monotonic() - began
    assert KEEP_ALIVE_SECONDS * 0.8 <= elapsed < KEEP_ALIVE_SECONDS + 3


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_supervisor_killed_its_workers_stop_and_port_restarts(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url}
        port = free_port()
        command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--no-access-log"]
        log = tmp_path / "first.log"
        with log.open("wb") as output:
            supervisor = subprocess.Popen(
                [*command, "--workers", "2"], env=env, stdout=output, stderr=subprocess.STDOUT
            )
        workers: list[int] = []
        replacement: subprocess.Popen[bytes] | None = None
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while len(workers) < 2 or not _healthy(port):
                assert supervisor.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                text = log.read_text()
                workers = [
                    int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", text)
                ]
                time.sleep(0.1)
            assert text.count("Application startup complete.") >= 2 or _healthy(port)

            supervisor.send_signal(signal.SIGKILL)
            supervisor.wait(timeout=STOP_SECONDS)
            killed = time.monotonic()
            while any(_running(pid) for pid in workers) and time.monotonic() < killed + 10:
                time.sleep(0.05)
            assert not [pid for pid in workers if _running(pid)], log.read_text()

            with (tmp_path / "second.log").open("wb") as output:
                replacement = subprocess.Popen(
                    command, env=env, stdout=output, stderr=subprocess.STDOUT
                )
            while not _healthy(port):
                assert replacement.poll() is None, (tmp_path / "second.log").read_text()
                assert time.monotonic() < killed + 10, (tmp_path / "second.log").read_text()
                time.sleep(0.05)
            text = log.read_text()
            for pid in workers:
                assert f"the supervisor process [{supervisor.pid}] has gone; worker [{pid}]" in text
            assert "Traceback" not in text
        finally:
            for pid in workers:  # never leave a worker behind, even when the test fails
                if _running(pid):
                    os.kill(pid, signal.SIGKILL)
            if replacement is not None:
                replacement.terminate()
                try:
                    replacement.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    replacement.kill()
                    replacement.wait()


#: The graceful-shutdown bound (``DREADNODE_API_SHUTDOWN_TIMEOUT_SECONDS``) of the servers below:
#: a SIGTERM to the supervisor must have ended it and every child within it.
SHUTDOWN_SECONDS = 3


def _children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (from ``/proc``): workers and multiprocessing's
    resource tracker, for a supervisor."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _wait_for_lines(server: LiveServer, needle: str, count: int = 1) -> None:
    """Wait until the server's log holds ``needle`` ``count`` times (a worker booting included)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while server.log_text().count(needle) < count:
        assert server.process.poll() is None, server.log_text()
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.05)


def _sigterm_and_wait(server: LiveServer) -> tuple[float, set[int]]:
    """SIGTERM the supervisor, then wait up to ``SHUTDOWN_SECONDS`` for it and every child it
    has, or starts meanwhile, to be gone. The seconds that took, and the processes left (each
    SIGKILLed, so that no test leaves one behind)."""
    master = server.process
    children = _children(master.pid)
    assert children, server.log_text()
    master.send_signal(signal.SIGTERM)
    began = time.monotonic()
    while time.monotonic() < began + SHUTDOWN_SECONDS:
        if master.poll() is None:
            children |= _children(master.pid)
        elif not any(_running(pid) for pid in children):
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - began
    left = {pid for pid in children if _running(pid)}
    if master.poll() is None:
        left.add(master.pid)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return elapsed, left


@contextlib.contextmanager
def _two_workers(backend: str, directory: Path) -> Iterator[LiveServer]:
    """``serve --workers 2`` on a fresh database, once both workers serve."""
    with fresh_database(backend, directory) as url:
        env = {
            "DATABASE_URL": url,
            "DREADNODE_API_SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_SECONDS),
        }
        command = serve_command("--workers", "2")
        with LiveServer(env, directory / "server.log", command) as server:
            _wait_for_lines(server, "Application startup complete.", 2)
            yield server


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="lists a process's children from /proc"
)


@linux_only
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_after_a_worker_was_replaced_stops_every_child(
    backend: str, tmp_path: Path
) -> None:
    with _two_workers(backend, tmp_path) as server:
        text = server.log_text()
        worker = int(re.findall(r"Started server process \[(\d+)\]", text)[0])
        os.kill(worker, signal.SIGKILL)
        _wait_for_lines(server, "Application startup complete.", 3)  # its replacement serves
        assert _healthy(int(server.url.rsplit(":", 1)[1]))

        elapsed, left = _sigterm_and_wait(server)
        log = server.log_text()
    assert not left, f"{sorted(left)} outlived the SIGTERM by {elapsed:.1f} s:\n{log}"
    assert f"Child process [{worker}] died" in log
    assert "Traceback" not in log


@linux_only
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_during_a_restart_stops_every_child_at_once(backend: str, tmp_path: Path) -> None:
    with _two_workers(backend, tmp_path) as server:
        started = server.log_text().count("Started server process")
        server.process.send_signal(signal.SIGHUP)  # replace each worker, one after the other
        _wait_for_lines(server, "Received SIGHUP, restarting processes.")

        # uvicorn alone would finish the restart first, booting each new worker in turn.
        elapsed, left = _sigterm_and_wait(server)
        log = server.log_text()
    assert not left, f"{sorted(left)} outlived the SIGTERM by {elapsed:.1f} s:\n{log}"
    # At most the first replacement got as far as starting: no worker was started after the
    # SIGTERM.
    assert log.count("Started server process") <= started + 1, log
    assert "Traceback" not in log
