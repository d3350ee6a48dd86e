"""Collectors read every page an API returns, and the evidence lists each page's call.

moto pages these answers the way AWS does (log groups 50 to a page, SNS topics 100, a DynamoDB
table's tags 10 here), so an account holding more than a page makes the server answer with
several. moto 5.2 pages neither SQS's ListQueues (it returns the first 1,000 queues and no
token) nor CloudWatch's DescribeAlarms, so their paging cannot be shown here; the SQS collector's
prefix and page size are tested in test_sqs_inventory.py."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from conformance.aws import CallLog, Clients
from conformance.inputs import Inputs
from conformance.inventory.dynamodb import DynamoDbInventory
from conformance.inventory.ec2 import Ec2Inventory
from conformance.inventory.logs import LogsInventory
from conformance.inventory.sns import SnsInventory

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


@pytest.fixture
def account() -> Iterator[boto3.Session]:
    """An empty in-process moto account; its session writes what a test puts in it."""
    with mock_aws():
        yield boto3.Session(**KEYS, region_name=REGION)


def _reader() -> Clients:
    return Clients(REGION, session=boto3.Session(**KEYS), log=CallLog(), in_process=True)


def _calls(clients: Clients, operation: str) -> list[dict[str, str]]:
    """The calls of ``operation`` the evidence lists."""
    return [c for c in clients.log.as_json() if c["operation"] == operation]


def test_every_log_group_is_read_across_three_pages(account: boto3.Session) -> None:
    logs = account.client("logs")
    names = [f"/other-team/{number:03d}" for number in range(120)]
    for name in names:
        logs.create_log_group(logGroupName=name)
    reader = _reader()

    section = LogsInventory.collect(reader, Inputs())

    assert sorted(g.name for g in section.groups) == names
    pages = _calls(reader, "DescribeLogGroups")
    assert len(pages) == 3  # 50 + 50 + 20, each page its own request (a NextToken of its own)
    assert len({c["request"] for c in pages}) == 3
    assert reader.log.repeated() == []


def test_a_few_hundred_instances_are_one_page(account: boto3.Session) -> None:
    """DescribeInstances asks for AWS's largest page (1000), not moto's default of 100: the
    calls do not grow with another team's instances."""
    ec2 = account.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for _ in range(120):  # a reservation each: moto pages reservations
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
    reader = _reader()

    section = Ec2Inventory.collect(reader, Inputs())

    assert len(section.instances) == 120
    assert len(_calls(reader, "DescribeInstances")) == 1


def test_every_topic_is_read_across_two_pages(account: boto3.Session) -> None:
    sns = account.client("sns")
    names = sorted(f"other-team-{number:03d}" for number in range(150))
    for name in names:
        sns.create_topic(Name=name)
    reader = _reader()

    section = SnsInventory.collect(reader, Inputs())

    assert sorted(t.name for t in section.topics) == names
    pages = _calls(reader, "ListTopics")
    assert len(pages) == 2 and len({c["request"] for c in pages}) == 2


def test_every_tag_of_the_lock_table_is_read_across_pages(account: boto3.Session) -> None:
    inputs = Inputs()
    tags = {f"Team{number:02d}": f"value-{number}" for number in range(23)}
    account.client("dynamodb").create_table(
        TableName=inputs.name("lock-table"),
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    reader = _reader()

    section = DynamoDbInventory.collect(reader, inputs)

    assert section.lock_table is not None
    assert section.lock_table.tags == tags
    assert len(_calls(reader, "ListTagsOfResource")) == 3  # 10 + 10 + 3
