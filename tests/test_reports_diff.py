"""Drift between two runs: new failures, fixed checks, changed values, resources in and out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reports.diff import compare, main, mask
from tests.conftest import ROOT, run_suite


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
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "diff", str(old.parent), str(new)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "new failures: 1\n  net.nat.absent (passed → failed): " in done.stdout
    assert "fixed: 0" in done.stdout
    assert "\n  ec2.nat_gateways: (nat-" in done.stdout.split("resources appeared:")[1]
    assert main([str(new), str(old), "--json"]) == 0


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
