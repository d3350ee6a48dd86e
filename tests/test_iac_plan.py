"""A plan's JSON (``tofu show -json``) read as the inventory: the hand-built plan of the Phase 1
reference configuration (fixtures/iac) passes the checks of what a plan states, an edited value
fails exactly its checks, real Terraform plans load, and bad input is one usage error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import UsageError
from conformance.iac.plan import parse_plan, plan_snapshot, read_plan
from conformance.iac.sections import BUILDERS
from conformance.inputs import Inputs
from conformance.inventory import SavedSnapshot
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions

ROOT = Path(__file__).resolve().parent.parent
PHASE_1_PLAN = ROOT / "fixtures" / "iac" / "plans" / "phase-1.plan.json"
SHARED_PLANS = ROOT.parent / "shared" / "iac-samples"
# The plan's sensitive values: the database password and the alarm topic's email address.
SECRETS = ("fixture-db-password-7f3a9c", "oncall-fixture@example.org")

# What the Phase 1 plan states, and passes: the network, security groups, host, database,
# queues, buckets, DNS, ECR, secrets, log group, state backend, OIDC, alarms and tags.
COVERED = {
    *(f"net.{c}" for c in ("region", "vpc.cidr", "nat.absent")),
    *(f"net.subnet.{c}" for c in ("cidr", "az", "tier", "public_ip", "no_extra")),
    *(f"sg.{role}.{c}" for role in ("ec2_web", "rds") for c in ("ingress", "no_extra_ingress")),
    "sg.ec2_web.ssh",
    "sg.ec2_web.egress",
    "sg.vpc.admin_ports_closed_to_world",
    "sg.rule_descriptions",
    *(f"ec2.instance.{c}" for c in ("type", "subnet", "security_groups", "elastic_ip")),
    *(f"rds.{c}" for c in ("engine", "instance_class", "storage.size", "storage.type")),
    *(f"rds.{c}" for c in ("multi_az", "backup_retention", "performance_insights")),
    *(f"rds.{c}" for c in ("publicly_accessible", "read_replicas", "subnets", "security_groups")),
    "sqs.queues.present",
    "sqs.queues.redrive",
    "s3.buckets.present",
    "dns.apex.a",
    "dns.www.cname",
    "ecr.repositories.present",
    "secrets.present",
    "logs.group.present",
    *(f"iac.state_bucket.{c}" for c in ("versioned", "encrypted", "public_access_blocked")),
    "iac.lock_table",
    "ci.oidc_provider",
    "ci.deploy_role",
    *(
        f"alarm.{alarm}.{part}"
        for alarm in ("ec2_high_cpu", "ec2_high_memory", "ec2_low_disk", "ec2_status_check")
        for part in ("present", "threshold", "action")
    ),
    *(f"alarm.{a}.{p}" for a in ("rds_high_cpu", "sqs_queue_depth") for p in ("present", "action")),
    *(f"alarm.{a}.duration" for a in ("ec2_high_cpu", "ec2_high_memory", "rds_high_cpu")),
    *(f"tags.{tag}" for tag in ("environment", "service", "project", "cost_center")),
}
# What no plan can show: manual AMIs are made on the host, never by the configuration, and an
# email subscription is confirmed by a person after apply (the snapshot lists it as unknown).
# The plan target must skip both.
NOT_IN_A_PLAN = {"ec2.ami_backups", "alarm.notification.email"}


def _plan() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PHASE_1_PLAN.read_text())
    return data


def _snapshot(plan: dict[str, Any], inputs: Inputs | None = None) -> dict[str, Any]:
    return plan_snapshot(parse_plan(plan, "a test plan"), inputs or Inputs())


def _checked(plan: dict[str, Any]) -> Outcome:
    saved = SavedSnapshot.of(_snapshot(plan), origin="plan", location="a test plan")
    return execute(TargetOptions("inventory", saved.region, "production", saved=saved))


@pytest.fixture(scope="module")
def reference() -> Outcome:
    return _checked(_plan())


def _changed(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in plan["resource_changes"] if c["address"] == address)
    return found


def test_the_phase_1_plan_passes_every_check_of_what_it_states(reference: Outcome) -> None:
    assert COVERED - reference.ids("passed") == set()
    assert reference.ids("failed") == NOT_IN_A_PLAN
    assert reference.ids("error") == set()
    assert (
        "aws_sns_topic_subscription.email.pending_confirmation"
        in _snapshot(_plan())["unknown"]["sns"]
    )


def test_a_smaller_class_and_a_port_open_to_the_world_fail_exactly_their_checks(
    reference: Outcome,
) -> None:
    plan = _plan()
    _changed(plan, "aws_db_instance.main")["change"]["after"]["instance_class"] = "db.t3.micro"
    world_8080 = copy.deepcopy(_changed(plan, "aws_security_group_rule.web_ssh"))
    world_8080.update(address="aws_security_group_rule.web_8080", name="web_8080")
    world_8080["change"]["after"].update(
        {"from_port": 8080, "to_port": 8080, "cidr_blocks": ["0.0.0.0/0"], "description": None}
    )
    plan["resource_changes"].append(world_8080)
    configured = next(
        r
        for r in plan["configuration"]["root_module"]["resources"]
        if r["address"] == "aws_security_group_rule.web_ssh"
    )
    plan["configuration"]["root_module"]["resources"].append(
        {**configured, "address": "aws_security_group_rule.web_8080", "name": "web_8080"}
    )
    drifted = _checked(plan)
    assert drifted.ids("failed") - reference.ids("failed") == {
        "rds.instance_class",
        "sg.ec2_web.no_extra_ingress",
    }
    assert reference.ids("passed") - drifted.ids("passed") == {
        "rds.instance_class",
        "sg.ec2_web.no_extra_ingress",
    }


def test_relationships_unknown_before_apply_come_from_the_configuration() -> None:
    sections = _snapshot(_plan())["sections"]
    vpc = sections["ec2"]["vpcs"][0]
    assert vpc["id"] == "vpc-<module.network.aws_vpc.this>"
    assert {s["vpc_id"] for s in sections["ec2"]["subnets"]} == {vpc["id"]}
    web, rds = sections["ec2"]["security_groups"]
    assert {(r["from_port"], r["source"]) for r in web["ingress"]} == {
        (80, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
        (22, "203.0.113.10/32"),  # a separate aws_security_group_rule
    }
    assert rds["ingress"] == [  # an aws_vpc_security_group_ingress_rule naming sg-ec2-web
        {
            "protocol": "tcp",
            "from_port": 5432,
            "to_port": 5432,
            "source": f"sg:{web['id']}",
            "description": "PostgreSQL from EC2 only",
        }
    ]
    queue = sections["sqs"]["queues"]["accountabilityatlas-video-events"]
    assert queue["dead_letter_target"] == (
        "arn:aws:sqs:us-east-1:<account>:accountabilityatlas-video-events-dlq"
    )
    apex = next(r for r in sections["route53"]["records"] if r["type"] == "A")
    assert apex["values"] == [sections["ec2"]["addresses"][0]["public_ip"]]
    assert apex["values"] == ["<aws_eip.app.public_ip>"]


def test_tags_include_the_providers_default_tags() -> None:
    database = _snapshot(_plan())["sections"]["rds"]["instances"][0]
    assert database["tags"] == {
        "Environment": "prod",
        "Project": "accountabilityatlas",
        "CostCenter": "engineering",
        "Service": "database",
    }


def test_a_value_unknown_until_apply_is_listed_and_never_looks_real() -> None:
    snapshot = _snapshot(_plan())
    assert snapshot["unknown"] == {
        "rds": ["aws_db_instance.main.engine_version"],
        "sns": ["aws_sns_topic_subscription.email.pending_confirmation"],
    }
    database = snapshot["sections"]["rds"]["instances"][0]
    assert database["engine_version"] == "<aws_db_instance.main.engine_version>"


def test_an_unknown_flag_the_model_allows_to_be_none_is_none_and_its_check_skipped() -> None:
    plan = _plan()
    change = _changed(plan, "aws_db_instance.main")["change"]
    del change["after"]["performance_insights_enabled"]
    change["after_unknown"]["performance_insights_enabled"] = True
    snapshot = _snapshot(plan)
    assert "aws_db_instance.main.performance_insights_enabled" in snapshot["unknown"]["rds"]
    assert snapshot["sections"]["rds"]["instances"][0]["performance_insights"] is None
    outcome = {r.check.id: r.outcome for r in _checked(plan).results}
    assert outcome["rds.performance_insights"] == "skipped"


def test_sensitive_values_never_reach_the_snapshot() -> None:
    plan = _plan()
    # Marked sensitive where it is read: masked like the password the section never reads.
    change = _changed(plan, "aws_db_instance.main")["change"]
    change["after_sensitive"]["instance_class"] = True
    text = json.dumps(_snapshot(plan))
    assert all(secret not in text for secret in SECRETS)
    assert "db.t4g.micro" not in text
    assert SECRETS[0] in json.dumps(plan)  # the plan itself holds them in clear text


def test_values_marked_in_planned_values_sensitive_values_are_masked_too() -> None:
    plan = _plan()
    for resource in plan["planned_values"]["root_module"]["resources"]:
        if resource["address"] == "aws_db_instance.main":
            resource["sensitive_values"]["instance_class"] = True
    assert "db.t4g.micro" not in json.dumps(_snapshot(plan))


@pytest.mark.parametrize(
    ("address", "actions", "verb"),
    [
        ("aws_db_instance.main", ["delete", "create"], "replaced (deleted, then created)"),
        ("aws_s3_bucket.backups", ["create", "delete"], "replaced (deleted, then created)"),
        ("aws_dynamodb_table.locks", ["delete"], "deleted"),
    ],
)
def test_a_planned_delete_or_replacement_of_stateful_data_is_a_finding(
    address: str, actions: list[str], verb: str
) -> None:
    plan = _plan()
    _changed(plan, address)["change"]["actions"] = actions
    snapshot = _snapshot(plan)
    assert snapshot["stateful_changes"] == [
        {
            "address": address,
            "type": address.split(".")[0],
            "actions": actions,
            "message": f"{address} is planned to be {verb}: the data it holds is lost unless "
            "restored from a backup",
        }
    ]
    assert _snapshot(_plan())["stateful_changes"] == []


@pytest.mark.parametrize(
    ("name", "region", "sections"),
    [
        ("tf-0.12.23-mixed-aws.plan.json", "us-west-2", {"ec2", "ecr", "iam", "rds", "s3"}),
        ("tf-1.2.4-nested-modules.plan.json", "us-west-2", {"s3"}),
        ("tf-1.5.7-github-oidc-roles.plan.json", "eu-central-1", {"iam"}),
    ],
)
def test_real_terraform_plans_load_and_their_checks_fail_or_skip(
    name: str, region: str, sections: set[str]
) -> None:
    plan = read_plan(SHARED_PLANS / name)
    snapshot = plan_snapshot(plan, Inputs())
    assert snapshot["region"] == region
    # Every service the reader reads is a section, empty where the plan declares none of it.
    assert set(snapshot["sections"]) == {section.service for section, _ in BUILDERS}
    holding = {
        service
        for service, section in snapshot["sections"].items()
        if any(isinstance(v, list | dict) and v for v in section.values())
    }
    assert holding == sections
    saved = SavedSnapshot.of(snapshot, origin="plan", location=name)
    outcome = execute(TargetOptions("inventory", region, "production", saved=saved))
    assert outcome.ids("passed") == set() and outcome.ids("error") == set()


def test_an_old_plan_relates_rules_and_reads_modules() -> None:
    old = plan_snapshot(read_plan(SHARED_PLANS / "tf-0.12.23-mixed-aws.plan.json"), Inputs())
    assert old["sections"]["rds"]["instances"][0]["instance_class"] == "db.t3.micro"
    assert old["unknown"] == {"rds": ["aws_db_instance.default.storage_type"]}
    nested = plan_snapshot(read_plan(SHARED_PLANS / "tf-1.2.4-nested-modules.plan.json"), Inputs())
    assert sorted(nested["sections"]["s3"]["names"]) == ["my-s3-bucket", "testing"]
    assert (
        "module.s3_module.module.s3_submodule.aws_s3_bucket.submodule_bucket.tags_all"
        in nested["unknown"]["s3"]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format_version": "1.2",\n  "planned_values": {', ":2: not JSON: Expecting"),
        (b"PK\x03\x04tfplan", ": a binary plan file, not its JSON"),
        (b"\xff\xfe\x00garbage", ": not a plan's JSON (not UTF-8 text)"),
        (b'{"results": {"failed_checks": []}}', ": not a plan's JSON (JSON without format"),
        (b'{"format_version": "1.0", "values": {}}', ": not a plan's JSON (a state's JSON"),
        (b"[1, 2]", ": not a plan's JSON (a JSON list, not an object)"),
        (b'{"format_version": "1.2", "resource_changes": [{}]}', ": a malformed plan (KeyError"),
    ],
)
def test_a_file_that_is_not_a_plan_is_one_usage_error(
    content: bytes, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as raised:
        read_plan(path)
    text = str(raised.value)
    assert text.startswith(f"{path}{message}")
    assert "\n" not in text


def test_a_section_whose_resources_have_an_impossible_shape_is_that_sections_failure() -> None:
    plan = _plan()
    _changed(plan, "aws_security_group.web")["change"]["after"]["ingress"] = "not blocks"
    snapshot = _snapshot(plan)
    assert "ec2" not in snapshot["sections"] and "rds" in snapshot["sections"]
    assert snapshot["failures"]["ec2"] == {
        "service": "ec2",
        "kind": "error",
        "message": "reading the ec2 resources failed: AttributeError: 'str' object has no "
        "attribute 'get'",
        "permission": None,
    }
    outcome = {r.check.id: r.outcome for r in _checked(plan).results}
    assert outcome["net.vpc.cidr"] == "error" and outcome["rds.instance_class"] == "passed"


def test_a_missing_plan_file_is_one_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"plan\.json: cannot read the plan: No such file"):
        read_plan(tmp_path / "plan.json")


def test_a_region_other_than_the_plans_is_refused() -> None:
    with pytest.raises(
        UsageError, match="--region eu-west-1: the plan a test plan is of us-east-1"
    ):
        plan_snapshot(parse_plan(_plan(), "a test plan"), Inputs(), "eu-west-1")
