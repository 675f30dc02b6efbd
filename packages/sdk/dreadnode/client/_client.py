"""The synchronous HTTP client for the training API: one method per endpoint of docs/api.md.

Every request goes through ``_request``: it adds the token, the User-Agent naming this SDK's version
(the server answers 426 to versions it no longer supports), retries what is safe to retry, and turns
any failure into the exception tree of ``_exceptions``. Resource methods only build paths and bodies
and parse answers into ``types``.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, TypeVar, Unpack
from urllib.parse import quote

import httpx
import pydantic

from dreadnode import __version__
from dreadnode.client._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    status_error,
)
from dreadnode.client._retry import RetryPolicy, parse_retry_after, retry_delay
from dreadnode.client.types import (
    CatalogModel,
    CatalogPage,
    Dataset,
    DatasetPage,
    Hyperparameters,
    Job,
    JobCreate,
    JobEvents,
    JobMetrics,
    JobPage,
    JobSpec,
    JobValidation,
    Model,
    ModelChanges,
    ModelPage,
    ModelUpdate,
    RetiredModels,
    SampleMessage,
    SampleRequest,
    SampleResult,
)

__all__ = [
    "API_KEY_ENV",
    "API_KEY_HEADER",
    "API_PREFIX",
    "AUTO",
    "DATASET_CONTENT_TYPE",
    "SERVER_URL_ENV",
    "UPLOAD_CHUNK_BYTES",
    "USER_AGENT",
    "Client",
    "UploadProgress",
    "normalize_base_url",
]

SERVER_URL_ENV: Final = "DREADNODE_SERVER_URL"
API_KEY_ENV: Final = "DREADNODE_API_KEY"
API_PREFIX: Final = "/api/v1"
USER_AGENT: Final = f"dreadnode-training/{__version__}"
#: Header carrying the token. The API accepts this or ``Authorization: Bearer``; this is the
#: header the public dreadnode SDK sends, so one key works with both.
API_KEY_HEADER: Final = "X-API-Key"

#: The media type of a dataset upload: JSON Lines, one JSON object per line.
DATASET_CONTENT_TYPE: Final = "application/x-ndjson"
#: How much of a dataset file is read and sent at a time: the file is never held whole.
UPLOAD_CHUNK_BYTES: Final = 1024 * 1024

#: ``on_progress(sent, total)``: bytes of the file handed to the connection so far, of all.
#: A retried upload starts again from 0.
UploadProgress = Callable[[int, int], None]

_Model = TypeVar("_Model", bound=pydantic.BaseModel)


class _Auto:
    """Sentinel: "generate an idempotency key for me" (the default), distinct from None (none)."""

    def __repr__(self) -> str:
        return "AUTO"


AUTO: Final = _Auto()


def normalize_base_url(server_url: str) -> str:
    """``http://host:8000``, ``http://host:8000/`` and ``http://host:8000/api/v1`` all mean the
    same API root, ``http://host:8000/api/v1``.

    Anything that cannot be a server's root is refused here, before any request, with a
    ``ConfigurationError`` saying why: a URL httpx cannot parse (``http://[::1``), a scheme other
    than http(s), no host, a port outside 1-65535 (which would otherwise surface later as a
    misleading "connection refused"), or a query or fragment (the paths are appended to it).
    """
    url = server_url.strip().rstrip("/")
    example = "http://127.0.0.1:8000"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as err:
        raise ConfigurationError(
            f"server URL must look like {example}, got {server_url!r} ({err})"
        ) from None
    problem = None
    if parsed.scheme not in {"http", "https"}:
        problem = "the scheme must be http or https"
    elif not parsed.host:
        problem = "no host"
    elif parsed.port is not None and not 1 <= parsed.port <= 65535:
        problem = f"port {parsed.port} is not from 1 to 65535"
    elif parsed.query or parsed.fragment:
        problem = "it must not have a query or fragment"
    if problem is not None:
        raise ConfigurationError(
            f"server URL must look like {example}, got {server_url!r} ({problem})"
        )
    if not url.endswith(API_PREFIX):
        url += API_PREFIX
    return url


def _segment(name: str, value: str, *, safe: str = "") -> str:
    """A path parameter, refused when empty: ``/training/jobs/`` would address the listing."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return quote(value, safe=safe)


def _job_segment(job_id: str) -> str:
    """A job id as a path parameter. The API's ids are UUIDs; one with a "/" could only address
    a route that does not exist, so it is refused here rather than answered "Not found"."""
    if isinstance(job_id, str) and "/" in job_id:
        raise ValueError(f"job_id must not contain '/', got {job_id!r}")
    return _segment("job_id", job_id)


def _dataset_segment(dataset_id: str) -> str:
    """A dataset id as a path parameter (``ds-...``); one with a "/" could only address a route
    that does not exist, so it is refused here, as a job id with one is."""
    if isinstance(dataset_id, str) and "/" in dataset_id:
        raise ValueError(f"dataset_id must not contain '/', got {dataset_id!r}")
    return _segment("dataset_id", dataset_id)


def _model_segment(model_id: str) -> str:
    """A model id as a path parameter: a catalog id keeps its "/" (``Qwen/Qwen3-8B``) and a
    ``:peft:`` suffix, as ``get_catalog_model`` sends them; yours (``ft-...``) has neither."""
    return _segment("model_id", model_id, safe="/:")


def _file_chunks(
    path: Path, size: int, on_progress: UploadProgress | None
) -> Callable[[], Iterator[bytes]]:
    """A factory of the file's bytes, read ``UPLOAD_CHUNK_BYTES`` at a time from the start: each
    attempt of a retried upload calls it again, so every attempt sends the whole file.

    Exactly ``size`` bytes are sent (the ``Content-Length`` promised); a file that shrank or
    grew meanwhile raises ``OSError`` rather than sending a body that disagrees with it.
    """

    def chunks() -> Iterator[bytes]:
        sent = 0
        if on_progress is not None:
            on_progress(0, size)
        with path.open("rb") as file:
            while sent < size:
                chunk = file.read(min(UPLOAD_CHUNK_BYTES, size - sent))
                if not chunk:
                    break
                sent += len(chunk)
                yield chunk
                if on_progress is not None:
                    on_progress(sent, size)
            if sent != size or file.read(1):
                raise OSError(f"{path} changed while it was being uploaded; upload it again")

    return chunks


def _job_body(job: JobSpec) -> dict[str, Any]:
    """The JSON body for ``job``: its shape checked (unknown fields and hyperparameters are
    refused before sending), unset fields left out so the server applies its defaults."""
    knobs = job.get("hyperparameters")
    if not isinstance(knobs, Hyperparameters):
        knobs = Hyperparameters.model_validate(dict(knobs or {}))
    grader = job.get("grader")
    if isinstance(grader, pydantic.BaseModel):  # a declaration, or a parsed grader
        grader = grader.model_dump(mode="json", exclude_none=True)
    request = JobCreate.model_validate(
        {**job, "tags": list(job.get("tags") or []), "hyperparameters": knobs, "grader": grader}
    )
    body = request.model_dump(mode="json", exclude_none=True)
    body["hyperparameters"] = knobs.model_dump(mode="json", exclude_none=True)
    return body


def _message(message: SampleMessage | Mapping[str, str]) -> SampleMessage:
    """A chat turn as a ``SampleMessage``, from one or from a plain dict of the same keys."""
    if isinstance(message, SampleMessage):
        return message
    return SampleMessage.model_validate(dict(message))


def _drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


class Client:
    """A client for one API server, configured from arguments or the environment.

    ``server_url`` is the server root (``/api/v1`` is added unless present), default
    ``$DREADNODE_SERVER_URL``; ``api_key`` defaults to ``$DREADNODE_API_KEY`` and is sent as
    ``X-API-Key``. Use it as a context manager, or call ``close()``, to release connections.
    """

    def __init__(
        self,
        *,
        server_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        server_url = server_url or os.environ.get(SERVER_URL_ENV)
        if not server_url:
            raise ConfigurationError(
                f"no API server configured: pass server_url or set {SERVER_URL_ENV}"
            )
        self.base_url = normalize_base_url(server_url)
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        default_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            default_headers[API_KEY_HEADER] = self.api_key
        default_headers.update(headers or {})
        self._http = httpx.Client(base_url=self.base_url, headers=default_headers, timeout=timeout)

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- catalog ----------------------------------------------------------------------------

    def list_catalog(
        self,
        *,
        query: str | None = None,
        family: str | None = None,
        algorithm: str | None = None,
        min_size_b: float | None = None,
        max_size_b: float | None = None,
        kind: str | None = None,
        vision: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> CatalogPage:
        """One page of the models the server accepts on its day (retiring ones included, each
        with its ``lifecycle``; retired ones never); filters combine with AND, as offline."""
        params = _drop_none(
            {
                "query": query,
                "family": family,
                "algorithm": algorithm,
                "min_size_b": min_size_b,
                "max_size_b": max_size_b,
                "kind": kind,
                "vision": None if vision is None else str(vision).lower(),
                "limit": limit,
                "offset": offset,
            }
        )
        return self._get("/training/catalog", CatalogPage, params=params)

    def list_retired_models(self) -> RetiredModels:
        """Every model Tinker has retired by the server's day, with date and replacement."""
        return self._get("/training/catalog/retired", RetiredModels)

    def get_catalog_model(self, tinker_id: str) -> CatalogModel:
        """One entry by exact id; a served ``org/name:peft:N`` answers as that variant."""
        path = "/training/catalog/" + _segment("tinker_id", tinker_id, safe="/:")
        return self._get(path, CatalogModel)

    # --- jobs -------------------------------------------------------------------------------

    def create_job(
        self, *, idempotency_key: str | _Auto | None = AUTO, **job: Unpack[JobSpec]
    ) -> Job:
        """Create the job described by ``job`` (``base_model``, ``method``, ``dataset``, and
        optionally ``algorithm``, ``name``, ``tags``, ``hyperparameters``, the spending cap
        ``max_cost_usd`` and, for ``method="rl"`` (where it is required), the ``grader`` that
        scores each sampled completion; see ``JobSpec``).

        A fresh idempotency key is sent by default, which makes the request safe to retry: a
        retry after a lost answer returns the same job instead of a second one. Pass
        ``idempotency_key=None`` to send none (and then nothing is retried)."""
        body = _job_body(job)
        key = str(uuid.uuid4()) if isinstance(idempotency_key, _Auto) else idempotency_key
        headers = {"Idempotency-Key": key} if key is not None else {}
        response = self._request(
            "POST", "/training/jobs", json=body, headers=headers, safe_to_repeat=key is not None
        )
        return self._parse(response, Job)

    def validate_job(self, **job: Unpack[JobSpec]) -> JobValidation:
        """Every reason the server would reject ``job`` (the same arguments as ``create_job``),
        without creating it (never writes)."""
        response = self._request(
            "POST", "/training/jobs/validate", json=_job_body(job), safe_to_repeat=True
        )
        return self._parse(response, JobValidation)

    def list_jobs(
        self, *, status: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> JobPage:
        """The caller's own jobs, newest first."""
        params = _drop_none({"status": status, "limit": limit, "offset": offset})
        return self._get("/training/jobs", JobPage, params=params)

    def get_job(self, job_id: str) -> Job:
        return self._get("/training/jobs/" + _job_segment(job_id), Job)

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a job that has not finished; ``ConflictError`` when it already has (completed,
        failed or cancelled).

        A queued job is answered ``cancelled`` at once. A running one is answered still
        ``running``, with ``cancel_requested`` true: it stops, ``cancelled``, at its next step
        (asking again meanwhile is answered the same, not a conflict).

        Not retried: a retry after a lost answer would report a conflict for a cancel that worked.
        """
        path = "/training/jobs/" + _job_segment(job_id) + "/cancel"
        return self._parse(self._request("POST", path, safe_to_repeat=False), Job)

    def list_job_events(
        self, job_id: str, *, after: int | None = None, limit: int | None = None
    ) -> JobEvents:
        """A job's history, oldest first: one page of at most ``limit`` events (the server's
        default and maximum is 1000). ``after`` is an event id: only newer events are answered,
        so passing the last id read pages on, or follows a running job without reading any
        event twice."""
        params = _drop_none({"after": after, "limit": limit})
        path = "/training/jobs/" + _job_segment(job_id) + "/events"
        return self._get(path, JobEvents, params=params)

    def get_job_metrics(self, job_id: str) -> JobMetrics:
        """A job's loss curve: one point per optimizer step (a step trained again after a
        resume counts once, as last trained), in step order; empty before its first step."""
        return self._get("/training/jobs/" + _job_segment(job_id) + "/metrics", JobMetrics)

    # --- datasets ---------------------------------------------------------------------------

    def upload_dataset(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        format: str | None = None,
        on_progress: UploadProgress | None = None,
    ) -> Dataset:
        """Upload the JSONL file at ``path``; the server checks every line before it keeps it.

        The file is streamed, a chunk at a time, never read whole. ``format`` (chat,
        prompt_completion, text, prompt) makes the server hold every row to it; without one the
        first valid row decides. A bad file raises ``UnprocessableEntityError`` (type
        ``invalid_dataset``) with one ``errors`` entry per bad line, and nothing is kept; check it
        first with ``dreadnode.training.datasets.check_dataset_file`` to get the same answer
        without sending it. The same bytes uploaded again answer the dataset already there.

        Retried like a GET: the content decides the dataset, so a repeat cannot make a second
        one, and the file is read again from its start for each attempt. ``OSError`` when the
        file cannot be read (before anything is sent) or changes while it is sent.
        """
        file = Path(path)
        size = file.stat().st_size  # FileNotFoundError here, before any request
        if not file.is_file():
            raise IsADirectoryError(f"{file} is not a file")
        params = _drop_none({"name": name, "format": None if format is None else str(format)})
        headers = {"Content-Type": DATASET_CONTENT_TYPE, "Content-Length": str(size)}
        response = self._request(
            "POST",
            "/training/datasets",
            params=params,
            content=_file_chunks(file, size, on_progress),
            headers=headers,
            safe_to_repeat=True,
        )
        dataset = self._parse(response, Dataset)
        dataset._uploaded_before = response.status_code == 200
        return dataset

    def list_datasets(self, *, limit: int | None = None, offset: int | None = None) -> DatasetPage:
        """The caller's own datasets, newest first."""
        params = _drop_none({"limit": limit, "offset": offset})
        return self._get("/training/datasets", DatasetPage, params=params)

    def get_dataset(self, dataset_id: str) -> Dataset:
        return self._get("/training/datasets/" + _dataset_segment(dataset_id), Dataset)

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and its file; ``ConflictError`` (type ``dataset_in_use``) while a
        queued or running job trains on it.

        Not retried: a retry after a lost answer would report "not found" for a delete that
        worked.
        """
        path = "/training/datasets/" + _dataset_segment(dataset_id)
        self._request("DELETE", path, safe_to_repeat=False)

    # --- models -----------------------------------------------------------------------------

    def list_models(
        self,
        *,
        kind: str | None = None,
        query: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> ModelPage:
        """The models you can train on and sample: your own first (newest first), then the
        catalog's base models. ``kind`` ``owned`` lists only yours, ``base`` only the
        catalog's; ``query`` keeps those whose id or name holds its words."""
        params = _drop_none({"kind": kind, "query": query, "limit": limit, "offset": offset})
        return self._get("/training/models", ModelPage, params=params)

    def get_model(self, model_id: str) -> Model:
        """One model: a catalog id (``Qwen/Qwen3-8B``) or one of yours (``ft-...``)."""
        return self._get("/training/models/" + _model_segment(model_id), Model)

    def update_model(self, model_id: str, **changes: Unpack[ModelChanges]) -> Model:
        """Change one of your models (a catalog model is read-only: ``PermissionDeniedError``)
        and return it as it now is; see ``ModelChanges``. Only the keys given are sent, and a
        None is sent as null: ``update_model(id, description=None)`` clears the description,
        ``update_model(id, temperature=None, top_p=None)`` restores the sampling defaults.
        ``ConflictError`` when another of your models has the ``name``.

        Retried like a GET: the values are absolute, so a repeat after a lost answer sets the
        same values again and answers the same model.
        """
        if not changes:
            fields = ", ".join(ModelUpdate.model_fields)
            raise ValueError(f"nothing to change: give at least one of {fields}")
        body = ModelUpdate.model_validate(changes).model_dump(mode="json", exclude_unset=True)
        path = "/training/models/" + _model_segment(model_id)
        return self._parse(self._request("PATCH", path, json=body, safe_to_repeat=True), Model)

    def delete_model(self, model_id: str) -> None:
        """Delete one of your models; ``ConflictError`` (type ``model_in_use``) while a queued
        or running job trains on it. Its weights stay on Tinker, and the jobs that made it and
        trained on it keep their history.

        Not retried: a retry after a lost answer would report "not found" for a delete that
        worked.
        """
        path = "/training/models/" + _model_segment(model_id)
        self._request("DELETE", path, safe_to_repeat=False)

    def sample_model(
        self,
        model_id: str,
        *,
        messages: Sequence[SampleMessage | Mapping[str, str]] | None = None,
        prompt: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        n: int | None = None,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> SampleResult:
        """Sample a model, yours or a catalog one: give exactly one of ``messages`` (a chat,
        rendered with the model's renderer, the assistant's turn to come) or ``prompt`` (raw
        text, its tokens continued as they are). A setting left None is the model's default;
        ``n`` completions (1-8, default 1), each ending before any ``stop`` text (up to 4).
        The same ``seed`` and request give the same completions.

        ``ServiceUnavailableError`` when Tinker is down or the server cannot sample (its
        ``headers`` carry the ``Retry-After`` the server asks for), ``BadGatewayError`` when
        Tinker refused, ``ConflictError`` when the model's root base model is retired.

        Not retried: each attempt samples (and is billed) again, and without a seed answers
        other completions.
        """
        if (messages is None) == (prompt is None):
            raise ValueError("give exactly one of messages or prompt")
        request = SampleRequest.model_validate(
            {
                "messages": None if messages is None else [_message(m) for m in messages],
                "prompt": prompt,
                "max_tokens": max_tokens,
                "temperature": temperature,
                "top_p": top_p,
                "n": n,
                "stop": None if stop is None else list(stop),
                "seed": seed,
            }
        )
        body = request.model_dump(mode="json", exclude_none=True)
        path = "/training/models/" + _model_segment(model_id) + "/sample"
        response = self._request("POST", path, json=body, safe_to_repeat=False)
        return self._parse(response, SampleResult)

    # --- plumbing ---------------------------------------------------------------------------

    def _get(
        self, path: str, model: type[_Model], *, params: Mapping[str, Any] | None = None
    ) -> _Model:
        return self._parse(self._request("GET", path, params=params, safe_to_repeat=True), model)

    def _request(
        self,
        method: str,
        path: str,
        *,
        safe_to_repeat: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Callable[[], Iterator[bytes]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send, retrying per the policy, and return a 2xx response or raise ``APIError``.

        ``content`` makes a streamed body: called once per attempt, so each attempt sends it
        whole from its start.
        """
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    content=None if content is None else content(),
                    headers=headers,
                )
            except httpx.TransportError as err:
                delay = retry_delay(
                    policy=self.retry, attempt=attempt, safe_to_repeat=safe_to_repeat, status=None
                )
                if delay is None:
                    raise self._transport_error(err, method, url) from err
            else:
                if response.is_success:
                    return response
                delay = retry_delay(
                    policy=self.retry,
                    attempt=attempt,
                    safe_to_repeat=safe_to_repeat,
                    status=response.status_code,
                    retry_after=response.headers.get("Retry-After"),
                )
                if delay is None:
                    raise self._status_error(method, url, response)
            time.sleep(delay)

    def _transport_error(
        self, err: httpx.TransportError, method: str, url: str
    ) -> APIConnectionError:
        """A timeout or a failed connection, said in terms of the API the user configured."""
        if isinstance(err, httpx.TimeoutException):
            message = f"the API at {self.base_url} did not answer within {self.timeout:g} s"
            return APITimeoutError(message, method=method, url=url)
        message = f"cannot reach the API at {self.base_url} ({err or type(err).__name__})"
        return APIConnectionError(message, method=method, url=url)

    @staticmethod
    def _status_error(method: str, url: str, response: httpx.Response) -> APIStatusError:
        """The typed exception for an error answer, whether or not it is the API's envelope."""
        status = response.status_code
        envelope: Any = None
        with contextlib.suppress(ValueError):
            envelope = response.json()
        if isinstance(envelope, dict) and isinstance(envelope.get("detail"), str):
            detail: str = envelope["detail"]
            error_type = envelope.get("type")
            errors = envelope.get("errors")
        else:
            # Not the API talking: a proxy, a load balancer, or a wrong URL.
            detail = (
                f"HTTP {status} {response.reason_phrase} from {url}, and the answer is not the "
                f"API's JSON error envelope ({_describe_body(response)}); is the server URL "
                "the training API?"
            )
            error_type, errors = None, None
        return status_error(
            status,
            detail,
            method=method,
            url=url,
            type=error_type if isinstance(error_type, str) else None,
            errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else [],
            request_id=response.headers.get("X-Request-ID"),
            headers=dict(response.headers),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _parse(self, response: httpx.Response, model: type[_Model]) -> _Model:
        """A 2xx body as ``model``; anything else (an HTML page, a wrong shape) is reported."""
        request = response.request
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError as err:
            raise APIResponseValidationError(
                f"the server at {self.base_url} answered {request.method} {request.url.path} "
                f"with {response.status_code}, but not with the API's JSON "
                f"({_describe_body(response)}); is the server URL the training API?",
                method=request.method,
                url=str(request.url),
                status=response.status_code,
                body=response.text,
            ) from err


def _describe_body(response: httpx.Response) -> str:
    """``text/html: '<html><head><title>502 Bad Gateway...'``: enough to recognise a proxy."""
    content_type = response.headers.get("Content-Type", "no content type").split(";")[0]
    snippet = " ".join(response.text.split())[:80]
    return f"{content_type}: {snippet!r}" if snippet else f"{content_type}, empty body"
