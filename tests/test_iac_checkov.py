"""``--checkov`` with the real checkov (``scripts/setup.d/checkov.sh`` installs it in
``.venv/checkov``): its findings are a baseline part beside the checks, never their outcomes;
the document's decisions are listed as such with their sections (and suppressed in the SARIF);
a missing checkov is exit 6, a broken one exit 4, each one line.

A checkov that is not installed fails these tests rather than skipping them: the bootstrap
installs it, so its absence is a broken set-up."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import UsageError
from conformance.iac.checkov import SARIF_FILE, load_skips, locate
from conformance.spec import PHASES, load_spec
from tests.conftest import ROOT, run_module, run_suite
from tests.test_iac_target import PHASE_1_DIR, PHASE_1_PLAN, SECRETS

# checkov's rules that the Phase 1 document decides against, and the section that says so.
PHASE_1_DECISIONS = {
    "CKV_AWS_157": "Phase 1 — Current Deployment (Launch) > Database Configuration",
    "CKV_AWS_353": "Phase 1 — Current Deployment (Launch) > Database Configuration",
    "CKV_AWS_260": "Phase 1 — Current Deployment (Launch) > Security Groups",
    "CKV_AWS_130": "Phase 1 — Current Deployment (Launch) > Networking > Simplified VPC (Phase 1)",
}


def _run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str, dict[str, Any]]:
    """(exit code, stdout, stderr, evidence) of the suite run with ``args``."""
    evidence = tmp_path / "evidence"
    done = run_suite("-n", "0", "-q", f"--evidence={evidence}", *args, env=env)
    data = json.loads((evidence / "evidence.json").read_text())
    return done.returncode, done.stdout, done.stderr, data


def _outcomes(evidence: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["label"], r["outcome"], r["message"]) for r in evidence["results"]]


@pytest.mark.parametrize(
    "target",
    [
        ("--target", "iac", f"--iac-dir={PHASE_1_DIR}"),
        ("--target", "plan", f"--plan={PHASE_1_PLAN}"),
    ],
    ids=["iac", "plan"],
)
def test_the_baseline_is_a_part_of_its_own_beside_unchanged_outcomes(
    tmp_path: Path, target: tuple[str, ...]
) -> None:
    locate()  # the real checkov: installed by the bootstrap, never skipped
    code, out, _, plain = _run(tmp_path / "plain", *target)
    assert code == 0, out
    code, out, err, scanned = _run(tmp_path / "checkov", *target, "--checkov")
    assert code == 0, out + err
    assert _outcomes(scanned) == _outcomes(plain)
    assert scanned["verdict"] == plain["verdict"] == "conformant"
    assert "baseline" not in plain

    part = scanned["baseline"]
    assert part["tool"] == "checkov" and part["version"].startswith("3.")
    assert part["command"][1:5] == (
        ["-d", str(PHASE_1_DIR), "--framework", "terraform"]
        if target[1] == "iac"
        else ["-f", str(PHASE_1_PLAN), "--framework", "terraform_plan"]
    )
    assert "--skip-download" in part["command"]
    counts = part["counts"]
    assert counts["passed"] > 50 and counts["failed"] == len(part["failed"]) > 0
    assert counts["documented decisions"] == len(part["documented_decisions"])
    failed_ids = {f["check"] for f in part["failed"]}
    assert failed_ids.isdisjoint(PHASE_1_DECISIONS)
    assert "CKV_AWS_79" in failed_ids  # IMDSv1: the document says nothing, so it is a finding
    decided = {d["check"]: d["section"] for d in part["documented_decisions"]}
    assert PHASE_1_DECISIONS.items() <= decided.items()
    database = next(d for d in part["documented_decisions"] if d["check"] == "CKV_AWS_157")
    assert database["resource"] == "aws_db_instance.main"
    assert database["file"].endswith(".tf" if target[1] == "iac" else ".plan.json")
    assert database["line"] > 0
    for finding in part["failed"] + part["documented_decisions"]:
        assert {"check", "name", "resource", "file", "line", "guideline"} <= finding.keys()
        assert "code_block" not in finding

    # The terminal: one block of its own after the conformance summary.
    baseline_block = out[out.index("baseline hardening (checkov)") :]
    assert f"{counts['failed']} failed" in baseline_block
    assert "CKV_AWS_157: documented decision, " + PHASE_1_DECISIONS["CKV_AWS_157"] in out
    assert out.index("verdict: conformant") < out.index("baseline hardening (checkov)")

    # SARIF 2.1.0 beside the evidence; the documented decisions carry a suppression.
    sarif = json.loads((tmp_path / "checkov" / "evidence" / SARIF_FILE).read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == counts["failed"] + counts["documented decisions"]
    suppressed = {r["ruleId"]: r["suppressions"][0] for r in results if r.get("suppressions")}
    assert set(suppressed) == set(decided)
    assert suppressed["CKV_AWS_260"]["status"] == "accepted"
    assert PHASE_1_DECISIONS["CKV_AWS_260"] in suppressed["CKV_AWS_260"]["justification"]
    assert all(
        "snippet" not in location["physicalLocation"].get("region", {})
        for r in results
        for location in r["locations"]
    )

    # The reports: a section of its own, said not to be part of the verdict.
    for report, shown in (("conformance.md", str), ("conformance.html", html.escape)):
        text = (tmp_path / "checkov" / "evidence" / report).read_text()
        assert shown("Baseline hardening: checkov (not part of the verdict)") in text
        assert shown(PHASE_1_DECISIONS["CKV_AWS_130"]) in text
    summary = run_module("conformance", "summary", str(tmp_path / "checkov" / "evidence"))
    assert "Baseline hardening: checkov" in summary.stdout
    assert "documented decision `CKV_AWS_157`" in summary.stdout

    if target[1] == "plan":  # checkov quotes the plan's values; none reaches an output
        written = [p.read_text() for p in (tmp_path / "checkov" / "evidence").iterdir()]
        for secret in SECRETS:
            assert all(secret not in text for text in [out, err, *written])


def test_a_missing_checkov_is_exit_6_saying_how_to_install_it(tmp_path: Path) -> None:
    done = run_suite(
        "-n", "0", "--target", "plan", f"--plan={PHASE_1_PLAN}", "--checkov",
        env={"CONFORMANCE_CHECKOV": str(tmp_path / "no-such-checkov")},
    )  # fmt: skip
    assert done.returncode == 6, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stdout + done.stderr
    assert "scripts/setup.d/checkov.sh" in done.stderr
    assert str(tmp_path / "no-such-checkov") in done.stderr


def test_a_checkov_that_crashes_is_exit_4_naming_what_it_scanned(tmp_path: Path) -> None:
    broken = tmp_path / "checkov"
    broken.write_text("#!/bin/sh\necho 'checkov: internal error' >&2\nexit 2\n")
    broken.chmod(0o755)
    code, out, err, evidence = _run(
        tmp_path, "--target", "plan", f"--plan={PHASE_1_PLAN}", "--checkov",
        env={"CONFORMANCE_CHECKOV": str(broken)},
    )  # fmt: skip
    assert code == 4, out + err
    assert err.count("\n") == 1 and "Traceback" not in out + err
    assert f"checkov exited with status 2 on {PHASE_1_PLAN}: checkov: internal error" in err
    assert evidence["baseline"]["error"] in err
    assert {r["outcome"] for r in evidence["results"]} <= {"passed", "skipped"}
    assert not (tmp_path / "evidence" / SARIF_FILE).exists()


def test_checkov_needs_a_target_it_can_scan() -> None:
    done = run_suite("-n", "0", "--target", "moto", "--checkov")
    assert done.returncode == 4
    assert done.stderr == "ERROR: --checkov applies to --target iac or --target plan only\n"


def test_each_documented_decision_holds_in_the_phases_it_names() -> None:
    """The skip list against the specs: Multi-AZ and Performance Insights are skipped exactly
    in the phases whose production database has them off; port 80 and public IPs in Phase 1,
    whose spec opens port 80 to the world for sg-ec2-web."""
    skips = load_skips()
    for phase in PHASES:
        database = load_spec(phase).environment("production").database
        assert database is not None
        decided = skips.for_phase(phase)
        assert ("CKV_AWS_157" in decided) == (not database.multi_az.value), phase
        assert ("CKV_AWS_353" in decided) == (not database.performance_insights.value), phase
    groups = load_spec(1).environment("production").security_groups
    assert groups is not None
    web = groups.groups["ec2-web"]
    assert any(r.port.value == 80 and r.source.value == "0.0.0.0/0" for r in web.ingress)
    assert {"CKV_AWS_260", "CKV_AWS_130", "CKV_AWS_382"} <= skips.for_phase(1).keys()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{check: CKV_AWS_157, phases: [5], section: S, reason: R}", "no phase 5 in the document"),
        ("{check: multi-az, phases: [1], section: S, reason: R}", "check: String should match"),
        ("{check: CKV_AWS_157, phases: [1], section: S}", "reason: Field required"),
        ("{check: CKV_AWS_157, phases: [1], section: ' ', reason: R}", "section: String should"),
    ],
)
def test_a_bad_skip_entry_is_one_line_naming_the_file(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = tmp_path / "checkov-skips.yaml"
    path.write_text(f"skips:\n  - {entry}\n")
    with pytest.raises(UsageError) as raised:
        load_skips(path)
    assert str(raised.value).startswith(f"{path}:2: invalid checkov skip list: ")
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_check_listed_twice_for_a_phase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkov-skips.yaml"
    entry = "{check: CKV_AWS_157, phases: [1, 2], section: S, reason: R}"
    path.write_text(f"skips:\n  - {entry}\n  - {entry.replace('1, 2', '2')}\n")
    with pytest.raises(UsageError, match="CKV_AWS_157 is listed twice for phase 2"):
        load_skips(path)


def test_the_shipped_skip_list_is_valid() -> None:
    assert load_skips(ROOT / "specs" / "checkov-skips.yaml").skips
