"""Serialized catalog answers, memoised: the catalog changes only with the day.

Each entry's JSON depends on the day only through its ``lifecycle``, and the pages clients ask for
are memoised with their ETags per day, so listing usually costs a dictionary lookup instead of
pydantic serialization.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from app.training.catalog import (
    TrainingModel,
    filter_training_models,
    get_training_model,
    retired_training_models,
)

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


@lru_cache(maxsize=512)
def _entry_json(model: TrainingModel, day: date) -> bytes:
    """The entry as clients see it: its fields and its ``lifecycle`` on ``day``."""
    return json.dumps(model.listed(day), separators=(",", ":")).encode()


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


def catalog_page(filters: CatalogFilters, *, limit: int, offset: int, day: date) -> Rendered:
    """``{"models", "total", "limit", "offset"}`` for these filters on ``day``; TrainingQueryError
    for bad ones. Queries differing only in whitespace share one cache entry (the catalog splits
    on it).
    """
    if filters.query is not None:
        filters = filters._replace(query=" ".join(filters.query.split()))
    return _cached_page(filters, limit, offset, day)


@lru_cache(maxsize=PAGE_CACHE_SIZE)
def _cached_page(filters: CatalogFilters, limit: int, offset: int, day: date) -> Rendered:
    matches = filter_training_models(**filters._asdict(), on=day)
    models = b",".join(_entry_json(m, day) for m in matches[offset : offset + limit])
    tail = f'],"total":{len(matches)},"limit":{limit},"offset":{offset}}}'.encode()
    return _render(b'{"models":[' + models + tail)


def catalog_entry(model_id: str, day: date) -> Rendered | None:
    """The entry this id selects on ``day`` (a served ``:peft:`` id as itself), or None."""
    model = get_training_model(model_id, on=day)
    return None if model is None else _render(_entry_json(model, day))


@lru_cache(maxsize=8)
def retired_page(day: date) -> Rendered:
    """``{"retired": [...], "total": N}``: every retirement in effect on ``day``."""
    retired = [r.model_dump(mode="json") for r in retired_training_models(on=day)]
    body = json.dumps({"retired": retired, "total": len(retired)}, separators=(",", ":"))
    return _render(body.encode())
