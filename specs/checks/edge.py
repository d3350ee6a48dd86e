"""The edge of Phase 3+: the WAF in front of the load balancer, CloudFront for the static assets
(production only: staging is "Direct ALB access"), and X-Ray's sampling rate.

"ALB + WAF" is read as a web ACL that protects: one associated with an ACL that allows by
default and has no rule that blocks or challenges (no rules, or only Count rules) inspects
traffic and stops none of it, so it fails. An environment's distribution is the one serving its
static-assets bucket (an S3 REST origin) or tagged with its Project and Environment; one serving
its load balancer or answering under its domain serves it too. In Phase 4 it also fronts the
site's dynamic requests: its default behaviour goes to the ALB, the static paths to S3.

X-Ray's "5% sampling" is the fixed rate of the rule each service's traffic falls under: of the
rules taking all of it (matching the service's name as an ECS container, no narrower host, path,
method or attribute match), the first by priority, the Default rule unless a project rule comes
first. A rule for some requests only (health checks at 0%) is an exception, not the rate. The
reservoir (requests a second traced before the rate applies) is not documented, so not checked.
"""

from __future__ import annotations

import math

from conformance.checks import CheckContext, ResourceMissing, check
from conformance.inventory.cloudfront import CloudfrontInventory, Distribution, bucket_of
from conformance.inventory.elbv2 import Elbv2Inventory, LoadBalancer
from conformance.inventory.route53 import Route53Inventory
from conformance.inventory.wafv2 import Wafv2Inventory, WebAcl
from conformance.inventory.xray import XrayInventory
from conformance.spec import CdnSpec, EnvironmentSpec, FirewallSpec, TracingSpec
from specs.checks.load_balancer import the_alb

# The origin the X-Ray SDK reports for a service running as an ECS task (its ECS plugin).
ECS_SERVICE_TYPE = "AWS::ECS::Container"
TAGS_LOCATING = ("Project", "Environment")
DEFAULT_PATH = "*"  # how the inventory names the default cache behaviour


def _firewall(env: EnvironmentSpec) -> FirewallSpec | None:
    return env.firewall


def _cdn(env: EnvironmentSpec) -> CdnSpec | None:
    return env.cdn


def _cdn_origin(env: EnvironmentSpec) -> CdnSpec | None:
    cdn = env.cdn
    return cdn if cdn is not None and cdn.distribution.value and cdn.origin is not None else None


def _cdn_dynamic(env: EnvironmentSpec) -> CdnSpec | None:
    cdn = env.cdn
    return cdn if cdn is not None and cdn.dynamic_origin is not None else None


def _tracing(env: EnvironmentSpec) -> TracingSpec | None:
    return env.tracing


def _enforced(acl: WebAcl) -> list[str]:
    """What the ACL does, for a reader: its default action and each rule's effect."""
    effects = [
        (r.name, r.statement, f"override {r.override_action}" if r.override_action else r.action)
        for r in sorted(acl.rules, key=lambda r: r.priority)
    ]
    return [f"default {acl.default_action}", *(f"{n}: {s} ({e})" for n, s, e in effects)]


@check(
    "waf.web_acl",
    title="A WAFv2 web ACL that blocks something protects the load balancer",
    area=_firewall,
    severity="high",
    remediation="Associate a regional WAFv2 web ACL with the ALB, with at least one enforcing "
    "rule (e.g. the AWS managed common rule set, not overridden to Count).",
)
def web_acl(ctx: CheckContext, firewall: FirewallSpec) -> None:
    alb = the_alb(ctx)
    acl = ctx.get(Wafv2Inventory).for_resource(alb.arn)
    wanted = firewall.web_acl.value
    ctx.expect(
        firewall.web_acl,
        acl.name if acl is not None else "none",
        subject=f"web ACL of load balancer {alb.name}",
        expected="a WAFv2 web ACL" if wanted else "none",
        ok=(acl is not None) == wanted,
    )
    if acl is not None and wanted:
        ctx.expect(
            firewall.web_acl,
            _enforced(acl),
            subject=f"what web ACL {acl.name} enforces",
            expected="default Block, or a rule that blocks or challenges (a rule group not "
            "overridden to Count)",
            ok=acl.protects,
        )


def _under(name: str, domain: str) -> bool:
    return name == domain or name.endswith(f".{domain}")


def _own_name(ctx: CheckContext, name: str) -> bool:
    """Whether a DNS name is this environment's: under its domain (production's excludes
    staging's, which lies under it)."""
    if not _under(name, ctx.inputs.domain.rstrip(".").lower()):
        return False
    if ctx.inputs.environment != "production":
        return True
    staging = ctx.inputs.for_environment("staging").domain.rstrip(".").lower()
    return not _under(name, staging)


def _assets_bucket(ctx: CheckContext) -> str:
    """The bucket the static assets are served from: the documented origin's role."""
    cdn = ctx.env.cdn
    role = cdn.origin.value if cdn is not None and cdn.origin is not None else "static-assets"
    return ctx.inputs.name(f"bucket.{role}")


def _why_serving(ctx: CheckContext, distribution: Distribution) -> list[str]:
    """Why the distribution is this environment's (nothing: it is not)."""
    bucket = _assets_bucket(ctx)
    alb = ctx.get(Elbv2Inventory).named(ctx.inputs.name("alb"))
    reasons = [
        f"origin {o.domain}"
        for o in distribution.origins
        if bucket_of(o.domain) == bucket
        or (alb is not None and o.domain == alb.dns_name)
        or _own_name(ctx, o.domain)
    ]
    reasons += [f"alias {a}" for a in distribution.aliases if _own_name(ctx, a)]
    wanted = _locating_tags(ctx)
    if wanted and all(distribution.tags.get(k) == v for k, v in wanted.items()):
        reasons.append("tags " + ", ".join(f"{k}={v}" for k, v in wanted.items()))
    return reasons


def _locating_tags(ctx: CheckContext) -> dict[str, str]:
    """The documented Project and Environment tag values of this environment."""
    if ctx.env.tags is None:
        return {}
    required = ctx.env.tags.required.value
    return {k: v for k in TAGS_LOCATING if (v := required.get(k)) is not None}


def _shown(distribution: Distribution, reasons: list[str]) -> str:
    state = "enabled" if distribution.enabled else "disabled"
    return f"{distribution.id} ({state}; {'; '.join(reasons)})"


def serving(ctx: CheckContext) -> list[tuple[Distribution, list[str]]]:
    """The distributions serving this environment, each with why it is counted as serving it."""
    cloudfront = ctx.get(CloudfrontInventory)
    found = [(d, _why_serving(ctx, d)) for d in cloudfront.distributions]
    return [(d, reasons) for d, reasons in found if reasons]


def none_serving(ctx: CheckContext) -> ResourceMissing:
    """The failure of a check needing the environment's distribution when none serves it."""
    looked_for = f"a CloudFront distribution with origin S3 bucket {_assets_bucket(ctx)}"
    tags = ", ".join(f"{k}={v}" for k, v in _locating_tags(ctx).items())
    return ResourceMissing(
        f"{looked_for} or tagged {tags}" if tags else looked_for,
        (
            f"{d.id} ({', '.join(o.domain for o in d.origins) or 'no origin'})"
            for d in ctx.get(CloudfrontInventory).distributions
        ),
    )


@check(
    "cdn.distribution",
    title="CloudFront serves the static assets where documented, and no distribution serves "
    "an environment documented without one",
    area=_cdn,
    severity="medium",
    remediation="Production: enable a CloudFront distribution for the static-assets bucket. "
    "Staging: remove the distribution (staging is served directly by its ALB).",
)
def distribution(ctx: CheckContext, cdn: CdnSpec) -> None:
    found = serving(ctx)
    shown = [_shown(d, reasons) for d, reasons in found]
    if cdn.distribution.value:
        if not found:
            raise none_serving(ctx)
        ctx.expect(
            cdn.distribution,
            shown,
            subject=f"CloudFront distributions of {ctx.inputs.environment}",
            expected="an enabled distribution",
            ok=any(d.enabled for d, _ in found),
        )
    else:
        ctx.expect(
            cdn.distribution,
            shown,
            subject=f"CloudFront distributions serving {ctx.inputs.environment}",
            expected="no enabled distribution",
            ok=not any(d.enabled for d, _ in found),
        )


@check(
    "cdn.origin",
    title="The environment's distribution serves from the static-assets bucket",
    area=_cdn_origin,
    severity="medium",
    remediation="Give the distribution the static-assets bucket as an S3 origin and route a "
    "cache behaviour (the static paths, or the default) to it.",
)
def origin(ctx: CheckContext, cdn: CdnSpec) -> None:
    assert cdn.origin is not None
    bucket = _assets_bucket(ctx)
    found = serving(ctx)
    if not found:
        raise none_serving(ctx)
    routed = {d.id: sorted(o.domain for o in d.routed_origins()) for d, _ in found}
    ctx.expect(
        cdn.origin,
        routed,
        subject="origins the environment's distributions route requests to",
        expected=f"S3 bucket {bucket} ({bucket}.s3[.<region>].amazonaws.com)",
        ok=any(bucket_of(o) == bucket for origins in routed.values() for o in origins),
    )


def _is_alb_origin(ctx: CheckContext, domain: str, alb: LoadBalancer) -> bool:
    """Whether an origin domain reaches the ALB: its own DNS name (CloudFront then validates the
    ALB's certificate against the forwarded Host header), or a name of the site's zone aliased
    to it (a name the certificate covers)."""
    if _bare(domain) == _bare(alb.dns_name):
        return True
    if not _own_name(ctx, domain):
        return False
    records = ctx.get(Route53Inventory).records
    return any(
        r.name == domain and r.alias and [_bare(v) for v in r.values] == [_bare(alb.dns_name)]
        for r in records
    )


def _bare(name: str) -> str:
    return name.rstrip(".").lower().removeprefix("dualstack.")


def _routes(distribution: Distribution) -> list[str]:
    """Each cache behaviour as ``path -> origin domain``, for a reader."""
    origins = {o.id: o.domain for o in distribution.origins}
    return [
        f"{b.path_pattern} -> {origins.get(b.target_origin_id, f'no origin {b.target_origin_id}')}"
        for b in distribution.behaviors
    ]


@check(
    "cdn.dynamic_origin",
    title="The distribution sends dynamic requests (its default behaviour) to the ALB and the "
    "static paths to the static-assets bucket",
    area=_cdn_dynamic,
    severity="medium",
    remediation="Give the distribution the ALB as a custom origin (HTTPS only, forwarding the "
    "Host header or under a name its certificate covers), make it the default cache "
    "behaviour's target, and route the static paths (e.g. /_next/static/*) to the S3 origin in "
    "ordered cache behaviours.",
)
def dynamic_origin(ctx: CheckContext, cdn: CdnSpec) -> None:
    """Phase 4: "Dynamic requests (SSR, API routes) route to ECS via ALB" while "CloudFront
    serves static assets from S3": the default behaviour (``*``, whatever no path pattern
    matches) targets an origin reaching the environment's ALB, and at least one path-pattern
    behaviour targets the static-assets bucket's S3 origin. Which
    paths are static is the application's (Next.js: /_next/static/*), so not checked."""
    assert cdn.dynamic_origin is not None
    alb = the_alb(ctx)
    bucket = _assets_bucket(ctx)
    found = serving(ctx)
    if not found:
        raise none_serving(ctx)
    routes = {d.id: _routes(d) for d, _ in found}

    def default_to_alb(d: Distribution) -> bool:
        origins = {o.id: o.domain for o in d.origins}
        return any(
            _is_alb_origin(ctx, origins.get(b.target_origin_id, ""), alb)
            for b in d.behaviors
            if b.path_pattern == DEFAULT_PATH
        )

    def paths_to_bucket(d: Distribution) -> bool:
        origins = {o.id: o.domain for o in d.origins}
        return any(
            bucket_of(origins.get(b.target_origin_id, "")) == bucket
            for b in d.behaviors
            if b.path_pattern != DEFAULT_PATH
        )

    ctx.expect(
        cdn.dynamic_origin,
        routes,
        subject="default cache behaviour of the environment's distributions",
        expected=f"* -> load balancer {alb.name} ({alb.dns_name}, or a name aliased to it)",
        ok=any(default_to_alb(d) for d, _ in found),
    )
    ctx.expect(
        cdn.dynamic_origin,
        routes,
        subject="path-pattern cache behaviours of the environment's distributions",
        expected=f"a static path -> S3 bucket {bucket}",
        ok=any(paths_to_bucket(d) for d, _ in found),
    )


@check(
    "xray.sampling",
    title="X-Ray samples the services' traffic at the documented rate",
    area=_tracing,
    severity="medium",
    remediation="Set the fixed rate of the sampling rule the services' traffic falls under "
    "(the Default rule, or a project rule of lower priority) to the documented rate.",
)
def sampling(ctx: CheckContext, tracing: TracingSpec) -> None:
    xray = ctx.get(XrayInventory)
    services = sorted(ctx.env.ecs.services) if ctx.env.ecs is not None else []
    by_rule: dict[str, list[str]] = {}
    for service in services or ["every service"]:
        rule = xray.applying_to(service, ECS_SERVICE_TYPE) if services else xray.default_rule()
        if rule is None:
            raise ResourceMissing(
                f"a sampling rule taking all of {service}'s traffic (the Default rule at least)",
                (f"{r.name} (priority {r.priority})" for r in xray.rules),
            )
        by_rule.setdefault(rule.name, []).append(service)
    rules = {r.name: r for r in xray.rules}
    for name, applying in sorted(by_rule.items()):
        rule = rules[name]
        ctx.expect(
            tracing.sampling_rate,
            rule.fixed_rate,
            subject=f"fixed rate of sampling rule {name} (priority {rule.priority}), applying to "
            f"{', '.join(applying)}",
            ok=math.isclose(rule.fixed_rate, tracing.sampling_rate.value, abs_tol=1e-9),
        )
