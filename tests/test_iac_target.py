"""``--target plan`` and ``--target iac`` as a user runs them: the Phase 1 plan and configuration
pass (what they cannot know skipped "not verifiable before apply"), a drifted plan fails exactly
its checks, a planned loss of data fails the run on its own, real Terraform plans run without a
crash, bad input is one line and exit 4, and no sensitive value reaches any output."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.checks import BEFORE_APPLY
from conformance.iac.plan import parse_plan
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions
from tests.conftest import ROOT, run_module, run_suite

PHASE_1_PLAN = ROOT / "fixtures" / "iac" / "plans" / "phase-1.plan.json"
PHASE_1_DIR = ROOT / "fixtures" / "iac" / "phase-1"
SHARED_PLANS = ROOT.parent / "shared" / "iac-samples"
# The plan's sensitive values (the database password, the alarm email), in clear text in it.
SECRETS = ("fixture-db-password-7f3a9c", "oncall-fixture@example.org")
# What no configuration holds: the host's AMIs, the confirmation of an email subscription.
NOT_IN_A_PLAN = {"ec2.ami_backups", "alarm.notification.email"}


def _plan() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PHASE_1_PLAN.read_text())
    return data


def _changed(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in plan["resource_changes"] if c["address"] == address)
    return found


def _written(plan: dict[str, Any], directory: Path) -> Path:
    path = directory / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def _run(directory: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    """Run the suite on a target; (exit code, stdout + stderr, evidence)."""
    evidence = directory / "evidence"
    done = run_suite("-n", "0", "-q", "-rs", f"--evidence={evidence}", *args)
    data = json.loads((evidence / "evidence.json").read_text())
    return done.returncode, done.stdout + done.stderr, data


def _outcomes(evidence: dict[str, Any], outcome: str) -> set[str]:
    return {r["id"] for r in evidence["results"] if r["outcome"] == outcome}


def test_the_phase_1_plan_passes_and_what_it_cannot_know_is_skipped(tmp_path: Path) -> None:
    code, output, evidence = _run(tmp_path, "--target", "plan", f"--plan={PHASE_1_PLAN}")
    assert code == 0, output
    assert _outcomes(evidence, "failed") | _outcomes(evidence, "error") == set()
    assert evidence["target"] == f"plan {PHASE_1_PLAN} (us-east-1)"
    reasons = {r["id"]: r["message"] for r in evidence["results"]}
    assert all(reasons[c].startswith(BEFORE_APPLY) for c in NOT_IN_A_PLAN)
    assert reasons["alarm.notification.email"] == (
        f"{BEFORE_APPLY}aws_sns_topic_subscription.email.pending_confirmation is unknown"
    )
    assert evidence["plan"] == {
        "kind": "plan",
        "location": str(PHASE_1_PLAN),
        "stateful_changes": [],
        "unknown": {
            "rds": ["aws_db_instance.main.engine_version"],
            "sns": ["aws_sns_topic_subscription.email.pending_confirmation"],
        },
        "not_read": [],
    }
    assert "PLANNED LOSS OF DATA" not in output
    assert "unknown before apply: 2 values" in output


@pytest.mark.parametrize("kind", ["plan", "iac"])
def test_no_sensitive_value_reaches_any_output(kind: str, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    if kind == "plan":
        target = ["--target", "plan", f"--plan={PHASE_1_PLAN}"]
        assert all(s in PHASE_1_PLAN.read_text() for s in SECRETS)  # the plan holds them
    else:  # the configuration's sensitive variables, given in a tfvars file
        tfvars = tmp_path / "secret.tfvars"
        tfvars.write_text(f'db_password = "{SECRETS[0]}"\nalarm_email = "{SECRETS[1]}"\n')
        target = ["--target", "iac", f"--iac-dir={PHASE_1_DIR}", f"--tfvars={tfvars}"]
    code, output, _ = _run(tmp_path, *target, f"--junitxml={junit}", "-v")
    assert code == 0, output
    written = [junit, *(tmp_path / "evidence").iterdir()]
    assert len(written) == 4  # junit, evidence.json, conformance.md, conformance.html
    texts = [output, *(p.read_text() for p in written)]
    assert not [s for s in SECRETS for text in texts if s in text]


def test_a_smaller_class_and_a_port_open_to_the_world_fail_exactly_their_checks(
    tmp_path: Path,
) -> None:
    plan = _plan()
    _changed(plan, "aws_db_instance.main")["change"]["after"]["instance_class"] = "db.t3.micro"
    world_8080 = copy.deepcopy(_changed(plan, "aws_security_group_rule.web_ssh"))
    world_8080.update(address="aws_security_group_rule.web_8080", name="web_8080")
    world_8080["change"]["after"].update(
        {"from_port": 8080, "to_port": 8080, "cidr_blocks": ["0.0.0.0/0"], "description": None}
    )
    plan["resource_changes"].append(world_8080)
    resources = plan["configuration"]["root_module"]["resources"]
    ssh = next(r for r in resources if r["address"] == "aws_security_group_rule.web_ssh")
    resources.append({**ssh, "address": "aws_security_group_rule.web_8080", "name": "web_8080"})
    code, output, evidence = _run(
        tmp_path, "--target", "plan", f"--plan={_written(plan, tmp_path)}"
    )
    assert code == 1, output
    assert _outcomes(evidence, "failed") == {"rds.instance_class", "sg.ec2_web.no_extra_ingress"}
    assert _outcomes(evidence, "error") == set()
    assert "tcp/8080-8080 from 0.0.0.0/0" in output


@pytest.mark.parametrize(
    ("address", "actions", "verb"),
    [
        ("aws_db_instance.main", ["delete", "create"], "replaced (deleted, then created)"),
        ("aws_db_instance.main", ["delete"], "deleted"),
    ],
)
def test_a_planned_loss_of_the_database_fails_the_run_on_its_own(
    address: str, actions: list[str], verb: str, tmp_path: Path
) -> None:
    plan = _plan()
    _changed(plan, address)["change"]["actions"] = actions
    code, output, evidence = _run(
        tmp_path, "--target", "plan", f"--plan={_written(plan, tmp_path)}"
    )
    finding = f"{address} is planned to be {verb}"
    assert code == 1, output
    assert "PLANNED LOSS OF DATA: 1" in output and finding in output
    assert evidence["verdict"] == "not conformant"
    assert [c["address"] for c in evidence["plan"]["stateful_changes"]] == [address]
    assert finding in (tmp_path / "evidence" / "conformance.md").read_text()
    assert finding in (tmp_path / "evidence" / "conformance.html").read_text()
    summary = run_module("conformance", "summary", "--check", str(tmp_path / "evidence"))
    assert summary.returncode == 1 and finding in summary.stdout
    if actions == ["delete", "create"]:  # the replaced database is still checked, and passes
        assert _outcomes(evidence, "failed") | _outcomes(evidence, "error") == set()


def test_the_phase_1_configuration_passes(tmp_path: Path) -> None:
    code, output, evidence = _run(tmp_path, "--target", "iac", f"--iac-dir={PHASE_1_DIR}")
    assert code == 0, output
    assert evidence["target"] == f"iac {PHASE_1_DIR} (us-east-1)"
    assert _outcomes(evidence, "failed") | _outcomes(evidence, "error") == set()
    assert evidence["plan"]["kind"] == "iac" and evidence["plan"]["stateful_changes"] == []


@pytest.mark.parametrize(
    "name",
    [
        "tf-0.12.23-mixed-aws.plan.json",
        "tf-1.2.4-nested-modules.plan.json",
        "tf-1.5.7-github-oidc-roles.plan.json",
    ],
)
def test_real_terraform_plans_run_without_a_crash(name: str, tmp_path: Path) -> None:
    code, output, evidence = _run(tmp_path, "--target", "plan", f"--plan={SHARED_PLANS / name}")
    assert code in (0, 1), output
    assert "Traceback" not in output
    assert _outcomes(evidence, "error") == set()
    assert all(r["message"] for r in evidence["results"] if r["outcome"] == "skipped")


def _bad_inputs(directory: Path) -> list[tuple[list[str], str]]:
    """(arguments, the start of the one line they must give)."""
    (directory / "text.json").write_text("not json")
    (directory / "binary.plan").write_bytes(b"PK\x03\x04tfplan")
    broken = directory / "broken"
    broken.mkdir()
    (broken / "main.tf").write_text('resource "aws_vpc" "main" {\n  cidr_block = \n')
    return [
        (["--target", "plan", f"--plan={directory / 'text.json'}"], f"{directory}/text.json:1:"),
        (["--target", "plan", f"--plan={directory / 'binary.plan'}"], f"{directory}/binary.plan:"),
        (["--target", "iac", f"--iac-dir={broken}"], f"{broken}/main.tf:2: HCL syntax error"),
        (["--target", "iac", f"--iac-dir={directory / 'none'}"], f"{directory}/none: no such"),
        (["--target", "plan"], "--target plan needs --plan=FILE"),
        ([f"--plan={PHASE_1_PLAN}"], "--plan applies to --target plan only"),
    ]


def test_bad_input_is_one_line_and_exit_4(tmp_path: Path) -> None:
    for args, line in _bad_inputs(tmp_path):
        done = run_suite("-n", "0", *args)
        assert done.returncode == 4, (args, done.stderr)
        errors = [e for e in done.stderr.splitlines() if e.strip()]
        assert errors == [errors[0]] and errors[0].startswith(f"ERROR: {line}"), errors
        assert "Traceback" not in done.stdout + done.stderr


def _in_process(plan: dict[str, Any]) -> Outcome:
    source = parse_plan(plan, "a test plan")
    return execute(TargetOptions("plan", "us-east-1", "production", source=source))


def test_a_value_unknown_until_apply_skips_exactly_the_checks_that_read_it() -> None:
    plan = _plan()
    change = _changed(plan, "aws_db_instance.main")["change"]
    change["after"].pop("instance_class")
    change["after_unknown"]["instance_class"] = True
    rule = _changed(plan, "aws_security_group_rule.web_ssh")["change"]
    rule["after"].pop("cidr_blocks")
    rule["after_unknown"]["cidr_blocks"] = True
    outcome = _in_process(plan)
    skipped = {r.check.id: r.message for r in outcome.results if r.outcome == "skipped"}
    assert skipped["rds.instance_class"] == (
        f"{BEFORE_APPLY}aws_db_instance.main.instance_class is unknown"
    )
    reason = f"{BEFORE_APPLY}aws_security_group_rule.web_ssh.cidr_blocks is unknown"
    assert skipped["sg.ec2_web.ssh"] == reason and skipped["sg.ec2_web.ingress"] == reason
    assert outcome.ids("failed") == set() and outcome.ids("error") == set()
    assert {"rds.engine", "rds.multi_az", "sg.rds.ingress"} <= outcome.ids("passed")
    # The evidence keeps the section as the reader made it.
    database = outcome.snapshot["sections"]["rds"]["instances"][0]
    assert database["instance_class"] == "<aws_db_instance.main.instance_class>"
