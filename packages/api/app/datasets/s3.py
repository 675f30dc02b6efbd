"""The dataset store on an S3-compatible object store (AWS S3, MinIO, R2, Ceph…), named by a
setting such as ``s3://bucket/datasets``.

It keeps the ``DatasetStore`` protocol's promises with obstore, the Python binding of the Rust
``object_store`` crate: a synchronous API (the upload route already runs the store in a worker
thread), one self-contained wheel, and uploads that read the local file part by part, so a 200 MB
dataset costs a few parts of memory, not its size. Uploads land whole or not at all: a multipart
upload is invisible until its completing request, and is aborted when a part fails. (A process
killed mid-upload leaves its parts in the bucket's hidden incomplete uploads; a lifecycle rule
that aborts incomplete multipart uploads after a day reclaims them, as AWS recommends for any
bucket that takes multipart uploads.)

Every request is bounded: a store that is down, hung or refusing our credentials fails the
request in seconds with ``StoreUnavailableError`` (the route's 503), never by holding it for the
library's default three minutes of retries. Credentials and region come from the standard
``AWS_*`` environment variables (and AWS's other usual sources); the endpoint of a store that is
not AWS from ``DREADNODE_API_S3_ENDPOINT_URL``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import BaseError as ObjectStoreError
from obstore.store import S3Store as _ObjectStore

from app.core.config import default_database_path
from app.datasets.errors import StoreUnavailableError
from app.datasets.store import check_key

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from obstore import ReadableFile
    from obstore.store import ClientConfig, RetryConfig, S3Config

__all__ = ["ENDPOINT_VARIABLE", "S3Limits", "S3Store"]

#: The environment variable naming an S3-compatible endpoint (``http://127.0.0.1:9000``); unset
#: means AWS itself, at the region's endpoint.
ENDPOINT_VARIABLE = "DREADNODE_API_S3_ENDPOINT_URL"


@dataclass(frozen=True)
class S3Limits:
    """The bounds on every request to the store, and the shape of uploads.

    The defaults answer a request within about ``retry_seconds`` plus one ``read_seconds``
    however the store fails: refused connections are retried twice with a short backoff and fail
    in well under a second; a black-holed one waits out one read timeout. They are generous for
    a healthy store, whose requests (a part of ``part_bytes`` included) finish in milliseconds
    within a region.
    """

    #: Seconds to open a connection (TLS included): milliseconds within a region.
    connect_seconds: float = 2.0
    #: Seconds any single read from the connection may wait: a store that stops answering
    #: mid-request fails in this long. S3 itself keeps a slow completing request alive with
    #: whitespace, so a healthy store never goes this quiet.
    read_seconds: float = 5.0
    #: Seconds one whole request may take, a part's upload included: a part of ``part_bytes`` at
    #: well under 1 MB/s still fits.
    request_seconds: float = 60.0
    #: Retries of a failed request (connection errors, 5xx; timeouts only for safe requests).
    retries: int = 2
    #: Seconds after a request's first attempt past which it is not retried again.
    retry_seconds: float = 5.0
    #: The size of one part of a multipart upload; files above it are uploaded in parts. 5 MiB:
    #: S3's minimum part, and 10,000 parts (its maximum) still allow 48 GiB, far above the
    #: upload limit.
    part_bytes: int = 5 * 1024 * 1024
    #: Parts in flight at once. One upload holds about one part more than this in memory:
    #: measured on a 200 MB file, 4 parts of 5 MiB grew the process by 26 MiB (8 of 8 MiB: 72).
    parallel_parts: int = 4
    #: The least a reader of a stored dataset fetches per request (and holds in memory).
    read_bytes: int = 8 * 1024 * 1024


def _parse(url: str) -> tuple[str, str]:
    """The bucket and the key prefix (no slashes at either end, maybe empty) of ``s3://...``."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"an S3 dataset store is named s3://BUCKET[/PREFIX], not {url!r}")
    return parts.netloc, parts.path.strip("/")


def _reason(error: BaseException) -> str:
    """The library's message in one line (it appends a multi-line debug dump)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class _ObjectReader(io.RawIOBase):
    """An object's bytes as a standard raw reader (wrapped in a ``BufferedReader`` by
    ``S3Store.open``): obstore's reader returns its own ``Bytes`` type, and a failure mid-read
    should be ``StoreUnavailableError`` like every other."""

    def __init__(self, reader: ReadableFile, where: str) -> None:
        super().__init__()
        self._reader = reader
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        try:
            chunk = memoryview(self._reader.read(len(target)))
        except (ObjectStoreError, OSError) as error:
            raise StoreUnavailableError(
                f"the dataset store failed while {self._where} was read: {_reason(error)}"
            ) from error
        size = len(chunk)
        target[:size] = chunk
        return size

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


class S3Store:
    """Datasets as objects ``<prefix>/<key>`` in one bucket; staging files on local disk.

    ``staging`` is a local directory for the temp files an upload is written to while it is
    validated: the store's objects are immutable, so a file is only uploaded once it is known
    to be good. By default ``datasets/.staging`` in the service's data directory, where a
    directory store would keep its own (``app.datasets.store.default_store_path``); never the
    system's temp directory, which may be memory (tmpfs) and would then hold whole uploads.
    ``endpoint_url`` defaults to ``DREADNODE_API_S3_ENDPOINT_URL``.
    """

    def __init__(
        self,
        url: str,
        *,
        staging: Path | None = None,
        endpoint_url: str | None = None,
        limits: S3Limits | None = None,
    ) -> None:
        self.bucket, self.prefix = _parse(url)
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.limits = limits or S3Limits()
        self._staging = staging or default_database_path().parent / "datasets" / ".staging"
        endpoint = endpoint_url if endpoint_url is not None else os.environ.get(ENDPOINT_VARIABLE)
        endpoint = endpoint.strip() if endpoint else None
        client: ClientConfig = {
            "connect_timeout": timedelta(seconds=self.limits.connect_seconds),
            "read_timeout": timedelta(seconds=self.limits.read_seconds),
            "timeout": timedelta(seconds=self.limits.request_seconds),
            # Plain HTTP only where the operator named an http:// endpoint (a store on the
            # same host or network); AWS itself is always HTTPS.
            "allow_http": bool(endpoint and endpoint.lower().startswith("http://")),
        }
        retry: RetryConfig = {
            "max_retries": self.limits.retries,
            "retry_timeout": timedelta(seconds=self.limits.retry_seconds),
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=1),
                "base": 2,
            },
        }
        config: S3Config | None = {"endpoint": endpoint} if endpoint else None
        self._store = _ObjectStore(
            self.bucket,
            prefix=self.prefix or None,
            config=config,
            client_options=client,
            retry_config=retry,
        )

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    def _where(self, key: str) -> str:
        return f"{self.url}/{key}" if key else self.url

    def _unavailable(self, action: str, key: str, error: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the dataset store could not {action} {self._where(key)}: {_reason(error)}"
        )

    def staging_path(self) -> Path:
        """The local directory for temp files (created when missing)."""
        self._staging.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self._staging

    def put(self, local: Path, key: str) -> None:
        """Upload the finished file ``local`` as ``key`` (in parts above ``part_bytes``), then
        remove ``local``. The local file is removed whether or not the upload succeeded: it is
        a staging file no one else will use, and nothing may be left behind by a failed upload.
        """
        check_key(key)  # a sha256, never a path that could leave the prefix
        try:
            obstore.put(
                self._store,
                key,
                local,
                chunk_size=self.limits.part_bytes,
                max_concurrency=self.limits.parallel_parts,
            )
        except (ObjectStoreError, OSError) as error:
            if isinstance(error, FileNotFoundError) and not local.exists():
                raise  # the caller's bug (no such staging file), not the store's fault
            raise self._unavailable("write", key, error) from error
        finally:
            local.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        check_key(key)
        try:
            obstore.head(self._store, key)
        except FileNotFoundError:
            return False
        except (ObjectStoreError, OSError) as error:
            raise self._unavailable("look up", key, error) from error
        return True

    def delete(self, key: str) -> None:
        """Remove ``key``; a key that is not there is already deleted."""
        check_key(key)
        try:
            obstore.delete(self._store, key)
        except FileNotFoundError:
            return
        except (ObjectStoreError, OSError) as error:
            raise self._unavailable("delete", key, error) from error

    def open(self, key: str) -> BinaryIO:
        """A buffered binary reader of ``key``'s bytes, fetched range by range as it is read;
        ``FileNotFoundError`` when ``key`` is not stored."""
        check_key(key)
        try:
            reader = obstore.open_reader(self._store, key, buffer_size=self.limits.read_bytes)
        except FileNotFoundError:
            raise FileNotFoundError(f"no dataset {self._where(key)}") from None
        except (ObjectStoreError, OSError) as error:
            raise self._unavailable("read", key, error) from error
        raw = _ObjectReader(reader, self._where(key))
        return io.BufferedReader(raw, buffer_size=1024 * 1024)

    def keys(self) -> Iterator[str]:
        """Every key under the prefix, in the store's order: for operators and tests (what is
        held), not for requests."""
        try:
            for batch in obstore.list(self._store):
                for meta in batch:
                    yield meta["path"]  # relative to the prefix already
        except (ObjectStoreError, OSError) as error:
            raise self._unavailable("list", "", error) from error
