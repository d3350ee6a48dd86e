"""Phase 2's ECS services, ALB and DNS aliases: the declared values fail when their documented
value changes, the collectors read each API once (and nothing of them in Phase 1), and the ECS
collector never records a secret-looking value."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from conformance.aws import CallLog, Clients
from conformance.checks import Run, load_checks
from conformance.declared import DECLARED
from conformance.inputs import Inputs
from conformance.inventory import Inventory
from conformance.inventory.ec2 import Ec2Inventory
from conformance.inventory.ecs import NOT_RECORDED, EcsInventory
from conformance.inventory.elbv2 import Elbv2Inventory
from conformance.runner import execute
from conformance.spec import load_spec
from conformance.targets import TargetOptions, open_target
from specs.checks.load_balancer import covers
from tests.test_declared import _changed, _replaced, _with_env

CHECKS = load_checks()
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
MINE = sorted(i for i in DECLARED if i.startswith(("ecs.", "alb.")))
SECRET_SOURCE = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-private-key"


@contextmanager
def _phase_2_reference() -> Iterator[Run]:
    """The conformant Phase-2 reference, collected on demand while the mock is open."""
    options = TargetOptions("moto", "us-east-1", "production")
    spec, inputs = load_spec(2), Inputs()
    with open_target(options, spec, inputs, CallLog()) as clients:
        yield Run(spec, "production", inputs, Inventory(clients, inputs), options.describe())


@pytest.fixture(scope="module")
def reference() -> Run:
    """The Phase-2 reference's inventory, every section collected before its mock closes (so
    that other tests of the module can open their own)."""
    with _phase_2_reference() as run:
        for section in (EcsInventory, Elbv2Inventory, Ec2Inventory):
            run.inventory.get(section)
        return run


def test_the_ecs_and_alb_values_are_declared() -> None:
    assert MINE == [
        "alb.scheme",
        "alb.type",
        "ecs.service.desired_count",
        "ecs.service.health_check",
        "ecs.task.cpu",
        "ecs.task.memory",
        "ecs.task.port",
    ]


@pytest.mark.parametrize("check_id", MINE)
def test_a_declared_phase_2_check_fails_when_its_documented_value_changes(
    reference: Run, check_id: str
) -> None:
    check = CHECKS[check_id]
    assert check.run(reference).outcome == "passed"
    env = _replaced(reference.env, DECLARED[check_id].field.split("."), _changed)
    drifted = check.run(_with_env(reference, env))
    assert drifted.outcome == "failed", drifted.describe()


def test_an_alias_is_compared_without_case_root_dot_or_dualstack_prefix() -> None:
    with _phase_2_reference() as run:
        _alias_api_to_dualstack_upper_case()
        result = CHECKS["dns.alb.alias"].run(run)
    assert result.outcome == "passed", result.describe()


def _alias_api_to_dualstack_upper_case() -> None:
    route53 = boto3.Session(**KEYS).client("route53", region_name="us-east-1")
    zone = route53.list_hosted_zones()["HostedZones"][0]["Id"]
    alb = boto3.Session(**KEYS).client("elbv2", region_name="us-east-1")
    lb = alb.describe_load_balancers()["LoadBalancers"][0]
    target = {
        "DNSName": f"DualStack.{lb['DNSName'].upper()}.",
        "HostedZoneId": lb["CanonicalHostedZoneId"],
        "EvaluateTargetHealth": True,
    }
    record = {"Name": "api.accountabilityatlas.com", "Type": "A", "AliasTarget": target}
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
    )


@pytest.mark.parametrize(
    ("certificate_name", "name", "covered"),
    [
        ("example.com", "example.com", True),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("api.example.com", "example.com", False),
    ],
)
def test_a_wildcard_covers_one_label(certificate_name: str, name: str, covered: bool) -> None:
    assert covers(certificate_name, name) is covered


def test_phase_1_reads_no_ecs_acm_listener_or_target_group() -> None:
    outcome = execute(TargetOptions("moto", "us-east-1", "production"), phase=1)
    actions = {c.action for c in outcome.calls.calls}
    assert not {a for a in actions if a.startswith(("ecs:", "acm:"))}
    assert {a for a in actions if a.startswith("elasticloadbalancing:")} == {
        "elasticloadbalancing:DescribeLoadBalancers"
    }


def test_phase_2_reads_each_ecs_elbv2_and_acm_api_once_per_resource() -> None:
    outcome = execute(TargetOptions("moto", "us-east-1", "production"), phase=2)
    sent = Counter(c.action for c in outcome.calls.calls if c.service in ("ecs", "elbv2", "acm"))
    assert outcome.calls.repeated() == []
    assert sent["ecs:DescribeTaskDefinition"] == 8  # one per service's task definition
    assert sent["acm:DescribeCertificate"] == sent["acm:ListTagsForCertificate"] == 1
    assert {a: n for a, n in sent.items() if n > 1} == {"ecs:DescribeTaskDefinition": 8}


@pytest.fixture
def crowded_cluster() -> Iterator[Clients]:
    """A cluster of 12 services sharing a task definition with secret-looking values."""
    with mock_aws():
        ecs = boto3.Session(**KEYS).client("ecs", region_name="us-east-1")
        ecs.create_cluster(clusterName="accountabilityatlas-cluster")
        log = {"logDriver": "splunk", "options": {"splunk-token": "t0ken", "splunk-url": "u"}}
        container = {
            "name": "app",
            "image": "app:1",
            "memory": 512,
            "environment": [
                {"name": "SPRING_PROFILES_ACTIVE", "value": "prod"},
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "STRIPE_API_KEY", "value": "sk_live_x"},
                {"name": "DATABASE_URL", "value": "postgresql://atlas:s3cr3t-pw@db:5432/atlas"},
            ],
            "secrets": [{"name": "JWT_PRIVATE_KEY", "valueFrom": SECRET_SOURCE}],
            "logConfiguration": log,
        }
        task = ecs.register_task_definition(family="app", containerDefinitions=[container])
        for number in range(12):
            ecs.create_service(
                cluster="accountabilityatlas-cluster",
                serviceName=f"service-{number:02d}",
                taskDefinition=task["taskDefinition"]["taskDefinitionArn"],
                desiredCount=1,
            )
        yield Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)


def test_services_are_described_ten_at_a_time_and_each_task_definition_once(
    crowded_cluster: Clients,
) -> None:
    section = EcsInventory.collect(crowded_cluster, Inputs())
    assert len(section.services) == 12
    sent = Counter(c.action for c in crowded_cluster.log.calls)
    assert sent["ecs:DescribeServices"] == 2
    assert sent["ecs:DescribeTaskDefinition"] == 1


def test_secret_looking_values_and_secret_sources_are_never_recorded(
    crowded_cluster: Clients,
) -> None:
    section = EcsInventory.collect(crowded_cluster, Inputs())
    (container,) = section.task_definitions[0].containers
    assert container.environment == {
        "SPRING_PROFILES_ACTIVE": "prod",
        "DB_PASSWORD": NOT_RECORDED,
        "STRIPE_API_KEY": NOT_RECORDED,
        "DATABASE_URL": "postgresql://atlas:***@db:5432/atlas",
    }
    assert container.secrets == ["JWT_PRIVATE_KEY"]
    assert container.log_options == {"splunk-token": NOT_RECORDED, "splunk-url": "u"}
    dumped = json.dumps(section.model_dump(mode="json"))
    assert not any(
        s in dumped for s in ("hunter2", "sk_live_x", "t0ken", "s3cr3t-pw", SECRET_SOURCE)
    )
