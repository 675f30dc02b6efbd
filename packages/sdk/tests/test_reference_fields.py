"""What a checked ``prompt`` file says its rows carry for an RL grader: each path to a string or
a number with the first line lacking it, small whatever the file holds, and stored as JSON.

The API records this summary at upload and refuses a job whose grader reads a field some row
lacks, naming the line, without reading the file again; so the figures pinned here are the
lines a user is sent to. ``tests/test_dataset_validators.py`` holds the API's mirror to the same
figures over the shared corpus.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from dreadnode.training.datasets import (
    MAX_REFERENCE_DEPTH,
    MAX_REFERENCE_PATH_CHARS,
    MAX_REFERENCE_PATHS,
    DatasetCheck,
    DatasetFormat,
    DatasetValidator,
    ReferenceFields,
)


def check(*rows: Any, **options: Any) -> DatasetCheck:
    """The check of a file with one line per row (a str is a line as it is, "" a blank one)."""
    validator = DatasetValidator(**options)
    for row in rows:
        validator.feed((row if isinstance(row, str) else json.dumps(row)).encode() + b"\n")
    return validator.finish()


def fields(*rows: Any) -> ReferenceFields:
    result = check(*rows)
    assert result.ok, result.errors
    assert result.reference_fields is not None
    return result.reference_fields


def test_each_path_maps_to_the_first_line_without_it() -> None:
    summary = fields(
        "",
        {"prompt": "6 x 7?", "answer": "42", "metadata": {"source": "arith", "level": 1}},
        {"prompt": "5 / 2?", "answer": 2.5, "metadata": {"source": "arith"}},
        "  ",
        {"prompt": [{"role": "user", "content": "hi"}], "answer": -1, "metadata": {"source": "x"}},
        {"prompt": "p", "answer": 0, "metadata": {"source": "y", "checked_by": "ann"}},
    )
    assert summary.first_row_line == 2
    assert dict(summary.paths) == {
        "prompt": 5,  # messages, not a string
        "answer": None,
        "metadata.source": None,
        "metadata.level": 3,
        "metadata.checked_by": 2,  # first seen on line 6: every line above lacks it
    }
    assert summary.truncated is False
    assert summary.first_line_without("answer") is None
    assert summary.first_line_without("metadata.level") == 3
    assert summary.first_line_without("metadata.missing") == 2


def test_a_value_no_grader_can_compare_counts_as_missing() -> None:
    summary = fields(
        {"prompt": "p", "metadata": {"a": 1, "b": "x", "c": 2, "d": 3}},
        {"prompt": "p", "metadata": {"a": True, "b": "y", "c": 2, "d": 3}},
        {"prompt": "p", "metadata": {"a": 1, "b": None, "c": {"x": 1}, "d": [3]}},
    )
    assert dict(summary.paths) == {
        "prompt": None,
        "metadata.a": 2,
        "metadata.b": 3,
        "metadata.c": 3,
        "metadata.d": 3,
        "metadata.c.x": 1,
    }


def test_only_objects_and_keys_a_grader_can_name_are_followed() -> None:
    long_key = "k" * MAX_REFERENCE_PATH_CHARS
    summary = fields(
        {
            "prompt": "p",
            "metadata": {
                "tags": [{"inside": "an array"}],
                "a b": "space",
                "1st": "digit first",
                "naïve": "not ASCII",
                "a.b": "dotted",
                long_key: "longer than any grader's field",
                "solution": {"value": 42, "steps": ["a", "b"]},
            },
        }
    )
    assert dict(summary.paths) == {"prompt": None, "metadata.solution.value": None}
    assert summary.truncated is False  # nothing a grader can name went untracked
    assert summary.first_line_without("metadata.tags") == 1


def test_paths_nested_deeper_than_the_cap_leave_the_summary_truncated() -> None:
    assert MAX_REFERENCE_DEPTH == 4
    four = {"prompt": "p", "metadata": {"a": {"b": {"c": "deepest tracked"}}}}
    assert dict(fields(four).paths) == {"prompt": None, "metadata.a.b.c": None}
    assert fields(four).truncated is False

    five = {"prompt": "p", "metadata": {"a": {"b": {"c": {"d": "too deep"}}}}}
    summary = fields(five)
    assert dict(summary.paths) == {"prompt": None}
    assert summary.truncated is True
    # Not known, so not claimed missing.
    assert summary.first_line_without("metadata.a.b.c.d") is None


def test_the_summary_stays_small_however_many_fields_the_rows_carry() -> None:
    rows = [{"prompt": "p", "metadata": {f"k{i}_{j}": j for j in range(8)}} for i in range(2000)]
    tracemalloc.start()
    try:
        summary = fields(*rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(summary.paths) == MAX_REFERENCE_PATHS == 64
    assert summary.truncated is True
    assert summary.first_line_without("metadata.k0_0") == 2
    assert summary.first_line_without("metadata.k1999_0") is None  # untracked: not known
    assert peak < 1024 * 1024
    assert len(json.dumps(summary.to_json())) < 4096


def test_only_a_good_prompt_file_has_a_summary() -> None:
    good = {"prompt": "p", "answer": "a"}
    assert check(good).reference_fields is not None
    assert check(good, format=DatasetFormat.PROMPT).reference_fields is not None
    assert check(good, {"prompt": "p", "answer": True}).reference_fields is None
    assert check({"text": "t"}).reference_fields is None
    assert check({"prompt": "p", "completion": "c"}).reference_fields is None
    assert check({"messages": [{"role": "assistant", "content": "a"}]}).reference_fields is None
    assert check("").reference_fields is None  # no rows at all


def test_the_summary_survives_a_json_column() -> None:
    summary = fields(
        {"prompt": "p", "answer": "1", "metadata": {"unit": "cm"}},
        {"prompt": "q", "answer": 2},
    )
    stored = json.loads(json.dumps(summary.to_json()))
    assert stored == {
        "first_row_line": 1,
        "paths": {"prompt": None, "answer": None, "metadata.unit": 2},
        "truncated": False,
    }
    again = ReferenceFields.from_json(stored)
    assert again == summary
    assert again.first_line_without("metadata.unit") == 2


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ({}, "'first_row_line' is not a line number"),
        ({"first_row_line": 0, "paths": {}, "truncated": False}, "is not a line number"),
        ({"first_row_line": 1, "paths": {}, "truncated": "no"}, "'truncated' is not true or"),
        ({"first_row_line": 1, "paths": [], "truncated": False}, "'paths' is not an object"),
        (
            {"first_row_line": 1, "paths": {"answer": "3"}, "truncated": False},
            "path 'answer' maps to neither a line nor null",
        ),
    ],
)
def test_a_damaged_stored_summary_is_refused(stored: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReferenceFields.from_json(stored)
