"""Keeps each API mirror equal to its SDK source of truth: the catalog, the dataset validator.

Two copies of one module drift unless something compares them on every change. The pairs are
declared once, in ``tools.catalog_sync.mirrors.MIRRORS``. ``check`` loads both catalogs straight
from their files and reports every difference in data, schema and behaviour as a ``Finding``, and
names the first line of any other mirror that differs from its source; ``sync`` rewrites each
mirror below its own docstring from its source; ``upstream`` compares the catalog with the models
Tinker itself reports. Run ``python -m tools.catalog_sync --help``.
"""

from __future__ import annotations

from tools.catalog_sync.findings import MISSING, Finding, Location

__all__ = ["MISSING", "Finding", "Location"]
