"""EC2 and VPC: networks, subnets, routes, gateways, security groups, instances, addresses."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of


class Vpc(BaseModel):
    id: str
    cidr: str
    tags: dict[str, str]


class Subnet(BaseModel):
    id: str
    vpc_id: str
    cidr: str
    availability_zone: str
    map_public_ip: bool
    tags: dict[str, str]


class Route(BaseModel):
    destination: str
    target: str  # igw-…, nat-…, local, …


class RouteTable(BaseModel):
    id: str
    vpc_id: str
    main: bool
    subnet_ids: list[str]
    routes: list[Route]
    tags: dict[str, str]


class Gateway(BaseModel):
    id: str
    vpc_ids: list[str]
    state: str
    tags: dict[str, str]


class NatGateway(Gateway):
    """A NAT gateway: the subnet it sits in decides whether it can reach the internet."""

    subnet_id: str | None


class Rule(BaseModel):
    """One permission of a security group, one source per rule, as AWS evaluates it."""

    protocol: str  # "tcp", "udp", "icmp" or "all"
    from_port: int | None
    to_port: int | None
    source: str  # a CIDR (v4 or v6), "sg:<group id>" or "pl:<prefix list id>"
    description: str | None = None  # AWS keeps one per source

    def covers(self, port: int) -> bool:
        if self.protocol == "all" or self.from_port is None or self.to_port is None:
            return True
        return self.from_port <= port <= self.to_port


class SecurityGroup(BaseModel):
    id: str
    name: str
    vpc_id: str
    ingress: list[Rule]
    egress: list[Rule]
    tags: dict[str, str]


class Instance(BaseModel):
    id: str
    type: str
    state: str
    vpc_id: str | None
    subnet_id: str | None
    availability_zone: str
    public_ip: str | None
    security_group_ids: list[str]
    tags: dict[str, str]


class Image(BaseModel):
    """One of the account's own AMIs (the host's manual backups)."""

    id: str
    name: str
    state: str
    created: str
    source_instance_id: str | None  # the instance CreateImage made it from, when AWS says


class Address(BaseModel):
    allocation_id: str | None
    public_ip: str
    instance_id: str | None
    tags: dict[str, str]


class Ec2Inventory(Section):
    service = "ec2"

    vpcs: list[Vpc]
    subnets: list[Subnet]
    route_tables: list[RouteTable]
    internet_gateways: list[Gateway]
    nat_gateways: list[NatGateway]
    security_groups: list[SecurityGroup]
    instances: list[Instance]
    addresses: list[Address]
    # The account's own AMIs (Owners=self); absent from inventories saved before they were read.
    images: list[Image] = Field(default_factory=list)

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The project VPC and what the project created in it; AWS's defaults aside."""
        vpc = next((v for v in self.vpcs if v.tags.get("Name") == inputs.name("vpc")), None)
        if vpc is None:
            return []
        instance_ids = {i.id for i in self.instances if i.vpc_id == vpc.id}
        found = [Tagged(resource=f"vpc {vpc.id}", tags=vpc.tags)]
        found += [
            Tagged(resource=f"subnet {s.id}", tags=s.tags)
            for s in self.subnets
            if s.vpc_id == vpc.id
        ]
        found += [
            Tagged(resource=f"security-group {g.name} ({g.id})", tags=g.tags)
            for g in self.security_groups
            if g.vpc_id == vpc.id and g.name != "default"
        ]
        found += [
            Tagged(resource=f"internet-gateway {g.id}", tags=g.tags)
            for g in self.internet_gateways
            if vpc.id in g.vpc_ids
        ]
        found += [
            Tagged(resource=f"nat-gateway {g.id}", tags=g.tags)
            for g in self.nat_gateways
            if vpc.id in g.vpc_ids and g.state in ("pending", "available")
        ]
        found += [
            Tagged(resource=f"instance {i.id}", tags=i.tags)
            for i in self.instances
            if i.id in instance_ids
        ]
        found += [
            Tagged(resource=f"elastic-ip {a.public_ip}", tags=a.tags)
            for a in self.addresses
            if a.instance_id in instance_ids
        ]
        return found

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        ec2 = clients.client("ec2")

        def pages(operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
            paginator = ec2.get_paginator(operation)
            return [item for page in paginator.paginate(**params) for item in page[key]]

        # AWS's largest page (moto's default is 100): a few hundred instances are one call.
        reservations = pages(
            "describe_instances", "Reservations", PaginationConfig={"PageSize": 1000}
        )
        return cls(
            vpcs=[
                Vpc(id=v["VpcId"], cidr=v["CidrBlock"], tags=tags_of(v.get("Tags")))
                for v in pages("describe_vpcs", "Vpcs")
            ],
            subnets=[
                Subnet(
                    id=s["SubnetId"],
                    vpc_id=s["VpcId"],
                    cidr=s["CidrBlock"],
                    availability_zone=s["AvailabilityZone"],
                    map_public_ip=bool(s.get("MapPublicIpOnLaunch")),
                    tags=tags_of(s.get("Tags")),
                )
                for s in pages("describe_subnets", "Subnets")
            ],
            route_tables=[_route_table(t) for t in pages("describe_route_tables", "RouteTables")],
            internet_gateways=[
                Gateway(
                    id=g["InternetGatewayId"],
                    vpc_ids=[a["VpcId"] for a in g.get("Attachments", [])],
                    state="attached" if g.get("Attachments") else "detached",
                    tags=tags_of(g.get("Tags")),
                )
                for g in pages("describe_internet_gateways", "InternetGateways")
            ],
            nat_gateways=[
                NatGateway(
                    id=g["NatGatewayId"],
                    vpc_ids=[g["VpcId"]] if g.get("VpcId") else [],
                    state=g.get("State", ""),
                    subnet_id=g.get("SubnetId"),
                    tags=tags_of(g.get("Tags")),
                )
                for g in pages("describe_nat_gateways", "NatGateways")
            ],
            security_groups=[
                SecurityGroup(
                    id=g["GroupId"],
                    name=g["GroupName"],
                    vpc_id=g.get("VpcId", ""),
                    ingress=_rules(g.get("IpPermissions", [])),
                    egress=_rules(g.get("IpPermissionsEgress", [])),
                    tags=tags_of(g.get("Tags")),
                )
                for g in pages("describe_security_groups", "SecurityGroups")
            ],
            instances=[
                Instance(
                    id=i["InstanceId"],
                    type=i["InstanceType"],
                    state=i["State"]["Name"],
                    vpc_id=i.get("VpcId"),
                    subnet_id=i.get("SubnetId"),
                    availability_zone=i.get("Placement", {}).get("AvailabilityZone", ""),
                    public_ip=i.get("PublicIpAddress"),
                    security_group_ids=[g["GroupId"] for g in i.get("SecurityGroups", [])],
                    tags=tags_of(i.get("Tags")),
                )
                for r in reservations
                for i in r["Instances"]
                if i["State"]["Name"] != "terminated"
            ],
            addresses=[
                Address(
                    allocation_id=a.get("AllocationId"),
                    public_ip=a["PublicIp"],
                    instance_id=a.get("InstanceId"),
                    tags=tags_of(a.get("Tags")),
                )
                for a in ec2.describe_addresses()["Addresses"]
            ],
            images=[
                Image(
                    id=i["ImageId"],
                    name=i.get("Name", ""),
                    state=i.get("State", ""),
                    created=i.get("CreationDate", ""),
                    source_instance_id=i.get("SourceInstanceId"),
                )
                for i in pages("describe_images", "Images", Owners=["self"])
            ],
        )


def _route_table(table: dict[str, Any]) -> RouteTable:
    routes = []
    for r in table.get("Routes", []):
        destination = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock") or ""
        target = r.get("GatewayId") or r.get("NatGatewayId") or r.get("InstanceId") or ""
        routes.append(Route(destination=destination, target=target))
    associations = table.get("Associations", [])
    return RouteTable(
        id=table["RouteTableId"],
        vpc_id=table["VpcId"],
        main=any(a.get("Main") for a in associations),
        subnet_ids=[a["SubnetId"] for a in associations if a.get("SubnetId")],
        routes=routes,
        tags=tags_of(table.get("Tags")),
    )


def _rules(permissions: list[dict[str, Any]]) -> list[Rule]:
    """Flatten AWS's permission blocks into one rule per source."""
    rules = []
    for p in permissions:
        protocol = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp"}.get(
            str(p.get("IpProtocol")), str(p.get("IpProtocol"))
        )
        sources = (
            [(r["CidrIp"], r) for r in p.get("IpRanges", [])]
            + [(r["CidrIpv6"], r) for r in p.get("Ipv6Ranges", [])]
            + [(f"sg:{r['GroupId']}", r) for r in p.get("UserIdGroupPairs", [])]
            + [(f"pl:{r['PrefixListId']}", r) for r in p.get("PrefixListIds", [])]
        )
        for source, entry in sources:
            rules.append(
                Rule(
                    protocol=protocol,
                    from_port=p.get("FromPort") if protocol != "all" else None,
                    to_port=p.get("ToPort") if protocol != "all" else None,
                    source=source,
                    description=entry.get("Description"),
                )
            )
    return rules
