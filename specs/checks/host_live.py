"""The running host (--tls-endpoint, --docker-host, --redis-url, --db-dsn): what is deployed.

The same documented values as the configuration-file checks, verified where they take effect:
TLS versions on the wire, container limits in the engine, Redis' and PostgreSQL's live settings.
"""

from __future__ import annotations

import math

from conformance.checks import CheckContext, ResourceMissing, check
from conformance.host.tls import covers
from conformance.spec import (
    ComposeSpec,
    ContainersSpec,
    DatabaseSpec,
    EnvironmentSpec,
    NginxSpec,
    RedisSpec,
    TlsSpec,
)

MB = 1024 * 1024


def megabytes(size: int) -> int | float:
    """Bytes in MB as the document writes them: 2048, not 2048.0 (a fraction stays one)."""
    whole, rest = divmod(size, MB)
    return whole if rest == 0 else size / MB


def _tls(env: EnvironmentSpec) -> TlsSpec | None:
    return env.tls


@check(
    "tls.protocols",
    title="TLS 1.2 and 1.3 are accepted; SSL 3.0, TLS 1.0 and 1.1 are refused on the wire",
    area=_tls,
    severity="critical",
    remediation="Set `ssl_protocols TLSv1.2 TLSv1.3;` and reload nginx.",
)
def protocols(ctx: CheckContext, spec: TlsSpec) -> None:
    report = ctx.run.host.tls(ctx.inputs.domain)
    for version in spec.accepted.value:
        ctx.expect(
            spec.accepted.derive("accepted"),
            "accepted" if report.protocols[version] else "refused",
            subject=f"{version} handshake with {report.endpoint}",
        )
    for version in spec.rejected.value:
        ctx.expect(
            spec.rejected.derive("refused"),
            "accepted" if report.protocols[version] else "refused",
            subject=f"{version} handshake with {report.endpoint}",
        )


@check(
    "tls.certificate_names",
    title="The certificate covers the apex domain and www",
    area=_tls,
    severity="high",
    remediation="Request the certificate with -d <domain> -d www.<domain>.",
)
def certificate_names(ctx: CheckContext, spec: TlsSpec) -> None:
    report = ctx.run.host.tls(ctx.inputs.domain)
    domain = ctx.inputs.domain
    for name in spec.names.value:
        host = domain if name == "@" else f"{name}.{domain}"
        ctx.expect(
            spec.names.derive(host),
            report.certificate.names,
            subject=f"certificate of {report.endpoint} covers {host}",
            ok=covers(report.certificate.names, host),
        )


@check(
    "tls.certificate_expiry",
    title="The certificate is not within 30 days of expiry",
    area=_tls,
    severity="high",
    remediation="Renew the certificate (certbot renew) and check the renewal cron job.",
)
def certificate_expiry(ctx: CheckContext, spec: TlsSpec) -> None:
    report = ctx.run.host.tls(ctx.inputs.domain)
    ctx.expect(
        spec.min_days_left.derive(f">= {spec.min_days_left.value} days left"),
        f"{report.certificate.days_left} days left (until {report.certificate.not_after})",
        subject=f"certificate of {report.endpoint}",
        ok=report.certificate.days_left >= spec.min_days_left.value,
    )


@check(
    "tls.http_redirect",
    title="Plain HTTP answers 301 to https",
    area=_tls,
    severity="high",
    remediation="Make the port-80 server `return 301 https://$host$request_uri;`.",
)
def http_redirect(ctx: CheckContext, spec: TlsSpec) -> None:
    answer = ctx.run.host.http(ctx.inputs.domain)
    location = answer.location or ""
    ctx.expect(
        spec.http_redirect.derive("301 https://…"),
        f"{answer.status} {location or 'no Location'}",
        subject=f"GET http://{ctx.inputs.domain}/",
        ok=answer.status == spec.http_redirect.value and location.startswith("https://"),
    )


def _nginx(env: EnvironmentSpec) -> NginxSpec | None:
    return env.nginx


def _rate_limit(ctx: CheckContext, spec: NginxSpec, path: str) -> None:
    """The location's documented burst and its zone's rate, measured by two bounded bursts."""
    location = spec.locations[path]
    burst = location.burst.value
    rate = float(spec.rate_zones[location.zone.value].rate.value.removesuffix("r/s"))
    found = ctx.run.host.rate_limit(ctx.inputs.domain, path, burst)
    first, second = found.first, found.second
    refill = math.ceil(rate * first.seconds)
    ctx.expect(
        location.burst,
        f"{first.accepted - 1} (of {first.sent} back-to-back: {first.accepted} answered, "
        f"{first.refused} refused, other errors {first.other or 'none'})",
        subject=f"burst at {path}",
        ok=burst <= first.accepted - 1 <= burst + refill and first.refused > 0 and not first.other,
        expected=f"{burst} (+{refill} refilled during the burst)",
    )
    low = rate * found.pause - 1
    high = rate * (found.pause + second.seconds) + 2  # nginx admits one at the burst edge
    ctx.expect(
        spec.rate_zones[location.zone.value].rate,
        f"{second.accepted} answered after {found.pause}s (≈ {second.accepted / found.pause:g}r/s)",
        subject=f"rate at {path}",
        ok=low <= second.accepted <= high and not second.other,
        expected=f"{rate:g}r/s: {max(low, 0):g}–{high:g} answered after {found.pause}s",
    )


@check(
    "ratelimit.auth",
    title="/api/v1/auth/ refuses requests beyond 5r/s with a burst of 5 (opt-in probe)",
    area=_nginx,
    severity="high",
    remediation="Apply `limit_req zone=auth burst=5 nodelay;` with the auth zone at 5r/s.",
)
def rate_limit_auth(ctx: CheckContext, spec: NginxSpec) -> None:
    _rate_limit(ctx, spec, "/api/v1/auth/")


@check(
    "ratelimit.api",
    title="/api/ refuses requests beyond 30r/s with a burst of 20 (opt-in probe)",
    area=_nginx,
    severity="high",
    remediation="Apply `limit_req zone=general burst=20 nodelay;` with the general zone at 30r/s.",
)
def rate_limit_api(ctx: CheckContext, spec: NginxSpec) -> None:
    _rate_limit(ctx, spec, "/api/")


def _containers(env: EnvironmentSpec) -> ContainersSpec | None:
    return env.containers


@check(
    "container.limits",
    title="The running containers have the documented CPU and memory limits",
    area=_containers,
    severity="high",
    remediation="Recreate the containers from the documented Compose file (docker compose up -d).",
)
def container_limits(ctx: CheckContext, spec: ContainersSpec) -> None:
    """Every documented service in one run: the limits of each running one, and each missing
    one as a failure naming the services that do run (so all are fixed in one go)."""
    running = ctx.run.host.containers()
    if not running:
        raise ResourceMissing("running containers", [])
    for name, documented in spec.services.items():
        container = running.get(name)
        if container is None:
            found = f"looked for a container of service {name}; found {', '.join(sorted(running))}"
            ctx.expect(
                documented.memory_mb.derive("present", found),
                "absent",
                subject=f"a container of service {name}",
            )
            continue
        ctx.expect(
            documented.cpus,
            container.nano_cpus / 1e9,
            subject=f"{container.name} NanoCpus / 1e9",
            ok=container.nano_cpus == round(documented.cpus.value * 1e9),
        )
        ctx.expect(
            documented.memory_mb,
            megabytes(container.memory),
            subject=f"{container.name} Memory (MB)",
        )


def _restart(env: EnvironmentSpec) -> ComposeSpec | None:
    return env.compose


@check(
    "container.restart",
    title="The running containers restart always",
    area=_restart,
    remediation="Recreate the containers from the documented Compose file (restart: always).",
)
def container_restart(ctx: CheckContext, spec: ComposeSpec) -> None:
    running = ctx.run.host.containers()
    if not running:
        raise ResourceMissing("running containers", [])
    for container in running.values():
        ctx.expect(spec.restart, container.restart, subject=f"{container.name} RestartPolicy")


def _redis(env: EnvironmentSpec) -> RedisSpec | None:
    return env.redis


@check(
    "redis.maxmemory",
    title="Redis caps its memory at 512 MB",
    area=_redis,
    severity="high",
    remediation="Start redis-server with --maxmemory 512mb.",
)
def redis_maxmemory(ctx: CheckContext, spec: RedisSpec) -> None:
    config = ctx.run.host.redis()
    ctx.expect(spec.maxmemory_mb, megabytes(config.maxmemory), subject="CONFIG GET maxmemory (MB)")


@check(
    "redis.policy",
    title="Redis evicts with allkeys-lru",
    area=_redis,
    remediation="Start redis-server with --maxmemory-policy allkeys-lru.",
)
def redis_policy(ctx: CheckContext, spec: RedisSpec) -> None:
    config = ctx.run.host.redis()
    ctx.expect(
        spec.maxmemory_policy, config.maxmemory_policy, subject="CONFIG GET maxmemory-policy"
    )


@check(
    "redis.persistence",
    title="Redis writes RDB snapshots",
    area=_redis,
    severity="low",
    remediation="Keep a `save` schedule (do not start redis-server with --save '').",
)
def redis_persistence(ctx: CheckContext, spec: RedisSpec) -> None:
    config = ctx.run.host.redis()
    ctx.expect(
        spec.rdb_snapshots,
        config.save or "empty (RDB snapshots off)",
        subject="CONFIG GET save",
        ok=bool(config.save.strip()) == spec.rdb_snapshots.value,
        expected="a save schedule",
    )


def _extensions(env: EnvironmentSpec) -> DatabaseSpec | None:
    return env.database if env.database and env.database.extensions else None


@check(
    "db.extensions",
    title="The database has the postgis and temporal_tables extensions installed",
    area=_extensions,
    severity="high",
    remediation="CREATE EXTENSION each missing extension in the application database.",
)
def extensions(ctx: CheckContext, spec: DatabaseSpec) -> None:
    installed = ctx.run.host.extensions()
    assert spec.extensions is not None
    for name in spec.extensions.value:
        ctx.expect(
            spec.extensions.derive("installed"),
            f"installed ({installed[name]})" if name in installed else "not installed",
            subject=f"extension {name}",
            ok=name in installed,
        )
