"""The CloudWatch alarms of Phase 1's table (Phase 2 carries those whose subject it still has):
one check per documented attribute of each alarm.

An alarm is found by what it watches, not by its name: its metric, its namespace (any namespace
for CloudWatch-agent metrics, whose namespace the agent's configuration chooses) and a dimension
naming the watched resource. Where several alarms watch the same thing, the one closest to the
document is judged. The queue-depth checks cover every queue at once, one comparison per queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, check
from conformance.inventory.cloudwatch import Alarm, CloudwatchInventory
from conformance.inventory.sns import SnsInventory, Topic
from conformance.spec import AlarmSpec, AlarmsSpec, EnvironmentSpec

# The document's alarms (Monitoring > CloudWatch Alarms), by spec key: (name, has a duration).
# "EC2 Low Disk" (>85%) and "SQS Queue Depth" (>1,000) state no duration, so have no duration check.
ALARMS = {
    "ec2-high-cpu": ("EC2 High CPU", True),
    "ec2-high-memory": ("EC2 High Memory", True),
    "ec2-low-disk": ("EC2 Low Disk", False),
    "rds-high-cpu": ("RDS High CPU", True),
    "sqs-queue-depth": ("SQS Queue Depth", False),
    "ec2-status-check": ("EC2 Status Check", True),
}
SYMBOLS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


@dataclass(frozen=True)
class Watched:
    """A resource an alarm must watch, and the dimension that names it."""

    label: str
    dimension: str
    value: str


def _watched(ctx: CheckContext, spec: AlarmSpec) -> list[Watched]:
    subject = spec.subject.value
    if subject == "app-instance":
        instance = locate.instance(ctx)
        label = f"instance {instance.tags.get('Name', '(unnamed)')} ({instance.id})"
        return [Watched(label, "InstanceId", instance.id)]
    if subject == "database":
        db = ctx.inputs.name("db")
        return [Watched(f"DB instance {db}", "DBInstanceIdentifier", db)]
    if subject == "queue":
        names = [ctx.inputs.name(f"queue.{q}") for q in ctx.inputs.queues]
        return [Watched(f"queue {n}", "QueueName", n) for n in names]
    raise ValueError(f"no Phase-1 resource is a {subject}")


def _topic(ctx: CheckContext) -> Topic:
    """The project's alarm topic, by name."""
    name = ctx.inputs.name("alarm-topic")
    sns = ctx.get(SnsInventory)
    topic = sns.topic(name)
    if topic is None:
        raise ResourceMissing(f"the SNS topic {name}", (t.name for t in sns.topics))
    return topic


def _recover_arn(ctx: CheckContext) -> str:
    return f"arn:aws:automate:{ctx.region}:ec2:recover"


def _is_documented_action(ctx: CheckContext, spec: AlarmSpec, arn: str) -> bool:
    """Is ``arn`` the documented action: EC2 recover, or the project's alarm topic (by name, so
    that choosing among alarms needs no SNS read)?"""
    if spec.action.value == "ec2-recover":
        return arn == _recover_arn(ctx)
    if spec.action.value == "email":
        parts = arn.split(":")
        return parts[2:4] == ["sns", ctx.region] and parts[-1] == ctx.inputs.name("alarm-topic")
    raise ValueError(f"no Phase-1 alarm action is {spec.action.value}")


def _threshold_ok(spec: AlarmSpec, alarm: Alarm) -> bool:
    return alarm.comparison == spec.comparison.value and alarm.threshold == spec.threshold.value


def _duration_ok(spec: AlarmSpec, alarm: Alarm) -> bool:
    """Breaching for the whole duration: period × evaluation periods, every datapoint."""
    return (
        alarm.period is not None
        and alarm.period * alarm.evaluation_periods == spec.duration_seconds.value
        and alarm.datapoints_to_alarm in (None, alarm.evaluation_periods)
    )


def _action_ok(ctx: CheckContext, spec: AlarmSpec, alarm: Alarm) -> bool:
    return alarm.actions_enabled and any(
        _is_documented_action(ctx, spec, arn) for arn in alarm.alarm_actions
    )


def _alarms_for(ctx: CheckContext, spec: AlarmSpec) -> list[tuple[Watched, Alarm | None]]:
    """Each watched resource with the alarm that watches it (the closest to the document)."""
    alarms = ctx.get(CloudwatchInventory).alarms
    found = []
    for watched in _watched(ctx, spec):
        candidates = [
            a
            for a in alarms
            if a.metric == spec.metric.value
            and spec.namespace.value in (None, a.namespace)
            and a.dimensions.get(watched.dimension) == watched.value
        ]

        def closeness(a: Alarm) -> tuple[int, str]:
            met = _threshold_ok(spec, a) + _action_ok(ctx, spec, a)
            if spec.duration_seconds.value is not None:
                met += _duration_ok(spec, a)
            return -met, a.name

        found.append((watched, min(candidates, key=closeness, default=None)))
    return found


def _describe(alarm: Alarm) -> str:
    dimensions = ", ".join(f"{k}={v}" for k, v in sorted(alarm.dimensions.items()))
    return f"{alarm.name}: {alarm.namespace}/{alarm.metric} [{dimensions}]"


def present(ctx: CheckContext, spec: AlarmSpec) -> None:
    namespace = spec.namespace.value or "any namespace"
    found = _alarms_for(ctx, spec)
    judged = {alarm.name for _, alarm in found if alarm}
    # The metric as the document names it too (e.g. StatusCheckFailed for StatusCheckFailed_System).
    metrics = {spec.metric.value, spec.documented_metric.value.split(" ")[0]}
    for watched, alarm in found:
        # Alarms on the metric that watch another resource, or this one in another namespace or
        # on the document's metric name: the likely cause of an absence.
        near = [
            _describe(a)
            for a in ctx.get(CloudwatchInventory).alarms
            if a.metric in metrics and watched.dimension in a.dimensions and a.name not in judged
        ]
        absent = f"none; near misses: {'; '.join(near)}" if near else "none"
        ctx.expect(
            spec.metric,
            _describe(alarm) if alarm else absent,
            subject=f"alarm on {spec.metric.value} for {watched.label}",
            expected=f"{namespace}/{spec.metric.value} [{watched.dimension}={watched.value}]",
            ok=alarm is not None,
        )


def threshold(ctx: CheckContext, spec: AlarmSpec) -> None:
    def shown(comparison: str, value: float | None) -> str:
        return (
            f"{SYMBOLS.get(comparison, comparison)} {value:g}" if value is not None else comparison
        )

    for watched, alarm in _alarms_for(ctx, spec):
        ctx.expect(
            spec.threshold,
            shown(alarm.comparison, alarm.threshold) if alarm else "no such alarm",
            subject=f"{spec.metric.value} alarm for {watched.label}: threshold",
            expected=shown(spec.comparison.value, spec.threshold.value),
            ok=alarm is not None and _threshold_ok(spec, alarm),
        )


def duration(ctx: CheckContext, spec: AlarmSpec) -> None:
    for watched, alarm in _alarms_for(ctx, spec):
        actual = "no such alarm"
        if alarm is not None:
            total = (alarm.period or 0) * alarm.evaluation_periods
            actual = f"{alarm.period} s × {alarm.evaluation_periods} = {total} s"
            if alarm.datapoints_to_alarm not in (None, alarm.evaluation_periods):
                actual += f", alarming on {alarm.datapoints_to_alarm} of them"
        ctx.expect(
            spec.duration_seconds,
            actual,
            subject=f"{spec.metric.value} alarm for {watched.label}: breaching for",
            expected=f"{spec.duration_seconds.value} s, every period",
            ok=alarm is not None and _duration_ok(spec, alarm),
        )


def action(ctx: CheckContext, spec: AlarmSpec) -> None:
    wanted = _recover_arn(ctx) if spec.action.value == "ec2-recover" else _topic(ctx).arn
    for watched, alarm in _alarms_for(ctx, spec):
        actual: str | list[str] = "no such alarm"
        if alarm is not None:
            actual = alarm.alarm_actions or "no actions"
            if not alarm.actions_enabled:
                actual = f"actions disabled: {alarm.alarm_actions}"
        ctx.expect(
            spec.action,
            actual,
            subject=f"{spec.metric.value} alarm for {watched.label}: alarm actions",
            expected=f"{spec.action.value}: {wanted}",
            ok=alarm is not None and _action_ok(ctx, spec, alarm),
        )


@dataclass(frozen=True)
class Attribute:
    """One documented attribute of an alarm: its check, title and remediation."""

    function: Callable[[CheckContext, AlarmSpec], None]
    title: str
    remediation: str


ATTRIBUTES = {
    "present": Attribute(
        present,
        "{alarm} alarm watches the documented metric of its resource",
        "Create the alarm on the documented metric, with a dimension naming the resource.",
    ),
    "threshold": Attribute(
        threshold,
        "{alarm} alarm has the documented threshold",
        "Set the alarm's comparison operator and threshold as documented.",
    ),
    "duration": Attribute(
        duration,
        "{alarm} alarm fires after the documented duration",
        "Set period × evaluation periods to the documented duration, with datapoints to alarm "
        "equal to the evaluation periods.",
    ),
    "action": Attribute(
        action,
        "{alarm} alarm takes the documented action",
        "Enable the alarm's actions and add the documented one (the alarm SNS topic, or EC2 "
        "recover).",
    ),
}


def _area(key: str, attribute: str) -> Callable[[EnvironmentSpec], AlarmSpec | None]:
    """The documented alarm; for the duration, only where the document gives one."""

    def area(env: EnvironmentSpec) -> AlarmSpec | None:
        spec = env.alarms.alarms.get(key) if env.alarms else None
        if spec is not None and attribute == "duration" and spec.duration_seconds.value is None:
            return None
        return spec

    return area


def _register() -> None:
    """One check per attribute per alarm, e.g. ``alarm.ec2_high_cpu.threshold``."""
    for key, (name, timed) in ALARMS.items():
        for attribute, meta in ATTRIBUTES.items():
            if attribute == "duration" and not timed:
                continue
            check(
                f"alarm.{key.replace('-', '_')}.{attribute}",
                title=meta.title.format(alarm=name),
                area=_area(key, attribute),
                severity="high" if key == "ec2-status-check" else "medium",
                remediation=meta.remediation,
            )(meta.function)


_register()


@check(
    "alarm.notification.email",
    title="The alarm topic has a confirmed email subscription",
    area=lambda env: env.alarms,
    remediation="Subscribe the team's address to the alarm topic by email and confirm it.",
)
def notification_email(ctx: CheckContext, spec: AlarmsSpec) -> None:
    topic = _topic(ctx)
    protocol = spec.notification_protocol.value
    subscriptions = [s for s in ctx.get(SnsInventory).subscriptions if s.topic_arn == topic.arn]
    ctx.expect(
        spec.notification_protocol,
        [
            f"{s.protocol} {s.endpoint} ({'confirmed' if s.confirmed else 'pending'})"
            for s in subscriptions
        ]
        or "no subscriptions",
        subject=f"subscriptions of {topic.name}",
        expected=f"a confirmed {protocol} subscription",
        ok=any(s.protocol == protocol and s.confirmed for s in subscriptions),
    )
