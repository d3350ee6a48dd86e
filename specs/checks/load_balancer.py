"""The Phase-2+ load balancer: an internet-facing ALB in the public subnets that terminates TLS
with an ACM certificate and redirects HTTP to HTTPS.

Its type and scheme are declared values; where it sits, its listeners and its certificate are
relations, judged by functions.
"""

from __future__ import annotations

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, check
from conformance.declared import Role, Value, declare
from conformance.inventory.acm import AcmInventory
from conformance.inventory.ec2 import Ec2Inventory
from conformance.inventory.elbv2 import Elbv2Inventory, Listener, LoadBalancer
from conformance.spec import EnvironmentSpec, LoadBalancerSpec


def _load_balancer(env: EnvironmentSpec) -> LoadBalancerSpec | None:
    return env.load_balancer


def _with_security_groups(env: EnvironmentSpec) -> LoadBalancerSpec | None:
    lb = env.load_balancer
    return lb if lb is not None and lb.security_groups is not None else None


def the_alb(ctx: CheckContext) -> LoadBalancer:
    """The project's load balancer, by its name."""
    name = ctx.inputs.name("alb")
    elbv2 = ctx.get(Elbv2Inventory)
    found = elbv2.named(name)
    if found is None:
        raise ResourceMissing(
            f"a load balancer {name}",
            (f"{lb.name} ({lb.type}, {lb.scheme})" for lb in elbv2.load_balancers),
        )
    return found


ALB = Role(find=lambda ctx, _key: the_alb(ctx), label=lambda _key, lb: f"load balancer {lb.name}")

declare(
    [
        Value(
            "alb.type",
            title="The load balancer is an Application Load Balancer",
            field="load_balancer.type",
            role=ALB,
            attribute="type",
            subject="{resource} type",
            severity="high",
            remediation="Recreate the load balancer as load_balancer_type = application.",
        ),
        Value(
            "alb.scheme",
            title="The load balancer is internet-facing",
            field="load_balancer.scheme",
            role=ALB,
            attribute="scheme",
            subject="{resource} scheme",
            severity="high",
            remediation="Recreate the load balancer with internal = false (internet-facing).",
        ),
    ],
    __name__,
)


def subnet_labels(ctx: CheckContext, ids: list[str]) -> list[str]:
    """Subnet ids as "name (id)", for a reader."""
    names = {s.id: s.tags.get("Name", "(unnamed)") for s in ctx.get(Ec2Inventory).subnets}
    return sorted(f"{names.get(i, '(unknown)')} ({i})" for i in ids)


def group_labels(ctx: CheckContext, ids: list[str]) -> list[str]:
    """Security-group ids as "name (id)", for a reader."""
    names = {g.id: g.name for g in ctx.get(Ec2Inventory).security_groups}
    return sorted(f"{names.get(i, '(unknown)')} ({i})" for i in ids)


@check(
    "alb.subnets",
    title="The load balancer is in exactly the documented public subnets",
    area=_load_balancer,
    severity="high",
    remediation="Attach the load balancer to the public subnets only (one per zone).",
)
def subnets(ctx: CheckContext, lb: LoadBalancerSpec) -> None:
    alb = the_alb(ctx)
    documented = [locate.subnet(ctx, role).id for role in lb.subnets.value]
    ctx.expect(
        lb.subnets,
        subnet_labels(ctx, alb.subnets),
        subject=f"subnets of load balancer {alb.name}",
        expected=subnet_labels(ctx, documented),
        ok=set(alb.subnets) == set(documented),
    )


@check(
    "alb.security_groups",
    title="The load balancer has exactly the documented security group",
    area=_with_security_groups,
    severity="high",
    remediation="Attach only sg-alb to the load balancer.",
)
def security_groups(ctx: CheckContext, lb: LoadBalancerSpec) -> None:
    assert lb.security_groups is not None
    alb = the_alb(ctx)
    documented = [locate.security_group(ctx, role).id for role in lb.security_groups.value]
    ctx.expect(
        lb.security_groups,
        group_labels(ctx, alb.security_groups),
        subject=f"security groups of load balancer {alb.name}",
        expected=group_labels(ctx, documented),
        ok=set(alb.security_groups) == set(documented),
    )


def _shown(listener: Listener) -> str:
    return f"{listener.protocol}:{listener.port}"


@check(
    "alb.listener.https",
    title="The load balancer terminates HTTPS on the documented port",
    area=_load_balancer,
    severity="critical",
    remediation="Add an HTTPS listener on port 443 with the ACM certificate.",
)
def https_listener(ctx: CheckContext, lb: LoadBalancerSpec) -> None:
    alb = the_alb(ctx)
    port = lb.https_port.value
    ctx.expect(
        lb.https_port,
        sorted(_shown(listener) for listener in alb.listeners),
        subject=f"listeners of load balancer {alb.name}",
        expected=f"includes HTTPS:{port}",
        ok=any(li.protocol == "HTTPS" and li.port == port for li in alb.listeners),
    )


def covers(certificate_name: str, name: str) -> bool:
    """Whether a certificate name (possibly a ``*.`` wildcard) covers the DNS ``name``."""
    if certificate_name.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == certificate_name[2:]
    return certificate_name == name


@check(
    "alb.certificate",
    title="HTTPS is served with an issued ACM certificate covering the documented names",
    area=_load_balancer,
    severity="critical",
    remediation="Serve an ACM certificate for the apex and api. names, validated (ISSUED).",
)
def certificate(ctx: CheckContext, lb: LoadBalancerSpec) -> None:
    alb = the_alb(ctx)
    https = [li for li in alb.listeners if li.protocol == "HTTPS"]
    if not https:
        raise ResourceMissing(
            f"an HTTPS listener on load balancer {alb.name}", map(_shown, alb.listeners)
        )
    acm = ctx.get(AcmInventory)
    domain = ctx.inputs.domain.rstrip(".").lower()
    wanted = [domain if n == "@" else f"{n}.{domain}" for n in lb.certificate_names.value]
    for listener in https:
        for arn in listener.certificate_arns:
            found = acm.certificate(arn)
            subject = f"{_shown(listener)} certificate {arn.rsplit('/', 1)[-1]}"
            if found is None:
                ctx.expect(
                    lb.certificate,
                    f"not an ACM certificate of {ctx.region}: {arn}",
                    subject=subject,
                    expected="an ACM certificate",
                    ok=False,
                )
                continue
            ctx.expect(
                lb.certificate,
                found.status,
                subject=f"{subject} status",
                expected="ISSUED",
                ok=found.status == "ISSUED",
            )
            missing = [n for n in wanted if not any(covers(c, n) for c in found.names)]
            ctx.expect(
                lb.certificate_names,
                found.names,
                subject=f"{subject} names",
                expected=f"covers {', '.join(wanted)}",
                ok=not missing,
            )


@check(
    "alb.listener.http_redirect",
    title="Port 80 redirects to HTTPS with the documented status",
    area=_load_balancer,
    severity="high",
    remediation="Make the port-80 listener's default action a redirect to HTTPS:443, HTTP_301.",
)
def http_redirect(ctx: CheckContext, lb: LoadBalancerSpec) -> None:
    alb = the_alb(ctx)
    http = [li for li in alb.listeners if li.port == 80]
    if not http:
        raise ResourceMissing(
            f"a listener on port 80 of load balancer {alb.name}", map(_shown, alb.listeners)
        )
    wanted = ("HTTPS", str(lb.https_port.value), f"HTTP_{lb.http_redirect.value}")
    for listener in http:
        actions = [
            f"{a.type} {a.redirect.protocol}:{a.redirect.port} {a.redirect.status_code}"
            if a.redirect
            else a.type
            for a in listener.default_actions
        ]
        redirects = [
            (a.redirect.protocol, a.redirect.port, a.redirect.status_code)
            for a in listener.default_actions
            if a.type == "redirect" and a.redirect
        ]
        ctx.expect(
            lb.http_redirect,
            actions,
            subject=f"{_shown(listener)} default action",
            expected=f"redirect {wanted[0]}:{wanted[1]} {wanted[2]}",
            ok=redirects == [wanted],
        )
