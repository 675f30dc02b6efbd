"""``sync`` rewrites the mirror below its own docstring, is idempotent, and ``--check`` shows the
diff; one edit in the SDK, types and functions included, reaches the mirror."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.catalog_mutations import copy_catalogs, run_check, set_keyword
from tools.catalog_sync.cli import main


def _paths(sdk: Path, api: Path) -> list[str]:
    return ["--sdk", str(sdk), "--api", str(api)]


def test_sync_fixes_drift_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copy_catalogs(tmp_path)
    original = api.read_text()
    drifted = set_keyword(original, 3, "context_length", "1024")
    drifted = drifted.replace("SUGGESTION_CUTOFF = 65.0", "SUGGESTION_CUTOFF = 60.0")
    api.write_text(drifted)
    assert run_check(capsys, sdk, api)[0] == 1

    assert main(["sync", *_paths(sdk, api)]) == 0
    assert "rewrote" in capsys.readouterr().out
    assert api.read_text() == original  # the mirror's own docstring is kept
    assert run_check(capsys, sdk, api) == (0, [])

    assert main(["sync", *_paths(sdk, api)]) == 0
    assert "already in sync" in capsys.readouterr().out
    assert api.read_text() == original


def test_sync_copies_sdk_edit_into_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copy_catalogs(tmp_path)
    sdk.write_text(set_keyword(sdk.read_text(), 0, "display_name", '"Qwen3 8B Chat"'))
    assert run_check(capsys, sdk, api)[0] == 1
    assert main(["sync", *_paths(sdk, api)]) == 0
    capsys.readouterr()
    assert run_check(capsys, sdk, api) == (0, [])
    assert 'display_name="Qwen3 8B Chat"' in api.read_text()
    assert api.read_text().startswith('"""The API\'s mirror')


def test_sync_check_prints_diff_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copy_catalogs(tmp_path)
    drifted = set_keyword(api.read_text(), 3, "context_length", "1024")
    api.write_text(drifted)
    assert main(["sync", "--check", *_paths(sdk, api)]) == 1
    out = capsys.readouterr().out
    assert f"--- a/{api}" in out
    assert f"+++ b/{api}" in out
    assert "-        context_length=1024,\n+        context_length=65536,\n" in out
    assert api.read_text() == drifted  # --check writes nothing


def test_sync_check_clean_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sdk, api = copy_catalogs(tmp_path)
    assert main(["sync", "--check", *_paths(sdk, api)]) == 0
    assert "in sync" in capsys.readouterr().out


def test_sync_copies_a_function_edit_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copy_catalogs(tmp_path)
    sdk.write_text(sdk.read_text().replace("_PREFIX_FLOOR = 90.0", "_PREFIX_FLOOR = 92.0"))
    assert main(["sync", *_paths(sdk, api)]) == 0
    capsys.readouterr()
    assert "_PREFIX_FLOOR = 92.0" in api.read_text()
    assert run_check(capsys, sdk, api) == (0, [])


def test_sync_mirror_without_docstring_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copy_catalogs(tmp_path)
    text = api.read_text()
    stripped = text[text.index('"""', 3) + 3 :]
    api.write_text(stripped)
    assert main(["sync", *_paths(sdk, api)]) == 2
    assert "has no module docstring to keep" in capsys.readouterr().err
    assert api.read_text() == stripped


def test_sync_keeps_the_mirror_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copy_catalogs(tmp_path)
    api.write_text(set_keyword(api.read_text(), 3, "context_length", "1024"))
    api.chmod(0o644)
    assert main(["sync", *_paths(sdk, api)]) == 0
    assert "rewrote" in capsys.readouterr().out
    assert stat.S_IMODE(api.stat().st_mode) == 0o644
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
