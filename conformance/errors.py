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
    """An error with one clear message and no traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(ConformanceError):
    """Bad options, a bad spec or inputs file, an unknown phase or drift id."""


class TargetError(ConformanceError):
    """The target cannot be reached or refuses us (credentials, endpoint, wrong account)."""

    exit_code = ExitCode.TARGET_UNREACHABLE
