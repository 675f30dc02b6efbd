"""The one value every comparison produces, so reports, filters and tests share a single shape.

A finding is plain data with a stable ``code`` per kind of difference: callers (CI annotations,
tests, people grepping JSON) filter by code and path, never by message text, which may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["INFORMATIONAL_CODES", "KNOWN_CODES", "MISSING", "Finding", "Location", "Missing"]


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

_SIDES = ("sdk", "api")
#: Every code a finding can carry. ``--ignore`` patterns must match at least one, so a typo in a
#: pattern is a usage error rather than a filter that silently hides nothing (or everything).
KNOWN_CODES: Final = frozenset(
    {
        "behaviour-differs",
        "constant-differs",
        "data-statement-invalid",
        "entry-duplicate",
        "entry-id-differs",
        "entry-invalid",
        "entry-order-differs",
        "enum-members-differ",
        "field-value-differs",
        "mirror-differs",
        "price-differs",
        "price-missing",
        "price-missing-in-catalog",
        "price-retired-but-listed",
        "price-unreadable",
        "public-names-differ",
        "retirement-field-differs",
        "retirement-invalid",
        "retirement-order-differs",
        "schema-bound-differs",
        "schema-default-differs",
        "schema-description-differs",
        "schema-required-differs",
        "schema-type-differs",
        "schema-unavailable",
        "upstream-context-differs",
        "upstream-missing-in-catalog",
        "upstream-not-served",
        "upstream-not-trainable",
        "upstream-retired-but-listed",
        *(
            f"{kind}-missing-in-{side}"
            for kind in (
                "constant",
                "entry",
                "function",
                "retirement",
                "retirements",
                "schema-field",
                "schema-type",
            )
            for side in _SIDES
        ),
    }
)


#: Findings that inform rather than fail: a model the catalog retired on its announced date that
#: Tinker still lists (the date is the contract, not the service's lag: tinker-feedback #145).
#: They are reported (a notice, not an error, in GitHub) but never make the exit status 1. The
#: same goes for a retired model Tinker's price list still prices.
INFORMATIONAL_CODES: Final = frozenset({"upstream-retired-but-listed", "price-retired-but-listed"})


@dataclass(frozen=True, order=True)
class Location:
    """A line in a file; ``path`` as printed (relative to the repository root when inside it)."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Finding:
    """One difference between the two sides (the SDK and the API, a source module and its
    mirror, or the catalog and Tinker).

    ``path`` names what differs: ``<tinker_id>.<field>`` for data, ``schema.<Type>.<field>...``
    for the entry types, ``<function>(<arguments>)`` for behaviour, the mirror's path for a
    module mirrored line by line. ``note`` adds context that is not a value (a pydantic message,
    how many queries disagree, which line differs). ``fix`` says how to repair it; a finding with
    one is printed as one line that ends with it.
    """

    code: str
    path: str
    sdk_value: object = MISSING
    api_value: object = MISSING
    sdk_location: Location | None = None
    api_location: Location | None = None
    note: str = ""
    fix: str = ""
