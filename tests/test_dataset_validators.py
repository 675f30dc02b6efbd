"""The SDK's dataset validator and the API's mirror give the same verdict on every file.

``dn`` checks a training file on the user's machine and the API checks the upload; the two
packages may not import each other, so each has its own copy (``dreadnode.training.datasets``,
``app.training.datasets``). This test runs both over every file in ``tests/dataset_corpus/``
and a few generated ones, each fed in many chunkings, and requires the same format, figures and
``(line, loc, msg, type)`` errors, the same ``describe_dataset_problems`` sentence and, for a
good ``prompt`` file, the same reference fields (what an RL grader may read, and the first line
lacking each). It also pins what each file's verdict is, so a bug that both copies share still
fails here.

Some cases are made here rather than committed: the hygiene hooks would rewrite their bytes (a
missing final newline, trailing blank or whitespace-only lines), or they are too big to commit
(a row over the 4 MiB limit, one with more JSON values than a row may hold).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.training import datasets as api
from dreadnode.training import datasets as sdk

CORPUS = Path(__file__).parent / "dataset_corpus"
MiB = 1024 * 1024
LIMIT = sdk.DEFAULT_MAX_ROW_BYTES

#: Every error type the validators may give; the expectations below must use each one.
ERROR_TYPES = {
    "invalid_json",
    "invalid_encoding",
    "not_an_object",
    "unknown_row_format",
    "dataset_format_mismatch",
    "missing_field",
    "extra_field",
    "invalid_type",
    "empty_string",
    "empty_list",
    "invalid_role",
    "no_assistant_turn",
    "row_too_long",
    "too_many_values",
    "number_out_of_range",
    "duplicate_key",
    "empty_dataset",
}


@dataclass(frozen=True)
class Expected:
    """What a file's check must say: its format, valid rows, and each error's line and type
    (``errors=None`` when only ``error_count`` is pinned), and its reference fields as
    ``ReferenceFields.to_json`` gives them (None for every file but a good ``prompt`` one)."""

    format: str | None
    rows: int
    errors: list[tuple[int, str]] | None = None
    error_count: int | None = None
    reference_fields: dict[str, Any] | None = None


def _chat(user: str = "hi", answer: str = "hello") -> bytes:
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return json.dumps({"messages": messages}).encode()


CHAT = _chat()
TEXT = b'{"text": "a text row"}'
VALUES_LIMIT = sdk.DEFAULT_MAX_ROW_VALUES


def _values_row(values: int) -> bytes:
    """A prompt row holding exactly ``values`` JSON values (the row, its prompt, its metadata,
    a list, and empty objects and arrays, whitespace between them)."""
    items = values - 4
    return (
        b'{"prompt": "p", "metadata": {"x": ['
        + b", ".join(b"{ }" if index % 2 else b"[]" for index in range(items))
        + b"]}}"
    )


def _references(
    first_row_line: int, paths: dict[str, int | None], truncated: bool = False
) -> dict[str, Any]:
    """Reference fields as a check stores them."""
    return {"first_row_line": first_row_line, "paths": paths, "truncated": truncated}


#: A prompt row with more distinct fields a grader could read than a check tracks.
WIDE = json.dumps({"prompt": "p", "metadata": {f"k{i}": i for i in range(100)}}).encode()
#: A prompt row nesting objects below the deepest path a check tracks.
DEEP = b'{"prompt": "p", "answer": 1, "metadata": {"a": {"b": {"c": {"d": 4}, "e": 3}}}}'


EXPECTED: dict[str, Expected] = {
    "good-chat.jsonl": Expected("chat", 5, []),
    "good-prompt-completion.jsonl": Expected("prompt_completion", 3, []),
    "good-text.jsonl": Expected("text", 3, []),
    "good-prompt-rl.jsonl": Expected(
        "prompt",
        4,
        [],
        reference_fields=_references(1, {"prompt": 3, "metadata.answer": 1, "metadata.source": 1}),
    ),
    "good-prompt-answers.jsonl": Expected(
        "prompt",
        5,
        [],
        # Line 2 is the first row; "a b" is no key a grader can name, arrays are not walked.
        reference_fields=_references(
            2,
            {
                "prompt": 5,
                "answer": None,
                "metadata.source": None,
                "metadata.difficulty": 6,
                "metadata.solution.value": None,
                "metadata.solution.unit": 3,
                "metadata.checked_by": 2,
                "metadata.notes.levels.top": 2,
            },
        ),
    ),
    "bad-prompt-answers.jsonl": Expected(
        "prompt",
        2,
        [
            (2, "invalid_type"),
            (3, "invalid_type"),
            (4, "empty_string"),
            (5, "invalid_type"),
            (6, "invalid_type"),
            (7, "missing_field"),
            (8, "extra_field"),
        ],
    ),
    "good-crlf.jsonl": Expected("chat", 2, []),
    "good-blank-lines.jsonl": Expected("text", 3, []),
    "bad-bom.jsonl": Expected("chat", 1, [(1, "invalid_encoding")]),
    "bad-chat-roles.jsonl": Expected(
        "chat",
        1,
        [(2, "invalid_role"), (3, "invalid_role"), (4, "invalid_role"), (5, "invalid_type")]
        + [(line, "invalid_role") for line in range(6, 10)],
    ),
    "bad-chat-structure.jsonl": Expected(
        "chat",
        1,
        [
            (2, "invalid_type"),
            (3, "empty_list"),
            (4, "invalid_type"),
            (5, "missing_field"),
            (6, "missing_field"),
            (7, "extra_field"),
            (8, "invalid_type"),
            (9, "empty_string"),
            (10, "no_assistant_turn"),
            (11, "extra_field"),
            (12, "invalid_type"),
            (13, "invalid_type"),
        ],
    ),
    "bad-empty.jsonl": Expected(None, 0, [(1, "empty_dataset")]),
    "bad-invalid-json.jsonl": Expected("chat", 1, [(line, "invalid_json") for line in range(2, 9)]),
    "bad-invalid-utf8.jsonl": Expected(
        "text", 2, [(2, "invalid_encoding"), (3, "invalid_encoding")]
    ),
    "bad-many-errors.jsonl": Expected("chat", 10, error_count=150),
    "bad-mismatch.jsonl": Expected(
        "chat", 2, [(line, "dataset_format_mismatch") for line in (2, 3, 4, 6)]
    ),
    "bad-mismatch-invalid-first.jsonl": Expected(
        "prompt_completion",
        1,
        [(1, "no_assistant_turn"), (3, "dataset_format_mismatch"), (4, "missing_field")],
    ),
    "bad-numbers-and-keys.jsonl": Expected(
        "text",
        2,
        [
            (2, "duplicate_key"),
            (3, "number_out_of_range"),
            (4, "number_out_of_range"),
            (5, "duplicate_key"),
            (6, "duplicate_key"),
            (7, "extra_field"),
        ],
    ),
    "bad-not-an-object.jsonl": Expected(
        "text", 1, [(line, "not_an_object") for line in range(2, 7)]
    ),
    "bad-prompt-completion.jsonl": Expected(
        "prompt_completion",
        1,
        [
            (2, "missing_field"),
            (3, "empty_string"),
            (4, "invalid_type"),
            (5, "extra_field"),
            (6, "extra_field"),
            (7, "missing_field"),
        ],
    ),
    "bad-prompt-rl.jsonl": Expected(
        "prompt",
        1,
        [
            (2, "invalid_type"),
            (3, "invalid_type"),
            (4, "invalid_type"),
            (5, "empty_list"),
            (6, "invalid_role"),
            (7, "empty_string"),
            (8, "extra_field"),
            (9, "invalid_encoding"),
        ],
    ),
    "bad-surrogate.jsonl": Expected("text", 3, [(2, "invalid_encoding"), (3, "invalid_encoding")]),
    "bad-text.jsonl": Expected(
        "text",
        1,
        [(2, "invalid_type"), (3, "empty_string"), (4, "extra_field"), (5, "invalid_type")],
    ),
    "bad-unknown-format.jsonl": Expected(
        "text",
        1,
        [*((n, "unknown_row_format") for n in (1, 2, 3)), (5, "extra_field")],
    ),
}

#: Byte-exact cases made here: name -> (bytes, expected).
GENERATED: dict[str, tuple[bytes, Expected]] = {
    "no-final-newline": (CHAT + b"\n" + CHAT, Expected("chat", 2, [])),
    "crlf-no-final-newline": (CHAT + b"\r\n" + CHAT + b"\r", Expected("chat", 2, [])),
    "trailing-blank-lines": (TEXT + b"\n\n\n\n", Expected("text", 1, [])),
    "whitespace-lines": (
        b" \t \n" + TEXT + b"\n\r\n   \n" + TEXT + b"\n\t\n",
        Expected("text", 2, []),
    ),
    "only-blank-lines": (b"\n \n\t\r\n\n", Expected(None, 0, [(1, "empty_dataset")])),
    "form-feed-is-no-blank": (TEXT + b"\n\x0c\n", Expected("text", 1, [(2, "invalid_json")])),
    "bom-only": (b"\xef\xbb\xbf", Expected(None, 0, [(1, "invalid_encoding")])),
    "bom-mid-file": (
        TEXT + b"\n\xef\xbb\xbf" + TEXT + b"\n",
        Expected("text", 1, [(2, "invalid_encoding")]),
    ),
    "only-bad-lines": (
        b"[]\n{}\nnot json\n",
        Expected(None, 0, [(1, "not_an_object"), (2, "unknown_row_format"), (3, "invalid_json")]),
    ),
    "deep-nesting": (
        b'{"prompt": "p", "metadata": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}\n",
        Expected(None, 0, [(1, "invalid_json")]),
    ),
    "huge-integer": (
        b'{"prompt": "p", "metadata": {"n": ' + b"9" * 5000 + b"}}\n",
        Expected(None, 0, [(1, "invalid_json")]),
    ),
    "raw-control-character": (
        b'{"text": "bell \x07 inside"}\n' + TEXT + b"\n",
        Expected("text", 1, [(1, "invalid_json")]),
    ),
    "too-many-values": (
        b'{"prompt": "p"}\n' + _values_row(VALUES_LIMIT + 1) + b"\n" + _values_row(VALUES_LIMIT),
        Expected("prompt", 2, [(2, "too_many_values")]),
    ),
    "too-many-values-hidden-in-strings": (
        b'{"text": "' + b"a, [{" * VALUES_LIMIT + b'"}\n',
        Expected("text", 1, []),
    ),
    "too-long-row": (
        TEXT + b"\n" + b'{"text": "' + b"x" * LIMIT + b'"}\n' + TEXT + b"\n",
        Expected("text", 2, [(2, "row_too_long")]),
    ),
    "too-long-last-row": (
        TEXT + b"\n" + b"y" * (LIMIT + 1),
        Expected("text", 1, [(2, "row_too_long")]),
    ),
    # Reference fields: at most 64 paths, 4 keys deep; beyond, the summary says it is truncated.
    "reference-fields-over-the-cap": (
        WIDE + b"\n" + WIDE + b"\n",
        Expected(
            "prompt",
            2,
            [],
            reference_fields=_references(
                1, {"prompt": None, **{f"metadata.k{i}": None for i in range(63)}}, truncated=True
            ),
        ),
    ),
    "reference-fields-too-deep": (
        b'{"prompt": "p"}\n' + DEEP + b"\r\n",
        Expected(
            "prompt",
            2,
            [],
            reference_fields=_references(
                1, {"prompt": None, "answer": 1, "metadata.a.b.e": 1}, truncated=True
            ),
        ),
    ),
    # A row of exactly the limit with a CRLF ending is accepted: the ending does not count.
    "row-at-limit-crlf": (
        b'{"text": "' + b"z" * (LIMIT - 12) + b'"}\r\n' + TEXT + b"\n",
        Expected("text", 2, []),
    ),
}

BIG = 4 * MiB


def _chunkings(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """The same bytes cut several ways: whole, fixed sizes (one byte at a time for small
    inputs), and random cuts."""
    yield "whole", [data]
    sizes = (65_536, MiB, MiB + 1, 3 * MiB - 7) if len(data) > BIG else (1, 2, 3, 7, 64, 4096)
    for size in sizes:
        yield f"{size}-byte", [data[i : i + size] for i in range(0, len(data), size)]
    rng = random.Random(len(data))
    cuts = sorted({rng.randrange(len(data) + 1) for _ in range(min(50, len(data) + 1))})
    bounds = [0, *cuts, len(data)]
    # Empty chunks included on purpose: feeding b"" must change nothing.
    yield "random", [data[a:b] for a, b in itertools.pairwise(bounds)]


def _run(module: Any, chunks: list[bytes], **options: Any) -> Any:
    validator = module.DatasetValidator(**options)
    for chunk in chunks:
        validator.feed(chunk)
    return validator.finish()


def _verdict(check: Any, module: Any) -> tuple[Any, ...]:
    """Everything a check says, in plain values that compare across the two packages."""
    return (
        None if check.format is None else check.format.value,
        check.ok,
        check.rows,
        check.bytes,
        check.sha256,
        check.longest_row_bytes,
        check.longest_row_line,
        check.error_count,
        [(e.line, e.loc, e.msg, e.type) for e in check.errors],
        module.describe_dataset_problems(check),
        None if check.reference_fields is None else check.reference_fields.to_json(),
    )


def _cases() -> Iterator[Any]:
    for path in sorted(CORPUS.glob("*.jsonl")):
        yield pytest.param(path.read_bytes(), EXPECTED.get(path.name), id=path.name)
    for name, (data, expected) in GENERATED.items():
        yield pytest.param(data, expected, id=name)


def test_every_corpus_file_has_an_expectation() -> None:
    names = {path.name for path in CORPUS.glob("*.jsonl")}
    assert names == set(EXPECTED)


def test_expectations_use_every_error_type() -> None:
    used = {
        type_
        for expected in (*EXPECTED.values(), *(e for _, e in GENERATED.values()))
        for _, type_ in expected.errors or []
    }
    assert used == ERROR_TYPES


@pytest.mark.parametrize(("data", "expected"), list(_cases()))
def test_validators_agree_on_every_chunking(data: bytes, expected: Expected) -> None:
    reference = _verdict(_run(sdk, [data]), sdk)
    for how, chunks in _chunkings(data):
        assert _verdict(_run(sdk, chunks), sdk) == reference, f"sdk, {how}"
        assert _verdict(_run(api, chunks), api) == reference, f"api, {how}"

    check = _run(sdk, [data])
    assert check.bytes == len(data)
    assert check.sha256 == hashlib.sha256(data).hexdigest()
    assert check.format == (None if expected.format is None else sdk.DatasetFormat(expected.format))
    assert check.rows == expected.rows
    if expected.errors is not None:
        assert [(e.line, e.type) for e in check.errors] == expected.errors
        assert check.error_count == len(expected.errors)
    else:
        assert check.error_count == expected.error_count
        assert len(check.errors) == min(check.error_count, sdk.DEFAULT_MAX_ERRORS)
    assert check.ok == (check.error_count == 0)
    fields = check.reference_fields
    assert (None if fields is None else fields.to_json()) == expected.reference_fields
    if fields is not None:
        # What the SDK's check gives, stored as JSON, reads back in the API's copy.
        stored = json.loads(json.dumps(fields.to_json()))
        assert api.ReferenceFields.from_json(stored).to_json() == stored
    for error in check.errors:
        # Never a raw control or bidi character in a message a terminal will print.
        assert error.msg.isprintable(), error.msg


def test_check_dataset_file_matches_feeding(tmp_path: Path) -> None:
    for path in sorted(CORPUS.glob("*.jsonl")):
        fed = _verdict(_run(api, [path.read_bytes()]), api)
        assert _verdict(sdk.check_dataset_file(path), sdk) == fed, path.name
    big = tmp_path / "big.jsonl"
    big.write_bytes(GENERATED["too-long-row"][0])
    seen: list[int] = []
    check = sdk.check_dataset_file(big, on_bytes=seen.append)
    assert _verdict(check, sdk) == _verdict(_run(api, [big.read_bytes()]), api)
    assert sum(seen) == big.stat().st_size
    assert max(seen) == MiB


@pytest.mark.parametrize(
    ("name", "given"),
    [
        ("good-chat.jsonl", "text"),
        ("good-text.jsonl", "chat"),
        ("good-prompt-completion.jsonl", "prompt"),
        ("good-prompt-rl.jsonl", "prompt_completion"),
        ("bad-mismatch.jsonl", "text"),
        ("bad-empty.jsonl", "chat"),
        ("good-prompt-rl.jsonl", "prompt"),
        ("good-prompt-answers.jsonl", "prompt"),
        ("good-prompt-answers.jsonl", "prompt_completion"),
        ("bad-prompt-answers.jsonl", "text"),
    ],
)
def test_validators_agree_with_a_format_given(name: str, given: str) -> None:
    data = (CORPUS / name).read_bytes()
    sdk_check = _run(sdk, [data], format=sdk.DatasetFormat(given))
    for _, chunks in _chunkings(data):
        api_check = _run(api, chunks, format=api.DatasetFormat(given))
        assert _verdict(api_check, api) == _verdict(sdk_check, sdk)
    assert sdk_check.format == sdk.DatasetFormat(given)


def test_validators_agree_on_small_limits() -> None:
    data = (CORPUS / "bad-many-errors.jsonl").read_bytes()
    limits = ({"max_errors": 0}, {"max_errors": 3}, {"max_row_bytes": 90}, {"max_row_values": 5})
    for options in limits:
        for _, chunks in _chunkings(data):
            assert _verdict(_run(sdk, chunks, **options), sdk) == _verdict(
                _run(api, chunks, **options), api
            )


def test_public_names_and_constants_match() -> None:
    assert [f.value for f in sdk.DatasetFormat] == [f.value for f in api.DatasetFormat]
    assert {f.value: m for f, m in sdk.FORMAT_METHODS.items()} == {
        f.value: m for f, m in api.FORMAT_METHODS.items()
    }
    assert sdk.MESSAGE_ROLES == api.MESSAGE_ROLES
    assert (sdk.DEFAULT_MAX_ERRORS, sdk.DEFAULT_MAX_ROW_BYTES, sdk.DEFAULT_MAX_ROW_VALUES) == (
        api.DEFAULT_MAX_ERRORS,
        api.DEFAULT_MAX_ROW_BYTES,
        api.DEFAULT_MAX_ROW_VALUES,
    )
    assert (sdk.MAX_REFERENCE_PATHS, sdk.MAX_REFERENCE_DEPTH, sdk.MAX_REFERENCE_PATH_CHARS) == (
        api.MAX_REFERENCE_PATHS,
        api.MAX_REFERENCE_DEPTH,
        api.MAX_REFERENCE_PATH_CHARS,
    )
    assert set(api.__all__) == set(sdk.__all__) - {"check_dataset_file"}
