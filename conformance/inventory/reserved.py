"""Reserved capacity of Phase 4's "Reserved Instances" table: the account's reservations of RDS
DB instances, ElastiCache nodes and OpenSearch instances in the primary region (a reservation
applies to that region's usage only).

One section per service, so that a service whose reservations cannot be read (an emulator not
implementing the API, a denied action) leaves the other two checked. Each reads one paginated
list of every reservation the account holds, whatever its state: the checks tell an active one
from one retired or still pending payment. Reservations carry no tags and no name that ties them
to an environment: they are the account's, checked in production's run only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class Reservation(BaseModel):
    id: str
    instance: str  # DBInstanceClass, CacheNodeType or InstanceType
    duration_seconds: int  # the term: 31536000 for one year, 94608000 for three
    state: str  # active, payment-pending, payment-failed, retired
    count: int
    multi_az: bool | None = None  # RDS only: a Multi-AZ reservation covers a Multi-AZ instance
    product: str | None = None  # RDS: the engine (postgresql); ElastiCache: redis, valkey


class ReservedSection(Section):
    """One service's reservations: every one the account holds, read whole. The services answer
    alike but for their listing (``listing``) and the keys of the id, the class and the count
    (``keys``)."""

    reservations: list[Reservation]

    listing: ClassVar[tuple[str, str, str]]  # the client, its paginated operation, the answer key
    keys: ClassVar[tuple[str, str, str]]  # the answer's id, instance class and count keys

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.reserved is not None

    @classmethod
    def answers(cls, clients: Clients) -> Iterator[dict[str, Any]]:
        service, operation, key = cls.listing
        for page in clients.client(service).get_paginator(operation).paginate():
            yield from page[key]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        id_key, instance_key, count_key = cls.keys
        return cls(
            reservations=[
                Reservation(
                    id=r[id_key],
                    instance=r.get(instance_key, ""),
                    duration_seconds=r.get("Duration", 0),
                    state=r.get("State", ""),
                    count=r.get(count_key, 0),
                    multi_az=r.get("MultiAZ"),  # RDS only
                    product=r.get("ProductDescription"),  # not OpenSearch
                )
                for r in cls.answers(clients)
            ]
        )


class RdsReservedInventory(ReservedSection):
    service = "rds-reserved"
    listing = ("rds", "describe_reserved_db_instances", "ReservedDBInstances")
    keys = ("ReservedDBInstanceId", "DBInstanceClass", "DBInstanceCount")


class ElasticacheReservedInventory(ReservedSection):
    service = "elasticache-reserved"
    listing = ("elasticache", "describe_reserved_cache_nodes", "ReservedCacheNodes")
    keys = ("ReservedCacheNodeId", "CacheNodeType", "CacheNodeCount")


class OpensearchReservedInventory(ReservedSection):
    service = "opensearch-reserved"
    keys = ("ReservedInstanceId", "InstanceType", "InstanceCount")

    @classmethod
    def answers(cls, clients: Clients) -> Iterator[dict[str, Any]]:
        """DescribeReservedInstances pages by NextToken (botocore has no paginator for it)."""
        opensearch = clients.client("opensearch")
        request: dict[str, Any] = {"MaxResults": 100}
        while True:
            page = opensearch.describe_reserved_instances(**request)
            yield from page.get("ReservedInstances", [])
            if not page.get("NextToken"):
                return
            request["NextToken"] = page["NextToken"]
