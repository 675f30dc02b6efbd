"""Row rendering: how fast the training worker turns chat rows into tokens, beside the renderer.

`get_row_renderer("qwen3", ...).render(row, line)` over 20,000 generated short chat rows (a
system line half the time, one or two user/assistant turns), beside `tml-renderers` alone on
the same rows: `Qwen3().render_for_sft(OpenAIMessage.from_oss_messages(messages))`, the least
any caller must do (the renderer takes no plain dicts). The wrapper adds telling the row's
format apart, flat token and weight lists, the line, and its checks; the goal is at least 0.8x
the bare renderer's rows per second. Both are built before timing (loading a tokenizer takes
seconds) and timed in turns, fastest of a few passes each, in this process's CPU time, so the
ratio holds on a shared, noisy machine. The first rows are checked to give the same tokens and
weights both ways, so the speed is of the same work.

Then token counting (`app.worker.token_counts.count_rows`, what a worker runs on every upload):
rows and tokens per second for every renderer the catalog uses, on `COUNTED_ROWS` of the same
rows, with qwen3's beside tml-renderers alone (goal: at least 0.8x, as for rendering).

Needs the API package with the worker's dependencies (`tml-renderers`, PyTorch).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from app.worker.rendering import get_row_renderer

ROWS = 20_000
PASSES = 3
TARGET_RATIO = 0.8
CHECKED_ROWS = 200
#: Rows counted per renderer: every catalog renderer is timed, so fewer than above.
COUNTED_ROWS = 5_000
WORDS: tuple[str, ...] = (
    *("the", "model", "answers", "every", "question", "about", "the", "dataset", "with"),
    *("care", "and", "a", "short", "example", "tokenizer", "gradient", "learning", "rate"),
    *("epoch", "checkpoint", "évaluation", "données", "über", "数据", "训练", "🙂", "42,"),
)


def _content(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def chat_rows(count: int) -> list[dict[str, Any]]:
    """``count`` short chat rows, the same every run."""
    rng = random.Random(7)
    rows = []
    for _ in range(count):
        messages = []
        if rng.random() < 0.5:
            messages.append({"role": "system", "content": _content(rng, 4, 12)})
        for _ in range(rng.randint(1, 2)):
            messages.append({"role": "user", "content": _content(rng, 5, 40)})
            messages.append({"role": "assistant", "content": _content(rng, 10, 60)})
        rows.append({"messages": messages})
    return rows


def main() -> int:
    from tml_renderers import chat, renderers

    rows = chat_rows(ROWS)
    ours = get_row_renderer("qwen3", "Qwen/Qwen3-8B")
    bare = renderers.Qwen3()
    from_oss = chat.OpenAIMessage.from_oss_messages

    for line, row in enumerate(rows[:CHECKED_ROWS], start=1):
        expected = [
            (
                [token for span in example.input_token_spans for token in span.span.tokens],
                example.per_token_loss_weight_unshifted,
            )
            for example in bare.render_for_sft(from_oss(row["messages"]))
        ]
        got = [(rendered.tokens, rendered.weights) for rendered in ours.render(row, line)]
        if got != expected:
            print(f"rendering: line {line} renders differently through the wrapper")
            return 1

    def wrapper() -> None:
        for line, row in enumerate(rows, start=1):
            ours.render(row, line)

    def renderer_alone() -> None:
        for row in rows:
            bare.render_for_sft(from_oss(row["messages"]))

    timed: dict[str, Callable[[], None]] = {"wrapper": wrapper, "bare": renderer_alone}
    best = dict.fromkeys(timed, float("inf"))
    for _ in range(PASSES):
        for name, run in timed.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    sequences = sum(len(ours.render(row, line)) for line, row in enumerate(rows, start=1))
    tokens = sum(
        len(rendered.tokens)
        for line, row in enumerate(rows, start=1)
        for rendered in ours.render(row, line)
    )
    wrapped, alone = ROWS / best["wrapper"], ROWS / best["bare"]
    ratio = wrapped / alone
    print(
        f"rendering (qwen3): {ROWS:,} chat rows, {sequences:,} sequences, {tokens:,} tokens "
        f"(fastest of {PASSES} passes each, CPU time)"
    )
    print(f"  RowRenderer.render                      {wrapped:10,.0f} rows/s")
    print(f"  Qwen3().render_for_sft (tml-renderers)  {alone:10,.0f} rows/s")
    print(f"  ratio                                   {ratio:10.2f}x")
    met = ratio >= TARGET_RATIO
    print(
        f"target (RowRenderer.render >= {TARGET_RATIO} x tml-renderers alone): "
        f"{'met' if met else 'MISSED'}"
    )
    counted = measure_counting(rows[:COUNTED_ROWS], alone)
    return 0 if met and counted else 1


def measure_counting(rows: list[dict[str, Any]], bare_rows_per_second: float) -> bool:
    """Token counting per renderer group, beside the bare qwen3 renderer's rows/s measured
    above on the same kind of rows; whether qwen3's counting meets the target."""
    from app.worker.dataset import DatasetRow
    from app.worker.token_counts import count_rows, renderer_groups

    wrapped = [DatasetRow(line, row) for line, row in enumerate(rows, start=1)]
    print(f"token counting: {len(rows):,} chat rows per renderer (fastest of {PASSES}, CPU time)")
    qwen3_rate = 0.0
    for (name, variant), models in sorted(renderer_groups().items()):
        renderer = get_row_renderer(name, models[0])  # built (seconds) before timing
        best, figures = float("inf"), {}
        for _ in range(PASSES):
            start = time.process_time()
            figures = count_rows(renderer, wrapped)
            best = min(best, time.process_time() - start)
        label = f"{name}{'/' + variant if variant else ''}"
        if figures["error"] is not None:
            print(f"  {label:<28} refused: {figures['error']}")
            continue
        rate = len(rows) / best
        if name == "qwen3":
            qwen3_rate = rate
        print(
            f"  {label:<28} {rate:10,.0f} rows/s {figures['tokens_processed'] / best:12,.0f} "
            f"tokens/s  ({len(models)} ids)"
        )
    ratio = qwen3_rate / bare_rows_per_second
    met = ratio >= TARGET_RATIO
    print(f"  qwen3 counting beside Qwen3().render_for_sft alone: {ratio:.2f}x")
    print(
        f"target (counting >= {TARGET_RATIO} x tml-renderers alone): {'met' if met else 'MISSED'}"
    )
    return met


if __name__ == "__main__":
    raise SystemExit(main())
