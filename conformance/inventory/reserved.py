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

from typing import TYPE_CHECKING, Any, Self

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


class RdsReservedInventory(Section):
    service = "rds-reserved"

    reservations: list[Reservation]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.reserved is not None

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("rds").get_paginator("describe_reserved_db_instances")
        return cls(
            reservations=[
                Reservation(
                    id=r["ReservedDBInstanceId"],
                    instance=r.get("DBInstanceClass", ""),
                    duration_seconds=r.get("Duration", 0),
                    state=r.get("State", ""),
                    count=r.get("DBInstanceCount", 0),
                    multi_az=r.get("MultiAZ"),
                    product=r.get("ProductDescription"),
                )
                for page in paginator.paginate()
                for r in page["ReservedDBInstances"]
            ]
        )


class ElasticacheReservedInventory(Section):
    service = "elasticache-reserved"

    reservations: list[Reservation]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.reserved is not None

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("elasticache").get_paginator("describe_reserved_cache_nodes")
        return cls(
            reservations=[
                Reservation(
                    id=r["ReservedCacheNodeId"],
                    instance=r.get("CacheNodeType", ""),
                    duration_seconds=r.get("Duration", 0),
                    state=r.get("State", ""),
                    count=r.get("CacheNodeCount", 0),
                    product=r.get("ProductDescription"),
                )
                for page in paginator.paginate()
                for r in page["ReservedCacheNodes"]
            ]
        )


class OpensearchReservedInventory(Section):
    service = "opensearch-reserved"

    reservations: list[Reservation]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.reserved is not None

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        """DescribeReservedInstances pages by NextToken (botocore has no paginator for it)."""
        opensearch = clients.client("opensearch")
        found: list[Reservation] = []
        request: dict[str, Any] = {"MaxResults": 100}
        while True:
            page = opensearch.describe_reserved_instances(**request)
            found += [
                Reservation(
                    id=r["ReservedInstanceId"],
                    instance=r.get("InstanceType", ""),
                    duration_seconds=r.get("Duration", 0),
                    state=r.get("State", ""),
                    count=r.get("InstanceCount", 0),
                )
                for r in page.get("ReservedInstances", [])
            ]
            if not page.get("NextToken"):
                return cls(reservations=found)
            request["NextToken"] = page["NextToken"]
