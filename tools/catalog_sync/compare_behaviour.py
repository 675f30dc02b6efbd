"""Behaviour findings: both copies' functions give the same answers to the same questions.

Equal data and equal types still let the code drift (a changed suggestion cutoff, a filter that
stops raising). Each function is asked a corpus of questions on both sides: every id, generated
typos, prefixes, strings that are no model, ``:peft:`` variants, retired ids, a grid of filter
arguments including ones that must raise ValueError (the error, its message and the argument it
blames are compared too), and the messages for an unknown, retired or retiring model and for one
with no renderer. Answers that depend on the day are asked again on the day before, the day of
and the day after every retirement date either copy records, so a changed date or a changed rule
shows. One finding per function shows the first question answered differently and how many were.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from types import ModuleType
from typing import Any

from tools.catalog_sync.corpus import NON_MODEL_STRINGS, make_typos
from tools.catalog_sync.findings import MISSING, Finding, Location
from tools.catalog_sync.loader import Catalog, LoadError

__all__ = ["Question", "build_questions", "compare_behaviour"]

_FILTER_QUERIES = (
    None, "llama", "llama 3.1", "8b instruct", "qwen3.5", "QWEN", "3", "lla", "inkling small",
    "deepseek v3.1 base", "gpt-oss", "peft", "zzz", "", "---",
)  # fmt: skip
_SIZES = (None, 0, 0.5, 3, 8, 17.5, 70, 1000, -1, math.nan)
_SUGGEST_LIMITS: tuple[object, ...] = (1, 2, 5, 100, 0, -1, True, 2.5, "3")
_BAD_QUERIES: tuple[object, ...] = ("", "   ", None, 5)
_PEFT_SUFFIXES = (":peft:131072", ":peft:262144", ":peft:1", ":peft:", ":PEFT:262144")

# The SDK copy is loaded once per content; so are its answers (tests ask it hundreds of times).
_answers: weakref.WeakKeyDictionary[ModuleType, dict[Question, Any]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Question:
    """One call: a function name with its positional and keyword arguments."""

    function: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        arguments = [repr(arg) for arg in self.args]
        arguments += [f"{key}={value!r}" for key, value in self.kwargs]
        return f"{self.function}({', '.join(arguments)})"


def _enum_values(catalogs: Iterable[Catalog], name: str) -> list[str]:
    values: dict[str, None] = {}
    for catalog in catalogs:
        for member in getattr(catalog.module, name, ()):
            values[str(member.value)] = None
    return list(values)


def build_questions(sdk: Catalog, api: Catalog) -> list[Question]:
    """The corpus, built from the union of both sides' ids, families and algorithms."""
    ids = list(dict.fromkeys(e.tinker_id for c in (sdk, api) for e in c.entries))
    retired: dict[str, None] = {}
    dates: set[date] = set()
    for catalog in (sdk, api):
        for record in getattr(catalog.module, "TINKER_RETIREMENTS", ()):
            retired[str(getattr(record, "tinker_id", ""))] = None
            for name in ("retired_on", "announced_on"):
                if isinstance(getattr(record, name, None), date):
                    dates.add(getattr(record, name))
    extended = [
        f"{e.tinker_id}:peft:{e.values.get('extended_context_length')}"
        for c in (sdk, api)
        for e in c.entries
        if e.values.get("extended_context_length") is not None
    ]
    typos = [typo.text for typo in make_typos(ids, per_kind=1)]
    peft = [f"{tinker_id}{suffix}" for tinker_id in ids for suffix in _PEFT_SUFFIXES]
    names = list(dict.fromkeys([*ids, *retired, *extended, *peft, *typos, *NON_MODEL_STRINGS]))

    questions = [Question("get_training_model", (name,)) for name in names]
    # Suggestions cost ~0.1 ms per call per side: every third typo (all kinds still appear)
    # keeps `check` within its time budget while still probing the cutoff from both sides.
    suggest = list(dict.fromkeys([*ids, *extended, *typos[::3], *NON_MODEL_STRINGS]))
    suggest += [f"{typo}:peft:262144" for typo in typos[1::15]]
    questions += [Question("suggest_training_models", (query,)) for query in suggest]
    questions += [
        Question("suggest_training_models", (query,), (("limit", limit),))
        for query in (*ids[:2], typos[0] if typos else "x", "banana")
        for limit in _SUGGEST_LIMITS
    ]
    questions += [Question("suggest_training_models", (query,)) for query in _BAD_QUERIES]
    unknown = list(
        dict.fromkeys([*retired, *typos[1::3], *peft[::2], *NON_MODEL_STRINGS, "", "   "])
    )
    questions += [Question("describe_unknown_training_model", (name,)) for name in unknown]
    # Which ids a supervised fine-tuning job is refused on for want of a renderer, and the words.
    unrenderable = list(dict.fromkeys([*ids, *extended, *peft[1::5], *NON_MODEL_STRINGS[:3]]))
    questions += [
        Question("describe_unrenderable_training_model", (name,)) for name in unrenderable
    ]

    families = [None, *_enum_values((sdk, api), "TrainingModelFamily"), "bogus", "LLAMA"]
    algorithms = [None, *_enum_values((sdk, api), "TrainingAlgorithm"), "bogus"]
    grid: list[dict[str, Any]] = [{"query": query} for query in _FILTER_QUERIES]
    grid += [{"family": f, "algorithm": a} for f in families for a in algorithms]
    grid += [{"min_size_b": low, "max_size_b": high} for low in _SIZES for high in _SIZES]
    grid += [{"family": f, "query": "b", "max_size_b": 30} for f in families]
    kinds = [None, *_enum_values((sdk, api), "TrainingModelKind"), "bogus"]
    grid += [{"kind": k, "vision": v} for k in kinds for v in (None, True, False, "yes")]
    questions += [
        Question(
            "filter_training_models",
            (),
            tuple((key, value) for key, value in arguments.items() if value is not None),
        )
        for arguments in grid
    ]
    prefixes = list(dict.fromkeys(i[: max(4, len(i) * 3 // 5)] for i in [*ids, *retired]))
    questions += [Question("suggest_training_models", (prefix,)) for prefix in prefixes]
    # A :peft: id shares its model's retirement, and a wrong suffix is explained only while the
    # model is accepted: both change on the day too.
    retired_variants = [e for e in extended if e.rpartition(":peft:")[0] in retired]
    wrong_suffixes = [f"{i}:peft:1" for i in list(retired)[:: max(1, len(retired) // 3)]]
    questions += _dated_questions(
        sorted(dates), ids, [*retired, *retired_variants, *wrong_suffixes], typos, families
    )
    return questions


def _dated_questions(
    dates: list[date], ids: list[str], retired: list[str], typos: list[str], families: list[Any]
) -> list[Question]:
    """The day-dependent functions, on the days around every retirement and announcement."""
    days = sorted({day + timedelta(days=shift) for day in dates for shift in (-1, 0, 1)})
    # The day changes answers about retired ids (and the ids nearest them) only; a few live ids
    # and typos show the rest stays put.
    names = list(dict.fromkeys([*retired, *ids[:3]]))
    near = list(dict.fromkeys([*retired, *typos[::40], "llama3", "Qwen3-VL-235B"]))
    questions = []
    for day in days:
        on = (("on", day),)
        questions += [Question("get_training_model", (name,), on) for name in names]
        questions += [Question("training_model_status", (name,), on) for name in names]
        questions += [Question("describe_retiring_training_model", (name,), on) for name in names]
        questions += [
            Question("describe_unrenderable_training_model", (name,), on) for name in names
        ]
        questions += [Question("describe_unknown_training_model", (name,), on) for name in near]
        questions += [Question("suggest_training_models", (name,), on) for name in near]
        questions += [Question("retired_training_models", (), on)]
        questions += [
            Question("filter_training_models", (), tuple(({"family": f} if f else {}).items()) + on)
            for f in families[:3]
        ]
    return questions


def _answer(result: Any) -> Any:
    """Answers as ids, so a behaviour finding is about the code and not a repeat of the data."""
    if result is None:
        return None
    if hasattr(result, "tinker_id"):
        return result.tinker_id
    if isinstance(result, tuple):
        return tuple(_answer(item) for item in result)
    if isinstance(result, list):
        return [_answer(item) for item in result]
    return result


class CannotRun(str):
    """The answer of a call that failed to import what it needs: not behaviour to compare, but a
    sign that this environment cannot run the catalog (rapidfuzz missing, say)."""

    __slots__ = ()


def _ask(module: ModuleType, question: Question) -> Any:
    cache = _answers.setdefault(module, {})
    try:
        return cache[question]
    except KeyError:
        pass
    except TypeError:  # unhashable arguments: ask without the cache
        cache = {}
    function: Callable[..., Any] = getattr(module, question.function)
    try:
        answer = _answer(function(*question.args, **dict(question.kwargs)))
    except ImportError as error:
        # Both copies failing alike would look equal; compare_behaviour decides (exit 2 when both
        # fail, a finding when only one copy needs what is missing).
        answer = CannotRun(f"{type(error).__name__}: {error}")
    except Exception as error:  # noqa: BLE001 -- the error is the answer to compare
        # Which argument a query error blames is behaviour too: the API puts it in `loc`.
        blamed = getattr(error, "argument", None)
        answer = (
            f"{type(error).__name__}({blamed}): {error}"
            if blamed
            else f"{type(error).__name__}: {error}"
        )
    cache[question] = answer
    return answer


def _refuse_unrunnable(
    sdk: Catalog, api: Catalog, answers: list[tuple[Question, Any, Any]]
) -> None:
    """LoadError when both copies fail to import what a call needs: the check would otherwise
    count two failures as one agreeing answer, and pass without having compared anything."""
    for question, left, right in answers:
        if isinstance(left, CannotRun) and isinstance(right, CannotRun):
            raise LoadError(
                f"{sdk.display} and {api.display}",
                f"{question} cannot run here ({left}); install what the catalog modules import "
                "(pydantic, rapidfuzz)",
            )


def _location(catalog: Catalog, function: str) -> Location:
    return Location(catalog.display, catalog.source_map.definition_line(function))


def compare_behaviour(sdk: Catalog, api: Catalog) -> list[Finding]:
    """One finding per function whose answers differ, or that one side lacks."""
    questions = build_questions(sdk, api)
    by_function: dict[str, list[Question]] = {}
    for question in questions:
        by_function.setdefault(question.function, []).append(question)
    findings = []
    for function, asked in by_function.items():
        sdk_has = callable(getattr(sdk.module, function, None))
        api_has = callable(getattr(api.module, function, None))
        if not (sdk_has and api_has):
            if sdk_has or api_has:
                findings.append(
                    Finding(
                        f"function-missing-in-{'api' if sdk_has else 'sdk'}",
                        function,
                        "defined" if sdk_has else MISSING,
                        "defined" if api_has else MISSING,
                        _location(sdk, function) if sdk_has else None,
                        _location(api, function) if api_has else None,
                    )
                )
            continue
        answers = [(q, _ask(sdk.module, q), _ask(api.module, q)) for q in asked]
        _refuse_unrunnable(sdk, api, answers)
        differing = [(q, left, right) for q, left, right in answers if left != right]
        if differing:
            question, sdk_answer, api_answer = differing[0]
            findings.append(
                Finding(
                    "behaviour-differs",
                    str(question),
                    sdk_answer,
                    api_answer,
                    _location(sdk, function),
                    _location(api, function),
                    f"{len(differing)} of {len(asked)} calls of {function} answer differently; "
                    "the first is shown",
                )
            )
    return findings
