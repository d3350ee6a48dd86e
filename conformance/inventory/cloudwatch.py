"""CloudWatch: the metric alarms and the tags of the project's alarms; the dashboards (Phase 2+).

A metric-math alarm (Phase 3's 5XX error *rate*) has no metric of its own: DescribeAlarms gives
its queries instead, each a metric (namespace, name, dimensions, statistic, period) or an
expression over the other queries' ids. They are kept as :class:`MetricQuery` rows, and the
alarm's period is its queries' period, so that a check reads "100 * 5XX / RequestCount of this
load balancer, over 5 minutes" from the same fields as a plain alarm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, Field

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class MetricQuery(BaseModel):
    """One query of a metric-math alarm: a metric, or an expression over other queries' ids."""

    id: str
    expression: str | None
    namespace: str | None
    metric: str | None
    dimensions: dict[str, str]
    statistic: str | None
    period: int | None
    returned: bool  # the query whose value the alarm compares with its threshold


class Alarm(BaseModel):
    name: str
    arn: str
    metric: str | None  # None for a metric-math alarm
    namespace: str | None
    dimensions: dict[str, str]
    statistic: str | None
    comparison: str
    threshold: float | None  # None for an anomaly-detection band
    period: int | None
    evaluation_periods: int
    datapoints_to_alarm: int | None
    actions_enabled: bool
    alarm_actions: list[str]
    tags: dict[str, str] | None  # read for the project's alarms only; None for any other alarm
    queries: list[MetricQuery] = Field(default_factory=list)  # a metric-math alarm's; else none

    @property
    def account(self) -> str:
        """The account the alarm is in (from its ARN)."""
        return self.arn.split(":")[4]


class CloudwatchInventory(Section):
    service = "cloudwatch"
    fans_out = True

    alarms: list[Alarm]

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        return [
            Tagged(resource=f"alarm {a.name}", tags=a.tags)
            for a in self.alarms
            if a.tags is not None and _belongs(a.name, a.alarm_actions, inputs)
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        cloudwatch = clients.client("cloudwatch")
        described = [
            alarm
            for page in cloudwatch.get_paginator("describe_alarms").paginate()
            for alarm in page["MetricAlarms"]
        ]
        alarms = []
        for raw in described:
            tags = None
            if _is_project_alarm(raw, inputs):
                listed = cloudwatch.list_tags_for_resource(ResourceARN=raw["AlarmArn"])
                tags = tags_of(listed.get("Tags"))
            alarms.append(alarm_from(raw, tags))
        return cls(alarms=alarms)


def _is_project_alarm(raw: dict[str, Any], inputs: Inputs) -> bool:
    """Named with the project's prefix (the IaC convention) or notifying the alarm topic of an
    environment the collection serves: only for these is a per-alarm tag read made, so an
    account with many alarms costs no more."""
    return raw["AlarmName"].startswith(f"{inputs.project}-") or any(
        _notifies(raw.get("AlarmActions", []), env.name("alarm-topic"))
        for env in inputs.each_environment()
    )


def _belongs(name: str, actions: list[str], inputs: Inputs) -> bool:
    """Whether a project alarm is this environment's: named under its prefix, or (named
    otherwise) notifying its alarm topic."""
    if name.startswith(f"{inputs.project}-"):
        return inputs.owns(name)
    return _notifies(actions, inputs.name("alarm-topic"))


def _notifies(actions: list[str], topic: str) -> bool:
    return any(a.split(":")[2:3] == ["sns"] and a.rsplit(":", 1)[-1] == topic for a in actions)


def alarm_from(raw: dict[str, Any], tags: dict[str, str] | None) -> Alarm:
    queries = [_query(q) for q in raw.get("Metrics") or []]
    return Alarm(
        name=raw["AlarmName"],
        arn=raw["AlarmArn"],
        metric=raw.get("MetricName"),
        namespace=raw.get("Namespace"),
        dimensions={d["Name"]: d["Value"] for d in raw.get("Dimensions", [])},
        statistic=raw.get("Statistic") or raw.get("ExtendedStatistic"),
        comparison=raw["ComparisonOperator"],
        threshold=raw.get("Threshold"),
        period=raw.get("Period") or _queries_period(queries),
        evaluation_periods=raw["EvaluationPeriods"],
        datapoints_to_alarm=raw.get("DatapointsToAlarm"),
        actions_enabled=bool(raw.get("ActionsEnabled", True)),
        alarm_actions=raw.get("AlarmActions", []),
        tags=tags,
        queries=queries,
    )


def _query(raw: dict[str, Any]) -> MetricQuery:
    stat = raw.get("MetricStat") or {}
    metric = stat.get("Metric") or {}
    return MetricQuery(
        id=raw["Id"],
        expression=raw.get("Expression"),
        namespace=metric.get("Namespace"),
        metric=metric.get("MetricName"),
        dimensions={d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
        statistic=stat.get("Stat"),
        period=raw.get("Period") or stat.get("Period"),
        returned=bool(raw.get("ReturnData", True)),
    )


def _queries_period(queries: list[MetricQuery]) -> int | None:
    """A metric-math alarm's period: its returned query's, else the one its metrics share."""
    returned = next((q.period for q in queries if q.returned and q.period), None)
    periods = {q.period for q in queries if q.metric is not None and q.period}
    return returned or (periods.pop() if len(periods) == 1 else None)


class Dashboard(BaseModel):
    name: str
    arn: str


class DashboardsInventory(Section):
    """The dashboards, apart from the alarms: only a phase that documents dashboards reads them,
    so Phase 1's inventory and API calls stay as they were. Dashboards carry no tags."""

    service = "cloudwatch-dashboards"

    dashboards: list[Dashboard]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        """Read where dashboards are documented, or documented absent (Phase 1)."""
        return env.monitoring is not None or env.absent is not None

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("cloudwatch").get_paginator("list_dashboards")
        return cls(
            dashboards=[
                Dashboard(name=d["DashboardName"], arn=d.get("DashboardArn", ""))
                for page in paginator.paginate()
                for d in page["DashboardEntries"]
            ]
        )


# The metrics the CloudWatch agent publishes for the Phase 1 host (Monitoring, CloudWatch Alarms).
AGENT_METRICS = ("mem_used_percent", "disk_used_percent")


class Metric(BaseModel):
    namespace: str
    name: str
    dimensions: dict[str, str]


class AgentMetricsInventory(Section):
    """The CloudWatch agent's metrics that name an instance, in any namespace (the agent's is
    configurable): one ListMetrics per metric name, filtered on the InstanceId dimension, so an
    account with many metrics costs no more. A section of its own: the alarms' snapshot and
    calls stay as they were."""

    service = "cloudwatch-agent-metrics"

    metrics: list[Metric]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        """Read where the phase has an EC2 host whose agent metrics it documents."""
        return env.ec2_host is not None and env.ec2_host.agent_metrics is not None

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("cloudwatch").get_paginator("list_metrics")
        return cls(
            metrics=[
                Metric(
                    namespace=m["Namespace"],
                    name=m["MetricName"],
                    dimensions={d["Name"]: d["Value"] for d in m.get("Dimensions", [])},
                )
                for name in AGENT_METRICS
                for page in paginator.paginate(MetricName=name, Dimensions=[{"Name": "InstanceId"}])
                for m in page["Metrics"]
            ]
        )
