"""When to send a failed request again, and after how long: the SDK's one retry policy.

A request is repeated only when repeating it cannot do harm: GETs, a job creation that carries an
``Idempotency-Key`` (the server then answers the first job again rather than making a second), and
what repeats to the same effect (a dataset upload, which its bytes decide; a model update, whose
values are absolute). A delete, a cancel or a sample is never repeated.
Only failures that a later attempt can cure are retried: no answer at all, 429, and the gateway
statuses 502/503/504. A 500 is a bug that will happen again, and a 4xx is the caller's to fix.

A wait can be long (a rate limit's ``Retry-After``, up to ``max_delay``), so the policy can tell
its caller about each one before it starts (``on_wait``): ``dn`` says on stderr what it is
waiting for, rather than seeming to hang.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "RetryWait", "parse_retry_after", "retry_delay"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryWait:
    """A wait about to begin: after ``attempt`` attempts, ``delay`` seconds before the next.

    ``status`` is the answer that asked for it (None when none came back); ``retry_after`` is
    the wait the server asked for, in seconds, before ``max_delay`` capped it (None when it did
    not say, and the wait is the policy's own backoff).
    """

    attempt: int
    delay: float
    status: int | None
    retry_after: float | None
    max_retries: int


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait: exponential backoff, jittered.

    ``max_delay`` caps every wait, a server's ``Retry-After`` included, so that a misconfigured
    proxy asking for an hour cannot hang a command line. ``on_wait``, if set, is called with each
    ``RetryWait`` just before the wait starts.
    """

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    on_wait: Callable[[RetryWait], None] | None = field(default=None, compare=False)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def retry_delay(
    *,
    policy: RetryPolicy,
    attempt: int,
    safe_to_repeat: bool,
    status: int | None,
    retry_after: str | None = None,
    jitter: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before sending again, or None to give up and raise.

    ``attempt`` counts the attempts already made (1 after the first). ``status`` is None when no
    HTTP answer came back (connection error or timeout). A delay returned has been announced to
    ``policy.on_wait`` first: the caller sleeps right after.
    """
    if not safe_to_repeat or attempt > policy.max_retries:
        return None
    if status is not None and status not in RETRYABLE_STATUSES:
        return None
    asked = parse_retry_after(retry_after)
    if asked is not None:
        delay = min(asked, policy.max_delay)
    else:
        backoff = min(policy.base_delay * float(2 ** (attempt - 1)), policy.max_delay)
        delay = backoff * (0.5 + jitter() / 2)
    if policy.on_wait is not None:
        policy.on_wait(RetryWait(attempt, delay, status, asked, policy.max_retries))
    return delay
