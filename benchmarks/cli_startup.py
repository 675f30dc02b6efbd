"""Start-up time of `dn train catalog --json` beside a bare `python -c pass`, run alternately.

The bare interpreter is the floor any Python CLI pays; the ratio says what `dn` adds to it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 30
TARGET_SECONDS = 0.25


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    dn = str(Path(sys.executable).with_name("dn"))
    commands = {"dn": [dn, "train", "catalog", "--json"], "python": [sys.executable, "-c", "pass"]}
    for command in commands.values():  # warm the file cache; not counted
        wall_time(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, command in commands.items():
            samples[name].append(wall_time(command))
    dn_median = statistics.median(samples["dn"])
    python_median = statistics.median(samples["python"])
    print(f"cli start-up over {RUNS} runs each (median wall time)")
    print(f"  dn train catalog --json  {dn_median * 1000:8.1f} ms")
    print(f"  python -c pass           {python_median * 1000:8.1f} ms")
    print(f"  ratio                    {dn_median / python_median:8.2f}x")
    met = dn_median <= TARGET_SECONDS
    print(f"target (median <= {TARGET_SECONDS * 1000:.0f} ms): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
