"""The rows a job trains on, read and checked before anything is sent to Tinker.

An uploaded dataset was checked line by line when it was uploaded, so its bytes are read back
from the dataset store as they are. A URI the platform does not hold (``https://``, ``s3://``) was
accepted unchecked at creation: the worker fetches it and checks it with the very validator an
upload goes through, and a bad file fails the job with the validator's line errors before any
Tinker call, so nothing is spent on it.

Rows are held in memory for the run: a supervised dataset is a few hundred megabytes at the most
(uploads are capped at 1 GiB), and each is rendered once per attempt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.datasets.store import open_store
from app.models import Dataset, Job
from app.training.datasets import (
    DatasetFormat,
    DatasetValidator,
    describe_dataset_problems,
)

__all__ = ["DatasetRow", "DatasetUnusableError", "read_rows", "read_stored", "stored_rows"]

#: The largest file fetched from a URI: the upload limit's default, for the same reason.
MAX_FETCH_BYTES = 1024 * 1024 * 1024
_CHUNK = 1024 * 1024


class DatasetUnusableError(Exception):
    """The job's dataset cannot be trained on; ``error_type`` is the job's stable error type."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class DatasetRow:
    """One row and the line of the file it is on (1-based; blank lines keep their numbers)."""

    line: int
    row: dict[str, Any]


def read_rows(
    session: Session, job: Job, settings: Settings
) -> tuple[DatasetFormat, list[DatasetRow]]:
    """The job's dataset's format and rows, in file order."""
    if job.dataset_id is not None:
        fmt, data = _read_uploaded(session, job, settings)
    else:
        data = _fetch(job.dataset)
        fmt = _check(job.dataset, data)
    rows = list(_rows(data))
    if not rows:
        raise DatasetUnusableError("invalid_dataset", "The dataset has no rows")
    return fmt, rows


def _check(uri: str, data: bytes) -> DatasetFormat:
    """The format of a fetched file, checked as an upload is; the first errors if it is bad."""
    validator = DatasetValidator()
    validator.feed(data)
    check = validator.finish()
    if check.ok and check.format is not None:
        return check.format
    listed = "; ".join(f"line {error.line}: {error.msg}" for error in check.errors[:3])
    summary = describe_dataset_problems(check)
    raise DatasetUnusableError(
        "invalid_dataset", f"{uri}: {summary}" + (f" ({listed})" if listed else "")
    )


def _read_uploaded(session: Session, job: Job, settings: Settings) -> tuple[DatasetFormat, bytes]:
    dataset = session.scalars(
        select(Dataset).where(Dataset.id == job.dataset_id, Dataset.owner == job.owner)
    ).one_or_none()
    if dataset is None:
        raise DatasetUnusableError(
            "dataset_unavailable", f"The job's dataset {job.dataset_id} no longer exists"
        )
    return DatasetFormat(dataset.format), read_stored(dataset, settings)


def stored_rows(dataset: Dataset, settings: Settings) -> list[DatasetRow]:
    """An uploaded dataset's rows, in file order, from the dataset store."""
    return list(_rows(read_stored(dataset, settings)))


def read_stored(dataset: Dataset, settings: Settings) -> bytes:
    """An uploaded dataset's bytes; DatasetUnusableError when the store cannot be read."""
    store = open_store(
        settings.dataset_store, settings.database_url, s3_endpoint_url=settings.s3_endpoint_url
    )
    try:
        with store.open(dataset.sha256) as stream:
            return stream.read()
    except Exception as err:  # each store raises its own errors; all mean "not now"
        raise DatasetUnusableError(
            "dataset_unavailable", f"The dataset store could not be read: {err}"
        ) from err


def _fetch(uri: str) -> bytes:
    """The bytes at an ``https://`` or ``s3://`` URI, at most ``MAX_FETCH_BYTES``."""
    scheme = urlsplit(uri).scheme
    try:
        if scheme == "https":
            return _fetch_https(uri)
        if scheme == "s3":
            return _fetch_s3(uri)
    except DatasetUnusableError:
        raise
    except Exception as err:
        raise DatasetUnusableError("dataset_unavailable", f"Could not fetch {uri}: {err}") from err
    raise DatasetUnusableError(
        "dataset_unavailable", f"Cannot fetch {uri}: only https:// and s3:// URIs"
    )


def _fetch_https(uri: str) -> bytes:
    import httpx

    parts: list[bytes] = []
    size = 0
    timeout = httpx.Timeout(30.0, connect=5.0)
    with httpx.stream("GET", uri, timeout=timeout, follow_redirects=True) as response:
        if response.status_code != 200:
            raise DatasetUnusableError(
                "dataset_unavailable", f"Fetching {uri} answered {response.status_code}"
            )
        for chunk in response.iter_bytes(_CHUNK):
            size += len(chunk)
            if size > MAX_FETCH_BYTES:
                raise DatasetUnusableError(
                    "invalid_dataset", f"{uri} is larger than {MAX_FETCH_BYTES:,} bytes"
                )
            parts.append(chunk)
    return b"".join(parts)


def _fetch_s3(uri: str) -> bytes:
    import obstore
    from obstore.store import from_url

    bucket_and_key = urlsplit(uri)
    store = from_url(f"s3://{bucket_and_key.netloc}")
    return bytes(obstore.get(store, bucket_and_key.path.lstrip("/")).bytes())


def _rows(data: bytes) -> Iterator[DatasetRow]:
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            yield DatasetRow(line=number, row=json.loads(raw))
