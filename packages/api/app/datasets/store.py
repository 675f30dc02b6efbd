"""The dataset store: where an uploaded file's bytes live, keyed by their sha256.

A store is content-addressed, so the same bytes uploaded by two owners are one stored object
(the database keeps a row per owner). An upload is streamed into a temp file in the store's
*staging* directory (always local, on the same file system as a directory store, so the move
into place is one atomic rename), checked and hashed as it arrives, and only a file that passed
every check is ``put`` under its key. Nothing else ever writes to a store.

A temp file is removed when its upload ends, however it ends (refused, cut off, timed out). A
server killed mid-upload cannot remove its own, so each staging file is named after the host
and process that wrote it, and ``sweep_staging`` (run as each server starts) removes those whose
process is gone, and any that has not been written to for ``STAGING_MAX_IDLE_SECONDS``.

Two stores: ``DirectoryStore`` (the default) and ``app.datasets.s3.S3Store`` for
``s3://bucket/prefix``; ``open_store`` picks one from the setting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from app.core.config import default_database_path, sqlite_path

__all__ = [
    "STAGING_MAX_IDLE_SECONDS",
    "DatasetStore",
    "DirectoryStore",
    "StagingFile",
    "open_store",
    "sweep_staging",
]

logger = logging.getLogger("app.datasets")

#: Seconds a staging file may go unwritten before a sweep removes it whoever wrote it: far past
#: the longest pause an upload may take (``dataset_idle_timeout_seconds``, 10 s by default),
#: so only files of a server that died (on another host, or whose process id was reused) last
#: that long.
STAGING_MAX_IDLE_SECONDS = 3600.0
#: A content key: a sha256 in lowercase hex. Checked before it becomes a path or an object key.
KEY = re.compile(r"[0-9a-f]{64}")
#: A staging file's name: host, process id, random part.
_STAGED = re.compile(r"(?P<host>[A-Za-z0-9_.-]{1,64})-(?P<pid>\d{1,10})-[0-9a-f]{16}\.part")


class DatasetStore(Protocol):
    """What the API needs of a place to keep datasets' bytes."""

    def staging_path(self) -> Path:
        """A local directory for uploads in progress (created if missing)."""
        ...

    def put(self, local: Path, key: str) -> None:
        """Store the finished file ``local`` (in the staging directory) under ``key``; the file
        may be moved away. Storing a key that exists replaces it with the same bytes."""
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; a key that is not stored is no error."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A binary reader of the stored bytes (the caller closes it)."""
        ...


def check_key(key: str) -> str:
    """``key`` if it is a sha256 in lowercase hex; ``ValueError`` otherwise."""
    if not KEY.fullmatch(key):
        raise ValueError(f"not a dataset key (a sha256 in lowercase hex): {key!r}")
    return key


class DirectoryStore:
    """Datasets as files under ``root``: ``ab/abcd...`` (the key's first two hex digits as a
    directory, so no directory holds more than 1/256 of them), uploads in ``root/.staging``.

    A file is synced before it is moved into place and its directory after, so a dataset the
    API acknowledged survives a crash, as its row does.
    """

    STAGING = ".staging"

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """Where ``key``'s bytes are (or would be)."""
        check_key(key)
        return self.root / key[:2] / key

    def staging_path(self) -> Path:
        staging = self.root / self.STAGING
        staging.mkdir(mode=0o700, parents=True, exist_ok=True)
        return staging

    def put(self, local: Path, key: str) -> None:
        target = self.path(key)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _fsync_file(local)
        os.replace(local, target)
        _fsync_directory(target.parent)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        _fsync_directory(path.parent)

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def keys(self) -> Iterator[str]:
        """Every stored key: for operators and tests (what is held), not for requests."""
        for fan_out in sorted(self.root.glob("[0-9a-f][0-9a-f]")):
            yield from sorted(p.name for p in fan_out.iterdir() if KEY.fullmatch(p.name))


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    """Make a rename or an unlink in ``directory`` durable (POSIX; Windows has no such call)."""
    if sys.platform == "win32" or not directory.is_dir():
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def default_store_path(database_url: str) -> Path:
    """Where datasets go unless ``DREADNODE_API_DATASET_STORE`` says: beside a SQLite file
    (``api.db`` -> ``api.db.datasets``), so that one directory holds a whole embedded
    deployment; else ``datasets`` in the data directory (PostgreSQL, in-memory SQLite)."""
    database = sqlite_path(database_url)
    if database is not None:
        return database.with_name(f"{database.name}.datasets")
    return default_database_path().parent / "datasets"


def open_store(
    setting: str | None, database_url: str, *, s3_endpoint_url: str | None = None
) -> DatasetStore:
    """The store a ``DREADNODE_API_DATASET_STORE`` value names: unset, the default directory
    (``default_store_path``); ``s3://bucket/prefix``, an S3-compatible object store (at
    ``s3_endpoint_url`` when not AWS's); anything else, a directory (``~`` expanded)."""
    if setting is None or not setting.strip():
        return DirectoryStore(default_store_path(database_url))
    if setting.startswith("s3://"):
        from app.datasets.s3 import S3Store  # only a deployment on S3 loads its client

        # Uploads in progress are staged where the directory store would keep its files.
        staging = default_store_path(database_url) / DirectoryStore.STAGING
        return S3Store(setting, staging=staging, endpoint_url=s3_endpoint_url)
    return DirectoryStore(Path(setting).expanduser().resolve())


_HOST = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())[:64] or "host"


class StagingFile:
    """One upload's temp file in ``directory``, open for writing; removed on leaving the
    ``with`` block unless it was ``put`` away meanwhile, so no way out of an upload leaves it
    behind (a killed process's are left to ``sweep_staging``)."""

    def __init__(self, directory: Path) -> None:
        name = f"{_HOST}-{os.getpid()}-{secrets.token_hex(8)}.part"
        self.path = directory / name
        # Exclusive creation: a name is never shared, even with a file a sweep has not reached.
        self._handle: BinaryIO | None = self.path.open("xb")

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        assert self._handle is not None, "written after close"
        self._handle.write(chunk)

    def close(self) -> None:
        """Flush and sync what was written, and close the file (it stays until removed)."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        try:
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()

    def remove(self) -> None:
        """Close the file and remove it, if it is still there."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> StagingFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()


def _process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (never signalled on Windows, where
    ``os.kill`` would end it)."""
    if sys.platform == "win32":
        return True  # unknown: the age rule decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def sweep_staging(
    directory: Path, *, max_idle: float = STAGING_MAX_IDLE_SECONDS, now: float | None = None
) -> list[Path]:
    """Remove the staging files no upload will finish: this host's whose process is gone (or is
    this one, which has just started), and anyone's unwritten for ``max_idle`` seconds. Returns
    what was removed."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    with contextlib.suppress(FileNotFoundError):
        entries = list(directory.iterdir())
        for path in entries:
            if not path.is_file():
                continue
            if _abandoned(path, max_idle=max_idle, now=now):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    if removed:
        logger.info("removed %d abandoned dataset upload(s) from %s", len(removed), directory)
    return removed


def _abandoned(path: Path, *, max_idle: float, now: float) -> bool:
    try:
        idle = now - path.stat().st_mtime
    except FileNotFoundError:
        return False
    if idle > max_idle:
        return True
    named = _STAGED.fullmatch(path.name)
    if named is None or named["host"] != _HOST:
        return False
    pid = int(named["pid"])
    return pid == os.getpid() or not _process_alive(pid)
