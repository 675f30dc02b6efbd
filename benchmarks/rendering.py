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
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
