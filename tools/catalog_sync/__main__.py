"""``python -m tools.catalog_sync``: see ``tools.catalog_sync.cli``."""

from __future__ import annotations

from tools.catalog_sync.cli import main

raise SystemExit(main())
