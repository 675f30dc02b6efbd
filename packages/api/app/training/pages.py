"""Serialized catalog answers, memoised: the catalog changes only with the day and the prices.

Each entry's JSON depends on the day only through its ``lifecycle``, and on the live price list
(``app.training.prices``) only through its ``price``; the pages clients ask for are memoised with
their ETags per day and per copy of the price list, so listing usually costs a dictionary lookup
instead of pydantic serialization, and a new copy of the list gives new ETags.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from app.training.catalog import (
    TrainingModel,
    filter_training_models,
    get_training_model,
    retired_training_models,
)
from app.training.prices import PriceList

__all__ = [
    "PAGE_CACHE_SIZE",
    "CatalogFilters",
    "Rendered",
    "catalog_entry",
    "catalog_page",
    "retired_page",
]

#: How many rendered pages are kept. Filters come from clients (free text, any float), so the key
#: space is unbounded and the cache must not be: a page holds at most the whole catalog (about
#: 30 KB), so this bounds it near 8 MB, while the pages clients really repeat stay cached.
PAGE_CACHE_SIZE = 256


class Rendered(NamedTuple):
    """A JSON body and its strong ETag."""

    body: bytes
    etag: str


def _render(body: bytes) -> Rendered:
    return Rendered(body, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')


def _live_price(model: TrainingModel, prices: PriceList | None) -> dict[str, Any] | None:
    """The entry's ``price``: its exact id's rates in the live list, with where and when the
    list was fetched; None when the list is not known or does not name the id."""
    if prices is None or (price := prices.prices.get(model.tinker_id)) is None:
        return None
    return {
        "prefill": float(price.prefill),
        "cached_prefill": None if price.cached_prefill is None else float(price.cached_prefill),
        "sample": float(price.sample),
        "train": float(price.train),
        "note": price.note,
        "price_as_of": prices.fetched_at.isoformat().replace("+00:00", "Z"),
        "source": prices.source,
    }


@lru_cache(maxsize=512)
def _entry_json(model: TrainingModel, day: date, prices: PriceList | None) -> bytes:
    """The entry as clients see it: its fields, its ``lifecycle`` on ``day`` and its live
    ``price``."""
    entry = {**model.listed(day), "price": _live_price(model, prices)}
    return json.dumps(entry, separators=(",", ":")).encode()


class CatalogFilters(NamedTuple):
    """The catalog's filters as one hashable value: the page cache's key, and the arguments of
    ``filter_training_models``."""

    query: str | None = None
    family: str | None = None
    algorithm: str | None = None
    min_size_b: float | None = None
    max_size_b: float | None = None
    kind: str | None = None
    vision: bool | None = None


def catalog_page(
    filters: CatalogFilters,
    *,
    limit: int,
    offset: int,
    day: date,
    prices: PriceList | None = None,
) -> Rendered:
    """``{"models", "total", "limit", "offset"}`` for these filters on ``day``, priced from
    ``prices``; TrainingQueryError for bad filters. Queries differing only in whitespace share
    one cache entry (the catalog splits on it).
    """
    if filters.query is not None:
        filters = filters._replace(query=" ".join(filters.query.split()))
    return _cached_page(filters, limit, offset, day, prices)


@lru_cache(maxsize=PAGE_CACHE_SIZE)
def _cached_page(
    filters: CatalogFilters, limit: int, offset: int, day: date, prices: PriceList | None
) -> Rendered:
    matches = filter_training_models(**filters._asdict(), on=day)
    models = b",".join(_entry_json(m, day, prices) for m in matches[offset : offset + limit])
    tail = f'],"total":{len(matches)},"limit":{limit},"offset":{offset}}}'.encode()
    return _render(b'{"models":[' + models + tail)


def catalog_entry(model_id: str, day: date, prices: PriceList | None = None) -> Rendered | None:
    """The entry this id selects on ``day`` (a served ``:peft:`` id as itself, at its own
    price), or None."""
    model = get_training_model(model_id, on=day)
    return None if model is None else _render(_entry_json(model, day, prices))


@lru_cache(maxsize=8)
def retired_page(day: date) -> Rendered:
    """``{"retired": [...], "total": N}``: every retirement in effect on ``day``."""
    retired = [r.model_dump(mode="json") for r in retired_training_models(on=day)]
    body = json.dumps({"retired": retired, "total": len(retired)}, separators=(",", ":"))
    return _render(body.encode())
