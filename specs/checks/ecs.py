"""The Phase-2+ ECS Fargate services: one per row of the ECS Task Definitions table.

Each row's values (task CPU, memory, container port, health-check path, task count) are declared;
how every service runs (launch type, subnets, public IP, security groups, logging, environment,
deployment, load-balancer registration) and what else the cluster runs are judged by functions.

"1 task per service" is checked as the service's desired count: the running count follows it
once tasks start, and an emulator starts none (moto keeps it 0). Where the services auto-scale
(Phase 4 production) no count is documented, only a range: specs/checks/scaling.py checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, check
from conformance.declared import CONTAINS, Role, Value, declare
from conformance.inventory.ecs import Cluster, Container, EcsInventory, EcsService, TaskDefinition
from conformance.inventory.elbv2 import TargetGroup
from conformance.spec import DeploymentSpec, EcsSpec, EnvironmentSpec
from specs.checks.load_balancer import group_labels, subnet_labels, the_alb

# The document's deployment kinds as ECS spells its deployment controllers.
DEPLOYMENT_CONTROLLERS = {"rolling": "ECS", "blue-green": "CODE_DEPLOY"}


def _ecs(env: EnvironmentSpec) -> EcsSpec | None:
    return env.ecs


def _documenting(field: str) -> Callable[[EnvironmentSpec], EcsSpec | None]:
    """The ECS group, where it documents the optional ``field``."""

    def area(env: EnvironmentSpec) -> EcsSpec | None:
        return env.ecs if env.ecs is not None and getattr(env.ecs, field) is not None else None

    return area


def _cluster(ctx: CheckContext) -> Cluster:
    name = ctx.inputs.name("ecs-cluster")
    ecs = ctx.get(EcsInventory)
    found = ecs.cluster(name)
    if found is None:
        raise ResourceMissing(
            f"an ECS cluster {name}", (f"{c.name} ({c.status})" for c in ecs.clusters)
        )
    return found


def service(ctx: CheckContext, key: str) -> EcsService:
    """The ECS service of the documented service ``key``, in the project's cluster."""
    cluster = _cluster(ctx)
    name = ctx.inputs.name(f"ecs-service.{key}")
    running = ctx.get(EcsInventory).services_of(cluster)
    found = next((s for s in running if s.name == name), None)
    if found is None:
        raise ResourceMissing(
            f"an ECS service {name} in cluster {cluster.name}", (s.name for s in running)
        )
    return found


def task_definition(ctx: CheckContext, key: str) -> TaskDefinition:
    """The task definition the service ``key`` runs."""
    runs = service(ctx, key)
    found = ctx.get(EcsInventory).task_definition(runs.task_definition)
    if found is None:
        raise ResourceMissing(f"task definition {runs.task_definition} of {runs.name}", [])
    return found


def target_group(ctx: CheckContext, key: str) -> TargetGroup:
    """The ALB target group the service ``key`` registers its tasks with."""
    runs = service(ctx, key)
    alb = the_alb(ctx)
    registered = [lb.target_group_arn for lb in runs.load_balancers if lb.target_group_arn]
    for group in alb.target_groups:
        if group.arn in registered:
            return group
    raise ResourceMissing(
        f"a target group of load balancer {alb.name} that ECS service {runs.name} registers "
        f"with (it registers with: {', '.join(registered) or 'none'})",
        (g.name for g in alb.target_groups),
    )


def _container(runs: EcsService, task: TaskDefinition) -> Container:
    """The service's container: the one it registers with the load balancer, else the first."""
    named = {lb.container_name for lb in runs.load_balancers}
    found = next((c for c in task.containers if c.name in named), None)
    if found is None and not task.containers:
        raise ResourceMissing(f"a container in task definition {task.family}:{task.revision}", [])
    return found or task.containers[0]


SERVICE = Role(find=service, label=lambda _key, s: f"ECS service {s.name}")
TASK = Role(find=task_definition, label=lambda _key, t: f"task definition {t.family}:{t.revision}")
TARGET_GROUP = Role(find=target_group, label=lambda key, g: f"{key}'s target group {g.name}")

declare(
    [
        Value(
            "ecs.service.desired_count",
            title="Each service runs the documented number of tasks (desired count)",
            field="ecs.services.*.tasks",
            role=SERVICE,
            attribute="desired_count",
            subject="{resource} desired count",
            remediation="Set the service's desired_count to the documented number of tasks.",
        ),
        Value(
            "ecs.task.cpu",
            title="Each task definition has the documented CPU units",
            field="ecs.services.*.cpu",
            role=TASK,
            attribute="cpu",
            subject="{resource} CPU units",
            remediation="Register a task definition revision with the documented cpu.",
        ),
        Value(
            "ecs.task.memory",
            title="Each task definition has the documented memory",
            field="ecs.services.*.memory_mb",
            role=TASK,
            attribute="memory",
            subject="{resource} memory (MiB)",
            remediation="Register a task definition revision with the documented memory.",
        ),
        Value(
            "ecs.task.port",
            title="Each task's container listens on the documented port",
            field="ecs.services.*.port",
            role=TASK,
            attribute=lambda _ctx, task: sorted(p for c in task.containers for p in c.ports),
            compare=CONTAINS,
            subject="{resource} container ports",
            remediation="Map the documented containerPort in the task definition.",
        ),
        Value(
            "ecs.service.health_check",
            title="Each service's target group health check asks the documented path",
            field="ecs.services.*.health_check",
            role=TARGET_GROUP,
            attribute=lambda _ctx, group: group.health_check.path,
            subject="{resource} health check path",
            severity="high",
            remediation="Set the target group's health_check path to the documented one.",
        ),
    ],
    __name__,
)


def _each_service(ctx: CheckContext, ecs: EcsSpec) -> list[tuple[str, EcsService]]:
    return [(key, service(ctx, key)) for key in ecs.services]


@check(
    "ecs.service.launch_type",
    title="Each service runs on Fargate",
    area=_ecs,
    severity="high",
    remediation="Create the service with launch_type FARGATE (or a FARGATE capacity provider).",
)
def launch_type(ctx: CheckContext, ecs: EcsSpec) -> None:
    wanted = ecs.launch_type.value
    for _key, runs in _each_service(ctx, ecs):
        actual = runs.launch_type or "capacity providers " + ", ".join(runs.capacity_providers)
        by_providers = bool(runs.capacity_providers) and all(
            p.startswith(wanted) for p in runs.capacity_providers
        )
        ctx.expect(
            ecs.launch_type,
            actual,
            subject=f"ECS service {runs.name} launch type",
            ok=runs.launch_type == wanted or (runs.launch_type is None and by_providers),
        )


@check(
    "ecs.service.subnets",
    title="Each service's tasks run in exactly the documented private subnets",
    area=_ecs,
    severity="high",
    remediation="Set the service's network_configuration subnets to the private subnets.",
)
def subnets(ctx: CheckContext, ecs: EcsSpec) -> None:
    documented = [locate.subnet(ctx, role).id for role in ecs.subnets.value]
    for _key, runs in _each_service(ctx, ecs):
        ctx.expect(
            ecs.subnets,
            subnet_labels(ctx, runs.subnets),
            subject=f"ECS service {runs.name} subnets",
            expected=subnet_labels(ctx, documented),
            ok=set(runs.subnets) == set(documented),
        )


@check(
    "ecs.service.public_ip",
    title="Each service's tasks get no public IP address",
    area=_ecs,
    severity="high",
    remediation="Set assign_public_ip = false in the service's network_configuration.",
)
def public_ip(ctx: CheckContext, ecs: EcsSpec) -> None:
    wanted = "ENABLED" if ecs.assign_public_ip.value else "DISABLED"
    for _key, runs in _each_service(ctx, ecs):
        ctx.expect(
            ecs.assign_public_ip,
            runs.assign_public_ip or "(not set)",
            subject=f"ECS service {runs.name} assignPublicIp",
            expected=wanted,
            # Unset is DISABLED: ECS assigns no public IP unless asked to.
            ok=(runs.assign_public_ip or "DISABLED") == wanted,
        )


@check(
    "ecs.service.security_groups",
    title="Each service's tasks have exactly the documented security group",
    area=_documenting("security_groups"),
    severity="high",
    remediation="Set the service's network_configuration security_groups to sg-ecs only.",
)
def security_groups(ctx: CheckContext, ecs: EcsSpec) -> None:
    assert ecs.security_groups is not None
    documented = [locate.security_group(ctx, role).id for role in ecs.security_groups.value]
    for _key, runs in _each_service(ctx, ecs):
        ctx.expect(
            ecs.security_groups,
            group_labels(ctx, runs.security_groups),
            subject=f"ECS service {runs.name} security groups",
            expected=group_labels(ctx, documented),
            ok=set(runs.security_groups) == set(documented),
        )


@check(
    "ecs.task.logging",
    title="Each task's containers log to CloudWatch Logs (awslogs, the services' log group)",
    area=_ecs,
    remediation="Give every container an awslogs logConfiguration with the log group and region.",
)
def logging(ctx: CheckContext, ecs: EcsSpec) -> None:
    driver = ecs.log_driver.value
    group = ctx.env.services.log_group.value if ctx.env.services else None
    wanted: dict[str, Any] = {"driver": driver}
    if driver == "awslogs" and group is not None:
        # The log group's region: where the checks read (net.region checks it is the primary).
        wanted |= {"awslogs-group": group, "awslogs-region": ctx.region}
    for key in ecs.services:
        task = task_definition(ctx, key)
        for container in task.containers:
            actual = {"driver": container.log_driver or "(none)"} | {
                k: container.log_options.get(k, "(unset)") for k in wanted if k != "driver"
            }
            ctx.expect(
                ecs.log_driver,
                actual,
                subject=f"task definition {task.family}:{task.revision} container "
                f"{container.name} logConfiguration",
                expected=wanted,
                ok=actual == wanted,
            )


@check(
    "ecs.task.environment",
    title="Each service's container has the documented environment (e.g. Spring profiles)",
    area=_documenting("environment"),
    remediation="Set the documented environment variables in the task definition.",
)
def environment(ctx: CheckContext, ecs: EcsSpec) -> None:
    assert ecs.environment is not None
    for key, wanted in ecs.environment.value.items():
        if key not in ecs.services:
            continue
        runs = service(ctx, key)
        task = task_definition(ctx, key)
        container = _container(runs, task)
        actual = {name: container.environment.get(name, "(unset)") for name in wanted}
        ctx.expect(
            ecs.environment.derive(wanted),
            actual,
            subject=f"task definition {task.family}:{task.revision} container {container.name} "
            "environment",
        )


@check(
    "ecs.service.deployment",
    title="Each service deploys as documented (rolling: ECS's own deployment controller; "
    "blue-green: CodeDeploy's)",
    area=lambda env: env.ecs.deployment if env.ecs is not None else None,
    remediation="Set the service's deployment_controller type to the documented one: ECS for "
    "rolling updates, CODE_DEPLOY for blue-green.",
)
def deployment(ctx: CheckContext, documented: DeploymentSpec) -> None:
    ecs = ctx.env.ecs
    assert ecs is not None
    wanted = DEPLOYMENT_CONTROLLERS[documented.type.value]
    for _key, runs in _each_service(ctx, ecs):
        ctx.expect(
            documented.type,
            runs.deployment_controller,
            subject=f"ECS service {runs.name} deployment controller",
            expected=wanted,
            ok=runs.deployment_controller == wanted,
        )


@check(
    "ecs.service.target_group",
    title="Each service registers its container port with a target group of the ALB",
    area=_ecs,
    severity="high",
    remediation="Give the service a load_balancer block: an ALB target group, the container's "
    "name and the documented port.",
)
def registered(ctx: CheckContext, ecs: EcsSpec) -> None:
    alb = the_alb(ctx)
    groups = {g.arn: g.name for g in alb.target_groups}
    for key, runs in _each_service(ctx, ecs):
        port = ecs.services[key].port
        actual = sorted(
            f"{groups.get(lb.target_group_arn or '', f'not on {alb.name}: {lb.target_group_arn}')}"
            f" <- {lb.container_name}:{lb.container_port}"
            for lb in runs.load_balancers
        )
        ctx.expect(
            port,
            actual or ["not registered with a load balancer"],
            subject=f"ECS service {runs.name} load balancer registration",
            expected=f"a target group of {alb.name} <- container port {port.value}",
            ok=any(
                lb.target_group_arn in groups and lb.container_port == port.value
                for lb in runs.load_balancers
            ),
        )


@check(
    "ecs.cluster.no_extra_services",
    title="The cluster runs only the documented services",
    area=_ecs,
    severity="low",
    remediation="Delete the services the document does not list (or document them).",
)
def no_extra_services(ctx: CheckContext, ecs: EcsSpec) -> None:
    cluster = _cluster(ctx)
    documented = sorted(ctx.inputs.name(f"ecs-service.{key}") for key in ecs.services)
    running = sorted(s.name for s in ctx.get(EcsInventory).services_of(cluster))
    ctx.expect(
        ecs.stated(documented, note="One service per row of the ECS Task Definitions table."),
        running,
        subject=f"services of ECS cluster {cluster.name}",
        ok=set(running) <= set(documented),
    )
