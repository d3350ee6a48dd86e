"""docker-compose.prod.yml (--compose-file): the ten containers, their limits, images and logging.

Read with Compose's semantics (interpolation, memory notations, list or map environment). Only
SPRING_PROFILES_ACTIVE, NODE_ENV and the port variables are ever read from a service's
environment; of the other variables (the secrets among them) only the names are known.
"""

from __future__ import annotations

import re

from conformance.checks import CheckContext, ResourceMissing, check
from conformance.errors import ConformanceError
from conformance.host.compose import ComposeProject, ComposeService
from conformance.spec import ComposeSpec, ContainersSpec, EnvironmentSpec
from specs.checks.host_live import MB, megabytes

_ECR_REGISTRY = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$")
# The port an official image listens on when its Compose service states none.
_IMAGE_PORTS = {"redis": [6379]}
_PORT_VARIABLES = ("SERVER_PORT", "PORT")  # Spring Boot's server.port, Node's PORT


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
    targets = [m.target for m in service.volumes]
    ctx.expect(
        spec.redis_volume,
        targets,
        subject="redis volumes",
        ok=spec.redis_volume.value in targets,
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


def _listening_ports(service: ComposeService) -> list[int] | None:
    """The container ports the service states (``expose``, ``ports`` targets, its port
    variable), else its official image's own; None when neither says."""
    stated = set(service.container_ports)
    for variable in _PORT_VARIABLES:
        value = service.environment.get(variable, "")
        stated |= {int(value)} if value.isdigit() else set()
    if stated:
        return sorted(stated)
    repository = (service.image or "").split("/")[-1].split(":")[0]
    return _IMAGE_PORTS.get(repository)


@check(
    "compose.container_ports",
    title="Each container listens on its port of the Environment Topology (api-gateway 8080, …)",
    area=_compose,
    remediation="State each service's documented port with `expose` (e.g. expose: ['8081']).",
)
def container_ports(ctx: CheckContext, spec: ComposeSpec) -> None:
    """Compared where the file states a port. The document's own Compose block states none for
    the app services (each image listens on its configured port): a file that states none for a
    service cannot contradict the diagram there, and a file that states none at all leaves the
    check not verifiable, never passed."""
    project = ctx.run.host.compose()
    for name, documented in spec.container_ports.value.items():
        actual = _listening_ports(_service(project, name))
        if actual is None:
            continue
        ctx.expect(
            spec.container_ports.derive(documented),
            actual,
            subject=f"{name} container ports",
        )


@check(
    "compose.proxy_volumes",
    title="nginx mounts nginx.conf and the Let's Encrypt certificates read-only",
    area=_compose,
    severity="high",
    remediation="Mount ./nginx/nginx.conf:/etc/nginx/nginx.conf:ro and the certificates :ro.",
)
def proxy_volumes(ctx: CheckContext, spec: ComposeSpec) -> None:
    nginx = _service(ctx.run.host.compose(), "nginx")
    mounts = {m.target.rstrip("/") or "/": m for m in nginx.volumes}
    for target in spec.nginx_volumes.value:
        mount = mounts.get(target)
        actual = "not mounted" if mount is None else "read-only" if mount.read_only else "writable"
        ctx.expect(spec.nginx_volumes.derive("read-only"), actual, subject=f"nginx volume {target}")


@check(
    "compose.depends_on",
    title="nginx starts after api-gateway and web-app",
    area=_compose,
    severity="low",
    remediation="List api-gateway and web-app in nginx's depends_on.",
)
def depends_on(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    for name, documented in spec.depends_on.value.items():
        actual = _service(project, name).depends_on
        ctx.expect(
            spec.depends_on.derive(documented),
            actual,
            subject=f"{name} depends_on",
            ok=set(documented) <= set(actual),
        )


@check(
    "compose.secret_variables",
    title="Each secret reaches the services that use it as an environment variable (names only)",
    area=_compose,
    severity="high",
    remediation="Inject each secret into its services' environment (or env_file) from Secrets "
    "Manager, e.g. DB_PASSWORD=${DB_PASSWORD}.",
)
def secret_variables(ctx: CheckContext, spec: ComposeSpec) -> None:
    project = ctx.run.host.compose()
    unverifiable = []
    for secret, documented in spec.secret_variables.items():
        accepted = documented.names.value
        for name in documented.used_by.value:
            service = _service(project, name)
            found = [n for n in accepted if n in service.variable_names]
            if not found and service.unread_env_files:
                unverifiable.append(f"{secret} for {name} (env_file {service.unread_env_files[0]})")
                continue
            ctx.expect(
                documented.used_by.derive(" or ".join(accepted), documented.names.note),
                found[0] if found else "not set",
                subject=f"{name} variable for {secret}",
                ok=bool(found),
            )
    if unverifiable and all(c.ok for c in ctx.comparisons):
        raise ConformanceError(
            f"not verifiable here: {', '.join(unverifiable)} not beside {project.path}"
        )
