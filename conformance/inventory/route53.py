"""Route 53: the project domain's public hosted zone, its records and tags."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of


class Record(BaseModel):
    name: str  # fully qualified, without the trailing dot
    type: str
    values: list[str]  # record values, or the alias target's DNS name
    alias: bool = False  # an alias record: ``values`` holds its target's DNS name
    alias_zone: str | None = None  # an alias target's hosted zone (CloudFront's: Z2FDTNDATAQYW2)


class HostedZone(BaseModel):
    id: str  # without the /hostedzone/ prefix
    name: str  # without the trailing dot
    private: bool


class Route53Inventory(Section):
    service = "route53"

    zones: list[HostedZone]  # every hosted zone of the account
    zone: HostedZone | None  # the public zone of the project's domain
    records: list[Record]  # the records of that zone
    tags: dict[str, str]  # the tags of that zone

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        if inputs.environment != "production":
            return []  # the account holds it once, for every environment: production's
        if self.zone is None:
            return []
        return [Tagged(resource=f"hosted zone {self.zone.name} ({self.zone.id})", tags=self.tags)]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        route53 = clients.client("route53")
        zones = [
            HostedZone(
                id=z["Id"].rsplit("/", 1)[-1],
                name=_bare(z["Name"]),
                private=bool(z.get("Config", {}).get("PrivateZone")),
            )
            for page in route53.get_paginator("list_hosted_zones").paginate()
            for z in page["HostedZones"]
        ]
        zone = next((z for z in zones if z.name == _bare(inputs.domain) and not z.private), None)
        if zone is None:
            return cls(zones=zones, zone=None, records=[], tags={})
        records = [
            Record(
                name=_bare(r["Name"]),
                type=r["Type"],
                values=(
                    [_bare(r["AliasTarget"]["DNSName"])]
                    if "AliasTarget" in r
                    else [v["Value"] for v in r.get("ResourceRecords", [])]
                ),
                alias="AliasTarget" in r,
                alias_zone=r["AliasTarget"].get("HostedZoneId") if "AliasTarget" in r else None,
            )
            for page in route53.get_paginator("list_resource_record_sets").paginate(
                HostedZoneId=zone.id
            )
            for r in page["ResourceRecordSets"]
        ]
        tag_set = route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone.id)
        return cls(
            zones=zones,
            zone=zone,
            records=records,
            tags=tags_of(tag_set["ResourceTagSet"].get("Tags")),
        )


def _bare(name: str) -> str:
    """A DNS name as people write it: lower case, without the root's trailing dot."""
    return name.rstrip(".").lower()
