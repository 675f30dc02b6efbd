"""Compares the catalog with the models Tinker itself reports serving.

A catalog entry Tinker does not serve means jobs that pass our validation fail later at Tinker;
a trainable model Tinker serves that the catalog lacks is one users cannot pick. The request uses
the standard library's urllib on purpose: it is one GET, and the checker must run with only the
catalog's own dependencies (pydantic, rapidfuzz) installed, so there is a single, tested code path
rather than an optional httpx one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from tools.catalog_sync.compare_data import entry_location
from tools.catalog_sync.findings import INFORMATIONAL_CODES, MISSING, Finding, Location
from tools.catalog_sync.loader import Catalog, Entry

__all__ = [
    "CAPABILITIES_PATH",
    "DEFAULT_BASE_URL",
    "EXTENDED_CONTEXT_SEPARATOR",
    "INFORMATIONAL_CODES",
    "ServedModel",
    "UpstreamError",
    "compare_upstream",
    "fetch_served_models",
    "retired_ids",
    "retired_model",
]

#: Tinker's public production endpoint, as its documentation gives it (``TINKER_BASE_URL``).
DEFAULT_BASE_URL = "https://tinker.thinkingmachines.dev/services/tinker-prod"
CAPABILITIES_PATH = "/api/v1/get_server_capabilities"
EXTENDED_CONTEXT_SEPARATOR = ":peft:"
_HINTS = {
    401: "the API key was rejected",
    402: "billing is not set up for this Tinker account",
    403: "the API key may not read server capabilities",
}


class UpstreamError(Exception):
    """Tinker could not be asked, or answered something other than the documented response."""


@dataclass(frozen=True)
class ServedModel:
    """One entry of Tinker's ``supported_models``; None where Tinker leaves a field out."""

    name: str
    max_context_length: int | None
    trainable: bool | None


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse(payload: Any) -> list[ServedModel]:
    models = payload.get("supported_models") if isinstance(payload, dict) else None
    if not isinstance(models, list):
        raise UpstreamError("unexpected response: no 'supported_models' list")
    served = []
    for item in models:
        if not isinstance(item, dict):
            raise UpstreamError(f"unexpected response: a supported model is {item!r}")
        name = item.get("model_name")
        if not isinstance(name, str):
            continue
        context = item.get("max_context_length")
        trainable = item.get("trainable")
        served.append(
            ServedModel(
                name,
                context if isinstance(context, int) and not isinstance(context, bool) else None,
                trainable if isinstance(trainable, bool) else None,
            )
        )
    return served


def _check_base_url(base_url: str) -> None:
    """Refuse, in one line, what urllib would turn into a traceback (``http://[::1``, a port
    out of range) or a misleading "connection refused" (no host)."""
    problem = f"TINKER_BASE_URL (or --base-url) must look like {DEFAULT_BASE_URL}, got {base_url!r}"
    try:
        parts = urllib.parse.urlsplit(base_url.strip())
        port = parts.port  # parsed lazily: raises ValueError when out of range or not a number
    except ValueError as error:
        raise UpstreamError(f"{problem} ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise UpstreamError(f"{problem} (the scheme must be http or https)")
    if not parts.hostname:
        raise UpstreamError(f"{problem} (no host)")
    if port == 0:
        raise UpstreamError(f"{problem} (the port must be from 1 to 65535)")


def fetch_served_models(base_url: str, api_key: str, timeout: float) -> list[ServedModel]:
    """Tinker's answer to ``get_server_capabilities``; UpstreamError (one line) on any failure."""
    url = base_url.rstrip("/") + CAPABILITIES_PATH
    _check_base_url(base_url)
    request = urllib.request.Request(  # noqa: S310 -- scheme checked above
        url, headers={"X-API-Key": api_key, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as error:
        detail = _one_line(error.read().decode("utf-8", "replace")) if error.fp else ""
        hint = f" ({_HINTS[error.code]})" if error.code in _HINTS else ""
        suffix = f": {detail}" if detail else ""
        raise UpstreamError(f"GET {url} failed: HTTP {error.code}{hint}{suffix}") from None
    except TimeoutError as error:
        raise UpstreamError(f"GET {url} timed out after {timeout:g} s") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise UpstreamError(f"GET {url} timed out after {timeout:g} s") from None
        raise UpstreamError(f"GET {url} failed: {error.reason}") from None
    except (OSError, ValueError) as error:  # ValueError: http.client.InvalidURL and kin
        raise UpstreamError(f"GET {url} failed: {error}") from None
    try:
        payload = json.loads(body)
    except ValueError:
        raise UpstreamError(f"GET {url} answered something that is not JSON") from None
    return _parse(payload)


def retired_ids(catalog: Catalog) -> set[str]:
    """The ids the catalog calls retired today (none when the copy has no lifecycle)."""
    retired = getattr(catalog.module, "retired_training_models", None)
    return {record.tinker_id for record in retired()} if callable(retired) else set()


def retired_model(name: str, retired: set[str]) -> str | None:
    """The retired id ``name`` selects: itself, or the model a ``:peft:`` variant belongs to."""
    if name in retired:
        return name
    base, separator, _ = name.rpartition(EXTENDED_CONTEXT_SEPARATOR)
    return base if separator and base in retired else None


def _retirement_location(catalog: Catalog, tinker_id: str) -> Location:
    for call in catalog.source_map.retirements:
        if call.tinker_id == tinker_id:
            return Location(catalog.display, call.line)
    return Location(catalog.display, catalog.source_map.retired_line)


def compare_upstream(catalog: Catalog, served: list[ServedModel]) -> list[Finding]:
    """Catalog models Tinker does not serve or train, served models it lacks, context mismatch,
    and (informational, see ``INFORMATIONAL_CODES``) retired models Tinker still lists."""
    retired = retired_ids(catalog)
    findings = _retired_but_listed(catalog, served, retired)
    known: set[str] = set()
    by_name = {model.name: model for model in served}
    for entry in catalog.entries:
        if entry.tinker_id not in retired:
            findings += _entry_findings(catalog, entry, by_name, known)
    return findings + _missing_in_catalog(catalog, served, known, retired)


def _retired_but_listed(
    catalog: Catalog, served: list[ServedModel], retired: set[str]
) -> list[Finding]:
    findings = []
    for model in sorted(served, key=lambda m: m.name):
        retired_id = retired_model(model.name, retired)
        if retired_id is not None:
            findings.append(
                Finding(
                    "upstream-retired-but-listed",
                    model.name,
                    "retired",
                    "listed",
                    _retirement_location(catalog, retired_id),
                    None,
                    "Tinker still lists a model the catalog retired; jobs stay refused from its "
                    "date",
                )
            )
    return findings


def _entry_findings(
    catalog: Catalog, entry: Entry, by_name: dict[str, ServedModel], known: set[str]
) -> list[Finding]:
    """One live entry against Tinker's listing; adds the names it accounts for to ``known``."""
    tinker_id = entry.tinker_id
    extended = entry.values.get("extended_context_length")
    extended_id = f"{tinker_id}{EXTENDED_CONTEXT_SEPARATOR}{extended}" if extended else None
    known.update(name for name in (tinker_id, extended_id) if name)
    bare, variant = by_name.get(tinker_id), by_name.get(extended_id or "")
    at = entry_location(catalog, entry)
    if bare is None and variant is None:
        return [
            Finding("upstream-not-served", tinker_id, "listed", MISSING, at, None,
                    "Tinker does not list this model: jobs for it would fail")
        ]  # fmt: skip
    findings = []
    for model in (bare, variant):
        if model is not None and model.trainable is False:
            findings.append(
                Finding("upstream-not-trainable", f"{model.name}.trainable", True, False, at,
                        None, "Tinker serves this model for sampling only")
            )  # fmt: skip
    for field, model in (("context_length", bare), ("extended_context_length", variant)):
        if model is None or model.max_context_length is None:
            continue
        if entry.values.get(field) != model.max_context_length:
            findings.append(
                Finding(
                    "upstream-context-differs",
                    f"{tinker_id}.{field}",
                    entry.values.get(field),
                    model.max_context_length,
                    entry_location(catalog, entry, field),
                    None,
                )
            )
    return findings


def _missing_in_catalog(
    catalog: Catalog, served: list[ServedModel], known: set[str], retired: set[str]
) -> list[Finding]:
    findings = []
    for model in served:
        # Sampling-only models are not the catalog's business; one whose trainability Tinker
        # leaves out may well train, so it is reported too.
        if model.trainable is False or model.name in known:
            continue
        if retired_model(model.name, retired) is not None:
            continue
        unsure = "" if model.trainable else " (Tinker does not say whether it trains)"
        findings.append(
            Finding(
                "upstream-missing-in-catalog",
                model.name,
                MISSING,
                {"max_context_length": model.max_context_length, "trainable": model.trainable},
                Location(catalog.display, catalog.source_map.entries_line),
                None,
                f"Tinker serves this model but the catalog does not offer it{unsure}",
            )
        )
    return findings
