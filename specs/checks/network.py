"""Region, VPC, subnets and gateways: Phase 1's simplified VPC with no NAT gateway and no load
balancer; Phase 2's public, private and data tiers with a NAT gateway in a public subnet.

The VPC's and each subnet's own values are declared (one table); the region, what the VPC must
(not) contain and where the NAT gateways sit are judged by functions.
"""

from __future__ import annotations

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, check
from conformance.declared import SAME_NETWORK, Role, Value, declare
from conformance.inventory.ec2 import Ec2Inventory, NatGateway
from conformance.inventory.elbv2 import Elbv2Inventory
from conformance.spec import EnvironmentSpec, NetworkSpec


def _network(env: EnvironmentSpec) -> NetworkSpec | None:
    return env.network


VPC = Role(
    find=lambda ctx, _key: locate.vpc(ctx),
    label=lambda _key, vpc: f"VPC {vpc.tags.get('Name')} ({vpc.id})",
)
SUBNET = Role(find=locate.subnet, label=lambda role, subnet: f"subnet {role} ({subnet.id})")

declare(
    [
        Value(
            "net.vpc.cidr",
            title="VPC CIDR block",
            field="network.vpc_cidr",
            role=VPC,
            attribute="cidr",
            compare=SAME_NETWORK,
            subject="{resource}",
            severity="high",
            remediation="Set the VPC's cidr_block to the documented range.",
        ),
        Value(
            "net.subnet.cidr",
            title="Each documented subnet has its CIDR block",
            field="network.subnets.*.cidr",
            role=SUBNET,
            attribute="cidr",
            compare=SAME_NETWORK,
            subject="{resource}",
            severity="high",
            remediation="Recreate the subnet with the documented cidr_block.",
        ),
        Value(
            "net.subnet.az",
            title="Each documented subnet is in its availability zone",
            field="network.subnets.*.availability_zone",
            role=SUBNET,
            attribute="availability_zone",
            subject="{resource}",
            remediation="Recreate the subnet in the documented availability zone.",
        ),
        Value(
            "net.subnet.tier",
            title="Each subnet's default route fits its tier (public: internet gateway, private: "
            "NAT gateway, data: none)",
            field="network.subnets.*.tier",
            role=SUBNET,
            attribute=lambda ctx, subnet: locate.tier_of(ctx.get(Ec2Inventory), subnet),
            subject="{resource} default route",
            severity="high",
            remediation="Associate the subnet with a route table whose default route matches "
            "its tier.",
        ),
        Value(
            "net.subnet.public_ip",
            title="Public subnets map public IPs on launch; other tiers do not",
            field="network.subnets.*.tier",
            role=SUBNET,
            attribute="map_public_ip",
            expected_from=lambda tier: tier == "public",
            subject="{resource} MapPublicIpOnLaunch",
            remediation="Set map_public_ip_on_launch true on public subnets only.",
        ),
    ],
    __name__,
)


@check(
    "net.region",
    title="The environment is deployed in the documented primary region",
    area=_network,
    severity="high",
    remediation="Deploy to the primary region (provider region in the OpenTofu configuration).",
)
def region(ctx: CheckContext, net: NetworkSpec) -> None:
    vpc = locate.vpc(ctx)
    ctx.expect(ctx.run.spec.primary_region, ctx.region, subject=f"region of {vpc.id}")


@check(
    "net.subnet.no_extra",
    title="The VPC has only the documented subnets (Phase 1: no private subnets)",
    area=_network,
    remediation="Remove subnets the document does not list for this phase.",
)
def no_extra_subnets(ctx: CheckContext, net: NetworkSpec) -> None:
    ec2 = ctx.get(Ec2Inventory)
    vpc = locate.vpc(ctx)
    documented = {ctx.inputs.name(f"subnet.{role}") for role in net.subnets}
    actual = sorted(
        f"{s.tags.get('Name', '(unnamed)')} {s.cidr}" for s in ec2.subnets if s.vpc_id == vpc.id
    )
    extra = [s for s in actual if s.split(" ")[0] not in documented]
    # A phase without a NAT gateway says why it has no private subnets in that value's note.
    note = net.nat_gateways.note if net.nat_gateways.value == 0 else None
    ctx.expect(
        net.stated(sorted(documented), note=note),
        actual,
        subject=f"subnets of {vpc.id}",
        expected=sorted(documented),
        ok=not extra,
    )


@check(
    "net.nat.absent",
    title="NAT gateways: as many as documented (Phase 1: none)",
    area=_network,
    remediation="Create or delete NAT gateways to match the documented count (Phase 1 has no "
    "private subnets to serve; Phase 2 has one gateway for its private subnets).",
)
def nat_gateways(ctx: CheckContext, net: NetworkSpec) -> None:
    vpc = locate.vpc(ctx)
    live = [g.id for g in _live_nat_gateways(ctx, vpc.id)]
    ctx.expect(net.nat_gateways, len(live), subject=f"NAT gateways in {vpc.id}: {live}")


def _live_nat_gateways(ctx: CheckContext, vpc_id: str) -> list[NatGateway]:
    return [
        g
        for g in ctx.get(Ec2Inventory).nat_gateways
        if vpc_id in g.vpc_ids and g.state in ("pending", "available")
    ]


def _nat_tier(env: EnvironmentSpec) -> NetworkSpec | None:
    net = env.network
    return net if net is not None and net.nat_gateway_tier is not None else None


@check(
    "net.nat.tier",
    title="Each NAT gateway sits in a subnet of the documented tier (Phase 2: public)",
    area=_nat_tier,
    severity="high",
    remediation="Recreate the NAT gateway in a public subnet (one whose default route goes to the "
    "internet gateway); a NAT gateway elsewhere gives the private subnets no way out.",
)
def nat_gateway_tier(ctx: CheckContext, net: NetworkSpec) -> None:
    assert net.nat_gateway_tier is not None
    ec2 = ctx.get(Ec2Inventory)
    vpc = locate.vpc(ctx)
    subnets = {s.id: s for s in ec2.subnets}
    gateways = _live_nat_gateways(ctx, vpc.id)
    if not gateways:
        raise ResourceMissing(f"a NAT gateway in {vpc.id}", [])
    for gateway in gateways:
        subnet = subnets.get(gateway.subnet_id or "")
        tier = locate.tier_of(ec2, subnet) if subnet else None
        where = f"{tier} ({subnet.tags.get('Name', '(unnamed)')})" if subnet else "unknown subnet"
        ctx.expect(
            net.nat_gateway_tier,
            where,
            subject=f"NAT gateway {gateway.id}: tier of its subnet {gateway.subnet_id}",
            ok=tier == net.nat_gateway_tier.value,
        )


@check(
    "net.lb.absent",
    title="Load balancers: as many as documented (Phase 1: none, nginx on EC2 instead)",
    area=_network,
    remediation="Create or delete load balancers to match the documented count (Phase 1 "
    "terminates traffic in nginx on the host; Phase 2 has one ALB).",
)
def load_balancers(ctx: CheckContext, net: NetworkSpec) -> None:
    vpc = locate.vpc(ctx)
    found = [lb.name for lb in ctx.get(Elbv2Inventory).load_balancers if lb.vpc_id == vpc.id]
    ctx.expect(net.load_balancers, len(found), subject=f"load balancers in {vpc.id}: {found}")
