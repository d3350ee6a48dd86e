"""Unrelated resources for an account the suite reads: what another team keeps beside the project.

A live account is rarely the project's alone. One unit of noise is a few queues, buckets,
security groups (in a VPC of their own), alarms, instances, log groups, topics and repositories
whose names and tags match nothing the project documents (no ``Project`` tag, no project
prefix). The benchmark adds 1, 10 and 100 units to a moto server holding the reference: the
suite must read its own resources with the same calls however many others there are, and its
checks must pass as before. Writes to a loopback endpoint only.
"""

from __future__ import annotations

from typing import Any

import boto3

from fixtures.provision import require_loopback

REGION = "us-east-1"
OWNER_TAG = {"Key": "Owner", "Value": "another-team"}
PREFIX = "zz-other-team"  # sorts after the project's names, so its pages come last
# Per unit: resources of each kind (about the size of the Phase 1 reference).
PER_UNIT = {
    "queues": 3,
    "buckets": 2,
    "security_groups": 2,
    "alarms": 4,
    "instances": 1,
    "log_groups": 2,
    "topics": 1,
    "repositories": 1,
}


def add_noise(endpoint_url: str, units: range) -> int:
    """Create the noise of ``units`` (unit numbers, so noise can be topped up); returns how
    many resources were created."""
    require_loopback(endpoint_url)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    sqs, s3, ec2 = client("sqs"), client("s3"), client("ec2")
    cloudwatch, logs, sns, ecr = client("cloudwatch"), client("logs"), client("sns"), client("ecr")
    image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    created = 0
    for unit in units:
        name = f"{PREFIX}-{unit:03d}"
        vpc = ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.0.0/24")["Subnet"]["SubnetId"]
        ec2.create_tags(Resources=[vpc, subnet], Tags=[OWNER_TAG])
        for i in range(PER_UNIT["queues"]):
            sqs.create_queue(QueueName=f"{name}-queue-{i}", tags={"Owner": "another-team"})
        for i in range(PER_UNIT["buckets"]):
            s3.create_bucket(Bucket=f"{name}-bucket-{i}")
        for i in range(PER_UNIT["security_groups"]):
            ec2.create_security_group(
                GroupName=f"{name}-sg-{i}",
                Description="another team's",
                VpcId=vpc,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": [OWNER_TAG]}],
            )
        for i in range(PER_UNIT["alarms"]):
            cloudwatch.put_metric_alarm(
                AlarmName=f"{name}-alarm-{i}",
                Namespace="AWS/EC2",
                MetricName="CPUUtilization",
                Statistic="Average",
                Period=300,
                EvaluationPeriods=1,
                Threshold=90.0,
                ComparisonOperator="GreaterThanThreshold",
            )
        ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=PER_UNIT["instances"],
            MaxCount=PER_UNIT["instances"],
            SubnetId=subnet,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [OWNER_TAG]}],
        )
        for i in range(PER_UNIT["log_groups"]):
            logs.create_log_group(logGroupName=f"/{PREFIX}/{unit:03d}/{i}")
        for i in range(PER_UNIT["topics"]):
            sns.create_topic(Name=f"{name}-topic-{i}")
        for i in range(PER_UNIT["repositories"]):
            ecr.create_repository(repositoryName=f"{name}/repository-{i}")
        created += sum(PER_UNIT.values()) + 2  # and the unit's VPC and subnet
    return created
