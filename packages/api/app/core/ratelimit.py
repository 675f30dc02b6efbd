"""Rate limits every worker and process shares: per token, and per address for failed sign-ins.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one number): each
key stores a "theoretical arrival time" ``tat``; a request is let through when the bucket, full
at ``limit`` requests, has room, and then moves ``tat`` on by ``60 / limit`` seconds. A burst of
``limit`` passes at once, then one request every ``60 / limit`` seconds: over any stretch of time
a key gets at most ``limit`` plus what refilled meanwhile, never the doubled burst a fixed window
allows at its boundary. One row per key, updated by one atomic ``INSERT ... ON CONFLICT DO UPDATE
... RETURNING`` statement, so workers never race; rows whose bucket is full again say nothing a
missing row would not, and are swept once a minute.

Where the rows live, since every authenticated request writes one:

- **PostgreSQL**: the ``rate_limits`` table (migration v0005), ``UNLOGGED``: no WAL, so no fsync
  per request; a crash empties it, which only refills every bucket. Written in the thread that
  also looks the token up, on a pooled connection, so a request pays one thread hop for both.
- **SQLite**: a small file of its own beside the database (``<database>.ratelimit``) in WAL mode
  with ``synchronous=OFF``: it is shared by every worker on the host (as the database is), costs
  no fsync, and never contends for the database's write lock with job writes or weakens their
  durability. Written on the event loop: the statement takes microseconds, and a busy file is
  waited for with ``asyncio.sleep`` (never blocking the loop), up to the busy timeout.

Failed sign-ins are limited per client address (an IPv6 address by its /64, what one host is
usually given). Only well-formed tokens that match no row are counted, the only ones that cost a
query. Past the limit the address's failures get 429 instead of 401, but its tokens are still
looked up, and a valid one passes: many people share one address behind a NAT or a proxy, and
one of them with a stale token must not lock the others out. An address over the limit is
remembered by the worker that saw it, whose further failures from it then cost no counter write
until the limit allows again. The address is the TCP peer's, or the one a trusted proxy put in
``X-Forwarded-For`` (``Settings.forwarded_allow_ips``; uvicorn applies it before the app).
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import sqlite3
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateTable
from starlette.concurrency import run_in_threadpool

from app.core.config import sqlite_path
from app.core.db import Database, DatabaseUnavailableError
from app.models import RateLimitCounter

__all__ = [
    "PERIOD_SECONDS",
    "STATE_KEY",
    "Quota",
    "RateLimitHeadersMiddleware",
    "RateLimiter",
    "client_key",
    "side_file",
]

#: Every limit is per minute.
PERIOD_SECONDS = 60.0
#: Where a request's token quota waits for the headers middleware (``request.state``).
STATE_KEY = "rate_limit"
#: How often each worker deletes the rows of full buckets.
SWEEP_SECONDS = 60.0
#: How long the event loop sleeps between tries of a busy SQLite counter file.
_BUSY_RETRY_SECONDS = 0.0002
_SQLITE_BUSY = 5
#: Float slack on the comparison: ``tat`` is a unix time in a double (~0.2 µs resolution).
_EPSILON = 1e-6

_UPSERT = """
INSERT INTO rate_limits (key, tat, allowed) VALUES (:key, :now + :interval, 1)
ON CONFLICT (key) DO UPDATE SET
  allowed = CASE WHEN {max}(rate_limits.tat, :now) + :interval - :now <= :period THEN 1 ELSE 0 END,
  tat = CASE WHEN {max}(rate_limits.tat, :now) + :interval - :now <= :period
        THEN {max}(rate_limits.tat, :now) + :interval ELSE rate_limits.tat END
RETURNING tat, allowed
"""
_SWEEP = "DELETE FROM rate_limits WHERE tat < :now"


@dataclass(frozen=True)
class Quota:
    """What one request left of a key's limit, as the ``RateLimit-*`` headers tell it."""

    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the bucket is full again.
    reset: int
    #: Seconds until a request may pass again; 0 when this one passed.
    retry_after: int

    @classmethod
    def judge(cls, limit: int, now: float, tat: float, allowed: bool) -> Quota:
        """The quota a stored ``tat`` means at ``now``."""
        interval = PERIOD_SECONDS / limit
        room = PERIOD_SECONDS - (tat - now)  # the bucket's free part, in seconds
        remaining = max(0, min(limit, math.floor(room / interval + _EPSILON)))
        reset = max(0, math.ceil(tat - now - _EPSILON))
        retry_after = 0 if allowed else max(1, math.ceil(interval - room - _EPSILON))
        return cls(allowed, limit, remaining, reset, retry_after)

    def headers(self) -> dict[str, str]:
        """The IETF draft's ``RateLimit-*`` and the common ``X-RateLimit-*`` headers."""
        values = {"Limit": str(self.limit), "Remaining": str(self.remaining)}
        values["Reset"] = str(self.reset)
        headers = {f"RateLimit-{name}": value for name, value in values.items()}
        headers.update({f"X-RateLimit-{name}": value for name, value in values.items()})
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def side_file(database: Path) -> Path:
    """The SQLite counter file that belongs to the database file ``database``."""
    return database.with_name(f"{database.name}.ratelimit")


def client_key(host: str | None) -> str:
    """The failed-sign-in key of a client address: IPv4 as is, IPv6 by its /64."""
    if not host:
        return "auth:unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"auth:{host[:64]}"
    if address.version == 6:
        mapped = address.ipv4_mapped
        if mapped is None:
            return f"auth:{ipaddress.ip_network(f'{address}/64', strict=False)}"
        address = mapped
    return f"auth:{address}"


class _SqliteCounters:
    """The counters in a SQLite file of their own (or in memory, for an in-memory database, which
    no other process could share anyway); one connection per worker, used on the loop's thread."""

    inline = True

    def __init__(self, path: Path | None, busy_timeout: float) -> None:
        connection = sqlite3.connect(
            ":memory:" if path is None else str(path),
            timeout=busy_timeout,  # only for the set-up below; requests never block on it
            isolation_level=None,  # autocommit: each upsert is its own transaction
            check_same_thread=False,  # made at start-up, then used on the loop's thread only
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        ddl = CreateTable(RateLimitCounter.__table__, if_not_exists=True)  # type: ignore[arg-type]
        connection.execute(str(ddl.compile(dialect=sqlite_dialect.dialect())))
        connection.execute("PRAGMA busy_timeout=0")  # from here on, waits are the loop's
        weakref.finalize(self, connection.close)
        self._connection = connection
        self._busy_timeout = busy_timeout
        self._upsert = _UPSERT.format(max="MAX")

    def take(self, params: dict[str, Any]) -> tuple[float, bool] | None:
        """One upsert; None when another worker holds the file's write lock right now."""
        try:
            tat, allowed = self._connection.execute(self._upsert, params).fetchone()
        except sqlite3.OperationalError as err:
            if getattr(err, "sqlite_errorcode", 0) & 0xFF == _SQLITE_BUSY:
                return None
            raise
        return float(tat), bool(allowed)

    async def take_async(self, params: dict[str, Any]) -> tuple[float, bool]:
        deadline = time.monotonic() + self._busy_timeout
        while (outcome := self.take(params)) is None:
            if time.monotonic() > deadline:
                raise DatabaseUnavailableError(
                    f"the rate-limit file stayed locked for {self._busy_timeout:g} s"
                )
            await asyncio.sleep(_BUSY_RETRY_SECONDS)
        return outcome

    def sweep(self, now: float) -> None:
        try:
            self._connection.execute(_SWEEP, {"now": now})
        except sqlite3.OperationalError as err:  # busy: another worker sweeps, or next minute
            if getattr(err, "sqlite_errorcode", 0) & 0xFF != _SQLITE_BUSY:
                raise


class _DatabaseCounters:
    """The counters in the database's ``rate_limits`` table, on a pooled connection (in a
    thread: the statement crosses the network)."""

    inline = False

    def __init__(self, database: Database) -> None:
        self._engine = database.engine
        name = "GREATEST" if database.engine.dialect.name == "postgresql" else "MAX"
        self._upsert = _UPSERT.format(max=name)
        compiled = {
            sql: _driver_sql(database, sql) for sql in (self._upsert, _SWEEP)
        }  # the driver's own parameter style, compiled once
        self._compiled = compiled

    def _run(self, sql: str, params: dict[str, Any]) -> Any:
        statement, order = self._compiled[sql]
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(statement, [params[name] for name in order] if order else params)
            row = cursor.fetchone() if cursor.description else None
            cursor.close()
            connection.commit()
        finally:
            connection.close()
        return row

    def take(self, params: dict[str, Any]) -> tuple[float, bool]:
        tat, allowed = self._run(self._upsert, params)
        return float(tat), bool(allowed)

    def sweep(self, now: float) -> None:
        self._run(_SWEEP, {"now": now})


def _driver_sql(database: Database, sql: str) -> tuple[str, list[str] | None]:
    """``sql`` in the driver's parameter style, and the order of its positional parameters."""
    compiled = text(sql).compile(dialect=database.engine.dialect)
    if database.engine.dialect.positional:
        return str(compiled), list(compiled.positiontup or [])
    return str(compiled), None


class RateLimiter:
    """The shared limits of one app (``app.state.rate_limiter``): ``per_minute`` requests per
    token and ``failed_auth_per_minute`` failed sign-ins per client address; 0 turns either off.
    """

    def __init__(self, database: Database, *, per_minute: int, failed_auth_per_minute: int) -> None:
        self.per_minute = per_minute
        self.failed_auth_per_minute = failed_auth_per_minute
        self._database = database
        self._store: _SqliteCounters | _DatabaseCounters | None = None
        self._store_lock = threading.Lock()
        self._next_sweep = 0.0
        #: Addresses over their failed sign-in limit, and until when (unix time), in this worker.
        self._blocked: MutableMapping[str, float] = {}

    @property
    def store(self) -> _SqliteCounters | _DatabaseCounters:
        """The counters, opened on first use: in the worker that uses them, not the supervisor."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    engine = self._database.engine
                    if engine.dialect.name == "sqlite":
                        path = sqlite_path(engine.url.render_as_string(hide_password=False))
                        self._store = _SqliteCounters(
                            None if path is None else side_file(path),
                            self._database.limits.busy_timeout,
                        )
                    else:
                        self._store = _DatabaseCounters(self._database)
        return self._store

    @property
    def inline(self) -> bool:
        """Whether ``take`` belongs on the event loop (SQLite) rather than in a thread."""
        return self.store.inline

    def _params(self, key: str, limit: int, now: float) -> dict[str, Any]:
        return {
            "key": key,
            "now": now,
            "interval": PERIOD_SECONDS / limit,
            "period": PERIOD_SECONDS,
        }

    def _maybe_sweep(self, now: float) -> None:
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self.store.sweep(now)
            self._blocked = {key: until for key, until in self._blocked.items() if until > now}

    def take_token(self, prefix: str) -> Quota | None:
        """Count one request of the token ``prefix``, blocking: for a thread, where the counters
        are in the database (not ``inline``). None when the limit is off."""
        if self.per_minute <= 0:
            return None
        store = self.store
        if isinstance(store, _SqliteCounters):
            raise RuntimeError("SQLite counters are taken on the event loop: take_token_async")
        now = time.time()
        self._maybe_sweep(now)
        tat, allowed = store.take(self._params(f"token:{prefix}", self.per_minute, now))
        return Quota.judge(self.per_minute, now, tat, allowed)

    async def _take_async(self, key: str, limit: int) -> Quota:
        store = self.store
        now = time.time()
        if isinstance(store, _SqliteCounters):
            self._maybe_sweep(now)
            tat, allowed = await store.take_async(self._params(key, limit, now))
            return Quota.judge(limit, now, tat, allowed)

        def blocking() -> Quota:
            self._maybe_sweep(now)
            tat, allowed = store.take(self._params(key, limit, now))
            return Quota.judge(limit, now, tat, allowed)

        return await run_in_threadpool(blocking)

    async def take_token_async(self, prefix: str) -> Quota | None:
        """Count one request of the token ``prefix``. None when the limit is off."""
        if self.per_minute <= 0:
            return None
        return await self._take_async(f"token:{prefix}", self.per_minute)

    def _blocked_for(self, address: str) -> int:
        """Seconds this worker knows ``address`` is over its failed sign-in limit; 0 if none."""
        until = self._blocked.get(address)
        if until is None:
            return 0
        left = until - time.time()
        if left <= 0:
            del self._blocked[address]
            return 0
        return max(1, math.ceil(left))

    async def fail(self, address: str) -> int:
        """Count one failed sign-in from ``address``: 0 while it is within its limit (a 401),
        else the seconds until it is again (a 429's ``Retry-After``). Only failures are counted,
        so a valid token from the same address is never refused by this limit.

        An address over its limit is remembered here until the limit allows it again, so its
        further failures cost no counter write: the counter would not move anyway.
        """
        if self.failed_auth_per_minute <= 0:
            return 0
        blocked = self._blocked_for(address)
        if blocked:
            return blocked
        quota = await self._take_async(address, self.failed_auth_per_minute)
        if quota.allowed:
            return 0
        self._blocked[address] = time.time() + quota.retry_after
        return quota.retry_after


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RateLimitHeadersMiddleware:
    """Adds the token's ``RateLimit-*`` headers to every answer of an authenticated request
    (successes, errors, 429 included); handlers return their own responses, so a dependency
    alone could not."""

    def __init__(self, app: Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                quota = scope.get("state", {}).get(STATE_KEY)
                if isinstance(quota, Quota):
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [
                        (name.lower().encode(), value.encode())
                        for name, value in quota.headers().items()
                        if name.lower().encode() not in present
                    ]
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
