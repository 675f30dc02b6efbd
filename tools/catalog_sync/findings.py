"""The one value every comparison produces, so reports, filters and tests share a single shape.

A finding is plain data with a stable ``code`` per kind of difference: callers (CI annotations,
tests, people grepping JSON) filter by code and path, never by message text, which may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["MISSING", "Finding", "Location", "Missing"]


class Missing:
    """The value of a side that has no counterpart at all, distinct from a real ``None``."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = Missing()


@dataclass(frozen=True, order=True)
class Location:
    """A line in a file; ``path`` as printed (relative to the repository root when inside it)."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Finding:
    """One difference between the two sides (the SDK and the API, or the catalog and Tinker).

    ``path`` names what differs: ``<tinker_id>.<field>`` for data, ``schema.<Type>.<field>...``
    for the entry types, ``<function>(<arguments>)`` for behaviour. ``note`` adds context that is
    not a value (a pydantic message, how many queries disagree).
    """

    code: str
    path: str
    sdk_value: object = MISSING
    api_value: object = MISSING
    sdk_location: Location | None = None
    api_location: Location | None = None
    note: str = ""
