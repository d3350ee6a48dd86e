"""The managed cache (Phase 2+): ElastiCache Redis's engine, node type, node count, Multi-AZ,
encryption (Phase 3) and where its nodes sit.

The cache is the replication group named for the role ``cache`` in the environment checked: its
own values are declared; its subnet group and security groups, attributes of each node cluster,
are relations. Phase 3's "2 (cluster)" is one replication group of a primary and a replica
(cluster mode disabled), so the node count is the group's member clusters.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, Unverifiable, check
from conformance.declared import Role, Value, declare
from conformance.inventory.ec2 import Ec2Inventory
from conformance.inventory.elasticache import CacheCluster, ElasticacheInventory, ReplicationGroup
from conformance.spec import CacheSpec, EnvironmentSpec


def _documenting(field: str) -> Callable[[EnvironmentSpec], CacheSpec | None]:
    """The cache group, where it documents the optional ``field``."""

    def area(env: EnvironmentSpec) -> CacheSpec | None:
        cache = env.cache
        return cache if cache is not None and getattr(cache, field) is not None else None

    return area


def _group(ctx: CheckContext) -> ReplicationGroup:
    """The project's replication group, by its id."""
    name = ctx.inputs.name("cache")
    elasticache = ctx.get(ElasticacheInventory)
    found = elasticache.replication_group(name)
    if found is None:
        raise ResourceMissing(
            f"an ElastiCache replication group {name}",
            (f"{g.id} ({g.engine}, {g.node_type})" for g in elasticache.replication_groups),
        )
    return found


def _members(ctx: CheckContext, group: ReplicationGroup) -> list[CacheCluster]:
    members = ctx.get(ElasticacheInventory).members(group)
    if not members:
        raise ResourceMissing(f"the node clusters of {group.id} ({group.member_clusters})", [])
    return members


def _engine(ctx: CheckContext, group: ReplicationGroup) -> str | None:
    """The group's engine; where the answer omits it, its nodes' (all the same)."""
    if group.engine is not None:
        return group.engine
    engines = {c.engine for c in ctx.get(ElasticacheInventory).members(group)}
    return engines.pop() if len(engines) == 1 else None


def _nodes(ctx: CheckContext, group: ReplicationGroup) -> int:
    """A Redis replication group has one node per member cluster (primary and replicas)."""
    return len(group.member_clusters)


def _encryption(attribute: str, api_field: str) -> Callable[[CheckContext, ReplicationGroup], bool]:
    """The group's ``attribute``; an answer without ``api_field`` cannot verify it."""

    def reported(_ctx: CheckContext, group: ReplicationGroup) -> bool:
        value = getattr(group, attribute)
        if value is None:
            raise Unverifiable(f"DescribeReplicationGroups reports no {api_field} for {group.id}")
        return bool(value)

    return reported


CACHE = Role(find=lambda ctx, _key: _group(ctx), label=lambda _key, g: f"replication group {g.id}")

declare(
    [
        Value(
            "cache.engine",
            title="The cache engine is the documented one (Redis)",
            field="cache.engine",
            role=CACHE,
            attribute=_engine,
            subject="{resource} engine",
            severity="high",
            remediation="Recreate the replication group with the documented engine.",
        ),
        Value(
            "cache.node_type",
            title="The cache nodes have the documented node type",
            field="cache.node_type",
            role=CACHE,
            attribute="node_type",
            subject="{resource} node type",
            remediation="Modify the replication group's node type to the documented one.",
        ),
        Value(
            "cache.nodes",
            title="The cache has the documented number of nodes (Phase 2: one)",
            field="cache.nodes",
            role=CACHE,
            attribute=_nodes,
            subject="{resource} nodes (primary and replicas)",
            remediation="Add or remove replicas to match the documented node count.",
        ),
        Value(
            "cache.multi_az",
            title="Multi-AZ as documented (Phase 2: off)",
            field="cache.multi_az",
            role=CACHE,
            attribute="multi_az",
            subject="{resource} Multi-AZ",
            remediation="Set multi_az_enabled (and automatic failover) on the replication group "
            "to the documented value.",
        ),
        Value(
            "cache.encryption_at_rest",
            title="The cache is encrypted at rest as documented",
            field="cache.encryption_at_rest",
            role=CACHE,
            attribute=_encryption("encryption_at_rest", "AtRestEncryptionEnabled"),
            subject="{resource} encryption at rest",
            severity="high",
            remediation="Set at_rest_encryption_enabled on the replication group (it can only be "
            "set at creation: create an encrypted group and move to it).",
        ),
        Value(
            "cache.encryption_in_transit",
            title="The cache encrypts traffic in transit (TLS) as documented",
            field="cache.encryption_in_transit",
            role=CACHE,
            attribute=_encryption("encryption_in_transit", "TransitEncryptionEnabled"),
            subject="{resource} encryption in transit",
            severity="high",
            remediation="Set transit_encryption_enabled on the replication group (and connect "
            "with TLS: rediss://).",
        ),
    ],
    __name__,
)


@check(
    "cache.subnets",
    title="The cache nodes are in a cache subnet group of exactly the documented subnets",
    area=_documenting("subnets"),
    severity="high",
    remediation="Put exactly the documented data subnets in the cache subnet group.",
)
def subnets(ctx: CheckContext, cache: CacheSpec) -> None:
    assert cache.subnets is not None
    group = _group(ctx)
    elasticache = ctx.get(ElasticacheInventory)
    documented = {locate.subnet(ctx, role).id for role in cache.subnets.value}
    names = {s.id: s.tags.get("Name", "(unnamed)") for s in ctx.get(Ec2Inventory).subnets}
    for member in _members(ctx, group):
        subnet_group = elasticache.subnet_group(member.subnet_group or "")
        actual = set(subnet_group.subnet_ids) if subnet_group else set()
        ctx.expect(
            cache.subnets,
            sorted(f"{names.get(s, '(unknown)')} ({s})" for s in actual)
            or f"no subnet group {member.subnet_group or ''}".rstrip(),
            subject=f"cache cluster {member.id} subnet group {member.subnet_group}",
            expected=sorted(f"{names[s]} ({s})" for s in documented),
            ok=actual == documented,
        )


@check(
    "cache.security_groups",
    title="The cache nodes have exactly the documented security group",
    area=_documenting("security_groups"),
    severity="high",
    remediation="Attach only the cache security group to the replication group "
    "(security_group_ids).",
)
def security_groups(ctx: CheckContext, cache: CacheSpec) -> None:
    assert cache.security_groups is not None
    group = _group(ctx)
    documented = {locate.security_group(ctx, role).id for role in cache.security_groups.value}
    names = {g.id: g.name for g in ctx.get(Ec2Inventory).security_groups}
    for member in _members(ctx, group):
        if member.security_group_ids is None:
            raise Unverifiable(
                f"DescribeCacheClusters reports no SecurityGroups for cache cluster {member.id}"
            )
        ctx.expect(
            cache.security_groups,
            sorted(f"{names.get(g, '(unknown)')} ({g})" for g in member.security_group_ids),
            subject=f"cache cluster {member.id} VPC security groups",
            expected=sorted(f"{names[g]} ({g})" for g in documented),
            ok=set(member.security_group_ids) == documented,
        )
