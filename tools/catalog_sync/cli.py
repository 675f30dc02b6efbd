"""The command line: ``check``, ``sync``, ``upstream``; exit 0 clean, 1 findings, 2 could not run.

Exit 2 means the tool could not do its job (a catalog would not load, bad usage, Tinker could not
be asked), which CI must never mistake for "the copies differ" (1).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tools.catalog_sync.compare_behaviour import compare_behaviour
from tools.catalog_sync.compare_data import compare_data
from tools.catalog_sync.compare_schema import compare_schema
from tools.catalog_sync.findings import INFORMATIONAL_CODES, KNOWN_CODES, Finding
from tools.catalog_sync.loader import Catalog, LoadError, load_catalog
from tools.catalog_sync.report import FORMATS, render
from tools.catalog_sync.sync import SyncError, synced_text, unified_diff, write_atomically

__all__ = ["API_CATALOG", "REPO_ROOT", "SDK_CATALOG", "check", "main"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SDK_CATALOG = REPO_ROOT / "packages/sdk/dreadnode/training/models.py"
API_CATALOG = REPO_ROOT / "packages/api/app/training/catalog.py"
PROG = "python -m tools.catalog_sync"


def display_path(path: Path) -> str:
    """``path`` relative to the repository root when inside it, so output is machine-independent."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def check(sdk_path: Path, api_path: Path) -> list[Finding]:
    """Every finding between the two copies; LoadError when either cannot be loaded."""
    sdk = load_catalog(sdk_path, "sdk", display_path(sdk_path))
    api = load_catalog(api_path, "api", display_path(api_path))
    return compare_data(sdk, api) + compare_schema(sdk, api) + compare_behaviour(sdk, api)


def _print(lines: Sequence[str], stream: TextIO) -> None:
    for line in lines:
        print(line, file=stream)


def _run_check(args: argparse.Namespace) -> int:
    unknown = [p for p in args.ignore if not fnmatch.filter(sorted(KNOWN_CODES), p)]
    if unknown:
        codes = ", ".join(sorted(KNOWN_CODES))
        return _error(f"--ignore {unknown[0]!r} matches no finding code; codes: {codes}")
    try:
        findings = check(args.sdk, args.api)
    except LoadError as error:
        return _error(f"cannot load {error.display}: {error.reason}")
    if args.ignore:
        findings = [
            f for f in findings if not any(fnmatch.fnmatchcase(f.code, p) for p in args.ignore)
        ]
    subject = f"{display_path(args.sdk)} vs {display_path(args.api)}"
    _print(render(findings, args.format, subject=subject, verbose=args.verbose), sys.stdout)
    return 1 if findings else 0


def _run_sync(args: argparse.Namespace) -> int:
    sdk_display, api_display = display_path(args.sdk), display_path(args.api)
    try:
        before = args.api.read_text(encoding="utf-8")
        after = synced_text(args.sdk, args.api, sdk_display, api_display)
    except (SyncError, OSError, UnicodeDecodeError) as error:
        return _error(str(error))
    with args.api.open(encoding="utf-8", newline="") as handle:
        before = handle.read()
    if args.check:
        diff = unified_diff(before, after, api_display)
        if diff:
            sys.stdout.write(diff)
            print(f"catalog_sync: {api_display} is out of sync; run `{PROG} sync`")
            return 1
        print(f"catalog_sync: {api_display} is in sync")
        return 0
    if after == before:
        print(f"catalog_sync: {api_display} is already in sync")
        return 0
    write_atomically(args.api, after)
    print(f"catalog_sync: rewrote {api_display} below its docstring from {sdk_display}")
    return 0


def _run_upstream(args: argparse.Namespace) -> int:
    # Imported here: urllib.request (ssl, http.client) would cost every `check` ~30 ms.
    from tools.catalog_sync.upstream import (
        DEFAULT_BASE_URL,
        UpstreamError,
        compare_upstream,
        fetch_served_models,
    )

    api_key = os.environ.get("TINKER_API_KEY", "")
    if not api_key:
        return _error("TINKER_API_KEY is not set; upstream needs a Tinker API key (tml-...)")
    base_url = args.base_url or os.environ.get("TINKER_BASE_URL") or DEFAULT_BASE_URL
    try:
        catalog: Catalog = load_catalog(args.sdk, "sdk", display_path(args.sdk))
        served = fetch_served_models(base_url, api_key, args.timeout)
    except LoadError as error:
        return _error(f"cannot load {error.display}: {error.reason}")
    except UpstreamError as error:
        return _error(str(error))
    findings = compare_upstream(catalog, served)
    subject = f"{catalog.display} vs Tinker at {base_url}"
    lines = render(
        findings, args.format, subject=subject, verbose=args.verbose, labels=("catalog", "tinker")
    )
    _print(lines, sys.stdout)
    return 1 if any(f.code not in INFORMATIONAL_CODES for f in findings) else 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand's help says what it is for."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="{check,sync,upstream}")

    def add_paths(command: argparse.ArgumentParser) -> None:
        command.add_argument("--sdk", type=Path, default=SDK_CATALOG, help="the source of truth")
        command.add_argument("--api", type=Path, default=API_CATALOG, help="the API's mirror")

    def add_output(command: argparse.ArgumentParser) -> None:
        command.add_argument("--format", choices=FORMATS, default="text")
        command.add_argument(
            "-v", "--verbose", action="store_true", help="show both sides with their locations"
        )

    check_command = commands.add_parser(
        "check", help="report every difference between the SDK's catalog and the API's mirror"
    )
    add_paths(check_command)
    add_output(check_command)
    check_command.add_argument(
        "--ignore", action="append", default=[], metavar="CODE",
        help="leave out findings with this code (a glob such as 'behaviour-*'); repeatable",
    )  # fmt: skip

    sync_command = commands.add_parser(
        "sync", help="rewrite the mirror (below its docstring) from the SDK's copy"
    )
    add_paths(sync_command)
    sync_command.add_argument(
        "--check", action="store_true", help="print the diff sync would make; exit 1 if any"
    )

    upstream_command = commands.add_parser(
        "upstream", help="compare the catalog with the models Tinker serves (needs TINKER_API_KEY)"
    )
    upstream_command.add_argument("--sdk", type=Path, default=SDK_CATALOG, help="the catalog")
    upstream_command.add_argument(
        "--base-url", default=None, help="default: $TINKER_BASE_URL, else Tinker's production URL"
    )
    upstream_command.add_argument("--timeout", type=_positive, default=10.0, help="seconds")
    add_output(upstream_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status is the return value."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: 2 for bad usage, 0 for --help
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command == "check":
        return _run_check(args)
    if args.command == "sync":
        return _run_sync(args)
    if args.command == "upstream":
        return _run_upstream(args)
    parser.print_usage(sys.stderr)
    return _error("a command is required: check, sync or upstream")
