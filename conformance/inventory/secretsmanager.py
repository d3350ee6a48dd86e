"""Secrets Manager: the secrets' names and tags, never their values."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of


class Secret(BaseModel):
    name: str
    arn: str
    tags: dict[str, str]


class SecretsManagerInventory(Section):
    service = "secretsmanager"

    secrets: list[Secret]  # ListSecrets omits secrets scheduled for deletion

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The secrets under the environment's ``<prefix>/`` or named by its overrides."""
        overrides = {v for k, v in inputs.overrides.items() if k.startswith("secret.")}
        return [
            Tagged(resource=f"secret {s.name}", tags=s.tags)
            for s in self.secrets
            if s.name.startswith(f"{inputs.prefix}/") or s.name in overrides
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        paginator = clients.client("secretsmanager").get_paginator("list_secrets")
        return cls(
            secrets=[
                Secret(name=s["Name"], arn=s["ARN"], tags=tags_of(s.get("Tags")))
                for page in paginator.paginate()
                for s in page["SecretList"]
            ]
        )
