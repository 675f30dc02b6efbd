"""Schemathesis against a live server, on its own schema: every operation, with a valid token.

Marked ``schemathesis``: it runs in its own nox session (``nox -s schemathesis``), which installs
schemathesis; ``tests-api`` leaves it out. The checks, and the two it leaves out and why, are in
``packages/api/schemathesis.toml``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PREFIX, Api

pytestmark = pytest.mark.schemathesis

CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"


def test_the_api_conforms_to_its_own_schema(api: Api, tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("schemathesis")
    assert executable.exists(), "schemathesis is not installed here; run `nox -s schemathesis`"
    result = subprocess.run(
        [
            str(executable),
            "--config-file",
            str(CONFIG),
            "run",
            f"{api.url}{PREFIX}/openapi.json",
            "--report",
            "json",
            "--report-json-path",
            str(tmp_path / "report.json"),
        ],
        env={**os.environ, "SCHEMATHESIS_TOKEN": api.tokens["alice"], "NO_COLOR": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # The whole report on failure: each failure comes with a curl line that reproduces it.
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] is True
    assert report["operations"]["tested"] == report["operations"]["total"] == 21
    assert {name: phase["status"] for name, phase in report["phases"].items()} == {
        "examples": "success",
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }
    assert report["test_cases"]["generated"] > 500
    assert report["test_cases"]["unique_failures"] == 0
    assert report["failures"] == []
    print(result.stdout)
