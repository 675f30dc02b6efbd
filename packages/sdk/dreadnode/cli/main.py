"""Entry point of ``dn``: parse the command line, run one command, turn failures into exit codes.

A user never sees a traceback: expected failures are ``CLIError`` (one line), anything else is
reported as an internal error in one line. Set ``DREADNODE_DEBUG=1`` to get the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from dreadnode import __version__
from dreadnode.cli.catalog import add_catalog_parser
from dreadnode.cli.datasets import add_datasets_parser
from dreadnode.cli.errors import EXIT_FAILURE, EXIT_OK, CLIError
from dreadnode.cli.jobs import add_jobs_parser
from dreadnode.cli.models import add_models_parser
from dreadnode.cli.parsing import Parser
from dreadnode.cli.submit import add_submit_parsers

__all__ = ["build_parser", "main", "run"]


def build_parser() -> Parser:
    """The whole ``dn`` command tree."""
    parser = Parser(prog="dn", description="Dreadnode: fine-tune models on Tinker.")
    parser.add_argument("--version", action="version", version=f"dn {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    train = groups.add_parser(
        "train", help="fine-tuning on Tinker", description="Fine-tuning on Tinker."
    )
    commands = train.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_catalog_parser(commands)
    add_submit_parsers(commands)
    add_jobs_parser(commands)
    add_datasets_parser(commands)
    add_models_parser(commands)
    return parser


def _report(error: CLIError) -> None:
    lines = [f"error: {error.message}", *(f"  {hint}" for hint in error.hints)]
    sys.stderr.write("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dn`` with ``argv`` (default: the process's arguments) and return the exit code."""
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args)
        sys.stdout.flush()
    except CLIError as error:
        if os.environ.get("DREADNODE_DEBUG"):
            import traceback  # only here: it costs start-up time every run would pay

            traceback.print_exception(error)
        _report(error)
        return error.code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`dn ... | head -1`): it has what it wanted, so this is success,
        # in every output mode. Point stdout at /dev/null so the interpreter's final flush of
        # what is still buffered cannot print "Exception ignored ... BrokenPipeError".
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OK
    except Exception as error:  # the one place that turns a crash into a line
        if os.environ.get("DREADNODE_DEBUG"):
            raise
        sys.stderr.write(
            f"error: internal error ({type(error).__name__}: {error}); "
            "set DREADNODE_DEBUG=1 to see the traceback\n"
        )
        return EXIT_FAILURE
    return code


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(main())


if __name__ == "__main__":
    run()
