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
from functools import cache, partial
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


#: The row size of the hostile shapes: just under the row limit (4 MiB), so none is refused
#: for its length alone.
HOSTILE_ROW_BYTES = 4 * 1024 * 1024 - 64
#: Concurrent uploads of the worst shape, and their target for the server's memory growth.
HOSTILE_CONCURRENT = 8
HOSTILE_CONCURRENT_TARGET_MB = 512


#: The row values limit (DEFAULT_MAX_ROW_VALUES), for shapes that stay just under it.
ROW_VALUES_LIMIT = 262_144
#: The values of the ``{"prompt": "p", "metadata": {"x": [...]}}`` frame around the items.
FRAME_VALUES = 4


def _filled(
    prefix: str, item: str, suffix: str, *, numbered: bool = False, count: int | None = None
) -> bytes:
    """One JSONL row, ``prefix`` + items joined by commas + ``suffix``: ``count`` items, or as
    many as fit in ``HOSTILE_ROW_BYTES``; ``numbered`` items take ``{n}`` (distinct keys)."""
    room = HOSTILE_ROW_BYTES - len(prefix) - len(suffix)
    if count is None:
        width = len(item.format(n=10**6)) if numbered else len(item)
        count = (room + 1) // (width + 1)
    parts = [item.format(n=index) for index in range(count)] if numbered else [item] * count
    row = f"{prefix}{','.join(parts)}{suffix}\n".encode()
    assert len(row) <= HOSTILE_ROW_BYTES + 1, (item, len(row))
    return row


_LIST = '{"prompt":"p","metadata":{"x":['
#: Items that fit under the values limit with the frame (one-key objects hold two values each).
_UNDER = ROW_VALUES_LIMIT - FRAME_VALUES


#: Rows shaped to cost the most memory per byte once parsed, each about 4 MiB: a million tiny
#: values (each a Python object of 24 to 200 bytes for 2 to 8 bytes of JSON), distinct keys,
#: and one long string that a single emoji makes four bytes a character.
HOSTILE_ROWS: dict[str, Callable[[], bytes]] = {
    "empty objects": lambda: _filled(_LIST, "{}", "]}}"),
    "empty arrays": lambda: _filled(_LIST, "[]", "]}}"),
    "zeros": lambda: _filled(_LIST, "0", "]}}"),
    "floats": lambda: _filled(_LIST, "0.5", "]}}"),
    "two-letter strings": lambda: _filled(_LIST, '"ab"', "]}}"),
    "one-key objects": lambda: _filled(_LIST, '{"a":0}', "]}}"),
    "distinct keys": lambda: _filled('{"prompt":"p","metadata":{', '"{n}":0', "}}", numbered=True),
    # The same shapes just under the values limit: accepted, so parsed whole.
    "empty objects, at limit": lambda: _filled(_LIST, "{}", "]}}", count=_UNDER),
    "one-key objects, at limit": lambda: _filled(_LIST, '{"a":0}', "]}}", count=_UNDER // 2),
    "distinct keys, at limit": lambda: _filled(
        '{"prompt":"p","metadata":{', '"{n:07}":0', "}}", numbered=True, count=_UNDER + 1
    ),
    "short strings, at limit": lambda: _filled(_LIST, '"abcdefghijk"', "]}}", count=_UNDER),
    "wide string": lambda: _filled('{"prompt":"\U0001f600', "a" * 1023, '"}'),
}


def _hostile_upload(url: str, token: str, row: bytes) -> int:
    import httpx

    response = httpx.post(
        f"{url}/api/v1/training/datasets",
        params={"name": "hostile"},
        content=row,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=120,
    )
    return response.status_code


def measure_hostile_rows(directory: Path) -> bool:
    """The server's peak memory over its idle memory while it takes one ~4 MiB row of each
    hostile shape, then ``HOSTILE_CONCURRENT`` of the worst at once; the idle server's own
    resident memory in the same run is the baseline."""
    from concurrent.futures import ThreadPoolExecutor

    from app.testing import LiveServer, create_token

    if not Path(f"/proc/{os.getpid()}/status").exists():
        print("hostile rows: skipped (needs Linux's /proc to read the server's memory)")
        return True
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'hostile.db'}",
        "DREADNODE_API_RATE_LIMIT_PER_MINUTE": "0",
    }
    token = create_token(env, "--name", "bench-hostile")
    rows = {name: make() for name, make in HOSTILE_ROWS.items()}
    growth: dict[str, float] = {}
    with LiveServer(env, directory / "hostile.log") as live:
        pid = live.process.pid
        _hostile_upload(live.url, token, b'{"text": "warm up"}\n')
        idle_mb = _memory_kib(pid, "VmRSS") * 1024 / MB

        def peak_growth(*uploads: bytes) -> tuple[float, list[int]]:
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            before = _memory_kib(pid, "VmRSS")
            with ThreadPoolExecutor(len(uploads)) as pool:
                statuses = list(pool.map(partial(_hostile_upload, live.url, token), uploads))
            return max(0, _memory_kib(pid, "VmHWM") - before) * 1024 / MB, statuses

        print(f"hostile rows: one server worker, SQLite; idle resident memory {idle_mb:.1f} MB")
        for name, row in rows.items():
            growth[name], (status,) = peak_growth(row)
            size_mb = len(row) / MB
            print(f"  {name:<26} {size_mb:4.1f} MB row  -> {status}  peak +{growth[name]:7.1f} MB")
        worst = max(growth, key=growth.__getitem__)
        together, statuses = peak_growth(*[rows[worst]] * HOSTILE_CONCURRENT)
        print(
            f"  {HOSTILE_CONCURRENT} x {worst!r} at once -> {sorted(set(statuses))}  "
            f"peak +{together:.1f} MB ({together / idle_mb:.2f}x the idle server)"
        )
    met = max(growth.values()) < UPLOAD_MEMORY_TARGET_MB and together < HOSTILE_CONCURRENT_TARGET_MB
    print(
        f"target (each shape < {UPLOAD_MEMORY_TARGET_MB} MB over idle, {HOSTILE_CONCURRENT} at "
        f"once < {HOSTILE_CONCURRENT_TARGET_MB} MB): {'met' if met else 'MISSED'}"
    )
    return met


#: Every measurement `main` runs, in order; add new ones here.
MEASUREMENTS: list[Measurement] = [measure_local_validation, measure_upload, measure_hostile_rows]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as scratch:
        met = [measure(Path(scratch)) for measure in MEASUREMENTS]
    return 0 if all(met) else 1


if __name__ == "__main__":
    raise SystemExit(main())
