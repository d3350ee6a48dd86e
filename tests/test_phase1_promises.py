"""Phase 1's promises read from AWS, on the in-process reference with moto: no IAM user keeps an
active access key (and the suite records no key id, only its last 4 characters), the agent's
metrics count only for the app instance in its alarm's namespace, and the manual AMIs only when
made from the app instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from conformance.aws import Clients
from conformance.checks import Result, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import Inventory
from conformance.spec import load_spec
from fixtures.provision import provision
from fixtures.reference.context import BuildContext

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def reference() -> Iterator[BuildContext]:
    with mock_aws():
        yield provision(1, "us-east-1", None, Inputs())


def _client(service: str) -> Any:
    return boto3.Session(**KEYS).client(service, region_name="us-east-1")


def _clients() -> Clients:
    return Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)


def _run(check_id: str) -> Result:
    """The check on a fresh read of the account, as a run would make it."""
    inputs = Inputs()
    run = Run(load_spec(1), "production", inputs, Inventory(_clients(), inputs), "moto")
    return load_checks()[check_id].run(run)


def test_agent_metrics_count_only_for_the_app_instance_in_the_alarms_namespace(
    reference: BuildContext,
) -> None:
    assert _run("ec2.agent_metrics").outcome == "passed"
    memory = _client("cloudwatch").describe_alarms(
        AlarmNames=[reference.ids["alarm.ec2-high-memory"]]
    )["MetricAlarms"][0]
    # The alarm now watches another namespace, where the agent publishes nothing.
    _client("cloudwatch").put_metric_alarm(
        **{
            k: v
            for k, v in memory.items()
            if k
            in (
                "AlarmName",
                "AlarmActions",
                "MetricName",
                "Statistic",
                "Dimensions",
                "Period",
                "EvaluationPeriods",
                "Threshold",
                "ComparisonOperator",
            )
        },
        Namespace="Custom/Host",
    )
    result = _run("ec2.agent_metrics")
    assert result.outcome == "failed"
    assert [c.expected for c in result.failures] == ["Custom/Host/mem_used_percent"]


def test_only_amis_made_from_the_app_instance_count(reference: BuildContext) -> None:
    ec2 = _client("ec2")
    for number in (1, 2):
        ec2.deregister_image(ImageId=reference.ids[f"ami.{number}"])
    assert _run("ec2.ami_backups").outcome == "failed"  # no AMI to recover from

    other = ec2.run_instances(
        ImageId=ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
    )["Instances"][0]["InstanceId"]
    ec2.create_image(InstanceId=other, Name="another-host-backup")
    assert _run("ec2.ami_backups").outcome == "failed"

    ec2.create_image(InstanceId=reference.ids["instance"], Name="app-backup-again")
    assert _run("ec2.ami_backups").outcome == "passed"
