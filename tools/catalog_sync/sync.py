"""Rewrites a mirror from its source: one edit, made once, in the source (the SDK's copy).

The mirror keeps its own module docstring (it says what the file is and where its source of truth
lives); everything after that docstring is the source module's text after *its* docstring,
verbatim (types, functions and data alike), less the top-level names its pair omits (see
``tools.catalog_sync.mirrors``). What ``sync`` would write is also what ``check`` compares a
mirror with, line by line; the catalog is still compared field by field, schema and behaviour,
so a hand edit of its mirror is named by entry and field.
"""

from __future__ import annotations

import ast
import difflib
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SyncError", "Synced", "synced", "synced_text", "unified_diff", "write_atomically"]


class SyncError(Exception):
    """A mirror cannot be synced (unreadable, not Python, without a module docstring, or an
    omitted name that cannot be taken out)."""


@dataclass(frozen=True)
class Synced:
    """The mirror as ``sync`` writes it, and where each of its lines comes from."""

    text: str
    #: per line of ``text``: its line number in the source, or None (the mirror's own docstring)
    source_lines: tuple[int | None, ...]


def _read(path: Path, display: str) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError as error:
        raise SyncError(
            f"{display}: does not exist; a new mirror starts as a module docstring of its own "
            "(what the file is and which file is its source), then run sync"
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise SyncError(f"{display}: cannot read: {error}") from error


def _parse(text: str, display: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as error:
        raise SyncError(f"{display}: not valid Python: {error}") from error


def _docstring_end(tree: ast.Module, display: str) -> int:
    """The line the module docstring ends on."""
    first = tree.body[0] if tree.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        raise SyncError(f"{display}: has no module docstring to keep")
    return first.end_lineno


def _mirror_docstring_end(text: str, display: str) -> int:
    """The line the mirror's docstring ends on, read from its first tokens only: a mirror whose
    code is broken (a bad hand edit, a conflict) still keeps its docstring, and sync repairs it."""
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING}
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    try:
        first = next(token for token in tokens if token.type not in skipped)
        after = next(token for token in tokens if token.type != tokenize.COMMENT)
        value = ast.literal_eval(first.string) if first.type == tokenize.STRING else None
    except (tokenize.TokenError, SyntaxError, ValueError, StopIteration):
        value = None
    if not isinstance(value, str) or after.type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
        raise SyncError(f"{display}: has no module docstring to keep")
    return first.end[0]


def _bound_names(node: ast.stmt) -> set[str]:
    """The top-level names a statement binds, for the kinds of statement ``omit`` can take out."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {alias.asname or alias.name.partition(".")[0] for alias in node.names}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    if targets and all(isinstance(target, ast.Name) for target in targets):
        return {target.id for target in targets if isinstance(target, ast.Name)}
    return set()


def _statement_lines(
    statements: Sequence[ast.stmt], index: int, lines: list[str], display: str
) -> range:
    """The 0-based lines that belong to ``statements[index]``: its own, the comment lines directly
    above it, and the blank lines that separate it from the statement before (the blank lines
    after it instead when that is the docstring, which stays set apart from what follows)."""
    node = statements[index]
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)]) - 1
    last = node.end_lineno or node.lineno  # exclusive, 0-based
    floor = statements[index - 1].end_lineno or 0  # the line after the statement before
    after = statements[index + 1].lineno if index + 1 < len(statements) else None
    if floor == first + 1 or after == last:
        raise SyncError(
            f"{display}:{node.lineno}: cannot leave out a statement that shares a line with "
            "another; put it on lines of its own"
        )
    start = first
    while start > floor and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    if index > 1:
        while start > floor and not lines[start - 1].strip():
            start -= 1
        return range(start, last)
    end = last
    while end < len(lines) and not lines[end].strip():
        end += 1
    return range(start, end)


def _all_entry_lines(
    node: ast.stmt, omit: set[str], lines: list[str], text: str, display: str
) -> set[int]:
    """The 0-based lines of the omitted names' entries in an ``__all__ = [...]`` statement."""
    if not (isinstance(node, ast.Assign | ast.AnnAssign) and "__all__" in _bound_names(node)):
        return set()
    if not isinstance(node.value, ast.List | ast.Tuple):
        return set()
    found = set()
    for element in node.value.elts:
        if not (isinstance(element, ast.Constant) and element.value in omit):
            continue
        line = lines[element.lineno - 1].strip()
        segment = ast.get_source_segment(text, element)
        if element.lineno != element.end_lineno or line not in (segment, f"{segment},"):
            raise SyncError(
                f"{display}:{element.lineno}: cannot leave {element.value!r} out of __all__ "
                "unless it has a line of its own"
            )
        found.add(element.lineno - 1)
    return found


def _omitted_lines(
    tree: ast.Module, text: str, lines: list[str], omit: Sequence[str], display: str
) -> set[int]:
    """The 0-based source lines the mirror leaves out: every statement of an omitted name."""
    wanted = set(omit)
    dropped: set[int] = set()
    found: set[str] = set()
    statements = tree.body
    for index, node in enumerate(statements):
        dropped |= _all_entry_lines(node, wanted, lines, text, display)
        names = _bound_names(node)
        omitted = names & wanted
        if not omitted:
            continue
        if omitted != names:
            kept = ", ".join(sorted(names - wanted))
            raise SyncError(
                f"{display}:{node.lineno}: the statement that binds {', '.join(sorted(omitted))} "
                f"also binds {kept}, which the mirror keeps; give it a statement of its own"
            )
        found |= omitted
        dropped.update(_statement_lines(statements, index, lines, display))
    missing = [name for name in omit if name not in found]
    if missing:
        raise SyncError(
            f"{display}: defines no top-level {', '.join(missing)} for its mirror to leave out; "
            "update the pair's omit in tools/catalog_sync/mirrors.py"
        )
    return dropped


def synced(
    source_path: Path,
    mirror_path: Path,
    source_display: str,
    mirror_display: str,
    omit: Sequence[str] = (),
) -> Synced:
    """The mirror's docstring followed by the source module below its docstring, less ``omit``
    (the mirror's own text when it is in sync)."""
    source_text = _read(source_path, source_display)
    source_tree = _parse(source_text, source_display)
    body_start = _docstring_end(source_tree, source_display)
    source_lines = source_text.splitlines(keepends=True)
    dropped = _omitted_lines(source_tree, source_text, source_lines, omit, source_display)
    kept = [i for i in range(body_start, len(source_lines)) if i not in dropped]

    mirror_text = _read(mirror_path, mirror_display)
    docstring_end = _mirror_docstring_end(mirror_text, mirror_display)
    docstring = mirror_text.splitlines(keepends=True)[:docstring_end]
    return Synced(
        text="".join(docstring) + "".join(source_lines[i] for i in kept),
        source_lines=(*([None] * len(docstring)), *(i + 1 for i in kept)),
    )


def synced_text(
    source_path: Path,
    mirror_path: Path,
    source_display: str,
    mirror_display: str,
    omit: Sequence[str] = (),
) -> str:
    """The text of ``synced``: the mirror as ``sync`` writes it."""
    return synced(source_path, mirror_path, source_display, mirror_display, omit).text


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
