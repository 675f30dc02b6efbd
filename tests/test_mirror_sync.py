"""Every mirrored pair in ``tools.catalog_sync.mirrors.MIRRORS`` gets ``sync`` and ``check``.

The dataset validator is mirrored line by line: ``sync`` rewrites the API's copy from the SDK's
(its own docstring kept, the SDK's file reader left out) and ``check`` names the first line that
differs and the command that repairs it. Each test works on a copy of the pairs' files in a
temporary repository (``--root``), brought in sync first, never on the files themselves; a pair
declared only by the test shows that a new one needs no other code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.catalog_sync import mirrors
from tools.catalog_sync.cli import REPO_ROOT, main
from tools.catalog_sync.mirrors import MIRRORS, Mirror
from tools.catalog_sync.sync import SyncError, synced_text

DATASETS = next(pair for pair in MIRRORS if pair.mirror.endswith("/datasets.py"))
SYNC = "python -m tools.catalog_sync sync"


def _copy_pairs(root: Path) -> None:
    """The declared pairs' files under ``root``, each mirror synced there from its source."""
    for pair in MIRRORS:
        for relative in (pair.source, pair.mirror):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((REPO_ROOT / relative).read_bytes())


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    _copy_pairs(tmp_path)
    # In sync from the start whatever the working tree holds, so each test's drift is the only one.
    assert main(["sync", "--root", str(tmp_path)]) == 0
    capsys.readouterr()
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def _source_line(root: Path, text: str) -> int:
    """The line number of the one source line that is ``text``."""
    lines = (root / DATASETS.source).read_text(encoding="utf-8").splitlines()
    assert lines.count(text) == 1, text
    return lines.index(text) + 1


def test_sync_rewrites_a_drifted_datasets_mirror_then_check_passes(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = root / DATASETS.mirror
    synced = mirror.read_text(encoding="utf-8")
    assert synced.startswith('"""Training datasets: the rules a JSONL upload must follow')
    for left_out in ("def check_dataset_file", "READ_CHUNK_BYTES", "PathLike"):
        assert left_out not in synced
    drifted = synced.replace("DEFAULT_MAX_ERRORS = 100\n", "DEFAULT_MAX_ERRORS = 50\n")
    drifted = (
        drifted.replace("import hashlib\n", "") + "\n\ndef hand_written() -> None:\n    pass\n"
    )
    assert drifted.count("DEFAULT_MAX_ERRORS = 50") == 1
    mirror.write_text(drifted, encoding="utf-8")
    assert _run(capsys, "check", "--root", str(root))[0] == 1

    code, out = _run(capsys, "sync", "--root", str(root))
    assert code == 0
    assert out == [
        "catalog_sync: packages/api/app/training/catalog.py is already in sync",
        "catalog_sync: rewrote packages/api/app/training/datasets.py below its docstring from "
        "packages/sdk/dreadnode/training/datasets.py, leaving out check_dataset_file, "
        "READ_CHUNK_BYTES, PathLike",
        "catalog_sync: packages/api/app/training/graders.py is already in sync",
    ]
    assert mirror.read_text(encoding="utf-8") == synced
    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 0
    assert out == [
        "catalog_sync: no differences (packages/sdk/dreadnode/training/models.py vs "
        "packages/api/app/training/catalog.py)",
        "catalog_sync: no differences (packages/sdk/dreadnode/training/datasets.py vs "
        "packages/api/app/training/datasets.py)",
        "catalog_sync: no differences (packages/sdk/dreadnode/training/graders.py vs "
        "packages/api/app/training/graders.py)",
    ]
    assert _run(capsys, "sync", "--root", str(root))[1][-1].endswith("is already in sync")


def test_sync_carries_a_source_edit_into_the_mirror(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = root / DATASETS.source
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("DEFAULT_MAX_ERRORS = 100\n", "DEFAULT_MAX_ERRORS = 120\n"))
    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 1
    assert "[mirror-differs]" in out[1]
    assert _run(capsys, "sync", "--root", str(root))[0] == 0
    assert "DEFAULT_MAX_ERRORS = 120\n" in (root / DATASETS.mirror).read_text(encoding="utf-8")
    assert _run(capsys, "check", "--root", str(root))[0] == 0


def test_check_names_the_first_differing_line_and_the_fix(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = root / DATASETS.mirror
    lines = mirror.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("class DatasetValidator"))
    original = lines[index].rstrip("\n")
    lines[index] = original + "  # hand edit\n"
    lines[index + 3] = "changed too\n"  # only the first difference is named
    mirror.write_text("".join(lines), encoding="utf-8")

    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 1
    # The two numbers differ as the docstrings' lengths and the lines left out above it do.
    line, source_line = index + 1, _source_line(root, original)
    assert out[1] == (
        f"packages/api/app/training/datasets.py:{line}: [mirror-differs] first difference at line "
        f"{line} (source line {source_line}): source={json.dumps(original)} "
        f"mirror={json.dumps(original + '  # hand edit')}; run `{SYNC} --root {root}` to rewrite "
        "it from packages/sdk/dreadnode/training/datasets.py"
    )
    assert out[2] == (
        "catalog_sync: 1 finding (1 mirror-differs) (packages/sdk/dreadnode/training/datasets.py "
        "vs packages/api/app/training/datasets.py)"
    )
    assert out[0].startswith("catalog_sync: no differences")  # the catalog, field by field

    code, out = _run(capsys, "check", "--root", str(root), "--format", "json")
    assert code == 1
    (record,) = [json.loads(text) for text in out]
    assert record["code"] == "mirror-differs"
    assert record["path"] == DATASETS.mirror
    assert record["api_location"] == {"path": DATASETS.mirror, "line": line}
    assert record["sdk_location"] == {"path": DATASETS.source, "line": source_line}
    assert record["fix"].startswith(f"run `{SYNC} --root {root}`")
    assert _run(capsys, "check", "--root", str(root), "--ignore", "mirror-*")[0] == 0


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda text: text.rstrip("\n"),
            r"first difference at line (\d+) \(source line \d+\): source=\"(.+)\\n\" "
            r"mirror=\"\2\"",
        ),
        (
            lambda text: text + "\n\ndef check_dataset_file() -> None:\n    pass\n",
            r"first difference at line \d+ \(past the end of the source\): source=<missing> "
            r'mirror=""',
        ),
        (
            lambda text: text[: text.rindex("\n\n\ndef ")] + "\n",
            r"first difference at line \d+ \(past the end of the mirror; source line \d+\): "
            r'source="" mirror=<missing>',
        ),
    ],
    ids=["no-final-newline", "hand-added-function", "last-function-missing"],
)
def test_check_names_differences_at_the_end(
    root: Path, capsys: pytest.CaptureFixture[str], edit: Callable[[str], str], expected: str
) -> None:
    mirror = root / DATASETS.mirror
    mirror.write_text(edit(mirror.read_text(encoding="utf-8")), encoding="utf-8")
    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 1
    assert re.search(expected, out[1]), out[1]


def test_sync_check_prints_the_diff_for_each_drifted_mirror(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = root / DATASETS.mirror
    drifted = mirror.read_text(encoding="utf-8").replace("import hashlib\n", "")
    mirror.write_text(drifted, encoding="utf-8")
    code, out = _run(capsys, "sync", "--check", "--root", str(root))
    assert code == 1
    assert out[0] == "catalog_sync: packages/api/app/training/catalog.py is in sync"
    assert "+import hashlib" in out
    assert (
        f"catalog_sync: packages/api/app/training/datasets.py is out of sync; run `{SYNC} "
        f"--root {root}`"
    ) in out
    assert out[-1] == "catalog_sync: packages/api/app/training/graders.py is in sync"
    assert mirror.read_text(encoding="utf-8") == drifted  # --check writes nothing


def test_a_broken_mirror_is_still_repaired(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mirror = root / DATASETS.mirror
    synced = mirror.read_text(encoding="utf-8")
    mirror.write_text(synced.replace("import json\n", "<<<<<<< HEAD\n"), encoding="utf-8")
    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 1
    assert 'mirror="<<<<<<< HEAD"' in out[1]
    assert _run(capsys, "sync", "--root", str(root))[0] == 0
    assert mirror.read_text(encoding="utf-8") == synced


def test_a_renamed_omitted_name_stops_sync(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = root / DATASETS.source
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("def check_dataset_file(", "def check_file("))
    mirror_before = (root / DATASETS.mirror).read_text(encoding="utf-8")
    assert main(["sync", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert (
        "packages/sdk/dreadnode/training/datasets.py: defines no top-level check_dataset_file for "
        "its mirror to leave out; update the pair's omit in tools/catalog_sync/mirrors.py"
    ) in err
    assert (root / DATASETS.mirror).read_text(encoding="utf-8") == mirror_before
    assert main(["check", "--root", str(root)]) == 2


NEW_SOURCE = '''"""Helpers: the source of truth."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "double",
    "read_file",
]

#: How much ``double`` multiplies by.
FACTOR = 2


def double(value: int) -> int:
    return FACTOR * value


#: The file reader the mirror has no use for.
def read_file(path: Path) -> str:
    return path.read_text()
'''

NEW_SYNCED = '''"""Helpers: the API's mirror of the SDK's (kept by sync)."""

from __future__ import annotations

__all__ = [
    "double",
]

#: How much ``double`` multiplies by.
FACTOR = 2


def double(value: int) -> int:
    return FACTOR * value
'''


def test_a_new_pair_is_synced_and_checked_with_no_other_change(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = Mirror("src/helpers.py", "mirror/helpers.py", omit=("read_file", "Path"))
    monkeypatch.setattr(mirrors, "MIRRORS", (*MIRRORS, pair))
    (root / "src").mkdir()
    (root / "mirror").mkdir()
    (root / pair.source).write_text(NEW_SOURCE, encoding="utf-8")
    # A new mirror starts as its own docstring.
    (root / pair.mirror).write_text(NEW_SYNCED.split("\n", 1)[0] + "\n", encoding="utf-8")

    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 1
    assert out[-2].startswith("mirror/helpers.py:2: [mirror-differs] first difference at line 2")
    code, out = _run(capsys, "sync", "--root", str(root))
    assert code == 0
    assert out[-1] == (
        "catalog_sync: rewrote mirror/helpers.py below its docstring from src/helpers.py, "
        "leaving out read_file, Path"
    )
    assert (root / pair.mirror).read_text(encoding="utf-8") == NEW_SYNCED
    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 0
    assert out[-1] == "catalog_sync: no differences (src/helpers.py vs mirror/helpers.py)"

    (root / pair.source).write_text(NEW_SOURCE.replace("FACTOR = 2", "FACTOR = 3"))
    code, out = _run(capsys, "check", "--root", str(root))
    assert code == 1
    assert out[-2].startswith(
        "mirror/helpers.py:10: [mirror-differs] first difference at line 10 (source line 13): "
        'source="FACTOR = 3" mirror="FACTOR = 2"'
    )


def test_a_missing_mirror_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = Mirror("source.py", "mirror.py")
    monkeypatch.setattr(mirrors, "MIRRORS", (pair,))
    (tmp_path / pair.source).write_text(NEW_SOURCE, encoding="utf-8")
    assert main(["sync", "--root", str(tmp_path)]) == 2
    assert "mirror.py: does not exist; a new mirror starts as a module docstring of its own" in (
        capsys.readouterr().err
    )


def _synced(tmp_path: Path, source: str, omit: tuple[str, ...]) -> str:
    (tmp_path / "source.py").write_text(source, encoding="utf-8")
    (tmp_path / "mirror.py").write_text('"""Mirror."""\n', encoding="utf-8")
    return synced_text(
        tmp_path / "source.py", tmp_path / "mirror.py", "source.py", "mirror.py", omit
    )


@pytest.mark.parametrize(
    ("source", "omit", "expected"),
    [
        # First below the docstring: the blank lines under the docstring stay.
        ('"""S."""\n\nimport os\nimport re\n', ("os",), '"""Mirror."""\n\nimport re\n'),
        ('"""S."""\n\nX = 1\n\nY = 2\n', ("X",), '"""Mirror."""\n\nY = 2\n'),
        # Decorators and the comment lines directly above go with the statement.
        (
            '"""S."""\n\nA = 1\n\n\n# about f\n@decorator\ndef f() -> None:\n    pass\n\n\nB = 2\n',
            ("f",),
            '"""Mirror."""\n\nA = 1\n\n\nB = 2\n',
        ),
        # A comment set apart by a blank line stays.
        (
            '"""S."""\n\nA = 1\n# section\n\nclass C:\n    pass\n',
            ("C",),
            '"""Mirror."""\n\nA = 1\n# section\n',
        ),
        ('"""S."""\n\n__all__ = ["a", "b"]\n', (), '"""Mirror."""\n\n__all__ = ["a", "b"]\n'),
    ],
)
def test_omit_takes_out_whole_statements(
    tmp_path: Path, source: str, omit: tuple[str, ...], expected: str
) -> None:
    assert _synced(tmp_path, source, omit) == expected


@pytest.mark.parametrize(
    ("source", "omit", "message"),
    [
        ('"""S."""\nfrom os import sep, path\n', ("sep",), "also binds path, which the mirror"),
        ('"""S."""\nA = 1; B = 2\n', ("B",), "shares a line with another"),
        ('"""S."""\n__all__ = ["a", "b"]\na = b = 1\n', ("a",), "a line of its own"),
        ('"""S."""\nif True:\n    A = 1\n', ("A",), "defines no top-level A"),
        ("A = 1\n", (), "source.py: has no module docstring to keep"),
    ],
)
def test_omit_refuses_what_it_cannot_take_out_cleanly(
    tmp_path: Path, source: str, omit: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SyncError, match=re.escape(message)):
        _synced(tmp_path, source, omit)


def test_root_and_catalog_paths_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--root", ".", "--api", "catalog.py"]) == 2
    assert "--sdk and --api name the catalog's files; leave out --root" in capsys.readouterr().err


def test_pre_commit_hook_runs_for_every_mirrored_file() -> None:
    config = (REPO_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    hook = config[config.index("- id: catalog-parity") :]
    pattern = re.search(r"^\s+files: (.+)$", hook, re.MULTILINE)
    assert pattern is not None
    for pair in MIRRORS:
        for path in (pair.source, pair.mirror):
            assert re.search(pattern.group(1), path), f"add {path} to the hook's files pattern"
    assert re.search(pattern.group(1), "tools/catalog_sync/mirrors.py")
