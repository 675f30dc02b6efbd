"""``check`` on real copies: clean, unloadable, bad usage, every output format, edge cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.catalog_mutations import copy_catalogs, run_check, set_keyword
from tools.catalog_sync.cli import REPO_ROOT, main
from tools.catalog_sync.mirrors import MIRRORS

QWEN_8B_INDEX = 0  # Qwen/Qwen3-8B, the first entry (context 32768)


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    return copy_catalogs(tmp_path)


def _mutate(api: Path, edit: str, new: str) -> None:
    text = api.read_text(encoding="utf-8")
    assert text.count(edit) == 1
    api.write_text(text.replace(edit, new), encoding="utf-8")


def test_check_repository_catalogs_clean(capsys: pytest.CaptureFixture[str]) -> None:
    # Every declared pair, the catalog first: one summary line each.
    assert main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"catalog_sync: no differences ({pair.source} vs {pair.mirror})" for pair in MIRRORS
    ]
    assert "packages/api/app/training/catalog.py" in out[0]


def test_check_copies_clean(copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run_check(capsys, *copies)
    assert (code, findings) == (0, [])


def test_check_context_length_text_form(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    api.write_text(set_keyword(api.read_text(), QWEN_8B_INDEX, "context_length", "128000"))
    assert main(["check", "--sdk", str(sdk), "--api", str(api)]) == 1
    lines = capsys.readouterr().out.splitlines()
    line = next(i for i in lines if "[field-value-differs]" in i)
    assert line.startswith(f"{api}:")
    assert line.endswith("[field-value-differs] Qwen/Qwen3-8B.context_length: sdk=32768 api=128000")
    assert lines[-1].startswith("catalog_sync: ")
    assert "field-value-differs" in lines[-1]


def test_check_verbose_shows_both_locations(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    api.write_text(set_keyword(api.read_text(), QWEN_8B_INDEX, "context_length", "128000"))
    assert main(["check", "--sdk", str(sdk), "--api", str(api), "--verbose"]) == 1
    out = capsys.readouterr().out
    assert f"    sdk: 32768  ({sdk}:" in out
    assert f"    api: 128000  ({api}:" in out


def test_check_json_records(copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sdk, api = copies
    api.write_text(set_keyword(api.read_text(), QWEN_8B_INDEX, "context_length", "128000"))
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    record = next(f for f in findings if f["code"] == "field-value-differs")
    assert record["path"] == "Qwen/Qwen3-8B.context_length"
    assert (record["sdk_value"], record["api_value"]) == (32768, 128000)
    sdk_at, api_at = record["sdk_location"], record["api_location"]
    assert isinstance(sdk_at, dict)
    assert isinstance(api_at, dict)
    sdk_line = sdk.read_text().splitlines()[sdk_at["line"] - 1]
    api_line = api.read_text().splitlines()[api_at["line"] - 1]
    assert sdk_line.strip() == "context_length=32768,"
    assert api_line.strip() == "context_length=128000,"


def test_check_github_annotations(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    api.write_text(set_keyword(api.read_text(), QWEN_8B_INDEX, "display_name", '"Qwen, 8B"'))
    assert main(["check", "--sdk", str(sdk), "--api", str(api), "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    annotation = next(line for line in lines if "field-value-differs" in line)
    assert annotation.startswith(f"::error file={api},line=")
    assert "::[field-value-differs] Qwen/Qwen3-8B.display_name:" in annotation
    assert lines[-1].startswith("catalog_sync: ")


def test_check_missing_entry_json(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    text = api.read_text()
    start = text.index('    TrainingModel(\n        tinker_id="Qwen/Qwen3-32B"')
    end = text.index("    ),\n", start) + len("    ),\n")
    api.write_text(text[:start] + text[end:])
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    missing = [f for f in findings if f["code"] == "entry-missing-in-api"]
    assert [f["path"] for f in missing] == ["Qwen/Qwen3-32B"]
    assert missing[0]["api_missing"] is True
    assert missing[0]["api_location"] is None
    assert missing[0]["sdk_missing"] is False


def test_check_numbers_equal_in_value(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    text = set_keyword(api.read_text(), QWEN_8B_INDEX, "size_b", "8.0")
    api.write_text(set_keyword(text, QWEN_8B_INDEX, "total_size_b", "8.00"))
    assert run_check(capsys, sdk, api) == (0, [])


def test_check_nested_pricing_field(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    priced = "TrainingModelPricing(prefill=0.195, sample=0.6, train=0.44)"
    sdk.write_text(set_keyword(sdk.read_text(), QWEN_8B_INDEX, "pricing", priced))
    api.write_text(
        set_keyword(api.read_text(), QWEN_8B_INDEX, "pricing", priced.replace("0.44", "0.45"))
    )
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    assert [(f["code"], f["path"], f["sdk_value"], f["api_value"]) for f in findings] == [
        ("field-value-differs", "Qwen/Qwen3-8B.pricing.train", 0.44, 0.45)
    ]


def test_check_renderer_differs_names_the_entry_and_both_renderers(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    api.write_text(
        set_keyword(api.read_text(), QWEN_8B_INDEX, "renderer", "TrainingRenderer.QWEN3_5")
    )
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    assert [(f["code"], f["path"], f["sdk_value"], f["api_value"]) for f in findings] == [
        ("field-value-differs", "Qwen/Qwen3-8B.renderer", "qwen3", "qwen3_5")
    ]


def test_check_renderer_missing_in_mirror_changes_what_sft_refuses(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    api.write_text(set_keyword(api.read_text(), QWEN_8B_INDEX, "renderer", "None"))
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    found = {(f["code"], f["path"]) for f in findings}
    assert ("field-value-differs", "Qwen/Qwen3-8B.renderer") in found
    refusal = next(f for f in findings if f["code"] == "behaviour-differs")
    assert str(refusal["path"]).startswith("describe_unrenderable_training_model(")
    assert refusal["sdk_value"] is None  # the SDK's copy accepts an SFT job on Qwen3-8B
    assert "has no renderer" in str(refusal["api_value"])


def test_check_invalid_entry_is_a_finding(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    api.write_text(set_keyword(api.read_text(), QWEN_8B_INDEX, "context_length", "0"))
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    invalid = next(f for f in findings if f["code"] == "entry-invalid")
    assert invalid["path"] == "Qwen/Qwen3-8B.context_length"
    assert invalid["api_value"] == 0
    assert "greater than or equal to 1" in str(invalid["note"])
    assert {(f["code"], f["path"]) for f in findings} >= {
        ("field-value-differs", "Qwen/Qwen3-8B.context_length")
    }
    assert not any(f["code"] == "entry-missing-in-api" for f in findings)


def test_check_invalid_whole_entry_rule(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    api.write_text(set_keyword(api.read_text(), QWEN_8B_INDEX, "total_size_b", "9"))
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    paths = {(f["code"], f["path"]) for f in findings}
    assert ("entry-invalid", "Qwen/Qwen3-8B") in paths
    assert ("field-value-differs", "Qwen/Qwen3-8B.total_size_b") in paths


@pytest.mark.parametrize(
    ("edit", "new", "reason"),
    [
        ("def get_training_model(", "def get_training_model((", "SyntaxError"),
        ("from pydantic import BaseModel,", "from pydantic import NoSuchName, BaseModel,",
         "ImportError"),
        ("import re\n", "import re\nimport no_such_module_for_catalog_sync\n",
         "ModuleNotFoundError"),
        ('EXTENDED_CONTEXT_SEPARATOR = ":peft:"\n', 'EXTENDED_CONTEXT_SEPARATOR = ":peft:" + 1\n',
         "TypeError"),
        # outside the data block: pydantic's message spans lines, the report must not
        ("_BY_ID: dict[str, TrainingModel] =",
         "TrainingModelPricing(prefill=-1)\n_BY_ID: dict[str, TrainingModel] =",
         "ValidationError: prefill: Input should be greater than or equal to 0"),
    ],
)  # fmt: skip
def test_check_unloadable_mirror_exits_2(
    copies: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    edit: str,
    new: str,
    reason: str,
) -> None:
    sdk, api = copies
    _mutate(api, edit, new)
    assert main(["check", "--sdk", str(sdk), "--api", str(api)]) == 2
    err = capsys.readouterr().err
    assert f"cannot load {api}: {reason}" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_check_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sdk, _ = copy_catalogs(tmp_path)
    assert main(["check", "--sdk", str(sdk), "--api", str(tmp_path / "nope.py")]) == 2
    assert "nope.py" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["check", "--format", "xml"], ["check", "--bogus"], ["upstream",
     "--timeout", "-1"]],
)  # fmt: skip
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_check_ignore_filters_by_code(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    _mutate(api, "SUGGESTION_CUTOFF = 65.0", "SUGGESTION_CUTOFF = 55.0")
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    assert {f["code"] for f in findings} == {"constant-differs", "behaviour-differs"}
    code, findings = run_check(capsys, sdk, api, "--ignore", "behaviour-*", "--ignore",
                               "constant-differs")  # fmt: skip
    assert (code, findings) == (0, [])


def test_check_json_is_one_record_per_line(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    _mutate(api, '    KIMI = "kimi"\n', '    KIMI = "kimi"\n    MISTRAL = "mistral"\n')
    assert main(["check", "--sdk", str(sdk), "--api", str(api), "--format", "json"]) == 1
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    family = next(r for r in records if r["path"] == "schema.TrainingModelFamily")
    assert family["code"] == "enum-members-differ"
    assert family["api_value"]["MISTRAL"] == "mistral"
    assert "MISTRAL" not in family["sdk_value"]


def test_check_ignore_matching_no_code_exits_2(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    _mutate(api, "SUGGESTION_CUTOFF = 65.0", "SUGGESTION_CUTOFF = 55.0")
    argv = ["check", "--sdk", str(sdk), "--api", str(api), "--ignore", "behavior-*"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "--ignore 'behavior-*' matches no finding code" in captured.err
    assert captured.out == ""


def test_check_without_rapidfuzz_exits_2(tmp_path: Path) -> None:
    # Both copies fail alike without rapidfuzz; counting that as agreement would pass CI blind.
    sdk, api = copy_catalogs(tmp_path)
    script = (
        "import sys; sys.modules['rapidfuzz'] = None\n"
        "from tools.catalog_sync.cli import main\n"
        f"raise SystemExit(main(['check', '--sdk', {str(sdk)!r}, '--api', {str(api)!r}]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == ""
    assert "cannot run here" in run.stderr
    assert "rapidfuzz" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_check_import_only_the_mirror_needs_is_a_finding(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    line = "        from rapidfuzz.fuzz import ratio\n"
    _mutate(api, line, line + "        import no_such_module_for_catalog_sync  # noqa: F401\n")
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    suggest = next(f for f in findings if str(f["path"]).startswith("suggest_training_models("))
    assert suggest["code"] == "behaviour-differs"
    assert "ModuleNotFoundError" in str(suggest["api_value"])


def _retirement_line(path: Path, tinker_id: str, keyword: str) -> int:
    """The line of ``keyword=`` in the retirement record of ``tinker_id``."""
    lines = path.read_text().splitlines()
    start = next(
        i for i, line in enumerate(lines)
        if line.strip() == f'tinker_id="{tinker_id}",' and "Retirement(" in lines[i - 1]
    )  # fmt: skip
    return next(i for i in range(start, len(lines)) if lines[i].strip().startswith(keyword)) + 1


def test_check_retirement_field_both_values_and_lines(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    _mutate(api, 'replacement="moonshotai/Kimi-K2.6",', 'replacement="moonshotai/Kimi-K2.5",')
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    record = next(f for f in findings if f["code"] == "retirement-field-differs")
    assert record["path"] == "TINKER_RETIREMENTS[moonshotai/Kimi-K2.5].replacement"
    assert (record["sdk_value"], record["api_value"]) == (
        "moonshotai/Kimi-K2.6",
        "moonshotai/Kimi-K2.5",
    )
    assert record["sdk_location"] == {
        "path": str(sdk),
        "line": _retirement_line(sdk, "moonshotai/Kimi-K2.5", "replacement="),
    }
    assert record["api_location"] == {
        "path": str(api),
        "line": _retirement_line(api, "moonshotai/Kimi-K2.5", "replacement="),
    }


def test_check_retirement_date_asks_the_days_around_it(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    _mutate(api, "retired_on=date(2026, 9, 2),", "retired_on=date(2026, 9, 3),")
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    found = {(f["code"], f["path"]): f for f in findings}
    assert ("retirement-field-differs", "TINKER_RETIREMENTS[Qwen/Qwen3.6-27B].retired_on") in found
    assert ("field-value-differs", "Qwen/Qwen3.6-27B.retirement.retired_on") in found
    # On the SDK's date the SDK refuses the model and the mirror still accepts it.
    day = "on=datetime.date(2026, 9, 2)"
    lookup = found["behaviour-differs", f"get_training_model('Qwen/Qwen3.6-27B', {day})"]
    assert (lookup["sdk_value"], lookup["api_value"]) == (None, "Qwen/Qwen3.6-27B")
    status = found["behaviour-differs", f"training_model_status('Qwen/Qwen3.6-27B', {day})"]
    assert (status["sdk_value"], status["api_value"]) == ("retired", "retiring")
    assert ("behaviour-differs", f"retired_training_models({day})") in found


def test_check_retirement_rejected_by_its_own_copy_is_a_finding(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    _mutate(api, "announced_on=date(2026, 8, 19),", "announced_on=date(2026, 9, 19),")
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    invalid = next(f for f in findings if f["code"] == "retirement-invalid")
    assert invalid["path"] == "TINKER_RETIREMENTS[Qwen/Qwen3.6-27B]"
    assert "announced_on must not come after retired_on" in str(invalid["note"])
    assert {(f["code"], f["path"]) for f in findings} >= {
        ("retirement-field-differs", "TINKER_RETIREMENTS[Qwen/Qwen3.6-27B].announced_on")
    }


def test_check_retirement_missing_in_api(
    copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, api = copies
    text = api.read_text()
    start = text.index('    TrainingModelRetirement(\n        tinker_id="moonshotai/Kimi-K2.5"')
    end = text.index("    ),\n", start) + len("    ),\n")
    api.write_text(text[:start] + text[end:])
    code, findings = run_check(capsys, sdk, api)
    assert code == 1
    missing = next(f for f in findings if f["code"] == "retirement-missing-in-api")
    assert missing["path"] == "TINKER_RETIREMENTS[moonshotai/Kimi-K2.5]"
    assert missing["api_missing"] is True
    assert isinstance(missing["sdk_value"], dict)
    assert missing["sdk_value"]["retired_on"] == "2026-07-12"
