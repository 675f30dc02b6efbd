"""A per-token token bucket, in process: each uvicorn worker limits on its own.

Good enough to stop a runaway client; a shared limit across workers would need the database or a
cache server, which this service deliberately does without.
"""

from __future__ import annotations

import math
import threading
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """``per_minute`` requests per key, refilled continuously; bursts up to ``per_minute``."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """A limit of 0 turns limiting off."""
        return self.capacity > 0

    def acquire(self, key: str) -> int:
        """Take one request for ``key``: 0 when allowed, else the seconds to wait (>= 1)."""
        if not self.enabled:
            return 0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
