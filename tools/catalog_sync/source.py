"""Where things are in a catalog module's source: entry lines, definitions, the data block.

Findings point at ``file:line`` so that a reviewer lands on the entry or field that drifted; the
running module cannot say where a tuple element came from, so this reads the syntax tree instead.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

__all__ = [
    "BEGIN_MARKER",
    "END_MARKER",
    "EntryCall",
    "SourceMap",
    "data_block_lines",
    "read_source_map",
]

BEGIN_MARKER = "# --- catalog data: begin"
END_MARKER = "# --- catalog data: end"
ENTRIES_NAME = "TINKER_MODELS"
RETIRED_NAME = "TINKER_RETIREMENTS"


@dataclass(frozen=True)
class EntryCall:
    """One element of the ``TINKER_MODELS`` (or ``TINKER_RETIREMENTS``) tuple literal."""

    index: int
    tinker_id: str | None
    line: int
    keywords: dict[str, ast.expr]

    def keyword_line(self, name: str) -> int:
        """The line of keyword ``name``, or of the call itself when the field is left default."""
        node = self.keywords.get(name)
        return self.line if node is None else node.lineno


@dataclass
class SourceMap:
    """Lines of the things findings point at, read from one catalog module's syntax tree."""

    entries: list[EntryCall] = field(default_factory=list)
    entries_line: int = 1
    #: the elements of ``TINKER_RETIREMENTS``, as written (``tinker_id`` keyword and lines)
    retirements: list[EntryCall] = field(default_factory=list)
    retired_line: int = 1
    #: top-level names (``TrainingModel``, ``SUGGESTION_CUTOFF``) and class members
    #: (``TrainingModel.size_b``)
    definitions: dict[str, int] = field(default_factory=dict)

    def definition_line(self, *names: str) -> int:
        """The line of the first of ``names`` that is defined, else line 1."""
        for name in names:
            if name in self.definitions:
                return self.definitions[name]
        return 1


def _assigned_name(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def _entry_calls(value: ast.expr) -> list[EntryCall]:
    if not isinstance(value, ast.Tuple | ast.List):
        return []
    calls = []
    for index, element in enumerate(value.elts):
        keywords: dict[str, ast.expr] = {}
        if isinstance(element, ast.Call):
            keywords = {kw.arg: kw.value for kw in element.keywords if kw.arg is not None}
        id_node = keywords.get("tinker_id")
        tinker_id = None
        if isinstance(id_node, ast.Constant) and isinstance(id_node.value, str):
            tinker_id = id_node.value
        calls.append(EntryCall(index, tinker_id, element.lineno, keywords))
    return calls


def read_source_map(tree: ast.Module) -> SourceMap:
    """Every line a finding may point at, from the module's top-level statements."""
    source_map = SourceMap()
    for node in tree.body:
        name, value = _assigned_name(node)
        if name is not None:
            source_map.definitions.setdefault(name, node.lineno)
        if name == ENTRIES_NAME and value is not None:
            source_map.entries = _entry_calls(value)
            source_map.entries_line = node.lineno
        elif name == RETIRED_NAME and value is not None:
            source_map.retired_line = node.lineno
            source_map.retirements = _entry_calls(value)
        elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            source_map.definitions.setdefault(node.name, node.lineno)
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    member_name = (
                        member.name
                        if isinstance(member, ast.FunctionDef)
                        else _assigned_name(member)[0]
                    )
                    if member_name is not None:
                        qualified = f"{node.name}.{member_name}"
                        source_map.definitions.setdefault(qualified, member.lineno)
    return source_map


def data_block_lines(lines: list[str]) -> tuple[int, int]:
    """Indices of the begin and end marker lines; ValueError unless there is exactly one of each."""
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN_MARKER)]
    ends = [i for i, line in enumerate(lines) if line.startswith(END_MARKER)]
    if len(begins) != 1 or len(ends) != 1:
        raise ValueError(
            f"expected one line starting {BEGIN_MARKER!r} and one starting {END_MARKER!r}, "
            f"found {len(begins)} and {len(ends)}"
        )
    if ends[0] < begins[0]:
        raise ValueError("the data block's end marker comes before its begin marker")
    return begins[0], ends[0]
