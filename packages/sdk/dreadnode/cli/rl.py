"""What an RL job adds on the command line: its grader, how it samples, and how its completions
scored.

``dn train rl --grader FILE`` reads the grader and checks it here with the rules the API checks it
with (``dreadnode.training.graders``, which the API mirrors); ``dn`` describes it in one line
wherever it shows a job, beside what a step samples (``describe_sampling``), and shows an RL
step's rewards where it shows an SFT step's loss (``describe_rewards``).

A grader file holds one JSON object, the declaration the API takes as the job's ``grader``
(``-`` reads it from stdin). Whatever is wrong with it is one line and exit 2, before anything
is sent: a file that is not there or not JSON, a declaration the API would refuse (each of
pydantic's problems on a line of its own, with where in the declaration it is), and, for a
dataset file on this machine, a field the grader reads that the file's rows do not all carry
(naming the first line without it, as the API would for the uploaded file).

``describe_grader`` works on the declaration as plain JSON, as a job read back from the API
holds it, so a grader type this SDK does not know (a newer server's) is shown as it came rather
than failing the command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeGuard

from dreadnode.cli.errors import UsageError
from dreadnode.cli.output import format_value, printable

if TYPE_CHECKING:
    from pydantic import ValidationError

    from dreadnode.training.datasets import DatasetCheck
    from dreadnode.training.graders import Grader

__all__ = [
    "GRADER_FLAG",
    "MAX_GRADER_BYTES",
    "REWARD_FIGURES",
    "check_grader_fields",
    "describe_grader",
    "describe_rewards",
    "describe_sampling",
    "format_reward",
    "read_grader",
]

#: The flag that names the grader file.
GRADER_FLAG: Final = "--grader"
#: The largest grader file read: a declaration is a few hundred bytes, so anything near this is
#: another file given by mistake (a dataset), not a grader.
MAX_GRADER_BYTES: Final = 1024 * 1024
#: The grader types, as the ``type`` of a declaration names them (``describe_grader``).
_TYPES: Final = ("string_check", "numeric", "text_similarity", "multi")
#: The figures an RL step adds to its ``training_step`` event and its metric point.
REWARD_FIGURES: Final = (
    "reward_mean",
    "reward_std",
    "no_signal_fraction",
    "sampled_tokens",
    "grading_errors",
)
#: pydantic's words before the message of a ``ValueError`` raised by a validator.
_VALUE_ERROR_PREFIX: Final = "Value error, "


def read_grader(source: str) -> tuple[dict[str, Any], Grader]:
    """The declaration ``--grader`` names (a file, or ``-`` for stdin) as JSON and as the grader
    it declares; exit 2 with one line for each thing wrong with it."""
    from pydantic import ValidationError

    from dreadnode.training.graders import parse_grader

    shown = "stdin" if source == "-" else source
    text = _read_text(source, shown)
    try:
        declaration = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"{GRADER_FLAG}: {shown} is not JSON: {err.msg} (line {err.lineno}, column {err.colno})"
        ) from None
    except RecursionError:
        raise UsageError(f"{GRADER_FLAG}: {shown} nests too deeply to be a grader") from None
    try:
        grader = parse_grader(declaration)
    except ValidationError as err:
        raise _not_a_grader(shown, err) from None
    return declaration, grader


def _read_text(source: str, shown: str) -> str:
    """The text of the grader file (or stdin), at most ``MAX_GRADER_BYTES``."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_GRADER_BYTES + 1)
        else:
            path = Path(source).expanduser()
            if path.is_dir():
                raise UsageError(f"{GRADER_FLAG}: {source!r} is a directory, not a JSON file")
            with path.open("rb") as file:
                data = file.read(MAX_GRADER_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{GRADER_FLAG}: no such file: {source!r}") from None
    except OSError as err:
        raise UsageError(f"{GRADER_FLAG}: cannot read {source!r} ({err.strerror or err})") from None
    if len(data) > MAX_GRADER_BYTES:
        raise UsageError(
            f"{GRADER_FLAG}: {shown} is over {MAX_GRADER_BYTES // 1024:,} KiB: a grader is one "
            "small JSON object (is this the dataset?)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UsageError(
            f"{GRADER_FLAG}: {shown} is not UTF-8 text (byte {err.start + 1:,})"
        ) from None


def _not_a_grader(shown: str, error: ValidationError) -> UsageError:
    """``--grader: g.json is not a valid grader: pattern: ...``: the one problem on the line,
    or their count on it and each below."""
    problems = [_problem(item) for item in error.errors()]
    head = f"{GRADER_FLAG}: {shown} is not a valid grader"
    if len(problems) == 1:
        return UsageError(f"{head}: {problems[0]}")
    return UsageError(f"{head} ({len(problems)} problems)", hints=tuple(problems))


def _problem(item: Mapping[str, Any]) -> str:
    """One of pydantic's problems as ``where: what``: ``graders.0.weight: Input should be
    greater than 0``. The grader type pydantic adds to the location (the union's tag) is left
    out: the declaration has no such key."""
    loc = [str(part) for part in item.get("loc", ())]
    where = ".".join(
        part
        for index, part in enumerate(loc)
        if not (part in _TYPES and (index == 0 or loc[index - 1] == "grader"))
    )
    kind = item.get("type")
    message = str(item.get("msg", "")).removeprefix(_VALUE_ERROR_PREFIX)
    if kind == "union_tag_not_found":
        where, message = ".".join([*loc, "type"]), "missing; " + _expected_types()
    elif kind == "union_tag_invalid":
        tag = (item.get("ctx") or {}).get("tag")
        where, message = ".".join([*loc, "type"]), f"unknown type {tag!r}; " + _expected_types()
    return printable(f"{where}: {message}" if where else message)


def _expected_types() -> str:
    return "a grader's type is " + ", ".join(repr(t) for t in _TYPES[:-1]) + f" or {_TYPES[-1]!r}"


def check_grader_fields(grader: Grader, path: Path, check: DatasetCheck) -> None:
    """Exit 2 when the rows of ``path`` (a checked ``prompt`` file) do not all carry a field the
    grader reads, naming the first line without it, as the API would once the file is uploaded;
    warn for a field the check could not track (the API does too)."""
    from dreadnode.training.graders import grader_field_problems, unchecked_grader_fields

    fields = check.reference_fields
    if fields is None:
        return
    problems = [
        f"{GRADER_FLAG}: {path}: {message}" for _, message in grader_field_problems(grader, fields)
    ]
    for _, message in unchecked_grader_fields(grader, fields):
        sys.stderr.write(f"warning: {GRADER_FLAG}: {path}: {message}\n")
    if problems:
        raise UsageError(problems[0], hints=tuple(problems[1:]))


def describe_grader(declaration: Any) -> str:
    """A grader in one line: ``string_check eq on 'answer' (last_line)``, ``numeric within 0.01
    on 'metadata.value' (after '####')``, ``multi: 0.7 x string_check ... + 0.3 x ...``. A
    declaration this SDK cannot read (a newer server's grader type) is shown as its JSON."""
    if isinstance(declaration, Mapping):
        kind = declaration.get("type")
        if kind == "multi":
            parts = declaration.get("graders")
            if isinstance(parts, Sequence) and parts and all(_readable_part(p) for p in parts):
                return "multi: " + " + ".join(
                    f"{format_value(part['weight'])} x {_describe_one(part['grader'])}"
                    for part in parts
                )
        elif kind in _TYPES and isinstance(declaration.get("field"), str):
            return _describe_one(declaration)
    return printable(json.dumps(declaration, ensure_ascii=False, separators=(", ", ": ")))


def _readable_part(part: Any) -> bool:
    return (
        isinstance(part, Mapping)
        and isinstance(part.get("weight"), int | float)
        and isinstance(part.get("grader"), Mapping)
        and part["grader"].get("type") in _TYPES[:-1]
        and isinstance(part["grader"].get("field"), str)
    )


def _describe_one(declaration: Mapping[str, Any]) -> str:
    """``string_check eq on 'answer' (last_line)``: type, how it compares, the row's field and
    what of the completion it reads (the API's defaults where the declaration names none)."""
    kind = printable(declaration["type"])
    compares = ""
    if kind == "string_check":
        compares = f" {printable(declaration.get('operation') or 'eq')}"
    elif kind == "numeric":
        compares = f" within {format_value(declaration.get('tolerance') or 0)}"
    extract = printable(declaration.get("extract") or "whole")
    if extract == "regex" and declaration.get("pattern") is not None:
        extract += f" {_quoted(declaration['pattern'])}"
    elif extract == "after" and declaration.get("marker") is not None:
        extract += f" {_quoted(declaration['marker'])}"
    return f"{kind}{compares} on {_quoted(declaration['field'])} ({extract})"


def _quoted(value: Any) -> str:
    """``'answer'``, ``'\\d+'``: the text between quotes as typed (a backslash stays one)."""
    return f"'{printable(value)}'"


def describe_sampling(hyperparameters: Mapping[str, Any], algorithm: str | None) -> str | None:
    """What one step of an RL job samples, from its effective hyperparameters: ``32 prompts x 4
    completions = 128 completions of at most 256 tokens, at temperature 1``, and for ``ppo`` the
    ratios it clips (``; ppo clips probability ratios outside 0.8-1.2``). None when the answer
    lacks a figure (an older server's)."""
    prompts, group = hyperparameters.get("batch_size"), hyperparameters.get("group_size")
    tokens, temperature = hyperparameters.get("max_tokens"), hyperparameters.get("temperature")
    if not (_whole(prompts) and _whole(group) and _whole(tokens) and _number(temperature)):
        return None
    text = (
        f"{prompts:,} prompt{'s' * (prompts != 1)} x {group:,} completions = "
        f"{prompts * group:,} completions of at most {tokens:,} token{'s' * (tokens != 1)}, "
        f"at temperature {format_value(temperature)}"
    )
    low, high = (
        hyperparameters.get("clip_low_threshold"),
        hyperparameters.get("clip_high_threshold"),
    )
    if algorithm == "ppo" and _number(low) and _number(high):
        text += f"; ppo clips probability ratios outside {format_value(low)}-{format_value(high)}"
    return text


def describe_rewards(
    figures: Mapping[str, Any], *, named: bool = True, compact: bool = False
) -> str | None:
    """An RL step's rewards in one line: ``reward 0.625 (sd 0.212)  no signal 25%  grading
    errors 3`` (the errors only when there were some; without ``reward`` in front unless
    ``named``; ``compact`` for a progress bar's narrow line: ``reward 0.625±0.212  no signal
    25%  errors 3``); None for a step without a reward (an SFT step's)."""
    mean = figures.get("reward_mean")
    if not _number(mean):
        return None
    spread = figures.get("reward_std")
    first = ("reward " if named else "") + format_reward(mean)
    if _number(spread):
        first += f"\u00b1{format_reward(spread)}" if compact else f" (sd {format_reward(spread)})"
    parts = [first]
    share = figures.get("no_signal_fraction")
    if _number(share):
        parts.append(f"no signal {share:.0%}")
    errors = figures.get("grading_errors")
    if _whole(errors) and errors:
        parts.append(f"{'' if compact else 'grading '}errors {errors:,}")
    return "  ".join(parts)


def format_reward(value: float) -> str:
    """``0.625``, ``12.5``; a tiny reward in significant figures rather than as 0.000."""
    return f"{value:.3f}" if abs(value) >= 0.001 or value == 0 else f"{value:.3g}"


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
