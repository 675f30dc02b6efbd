"""Programmatic drift: copies of both catalogs in a temporary folder, and edits of the mirror.

Each ``Mutation`` is one edit a careless hand could make to the API's mirror, with the finding
(code and path) that ``python -m tools.catalog_sync check`` must report for it. They are
generated from the mirror's own syntax tree, so every entry, every field and every retirement
record is covered, and a new field without a mutation rule fails loudly instead of going untested.

Mutations that share a ``group`` change the same field of different entries (or records): each
one's finding is named by its own entry, so they are applied together and checked in one run,
which keeps the suite fast; each must still be reported. Everything that can interact (order,
types, enums, code) is applied alone.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import pytest

from tools.catalog_sync.cli import API_CATALOG, SDK_CATALOG, main

__all__ = [
    "Mutation",
    "apply_all",
    "batches",
    "behaviour_mutations",
    "computed_field_mutations",
    "copy_catalogs",
    "entry_field_mutations",
    "entry_fields",
    "entry_presence_mutations",
    "retired_mutations",
    "run_check",
    "schema_mutations",
    "set_keyword",
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
    #: mutations with the same non-empty group are independent and checked in one run
    group: str = ""

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


def batches(mutations: Sequence[Mutation]) -> Iterator[list[Mutation]]:
    """The mutations in the runs they are checked in: each group together, the rest alone."""
    groups: dict[str, list[Mutation]] = {}
    for mutation in mutations:
        if mutation.group:
            groups.setdefault(mutation.group, []).append(mutation)
        else:
            yield [mutation]
    yield from groups.values()


def apply_all(batch: Sequence[Mutation], text: str) -> str:
    """``text`` with every edit of ``batch`` applied in turn; each must change something."""
    for mutation in batch:
        edited = mutation.edit(text)
        assert edited != text, f"{mutation.name}: the edit changed nothing"
        text = edited
    return text


def run_check(
    capsys: pytest.CaptureFixture[str], sdk: Path, api: Path, *extra: str
) -> tuple[int, list[dict[str, object]]]:
    """``main(["check", ...])`` in-process, with its JSON-lines findings parsed."""
    code = main(["check", "--sdk", str(sdk), "--api", str(api), "--format", "json", *extra])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


# --- editing helpers ---------------------------------------------------------------------------


def _tuple_calls(text: str, name: str) -> list[ast.Call]:
    """The calls of the data tuple ``name`` (``TINKER_MODELS`` or ``TINKER_RETIREMENTS``)."""
    for node in ast.parse(text).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == name:
            assert isinstance(node, ast.AnnAssign)
            assert isinstance(node.value, ast.Tuple)
            return [call for call in node.value.elts if isinstance(call, ast.Call)]
    raise AssertionError(f"{name} not found")


def _entry_calls(text: str) -> list[ast.Call]:
    return _tuple_calls(text, "TINKER_MODELS")


def _retirement_calls(text: str) -> list[ast.Call]:
    return _tuple_calls(text, "TINKER_RETIREMENTS")


def _keywords(call: ast.Call) -> dict[str, str]:
    """Each keyword of ``call`` as source (normalised by ``ast.unparse``: quick on big files)."""
    return {kw.arg: ast.unparse(kw.value) for kw in call.keywords if kw.arg is not None}


def _tinker_id(call: ast.Call) -> str:
    value = ast.literal_eval(_keywords(call)["tinker_id"])
    assert isinstance(value, str)
    return value


def _index_of(calls: list[ast.Call], tinker_id: str) -> int:
    """The position of the first call for ``tinker_id``: edits by id compose in any order."""
    return next(i for i, call in enumerate(calls) if _tinker_id(call) == tinker_id)


def _lines_of(node: ast.expr | ast.keyword) -> tuple[int, int]:
    assert node.end_lineno is not None
    return node.lineno - 1, node.end_lineno  # 0-based start, exclusive end


def set_keyword(text: str, index: int, field: str, source: str) -> str:
    """Entry ``index``'s ``field=`` set to ``source`` (an expression), added if absent."""
    return _set_call_keyword(text, _entry_calls(text)[index], field, source)


def set_retirement_keyword(text: str, index: int, field: str, source: str) -> str:
    """Retirement record ``index``'s ``field=`` set to ``source``, added if absent."""
    return _set_call_keyword(text, _retirement_calls(text)[index], field, source)


def _set_call_keyword(text: str, call: ast.Call, field: str, source: str) -> str:
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


def duplicate_entry(text: str, tinker_id: str) -> str:
    """The entry for ``tinker_id`` written twice in a row."""
    calls = _entry_calls(text)
    lines = text.splitlines(keepends=True)
    start, _ = _lines_of(calls[_index_of(calls, tinker_id)])
    block = _entry_lines(lines, start)
    return "".join(lines[: start + len(block)] + block + lines[start + len(block) :])


def remove_entry(text: str, tinker_id: str) -> str:
    """The mirror without the entry for ``tinker_id``."""
    calls = _entry_calls(text)
    start, _ = _lines_of(calls[_index_of(calls, tinker_id)])
    return "".join(_without(text.splitlines(keepends=True), start))


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


def _field_edit(field: str, given: dict[str, str]) -> str | None:  # noqa: PLR0911
    """A different value for ``field`` of an entry written with ``given`` keywords (as source);
    None when there is no rule."""
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


def _training_fact_edit(field: str, value: str | None) -> str | None:  # noqa: PLR0911
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
    if field == "renderer":
        # None (no renderer: SFT refused) becomes one, and a renderer becomes another.
        other = "ROLE_COLON" if value != "TrainingRenderer.ROLE_COLON" else "QWEN3"
        return f"TrainingRenderer.{other}"
    return None


@cache
def entry_fields() -> tuple[str, ...]:
    """The mirror's entry fields, read from its ``TrainingModel`` class (computed ones excluded)."""
    for node in ast.parse(MIRROR_TEXT).body:
        if isinstance(node, ast.ClassDef) and node.name == "TrainingModel":
            return tuple(
                statement.target.id
                for statement in node.body
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                if statement.target.id != "model_config"
            )
    raise AssertionError("TrainingModel not found in the mirror")


def entry_field_mutations() -> list[Mutation]:
    """For every entry and every field: that field changed in that entry of the mirror (the same
    field of every entry in one run)."""
    mutations = []
    for index, call in enumerate(_entry_calls(MIRROR_TEXT)):
        given = _keywords(call)
        tinker_id = _tinker_id(call)
        for field in entry_fields():
            source = _field_edit(field, given)
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
                    group=f"field {field}",
                )
            )
    return mutations


#: Removals and duplicates are spread over this many runs, so that no run empties the catalog.
_SPREAD = 3


def entry_presence_mutations() -> list[Mutation]:
    """For every entry: removed, duplicated, and moved out of order (alone: moves interact)."""
    mutations = []
    for index, call in enumerate(_entry_calls(MIRROR_TEXT)):
        tinker_id = _tinker_id(call)
        spread = index % _SPREAD
        mutations += [
            Mutation(f"remove {tinker_id}", "entry-missing-in-api", tinker_id,
                     partial(remove_entry, tinker_id=tinker_id), group=f"remove {spread}"),
            Mutation(f"duplicate {tinker_id}", "entry-duplicate", tinker_id,
                     partial(duplicate_entry, tinker_id=tinker_id), group=f"duplicate {spread}"),
            Mutation(f"move {tinker_id}", "entry-order-differs", tinker_id,
                     partial(move_entry, index=index)),
        ]  # fmt: skip
    return mutations


def _remove_retirement(text: str, tinker_id: str) -> str:
    calls = _retirement_calls(text)
    start, end = _lines_of(calls[_index_of(calls, tinker_id)])
    lines = text.splitlines(keepends=True)
    return "".join(lines[:start] + lines[end:])


def _move_first_retirement_last(text: str) -> str:
    calls = _retirement_calls(text)
    lines = text.splitlines(keepends=True)
    start, end = _lines_of(calls[0])
    _, last_end = _lines_of(calls[-1])
    return "".join(lines[:start] + lines[end:last_end] + lines[start:end] + lines[last_end:])


def retired_mutations() -> list[Mutation]:
    """For every retirement record: removed, and each of its dates and its replacement changed
    (one field of every record per run); their order; records the mirror's own rules reject."""
    mutations = []
    calls = _retirement_calls(MIRROR_TEXT)
    for index, call in enumerate(calls):
        key = _tinker_id(call)
        path = f"TINKER_RETIREMENTS[{key}]"
        given = _keywords(call)
        other = "'Qwen/Qwen3-8B'" if given.get("replacement") != "'Qwen/Qwen3-8B'" else "None"
        # 2026-01-01 comes before every retirement (the record stays valid) and is no record's
        # announcement day; 2099 is after every announcement.
        changes = {
            "retired_on": "date(2099, 1, 1)",
            "replacement": other,
            "announced_on": "date(2026, 1, 1)",
        }
        mutations.append(
            Mutation(f"retirement-remove {key}", "retirement-missing-in-api", path,
                     partial(_remove_retirement, tinker_id=key),
                     group=f"retirement remove {index % _SPREAD}"),
        )  # fmt: skip
        for field, source in changes.items():
            assert given.get(field) != source, f"{key}.{field} is already {source}"
            mutations.append(
                Mutation(f"retirement {key}.{field}={source}", "retirement-field-differs",
                         f"{path}.{field}",
                         partial(set_retirement_keyword, index=index, field=field,
                                 source=source),
                         group=f"retirement {field}"),
            )  # fmt: skip
    first, last = _tinker_id(calls[0]), _tinker_id(calls[-1])
    mutations += [
        Mutation(f"retirement-move {first}", "retirement-order-differs",
                 f"TINKER_RETIREMENTS[{first}]", _move_first_retirement_last),
        # A record the mirror's own validation rejects is a finding, never a load failure.
        Mutation(f"retirement {first} announced after its date", "retirement-invalid",
                 f"TINKER_RETIREMENTS[{first}]",
                 partial(set_retirement_keyword, index=0, field="announced_on",
                         source="date(2099, 1, 1)")),
        Mutation(f"retirement {last} dated with words", "retirement-invalid",
                 f"TINKER_RETIREMENTS[{last}].retired_on",
                 partial(set_retirement_keyword, index=len(calls) - 1, field="retired_on",
                         source="'soon'")),
    ]  # fmt: skip
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
    retirement = "schema.TrainingModelRetirement"
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
        # the training facts
        ("schema-bound-differs", f"{model}.hidden_size.anyOf[0].minimum",
         "hidden_size: int | None = Field(default=None, ge=1)",
         "hidden_size: int | None = Field(default=None, ge=2)"),
        ("schema-bound-differs", f"{model}.lora_parameters_per_rank.anyOf[0].minimum",
         "lora_parameters_per_rank: int | None = Field(default=None, ge=1)",
         "lora_parameters_per_rank: int | None = Field(default=None, ge=2)"),
        ("schema-bound-differs", f"{model}.max_lora_rank.anyOf[0].maximum",
         "max_lora_rank: int | None = Field(default=None, ge=1)",
         "max_lora_rank: int | None = Field(default=None, ge=1, le=128)"),
        ("schema-default-differs", f"{model}.kind.default",
         "    kind: TrainingModelKind | None = None\n",
         "    kind: TrainingModelKind | None = TrainingModelKind.CHAT\n"),
        ("schema-type-differs", f"{model}.vision", "    vision: bool | None = None\n",
         "    vision: bool | str | None = None\n"),
        ("schema-default-differs", f"{model}.renderer.default",
         "    renderer: TrainingRenderer | None = None\n",
         "    renderer: TrainingRenderer | None = TrainingRenderer.ROLE_COLON\n"),
        ("schema-type-differs", f"{model}.renderer",
         "    renderer: TrainingRenderer | None = None\n", "    renderer: str | None = None\n"),
        # computed fields (serialization only)
        ("schema-type-differs", f"schema(serialization).{model[7:]}.recommended_learning_rate",
         "def recommended_learning_rate(self) -> float | None:",
         "def recommended_learning_rate(self) -> float | str | None:"),
        # the retirement record
        ("schema-type-differs", f"{retirement}.retired_on", "    retired_on: date\n",
         "    retired_on: date | str\n"),
        ("schema-default-differs", f"{retirement}.replacement.default",
         "    replacement: str | None = None\n", '    replacement: str | None = "none"\n'),
        ("schema-bound-differs", f"{retirement}.replacement.anyOf[0].minLength",
         "    replacement: str | None = None\n",
         "    replacement: str | None = Field(default=None, min_length=3)\n"),
        ("schema-field-missing-in-api", f"{retirement}.announced_on",
         "    announced_on: date | None = None\n", ""),
        ("schema-field-missing-in-sdk", f"{retirement}.note",
         "    announced_on: date | None = None\n",
         "    announced_on: date | None = None\n    note: str | None = None\n"),
    ]  # fmt: skip
    for code, path, old, new in rules:
        mutations.append(
            Mutation(f"{path}: {new.strip()}", code, path, replace_once(old, new), True)
        )
    return mutations


def computed_field_mutations() -> list[Mutation]:
    """Code changes that leave every stored field equal but change a computed one."""
    entries = [(_tinker_id(call), _keywords(call)) for call in _entry_calls(MIRROR_TEXT)]
    retired = {_tinker_id(call) for call in _retirement_calls(MIRROR_TEXT)}
    qwen = next(
        i
        for i, given in entries
        if given["family"] == "TrainingModelFamily.QWEN" and "hidden_size" in given
    )
    extended = next(i for i, given in entries if "extended_context_length" in given)
    retiring = next(i for i, _ in entries if i in retired)
    return [
        Mutation("learning-rate exponent", "field-value-differs",
                 f"{qwen}.recommended_learning_rate",
                 replace_once("_QWEN_LR_EXPONENT = 5e-4, 2000, 0.0775",
                              "_QWEN_LR_EXPONENT = 5e-4, 2000, 0.08")),
        Mutation("extended context never derived", "field-value-differs",
                 f"{extended}.extended_context",
                 replace_once("        return self.extended_context_length is not None\n",
                              "        return False\n")),
        Mutation("retirement not derived", "field-value-differs", f"{retiring}.retirement",
                 replace_once("        return get_training_model_retirement(self.tinker_id)\n",
                              "        return None\n")),
    ]  # fmt: skip


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
        Mutation("a :peft: id loses its model's retirement", "behaviour-differs",
                 "training_model_status(",
                 replace_once("if retirement is None and EXTENDED_CONTEXT_SEPARATOR in tinker_id",
                              "if retirement is None and False"), True),
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
        Mutation("a model without a renderer not refused", "behaviour-differs",
                 "describe_unrenderable_training_model(",
                 replace_once("    if model is None or model.renderer is not None:\n",
                              "    if model is None or model.renderer is None:\n"), True),
        Mutation("farthest alternatives to a model without a renderer", "behaviour-differs",
                 "describe_unrenderable_training_model(",
                 replace_once("    rendered.sort(key=lambda m: max(",
                              "    rendered.sort(reverse=True, key=lambda m: max("), True),
        Mutation("wrong suffix not explained", "behaviour-differs",
                 "describe_unknown_training_model(",
                 replace_once("    if suffix is not None:\n", "    if suffix is None and False:\n"),
                 True),
    ]  # fmt: skip
