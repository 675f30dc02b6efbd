"""Hostile input against a real server: every answer is the envelope, never a 500 or a hang.

- Strings the database cannot hold (NUL) or a terminal should not print (control and bidi
  characters) are a 422 on every backend, in bodies and in paths, and nothing is written.
- The SDK's version header is read with a bounded parser: garbage is ignored, never a 500, and
  the minimum version is told only to a caller with a valid token.
- Request bodies are bounded before they are buffered: over the limit (declared or counted as
  it streams) is a 413, a body that does not arrive in time a 408, and the server's memory does
  not grow with what a client sends. These use raw sockets, as a hostile client would.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from app.schemas import PRINTABLE_PATTERN

from .conftest import PREFIX, Api, envelope, running_api
from .test_jobs import VALID, create, job

#: Each refused character, and the error type that names its kind.
REFUSED = {
    "\x00": "control_character",  # NUL: PostgreSQL's text cannot hold it (it was a 500 there)
    "\x1b": "control_character",  # ESC: starts a terminal escape sequence
    "\x7f": "control_character",  # DEL
    "\x9b": "control_character",  # C1 CSI: an escape sequence in one character
    "\n": "control_character",
    "\t": "control_character",
    "\u2028": "line_separator_character",
    "\u202e": "bidi_control_character",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066": "bidi_control_character",  # LEFT-TO-RIGHT ISOLATE
    "\u200f": "bidi_control_character",  # RIGHT-TO-LEFT MARK
    "\u061c": "bidi_control_character",  # ARABIC LETTER MARK
}
STRING_FIELDS = ["name", "dataset", "base_model", "tags"]


def _with(field: str, char: str) -> tuple[dict[str, Any], list[Any]]:
    """VALID with ``char`` inside ``field``, and where the error must point."""
    if field == "tags":
        return job(tags=["ok", f"bad{char}tag"]), ["body", "tags", 1]
    value = {"name": "my run", "dataset": "s3://bucket/x.jsonl", "base_model": "Qwen/Qwen3-8B"}
    original = value[field]
    return job(**{field: original[:3] + char + original[3:]}), ["body", field]


@pytest.mark.parametrize("field", STRING_FIELDS)
@pytest.mark.parametrize("char", list(REFUSED), ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_create_job_refuses_control_and_bidi_characters_on_every_backend(
    api: Api, field: str, char: str
) -> None:
    body, loc = _with(field, char)
    before = (api.count("jobs"), api.count("job_events"), api.count("idempotency_keys"))
    with api.client() as client:
        response = create(client, body, **{"Idempotency-Key": f"hostile-{field}-{ord(char)}"})
        verdict = client.post("/training/jobs/validate", json=body)
    errors = envelope(response, 422, "validation_error")["errors"]
    assert [(error["loc"], error["type"]) for error in errors] == [(loc, REFUSED[char])]
    assert f"U+{ord(char):04X}" in errors[0]["msg"]
    assert char not in response.json()["detail"]  # named by code point, never echoed
    assert (verdict.status_code, verdict.json()["valid"]) == (200, False)
    assert verdict.json()["errors"] == errors
    assert (api.count("jobs"), api.count("job_events"), api.count("idempotency_keys")) == before


def test_create_job_keeps_printable_unicode_as_given(api: Api) -> None:
    name, tags = "Überprüfung 日本語 run 👩‍💻", ["é", "数据", "emoji-👍🏽"]
    with api.client() as client:
        created = create(client, job(name=name, tags=tags, dataset="s3://bücket/dätä.jsonl"))
        read = client.get(f"/training/jobs/{created.json()['id']}")
    assert created.status_code == 201
    assert (read.json()["name"], read.json()["tags"]) == (name, tags)
    assert read.json()["dataset"] == "s3://bücket/dätä.jsonl"


@pytest.mark.parametrize("suffix", ["", "/cancel", "/events"])
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\u202e"], ids=["NUL", "ESC", "RLO"])
def test_job_id_with_control_character_in_path_is_422(api: Api, suffix: str, char: str) -> None:
    path = f"/training/jobs/{quote('00000000' + char + '0000')}{suffix}"
    with api.client() as client:
        response = client.post(path) if suffix == "/cancel" else client.get(path)
    errors = envelope(response, 422, "validation_error")["errors"]
    assert [(error["loc"], error["type"]) for error in errors] == [
        (["path", "job_id"], REFUSED[char])
    ]


def test_catalog_id_with_nul_in_path_is_422(api: Api) -> None:
    with api.client() as client:
        response = client.get(f"/training/catalog/{quote('Qwen/Qwen3-8B' + chr(0))}")
    errors = envelope(response, 422, "validation_error")["errors"]
    assert [(error["loc"], error["type"]) for error in errors] == [
        (["path", "tinker_id"], "control_character")
    ]


def test_openapi_documents_the_printable_rule(api: Api) -> None:
    document = httpx.get(f"{api.url}{PREFIX}/openapi.json", timeout=30).json()
    fields = document["components"]["schemas"]["JobCreate"]["properties"]
    patterns = [
        fields["base_model"]["pattern"],
        fields["dataset"]["pattern"],
        fields["name"]["anyOf"][0]["pattern"],
        fields["tags"]["items"]["pattern"],
    ]
    assert patterns == [PRINTABLE_PATTERN] * 4
    read_job = document["paths"][f"{PREFIX}/training/jobs/{{job_id}}"]["get"]
    assert read_job["parameters"][0]["schema"]["pattern"] == PRINTABLE_PATTERN


# --- the SDK's version header ----------------------------------------------------------------

SMALL_LIMIT = 4096


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A SQLite server that wants SDK 1.0.0 or newer, takes bodies of at most 4 KiB, and gives a
    body 1 s to arrive."""
    settings = {
        "DREADNODE_API_MIN_SDK_VERSION": "1.0.0",
        "DREADNODE_API_MAX_BODY_BYTES": str(SMALL_LIMIT),
        "DREADNODE_API_BODY_READ_TIMEOUT_SECONDS": "1",
    }
    with running_api("sqlite", tmp_path_factory.mktemp("guarded"), **settings) as api:
        yield api


def _agent(version: str) -> dict[str, str]:
    return {"User-Agent": f"dreadnode-training/{version}"}


@pytest.mark.parametrize(
    "version",
    ["9" * 5000, "1" + "0" * 4400, "", "abc", "1.0.0.", "1..2", "x" * 10_000, "1.0" * 400],
    ids=["5000-digits", "4401-digits", "empty", "word", "trailing-dot", "empty-part", "long",
         "long-dotted"],
)  # fmt: skip
def test_unreadable_sdk_version_is_ignored_never_500(guarded: Api, version: str) -> None:
    with guarded.client(**_agent(version)) as client:
        authenticated = client.get("/training/catalog", params={"limit": 1})
    with guarded.client(token=None, **_agent(version)) as client:
        anonymous = client.get("/training/catalog", params={"limit": 1})
    assert authenticated.status_code == 200
    envelope(anonymous, 401, "authentication_error")


@pytest.mark.parametrize("version", ["0.1.0", "0.9.9", "1.0.0rc1", "1.0.0.dev3", "0.99.99.post9"])
def test_old_sdk_with_a_valid_token_is_426_naming_the_minimum(guarded: Api, version: str) -> None:
    with guarded.client(**_agent(version)) as client:
        response = client.get("/training/catalog")
    body = envelope(response, 426, "upgrade_required_error")
    assert body["detail"] == (
        f"dreadnode-training {version} is too old for this server; upgrade to 1.0.0 or newer"
    )


def test_old_sdk_without_a_valid_token_learns_nothing_about_the_minimum(guarded: Api) -> None:
    for token in (None, "dn_not_a_real_token"):
        with guarded.client(token=token, **_agent("0.1.0")) as client:
            response = client.get("/training/catalog")
        envelope(response, 401, "authentication_error")
        assert "1.0.0" not in response.text
        assert "upgrade" not in response.text.lower()


@pytest.mark.parametrize(
    "agent",
    [
        "dreadnode-training/1.0",
        "dreadnode-training/1.2.0",
        "dreadnode-training/1.0.0.post1",
        "dreadnode-training/1.0.0+local.build",
        "dreadnode-training/2.0 python-httpx/0.28",
        "curl/8.5",
    ],
)
def test_new_sdk_or_other_client_passes_the_version_check(guarded: Api, agent: str) -> None:
    with guarded.client(**{"User-Agent": agent}) as client:
        assert client.get("/training/catalog", params={"limit": 1}).status_code == 200


# --- request bodies --------------------------------------------------------------------------


def _padded(size: int) -> bytes:
    """A valid job body of exactly ``size`` bytes (JSON allows any amount of whitespace)."""
    body = json.dumps(VALID).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_body_at_the_limit_is_read_and_one_byte_more_is_413(guarded: Api, framing: str) -> None:
    def send(content: bytes) -> httpx.Response:
        with guarded.client(**{"Content-Type": "application/json"}) as client:
            if framing == "chunked":  # an iterator is sent chunked, with no Content-Length
                chunks = [content[i : i + 1000] for i in range(0, len(content), 1000)]
                return client.post("/training/jobs", content=iter(chunks))
            return client.post("/training/jobs", content=content)

    before = guarded.count()
    at_limit = send(_padded(SMALL_LIMIT))
    assert at_limit.status_code == 201, at_limit.text
    over = send(_padded(SMALL_LIMIT + 1))
    body = envelope(over, 413, "request_too_large_error")
    assert "4 KiB (4,096 bytes)" in body["detail"]
    assert over.headers["connection"] == "close"
    assert guarded.count() == before + 1


def _port(api: Api) -> int:
    port = urlsplit(api.url).port
    assert port is not None
    return port


def _head(api: Api, method: str, path: str, token: str | None, *headers: str) -> bytes:
    lines = [f"{method} {PREFIX}{path} HTTP/1.1", "Host: 127.0.0.1"]
    if token is not None:
        lines.append(f"Authorization: Bearer {api.tokens[token]}")
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """Read one response (its status, headers and body) within ``timeout`` seconds."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without answering: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        body += chunk
    return int(status_line.split()[1]), headers, body


def _closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes the connection within ``timeout`` (after its answer)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants (Linux ``/proc``)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        children = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        total += sum(_rss_bytes(int(child)) for child in children)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) * 1024
    return total


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="measures memory through Linux /proc"
)


class _Flood(threading.Thread):
    """Send ``chunk`` on ``sock`` again and again for up to ``seconds``, until the server
    stops taking it; ``sent`` counts what the kernel accepted."""

    def __init__(self, sock: socket.socket, chunk: bytes, seconds: float) -> None:
        super().__init__(daemon=True)
        self.sock, self.chunk, self.seconds = sock, chunk, seconds
        self.sent = 0
        self.refused = False

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        try:
            while time.monotonic() < deadline:
                self.sock.sendall(self.chunk)
                self.sent += len(self.chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.refused = True
        except OSError:  # the socket timed out or was closed by the reader
            pass


#: What ten clients declare, as in the issue's reproduction: 50 MB each.
DECLARED = 50 * 1000 * 1000
#: How much the server's memory may grow while refusing them (it grew by 833 MB before).
MEMORY_SLACK = 40 * 1024 * 1024


@needs_proc
def test_ten_declared_50_mb_bodies_are_refused_at_once_without_memory_growth(api: Api) -> None:
    assert api.server is not None
    pid = api.server.process.pid
    baseline = _rss_bytes(pid)
    peak = baseline
    sockets, floods, answers = [], [], []
    started = time.monotonic()
    try:
        for _ in range(10):
            sock = socket.create_connection(("127.0.0.1", _port(api)), timeout=10)
            sock.sendall(
                _head(api, "POST", "/training/jobs", "reader",
                      "Content-Type: application/json", f"Content-Length: {DECLARED}")
            )  # fmt: skip
            flood = _Flood(sock, b"0" * 65536, seconds=5)
            flood.start()
            sockets.append(sock)
            floods.append(flood)
        for sock in sockets:
            answers.append(_read_response(sock, timeout=5))
            peak = max(peak, _rss_bytes(pid))
        elapsed = time.monotonic() - started
        for flood in floods:
            flood.join(timeout=10)
            peak = max(peak, _rss_bytes(pid))
    finally:
        for sock in sockets:
            sock.close()
    assert peak - baseline < MEMORY_SLACK, f"grew by {(peak - baseline) / 2**20:.0f} MiB"
    for status, headers, body in answers:
        assert (status, headers.get("connection")) == (413, "close")
        detail = json.loads(body)["detail"]
        assert detail == (
            "Request body too large (Content-Length: 50,000,000 bytes); "
            "the limit is 1 MiB (1,048,576 bytes)"
        )
    assert elapsed < 5
    assert all(not flood.is_alive() for flood in floods)
    assert sum(flood.sent for flood in floods) < 10 * DECLARED  # cut off, not read to the end


def test_declared_large_body_is_refused_before_authentication(api: Api) -> None:
    with socket.create_connection(("127.0.0.1", _port(api)), timeout=10) as sock:
        sock.sendall(
            _head(api, "POST", "/training/jobs/validate", None,
                  "Content-Type: application/json", f"Content-Length: {DECLARED}")
        )  # fmt: skip
        status, _, body = _read_response(sock, timeout=5)
    assert (status, json.loads(body)["type"]) == (413, "request_too_large_error")


def test_client_that_asks_100_continue_is_told_413_and_sends_nothing(api: Api) -> None:
    with socket.create_connection(("127.0.0.1", _port(api)), timeout=10) as sock:
        sock.sendall(
            _head(api, "POST", "/training/jobs", "alice", "Content-Type: application/json",
                  f"Content-Length: {DECLARED}", "Expect: 100-continue")
        )  # fmt: skip
        status, headers, _ = _read_response(sock, timeout=5)
        assert (status, headers["connection"]) == (413, "close")  # no "100 Continue" first
        assert _closed_by_server(sock, timeout=5)


@needs_proc
def test_endless_chunked_body_is_cut_off_at_the_limit(api: Api) -> None:
    assert api.server is not None
    pid = api.server.process.pid
    baseline = _rss_bytes(pid)
    before = api.count()
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    with socket.create_connection(("127.0.0.1", _port(api)), timeout=10) as sock:
        sock.sendall(
            _head(api, "POST", "/training/jobs", "alice",
                  "Content-Type: application/json", "Transfer-Encoding: chunked")
        )  # fmt: skip
        flood = _Flood(sock, chunk, seconds=10)
        started = time.monotonic()
        flood.start()
        status, headers, body = _read_response(sock, timeout=5)
        answered = time.monotonic() - started
        flood.join(timeout=10)
        peak = _rss_bytes(pid)
    assert (status, headers["connection"]) == (413, "close")
    assert json.loads(body)["detail"] == (
        "Request body too large; the limit is 1 MiB (1,048,576 bytes)"
    )
    assert answered < 5
    assert not flood.is_alive()
    assert flood.refused  # the server hung up; the client did not give up on its own
    assert peak - baseline < MEMORY_SLACK
    assert api.count() == before


def _stall_mid_body(api: Api, sent: bytes, wait: float) -> tuple[int, dict[str, str], bytes, float]:
    """Start a 500-byte job body, send only ``sent`` of it, and wait up to ``wait`` seconds for
    the answer: its status, headers, body, and the seconds it took."""
    with socket.create_connection(("127.0.0.1", _port(api)), timeout=wait + 5) as sock:
        sock.sendall(
            _head(api, "POST", "/training/jobs", "alice",
                  "Content-Type: application/json", "Content-Length: 500")
            + sent
        )  # fmt: skip
        started = time.monotonic()
        status, headers, body = _read_response(sock, timeout=wait)
        waited = time.monotonic() - started
        assert _closed_by_server(sock, timeout=5)
    return status, headers, body, waited


def test_stalled_body_is_408_within_the_read_timeout(guarded: Api) -> None:
    status, headers, body, waited = _stall_mid_body(guarded, b'{"base_model": "Qwen/', wait=5)
    assert (status, headers["connection"]) == (408, "close")
    assert json.loads(body) == {
        "code": 408,
        "detail": "Request body not received in full within 1 s",
        "type": "request_timeout_error",
        "errors": [],
    }
    assert 0.8 < waited < 3


def test_dripping_body_is_cut_at_the_total_deadline(guarded: Api) -> None:
    """A byte every 0.2 s is never idle long, but the whole body still has 1 s."""
    with socket.create_connection(("127.0.0.1", _port(guarded)), timeout=10) as sock:
        sock.sendall(
            _head(guarded, "POST", "/training/jobs", "alice",
                  "Content-Type: application/json", "Content-Length: 500")
        )  # fmt: skip
        started = time.monotonic()
        dripped = 0
        sock.settimeout(0.2)
        answer = b""
        while time.monotonic() - started < 5:
            try:
                answer = sock.recv(65536)
                break
            except TimeoutError:
                sock.sendall(b" ")
                dripped += 1
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert dripped >= 3
    assert 0.8 < waited < 3


def test_stalled_body_is_cut_within_ten_seconds_by_default(api: Api) -> None:
    if api.backend != "sqlite":
        pytest.skip("the read timeout does not depend on the database; once is enough")
    status, _, body, waited = _stall_mid_body(api, b"{", wait=15)
    assert (status, json.loads(body)["detail"]) == (
        408,
        "Request body not received in full within 10 s",
    )
    assert 9.5 < waited < 12


def test_route_without_a_body_answers_and_drops_a_declared_one(api: Api) -> None:
    with socket.create_connection(("127.0.0.1", _port(api)), timeout=10) as sock:
        sock.sendall(_head(api, "GET", "/training/jobs", "alice", f"Content-Length: {DECLARED}"))
        started = time.monotonic()
        status, headers, _ = _read_response(sock, timeout=5)
        answered = time.monotonic() - started
        closed = _closed_by_server(sock, timeout=5)
    # Its body is never read, so nothing is held; the connection is closed rather than kept
    # reading 50 MB to find where a next request would start.
    assert (status, headers["connection"]) == (200, "close")
    assert answered < 2
    assert closed
