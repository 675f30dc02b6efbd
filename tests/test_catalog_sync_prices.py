"""``prices`` against a real HTTP server on loopback serving a price list in Tinker's format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.catalog_mutations import copy_catalogs
from tests.conftest import JsonServer
from tools.catalog_sync.cli import PRICES_AGENT, main
from tools.catalog_sync.loader import load_catalog

QWEN = "Qwen/Qwen3-8B"
PRICE = {"prefill": "$0.13", "sample": "$0.40", "train": "$0.40"}


def _priced(sdk: Path) -> list[dict[str, Any]]:
    """A price for every id jobs may name today (bare and :peft:), as Tinker would list them."""
    catalog = load_catalog(sdk, "sdk", "sdk")
    listed = []
    for entry in catalog.entries:
        if catalog.module.get_training_model(entry.tinker_id) is None:
            continue  # retired
        listed.append({"tinker_id": entry.tinker_id, **PRICE})
        if entry.values["extended_context_length"]:
            peft = f"{entry.tinker_id}:peft:{entry.values['extended_context_length']}"
            listed.append({"tinker_id": peft, **PRICE})
    return listed


def _findings(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return sorted((record["code"], record["path"]) for record in records)


def test_prices_for_every_model_exit_0(
    json_server: tuple[JsonServer, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = json_server
    sdk, _ = copy_catalogs(tmp_path)
    state.body = _priced(sdk)
    assert main(["prices", "--sdk", str(sdk), "--url", f"{url}/tinker/models.json"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("catalog_sync: no differences")
    assert state.requests == [("/tinker/models.json", None)]
    assert state.user_agents == [PRICES_AGENT]  # Tinker's docs site refuses urllib's own


def test_prices_report_what_the_list_and_the_catalog_disagree_on(
    json_server: tuple[JsonServer, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = json_server
    sdk, _ = copy_catalogs(tmp_path)
    # The catalog confirms Qwen3-8B's train price; the list has another.
    text = sdk.read_text()
    confirmed = text.replace(
        'tinker_id="Qwen/Qwen3-8B",',
        'tinker_id="Qwen/Qwen3-8B",\n        pricing=TrainingModelPricing(train=0.35),',
        1,
    )
    assert confirmed != text
    sdk.write_text(confirmed)
    listed = [entry for entry in _priced(sdk) if entry["tinker_id"] != "Qwen/Qwen3.5-4B"]
    listed += [
        {"tinker_id": "meta-llama/Llama-3.1-8B", **PRICE},  # retired: informs only
        {"tinker_id": "acme/New-Model-70B", **PRICE},
        {"tinker_id": "acme/Broken", **PRICE, "train": "0.40"},
    ]
    state.body = listed
    assert main(["prices", "--sdk", str(sdk), "--url", url, "--format", "json"]) == 1
    assert _findings(capsys) == [
        ("price-differs", f"{QWEN}.pricing.train"),
        ("price-missing", "Qwen/Qwen3.5-4B"),
        ("price-missing-in-catalog", "acme/New-Model-70B"),
        ("price-retired-but-listed", "meta-llama/Llama-3.1-8B"),
        ("price-unreadable", "acme/Broken"),
    ]


def test_only_a_retired_model_still_priced_is_informational(
    json_server: tuple[JsonServer, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = json_server
    sdk, _ = copy_catalogs(tmp_path)
    state.body = [*_priced(sdk), {"tinker_id": "meta-llama/Llama-3.1-8B", **PRICE}]
    assert main(["prices", "--sdk", str(sdk), "--url", url, "--format", "json"]) == 0
    assert _findings(capsys) == [("price-retired-but-listed", "meta-llama/Llama-3.1-8B")]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": "boom"}, "answered 500"),
        (200, {"models": []}, "the price list is a JSON dict, not a list"),
    ],
)
def test_a_list_that_cannot_be_read_is_one_line_exit_2(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: Any,
    message: str,
) -> None:
    state, url = json_server
    state.status, state.body = status, body
    sdk, _ = copy_catalogs(tmp_path)
    assert main(["prices", "--sdk", str(sdk), "--url", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert message in captured.err
