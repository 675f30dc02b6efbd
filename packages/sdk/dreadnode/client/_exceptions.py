"""Every way a call to the training API can fail, as one tree of exception classes.

```
DreadnodeError                      anything this SDK raises on purpose
├── ConfigurationError              the client cannot be built as configured (also a ValueError)
└── APIError                        a call to the API did not give the expected answer
    ├── APIConnectionError          no HTTP answer at all (refused, DNS, reset)
    │   └── APITimeoutError         the API did not answer in time
    ├── APIResponseValidationError  a 2xx answer that is not the API's JSON (a proxy's page)
    └── APIStatusError              a 4xx/5xx answer: status, type, detail, errors, request_id
        ├── BadRequestError              400
        ├── AuthenticationError          401
        ├── PermissionDeniedError        403
        ├── NotFoundError                404
        ├── ConflictError                409
        ├── ContentTooLargeError         413
        ├── UnprocessableEntityError     422 (also exported as ValidationError)
        ├── UpgradeRequiredError         426
        ├── RateLimitError               429 (retry_after, in seconds, when the API said)
        └── InternalServerError          >= 500
            ├── BadGatewayError          502
            ├── ServiceUnavailableError  503
            └── GatewayTimeoutError      504
```

Callers catch the narrowest class they can act on: ``NotFoundError`` for a job id that is wrong,
``APIConnectionError`` to say the server is down, ``APIError`` for "anything went wrong remotely".
``status_error`` is the one place a status code becomes a class.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ContentTooLargeError",
    "DreadnodeError",
    "GatewayTimeoutError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "UpgradeRequiredError",
    "ValidationError",
    "status_error",
]


class DreadnodeError(Exception):
    """Base of every exception the SDK raises deliberately."""


class ConfigurationError(DreadnodeError, ValueError):
    """No server configured, or a server URL that cannot be one (``http://[::1``, ``ftp://x``,
    port 99999). Raised before any request, so it is never mistaken for a network failure; a
    ``ValueError`` too, as it was before it had a name of its own."""


class APIError(DreadnodeError):
    """A request to the API failed; ``message`` says how, ``url`` says where."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APIConnectionError(APIError):
    """The request got no HTTP answer: the server is down, unreachable, or hung up."""


class APITimeoutError(APIConnectionError):
    """The server accepted the connection (or not) but did not answer within the timeout."""


class APIResponseValidationError(APIError):
    """A successful status whose body is not what the API sends: often a proxy or login page."""

    def __init__(self, message: str, *, method: str, url: str, status: int, body: str) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status
        self.body = body


class APIStatusError(APIError):
    """The API (or a proxy in front of it) answered with an error status.

    ``detail`` is the one line that tells the whole story; ``errors`` holds one entry per violation
    (``{"loc": [...], "msg": ..., "type": ...}``) so a caller can show each on its own line.
    """

    def __init__(
        self,
        detail: str,
        *,
        method: str,
        url: str,
        status: int,
        type: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, method=method, url=url)
        self.status = status
        self.type = type
        self.detail = detail
        self.errors = errors or []
        self.request_id = request_id
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.status} {self.type or 'error'}: {self.detail}"


class BadRequestError(APIStatusError):
    """400: the request was malformed (JSON body, header values)."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, unknown or malformed."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not do this (a read-only token tried to write)."""


class NotFoundError(APIStatusError):
    """404: no such route, catalog id, or job (someone else's job is 'not found' too)."""


class ConflictError(APIStatusError):
    """409: the job is already finished or cancelled, an idempotency key was reused, or the
    dataset to delete is used by a queued or running job."""


class ContentTooLargeError(APIStatusError):
    """413: the body is larger than the server takes (a dataset over its size limit)."""


class UnprocessableEntityError(APIStatusError):
    """422: well-formed but invalid; ``errors`` has one entry per violation."""


#: The name most callers reach for; the same class.
ValidationError = UnprocessableEntityError


class UpgradeRequiredError(APIStatusError):
    """426: this SDK is older than the oldest the server still accepts."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the wait the API asked for, in seconds."""

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the server or a proxy failed; safe requests are retried before this is raised."""


class BadGatewayError(InternalServerError):
    """502: a proxy in front of the API got no valid answer from it."""


class ServiceUnavailableError(InternalServerError):
    """503: the API (or its database) is temporarily unavailable."""


class GatewayTimeoutError(InternalServerError):
    """504: a proxy in front of the API gave up waiting for it."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ContentTooLargeError,
    422: UnprocessableEntityError,
    426: UpgradeRequiredError,
    429: RateLimitError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}


def status_error(
    status: int, detail: str, *, retry_after: float | None = None, **kwargs: Any
) -> APIStatusError:
    """The exception for an error ``status``: the single status-to-class table of the SDK."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    if cls is RateLimitError:
        return RateLimitError(detail, retry_after=retry_after, status=status, **kwargs)
    return cls(detail, status=status, **kwargs)
