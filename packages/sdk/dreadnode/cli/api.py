"""What every command that talks to the API shares: its flags, its client, and its error lines.

The client (and httpx under it) is imported here only inside functions, when a command actually
talks to a server: ``dn train catalog --json`` offline never pays for it. The client retries what
is safe to retry; a wait the server asked for (a rate limit, a ``Retry-After``) is announced on
stderr before it starts, so ``dn`` never seems to hang.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from dreadnode import __version__
from dreadnode.cli.errors import CLIError, UsageError

if TYPE_CHECKING:
    from dreadnode.client import APIError, Client
    from dreadnode.client._retry import RetryWait

__all__ = [
    "API_KEY_ENV",
    "SERVER_URL_ENV",
    "add_server_arguments",
    "announce_wait",
    "api_client",
    "configured_server_url",
    "describe_api_error",
    "format_error_item",
]

# The same names as dreadnode.client's constants (a test keeps them equal); repeated here so that
# reading them does not import httpx.
SERVER_URL_ENV: Final = "DREADNODE_SERVER_URL"
API_KEY_ENV: Final = "DREADNODE_API_KEY"
#: The ``detail`` of the API's 404 for a path with no route (docs/api.md: "unknown route").
ROUTE_NOT_FOUND: Final = "Not found"


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """``--server-url`` and ``--api-key``, for every command that talks to the API."""
    group = parser.add_argument_group("API server")
    group.add_argument(
        "--server-url",
        metavar="URL",
        help=f"API server root, e.g. http://127.0.0.1:8000 (default: ${SERVER_URL_ENV})",
    )
    group.add_argument(
        "--api-key",
        metavar="TOKEN",
        help=f"API token, sent as the X-API-Key header (default: ${API_KEY_ENV})",
    )


def configured_server_url(args: argparse.Namespace) -> str | None:
    """The server to talk to: ``--server-url``, else ``$DREADNODE_SERVER_URL``, else None."""
    url: str = getattr(args, "server_url", None) or os.environ.get(SERVER_URL_ENV) or ""
    return url.strip() or None


@contextmanager
def api_client(
    args: argparse.Namespace, *, unavailable_hint: str | None = None
) -> Iterator[Client]:
    """A client for the configured server; any ``APIError`` inside becomes a one-line CLIError.

    ``unavailable_hint`` is added to the hints when the server could not be reached or failed
    (a 5xx): what the user can do without it.
    """
    server_url = configured_server_url(args)
    if server_url is None:
        raise UsageError(
            f"no API server configured: set {SERVER_URL_ENV} or pass --server-url",
            hints=(f"e.g. export {SERVER_URL_ENV}=http://127.0.0.1:8000",),
        )
    from dreadnode.client import APIError, Client, RetryPolicy

    try:
        client = Client(
            server_url=server_url, api_key=args.api_key, retry=RetryPolicy(on_wait=announce_wait)
        )
    except ValueError as err:  # ConfigurationError: a URL that cannot be a server's root
        source = "--server-url" if getattr(args, "server_url", None) else SERVER_URL_ENV
        raise UsageError(f"{source}: {err}") from None
    try:
        with client:
            yield client
    except APIError as err:
        raise describe_api_error(
            err, api_key_set=bool(client.api_key), unavailable_hint=unavailable_hint
        ) from err


def announce_wait(wait: RetryWait) -> None:
    """``note: the API is rate limiting requests (429 Too Many Requests); waiting 2 s, as it
    asked, before retry 1 of 2`` on stderr, before the wait. Only for waits the server asked
    for, or a rate limit: the short backoff after a dropped connection is not worth a line."""
    from http import HTTPStatus

    if wait.delay <= 0 or wait.status is None:
        return
    if wait.status != 429 and wait.retry_after is None:
        return
    answer = f"{wait.status} {HTTPStatus(wait.status).phrase}"
    if wait.status == 429:
        reason = f"the API is rate limiting requests ({answer})"
    else:
        reason = f"the API answered {answer}"
    if wait.retry_after is None:
        how_long = f"waiting {_seconds(wait.delay)} s"
    elif wait.retry_after > wait.delay:
        how_long = f"waiting {_seconds(wait.delay)} s (it asked for {_seconds(wait.retry_after)} s)"
    else:
        how_long = f"waiting {_seconds(wait.delay)} s, as it asked,"
    sys.stderr.write(
        f"note: {reason}; {how_long} before retry {wait.attempt} of {wait.max_retries}\n"
    )
    sys.stderr.flush()


def _seconds(value: float) -> str:
    """``2``, ``0.7``, ``8``: a wait as a person reads it."""
    return f"{round(value, 1):g}"


def format_error_item(item: Any) -> str:
    """``hyperparameters.learning_rate: Input should be ...`` from an ``errors`` entry.

    The leading ``body`` of a location is dropped: every field of a job is in the body.
    """
    if not isinstance(item, dict):
        item = item.model_dump()
    loc = [str(part) for part in item.get("loc") or []]
    if loc and loc[0] == "body":
        loc = loc[1:]
    message = str(item.get("msg", ""))
    where = ".".join(loc)
    if not where or message.startswith(f"{where}:"):  # the server may have said where already
        return message
    return f"{where}: {message}"


def describe_api_error(
    error: APIError, *, api_key_set: bool, unavailable_hint: str | None = None
) -> CLIError:
    """The line a user reads for ``error`` (exit 1), with hints that say what to do about it;
    ``unavailable_hint`` ends them when the server could not be reached or failed (a 5xx)."""
    from dreadnode.client import (
        APIConnectionError,
        APIStatusError,
        AuthenticationError,
        InternalServerError,
        NotFoundError,
        RateLimitError,
        UpgradeRequiredError,
    )

    hints: list[str] = []
    if isinstance(error, APIConnectionError):
        hints.append(f"is the API server running? check {SERVER_URL_ENV} or --server-url")
    if isinstance(error, APIStatusError):
        if len(error.errors) > 1:
            hints.extend(format_error_item(item) for item in error.errors)
        if isinstance(error, AuthenticationError):
            if api_key_set:
                hints.append(f"the token was refused: check {API_KEY_ENV} or --api-key")
            else:
                hints.append(f"no token configured: set {API_KEY_ENV} or pass --api-key")
        elif isinstance(error, UpgradeRequiredError):
            hints.append(
                f"this is dreadnode-training {__version__}; upgrade it: "
                "pip install --upgrade dreadnode-training"
            )
        elif isinstance(error, NotFoundError) and error.detail == ROUTE_NOT_FOUND:
            # The API's answer for a path it has no route for: a job or model it does not know
            # says so by name, so this one means the URL itself is wrong.
            hints.append(
                f"the API has no route {error.method} {error.url}; is the server URL right? "
                f"It is the server's root, e.g. http://127.0.0.1:8000 "
                f"(check {SERVER_URL_ENV} or --server-url)"
            )
        elif isinstance(error, RateLimitError) and error.retry_after is not None:
            hints.append(f"try again in {error.retry_after:g} s")
    if unavailable_hint and isinstance(error, APIConnectionError | InternalServerError):
        hints.append(unavailable_hint)
    if isinstance(error, APIStatusError) and error.request_id and error.status >= 500:
        # The server's fault: the id leads its operator to the log line. (Every answer has
        # one; for the user's own mistakes it would only be noise.)
        hints.append(f"request id: {error.request_id}")
    return CLIError(error.message, hints=tuple(hints))
