"""The CloudWatch alarms: Phase 1's table (Phase 2 carries those whose subject it still has) and
the "CloudWatch Alarms (Phase 3+)" table: one check per documented attribute of each alarm.

An alarm is found by what it watches, not by its name: its metric (its own, or one of the
queries of a metric-math alarm), its namespace (any namespace for CloudWatch-agent metrics,
whose namespace the agent's configuration chooses) and the dimensions naming the watched
resource. Where several alarms watch the same thing, the one closest to the document is judged.
A family (one alarm per queue, per target group) is one check, one comparison per member.

Phase 3 gives each alarm a severity, and the severity its action: every alarm notifies the
alarm topic, which emails (as in Phases 1 and 2); a critical alarm ("SMS + Email") also
notifies a paging topic that texts, and a warning ("Email") notifies no topic that texts. Two
topics, not one: a single topic with both subscriptions would text the warnings too. The paging
topic is whatever other topic a critical alarm notifies, so it needs no name of its own;
``alarm.notification.sms`` checks that each critical alarm reaches an SMS subscription.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, check
from conformance.inventory.cloudwatch import Alarm, CloudwatchInventory, MetricQuery
from conformance.inventory.sns import SnsInventory, Subscription, Topic
from conformance.spec import AlarmSpec, AlarmsSpec, EnvironmentSpec
from specs.checks.load_balancer import the_alb


@dataclass(frozen=True)
class Documented:
    """An alarm of the document's tables: its name there, and its attributes beyond the
    present/threshold/action every alarm has (a duration where the table states one)."""

    title: str
    attributes: tuple[str, ...] = ()
    critical: bool = False  # its checks are high severity


# The document's alarms (Monitoring > CloudWatch Alarms, and the Phase 3+ table), by spec key.
# "EC2 Low Disk" (>85%), "SQS Queue Depth" (>1,000) and "Search Cluster Red" state no duration.
ALARMS = {
    "ec2-high-cpu": Documented("EC2 High CPU", ("duration",)),
    "ec2-high-memory": Documented("EC2 High Memory", ("duration",)),
    "ec2-low-disk": Documented("EC2 Low Disk"),
    "rds-high-cpu": Documented("RDS High CPU", ("duration",)),
    "sqs-queue-depth": Documented("SQS Queue Depth"),
    "ec2-status-check": Documented("EC2 Status Check", ("duration",), critical=True),
    "alb-5xx-rate": Documented("High Error Rate", ("duration", "ratio"), critical=True),
    "alb-p95-latency": Documented("High Latency", ("duration", "statistic")),
    "alb-healthy-hosts": Documented("Low Healthy Hosts", ("duration",), critical=True),
    "rds-connections": Documented("Database Connections", ("duration",)),
    "search-cluster-red": Documented("Search Cluster Red", critical=True),
}
SYMBOLS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
# OpenSearch names a domain's metrics by DomainName and ClientId, the id of the account that
# owns the domain: the alarm's own account.
OWN_ACCOUNT = "(the alarm's account)"
# A rate of two counts adds up each over the period: Sum is the only statistic that makes
# "100 * 5XX / RequestCount" the share of requests that failed.
COUNT_STATISTIC = "Sum"
# (errors, requests) pairs a rate expression is evaluated on: it must give 100 * e / r for each.
RATE_SAMPLES = ((3.0, 40.0), (7.0, 1000.0))
UNRELATED_METRIC_VALUE = 11.0  # what any other metric of the expression counts in the samples
MAX_EXPRESSION_DEPTH = 5  # expressions over expressions, as deep as metric math is sensibly used


@dataclass(frozen=True)
class Watched:
    """A resource an alarm must watch, and the dimensions that name it."""

    label: str
    dimensions: dict[str, str]  # OWN_ACCOUNT: the account of the alarm looking at it


def _arn_resource(arn: str) -> str:
    """The resource part of an ARN (``loadbalancer/app/name/id``)."""
    return arn.split(":", 5)[-1]


def _watched(ctx: CheckContext, spec: AlarmSpec) -> list[Watched]:
    subject = spec.subject.value
    if subject == "app-instance":
        instance = locate.instance(ctx)
        label = f"instance {instance.tags.get('Name', '(unnamed)')} ({instance.id})"
        return [Watched(label, {"InstanceId": instance.id})]
    if subject == "database":
        db = ctx.inputs.name("db")
        return [Watched(f"DB instance {db}", {"DBInstanceIdentifier": db})]
    if subject == "queue":
        names = [ctx.inputs.name(f"queue.{q}") for q in ctx.inputs.queues]
        return [Watched(f"queue {n}", {"QueueName": n}) for n in names]
    if subject in ("load-balancer", "target-group"):
        # CloudWatch names an ALB by "app/<name>/<id>", a target group "targetgroup/<name>/<id>".
        alb = the_alb(ctx)
        balancer = _arn_resource(alb.arn).removeprefix("loadbalancer/")
        if subject == "load-balancer":
            return [Watched(f"load balancer {alb.name}", {"LoadBalancer": balancer})]
        return [
            Watched(
                f"target group {group.name}",
                {"TargetGroup": _arn_resource(group.arn), "LoadBalancer": balancer},
            )
            for group in alb.target_groups
        ]
    if subject == "search-domain":
        domain = ctx.inputs.name("search")
        return [Watched(f"search domain {domain}", {"DomainName": domain, "ClientId": OWN_ACCOUNT})]
    raise ValueError(f"no documented resource is a {subject}")


def _names(dimensions: dict[str, str], watched: Watched, alarm: Alarm) -> bool:
    """Do ``dimensions`` (an alarm's, or one of its queries') name the watched resource?"""
    return all(
        dimensions.get(name) == (alarm.account if value == OWN_ACCOUNT else value)
        for name, value in watched.dimensions.items()
    )


def _watches(spec: AlarmSpec, metric: str, watched: Watched, alarm: Alarm) -> bool:
    """Does the alarm watch ``metric`` of the resource: as its metric, or in one of its queries?"""
    namespace = spec.namespace.value
    own = alarm.metric == metric and namespace in (None, alarm.namespace)
    if own and _names(alarm.dimensions, watched, alarm):
        return True
    return any(_counted(spec, metric, watched, alarm, q, None) for q in alarm.queries)


def _counted(
    spec: AlarmSpec,
    metric: str,
    watched: Watched,
    alarm: Alarm,
    query: MetricQuery,
    statistic: str | None,
) -> bool:
    """Is ``query`` the metric of the watched resource (with ``statistic``, when given)?"""
    return (
        query.metric == metric
        and spec.namespace.value in (None, query.namespace)
        and statistic in (None, query.statistic)
        and _names(query.dimensions, watched, alarm)
    )


def _is_sns_topic(ctx: CheckContext, arn: str) -> bool:
    return arn.split(":")[2:4] == ["sns", ctx.region]


def _is_alarm_topic(ctx: CheckContext, arn: str) -> bool:
    """The project's alarm topic, by name, so that choosing among alarms needs no SNS read."""
    return _is_sns_topic(ctx, arn) and arn.rsplit(":", 1)[-1] == ctx.inputs.name("alarm-topic")


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
    """The documented action, from the alarm's actions alone: EC2 recover; the alarm topic
    (email); or, for SMS + Email, the alarm topic and another topic (the paging one)."""
    actions = alarm.alarm_actions
    if not alarm.actions_enabled:
        return False
    action = spec.action.value
    if action == "ec2-recover":
        return _recover_arn(ctx) in actions
    emails = any(_is_alarm_topic(ctx, arn) for arn in actions)
    if action == "email":
        return emails
    pages = any(_is_sns_topic(ctx, a) and not _is_alarm_topic(ctx, a) for a in actions)
    return emails and pages


def _statistic(spec: AlarmSpec, alarm: Alarm) -> str | None:
    """The statistic the alarm takes of the documented metric (its own, or its query's)."""
    if alarm.metric is not None:
        return alarm.statistic
    return next((q.statistic for q in alarm.queries if q.metric == spec.metric.value), None)


def _statistic_ok(spec: AlarmSpec, alarm: Alarm) -> bool:
    wanted = spec.statistic.value if spec.statistic else None
    actual = _statistic(spec, alarm)
    return wanted is None or (actual is not None and actual.lower() == wanted.lower())


def _alarms_for(ctx: CheckContext, spec: AlarmSpec) -> list[tuple[Watched, Alarm | None]]:
    """Each watched resource with the alarm that watches it (the closest to the document)."""
    alarms = ctx.get(CloudwatchInventory).alarms
    found = []
    for watched in _watched(ctx, spec):
        candidates = [a for a in alarms if _watches(spec, spec.metric.value, watched, a)]

        def closeness(a: Alarm, watched: Watched = watched) -> tuple[int, str]:
            met = _threshold_ok(spec, a) + _action_ok(ctx, spec, a) + _statistic_ok(spec, a)
            if spec.duration_seconds.value is not None:
                met += _duration_ok(spec, a)
            if spec.ratio_of is not None:
                met += judges_rate(spec, watched, a)
            return -met, a.name

        found.append((watched, min(candidates, key=closeness, default=None)))
    return found


def _shown_dimensions(dimensions: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(dimensions.items()))


def _describe(alarm: Alarm) -> str:
    if not alarm.queries:
        dimensions = _shown_dimensions(alarm.dimensions)
        return f"{alarm.name}: {alarm.namespace}/{alarm.metric} [{dimensions}]"
    return f"{alarm.name}: {_shown_math(alarm)}"


def _shown_math(alarm: Alarm) -> str:
    """A metric-math alarm's returned expression, and each query it may use."""
    returned = [q.expression or q.id for q in alarm.queries if q.returned]
    metrics = [
        f"{q.id} = {q.namespace}/{q.metric} {q.statistic} [{_shown_dimensions(q.dimensions)}]"
        for q in alarm.queries
        if q.metric is not None
    ]
    expressions = [
        f"{q.id} = {q.expression}" for q in alarm.queries if q.expression and not q.returned
    ]
    return "; ".join([" | ".join(returned) or "(nothing returned)", *expressions, *metrics])


def present(ctx: CheckContext, spec: AlarmSpec) -> None:
    namespace = spec.namespace.value or "any namespace"
    found = _alarms_for(ctx, spec)
    judged = {alarm.name for _, alarm in found if alarm}
    # The metric as the document names it too (e.g. StatusCheckFailed for StatusCheckFailed_System).
    metrics = {spec.metric.value, spec.documented_metric.value.split(" ")[0]}
    for watched, alarm in found:
        # Alarms on the metric that watch another resource, or this one in another namespace or
        # on the document's metric name: the likely cause of an absence.
        first = next(iter(watched.dimensions))
        near = [
            _describe(a)
            for a in ctx.get(CloudwatchInventory).alarms
            if a.name not in judged
            and any(
                metric in metrics and first in dimensions
                for metric, dimensions in [
                    (a.metric, a.dimensions),
                    *((q.metric, q.dimensions) for q in a.queries),
                ]
            )
        ]
        absent = f"none; near misses: {'; '.join(near)}" if near else "none"
        ctx.expect(
            spec.metric,
            _describe(alarm) if alarm else absent,
            subject=f"alarm on {spec.metric.value} for {watched.label}",
            expected=f"{namespace}/{spec.metric.value} [{_shown_dimensions(watched.dimensions)}]",
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


def _texting(ctx: CheckContext, alarm: Alarm) -> list[str]:
    """The topics among the alarm's actions that hold an SMS subscription."""
    reached = ctx.get(SnsInventory).subscriptions_of(alarm.alarm_actions)
    return sorted({s.topic_arn for s in reached if s.protocol == "sms"})


def action(ctx: CheckContext, spec: AlarmSpec) -> None:
    documented = spec.action.value
    warning = spec.severity is not None and spec.severity.value == "warning"
    if documented == "ec2-recover":
        wanted = _recover_arn(ctx)
    elif documented == "email":
        wanted = f"{_topic(ctx).arn}" + (", and no topic that sends SMS" if warning else "")
    else:
        wanted = f"{_topic(ctx).arn} (email) and a paging topic (SMS)"
    for watched, alarm in _alarms_for(ctx, spec):
        actual: str | list[str] = "no such alarm"
        ok = alarm is not None and _action_ok(ctx, spec, alarm)
        if alarm is not None:
            actual = alarm.alarm_actions or "no actions"
            if not alarm.actions_enabled:
                actual = f"actions disabled: {alarm.alarm_actions}"
            texting = _texting(ctx, alarm) if warning else []
            if texting:
                actual = f"{alarm.alarm_actions}; sends SMS through {', '.join(texting)}"
                ok = False
        ctx.expect(
            spec.action,
            actual,
            subject=f"{spec.metric.value} alarm for {watched.label}: alarm actions",
            expected=f"{documented}: {wanted}",
            ok=ok,
        )


class NotARate(ValueError):
    """A metric-math expression that is not plain arithmetic over the queries' ids."""


def _evaluate(expression: str, values: dict[str, float], expressions: dict[str, str]) -> float:
    """The value of a metric-math ``expression`` when each metric query has its value in
    ``values``: arithmetic, nested expressions and FILL(m, value) (a gap filled: m where data
    exists). Anything else raises NotARate."""

    def evaluate(text: str, depth: int) -> float:
        if depth > MAX_EXPRESSION_DEPTH:
            raise NotARate(f"expressions nested deeper than {MAX_EXPRESSION_DEPTH}")
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise NotARate(f"not arithmetic: {text}") from exc
        return value(tree.body, depth)

    def value(node: ast.expr, depth: int) -> float:
        match node:
            case ast.Constant(value=float() | int() as number) if not isinstance(number, bool):
                return float(number)
            case ast.Name(id=name) if name in values:
                return values[name]
            case ast.Name(id=name) if name in expressions:
                return evaluate(expressions[name], depth + 1)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -value(operand, depth)
            case ast.BinOp(left=left, op=op, right=right):
                a, b = value(left, depth), value(right, depth)
                if isinstance(op, ast.Add):
                    return a + b
                if isinstance(op, ast.Sub):
                    return a - b
                if isinstance(op, ast.Mult):
                    return a * b
                if isinstance(op, ast.Div) and b:
                    return a / b
            case ast.Call(func=ast.Name(id=function), args=[filled, _]) if function == "FILL":
                return value(filled, depth)
        raise NotARate(f"cannot evaluate {ast.unparse(node)}")

    return evaluate(expression, 0)


def judges_rate(spec: AlarmSpec, watched: Watched, alarm: Alarm) -> bool:
    """Does the alarm judge 100 * metric / ratio_of, both the Sum over the watched resource?
    Checked by value: the returned expression, evaluated on sample counts, must give the
    percentage (``100*e/r``, ``(e/r)*100`` and ``FILL(e,0)*100/r`` alike)."""
    assert spec.ratio_of is not None
    returned = [q for q in alarm.queries if q.returned]
    if len(returned) != 1 or returned[0].expression is None:
        return False
    errors = [
        q.id
        for q in alarm.queries
        if _counted(spec, spec.metric.value, watched, alarm, q, COUNT_STATISTIC)
    ]
    requests = [
        q.id
        for q in alarm.queries
        if _counted(spec, spec.ratio_of.value, watched, alarm, q, COUNT_STATISTIC)
    ]
    if not errors or not requests:
        return False
    expressions = {q.id: q.expression for q in alarm.queries if q.expression}
    for error_count, request_count in RATE_SAMPLES:
        values = {q.id: UNRELATED_METRIC_VALUE for q in alarm.queries if q.expression is None}
        values |= dict.fromkeys(errors, error_count) | dict.fromkeys(requests, request_count)
        try:
            got = _evaluate(returned[0].expression, values, expressions)
        except NotARate:
            return False
        if not math.isclose(got, 100 * error_count / request_count):
            return False
    return True


def ratio(ctx: CheckContext, spec: AlarmSpec) -> None:
    assert spec.ratio_of is not None
    wanted = (
        f"100 * {spec.metric.value} / {spec.ratio_of.value}, each the {COUNT_STATISTIC} of "
        f"{spec.namespace.value}"
    )
    for watched, alarm in _alarms_for(ctx, spec):
        actual = "no such alarm"
        if alarm is not None:
            actual = (
                _shown_math(alarm)
                if alarm.queries
                else f"not a rate: the {alarm.statistic} of {alarm.metric} itself"
            )
        ctx.expect(
            spec.ratio_of,
            actual,
            subject=f"{spec.metric.value} alarm for {watched.label}: the value it judges",
            expected=f"{wanted} [{_shown_dimensions(watched.dimensions)}]",
            ok=alarm is not None and judges_rate(spec, watched, alarm),
        )


def statistic(ctx: CheckContext, spec: AlarmSpec) -> None:
    assert spec.statistic is not None
    for watched, alarm in _alarms_for(ctx, spec):
        ctx.expect(
            spec.statistic,
            (_statistic(spec, alarm) or "none") if alarm else "no such alarm",
            subject=f"{spec.metric.value} alarm for {watched.label}: statistic",
            expected=spec.statistic.value,
            ok=alarm is not None and _statistic_ok(spec, alarm),
        )


@dataclass(frozen=True)
class Attribute:
    """One documented attribute of an alarm: its check, title, remediation, and whether an
    alarm's spec documents it."""

    function: Callable[[CheckContext, AlarmSpec], None]
    title: str
    remediation: str
    documented: Callable[[AlarmSpec], bool] = lambda _spec: True


ATTRIBUTES = {
    "present": Attribute(
        present,
        "{alarm} alarm watches the documented metric of its resource",
        "Create the alarm on the documented metric, with dimensions naming the resource.",
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
        lambda spec: spec.duration_seconds.value is not None,
    ),
    "ratio": Attribute(
        ratio,
        "{alarm} alarm judges the documented percentage, not a count",
        "Alarm on a metric-math expression 100 * errors / requests, both queries the Sum of the "
        "load balancer's metric (HTTPCode_Target_5XX_Count, RequestCount).",
        lambda spec: spec.ratio_of is not None,
    ),
    "statistic": Attribute(
        statistic,
        "{alarm} alarm judges the documented statistic",
        "Set the alarm's extended statistic to the documented percentile (p95).",
        lambda spec: spec.statistic is not None,
    ),
    "action": Attribute(
        action,
        "{alarm} alarm takes the documented action",
        "Enable the alarm's actions and add the documented one: EC2 recover; the alarm SNS "
        "topic (email); for a critical alarm, the alarm topic and the paging topic that sends "
        "SMS; a warning notifies no topic that sends SMS.",
    ),
}
EVERY_ALARM = ("present", "threshold", "action")


def _area(key: str, attribute: Attribute) -> Callable[[EnvironmentSpec], AlarmSpec | None]:
    """The documented alarm, where it documents the attribute."""

    def area(env: EnvironmentSpec) -> AlarmSpec | None:
        spec = env.alarms.alarms.get(key) if env.alarms else None
        return spec if spec is not None and attribute.documented(spec) else None

    return area


def _register() -> None:
    """One check per attribute per alarm, e.g. ``alarm.ec2_high_cpu.threshold``."""
    for key, alarm in ALARMS.items():
        for name, attribute in ATTRIBUTES.items():
            if name not in EVERY_ALARM and name not in alarm.attributes:
                continue
            check(
                f"alarm.{key.replace('-', '_')}.{name}",
                title=attribute.title.format(alarm=alarm.title),
                area=_area(key, attribute),
                severity="high" if alarm.critical else "medium",
                remediation=attribute.remediation,
            )(attribute.function)


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
        [_shown_subscription(s) for s in subscriptions] or "no subscriptions",
        subject=f"subscriptions of {topic.name}",
        expected=f"a confirmed {protocol} subscription",
        ok=any(s.protocol == protocol and s.confirmed for s in subscriptions),
    )


def _shown_subscription(subscription: Subscription) -> str:
    state = "confirmed" if subscription.confirmed else "pending"
    return f"{subscription.protocol} {subscription.endpoint} ({state})"


def _with_critical(env: EnvironmentSpec) -> AlarmsSpec | None:
    alarms = env.alarms
    critical = alarms is not None and any(
        a.action.value == "sms+email" for a in alarms.alarms.values()
    )
    return alarms if critical else None


@check(
    "alarm.notification.sms",
    title="Each critical alarm reaches an SMS subscription (Phase 3+: email + SMS for critical)",
    area=_with_critical,
    severity="high",
    remediation="Subscribe the on-call phone number by SMS to the paging topic, and add that "
    "topic to every critical alarm's actions.",
)
def notification_sms(ctx: CheckContext, spec: AlarmsSpec) -> None:
    sns = ctx.get(SnsInventory)
    judged = []
    for key, documented in spec.alarms.items():
        if documented.action.value != "sms+email":
            continue
        for watched, alarm in _alarms_for(ctx, documented):
            if alarm is None:
                continue  # the alarm's own checks fail
            reached = sns.subscriptions_of(alarm.alarm_actions) if alarm.actions_enabled else []
            ctx.expect(
                documented.action,
                [_shown_subscription(s) for s in reached] or "no subscriptions",
                subject=f"{ALARMS[key].title} alarm {alarm.name} for {watched.label}: "
                "subscriptions of the topics it notifies",
                expected="an SMS subscription",
                ok=any(s.protocol == "sms" and s.confirmed for s in reached),
            )
            judged.append(alarm.name)
    if not judged:
        raise ResourceMissing(
            "a critical alarm", (a.name for a in ctx.get(CloudwatchInventory).alarms)
        )
