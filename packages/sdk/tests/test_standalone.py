"""The SDK stands alone: it installs without the API and pulls in no web framework."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "app")


def test_sdk_requirements_name_no_web_framework() -> None:
    names = {Requirement(req).name.lower() for req in requires("dreadnode-training") or []}
    assert names
    assert names.isdisjoint(WEB_FRAMEWORKS)


def test_catalog_and_cli_import_no_web_framework() -> None:
    code = (
        "import sys, dreadnode.training, dreadnode.cli.main\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "dreadnode" in loaded
    assert not set(loaded) & set(WEB_FRAMEWORKS)
