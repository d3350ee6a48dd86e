"""Elastic Load Balancing v2: the load balancers (Phase 1 has none)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section


class LoadBalancer(BaseModel):
    arn: str
    name: str
    type: str
    scheme: str
    vpc_id: str | None


class Elbv2Inventory(Section):
    service = "elbv2"

    load_balancers: list[LoadBalancer]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("elbv2").get_paginator("describe_load_balancers")
        return cls(
            load_balancers=[
                LoadBalancer(
                    arn=lb["LoadBalancerArn"],
                    name=lb["LoadBalancerName"],
                    type=lb.get("Type", ""),
                    scheme=lb.get("Scheme", ""),
                    vpc_id=lb.get("VpcId"),
                )
                for page in paginator.paginate()
                for lb in page["LoadBalancers"]
            ]
        )
