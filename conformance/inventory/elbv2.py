"""Elastic Load Balancing v2: the load balancers, each with its listeners and target groups.

Phase 1 has no load balancer: then only DescribeLoadBalancers is sent. Otherwise the listeners
are read per load balancer, the target groups once (each kept under the load balancers that use
it: one no load balancer uses serves no traffic), and the tags of both in batches of 20 ARNs, as
DescribeTags takes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, Field

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

DESCRIBE_TAGS_BATCH = 20


class Redirect(BaseModel):
    protocol: str | None
    port: str | None
    status_code: str | None  # HTTP_301 or HTTP_302


class Action(BaseModel):
    type: str  # forward, redirect, fixed-response, authenticate-…
    target_group_arns: list[str]
    redirect: Redirect | None


class Listener(BaseModel):
    arn: str
    port: int | None
    protocol: str | None
    certificate_arns: list[str]
    default_actions: list[Action]


class HealthCheck(BaseModel):
    path: str | None
    protocol: str | None
    port: str | None  # "traffic-port" or a port number
    matcher: str | None  # the HTTP codes counted as healthy


class TargetGroup(BaseModel):
    arn: str
    name: str
    port: int | None
    protocol: str | None
    target_type: str | None
    health_check: HealthCheck
    load_balancer_arns: list[str]
    tags: dict[str, str]


class LoadBalancer(BaseModel):
    arn: str
    name: str
    type: str
    scheme: str
    vpc_id: str | None
    dns_name: str = ""
    subnets: list[str] = Field(default_factory=list)
    security_groups: list[str] = Field(default_factory=list)
    listeners: list[Listener] = Field(default_factory=list)
    target_groups: list[TargetGroup] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)


class Elbv2Inventory(Section):
    service = "elbv2"

    load_balancers: list[LoadBalancer]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.load_balancer is not None

    def named(self, name: str) -> LoadBalancer | None:
        return next((lb for lb in self.load_balancers if lb.name == name), None)

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The project's load balancer and its target groups."""
        lb = self.named(inputs.name("alb"))
        if lb is None:
            return []
        return [
            Tagged(resource=f"load balancer {lb.name}", tags=lb.tags),
            *(Tagged(resource=f"target group {g.name}", tags=g.tags) for g in lb.target_groups),
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        elbv2 = clients.client("elbv2")
        found = [
            lb
            for page in elbv2.get_paginator("describe_load_balancers").paginate()
            for lb in page["LoadBalancers"]
        ]
        listeners = {
            lb["LoadBalancerArn"]: [
                _listener(listener)
                for page in elbv2.get_paginator("describe_listeners").paginate(
                    LoadBalancerArn=lb["LoadBalancerArn"]
                )
                for listener in page["Listeners"]
            ]
            for lb in found
        }
        every_group = [
            group
            for page in (elbv2.get_paginator("describe_target_groups").paginate() if found else [])
            for group in page["TargetGroups"]
        ]
        groups = {
            lb["LoadBalancerArn"]: [
                g for g in every_group if lb["LoadBalancerArn"] in g.get("LoadBalancerArns", [])
            ]
            for lb in found
        }
        arns = [lb["LoadBalancerArn"] for lb in found]
        arns += sorted({g["TargetGroupArn"] for gs in groups.values() for g in gs})
        tags = {
            d["ResourceArn"]: tags_of(d.get("Tags"))
            for start in range(0, len(arns), DESCRIBE_TAGS_BATCH)
            for d in elbv2.describe_tags(ResourceArns=arns[start : start + DESCRIBE_TAGS_BATCH])[
                "TagDescriptions"
            ]
        }
        return cls(
            load_balancers=[
                LoadBalancer(
                    arn=lb["LoadBalancerArn"],
                    name=lb["LoadBalancerName"],
                    type=lb.get("Type", ""),
                    scheme=lb.get("Scheme", ""),
                    vpc_id=lb.get("VpcId"),
                    dns_name=lb.get("DNSName", "").lower(),
                    subnets=[z["SubnetId"] for z in lb.get("AvailabilityZones", [])],
                    security_groups=lb.get("SecurityGroups", []),
                    listeners=listeners[lb["LoadBalancerArn"]],
                    target_groups=[
                        _target_group(g, tags.get(g["TargetGroupArn"], {}))
                        for g in groups[lb["LoadBalancerArn"]]
                    ],
                    tags=tags.get(lb["LoadBalancerArn"], {}),
                )
                for lb in found
            ]
        )


def _listener(listener: dict[str, Any]) -> Listener:
    return Listener(
        arn=listener["ListenerArn"],
        port=listener.get("Port"),
        protocol=listener.get("Protocol"),
        certificate_arns=[c["CertificateArn"] for c in listener.get("Certificates", [])],
        default_actions=[_action(a) for a in listener.get("DefaultActions", [])],
    )


def _action(action: dict[str, Any]) -> Action:
    forward = (action.get("ForwardConfig") or {}).get("TargetGroups", [])
    groups = [action["TargetGroupArn"]] if action.get("TargetGroupArn") else []
    redirect = action.get("RedirectConfig")
    return Action(
        type=action.get("Type", ""),
        target_group_arns=sorted({*groups, *(g["TargetGroupArn"] for g in forward)}),
        redirect=Redirect(
            protocol=redirect.get("Protocol"),
            port=redirect.get("Port"),
            status_code=redirect.get("StatusCode"),
        )
        if redirect
        else None,
    )


def _target_group(group: dict[str, Any], tags: dict[str, str]) -> TargetGroup:
    matcher = group.get("Matcher") or {}
    return TargetGroup(
        arn=group["TargetGroupArn"],
        name=group.get("TargetGroupName", ""),
        port=group.get("Port"),
        protocol=group.get("Protocol"),
        target_type=group.get("TargetType"),
        health_check=HealthCheck(
            path=group.get("HealthCheckPath"),
            protocol=group.get("HealthCheckProtocol"),
            port=group.get("HealthCheckPort"),
            matcher=matcher.get("HttpCode") or matcher.get("GrpcCode"),
        ),
        load_balancer_arns=group.get("LoadBalancerArns", []),
        tags=tags,
    )
