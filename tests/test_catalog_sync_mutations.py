"""Every drift a hand could introduce into the API's mirror is caught, named by code and path.

Each test applies one family of generated mutations to a copy of the mirror, one at a time, runs
``check`` in-process and requires exit 1 with the expected finding. The counts are printed
(``pytest -s``) and asserted, so a generator that silently produced nothing would fail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.catalog_mutations import (
    Mutation,
    behaviour_mutations,
    copy_catalogs,
    entry_field_mutations,
    entry_fields,
    entry_presence_mutations,
    retired_mutations,
    run_check,
    schema_mutations,
)

GENERATORS: dict[str, Callable[[], list[Mutation]]] = {
    "entry fields": entry_field_mutations,
    "entry presence and order": entry_presence_mutations,
    "retired models": retired_mutations,
    "schema": schema_mutations,
    "behaviour": behaviour_mutations,
}


def _run_all(
    mutations: list[Mutation], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str]]:
    sdk, api = copy_catalogs(tmp_path)
    original = api.read_text(encoding="utf-8")
    missed = []
    for mutation in mutations:
        mutated = mutation.edit(original)
        assert mutated != original, f"{mutation.name}: the edit changed nothing"
        api.write_text(mutated, encoding="utf-8")
        code, findings = run_check(capsys, sdk, api)
        if code != 1 or not mutation.caught_by(findings):
            got = sorted({(str(f["code"]), str(f["path"])) for f in findings})[:6]
            missed.append(f"{mutation.name}: exit {code}, wanted {mutation.code} {mutation.path}, "
                          f"got {got}")  # fmt: skip
    return len(mutations), missed


@pytest.mark.parametrize("family", list(GENERATORS))
def test_check_catches_every_mutation(
    family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tried, missed = _run_all(GENERATORS[family](), tmp_path, capsys)
    with capsys.disabled():
        print(f"\n{family}: {tried} mutations tried, {tried - len(missed)} caught")
    assert tried > 0
    assert not missed, "\n".join(missed)


def test_mutation_corpus_covers_every_entry_and_field(capsys: pytest.CaptureFixture[str]) -> None:
    fields = entry_fields()
    field_mutations = entry_field_mutations()
    entries = {m.path.rsplit(".", 1)[0] for m in field_mutations if m.path.endswith(".tinker_id")}
    counts = {family: len(generate()) for family, generate in GENERATORS.items()}
    total = sum(counts.values())
    with capsys.disabled():
        print(f"\nmutations: {total} in all: {counts}")
    assert len(fields) >= 10
    assert len(entries) >= 30
    assert counts["entry fields"] == len(entries) * len(fields)
    assert counts["entry presence and order"] == 3 * len(entries)
    assert total >= 500
