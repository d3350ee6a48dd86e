"""Helpers for the suite's own tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fixtures.moto_server import moto_server, provision

ROOT = Path(__file__).resolve().parent.parent


def run_suite(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the conformance suite as a user would: ``pytest [args]`` at the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def run_module(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ARGS`` at the repository root (the suite's other commands)."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def suite() -> object:
    return run_suite


def free_port() -> int:
    """A free TCP port on loopback, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def provisioned_moto_server(
    module: str = "moto.server",
    phase: int = 1,
    environment: str = "production",
    drift: str | None = None,
) -> Iterator[str]:
    """A moto server on loopback (``python -m MODULE``) holding the reference of ``phase`` (and
    ``environment``: ``all`` for staging and production; with ``drift``, one a moto server cannot
    change afterwards), built by the provisioner command in its own process as a deployment would
    be; yields its URL."""
    with moto_server(module) as (url, _pid):
        provision(url, phase, environment, drift)
        yield url
