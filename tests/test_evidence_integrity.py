"""Evidence is whole or marked: every expected check has a result, whatever stopped the run.

The suite runs as a user runs it (a pytest process at the repository root): under ``-n 2``, with
``-x``, interrupted by SIGINT or SIGTERM while a check waits on a real TCP server that accepts and
never answers, and with a plugin that crashes around a check (this module, loaded with ``-p``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conformance import evidence
from conformance.checks import load_checks
from tests.conftest import ROOT, run_module, run_suite

CRASH = "CONFORMANCE_TEST_CRASH"  # "PHASE:CHECK_ID" makes this module, as a plugin, crash there
SET = {"evidence.json", "conformance.md", "conformance.html"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """As a plugin (``-p tests.test_evidence_integrity``): fail the setup of one check."""
    if os.environ.get(CRASH) == f"setup:{item.name}":
        raise RuntimeError("a plugin failed while setting up the check")


def pytest_runtest_call(item: pytest.Item) -> None:
    """As a plugin: raise instead of running one check, or end the xdist worker running it."""
    if os.environ.get(CRASH) == f"call:{item.name}":
        raise RuntimeError("a plugin crashed around the check")
    if os.environ.get(CRASH) == f"exit:{item.name}":
        os._exit(1)


def _load(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / evidence.EVIDENCE_FILE).read_text())
    return data


def _checks_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("checks: "))


def _comparable(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Results without the values each embedded reference generates (ids, addresses)."""
    return [
        (r["id"], r["outcome"], r["message"], r["section"], [c["ok"] for c in r["comparisons"]])
        for r in data["results"]
    ]


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The evidence of a complete Phase-1 run in one process."""
    directory = tmp_path_factory.mktemp("complete")
    done = run_suite(f"--evidence={directory}")
    assert done.returncode == 0, done.stdout + done.stderr
    return directory


def test_n_2_gathers_the_workers_results_calls_and_inventory_into_one_evidence(
    complete: Path, tmp_path: Path
) -> None:
    done = run_suite("-n", "2", f"--evidence={tmp_path}")
    assert done.returncode == 0, done.stdout + done.stderr
    alone, gathered = _load(complete), _load(tmp_path)
    assert len(gathered["results"]) == len(load_checks())
    assert _comparable(gathered) == _comparable(alone)
    assert gathered["target"] == alone["target"] == "moto (us-east-1)"
    assert gathered["api_calls"]["count"] == alone["api_calls"]["count"] > 0
    assert gathered["api_calls"]["processes"] == 2
    assert gathered["api_calls"]["sent"] >= gathered["api_calls"]["count"]
    assert gathered["api_calls"]["repeated"] == []
    assert set(gathered["inventory"]["sections"]) == set(alone["inventory"]["sections"])
    seconds = gathered["inventory"]["collection"]["seconds"]
    assert set(seconds) == set(alone["inventory"]["collection"]["seconds"])
    assert gathered["verdict"] == "conformant" and gathered["interrupted"] is False
    counted = evidence.count_line(evidence.counts(alone["results"]))
    assert _checks_line(done.stdout) == f"checks: {counted}"
    assert f"AWS API calls: {alone['api_calls']['count']}; " in done.stdout


def test_x_records_every_check_it_did_not_run_as_an_error(tmp_path: Path) -> None:
    done = run_suite("-x", "--drift", "sg-web-extra-port", f"--evidence={tmp_path}")
    assert done.returncode == 1, done.stdout + done.stderr
    data = _load(tmp_path)
    by_id = {r["id"]: r for r in data["results"]}
    assert set(by_id) == set(load_checks())
    assert by_id["sg.ec2_web.no_extra_ingress"]["outcome"] == "failed"
    missing = evidence.not_run(data["results"])
    assert missing, "-x stopped at the first failure: later checks did not run"
    assert {r["message"] for r in missing} == {"not run: stopped after the first failure (-x)"}
    assert data["verdict"] == "not conformant" and data["interrupted"] is False
    line = _checks_line(done.stdout)
    assert line == "checks: " + evidence.count_line(evidence.counts(data["results"]))
    assert f" {len(missing)} error, " in line
    summary = _summary(tmp_path / evidence.EVIDENCE_FILE, "--check")
    assert summary.returncode == 1
    assert summary.stdout.startswith("## Conformance: not conformant\n")
    assert line in summary.stdout


def _applicable_outcomes(results: dict[str, dict[str, Any]]) -> set[str]:
    """The outcomes of the checks that apply to Phase 1 (the others say they do not)."""
    return {r["outcome"] for r in results.values() if not r["message"].startswith("not applic")}


@pytest.mark.parametrize("phase", ["call", "setup"])
def test_a_crash_around_a_check_is_its_recorded_error(tmp_path: Path, phase: str) -> None:
    done = run_suite(
        "-p",
        "tests.test_evidence_integrity",
        "-k",
        "net.",
        f"--evidence={tmp_path}",
        env={CRASH: f"{phase}:net.vpc.cidr"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    results = {r["id"]: r for r in _load(tmp_path)["results"]}
    crashed = results.pop("net.vpc.cidr")
    assert crashed["outcome"] == "error"
    if phase == "call":
        assert crashed["message"] == "RuntimeError: a plugin crashed around the check"
    else:
        assert crashed["message"] == (
            "not run: setup failed: RuntimeError: a plugin failed while setting up the check"
        )
    assert crashed["section"].endswith("> Networking > Simplified VPC (Phase 1)")
    assert results and _applicable_outcomes(results) == {"passed"}
    assert " 1 error, " in _checks_line(done.stdout)


def test_a_crashed_xdist_worker_loses_no_result_of_the_checks_it_ran(tmp_path: Path) -> None:
    done = run_suite(
        "-p",
        "tests.test_evidence_integrity",
        "-n",
        "2",
        "-k",
        "net.",
        f"--evidence={tmp_path}",
        env={CRASH: "exit:net.nat.absent"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    data = _load(tmp_path)
    results = {r["id"]: r for r in data["results"]}
    assert set(results) == {c for c in load_checks() if c.startswith("net.")}
    crashed = results.pop("net.nat.absent")
    assert crashed["outcome"] == "error"
    assert re.fullmatch(r"no result: worker 'gw\d' crashed while running .*", crashed["message"])
    assert _applicable_outcomes(results) == {"passed"}
    assert data["verdict"] == "not conformant"


class HoldingServer:
    """A TCP server on loopback that accepts connections and never answers: a check that
    connects to it waits (for its timeout), so a signal can be sent while the run is in a check."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connected = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self._held.append(connection)
            self.connected.set()

    def close(self) -> None:
        self.listener.close()
        for connection in self._held:
            connection.close()


@contextmanager
def holding_server() -> Iterator[HoldingServer]:
    server = HoldingServer()
    try:
        yield server
    finally:
        server.close()


def _dead_pid() -> int:
    """The id of a process that has exited, as a killed writer's would be."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(process.stdout)


def _summary(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return run_module("conformance", "summary", *options, str(path), timeout=60)


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (signal.SIGINT, "not run: the run was interrupted"),
        (signal.SIGTERM, "not run: the run was terminated (SIGTERM)"),
    ],
)
def test_a_signalled_run_leaves_one_marked_set_and_no_temporary_file(
    complete: Path, tmp_path: Path, sent: signal.Signals, reason: str
) -> None:
    directory = tmp_path / "out"
    shutil.copytree(complete, directory)
    dead = _dead_pid()
    left_by_killed_runs = [
        f".evidence-{dead}-k1ll3d_.json",
        f".conformance-{dead}-k1ll3d_.html",
        ".evidence-abc123_x.json",  # named as writers did before they named their process
    ]
    for name in left_by_killed_runs:
        (directory / name).write_text("partial")
    live = directory / f".conformance-{os.getpid()}-writing.md"  # a running writer's: kept
    live.write_text("being written")
    with holding_server() as server:
        options = [f"--tls-endpoint={server.endpoint}", f"--evidence={directory}"]
        run = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.connected.wait(120), "the run never reached the TLS checks"
            run.send_signal(sent)
            stdout, stderr = run.communicate(timeout=120)
        finally:
            run.kill()
    assert run.returncode == 2, stdout + stderr
    assert sorted(p.name for p in directory.iterdir()) == sorted([*SET, live.name])

    data = _load(directory)
    assert data["interrupted"] is True and data["verdict"] == "interrupted"
    assert data["run_id"] != _load(complete)["run_id"]
    by_id = {r["id"]: r for r in data["results"]}
    assert set(by_id) == set(load_checks())
    missing = evidence.not_run(data["results"])
    assert {r["message"] for r in missing} == {reason}
    assert by_id["tls.protocols"] in missing  # the check the signal stopped
    assert [r for r in data["results"] if r["outcome"] == "passed"], "checks before it completed"
    assert f"not run: {len(missing)} checks ({reason.removeprefix('not run: ')})" in stdout
    assert "verdict: interrupted" in stdout

    markdown = (directory / "conformance.md").read_text()
    page = (directory / "conformance.html").read_text()
    assert f"| Run id | {data['run_id']} |" in markdown and "| Verdict | interrupted |" in markdown
    assert f'<meta name="conformance-run-id" content="{data["run_id"]}">' in page
    for report in (markdown, page):
        assert f"This run was interrupted: {len(missing)} checks did not run" in report

    summary = _summary(directory / evidence.EVIDENCE_FILE, "--check")
    assert summary.returncode == 2
    assert summary.stdout.startswith("## Conformance: interrupted\n")
    assert "## Conformance: conformant" not in summary.stdout
    diff = run_module("conformance", "diff", str(complete), str(directory), timeout=60)
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert "· interrupted\n" in diff.stdout and "NEW was interrupted: " in diff.stdout


def test_a_set_is_replaced_whole_and_a_dead_writers_temporaries_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / f".evidence-{dead}-abc.json"
    stale.write_text("{")
    (tmp_path / "evidence.json").write_text('{"results": [], "run_id": "old"}')
    data = {"results": [], "run_id": "new", "interrupted": False}
    evidence.write(tmp_path, data, {"conformance.md": "new md\n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conformance.md", "evidence.json"]
    assert _load(tmp_path)["run_id"] == "new"
    assert os.stat(tmp_path / "evidence.json").st_mode & 0o077 == 0  # the inventory is private
