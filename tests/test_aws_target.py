"""``--target aws --endpoint-url``: the live-account path, pointed at a moto server.

The environment is built by another process (the provisioner command), as a deployment would
be; the suite only reads it. Changing one documented value there fails the matching check.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

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
    assert "refusing to provision into https://ec2.us-east-1.amazonaws.com" in done.stderr
    assert "Traceback" not in done.stderr


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
