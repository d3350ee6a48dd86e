"""The pytest interface as a user meets it: a green run, a drift, and clear usage errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conformance.checks import load_checks
from tests.conftest import run_module, run_suite


def test_plain_pytest_runs_the_phase_1_suite_green(tmp_path: Path) -> None:
    done = run_suite(f"--evidence={tmp_path}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "failed" not in done.stdout.splitlines()[-1]
    assert "target moto (us-east-1) · phase 1 (Launch) · production" in done.stdout
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert evidence["summary"].get("failed", 0) == 0
    assert evidence["api_calls"]["repeated"] == []
    assert evidence["api_calls"]["count"] == len(evidence["api_calls"]["calls"]) > 0


def test_a_drift_fails_its_check_with_expected_actual_and_section() -> None:
    done = run_suite("--drift", "sg-web-extra-port")
    assert done.returncode == 1
    assert "FAILED specs/checks/security_groups.py::sg.ec2_web.no_extra_ingress" in done.stdout
    assert "expected: none" in done.stdout
    assert "actual:   [tcp/8080-8080 from 0.0.0.0/0]" in done.stdout
    assert "document: Phase 1 — Current Deployment (Launch) > Security Groups" in done.stdout
    assert " 1 failed" in done.stdout.splitlines()[-1]


def test_document_contradictions_are_reported_not_hidden() -> None:
    done = run_suite("-k", "net.vpc")
    assert "document contradictions" in done.stdout
    assert "PITR disabled with automated backups retained" in done.stdout
    assert "rows add up to 8,064 MB" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--drift", "no-such-drift"], "unknown drift id 'no-such-drift'"),
        (["--phase", "7"], "unknown phase 7: the document has phases 1, 2, 3 and 4"),
        (["--environment", "staging"], "documents no 'staging' environment"),
        (["--input", "admin_cidr=300.1.1.1/32"], "admin_cidr: Input is not a valid IPv4 network"),
        (["--input", "nonsense"], "--input 'nonsense': expected KEY=VALUE"),
        (["--target", "aws", "--drift", "vpc-cidr"], "--drift applies to the embedded moto"),
        (["--endpoint-url", "ftp://x"], "expected http(s)://host[:port]"),
    ],
)
def test_bad_options_give_one_clear_error_without_traceback(args: list[str], message: str) -> None:
    done = run_suite(*args)
    assert done.returncode in (2, 4), done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_bad_inputs_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "inputs.yaml"
    bad.write_text("project: demo\nqueues: [a, b\n")
    done = run_suite(f"--inputs={bad}")
    assert done.returncode == 4
    assert f"{bad}:3: not valid YAML" in done.stderr
    assert "Traceback" not in done.stderr


def test_only_the_sections_the_selected_checks_need_are_collected(tmp_path: Path) -> None:
    done = run_suite("-k", "net.vpc", f"--evidence={tmp_path}")
    assert done.returncode == 0, done.stdout
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert {c["service"] for c in evidence["api_calls"]["calls"]} == {"ec2"}
    assert set(evidence["inventory"]["sections"]) == {"ec2"}
    assert all(r["id"].startswith("net.vpc") for r in evidence["results"])


def test_the_embedded_reference_includes_the_host_files_and_their_drifts() -> None:
    done = run_suite("--drift", "nginx-api-burst", "-rA")
    assert done.returncode == 1
    assert "FAILED specs/checks/host_nginx.py::nginx.locations" in done.stdout
    assert "actual:   [zone=general burst=40 nodelay]" in done.stdout
    assert "PASSED specs/checks/host_compose.py::compose.limits" in done.stdout


def test_a_drift_of_a_running_service_is_refused_on_the_embedded_target() -> None:
    done = run_suite("--drift", "redis-maxmemory")
    assert done.returncode == 4
    assert "the embedded target runs no servers" in done.stderr


def _summary(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("conformance", "summary", *args, timeout=60)


def _checks_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("checks: "))


def test_summary_counts_and_judges_as_the_run_did(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n  - {check: sg.ec2_web.no_extra_ingress, reason: load test, owner: ops, "
        "expires: 2999-12-31}\n"
    )
    done = run_suite(
        "-k",
        "net. or sg.",
        "--drift",
        "sg-web-extra-port",
        f"--waivers={waivers}",
        f"--evidence={tmp_path}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = _checks_line(done.stdout)
    assert " 1 waived, " in line and "verdict: conformant" in done.stdout
    summary = _summary("--check", str(tmp_path / "evidence.json"))
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith("## Conformance: conformant\n")
    assert f"· {line}\n" in summary.stdout
    assert "- `sg.ec2_web.no_extra_ingress`: WAIVED until 2999-12-31 (UTC) by ops" in summary.stdout


def test_an_unusable_target_still_records_every_check(tmp_path: Path) -> None:
    done = run_suite(
        "--target", "aws", "--endpoint-url", "http://127.0.0.1:1", f"--evidence={tmp_path}"
    )
    assert done.returncode == 6, done.stdout + done.stderr
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert len(evidence["results"]) == len(load_checks())
    assert {r["outcome"] for r in evidence["results"]} == {"error"}
    assert {r["message"].split(":")[0] for r in evidence["results"]} == {"not run"}
    assert evidence["verdict"] == "not conformant" and evidence["interrupted"] is False
    summary = _summary("--check", str(tmp_path))
    assert summary.returncode == 1
    assert summary.stdout.startswith("## Conformance: not conformant\n")
    assert _summary(str(tmp_path)).returncode == 0  # without --check it only reports


def test_summary_of_a_file_that_is_no_evidence_is_one_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "evidence.json"
    bad.write_text('{"results": [{"id": "net.vpc.cidr"}]}')
    done = _summary(str(bad))
    assert done.returncode == 4
    assert done.stderr == (
        f"conformance: {bad}: not an evidence file: result 1 lacks an id, an outcome or "
        "comparisons with a subject and ok\n"
    )
