"""How the command line fails: one line on stderr and an exit code, never a traceback.

Commands raise ``CLIError`` with the message a user should read; ``main`` prints it and exits with
its code. Exit codes: 0 success, 1 an API or network failure, 2 bad usage or local validation.
"""

from __future__ import annotations

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "CLIError", "UsageError"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A failure to report as ``error: <message>`` followed by any hints, then exit ``code``."""

    def __init__(self, message: str, *, code: int = EXIT_FAILURE, hints: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.code = code
        self.hints = hints


class UsageError(CLIError):
    """The user asked for something the command cannot do as written (exit 2)."""

    def __init__(self, message: str, *, hints: tuple[str, ...] = ()):
        super().__init__(message, code=EXIT_USAGE, hints=hints)
