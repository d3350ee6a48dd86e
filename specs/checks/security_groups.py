"""Security groups: exactly the documented rules of each role, and no closed port open to the
world."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Network, ip_network

from conformance import locate
from conformance.checks import CheckContext, CheckFunction, Severity, check
from conformance.inventory.ec2 import Ec2Inventory, Rule, SecurityGroup
from conformance.spec import EnvironmentSpec, IngressRule, SecurityGroupSpec, SecurityGroupsSpec

WORLD = ("0.0.0.0/0", "::/0")


def _group(role: str) -> Callable[[EnvironmentSpec], SecurityGroupSpec | None]:
    def area(env: EnvironmentSpec) -> SecurityGroupSpec | None:
        groups = env.security_groups
        return groups.groups.get(role) if groups else None

    return area


def _matches(ctx: CheckContext, documented: IngressRule, rule: Rule) -> bool:
    """Does ``rule`` grant exactly the documented protocol, port and source?"""
    port = documented.port.value
    if rule.protocol != documented.protocol.value or (rule.from_port, rule.to_port) != (port, port):
        return False
    source = documented.source.value
    if source == "admin":
        return _is_admin_source(ctx, rule.source)
    if source.startswith("sg:"):
        return rule.source == f"sg:{locate.security_group(ctx, source[3:]).id}"
    return rule.source == source


def _is_admin_source(ctx: CheckContext, source: str) -> bool:
    """The admin CIDR input exactly; without it, one host (/32) that is not the world."""
    if ctx.inputs.admin_cidr is not None:
        return source == str(ctx.inputs.admin_cidr)
    try:
        network = ip_network(source)
    except ValueError:
        return False
    return isinstance(network, IPv4Network) and network.prefixlen == 32


def _describe(rule: Rule) -> str:
    ports = "all" if rule.from_port is None else f"{rule.from_port}-{rule.to_port}"
    return f"{rule.protocol}/{ports} from {rule.source}"


def _expect_documented_ingress(ctx: CheckContext, role: str, spec: SecurityGroupSpec) -> None:
    group = locate.security_group(ctx, role)
    for documented in spec.ingress:
        if documented.source.value == "admin":
            continue
        found = [_describe(r) for r in group.ingress if _matches(ctx, documented, r)]
        ctx.expect(
            documented.port,
            found or "no such rule",
            subject=f"{group.name} ({group.id}) ingress: {documented.description.value}",
            expected=(
                f"{documented.protocol.value}/{documented.port.value} "
                f"from {documented.source.value}"
            ),
            ok=len(found) == 1,
        )


def _expect_no_extra_ingress(ctx: CheckContext, role: str, spec: SecurityGroupSpec) -> None:
    group = locate.security_group(ctx, role)
    extra = [
        _describe(r) for r in group.ingress if not any(_matches(ctx, d, r) for d in spec.ingress)
    ]
    ctx.expect(
        spec.stated([d.description.value for d in spec.ingress]),
        extra or "none",
        subject=f"{group.name} ({group.id}) ingress rules not in the document",
        expected="none",
        ok=not extra,
    )


@dataclass(frozen=True)
class Role:
    """The checks of one security-group role: its titles (true in every phase), severities and
    remediations."""

    ingress_title: str
    no_extra_title: str
    ingress_remediation: str
    no_extra_remediation: str
    no_extra_severity: Severity = "high"


# Every role a phase file documents (sg.<role>.ingress and sg.<role>.no_extra_ingress each).
# A fixed list, not the union of the phase files' roles: check ids are registered at import, and
# reading every phase file then would make importing the checks fail on any spec error, and a
# new role deserves titles of its own rather than generated ones. tests/test_phase2_network.py
# fails when a phase file documents a role missing here.
ROLES = {
    "ec2-web": Role(
        "sg-ec2-web allows HTTP and HTTPS from anywhere",
        "sg-ec2-web has no ingress rule beyond the documented ones",
        "Add the documented ingress rules to the web security group.",
        "Remove ingress rules the document does not list.",
    ),
    "rds": Role(
        "sg-rds allows PostgreSQL from the application's security group (Phase 1: sg-ec2-web; "
        "Phase 2: sg-ecs)",
        "sg-rds has no ingress rule beyond PostgreSQL from the application's security group",
        "Allow 5432/tcp from the application's security group (a group reference, not a CIDR).",
        "Remove every other ingress rule from the database security group.",
        no_extra_severity="critical",
    ),
    "alb": Role(
        "sg-alb allows HTTP and HTTPS from anywhere",
        "sg-alb has no ingress rule beyond HTTP and HTTPS",
        "Allow 80/tcp and 443/tcp from 0.0.0.0/0 on the load balancer's security group.",
        "Remove ingress rules the document does not list from the load balancer's group.",
    ),
    "ecs": Role(
        "sg-ecs allows each service's port from sg-alb",
        "sg-ecs has no ingress rule beyond the services' ports from sg-alb",
        "Allow each service's container port from the load balancer's security group.",
        "Remove every other ingress rule from the ECS tasks' security group (the tasks are "
        "reached through the ALB only).",
    ),
    "cache": Role(
        "sg-cache allows Redis from sg-ecs",
        "sg-cache has no ingress rule beyond Redis from sg-ecs",
        "Allow 6379/tcp from the ECS tasks' security group (a group reference, not a CIDR).",
        "Remove every other ingress rule from the cache security group.",
        no_extra_severity="critical",
    ),
}


def _documented_ingress(role: str) -> CheckFunction:
    def verify(ctx: CheckContext, spec: SecurityGroupSpec) -> None:
        _expect_documented_ingress(ctx, role, spec)

    return verify


def _no_extra_ingress(role: str) -> CheckFunction:
    def verify(ctx: CheckContext, spec: SecurityGroupSpec) -> None:
        _expect_no_extra_ingress(ctx, role, spec)

    return verify


def _register() -> None:
    """sg.<role>.ingress and sg.<role>.no_extra_ingress for every known role."""
    for role, meta in ROLES.items():
        key = role.replace("-", "_")
        check(
            f"sg.{key}.ingress",
            title=meta.ingress_title,
            area=_group(role),
            severity="high",
            remediation=meta.ingress_remediation,
        )(_documented_ingress(role))
        check(
            f"sg.{key}.no_extra_ingress",
            title=meta.no_extra_title,
            area=_group(role),
            severity=meta.no_extra_severity,
            remediation=meta.no_extra_remediation,
        )(_no_extra_ingress(role))


_register()


@check(
    "sg.ec2_web.ssh",
    title="sg-ec2-web allows SSH only from the admin IP",
    area=_group("ec2-web"),
    severity="critical",
    remediation="Restrict the port-22 rule to the admin CIDR (a single /32 host).",
)
def ec2_web_ssh(ctx: CheckContext, spec: SecurityGroupSpec) -> None:
    group = locate.security_group(ctx, "ec2-web")
    for documented in (d for d in spec.ingress if d.source.value == "admin"):
        port = documented.port.value
        rules = [r for r in group.ingress if r.covers(port) and r.protocol in ("tcp", "all")]
        wanted = str(ctx.inputs.admin_cidr) if ctx.inputs.admin_cidr else "one admin host (/32)"
        ctx.expect(
            documented.source,
            [_describe(r) for r in rules] or "no SSH rule",
            subject=f"{group.name} ({group.id}) ingress on {port}/tcp",
            expected=f"tcp/{port} from {wanted}",
            ok=len(rules) == 1 and _matches(ctx, documented, rules[0]),
        )


@check(
    "sg.ec2_web.egress",
    title="sg-ec2-web allows all outbound traffic (internet access)",
    area=_group("ec2-web"),
    remediation="Allow all egress to 0.0.0.0/0 from the web security group.",
)
def ec2_web_egress(ctx: CheckContext, spec: SecurityGroupSpec) -> None:
    group = locate.security_group(ctx, "ec2-web")
    everything = [r for r in group.egress if r.protocol == "all" and r.source == "0.0.0.0/0"]
    assert spec.egress_all is not None
    ctx.expect(
        spec.egress_all,
        [_describe(r) for r in group.egress] or "no egress",
        subject=f"{group.name} ({group.id}) egress",
        expected="all/all to 0.0.0.0/0",
        ok=bool(everything) == spec.egress_all.value,
    )


@check(
    "sg.vpc.admin_ports_closed_to_world",
    title="No security group in the VPC opens a port the document keeps closed (SSH, the "
    "database, the cache) to 0.0.0.0/0 or ::/0",
    area=lambda env: env.security_groups,
    severity="critical",
    remediation="Remove world-open rules for these ports from every security group in the VPC.",
)
def admin_ports_closed(ctx: CheckContext, spec: SecurityGroupsSpec) -> None:
    vpc = locate.vpc(ctx)
    groups: list[SecurityGroup] = [
        g for g in ctx.get(Ec2Inventory).security_groups if g.vpc_id == vpc.id
    ]
    for port in spec.never_open_to_world.value:
        open_rules = [
            f"{g.name} ({g.id}): {_describe(r)}"
            for g in groups
            for r in g.ingress
            if r.source in WORLD and r.covers(port) and r.protocol in ("tcp", "all")
        ]
        ctx.expect(
            spec.never_open_to_world,
            open_rules or "none",
            subject=f"rules opening {port}/tcp to the world in {vpc.id}",
            expected="none",
            ok=not open_rules,
        )


def _with_descriptions(env: EnvironmentSpec) -> SecurityGroupsSpec | None:
    """The groups of a phase whose document gives each rule's Description (Phase 1's tables)."""
    groups = env.security_groups
    return groups if groups is not None and groups.rule_descriptions is not None else None


@check(
    "sg.rule_descriptions",
    title="Each documented security-group rule carries the document's Description",
    area=_with_descriptions,
    severity="low",
    remediation="Set each ingress rule's description to the Description column of the "
    "document's security-group table (UpdateSecurityGroupRuleDescriptionsIngress).",
)
def rule_descriptions(ctx: CheckContext, spec: SecurityGroupsSpec) -> None:
    """Only the rules that exist: a missing or changed rule is sg.<role>.ingress's failure, and
    a further rule on the same port (a second admin host) is sg.<role>.ssh's or no_extra's."""
    described = spec.rule_descriptions
    assert described is not None
    for role, documented_group in spec.groups.items():
        group = locate.security_group(ctx, role)
        for documented in documented_group.ingress:
            rules = [r for r in group.ingress if _matches(ctx, documented, r)]
            if not rules:
                continue
            wanted = documented.description.value
            ctx.expect(
                described,
                [r.description or "(none)" for r in rules],
                subject=f"{group.name} ({group.id}) description of "
                f"{documented.protocol.value}/{documented.port.value} "
                f"from {documented.source.value}",
                expected=[wanted],
                ok=not described.value or any(r.description == wanted for r in rules),
            )
