"""Schema findings: the entry types' JSON Schemas, the enums, and the modules' public surface.

Data can be equal today while the types already differ (a family member added on one side only is
the bug one public SDK shipped), so the types are compared as pydantic publishes them: the JSON
Schema in validation and in serialization mode. Enums are also compared member by member, which
catches a renamed member name that the JSON Schema does not show.
"""

from __future__ import annotations

import enum
import weakref
from types import ModuleType
from typing import Any

from tools.catalog_sync.findings import MISSING, Finding, Location
from tools.catalog_sync.loader import Catalog, plain
from tools.catalog_sync.values import same

__all__ = ["ENTRY_TYPE", "RETIREMENT_TYPE", "compare_schema"]

ENTRY_TYPE = "TrainingModel"
#: Retirement records are data of their own (``TINKER_RETIREMENTS``), not only the computed
#: ``TrainingModel.retirement``, so their type is compared in validation mode as well.
RETIREMENT_TYPE = "TrainingModelRetirement"
_MODES = ("validation", "serialization")
_BOUNDS = frozenset(
    {
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
        "minItems", "maxItems", "pattern", "multipleOf", "uniqueItems",
    }
)  # fmt: skip
_DESCRIPTIONS = frozenset({"title", "description"})
# Generating a JSON Schema is a tenth of a check; the SDK's copy is loaded once per content.
_schemas: weakref.WeakKeyDictionary[ModuleType, dict[str, dict[str, Any] | str]] = (
    weakref.WeakKeyDictionary()
)


_CODES = {
    **dict.fromkeys(_BOUNDS, "schema-bound-differs"),
    **dict.fromkeys(_DESCRIPTIONS, "schema-description-differs"),
    "default": "schema-default-differs",
    "enum": "enum-members-differ",
    "required": "schema-required-differs",
}
_Difference = tuple[str, list[str], Any, Any]


def _named_children(
    parts: list[str], key: str, left: dict[str, Any], right: dict[str, Any], out: list[_Difference]
) -> None:
    """Fields (``properties``) and types (``$defs``): one present on one side only is named."""
    kind = "field" if key == "properties" else "type"
    for name in list(dict.fromkeys([*left, *right])):
        inner_left, inner_right = left.get(name, MISSING), right.get(name, MISSING)
        if inner_left is MISSING or inner_right is MISSING:
            side = "api" if inner_right is MISSING else "sdk"
            out.append(
                (f"schema-{kind}-missing-in-{side}", [*parts, name], inner_left, inner_right)
            )
        else:
            _walk([*parts, name], inner_left, inner_right, out)


def _walk(parts: list[str], sdk_node: Any, api_node: Any, out: list[_Difference]) -> None:
    """Append each difference below ``parts``, coded by the JSON Schema keyword that differs."""
    if same(sdk_node, api_node):
        return
    if not (isinstance(sdk_node, dict) and isinstance(api_node, dict)):
        out.append(("schema-type-differs", parts, sdk_node, api_node))
        return
    for key in list(dict.fromkeys([*sdk_node, *api_node])):
        left, right = sdk_node.get(key, MISSING), api_node.get(key, MISSING)
        if same(left, right):
            continue
        both_dicts = isinstance(left, dict) and isinstance(right, dict)
        if key in ("properties", "$defs") and both_dicts:
            _named_children(parts, key, left, right, out)
        elif both_dicts and key not in _CODES:
            _walk([*parts, key], left, right, out)
        elif (
            isinstance(left, list)
            and isinstance(right, list)
            and len(left) == len(right)
            and key not in _CODES
        ):
            for number, (item_left, item_right) in enumerate(zip(left, right, strict=True)):
                _walk([*parts, f"{key}[{number}]"], item_left, item_right, out)
        else:
            out.append((_CODES.get(key, "schema-type-differs"), [*parts, key], left, right))


def _schema(catalog: Catalog, mode: str) -> dict[str, Any] | str:
    cache = _schemas.setdefault(catalog.module, {})
    if mode not in cache:
        cache[mode] = _generate_schema(catalog, mode)
    return cache[mode]


def _generate_schema(catalog: Catalog, mode: str) -> dict[str, Any] | str:
    """The entry type's JSON Schema with every type it uses, and the retirement record's, as one
    ``$defs`` mapping (a type one copy lacks shows as missing there)."""
    definitions: dict[str, Any] = {}
    for name in (ENTRY_TYPE, RETIREMENT_TYPE):
        model_type = getattr(catalog.module, name, None)
        if name != ENTRY_TYPE and model_type is None:
            continue
        try:
            schema = dict(model_type.model_json_schema(mode=mode))  # type: ignore[union-attr]
        except Exception as error:  # noqa: BLE001 -- a type pydantic cannot describe is a finding
            return f"{type(error).__name__}: {error}"
        definitions.update(schema.pop("$defs", {}))
        definitions[name] = schema
    return {"$defs": {ENTRY_TYPE: definitions.pop(ENTRY_TYPE), **definitions}}


def _location(catalog: Catalog, parts: list[str]) -> Location:
    names = [".".join(parts[:2])] if len(parts) > 1 else []
    line = catalog.source_map.definition_line(*names, *parts[:1], ENTRY_TYPE)
    return Location(catalog.display, line)


def _enums(catalog: Catalog) -> dict[str, dict[str, Any]]:
    module = catalog.module
    return {
        name: {member.name: plain(member.value) for member in value}
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, enum.Enum)
        and value.__module__ == module.__name__
    }


def _json_schema_findings(sdk: Catalog, api: Catalog, enums: set[str]) -> list[Finding]:
    seen: set[tuple[str, str, str, str]] = set()
    findings = []
    for mode in _MODES:
        sdk_schema, api_schema = _schema(sdk, mode), _schema(api, mode)
        if isinstance(sdk_schema, str) or isinstance(api_schema, str):
            if not same(sdk_schema, api_schema):
                findings.append(
                    Finding(
                        "schema-unavailable",
                        f"schema({mode}).{ENTRY_TYPE}",
                        sdk_schema if isinstance(sdk_schema, str) else MISSING,
                        api_schema if isinstance(api_schema, str) else MISSING,
                        _location(sdk, [ENTRY_TYPE]),
                        _location(api, [ENTRY_TYPE]),
                    )
                )
            continue
        differences: list[_Difference] = []
        _walk([], sdk_schema, api_schema, differences)
        for code, parts, sdk_value, api_value in differences:
            if code == "enum-members-differ" and parts[0] in enums:
                continue  # compared member by member in _enum_findings
            key = (code, ".".join(parts), repr(sdk_value), repr(api_value))
            if key in seen:
                continue
            seen.add(key)
            prefix = "schema" if mode == "validation" else f"schema({mode})"
            findings.append(
                Finding(
                    code,
                    ".".join([prefix, *parts]),
                    sdk_value,
                    api_value,
                    _location(sdk, parts),
                    _location(api, parts),
                )
            )
    return findings


def _enum_findings(sdk: Catalog, api: Catalog) -> tuple[list[Finding], set[str]]:
    sdk_enums, api_enums = _enums(sdk), _enums(api)
    findings = []
    for name in list(dict.fromkeys([*sdk_enums, *api_enums])):
        left, right = sdk_enums.get(name, MISSING), api_enums.get(name, MISSING)
        if (
            isinstance(left, dict)
            and isinstance(right, dict)
            and list(left.items()) == list(right.items())
        ):
            continue
        code = "enum-members-differ"
        if left is MISSING or right is MISSING:
            code = f"schema-type-missing-in-{'api' if right is MISSING else 'sdk'}"
        findings.append(
            Finding(
                code,
                f"schema.{name}",
                left,
                right,
                _location(sdk, [name]),
                _location(api, [name]),
            )
        )
    return findings, sdk_enums.keys() & api_enums.keys()


def _constants(catalog: Catalog) -> dict[str, Any]:
    """Module-level scalars; an enum member is named by its class and member (``_RETIRED`` is
    ``TrainingModelStatus.RETIRED`` on both sides, although each side has its own enum)."""
    constants: dict[str, Any] = {}
    for name, value in vars(catalog.module).items():
        if name.startswith("__"):
            continue
        if isinstance(value, enum.Enum):
            constants[name] = f"{type(value).__name__}.{value.name}"
        elif isinstance(value, bool | int | float | str):
            constants[name] = value
    return constants


def _surface_findings(sdk: Catalog, api: Catalog) -> list[Finding]:
    findings = []
    sdk_all = list(getattr(sdk.module, "__all__", []))
    api_all = list(getattr(api.module, "__all__", []))
    if sorted(sdk_all) != sorted(api_all):
        findings.append(
            Finding(
                "public-names-differ",
                "__all__",
                sorted(set(sdk_all) - set(api_all)),
                sorted(set(api_all) - set(sdk_all)),
                Location(sdk.display, sdk.source_map.definition_line("__all__")),
                Location(api.display, api.source_map.definition_line("__all__")),
                "names exported by one copy only",
            )
        )
    sdk_constants, api_constants = _constants(sdk), _constants(api)
    for name in list(dict.fromkeys([*sdk_constants, *api_constants])):
        left, right = sdk_constants.get(name, MISSING), api_constants.get(name, MISSING)
        if same(left, right):
            continue
        code = "constant-differs"
        if left is MISSING or right is MISSING:
            code = f"constant-missing-in-{'api' if right is MISSING else 'sdk'}"
        findings.append(
            Finding(
                code,
                name,
                left,
                right,
                Location(sdk.display, sdk.source_map.definition_line(name)),
                Location(api.display, api.source_map.definition_line(name)),
            )
        )
    return findings


def compare_schema(sdk: Catalog, api: Catalog) -> list[Finding]:
    """Every difference in the entry types, the enums and the modules' public constants."""
    enum_findings, enums = _enum_findings(sdk, api)
    return enum_findings + _json_schema_findings(sdk, api, enums) + _surface_findings(sdk, api)
