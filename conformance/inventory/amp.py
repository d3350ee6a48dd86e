"""Amazon Managed Service for Prometheus: the account's workspaces in the region (Phase 3+:
"CloudWatch Metrics + Prometheus"). ListWorkspaces gives each workspace's alias, status and
tags in one paginated read; only a phase that documents Prometheus reads it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class Workspace(BaseModel):
    id: str
    alias: str | None
    arn: str
    status: str  # CREATING, ACTIVE, UPDATING, DELETING, CREATION_FAILED
    tags: dict[str, str]


class AmpInventory(Section):
    service = "amp"

    workspaces: list[Workspace]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.monitoring is not None and env.monitoring.prometheus is not None

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """This environment's workspaces: those whose alias is under its prefix."""
        return [
            Tagged(resource=f"Prometheus workspace {w.alias} ({w.id})", tags=w.tags)
            for w in self.workspaces
            if w.alias is not None and inputs.owns(w.alias)
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("amp").get_paginator("list_workspaces")
        return cls(
            workspaces=[
                Workspace(
                    id=w["workspaceId"],
                    alias=w.get("alias"),
                    arn=w["arn"],
                    status=(w.get("status") or {}).get("statusCode", ""),
                    tags=w.get("tags") or {},
                )
                for page in paginator.paginate()
                for w in page["workspaces"]
            ]
        )
