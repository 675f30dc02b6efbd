"""Median wall time of whole commands, sampled alternately so both see the same machine load.

Shared by the start-up benchmarks: each compares a command of ours with the floor it cannot go
below (a bare interpreter, or the imports it needs), measured in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["median_wall_times"]


def _wall_time(command: Sequence[str], cwd: Path | None) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd
    )
    return time.perf_counter() - start


def median_wall_times(
    commands: Mapping[str, Sequence[str]], *, runs: int, cwd: Path | None = None
) -> dict[str, float]:
    """Each command's median wall time in seconds over ``runs`` runs, after one unmeasured run."""
    for command in commands.values():  # warm the file cache; not counted
        _wall_time(command, cwd)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(_wall_time(command, cwd))
    return {name: statistics.median(times) for name, times in samples.items()}
