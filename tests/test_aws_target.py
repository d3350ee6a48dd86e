"""``--target aws --endpoint-url``: the live-account path, pointed at a moto server.

The environment is built by another process (the provisioner command), as a deployment would
be; the suite only reads it. Changing one documented value there fails the matching check. The
credential preflight survives throttling and rejects garbage with one message; and
``--target moto --endpoint-url`` runs can share one server, one after another or at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import boto3
import pytest

from conformance.targets import PREFLIGHT_ATTEMPTS
from fixtures.proxy import Fault, FaultProxy, fault_proxy
from tests.conftest import ROOT, provisioned_moto_server, run_suite

FAKE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    with provisioned_moto_server() as url:
        yield url


def test_conformant_environment_passes(moto_server: str) -> None:
    done = run_suite("--target=aws", f"--endpoint-url={moto_server}", env=FAKE)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "target aws at http://127.0.0.1" in done.stdout


POSTGRES_FROM_WORLD = [
    {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
]


def test_changing_one_value_fails_the_matching_check(moto_server: str) -> None:
    ec2 = boto3.client("ec2", endpoint_url=moto_server, region_name="us-east-1", **_keys())
    group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["accountabilityatlas-rds"]}]
    )["SecurityGroups"][0]["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=POSTGRES_FROM_WORLD,
    )
    try:
        done = run_suite("--target=aws", f"--endpoint-url={moto_server}", env=FAKE)
        assert done.returncode == 1
        failed = sorted(
            line.split("::")[1].split(" ")[0]
            for line in done.stdout.splitlines()
            if line.startswith("FAILED")
        )
        assert failed == ["sg.rds.no_extra_ingress", "sg.vpc.admin_ports_closed_to_world"]
    finally:
        ec2.revoke_security_group_ingress(
            GroupId=group,
            IpPermissions=POSTGRES_FROM_WORLD,
        )


@pytest.fixture(scope="module")
def phase_2_server() -> Iterator[str]:
    with provisioned_moto_server(phase=2) as url:
        yield url


def _failed(stdout: str) -> list[str]:
    return sorted(
        line.split("::")[1].split(" ")[0]
        for line in stdout.splitlines()
        if line.startswith("FAILED")
    )


def test_phase_2_conformant_environment_passes(phase_2_server: str) -> None:
    done = run_suite("--phase=2", "--target=aws", f"--endpoint-url={phase_2_server}", env=FAKE)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "phase 2" in done.stdout


def test_phase_2_changing_one_value_fails_its_check(phase_2_server: str) -> None:
    rds = boto3.client("rds", endpoint_url=phase_2_server, region_name="us-east-1", **_keys())
    identifier = "accountabilityatlas-db"
    rds.modify_db_instance(
        DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.large", ApplyImmediately=True
    )
    try:
        done = run_suite("--phase=2", "--target=aws", f"--endpoint-url={phase_2_server}", env=FAKE)
        assert done.returncode == 1, done.stdout[-4000:]
        assert _failed(done.stdout) == ["rds.instance_class"]
        assert "Phase 2 — Growth > Database Configuration" in done.stdout
    finally:
        rds.modify_db_instance(
            DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.medium", ApplyImmediately=True
        )


@pytest.fixture(scope="module")
def phase_3_server() -> Iterator[str]:
    with provisioned_moto_server(phase=3, environment="all") as url:
        yield url


def test_phase_3_staging_and_production_pass_on_a_moto_server(phase_3_server: str) -> None:
    done = run_suite(
        "--phase=3",
        "--environment=all",
        "--target=aws",
        f"--endpoint-url={phase_3_server}",
        env=FAKE,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "phase 3 (Scale) · production + staging" in done.stdout


def test_phase_3_one_staging_value_fails_staging_s_check_only(phase_3_server: str) -> None:
    rds = boto3.client("rds", endpoint_url=phase_3_server, region_name="us-east-1", **_keys())
    identifier = "accountabilityatlas-staging-db"
    rds.modify_db_instance(
        DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.large", ApplyImmediately=True
    )
    try:
        done = run_suite(
            "--phase=3",
            "--environment=all",
            "--target=aws",
            f"--endpoint-url={phase_3_server}",
            env=FAKE,
        )
        assert done.returncode == 1, done.stdout[-4000:]
        assert _failed(done.stdout) == ["rds.instance_class[staging]"]
    finally:
        rds.modify_db_instance(
            DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.medium", ApplyImmediately=True
        )


def test_provisioner_refuses_a_non_local_endpoint() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixtures.provision",
            "--endpoint-url",
            "https://ec2.us-east-1.amazonaws.com",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4
    assert (
        "refusing to provision into https://ec2.us-east-1.amazonaws.com: "
        "ec2.us-east-1.amazonaws.com is not a loopback address" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_moto_server_runs_can_share_a_server_at_once_and_after_each_other(
    moto_server: str,
) -> None:
    """Each run builds its reference into an account of its own (the old code built them all
    into the server's default account: the second run failed with DBInstanceAlreadyExists)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--target=moto",
        f"--endpoint-url={moto_server}",
    ]
    concurrent = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **FAKE},
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in concurrent]
    codes = [run.returncode for run in concurrent]
    third = run_suite("--target=moto", f"--endpoint-url={moto_server}", env=FAKE)
    outputs.append(third.stdout)
    codes.append(third.returncode)
    assert codes == [0, 0, 0], "\n".join(o[-3000:] for o in outputs)
    accounts = set()
    for output in outputs:
        assert "verdict: conformant" in output
        target = next(line for line in output.splitlines() if line.startswith("target moto at"))
        accounts.add(target.split(" account ")[1].split(" ")[0])
    assert len(accounts) == 3
    assert "123456789012" not in accounts  # the deployment in the default account is untouched


@pytest.fixture(scope="module")
def proxied(moto_server: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_server) as proxy:
        yield proxy


def test_a_throttled_preflight_says_throttled_not_rejected(proxied: FaultProxy) -> None:
    proxied.use(Fault("sts", "throttle"))
    done = run_suite("--target=aws", f"--endpoint-url={proxied.url}", env=FAKE)
    assert done.returncode == 6, done.stdout[-3000:]
    assert (
        f"conformance: {proxied.url} throttled sts:GetCallerIdentity {PREFLIGHT_ATTEMPTS} times "
        "in a row (Throttling: Rate exceeded); try again later" in done.stderr
    )
    assert "rejected" not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert proxied.requests["sts"] == PREFLIGHT_ATTEMPTS


def test_a_preflight_throttled_for_a_while_is_asked_again_and_the_run_goes_on(
    proxied: FaultProxy,
) -> None:
    proxied.use(Fault("sts", "throttle"))
    stop = threading.Event()

    def lift_after_two_throttled_answers() -> None:
        while not stop.is_set():
            if proxied.faulted["sts"] >= 2:
                proxied.use(None)
                return
            time.sleep(0.02)

    lifter = threading.Thread(target=lift_after_two_throttled_answers, daemon=True)
    lifter.start()
    try:
        done = run_suite("--target=aws", f"--endpoint-url={proxied.url}", env=FAKE)
    finally:
        stop.set()
        lifter.join()
    assert done.returncode == 0, done.stdout[-3000:]
    assert "verdict: conformant" in done.stdout


def test_a_malformed_sts_answer_is_one_clear_target_error(proxied: FaultProxy) -> None:
    proxied.use(Fault("sts", "malformed"))
    done = run_suite("--target=aws", f"--endpoint-url={proxied.url}", env=FAKE)
    assert done.returncode == 6, done.stdout[-3000:]
    assert (
        f"conformance: {proxied.url} answered sts:GetCallerIdentity with something that is not "
        "an STS response" in done.stderr
    )
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
