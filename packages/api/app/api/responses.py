"""What each operation documents beyond its success: the error statuses it can return, each with
the envelope, and the headers that come with them.

Routes name their statuses (``responses=error_responses(404, 409)``) beside the code that raises
them, so the OpenAPI document says what the wire does; ``tests/test_openapi.py`` holds every
operation to it, and schemathesis checks the server against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.schemas import ErrorResponse

__all__ = [
    "AUTHENTICATED",
    "ENTRY_HEADERS",
    "LIFECYCLE_HEADERS",
    "NOT_MODIFIED",
    "RATE_LIMIT_HEADERS",
    "STATUS_DESCRIPTIONS",
    "document_rate_limit_headers",
    "error_responses",
]

#: The description of each error status, as the platform's API reference words them.
STATUS_DESCRIPTIONS: Mapping[int, str] = {
    400: "Invalid request",
    401: "Authentication failed",
    403: "Access forbidden",
    404: "Not found",
    408: "Request timeout",
    409: "Already exists",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Validation error",
    426: "Upgrade required",
    429: "Rate limited",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def _header(description: str, **schema: Any) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


#: Headers that come with particular error statuses.
_ERROR_HEADERS: Mapping[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": _header("Always `Bearer`: the scheme the token is sent in")},
    429: {"Retry-After": _header("Seconds until the token may ask again", type="integer")},
    503: {"Retry-After": _header("Seconds until the database may answer again", type="integer")},
}


def error_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for ``statuses``, each the envelope with its description.

    ``descriptions`` overrides the wording for one operation, keyed ``s409="..."``, where the
    generic text would mislead (a cancel's 409 is a finished job, not a duplicate).
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "model": ErrorResponse,
            "description": descriptions.get(f"s{status}", STATUS_DESCRIPTIONS[status]),
        }
        if status in _ERROR_HEADERS:
            response["headers"] = _ERROR_HEADERS[status]
        responses[status] = response
    return responses


#: What every operation behind a token can answer besides its own errors: no or a bad token, an
#: unknown query parameter, an SDK too old, the token's rate limit, a crash, and a database that
#: is down, hung or locked (every token is looked up in it).
AUTHENTICATED = error_responses(401, 422, 426, 429, 500, 503)


#: The headers of an answer about a model Tinker is retiring (``app.training.lifecycle``).
LIFECYCLE_HEADERS: dict[str, Any] = {
    "Deprecation": _header(
        "Only for a retiring model: when its retirement was announced (RFC 9745)"
    ),
    "Sunset": _header("Only for a retiring model: the day Tinker retires it (RFC 8594)"),
    "Link": _header('Only for a retiring model with a replacement: `rel="successor-version"`'),
}


#: The headers of a catalog entry or page: its ETag for conditional requests.
ENTRY_HEADERS: dict[str, Any] = {
    "ETag": _header("The representation's tag; send it back as `If-None-Match`"),
}

#: A conditional GET whose ``If-None-Match`` still matches: no body.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag sent still matches", "headers": ENTRY_HEADERS}
}


#: The token's quota, sent on every answer once the token has been counted against it
#: (``app.core.ratelimit``): the IETF draft's names and the older ``X-`` names clients already
#: read. Not on the answers given before the token is counted (401, 400, 408, 413).
RATE_LIMIT_HEADERS: dict[str, Any] = {
    f"{prefix}RateLimit-{name}": _header(description, type="integer")
    for prefix in ("", "X-")
    for name, description in (
        ("Limit", "Requests the token may make per minute"),
        ("Remaining", "Requests the token has left in the current window"),
        ("Reset", "Seconds until the token's full quota is back"),
    )
}

#: The statuses that come after the token has been counted, and so carry its quota.
_COUNTED = re.compile(r"^(2\d\d|304|403|404|405|409|415|422|426|429|500)$")


def document_rate_limit_headers(schema: dict[str, Any]) -> dict[str, Any]:
    """Add ``RATE_LIMIT_HEADERS`` to the counted answers of every operation behind a token.

    The headers come from a middleware, not from the routes, so the schema is told once here
    rather than beside each route; an operation is behind a token when it lists ``security``.
    """
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or not operation.get("security"):
                continue
            for status, response in operation.get("responses", {}).items():
                if _COUNTED.match(str(status)):
                    headers = response.setdefault("headers", {})
                    for name, header in RATE_LIMIT_HEADERS.items():
                        headers.setdefault(name, header)
    return schema
