"""Errors the user can act on, and the exit codes the suite documents."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of a conformance run (pytest's own where they coincide)."""

    CONFORMANT = 0
    DRIFT = 1
    INTERRUPTED = 2
    INTERNAL = 3
    USAGE = 4
    TARGET_UNREACHABLE = 6


class ConformanceError(Exception):
    """An error with one clear message and no traceback. The message is one printable line:
    a control character or line break that came from the user's input is shown escaped."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str = "") -> None:
        super().__init__(printable(message))


def printable(text: str) -> str:
    """``text`` with every unprintable character (newlines and control characters included)
    written as its escape, e.g. ``\\x1f``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class UsageError(ConformanceError):
    """Bad options, a bad spec or inputs file, an unknown phase or drift id."""


class TargetError(ConformanceError):
    """The target cannot be reached or refuses us (credentials, endpoint, wrong account)."""

    exit_code = ExitCode.TARGET_UNREACHABLE
