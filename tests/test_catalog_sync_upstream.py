"""``upstream`` against a real HTTP server on loopback, standing in for Tinker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.catalog_mutations import copy_catalogs
from tests.conftest import JsonServer
from tools.catalog_sync.cli import main
from tools.catalog_sync.upstream import CAPABILITIES_PATH

KEY = "tml-test-key"
#: Where Tinker's production service lives under its host, as its base URL gives it.
TINKER_PATH = "/services/tinker-prod"


def _served(sdk: Path) -> list[dict[str, Any]]:
    """Everything the catalog serves today, as Tinker would report it (bare and :peft: ids)."""
    from tools.catalog_sync.loader import load_catalog

    served = []
    catalog = load_catalog(sdk, "sdk", "sdk")
    for entry in catalog.entries:
        if catalog.module.get_training_model(entry.tinker_id) is None:
            continue  # retired: Tinker no longer lists it
        values = entry.values
        served.append(
            {
                "model_name": entry.tinker_id,
                "max_context_length": values["context_length"],
                "trainable": True,
                "sampleable": True,
            }
        )
        if values["extended_context_length"]:
            served.append({"model_name": f"{entry.tinker_id}:peft:"
                           f"{values['extended_context_length']}", "max_context_length":
                           values["extended_context_length"], "trainable": True,
                           "sampleable": True})  # fmt: skip
    return served


def _upstream(monkeypatch: pytest.MonkeyPatch, sdk: Path, base_url: str, *extra: str) -> list[str]:
    monkeypatch.setenv("TINKER_API_KEY", KEY)
    monkeypatch.setenv("TINKER_BASE_URL", base_url)
    return ["upstream", "--sdk", str(sdk), *extra]


def test_upstream_all_served_exits_0(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    state.body = {"supported_models": [*_served(sdk), {"model_name": None}]}
    assert main(_upstream(monkeypatch, sdk, url)) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("catalog_sync: no differences")
    assert state.requests == [(f"/services/tinker-prod{CAPABILITIES_PATH}", KEY)]


def test_upstream_retired_model_still_listed_is_informational(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    lagging = [
        {"model_name": "meta-llama/Llama-3.1-8B", "max_context_length": 32768, "trainable": True},
        {"model_name": "Qwen/Qwen3.5-27B", "max_context_length": 65536, "trainable": True},
    ]
    state.body = {"supported_models": [*_served(sdk), *lagging]}
    assert main(_upstream(monkeypatch, sdk, url, "--format", "json")) == 0  # the date decides
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((r["code"], r["path"]) for r in records) == [
        ("upstream-retired-but-listed", "Qwen/Qwen3.5-27B"),
        ("upstream-retired-but-listed", "meta-llama/Llama-3.1-8B"),
    ]
    assert all(r["informational"] for r in records)
    # It points at the retirement record, where the date that decides is written.
    llama = next(r for r in records if r["path"] == "meta-llama/Llama-3.1-8B")
    line = sdk.read_text().splitlines()[llama["sdk_location"]["line"] - 1]
    assert line.strip() == "TrainingModelRetirement("
    following = sdk.read_text().splitlines()[llama["sdk_location"]["line"]]
    assert following.strip() == 'tinker_id="meta-llama/Llama-3.1-8B",'


def test_upstream_retired_variant_still_listed_is_not_missing(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    lagging = {"model_name": "Qwen/Qwen3.6-27B:peft:262144", "max_context_length": 262144,
               "trainable": True}  # fmt: skip
    state.body = {"supported_models": [*_served(sdk), lagging]}
    assert main(_upstream(monkeypatch, sdk, url, "--format", "json")) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["code"], r["path"]) for r in records] == [
        ("upstream-retired-but-listed", "Qwen/Qwen3.6-27B:peft:262144")
    ]


def test_upstream_github_notices_inform_and_errors_fail(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    lagging = {"model_name": "Qwen/Qwen3.5-27B", "max_context_length": 65536, "trainable": True}
    state.body = {"supported_models": [*_served(sdk), lagging]}
    assert main(_upstream(monkeypatch, sdk, url, "--format", "github")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"::notice file={sdk},line=")
    assert "[upstream-retired-but-listed] Qwen/Qwen3.5-27B" in lines[0]
    assert lines[-1].startswith("catalog_sync: no drift; 1 informational finding")

    unknown = {"model_name": "Qwen/Qwen3-14B", "max_context_length": 32768, "trainable": None}
    state.body = {"supported_models": [*_served(sdk), lagging, unknown]}
    assert main(_upstream(monkeypatch, sdk, url, "--format", "github")) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("::notice ") for line in lines) == 1
    error = next(line for line in lines if line.startswith("::error "))
    assert "[upstream-missing-in-catalog] Qwen/Qwen3-14B" in error
    assert "does not say whether it trains" in error
    assert lines[-1].startswith("catalog_sync: 2 findings (")
    assert "1 of them informational" in lines[-1]


def test_upstream_reports_missing_extra_and_context(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    served = _served(sdk)
    by_name = {item["model_name"]: item for item in served}
    del by_name["Qwen/Qwen3.5-4B"]  # catalog lists it, Tinker does not serve it
    # Served only as its extended variant: still counts as served.
    del by_name["Qwen/Qwen3.6-35B-A3B"]
    by_name["Qwen/Qwen3-8B"]["max_context_length"] = 40960
    by_name["openai/gpt-oss-120b:peft:131072"]["max_context_length"] = 65536
    by_name["Qwen/Qwen3-14B"] = {"model_name": "Qwen/Qwen3-14B", "max_context_length": 32768,
                                 "trainable": True}  # fmt: skip
    by_name["Qwen/Qwen3-Embed"] = {"model_name": "Qwen/Qwen3-Embed", "trainable": False}
    by_name["moonshotai/Kimi-K2.6"]["trainable"] = False
    state.body = {"supported_models": list(by_name.values())}
    assert main(_upstream(monkeypatch, sdk, url, "--format", "json")) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((r["code"], r["path"]) for r in records) == [
        ("upstream-context-differs", "Qwen/Qwen3-8B.context_length"),
        ("upstream-context-differs", "openai/gpt-oss-120b.extended_context_length"),
        ("upstream-missing-in-catalog", "Qwen/Qwen3-14B"),
        ("upstream-not-served", "Qwen/Qwen3.5-4B"),
        ("upstream-not-trainable", "moonshotai/Kimi-K2.6.trainable"),
    ]
    context = next(r for r in records if r["path"] == "Qwen/Qwen3-8B.context_length")
    assert (context["sdk_value"], context["api_value"]) == (32768, 40960)


def test_upstream_text_labels_sides(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    served = [m for m in _served(sdk) if m["model_name"] != "Qwen/Qwen3.5-4B"]
    state.body = {"supported_models": served}
    assert main(_upstream(monkeypatch, sdk, url)) == 1
    out = capsys.readouterr().out
    assert '[upstream-not-served] Qwen/Qwen3.5-4B: catalog="listed" tinker=<missing>' in out


def test_upstream_without_key_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, _ = copy_catalogs(tmp_path)
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    assert main(["upstream", "--sdk", str(sdk)]) == 2
    err = capsys.readouterr().err
    assert "TINKER_API_KEY is not set" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, "HTTP 500"), (402, "HTTP 402 (billing is not set up"), (401, "HTTP 401")],
)
def test_upstream_http_error_is_one_line(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    status: int,
    expected: str,
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    state.status, state.body = status, {"detail": "nope\nsecond line"}
    assert main(_upstream(monkeypatch, sdk, url)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert expected in captured.err
    assert "Traceback" not in captured.err


def test_upstream_timeout_is_one_line(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    state.delay = 1.0
    assert main(_upstream(monkeypatch, sdk, url, "--timeout", "0.2")) == 2
    err = capsys.readouterr().err
    assert "timed out after 0.2 s" in err
    assert len(err.strip().splitlines()) == 1


def test_upstream_unexpected_body_exits_2(
    *,
    json_server: tuple[JsonServer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, url = json_server[0], json_server[1] + TINKER_PATH
    sdk, _ = copy_catalogs(tmp_path)
    state.body = {"models": []}
    assert main(_upstream(monkeypatch, sdk, url)) == 2
    assert "no 'supported_models' list" in capsys.readouterr().err


def test_upstream_connection_refused_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk, _ = copy_catalogs(tmp_path)
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(_upstream(monkeypatch, sdk, f"http://127.0.0.1:{port}")) == 2
    err = capsys.readouterr().err
    assert "failed" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://127.0.0.1:99999", "Port out of range"),
        ("http://127.0.0.1:0", "the port must be from 1 to 65535"),
        ("ftp://tinker.example", "the scheme must be http or https"),
        ("http://:8000/services", "no host"),
    ],
)
def test_upstream_malformed_base_url_is_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    base_url: str,
    reason: str,
) -> None:
    sdk, _ = copy_catalogs(tmp_path)
    assert main(_upstream(monkeypatch, sdk, base_url)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "TINKER_BASE_URL" in lines[0]
    assert reason in lines[0]
