"""``python -m dreadnode`` is ``dn``."""

from __future__ import annotations

from dreadnode.cli.main import run

run()
