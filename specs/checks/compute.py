"""The Phase-1 Docker host: instance type (declared), placement, Elastic IP and security group,
the CloudWatch agent's metrics and the manual AMIs; from Phase 2, that no such host serves the
site any more."""

from __future__ import annotations

from conformance import locate
from conformance.checks import CheckContext, check
from conformance.declared import Role, Value, declare
from conformance.inventory.cloudwatch import (
    AGENT_METRICS,
    AgentMetricsInventory,
    CloudwatchInventory,
)
from conformance.inventory.ec2 import Ec2Inventory, Instance
from conformance.spec import Ec2HostSpec, EnvironmentSpec, RetiredSpec


def _host(env: EnvironmentSpec) -> Ec2HostSpec | None:
    return env.ec2_host


def _label(instance: Instance) -> str:
    return f"instance {instance.tags.get('Name', '(unnamed)')} ({instance.id})"


INSTANCE = Role(find=lambda ctx, _key: locate.instance(ctx), label=lambda _key, i: _label(i))

declare(
    [
        Value(
            "ec2.instance.type",
            title="The app host has the documented instance type",
            field="ec2_host.instance_type",
            role=INSTANCE,
            attribute="type",
            subject="{resource} type",
            severity="high",
            remediation="Set the instance_type of the app host (stop, change the type, start).",
        ),
    ],
    __name__,
)


@check(
    "ec2.instance.subnet",
    title="The app host runs in the documented public subnet",
    area=_host,
    severity="high",
    remediation="Launch the app host in the public subnet (a new instance; subnets are fixed).",
)
def instance_subnet(ctx: CheckContext, host: Ec2HostSpec) -> None:
    instance = locate.instance(ctx)
    subnet = locate.subnet(ctx, host.subnet.value)
    names = {s.id: s.tags.get("Name", "(unnamed)") for s in ctx.get(Ec2Inventory).subnets}
    actual = instance.subnet_id
    ctx.expect(
        host.subnet,
        f"{names.get(actual, '(unnamed)')} ({actual})" if actual else "no subnet",
        subject=f"{_label(instance)} subnet",
        expected=f"{subnet.tags.get('Name')} ({subnet.id})",
        ok=instance.subnet_id == subnet.id,
    )


@check(
    "ec2.instance.elastic_ip",
    title="An Elastic IP is associated with the app host (the apex A record points at it)",
    area=_host,
    severity="high",
    remediation="Allocate an Elastic IP and associate it with the app host.",
)
def instance_elastic_ip(ctx: CheckContext, host: Ec2HostSpec) -> None:
    instance = locate.instance(ctx)
    associated = [
        f"{a.public_ip} ({a.allocation_id})"
        for a in ctx.get(Ec2Inventory).addresses
        if a.instance_id == instance.id
    ]
    ctx.expect(
        host.elastic_ip,
        associated or "none",
        subject=f"Elastic IPs associated with {_label(instance)}",
        expected="an Elastic IP" if host.elastic_ip.value else "none",
        ok=bool(associated) == host.elastic_ip.value,
    )


@check(
    "ec2.instance.security_groups",
    title="The app host has exactly the documented security group",
    area=_host,
    severity="high",
    remediation="Attach only sg-ec2-web to the app host's network interface.",
)
def instance_security_groups(ctx: CheckContext, host: Ec2HostSpec) -> None:
    instance = locate.instance(ctx)
    documented = {locate.security_group(ctx, role).id for role in host.security_groups.value}
    names = {g.id: g.name for g in ctx.get(Ec2Inventory).security_groups}
    ctx.expect(
        host.security_groups,
        sorted(f"{names.get(g, g)} ({g})" for g in instance.security_group_ids),
        subject=f"{_label(instance)} security groups",
        expected=sorted(f"{names[g]} ({g})" for g in documented),
        ok=set(instance.security_group_ids) == set(documented),
    )


# The namespace the CloudWatch agent publishes to unless configured otherwise.
CWAGENT_NAMESPACE = "CWAgent"


def _with_agent(env: EnvironmentSpec) -> Ec2HostSpec | None:
    host = env.ec2_host
    return host if host is not None and host.agent_metrics is not None else None


def _agent_namespace(ctx: CheckContext, metric: str, instance: Instance) -> str:
    """The namespace of the alarm on this metric of the instance; the agent's default without
    one (a missing alarm is the alarm checks' failure, not this one's)."""
    for alarm in ctx.get(CloudwatchInventory).alarms:
        if alarm.metric == metric and alarm.dimensions.get("InstanceId") == instance.id:
            return alarm.namespace or CWAGENT_NAMESPACE
    return CWAGENT_NAMESPACE


@check(
    "ec2.agent_metrics",
    title="The CloudWatch agent publishes the app host's memory and disk metrics",
    area=_with_agent,
    severity="high",
    remediation="Install and start the CloudWatch agent on the app host with mem_used_percent and "
    "disk_used_percent, append_dimensions InstanceId, in the namespace its alarms watch.",
)
def agent_metrics(ctx: CheckContext, host: Ec2HostSpec) -> None:
    assert host.agent_metrics is not None
    unread = sorted(set(host.agent_metrics.value) - set(AGENT_METRICS))
    if unread:
        raise ValueError(f"the inventory lists only {', '.join(AGENT_METRICS)}, not {unread}")
    instance = locate.instance(ctx)
    listed = ctx.get(AgentMetricsInventory).metrics
    for metric in host.agent_metrics.value:
        namespace = _agent_namespace(ctx, metric, instance)
        found = sorted(
            {
                m.namespace
                for m in listed
                if m.name == metric and m.dimensions.get("InstanceId") == instance.id
            }
        )
        ctx.expect(
            host.agent_metrics,
            [f"{n}/{metric}" for n in found] or "not listed",
            subject=f"{metric} of {_label(instance)} in CloudWatch",
            expected=f"{namespace}/{metric}",
            ok=namespace in found,
        )


def _with_amis(env: EnvironmentSpec) -> Ec2HostSpec | None:
    host = env.ec2_host
    return host if host is not None and host.ami_backups is not None else None


@check(
    "ec2.ami_backups",
    title="The 2 most recent manual AMIs of the app host are kept (at least one, at most two)",
    area=_with_amis,
    remediation="Create an AMI of the app host before each major change (CreateImage) and "
    "deregister all but the 2 most recent.",
)
def ami_backups(ctx: CheckContext, host: Ec2HostSpec) -> None:
    assert host.ami_backups is not None
    instance = locate.instance(ctx)
    images = sorted(
        (i for i in ctx.get(Ec2Inventory).images if i.source_instance_id == instance.id),
        key=lambda i: i.created,
    )
    kept = host.ami_backups.value
    ctx.expect(
        host.ami_backups,
        [f"{i.name} ({i.state})" for i in images] or "none",
        subject=f"the account's AMIs created from {_label(instance)}",
        expected=f"1 to {kept} AMIs",
        ok=1 <= len(images) <= kept,
    )


def _retired_host(env: EnvironmentSpec) -> RetiredSpec | None:
    retired = env.retired
    return retired if retired is not None and retired.ec2_host.value else None


@check(
    "ec2.host.retired",
    title="No EC2 instance in the VPC serves the site (the Phase 1 Docker host is retired)",
    area=_retired_host,
    severity="high",
    remediation="Terminate the EC2 web host (and release its Elastic IP) once ECS serves the site.",
)
def host_retired(ctx: CheckContext, retired: RetiredSpec) -> None:
    """A web host is the Phase 1 app instance (by its name) or any running instance with a public
    IP in a public subnet: either could still be answering for the domain."""
    ec2 = ctx.get(Ec2Inventory)
    vpc = locate.vpc(ctx)
    subnets = {s.id: s for s in ec2.subnets}
    name = ctx.inputs.name("instance")

    def serves(instance: Instance) -> bool:
        subnet = subnets.get(instance.subnet_id or "")
        public = subnet is not None and locate.tier_of(ec2, subnet) == "public"
        return instance.tags.get("Name") == name or (public and instance.public_ip is not None)

    hosts = [
        f"{_label(i)} {i.state}, public IP {i.public_ip or 'none'}"
        for i in ec2.instances
        if i.vpc_id == vpc.id and i.state in ("pending", "running") and serves(i)
    ]
    ctx.expect(
        retired.ec2_host,
        hosts or "none",
        subject=f"EC2 web hosts running in {vpc.id}",
        expected="none",
        ok=not hosts,
    )
