"""The allow-list and the least-privilege policy generated from it.

The guard's list is exactly what the suite sends (a new collector call fails here until it is
added), the committed policy is exactly what the list needs, and the policy grants named reads
only and denies secret and content reads. That the policy is sufficient against an IAM-enforcing
endpoint is proven in tests/test_live_account.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import botocore.session
import pytest
from moto import mock_aws

from conformance.actions import FORBIDDEN, PREFIXES, iam_actions
from conformance.aws import CallLog, Clients
from conformance.guard import READ_OPERATIONS, MutationRefused
from conformance.policy import (
    DENY_SID,
    POLICY_PATH,
    ForbiddenAction,
    actions_for,
    allowed,
    compare,
    recorded_operations,
    required_actions,
)
from tests.conftest import run_module

# Deny entries that are IAM actions without a same-named API operation.
IAM_ONLY = {
    "s3:GetObjectVersion": "GetObject with a VersionId",
    "rds-db:connect": "what an RDS IAM auth token is signed for",
}


def _policy_command(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("conformance", "policy", *args)


@pytest.fixture(scope="module")
def recorded() -> CallLog:
    return recorded_operations()


def test_the_allow_list_is_exactly_what_the_suite_sends(recorded: CallLog) -> None:
    sent = {(c.service, c.operation) for c in recorded.calls}
    refused = {(c.service, c.operation) for c in recorded.refused}
    assert not refused, f"collectors call operations not on the allow-list: {sorted(refused)}"
    assert not READ_OPERATIONS - sent, f"on the list, never sent: {sorted(READ_OPERATIONS - sent)}"
    assert sent == READ_OPERATIONS


def test_a_call_not_on_the_list_is_recorded_as_refused() -> None:
    """How a new collector call shows up in the test above: refused, and listed as such."""
    with mock_aws():
        clients = Clients("us-east-1", session=boto3.Session(**_keys()), in_process=True)
        with pytest.raises(MutationRefused):
            clients.client("ec2").describe_volumes()
    assert [(c.service, c.operation) for c in clients.log.refused] == [("ec2", "DescribeVolumes")]
    assert clients.log.calls == []


def test_the_committed_policy_is_generated_from_the_allow_list() -> None:
    staleness = compare(required_actions(), POLICY_PATH.read_text())
    assert not staleness.stale, staleness.describe(POLICY_PATH)
    done = _policy_command("--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_fails_when_the_policy_lacks_an_action_the_list_needs(tmp_path: Path) -> None:
    policy = json.loads(POLICY_PATH.read_text())
    for statement in policy["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "ec2:DescribeVpcs"]
    lacking = tmp_path / "policy.json"
    lacking.write_text(json.dumps(policy, indent=2) + "\n")
    done = _policy_command("--check", f"--policy={lacking}")
    assert done.returncode == 1, done.stdout
    assert f"{lacking} is stale; regenerate it with: python -m conformance policy" in done.stdout
    assert "  missing ec2:DescribeVpcs (needed by: ec2:DescribeVpcs)" in done.stdout


def test_a_policy_granting_more_than_the_list_needs_is_stale() -> None:
    policy = json.loads(POLICY_PATH.read_text())
    policy["Statement"][0]["Action"].append("ec2:DescribeVolumes")
    staleness = compare(required_actions(), json.dumps(policy, indent=2) + "\n")
    assert staleness.unused == {"ec2:DescribeVolumes"}
    assert "  not needed by any operation on the allow-list: ec2:DescribeVolumes" in (
        staleness.describe(POLICY_PATH)
    )


def test_a_policy_with_a_weaker_deny_is_stale() -> None:
    policy = json.loads(POLICY_PATH.read_text())
    deny = next(s for s in policy["Statement"] if s["Sid"] == DENY_SID)
    deny["Action"].remove("lambda:GetFunction")
    assert compare(required_actions(), json.dumps(policy, indent=2) + "\n").stale


def test_the_policy_grants_named_reads_only_and_denies_secret_reads() -> None:
    policy = json.loads(POLICY_PATH.read_text())
    granted = allowed(policy)
    assert granted == set(required_actions())
    for action in granted:
        assert "*" not in action
        assert action not in FORBIDDEN
        # BatchGet: CodeBuild's projects, read in batches only.
        assert action.partition(":")[2].startswith(("Describe", "List", "Get", "BatchGet")), action
    deny = next(s for s in policy["Statement"] if s["Sid"] == DENY_SID)
    assert deny["Effect"] == "Deny"
    assert {
        "secretsmanager:GetSecretValue",
        "s3:GetObject",
        "kms:Decrypt",
        "lambda:GetFunction",
        "ec2:DescribeInstanceAttribute",
        "redshift:GetClusterCredentials",
        "glue:GetConnection",
        "rds-db:connect",
    } <= set(deny["Action"])


def test_every_denied_action_names_a_real_operation() -> None:
    """The old deny list named GetRdsAuthToken, which is no operation at all (it is a presigner);
    every entry now authorizes an operation botocore knows, or is an IAM-only action."""
    session = botocore.session.get_session()
    clients_of = {prefix: {prefix} for prefix in session.get_available_services()}
    for client, prefix in PREFIXES.items():
        clients_of.setdefault(prefix, set()).add(client)
    for action in sorted(FORBIDDEN - IAM_ONLY.keys()):
        prefix = action.partition(":")[0]
        operations = {
            (client, operation)
            for client in clients_of.get(prefix, ())
            for operation in session.get_service_model(client).operation_names
        }
        assert any(action in iam_actions(*op) for op in operations), action


def test_an_operation_needing_a_content_read_is_refused_not_granted() -> None:
    # HeadObject looks harmless, but IAM authorizes it with s3:GetObject.
    with pytest.raises(ForbiddenAction, match="needs s3:GetObject"):
        actions_for([("s3", "ListBuckets"), ("s3", "HeadObject")])


@pytest.mark.parametrize(
    ("service", "operation", "actions"),
    [
        ("ec2", "DescribeVpcs", ("ec2:DescribeVpcs",)),
        ("s3", "ListBuckets", ("s3:ListAllMyBuckets",)),
        ("s3", "GetBucketEncryption", ("s3:GetEncryptionConfiguration",)),
        ("s3", "GetPublicAccessBlock", ("s3:GetBucketPublicAccessBlock",)),
        ("s3", "HeadObject", ("s3:GetObject",)),
        ("elbv2", "DescribeLoadBalancers", ("elasticloadbalancing:DescribeLoadBalancers",)),
        ("opensearch", "DescribeDomain", ("es:DescribeDomain",)),
        ("dynamodbstreams", "GetRecords", ("dynamodb:GetRecords",)),
        ("logs", "ListTagsForResource", ("logs:ListTagsForResource", "logs:ListTagsLogGroup")),
        ("sts", "GetCallerIdentity", ()),
    ],
)
def test_iam_action_names(service: str, operation: str, actions: tuple[str, ...]) -> None:
    assert iam_actions(service, operation) == actions


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
