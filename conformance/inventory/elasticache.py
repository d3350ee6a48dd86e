"""ElastiCache (Phase 2+): the Redis replication groups, their node clusters and subnet groups.

A replication group reports its engine, node type, Multi-AZ, encryption and member clusters;
where its nodes sit (subnet group) and which security groups guard them are attributes of each
member cluster, so both are read: DescribeReplicationGroups and DescribeCacheClusters once each,
tags only for the replication group of each environment the collection serves (Phase 3: staging's
and production's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class CacheCluster(BaseModel):
    """One cache cluster; a Redis replication group has one per node."""

    id: str
    replication_group_id: str | None
    status: str
    engine: str
    node_type: str
    nodes: int
    subnet_group: str | None
    # None when the endpoint does not report them at all (an emulator), [] when there are none.
    security_group_ids: list[str] | None
    availability_zone: str | None


class ReplicationGroup(BaseModel):
    id: str
    arn: str
    status: str
    engine: str | None  # older API answers omit it; the member clusters then say
    node_type: str | None
    multi_az: bool
    automatic_failover: str
    member_clusters: list[str]
    # None when the answer does not report them (AWS always does for Redis).
    encryption_at_rest: bool | None = None
    encryption_in_transit: bool | None = None
    tags: dict[str, str] | None  # read for the environments' replication groups only


class CacheSubnetGroup(BaseModel):
    name: str
    vpc_id: str
    subnet_ids: list[str]


class ElasticacheInventory(Section):
    service = "elasticache"

    replication_groups: list[ReplicationGroup]
    clusters: list[CacheCluster]
    subnet_groups: list[CacheSubnetGroup]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.cache is not None

    def replication_group(self, name: str) -> ReplicationGroup | None:
        return next((g for g in self.replication_groups if g.id == name), None)

    def members(self, group: ReplicationGroup) -> list[CacheCluster]:
        """The group's node clusters, as the group lists them or as they name the group."""
        return [
            c
            for c in self.clusters
            if c.id in group.member_clusters or c.replication_group_id == group.id
        ]

    def subnet_group(self, name: str) -> CacheSubnetGroup | None:
        return next((g for g in self.subnet_groups if g.name == name), None)

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The environment's replication group, by its exact name (the collection may have read
        another environment's tags too)."""
        group = self.replication_group(inputs.name("cache"))
        if group is None or group.tags is None:
            return []
        return [Tagged(resource=f"elasticache-replication-group {group.id}", tags=group.tags)]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        elasticache = clients.client("elasticache")

        def pages(operation: str, key: str) -> list[dict[str, Any]]:
            paginator = elasticache.get_paginator(operation)
            return [item for page in paginator.paginate() for item in page[key]]

        ours = {environment.name("cache") for environment in inputs.each_environment()}
        groups = []
        for raw in pages("describe_replication_groups", "ReplicationGroups"):
            tags = None
            if raw["ReplicationGroupId"] in ours:
                listed = elasticache.list_tags_for_resource(ResourceName=raw["ARN"])
                tags = tags_of(listed.get("TagList"))
            groups.append(_replication_group(raw, tags))
        return cls(
            replication_groups=groups,
            clusters=[_cluster(c) for c in pages("describe_cache_clusters", "CacheClusters")],
            subnet_groups=[
                CacheSubnetGroup(
                    name=g["CacheSubnetGroupName"],
                    vpc_id=g.get("VpcId", ""),
                    subnet_ids=[s["SubnetIdentifier"] for s in g.get("Subnets", [])],
                )
                for g in pages("describe_cache_subnet_groups", "CacheSubnetGroups")
            ],
        )


def _replication_group(raw: dict[str, Any], tags: dict[str, str] | None) -> ReplicationGroup:
    return ReplicationGroup(
        id=raw["ReplicationGroupId"],
        arn=raw["ARN"],
        status=raw.get("Status", ""),
        engine=raw.get("Engine"),
        node_type=raw.get("CacheNodeType"),
        multi_az=raw.get("MultiAZ") == "enabled",
        automatic_failover=raw.get("AutomaticFailover", ""),
        member_clusters=raw.get("MemberClusters", []),
        encryption_at_rest=raw.get("AtRestEncryptionEnabled"),
        encryption_in_transit=raw.get("TransitEncryptionEnabled"),
        tags=tags,
    )


def _cluster(raw: dict[str, Any]) -> CacheCluster:
    groups = raw.get("SecurityGroups")
    return CacheCluster(
        id=raw["CacheClusterId"],
        replication_group_id=raw.get("ReplicationGroupId"),
        status=raw.get("CacheClusterStatus", ""),
        engine=raw.get("Engine", ""),
        node_type=raw.get("CacheNodeType", ""),
        nodes=raw.get("NumCacheNodes", 0),
        subnet_group=raw.get("CacheSubnetGroupName"),
        security_group_ids=None if groups is None else [g["SecurityGroupId"] for g in groups],
        availability_zone=raw.get("PreferredAvailabilityZone"),
    )


class CacheClustersInventory(Section):
    """Every cache cluster of the region, by id only: what a phase without ElastiCache (Phase 1
    runs Redis as a container) checks is that there is none. A section of its own, so the
    Phase 1 tag checks never depend on the full ElastiCache section (an emulator may not serve
    it). Serverless caches are not listed (DescribeServerlessCaches)."""

    service = "elasticache-clusters"

    cluster_ids: list[str]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        """Read where the phase documents that it has no cache (its only check)."""
        return env.absent is not None and env.absent.cache_clusters is not None

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("elasticache").get_paginator("describe_cache_clusters")
        return cls(
            cluster_ids=[
                c["CacheClusterId"] for page in paginator.paginate() for c in page["CacheClusters"]
            ]
        )
