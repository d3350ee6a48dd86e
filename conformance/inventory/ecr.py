"""ECR: the container repositories, with tags for the project's image repositories."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

# The compose file's ${ECR_REGISTRY}/acct-atlas-<service> images (Inputs.name("ecr.<service>")).
IMAGE_PREFIX = "acct-atlas-"


class Repository(BaseModel):
    name: str
    arn: str
    tags: dict[str, str] | None  # read for the project's repositories only


class EcrInventory(Section):
    service = "ecr"
    fans_out = True

    repositories: list[Repository]

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        if inputs.environment != "production":
            return []  # the account holds it once, for every environment: production's
        return [
            Tagged(resource=f"ecr repository {r.name}", tags=r.tags)
            for r in self.repositories
            if r.tags is not None
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        ecr = clients.client("ecr")
        found = [
            r
            for page in ecr.get_paginator("describe_repositories").paginate()
            for r in page["repositories"]
        ]
        return cls(
            repositories=[
                Repository(
                    name=r["repositoryName"],
                    arn=r["repositoryArn"],
                    tags=(
                        tags_of(ecr.list_tags_for_resource(resourceArn=r["repositoryArn"])["tags"])
                        if is_project_repository(inputs, r["repositoryName"])
                        else None
                    ),
                )
                for r in found
            ]
        )


def is_project_repository(inputs: Inputs, name: str) -> bool:
    """Named by the image convention, or by an ``ecr.<service>`` name override."""
    overrides = {v for k, v in inputs.names.items() if k.startswith("ecr.")}
    return name.startswith(IMAGE_PREFIX) or name in overrides
