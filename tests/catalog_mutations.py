"""Programmatic drift: copies of both catalogs in a temporary folder, and edits of the mirror.

Each ``Mutation`` is one edit a careless hand could make to the API's mirror, with the finding
(code and path) that ``python -m tools.catalog_sync check`` must report for it. They are
generated from the mirror's own syntax tree, so every entry and every field is covered and a new
field without a mutation rule fails loudly instead of going untested.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.catalog_sync.cli import API_CATALOG, SDK_CATALOG, main

__all__ = [
    "Mutation",
    "behaviour_mutations",
    "copy_catalogs",
    "entry_field_mutations",
    "entry_presence_mutations",
    "retired_mutations",
    "run_check",
    "schema_mutations",
]

MIRROR_TEXT = API_CATALOG.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Mutation:
    """An edit of the mirror's text and the finding it must produce."""

    name: str
    code: str
    path: str
    edit: Callable[[str], str]
    path_is_prefix: bool = False

    def caught_by(self, findings: Sequence[dict[str, object]]) -> bool:
        for finding in findings:
            path = str(finding["path"])
            matches = path.startswith(self.path) if self.path_is_prefix else path == self.path
            if finding["code"] == self.code and matches:
                return True
        return False


def copy_catalogs(folder: Path) -> tuple[Path, Path]:
    """Both catalogs copied into ``folder`` (the mirror is the one tests mutate)."""
    sdk, api = folder / "sdk_models.py", folder / "api_catalog.py"
    sdk.write_text(SDK_CATALOG.read_text(encoding="utf-8"), encoding="utf-8")
    api.write_text(MIRROR_TEXT, encoding="utf-8")
    return sdk, api


def run_check(
    capsys: pytest.CaptureFixture[str], sdk: Path, api: Path, *extra: str
) -> tuple[int, list[dict[str, object]]]:
    """``main(["check", ...])`` in-process, with its JSON-lines findings parsed."""
    code = main(["check", "--sdk", str(sdk), "--api", str(api), "--format", "json", *extra])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


# --- editing helpers ---------------------------------------------------------------------------


def _entry_calls(text: str) -> list[ast.Call]:
    for node in ast.parse(text).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "TINKER_MODELS":
            assert isinstance(node, ast.AnnAssign)
            assert isinstance(node.value, ast.Tuple)
            return [call for call in node.value.elts if isinstance(call, ast.Call)]
    raise AssertionError("TINKER_MODELS not found")


def _lines_of(node: ast.AST) -> tuple[int, int]:
    assert node.end_lineno is not None
    return node.lineno - 1, node.end_lineno  # 0-based start, exclusive end


def set_keyword(text: str, index: int, field: str, source: str) -> str:
    """Entry ``index``'s ``field=`` set to ``source`` (an expression), added if absent."""
    call = _entry_calls(text)[index]
    lines = text.splitlines(keepends=True)
    for keyword in call.keywords:
        if keyword.arg == field:
            start, end = _lines_of(keyword)
            indent = re.match(r"\s*", lines[start]).group(0)  # type: ignore[union-attr]
            lines[start:end] = [f"{indent}{field}={source},\n"]
            return "".join(lines)
    last = call.keywords[-1]
    _, end = _lines_of(last)
    indent = re.match(r"\s*", lines[end - 1]).group(0)  # type: ignore[union-attr]
    lines.insert(end, f"{indent}{field}={source},\n")
    return "".join(lines)


def _without(lines: list[str], start: int) -> list[str]:
    # An entry spans from "TrainingModel(" to its "),"; find that closing line from the start.
    end = start
    while lines[end].rstrip() != "    ),":
        end += 1
    return lines[:start] + lines[end + 1 :]


def _entry_lines(lines: list[str], start: int) -> list[str]:
    end = start
    while lines[end].rstrip() != "    ),":
        end += 1
    return lines[start : end + 1]


def duplicate_entry(text: str, index: int) -> str:
    lines = text.splitlines(keepends=True)
    start, _ = _lines_of(_entry_calls(text)[index])
    block = _entry_lines(lines, start)
    return "".join(lines[: start + len(block)] + block + lines[start + len(block) :])


def move_entry(text: str, index: int) -> str:
    """Entry ``index`` moved to the front of the tuple (the first entry to the back)."""
    calls = _entry_calls(text)
    lines = text.splitlines(keepends=True)
    start, _ = _lines_of(calls[index])
    block = _entry_lines(lines, start)
    rest = lines[:start] + lines[start + len(block) :]
    if index == 0:
        last_start, _ = _lines_of(calls[-1])
        target = last_start - len(block) + len(_entry_lines(lines, last_start))
    else:
        target, _ = _lines_of(calls[0])
    return "".join(rest[:target] + block + rest[target:])


def replace_once(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"expected exactly one {old!r} in the mirror"
        return text.replace(old, new)

    return edit


# --- the mutations -----------------------------------------------------------------------------

_FAMILY = re.compile(r"TrainingModelFamily\.([A-Z_]+)")


def _field_edit(field: str, call: ast.Call, text: str) -> str | None:  # noqa: PLR0911
    """A different value for ``field`` of ``call``, as source; None when there is no rule."""
    given = {kw.arg: ast.get_source_segment(text, kw.value) or "" for kw in call.keywords}
    value = given.get(field)
    if field == "tinker_id":
        assert value is not None
        organisation, _, name = ast.literal_eval(value).partition("/")
        return repr(f"{organisation}x/{name}")
    if field == "display_name":
        return repr(ast.literal_eval(value or "''") + " X")
    if field == "family":
        current = _FAMILY.fullmatch(value or "")
        assert current is not None
        return "TrainingModelFamily." + ("LLAMA" if current.group(1) != "LLAMA" else "QWEN")
    if field == "type":
        return "TrainingModelType." + ("DENSE" if value and value.endswith("MOE") else "MOE")
    if field in ("size_b", "total_size_b"):
        return repr(float(ast.literal_eval(value or "0")) + 0.5)
    if field == "context_length":
        return repr(int(ast.literal_eval(value or "0")) - 1)
    if field == "extended_context_length":
        if value is None:
            return repr(2 * int(ast.literal_eval(given["context_length"])))
        return repr(2 * int(ast.literal_eval(value)))
    if field == "supported_algorithms":
        return "(TrainingAlgorithm.SFT, TrainingAlgorithm.PPO)"
    if field == "pricing":
        return "TrainingModelPricing(prefill=1.0)"
    return _training_fact_edit(field, value)


def _training_fact_edit(field: str, value: str | None) -> str | None:
    """A different value for one of the training facts (most are None on retired entries)."""
    if field == "kind":
        return "TrainingModelKind." + ("BASE" if value and value.endswith("CHAT") else "CHAT")
    if field == "vision":
        return "False" if value == "True" else "True"
    if field == "hidden_size":
        return "1024" if value is None else f"{value} + 1"
    if field == "lora_parameters_per_rank":
        return "1000" if value is None else f"{value} + 1"
    if field == "max_lora_rank":
        return "64" if value is None else f"2 * {value}"
    return None


def entry_fields() -> list[str]:
    """The mirror's entry fields, read from its ``TrainingModel`` class (computed ones excluded)."""
    for node in ast.parse(MIRROR_TEXT).body:
        if isinstance(node, ast.ClassDef) and node.name == "TrainingModel":
            return [
                statement.target.id
                for statement in node.body
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                if statement.target.id != "model_config"
            ]
    raise AssertionError("TrainingModel not found in the mirror")


def entry_field_mutations() -> list[Mutation]:
    """For every entry and every field: that field changed in that entry of the mirror."""
    mutations = []
    calls = _entry_calls(MIRROR_TEXT)
    for index, call in enumerate(calls):
        tinker_id = ast.literal_eval(
            next(kw.value for kw in call.keywords if kw.arg == "tinker_id")
        )
        for field in entry_fields():
            source = _field_edit(field, call, MIRROR_TEXT)
            assert source is not None, f"no mutation rule for the new field {field!r}"
            code = "entry-id-differs" if field == "tinker_id" else "field-value-differs"

            def edit(
                text: str, index: int = index, field: str = field, source: str = source
            ) -> str:
                return set_keyword(text, index, field, source)

            mutations.append(
                Mutation(
                    f"{tinker_id}.{field}={source}",
                    code,
                    f"{tinker_id}.{field}",
                    edit,
                    path_is_prefix=field == "pricing",
                )
            )
    return mutations


def entry_presence_mutations() -> list[Mutation]:
    """For every entry: removed, duplicated, and moved out of order."""
    mutations = []
    for index, call in enumerate(_entry_calls(MIRROR_TEXT)):
        tinker_id = ast.literal_eval(
            next(kw.value for kw in call.keywords if kw.arg == "tinker_id")
        )
        mutations += [
            Mutation(f"remove {tinker_id}", "entry-missing-in-api", tinker_id,
                     lambda text, i=index: "".join(_without(text.splitlines(keepends=True),
                                                            _lines_of(_entry_calls(text)[i])[0]))),
            Mutation(f"duplicate {tinker_id}", "entry-duplicate", tinker_id,
                     lambda text, i=index: duplicate_entry(text, i)),
            Mutation(f"move {tinker_id}", "entry-order-differs", tinker_id,
                     lambda text, i=index: move_entry(text, i)),
        ]  # fmt: skip
    return mutations


def _retirement_calls(text: str) -> list[ast.Call]:
    for node in ast.parse(text).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "TINKER_RETIREMENTS":
            assert isinstance(node.value, ast.Tuple)
            return [call for call in node.value.elts if isinstance(call, ast.Call)]
    raise AssertionError("TINKER_RETIREMENTS not found")


def _edit_retirement(text: str, index: int, change: Callable[[str], str]) -> str:
    """Retirement ``index``'s source replaced by ``change(source)``."""
    call = _retirement_calls(text)[index]
    lines = text.splitlines(keepends=True)
    start, end = _lines_of(call)
    block = "".join(lines[start:end])
    return "".join(lines[:start]) + change(block) + "".join(lines[end:])


def retired_mutations() -> list[Mutation]:
    """For every retirement record: removed, its date and its replacement changed, moved."""
    mutations = []
    calls = _retirement_calls(MIRROR_TEXT)
    for index, call in enumerate(calls):
        key = ast.literal_eval(next(kw.value for kw in call.keywords if kw.arg == "tinker_id"))
        path = f"TINKER_RETIREMENTS[{key}]"
        source = ast.get_source_segment(MIRROR_TEXT, call) or ""
        given = {kw.arg: ast.get_source_segment(MIRROR_TEXT, kw.value) for kw in call.keywords}
        other = '"Qwen/Qwen3-8B"' if given.get("replacement") != '"Qwen/Qwen3-8B"' else "None"

        def date_edit(block: str, old: str = f"retired_on={given['retired_on']}") -> str:
            return block.replace(old, "retired_on=date(2099, 1, 1)")

        def replacement_edit(
            block: str, old: str = f"replacement={given.get('replacement')}", new: str = other
        ) -> str:
            return block.replace(old, f"replacement={new}")

        mutations += [
            Mutation(f"retirement-remove {key}", "retirement-missing-in-api", path,
                     lambda text, i=index: _edit_retirement(text, i, lambda _: "")),
            Mutation(f"retirement-date {key}", "retirement-field-differs", f"{path}.retired_on",
                     lambda text, i=index, e=date_edit: _edit_retirement(text, i, e)),
            Mutation(f"retirement-replacement {key}", "retirement-field-differs",
                     f"{path}.replacement",
                     lambda text, i=index, e=replacement_edit: _edit_retirement(text, i, e)),
        ]  # fmt: skip
        assert "retired_on=" in source
        assert "replacement=" in source
    first = ast.get_source_segment(MIRROR_TEXT, calls[0]) or ""
    first_key = ast.literal_eval(calls[0].keywords[0].value)
    mutations.append(
        Mutation(f"retirement-move {first_key}", "retirement-order-differs",
                 f"TINKER_RETIREMENTS[{first_key}]",
                 lambda text: _edit_retirement(text, 0, lambda _: "")
                 .replace("\n)\n\n# --- catalog data: end", f"\n    {first},\n)\n\n"
                          "# --- catalog data: end")),
    )  # fmt: skip
    return mutations


def _enum_members(text: str) -> dict[str, list[tuple[str, str]]]:
    enums: dict[str, list[tuple[str, str]]] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id == "StrEnum" for base in node.bases
        ):
            enums[node.name] = [
                (statement.targets[0].id, statement.value.value)  # type: ignore[attr-defined]
                for statement in node.body
                if isinstance(statement, ast.Assign)
            ]
    return enums


def schema_mutations() -> list[Mutation]:
    """Each enum member added, removed, renamed (name or value); bounds, defaults and types."""
    mutations = []
    for enum_name, members in _enum_members(MIRROR_TEXT).items():
        path = f"schema.{enum_name}"
        first_name, first_value = members[0]
        mutations.append(
            Mutation(f"{enum_name} += ZZZ", "enum-members-differ", path,
                     replace_once(f'    {first_name} = "{first_value}"\n',
                                  f'    {first_name} = "{first_value}"\n    ZZZ = "zzz"\n'))
        )  # fmt: skip
        for name, value in members:
            line = f'    {name} = "{value}"\n'
            mutations += [
                Mutation(f"{enum_name} -= {name}", "enum-members-differ", path,
                         replace_once(line, "")),
                Mutation(f"{enum_name}.{name} value renamed", "enum-members-differ", path,
                         replace_once(line, f'    {name} = "{value}-renamed"\n')),
                Mutation(f"{enum_name}.{name} name renamed", "enum-members-differ", path,
                         replace_once(line, f'    {name}_RENAMED = "{value}"\n')),
            ]  # fmt: skip
    model = "schema.TrainingModel"
    pricing = "schema.TrainingModelPricing"
    rules: list[tuple[str, str, str, str]] = [
        # bounds
        ("schema-bound-differs", f"{model}.size_b.minimum", "    size_b: float = Field(ge=0.1)",
         "    size_b: float = Field(ge=0.2)"),
        ("schema-bound-differs", f"{model}.total_size_b.minimum",
         "total_size_b: float = Field(ge=0.1)", "total_size_b: float = Field(ge=0.5)"),
        ("schema-bound-differs", f"{model}.context_length.minimum",
         "context_length: int = Field(ge=1)", "context_length: int = Field(ge=2)"),
        ("schema-bound-differs", f"{model}.context_length.maximum",
         "context_length: int = Field(ge=1)", "context_length: int = Field(ge=1, le=10**7)"),
        ("schema-bound-differs", f"{model}.extended_context_length.anyOf[0].minimum",
         "extended_context_length: int | None = Field(default=None, ge=1)",
         "extended_context_length: int | None = Field(default=None, ge=2)"),
        ("schema-bound-differs", f"{model}.tinker_id.minLength",
         "str, Field(min_length=3,", "str, Field(min_length=4,"),
        ("schema-bound-differs", f"{model}.tinker_id.pattern",
         r"(:peft:\d+)?$", r"(:peft:\d{1,7})?$"),
        ("schema-bound-differs", f"{model}.display_name.minLength",
         "display_name: str = Field(min_length=1)", "display_name: str = Field(min_length=2)"),
        ("schema-bound-differs", f"{model}.supported_algorithms.minItems",
         "Field(min_length=1)\n    pricing", "Field(min_length=2)\n    pricing"),
        ("schema-bound-differs", f"{model}.supported_algorithms.maxItems",
         "Field(min_length=1)\n    pricing", "Field(min_length=1, max_length=9)\n    pricing"),
        ("schema-bound-differs", f"{pricing}.prefill.anyOf[0].minimum",
         "Price = Annotated[float, Field(ge=0)]", "Price = Annotated[float, Field(ge=0.01)]"),
        # defaults and required-ness
        ("schema-default-differs", f"{model}.pricing.default",
         "pricing: TrainingModelPricing | None = None",
         "pricing: TrainingModelPricing | None = TrainingModelPricing()"),
        ("schema-default-differs", f"{model}.extended_context_length.default",
         "extended_context_length: int | None = Field(default=None, ge=1)",
         "extended_context_length: int | None = Field(default=1_000_000, ge=1)"),
        ("schema-default-differs", f"{pricing}.train.default",
         "    train: Price | None = None", "    train: Price | None = 0.0"),
        ("schema-required-differs", f"{model}.required",
         "display_name: str = Field(min_length=1)",
         'display_name: str = Field(default="unnamed", min_length=1)'),
        # types
        ("schema-type-differs", f"{model}.context_length.type", "context_length: int = Field(",
         "context_length: float = Field("),
        ("schema-type-differs", f"{model}.display_name", "display_name: str = Field(",
         "display_name: str | None = Field("),
        ("schema-type-differs", f"{model}.supported_algorithms",
         "supported_algorithms: tuple[TrainingAlgorithm, ...]",
         "supported_algorithms: tuple[str, ...]"),
        ("schema-field-missing-in-sdk", f"{model}.notes",
         "    pricing: TrainingModelPricing | None = None\n",
         "    pricing: TrainingModelPricing | None = None\n    notes: str | None = None\n"),
        ("schema-field-missing-in-sdk", f"{pricing}.cached_prefill",
         "    train: Price | None = None\n",
         "    train: Price | None = None\n    cached_prefill: Price | None = None\n"),
    ]  # fmt: skip
    for code, path, old, new in rules:
        mutations.append(
            Mutation(f"{path}: {new.strip()}", code, path, replace_once(old, new), True)
        )
    return mutations


def behaviour_mutations() -> list[Mutation]:
    """Changes to the functions' code that leave data and schema equal."""
    return [
        Mutation("suggestion cutoff 65 -> 55", "behaviour-differs", "suggest_training_models(",
                 replace_once("SUGGESTION_CUTOFF = 65.0", "SUGGESTION_CUTOFF = 55.0"), True),
        Mutation("suggestion cutoff 65 -> 75", "behaviour-differs", "suggest_training_models(",
                 replace_once("SUGGESTION_CUTOFF = 65.0", "SUGGESTION_CUTOFF = 75.0"), True),
        Mutation("suggestions worst first", "behaviour-differs", "suggest_training_models(",
                 replace_once("scored.sort(key=lambda item: -item[0])",
                              "scored.sort(key=lambda item: item[0])"), True),
        Mutation("prefixes not favoured", "behaviour-differs", "suggest_training_models(",
                 replace_once("_PREFIX_FLOOR = 90.0", "_PREFIX_FLOOR = 0.0"), True),
        Mutation("suggest accepts an empty query", "behaviour-differs",
                 "suggest_training_models(",
                 replace_once("if not isinstance(query, str) or not query.strip():",
                              "if not isinstance(query, str):"), True),
        Mutation("size bounds exclusive", "behaviour-differs", "filter_training_models(",
                 replace_once("m.size_b >= min_size_b", "m.size_b > min_size_b"), True),
        Mutation("negative sizes accepted", "behaviour-differs", "filter_training_models(",
                 replace_once("if bound is not None and not bound >= 0:",
                              "if bound is not None and bound < -1:"), True),
        Mutation("case-insensitive lookup", "behaviour-differs", "get_training_model(",
                 replace_once("    model = _BY_ID.get(tinker_id)\n    if model is not None:",
                              "    model = {k.lower(): v for k, v in _BY_ID.items()}"
                              ".get(tinker_id.lower())\n    if model is not None:"), True),
        Mutation("any :peft: length resolves", "behaviour-differs", "get_training_model(",
                 replace_once("    if base is None or base.extended_context_id != tinker_id:",
                              "    if base is None or base.extended_context_id is None:"), True),
        Mutation("retired the day after, not on the day", "behaviour-differs",
                 "get_training_model(",
                 replace_once("        if day >= self.retired_on:\n",
                              "        if day > self.retired_on:\n"), True),
        Mutation("retiring before the announcement", "behaviour-differs",
                 "training_model_status(",
                 replace_once("if self.announced_on is not None and day < self.announced_on:",
                              "if self.announced_on is not None and day < self.retired_on:"),
                 True),
        Mutation("retiring models not warned", "behaviour-differs",
                 "describe_retiring_training_model(",
                 replace_once("    if retirement is None or retirement.status(on) is not "
                              "TrainingModelStatus.RETIRING:\n        return None\n",
                              "    if retirement is None or True:\n        return None\n"),
                 True),
        Mutation("retired listing includes future ones", "behaviour-differs",
                 "retired_training_models(",
                 replace_once("if r.retired_on <= day]", "if r.retired_on <= day or True]"),
                 True),
        Mutation("unknown family message", "behaviour-differs", "filter_training_models(",
                 replace_once('f"unknown {name} {str(value)!r}; allowed: {allowed}"',
                              'f"unknown {name} {str(value)!r}"'), True),
        Mutation("query error blames another argument", "behaviour-differs",
                 "suggest_training_models(",
                 replace_once('TrainingQueryError("limit", f"limit must',
                              'TrainingQueryError("query", f"limit must'), True),
        Mutation("retired model called unknown", "behaviour-differs",
                 "describe_unknown_training_model(",
                 replace_once("    if retirement is not None and retirement.status(day) is "
                              "TrainingModelStatus.RETIRED:\n",
                              "    if retirement is not None and False:\n"), True),
        Mutation("unknown model offers three suggestions", "behaviour-differs",
                 "describe_unknown_training_model(",
                 replace_once("    model_id: str, limit: int = 2, *, on: date | None = None",
                              "    model_id: str, limit: int = 3, *, on: date | None = None"),
                 True),
        Mutation("wrong suffix not explained", "behaviour-differs",
                 "describe_unknown_training_model(",
                 replace_once("    if suffix is not None:\n", "    if suffix is None and False:\n"),
                 True),
    ]  # fmt: skip
