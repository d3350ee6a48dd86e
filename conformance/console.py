"""Printing a command's report to a reader that may stop reading (``… | head``)."""

from __future__ import annotations

import os
import sys


def emit(text: str) -> None:
    """Write ``text`` to stdout. A reader that closed the pipe early ends the output, not the
    command: its exit status still says what the report says, and no traceback is printed."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush succeeds.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
