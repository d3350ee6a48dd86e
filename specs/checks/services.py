"""The service inventory: SQS, S3, Route 53, ECR, Secrets Manager and CloudWatch Logs (Phase 1,
carried into Phase 2, whose DNS records alias the ALB).

Phase 4's DNS table points the apex at the CloudFront distribution and adds
``api.staging.{domain}``: a record of the site's one hosted zone (checked in production's run,
like the zone) whose target is staging's ALB (the record's documented ``environment``). Its name
is read against the zone's domain, production's."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, check
from conformance.inventory.cloudfront import HOSTED_ZONE_ID, Distribution
from conformance.inventory.ec2 import Ec2Inventory
from conformance.inventory.ecr import EcrInventory
from conformance.inventory.elbv2 import Elbv2Inventory, LoadBalancer
from conformance.inventory.logs import LogsInventory
from conformance.inventory.route53 import Record, Route53Inventory
from conformance.inventory.s3 import S3Inventory
from conformance.inventory.secretsmanager import SecretsManagerInventory
from conformance.inventory.sqs import SqsInventory
from conformance.spec import (
    BucketsSpec,
    DnsRecordSpec,
    Documented,
    EnvironmentSpec,
    QueuesSpec,
    ServicesSpec,
)
from specs.checks.edge import none_serving, serving
from specs.checks.load_balancer import the_alb


def _queues(env: EnvironmentSpec) -> QueuesSpec | None:
    return env.services.queues if env.services else None


def _record(
    name: str, type_: str, target: str
) -> Callable[[EnvironmentSpec], DnsRecordSpec | None]:
    """The documented DNS record ``name``, when it has this type and kind of target."""

    def area(env: EnvironmentSpec) -> DnsRecordSpec | None:
        records = env.services.dns_records if env.services else []
        return next(
            (
                r
                for r in records
                if (r.name.value, r.type.value, r.target.value) == (name, type_, target)
            ),
            None,
        )

    return area


def _expect_present(
    ctx: CheckContext,
    documented: Documented[Any],
    kind: str,
    wanted: list[str],
    found: Iterable[str],
) -> None:
    """One comparison per wanted name; any missing one is reported with what exists instead."""
    existing = set(found)
    missing = [name for name in wanted if name not in existing]
    if missing:
        raise ResourceMissing(f"{kind} {', '.join(missing)}", existing)
    for name in wanted:
        ctx.expect(documented.derive(name), name, subject=f"{kind} {name}")


@check(
    "sqs.queues.present",
    title="Every project queue and its dead-letter queue exists",
    area=_queues,
    severity="high",
    remediation="Create the missing SQS queues (and their -dlq queues) in the OpenTofu config.",
)
def queues_present(ctx: CheckContext, queues: QueuesSpec) -> None:
    kinds = ("queue", "dlq") if queues.dead_letter_queues.value else ("queue",)
    wanted = [ctx.inputs.name(f"{kind}.{q}") for q in ctx.inputs.queues for kind in kinds]
    documented = queues.stated(wanted, queues.dead_letter_queues.note)
    _expect_present(ctx, documented, "SQS queue", wanted, ctx.get(SqsInventory).names)


@check(
    "sqs.queues.redrive",
    title="Each project queue redrives failed messages to its own dead-letter queue",
    area=_queues,
    severity="high",
    remediation="Set each queue's RedrivePolicy deadLetterTargetArn to its <queue>-dlq ARN.",
)
def queues_redrive(ctx: CheckContext, queues: QueuesSpec) -> None:
    sqs = ctx.get(SqsInventory)
    for q in ctx.inputs.queues:
        name = ctx.inputs.name(f"queue.{q}")
        if name not in sqs.queues:
            raise ResourceMissing(f"SQS queue {name}", sqs.names)
        queue = sqs.queues[name]
        target = queue.dead_letter_target.rsplit(":", 1)[-1] if queue.dead_letter_target else None
        dlq = ctx.inputs.name(f"dlq.{q}") if queues.dead_letter_queues.value else None
        ctx.expect(
            queues.dead_letter_queues,
            target or "no redrive policy",
            subject=f"SQS queue {name} RedrivePolicy deadLetterTargetArn",
            expected=dlq or "no redrive policy",
            ok=target == dlq,
        )


@check(
    "s3.buckets.present",
    title="The backups and static-assets buckets exist",
    area=lambda env: env.services.buckets if env.services else None,
    severity="high",
    remediation="Create the documented S3 buckets.",
)
def buckets_present(ctx: CheckContext, buckets: BucketsSpec) -> None:
    roles = buckets.roles
    wanted = [ctx.inputs.name(f"bucket.{role}") for role in roles.value]
    _expect_present(ctx, roles, "S3 bucket", wanted, ctx.get(S3Inventory).names)


def _records(ctx: CheckContext, name: str, type_: str) -> tuple[str, list[Record]]:
    """The zone's ``type_`` records at ``name`` (``@`` is the apex); the zone must exist."""
    route53 = ctx.get(Route53Inventory)
    domain = ctx.inputs.domain.rstrip(".").lower()
    if route53.zone is None:
        raise ResourceMissing(
            f"a public hosted zone {domain}",
            (f"{z.name} ({'private' if z.private else 'public'})" for z in route53.zones),
        )
    fqdn = domain if name == "@" else f"{name}.{domain}"
    found = [r for r in route53.records if r.name == fqdn and r.type == type_]
    if not found:
        raise ResourceMissing(
            f"a {type_} record {fqdn} in zone {route53.zone.id}",
            (f"{r.name} {r.type}" for r in route53.records),
        )
    return fqdn, found


@check(
    "dns.apex.a",
    title="The apex A record points at the app instance's Elastic IP",
    area=_record("@", "A", "elastic-ip"),
    severity="high",
    remediation="Set the apex A record to the Elastic IP associated with the app instance.",
)
def apex_a(ctx: CheckContext, record: DnsRecordSpec) -> None:
    instance = locate.instance(ctx)
    addresses = ctx.get(Ec2Inventory).addresses
    eips = sorted(a.public_ip for a in addresses if a.instance_id == instance.id)
    if not eips:
        raise ResourceMissing(
            f"an Elastic IP associated with {instance.id}",
            (f"{a.public_ip} ({a.instance_id or 'unassociated'})" for a in addresses),
        )
    fqdn, found = _records(ctx, "@", "A")
    values = sorted(v for r in found for v in r.values)
    ctx.expect(
        record.target,
        values,
        subject=f"A record {fqdn}",
        expected=f"Elastic IP of {instance.id}: {', '.join(eips)}",
        ok=len(values) == 1 and values[0] in eips,
    )


@check(
    "dns.www.cname",
    title="www is a CNAME to the apex domain",
    area=_record("www", "CNAME", "@"),
    remediation="Point the www CNAME record at the apex domain.",
)
def www_cname(ctx: CheckContext, record: DnsRecordSpec) -> None:
    fqdn, found = _records(ctx, "www", "CNAME")
    apex = ctx.inputs.domain.rstrip(".").lower()
    values = [v.rstrip(".").lower() for r in found for v in r.values]
    ctx.expect(
        record.target, values, subject=f"CNAME record {fqdn}", expected=apex, ok=values == [apex]
    )


def _aliased_records(env: EnvironmentSpec) -> list[DnsRecordSpec]:
    records = env.services.dns_records if env.services else []
    return [r for r in records if r.target.value == "alb"]


def _alias_target(name: str) -> str:
    """An alias target's DNS name as compared: lower case, no root dot, no dualstack. prefix
    (Route 53 shows an ALB alias as dualstack.<the ALB's DNS name>)."""
    return name.rstrip(".").lower().removeprefix("dualstack.")


def _alb_of(ctx: CheckContext, record: DnsRecordSpec) -> LoadBalancer:
    """The load balancer a record documented as "ALB" points at: its environment's (api.staging:
    staging's, named as staging names it), else the checked environment's."""
    environment = record.environment.value if record.environment else ctx.inputs.environment
    if environment == ctx.inputs.environment:
        return the_alb(ctx)
    name = ctx.inputs.for_environment(environment).name("alb")
    elbv2 = ctx.get(Elbv2Inventory)
    found = elbv2.named(name)
    if found is None:
        raise ResourceMissing(
            f"{environment}'s load balancer {name}", (lb.name for lb in elbv2.load_balancers)
        )
    return found


@check(
    "dns.alb.alias",
    title="Each record documented as the ALB (apex or api.; api.staging. to staging's) is an A "
    "alias to that ALB",
    area=lambda env: env.services if _aliased_records(env) else None,
    severity="high",
    remediation="Make each record an A alias (alias block) to the ALB's DNS name and zone: "
    "api.staging. to staging's ALB, the others to the environment's.",
)
def alb_alias(ctx: CheckContext, services: ServicesSpec) -> None:
    for record in _aliased_records(ctx.env):
        alb = _alb_of(ctx, record)
        fqdn, found = _records(ctx, record.name.value, record.type.value)
        actual = sorted(f"alias {v}" if r.alias else f"value {v}" for r in found for v in r.values)
        ctx.expect(
            record.target,
            actual,
            subject=f"{record.type.value} record {fqdn}",
            expected=f"alias {alb.dns_name} (load balancer {alb.name})",
            ok=len(found) == 1
            and found[0].alias
            and [_alias_target(v) for v in found[0].values] == [_alias_target(alb.dns_name)],
        )


def _cloudfront_records(env: EnvironmentSpec) -> list[DnsRecordSpec]:
    records = env.services.dns_records if env.services else []
    return [r for r in records if r.target.value == "cloudfront"]


def _aliased_distribution(
    found: list[Record], distributions: list[Distribution]
) -> Distribution | None:
    """The distribution the records (one alias) point at, if they do at one of these."""
    if len(found) != 1 or not found[0].alias or len(found[0].values) != 1:
        return None
    name = _alias_target(found[0].values[0])
    return next((d for d in distributions if _alias_target(d.domain) == name), None)


@check(
    "dns.cloudfront.alias",
    title="The apex is an A alias to the environment's CloudFront distribution, which answers "
    "for it",
    area=lambda env: env.services if _cloudfront_records(env) else None,
    severity="high",
    remediation="Make the record an A alias to the distribution's domain (d….cloudfront.net, "
    f"zone {HOSTED_ZONE_ID}) and list the name among the distribution's alternate domain "
    "names (aliases), with a certificate covering it.",
)
def cloudfront_alias(ctx: CheckContext, services: ServicesSpec) -> None:
    """A Route 53 alias to CloudFront names the distribution's domain in CloudFront's one
    hosted zone; CloudFront answers a request for the name only if the distribution lists it
    as an alternate domain name (else 403), so both are required."""
    distributions = [d for d, _ in serving(ctx)]
    if not distributions:
        raise none_serving(ctx)
    for record in _cloudfront_records(ctx.env):
        fqdn, found = _records(ctx, record.name.value, record.type.value)
        actual = sorted(
            f"alias {v} (zone {r.alias_zone})" if r.alias else f"value {v}"
            for r in found
            for v in r.values
        )
        target = _aliased_distribution(found, distributions)
        ctx.expect(
            record.target,
            actual,
            subject=f"{record.type.value} record {fqdn}",
            expected=" or ".join(
                f"alias {d.domain} (zone {HOSTED_ZONE_ID}; distribution {d.id})"
                for d in distributions
            ),
            ok=target is not None and found[0].alias_zone == HOSTED_ZONE_ID,
        )
        if target is not None:
            ctx.expect(
                record.target,
                target.aliases,
                subject=f"alternate domain names of distribution {target.id}",
                expected=f"{fqdn} among them",
                ok=fqdn in target.aliases,
            )


@check(
    "ecr.repositories.present",
    title="Every container image of the compose file has its ECR repository",
    area=lambda env: env.services.container_images if env.services else None,
    remediation="Create an ECR repository acct-atlas-<service> for each image.",
)
def repositories_present(ctx: CheckContext, images: Documented[list[str]]) -> None:
    wanted = [ctx.inputs.name(f"ecr.{image}") for image in images.value]
    found = (r.name for r in ctx.get(EcrInventory).repositories)
    _expect_present(ctx, images, "ECR repository", wanted, found)


@check(
    "secrets.present",
    title="Every documented secret exists in Secrets Manager (existence only)",
    area=lambda env: env.services.secrets if env.services else None,
    severity="high",
    remediation="Create the missing secret in Secrets Manager (never in git).",
)
def secrets_present(ctx: CheckContext, secrets: Documented[list[str]]) -> None:
    wanted = [ctx.inputs.name(f"secret.{key}") for key in secrets.value]
    found = (s.name for s in ctx.get(SecretsManagerInventory).secrets)
    _expect_present(ctx, secrets, "secret", wanted, found)


@check(
    "logs.group.present",
    title="The containers' awslogs log group exists",
    area=lambda env: env.services.log_group if env.services else None,
    remediation="Create the CloudWatch Logs group the awslogs driver writes to.",
)
def log_group_present(ctx: CheckContext, group: Documented[str]) -> None:
    found = (g.name for g in ctx.get(LogsInventory).groups)
    _expect_present(ctx, group, "log group", [group.value], found)
