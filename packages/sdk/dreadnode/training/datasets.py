"""Training datasets: the rules a JSONL file must follow, checked on the user's machine.

The API checks every upload with a mirror of this module (``packages/api/app/training/
datasets.py``); the two may not import each other, so the code below the docstring is the same
in both (this copy adds ``check_dataset_file``), and ``tests/test_dataset_validators.py`` runs
both over one corpus and requires the same verdicts, figures and messages. A file that fails
here fails there with the same words, line numbers included, before anything is sent.

The rules:

- The file is UTF-8 JSON Lines: one JSON object per line, lines split on ``\\n`` only (a
  ``\\r`` before it is allowed), the last line's ``\\n`` optional. No byte order mark, no lone
  surrogate escapes, no ``NaN``/``Infinity``, no number too large for a float (``1e400`` would
  read as infinity: ``number_out_of_range``), no key twice in one object (readers disagree on
  which value wins: ``duplicate_key``): a trainer reading the file with ``json.loads`` per line
  must get exactly what was checked.
- Blank lines (empty, or only spaces, tabs and ``\\r``) are skipped, as the NDJSON spec allows;
  they still count in line numbers but are neither rows nor errors. A file with no rows at all
  is refused (``empty_dataset``).
- Each row is one of four formats, told apart by its fields:

  ========================  ================================================================
  ``chat`` (SFT)            ``{"messages": [{"role": ..., "content": str}, ...]}``, roles
                            ``system``, ``user``, ``assistant``, ``tool``, at least one
                            ``assistant`` message
  ``prompt_completion``     ``{"prompt": str, "completion": str}`` (SFT)
  ``text`` (SFT)            ``{"text": str}``
  ``prompt`` (RL)           ``{"prompt": str or messages, "answer": str or number,
                            "metadata": object}``, answer and metadata optional, messages as
                            in chat with no assistant turn needed
  ========================  ================================================================

  Every string must be non-empty and no other field is allowed (``extra_field``): an unknown
  field is almost always a typo of a known one, which a trainer would silently ignore. A
  ``prompt`` row's ``answer`` is what an RL grader compares completions with: a number, or a
  non-empty string (never a boolean or ``null``, which no grader can compare).
- A file holds one format: the one given, else the one of its first valid row. A valid row of
  another format is an error (``dataset_format_mismatch``) naming both formats.
- A row longer than ``max_row_bytes`` (4 MiB by default, its line ending not counted) is
  refused without being parsed; it is never held whole. A row holding more than
  ``max_row_values`` JSON values (every object, array, string, number, ``true``, ``false`` and
  ``null``, keys aside; 262,144 by default) is refused before it is parsed too
  (``too_many_values``): a value costs a Python object of 24 to 200 bytes for as little as two
  bytes of JSON, so it is the count, not the bytes, that bounds what a parsed row costs. Memory
  stays bounded by about ten times one row (its bytes, its text, its strings: four bytes a
  character at worst) plus one chunk, whatever the file holds.
- Each bad line gets one error (its first problem); the first ``max_errors`` (100) are kept and
  all are counted.

What a grader may read: a good ``prompt`` file's check also says which fields its rows carry
for an RL grader to compare with (``DatasetCheck.reference_fields``, a ``ReferenceFields``):
every path to a string or a number (not a boolean) among ``prompt``, ``answer`` and
``metadata``'s objects (``metadata.source``, ``metadata.solution.value``), each with the first
line lacking it, so a job whose grader reads a field some row lacks is refused at once, naming
that line, without the file being read again. Only keys a grader can name (letters, digits and
underscores, at most ``MAX_REFERENCE_PATH_CHARS`` (200) characters in all, as a grader's field
is). The summary stays small whatever the file holds: at most ``MAX_REFERENCE_PATHS`` (64)
paths of at most ``MAX_REFERENCE_DEPTH`` (4) keys; rows with more, or deeper, leave it marked
``truncated``, and it then says nothing about the paths it did not track.

Speed: each line is parsed with the standard library's C JSON decoder and then checked by hand
on the decoded dicts (no model per row), so checking costs little more than parsing. A
``prompt`` row's reference fields cost little more than comparing its keys and their values'
types with the row before's, when they are the same (rows of one file mostly are); otherwise a
walk over its ``metadata`` objects (not its arrays) and two set differences.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from os import PathLike
from types import MappingProxyType
from typing import Any

__all__ = [
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_ROW_BYTES",
    "DEFAULT_MAX_ROW_VALUES",
    "FORMAT_METHODS",
    "MAX_REFERENCE_DEPTH",
    "MAX_REFERENCE_PATHS",
    "MAX_REFERENCE_PATH_CHARS",
    "MESSAGE_ROLES",
    "DatasetCheck",
    "DatasetFormat",
    "DatasetValidator",
    "LineError",
    "ReferenceFields",
    "check_dataset_file",
    "describe_dataset_problems",
]

#: How many line errors a check keeps (all are counted): enough to show a pattern, small
#: enough for one answer.
DEFAULT_MAX_ERRORS = 100
#: The longest row accepted, in bytes: 16 bytes a token at the longest context a Tinker model
#: offers (262,144 tokens), beyond what any tokenizer averages even on JSON-escaped text, so no
#: trainable row is refused; small enough that a parsed row stays within tens of megabytes.
DEFAULT_MAX_ROW_BYTES = 4 * 1024 * 1024
#: The most JSON values a row may hold: one per token of that longest context (a chat message
#: costs several tokens of template alone), so no trainable row is refused; at most about 50 MB
#: of Python objects for the worst shape.
DEFAULT_MAX_ROW_VALUES = 262_144
#: What ``check_dataset_file`` reads at a time.
READ_CHUNK_BYTES = 1024 * 1024
#: The most reference field paths a check tracks: far more than a grader reads (one, or one per
#: part of a ``multi`` grader), few enough that the summary fits in a small JSON column.
MAX_REFERENCE_PATHS = 64
#: The most keys in a tracked path (``answer`` is 1, ``metadata.a.b.c`` is 4).
MAX_REFERENCE_DEPTH = 4
#: The longest tracked path, in characters: the longest field a grader may name.
MAX_REFERENCE_PATH_CHARS = 200


class DatasetFormat(StrEnum):
    """The row formats a dataset may hold (one per file)."""

    CHAT = "chat"
    PROMPT_COMPLETION = "prompt_completion"
    TEXT = "text"
    PROMPT = "prompt"


#: The training method each format feeds: supervised rows carry the answer, RL prompts do not.
FORMAT_METHODS: Mapping[DatasetFormat, str] = MappingProxyType(
    {
        DatasetFormat.CHAT: "sft",
        DatasetFormat.PROMPT_COMPLETION: "sft",
        DatasetFormat.TEXT: "sft",
        DatasetFormat.PROMPT: "rl",
    }
)

#: The roles a chat message may have.
MESSAGE_ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")

Loc = tuple[str | int, ...]
#: A row's first problem: where in the row, the message, the error type.
Problem = tuple[Loc, str, str]


@dataclass(frozen=True)
class LineError:
    """One bad line: its 1-based number, where in the row (``("messages", 2, "role")``; empty
    for the line as a whole), a message for the user, and a stable snake_case type."""

    line: int
    loc: Loc
    msg: str
    type: str


@dataclass(frozen=True)
class ReferenceFields:
    """The fields a ``prompt`` file's rows carry for a grader to read, as the check saw them.

    ``paths`` maps each path to a string or a number (not a boolean) seen in any valid row
    (``answer``, ``metadata.source``, ``metadata.solution.value``) to the 1-based line of the
    first valid row lacking it as such a value, or to None when every valid row has it.
    ``first_row_line`` is the line of the first valid row: a path first seen further down maps
    to it. ``truncated`` says the rows carried paths that were not tracked (more than
    ``MAX_REFERENCE_PATHS``, or deeper than ``MAX_REFERENCE_DEPTH`` keys): then a path missing
    from ``paths`` may still be in every row.
    """

    first_row_line: int
    paths: Mapping[str, int | None]
    truncated: bool

    def first_line_without(self, path: str) -> int | None:
        """The line of the first valid row without ``path`` as a string or a number; None when
        every row has it, and when the summary is truncated and does not track ``path`` (not
        known: see ``paths``)."""
        if path in self.paths:
            return self.paths[path]
        return None if self.truncated else self.first_row_line

    def to_json(self) -> dict[str, Any]:
        """The summary as plain JSON values (to store beside the dataset):
        ``{"first_row_line": 1, "paths": {"answer": null, "metadata.source": 7},
        "truncated": false}``."""
        return {
            "first_row_line": self.first_row_line,
            "paths": dict(self.paths),
            "truncated": self.truncated,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReferenceFields:
        """The summary ``to_json`` gave; ``ValueError`` for anything else (a stored value that
        was damaged or written by something else)."""
        first = data.get("first_row_line")
        paths = data.get("paths")
        truncated = data.get("truncated")
        if type(first) is not int or first < 1:
            raise ValueError("reference fields: 'first_row_line' is not a line number")
        if type(truncated) is not bool:
            raise ValueError("reference fields: 'truncated' is not true or false")
        if type(paths) is not dict:
            raise ValueError("reference fields: 'paths' is not an object")
        for path, line in paths.items():
            if type(path) is not str or not (line is None or (type(line) is int and line >= 1)):
                raise ValueError(
                    f"reference fields: path {_show(str(path))} maps to neither a line nor null"
                )
        return cls(first, MappingProxyType(dict(paths)), truncated)


@dataclass(frozen=True)
class DatasetCheck:
    """The verdict on a whole file, and the figures the API records for a good one.

    ``format`` is the format given, else that of the first valid row (``None`` when there was
    none). ``rows`` counts valid rows; ``bytes`` and ``sha256`` cover every byte fed, blank
    lines included; ``longest_row_bytes`` is the longest valid row without its line ending, at
    line ``longest_row_line`` (the first such; both 0 with no row). ``errors`` holds the first
    ``max_errors`` line errors, ``error_count`` counts them all. ``reference_fields`` says
    which fields the rows carry for an RL grader, for a good ``prompt`` file only (None for
    any other format and for a file with errors).
    """

    format: DatasetFormat | None
    rows: int
    bytes: int
    sha256: str
    longest_row_bytes: int
    longest_row_line: int
    errors: list[LineError]
    error_count: int
    reference_fields: ReferenceFields | None = None

    @property
    def ok(self) -> bool:
        """Whether the file is a valid dataset (at least one row, no bad line)."""
        return self.error_count == 0


class _RefusedValueError(ValueError):
    """Text Python's JSON reader takes but a trainer would not read as it was checked; raised
    mid-parse by the decoder's hooks, with the offending text."""

    def problem(self) -> Problem:
        raise NotImplementedError


class _NonFiniteNumberError(_RefusedValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's JSON reader takes them, JSON does not."""

    def problem(self) -> Problem:
        return (), f"Invalid JSON: {self} is not a JSON number", "invalid_json"


class _NumberOutOfRangeError(_RefusedValueError):
    """A JSON number too large for a float (``1e400``): Python reads it as infinity."""

    def problem(self) -> Problem:
        return (
            (),
            f"Number {_show(str(self))} is too large for a float (it would read as infinity)",
            "number_out_of_range",
        )


class _DuplicateKeyError(_RefusedValueError):
    """A key given twice in one object: Python keeps the last value, other readers the first."""

    def problem(self) -> Problem:
        return (
            (),
            f"Key {_show(str(self))} appears twice in one object: readers disagree on which "
            "value wins",
            "duplicate_key",
        )


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteNumberError(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (math.inf, -math.inf):
        raise _NumberOutOfRangeError(literal)
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    row = dict(pairs)
    if len(row) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return row


_decode = json.JSONDecoder(
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
    object_pairs_hook=_object_without_duplicates,
).decode
#: A JSON string (quotes included), escapes and all: what hides commas and brackets from a count.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_WHITESPACE = b" \t\r\n"


def _value_count(raw: bytes, limit: int) -> int:
    """How many JSON values a line holds (objects, arrays and scalars; keys aside), counted on
    its bytes without parsing them: exactly, for valid JSON, whenever that is over ``limit``;
    otherwise any number up to ``limit``, at no cost for a line too short to exceed it.

    Every value but the outermost is an item of an array or a member of an object, and a
    container with n items holds n - 1 commas and, unless empty, one item after its opening
    bracket; so the count is commas plus opening brackets plus one, less the empty containers,
    less what strings hide. Strings are stepped over one at a time, not cut out, so the count
    costs no memory however many there are."""
    if len(raw) <= 2 * limit:  # a value takes at least a byte, and a comma or bracket besides
        return 0
    structure = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1
    if structure <= limit:
        return structure
    for found in _JSON_STRING.finditer(raw):
        start, end = found.span()
        if end - start > 2:
            structure -= raw.count(b",", start, end)
            structure -= raw.count(b"[", start, end) + raw.count(b"{", start, end)
    if structure <= limit:
        return structure
    bare = raw.translate(None, _JSON_WHITESPACE)  # "[ ]" is empty too
    return structure - bare.count(b"[]") - bare.count(b"{}")


_ROLES = frozenset(MESSAGE_ROLES)
_ROLE_LIST = "'system', 'user', 'assistant' or 'tool'"


@dataclass(frozen=True)
class _Layout:
    """The fields an object must and may have, and how a message says so."""

    required: tuple[str, ...]
    allowed: frozenset[str]
    says: str


_MESSAGE_LAYOUT = _Layout(
    ("role", "content"), frozenset({"role", "content"}), "messages have 'role' and 'content'"
)
_LAYOUTS: Mapping[DatasetFormat, _Layout] = {
    DatasetFormat.CHAT: _Layout(
        ("messages",), frozenset({"messages"}), "chat rows have 'messages'"
    ),
    DatasetFormat.PROMPT_COMPLETION: _Layout(
        ("prompt", "completion"),
        frozenset({"prompt", "completion"}),
        "prompt_completion rows have 'prompt' and 'completion'",
    ),
    DatasetFormat.TEXT: _Layout(("text",), frozenset({"text"}), "text rows have 'text'"),
    DatasetFormat.PROMPT: _Layout(
        ("prompt",),
        frozenset({"prompt", "answer", "metadata"}),
        "prompt rows have 'prompt' and optionally 'answer' and 'metadata'",
    ),
}
_UNKNOWN_FORMAT = (
    "Fits no format: rows have 'messages' (chat), 'prompt' and 'completion' "
    "(prompt_completion), 'text' (text), or 'prompt' (prompt)"
)
_BYTE_ORDER_MARK = "Starts with a byte order mark (U+FEFF); save the file as UTF-8 without one"
_NO_ROWS = "The file has no rows: it is empty or every line is blank"
_SHOWN_CHARS = 40


def _show(value: str) -> str:
    """A user's string as a message may quote it: ``repr`` (so control and bidi characters
    appear as escapes, never raw), cut to a readable length."""
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return repr(value[:_SHOWN_CHARS]) + "..."


def _kind(value: object) -> str:
    """The JSON name of a decoded value's type, with its article."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _shape(row: dict[str, Any]) -> DatasetFormat | None:
    """The format a row's fields say it means to be, valid or not."""
    if "messages" in row:
        return DatasetFormat.CHAT
    if "text" in row:
        return DatasetFormat.TEXT
    if "completion" in row:
        return DatasetFormat.PROMPT_COMPLETION
    if "prompt" in row:
        return DatasetFormat.PROMPT
    return None


def _fields(row: dict[str, Any], loc: Loc, layout: _Layout) -> Problem | None:
    """The first unexpected, then the first missing field (the slow path: only for a row or a
    message whose fields are not exactly the expected ones)."""
    for key in row:
        if key not in layout.allowed:
            hint = difflib.get_close_matches(key, sorted(layout.allowed - row.keys()), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            msg = f"Unexpected field {_show(key)}{suggestion}; {layout.says}"
            return (*loc, key), msg, "extra_field"
    for key in layout.required:
        if key not in row:
            return (*loc, key), f"Missing field {key!r}", "missing_field"
    return None


def _string(value: object, loc: Loc) -> Problem | None:
    if type(value) is not str:
        return loc, f"Expected a string, got {_kind(value)}", "invalid_type"
    if not value:
        return loc, "Must not be an empty string", "empty_string"
    return None


def _message(message: object, loc: Loc) -> Problem | None:
    """One chat message's first problem."""
    if type(message) is not dict:
        return loc, f"Expected a message object, got {_kind(message)}", "invalid_type"
    if len(message) != 2 or "role" not in message or "content" not in message:
        problem = _fields(message, loc, _MESSAGE_LAYOUT)
        if problem is not None:
            return problem
    role = message["role"]
    if type(role) is not str:
        return (*loc, "role"), f"Expected a string, got {_kind(role)}", "invalid_type"
    if role not in _ROLES:
        hint = difflib.get_close_matches(role, MESSAGE_ROLES, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return (
            (*loc, "role"),
            f"Unknown role {_show(role)}; expected {_ROLE_LIST}{suggestion}",
            "invalid_role",
        )
    return _string(message["content"], (*loc, "content"))


def _messages(messages: object, loc: Loc, need_assistant: bool) -> Problem | None:
    """A list of chat messages at ``loc`` (a chat row's, or an RL prompt's)."""
    if type(messages) is not list:
        return loc, f"Expected an array of messages, got {_kind(messages)}", "invalid_type"
    if not messages:
        return loc, "Expected at least one message", "empty_list"
    assistant = not need_assistant
    for index, message in enumerate(messages):
        # The common case in a few dict lookups; anything else goes to _message for its words.
        if type(message) is dict and len(message) == 2:
            role = message.get("role")
            content = message.get("content")
            if type(role) is str and role in _ROLES and type(content) is str and content:
                assistant = assistant or role == "assistant"
                continue
        problem = _message(message, (*loc, index))
        if problem is not None:
            return problem
    if not assistant:
        return (
            loc,
            "No assistant turn: a chat row needs at least one message with role 'assistant'",
            "no_assistant_turn",
        )
    return None


def _check_chat(row: dict[str, Any]) -> Problem | None:
    if len(row) != 1 or "messages" not in row:
        problem = _fields(row, (), _LAYOUTS[DatasetFormat.CHAT])
        if problem is not None:
            return problem
    return _messages(row["messages"], ("messages",), need_assistant=True)


def _check_prompt_completion(row: dict[str, Any]) -> Problem | None:
    if len(row) != 2 or "prompt" not in row or "completion" not in row:
        problem = _fields(row, (), _LAYOUTS[DatasetFormat.PROMPT_COMPLETION])
        if problem is not None:
            return problem
    return _string(row["prompt"], ("prompt",)) or _string(row["completion"], ("completion",))


def _check_text(row: dict[str, Any]) -> Problem | None:
    if len(row) != 1 or "text" not in row:
        problem = _fields(row, (), _LAYOUTS[DatasetFormat.TEXT])
        if problem is not None:
            return problem
    return _string(row["text"], ("text",))


def _reference(value: object, loc: Loc) -> Problem | None:
    """A value a grader compares completions with: a number, or a non-empty string."""
    kind = type(value)
    if kind is int or kind is float:
        return None
    if kind is not str:
        return loc, f"Expected a string or a number, got {_kind(value)}", "invalid_type"
    return None if value else (loc, "Must not be an empty string", "empty_string")


def _check_prompt(row: dict[str, Any]) -> Problem | None:
    if len(row) != 1 or "prompt" not in row:
        problem = _fields(row, (), _LAYOUTS[DatasetFormat.PROMPT])
        if problem is not None:
            return problem
        metadata = row.get("metadata", {})
        if type(metadata) is not dict:
            return ("metadata",), f"Expected an object, got {_kind(metadata)}", "invalid_type"
        problem = _reference(row["answer"], ("answer",)) if "answer" in row else None
        if problem is not None:
            return problem
    prompt = row["prompt"]
    if type(prompt) is list:
        return _messages(prompt, ("prompt",), need_assistant=False)
    if type(prompt) is not str:
        return (
            ("prompt",),
            f"Expected a string or an array of messages, got {_kind(prompt)}",
            "invalid_type",
        )
    return _string(prompt, ("prompt",))


#: Each format's check: a decoded row's first problem as a row of that format, or None.
_ROW_CHECKS: Mapping[DatasetFormat, Callable[[dict[str, Any]], Problem | None]] = {
    DatasetFormat.CHAT: _check_chat,
    DatasetFormat.PROMPT_COMPLETION: _check_prompt_completion,
    DatasetFormat.TEXT: _check_text,
    DatasetFormat.PROMPT: _check_prompt,
}


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escapes_surrogate(raw: bytes) -> bool:
    """Whether a line's JSON text may escape a surrogate (``\\ud800`` to ``\\udfff``, either
    case): the one place a decoded row can get one. One scan for a line with no ``\\u`` escape
    at all, the common case; the rest of the line only after the first one."""
    start = raw.find(b"\\u")
    return start >= 0 and (raw.find(b"\\ud", start) >= 0 or raw.find(b"\\uD", start) >= 0)


def _has_surrogate(value: object) -> bool:
    """Whether a surrogate (from a ``\\ud800``-style escape) is anywhere in a decoded row: the
    quick test for rows whose text escapes one, before ``_surrogate`` says where. An ASCII
    string (known in O(1)) holds none; any other is encoded, in C, which a lone one fails."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif kind is dict:
            stack.extend(item)
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return False


def _surrogate(value: object) -> Problem | None:
    """The first lone surrogate (from a ``\\ud800``-style escape) anywhere in a decoded row:
    valid JSON text but no valid Unicode, so a trainer's tokenizer would fail on it. Walked
    with a stack, not recursion: JSON nests as deep as its decoder allows."""
    stack: list[tuple[object, Loc]] = [(value, ())]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                return (
                    loc,
                    f"Contains a lone surrogate (U+{ord(found.group()):04X}), not valid Unicode",
                    "invalid_encoding",
                )
        elif isinstance(item, dict):
            # Reversed onto the stack, so the first field is looked at first.
            for key, child in reversed(item.items()):
                stack.append((child, (*loc, key)))
                stack.append((key, loc))
        elif isinstance(item, list):
            stack.extend((child, (*loc, index)) for index, child in reversed(list(enumerate(item))))
    return None


def _nameable(key: str, prefix: str) -> bool:
    """Whether a grader's field could name ``prefix + key``: ASCII letters, digits and
    underscores, not starting with a digit, short enough (the grader's field pattern)."""
    return (
        key.isascii() and key.isidentifier() and len(prefix) + len(key) <= MAX_REFERENCE_PATH_CHARS
    )


def _reference_paths(row: dict[str, Any]) -> tuple[list[str], bool]:
    """The paths to a string or a number (not a boolean) in a valid prompt row that a grader
    could name, and whether objects nest below ``MAX_REFERENCE_DEPTH`` keys (not followed).
    Only objects are walked, never arrays: a grader's path has no index."""
    found = ["prompt"] if type(row["prompt"]) is str else []
    if "answer" in row:  # a string or a number: the row is valid
        found.append("answer")
    metadata = row.get("metadata")
    if not metadata:
        return found, False
    deeper = False
    stack: list[tuple[str, dict[str, Any], int]] = [("metadata.", metadata, 2)]
    while stack:
        prefix, mapping, depth = stack.pop()
        for key, value in mapping.items():
            kind = type(value)
            if kind is str or kind is int or kind is float:
                if _nameable(key, prefix):
                    found.append(prefix + key)
            elif kind is dict and value and _nameable(key, prefix):
                if depth < MAX_REFERENCE_DEPTH:
                    stack.append((f"{prefix}{key}.", value, depth + 1))
                else:
                    deeper = True
    return found, deeper


def _keys_and_types(mapping: dict[str, Any], depth: int) -> tuple[Any, ...]:
    """An object's keys and the types of their values, nested objects' shapes included down to
    ``MAX_REFERENCE_DEPTH`` (below it only whether each is empty): what ``_reference_paths``
    finds in a row depends on nothing else. Built by C loops (``tuple``, ``map``) but for
    nested objects, so comparing one row's shape with the row before's costs far less than
    walking it."""
    values = mapping.values()
    types = tuple(map(type, values))
    if dict not in types:
        return tuple(mapping), types
    inner: tuple[Any, ...]
    if depth < MAX_REFERENCE_DEPTH:
        inner = tuple(
            [_keys_and_types(value, depth + 1) for value in values if type(value) is dict]
        )
    else:
        inner = tuple([not value for value in values if type(value) is dict])
    return tuple(mapping), types, inner


class _ReferenceTracker:
    """Builds a file's ``ReferenceFields`` one valid prompt row at a time. A row shaped as the
    one before it (the same keys, values of the same types) changes nothing, which its shape
    says for a few C loops; another costs a walk over its objects and two set differences."""

    def __init__(self) -> None:
        self.first_line = 0
        self.paths: dict[str, int | None] = {}
        # The tracked paths every row so far has: the only ones a further row can change.
        self.everywhere: set[str] = set()
        self.truncated = False
        # The shape of the row before (one row's keys at most, so memory stays bounded).
        self.last_shape: tuple[Any, ...] | None = None

    def add(self, row: dict[str, Any], line: int) -> None:
        metadata = row.get("metadata")
        shape = (
            type(row["prompt"]) is str,
            "answer" in row,
            _keys_and_types(metadata, 2) if metadata else None,
        )
        if shape == self.last_shape:
            return
        self.last_shape = shape
        found, deeper = _reference_paths(row)
        if deeper:
            self.truncated = True
        paths = self.paths
        if not self.first_line:
            self.first_line = line
        if self.everywhere:
            lost = self.everywhere.difference(found)
            if lost:
                for path in lost:
                    paths[path] = line
                self.everywhere -= lost
        for path in found:
            if path not in paths:
                self._first_seen(found, line)
                return

    def _first_seen(self, found: list[str], line: int) -> None:
        """Track the paths of ``found`` not seen before (the rows above lack them), up to
        ``MAX_REFERENCE_PATHS``."""
        paths = self.paths
        for path in found:
            if path in paths:
                continue
            if len(paths) >= MAX_REFERENCE_PATHS:
                self.truncated = True
                return
            if line == self.first_line:
                paths[path] = None
                self.everywhere.add(path)
            else:
                paths[path] = self.first_line

    def result(self) -> ReferenceFields:
        return ReferenceFields(self.first_line, MappingProxyType(dict(self.paths)), self.truncated)


class DatasetValidator:
    """Checks a JSONL file fed in chunks of any size, as it streams past.

    ``feed`` each chunk in order, then ``finish`` once for the verdict. The result does not
    depend on how the bytes were cut into chunks. Memory stays bounded by one row (at most
    ``max_row_bytes``) plus one chunk: lines are checked as soon as they are complete, and an
    overlong line is counted, not kept.
    """

    def __init__(
        self,
        format: DatasetFormat | None = None,
        max_errors: int = DEFAULT_MAX_ERRORS,
        max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
        max_row_values: int = DEFAULT_MAX_ROW_VALUES,
    ) -> None:
        self._given = format
        self._format = format
        self._format_line = 0
        self._max_errors = max_errors
        self._max_row_bytes = max_row_bytes
        self._max_row_values = max_row_values
        self._hash = hashlib.sha256()
        self._bytes = 0
        self._line = 0
        self._rows = 0
        self._longest = 0
        self._longest_line = 0
        self._errors: list[LineError] = []
        self._error_count = 0
        # The incomplete last line so far, in pieces (joined once, when its end arrives).
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        # Inside an overlong line: its length so far, and whether its last byte was b"\r".
        self._skipping = False
        self._skipped = 0
        self._skipped_cr = False
        self._references = _ReferenceTracker()
        self._result: DatasetCheck | None = None

    def feed(self, chunk: bytes) -> None:
        """Check the next bytes of the file."""
        if self._result is not None:
            raise RuntimeError("feed() after finish()")
        if not chunk:
            return
        self._hash.update(chunk)
        self._bytes += len(chunk)
        if self._skipping:
            end = chunk.find(b"\n")
            if end < 0:
                self._skipped += len(chunk)
                self._skipped_cr = chunk.endswith(b"\r")
                return
            if end:
                self._skipped_cr = chunk[end - 1] == 0x0D
            self._end_overlong(self._skipped + end)
            chunk = chunk[end + 1 :]
        if b"\n" not in chunk:
            self._keep(chunk)
            return
        lines = chunk.split(b"\n")
        if self._pending:
            lines[0] = b"".join((*self._pending, lines[0]))
            self._pending = []
            self._pending_bytes = 0
        tail = lines.pop()
        check = self._check_line
        for line in lines:
            check(line)
        if tail:
            self._keep(tail)

    def finish(self) -> DatasetCheck:
        """The verdict on everything fed (the last line needs no ``\\n``)."""
        if self._result is not None:
            return self._result
        if self._skipping:
            self._end_overlong(self._skipped)
        elif self._pending:
            self._check_line(b"".join(self._pending))
            self._pending = []
        if self._rows == 0 and self._error_count == 0:
            self._error(1, (), _NO_ROWS, "empty_dataset")
        self._result = DatasetCheck(
            format=self._format,
            rows=self._rows,
            bytes=self._bytes,
            sha256=self._hash.hexdigest(),
            longest_row_bytes=self._longest,
            longest_row_line=self._longest_line,
            errors=self._errors,
            error_count=self._error_count,
            reference_fields=(
                self._references.result()
                if self._format is DatasetFormat.PROMPT and not self._error_count
                else None
            ),
        )
        return self._result

    def _keep(self, piece: bytes) -> None:
        """Hold the start of a line whose end has not arrived, unless it is already too long."""
        if not piece:
            return
        self._pending.append(piece)
        self._pending_bytes += len(piece)
        # One byte of slack: a b"\r" before the b"\n" to come is not counted.
        if self._pending_bytes > self._max_row_bytes + 1:
            self._skipping = True
            self._skipped = self._pending_bytes
            self._skipped_cr = piece.endswith(b"\r")
            self._pending = []
            self._pending_bytes = 0

    def _end_overlong(self, length: int) -> None:
        self._skipping = False
        self._line += 1
        self._too_long(self._line, length - self._skipped_cr)

    def _too_long(self, line: int, length: int) -> None:
        self._error(
            line,
            (),
            f"Row is {length:,} bytes; the limit is {self._max_row_bytes:,} bytes",
            "row_too_long",
        )

    def _error(self, line: int, loc: Loc, msg: str, type_: str) -> None:
        self._error_count += 1
        if len(self._errors) < self._max_errors:
            self._errors.append(LineError(line, loc, msg, type_))

    def _check_line(self, raw: bytes) -> None:
        """Check one complete line (without its b"\\n"): the hot path, once per line."""
        self._line += 1
        line = self._line
        size = len(raw)
        if size > self._max_row_bytes and size - raw.endswith(b"\r") > self._max_row_bytes:
            self._too_long(line, size - raw.endswith(b"\r"))
            return
        values = _value_count(raw, self._max_row_values)
        if values > self._max_row_values:
            limit = self._max_row_values
            msg = f"Row holds {values:,} JSON values; the limit is {limit:,}"
            self._error(line, (), msg, "too_many_values")
            return
        row = _parse(raw)
        if row is None:
            return  # a blank line
        problem = row if isinstance(row, tuple) else self._judge(row, line)
        # An escaped lone surrogate decodes fine but is no Unicode; look only where one may be.
        if problem is None and _escapes_surrogate(raw) and _has_surrogate(row):
            problem = _surrogate(row)
        if problem is not None:
            loc, msg, type_ = problem
            self._error(line, loc, msg, type_)
            return
        self._rows += 1
        # What a grader may read, while the file can still be good (a bad one gets no summary).
        if self._format is DatasetFormat.PROMPT and not self._error_count:
            assert type(row) is dict
            self._references.add(row, line)
        if size > self._longest:
            size -= raw.endswith(b"\r")
            if size > self._longest:
                self._longest = size
                self._longest_line = line

    def _judge(self, row: dict[str, Any], line: int) -> Problem | None:
        """A decoded row's first problem as a row of this file; the first valid row of a file
        with no format given sets the format."""
        form = self._format
        shape = _shape(row)
        if form is None:
            if shape is None:
                return (), _UNKNOWN_FORMAT, "unknown_row_format"
            problem = _ROW_CHECKS[shape](row)
            if problem is None:
                self._format = shape
                self._format_line = line
            return problem
        # A valid row of another format, with a field this file's format lacks, is a mismatch
        # (a prompt row in a prompt_completion file is only missing its completion).
        if (
            shape is not None
            and shape is not form
            and not row.keys() <= _LAYOUTS[form].allowed
            and _ROW_CHECKS[shape](row) is None
        ):
            origin = (
                f"the format given is {form}"
                if self._given is not None
                else f"the file is {form} (set by line {self._format_line})"
            )
            return (), f"This is a {shape} row, but {origin}", "dataset_format_mismatch"
        return _ROW_CHECKS[form](row)


def _parse(raw: bytes) -> dict[str, Any] | Problem | None:
    """A line decoded as a JSON object, or its problem if it is none, or None if blank."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return (
            (),
            f"Not valid UTF-8: byte 0x{raw[err.start]:02x} at byte {err.start + 1}; "
            "the file must be UTF-8",
            "invalid_encoding",
        )
    try:
        value = _decode(text)
    except RecursionError:
        return (), "Invalid JSON: nested too deeply to read", "invalid_json"
    except ValueError as err:
        return _json_problem(text, err)
    if type(value) is not dict:
        return (), f"Expected a JSON object, got {_kind(value)}", "not_an_object"
    return value


def _json_problem(text: str, err: ValueError) -> Problem | None:
    """Why a line is not JSON, or None when it is only blank."""
    if isinstance(err, _RefusedValueError):
        return err.problem()
    if not isinstance(err, json.JSONDecodeError):
        # The one other refusal: an integer too long to convert (sys.get_int_max_str_digits).
        return (), "Invalid JSON: a number has too many digits", "invalid_json"
    if not text.strip(" \t\r"):
        return None
    if text.startswith("\ufeff"):
        return (), _BYTE_ORDER_MARK, "invalid_encoding"
    return (), f"Invalid JSON: {err.msg} at column {err.colno}", "invalid_json"


def describe_dataset_problems(check: DatasetCheck) -> str:
    """One sentence about a check's errors, with their total: the ``detail`` of the API's 422
    and the CLI's summary line (``"3 of 9,000 lines are not valid chat rows"``)."""
    if check.ok:
        return f"All {check.rows:,} rows are valid {check.format} rows"
    if check.rows == 0 and check.errors and check.errors[0].type == "empty_dataset":
        return _NO_ROWS
    checked = check.rows + check.error_count
    kind = f"{check.format} " if check.format is not None else ""
    if check.error_count == 1:
        sentence = f"1 of {checked:,} lines is not a valid {kind}row"
    else:
        sentence = f"{check.error_count:,} of {checked:,} lines are not valid {kind}rows"
    if check.error_count > len(check.errors):
        sentence += f"; the first {len(check.errors):,} are listed"
    return sentence


def check_dataset_file(
    path: str | PathLike[str],
    format: DatasetFormat | None = None,
    *,
    on_bytes: Callable[[int], None] | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
    max_row_values: int = DEFAULT_MAX_ROW_VALUES,
) -> DatasetCheck:
    """Check a file on disk as the API will check its upload, reading 1 MiB at a time.

    ``on_bytes(n)`` is called after each read with the ``n`` bytes just checked (for a progress
    bar). An unreadable file raises ``OSError``, as ``open`` does.
    """
    validator = DatasetValidator(
        format, max_errors=max_errors, max_row_bytes=max_row_bytes, max_row_values=max_row_values
    )
    with open(path, "rb") as file:
        while chunk := file.read(READ_CHUNK_BYTES):
            validator.feed(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return validator.finish()
