"""CloudWatch: the metric alarms and the tags of the project's alarms; the dashboards (Phase 2+)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


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


class CloudwatchInventory(Section):
    service = "cloudwatch"

    alarms: list[Alarm]

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        return [
            Tagged(resource=f"alarm {a.name}", tags=a.tags)
            for a in self.alarms
            if a.tags is not None
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
            alarms.append(_alarm(raw, tags))
        return cls(alarms=alarms)


def _is_project_alarm(raw: dict[str, Any], inputs: Inputs) -> bool:
    """Named with the project's prefix (the IaC convention) or notifying its alarm topic: only
    for these is a per-alarm tag read made, so an account with many alarms costs no more."""
    topic = inputs.name("alarm-topic")
    notifies_topic = any(
        action.split(":")[2:3] == ["sns"] and action.rsplit(":", 1)[-1] == topic
        for action in raw.get("AlarmActions", [])
    )
    return notifies_topic or raw["AlarmName"].startswith(f"{inputs.project}-")


def _alarm(raw: dict[str, Any], tags: dict[str, str] | None) -> Alarm:
    return Alarm(
        name=raw["AlarmName"],
        arn=raw["AlarmArn"],
        metric=raw.get("MetricName"),
        namespace=raw.get("Namespace"),
        dimensions={d["Name"]: d["Value"] for d in raw.get("Dimensions", [])},
        statistic=raw.get("Statistic") or raw.get("ExtendedStatistic"),
        comparison=raw["ComparisonOperator"],
        threshold=raw.get("Threshold"),
        period=raw.get("Period"),
        evaluation_periods=raw["EvaluationPeriods"],
        datapoints_to_alarm=raw.get("DatapointsToAlarm"),
        actions_enabled=bool(raw.get("ActionsEnabled", True)),
        alarm_actions=raw.get("AlarmActions", []),
        tags=tags,
    )


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
