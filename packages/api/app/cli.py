"""The operator command line: ``dreadnode-api`` / ``python -m app``.

    serve [--host H] [--port P] [--workers N] [--check]
                                   check the port is free, apply migrations, then run uvicorn;
                                   --check stops after the port check (changes nothing)
    migrate                        apply migrations
    tokens create --name N [--owner O] [--read-only]
                                   print a new token, alone on the last line
    tokens list [--all] [--json]   name, owner, access, created, last used; never the secret
    tokens revoke NAME             every worker refuses the token from its next request

Every command says which database it uses (a SQLite file's path, or the URL with its password
masked; inside ``--json`` output for ``tokens list``): the default file is in the user's data
directory, not the current one, and an operator should never have to guess. Errors are one line
on stderr (exit 1; usage errors exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.core.config import (
    API_PREFIX,
    Settings,
    default_database_path,
    describe_database,
    sqlite_path,
)

if TYPE_CHECKING:
    from app.storage.tokens import TokenInfo

__all__ = ["main"]


def _port(text: str) -> int:
    """A TCP port, 1-65535 (uvicorn would silently bind 99999 modulo 65536)."""
    port = _integer(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, got {port}")
    return port


def _workers(text: str) -> int:
    """A worker count, at least 1."""
    workers = _integer(text)
    if workers < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {workers}")
    return workers


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dreadnode-api", description="Run and administer the training API."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="check the port is free, apply migrations, then serve with uvicorn"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to bind (default 8000)")
    serve.add_argument(
        "--workers", type=_workers, default=1, help="uvicorn worker processes (default 1)"
    )
    serve.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log every request (default on)",
    )
    serve.add_argument(
        "--check",
        action="store_true",
        help="only check that the port is free; print the API's URL alone on the last line",
    )

    commands.add_parser("migrate", help="apply database migrations")

    worker = commands.add_parser(
        "worker",
        help="train queued supervised jobs on Tinker (needs TINKER_API_KEY and the worker extra)",
    )
    worker.add_argument(
        "--id",
        default=None,
        help="this worker's name, stable across restarts so a restarted worker resumes its own "
        "jobs (default: the host name)",
    )
    worker.add_argument(
        "--concurrency", type=_workers, default=1, help="jobs this worker runs at once (default 1)"
    )

    tokens = commands.add_parser("tokens", help="manage API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument(
        "--name", required=True, help="a label for the token, unique among active tokens"
    )
    create.add_argument("--owner", help="whose jobs it acts on (default: the name)")
    create.add_argument("--read-only", action="store_true", help="may read but not write")
    listing = token_commands.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    revoke = token_commands.add_parser("revoke", help="revoke a token: refused from now on")
    revoke.add_argument("name", metavar="NAME", help="the active token's name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return _run(args)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        _fail(f"invalid setting {where}: {first['msg']}")
    except SQLAlchemyError as err:
        _fail(f"database error: {str(err.orig if hasattr(err, 'orig') else err).splitlines()[0]}")
    except (OSError, ValueError) as err:
        _fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    except KeyboardInterrupt:
        return 130
    return 1


def _fail(message: str) -> None:
    sys.stderr.write(f"dreadnode-api: error: {message}\n")


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "worker":
        from app.worker.command import run_worker

        sys.stdout.write(f"database: {describe_database(settings.database_url)}\n")
        _migrate(settings)
        return run_worker(settings, worker_id=args.id, concurrency=args.concurrency)
    if not (args.command == "tokens" and args.tokens_command == "list" and args.json):
        sys.stdout.write(f"database: {describe_database(settings.database_url)}\n")
    _migrate(settings)
    if args.command == "migrate":
        sys.stdout.write("migrations applied\n")
        return 0
    if args.tokens_command == "create":
        return _create_token(args, settings)
    if args.tokens_command == "list":
        return _list_tokens(args, settings)
    return _revoke_token(args, settings)


def _migrate(settings: Settings) -> None:
    """Apply the migrations, first creating the default database's directory if it is missing.

    Only the default's: a ``DATABASE_URL`` naming a missing directory is more likely a typo
    than a wish, and fails instead.
    """
    from app.core.db import MigrationLockTimeoutError, migrate

    path = sqlite_path(settings.database_url)
    if path is not None and path == default_database_path().resolve():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        migrate(settings.database_url, lock_timeout=settings.migration_lock_timeout_seconds)
    except MigrationLockTimeoutError as err:
        raise MigrationLockTimeoutError(
            f"{err} (DREADNODE_API_MIGRATION_LOCK_TIMEOUT_SECONDS sets the wait)"
        ) from None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    _check_port_free(args.host, args.port)
    address = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{address}:{args.port}{API_PREFIX}"
    sys.stdout.write(f"database: {describe_database(settings.database_url)}\n")
    if args.check:
        sys.stdout.write(f"port {args.port} on {args.host} is free; the API would be at:\n")
        sys.stdout.write(f"{url}\n")
        return 0
    from app.core import serving, supervisor

    _migrate(settings)
    sys.stdout.write(f"serving:  {url}  (docs at {url}/docs)\n")
    sys.stdout.flush()
    supervisor.run(  # uvicorn.run, with workers that stop on SIGTERM even mid-restart
        "app.core.serving:create_worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_config=serving.log_config(),
        # The request-head bounds (see app.core.serving); bodies are bounded by the app.
        http=serving.http_protocol(settings),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        # The client's address (failed sign-ins are limited per address) is taken from
        # X-Forwarded-For only when a configured proxy sent it: uvicorn's default believes it
        # from any local client, and would read FORWARDED_ALLOW_IPS besides.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
    )
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Bind the address as uvicorn will (same family and options), and let it go again: a busy
    port fails here, in one line, before anything is migrated or started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if sys.platform != "win32":  # there it would let two servers share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise OSError(f"port {port} on {host} is in use") from None
            reason = err.strerror or str(err)
            raise OSError(f"cannot listen on port {port} on {host}: {reason}") from None


def _create_token(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.db import Database
    from app.storage.tokens import create_token

    database = Database(settings.database_url)
    try:
        with database.session() as session:
            token = create_token(
                session, name=args.name, owner=args.owner, read_only=args.read_only
            )
    finally:
        database.dispose()
    name = args.name.strip()
    owner = (args.owner or "").strip() or name
    kind = "read-only token" if args.read_only else "token"
    sys.stdout.write(f"created {kind} {name!r} for owner {owner!r}; it is shown only this once:\n")
    sys.stdout.write(f"{token}\n")
    return 0


def _list_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.db import Database
    from app.storage.tokens import list_tokens

    database = Database(settings.database_url)
    try:
        with database.session() as session:
            tokens = list_tokens(session, include_revoked=args.all)
    finally:
        database.dispose()
    if args.json:
        document = {
            "database": describe_database(settings.database_url),
            "tokens": [_token_json(token) for token in tokens],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return 0
    if not tokens:
        which = "tokens" if args.all else "active tokens"
        sys.stdout.write(f"no {which}; create one with: dreadnode-api tokens create --name NAME\n")
        return 0
    sys.stdout.write(_token_table(tokens, with_revoked=args.all))
    return 0


def _token_json(token: TokenInfo) -> dict[str, object]:
    return {
        "name": token.name,
        "owner": token.owner,
        "prefix": token.prefix,
        "read_only": token.read_only,
        "created_at": token.created_at.isoformat(),
        "last_used_at": None if token.last_used_at is None else token.last_used_at.isoformat(),
        "revoked_at": None if token.revoked_at is None else token.revoked_at.isoformat(),
    }


def _when(moment: datetime | None, never: str) -> str:
    return never if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _token_table(tokens: list[TokenInfo], *, with_revoked: bool) -> str:
    """Aligned columns; the token column shows only the public prefix of ``dn_<prefix>_...``."""
    header = ["NAME", "OWNER", "ACCESS", "TOKEN", "CREATED", "LAST USED"]
    if with_revoked:
        header.append("REVOKED")
    rows = [header]
    for token in tokens:
        row = [
            token.name,
            token.owner,
            "read-only" if token.read_only else "read-write",
            f"dn_{token.prefix}_...",
            _when(token.created_at, "-"),
            _when(token.last_used_at, "never"),
        ]
        if with_revoked:
            row.append(_when(token.revoked_at, "-"))
        rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )


def _revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.db import Database
    from app.storage.tokens import revoke_token

    database = Database(settings.database_url)
    try:
        with database.session() as session:
            revoked = revoke_token(session, args.name)
    finally:
        database.dispose()
    if revoked is None:
        _fail(f"no active token named {args.name.strip()!r} (see: dreadnode-api tokens list)")
        return 1
    sys.stdout.write(
        f"revoked token {revoked.name!r} of owner {revoked.owner!r} (dn_{revoked.prefix}_...); "
        "every worker refuses it from its next request\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
