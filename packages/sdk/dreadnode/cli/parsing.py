"""argparse, adjusted so that a usage error is one clear line and exit code 2.

argparse's own ``error`` prints the whole usage block before the message; a user who typed one
wrong flag wants the one line that says which, plus where to look for more.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

from dreadnode.cli.errors import UsageError

__all__ = [
    "Parser",
    "bounded_int",
    "finite_float",
    "non_negative_float",
    "positive_whole_number",
    "whole_number",
]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become ``UsageError`` (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers from ``low`` to ``high`` inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def non_negative_float(text: str) -> float:
    """An argparse ``type`` for sizes in billions: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def whole_number(text: str) -> int:
    """An argparse ``type`` for counts whose bounds the API checks (and reports all at once)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_whole_number(text: str) -> int:
    """An argparse ``type`` for a count that is at least 1 whatever else bounds it (a LoRA rank:
    its upper bound depends on the model, so the catalog checks that)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return value


def finite_float(text: str) -> float:
    """An argparse ``type`` for a finite number; its range is the API's to check."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value
