"""Dataset checking: how fast a training file is checked, beside the floor of parsing it.

Local validation (what `dn train sft --dataset FILE` does before anything is sent):
`check_dataset_file` over a generated chat JSONL file of about 64 MB, read from disk in 1 MiB
chunks, beside a bare `for line in lines: json.loads(line)` over the same lines already in
memory. Parsing each line is the work no checker can skip, so the ratio says what the checks
themselves cost (reading, splitting and hashing included); the goal is at least half the bare
loop's speed. The two are timed in turns, fastest of a few passes each, in the same run and in
this process's CPU time (the reads come from the page cache), so the ratio holds on a shared,
noisy machine where wall time would count other processes' turns too.

Each measurement is one function in ``MEASUREMENTS``: it gets a scratch directory (and
``chat_file`` to make inputs there), prints its figures and returns whether it met its target.
Run with `nox -s bench`.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from dreadnode.training.datasets import check_dataset_file

LOCAL_FILE_MB = 64
PASSES = 5
LOCAL_TARGET_RATIO = 0.5
MB = 1_000_000
# Words of several scripts and lengths, so rows are not all ASCII and the decoder works as
# hard as on real data.
WORDS: tuple[str, ...] = (
    *("the", "model", "answers", "every", "question", "about", "the", "dataset", "with"),
    *("care", "and", "a", "short", "example", "tokenizer", "gradient", "learning", "rate"),
    *("epoch", "checkpoint", "evaluation", "prompt", "completion", "température", "données"),
    *("réponse", "naïve", "über", "Straße", "größer", "数据", "训练", "模型", "回答", "データ"),
    *("学習", "привет", "данные", "ответ", "🙂", "🚀", "line\nbreak", "tab\tseparated"),
    *('"quoted"', "back\\slash"),
)

#: A measurement: given a scratch directory, print figures and say whether the target was met.
Measurement = Callable[[Path], bool]


def _content(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(WORDS, k=words))


def _chat_row(rng: random.Random) -> bytes:
    messages = [{"role": "system", "content": _content(rng, rng.randint(5, 30))}]
    for _ in range(rng.randint(1, 3)):
        messages.append({"role": "user", "content": _content(rng, rng.randint(10, 120))})
        messages.append({"role": "assistant", "content": _content(rng, rng.randint(20, 250))})
    return json.dumps({"messages": messages}, ensure_ascii=rng.random() < 0.5).encode() + b"\n"


@cache
def _chat_file(directory: Path, megabytes: int) -> Path:
    path = directory / f"chat-{megabytes}mb.jsonl"
    rng = random.Random(11)  # the same file every run
    written = 0
    with path.open("wb") as file:
        while written < megabytes * MB:
            row = _chat_row(rng)
            file.write(row)
            written += len(row)
    return path


def chat_file(directory: Path, megabytes: int) -> Path:
    """A valid chat JSONL file of about ``megabytes`` MB in ``directory`` (made once per run)."""
    return _chat_file(directory, megabytes)


def measure_local_validation(directory: Path) -> bool:
    """`check_dataset_file` beside a bare `json.loads` loop over the same lines."""
    path = chat_file(directory, LOCAL_FILE_MB)
    size = path.stat().st_size
    lines = path.read_bytes().split(b"\n")[:-1]

    def bare() -> None:
        for line in lines:
            json.loads(line)

    best = {"check": float("inf"), "json.loads": float("inf")}
    check = None
    for _ in range(PASSES):
        start = time.process_time()
        check = check_dataset_file(path)
        best["check"] = min(best["check"], time.process_time() - start)
        start = time.process_time()
        bare()
        best["json.loads"] = min(best["json.loads"], time.process_time() - start)
    assert check is not None
    if not check.ok or check.rows != len(lines):
        print(f"local validation: the generated file did not check out: {check.errors[:3]}")
        return False
    ours, floor = size / best["check"] / MB, size / best["json.loads"] / MB
    ratio = ours / floor
    print(
        f"local validation: {size / MB:.1f} MB, {check.rows:,} chat rows, longest "
        f"{check.longest_row_bytes:,} bytes (fastest of {PASSES} passes each)"
    )
    print(f"  check_dataset_file (from disk, 1 MiB reads)  {ours:8.1f} MB/s")
    print(f"  for line in lines: json.loads(line)          {floor:8.1f} MB/s")
    print(f"  ratio                                        {ratio:8.2f}x")
    met = ratio >= LOCAL_TARGET_RATIO
    print(
        f"target (local validation >= {LOCAL_TARGET_RATIO} x bare json.loads): "
        f"{'met' if met else 'MISSED'}"
    )
    return met


#: Every measurement `main` runs, in order; add new ones here.
MEASUREMENTS: list[Measurement] = [measure_local_validation]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as scratch:
        met = [measure(Path(scratch)) for measure in MEASUREMENTS]
    return 0 if all(met) else 1


if __name__ == "__main__":
    raise SystemExit(main())
