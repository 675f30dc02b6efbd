"""Suggestion quality and speed: `suggest_training_models` beside `difflib.get_close_matches`.

Both answer the same questions over the same ids in the same run, so the ratios hold on a shared,
noisy machine. The corpus: generated typos and prefixes of every id Tinker serves (one right
answer each), strings that are no model (no answer is right), and typos of retired ids, which are
never suggested: for those, the unknown-model message must name the retired id (with its date and
replacement), and difflib, given the retired ids too, must rank it first. Run with `nox -s bench`.
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Run from the repository root (`python benchmarks/suggest.py`); the corpus lives in tools/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dreadnode.training import (
    TINKER_RETIREMENTS,
    describe_unknown_training_model,
    filter_training_models,
    suggest_training_models,
)
from tools.catalog_sync.corpus import NON_MODEL_STRINGS, Typo, make_prefixes, make_typos

SERVED = [model.tinker_id for model in filter_training_models()]
RETIRED = [record.tinker_id for record in TINKER_RETIREMENTS]
Suggester = Callable[[str], list[str]]


def ours(query: str) -> list[str]:
    return [model.tinker_id for model in suggest_training_models(query)]


def difflib_suggest(query: str, ids: Sequence[str] = SERVED) -> list[str]:
    return difflib.get_close_matches(query, ids, n=3)


def _accuracy(answers: list[list[str]], cases: list[Typo], rank: int) -> float:
    hits = sum(c.intended in a[:rank] for a, c in zip(answers, cases, strict=True))
    return hits / len(cases)


def measure(suggest: Suggester) -> dict[str, float]:
    """Accuracy on typos and prefixes, silence on non-models, mean time per call."""
    typos = make_typos(SERVED)
    prefixes = make_prefixes(SERVED)
    queries = [c.text for c in typos] + [c.text for c in prefixes] + list(NON_MODEL_STRINGS)
    start = time.perf_counter()
    answers = [suggest(query) for query in queries]
    elapsed = time.perf_counter() - start
    typo_answers = answers[: len(typos)]
    prefix_answers = answers[len(typos) : len(typos) + len(prefixes)]
    non_model_answers = answers[len(typos) + len(prefixes) :]
    return {
        "top1": _accuracy(typo_answers, typos, 1),
        "top3": _accuracy(typo_answers, typos, 3),
        "prefix_top1": _accuracy(prefix_answers, prefixes, 1),
        "no_suggestion": sum(not a for a in non_model_answers) / len(non_model_answers),
        "latency_us": elapsed / len(queries) * 1e6,
        "cases": len(typos),
        "prefixes": len(prefixes),
    }


def retired_named() -> tuple[float, float, int]:
    """Typos of retired ids: how often our message names the id, and difflib's top-1 does."""
    typos = make_typos(RETIRED, per_kind=1)
    mentioned = sum(
        f"The nearest id, {typo.intended}," in describe_unknown_training_model(typo.text)
        or describe_unknown_training_model(typo.text).startswith("Training base model")
        for typo in typos
    )
    everything = [*SERVED, *RETIRED]
    baseline = sum(difflib_suggest(t.text, everything)[:1] == [t.intended] for t in typos)
    return mentioned / len(typos), baseline / len(typos), len(typos)


def main() -> int:
    ours_figures = measure(ours)
    baseline = measure(difflib_suggest)
    print(
        f"suggestions: {int(ours_figures['cases'])} typos and {int(ours_figures['prefixes'])} "
        f"prefixes of {len(SERVED)} served ids, {len(NON_MODEL_STRINGS)} non-model strings"
    )
    print(f"{'metric':<30}{'suggest_training_models':>25}{'difflib':>12}{'ratio':>9}")
    for metric, label in (
        ("top1", "typo top-1 accuracy"),
        ("top3", "typo top-3 accuracy"),
        ("prefix_top1", "prefix top-1 accuracy"),
        ("no_suggestion", "non-model: no suggestion"),
        ("latency_us", "mean latency per call (µs)"),
    ):
        ratio = ours_figures[metric] / baseline[metric] if baseline[metric] else float("inf")
        print(f"{label:<30}{ours_figures[metric]:>25.3f}{baseline[metric]:>12.3f}{ratio:>9.2f}")
    named, difflib_named, retired_cases = retired_named()
    print(
        f"{'retired typo named (' + str(retired_cases) + ')':<30}{named:>25.3f}"
        f"{difflib_named:>12.3f}{named / difflib_named if difflib_named else float('inf'):>9.2f}"
    )
    targets = (
        ours_figures["top1"] >= 0.97
        and ours_figures["top3"] >= 0.99
        and ours_figures["prefix_top1"] >= 0.99
        and ours_figures["no_suggestion"] >= 0.9
        and ours_figures["latency_us"] <= 50
    )
    better = (
        ours_figures["top1"] > baseline["top1"]
        and ours_figures["no_suggestion"] >= baseline["no_suggestion"]
    )
    print(
        "targets (typo top-1 >= 0.97, top-3 >= 0.99, prefix top-1 >= 0.99, no suggestion >= 0.9,"
        f" <= 50 µs per call): {'met' if targets else 'MISSED'}"
    )
    print(f"better than difflib: {'yes' if better else 'NO'}")
    return 0 if targets and better else 1


if __name__ == "__main__":
    raise SystemExit(main())
