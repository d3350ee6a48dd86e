"""Find the resource that plays a documented role, or say what was there instead.

Names follow the project's IaC convention (see :meth:`Inputs.name`) and can be overridden by
inputs; where the document implies a relationship (the security group attached to the app
instance, the subnets of the DB subnet group), the relationship is used when the name is absent.
"""

from __future__ import annotations

from conformance.checks import CheckContext, ResourceMissing
from conformance.inventory.ec2 import Ec2Inventory, Instance, SecurityGroup, Subnet, Vpc


def _label(name: str | None, resource_id: str, extra: str = "") -> str:
    return f"{name or '(unnamed)'} ({resource_id}{', ' + extra if extra else ''})"


def vpc(ctx: CheckContext) -> Vpc:
    name = ctx.inputs.name("vpc")
    ec2 = ctx.get(Ec2Inventory)
    for candidate in ec2.vpcs:
        if candidate.tags.get("Name") == name:
            return candidate
    raise ResourceMissing(
        f"a VPC tagged Name={name} in {ctx.region}",
        (_label(v.tags.get("Name"), v.id, v.cidr) for v in ec2.vpcs),
    )


def subnet(ctx: CheckContext, role: str) -> Subnet:
    name = ctx.inputs.name(f"subnet.{role}")
    ec2 = ctx.get(Ec2Inventory)
    in_vpc = [s for s in ec2.subnets if s.vpc_id == vpc(ctx).id]
    for candidate in in_vpc:
        if candidate.tags.get("Name") == name:
            return candidate
    raise ResourceMissing(
        f"a subnet tagged Name={name} in the VPC",
        (_label(s.tags.get("Name"), s.id, s.cidr) for s in in_vpc),
    )


def instance(ctx: CheckContext) -> Instance:
    name = ctx.inputs.name("instance")
    ec2 = ctx.get(Ec2Inventory)
    for candidate in ec2.instances:
        if candidate.tags.get("Name") == name:
            return candidate
    raise ResourceMissing(
        f"an EC2 instance tagged Name={name}",
        (_label(i.tags.get("Name"), i.id, i.type) for i in ec2.instances),
    )


def security_group(ctx: CheckContext, role: str) -> SecurityGroup:
    """The group named for ``role``; for ec2-web, else the one group attached to the app host."""
    name = ctx.inputs.name(f"sg.{role}")
    ec2 = ctx.get(Ec2Inventory)
    in_vpc = [g for g in ec2.security_groups if g.vpc_id == vpc(ctx).id]
    for candidate in in_vpc:
        if name in (candidate.name, candidate.tags.get("Name")):
            return candidate
    if role == "ec2-web":
        attached = instance(ctx).security_group_ids
        found = [g for g in in_vpc if g.id in attached]
        if len(attached) == 1 and found:
            return found[0]
    raise ResourceMissing(
        f"a security group named {name} in the VPC",
        (_label(g.name, g.id) for g in in_vpc),
    )


def route_table_of(ec2: Ec2Inventory, subnet: Subnet) -> str | None:
    """The id of the route table that governs ``subnet`` (explicit association, else main)."""
    for table in ec2.route_tables:
        if subnet.id in table.subnet_ids:
            return table.id
    for table in ec2.route_tables:
        if table.vpc_id == subnet.vpc_id and table.main:
            return table.id
    return None


def tier_of(ec2: Ec2Inventory, subnet: Subnet) -> str:
    """public: default route to an internet gateway; private: via NAT; data: neither."""
    table_id = route_table_of(ec2, subnet)
    table = next((t for t in ec2.route_tables if t.id == table_id), None)
    targets = [r.target for r in table.routes if r.destination == "0.0.0.0/0"] if table else []
    if any(t.startswith("igw-") for t in targets):
        return "public"
    if any(t.startswith("nat-") for t in targets):
        return "private"
    return "data"
