"""Rewrites the API mirror's data block from the SDK's, leaving the rest of the mirror alone.

Only the data is copied: the lines from the ``# --- catalog data: begin`` marker to the ``end``
marker, verbatim. Types and functions stay hand-written in both copies (the mirror has its own
docstring), and ``check`` reports any difference in them; copying code is not sync's job.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from tools.catalog_sync.source import data_block_lines

__all__ = ["SyncError", "synced_text", "unified_diff"]


class SyncError(Exception):
    """A copy cannot be synced (unreadable, or its data block markers are missing or repeated)."""


def _read(path: Path, display: str) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise SyncError(f"{display}: cannot read: {error}") from error


def _block(lines: list[str], display: str) -> tuple[int, int]:
    try:
        return data_block_lines(lines)
    except ValueError as error:
        raise SyncError(f"{display}: {error}") from error


def synced_text(sdk_path: Path, api_path: Path, sdk_display: str, api_display: str) -> str:
    """The mirror's text with its data block replaced by the SDK's (the same text when in sync)."""
    sdk_lines = _read(sdk_path, sdk_display).splitlines(keepends=True)
    api_lines = _read(api_path, api_display).splitlines(keepends=True)
    sdk_begin, sdk_end = _block(sdk_lines, sdk_display)
    api_begin, api_end = _block(api_lines, api_display)
    block = sdk_lines[sdk_begin : sdk_end + 1]
    if block and not block[-1].endswith(("\n", "\r")) and api_end + 1 < len(api_lines):
        block[-1] += "\n"
    return "".join(api_lines[:api_begin] + block + api_lines[api_end + 1 :])


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
