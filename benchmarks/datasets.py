"""Dataset checking: how fast a training file is checked, beside the floor of parsing it.

Local validation (what `dn train sft --dataset FILE` does before anything is sent):
`check_dataset_file` over a generated chat JSONL file of about 64 MB, read from disk in 1 MiB
chunks, beside a bare `for line in lines: json.loads(line)` over the same lines already in
memory. Parsing each line is the work no checker can skip, so the ratio says what the checks
themselves cost (reading, splitting and hashing included); the goal is at least half the bare
loop's speed. The two are timed in turns, fastest of a few passes each, in the same run and in
this process's CPU time (the reads come from the page cache), so the ratio holds on a shared,
noisy machine where wall time would count other processes' turns too.

Upload (what `dn train datasets upload FILE` costs the server): a generated chat file of about
200 MB streamed to the real server (`python -m app serve`, one worker, the embedded SQLite and
directory store) through the SDK's `upload_dataset`, checked and stored there; its MB/s beside
the local check of the same file in the same run (the server does that check and more), and the
server's peak resident memory over its resident memory before the upload (Linux's VmHWM against
VmRSS), goal under 64 MB: the upload is streamed, never held whole.

Each measurement is one function in ``MEASUREMENTS``: it gets a scratch directory (and
``chat_file`` to make inputs there), prints its figures and returns whether it met its target.
Run with `nox -s bench`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from dreadnode.client import Client
from dreadnode.training.datasets import check_dataset_file

LOCAL_FILE_MB = 64
PASSES = 5
LOCAL_TARGET_RATIO = 0.5
UPLOAD_FILE_MB = 200
UPLOAD_MEMORY_TARGET_MB = 64
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


def _memory_kib(pid: int, field: str) -> int:
    """A process's ``VmRSS`` (resident now) or ``VmHWM`` (its peak), in KiB, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, flags=re.MULTILINE)
    assert found is not None, f"{field} missing from /proc/{pid}/status"
    return int(found.group(1))


def measure_upload(directory: Path) -> bool:
    """A 200 MB upload through the real server: its speed, and the server's memory growth."""
    from app.testing import LiveServer, create_token

    if not Path(f"/proc/{os.getpid()}/status").exists():
        print("upload: skipped (needs Linux's /proc to read the server's memory)")
        return True
    path = chat_file(directory, UPLOAD_FILE_MB)
    size = path.stat().st_size
    start = time.perf_counter()
    local = check_dataset_file(path)
    local_seconds = time.perf_counter() - start
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'bench.db'}",
        "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0",
    }
    token = create_token(env, "--name", "bench-upload")
    with (
        LiveServer(env, directory / "server.log") as live,
        Client(server_url=live.url, api_key=token) as client,
    ):
        client.list_datasets()  # the first request's imports and connections, not counted
        # Reset the peak to now (Linux 4.0+), so VmHWM is the upload's peak, not start-up's;
        # where that is refused the figure is still an upper bound on the upload's growth.
        with contextlib.suppress(OSError):
            Path(f"/proc/{live.process.pid}/clear_refs").write_text("5")
        before = _memory_kib(live.process.pid, "VmRSS")
        start = time.perf_counter()
        dataset = client.upload_dataset(path, name="bench")
        seconds = time.perf_counter() - start
        peak = _memory_kib(live.process.pid, "VmHWM")
    growth_mb = max(0, peak - before) * 1024 / MB
    right = (dataset.rows, dataset.sha256) == (local.rows, local.sha256)
    upload_rate, local_rate = size / seconds / MB, size / local_seconds / MB
    print(f"upload: {size / MB:.0f} MB, {dataset.rows:,} chat rows, one server worker, SQLite")
    print(f"  upload_dataset (stream, check, store)        {upload_rate:8.1f} MB/s")
    print(f"  check_dataset_file (the same file, locally)  {local_rate:8.1f} MB/s")
    print(f"  ratio                                        {upload_rate / local_rate:8.2f}x")
    print(f"  server peak memory over its memory before    {growth_mb:8.1f} MB")
    if not right:
        print("  the server's rows or sha256 differ from the local check's")
    met = right and growth_mb < UPLOAD_MEMORY_TARGET_MB
    print(
        f"target (server memory growth < {UPLOAD_MEMORY_TARGET_MB} MB on a "
        f"{UPLOAD_FILE_MB} MB upload, figures right): {'met' if met else 'MISSED'}"
    )
    return met


#: Every measurement `main` runs, in order; add new ones here.
MEASUREMENTS: list[Measurement] = [measure_local_validation, measure_upload]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as scratch:
        met = [measure(Path(scratch)) for measure in MEASUREMENTS]
    return 0 if all(met) else 1


if __name__ == "__main__":
    raise SystemExit(main())
