"""ruff (lint and format) and mypy run as part of the tests."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SOURCES = ["conformance", "specs", "fixtures", "tests", "benchmarks", "localstack", "conftest.py"]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", *SOURCES],
        ["ruff", "format", "--check", *SOURCES],
        ["mypy", "conformance", "specs", "fixtures", "benchmarks", "tests", "localstack/host.py"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_clean(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
