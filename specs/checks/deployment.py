"""Phase 4 blue-green deployment of the ECS services through CodeDeploy ("Deployment Strategy").

Blue-green is CodeDeploy's: each service (whose deployment controller is CODE_DEPLOY, checked by
``ecs.service.deployment``) has a deployment group of the ECS compute platform in the
environment's application, deploying it BLUE_GREEN with traffic control between its two target
groups. Production's groups also shift traffic by the documented canary configuration, keep the
blue tasks the documented minutes, and roll back on the documented events; rolling back "on
alarm" needs alarms to stop on, which moto does not report (the check is then unverifiable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.checks import CheckContext, ResourceMissing, Unverifiable, check
from conformance.inventory.codedeploy import CodedeployInventory, DeploymentGroup
from conformance.spec import DeploymentSpec, EnvironmentSpec
from specs.checks.ecs import service

ECS_PLATFORM = "ECS"
BLUE_GREEN = "BLUE_GREEN WITH_TRAFFIC_CONTROL"
STOP_ON_ALARM = "DEPLOYMENT_STOP_ON_ALARM"


def deployment_group(ctx: CheckContext, key: str) -> DeploymentGroup:
    """The deployment group of the documented service ``key``, in the environment's application."""
    application = ctx.inputs.name("deploy-app")
    name = ctx.inputs.name(f"deployment-group.{key}")
    codedeploy = ctx.get(CodedeployInventory)
    if application not in codedeploy.applications:
        raise ResourceMissing(f"a CodeDeploy application {application}", codedeploy.applications)
    groups = codedeploy.groups_of(application)
    found = next((g for g in groups if g.name == name), None)
    if found is None:
        raise ResourceMissing(
            f"a deployment group {name} in CodeDeploy application {application}",
            (g.name for g in groups),
        )
    return found


def _groups(ctx: CheckContext) -> list[DeploymentGroup]:
    """Every documented service's deployment group (each located before any is judged)."""
    ecs = ctx.env.ecs
    assert ecs is not None
    return [deployment_group(ctx, key) for key in ecs.services]


def _blue_green(env: EnvironmentSpec) -> DeploymentSpec | None:
    deployment = env.ecs.deployment if env.ecs is not None else None
    return deployment if deployment is not None and deployment.type.value == "blue-green" else None


def _documenting(field: str) -> Callable[[EnvironmentSpec], DeploymentSpec | None]:
    """The blue-green deployment, where it documents the optional ``field``."""

    def area(env: EnvironmentSpec) -> DeploymentSpec | None:
        deployment = _blue_green(env)
        documents = deployment is not None and getattr(deployment, field) is not None
        return deployment if documents else None

    return area


def _target_group_name(arn: str) -> str:
    """A target group's name, from its ARN (…:targetgroup/NAME/ID)."""
    return arn.split(":", 5)[-1].split("/")[1]


@check(
    "deploy.group.blue_green",
    title="Each service is deployed blue-green by a CodeDeploy deployment group (ECS platform, "
    "traffic shifted between its target groups)",
    area=_blue_green,
    severity="high",
    remediation="Create a CodeDeploy deployment group per service in the environment's ECS "
    "application: ecs_service = the service, deployment_style BLUE_GREEN with traffic control, "
    "a target-group pair holding the service's target group and the ALB's production listener.",
)
def blue_green(ctx: CheckContext, documented: DeploymentSpec) -> None:
    ecs = ctx.env.ecs
    assert ecs is not None
    cluster = ctx.inputs.name("ecs-cluster")
    for key, group in zip(ecs.services, _groups(ctx), strict=True):
        runs = service(ctx, key)
        registered = sorted(
            _target_group_name(lb.target_group_arn)
            for lb in runs.load_balancers
            if lb.target_group_arn
        )
        actual = {
            "compute platform": group.compute_platform,
            "deploys": sorted(f"{s.cluster}/{s.service}" for s in group.ecs_services),
            "style": f"{group.deployment_type} {group.deployment_option}",
            "shifts traffic of target groups": sorted(group.target_groups),
        }
        wanted: dict[str, Any] = {
            "compute platform": ECS_PLATFORM,
            "deploys": [f"{cluster}/{runs.name}"],
            "style": BLUE_GREEN,
            "shifts traffic of target groups": "a pair including "
            + (", ".join(registered) or "the service's (it registers with none)"),
        }
        ctx.expect(
            documented.type,
            actual,
            subject=f"deployment group {group.name} of {group.application}",
            expected=wanted,
            ok=all(actual[k] == wanted[k] for k in ("compute platform", "deploys", "style"))
            and bool(registered)
            and set(registered) <= set(group.target_groups),
        )


@check(
    "deploy.group.config",
    title="Each service's deployment group shifts traffic by the documented deployment "
    "configuration (canary)",
    area=_documenting("config"),
    severity="high",
    remediation="Set the deployment group's deployment_config_name to the documented one.",
)
def config(ctx: CheckContext, documented: DeploymentSpec) -> None:
    assert documented.config is not None
    for group in _groups(ctx):
        ctx.expect(
            documented.config,
            group.deployment_config,
            subject=f"deployment group {group.name} deployment configuration",
        )


@check(
    "deploy.group.termination_wait",
    title="Each service's deployment group terminates the blue tasks the documented minutes "
    "after a successful deployment",
    area=_documenting("termination_wait_minutes"),
    remediation="Set blue_green_deployment_config.terminate_blue_instances_on_deployment_success "
    "to action TERMINATE with the documented termination_wait_time_in_minutes.",
)
def termination_wait(ctx: CheckContext, documented: DeploymentSpec) -> None:
    wait = documented.termination_wait_minutes
    assert wait is not None
    for group in _groups(ctx):
        ctx.expect(
            wait,
            {"action": group.termination_action, "minutes": group.termination_wait_minutes},
            subject=f"deployment group {group.name} blue tasks after success",
            expected={"action": "TERMINATE", "minutes": wait.value},
            ok=group.termination_action == "TERMINATE"
            and group.termination_wait_minutes == wait.value,
        )


@check(
    "deploy.group.auto_rollback",
    title="Each service's deployment group rolls back automatically on the documented events",
    area=_documenting("auto_rollback_events"),
    severity="high",
    remediation="Enable auto_rollback_configuration on the documented events "
    "(DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM).",
)
def auto_rollback(ctx: CheckContext, documented: DeploymentSpec) -> None:
    events = documented.auto_rollback_events
    assert events is not None
    for group in _groups(ctx):
        actual = {
            "enabled": group.auto_rollback_enabled,
            "events": sorted(group.auto_rollback_events),
        }
        wanted = {"enabled": True, "events": sorted(events.value)}
        ctx.expect(
            events,
            actual,
            subject=f"deployment group {group.name} automatic rollback",
            expected=wanted,
            ok=actual == wanted,
        )


def _stops_on_alarm(env: EnvironmentSpec) -> DeploymentSpec | None:
    deployment = _documenting("auto_rollback_events")(env)
    events = deployment.auto_rollback_events if deployment is not None else None
    return deployment if events is not None and STOP_ON_ALARM in events.value else None


@check(
    "deploy.group.rollback_alarms",
    title="Each service's deployment group watches CloudWatch alarms, so a deployment can stop "
    "and roll back on alarm",
    area=_stops_on_alarm,
    severity="high",
    remediation="Give the deployment group an enabled alarm_configuration naming the alarms a "
    "bad canary trips (the ALB's 5XX rate, latency); without it DEPLOYMENT_STOP_ON_ALARM never "
    "happens.",
)
def rollback_alarms(ctx: CheckContext, documented: DeploymentSpec) -> None:
    events = documented.auto_rollback_events
    assert events is not None
    groups = _groups(ctx)
    reported = [g for g in groups if g.alarms_enabled is not None]
    passed = [
        ctx.expect(
            events.derive(STOP_ON_ALARM),
            {"enabled": group.alarms_enabled, "alarms": group.alarms},
            subject=f"deployment group {group.name} alarm configuration",
            expected="enabled, with at least one alarm",
            ok=bool(group.alarms_enabled and group.alarms),
        )
        for group in reported
    ]
    if len(reported) < len(groups) and all(passed):
        unreported = [g.name for g in groups if g.alarms_enabled is None]
        raise Unverifiable(
            f"GetDeploymentGroup reports no alarmConfiguration.enabled for {len(unreported)} of "
            f"the {len(groups)} deployment groups (e.g. {unreported[0]})"
        )
