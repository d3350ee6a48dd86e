"""CloudWatch Logs: the log groups, with tags for the project's ``/<project>/...`` groups."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged


class LogGroup(BaseModel):
    name: str
    arn: str
    tags: dict[str, str] | None  # read for the project's groups only


class LogsInventory(Section):
    service = "logs"

    groups: list[LogGroup]

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The log groups under the environment's ``/<prefix>/``."""
        return [
            Tagged(resource=f"log group {g.name}", tags=g.tags)
            for g in self.groups
            if g.tags is not None and g.name.startswith(f"/{inputs.prefix}/")
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        logs = clients.client("logs")
        found = [
            g
            for page in logs.get_paginator("describe_log_groups").paginate()
            for g in page["logGroups"]
        ]
        groups = []
        for g in found:
            arn = g.get("logGroupArn") or g["arn"].removesuffix(":*")
            project = any(
                g["logGroupName"].startswith(f"/{scoped.prefix}/")
                for scoped in inputs.each_environment()
            )
            groups.append(
                LogGroup(
                    name=g["logGroupName"],
                    arn=arn,
                    tags=logs.list_tags_for_resource(resourceArn=arn)["tags"] if project else None,
                )
            )
        return cls(groups=groups)
