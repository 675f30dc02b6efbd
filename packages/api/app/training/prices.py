"""Tinker's published prices, as live data: fetched, kept for a while, never waited for.

Tinker publishes its price list as a JSON file beside its Models & Pricing page: a list of
objects, one per exact model id (a ``:peft:`` id has its own), with ``tinker_id``, ``prefill``,
``cached_prefill``, ``sample`` and ``train`` as strings like ``"$1.87"`` (USD per million tokens)
and an optional ``note``. Rates change (they rose on 2026-07-17 on standard-context models), so
they are not catalog constants: the catalog's static ``pricing`` stays None until confirmed, and
the answers carry this list's figures with the time they were fetched.

A request never waits for the list. One background thread per process fetches it at start-up
and again once it is older than ``ttl``; a failed fetch keeps the last good copy and is tried
again after ``retry`` seconds, so a price source that is down or hung costs requests nothing.
An entry that cannot be read (a malformed amount, a missing field) is left out, with the reason
logged; the rest of the list stands.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "MAX_PRICE_LIST_BYTES",
    "PRICE_LIST_RETRY_SECONDS",
    "LivePrice",
    "PriceBook",
    "PriceList",
    "PriceListError",
    "fetch_price_list",
    "parse_price_list",
]

logger = logging.getLogger(__name__)

#: Far above the real list (about 60 entries, a few KB); bounds what a wrong URL can make us read.
MAX_PRICE_LIST_BYTES = 1024 * 1024
#: Seconds after a failed fetch before the next try: a source that is down is asked once a
#: minute per process, not once per request.
PRICE_LIST_RETRY_SECONDS = 60.0
#: A dollar amount as Tinker writes it: "$1.87", "$0.5", "$12".
_MONEY = re.compile(r"\$(\d{1,6}(?:\.\d{1,6})?)")
_RATES = ("prefill", "sample", "train")


class PriceListError(Exception):
    """The price list could not be fetched or read at all; the message says why, in one line."""


@dataclass(frozen=True)
class LivePrice:
    """One exact id's rates, USD per million tokens, as the list gives them."""

    tinker_id: str
    prefill: Decimal
    sample: Decimal
    train: Decimal
    cached_prefill: Decimal | None = None
    note: str | None = None


@dataclass(frozen=True, eq=False)
class PriceList:
    """A good copy of the list: its prices by exact id, where and when it was fetched, and the
    entries left out (one line each). Each copy is its own (compared and hashed by identity), so
    answers cached per copy are cached until the next one arrives."""

    prices: Mapping[str, LivePrice]
    source: str
    fetched_at: datetime
    refused: tuple[str, ...] = ()


def _money(entry: Mapping[str, Any], field: str) -> Decimal:
    value = entry.get(field)
    match = _MONEY.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{field} is {value!r}, not an amount like '$1.87'")
    return Decimal(match.group(1))


def _entry(entry: Any) -> LivePrice:
    if not isinstance(entry, Mapping):
        raise ValueError(f"an entry is a {type(entry).__name__}, not an object")
    tinker_id = entry.get("tinker_id")
    if not isinstance(tinker_id, str) or not tinker_id.strip():
        raise ValueError("an entry has no tinker_id")
    try:
        rates = {field: _money(entry, field) for field in _RATES}
        cached = None if entry.get("cached_prefill") is None else _money(entry, "cached_prefill")
    except ValueError as err:
        raise ValueError(f"{tinker_id}: {err}") from None
    note = entry.get("note")
    return LivePrice(
        tinker_id=tinker_id,
        cached_prefill=cached,
        note=note if isinstance(note, str) and note.strip() else None,
        **rates,
    )


def parse_price_list(payload: Any) -> tuple[dict[str, LivePrice], list[str]]:
    """The prices a decoded list gives, by exact id, and a line for each entry left out. A
    payload that is not a list is a PriceListError; an id given twice keeps its first entry."""
    if not isinstance(payload, list):
        raise PriceListError(f"the price list is a JSON {type(payload).__name__}, not a list")
    prices: dict[str, LivePrice] = {}
    refused: list[str] = []
    for entry in payload:
        try:
            price = _entry(entry)
        except ValueError as err:
            refused.append(str(err))
            continue
        if price.tinker_id in prices:
            refused.append(f"{price.tinker_id}: listed again; the first entry stands")
            continue
        prices[price.tinker_id] = price
    return prices, refused


def fetch_price_list(url: str, *, timeout: float, user_agent: str) -> PriceList:
    """Fetch and read the list at ``url`` within ``timeout`` seconds in all (a server that
    answers a byte at a time is cut off too); PriceListError says what went wrong."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(  # noqa: S310 - an operator's http(s) URL, checked by Settings
        url, headers={"User-Agent": user_agent, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            body = bytearray()
            while chunk := answer.read1(64 * 1024):
                body += chunk
                if len(body) > MAX_PRICE_LIST_BYTES:
                    raise PriceListError(f"the price list is over {MAX_PRICE_LIST_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise PriceListError(f"the price list took over {timeout:g} s to arrive")
    except PriceListError:
        raise
    except urllib.error.HTTPError as err:
        raise PriceListError(f"{url} answered {err.code} {err.reason}") from None
    except (OSError, ValueError) as err:  # refused, unreachable, timed out, a bad URL
        raise PriceListError(f"{url} could not be read: {err}") from None
    try:
        payload = json.loads(body)
    except ValueError as err:
        raise PriceListError(f"the price list is not JSON: {err}") from None
    prices, refused = parse_price_list(payload)
    return PriceList(prices, url, datetime.now(UTC), tuple(refused))


class PriceBook:
    """This process's copy of the price list, refreshed in the background.

    ``current()`` answers at once with the last good copy (None before the first one arrives, or
    when no URL is set) and starts a refresh when that copy is older than ``ttl`` seconds, unless
    one is running or the last attempt failed less than ``retry`` seconds ago.
    """

    def __init__(
        self,
        url: str | None,
        *,
        timeout: float,
        ttl: float,
        retry: float,
        user_agent: str,
    ) -> None:
        self.url = url
        self._timeout = timeout
        self._ttl = ttl
        self._retry = retry
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._copy: PriceList | None = None
        self._fetched: float | None = None
        self._failed: float | None = None
        self._running = False

    def current(self) -> PriceList | None:
        """The last good copy, at once; a refresh starts behind it when one is due."""
        with self._lock:
            if self._due():
                self._running = True
                threading.Thread(target=self._refresh, name="price-list", daemon=True).start()
            return self._copy

    def _due(self) -> bool:
        if self.url is None or self._running:
            return False
        now = time.monotonic()
        if self._failed is not None and now - self._failed < self._retry:
            return False
        return self._fetched is None or now - self._fetched >= self._ttl

    def _refresh(self) -> None:
        assert self.url is not None
        try:
            fresh = fetch_price_list(self.url, timeout=self._timeout, user_agent=self._user_agent)
        except Exception as err:  # PriceListError, or a bug: neither may end the refreshes
            with self._lock:
                self._failed, self._running = time.monotonic(), False
            if isinstance(err, PriceListError):
                logger.warning("price list not refreshed (%s); keeping the last good copy", err)
            else:
                logger.exception("price list refresh failed; keeping the last good copy")
            return
        for reason in fresh.refused:
            logger.warning("price list entry left out: %s", reason)
        with self._lock:
            self._copy, self._fetched, self._failed = fresh, time.monotonic(), None
            self._running = False
