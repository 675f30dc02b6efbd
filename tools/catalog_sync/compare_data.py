"""Data findings: which entries and retirement records exist, in what order, and every field of
each, both sides.

Entries and records are matched by ``tinker_id``. Field values are compared as JSON-shaped data,
nested pricing (and an entry's computed retirement) field by field. A record its own side rejects
is still compared through the keyword values as written, so the field that drifted is named even
when it also broke validation.
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any

from tools.catalog_sync.findings import MISSING, Finding, Location
from tools.catalog_sync.loader import Catalog, Entry
from tools.catalog_sync.values import same

__all__ = ["compare_data", "entry_location"]


def entry_location(catalog: Catalog, entry: Entry | None, field: str | None = None) -> Location:
    """The line of ``entry``'s ``field`` keyword (or of the entry), else of ``TINKER_MODELS``."""
    if entry is None or entry.call is None:
        return Location(catalog.display, catalog.source_map.entries_line)
    line = entry.call.line if field is None else entry.call.keyword_line(field)
    return Location(catalog.display, line)


def _first_by_id(catalog: Catalog) -> dict[str, Entry]:
    by_id: dict[str, Entry] = {}
    for entry in catalog.entries:
        by_id.setdefault(entry.tinker_id, entry)
    return by_id


def _duplicates(sdk: Catalog, api: Catalog) -> list[Finding]:
    findings = []
    counts = {side.side: Counter(e.tinker_id for e in side.entries) for side in (sdk, api)}
    for catalog in (sdk, api):
        seen: set[str] = set()
        for entry in catalog.entries:
            if entry.tinker_id not in seen:
                seen.add(entry.tinker_id)
                continue
            locations = {catalog.side: entry_location(catalog, entry)}
            findings.append(
                Finding(
                    "entry-duplicate",
                    entry.tinker_id,
                    counts["sdk"][entry.tinker_id],
                    counts["api"][entry.tinker_id],
                    locations.get("sdk"),
                    locations.get("api"),
                    f"{entry.tinker_id} appears more than once in the {catalog.side} copy",
                )
            )
    return findings


def _field_findings(
    sdk: Catalog, api: Catalog, sdk_entry: Entry, api_entry: Entry
) -> list[Finding]:
    findings = []
    tinker_id = sdk_entry.tinker_id
    # A field present on one side only is a schema finding; data compares the shared fields.
    for name in [key for key in sdk_entry.values if key in api_entry.values]:
        findings.extend(
            _value_findings(
                f"{tinker_id}.{name}",
                sdk_entry.values[name],
                api_entry.values[name],
                entry_location(sdk, sdk_entry, name),
                entry_location(api, api_entry, name),
            )
        )
    return findings


def _value_findings(
    path: str, sdk_value: Any, api_value: Any, sdk_at: Location, api_at: Location
) -> list[Finding]:
    if same(sdk_value, api_value):
        return []
    if isinstance(sdk_value, dict) and isinstance(api_value, dict):
        findings = []
        for key in sorted(sdk_value.keys() | api_value.keys()):
            findings.extend(
                _value_findings(
                    f"{path}.{key}",
                    sdk_value.get(key, MISSING),
                    api_value.get(key, MISSING),
                    sdk_at,
                    api_at,
                )
            )
        return findings
    return [Finding("field-value-differs", path, sdk_value, api_value, sdk_at, api_at)]


def _invalid(catalog: Catalog, other: Catalog) -> list[Finding]:
    findings = []
    other_by_id = _first_by_id(other)
    for entry in catalog.entries:
        if entry.error is None:
            continue
        field = entry.error_field.split(".")[0]
        path = f"{entry.tinker_id}.{entry.error_field}" if entry.error_field else entry.tinker_id
        counterpart = other_by_id.get(entry.tinker_id)

        def value_of(item: Entry | None, field: str = field) -> object:
            if item is None:
                return MISSING
            return item.values.get(field, MISSING) if field else item.values

        here: tuple[object, Location | None] = (
            value_of(entry),
            entry_location(catalog, entry, field or None),
        )
        there: tuple[object, Location | None] = (MISSING, None)
        if counterpart is not None:
            there = (value_of(counterpart), entry_location(other, counterpart, field or None))
        sdk_side, api_side = (here, there) if catalog.side == "sdk" else (there, here)
        findings.append(
            Finding(
                "entry-invalid",
                path,
                sdk_side[0],
                api_side[0],
                sdk_side[1],
                api_side[1],
                f"rejected by the {catalog.side} copy's own validation: {entry.error}",
            )
        )
    return findings


def _order(sdk: Catalog, api: Catalog, common: set[str]) -> list[Finding]:
    sdk_order = [e.tinker_id for e in sdk.entries if e.tinker_id in common]
    api_order = [e.tinker_id for e in api.entries if e.tinker_id in common]
    sdk_order = list(dict.fromkeys(sdk_order))
    api_order = list(dict.fromkeys(api_order))
    if sdk_order == api_order:
        return []
    matcher = difflib.SequenceMatcher(a=sdk_order, b=api_order, autojunk=False)
    in_place = {
        sdk_order[block.a + offset]
        for block in matcher.get_matching_blocks()
        for offset in range(block.size)
    }
    sdk_by_id, api_by_id = _first_by_id(sdk), _first_by_id(api)
    return [
        Finding(
            "entry-order-differs",
            tinker_id,
            sdk_order.index(tinker_id) + 1,
            api_order.index(tinker_id) + 1,
            entry_location(sdk, sdk_by_id[tinker_id]),
            entry_location(api, api_by_id[tinker_id]),
            "position among the entries both copies share",
        )
        for tinker_id in sdk_order
        if tinker_id not in in_place
    ]


def _retirements(catalog: Catalog) -> dict[str, tuple[int, dict[str, Any]]] | None:
    """Each retirement record's position and values by id (a record its own side rejects with
    its values as written); None when the copy defines no ``TINKER_RETIREMENTS``."""
    if catalog.retirements is None:
        return None
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for record in catalog.retirements:
        found.setdefault(record.tinker_id, (record.index, record.values))
    return found


def _invalid_retirements(catalog: Catalog, other: Catalog) -> list[Finding]:
    """A retirement record its own copy's validation rejects (the other copy may accept it)."""
    findings = []
    others = {r.tinker_id: r for r in other.retirements or ()}
    for record in catalog.retirements or ():
        if record.error is None:
            continue
        field = record.error_field.split(".")[0]
        path = f"TINKER_RETIREMENTS[{record.tinker_id}]" + (f".{field}" if field else "")
        counterpart = others.get(record.tinker_id)
        here = (
            record.values.get(field, MISSING) if field else record.values,
            _retirement_line(catalog, record.tinker_id, field or None),
        )
        there: tuple[object, Location | None] = (MISSING, None)
        if counterpart is not None:
            there = (
                counterpart.values.get(field, MISSING) if field else counterpart.values,
                _retirement_line(other, record.tinker_id, field or None),
            )
        sdk_side, api_side = (here, there) if catalog.side == "sdk" else (there, here)
        findings.append(
            Finding(
                "retirement-invalid",
                path,
                sdk_side[0],
                api_side[0],
                sdk_side[1],
                api_side[1],
                f"rejected by the {catalog.side} copy's own validation: {record.error}",
            )
        )
    return findings


def _retirement_line(catalog: Catalog, tinker_id: str, field: str | None = None) -> Location:
    for call in catalog.source_map.retirements:
        if call.tinker_id == tinker_id:
            return Location(catalog.display, call.keyword_line(field) if field else call.line)
    return Location(catalog.display, catalog.source_map.retired_line)


def _retired(sdk: Catalog, api: Catalog) -> list[Finding]:
    """Every difference in the retirement records: missing, a field, or their order."""
    sdk_records, api_records = _retirements(sdk), _retirements(api)
    if sdk_records is None or api_records is None:
        if sdk_records is None and api_records is None:
            return []
        return [
            Finding(
                f"retirements-missing-in-{'sdk' if sdk_records is None else 'api'}",
                "TINKER_RETIREMENTS",
                MISSING if sdk_records is None else "defined",
                MISSING if api_records is None else "defined",
                Location(sdk.display, sdk.source_map.retired_line),
                Location(api.display, api.source_map.retired_line),
            )
        ]
    findings = []
    for tinker_id in list(dict.fromkeys([*sdk_records, *api_records])):
        left, right = sdk_records.get(tinker_id), api_records.get(tinker_id)
        if left is None or right is None:
            findings.append(
                Finding(
                    f"retirement-missing-in-{'sdk' if left is None else 'api'}",
                    f"TINKER_RETIREMENTS[{tinker_id}]",
                    MISSING if left is None else left[1],
                    MISSING if right is None else right[1],
                    None if left is None else _retirement_line(sdk, tinker_id),
                    None if right is None else _retirement_line(api, tinker_id),
                )
            )
            continue
        for field in list(dict.fromkeys([*left[1], *right[1]])):
            sdk_value, api_value = left[1].get(field, MISSING), right[1].get(field, MISSING)
            if not same(sdk_value, api_value):
                findings.append(
                    Finding(
                        "retirement-field-differs",
                        f"TINKER_RETIREMENTS[{tinker_id}].{field}",
                        sdk_value,
                        api_value,
                        _retirement_line(sdk, tinker_id, field),
                        _retirement_line(api, tinker_id, field),
                    )
                )
    shared = [i for i in sdk_records if i in api_records]
    sdk_order = sorted(shared, key=lambda i: sdk_records[i][0])
    api_order = sorted(shared, key=lambda i: api_records[i][0])
    if sdk_order != api_order:
        first = next(i for i, (a, b) in enumerate(zip(sdk_order, api_order, strict=True)) if a != b)
        findings.append(
            Finding(
                "retirement-order-differs",
                f"TINKER_RETIREMENTS[{sdk_order[first]}]",
                first + 1,
                api_order.index(sdk_order[first]) + 1,
                _retirement_line(sdk, sdk_order[first]),
                _retirement_line(api, sdk_order[first]),
                "position among the retirements both copies share",
            )
        )
    return findings


def _failed_statements(catalog: Catalog) -> list[Finding]:
    findings = []
    for name, line, reason in catalog.failed_statements:
        at = Location(catalog.display, line)
        findings.append(
            Finding(
                "data-statement-invalid",
                name,
                reason if catalog.side == "sdk" else MISSING,
                reason if catalog.side == "api" else MISSING,
                at if catalog.side == "sdk" else None,
                at if catalog.side == "api" else None,
                f"this statement of the {catalog.side} copy's data block fails when it runs",
            )
        )
    return findings


def compare_data(sdk: Catalog, api: Catalog) -> list[Finding]:
    """Every data difference between the two copies, in the SDK's order."""
    findings = _failed_statements(sdk) + _failed_statements(api)
    findings += _duplicates(sdk, api)
    findings += _invalid(sdk, api) + _invalid(api, sdk)
    sdk_by_id, api_by_id = _first_by_id(sdk), _first_by_id(api)
    only_sdk = [e for i, e in sdk_by_id.items() if i not in api_by_id]
    only_api = [e for i, e in api_by_id.items() if i not in sdk_by_id]
    for entry in only_sdk:
        findings.append(
            Finding(
                "entry-missing-in-api",
                entry.tinker_id,
                entry.values,
                MISSING,
                entry_location(sdk, entry),
                None,
            )
        )
    for entry in only_api:
        findings.append(
            Finding(
                "entry-missing-in-sdk",
                entry.tinker_id,
                MISSING,
                entry.values,
                None,
                entry_location(api, entry),
            )
        )
    # An id edited in place shows as one entry missing on each side at the same position.
    api_only_at = {entry.index: entry for entry in only_api}
    for entry in only_sdk:
        renamed = api_only_at.get(entry.index)
        if renamed is not None:
            findings.append(
                Finding(
                    "entry-id-differs",
                    f"{entry.tinker_id}.tinker_id",
                    entry.tinker_id,
                    renamed.tinker_id,
                    entry_location(sdk, entry, "tinker_id"),
                    entry_location(api, renamed, "tinker_id"),
                )
            )
    common = sdk_by_id.keys() & api_by_id.keys()
    for tinker_id in [i for i in sdk_by_id if i in common]:
        findings += _field_findings(sdk, api, sdk_by_id[tinker_id], api_by_id[tinker_id])
    findings += _order(sdk, api, set(common))
    findings += _invalid_retirements(sdk, api) + _invalid_retirements(api, sdk)
    findings += _retired(sdk, api)
    return findings
