"""The least-privilege policy: generated from the collectors' calls, kept current, never broad.

That the policy is sufficient against an IAM-enforcing endpoint is proven in
tests/test_live_account.py; here: it is current, a gap is caught, and it grants reads only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.actions import FORBIDDEN, iam_actions
from conformance.aws import ApiCall
from conformance.guard import refusal
from conformance.policy import (
    DENY_SID,
    POLICY_PATH,
    ForbiddenAction,
    actions_for,
    allowed,
    compare,
    required_actions,
)
from tests.conftest import ROOT


def _policy_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", "policy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def needed() -> dict[str, set[str]]:
    return required_actions()


def test_the_committed_policy_is_what_the_collectors_need(needed: dict[str, set[str]]) -> None:
    staleness = compare(needed, POLICY_PATH.read_text())
    assert not staleness.stale, staleness.describe(POLICY_PATH)


def test_check_fails_when_a_collector_calls_an_api_the_policy_lacks(tmp_path: Path) -> None:
    policy = json.loads(POLICY_PATH.read_text())
    for statement in policy["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "ec2:DescribeVpcs"]
    lacking = tmp_path / "policy.json"
    lacking.write_text(json.dumps(policy, indent=2) + "\n")
    done = _policy_command("--check", f"--policy={lacking}")
    assert done.returncode == 1, done.stdout
    assert f"{lacking} is stale; regenerate it with: python -m conformance policy" in done.stdout
    assert "  missing ec2:DescribeVpcs (called: ec2:DescribeVpcs)" in done.stdout


def test_a_policy_granting_more_than_the_collectors_use_is_stale(
    needed: dict[str, set[str]],
) -> None:
    policy = json.loads(POLICY_PATH.read_text())
    policy["Statement"][0]["Action"].append("ec2:DescribeVolumes")
    staleness = compare(needed, json.dumps(policy, indent=2) + "\n")
    assert staleness.unused == {"ec2:DescribeVolumes"}
    assert "  not needed by any collector: ec2:DescribeVolumes" in staleness.describe(POLICY_PATH)


def test_the_policy_grants_named_reads_only_and_denies_secret_reads() -> None:
    policy = json.loads(POLICY_PATH.read_text())
    granted = allowed(policy)
    assert granted, "the policy grants nothing"
    for action in granted:
        operation = action.partition(":")[2]
        assert "*" not in action
        assert action not in FORBIDDEN
        assert operation.startswith(("Describe", "List", "Get")), action
    deny = next(s for s in policy["Statement"] if s["Sid"] == DENY_SID)
    assert deny["Effect"] == "Deny"
    assert {"secretsmanager:GetSecretValue", "s3:GetObject", "kms:Decrypt"} <= set(deny["Action"])


def test_a_collector_needing_a_content_read_is_refused_not_granted() -> None:
    # HeadObject looks harmless, but IAM authorizes it with s3:GetObject.
    calls = [
        ApiCall("s3", "ListBuckets", "global", "a"),
        ApiCall("s3", "HeadObject", "global", "b"),
    ]
    with pytest.raises(ForbiddenAction, match="a collector needs s3:GetObject"):
        actions_for(calls)


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
        ("logs", "ListTagsForResource", ("logs:ListTagsForResource", "logs:ListTagsLogGroup")),
        ("sts", "GetCallerIdentity", ()),
    ],
)
def test_iam_action_names(service: str, operation: str, actions: tuple[str, ...]) -> None:
    assert iam_actions(service, operation) == actions


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("ec2", "GetConsoleOutput", {}),
        ("dynamodb", "GetItem", {}),
        ("logs", "GetLogEvents", {}),
        ("kinesis", "GetRecords", {}),
        ("ssm", "GetParameterHistory", {"WithDecryption": True}),
    ],
)
def test_data_reads_are_refused_like_secret_reads(
    service: str, operation: str, params: dict[str, object]
) -> None:
    assert refusal(service, operation, params) is not None
