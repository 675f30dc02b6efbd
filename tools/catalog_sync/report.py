"""Findings as people and machines read them: concise or verbose text, GitHub annotations, JSON.

Text is for a terminal (one line per finding, a summary line always last); ``github`` makes each
finding an annotation on the line that drifted in a pull request; ``json`` is one record per line
for scripts, which filter by ``code`` and ``path``, never by the message.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from tools.catalog_sync.findings import INFORMATIONAL_CODES, MISSING, Finding, Location

__all__ = ["FORMATS", "format_value", "render", "summary", "to_record"]

FORMATS = ("text", "json", "github")


def format_value(value: object) -> str:
    """A value as it would be written in the catalog: JSON, with MISSING shown as such."""
    if value is MISSING:
        return "<missing>"
    return json.dumps(value, ensure_ascii=False, default=repr, allow_nan=True)


def _primary(finding: Finding) -> Location | None:
    return finding.api_location or finding.sdk_location


def _headline(finding: Finding, labels: tuple[str, str]) -> str:
    """One line; with a fix, self-contained: where (its note), both values, what to run."""
    left, right = labels
    values = f"{left}={format_value(finding.sdk_value)} {right}={format_value(finding.api_value)}"
    if finding.fix:
        return f"[{finding.code}] {finding.note or finding.path}: {values}; {finding.fix}"
    return f"[{finding.code}] {finding.path}: {values}"


def _text(finding: Finding, labels: tuple[str, str], verbose: bool) -> list[str]:
    where = _primary(finding)
    prefix = f"{where}: " if where else ""
    lines = [prefix + _headline(finding, labels)]
    if verbose:
        for label, value, location in (
            (labels[0], finding.sdk_value, finding.sdk_location),
            (labels[1], finding.api_value, finding.api_location),
        ):
            at = f"  ({location})" if location else ""
            lines.append(f"    {label}: {format_value(value)}{at}")
        if finding.note and not finding.fix:
            lines.append(f"    note: {finding.note}")
    return lines


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(finding: Finding, labels: tuple[str, str]) -> str:
    properties = []
    where = _primary(finding)
    if where is not None:
        properties += [f"file={_escape(where.path, property_value=True)}", f"line={where.line}"]
    properties.append(f"title={_escape(f'catalog-parity {finding.code}', property_value=True)}")
    message = _headline(finding, labels)
    if finding.note and not finding.fix:
        message += f"\n{finding.note}"
    level = "notice" if finding.code in INFORMATIONAL_CODES else "error"
    return f"::{level} {','.join(properties)}::{_escape(message)}"


def to_record(finding: Finding) -> dict[str, Any]:
    """The JSON record of one finding; a one-sided value is ``null`` with ``*_missing: true``."""

    def location(where: Location | None) -> dict[str, Any] | None:
        return None if where is None else {"path": where.path, "line": where.line}

    return {
        "code": finding.code,
        "path": finding.path,
        "sdk_value": None if finding.sdk_value is MISSING else finding.sdk_value,
        "sdk_missing": finding.sdk_value is MISSING,
        "api_value": None if finding.api_value is MISSING else finding.api_value,
        "api_missing": finding.api_value is MISSING,
        "sdk_location": location(finding.sdk_location),
        "api_location": location(finding.api_location),
        "note": finding.note,
        "fix": finding.fix,
        "informational": finding.code in INFORMATIONAL_CODES,
    }


def summary(findings: Sequence[Finding], subject: str) -> str:
    """The last line of every text run: how many findings of which codes, about what."""
    if not findings:
        return f"catalog_sync: no differences ({subject})"
    counts = Counter(finding.code for finding in findings)
    kinds = ", ".join(f"{count} {code}" for code, count in sorted(counts.items()))
    noun = "finding" if len(findings) == 1 else "findings"
    informational = sum(count for code, count in counts.items() if code in INFORMATIONAL_CODES)
    if informational == len(findings):
        return f"catalog_sync: no drift; {len(findings)} informational {noun} ({kinds}) ({subject})"
    aside = f", {informational} of them informational" if informational else ""
    return f"catalog_sync: {len(findings)} {noun} ({kinds}){aside} ({subject})"


def render(
    findings: Sequence[Finding],
    output_format: str,
    *,
    subject: str,
    verbose: bool = False,
    labels: tuple[str, str] = ("sdk", "api"),
) -> list[str]:
    """The output lines of one run in ``output_format``."""
    if output_format == "json":
        return [json.dumps(to_record(f), ensure_ascii=False, default=repr) for f in findings]
    lines: list[str] = []
    for finding in findings:
        if output_format == "github":
            lines.append(_github(finding, labels))
        else:
            lines.extend(_text(finding, labels, verbose))
    lines.append(summary(findings, subject))
    return lines
