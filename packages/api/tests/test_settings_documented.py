"""Every setting an operator can give is in the package README's table, with its real default:
a setting added without a line there, or a default changed without its line, fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
#: Defaults the table words for people rather than as the value (a path, "today", "AWS", "none").
WORDED = {
    "database_url",
    "catalog_day",
    "dataset_store",
    "s3_endpoint_url",
    "forwarded_allow_ips",
    "tinker_api_key",
    "tinker_base_url",
}
#: Settings read under the name every tool gives them rather than with the service's prefix.
SHARED_NAMES = {
    "database_url": "DATABASE_URL",
    "tinker_api_key": "TINKER_API_KEY",
    "tinker_base_url": "TINKER_BASE_URL",
}


def _table() -> dict[str, str]:
    """The README's settings table: variable name to its default cell, backticks removed."""
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]+) \|", README.read_text(), flags=re.MULTILINE)
    return {name: cell.strip().strip("`") for name, cell in rows}


def _variable(name: str) -> str:
    return SHARED_NAMES.get(name, f"DREADNODE_API_{name.upper()}")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_with_its_default(name: str) -> None:
    table = _table()
    variable = _variable(name)
    assert variable in table, f"{variable} is missing from {README.name}'s settings table"
    if name in WORDED:
        return
    default = Settings.model_fields[name].default
    shown = f"{default:g}" if isinstance(default, float) else str(default)
    assert table[variable] == shown, (variable, table[variable], default)


def test_the_readme_names_no_setting_that_does_not_exist() -> None:
    known = {_variable(name) for name in Settings.model_fields}
    assert set(_table()) <= known
