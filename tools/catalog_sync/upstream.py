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
from tools.catalog_sync.findings import MISSING, Finding, Location
from tools.catalog_sync.loader import Catalog

__all__ = [
    "CAPABILITIES_PATH",
    "DEFAULT_BASE_URL",
    "ServedModel",
    "UpstreamError",
    "compare_upstream",
    "fetch_served_models",
]

#: Tinker's public production endpoint, as its documentation gives it (``TINKER_BASE_URL``).
DEFAULT_BASE_URL = "https://tinker.thinkingmachines.dev/services/tinker-prod"
CAPABILITIES_PATH = "/api/v1/get_server_capabilities"
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


#: Findings that inform rather than fail: a model the catalog retired on its announced date that
#: Tinker still lists (the date is the contract, not the service's lag: tinker-feedback #145).
INFORMATIONAL_CODES = frozenset({"upstream-retired-but-listed"})


def _retired_ids(catalog: Catalog) -> set[str]:
    """The ids the catalog calls retired today (none when the copy has no lifecycle)."""
    retired = getattr(catalog.module, "retired_training_models", None)
    return {record.tinker_id for record in retired()} if callable(retired) else set()


def compare_upstream(catalog: Catalog, served: list[ServedModel]) -> list[Finding]:
    """Catalog models Tinker does not serve or train, served models it lacks, context mismatch,
    and (informational) retired models Tinker still lists."""
    by_name = {model.name: model for model in served}
    retired = _retired_ids(catalog)
    known: set[str] = set(retired)
    findings = [
        Finding(
            "upstream-retired-but-listed",
            name,
            "retired",
            "listed",
            Location(catalog.display, catalog.source_map.retired_line),
            None,
            "Tinker still lists a model the catalog retired; jobs stay refused from its date",
        )
        for name in sorted(retired)
        if name in by_name
    ]
    for entry in catalog.entries:
        tinker_id = entry.tinker_id
        if tinker_id in retired:
            continue
        extended = entry.values.get("extended_context_length")
        extended_id = f"{tinker_id}:peft:{extended}" if extended is not None else None
        known.update(name for name in (tinker_id, extended_id) if name)
        bare, variant = by_name.get(tinker_id), by_name.get(extended_id or "")
        at = entry_location(catalog, entry)
        if bare is None and variant is None:
            findings.append(
                Finding("upstream-not-served", tinker_id, "listed", MISSING, at, None,
                        "Tinker does not list this model: jobs for it would fail")
            )  # fmt: skip
            continue
        for model in (bare, variant):
            if model is not None and model.trainable is False:
                findings.append(
                    Finding("upstream-not-trainable", f"{model.name}.trainable", True, False, at,
                            None, "Tinker serves this model for sampling only")
                )  # fmt: skip
        checks = (("context_length", bare), ("extended_context_length", variant))
        for field, model in checks:
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
    for model in served:
        if model.trainable and model.name not in known:
            findings.append(
                Finding(
                    "upstream-missing-in-catalog",
                    model.name,
                    MISSING,
                    {"max_context_length": model.max_context_length, "trainable": True},
                    Location(catalog.display, catalog.source_map.entries_line),
                    None,
                    "Tinker trains this model but the catalog does not offer it",
                )
            )
    return findings
