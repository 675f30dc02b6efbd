"""``/training/jobs``: create (validated before any write), validate, list, read, cancel, and a
job's events and loss curve."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.convertors import StringConvertor, register_url_convertor

from app.api.body import JobBody, PydanticJsonRoute
from app.api.deps import (
    CatalogDay,
    CurrentUser,
    Prices,
    Principal,
    SessionDep,
    SettingsDep,
    WriterUser,
)
from app.api.responses import LIFECYCLE_HEADERS, error_responses
from app.core.config import Settings
from app.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ValidationFailedError,
    error_item,
)
from app.models import Dataset, Job, JobCheckpoint
from app.schemas import (
    MAX_OFFSET,
    NOT_ESTIMATED,
    CheckpointPublic,
    ErrorEntry,
    JobCreate,
    JobCreated,
    JobError,
    JobEventPublic,
    JobEventsPublic,
    JobMetricsPublic,
    JobProgress,
    JobPublic,
    JobsPublic,
    JobStatus,
    JobValidation,
    PrintableStr,
    TokenCountStatus,
)
from app.storage import job_state, workers
from app.storage import jobs as store
from app.storage.datasets import get_dataset
from app.storage.models import model_names, own_model_facts
from app.training.catalog import TrainingAlgorithm
from app.training.datasets import DatasetFormat
from app.training.estimates import CostEstimate
from app.training.lifecycle import retirement_headers
from app.training.own_models import OwnModels
from app.training.validation import (
    DatasetFacts,
    DatasetLookup,
    JobCheck,
    RenderedFacts,
    check_job,
)

__all__ = ["router"]

router = APIRouter(prefix="/training/jobs", tags=["jobs"], route_class=PydanticJsonRoute)


class _JobIdConvertor(StringConvertor):
    """A job id: one path segment, never ``validate``, which names the validation operation.
    Without that, ``GET /training/jobs/validate`` would be read as the job 'validate' (a 404)
    rather than the 405 of a path that answers only POST, with ``Allow: POST``."""

    regex = "(?!validate(?:/|$))[^/]+"


register_url_convertor("job_id", _JobIdConvertor())

#: The errors of an operation on one job by id.
_ONE_JOB = error_responses(404, s404="No such job among the caller's")
#: Where a created job's id leads (OpenAPI links: clients and schemathesis follow them).
_JOB_LINKS = {
    name: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
    for name, operation in (
        ("ReadJob", "read_job"),
        ("CancelJob", "cancel_job"),
        ("ReadJobEvents", "read_job_events"),
        ("ReadJobMetrics", "read_job_metrics"),
    )
}
#: The errors of reading a job body: not JSON, not declared as JSON, too large, too slow.
_BODY = error_responses(400, 408, 413, 415, s400="Malformed JSON, or a bad Idempotency-Key")
#: The header of a replayed creation.
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "Only on a replay: `true`, this answer is the one an earlier request with "
        "the same Idempotency-Key and body was given; nothing new was written",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _job_not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"Training job {job_id!r} not found")


#: The status of a creation, and of its replays.
CREATED = 201
#: An ``Idempotency-Key``: 1-255 printable ASCII characters (what a header can carry unchanged).
IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")


def _idempotency_key(value: str | None) -> str | None:
    """The key, checked here rather than by FastAPI so that a bad one is a 400 (the
    Idempotency-Key draft's status), documented with the same pattern."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise BadRequestError("Idempotency-Key must be 1-255 printable ASCII characters")
    return value


def _facts(row: Dataset) -> DatasetFacts:
    return DatasetFacts(
        id=row.id,
        format=DatasetFormat(row.format),
        rows=row.rows,
        bytes=row.bytes,
        longest_row_bytes=row.longest_row_bytes,
        longest_row_line=row.longest_row_line,
        rendered=_rendered(row),
        token_counts_status=TokenCountStatus(row.token_counts_status),
        token_counts_error=row.token_counts_error,
        reference_fields=row.reference_fields,
    )


def _rendered(row: Dataset) -> dict[str, RenderedFacts] | None:
    """Each catalog id's exact figures, once a worker has counted the dataset."""
    if row.token_counts_status != TokenCountStatus.READY or not row.token_counts:
        return None
    return {
        model: RenderedFacts(
            renderer=count["renderer"],
            longest_row_tokens=count.get("longest_row_tokens"),
            longest_row_line=count.get("longest_row_line"),
            error=count.get("error"),
            tokens_processed=count.get("tokens_processed"),
        )
        for count in row.token_counts
        for model in count.get("models", [])
    }


def _datasets_of(session: Session, user: Principal) -> DatasetLookup:
    """The caller's datasets, as ``check_job`` looks them up (one query, only for an id)."""

    def lookup(dataset_id: str) -> DatasetFacts | None:
        row = get_dataset(session, owner=user.owner, dataset_id=dataset_id)
        return None if row is None else _facts(row)

    return lookup


def _lifecycle_headers(check: JobCheck, day: date) -> dict[str, str]:
    """``Deprecation``/``Sunset`` when the body names a retiring model, valid or not: the
    answer is about that model either way."""
    return {} if check.base_model is None else retirement_headers(check.base_model, day)


def _created_body(job: Job, check: JobCheck) -> dict[str, Any]:
    """The answer of a creation: the job, and what the user should know before it runs."""
    public = JobPublic.model_validate(job).model_dump()
    return JobCreated.model_validate({**public, "warnings": check.warnings}).model_dump(mode="json")


def _request_hash(job: JobCreate, algorithm: TrainingAlgorithm) -> str:
    """The hash of the request as validated, so that equivalent bodies match: key order,
    whitespace, an omitted default and an explicit one all hash alike."""
    normalised = {**job.model_dump(mode="json"), "algorithm": algorithm.value}
    canonical = json.dumps(normalised, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


#: What a stored answer from before a field existed says of it: what a job created then says.
_NOT_RECORDED: dict[str, Any] = {
    "dataset_rows": None,
    "training_tokens_bound": None,
    "tokens_per_epoch": None,
    "total_tokens": None,
    "estimated_cost_usd": None,
    "cost_estimate": NOT_ESTIMATED.model_dump(mode="json"),
    "max_cost_usd": None,
    "processed_tokens": 0,
    "spent_usd": None,
    "cancel_reason": None,
    "model_id": None,
}


#: The estimate of a job refused for something else than its budget: none.
NOT_VALID = CostEstimate(reason="the job is not valid (see `errors`), so it was not estimated")


def _check(
    body: Any, day: date, *, session: Session, user: Principal, prices: Prices, settings: Settings
) -> JobCheck:
    """``check_job`` on a request body, with the caller's datasets and this process's copy of
    Tinker's price list."""
    return check_job(
        body,
        day,
        datasets=_datasets_of(session, user),
        prices=prices,
        prices_configured=bool(settings.price_list_url),
        own_models=OwnModels(
            find=lambda model_id: own_model_facts(session, owner=user.owner, model_id=model_id),
            names=lambda: model_names(session, owner=user.owner),
        ),
    )


def _replay(
    stored: store.StoredAnswer, request_hash: str, key: str, check: JobCheck, day: date
) -> JSONResponse:
    """The answer the key's first request was given, as it was given (Stripe's replay); a key
    from before answers were stored (migration v0004) has its answer rebuilt from the job."""
    if stored.request_hash != request_hash:
        raise ConflictError(f"Idempotency-Key {key!r} was already used with a different body")
    status = stored.status or CREATED
    body = stored.body if stored.body is not None else _created_body(stored.job, check)
    # Answers stored before jobs recorded datasets (v0006) or costs (v0009) had no such fields.
    body = {**_NOT_RECORDED, **body}
    headers = {**_lifecycle_headers(check, day), "Idempotent-Replayed": "true"}
    return JSONResponse(body, status_code=status, headers=headers)


@router.post(
    "",
    response_model=JobCreated,
    status_code=201,
    responses={
        201: {
            "description": "The job, created and queued; or, for a retry with the same "
            "Idempotency-Key and body within the key's lifetime (24 h by default), the answer "
            "the first request was given, unchanged, with `Idempotent-Replayed: true`",
            "headers": {**_REPLAYED, **LIFECYCLE_HEADERS},
            "links": _JOB_LINKS,
        },
        **_BODY,
        **error_responses(
            403,
            409,
            422,
            s403="The token is read-only",
            s409="The Idempotency-Key was already used with a different body",
            s422="The job is invalid: every violation is listed in `errors`",
        ),
    },
)
def create_job(
    *,
    user: WriterUser,
    body: JobBody,
    session: SessionDep,
    day: CatalogDay,
    settings: SettingsDep,
    prices: Prices,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Makes the creation safe to retry: for 24 h (the server's setting), "
            "the same key and body answer what the first request was answered, with "
            "`Idempotent-Replayed: true`; an error answer uses no key",
            json_schema_extra={"pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
        ),
    ] = None,
) -> Response:
    """Create a training job after every check has passed; a rejected request writes nothing."""
    key = _idempotency_key(idempotency_key)
    check = _check(body, day, session=session, user=user, prices=prices, settings=settings)
    if check.job is None or check.algorithm is None:
        raise ValidationFailedError(check.errors, headers=_lifecycle_headers(check, day))
    idempotency = None
    if key is not None:
        # Looked up before a budget refusal: the estimate moves with live data (counts that
        # arrived, a new price list), and a retry of a job created before must get its answer.
        ttl = timedelta(hours=settings.idempotency_ttl_hours)
        request_hash = _request_hash(check.job, check.algorithm)
        stored = store.find_idempotent_answer(session, owner=user.owner, key=key, ttl=ttl)
        if stored is not None:
            return _replay(stored, request_hash, key, check, day)
        idempotency = store.IdempotentRequest(
            key=key, request_hash=request_hash, ttl=ttl, status=CREATED
        )
    if check.errors or check.hyperparameters is None:
        raise ValidationFailedError(check.errors, headers=_lifecycle_headers(check, day))
    try:
        answer = store.create_job(
            session,
            owner=user.owner,
            job=check.job,
            algorithm=check.algorithm,
            hyperparameters=check.hyperparameters,
            defaulted=check.defaulted,
            adapter_parameters=check.adapter_parameters,
            render=lambda job: _created_body(job, check),
            idempotency=idempotency,
            dataset=check.dataset,
            training_tokens_bound=check.training_tokens_bound,
            estimate=check.estimate,
            parent=check.parent,
        )
    except store.ModelGoneError:
        message = f"Unknown base model {check.job.base_model!r}: it was deleted just now"
        error = error_item(("body", "base_model"), message, "unknown_base_model")
        raise ValidationFailedError([error], headers=_lifecycle_headers(check, day)) from None
    except store.DatasetGoneError:
        # Deleted since the checks above: the answer they would now give.
        message = f"Unknown dataset {check.job.dataset!r}: it was deleted just now"
        error = error_item(("body", "dataset"), message, "unknown_dataset")
        raise ValidationFailedError([error], headers=_lifecycle_headers(check, day)) from None
    except store.DuplicateIdempotencyKeyError:
        assert idempotency is not None  # only a keyed creation can collide
        stored = store.find_idempotent_answer(
            session, owner=user.owner, key=idempotency.key, ttl=idempotency.ttl
        )
        if stored is None:
            raise
        return _replay(stored, idempotency.request_hash, idempotency.key, check, day)
    return JSONResponse(answer, status_code=CREATED, headers=_lifecycle_headers(check, day))


@router.post(
    "/validate",
    response_model=JobValidation,
    responses={
        200: {
            "description": "The verdict, valid or not, with every violation and warning",
            "headers": LIFECYCLE_HEADERS,
        },
        **_BODY,
    },
)
def validate_job(
    *,
    user: CurrentUser,
    body: JobBody,
    day: CatalogDay,
    session: SessionDep,
    settings: SettingsDep,
    prices: Prices,
) -> Response:
    """Run every creation check without writing anything (sync: parsing a body is CPU work),
    and estimate what the job would send to Tinker and cost."""
    check = _check(body, day, session=session, user=user, prices=prices, settings=settings)
    estimate = (check.estimate or NOT_VALID).public()
    verdict = JobValidation(
        **estimate,
        valid=not check.errors,
        errors=[ErrorEntry.model_validate(item) for item in check.errors],
        warnings=[ErrorEntry.model_validate(item) for item in check.warnings],
        hyperparameters=check.hyperparameters,
        defaulted_hyperparameters=check.defaulted,
        adapter_parameters=check.adapter_parameters,
    )
    return JSONResponse(verdict.model_dump(mode="json"), headers=_lifecycle_headers(check, day))


def _status_message(job: Job, live_workers: int) -> str | None:
    """What a job waits for or does, in words; None once it has finished."""
    if job.status == JobStatus.RUNNING.value:
        if job.cancel_requested_at is not None:
            return "stopping: cancel requested"
        if job.total_steps is None:
            return "preparing: reading and rendering the dataset"
        return f"training: step {job.step} of {job.total_steps}"
    if job.status != JobStatus.QUEUED.value:
        return None
    return "waiting for a worker" if live_workers else "waiting for a worker: none is running"


def _public(
    session: Session,
    job: Job,
    settings: Settings,
    *,
    checkpoints: Sequence[JobCheckpoint] | None = None,
    live_workers: int | None = None,
) -> JobPublic:
    """The job as clients see it: its row, with its checkpoints, its place in the queue and
    what it waits for (the last two only while it has not finished)."""
    if checkpoints is None:
        checkpoints = job_state.list_checkpoints(session, job)
    if live_workers is None and job.status == JobStatus.QUEUED.value:
        live_workers = workers.count_live_workers(
            session, lease=timedelta(seconds=settings.worker_lease_seconds)
        )
    public = JobPublic.model_validate(job)
    error = (
        None
        if job.error_type is None
        else JobError(type=job.error_type, message=job.error_message or "")
    )
    return public.model_copy(
        update={
            "status_message": _status_message(job, live_workers or 0),
            "queue_position": job_state.queue_position(session, job),
            "cancel_requested": job.cancel_requested_at is not None,
            "progress": JobProgress(
                step=job.step or 0,
                total_steps=job.total_steps,
                epochs_completed=job.epochs_completed or 0,
            ),
            "checkpoints": [CheckpointPublic.model_validate(row) for row in checkpoints],
            "error": error,
        }
    )


@router.get("", response_model=JobsPublic)
def read_jobs(
    *,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> JobsPublic:
    """The caller's jobs, newest first."""
    rows = store.list_jobs(session, owner=user.owner, status=status, limit=limit, offset=offset)
    checkpoints = store.checkpoints_of(session, [row.seq for row in rows])
    live = workers.count_live_workers(
        session, lease=timedelta(seconds=settings.worker_lease_seconds)
    )
    return JobsPublic(
        jobs=[
            _public(
                session, row, settings, checkpoints=checkpoints.get(row.seq, []), live_workers=live
            )
            for row in rows
        ],
        total=store.count_jobs(session, owner=user.owner, status=status),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{job_id:job_id}",
    response_model=JobPublic,
    responses={200: {"description": "The job", "headers": LIFECYCLE_HEADERS}, **_ONE_JOB},
)
def read_job(
    *,
    job_id: PrintableStr,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    day: CatalogDay,
) -> Response:
    """One of the caller's jobs (with ``Deprecation``/``Sunset`` when its model is retiring)."""
    job = store.get_job(session, owner=user.owner, job_id=job_id)
    if job is None:
        raise _job_not_found(job_id)
    body = _public(session, job, settings).model_dump(mode="json")
    return JSONResponse(body, headers=retirement_headers(job.catalog_model, day))


@router.post(
    "/{job_id:job_id}/cancel",
    response_model=JobPublic,
    responses={
        200: {
            "description": "The job: `cancelled` if it was queued; still `running`, with "
            "`cancel_requested` true, if it was running (it stops at its next step)",
            "headers": LIFECYCLE_HEADERS,
        },
        **_ONE_JOB,
        **error_responses(
            403, 409, s403="The token is read-only", s409="The job has already finished"
        ),
    },
)
def cancel_job(
    *,
    job_id: PrintableStr,
    session: SessionDep,
    user: WriterUser,
    settings: SettingsDep,
    day: CatalogDay,
    response: Response,
) -> JobPublic:
    """Cancel one of the caller's jobs unless it has already finished: a queued job at once, a
    running one at its next step."""
    try:
        cancelled = store.cancel_job(session, owner=user.owner, job_id=job_id)
    except store.JobAlreadyFinishedError as err:
        raise ConflictError(f"Training job {job_id!r} is already {err.status}") from None
    if cancelled is None:
        raise _job_not_found(job_id)
    job, _ = cancelled
    response.headers.update(retirement_headers(job.catalog_model, day))
    return _public(session, job, settings)


#: The most events one read returns; a reader pages on with ``after``.
MAX_EVENTS_PAGE = 1000


@router.get("/{job_id:job_id}/events", response_model=JobEventsPublic, responses=_ONE_JOB)
def read_job_events(
    *,
    job_id: PrintableStr,
    session: SessionDep,
    user: CurrentUser,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="Only events newer than this event id (the last `id` already read)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = MAX_EVENTS_PAGE,
) -> JobEventsPublic:
    """A job's history, oldest first; with ``after``, only what is new since that event."""
    events = store.list_job_events(
        session, owner=user.owner, job_id=job_id, after=after, limit=limit
    )
    if events is None:
        raise _job_not_found(job_id)
    return JobEventsPublic(events=[JobEventPublic.model_validate(event) for event in events])


@router.get("/{job_id:job_id}/metrics", response_model=JobMetricsPublic, responses=_ONE_JOB)
def read_job_metrics(
    *, job_id: PrintableStr, session: SessionDep, user: CurrentUser
) -> JobMetricsPublic:
    """A job's loss curve, one point per step (a step trained again after a resume counts once,
    as last trained)."""
    job = store.get_job(session, owner=user.owner, job_id=job_id)
    if job is None:
        raise _job_not_found(job_id)
    return JobMetricsPublic(points=store.loss_curve(session, job))
