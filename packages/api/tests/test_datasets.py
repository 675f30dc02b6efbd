"""Dataset uploads through a real server, on every backend (SQLite with the directory store,
PostgreSQL with the S3 store): a good file's figures, a bad file refused line by line with
nothing kept, one dataset per owner and bytes, owner isolation, read-only tokens, the size
limit, uploads cut off or killed midway, and deletion (jobs using datasets:
test_dataset_jobs.py)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.storage.datasets import PROMPT_NOT_COUNTED

from .conftest import BACKENDS, PREFIX, Api, LiveServer, envelope, running_api

NDJSON = {"Content-Type": "application/x-ndjson"}
DATASET_ID = re.compile(r"ds-[0-9a-f]{24}")


def chat_row(text: str, answer: str = "Paris.") -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": text},
            {"role": "assistant", "content": answer},
        ]
    }


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def chat_file(rows: int = 3, *, tag: str | None = None) -> bytes:
    """A valid chat file whose bytes no other test uploads (``tag`` defaults to random)."""
    tag = tag or secrets.token_hex(8)
    return jsonl([chat_row(f"Question {index} of {tag}?") for index in range(rows)])


def upload(
    client: httpx.Client, content: bytes, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    return client.post(
        "/training/datasets", content=content, params=params, headers=headers or NDJSON
    )


def uploaded(api: Api, content: bytes, token: str = "alice", **params: str) -> dict[str, Any]:
    with api.client(token) as client:
        response = upload(client, content, **params)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def staging(objects: list[str]) -> list[str]:
    """The staging files among a store's contents (``Api.stored_objects``)."""
    return [name for name in objects if ".staging" in name or name.startswith("staging:")]


def holds(objects: list[str], sha256: str) -> bool:
    return any(name.endswith(sha256) and name not in staging(objects) for name in objects)


# --- a good file --------------------------------------------------------------------------


def test_upload_dataset_records_its_figures(api: Api) -> None:
    tag = secrets.token_hex(8)
    rows = [chat_row(f"Short {tag}"), chat_row(f"A much longer question of {tag}, " * 4)]
    rows.append(chat_row(f"Last {tag}"))
    content = jsonl(rows)
    longest = max(len(json.dumps(row).encode()) for row in rows)
    before = api.count("datasets")
    response = uploaded(api, content, name="capitals")
    assert DATASET_ID.fullmatch(response["id"]), response["id"]
    assert response == {
        "id": response["id"],
        "name": "capitals",
        "format": "chat",
        "rows": 3,
        "bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "longest_row_bytes": longest,
        "longest_row_line": 2,
        "created_at": response["created_at"],
        # No worker runs here: the exact counts wait for one.
        "token_counts_status": "pending",
        "token_counts": None,
        "token_counts_error": None,
    }
    assert response["created_at"].endswith("Z")
    with api.client() as client:
        read = client.get(f"/training/datasets/{response['id']}")
        listed = client.get("/training/datasets")
    assert (read.status_code, read.json()) == (200, response)
    assert listed.json()["datasets"][0] == response  # newest first
    assert api.count("datasets") == before + 1
    objects = api.stored_objects()
    assert holds(objects, response["sha256"])
    assert staging(objects) == []


#: A row of each format but chat, made unique by a tag.
FORMAT_ROWS: dict[str, Callable[[str], dict[str, Any]]] = {
    "prompt_completion": lambda tag: {"prompt": f"2+2 ({tag})?", "completion": "4"},
    "text": lambda tag: {"text": f"Once upon a time ({tag})."},
    "prompt": lambda tag: {"prompt": f"Solve 2+2 ({tag}).", "metadata": {"answer": 4}},
    "prompt-as-messages": lambda tag: {"prompt": [{"role": "user", "content": f"2+2 ({tag})?"}]},
}


@pytest.mark.parametrize("kind", list(FORMAT_ROWS))
def test_upload_dataset_takes_every_format(api: Api, kind: str) -> None:
    content = jsonl([FORMAT_ROWS[kind](secrets.token_hex(8)) for _ in range(2)])
    created = uploaded(api, content)
    assert created["format"] == kind.removesuffix("-as-messages")
    # A worker counts the tokens of what supervised training renders; RL prompts depend on
    # what the model samples, so they are not counted, and the dataset says so.
    if created["format"] == "prompt":
        assert created["token_counts_status"] == "unavailable"
        assert created["token_counts_error"] == PROMPT_NOT_COUNTED
    else:
        assert (created["token_counts_status"], created["token_counts_error"]) == ("pending", None)


def test_upload_dataset_without_the_json_limit_or_its_deadline(api: Api) -> None:
    # 3 MB: three times the 1 MiB that bounds a job body, which does not apply here.
    content = chat_file(rows=30_000)
    assert len(content) > 3 * 1024 * 1024
    created = uploaded(api, content)
    assert (created["rows"], created["bytes"]) == (30_000, len(content))


def test_upload_dataset_accepts_each_jsonl_media_type(api: Api) -> None:
    for media_type in ("application/jsonl", "application/octet-stream; charset=binary"):
        with api.client() as client:
            response = upload(client, chat_file(), {"Content-Type": media_type})
        assert response.status_code == 201, (media_type, response.text)


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_upload_dataset_of_another_media_type_is_415(api: Api, content_type: str | None) -> None:
    before = api.count("datasets")
    headers = {} if content_type is None else {"Content-Type": content_type}
    with api.client() as client:
        response = client.post("/training/datasets", content=chat_file(), headers=headers)
    body = envelope(response, 415, "unsupported_media_type_error")
    assert "application/x-ndjson" in body["detail"]
    assert api.count("datasets") == before


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "utf-16", "windows-1252"])
def test_upload_dataset_declared_in_another_charset_is_415(api: Api, charset: str) -> None:
    before = (api.count("datasets"), api.stored_objects())
    content = jsonl([chat_row(f"Caf\u00e9 {secrets.token_hex(4)}?")])
    with api.client() as client:
        response = upload(
            client, content, {"Content-Type": f"application/x-ndjson; charset={charset}"}
        )
    body = envelope(response, 415, "unsupported_media_type_error")
    assert f"charset={charset.lower()!r}" in body["detail"]
    assert body["detail"].startswith("A dataset file must be UTF-8")
    assert (api.count("datasets"), api.stored_objects()) == before
    with api.client() as client:  # the same bytes, declared as what they are, are taken
        declared = upload(client, content, {"Content-Type": "application/x-ndjson; charset=UTF-8"})
    assert declared.status_code == 201, declared.text


# --- a bad file ---------------------------------------------------------------------------


def test_upload_refuses_what_readers_would_read_differently_line_by_line(api: Api) -> None:
    """A number that reads as infinity and a key given twice are valid JSON text that readers
    do not agree on; a row with more values than the limit would cost the server its memory."""
    tag = secrets.token_hex(8)
    too_many = b'{"prompt": "p", "metadata": {"x": [' + b",".join([b"0"] * 262_141) + b"]}}"
    content = b"\n".join(
        [
            json.dumps({"prompt": f"One {tag}"}).encode(),
            b'{"prompt": "p", "metadata": {"x": 1e400}}',
            b'{"prompt": "p", "prompt": "q"}',
            too_many,
            b'{"prompt": "p", "metadata": {"tiny": 1e-400, "big": 1.7e308}}',
        ]
    )
    before = (api.count("datasets"), api.stored_objects())
    with api.client() as client:
        response = upload(client, content)
    body = envelope(response, 422, "invalid_dataset", joined=False)
    assert body["detail"] == "3 of 5 lines are not valid prompt rows"
    assert [(error["loc"], error["type"], error["msg"]) for error in body["errors"]] == [
        (
            ["body", "line", 2],
            "number_out_of_range",
            "Number '1e400' is too large for a float (it would read as infinity)",
        ),
        (
            ["body", "line", 3],
            "duplicate_key",
            "Key 'prompt' appears twice in one object: readers disagree on which value wins",
        ),
        (
            ["body", "line", 4],
            "too_many_values",
            "Row holds 262,145 JSON values; the limit is 262,144",
        ),
    ]
    assert (api.count("datasets"), api.stored_objects()) == before


def test_upload_bad_file_is_422_line_by_line_and_keeps_nothing(api: Api) -> None:
    tag = secrets.token_hex(8)
    lines = [
        json.dumps(chat_row(f"One {tag}")),
        json.dumps(chat_row(f"Two {tag}")),
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "asistant", "content": "Hello"},
                ]
            }
        ),
        json.dumps(chat_row(f"Four {tag}")),
        '{"messages": [',
    ]
    content = "\n".join(lines).encode() + b"\n"
    before = (api.count("datasets"), api.stored_objects())
    with api.client() as client:
        response = upload(client, content)
    body = envelope(response, 422, "invalid_dataset", joined=False)
    assert body["detail"] == "2 of 5 lines are not valid chat rows"
    assert [(error["loc"], error["type"]) for error in body["errors"]] == [
        (["body", "line", 3, "messages", 1, "role"], "invalid_role"),
        (["body", "line", 5], "invalid_json"),
    ]
    assert "'asistant'" in body["errors"][0]["msg"]
    assert "did you mean 'assistant'?" in body["errors"][0]["msg"]
    assert (api.count("datasets"), api.stored_objects()) == before


def test_upload_with_many_bad_lines_lists_the_first_100_and_counts_all(api: Api) -> None:
    content = chat_file(rows=10) + b"not json\n" * 150
    with api.client() as client:
        response = upload(client, content)
    body = envelope(response, 422, "invalid_dataset", joined=False)
    assert body["detail"] == "150 of 160 lines are not valid chat rows; the first 100 are listed"
    assert len(body["errors"]) == 100
    assert body["errors"][0]["loc"] == ["body", "line", 11]
    assert body["errors"][-1]["loc"] == ["body", "line", 110]
    assert {error["type"] for error in body["errors"]} == {"invalid_json"}


def test_upload_empty_file_is_422(api: Api) -> None:
    with api.client() as client:
        response = upload(client, b"\n\n")
    body = envelope(response, 422, "invalid_dataset", joined=False)
    assert [(error["loc"], error["type"]) for error in body["errors"]] == [
        (["body", "line", 1], "empty_dataset")
    ]


def test_upload_with_a_format_given_refuses_rows_of_another(api: Api) -> None:
    content = jsonl([{"prompt": f"Solve {secrets.token_hex(4)}"}])
    with api.client() as client:
        refused = upload(client, content, format="chat")
        accepted = upload(client, content, format="prompt")
    errors = envelope(refused, 422, "invalid_dataset", joined=False)["errors"]
    assert [(error["loc"], error["type"]) for error in errors] == [
        (["body", "line", 1], "dataset_format_mismatch")
    ]
    assert "the format given is chat" in errors[0]["msg"]
    assert (accepted.status_code, accepted.json()["format"]) == (201, "prompt")


@pytest.mark.parametrize(
    ("params", "loc", "type_"),
    [
        ({"format": "csv"}, ["query", "format"], "enum"),
        ({"name": ""}, ["query", "name"], "string_too_short"),
        ({"name": "bad\x1bname"}, ["query", "name"], "control_character"),
        ({"nmae": "typo"}, ["query", "nmae"], "unknown_query_parameter"),
    ],
)
def test_upload_with_a_bad_parameter_is_422_and_keeps_nothing(
    api: Api, params: dict[str, str], loc: list[str], type_: str
) -> None:
    before = api.count("datasets")
    with api.client() as client:
        response = upload(client, chat_file(), **params)
    errors = envelope(response, 422, "validation_error")["errors"]
    assert [(error["loc"], error["type"]) for error in errors] == [(loc, type_)]
    assert api.count("datasets") == before


# --- one dataset per owner and bytes; owners apart ------------------------------------------


def test_upload_same_bytes_twice_is_one_dataset(api: Api) -> None:
    content = chat_file()
    before = api.count("datasets")
    with api.client() as client:
        first = upload(client, content, name="first")
        second = upload(client, content, name="second")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()  # the existing one, its name unchanged
    assert api.count("datasets") == before + 1


def test_other_owner_cannot_see_delete_or_reuse_a_dataset(api: Api) -> None:
    content = chat_file()
    sha256 = hashlib.sha256(content).hexdigest()
    mine = uploaded(api, content)
    with api.client("bob") as bob:
        read = bob.get(f"/training/datasets/{mine['id']}")
        deleted = bob.delete(f"/training/datasets/{mine['id']}")
        listed = bob.get("/training/datasets", params={"limit": 100})
        theirs = upload(bob, content)  # the same bytes: a dataset of bob's own
    envelope(read, 404, "not_found_error")
    envelope(deleted, 404, "not_found_error")
    assert mine["id"] not in {dataset["id"] for dataset in listed.json()["datasets"]}
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine["id"]
    assert theirs.json()["sha256"] == sha256
    # One stored object backs both; it goes with the last dataset that uses it.
    with api.client() as alice:
        assert alice.delete(f"/training/datasets/{mine['id']}").status_code == 204
    assert holds(api.stored_objects(), sha256)
    with api.client("bob") as bob:
        assert bob.get(f"/training/datasets/{theirs.json()['id']}").status_code == 200
        assert bob.delete(f"/training/datasets/{theirs.json()['id']}").status_code == 204
    assert not holds(api.stored_objects(), sha256)


def test_read_only_token_reads_but_cannot_upload_or_delete(api: Api) -> None:
    mine = uploaded(api, chat_file())
    before = api.count("datasets")
    with api.client("reader") as reader:
        read = reader.get(f"/training/datasets/{mine['id']}")
        listed = reader.get("/training/datasets")
        uploading = upload(reader, chat_file())
        deleting = reader.delete(f"/training/datasets/{mine['id']}")
    assert (read.status_code, read.json()) == (200, mine)
    assert mine["id"] in {dataset["id"] for dataset in listed.json()["datasets"]}
    assert "read-only" in envelope(uploading, 403, "permission_error")["detail"]
    envelope(deleting, 403, "permission_error")
    assert api.count("datasets") == before


def test_read_datasets_pages_newest_first(api: Api) -> None:
    created = [uploaded(api, chat_file())["id"] for _ in range(3)]
    with api.client() as client:
        first = client.get("/training/datasets", params={"limit": 2}).json()
        second = client.get("/training/datasets", params={"limit": 2, "offset": 2}).json()
        too_many = client.get("/training/datasets", params={"limit": 101})
    assert [dataset["id"] for dataset in first["datasets"]] == created[::-1][:2]
    assert second["datasets"][0]["id"] == created[0]
    assert (first["limit"], first["offset"], second["offset"]) == (2, 0, 2)
    assert first["total"] == second["total"] >= 3
    envelope(too_many, 422, "validation_error")


def test_read_unknown_dataset_is_404(api: Api) -> None:
    with api.client() as client:
        response = client.get("/training/datasets/ds-000000000000000000000000")
    detail = envelope(response, 404, "not_found_error")["detail"]
    assert detail == "Dataset 'ds-000000000000000000000000' not found"


# --- deletion -----------------------------------------------------------------------------


def test_delete_dataset_removes_it_and_its_stored_file(api: Api) -> None:
    created = uploaded(api, chat_file())
    assert holds(api.stored_objects(), created["sha256"])
    with api.client() as client:
        deleted = client.delete(f"/training/datasets/{created['id']}")
        read = client.get(f"/training/datasets/{created['id']}")
        again = client.delete(f"/training/datasets/{created['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    envelope(read, 404, "not_found_error")
    envelope(again, 404, "not_found_error")
    assert not holds(api.stored_objects(), created["sha256"])


def test_delete_dataset_a_queued_job_uses_is_409_until_the_job_ends(api: Api) -> None:
    created = uploaded(api, chat_file())
    body = {"base_model": "Qwen/Qwen3-8B", "method": "sft", "dataset": created["id"]}
    with api.client() as client:
        job = client.post("/training/jobs", json=body).json()
        refused = client.delete(f"/training/datasets/{created['id']}")
        kept = client.get(f"/training/datasets/{created['id']}")
        client.post(f"/training/jobs/{job['id']}/cancel")
        deleted = client.delete(f"/training/datasets/{created['id']}")
        finished_job = client.get(f"/training/jobs/{job['id']}")
    detail = envelope(refused, 409, "dataset_in_use")["detail"]
    assert detail == (
        f"Dataset {created['id']!r} is used by queued or running job(s) {job['id']!r}; "
        "cancel them or let them finish first"
    )
    assert kept.status_code == 200
    assert deleted.status_code == 204
    # The finished job still says what it trained on.
    assert (finished_job.json()["dataset"], finished_job.json()["dataset_rows"]) == (
        created["id"],
        3,
    )
    assert not holds(api.stored_objects(), created["sha256"])


# --- bounds: size, idle time, a body cut off, a server killed ------------------------------

LIMIT = 4096


@pytest.fixture(scope="module", params=BACKENDS)
def bounded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """A server taking datasets of at most 4 KiB that may pause 1 s at most, and job bodies
    that must arrive within 1 s (a bound uploads do not have)."""
    backend: str = request.param
    with running_api(
        backend,
        tmp_path_factory.mktemp(f"bounded-{backend}"),
        dataset_store="s3" if backend == "postgresql" else "directory",
        DREADNODE_API_DATASET_MAX_BYTES=str(LIMIT),
        DREADNODE_API_DATASET_IDLE_TIMEOUT_SECONDS="1",
        DREADNODE_API_BODY_READ_TIMEOUT_SECONDS="1",
    ) as api:
        yield api


def _padded(size: int) -> bytes:
    """A valid chat file of exactly ``size`` bytes, unique to the call."""
    head = jsonl([chat_row(secrets.token_hex(8))])
    fill = size - len(head) - len(json.dumps(chat_row(""))) - 1
    return head + json.dumps(chat_row("y" * fill)).encode() + b"\n"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_upload_over_the_limit_is_413_and_keeps_nothing(bounded: Api, framing: str) -> None:
    def send(content: bytes) -> httpx.Response:
        body: Any = (
            content if framing == "content-length" else iter([content[:1000], content[1000:]])
        )
        with bounded.client() as client:
            return client.post("/training/datasets", content=body, headers=NDJSON)

    at_limit = _padded(LIMIT)
    assert len(at_limit) == LIMIT
    before = (bounded.count("datasets"), bounded.stored_objects())
    refused = send(_padded(LIMIT + 1))
    detail = envelope(refused, 413, "request_too_large_error")["detail"]
    assert detail.endswith("the limit is 4 KiB (4,096 bytes)")
    assert wait_for(lambda: (bounded.count("datasets"), bounded.stored_objects()) == before)
    assert send(at_limit).status_code == 201


class _Raw:
    """A hand-made upload on its own connection: the head, then as much body as a test says."""

    def __init__(self, api: Api, declared: int) -> None:
        port = urlsplit(api.url).port
        assert port is not None
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = (
            f"POST {PREFIX}/training/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {api.tokens['alice']}\r\n"
            f"Content-Type: application/x-ndjson\r\nContent-Length: {declared}\r\n\r\n"
        )
        self.sock.sendall(head.encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def status(self, timeout: float) -> int:
        self.sock.settimeout(timeout)
        data = b""
        while b"\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, f"closed without an answer: {data!r}"
            data += chunk
        return int(data.split()[1])

    def close(self) -> None:
        self.sock.close()


def test_upload_cut_off_halfway_keeps_nothing(api: Api) -> None:
    content = chat_file(rows=2000)
    before = (api.count("datasets"), api.stored_objects())
    raw = _Raw(api, len(content))
    raw.send(content[: len(content) // 2])
    assert wait_for(lambda: staging(api.stored_objects()) != [])  # it was being written
    raw.close()
    assert wait_for(lambda: (api.count("datasets"), api.stored_objects()) == before)


def test_upload_that_stops_sending_is_408_and_keeps_nothing(bounded: Api) -> None:
    content = _padded(LIMIT)
    before = (bounded.count("datasets"), bounded.stored_objects())
    raw = _Raw(bounded, len(content))
    try:
        raw.send(content[:100])
        started = time.monotonic()
        assert raw.status(timeout=10) == 408
        assert 0.9 <= time.monotonic() - started < 5
    finally:
        raw.close()
    assert wait_for(lambda: (bounded.count("datasets"), bounded.stored_objects()) == before)


def test_slow_but_steady_upload_outlasts_the_job_body_deadline(bounded: Api) -> None:
    # 2.5 s in all, far past the 1 s a job body has, but never 1 s without a byte.
    content = _padded(LIMIT)
    raw = _Raw(bounded, len(content))
    try:
        for start in range(0, len(content), len(content) // 5 + 1):
            raw.send(content[start : start + len(content) // 5 + 1])
            time.sleep(0.5)
        assert raw.status(timeout=10) == 201
    finally:
        raw.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_killed_mid_upload_leaves_no_staging_file_after_restart(
    backend: str, tmp_path: Path
) -> None:
    store = "s3" if backend == "postgresql" else "directory"
    with running_api(backend, tmp_path, dataset_store=store) as api:
        assert api.server is not None
        content = chat_file(rows=5000)
        raw = _Raw(api, len(content))
        raw.send(content[: len(content) // 2])
        assert wait_for(lambda: staging(api.stored_objects()) != [])
        api.server.process.send_signal(signal.SIGKILL)
        api.server.process.wait(timeout=10)
        raw.close()
        left = staging(api.stored_objects())
        assert left != []  # a killed process cannot clean up: the restart must
        with LiveServer(api.env, tmp_path / "restarted.log") as restarted:
            assert staging(api.stored_objects()) == []
            assert api.count("datasets") == 0
            with httpx.Client(base_url=f"{restarted.url}{PREFIX}", timeout=30) as client:
                headers = {**NDJSON, "Authorization": f"Bearer {api.tokens['alice']}"}
                again = client.post("/training/datasets", content=content, headers=headers)
            assert again.status_code == 201, again.text
