"""Suggestion quality and speed: `suggest_training_models` beside `difflib.get_close_matches`.

Both answer the same questions over the same ids in the same run, so the ratios hold on a shared,
noisy machine. The corpus: generated typos and prefixes of every id Tinker serves (one right
answer each), strings that are no model (no answer is right), and typos and prefixes of retired
ids. Retired ids are never suggested, so those are left out of the accuracy figures and counted
on their own: the unknown-model message (`describe_unknown_training_model`) must name the retired
id (with its date and replacement), and difflib, given the retired ids too, must rank it first.

Speed is the mean time per call over the whole corpus, after one untimed pass (rapidfuzz's import
and the candidate keys are paid once per process, not per call), the fastest of a few passes
taken in turns with difflib's. Run with `nox -s bench`.
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
PASSES = 5
TARGET_US = 50.0
Suggester = Callable[[str], list[str]]


def ours(query: str) -> list[str]:
    return [model.tinker_id for model in suggest_training_models(query)]


def difflib_suggest(query: str, ids: Sequence[str] = SERVED) -> list[str]:
    return difflib.get_close_matches(query, ids, n=3)


def _accuracy(answers: list[list[str]], cases: list[Typo], rank: int) -> float:
    hits = sum(c.intended in a[:rank] for a, c in zip(answers, cases, strict=True))
    return hits / len(cases)


TYPOS = make_typos(SERVED)
PREFIXES = make_prefixes(SERVED)
QUERIES = [c.text for c in TYPOS] + [c.text for c in PREFIXES] + list(NON_MODEL_STRINGS)
# Retired ids' typos and prefixes (a prefix must start that id alone, served ids included).
RETIRED_CASES = make_typos(RETIRED, per_kind=1) + [
    prefix for prefix in make_prefixes([*RETIRED, *SERVED]) if prefix.intended in RETIRED
]


def quality(suggest: Suggester) -> dict[str, float]:
    """Accuracy on typos and prefixes of served ids, silence on strings that are no model."""
    answers = [suggest(query) for query in QUERIES]
    typo_answers = answers[: len(TYPOS)]
    prefix_answers = answers[len(TYPOS) : len(TYPOS) + len(PREFIXES)]
    non_model_answers = answers[len(TYPOS) + len(PREFIXES) :]
    return {
        "top1": _accuracy(typo_answers, TYPOS, 1),
        "top3": _accuracy(typo_answers, TYPOS, 3),
        "prefix_top1": _accuracy(prefix_answers, PREFIXES, 1),
        "no_suggestion": sum(not a for a in non_model_answers) / len(non_model_answers),
    }


def latencies(suggesters: dict[str, Suggester]) -> dict[str, float]:
    """Mean µs per call over the corpus: the fastest of ``PASSES`` passes, taken in turns."""
    best = dict.fromkeys(suggesters, float("inf"))
    for _ in range(PASSES):
        for name, suggest in suggesters.items():
            start = time.perf_counter()
            for query in QUERIES:
                suggest(query)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds / len(QUERIES) * 1e6 for name, seconds in best.items()}


def _names_retired(message: str, tinker_id: str) -> bool:
    return f"The nearest id, {tinker_id}, was retired" in message or message.startswith(
        f"Training base model {tinker_id!r} was retired"
    )


def retired_named() -> tuple[float, float]:
    """Typos and prefixes of retired ids: how often our message names the retired id, and how
    often difflib, choosing among served and retired ids, ranks it first."""
    ours_named = sum(
        _names_retired(describe_unknown_training_model(case.text), case.intended)
        for case in RETIRED_CASES
    )
    everything = [*SERVED, *RETIRED]
    theirs = sum(difflib_suggest(c.text, everything)[:1] == [c.intended] for c in RETIRED_CASES)
    return ours_named / len(RETIRED_CASES), theirs / len(RETIRED_CASES)


def _row(label: str, mine: float, theirs: float) -> str:
    ratio = mine / theirs if theirs else float("inf")
    return f"{label:<34}{mine:>25.3f}{theirs:>12.3f}{ratio:>9.2f}"


def main() -> int:
    ours_figures = quality(ours)  # also the untimed warm-up pass
    baseline = quality(difflib_suggest)
    speed = latencies({"ours": ours, "difflib": difflib_suggest})
    print(
        f"suggestions: {len(TYPOS)} typos and {len(PREFIXES)} prefixes of {len(SERVED)} served "
        f"ids, {len(NON_MODEL_STRINGS)} non-model strings"
    )
    print(f"{'metric':<34}{'suggest_training_models':>25}{'difflib':>12}{'ratio':>9}")
    for metric, label in (
        ("top1", "typo top-1 accuracy"),
        ("top3", "typo top-3 accuracy"),
        ("prefix_top1", "prefix top-1 accuracy"),
        ("no_suggestion", "non-model: no suggestion"),
    ):
        print(_row(label, ours_figures[metric], baseline[metric]))
    print(_row("mean time per call (µs)", speed["ours"], speed["difflib"]))
    named, difflib_named = retired_named()
    print(
        f"retired ids ({len(RETIRED_CASES)} typos and prefixes of {len(RETIRED)}): never "
        "suggested, so not in the accuracy above; counted here instead"
    )
    print(_row("retired id named / ranked first", named, difflib_named))
    targets = (
        ours_figures["top1"] >= 0.97
        and ours_figures["top3"] >= 0.99
        and ours_figures["prefix_top1"] >= 0.99
        and ours_figures["no_suggestion"] >= 0.9
        and named >= 0.95
        and speed["ours"] <= TARGET_US
    )
    better = (
        ours_figures["top1"] > baseline["top1"]
        and ours_figures["no_suggestion"] >= baseline["no_suggestion"]
    )
    print(
        "targets (typo top-1 >= 0.97, top-3 >= 0.99, prefix top-1 >= 0.99, no suggestion >= 0.9, "
        f"retired named >= 0.95, <= {TARGET_US:g} µs per call): {'met' if targets else 'MISSED'}"
    )
    print(f"better than difflib: {'yes' if better else 'NO'}")
    return 0 if targets and better else 1


if __name__ == "__main__":
    raise SystemExit(main())
