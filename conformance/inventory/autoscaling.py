"""Application Auto Scaling of the ECS services (Phase 4: "Production auto-scaling policy").

An ECS service scales through a scalable target (its resource id ``service/{cluster}/{service}``,
dimension ``ecs:service:DesiredCount``, with the minimum and maximum task counts) and the scaling
policies attached to that target. Both are read for the ``ecs`` namespace in one paginated
DescribeScalableTargets and one paginated DescribeScalingPolicies; only the resources of the
collected environments' clusters are kept, so other teams' services stay out of the evidence.

Scalable targets and policies are not tagged here: moto implements no ListTagsForResource for
them, and they cost nothing to allocate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

ECS_NAMESPACE = "ecs"
DESIRED_COUNT = "ecs:service:DesiredCount"


def ecs_resource_id(cluster: str, service: str) -> str:
    """How Application Auto Scaling names an ECS service."""
    return f"service/{cluster}/{service}"


class ScalableTarget(BaseModel):
    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int


class ScalingPolicy(BaseModel):
    name: str
    resource_id: str
    dimension: str
    type: str  # TargetTrackingScaling, StepScaling or PredictiveScaling
    # Target tracking only (None for the other types): the predefined metric's type, or
    # "custom: NAMESPACE/NAME" for a customized one.
    metric: str | None = None
    target_value: float | None = None
    scale_in_cooldown: int | None = None  # seconds; None when the policy leaves the default
    scale_out_cooldown: int | None = None


class AutoscalingInventory(Section):
    service = "application-autoscaling"

    targets: list[ScalableTarget]
    policies: list[ScalingPolicy]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.ecs is not None and env.ecs.autoscaling is not None

    def target(self, resource_id: str, dimension: str = DESIRED_COUNT) -> ScalableTarget | None:
        return next(
            (t for t in self.targets if t.resource_id == resource_id and t.dimension == dimension),
            None,
        )

    def policies_of(self, resource_id: str, dimension: str = DESIRED_COUNT) -> list[ScalingPolicy]:
        return [
            p for p in self.policies if p.resource_id == resource_id and p.dimension == dimension
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        scaling = clients.client("application-autoscaling")
        clusters = tuple(
            ecs_resource_id(env.name("ecs-cluster"), "") for env in inputs.each_environment()
        )
        targets = [
            t
            for page in scaling.get_paginator("describe_scalable_targets").paginate(
                ServiceNamespace=ECS_NAMESPACE
            )
            for t in page["ScalableTargets"]
            if t["ResourceId"].startswith(clusters)
        ]
        policies = [
            p
            for page in scaling.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace=ECS_NAMESPACE
            )
            for p in page["ScalingPolicies"]
            if p["ResourceId"].startswith(clusters)
        ]
        return cls(
            targets=[
                ScalableTarget(
                    resource_id=t["ResourceId"],
                    dimension=t["ScalableDimension"],
                    min_capacity=t["MinCapacity"],
                    max_capacity=t["MaxCapacity"],
                )
                for t in targets
            ],
            policies=[_policy(p) for p in policies],
        )


def _policy(p: dict[str, Any]) -> ScalingPolicy:
    tracking = p.get("TargetTrackingScalingPolicyConfiguration") or {}
    return ScalingPolicy(
        name=p["PolicyName"],
        resource_id=p["ResourceId"],
        dimension=p["ScalableDimension"],
        type=p["PolicyType"],
        metric=_metric(tracking) if tracking else None,
        target_value=tracking.get("TargetValue"),
        scale_in_cooldown=tracking.get("ScaleInCooldown"),
        scale_out_cooldown=tracking.get("ScaleOutCooldown"),
    )


def _metric(tracking: dict[str, Any]) -> str | None:
    predefined = tracking.get("PredefinedMetricSpecification")
    if predefined:
        return str(predefined.get("PredefinedMetricType"))
    custom = tracking.get("CustomizedMetricSpecification")
    if custom:
        name = custom.get("MetricName") or "metric math"
        return f"custom: {custom.get('Namespace', '')}/{name}"
    return None
