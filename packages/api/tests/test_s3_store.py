"""The S3 dataset store against a real S3 endpoint (moto's server on loopback): what it stores
comes back byte for byte, big files go up in parts, staging files never outlive an upload, and a
store that is down or hung fails in seconds with ``StoreUnavailableError``."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.datasets.errors import StoreUnavailableError
from app.datasets.s3 import S3Limits, S3Store
from app.testing import MOTO_CREDENTIALS, TcpProxy, free_port, moto_s3

BUCKET = "datasets-test"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(BUCKET, tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's dummy credentials, and nothing of the machine's own AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in MOTO_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def store(endpoint: str, tmp_path: Path) -> S3Store:
    """A store under a prefix of its own, so tests sharing the bucket see only their objects."""
    prefix = f"run-{secrets.token_hex(4)}/datasets"
    return S3Store(f"s3://{BUCKET}/{prefix}", staging=tmp_path / "staging", endpoint_url=endpoint)


def staged(store: S3Store, data: bytes) -> tuple[Path, str]:
    """A finished staging file holding ``data``, and its content key."""
    path = store.staging_path() / f"upload-{secrets.token_hex(4)}.part"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def object_etag(endpoint: str, store: S3Store, key: str) -> str:
    """The stored object's ETag, asked of the endpoint by another client (boto3, which moto
    brings along), so the test does not take the store's word for what it stored."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    head = client.head_object(Bucket=BUCKET, Key=f"{store.prefix}/{key}")
    return str(head["ETag"]).strip('"')


def test_put_exists_open_delete_round_trip(store: S3Store) -> None:
    data = b'{"text": "hello"}\n{"text": "world"}\n'
    local, key = staged(store, data)
    assert not store.exists(key)

    store.put(local, key)

    assert not local.exists()
    assert list(store.staging_path().iterdir()) == []
    assert store.exists(key)
    assert list(store.keys()) == [key]
    with store.open(key) as reader:
        assert reader.readline() == b'{"text": "hello"}\n'
        assert reader.read() == b'{"text": "world"}\n'
    store.delete(key)
    assert not store.exists(key)
    assert list(store.keys()) == []
    store.delete(key)  # already gone: still fine


def test_put_of_the_same_bytes_twice_keeps_one_object(store: S3Store) -> None:
    data = b'{"text": "same"}\n'
    for _ in range(2):
        local, key = staged(store, data)
        store.put(local, key)
    assert list(store.keys()) == [key]
    with store.open(key) as reader:
        assert reader.read() == data


def test_put_of_a_big_file_goes_up_in_parts(endpoint: str, store: S3Store) -> None:
    data = secrets.token_bytes(20 * 1024 * 1024 + 123)
    local, key = staged(store, data)

    store.put(local, key)

    parts = -(-len(data) // store.limits.part_bytes)
    assert parts == 5
    # A multipart object's ETag is the hash of its parts' hashes, then "-" and the part count.
    assert object_etag(endpoint, store, key).endswith(f"-{parts}")
    assert not local.exists()
    digest = hashlib.sha256()
    with store.open(key) as reader:
        while chunk := reader.read(1024 * 1024):
            digest.update(chunk)
    assert digest.hexdigest() == key


def test_put_of_a_small_file_is_one_request(endpoint: str, store: S3Store) -> None:
    local, key = staged(store, b'{"text": "small"}\n')
    store.put(local, key)
    assert "-" not in object_etag(endpoint, store, key)


def test_open_of_a_missing_key_is_file_not_found(store: S3Store) -> None:
    with pytest.raises(FileNotFoundError, match="no dataset s3://"):
        store.open("0" * 64)


def test_unreachable_store_fails_fast_and_leaves_no_staging_file(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = S3Store(f"s3://{BUCKET}/datasets", staging=tmp_path / "staging", endpoint_url=nowhere)
    local, key = staged(store, b'{"text": "lost"}\n')

    for attempt in (lambda: store.put(local, key), lambda: store.exists(key)):
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            attempt()
        assert time.monotonic() - started < 3
        message = str(caught.value)
        assert message.startswith("the dataset store could not ")
        assert f"s3://{BUCKET}/datasets/{key}" in message
        assert "\n" not in message
        assert "testing" not in message  # no credential in what the log will show
    assert not local.exists()


def test_hung_store_fails_within_its_bounds(endpoint: str, tmp_path: Path) -> None:
    """A store whose host accepts connections and then answers nothing (a black hole) costs a
    request one read timeout, not the library's minutes of retries."""
    host, port = endpoint.removeprefix("http://").split(":")
    limits = S3Limits()
    with TcpProxy(host, int(port)) as proxy:
        store = S3Store(
            f"s3://{BUCKET}/hung",
            staging=tmp_path / "staging",
            endpoint_url=f"http://127.0.0.1:{proxy.port}",
            limits=limits,
        )
        local, key = staged(store, b'{"text": "hung"}\n')
        store.put(local, key)  # the store works through the proxy
        assert store.exists(key)

        proxy.set_mode("black-hole")
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="could not look up"):
            store.exists(key)
        waited = time.monotonic() - started
        assert waited < limits.read_seconds + limits.retry_seconds + 1

        proxy.set_mode("pass")
        assert store.exists(key)  # and it comes back with the store


@pytest.mark.parametrize(
    "url", ["file:///tmp/x", "s3://", "s3:///prefix", "https://bucket/x", "s3://b/p?x=1"]
)
def test_a_url_that_names_no_bucket_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"s3://BUCKET\[/PREFIX\]"):
        S3Store(url, staging=tmp_path)


def test_prefix_slashes_do_not_change_the_keys(endpoint: str, tmp_path: Path) -> None:
    prefix = f"slashes-{secrets.token_hex(4)}"
    plain = S3Store(f"s3://{BUCKET}/{prefix}", staging=tmp_path, endpoint_url=endpoint)
    slashed = S3Store(f"s3://{BUCKET}/{prefix}/", staging=tmp_path, endpoint_url=endpoint)
    local, key = staged(plain, b'{"text": "x"}\n')
    plain.put(local, key)
    assert slashed.exists(key)
    assert list(slashed.keys()) == [key]


@pytest.mark.parametrize("key", ["../outside", "a/b", "ABC", ""])
def test_a_key_that_is_not_a_sha256_is_refused(store: S3Store, key: str) -> None:
    for operation in (store.exists, store.delete, store.open):
        with pytest.raises(ValueError, match="not a dataset key"):
            operation(key)
    assert list(store.keys()) == []
