"""Every drift a hand could introduce into the API's mirror is caught, named by code and path.

Each test applies one family of generated mutations to a copy of the mirror, runs ``check``
in-process and requires exit 1 with each mutation's expected finding. Mutations of one group (the
same field of different entries) share a run; all others run alone. The counts are printed
(``pytest -s``) and asserted, so a generator that silently produced nothing would fail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.catalog_mutations import (
    Mutation,
    apply_all,
    batches,
    behaviour_mutations,
    computed_field_mutations,
    copy_catalogs,
    entry_field_mutations,
    entry_fields,
    entry_presence_mutations,
    retired_mutations,
    run_check,
    schema_mutations,
)
from tools.catalog_sync.findings import KNOWN_CODES

GENERATORS: dict[str, Callable[[], list[Mutation]]] = {
    "entry fields": entry_field_mutations,
    "entry presence and order": entry_presence_mutations,
    "retired models": retired_mutations,
    "schema": schema_mutations,
    "computed fields": computed_field_mutations,
    "behaviour": behaviour_mutations,
}


def _run_all(
    mutations: list[Mutation], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, int, list[str]]:
    """How many mutations were tried, in how many runs of ``check``, and the ones it missed."""
    sdk, api = copy_catalogs(tmp_path)
    original = api.read_text(encoding="utf-8")
    missed = []
    runs = 0
    for batch in batches(mutations):
        api.write_text(apply_all(batch, original), encoding="utf-8")
        code, findings = run_check(capsys, sdk, api)
        runs += 1
        # `--ignore` refuses patterns matching no known code: every code emitted must be known.
        assert {str(f["code"]) for f in findings} <= KNOWN_CODES
        for mutation in batch:
            if code != 1 or not mutation.caught_by(findings):
                got = sorted({(str(f["code"]), str(f["path"])) for f in findings})[:6]
                missed.append(f"{mutation.name}: exit {code}, wanted {mutation.code} "
                              f"{mutation.path}, got {got}")  # fmt: skip
    return len(mutations), runs, missed


@pytest.mark.parametrize("family", list(GENERATORS))
def test_check_catches_every_mutation(
    family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tried, runs, missed = _run_all(GENERATORS[family](), tmp_path, capsys)
    with capsys.disabled():
        print(f"\n{family}: {tried} mutations tried in {runs} runs, {tried - len(missed)} caught")
    assert tried > 0
    assert not missed, "\n".join(missed)


def test_grouped_mutations_expect_distinct_findings() -> None:
    # A run checks each mutation of its group by code and path: were two of them to expect the
    # same finding, one could pass on the other's.
    for generate in GENERATORS.values():
        for batch in batches(generate()):
            expected = [(m.code, m.path) for m in batch]
            assert len(set(expected)) == len(expected), expected


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
    retirements = {m.path for m in retired_mutations() if m.code == "retirement-missing-in-api"}
    assert len(retirements) >= 20
    assert counts["retired models"] >= 4 * len(retirements)  # removed, and three fields each
    assert total >= 500
