"""The OpenTofu configuration read statically (python-hcl2) as the inventory: the Phase 1
reference configuration gives what its plan gives, passes the same checks, an edit of it fails
exactly its checks, and a configuration that cannot be read is one usage error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import UsageError
from conformance.iac.hcl import read_configuration
from conformance.iac.plan import plan_snapshot, read_plan
from conformance.inputs import Inputs
from conformance.inventory import SavedSnapshot
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions
from tests.test_iac_plan import COVERED, NOT_IN_A_PLAN, PHASE_1_PLAN, ROOT

CONFIGURATION = ROOT / "fixtures" / "iac" / "phase-1"
# The deploy role's trust names the account through a data source, read only by a plan.
NOT_STATIC = {"ci.deploy_role"}


def _snapshot(directory: Path, tfvars: tuple[Path, ...] = ()) -> dict[str, Any]:
    return plan_snapshot(read_configuration(directory, tfvars), Inputs())


def _checked(directory: Path, tfvars: tuple[Path, ...] = ()) -> Outcome:
    saved = SavedSnapshot.of(
        _snapshot(directory, tfvars), origin="configuration", location=str(directory)
    )
    return execute(TargetOptions("inventory", saved.region, "production", saved=saved))


@pytest.fixture(scope="module")
def reference() -> Outcome:
    return _checked(CONFIGURATION)


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    directory = tmp_path / "infra"
    shutil.copytree(CONFIGURATION, directory)
    return directory


def test_the_configuration_gives_what_its_plan_gives() -> None:
    static = _snapshot(CONFIGURATION)
    planned = plan_snapshot(read_plan(PHASE_1_PLAN), Inputs())
    assert static["region"] == planned["region"] == "us-east-1"
    assert {k: v for k, v in static["sections"].items() if k != "iam"} == {
        k: v for k, v in planned["sections"].items() if k != "iam"
    }
    role = static["sections"]["iam"]["roles"][0]
    assert role["trust"] == {}  # jsonencode() over data.aws_caller_identity: a plan's to know
    assert static["unknown"]["iam"] == ["aws_iam_role.deploy.assume_role_policy"]
    assert static["unknown"]["rds"] == ["aws_db_instance.main.engine_version"]


def test_the_configuration_passes_the_checks_of_what_it_states(reference: Outcome) -> None:
    assert (COVERED - NOT_STATIC) - reference.ids("passed") == set()
    assert reference.ids("failed") == NOT_IN_A_PLAN | NOT_STATIC
    assert reference.ids("error") == set()


def test_a_smaller_class_and_a_port_open_to_the_world_fail_exactly_their_checks(
    reference: Outcome, copied: Path
) -> None:
    database = copied / "database.tf"
    database.write_text(database.read_text().replace('"db.t4g.micro"', '"db.t3.micro"'))
    with (copied / "security_groups.tf").open("a") as rules:
        rules.write(
            '\nresource "aws_security_group_rule" "web_8080" {\n'
            '  type              = "ingress"\n'
            "  security_group_id = aws_security_group.web.id\n"
            '  protocol          = "tcp"\n'
            "  from_port         = 8080\n"
            "  to_port           = 8080\n"
            '  cidr_blocks       = ["0.0.0.0/0"]\n'
            "}\n"
        )
    drifted = _checked(copied)
    changed = {"rds.instance_class", "sg.ec2_web.no_extra_ingress"}
    assert drifted.ids("failed") - reference.ids("failed") == changed
    assert reference.ids("passed") - drifted.ids("passed") == changed


def test_tfvars_files_win_over_defaults_and_sensitive_values_are_never_read(
    reference: Outcome, copied: Path, tmp_path: Path
) -> None:
    tfvars = tmp_path / "prod.tfvars"
    tfvars.write_text(
        'admin_cidr  = "0.0.0.0/0"\n'
        'db_password = "tfvars-secret-password"\n'
        'alarm_email = "tfvars-oncall@example.org"\n'
    )
    assert "tfvars-" not in json.dumps(_snapshot(copied, (tfvars,)))
    opened = _checked(copied, (tfvars,))
    assert opened.ids("failed") - reference.ids("failed") == {
        "sg.ec2_web.ssh",
        "sg.ec2_web.no_extra_ingress",
        "sg.vpc.admin_ports_closed_to_world",
    }


def test_terraform_tfvars_is_read_without_being_named(copied: Path) -> None:
    (copied / "terraform.tfvars").write_text('project = "atlas"\n')
    names = _snapshot(copied)["sections"]["sqs"]["names"]
    assert "atlas-video-events" in names and "atlas-video-events-dlq" in names


def test_count_locals_and_a_for_expression_over_instances_resolve(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'provider "aws" {\n  region = "eu-west-1"\n}\n'
        'locals {\n  name = "db"\n  subnet_ids = [for s in aws_subnet.data : s.id]\n}\n'
        'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n'
        'resource "aws_subnet" "data" {\n  count      = 2\n  vpc_id     = aws_vpc.main.id\n'
        '  cidr_block = "10.0.${count.index}.0/24"\n}\n'
        'resource "aws_db_subnet_group" "main" {\n  name       = local.name\n'
        "  subnet_ids = local.subnet_ids\n}\n"
    )
    snapshot = _snapshot(tmp_path)
    assert snapshot["region"] == "eu-west-1"
    subnets = snapshot["sections"]["ec2"]["subnets"]
    assert [s["cidr"] for s in subnets] == ["10.0.0.0/24", "10.0.1.0/24"]
    assert snapshot["sections"]["rds"]["subnet_groups"] == [
        {
            "name": "db",
            "vpc_id": "vpc-<aws_vpc.main>",
            "subnet_ids": ["subnet-<aws_subnet.data[0]>", "subnet-<aws_subnet.data[1]>"],
        }
    ]
    assert "aws_subnet.data[0].availability_zone" in snapshot["unknown"]["ec2"]


def test_a_registry_module_is_named_as_not_read(copied: Path) -> None:
    with (copied / "network.tf").open("a") as network:
        network.write('\nmodule "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n')
    assert _snapshot(copied)["not_read"] == [
        "module.vpc (terraform-aws-modules/vpc/aws): only local modules are read statically; "
        "its resources are not checked"
    ]
    assert _snapshot(CONFIGURATION)["not_read"] == []


def test_a_cycle_of_locals_is_one_usage_error(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        "locals {\n  a = local.b\n  b = local.a\n}\n"
        'resource "aws_vpc" "main" {\n  cidr_block = local.a\n}\n'
    )
    with pytest.raises(UsageError, match="refer to each other in a cycle"):
        read_configuration(tmp_path)


def test_an_hcl_syntax_error_is_one_usage_error_naming_file_and_line(copied: Path) -> None:
    broken = copied / "compute.tf"
    broken.write_text(broken.read_text().replace('= "t3.xlarge"', '= = "t3.xlarge"'))
    with pytest.raises(UsageError) as raised:
        read_configuration(copied)
    text = str(raised.value)
    assert text.startswith(f"{broken}:4: HCL syntax error: Unexpected token")
    assert "\n" not in text


def test_a_missing_or_empty_directory_is_one_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nowhere: no such configuration directory"):
        read_configuration(tmp_path / "nowhere")
    with pytest.raises(UsageError, match=r": no \.tf files$"):
        read_configuration(tmp_path)
