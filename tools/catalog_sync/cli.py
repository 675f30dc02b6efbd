"""The command line: ``check``, ``sync``, ``upstream``, ``prices``; exit 0 clean, 1 findings, 2
could not run.

``check`` and ``sync`` act on every pair in ``tools.catalog_sync.mirrors.MIRRORS`` (under
``--root``, this repository by default), or on the catalog alone at the files ``--sdk`` and
``--api`` name. Exit 2 means the tool could not do its job (a module would not load, bad usage,
Tinker could not be asked), which CI must never mistake for "the copies differ" (1).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tools.catalog_sync import mirrors
from tools.catalog_sync.compare_behaviour import compare_behaviour
from tools.catalog_sync.compare_data import compare_data
from tools.catalog_sync.compare_schema import compare_schema
from tools.catalog_sync.compare_text import compare_text
from tools.catalog_sync.findings import INFORMATIONAL_CODES, KNOWN_CODES, Finding
from tools.catalog_sync.loader import Catalog, LoadError, load_catalog
from tools.catalog_sync.mirrors import CATALOG, Mirror
from tools.catalog_sync.report import FORMATS, render
from tools.catalog_sync.sync import SyncError, synced, unified_diff, write_atomically

__all__ = ["API_CATALOG", "REPO_ROOT", "SDK_CATALOG", "Pair", "check", "check_pair", "main"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SDK_CATALOG = CATALOG.source_path(REPO_ROOT)
API_CATALOG = CATALOG.mirror_path(REPO_ROOT)
PROG = "python -m tools.catalog_sync"
#: Tinker's docs site answers 403 to urllib's default User-Agent.
PRICES_AGENT = "dreadnode-catalog-sync"


class UsageError(Exception):
    """Arguments argparse accepts but that do not go together."""


def display_path(path: Path, root: Path = REPO_ROOT) -> str:
    """``path`` relative to ``root`` when inside it, so output is machine-independent."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Pair:
    """One mirrored pair as a run sees it: its declaration, its two files, how they print, and
    the command that rewrites its mirror."""

    mirror: Mirror
    source_path: Path
    mirror_path: Path
    source_display: str
    mirror_display: str
    sync_command: str = f"{PROG} sync"


def selected_pairs(args: argparse.Namespace) -> list[Pair]:
    """Every declared pair under ``--root``, or the catalog alone at ``--sdk``/``--api``."""
    if args.sdk is not None or args.api is not None:
        if args.root is not None:
            raise UsageError("--sdk and --api name the catalog's files; leave out --root")
        sdk, api = args.sdk or SDK_CATALOG, args.api or API_CATALOG
        return [Pair(CATALOG, sdk, api, display_path(sdk), display_path(api))]
    root = REPO_ROOT if args.root is None else args.root
    command = f"{PROG} sync" if args.root is None else f"{PROG} sync --root {args.root}"
    return [
        Pair(
            mirror,
            mirror.source_path(root),
            mirror.mirror_path(root),
            display_path(mirror.source_path(root), root),
            display_path(mirror.mirror_path(root), root),
            command,
        )
        for mirror in mirrors.MIRRORS  # read at call time: a test may declare another pair
    ]


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def check(
    sdk_path: Path, api_path: Path, sdk_display: str | None = None, api_display: str | None = None
) -> list[Finding]:
    """Every finding between the two catalogs; LoadError when either cannot be loaded."""
    sdk = load_catalog(sdk_path, "sdk", sdk_display or display_path(sdk_path))
    api = load_catalog(api_path, "api", api_display or display_path(api_path))
    return compare_data(sdk, api) + compare_schema(sdk, api) + compare_behaviour(sdk, api)


def _read(path: Path, display: str) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise SyncError(f"{display}: cannot read: {error}") from error


def check_pair(pair: Pair) -> list[Finding]:
    """The catalog field by field; any other pair's first line that differs from what ``sync``
    would write. LoadError or SyncError when the pair cannot be compared."""
    if pair.mirror.compare == "catalog":
        return check(pair.source_path, pair.mirror_path, pair.source_display, pair.mirror_display)
    expected = synced(
        pair.source_path,
        pair.mirror_path,
        pair.source_display,
        pair.mirror_display,
        pair.mirror.omit,
    )
    fix = f"run `{pair.sync_command}` to rewrite it from {pair.source_display}"
    actual = _read(pair.mirror_path, pair.mirror_display)
    return compare_text(expected, actual, pair.source_display, pair.mirror_display, fix)


def _print(lines: Sequence[str], stream: TextIO) -> None:
    for line in lines:
        print(line, file=stream)


def _run_check(args: argparse.Namespace) -> int:
    unknown = [p for p in args.ignore if not fnmatch.filter(sorted(KNOWN_CODES), p)]
    if unknown:
        codes = ", ".join(sorted(KNOWN_CODES))
        return _error(f"--ignore {unknown[0]!r} matches no finding code; codes: {codes}")
    try:
        pairs = selected_pairs(args)
    except UsageError as error:
        return _error(str(error))
    failed = drifted = False
    for pair in pairs:  # one pair that cannot be compared does not hide the others' findings
        try:
            findings = check_pair(pair)
        except LoadError as error:
            _error(f"cannot load {error.display}: {error.reason}")
            failed = True
            continue
        except SyncError as error:
            _error(str(error))
            failed = True
            continue
        if args.ignore:
            findings = [
                f for f in findings if not any(fnmatch.fnmatchcase(f.code, p) for p in args.ignore)
            ]
        labels = ("sdk", "api") if pair.mirror.compare == "catalog" else ("source", "mirror")
        subject = f"{pair.source_display} vs {pair.mirror_display}"
        lines = render(findings, args.format, subject=subject, verbose=args.verbose, labels=labels)
        _print(lines, sys.stdout)
        drifted = drifted or bool(findings)
    return 2 if failed else 1 if drifted else 0


def _sync_one(pair: Pair, check_only: bool) -> bool:
    """Sync (or with ``check_only`` diff) one pair; whether its mirror was out of sync."""
    after = synced(
        pair.source_path,
        pair.mirror_path,
        pair.source_display,
        pair.mirror_display,
        pair.mirror.omit,
    ).text
    before = _read(pair.mirror_path, pair.mirror_display)
    if check_only:
        diff = unified_diff(before, after, pair.mirror_display)
        if diff:
            sys.stdout.write(diff)
            print(f"catalog_sync: {pair.mirror_display} is out of sync; run `{pair.sync_command}`")
            return True
        print(f"catalog_sync: {pair.mirror_display} is in sync")
        return False
    if after == before:
        print(f"catalog_sync: {pair.mirror_display} is already in sync")
        return False
    write_atomically(pair.mirror_path, after)
    left_out = f", leaving out {', '.join(pair.mirror.omit)}" if pair.mirror.omit else ""
    print(
        f"catalog_sync: rewrote {pair.mirror_display} below its docstring from "
        f"{pair.source_display}{left_out}"
    )
    return True


def _run_sync(args: argparse.Namespace) -> int:
    try:
        pairs = selected_pairs(args)
    except UsageError as error:
        return _error(str(error))
    failed = drifted = False
    for pair in pairs:
        try:
            drifted = _sync_one(pair, args.check) or drifted
        except (SyncError, OSError) as error:
            _error(str(error))
            failed = True
    return 2 if failed else 1 if args.check and drifted else 0


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


def _run_prices(args: argparse.Namespace) -> int:
    from tools.catalog_sync.prices import DEFAULT_PRICE_LIST_URL, compare_prices, load_price_reader

    url = args.url or os.environ.get("DREADNODE_API_PRICE_LIST_URL") or DEFAULT_PRICE_LIST_URL
    try:
        catalog: Catalog = load_catalog(args.sdk, "sdk", display_path(args.sdk))
        reader = load_price_reader(REPO_ROOT)
    except LoadError as error:
        return _error(f"cannot load {error.display}: {error.reason}")
    except (ImportError, OSError) as error:
        return _error(f"cannot load the API's price-list reader: {error}")
    try:
        listed = reader.fetch_price_list(url, timeout=args.timeout, user_agent=PRICES_AGENT)
    except reader.PriceListError as error:
        return _error(str(error))
    findings = compare_prices(catalog, dict(listed.prices), list(listed.refused))
    subject = f"{catalog.display} vs Tinker's price list at {url}"
    lines = render(
        findings, args.format, subject=subject, verbose=args.verbose, labels=("catalog", "prices")
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
    commands = parser.add_subparsers(dest="command", metavar="{check,sync,upstream,prices}")

    def add_paths(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--root",
            type=Path,
            default=None,
            help="the repository whose declared pairs to act on (default: this one)",
        )
        command.add_argument(
            "--sdk",
            type=Path,
            default=None,
            help="the catalog's source of truth (--sdk or --api: the catalog pair alone)",
        )
        command.add_argument(
            "--api",
            type=Path,
            default=None,
            help="the catalog's mirror (--sdk or --api: the catalog pair alone)",
        )

    def add_output(command: argparse.ArgumentParser) -> None:
        command.add_argument("--format", choices=FORMATS, default="text")
        command.add_argument(
            "-v", "--verbose", action="store_true", help="show both sides with their locations"
        )

    check_command = commands.add_parser(
        "check",
        help="report the differences between each source and its mirror: every one for the "
        "catalog, the first line for a module mirrored line by line",
    )
    add_paths(check_command)
    add_output(check_command)
    check_command.add_argument(
        "--ignore", action="append", default=[], metavar="CODE",
        help="leave out findings with this code (a glob such as 'behaviour-*'); repeatable",
    )  # fmt: skip

    sync_command = commands.add_parser(
        "sync", help="rewrite every mirror (below its docstring) from its source"
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

    prices_command = commands.add_parser(
        "prices", help="compare the catalog with Tinker's published price list (no key needed)"
    )
    prices_command.add_argument("--sdk", type=Path, default=SDK_CATALOG, help="the catalog")
    prices_command.add_argument(
        "--url",
        default=None,
        help="default: $DREADNODE_API_PRICE_LIST_URL, else the list beside Tinker's pricing page",
    )
    prices_command.add_argument("--timeout", type=_positive, default=10.0, help="seconds")
    add_output(prices_command)
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
    if args.command == "prices":
        return _run_prices(args)
    parser.print_usage(sys.stderr)
    return _error("a command is required: check, sync, upstream or prices")
