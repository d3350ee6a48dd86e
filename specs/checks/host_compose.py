"""docker-compose.prod.yml (--compose-file): the ten containers, their limits, images and logging.

Read with Compose's semantics (interpolation, memory notations, list or map environment). Only
SPRING_PROFILES_ACTIVE and NODE_ENV are ever read from a service's environment.
"""

from __future__ import annotations

import re

from conformance.checks import CheckContext, ResourceMissing, check
from conformance.host.compose import ComposeProject, ComposeService
from conformance.spec import ComposeSpec, ContainersSpec, EnvironmentSpec
from specs.checks.host_live import MB, megabytes

_ECR_REGISTRY = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$")


def _compose(env: EnvironmentSpec) -> ComposeSpec | None:
    return env.compose if env.containers is not None else None


def _containers(ctx: CheckContext) -> ContainersSpec:
    """The Resource Allocation table; ``_compose`` only applies where it is documented."""
    containers = ctx.env.containers
    assert containers is not None
    return containers


def _service(project: ComposeProject, name: str) -> ComposeService:
    if name not in project.services:
        raise ResourceMissing(f"service {name} in {project.path}", project.services)
    return project.services[name]


@check(
    "compose.services",
    title="The Compose file defines exactly the ten documented services",
    area=_compose,
    severity="high",
    remediation="Define one service per row of the Resource Allocation table, and no others.",
)
def services(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    containers = _containers(ctx)
    ctx.expect(
        containers.stated(sorted(containers.services)),
        sorted(project.services),
        subject=f"services of {project.path}",
        ok=set(project.services) == set(containers.services),
    )


@check(
    "compose.limits",
    title="Each service has the CPU and memory limits of the Resource Allocation table",
    area=_compose,
    severity="high",
    remediation="Set deploy.resources.limits cpus and memory to the documented values.",
)
def limits(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    for name, documented in _containers(ctx).services.items():
        service = _service(project, name)
        ctx.expect(
            documented.cpus,
            service.cpus,
            subject=f"{name} cpus",
            ok=service.cpus is not None and abs(service.cpus - documented.cpus.value) < 0.001,
        )
        memory = megabytes(service.memory_bytes) if service.memory_bytes is not None else None
        ctx.expect(documented.memory_mb, memory, subject=f"{name} memory (MB)")


@check(
    "compose.totals",
    title="The containers' limits fit the t3.xlarge with headroom for the OS, Docker and agent",
    area=_compose,
    remediation="Lower container limits so that their sums stay below the host's 4 vCPU / 16 GB.",
)
def totals(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    containers = _containers(ctx)
    cpus = round(sum(s.cpus or 0 for s in project.services.values()), 2)
    memory = sum((s.memory_bytes or 0) // MB for s in project.services.values())
    note = "The sum of the limits must stay below the host's capacity (headroom)."
    ctx.expect(
        containers.host_vcpus.derive(f"< {containers.host_vcpus.value}", note),
        cpus,
        subject="sum of cpus limits",
        ok=0 < cpus < containers.host_vcpus.value,
    )
    ctx.expect(
        containers.host_memory_mb.derive(f"< {containers.host_memory_mb.value}", note),
        memory,
        subject="sum of memory limits (MB)",
        ok=0 < memory < containers.host_memory_mb.value,
    )


@check(
    "compose.restart",
    title="Every service restarts always",
    area=_compose,
    remediation="Set `restart: always` on every service.",
)
def restart(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    for name, service in project.services.items():
        ctx.expect(spec.restart, service.restart, subject=f"{name} restart")


@check(
    "compose.images",
    title="Each service runs its documented image (ECR acct-atlas-<service> for the app)",
    area=_compose,
    severity="high",
    remediation="Use nginx:alpine, redis:7-alpine and ${ECR_REGISTRY}/acct-atlas-<service>:${TAG}.",
)
def images(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    for name, image in spec.images.value.items():
        service = _service(project, name)
        if image != "ecr":
            ctx.expect(spec.images.derive(image), service.image, subject=f"{name} image")
            continue
        registry, _, rest = (service.image or "").rpartition("/")
        raw_registry = (service.image_raw or "").rpartition("/")[0]
        registry_ok = bool(_ECR_REGISTRY.match(registry)) or (
            not registry and raw_registry.startswith("$")
        )
        ctx.expect(
            spec.images.derive(f"<ECR registry>/acct-atlas-{name}:<tag>"),
            service.image_raw,
            subject=f"{name} image",
            ok=registry_ok and rest.split(":")[0] == f"acct-atlas-{name}",
        )


@check(
    "compose.ports",
    title="Only nginx publishes ports, 80 and 443",
    area=_compose,
    severity="high",
    remediation="Publish 80 and 443 on nginx and nothing on the other services.",
)
def ports(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    for name, service in project.services.items():
        expected = spec.published_ports.value.get(name, [])
        ctx.expect(
            spec.published_ports.derive(expected),
            sorted(service.published_ports),
            subject=f"{name} published ports",
        )


@check(
    "compose.environment",
    title="Spring profiles are prod (search-service prod,fts) and web-app runs NODE_ENV=production",
    area=_compose,
    remediation="Set SPRING_PROFILES_ACTIVE / NODE_ENV in each service's environment.",
)
def environment(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    for name, variables in spec.environment.value.items():
        service = _service(project, name)
        for key, value in variables.items():
            ctx.expect(
                spec.environment.derive(value),
                service.environment.get(key, "not set"),
                subject=f"{name} {key}",
            )


@check(
    "compose.redis",
    title="Redis runs with maxmemory 512mb, allkeys-lru and a data volume",
    area=_compose,
    remediation="Run `redis-server --maxmemory 512mb --maxmemory-policy allkeys-lru` with /data.",
)
def redis(ctx: CheckContext, spec: ComposeSpec) -> None:
    service = _service(ctx.run.host.compose(), "redis")
    ctx.expect(spec.redis_command, service.command, subject="redis command")
    ctx.expect(
        spec.redis_volume,
        service.volume_targets,
        subject="redis volumes",
        ok=spec.redis_volume.value in service.volume_targets,
    )


@check(
    "compose.logging",
    title="Every service logs to CloudWatch through the awslogs driver",
    area=_compose,
    remediation="Add the documented awslogs logging block to every service.",
)
def logging(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    expected = spec.logging.value
    for name, service in project.services.items():
        actual = {"driver": service.logging_driver or "not set", **service.logging_options}
        ok = all(
            bool(actual.get(key)) if value == "*" else actual.get(key) == value
            for key, value in expected.items()
        )
        ctx.expect(spec.logging, actual, subject=f"{name} logging", ok=ok)
