"""A mirror compared line by line with what ``sync`` would write: the first line that differs.

Code mirrored whole has no fields to compare; what matters is that the mirror is the source's
text, less what its pair omits. One finding names the first line that differs, both lines and the
command that repairs it (everything after the first difference is usually that difference's
echo, so one is what a person can act on). As for every finding, ``sdk_*`` is the first side
(here the source) and ``api_*`` the second (the mirror).
"""

from __future__ import annotations

import itertools

from tools.catalog_sync.findings import MISSING, Finding, Location
from tools.catalog_sync.sync import Synced

__all__ = ["MIRROR_DIFFERS", "compare_text"]

MIRROR_DIFFERS = "mirror-differs"


def _shown(line: str | None, other: str | None) -> object:
    """A line as the finding shows it: without its line break, unless only the breaks differ."""
    if line is None:
        return MISSING
    if other is not None and line.rstrip("\r\n") == other.rstrip("\r\n"):
        return line
    return line.rstrip("\n")


def compare_text(
    expected: Synced, actual: str, source_display: str, mirror_display: str, fix: str
) -> list[Finding]:
    """No finding when ``actual`` (the mirror's text) is ``expected`` (what ``sync`` writes),
    else one: the first line that differs, with the source line it should be."""
    want = expected.text.splitlines(keepends=True)
    have = actual.splitlines(keepends=True)
    pairs = enumerate(itertools.zip_longest(want, have))
    index = next((i for i, (wanted, had) in pairs if wanted != had), None)
    if index is None:
        return []
    wanted = want[index] if index < len(want) else None
    had = have[index] if index < len(have) else None
    line = index + 1
    source_line = expected.source_lines[index] if wanted is not None else None
    if source_line is None:
        where = f"first difference at line {line} (past the end of the source)"
    elif had is None:
        where = f"first difference at line {line} (past the end of the mirror; source line "
        where += f"{source_line})"
    else:
        where = f"first difference at line {line} (source line {source_line})"
    return [
        Finding(
            code=MIRROR_DIFFERS,
            path=mirror_display,
            sdk_value=_shown(wanted, had),
            api_value=_shown(had, wanted),
            sdk_location=None if source_line is None else Location(source_display, source_line),
            api_location=Location(mirror_display, line),
            note=where,
            fix=fix,
        )
    ]
