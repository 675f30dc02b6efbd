"""Graders as a user meets them: each declared kind scores hand-written completions as a user
would expect, a bad declaration is refused with a message naming what is wrong, a completion a
grader cannot read scores 0 rather than failing, and a checked dataset whose rows lack a field
the grader reads is named with its first line.

Written once, here, against the source of truth; the API's copy (``app.training.graders``) is
held to it line for line by ``python -m tools.catalog_sync check``, so what is pinned here holds
for the server's words too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dreadnode.training.datasets import ReferenceFields, check_dataset_file
from dreadnode.training.graders import (
    GradingError,
    grader_field_problems,
    parse_grader,
    unchecked_grader_fields,
)

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


def test_a_declaration_as_read_from_a_json_file_parses() -> None:
    text = '{"type": "numeric", "field": "answer", "extract": "after", "marker": "####"}'
    grader = parse_grader(json.loads(text))
    assert grader.score("6 x 7 ... #### 42", ROW) == 1.0
    assert grader.fields() == ["answer"]


def checked(tmp_path: Path, *rows: dict[str, Any] | str) -> ReferenceFields:
    """The reference fields of a file with these lines, checked as ``dn`` checks it."""
    path = tmp_path / "prompts.jsonl"
    lines = (row if isinstance(row, str) else json.dumps(row) for row in rows)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    check = check_dataset_file(path)
    assert check.ok, check.errors
    assert check.reference_fields is not None
    return check.reference_fields


def multi(*fields: str) -> Any:
    return parse_grader(
        {
            "type": "multi",
            "graders": [
                {"weight": 1, "grader": {"type": "string_check", "field": field}}
                for field in fields
            ],
        }
    )


def test_field_problems_name_the_first_line_without_each_field(tmp_path: Path) -> None:
    fields = checked(
        tmp_path,
        "",
        {"prompt": "6 x 7?", "answer": "42", "metadata": {"city": "Paris", "n": 1}},
        {"prompt": "5 - 1?", "answer": 4, "metadata": {"city": "Oslo"}},
        {"prompt": "Capital?", "metadata": {"city": "Rome", "n": True}},
    )
    grader = multi("metadata.city", "answer", "metadata.n", "metadata.country")
    assert grader_field_problems(grader, fields) == [
        ("answer", "line 4 has no 'answer' (a string or a number), which the grader reads"),
        ("metadata.n", "line 3 has no 'metadata.n' (a string or a number), which the grader reads"),
        (
            "metadata.country",
            "no row has 'metadata.country' (a string or a number), which the grader reads",
        ),
    ]
    assert grader_field_problems(multi("metadata.city", "prompt"), fields) == []
    assert unchecked_grader_fields(grader, fields) == []


def test_a_field_first_seen_further_down_is_missing_from_the_first_row(tmp_path: Path) -> None:
    fields = checked(tmp_path, {"prompt": "p"}, {"prompt": "q", "answer": "a"})
    problems = grader_field_problems(parse_grader({"type": "numeric", "field": "answer"}), fields)
    assert problems == [
        ("answer", "line 1 has no 'answer' (a string or a number), which the grader reads")
    ]


def test_a_field_a_truncated_summary_did_not_track_is_not_refused(tmp_path: Path) -> None:
    deep = {"prompt": "p", "answer": 1, "metadata": {"a": {"b": {"c": {"d": "deep"}}}}}
    fields = checked(tmp_path, deep, deep)
    assert fields.truncated
    grader = multi("metadata.a.b.c.d", "answer", "metadata.missing")
    assert grader_field_problems(grader, fields) == []
    assert unchecked_grader_fields(grader, fields) == [
        (
            "metadata.a.b.c.d",
            "'metadata.a.b.c.d' was not checked: the rows carry more than 64 fields a grader "
            "may read, or nest them deeper than 4 keys",
        ),
        (
            "metadata.missing",
            "'metadata.missing' was not checked: the rows carry more than 64 fields a grader "
            "may read, or nest them deeper than 4 keys",
        ),
    ]


def test_field_problems_agree_with_grading_each_row(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"prompt": "a", "answer": "1", "metadata": {"k": {"j": 2}}},
        {"prompt": "b", "answer": 2, "metadata": {"k": {"j": "x"}}},
        {"prompt": "c", "answer": 3.5, "metadata": {"k": {}}},
    ]
    fields = checked(tmp_path, *rows)
    for field in ("answer", "metadata.k.j", "metadata.k", "prompt"):
        grader = parse_grader({"type": "string_check", "field": field})
        failing = []
        for line, row in enumerate(rows, start=1):
            try:
                grader.score("x", row)
            except GradingError:
                failing.append(line)
        expected = [] if not failing else [field]
        assert [path for path, _ in grader_field_problems(grader, fields)] == expected, field
        assert fields.first_line_without(field) == (failing[0] if failing else None), field
