"""Keeps the API's catalog mirror equal to the SDK's catalog, the source of truth.

Two copies of one catalog drift unless something compares them on every change. ``check`` loads
both modules straight from their files and reports every difference in data, schema and behaviour
as a ``Finding``; ``sync`` rewrites the mirror below its own docstring from the SDK's module;
``upstream`` compares the catalog with the models Tinker itself reports. Run
``python -m tools.catalog_sync --help``.
"""

from __future__ import annotations

from tools.catalog_sync.findings import MISSING, Finding, Location

__all__ = ["MISSING", "Finding", "Location"]
