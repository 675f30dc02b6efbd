"""Serialized catalog answers, built once: the catalog is immutable for a process's lifetime.

Each entry's JSON is rendered at import, and the most recently asked pages are memoised with
their ETags, so listing usually costs a dictionary lookup instead of pydantic serialization.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import NamedTuple

from app.training.catalog import (
    TINKER_MODELS,
    TrainingModel,
    filter_training_models,
    resolve_training_model,
)

__all__ = ["PAGE_CACHE_SIZE", "CatalogFilters", "Rendered", "catalog_entry", "catalog_page"]

#: How many rendered pages are kept. Filters come from clients (free text, any float), so the key
#: space is unbounded and the cache must not be: a page holds at most the whole catalog (about
#: 11 KB today), so this bounds it near 3 MB, while the pages clients really repeat stay cached.
PAGE_CACHE_SIZE = 256


class Rendered(NamedTuple):
    """A JSON body and its strong ETag."""

    body: bytes
    etag: str


def _render(body: bytes) -> Rendered:
    return Rendered(body, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')


def _entry_json(model: TrainingModel) -> bytes:
    return json.dumps(model.model_dump(mode="json"), separators=(",", ":")).encode()


_ENTRY_JSON: dict[str, bytes] = {model.tinker_id: _entry_json(model) for model in TINKER_MODELS}
_ENTRIES: dict[str, Rendered] = {key: _render(body) for key, body in _ENTRY_JSON.items()}


class CatalogFilters(NamedTuple):
    """The catalog's filters as one hashable value: the page cache's key, and the arguments of
    ``filter_training_models``."""

    query: str | None = None
    family: str | None = None
    algorithm: str | None = None
    min_size_b: float | None = None
    max_size_b: float | None = None


def catalog_page(filters: CatalogFilters, *, limit: int, offset: int) -> Rendered:
    """``{"models", "total", "limit", "offset"}`` for these filters; TrainingQueryError for bad
    ones. Queries differing only in whitespace share one cache entry (the catalog splits on it).
    """
    if filters.query is not None:
        filters = filters._replace(query=" ".join(filters.query.split()))
    return _cached_page(filters, limit, offset)


@lru_cache(maxsize=PAGE_CACHE_SIZE)
def _cached_page(filters: CatalogFilters, limit: int, offset: int) -> Rendered:
    matches = filter_training_models(**filters._asdict())
    models = b",".join(_ENTRY_JSON[m.tinker_id] for m in matches[offset : offset + limit])
    tail = f'],"total":{len(matches)},"limit":{limit},"offset":{offset}}}'.encode()
    return _render(b'{"models":[' + models + tail)


def catalog_entry(model_id: str) -> Rendered | None:
    """The entry an id selects (exact, or ``base:peft:N`` that the entry lists), or None."""
    resolved = resolve_training_model(model_id)
    return None if resolved is None else _ENTRIES[resolved[0].tinker_id]
