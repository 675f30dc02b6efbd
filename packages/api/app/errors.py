"""Typed domain errors and the one set of handlers that turns every error into the envelope.

Every error a client sees, whatever raised it (a domain check, FastAPI's request validation,
Starlette's routing, or a crash), has the body of docs/api.md::

    {"code": 422, "detail": "...", "type": "validation_error", "errors": [{"loc", "msg", "type"}]}

Domain code raises ``APIError`` subclasses and never builds responses itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.db import database_error_classes, is_unavailable

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DatasetInUseError",
    "ErrorItem",
    "InvalidDatasetError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "UnsupportedMediaTypeError",
    "UpgradeRequiredError",
    "ValidationFailedError",
    "error_item",
    "install_exception_handlers",
]

logger = logging.getLogger("app")

ErrorItem = dict[str, Any]
"""One ``errors`` entry: ``{"loc": [...], "msg": str, "type": str}``."""

#: The envelope ``type`` for each status, including those only the framework produces.
ERROR_TYPES: Mapping[int, str] = {
    400: "bad_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "method_not_allowed_error",
    408: "request_timeout_error",
    409: "conflict_error",
    413: "request_too_large_error",
    415: "unsupported_media_type_error",
    422: "validation_error",
    426: "upgrade_required_error",
    429: "rate_limit_error",
    431: "request_header_too_large_error",
    500: "server_error",
    502: "bad_gateway_error",
    503: "service_unavailable_error",
    504: "gateway_timeout_error",
}


def error_item(loc: Sequence[str | int], msg: str, type_: str) -> ErrorItem:
    """An ``errors`` entry in the envelope's shape."""
    return {"loc": list(loc), "msg": msg, "type": type_}


class APIError(Exception):
    """An error with a status and a message a client may see; the base of every domain error."""

    status_code = 500
    #: The envelope's ``type`` where an error has one of its own; else the status's
    #: (``ERROR_TYPES``).
    error_type: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[ErrorItem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})


class BadRequestError(APIError):
    """The request cannot be read: malformed JSON, a bad header value."""

    status_code = 400


class AuthenticationError(APIError):
    """Missing, unknown or malformed token; the detail never says which."""

    status_code = 401

    def __init__(self) -> None:
        super().__init__("Authentication failed", headers={"WWW-Authenticate": "Bearer"})


class PermissionDeniedError(APIError):
    """The token is valid but may not do this (a read-only token writing)."""

    status_code = 403


class NotFoundError(APIError):
    """No such resource, or not the caller's."""

    status_code = 404


class ConflictError(APIError):
    """The request contradicts the resource's state (cancel a finished job, reuse a key)."""

    status_code = 409


class UnsupportedMediaTypeError(APIError):
    """The body is not declared as JSON (``Content-Type`` missing or another media type)."""

    status_code = 415


class ValidationFailedError(APIError):
    """Well-formed but invalid; ``errors`` lists every violation and ``detail`` joins them."""

    status_code = 422

    def __init__(
        self, errors: Sequence[ErrorItem], *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__("; ".join(item["msg"] for item in errors), errors=errors, headers=headers)


class InvalidDatasetError(APIError):
    """An uploaded file is not a valid dataset: one ``errors`` entry per bad line (the first
    100), and ``detail`` says how many lines are bad in all, so it is not their messages
    joined."""

    status_code = 422
    error_type = "invalid_dataset"


class DatasetInUseError(APIError):
    """A dataset a queued or running job trains on cannot be deleted."""

    status_code = 409
    error_type = "dataset_in_use"


class ServiceUnavailableError(APIError):
    """Something the request needs besides the database (the dataset store) failed for now;
    ``Retry-After`` says when to try again."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class UpgradeRequiredError(APIError):
    """The client's SDK is older than the server supports."""

    status_code = 426


class RateLimitError(APIError):
    """Too many requests for one token; ``Retry-After`` says when to come back."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Rate limit exceeded; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


def envelope(
    status_code: int,
    detail: str,
    errors: Sequence[ErrorItem] = (),
    headers: Mapping[str, str] | None = None,
    type_: str | None = None,
) -> JSONResponse:
    """The canonical error response; its ``type`` is the status's unless ``type_`` is given."""
    fallback = "server_error" if status_code >= 500 else "error"
    body = {
        "code": status_code,
        "detail": detail,
        "type": type_ or ERROR_TYPES.get(status_code, fallback),
        "errors": list(errors),
    }
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def _field_message(loc: Sequence[str | int], msg: str) -> str:
    where = ".".join(str(part) for part in loc[1:]) if len(loc) > 1 else ""
    return f"{where}: {msg}" if where else msg


def pydantic_error_items(
    errors: Sequence[Mapping[str, Any]], prefix: Sequence[str] = ()
) -> list[ErrorItem]:
    """Pydantic's error dicts as envelope entries, each message naming its field."""
    items = []
    for error in errors:
        loc = [*prefix, *error["loc"]]
        items.append(error_item(loc, _field_message(loc, str(error["msg"])), str(error["type"])))
    return items


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return envelope(exc.status_code, exc.detail, exc.errors, exc.headers, exc.error_type)


async def _request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    for error in raw:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error")
            return envelope(400, f"Malformed JSON in the request body: {reason or 'not JSON'}")
        if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",):
            return envelope(400, "Malformed JSON in the request body: the body is empty")
    items = pydantic_error_items(raw)
    return envelope(422, "; ".join(item["msg"] for item in items), items)


#: The methods a 405's ``Allow`` may name.
_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path (``HEAD`` with ``GET``, as the HEAD
    middleware serves it). Starlette's own ``Allow`` names only the first route that matched the
    path, so ``POST /training/jobs`` would hide its ``GET`` twin. Each method is probed through
    the routes' public ``matches``, which nested routers answer for their routes too."""
    allowed = {
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    }
    if "GET" in allowed:
        allowed.add("HEAD")
    return ", ".join(sorted(allowed))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Not found"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
        detail = f"Method {request.method} not allowed; this path answers {headers['Allow']}"
    return envelope(exc.status_code, detail, headers=headers)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """A crash, logged once (here: ``app.core.requestid`` stops the exception after calling
    this) with its traceback and the request id the client was sent; the client gets only the
    envelope. The path is logged as it came, percent-encoded, so that no request can write a log
    line of its own."""
    request_id = getattr(request.state, "request_id", None) or "none"
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    where = f"{request.method} {raw_path.decode('ascii', 'backslashreplace')}"
    logger.error("unhandled error on %s (request id %s)", where, request_id, exc_info=exc)
    return envelope(500, "Internal server error")


#: Seconds a client is asked to wait when the database is unavailable: long enough that the retry
#: does not land in the same blip (a failover, a lock), short enough that the SDK's default two
#: retries (it honours ``Retry-After``) ride out a brief outage.
DATABASE_RETRY_AFTER_SECONDS = 2


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After`` when the database is down, hung, locked or out of connections
    (``app.core.db.is_unavailable``); any other database error is a bug, for the 500 handler."""
    if not is_unavailable(exc):
        raise exc
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
    wait = DATABASE_RETRY_AFTER_SECONDS
    return envelope(
        503,
        f"The database is unavailable; retry after {wait} s",
        headers={"Retry-After": str(wait)},
    )


def install_exception_handlers(app: FastAPI) -> None:
    """Register the handlers that emit the envelope for every error, framework ones included."""
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
    for database_error in database_error_classes():
        app.add_exception_handler(database_error, _database_error)
