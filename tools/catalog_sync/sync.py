"""Rewrites the API's mirror from the SDK's catalog: one edit, made once, in the SDK.

The mirror keeps its own module docstring (it says what the file is and where its source of truth
lives); everything after that docstring is the SDK module's text after *its* docstring, verbatim:
types, functions and data alike. ``check`` still compares the two field by field, schema and
behaviour, so a hand edit of the mirror is caught even when nobody runs ``sync``.
"""

from __future__ import annotations

import ast
import difflib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["SyncError", "synced_text", "unified_diff", "write_atomically"]


class SyncError(Exception):
    """A copy cannot be synced (unreadable, not Python, or without a module docstring)."""


def _read(path: Path, display: str) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise SyncError(f"{display}: cannot read: {error}") from error


def _split_after_docstring(text: str, display: str) -> tuple[str, str]:
    """The text up to the end of the module docstring's line, and the rest."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise SyncError(f"{display}: not valid Python: {error}") from error
    first = tree.body[0] if tree.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        raise SyncError(f"{display}: has no module docstring to keep")
    lines = text.splitlines(keepends=True)
    return "".join(lines[: first.end_lineno]), "".join(lines[first.end_lineno :])


def synced_text(sdk_path: Path, api_path: Path, sdk_display: str, api_display: str) -> str:
    """The mirror's docstring followed by the SDK module below its docstring (the same text
    when already in sync)."""
    _, body = _split_after_docstring(_read(sdk_path, sdk_display), sdk_display)
    docstring, _ = _split_after_docstring(_read(api_path, api_display), api_display)
    return docstring + body


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename, so a crash never leaves half a mirror. The
    file keeps its permissions (``mkstemp`` would make it readable by its owner only)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as output:
            output.write(text)
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def unified_diff(before: str, after: str, display: str) -> str:
    """The change ``sync`` makes, as ``git diff`` would show it."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{display}",
            tofile=f"b/{display}",
        )
    )
