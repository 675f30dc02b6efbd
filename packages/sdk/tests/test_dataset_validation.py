"""The dataset validator as a user meets it: what it accepts, the figures it reports, and the
words, line numbers and locations of what it refuses.

These tests are written once, here, against the source of truth; the API's mirror
(``app.training.datasets``) is held to this one by ``tests/test_dataset_validators.py``, which
runs both over a shared corpus and many chunkings and requires the same verdicts, figures and
words, so a behaviour pinned here is pinned for the server too.
"""

from __future__ import annotations

import hashlib
import json
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from dreadnode.training.datasets import (
    DEFAULT_MAX_ERRORS,
    FORMAT_METHODS,
    DatasetCheck,
    DatasetFormat,
    DatasetValidator,
    LineError,
    check_dataset_file,
    describe_dataset_problems,
)

MiB = 1024 * 1024


def row(value: Any) -> bytes:
    return json.dumps(value).encode() + b"\n"


def chat(*turns: tuple[str, Any]) -> bytes:
    return row({"messages": [{"role": role, "content": content} for role, content in turns]})


GOOD_CHAT = chat(("user", "hi"), ("assistant", "hello"))


def check(data: bytes, chunk: int | None = None, **options: Any) -> DatasetCheck:
    validator = DatasetValidator(**options)
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        validator.feed(data[start : start + step])
    return validator.finish()


def only_error(data: bytes, **options: Any) -> LineError:
    result = check(data, **options)
    assert result.error_count == 1, result.errors
    return result.errors[0]


@pytest.mark.parametrize(
    ("line", "form"),
    [
        (GOOD_CHAT, DatasetFormat.CHAT),
        (row({"prompt": "2 + 2 =", "completion": " 4"}), DatasetFormat.PROMPT_COMPLETION),
        (row({"text": "plain text"}), DatasetFormat.TEXT),
        (row({"prompt": "solve 2 + 2", "metadata": {"answer": 4}}), DatasetFormat.PROMPT),
        (row({"prompt": "solve 2 + 2", "answer": "4"}), DatasetFormat.PROMPT),
        (
            row({"prompt": "halve 5", "answer": 2.5, "metadata": {"unit": "cm"}}),
            DatasetFormat.PROMPT,
        ),
        (row({"prompt": [{"role": "user", "content": "solve"}]}), DatasetFormat.PROMPT),
    ],
)
def test_check_accepts_each_format_with_its_figures(line: bytes, form: DatasetFormat) -> None:
    data = line + b"\n" + line
    result = check(data)
    assert result.ok
    assert result.errors == []
    assert (result.format, result.rows) == (form, 2)
    assert result.bytes == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.longest_row_bytes, result.longest_row_line) == (len(line) - 1, 1)


def test_format_methods_send_rl_prompts_to_rl_and_the_rest_to_sft() -> None:
    assert dict(FORMAT_METHODS) == {
        DatasetFormat.CHAT: "sft",
        DatasetFormat.PROMPT_COMPLETION: "sft",
        DatasetFormat.TEXT: "sft",
        DatasetFormat.PROMPT: "rl",
    }


def test_check_longest_row_ignores_line_endings_and_keeps_the_first() -> None:
    short, long = row({"text": "ab"}), row({"text": "abcdef"})
    data = short + long.replace(b"\n", b"\r\n") + long
    result = check(data)
    assert (result.longest_row_bytes, result.longest_row_line) == (len(long) - 1, 2)


def test_check_skips_blank_lines_but_counts_them_in_line_numbers() -> None:
    data = b"\n  \t\n" + GOOD_CHAT + b"\r\n\n" + row({"text": "x"})
    result = check(data)
    assert result.rows == 1
    assert [(e.line, e.type) for e in result.errors] == [(6, "dataset_format_mismatch")]
    assert result.errors[0].msg == "This is a text row, but the file is chat (set by line 3)"


def test_check_given_format_is_named_in_a_mismatch() -> None:
    error = only_error(GOOD_CHAT, format=DatasetFormat.TEXT)
    assert (error.line, error.loc, error.type) == (1, (), "dataset_format_mismatch")
    assert error.msg == "This is a chat row, but the format given is text"


def test_check_row_missing_a_field_of_the_file_format_is_no_mismatch() -> None:
    data = row({"prompt": "p", "completion": "c"}) + row({"prompt": "forgot the completion"})
    error = only_error(data)
    assert (error.line, error.loc, error.msg, error.type) == (
        2,
        ("completion",),
        "Missing field 'completion'",
        "missing_field",
    )


def test_check_suggests_the_field_an_unexpected_one_may_mean() -> None:
    data = row({"prompt": "p", "completion": "c"}) + row({"prompt": "p", "complettion": "c"})
    assert [(e.line, e.loc, e.msg) for e in check(data).errors] == [
        (
            2,
            ("complettion",),
            "Unexpected field 'complettion' (did you mean 'completion'?); prompt_completion "
            "rows have 'prompt' and 'completion'",
        )
    ]
    error = only_error(chat(("user", "q"), ("assistant", "a")).replace(b'"role"', b'"Role"', 1))
    assert (error.loc, error.msg) == (
        ("messages", 0, "Role"),
        "Unexpected field 'Role' (did you mean 'role'?); messages have 'role' and 'content'",
    )


def test_check_names_the_bad_role_with_its_location_and_a_suggestion() -> None:
    data = GOOD_CHAT + chat(("system", "s"), ("user", "q"), ("asistant", "a"))
    error = only_error(data)
    assert (error.line, error.loc, error.type) == (2, ("messages", 2, "role"), "invalid_role")
    assert error.msg == (
        "Unknown role 'asistant'; expected 'system', 'user', 'assistant' or 'tool' "
        "(did you mean 'assistant'?)"
    )


def test_check_quotes_user_strings_with_escapes_never_raw() -> None:
    data = chat(("\x1b[31mred", "x")) + chat(("\u202euser", "x")) + chat(("r" * 100, "x"))
    messages = [error.msg for error in check(data).errors]
    assert messages[0].startswith("Unknown role '\\x1b[31mred';")
    assert messages[1].startswith("Unknown role '\\u202euser';")
    assert messages[2].startswith(f"Unknown role '{'r' * 40}'...;")
    assert all(message.isprintable() for message in messages)


@pytest.mark.parametrize(
    ("value", "loc", "msg", "type_"),
    [
        (
            {"messages": "hi"},
            ("messages",),
            "Expected an array of messages, got a string",
            "invalid_type",
        ),
        ({"messages": []}, ("messages",), "Expected at least one message", "empty_list"),
        (
            {"messages": [None]},
            ("messages", 0),
            "Expected a message object, got null",
            "invalid_type",
        ),
        (
            {"messages": [{"role": "assistant", "content": "a", "weight": 1}]},
            ("messages", 0, "weight"),
            "Unexpected field 'weight'; messages have 'role' and 'content'",
            "extra_field",
        ),
        (
            {"messages": [{"role": "assistant"}]},
            ("messages", 0, "content"),
            "Missing field 'content'",
            "missing_field",
        ),
        (
            {"messages": [{"role": "assistant", "content": ""}]},
            ("messages", 0, "content"),
            "Must not be an empty string",
            "empty_string",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "text"}]}]},
            ("messages", 0, "content"),
            "Expected a string, got an array",
            "invalid_type",
        ),
        (
            {"messages": [{"role": "user", "content": "q"}]},
            ("messages",),
            "No assistant turn: a chat row needs at least one message with role 'assistant'",
            "no_assistant_turn",
        ),
        (
            {"prompt": "p", "complettion": "c"},
            ("complettion",),
            "Unexpected field 'complettion'; prompt rows have 'prompt' and optionally 'answer' "
            "and 'metadata'",
            "extra_field",
        ),
        (
            {"prompt": "p", "answers": "42"},
            ("answers",),
            "Unexpected field 'answers' (did you mean 'answer'?); prompt rows have 'prompt' and "
            "optionally 'answer' and 'metadata'",
            "extra_field",
        ),
        (
            {"prompt": "p", "answer": True},
            ("answer",),
            "Expected a string or a number, got a boolean",
            "invalid_type",
        ),
        (
            {"prompt": "p", "answer": None},
            ("answer",),
            "Expected a string or a number, got null",
            "invalid_type",
        ),
        (
            {"prompt": "p", "answer": {"value": 42}},
            ("answer",),
            "Expected a string or a number, got an object",
            "invalid_type",
        ),
        ({"prompt": "p", "answer": ""}, ("answer",), "Must not be an empty string", "empty_string"),
        ({"text": 3}, ("text",), "Expected a string, got a number", "invalid_type"),
        (
            {"prompt": True},
            ("prompt",),
            "Expected a string or an array of messages, got a boolean",
            "invalid_type",
        ),
        (
            {"prompt": "p", "metadata": []},
            ("metadata",),
            "Expected an object, got an array",
            "invalid_type",
        ),
        (
            {"input": "q", "output": "a"},
            (),
            "Fits no format: rows have 'messages' (chat), 'prompt' and 'completion' "
            "(prompt_completion), 'text' (text), or 'prompt' (prompt)",
            "unknown_row_format",
        ),
    ],
)
def test_check_says_where_and_what_is_wrong_in_a_row(
    value: dict[str, Any], loc: tuple[str | int, ...], msg: str, type_: str
) -> None:
    error = only_error(row(value))
    assert (error.line, error.loc, error.msg, error.type) == (1, loc, msg, type_)


@pytest.mark.parametrize(
    ("line", "msg", "type_"),
    [
        (
            b'{"text": "a",}',
            "Invalid JSON: Expecting property name enclosed in double quotes at column 14",
            "invalid_json",
        ),
        (b'{"text": "a"} {"text": "b"}', "Invalid JSON: Extra data at column 15", "invalid_json"),
        (b'{"text": NaN}', "Invalid JSON: NaN is not a JSON number", "invalid_json"),
        (b"[1]", "Expected a JSON object, got an array", "not_an_object"),
        (
            b'{"text": "caf\xe9"}',
            "Not valid UTF-8: byte 0xe9 at byte 14; the file must be UTF-8",
            "invalid_encoding",
        ),
        (
            b'\xef\xbb\xbf{"text": "a"}',
            "Starts with a byte order mark (U+FEFF); save the file as UTF-8 without one",
            "invalid_encoding",
        ),
    ],
)
def test_check_says_why_a_line_is_no_row(line: bytes, msg: str, type_: str) -> None:
    error = only_error(line + b"\n")
    assert (error.line, error.loc, error.msg, error.type) == (1, (), msg, type_)


def test_check_finds_a_lone_surrogate_where_it_is() -> None:
    data = b'{"prompt": "p", "metadata": {"a": ["ok", "\\ud83d\\ude42", "\\udc00"]}}\n'
    error = only_error(data)
    assert (error.loc, error.msg, error.type) == (
        ("metadata", "a", 2),
        "Contains a lone surrogate (U+DC00), not valid Unicode",
        "invalid_encoding",
    )


def test_check_refuses_an_empty_file_and_one_of_blank_lines() -> None:
    for data in (b"", b"\n\n  \r\n"):
        result = check(data)
        assert not result.ok
        assert result.format is None
        assert [(e.line, e.type) for e in result.errors] == [(1, "empty_dataset")]
        assert describe_dataset_problems(result) == (
            "The file has no rows: it is empty or every line is blank"
        )


def test_check_keeps_the_first_errors_and_counts_them_all() -> None:
    bad = chat(("user", "q"), ("bot", "a"))
    data = GOOD_CHAT + bad * 150
    result = check(data, chunk=4096)
    assert len(result.errors) == DEFAULT_MAX_ERRORS
    assert result.error_count == 150
    assert [e.line for e in result.errors] == list(range(2, 102))
    assert describe_dataset_problems(result) == (
        "150 of 151 lines are not valid chat rows; the first 100 are listed"
    )
    assert check(data, max_errors=5).errors == result.errors[:5]


def test_describe_counts_one_error_and_files_with_no_format() -> None:
    one = check(row({"text": "a"}) + row({"text": ""}) + row({"text": "c"}))
    assert describe_dataset_problems(one) == "1 of 3 lines is not a valid text row"
    no_format = check(b"[]\n{}\n")
    assert describe_dataset_problems(no_format) == "2 of 2 lines are not valid rows"
    good = check(GOOD_CHAT * 1200)
    assert describe_dataset_problems(good) == "All 1,200 rows are valid chat rows"


def test_check_refuses_an_overlong_row_without_parsing_it() -> None:
    data = row({"text": "ok"}) + b"{" + b"x" * 200 + b"\r\n" + row({"text": "ok"})
    result = check(data, chunk=7, max_row_bytes=100)
    assert result.rows == 2
    assert [(e.line, e.loc, e.msg, e.type) for e in result.errors] == [
        (2, (), "Row is 201 bytes; the limit is 100 bytes", "row_too_long")
    ]


def test_check_accepts_a_row_of_exactly_the_limit() -> None:
    line = row({"text": "x" * 88})
    assert len(line) - 1 == 100
    result = check(line.replace(b"\n", b"\r\n"), chunk=3, max_row_bytes=100)
    assert result.ok
    assert result.longest_row_bytes == 100


def test_check_memory_stays_bounded_by_one_row_and_one_chunk() -> None:
    validator = DatasetValidator(max_row_bytes=MiB)
    chunk = b"x" * MiB
    tracemalloc.start()
    try:
        validator.feed(GOOD_CHAT)
        for _ in range(64):
            validator.feed(chunk)
        validator.feed(b"\n" + GOOD_CHAT)
        result = validator.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.rows == 2
    assert [(e.line, e.type, e.msg) for e in result.errors] == [
        (2, "row_too_long", "Row is 67,108,864 bytes; the limit is 1,048,576 bytes")
    ]
    assert peak < 4 * MiB


def test_check_result_does_not_depend_on_chunking() -> None:
    rng = random.Random(7)
    lines = [
        GOOD_CHAT,
        row({"text": "mismatch"}),
        b"\r\n",
        chat(("user", "\U0001f642 emoji"), ("assistant", "caf\u00e9")),
        b'{"broken": \n',
        chat(("user", "q"), ("robot", "a")),
        b"\xff\xfe\n",
    ]
    data = b"".join(rng.choice(lines) for _ in range(300))
    expected = check(data)
    for size in (1, 2, 5, 13, 100, 1000):
        assert check(data, chunk=size) == expected
    cuts = sorted(rng.sample(range(len(data)), 40))
    validator = DatasetValidator()
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        validator.feed(data[start:end])
    assert validator.finish() == expected


def test_finish_twice_gives_the_same_check_and_feed_after_it_is_refused() -> None:
    validator = DatasetValidator()
    validator.feed(GOOD_CHAT)
    first = validator.finish()
    assert validator.finish() is first
    with pytest.raises(RuntimeError):
        validator.feed(GOOD_CHAT)


def test_check_dataset_file_reports_progress_in_mebibyte_reads(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    data = GOOD_CHAT * (3 * MiB // len(GOOD_CHAT) + 1)
    path.write_bytes(data)
    progress: list[int] = []
    result = check_dataset_file(path, on_bytes=progress.append)
    assert result == check(data)
    assert result.rows == data.count(b"\n")
    assert sum(progress) == len(data)
    assert progress[:3] == [MiB, MiB, MiB]


def test_check_dataset_file_checks_with_a_given_format(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(GOOD_CHAT)
    result = check_dataset_file(path, DatasetFormat.PROMPT)
    assert result.errors[0].msg == "This is a chat row, but the format given is prompt"


def test_check_dataset_file_raises_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        check_dataset_file(tmp_path / "nope.jsonl")
