"""Graders: how an RL job scores a sampled completion, declared with the job as data.

This is the API's mirror of the SDK's ``dreadnode/training/graders.py`` (the packages may not
import each other): the code below this docstring is the SDK's, word for word. Never edit it by
hand: edit the SDK's and run ``python -m tools.catalog_sync sync``, which rewrites everything
below this docstring from it; ``python -m tools.catalog_sync check`` (CI, pre-commit) names the
first line that differs. Its one import of this package, ``from .datasets import ...``, is
relative so that the same text reads ``app.training.datasets`` here.

The API parses a job's ``grader`` with ``parse_grader`` (through ``app.schemas``), refuses one
whose fields the dataset's recorded ``reference_fields`` say some row lacks
(``grader_field_problems``), and the worker ``score``s every sampled completion with it; ``dn``
checks the same declaration with the same words before sending it. The SDK's copy documents the
graders.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    field_validator,
    model_validator,
)
from rapidfuzz import fuzz

from .datasets import MAX_REFERENCE_DEPTH, MAX_REFERENCE_PATHS, ReferenceFields

__all__ = [
    "MAX_GRADERS",
    "Extract",
    "Grader",
    "GradingError",
    "MultiGrader",
    "NumericGrader",
    "StringCheckGrader",
    "TextSimilarityGrader",
    "grader_field_problems",
    "parse_grader",
    "unchecked_grader_fields",
]

#: The most graders a ``multi`` grader combines: more is a declaration gone wrong.
MAX_GRADERS = 16
#: A field path: keys of letters, digits and underscores, joined by dots.
FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
#: A number as a completion writes it: a sign, digits with optional thousands commas, a fraction,
#: an exponent.
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")


class GradingError(Exception):
    """A row cannot be graded: it lacks a field the grader reads (the message names it)."""


class Extract(StrEnum):
    """What of a completion a grader compares."""

    WHOLE = "whole"
    LAST_LINE = "last_line"
    REGEX = "regex"
    AFTER = "after"


class _Reads(BaseModel):
    """A grader's row field and what it extracts from a completion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    field: Annotated[str, Field(min_length=1, max_length=200, pattern=FIELD_PATTERN)]
    #: Lenient: declarations arrive as decoded JSON, where an enum is its value.
    extract: Annotated[Extract, Strict(False)] = Extract.WHOLE
    pattern: Annotated[str, Field(min_length=1, max_length=1000)] | None = Field(
        default=None,
        description="With `extract: regex`: its first group, or the whole match, is compared",
    )
    marker: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="With `extract: after`: the text after its last occurrence"
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"pattern is not a regular expression: {err}") from None
        return pattern

    @model_validator(mode="after")
    def _extraction_is_complete(self) -> _Reads:
        if self.extract is Extract.REGEX and self.pattern is None:
            raise ValueError("extract 'regex' needs a pattern")
        if self.extract is Extract.AFTER and self.marker is None:
            raise ValueError("extract 'after' needs a marker")
        if self.pattern is not None and self.extract is not Extract.REGEX:
            raise ValueError("pattern goes with extract 'regex' only")
        if self.marker is not None and self.extract is not Extract.AFTER:
            raise ValueError("marker goes with extract 'after' only")
        return self

    def fields(self) -> list[str]:
        """The row fields this grader reads."""
        return [self.field]

    def reference(self, row: Mapping[str, Any]) -> str:
        """The row's value at ``field``, as text (a number as it would be written)."""
        value: Any = row
        for key in self.field.split("."):
            if not isinstance(value, Mapping) or key not in value:
                raise GradingError(f"the row has no {self.field!r}")
            value = value[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise GradingError(f"the row's {self.field!r} is not a string or a number")
        return str(value)

    def extracted(self, completion: str) -> str | None:
        """What of ``completion`` is compared, or None when there is nothing to extract."""
        if self.extract is Extract.WHOLE:
            return completion.strip()
        if self.extract is Extract.LAST_LINE:
            lines = [line.strip() for line in completion.splitlines() if line.strip()]
            return lines[-1] if lines else None
        if self.extract is Extract.AFTER:
            assert self.marker is not None
            _, found, after = completion.rpartition(self.marker)
            return after.strip() if found else None
        assert self.pattern is not None
        match = re.search(self.pattern, completion)
        if match is None:
            return None
        return (match.group(1) if match.groups() else match.group(0)).strip()


class StringCheckGrader(_Reads):
    """1 when the extracted text and the row's field compare as ``operation`` says, else 0:
    ``eq``/``ne`` exactly, ``like`` when the field's text is in the extracted text, ``ilike``
    the same ignoring case."""

    type: Literal["string_check"]
    operation: Literal["eq", "ne", "like", "ilike"] = "eq"

    def score(self, completion: str, row: Mapping[str, Any]) -> float:
        reference = self.reference(row)
        got = self.extracted(completion)
        if got is None:
            return 0.0
        passed = {
            "eq": got == reference,
            "ne": got != reference,
            "like": reference in got,
            "ilike": reference.casefold() in got.casefold(),
        }[self.operation]
        return 1.0 if passed else 0.0


class NumericGrader(_Reads):
    """1 when the number extracted from the completion is within ``tolerance`` of the row's
    field (absolute), else 0; a completion with no number scores 0."""

    type: Literal["numeric"]
    tolerance: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)] = 0.0

    def score(self, completion: str, row: Mapping[str, Any]) -> float:
        reference = _number(self.reference(row))
        if reference is None:
            raise GradingError(f"the row's {self.field!r} is not a number")
        got = self.extracted(completion)
        value = None if got is None else _number(got)
        if value is None:
            return 0.0
        return 1.0 if abs(value - reference) <= self.tolerance else 0.0


class TextSimilarityGrader(_Reads):
    """How alike the extracted text and the row's field are, from 0 to 1 (rapidfuzz's ratio:
    the normalised Indel similarity)."""

    type: Literal["text_similarity"]

    def score(self, completion: str, row: Mapping[str, Any]) -> float:
        reference = self.reference(row)
        got = self.extracted(completion)
        return 0.0 if got is None else fuzz.ratio(got, reference) / 100


#: A grader that reads one field.
SingleGrader = Annotated[
    StringCheckGrader | NumericGrader | TextSimilarityGrader, Field(discriminator="type")
]


class Weighted(BaseModel):
    """One part of a ``multi`` grader."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    weight: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
    grader: SingleGrader


class MultiGrader(BaseModel):
    """The weighted sum of its graders' scores."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    type: Literal["multi"]
    graders: Annotated[list[Weighted], Field(min_length=1, max_length=MAX_GRADERS)]

    def fields(self) -> list[str]:
        seen: dict[str, None] = {}
        for part in self.graders:
            seen.update(dict.fromkeys(part.grader.fields()))
        return list(seen)

    def score(self, completion: str, row: Mapping[str, Any]) -> float:
        return math.fsum(part.weight * part.grader.score(completion, row) for part in self.graders)


#: Any grader, told apart by its ``type``.
Grader = Annotated[
    StringCheckGrader | NumericGrader | TextSimilarityGrader | MultiGrader,
    Field(discriminator="type"),
]
_GRADER: TypeAdapter[Grader] = TypeAdapter(Grader)


def parse_grader(declaration: Any) -> Grader:
    """The grader a decoded declaration describes; pydantic's ValidationError when it is not
    one (each problem with its location)."""
    return _GRADER.validate_python(declaration)


def grader_field_problems(grader: Grader, fields: ReferenceFields) -> list[tuple[str, str]]:
    """Why a checked dataset's rows cannot feed ``grader``: ``(field, message)`` for each field
    it reads that some row lacks as a string or a number, in the grader's order, naming the
    first line without it. A field the summary did not track (``fields.truncated``) is no
    problem here, since every row may have it: ``unchecked_grader_fields`` names those."""
    problems = []
    for path in grader.fields():
        if path in fields.paths:
            line = fields.paths[path]
            if line is None:
                continue
            where = f"line {line} has no"
        elif fields.truncated:
            continue
        else:
            where = "no row has"
        problems.append((path, f"{where} {path!r} (a string or a number), which the grader reads"))
    return problems


def unchecked_grader_fields(grader: Grader, fields: ReferenceFields) -> list[tuple[str, str]]:
    """The fields ``grader`` reads that a truncated summary did not track, so no one knows yet
    whether every row has them: ``(field, message)`` each, for a warning, not a refusal."""
    if not fields.truncated:
        return []
    return [
        (
            path,
            f"{path!r} was not checked: the rows carry more than {MAX_REFERENCE_PATHS} fields a "
            f"grader may read, or nest them deeper than {MAX_REFERENCE_DEPTH} keys",
        )
        for path in grader.fields()
        if path not in fields.paths
    ]


def _number(text: str) -> float | None:
    """The last number written in ``text`` (a final answer usually comes last), or None."""
    found = [match for match in _NUMBER.findall(text) if any(c.isdigit() for c in match)]
    if not found:
        return None
    try:
        value = float(found[-1].replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None
