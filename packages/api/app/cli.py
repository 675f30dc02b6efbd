"""The operator command line: ``dreadnode-api`` / ``python -m app``.

    serve [--host H] [--port P] [--workers N]   apply migrations, then run uvicorn
    migrate                                      apply migrations
    tokens create --name N [--owner O] [--read-only]
                                                 print a new token, alone on the last line

Errors are one line on stderr (exit 1; usage errors exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.core.config import Settings

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

    serve = commands.add_parser("serve", help="apply migrations, then serve with uvicorn")
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

    commands.add_parser("migrate", help="apply database migrations")

    tokens = commands.add_parser("tokens", help="manage API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True, help="a label for the token")
    create.add_argument("--owner", help="whose jobs it acts on (default: the name)")
    create.add_argument("--read-only", action="store_true", help="may read but not write")
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
    from app.core.db import migrate

    settings = Settings()
    if args.command == "migrate":
        migrate(settings.database_url)
        sys.stdout.write("migrations applied\n")
        return 0
    if args.command == "serve":
        return _serve(args, settings)
    return _create_token(args, settings)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.core.db import migrate

    migrate(settings.database_url)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
    )
    return 0


def _create_token(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.db import Database, migrate
    from app.storage.tokens import create_token

    name = args.name.strip()
    if not name:
        raise ValueError("--name must not be empty")
    migrate(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            token = create_token(session, name=name, owner=args.owner, read_only=args.read_only)
    finally:
        database.dispose()
    kind = "read-only token" if args.read_only else "token"
    sys.stdout.write(
        f"created {kind} {name!r} for owner {args.owner or name!r}; it is shown only this once:\n"
    )
    sys.stdout.write(f"{token}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
