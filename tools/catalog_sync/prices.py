"""Compares the catalog with Tinker's published price list.

A model Tinker trains that its price list does not name cannot be priced before launch; an id
the list prices that the catalog lacks is probably one users cannot pick; a price the catalog
confirmed (its static ``pricing``) that the list now contradicts is out of date. No key is
needed: the list is public.

The list is read by the API's own reader (``packages/api/app/training/prices.py``, standard
library only), loaded from its file as the catalog modules are, so the checker and the service
that prices jobs cannot disagree about what an entry means.
"""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from tools.catalog_sync.compare_data import entry_location
from tools.catalog_sync.findings import MISSING, Finding, Location
from tools.catalog_sync.loader import Catalog
from tools.catalog_sync.upstream import EXTENDED_CONTEXT_SEPARATOR, retired_ids, retired_model

__all__ = ["DEFAULT_PRICE_LIST_URL", "PRICE_READER", "compare_prices", "load_price_reader"]

#: Where Tinker publishes the list (the API's default ``DREADNODE_API_PRICE_LIST_URL``).
DEFAULT_PRICE_LIST_URL = "https://tinker-docs.thinkingmachines.ai/tinker/models.json"
#: The API's reader of the list, relative to the repository root.
PRICE_READER = Path("packages/api/app/training/prices.py")
_RATES = ("prefill", "sample", "train")


def load_price_reader(root: Path) -> ModuleType:
    """The API's price-list module, loaded from its file (the API need not be installed)."""
    path = root / PRICE_READER
    spec = importlib.util.spec_from_file_location("catalog_sync_price_reader", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while building the classes.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _live_ids(catalog: Catalog, retired: set[str]) -> list[tuple[str, Any]]:
    """Every id jobs may name today, bare and ``:peft:``, with the entry it belongs to."""
    ids = []
    for entry in catalog.entries:
        if entry.tinker_id in retired:
            continue
        ids.append((entry.tinker_id, entry))
        extended = entry.values.get("extended_context_length")
        if extended:
            ids.append((f"{entry.tinker_id}{EXTENDED_CONTEXT_SEPARATOR}{extended}", entry))
    return ids


def compare_prices(catalog: Catalog, prices: dict[str, Any], refused: list[str]) -> list[Finding]:
    """Live ids the list does not price, priced ids the catalog lacks (retired ones only
    inform), confirmed catalog prices the list contradicts, and entries the list could not be
    read for."""
    retired = retired_ids(catalog)
    findings = [
        Finding("price-unreadable", reason.split(":", 1)[0], MISSING, MISSING,
                Location(catalog.display, catalog.source_map.entries_line), None,
                f"the price list's entry was left out: {reason}")
        for reason in refused
    ]  # fmt: skip
    known = set()
    for tinker_id, entry in _live_ids(catalog, retired):
        known.add(tinker_id)
        at = entry_location(catalog, entry)
        price = prices.get(tinker_id)
        if price is None:
            findings.append(
                Finding("price-missing", tinker_id, "listed", MISSING, at, None,
                        "Tinker's price list does not name this id: its jobs cannot be priced")
            )  # fmt: skip
            continue
        confirmed = entry.values.get("pricing") if tinker_id == entry.tinker_id else None
        findings += _confirmed_differs(catalog, entry, tinker_id, confirmed, price)
    for tinker_id in sorted(set(prices) - known):
        if retired_model(tinker_id, retired) is not None:
            code, note = "price-retired-but-listed", "the list still prices a retired model"
        else:
            code, note = "price-missing-in-catalog", "Tinker prices a model the catalog lacks"
        findings.append(
            Finding(code, tinker_id, MISSING, "priced",
                    Location(catalog.display, catalog.source_map.entries_line), None, note)
        )  # fmt: skip
    return findings


def _confirmed_differs(
    catalog: Catalog, entry: Any, tinker_id: str, confirmed: Any, price: Any
) -> list[Finding]:
    if not isinstance(confirmed, dict):
        return []
    findings = []
    for rate in _RATES:
        ours = confirmed.get(rate)
        theirs = getattr(price, rate)
        if ours is not None and Decimal(str(ours)) != theirs:
            findings.append(
                Finding("price-differs", f"{tinker_id}.pricing.{rate}", ours, float(theirs),
                        entry_location(catalog, entry, "pricing"), None,
                        "the catalog's confirmed price is not the list's")
            )  # fmt: skip
    return findings
