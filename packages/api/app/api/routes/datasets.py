"""``/training/datasets``: upload (checked line by line as it streams in), list, read, delete.

An upload's body is the JSONL file itself. It is never held whole: each chunk is checked by the
validator (``app.training.datasets``), hashed and written to a temp file in the store's staging
directory as it arrives, in a worker thread, so a 1 GiB file costs the server about one row and
a megabyte of memory. Only once the last line has passed is the file stored under its sha256
and its row written; a bad file is answered with its line errors and leaves nothing, as does an
upload cut off, timed out or too large (``app.core.bodylimit`` bounds its size and idle time).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.api.deps import CurrentUser, DatabaseDep, SessionDep, WriterUser
from app.api.mediatype import ContentType, require_utf8
from app.api.responses import error_responses
from app.core.db import Database
from app.datasets.errors import StoreUnavailableError
from app.datasets.store import DatasetStore, StagingFile
from app.errors import (
    BadRequestError,
    DatasetInUseError,
    InvalidDatasetError,
    NotFoundError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    error_item,
)
from app.schemas import (
    MAX_OFFSET,
    DatasetName,
    DatasetPublic,
    DatasetsPublic,
    ErrorResponse,
    PrintableStr,
)
from app.storage import datasets as rows
from app.training.datasets import (
    DatasetCheck,
    DatasetFormat,
    DatasetValidator,
    describe_dataset_problems,
)

__all__ = ["DATASET_MEDIA_TYPES", "UPLOAD_PATH", "router"]

logger = logging.getLogger("app.datasets")

#: The upload's path under the API prefix (``app.main`` gives it its own body bounds).
UPLOAD_PATH = "/training/datasets"
#: The ``Content-Type``s an upload may declare: JSON Lines' two names, and plain bytes.
DATASET_MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "application/octet-stream")
#: How much of an upload is gathered before a worker thread checks and writes it: enough that
#: the thread hop costs nothing beside the work, little next to the memory bound.
BATCH_BYTES = 1024 * 1024
#: Seconds a client is asked to wait after the store failed or changed under an upload.
STORE_RETRY_AFTER_SECONDS = 2

router = APIRouter(prefix=UPLOAD_PATH, tags=["datasets"])

#: The errors of an operation on one dataset by id.
_ONE_DATASET = error_responses(404, s404="No such dataset among the caller's")
#: Where a new dataset's id leads (OpenAPI links: clients and schemathesis follow them).
_DATASET_LINKS = {
    name: {"operationId": operation, "parameters": {"dataset_id": "$response.body#/id"}}
    for name, operation in (("ReadDataset", "read_dataset"), ("DeleteDataset", "delete_dataset"))
}
_FILE_SCHEMA = {"type": "string", "format": "binary"}
#: A valid two-row chat file, the body's documented example: schemathesis' examples phase
#: uploads it.
DATASET_EXAMPLE = (
    '{"messages": [{"role": "user", "content": "What is the capital of France?"}, '
    '{"role": "assistant", "content": "Paris."}]}\n'
    '{"messages": [{"role": "system", "content": "Answer in one word."}, '
    '{"role": "user", "content": "And of Italy?"}, {"role": "assistant", "content": "Rome."}]}\n'
)
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The JSONL file, one row per line, in one of the formats of "
        "`DatasetFormat` (see docs/api.md); streamed, so its size is bounded only by the "
        "server's limit (1 GiB by default)",
        "content": {
            media_type: {"schema": _FILE_SCHEMA}
            # Given once: schemathesis can send raw bytes only as application/octet-stream.
            | ({"example": DATASET_EXAMPLE} if media_type == "application/octet-stream" else {})
            for media_type in DATASET_MEDIA_TYPES
        },
    }
}


def _dataset_not_found(dataset_id: str) -> NotFoundError:
    return NotFoundError(f"Dataset {dataset_id!r} not found")


def _store(request: Request) -> DatasetStore:
    store: DatasetStore = request.app.state.dataset_store
    return store


def _store_unavailable(action: str, error: Exception) -> ServiceUnavailableError:
    """The 503 for a store that failed (``app.datasets.errors``; or a directory store's own
    OSError, a full disk say); the reason is logged, not sent: it names the store."""
    logger.warning("the dataset store failed on %s: %s", action, error)
    wait = STORE_RETRY_AFTER_SECONDS
    return ServiceUnavailableError(
        f"The dataset store is unavailable; nothing was changed, retry after {wait} s", wait
    )


def _check_media_type(content_type: str | None) -> None:
    """415 unless the body is declared as JSON Lines or bytes, in UTF-8 or no charset."""
    declared = ContentType.parse(content_type)
    if declared.media_type not in DATASET_MEDIA_TYPES:
        given = f"not {content_type!r}" if content_type else "and none was given"
        raise UnsupportedMediaTypeError(
            f"Content-Type must be {', '.join(DATASET_MEDIA_TYPES)}, {given}"
        )
    require_utf8(declared, "A dataset file")


def _take(validator: DatasetValidator, staged: StagingFile, chunks: Sequence[bytes]) -> None:
    """Check and write the next chunks (in a worker thread)."""
    for chunk in chunks:
        validator.feed(chunk)
        staged.write(chunk)


async def _receive(request: Request, validator: DatasetValidator, staged: StagingFile) -> None:
    """Stream the body through the validator into ``staged``, a batch at a time."""
    batch: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if not chunk:
            continue
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH_BYTES:
            await anyio.to_thread.run_sync(_take, validator, staged, batch)
            batch, size = [], 0
    if batch:
        await anyio.to_thread.run_sync(_take, validator, staged, batch)


def _invalid(check: DatasetCheck) -> InvalidDatasetError:
    errors = [
        error_item(("body", "line", error.line, *error.loc), error.msg, error.type)
        for error in check.errors
    ]
    return InvalidDatasetError(describe_dataset_problems(check), errors=errors)


def _record(
    database: Database,
    store: DatasetStore,
    *,
    owner: str,
    name: str | None,
    check: DatasetCheck,
    staged: StagingFile,
) -> rows.CreatedDataset:
    """Store a checked file and record it (in a worker thread: the store and the database both
    block). Every database step is a short transaction of its own, so no connection is held
    while the store works (an S3 upload of a large file takes a while)."""
    key = check.sha256
    with database.session() as session:
        existing = rows.find_dataset(session, owner=owner, sha256=key)
    if not store.exists(key):  # new bytes (or a delete whose commit failed took them): put
        store.put(staged.path, key)
    if existing is not None:
        return rows.CreatedDataset(existing, created=False)
    with database.session() as session:
        return rows.create_dataset(
            session, owner=owner, name=name, check=check, still_stored=lambda: store.exists(key)
        )


@router.post(
    "",
    response_model=DatasetPublic,
    status_code=201,
    responses={
        200: {
            "model": DatasetPublic,
            "description": "The caller already has a dataset of exactly these bytes: that one, "
            "unchanged (nothing new is stored)",
        },
        201: {"description": "The dataset, checked and stored", "links": _DATASET_LINKS},
        **error_responses(
            400,
            403,
            408,
            413,
            415,
            422,
            s400="The client went away before the whole file arrived (no one reads this)",
            s403="The token is read-only",
            s422="The file is not a valid dataset (`invalid_dataset`): one `errors` entry per "
            'bad line, `loc` `["body", "line", N, ...]`, the first 100 of them, and '
            "`detail` counts them all; or a bad query parameter",
        ),
        503: {
            "model": ErrorResponse,
            "description": "Service unavailable",
            "headers": {
                "Retry-After": {
                    "description": "Seconds until the store or the database may answer again",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
    openapi_extra=_UPLOAD_BODY,
)
async def create_dataset(
    *,
    request: Request,
    user: WriterUser,
    database: DatabaseDep,
    name: Annotated[
        DatasetName | None, Query(description="A label of the caller's; need not be unique")
    ] = None,
    format_: Annotated[
        DatasetFormat | None,
        Query(
            alias="format",
            description="The rows' format; by default the first valid row decides, and every "
            "other row must have it",
        ),
    ] = None,
) -> Response:
    """Upload a JSONL file; it is checked line by line as it arrives and kept only if valid."""
    _check_media_type(request.headers.get("content-type"))
    store = _store(request)
    try:
        result = await _upload(
            request, database=database, store=store, owner=user.owner, name=name, format_=format_
        )
    except rows.StoreChangedError:
        raise ServiceUnavailableError(
            "These bytes were being deleted from the dataset store as they were uploaded; "
            f"send the file again in {STORE_RETRY_AFTER_SECONDS} s",
            STORE_RETRY_AFTER_SECONDS,
        ) from None
    except (StoreUnavailableError, OSError) as err:  # OSError: the staging disk, say full
        raise _store_unavailable("an upload", err) from None
    body = DatasetPublic.model_validate(result.dataset).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if result.created else 200)


async def _upload(
    request: Request,
    *,
    database: Database,
    store: DatasetStore,
    owner: str,
    name: str | None,
    format_: DatasetFormat | None,
) -> rows.CreatedDataset:
    """Stream, check, store and record one upload; its temp file goes whatever happens."""
    validator = DatasetValidator(format=format_)
    staging = await anyio.to_thread.run_sync(store.staging_path)
    with StagingFile(staging) as staged:
        try:
            await _receive(request, validator, staged)
        except ClientDisconnect:
            raise BadRequestError("The client disconnected before the whole file arrived") from None
        check = validator.finish()
        if not check.ok:
            raise _invalid(check)
        await anyio.to_thread.run_sync(staged.close)
        return await run_in_threadpool(
            _record, database, store, owner=owner, name=name, check=check, staged=staged
        )


@router.get("", response_model=DatasetsPublic)
def read_datasets(
    *,
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DatasetsPublic:
    """The caller's datasets, newest first."""
    found = rows.list_datasets(session, owner=user.owner, limit=limit, offset=offset)
    return DatasetsPublic(
        datasets=[DatasetPublic.model_validate(row) for row in found],
        total=rows.count_datasets(session, owner=user.owner),
        limit=limit,
        offset=offset,
    )


@router.get("/{dataset_id}", response_model=DatasetPublic, responses=_ONE_DATASET)
def read_dataset(
    *, dataset_id: PrintableStr, session: SessionDep, user: CurrentUser
) -> DatasetPublic:
    """One of the caller's datasets."""
    found = rows.get_dataset(session, owner=user.owner, dataset_id=dataset_id)
    if found is None:
        raise _dataset_not_found(dataset_id)
    return DatasetPublic.model_validate(found)


@router.delete(
    "/{dataset_id}",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Deleted, with its stored file unless another dataset uses it"},
        **_ONE_DATASET,
        **error_responses(
            403,
            409,
            s403="The token is read-only",
            s409="A queued or running job trains on the dataset (`dataset_in_use`)",
        ),
    },
)
def delete_dataset(
    *, dataset_id: PrintableStr, session: SessionDep, user: WriterUser, request: Request
) -> Response:
    """Delete one of the caller's datasets, unless a queued or running job uses it."""
    store = _store(request)
    try:
        deleted = rows.delete_dataset(
            session, owner=user.owner, dataset_id=dataset_id, delete_object=store.delete
        )
    except rows.DatasetUsedByJobsError as err:
        jobs = ", ".join(repr(job_id) for job_id in err.job_ids)
        raise DatasetInUseError(
            f"Dataset {dataset_id!r} is used by queued or running job(s) {jobs}; cancel them "
            "or let them finish first"
        ) from None
    except (StoreUnavailableError, OSError) as err:
        raise _store_unavailable("a delete", err) from None
    if not deleted:
        raise _dataset_not_found(dataset_id)
    return Response(status_code=204)
