"""Start-up time of `dn train catalog --json` beside a bare `python -c pass`, run alternately.

The bare interpreter is the floor any Python CLI pays; the ratio says what `dn` adds to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from wall_time import median_wall_times

RUNS = 30
TARGET_SECONDS = 0.25


def main() -> int:
    dn = str(Path(sys.executable).with_name("dn"))
    medians = median_wall_times(
        {"dn": [dn, "train", "catalog", "--json"], "python": [sys.executable, "-c", "pass"]},
        runs=RUNS,
    )
    dn_median, python_median = medians["dn"], medians["python"]
    print(f"cli start-up over {RUNS} runs each (median wall time)")
    print(f"  dn train catalog --json  {dn_median * 1000:8.1f} ms")
    print(f"  python -c pass           {python_median * 1000:8.1f} ms")
    print(f"  ratio                    {dn_median / python_median:8.2f}x")
    met = dn_median <= TARGET_SECONDS
    print(f"target (median <= {TARGET_SECONDS * 1000:.0f} ms): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
