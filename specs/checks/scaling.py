"""Phase 4 auto-scaling of the ECS services ("Production auto-scaling policy").

Each scaled service has an Application Auto Scaling scalable target on its desired count with the
documented minimum and maximum tasks (declared), and a target-tracking policy on the documented
metric, target value and cooldowns (one check per value, so a drift names the one it changes).
The service's desired count, which the policy moves, must lie within the documented range: the
diagram's "(3 tasks)" is a moment of it, not a setting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.checks import CheckContext, ResourceMissing, check
from conformance.declared import Role, Value, declare
from conformance.inventory.autoscaling import (
    DESIRED_COUNT,
    AutoscalingInventory,
    ScalableTarget,
    ScalingPolicy,
    ecs_resource_id,
)
from conformance.spec import AutoScalingSpec, Documented, EcsSpec, EnvironmentSpec
from specs.checks.ecs import service

TARGET_TRACKING = "TargetTrackingScaling"
# Application Auto Scaling's cooldowns for an ECS service when a policy leaves them unset.
DEFAULT_ECS_COOLDOWN = 300


def _resource_id(ctx: CheckContext, key: str) -> str:
    return ecs_resource_id(ctx.inputs.name("ecs-cluster"), ctx.inputs.name(f"ecs-service.{key}"))


def scalable_target(ctx: CheckContext, key: str) -> ScalableTarget:
    """The scalable target of service ``key``'s desired count."""
    resource = _resource_id(ctx, key)
    scaling = ctx.get(AutoscalingInventory)
    found = scaling.target(resource)
    if found is None:
        cluster = resource.rpartition("/")[0] + "/"
        raise ResourceMissing(
            f"an Application Auto Scaling target {resource} ({DESIRED_COUNT})",
            (
                f"{t.resource_id} ({t.dimension})"
                for t in scaling.targets
                if t.resource_id.startswith(cluster)
            ),
        )
    return found


def scaling_policy(ctx: CheckContext, key: str, metric: str) -> ScalingPolicy:
    """Service ``key``'s target-tracking policy: the one on ``metric`` if there is one, else the
    first there is (so its other values are still judged when only the metric drifted)."""
    resource = _resource_id(ctx, key)
    policies = ctx.get(AutoscalingInventory).policies_of(resource)
    tracking = [p for p in policies if p.type == TARGET_TRACKING]
    found = next((p for p in tracking if p.metric == metric), tracking[0] if tracking else None)
    if found is None:
        raise ResourceMissing(
            f"a target-tracking scaling policy on {resource} ({DESIRED_COUNT})",
            (f"{p.name} ({p.type})" for p in policies),
        )
    return found


TARGET = Role(find=scalable_target, label=lambda _key, t: f"scalable target {t.resource_id}")

declare(
    [
        Value(
            "scaling.target.min_capacity",
            title="Each scaled service's scalable target has the documented minimum tasks",
            field="ecs.services.*.min_tasks",
            role=TARGET,
            attribute="min_capacity",
            subject="{resource} minimum capacity (tasks)",
            severity="high",
            remediation="Register the service's scalable target (ecs:service:DesiredCount) with "
            "the documented min_capacity.",
        ),
        Value(
            "scaling.target.max_capacity",
            title="Each scaled service's scalable target has the documented maximum tasks",
            field="ecs.services.*.max_tasks",
            role=TARGET,
            attribute="max_capacity",
            subject="{resource} maximum capacity (tasks)",
            remediation="Register the service's scalable target (ecs:service:DesiredCount) with "
            "the documented max_capacity.",
        ),
    ],
    __name__,
)


def _autoscaling(env: EnvironmentSpec) -> AutoScalingSpec | None:
    return env.ecs.autoscaling if env.ecs is not None else None


def _scaled(ecs: EcsSpec) -> list[str]:
    """The services with a documented task range: those the policy scales."""
    return [
        k for k, s in ecs.services.items() if s.min_tasks is not None and s.max_tasks is not None
    ]


def _policy_check(
    check_id: str,
    what: str,
    field: Callable[[AutoScalingSpec], Documented[Any]],
    read: Callable[[ScalingPolicy], Any],
    remediation: str,
) -> None:
    """Register the check of one target-tracking value, judged on every scaled service's policy."""

    def verify(ctx: CheckContext, documented: AutoScalingSpec) -> None:
        ecs = ctx.env.ecs
        assert ecs is not None
        for key in _scaled(ecs):
            policy = scaling_policy(ctx, key, documented.metric.value)
            ctx.expect(
                field(documented),
                read(policy),
                subject=f"scaling policy {policy.name} of {policy.resource_id} {what}",
            )

    check(
        check_id,
        title=f"Each scaled service's target-tracking policy has the documented {what}",
        area=_autoscaling,
        remediation=remediation,
    )(verify)


def _cooldown(seconds: int | None) -> int:
    """A cooldown the policy leaves unset is Application Auto Scaling's default for ECS."""
    return DEFAULT_ECS_COOLDOWN if seconds is None else seconds


_policy_check(
    "scaling.policy.metric",
    "metric",
    lambda spec: spec.metric,
    lambda policy: policy.metric,
    "Give the service a TargetTrackingScaling policy on the predefined metric "
    "ECSServiceAverageCPUUtilization.",
)
_policy_check(
    "scaling.policy.target_value",
    "target value",
    lambda spec: spec.target_value,
    lambda policy: policy.target_value,
    "Set the target-tracking policy's target_value to the documented one.",
)
_policy_check(
    "scaling.policy.scale_in_cooldown",
    "scale-in cooldown (seconds)",
    lambda spec: spec.scale_in_cooldown,
    lambda policy: _cooldown(policy.scale_in_cooldown),
    "Set the target-tracking policy's scale_in_cooldown to the documented seconds.",
)
_policy_check(
    "scaling.policy.scale_out_cooldown",
    "scale-out cooldown (seconds)",
    lambda spec: spec.scale_out_cooldown,
    lambda policy: _cooldown(policy.scale_out_cooldown),
    "Set the target-tracking policy's scale_out_cooldown to the documented seconds.",
)


def _ranged(env: EnvironmentSpec) -> EcsSpec | None:
    return env.ecs if env.ecs is not None and _scaled(env.ecs) else None


@check(
    "scaling.service.desired_count",
    title="Each scaled service's desired count lies within its documented task range",
    area=_ranged,
    remediation="Set the service's desired_count within the documented min..max (and let "
    "auto-scaling move it there; the IaC should ignore later changes to it).",
)
def desired_in_range(ctx: CheckContext, ecs: EcsSpec) -> None:
    for key in _scaled(ecs):
        documented = ecs.services[key]
        assert documented.min_tasks is not None and documented.max_tasks is not None
        low, high = documented.min_tasks.value, documented.max_tasks.value
        runs = service(ctx, key)
        ctx.expect(
            documented.min_tasks,
            runs.desired_count,
            subject=f"ECS service {runs.name} desired count",
            expected=f"{low} to {high} tasks",
            ok=low <= runs.desired_count <= high,
        )
