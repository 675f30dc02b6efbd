"""Graders on their own: each declared kind scores hand-written completions as a user would
expect, a bad declaration is refused with a message naming what is wrong, and a completion a
grader cannot read scores 0 rather than failing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.training.graders import GradingError, parse_grader

ROW = {"prompt": "What is 6 times 7?", "answer": "42", "metadata": {"city": "Paris", "n": 3.5}}


def score(declaration: dict[str, Any], completion: str, row: dict[str, Any] = ROW) -> float:
    return parse_grader(declaration).score(completion, row)


@pytest.mark.parametrize(
    ("declaration", "completion", "expected"),
    [
        ({"type": "string_check", "field": "answer"}, "  42\n", 1.0),
        ({"type": "string_check", "field": "answer"}, "It is 42.", 0.0),
        ({"type": "string_check", "field": "answer", "operation": "ne"}, "41", 1.0),
        ({"type": "string_check", "field": "answer", "operation": "like"}, "It is 42.", 1.0),
        ({"type": "string_check", "field": "metadata.city", "operation": "ilike"},
         "the capital is PARIS", 1.0),
        ({"type": "string_check", "field": "metadata.city", "operation": "like"},
         "the capital is PARIS", 0.0),
        ({"type": "string_check", "field": "answer", "extract": "last_line"},
         "Six sevens...\n\n42\n", 1.0),
        ({"type": "string_check", "field": "answer", "extract": "after", "marker": "Answer:"},
         "Answer: 41? No. Answer: 42", 1.0),
        ({"type": "string_check", "field": "answer", "extract": "regex",
          "pattern": r"\\boxed\{(\d+)\}"}, "so \\boxed{42}.", 1.0),
        ({"type": "string_check", "field": "answer", "extract": "regex", "pattern": r"\d+"},
         "no digits here", 0.0),
    ],
)  # fmt: skip
def test_string_checks_compare_what_they_extract(
    declaration: dict[str, Any], completion: str, expected: float
) -> None:
    assert score(declaration, completion) == expected


@pytest.mark.parametrize(
    ("completion", "tolerance", "expected"),
    [
        ("The answer is 42.", 0, 1.0),
        ("6 x 7 = 42.0", 0, 1.0),  # the last number written counts
        ("about 41.9", 0.05, 0.0),
        ("about 41.9", 0.2, 1.0),
        ("1,042", 0, 0.0),
        ("I do not know", 5, 0.0),  # no number: 0, not an error
        ("-42", 0, 0.0),
    ],
)
def test_numeric_compares_the_last_number_within_a_tolerance(
    completion: str, tolerance: float, expected: float
) -> None:
    declaration = {"type": "numeric", "field": "answer", "tolerance": tolerance}
    assert score(declaration, completion) == expected


def test_numeric_reads_numbers_written_with_thousands_separators() -> None:
    row = {**ROW, "answer": 1042}
    assert score({"type": "numeric", "field": "answer"}, "It comes to 1,042.", row) == 1.0


def test_text_similarity_is_a_ratio_between_0_and_1() -> None:
    declaration = {"type": "text_similarity", "field": "metadata.city"}
    assert score(declaration, "Paris") == 1.0
    assert score(declaration, "Parts") == pytest.approx(0.8)
    assert score(declaration, "zzzzz") == 0.0


def test_multi_is_the_weighted_sum_and_names_every_field_it_reads() -> None:
    declaration = {
        "type": "multi",
        "graders": [
            {"weight": 0.75, "grader": {"type": "numeric", "field": "answer"}},
            {"weight": 0.25, "grader": {"type": "string_check", "field": "metadata.city",
                                        "operation": "like"}},
        ],
    }  # fmt: skip
    grader = parse_grader(declaration)
    assert grader.fields() == ["answer", "metadata.city"]
    assert grader.score("42, said the man from Paris", ROW) == 1.0
    assert grader.score("42", ROW) == 0.75
    assert grader.score("Paris", ROW) == 0.25


def test_a_row_without_the_field_is_the_datasets_fault_not_the_models() -> None:
    grader = parse_grader({"type": "string_check", "field": "metadata.answer"})
    with pytest.raises(GradingError, match=r"the row has no 'metadata\.answer'"):
        grader.score("42", ROW)
    with pytest.raises(GradingError, match="not a number"):
        parse_grader({"type": "numeric", "field": "metadata.city"}).score("42", ROW)


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"type": "regex_check", "field": "answer"}, "does not match any of the expected tags"),
        ({"type": "string_check"}, "Field required"),
        ({"type": "string_check", "field": "an answer"}, "should match pattern"),
        ({"type": "string_check", "field": "answer", "extract": "regex"},
         "extract 'regex' needs a pattern"),
        ({"type": "string_check", "field": "answer", "extract": "regex", "pattern": "("},
         "pattern is not a regular expression"),
        ({"type": "string_check", "field": "answer", "marker": "A:"},
         "marker goes with extract 'after' only"),
        ({"type": "string_check", "field": "answer", "operation": "like!"}, "'eq', 'ne'"),
        ({"type": "numeric", "field": "answer", "tolerance": -1}, "greater than or equal to 0"),
        ({"type": "multi", "graders": []}, "at least 1 item"),
        ({"type": "multi", "graders": [{"weight": 1, "grader": {"type": "multi", "graders": []}}]},
         "does not match any of the expected tags"),
        ({"type": "string_check", "field": "answer", "threshold": 1}, "Extra inputs"),
    ],
)  # fmt: skip
def test_a_bad_declaration_is_refused_saying_what_is_wrong(
    declaration: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_grader(declaration)
    assert message in str(refused.value)
