"""Recently verified tokens, in process, so most requests authenticate without a query.

Keyed by the token's sha256 (never the token itself) and kept for a short time, after which the
database is asked again; bounded so that a flood of distinct bad tokens cannot grow it (misses
are not cached at all).
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

__all__ = ["TokenCache"]

T = TypeVar("T")

MAX_ENTRIES = 10_000


class TokenCache(Generic[T]):
    """``token hash -> principal`` for ``ttl`` seconds; a ttl of 0 disables caching."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> T | None:
        """The cached principal, if still fresh."""
        entry = self._entries.get(token_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token_hash: str, principal: T) -> None:
        """Remember a verified token."""
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = (time.monotonic() + self.ttl, principal)
