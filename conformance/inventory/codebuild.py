"""CodeBuild: the release pipeline's build project (Phase 4: "Build: Tests, code quality checks,
Docker image build, push to ECR").

The project is read by its documented name (the ``build-project`` role, one for both
environments), not by the name the pipeline's build action gives: a section never reads another.
Only what the checks judge is kept: the project's environment variables may hold plaintext values
and are never recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class Project(BaseModel):
    name: str
    arn: str
    privileged_mode: bool | None  # None: the target did not report it (AWS always does)
    tags: dict[str, str]


class CodeBuildInventory(Section):
    service = "codebuild"

    names: list[str]  # every project in the region
    build_project: Project | None  # the documented build project, when it exists

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.pipeline is not None

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        project = self.build_project
        if inputs.environment != "production" or project is None:
            return []  # the account holds it once, for every environment: production's
        return [Tagged(resource=f"codebuild project {project.name}", tags=project.tags)]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        codebuild = clients.client("codebuild")
        names = [
            n
            for page in codebuild.get_paginator("list_projects").paginate()
            for n in page["projects"]
        ]
        name = inputs.name("build-project")
        if name not in names:
            return cls(names=names, build_project=None)
        found = codebuild.batch_get_projects(names=[name])["projects"]
        project = next((p for p in found if p["name"] == name), None)
        if project is None:  # deleted between the two calls
            return cls(names=names, build_project=None)
        environment = project.get("environment") or {}
        privileged = environment.get("privilegedMode")
        return cls(
            names=names,
            build_project=Project(
                name=name,
                arn=project["arn"],
                privileged_mode=privileged if isinstance(privileged, bool) else None,
                tags={t["key"]: t.get("value", "") for t in project.get("tags") or []},
            ),
        )
