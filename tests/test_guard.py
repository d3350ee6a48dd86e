"""The read-only guard: a non-read never leaves the process, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from conformance.aws import Clients
from conformance.guard import MutationRefused, refusal


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_a_mutation_is_refused_before_it_is_sent_and_nothing_changes(aws: None) -> None:
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t")
    clients = Clients("us-east-1", session=session)
    ec2 = clients.client("ec2")
    before = ec2.describe_vpcs()["Vpcs"]
    with pytest.raises(MutationRefused, match="ec2:CreateVpc is not a read operation"):
        ec2.create_vpc(CidrBlock="10.9.0.0/16")
    assert ec2.describe_vpcs()["Vpcs"] == before
    assert [c.operation for c in clients.log.calls] == ["DescribeVpcs", "DescribeVpcs"]


def test_secret_values_are_never_read(aws: None) -> None:
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t")
    writer = session.client("secretsmanager", region_name="us-east-1")
    writer.create_secret(Name="accountabilityatlas/db-password", SecretString="s3cr3t-value")
    reader = Clients("us-east-1", session=session).client("secretsmanager")
    assert [s["Name"] for s in reader.list_secrets()["SecretList"]] == [
        "accountabilityatlas/db-password"
    ]
    with pytest.raises(MutationRefused, match="GetSecretValue reads secret material"):
        reader.get_secret_value(SecretId="accountabilityatlas/db-password")


@pytest.mark.parametrize(
    ("service", "operation", "params", "refused"),
    [
        ("ec2", "DescribeInstances", {}, False),
        ("s3", "ListBuckets", {}, False),
        ("s3", "GetBucketVersioning", {}, False),
        ("s3", "GetObject", {}, True),
        ("s3", "PutBucketVersioning", {}, True),
        ("ssm", "GetParameter", {"WithDecryption": False}, False),
        ("ssm", "GetParameter", {"WithDecryption": True}, True),
        ("ecr", "GetAuthorizationToken", {}, True),
        ("iam", "CreateAccessKey", {}, True),
        ("sqs", "PurgeQueue", {}, True),
        ("sts", "GetCallerIdentity", {}, False),
    ],
)
def test_allow_list(service: str, operation: str, params: dict[str, object], refused: bool) -> None:
    assert (refusal(service, operation, params) is not None) is refused
