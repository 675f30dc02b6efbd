"""argparse, adjusted so that a usage error is one clear line and exit code 2.

argparse's own ``error`` prints the whole usage block before the message; a user who typed one
wrong flag wants the one line that says which, plus where to look for more. An unknown flag is
answered by the command it was given to, with the nearest flag it has ("did you mean --json?"),
before any other complaint: a mistyped ``--modle`` is the problem, not the ``--model`` it leaves
missing.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final, NoReturn

from dreadnode.cli.errors import UsageError

__all__ = [
    "Parser",
    "bounded_float",
    "bounded_int",
    "finite_float",
    "float_in",
    "non_negative_float",
    "positive_float",
    "positive_whole_number",
    "whole_number",
]


#: How alike (rapidfuzz's ``ratio``, 0-100, on the names without dashes) a flag must be to an
#: unknown one to be offered: ``jsn``/``json`` scores 86, ``famly``/``family`` 91 and the
#: transposed ``yse``/``yes`` 67, while ``colour`` or ``offset`` stay below it for every flag.
SUGGESTION_CUTOFF: Final = 65.0


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become ``UsageError`` (one line, exit 2), and whose
    unknown flags are reported by the (sub)command that was given them, with a suggestion."""

    _has_commands = False

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")

    def add_subparsers(self, **kwargs: Any) -> Any:
        self._has_commands = True
        return super().add_subparsers(**kwargs)

    def parse_known_args(  # type: ignore[override]  # one signature for both overloads
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        """Parse, refusing what this command does not know rather than handing it back.

        argparse hands a subcommand's leftovers up to ``dn``, which then says "dn: unrecognized
        arguments" with no word of the subcommand, and only after complaining about required
        flags. So each command first looks at its own part of the line for long flags it has no
        option for, then refuses any leftover itself. Text that is not UTF-8 (bytes from a
        terminal set to another encoding) is refused here too: no request could carry it.
        """
        args = sys.argv[1:] if args is None else list(args)
        mine = args[: _first_positional(args)] if self._has_commands else args
        self._refuse_undecodable(mine)
        self._refuse_unknown(self._unknown_long_flags(mine))
        parsed, extras = super().parse_known_args(args, namespace)
        self._refuse_unknown(extras)
        return parsed, extras

    def _unknown_long_flags(self, args: Sequence[str]) -> list[str]:
        """The ``--flags`` in ``args`` that name none of this command's options, nor start one
        (argparse takes an unambiguous prefix)."""
        known = self._long_flags()
        unknown = []
        for arg in args:
            if arg == "--":
                break
            name = arg.partition("=")[0]
            if name.startswith("--") and not any(flag.startswith(name) for flag in known):
                unknown.append(name)
        return unknown

    def _refuse_undecodable(self, args: Sequence[str]) -> None:
        """``dn train catalog: --query: '\\xffqwen' is not UTF-8 text; ...`` (exit 2) for an
        argument the interpreter could only decode with stand-ins for its bytes."""
        for index, arg in enumerate(args):
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                flag, equals, _ = arg.partition("=")
                if equals and flag.startswith("--"):
                    shown = shown.partition("=")[2]
                elif index and args[index - 1].startswith("-"):
                    flag = args[index - 1]
                else:
                    flag = ""
                where = f"{self.prog}: {flag}: " if flag else f"{self.prog}: "
                raise UsageError(
                    f"{where}'{shown}' is not UTF-8 text; is the terminal set to UTF-8?"
                ) from None

    def _long_flags(self) -> list[str]:
        return [flag for flag in self._option_string_actions if flag.startswith("--")]

    def _refuse_unknown(self, unknown: Sequence[str]) -> None:
        """``dn train catalog: unrecognized argument --jsn; did you mean --json?`` (exit 2)."""
        if not unknown:
            return
        noun = "argument" if len(unknown) == 1 else "arguments"
        message = f"{self.prog}: unrecognized {noun} {' '.join(unknown)}"
        suggestions = {
            arg: flag for arg in unknown if (flag := self._nearest_flag(arg)) is not None
        }
        if not suggestions:
            raise UsageError(f"{message} (see '{self.prog} --help')")
        if len(suggestions) == 1 and len(unknown) == 1:
            offered = next(iter(suggestions.values()))
        else:
            offered = ", ".join(f"{flag} for {arg}" for arg, flag in suggestions.items())
        raise UsageError(f"{message}; did you mean {offered}?")

    def _nearest_flag(self, arg: str) -> str | None:
        """This command's flag most like ``arg``, if any is like it at all."""
        if not arg.startswith("-") or arg.lstrip("-") == "":
            return None  # a stray value, not a flag: nothing to compare it with
        from rapidfuzz import fuzz, process  # only on this error path: it costs start-up time

        flags = self._long_flags()
        best = process.extractOne(
            arg.lstrip("-"),
            [flag.lstrip("-") for flag in flags],
            scorer=fuzz.ratio,
            score_cutoff=SUGGESTION_CUTOFF,
        )
        return None if best is None else flags[best[2]]


def _first_positional(args: Sequence[str]) -> int:
    """Where a command with subcommands stops looking: at the subcommand (what follows it is the
    subcommand's to judge), or at ``--``."""
    for index, arg in enumerate(args):
        if arg == "--" or not arg.startswith("-"):
            return index
    return len(args)


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


def bounded_float(low: float, high: float) -> Callable[[str], float]:
    """An argparse ``type`` accepting numbers from ``low`` to ``high`` inclusive."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def float_in(
    low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """An argparse ``type`` accepting numbers between ``low`` and ``high``, each end included
    unless it is open: ``float_in(0, 2, low_open=True)`` takes 0 < x <= 2 and answers ``must be
    > 0 and <= 2, got 0`` for a number outside."""
    above, below = (">" if low_open else ">="), ("<" if high_open else "<=")

    def parse(text: str) -> float:
        value = finite_float(text)
        if (value <= low if low_open else value < low) or (
            value >= high if high_open else value > high
        ):
            raise argparse.ArgumentTypeError(
                f"must be {above} {low:g} and {below} {high:g}, got {text}"
            )
        return value

    parse.__name__ = "number"
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


def positive_float(text: str) -> float:
    """An argparse ``type`` for an amount that only means something above zero (a spending cap:
    a cap of 0 would refuse every job); its upper bound is the API's to check."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
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
