"""ECS: the clusters, each cluster's services, and the task definitions those services run.

Every cluster of the region is listed (staging's and production's alike), so nothing is asked
for by name; a check and ``tagged`` pick their environment's cluster by its name.

Container environment values are recorded only where the variable's name does not look like a
secret (a password or key in plain ``environment`` is already a finding, but the evidence must
not repeat it), and scrubbed of credentials in URLs and connection strings; ``secrets`` are
recorded by name only, never where their value comes from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged
from conformance.redact import scrub

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

NOT_RECORDED = "(not recorded)"
SECRET_NAME = re.compile(r"(?i)pass|secret|token|key|credential|private")
DESCRIBE_SERVICES_BATCH = 10  # DescribeServices takes at most 10 services per call
DESCRIBE_CLUSTERS_BATCH = 100


class Cluster(BaseModel):
    arn: str
    name: str
    status: str
    tags: dict[str, str]


class ServiceLoadBalancer(BaseModel):
    """A target group the service registers its tasks with, on a container's port."""

    target_group_arn: str | None
    container_name: str | None
    container_port: int | None


class EcsService(BaseModel):
    arn: str
    name: str
    cluster_arn: str
    status: str
    launch_type: str | None  # None when the service uses a capacity provider strategy
    capacity_providers: list[str]
    desired_count: int
    running_count: int
    task_definition: str  # the ARN of the task definition it runs
    subnets: list[str]
    security_groups: list[str]
    assign_public_ip: str | None  # ENABLED / DISABLED (awsvpc network mode only)
    load_balancers: list[ServiceLoadBalancer]
    deployment_controller: str  # ECS (rolling), CODE_DEPLOY (blue-green) or EXTERNAL
    tags: dict[str, str]


class Container(BaseModel):
    name: str
    image: str
    ports: list[int]  # the container ports of its port mappings
    environment: dict[str, str]  # values of secret-looking names are NOT_RECORDED
    secrets: list[str]  # the names of the variables set from secrets, never their source
    log_driver: str | None
    log_options: dict[str, str]


class TaskDefinition(BaseModel):
    arn: str
    family: str
    revision: int
    cpu: int | None  # task-level CPU units
    memory: int | None  # task-level memory (MiB)
    network_mode: str | None
    requires_compatibilities: list[str]
    containers: list[Container]
    tags: dict[str, str]


class EcsInventory(Section):
    service = "ecs"
    fans_out = True

    clusters: list[Cluster]
    services: list[EcsService]
    task_definitions: list[TaskDefinition]  # those the services run, each read once

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.ecs is not None

    def cluster(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    def services_of(self, cluster: Cluster) -> list[EcsService]:
        return [s for s in self.services if s.cluster_arn == cluster.arn]

    def task_definition(self, arn: str) -> TaskDefinition | None:
        return next((t for t in self.task_definitions if t.arn == arn), None)

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The environment's cluster (by its exact name: staging has a cluster of its own), its
        services and the task definitions they run."""
        cluster = self.cluster(inputs.name("ecs-cluster"))
        if cluster is None:
            return []
        services = self.services_of(cluster)
        running = {s.task_definition for s in services}
        return [
            Tagged(resource=f"ECS cluster {cluster.name}", tags=cluster.tags),
            *(Tagged(resource=f"ECS service {s.name}", tags=s.tags) for s in services),
            *(
                Tagged(resource=f"task definition {t.family}:{t.revision}", tags=t.tags)
                for t in self.task_definitions
                if t.arn in running
            ),
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        ecs = clients.client("ecs")
        cluster_arns = [
            arn
            for page in ecs.get_paginator("list_clusters").paginate()
            for arn in page["clusterArns"]
        ]
        clusters = [
            Cluster(
                arn=c["clusterArn"],
                name=c["clusterName"],
                status=c.get("status", ""),
                tags=_tags(c.get("tags")),
            )
            for batch in _batches(cluster_arns, DESCRIBE_CLUSTERS_BATCH)
            for c in ecs.describe_clusters(clusters=batch, include=["TAGS"])["clusters"]
        ]
        services = []
        for cluster in clusters:
            arns = [
                arn
                for page in ecs.get_paginator("list_services").paginate(cluster=cluster.arn)
                for arn in page["serviceArns"]
            ]
            for batch in _batches(arns, DESCRIBE_SERVICES_BATCH):
                described = ecs.describe_services(
                    cluster=cluster.arn, services=batch, include=["TAGS"]
                )
                services += [_service(s) for s in described["services"]]
        task_definitions = [
            _task_definition(ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]))
            for arn in sorted({s.task_definition for s in services})
        ]
        return cls(clusters=clusters, services=services, task_definitions=task_definitions)


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    """ECS's [{key, value}] tag lists as a dict."""
    return {t["key"]: t.get("value", "") for t in items or []}


def _service(s: dict[str, Any]) -> EcsService:
    network = (s.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    return EcsService(
        arn=s["serviceArn"],
        name=s["serviceName"],
        cluster_arn=s.get("clusterArn", ""),
        status=s.get("status", ""),
        launch_type=s.get("launchType"),
        capacity_providers=[p["capacityProvider"] for p in s.get("capacityProviderStrategy", [])],
        desired_count=s.get("desiredCount", 0),
        running_count=s.get("runningCount", 0),
        task_definition=s.get("taskDefinition", ""),
        subnets=network.get("subnets", []),
        security_groups=network.get("securityGroups", []),
        assign_public_ip=network.get("assignPublicIp"),
        load_balancers=[
            ServiceLoadBalancer(
                target_group_arn=lb.get("targetGroupArn"),
                container_name=lb.get("containerName"),
                container_port=lb.get("containerPort"),
            )
            for lb in s.get("loadBalancers", [])
        ],
        deployment_controller=(s.get("deploymentController") or {}).get("type", "ECS"),
        tags=_tags(s.get("tags")),
    )


def _task_definition(answer: dict[str, Any]) -> TaskDefinition:
    t = answer["taskDefinition"]
    return TaskDefinition(
        arn=t["taskDefinitionArn"],
        family=t["family"],
        revision=t.get("revision", 0),
        cpu=_units(t.get("cpu")),
        memory=_units(t.get("memory")),
        network_mode=t.get("networkMode"),
        requires_compatibilities=t.get("requiresCompatibilities", []),
        containers=[_container(c) for c in t.get("containerDefinitions", [])],
        tags=_tags(answer.get("tags")),
    )


def _units(value: str | int | None) -> int | None:
    """Task CPU and memory, which ECS returns as text ("512"); "1 vCPU"/"1 GB" are not read."""
    if value is None:
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _container(c: dict[str, Any]) -> Container:
    log = c.get("logConfiguration") or {}
    return Container(
        name=c.get("name", ""),
        image=c.get("image", ""),
        ports=[p["containerPort"] for p in c.get("portMappings", []) if "containerPort" in p],
        environment=_recorded({e["name"]: e.get("value", "") for e in c.get("environment", [])}),
        secrets=sorted(s["name"] for s in c.get("secrets", [])),
        log_driver=log.get("logDriver"),
        log_options=_recorded(log.get("options") or {}),
    )


def _recorded(values: dict[str, str]) -> dict[str, str]:
    """``values`` with every secret-looking name's value replaced by NOT_RECORDED, and the rest
    scrubbed as every output is (a DATABASE_URL's password, a token in a query string)."""
    return {k: NOT_RECORDED if SECRET_NAME.search(k) else scrub(v) for k, v in values.items()}
