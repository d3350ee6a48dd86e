"""Phase 3's error-rate alarm is metric math: the collector keeps its queries and period, and the
check accepts any expression that computes the documented percentage, whatever its spelling,
and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.inventory.cloudwatch import Alarm, alarm_from
from conformance.spec import AlarmSpec, load_spec
from specs.checks.alarms import Watched, judges_rate

BALANCER = "app/accountabilityatlas-alb/50dc6c495c0c9188"
ACCOUNT = "123456789012"


def _metric(query_id: str, name: str, stat: str = "Sum", balancer: str = BALANCER) -> Any:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/ApplicationELB",
                "MetricName": name,
                "Dimensions": [{"Name": "LoadBalancer", "Value": balancer}],
            },
            "Period": 60,
            "Stat": stat,
        },
        "ReturnData": False,
    }


def _rate_alarm(expression: str, *metrics: Any) -> Alarm:
    queries = metrics or (
        _metric("e", "HTTPCode_Target_5XX_Count"),
        _metric("r", "RequestCount"),
    )
    return alarm_from(
        {
            "AlarmName": "rate",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:rate",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 5.0,
            "EvaluationPeriods": 5,
            "Dimensions": [],
            "Metrics": [{"Id": "rate", "Expression": expression, "ReturnData": True}, *queries],
        },
        None,
    )


@pytest.fixture(scope="module")
def spec() -> AlarmSpec:
    alarms = load_spec(3).environment("production").alarms
    assert alarms is not None
    return alarms.alarms["alb-5xx-rate"]


WATCHED = Watched("load balancer accountabilityatlas-alb", {"LoadBalancer": BALANCER})


def test_a_metric_math_alarm_keeps_its_queries_and_its_metrics_period() -> None:
    alarm = _rate_alarm("100 * e / r")
    assert alarm.metric is None and alarm.period == 60 and alarm.account == ACCOUNT
    returned = [q for q in alarm.queries if q.returned]
    assert [q.expression for q in returned] == ["100 * e / r"]
    assert {q.metric: q.statistic for q in alarm.queries if q.metric} == {
        "HTTPCode_Target_5XX_Count": "Sum",
        "RequestCount": "Sum",
    }


@pytest.mark.parametrize(
    "expression", ["100 * e / r", "(e / r) * 100", "e * 100 / r", "100 * FILL(e, 0) / r"]
)
def test_any_spelling_of_the_percentage_is_the_documented_rate(
    spec: AlarmSpec, expression: str
) -> None:
    assert judges_rate(spec, WATCHED, _rate_alarm(expression))


@pytest.mark.parametrize(
    "expression",
    ["e", "e / r", "100 * r / e", "100 * e / (r + e)", "100 * e / r + 1", "RATE(e)", "e ^ 2"],
)
def test_a_count_or_another_ratio_is_not_the_rate(spec: AlarmSpec, expression: str) -> None:
    assert not judges_rate(spec, WATCHED, _rate_alarm(expression))


def test_a_rate_of_averages_or_over_another_load_balancer_is_not_the_rate(
    spec: AlarmSpec,
) -> None:
    averages = (
        _metric("e", "HTTPCode_Target_5XX_Count", "Average"),
        _metric("r", "RequestCount", "Average"),
    )
    assert not judges_rate(spec, WATCHED, _rate_alarm("100 * e / r", *averages))
    elsewhere = (
        _metric("e", "HTTPCode_Target_5XX_Count"),
        _metric("r", "RequestCount", balancer="app/other/0123456789abcdef"),
    )
    assert not judges_rate(spec, WATCHED, _rate_alarm("100 * e / r", *elsewhere))
