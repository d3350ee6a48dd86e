"""Phase 2's network, security-group, retired-host and cache checks, on inventories written out
here: what the kill-matrix's moto reference cannot show (a role a phase file adds, an endpoint
that omits the cache's security groups, instances that do not serve the site)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.aws import Clients
from conformance.checks import REGISTRY, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import Inventory
from conformance.inventory.ec2 import (
    Ec2Inventory,
    Gateway,
    Instance,
    Route,
    RouteTable,
    SecurityGroup,
    Subnet,
    Vpc,
)
from conformance.inventory.elasticache import CacheCluster, ElasticacheInventory, ReplicationGroup
from conformance.spec import PHASES, load_spec, spec_path
from specs.checks.security_groups import ROLES

load_checks()
INPUTS = Inputs()
P = INPUTS.project


def test_every_documented_security_group_role_has_its_checks() -> None:
    """The per-role checks come from a fixed list: a phase file adding a role must add it."""
    for phase in (p for p in PHASES if spec_path(p).exists()):
        for env in load_spec(phase).environments.values():
            groups = env.security_groups.groups if env.security_groups else {}
            assert set(groups) <= set(ROLES), f"phase {phase}: add the roles to ROLES"
            for role in groups:
                key = role.replace("-", "_")
                assert {f"sg.{key}.ingress", f"sg.{key}.no_extra_ingress"} <= REGISTRY.keys()


def _ec2(instances: list[Instance]) -> Ec2Inventory:
    """The Phase 2 VPC: public-a routes to the internet gateway, data-a and data-b nowhere."""
    subnets = [
        Subnet(
            id=f"subnet-{role}",
            vpc_id="vpc-1",
            cidr=cidr,
            availability_zone="us-east-1a",
            map_public_ip=role == "public-a",
            tags={"Name": f"{P}-{role}"},
        )
        for role, cidr in (
            ("public-a", "10.0.1.0/24"),
            ("data-a", "10.0.20.0/24"),
            ("data-b", "10.0.21.0/24"),
        )
    ]
    public = RouteTable(
        id="rtb-public",
        vpc_id="vpc-1",
        main=False,
        subnet_ids=["subnet-public-a"],
        routes=[Route(destination="0.0.0.0/0", target="igw-1")],
        tags={},
    )
    return Ec2Inventory(
        vpcs=[Vpc(id="vpc-1", cidr="10.0.0.0/16", tags={"Name": f"{P}-vpc"})],
        subnets=subnets,
        route_tables=[public],
        internet_gateways=[Gateway(id="igw-1", vpc_ids=["vpc-1"], state="attached", tags={})],
        nat_gateways=[],
        security_groups=[
            SecurityGroup(
                id="sg-cache", name=f"{P}-cache", vpc_id="vpc-1", ingress=[], egress=[], tags={}
            )
        ],
        instances=instances,
        addresses=[],
    )


def _run(*sections: Any) -> Run:
    inventory = Inventory(Clients("us-east-1", "http://127.0.0.1:9"), INPUTS)  # never called
    for section in sections:
        inventory.sections[section.service] = section
    return Run(load_spec(2), "production", INPUTS, inventory, "model")


def _instance(name: str, subnet: str, public_ip: str | None, state: str = "running") -> Instance:
    return Instance(
        id=f"i-{name}",
        type="t3.xlarge",
        state=state,
        vpc_id="vpc-1",
        subnet_id=subnet,
        availability_zone="us-east-1a",
        public_ip=public_ip,
        security_group_ids=[],
        tags={"Name": name},
    )


@pytest.mark.parametrize(
    ("instance", "outcome"),
    [
        (_instance(f"{P}-app", "subnet-data-a", None), "failed"),  # the Phase 1 host, by name
        (_instance("bastion", "subnet-public-a", "198.51.100.1"), "failed"),  # public, with an IP
        (_instance("batch", "subnet-data-a", None), "passed"),  # no way in from the internet
        (_instance("builder", "subnet-public-a", None), "passed"),  # public subnet, no public IP
        (_instance(f"{P}-app", "subnet-public-a", "198.51.100.1", "stopped"), "passed"),
    ],
)
def test_a_retired_host_is_one_that_could_still_serve_the_site(
    instance: Instance, outcome: str
) -> None:
    assert REGISTRY["ec2.host.retired"].run(_run(_ec2([instance]))).outcome == outcome


def _cache(security_group_ids: list[str] | None) -> ElasticacheInventory:
    group = ReplicationGroup(
        id=f"{P}-redis",
        arn="arn:aws:elasticache:us-east-1:123456789012:replicationgroup:x",
        status="available",
        engine="redis",
        node_type="cache.t3.medium",
        multi_az=False,
        automatic_failover="disabled",
        member_clusters=[f"{P}-redis-001"],
        tags={},
    )
    member = CacheCluster(
        id=f"{P}-redis-001",
        replication_group_id=group.id,
        status="available",
        engine="redis",
        node_type="cache.t3.medium",
        nodes=1,
        subnet_group="cache-subnets",
        security_group_ids=security_group_ids,
        availability_zone="us-east-1a",
    )
    return ElasticacheInventory(replication_groups=[group], clusters=[member], subnet_groups=[])


@pytest.mark.parametrize(
    ("reported", "outcome"), [(["sg-cache"], "passed"), ([], "failed"), (None, "skipped")]
)
def test_cache_security_groups_an_endpoint_does_not_report_are_not_verifiable(
    reported: list[str] | None, outcome: str
) -> None:
    result = REGISTRY["cache.security_groups"].run(_run(_ec2([]), _cache(reported)))
    assert result.outcome == outcome, result.describe()
    if outcome == "skipped":
        assert result.message == (
            f"not verifiable on this target: DescribeCacheClusters reports no SecurityGroups for "
            f"cache cluster {P}-redis-001"
        )
