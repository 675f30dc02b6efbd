"""Equality as a catalog reader means it: 8 and 8.0 are the same size, True is not 1."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["same"]


def same(left: Any, right: Any) -> bool:
    """Whether two JSON-shaped values mean the same thing (numbers by value, bools by identity)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        both_nan = isinstance(left, float) and isinstance(right, float)
        return left == right or (both_nan and math.isnan(left) and math.isnan(right))
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)
