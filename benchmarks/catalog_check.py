"""Wall time of `python -m tools.catalog_sync check` beside importing pydantic and rapidfuzz.

The checker runs on every catalog commit (pre-commit) and in CI, so it must stay fast: median
<= 0.5 s. Importing its two dependencies is the floor it cannot go below; both are measured
alternately in the same run, so the ratio holds on a shared, noisy machine. Run from the
repository root (`nox -s bench` does).
"""

from __future__ import annotations

import sys
from pathlib import Path

from wall_time import median_wall_times

RUNS = 15
TARGET_SECONDS = 0.5
ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    medians = median_wall_times(
        {
            "check": [sys.executable, "-m", "tools.catalog_sync", "check"],
            "imports": [sys.executable, "-c", "import pydantic, rapidfuzz"],
        },
        runs=RUNS,
        cwd=ROOT,
    )
    check, imports = medians["check"], medians["imports"]
    print(f"catalog check over {RUNS} runs each (median wall time)")
    print(f"  python -m tools.catalog_sync check       {check * 1000:8.1f} ms")
    print(f'  python -c "import pydantic, rapidfuzz"   {imports * 1000:8.1f} ms')
    print(f"  ratio                                    {check / imports:8.2f}x")
    met = check <= TARGET_SECONDS
    print(f"target (median <= {TARGET_SECONDS * 1000:.0f} ms): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
