"""AWS X-Ray: the account's sampling rules in the region (GetSamplingRules, paginated), the
AWS-made Default rule among them.

A rule's match fields are X-Ray's: glob patterns (``*`` any run of characters, ``?`` one) on the
service's name and type, and on the request's host, method, path and resource ARN, plus
attribute patterns. moto 5.2 does not implement GetSamplingRules (it answers HTTP 404 "Not yet
implemented"), so on the embedded target this section cannot be collected. The rules carry no
cost-allocation tags of the project's: the Default rule is AWS's own.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, Field

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

DEFAULT_RULE = "Default"


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    """X-Ray's wildcards only (no character classes, unlike fnmatch)."""
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    return _glob(pattern).fullmatch(value) is not None


class SamplingRule(BaseModel):
    name: str
    priority: int
    fixed_rate: float
    reservoir_size: int
    service_name: str = "*"
    service_type: str = "*"
    host: str = "*"
    http_method: str = "*"
    url_path: str = "*"
    resource_arn: str = "*"
    attributes: dict[str, str] = Field(default_factory=dict)

    def takes_all_traffic_of(self, service: str, service_type: str) -> bool:
        """Whether the rule samples every request of the service (of that type): it matches
        the service, and its request fields match any request. A rule for some requests only
        (a health-check path at 0%) is an exception, not the service's rate."""
        every_request = (self.host, self.http_method, self.url_path, self.resource_arn)
        return (
            matches(self.service_name, service)
            and matches(self.service_type, service_type)
            and all(p == "*" for p in every_request)
            and not self.attributes
        )


class XrayInventory(Section):
    service = "xray"

    rules: list[SamplingRule]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        """Where tracing is documented, or its absence (Phases 1-2: "Tracing: None")."""
        return env.tracing is not None or (
            env.absent is not None and env.absent.sampling_rules is not None
        )

    def applying_to(self, service: str, service_type: str) -> SamplingRule | None:
        """The rule X-Ray applies to the service's traffic: of those taking all of it, the
        first by priority (then by name, as X-Ray breaks ties)."""
        taking = [r for r in self.rules if r.takes_all_traffic_of(service, service_type)]
        return min(taking, key=lambda r: (r.priority, r.name), default=None)

    def default_rule(self) -> SamplingRule | None:
        return next((r for r in self.rules if r.name == DEFAULT_RULE), None)

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("xray").get_paginator("get_sampling_rules")
        return cls(
            rules=[
                _rule(record["SamplingRule"])
                for page in paginator.paginate()
                for record in page.get("SamplingRuleRecords", [])
            ]
        )


def _rule(rule: dict[str, Any]) -> SamplingRule:
    return SamplingRule(
        name=rule.get("RuleName", ""),
        priority=rule["Priority"],
        fixed_rate=rule["FixedRate"],
        reservoir_size=rule.get("ReservoirSize", 0),
        service_name=rule.get("ServiceName", "*"),
        service_type=rule.get("ServiceType", "*"),
        host=rule.get("Host", "*"),
        http_method=rule.get("HTTPMethod", "*"),
        url_path=rule.get("URLPath", "*"),
        resource_arn=rule.get("ResourceARN", "*"),
        attributes=rule.get("Attributes") or {},
    )
