"""Tokens at a price: Tinker's rates are USD per million tokens. One formula, so that a job's
estimate (``app.training.estimates``), the worker's budget and a job's ``spent_usd``
(``app.schemas``) can never round differently."""

from __future__ import annotations

__all__ = ["PER", "usd"]

#: Tinker's rates are per million tokens.
PER = 1_000_000


def usd(tokens: int, usd_per_million: float) -> float:
    """What ``tokens`` cost at a rate per million, to the millionth of a dollar."""
    return round(tokens * usd_per_million / PER, 6)
