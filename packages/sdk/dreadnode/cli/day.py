"""The day ``dn`` judges the embedded catalog's lifecycle on: today in UTC, or a pinned one.

Retirements are data with dates, so a model can be "retiring" today and refused tomorrow with no
release. ``$DREADNODE_CATALOG_DAY`` (``YYYY-MM-DD``) pins the day, to preview a coming retirement
or to match a server whose day is pinned the same way (``DREADNODE_API_CATALOG_DAY``).
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import date
from typing import Final

from dreadnode.cli.errors import UsageError
from dreadnode.training.models import training_day

__all__ = ["CATALOG_DAY_ENV", "catalog_day"]

CATALOG_DAY_ENV: Final = "DREADNODE_CATALOG_DAY"
#: Only the calendar form: ``date.fromisoformat`` would also take ``20260601`` or ``2026-W22-1``.
_DAY_FORM: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def catalog_day() -> date:
    """The pinned day, else today in UTC; a malformed pin is a usage error (exit 2)."""
    text = os.environ.get(CATALOG_DAY_ENV, "").strip()
    if not text:
        return training_day()
    day = None
    if _DAY_FORM.fullmatch(text):
        with contextlib.suppress(ValueError):  # 2026-02-30 has the form but is no day
            day = date.fromisoformat(text)
    if day is None:
        raise UsageError(
            f"{CATALOG_DAY_ENV} must be a date like 2026-06-01 (YYYY-MM-DD), got {text!r}"
        )
    return day
