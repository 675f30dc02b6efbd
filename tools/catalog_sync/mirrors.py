"""The mirrored modules: one line per pair, the only place a pair is declared.

The packages may not import each other, so a module both need exists twice: the SDK's copy is
the source of truth and the API's is a mirror that ``sync`` rewrites from it and ``check``
compares with it. Every mirror keeps its own module docstring (what the file is and where its
source lives); everything below that docstring is the source's text below *its* docstring, less
the top-level names the pair ``omit``s. An omitted name's whole statement goes (a function or
class with its decorators, an assignment, an import that binds nothing else), with the comment
lines directly above it and the blank lines that separated it from the statement before; its
line in ``__all__`` goes too.

A new mirrored module is one ``Mirror(...)`` line in ``MIRRORS``: ``sync``, ``check`` and the
``catalog-parity`` nox session read this list, and the ``catalog-parity`` pre-commit hook's
``files`` pattern must name both paths (``tests/test_mirror_sync.py`` fails until it does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["CATALOG", "MIRRORS", "Mirror"]


@dataclass(frozen=True)
class Mirror:
    """A source module and its mirror, as paths relative to the repository root."""

    source: str
    mirror: str
    #: top-level names of the source that the mirror leaves out (its file reader, say)
    omit: tuple[str, ...] = ()
    #: how ``check`` compares them: ``"lines"`` names the first line of the mirror that differs
    #: from what ``sync`` would write; ``"catalog"`` loads both and compares them field by field
    #: (data, schema, behaviour), naming the entry and field that drifted
    compare: Literal["lines", "catalog"] = "lines"

    def source_path(self, root: Path) -> Path:
        return root / self.source

    def mirror_path(self, root: Path) -> Path:
        return root / self.mirror


#: The Tinker model catalog (``check`` compares it field by field).
CATALOG: Final = Mirror(
    "packages/sdk/dreadnode/training/models.py",
    "packages/api/app/training/catalog.py",
    compare="catalog",
)

MIRRORS: tuple[Mirror, ...] = (
    CATALOG,
    # The dataset validator; the API checks uploads as they stream in and has no file to read.
    Mirror(
        "packages/sdk/dreadnode/training/datasets.py",
        "packages/api/app/training/datasets.py",
        omit=("check_dataset_file", "READ_CHUNK_BYTES", "PathLike"),
    ),
    # RL graders: `dn train rl --grader` checks a declaration as the API will, word for word.
    Mirror("packages/sdk/dreadnode/training/graders.py", "packages/api/app/training/graders.py"),
)
