"""Drift between two runs: new failures, fixed checks, changed values, resources in and out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.reports.diff import compare, main, mask
from conformance.reports.matrix import show
from tests.conftest import ROOT, run_module, run_suite


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Evidence of a clean network run and of one where a NAT gateway was added."""
    clean = tmp_path_factory.mktemp("clean")
    drifted = tmp_path_factory.mktemp("nat")
    assert run_suite("-k", "net.", f"--evidence={clean}").returncode == 0
    done = run_suite("-k", "net.", "--drift", "nat-gateway-added", f"--evidence={drifted}")
    assert done.returncode == 1, done.stdout
    return clean / "evidence.json", drifted / "evidence.json"


def test_a_new_failure_and_the_resource_behind_it(runs: tuple[Path, Path]) -> None:
    old, new = (json.loads(p.read_text()) for p in runs)
    drift = compare(old, new)
    assert [(c.check, c.old, c.new) for c in drift.new_failures] == [
        ("net.nat.absent", "passed", "failed")
    ]
    assert drift.fixed == []
    assert any(r.startswith("ec2.nat_gateways: ") for r in drift.appeared), drift.appeared
    assert not drift.disappeared
    # Resource ids differ between the two rebuilt environments; nothing else is reported.
    assert {c.check for c in drift.changed_values} == {"net.nat.absent"}


def test_the_reverse_diff_reports_the_fix_and_the_resource_gone(runs: tuple[Path, Path]) -> None:
    old, new = runs
    drift = compare(json.loads(new.read_text()), json.loads(old.read_text()))
    assert [(c.check, c.old, c.new) for c in drift.fixed] == [
        ("net.nat.absent", "failed", "passed")
    ]
    assert drift.new_failures == []
    assert any(r.startswith("ec2.nat_gateways: ") for r in drift.disappeared)


def test_the_command_line_prints_the_drift_and_exits_1_on_new_failures(
    runs: tuple[Path, Path],
) -> None:
    old, new = runs
    done = run_module("conformance", "diff", str(old.parent), str(new), timeout=60)
    assert done.returncode == 1, done.stderr
    assert "new failures: 1\n  net.nat.absent (passed → failed): " in done.stdout
    assert "fixed: 0" in done.stdout
    assert "\n  ec2.nat_gateways: (nat-" in done.stdout.split("resources appeared:")[1]
    assert main([str(new), str(old), "--json"]) == 0


def test_a_reader_that_stops_early_ends_the_output_not_the_verdict(
    runs: tuple[Path, Path],
) -> None:
    """``diff --json | head -1`` under ``set -o pipefail``: no traceback, the exit still says
    there is a regression."""
    old, new = runs
    pipeline = '"$0" -m conformance diff "$1" "$2" --json | head -1'
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline, sys.executable, str(old), str(new)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "{\n"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 1


def test_a_fifo_is_refused_as_evidence_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "evidence.json"
    os.mkfifo(fifo)
    done = run_module("conformance", "diff", str(fifo), str(fifo), timeout=60)
    assert done.returncode == 4
    assert done.stderr == f"conformance diff: evidence {fifo}: a FIFO, not a regular file\n"


def test_unreadable_evidence_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "evidence.json"
    bad.write_text("{not json")
    assert main([str(bad), str(bad)]) == 4
    assert f"{bad}:1: not an evidence file" in capsys.readouterr().err


def test_generated_ids_are_masked_but_names_are_not() -> None:
    assert mask("subnet public-a (subnet-0a1b2c3d4e5f67890)") == "subnet public-a (subnet-*)"
    assert mask(["sg-12345678", "api-gateway"]) == "[sg-*, api-gateway]"
    assert mask("[3.5.6.7 (eipalloc-65cb91fb1e218820f)]") == "[3.5.6.7 (eipalloc-*)]"
    assert mask("zone example.com (Z0123456789ABCDEFGHIJ)") == "zone example.com (Z*)"
    assert mask("arn:aws:sns:us-east-1:123456789012:alerts") == "arn:aws:sns:us-east-1:*:alerts"
    assert mask("subscription 0d3f1a2b-9c8d-4e7f-a6b5-c4d3e2f1a0b9") == "subscription uuid-*"
    # What the run's inventory says was generated: its addresses and moto's zone ids.
    generated = frozenset({"127.64.214.6", "AJZDYW2Q1CL6TME2OZFUT0"})
    assert mask("elastic-ip 127.64.214.6 (AJZDYW2Q1CL6TME2OZFUT0)", generated) == (
        "elastic-ip * (*)"
    )
    assert mask("127.64.214.60 and 10.0.0.0/16", generated) == "127.64.214.60 and 10.0.0.0/16"


def test_two_conformant_runs_of_the_rebuilt_reference_differ_in_nothing(
    tmp_path: Path,
) -> None:
    """Every run rebuilds the reference: new instance, Elastic IP, hosted zone and their ids.
    Compared by meaning, two conformant runs show no change at all."""
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        done = run_suite(f"--evidence={directory}")
        assert done.returncode == 0, done.stdout[-3000:]
    old, new = (json.loads((d / "evidence.json").read_text()) for d in (first, second))
    addresses = [
        show(c["actual"])
        for run in (old, new)
        for r in run["results"]
        if r["id"] == "ec2.instance.elastic_ip"
        for c in r["comparisons"]
    ]
    assert len(set(addresses)) == 2, f"the rebuilt references share an address: {addresses}"
    done = run_module("conformance", "diff", str(first), str(second), "--json", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {k: v for k, v in json.loads(done.stdout).items() if v}
    assert listed == {}, listed


def _changed(evidence: dict[str, Any], path: Path, **changes: Any) -> Path:
    path.write_text(json.dumps({**evidence, **changes}))
    return path


def test_checks_gone_from_new_are_a_regression(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, _ = runs
    clean = json.loads(old.read_text())
    kept = [r for r in clean["results"] if r["id"] != "net.vpc.cidr"]
    assert main([str(old), str(_changed(clean, tmp_path / "one.json", results=kept))]) == 1
    assert "checks gone (in OLD, absent from NEW): 1\n  net.vpc.cidr (passed → absent)" in (
        capsys.readouterr().out
    )
    assert main([str(old), str(_changed(clean, tmp_path / "all.json", results=[]))]) == 1
    assert f"checks gone (in OLD, absent from NEW): {len(clean['results'])}\n" in (
        capsys.readouterr().out
    )


def test_a_check_that_became_error_is_a_regression(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, drifted = runs
    failing = json.loads(drifted.read_text())
    denied = "access denied to ec2:DescribeNatGateways (grant it to the conformance role)"
    errored = [
        {**r, "outcome": "error", "message": denied, "comparisons": []}
        if r["id"] in ("net.nat.absent", "net.vpc.cidr")
        else r
        for r in failing["results"]
    ]
    new = _changed(failing, tmp_path / "errored.json", results=errored)
    assert main([str(drifted), str(new)]) == 1  # failed → error, and passed → error
    out = capsys.readouterr().out
    assert "new errors (could not be verified): 2\n" in out
    assert f"  net.nat.absent (failed → error): {denied}" in out
    assert f"  net.vpc.cidr (passed → error): {denied}" in out
    assert main([str(new), str(new), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["regression"] is False
    assert compare(json.loads(old.read_text()), json.loads(new.read_text())).regression


def test_an_interrupted_new_run_is_a_regression_and_never_conformant(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, _ = runs
    clean = json.loads(old.read_text())
    assert clean["verdict"] == "conformant"
    new = _changed(clean, tmp_path / "interrupted.json", interrupted=True)
    assert main([str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[1].endswith(" · interrupted")
    assert "NEW was interrupted: 0 checks did not run; its evidence is partial" in out
    assert main([str(new), str(old), "--json"]) == 0  # an interrupted OLD is not NEW's fault
    assert json.loads(capsys.readouterr().out)["interrupted"] is False
