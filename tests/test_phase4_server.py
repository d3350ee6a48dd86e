"""Phase 4 on a moto server, read as a deployment (``--target aws --endpoint-url``): the
environment is built by the provisioner command in its own process, then changed with boto3 as
an operator would, and each change fails exactly its check, naming its resource.

moto implements no UpdateDeploymentGroup, so the canary changed to all-at-once is built that way
by the provisioner (its ``deploy-canary-all-at-once`` drift); everything else on the server is
the conformant reference, which the first run shows: only ``deploy.group.config`` fails. Then a
bucket's cross-region replication rule is deleted and api-gateway's maximum raised to 20 tasks."""

from __future__ import annotations

import boto3

from conformance.inputs import Inputs
from conformance.inventory.autoscaling import DESIRED_COUNT, ECS_NAMESPACE, ecs_resource_id
from tests.conftest import provisioned_moto_server, run_suite

FAKE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _failed(stdout: str) -> list[str]:
    return sorted(
        line.split("::")[1].split(" ")[0]
        for line in stdout.splitlines()
        if line.startswith("FAILED")
    )


def test_a_canary_made_all_at_once_a_deleted_replication_rule_and_20_tasks_each_fail() -> None:
    inputs = Inputs()
    with provisioned_moto_server(phase=4, drift="deploy-canary-all-at-once") as url:
        read = ("--phase=4", "--target=aws", f"--endpoint-url={url}")
        canary = run_suite(*read, env=FAKE)
        assert canary.returncode == 1, canary.stdout[-4000:]
        assert _failed(canary.stdout) == ["deploy.group.config"], canary.stdout[-4000:]
        assert "CodeDeployDefault.ECSAllAtOnce" in canary.stdout

        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **_keys())
        s3.delete_bucket_replication(Bucket=inputs.name("bucket.backups"))
        boto3.client(
            "application-autoscaling", endpoint_url=url, region_name="us-east-1", **_keys()
        ).register_scalable_target(
            ServiceNamespace=ECS_NAMESPACE,
            ResourceId=ecs_resource_id(
                inputs.name("ecs-cluster"), inputs.name("ecs-service.api-gateway")
            ),
            ScalableDimension=DESIRED_COUNT,
            MaxCapacity=20,
        )
        changed = run_suite(*read, env=FAKE)
    assert changed.returncode == 1, changed.stdout[-4000:]
    assert _failed(changed.stdout) == [
        "deploy.group.config",
        "dr.bucket_replication",
        "scaling.target.max_capacity",
    ], changed.stdout[-4000:]
    assert "no replication configuration" in changed.stdout
    assert "scalable target service/accountabilityatlas-cluster/api-gateway" in changed.stdout


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
