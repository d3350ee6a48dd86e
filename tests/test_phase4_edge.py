"""Phase 4's reservations and CloudFront origin where the kill-matrix does not reach: moto holds
no reservation, so the passing case is a saved inventory holding the right ones; a reservation
AWS would not apply to the instance fails; OpenSearch's reservations are paged by NextToken; and
the ALB origin may be a name of the site's zone aliased to the ALB."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from conformance.aws import Clients
from conformance.checks import Result, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import SavedInventory, SavedSnapshot, Section
from conformance.inventory.cloudfront import Behavior, CloudfrontInventory, Distribution, Origin
from conformance.inventory.elbv2 import Elbv2Inventory, LoadBalancer
from conformance.inventory.reserved import (
    ElasticacheReservedInventory,
    OpensearchReservedInventory,
    RdsReservedInventory,
    Reservation,
)
from conformance.inventory.route53 import HostedZone, Record, Route53Inventory
from conformance.spec import load_spec

CHECKS = load_checks()
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
YEAR = 31_536_000
SECOND = "22222222-2222-2222-2222-222222222222"  # a reservation id is a UUID


def _run(check_id: str, *sections: Section) -> Result:
    """One Phase 4 production check on a saved inventory holding only these sections."""
    saved = SavedSnapshot.of(
        {
            "region": "us-east-1",
            "sections": {s.service: s.model_dump(mode="json") for s in sections},
            "failures": {},
        },
        origin="a test",
        location="memory",
    )
    inputs = Inputs()
    run = Run(load_spec(4), "production", inputs, SavedInventory(saved, inputs), "inventory")
    return CHECKS[check_id].run(run)


def _reservation(instance: str, **changes: object) -> Reservation:
    values: dict[str, object] = {
        "id": f"ri-{instance}",
        "instance": instance,
        "duration_seconds": YEAR,
        "state": "active",
        "count": 1,
    }
    return Reservation.model_validate(values | changes)


DATABASE = _reservation("db.r6g.large", multi_az=True, product="postgresql")


@pytest.mark.parametrize(
    ("check_id", "section"),
    [
        ("reserved.database", RdsReservedInventory(reservations=[DATABASE])),
        (
            "reserved.cache",
            ElasticacheReservedInventory(reservations=[_reservation("cache.r6g.large", count=2)]),
        ),
        (
            "reserved.search",
            OpensearchReservedInventory(reservations=[_reservation("r6g.large.search", count=3)]),
        ),
    ],
)
def test_the_documented_reservations_pass(check_id: str, section: Section) -> None:
    result = _run(check_id, section)
    assert result.outcome == "passed", result.describe()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"state": "payment-pending"}, id="not paid yet"),
        pytest.param({"product": "mysql"}, id="another engine"),
        pytest.param({"instance": "db.r6g.xlarge"}, id="another class"),
    ],
)
def test_a_reservation_not_covering_the_database_fails(changes: dict[str, object]) -> None:
    other = DATABASE.model_copy(update=changes)
    result = _run("reserved.database", RdsReservedInventory(reservations=[other]))
    assert result.outcome == "failed", result.describe()
    assert "an active reservation of db.r6g.large, Multi-AZ, postgresql" in result.describe()


def test_opensearch_reservations_are_read_page_by_page() -> None:
    clients = Clients("us-east-1", session=boto3.Session(**KEYS))
    opensearch = clients.client("opensearch")
    page = {
        "ReservedInstanceId": "11111111-1111-1111-1111-111111111111",
        "InstanceType": "r6g.large.search",
        "Duration": YEAR,
        "State": "active",
        "InstanceCount": 3,
    }
    with Stubber(opensearch) as stub:
        stub.add_response(
            "describe_reserved_instances",
            {"ReservedInstances": [page], "NextToken": "next"},
            {"MaxResults": 100},
        )
        stub.add_response(
            "describe_reserved_instances",
            {"ReservedInstances": [page | {"ReservedInstanceId": SECOND}]},
            {"MaxResults": 100, "NextToken": "next"},
        )
        collected = OpensearchReservedInventory.collect(clients, Inputs())
    assert [r.id for r in collected.reservations] == [page["ReservedInstanceId"], SECOND]


def test_the_alb_origin_may_be_a_site_name_aliased_to_the_alb() -> None:
    """CloudFront reaching the ALB under a name its certificate covers (origin.{domain}, an
    alias to the ALB) routes dynamic requests to the ALB as its DNS name would."""
    alb_dns = "accountabilityatlas-alb-1.us-east-1.elb.amazonaws.com"
    alb = LoadBalancer(
        arn="arn:alb", name="accountabilityatlas-alb", type="application", scheme="x", vpc_id=None
    )
    alb = alb.model_copy(update={"dns_name": alb_dns})
    origin = "origin.accountabilityatlas.com"
    distribution = Distribution(
        id="E1",
        arn="arn:cf",
        domain="d1.cloudfront.net",
        enabled=True,
        aliases=["accountabilityatlas.com"],
        origins=[
            Origin(id="site", domain=origin),
            Origin(id="assets", domain="accountabilityatlas-static-assets.s3.amazonaws.com"),
        ],
        behaviors=[
            Behavior(path_pattern="*", target_origin_id="site"),
            Behavior(path_pattern="/_next/static/*", target_origin_id="assets"),
        ],
        tags={},
    )
    zone = HostedZone(id="Z1", name="accountabilityatlas.com", private=False)
    record = Record(name=origin, type="A", values=[f"dualstack.{alb_dns}"], alias=True)
    result = _run(
        "cdn.dynamic_origin",
        Elbv2Inventory(load_balancers=[alb]),
        CloudfrontInventory(distributions=[distribution]),
        Route53Inventory(zones=[zone], zone=zone, records=[record], tags={}),
    )
    assert result.outcome == "passed", result.describe()
