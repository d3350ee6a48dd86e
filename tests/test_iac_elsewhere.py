"""A Phase 1 configuration written by another team (fixtures/iac/elsewhere: its own names,
variables, modules and default tags; its README lists its deviations) judged by ``--target
iac``: exactly its true deviations from the document fail, nothing else fails or errors, every
skip says why, and the same configuration with the deviations corrected passes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conformance.checks import BEFORE_APPLY, NOT_APPLICABLE
from conformance.iac.hcl import read_configuration
from conformance.iac.plan import plan_snapshot
from conformance.iac.resources import Target
from conformance.iac.target import read_source
from conformance.inputs import load_inputs
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions
from tests.conftest import ROOT, run_suite

ELSEWHERE = ROOT / "fixtures" / "iac" / "elsewhere"
TFVARS = ELSEWHERE / "prod.tfvars"
INPUTS = ELSEWHERE / "inputs.yaml"
# Each true deviation (the fixture's README) and the checks it must fail.
DEVIATIONS = {
    "db.t3.micro, not db.t4g.micro": {"rds.instance_class"},
    "backups kept 3 days, not 7": {"rds.backup_retention"},
    "a queue without its dead-letter queue": {"sqs.queues.present", "sqs.queues.redrive"},
    "SSH open to the world": {
        "sg.ec2_web.ssh",
        "sg.ec2_web.no_extra_ingress",
        "sg.vpc.admin_ports_closed_to_world",
    },
}
# Without --nginx-conf and the like, the host's checks say which option they need.
HOST_OPTION = re.compile(r"--[a-z-]+ not given")


def _judged(directory: Path, *tfvars: Path) -> Outcome:
    source = read_source("iac", None, directory, tfvars, None)
    assert source is not None and source.region == "us-east-1"
    options = TargetOptions("iac", source.region, "production", source=source)
    return execute(options, load_inputs(INPUTS, []))


@pytest.fixture(scope="module")
def judged() -> Outcome:
    return _judged(ELSEWHERE, TFVARS)


def test_exactly_its_true_deviations_fail(judged: Outcome) -> None:
    assert judged.ids("failed") == set().union(*DEVIATIONS.values())
    assert judged.ids("error") == set()
    messages = {r.check.id: r.describe() for r in judged.results if r.outcome == "failed"}
    assert "db.t3.micro" in messages["rds.instance_class"]
    assert "tcp/22-22 from 0.0.0.0/0" in messages["sg.ec2_web.no_extra_ingress"]
    assert "accountabilityatlas-user-video-status-events-dlq" in messages["sqs.queues.present"]


def test_what_it_states_in_its_own_way_passes(judged: Outcome) -> None:
    """Module outputs, for_each over maps, functions, ingress-rule resources and the default
    tags are read as the document's values."""
    assert {
        "net.vpc.cidr",  # module.vpc's cidr_block, from a variable with a default
        "net.subnet.cidr",  # cidrsubnet() of for_each's each.value.netnum, in a module
        "net.subnet.tier",  # an inline route to the module's internet gateway
        "ec2.instance.subnet",  # module.vpc.subnet_ids["public-a"]: a for expression's map
        "sg.ec2_web.ingress",  # aws_vpc_security_group_ingress_rule, for_each over a map
        "sg.rds.ingress",  # a rule in module.postgres naming the root's group, passed in
        "rds.subnets",  # [for key in [...] : module.vpc.subnet_ids[key]]
        "alarm.rds_high_cpu.present",  # module.postgres.identifier, an output
        "alarm.sqs_queue_depth.present",  # for_each over concat() of a for and a resource name
        "alarm.ec2_high_cpu.duration",  # 60 s x 10: the document's "for 10 min"
        "dns.apex.a",  # the zone's configured name; the address of an aws_eip_association
        "tags.environment",  # default_tags from variables only prod.tfvars sets
        "tags.service",  # merge(var.tags, {...}) in the modules
        "tags.project",
        "tags.cost_center",
    } <= judged.ids("passed")


def test_every_skip_says_why(judged: Outcome) -> None:
    reasons = {r.check.id: r.message for r in judged.results if r.outcome == "skipped"}
    unexplained = {
        check: reason
        for check, reason in reasons.items()
        if not reason.startswith((NOT_APPLICABLE, BEFORE_APPLY))
        and not HOST_OPTION.fullmatch(reason)
    }
    assert unexplained == {}
    # A data source's value, and a confirmation only a person gives, name the attribute.
    assert reasons["ci.deploy_role"] == (
        f"{BEFORE_APPLY}aws_iam_role.deployer.assume_role_policy is unknown"
    )
    assert reasons["alarm.notification.email"] == (
        f"{BEFORE_APPLY}aws_sns_topic_subscription.ops_email.pending_confirmation is unknown"
    )
    configuration = read_configuration(ELSEWHERE, (TFVARS,))
    assert configuration.not_read == ()  # every module local, every for_each known
    assert plan_snapshot(configuration, load_inputs(INPUTS, []))["unknown"] == {
        "iam": ["aws_iam_role.deployer.assume_role_policy"],
        "sns": ["aws_sns_topic_subscription.ops_email.pending_confirmation"],
    }


def test_corrected_it_passes(tmp_path: Path) -> None:
    corrected = tmp_path / "infra"
    shutil.copytree(ELSEWHERE, corrected)
    _edit(corrected / "modules" / "postgres" / "variables.tf", "default = 3", "default = 7")
    _edit(
        corrected / "messaging.tf",
        'visibility_timeout_seconds = 60\n  tags                       = { Service = "messaging", '
        'Consumer = "user-service" }',
        "visibility_timeout_seconds = 60\n"
        "  redrive_policy = jsonencode({\n"
        "    deadLetterTargetArn = aws_sqs_queue.user_video_status_dlq.arn\n"
        "    maxReceiveCount     = 4\n  })\n"
        '  tags = { Service = "messaging", Consumer = "user-service" }\n}\n\n'
        'resource "aws_sqs_queue" "user_video_status_dlq" {\n'
        '  name = "${local.prefix}-user-video-status-events-dlq"\n'
        '  tags = { Service = "messaging", Consumer = "user-service" }',
    )
    tfvars = corrected / "prod.tfvars"
    _edit(tfvars, '"0.0.0.0/0"', '"203.0.113.10/32"')
    _edit(tfvars, 'db_instance_class = "db.t3.micro"\n', "")
    outcome = _judged(corrected, tfvars)
    assert outcome.ids("failed") | outcome.ids("error") == set()
    assert set().union(*DEVIATIONS.values()) <= outcome.ids("passed")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def test_the_command_line_exits_1_with_one_summary_line() -> None:
    done = run_suite(
        "-n",
        "0",
        "-q",
        "--target",
        "iac",
        f"--iac-dir={ELSEWHERE}",
        f"--tfvars={TFVARS}",
        f"--inputs={INPUTS}",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert re.search(
        r"^checks: \d+ passed, 7 failed, 0 error, 0 waived, \d+ skipped$", output, re.M
    )
    assert "ops@example.org" not in output  # a sensitive variable's value is never read


def test_expressions_another_team_writes_are_evaluated(tmp_path: Path) -> None:
    """Module for_each, conditionals, for expressions with a condition, lookup(), format() and
    dynamic blocks evaluate; a function not evaluated statically is unknown and keeps what it
    references; a for_each not known statically is named, never silently dropped."""
    (tmp_path / "main.tf").write_text(
        'locals {\n  zones = { a = 1, b = 2 }\n  env = "prod"\n}\n'
        'module "net" {\n  source   = "./net"\n  for_each = local.zones\n'
        "  netnum   = each.value\n"
        '  public   = local.env == "prod" ? each.key == "a" : false\n}\n'
        'resource "aws_db_subnet_group" "main" {\n'
        '  name       = format("%s-%03d", lookup({ x = "db" }, "x", "none"), 7)\n'
        '  subnet_ids = [for key, m in module.net : m.subnet_id if key != "z"]\n'
        '  tags       = { Name = upper(timestamp()), Ref = sha1(module.net["a"].subnet_id) }\n'
        "}\n"
        'resource "aws_security_group" "web" {\n  dynamic "ingress" {\n'
        "    for_each = { http = 80, https = 443 }\n    iterator = port\n"
        "    content {\n      from_port   = port.value\n      description = upper(port.key)\n"
        "    }\n  }\n}\n"
        'resource "aws_sqs_queue" "listed" {\n  for_each = data.aws_sqs_queues.all.queue_urls\n}\n'
    )
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "main.tf").write_text(
        'variable "netnum" {}\nvariable "public" {}\n'
        'resource "aws_subnet" "this" {\n'
        '  cidr_block              = cidrsubnet("10.0.0.0/16", 8, var.netnum)\n'
        "  map_public_ip_on_launch = var.public\n}\n"
        'output "subnet_id" {\n  value = aws_subnet.this.id\n}\n'
    )
    configuration = read_configuration(tmp_path)
    resources = {r.address: r for r in configuration.resources}
    subnets = {a: r.values for a, r in resources.items() if a.startswith("module.net")}
    assert subnets == {
        'module.net["a"].aws_subnet.this': {
            "cidr_block": "10.0.1.0/24",
            "map_public_ip_on_launch": True,
            "tags_all": {},
        },
        'module.net["b"].aws_subnet.this': {
            "cidr_block": "10.0.2.0/24",
            "map_public_ip_on_launch": False,
            "tags_all": {},
        },
    }
    group = resources["aws_db_subnet_group.main"]
    assert group.values["name"] == "db-007"
    assert [t.address for t in group.references["subnet_ids"]] == list(subnets)
    assert group.unknown["tags"] == {"Name": True, "Ref": True}
    assert group.references["tags.Ref"] == (Target('module.net["a"].aws_subnet.this', "id"),)
    assert resources["aws_security_group.web"].values["ingress"] == [
        {"from_port": 80, "description": "HTTP"},
        {"from_port": 443, "description": "HTTPS"},
    ]
    assert configuration.not_read == (
        "aws_sqs_queue.listed: its for_each is not known statically; its instances are not checked",
    )
