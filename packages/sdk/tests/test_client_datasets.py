"""Datasets through the client: a file is streamed as it is, in chunks, and retried whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreadnode.client import (
    DATASET_CONTENT_TYPE,
    Client,
    ConflictError,
    ContentTooLargeError,
    RetryPolicy,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from dreadnode.client._client import UPLOAD_CHUNK_BYTES

from .fake_api import FakeAPI, Reply, dataset_json, envelope, job_json

DATASETS = "/api/v1/training/datasets"
FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)
CHAT_ROW = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
UNAVAILABLE = envelope(503, "Service unavailable", "service_unavailable_error")


def _client(api: FakeAPI) -> Client:
    return Client(server_url=api.url, api_key="t0ken", retry=FAST)


def _jsonl(path: Path, rows: int) -> Path:
    path.write_text("".join(json.dumps(CHAT_ROW) + "\n" for _ in range(rows)))
    return path


def test_upload_sends_the_file_as_it_is_with_its_length(fake_api: FakeAPI, tmp_path: Path) -> None:
    file = _jsonl(tmp_path / "train.jsonl", 3)
    fake_api.script("POST", DATASETS, Reply(201, dataset_json()))
    with _client(fake_api) as client:
        dataset = client.upload_dataset(file, name="demo", format="chat")
    (seen,) = fake_api.requests
    assert seen.raw == file.read_bytes()
    assert seen.headers["content-type"] == DATASET_CONTENT_TYPE
    assert seen.headers["content-length"] == str(file.stat().st_size)
    assert "transfer-encoding" not in seen.headers
    assert seen.query == {"name": ["demo"], "format": ["chat"]}
    assert seen.headers["x-api-key"] == "t0ken"
    assert (dataset.id, dataset.rows, dataset.format) == ("ds-0123456789abcdef01234567", 3, "chat")
    assert dataset.uploaded_before is False


def test_upload_of_bytes_already_there_says_so(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script("POST", DATASETS, Reply(200, dataset_json()))
    with _client(fake_api) as client:
        dataset = client.upload_dataset(_jsonl(tmp_path / "t.jsonl", 1))
    assert dataset.uploaded_before is True
    assert fake_api.requests[0].query == {}  # no name, no format: none sent


def test_upload_reads_the_file_a_chunk_at_a_time(fake_api: FakeAPI, tmp_path: Path) -> None:
    file = tmp_path / "big.jsonl"
    line = json.dumps({"text": "x" * 1000}) + "\n"
    file.write_text(line * (UPLOAD_CHUNK_BYTES * 5 // 2 // len(line)))
    size = file.stat().st_size
    fake_api.script("POST", DATASETS, Reply(201, dataset_json()))
    progress: list[tuple[int, int]] = []
    with _client(fake_api) as client:
        client.upload_dataset(file, on_progress=lambda sent, total: progress.append((sent, total)))
    assert progress == [
        (0, size),
        (UPLOAD_CHUNK_BYTES, size),
        (2 * UPLOAD_CHUNK_BYTES, size),
        (size, size),
    ]
    assert fake_api.requests[0].raw == file.read_bytes()


def test_upload_is_retried_on_503_with_the_whole_file_again(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    file = _jsonl(tmp_path / "train.jsonl", 5)
    fake_api.script("POST", DATASETS, UNAVAILABLE, Reply(201, dataset_json()))
    starts: list[int] = []
    with _client(fake_api) as client:
        dataset = client.upload_dataset(
            file, on_progress=lambda sent, _: starts.append(sent) if sent == 0 else None
        )
    assert dataset.id.startswith("ds-")
    attempts = fake_api.seen("POST", DATASETS)
    assert [a.raw for a in attempts] == [file.read_bytes()] * 2
    assert starts == [0, 0]  # each attempt read the file from its start


def test_upload_gives_up_after_max_retries(fake_api: FakeAPI, tmp_path: Path) -> None:
    fake_api.script("POST", DATASETS, UNAVAILABLE)
    with _client(fake_api) as client, pytest.raises(ServiceUnavailableError):
        client.upload_dataset(_jsonl(tmp_path / "t.jsonl", 1))
    assert len(fake_api.seen("POST", DATASETS)) == 3


def test_bad_file_refused_by_the_server_is_a_422_with_its_lines(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    errors = [{"loc": ["body", "line", 2, "messages", 1, "role"], "msg": "Unknown role",
               "type": "invalid_role"}]  # fmt: skip
    fake_api.script("POST", DATASETS, envelope(422, "1 of 2 lines", "invalid_dataset", errors))
    with _client(fake_api) as client, pytest.raises(UnprocessableEntityError) as raised:
        client.upload_dataset(_jsonl(tmp_path / "t.jsonl", 2))
    assert (raised.value.type, raised.value.errors) == ("invalid_dataset", errors)
    assert len(fake_api.requests) == 1  # a 4xx is the caller's to fix: not retried


def test_file_over_the_servers_limit_is_content_too_large(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    fake_api.script("POST", DATASETS, envelope(413, "over 1 GiB", "payload_too_large"))
    with _client(fake_api) as client, pytest.raises(ContentTooLargeError, match="over 1 GiB"):
        client.upload_dataset(_jsonl(tmp_path / "t.jsonl", 1))


def test_missing_file_or_directory_fails_before_any_request(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    with _client(fake_api) as client:
        with pytest.raises(FileNotFoundError):
            client.upload_dataset(tmp_path / "nope.jsonl")
        with pytest.raises(IsADirectoryError):
            client.upload_dataset(tmp_path)
    assert fake_api.requests == []


def test_file_that_grows_while_it_is_sent_is_an_error_not_a_wrong_upload(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    file = tmp_path / "growing.jsonl"
    file.write_bytes(b'{"text": "x"}\n' * (UPLOAD_CHUNK_BYTES // 7))

    def append(sent: int, total: int) -> None:
        if 0 < sent < total:
            with file.open("ab") as more:
                more.write(b'{"text": "y"}\n')

    fake_api.script("POST", DATASETS, Reply(201, dataset_json()))
    with _client(fake_api) as client, pytest.raises(OSError, match="changed while"):
        client.upload_dataset(file, on_progress=append)
    assert all(seen.raw != file.read_bytes() for seen in fake_api.requests)


def test_list_get_and_delete_address_the_datasets(fake_api: FakeAPI) -> None:
    one = dataset_json()
    fake_api.script("GET", DATASETS, Reply(200, {"datasets": [one], "total": 7, "limit": 1}))
    fake_api.script("GET", f"{DATASETS}/{one['id']}", Reply(200, one))
    fake_api.script("DELETE", f"{DATASETS}/{one['id']}", Reply(204))
    with _client(fake_api) as client:
        page = client.list_datasets(limit=1, offset=2)
        got = client.get_dataset(one["id"])
        client.delete_dataset(one["id"])  # a 204: nothing to return
    assert fake_api.requests[0].query == {"limit": ["1"], "offset": ["2"]}
    assert (page.total, page.offset, [d.id for d in page.datasets]) == (7, 0, [one["id"]])
    assert (got.longest_row_bytes, got.longest_row_line, got.sha256) == (120, 2, "ab" * 32)
    assert [seen.method for seen in fake_api.requests] == ["GET", "GET", "DELETE"]


def test_delete_in_use_is_a_conflict_and_is_not_retried(fake_api: FakeAPI) -> None:
    path = f"{DATASETS}/ds-1"
    fake_api.script("DELETE", path, envelope(409, "in use by job-1", "dataset_in_use"))
    with _client(fake_api) as client, pytest.raises(ConflictError, match="in use by job-1"):
        client.delete_dataset("ds-1")
    fake_api.script("DELETE", path, UNAVAILABLE)
    with _client(fake_api) as client, pytest.raises(ServiceUnavailableError):
        client.delete_dataset("ds-1")
    assert len(fake_api.seen("DELETE", path)) == 2  # one each: a delete is never repeated


@pytest.mark.parametrize("call", ["get_dataset", "delete_dataset"])
@pytest.mark.parametrize(("bad", "why"), [("", "non-empty"), ("  ", "non-empty"), ("a/b", "'/'")])
def test_bad_dataset_id_is_refused_before_any_request(
    fake_api: FakeAPI, call: str, bad: str, why: str
) -> None:
    with _client(fake_api) as client, pytest.raises(ValueError, match=why):
        getattr(client, call)(bad)
    assert fake_api.requests == []


def test_job_reads_its_dataset_figures(fake_api: FakeAPI) -> None:
    job = job_json(dataset="ds-1", dataset_rows=9000, training_tokens_bound=3 * 12_000_000)
    fake_api.script("GET", "/api/v1/training/jobs/job-1", Reply(200, job))
    fake_api.script("GET", "/api/v1/training/jobs/job-2", Reply(200, job_json("job-2")))
    with _client(fake_api) as client:
        assert (client.get_job("job-1").dataset_rows, client.get_job("job-1").dataset) == (
            9000,
            "ds-1",
        )
        assert client.get_job("job-1").training_tokens_bound == 36_000_000
        uri = client.get_job("job-2")  # an older server, or a URI: no figures
    assert (uri.dataset_rows, uri.training_tokens_bound) == (None, None)
