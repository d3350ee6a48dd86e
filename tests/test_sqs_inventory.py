"""SQS queues are listed by the project's name prefix, so an account's other queues cannot hide
them: AWS (and moto) return at most 1,000 queues to a ListQueues without a prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from conformance.aws import Clients
from conformance.inputs import DEFAULT_QUEUES, Inputs
from conformance.inventory.sqs import PAGE_SIZE, SqsInventory
from fixtures.provision import provision

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def crowded_account() -> Iterator[None]:
    """1,001 other queues, created before the project's, then the Phase-1 reference."""
    with mock_aws():
        sqs = boto3.Session(**KEYS).client("sqs", region_name="us-east-1")
        for number in range(1001):
            sqs.create_queue(QueueName=f"other-team-{number:04d}")
        provision(1, "us-east-1", None, Inputs())
        yield


def _collect(inputs: Inputs) -> tuple[SqsInventory, list[dict[str, Any]]]:
    clients = Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)
    sqs = clients.client("sqs")
    listed: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        listed.append(dict(params))

    sqs.meta.events.register("before-parameter-build.sqs.ListQueues", capture)
    return SqsInventory.collect(clients, inputs), listed


def test_documented_queues_are_found_among_more_than_a_thousand_others(
    crowded_account: None,
) -> None:
    section, listed = _collect(Inputs())
    documented = {f"accountabilityatlas-{q}" for q in DEFAULT_QUEUES}
    documented |= {f"{name}-dlq" for name in documented}
    assert set(section.queues) == documented
    assert listed == [{"QueueNamePrefix": "accountabilityatlas", "MaxResults": PAGE_SIZE}]


def test_a_queue_named_outside_the_project_prefix_is_found_too(crowded_account: None) -> None:
    sqs = boto3.Session(**KEYS).client("sqs", region_name="us-east-1")
    sqs.create_queue(QueueName="legacy-user-events", tags={"Project": "accountabilityatlas"})
    section, listed = _collect(Inputs(names={"queue.user-events": "legacy-user-events"}))
    assert "legacy-user-events" in section.queues
    assert section.queues["legacy-user-events"].tags == {"Project": "accountabilityatlas"}
    assert {p["QueueNamePrefix"] for p in listed} == {"accountabilityatlas", "legacy-user-events"}
    assert all(p["MaxResults"] == PAGE_SIZE for p in listed)
