"""Suggestion quality and speed: `suggest_training_models` beside `difflib.get_close_matches`.

Both answer the same question over the same ids and the same generated corpus, in the same run,
so the ratios hold on a shared, noisy machine. Run with `nox -s bench`.
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run from the repository root (`python benchmarks/suggest.py`); the corpus lives in tools/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dreadnode.training import TINKER_MODELS, suggest_training_models
from tools.catalog_sync.corpus import NON_MODEL_STRINGS, make_typos

IDS = [model.tinker_id for model in TINKER_MODELS]
Suggester = Callable[[str], list[str]]


def difflib_suggest(query: str) -> list[str]:
    return difflib.get_close_matches(query, IDS, n=3)


def measure(suggest: Suggester) -> dict[str, float]:
    typos = make_typos(IDS)
    queries = [typo.text for typo in typos] + list(NON_MODEL_STRINGS)
    start = time.perf_counter()
    answers = [suggest(query) for query in queries]
    elapsed = time.perf_counter() - start
    typo_answers = answers[: len(typos)]
    non_model_answers = answers[len(typos) :]
    return {
        "cases": len(typos),
        "top1": sum(a[:1] == [t.intended] for a, t in zip(typo_answers, typos, strict=True))
        / len(typos),
        "top3": sum(t.intended in a[:3] for a, t in zip(typo_answers, typos, strict=True))
        / len(typos),
        "no_suggestion": sum(not a for a in non_model_answers) / len(non_model_answers),
        "latency_us": elapsed / len(queries) * 1e6,
    }


def main() -> int:
    ours = measure(suggest_training_models)
    baseline = measure(difflib_suggest)
    print(f"suggestions: {int(ours['cases'])} typos of {len(IDS)} ids, "
          f"{len(NON_MODEL_STRINGS)} non-model strings")  # fmt: skip
    print(f"{'metric':<26}{'suggest_training_models':>25}{'difflib':>12}{'ratio':>9}")
    for metric, label in (
        ("top1", "top-1 accuracy"),
        ("top3", "top-3 accuracy"),
        ("no_suggestion", "non-model: no suggestion"),
        ("latency_us", "mean latency per call (µs)"),
    ):
        ratio = ours[metric] / baseline[metric] if baseline[metric] else float("inf")
        print(f"{label:<26}{ours[metric]:>25.3f}{baseline[metric]:>12.3f}{ratio:>9.2f}")
    targets = ours["top1"] >= 0.97 and ours["top3"] >= 0.99 and ours["no_suggestion"] >= 0.9
    better = ours["top1"] > baseline["top1"] and ours["no_suggestion"] >= baseline["no_suggestion"]
    verdict = "met" if targets else "MISSED"
    print(f"targets (top-1 >= 0.97, top-3 >= 0.99, no suggestion >= 0.9): {verdict}")
    print(f"better than difflib: {'yes' if better else 'NO'}")
    return 0 if targets and better else 1


if __name__ == "__main__":
    raise SystemExit(main())
