"""When to send a failed request again, and after how long: the SDK's one retry policy.

A request is repeated only when repeating it cannot do harm: GETs, and a job creation that carries
an ``Idempotency-Key`` (the server then answers the first job again rather than making a second).
Only failures that a later attempt can cure are retried: no answer at all, 429, and the gateway
statuses 502/503/504. A 500 is a bug that will happen again, and a 4xx is the caller's to fix.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after", "retry_delay"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait: exponential backoff, jittered.

    ``max_delay`` caps every wait, a server's ``Retry-After`` included, so that a misconfigured
    proxy asking for an hour cannot hang a command line.
    """

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0


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
    HTTP answer came back (connection error or timeout).
    """
    if not safe_to_repeat or attempt > policy.max_retries:
        return None
    if status is not None and status not in RETRYABLE_STATUSES:
        return None
    asked = parse_retry_after(retry_after)
    if asked is not None:
        return min(asked, policy.max_delay)
    backoff = min(policy.base_delay * float(2 ** (attempt - 1)), policy.max_delay)
    return backoff * (0.5 + jitter() / 2)
