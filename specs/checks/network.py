"""Region, VPC and subnets: Phase 1's simplified VPC with no NAT gateway and no load balancer."""

from __future__ import annotations

from ipaddress import ip_network

from conformance import locate
from conformance.checks import CheckContext, check
from conformance.inventory.ec2 import Ec2Inventory
from conformance.inventory.elbv2 import Elbv2Inventory
from conformance.spec import EnvironmentSpec, NetworkSpec


def _network(env: EnvironmentSpec) -> NetworkSpec | None:
    return env.network


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
    "net.vpc.cidr",
    title="VPC CIDR block",
    area=_network,
    severity="high",
    remediation="Set the VPC's cidr_block to the documented range.",
)
def vpc_cidr(ctx: CheckContext, net: NetworkSpec) -> None:
    vpc = locate.vpc(ctx)
    ctx.expect(
        net.vpc_cidr,
        vpc.cidr,
        subject=f"VPC {vpc.tags.get('Name')} ({vpc.id})",
        ok=ip_network(vpc.cidr) == net.vpc_cidr.value,
    )


@check(
    "net.subnet.cidr",
    title="Each documented subnet has its CIDR block",
    area=_network,
    severity="high",
    remediation="Recreate the subnet with the documented cidr_block.",
)
def subnet_cidr(ctx: CheckContext, net: NetworkSpec) -> None:
    for role, documented in net.subnets.items():
        subnet = locate.subnet(ctx, role)
        ctx.expect(
            documented.cidr,
            subnet.cidr,
            subject=f"subnet {role} ({subnet.id})",
            ok=ip_network(subnet.cidr) == documented.cidr.value,
        )


@check(
    "net.subnet.az",
    title="Each documented subnet is in its availability zone",
    area=_network,
    remediation="Recreate the subnet in the documented availability zone.",
)
def subnet_az(ctx: CheckContext, net: NetworkSpec) -> None:
    for role, documented in net.subnets.items():
        subnet = locate.subnet(ctx, role)
        ctx.expect(
            documented.availability_zone,
            subnet.availability_zone,
            subject=f"subnet {role} ({subnet.id})",
        )


@check(
    "net.subnet.tier",
    title="Public subnets route to an internet gateway; data subnets have no route out",
    area=_network,
    severity="high",
    remediation="Associate the subnet with a route table whose default route matches its tier.",
)
def subnet_tier(ctx: CheckContext, net: NetworkSpec) -> None:
    ec2 = ctx.get(Ec2Inventory)
    for role, documented in net.subnets.items():
        subnet = locate.subnet(ctx, role)
        ctx.expect(
            documented.tier,
            locate.tier_of(ec2, subnet),
            subject=f"subnet {role} ({subnet.id}) default route",
        )


@check(
    "net.subnet.public_ip",
    title="Public subnets map public IPs on launch; other tiers do not",
    area=_network,
    remediation="Set map_public_ip_on_launch true on public subnets only.",
)
def subnet_public_ip(ctx: CheckContext, net: NetworkSpec) -> None:
    for role, documented in net.subnets.items():
        subnet = locate.subnet(ctx, role)
        ctx.expect(
            documented.tier,
            subnet.map_public_ip,
            subject=f"subnet {role} ({subnet.id}) MapPublicIpOnLaunch",
            expected=documented.tier.value == "public",
            ok=subnet.map_public_ip == (documented.tier.value == "public"),
        )


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
    ctx.expect(
        net.stated(sorted(documented), note="No NAT Gateway, no private subnets, no ALB."),
        actual,
        subject=f"subnets of {vpc.id}",
        expected=sorted(documented),
        ok=not extra,
    )


@check(
    "net.nat.absent",
    title="NAT gateways: as many as documented (Phase 1: none)",
    area=_network,
    remediation="Delete the NAT gateway; Phase 1 has no private subnets to serve.",
)
def nat_gateways(ctx: CheckContext, net: NetworkSpec) -> None:
    vpc = locate.vpc(ctx)
    live = [
        g.id
        for g in ctx.get(Ec2Inventory).nat_gateways
        if vpc.id in g.vpc_ids and g.state in ("pending", "available")
    ]
    ctx.expect(net.nat_gateways, len(live), subject=f"NAT gateways in {vpc.id}: {live}")


@check(
    "net.lb.absent",
    title="Load balancers: as many as documented (Phase 1: none, nginx on EC2 instead)",
    area=_network,
    remediation="Delete the load balancer; Phase 1 terminates traffic in nginx on the host.",
)
def load_balancers(ctx: CheckContext, net: NetworkSpec) -> None:
    vpc = locate.vpc(ctx)
    found = [lb.name for lb in ctx.get(Elbv2Inventory).load_balancers if lb.vpc_id == vpc.id]
    ctx.expect(net.load_balancers, len(found), subject=f"load balancers in {vpc.id}: {found}")
