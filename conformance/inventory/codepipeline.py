"""CodePipeline: the release pipeline of Phase 4 (GitHub -> CodeBuild -> ECS), its stages,
actions, triggers and tags.

The account holds one pipeline for both environments, named by the ``pipeline`` role: ListPipelines
says whether it exists (and what is there instead), GetPipeline reads its structure. An action's
configuration is kept only for the keys the checks read: the GitHub (version 1) action's
OAuthToken is a credential and a build action's EnvironmentVariables may hold plaintext values,
so neither is ever recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

# The configuration keys the checks read: the source (CodeStarSourceConnection, GitHub version 1),
# the build (CodeBuild) and the deployments (CodeDeployToECS, ECS).
KEPT_CONFIGURATION = frozenset(
    {
        "ConnectionArn",
        "FullRepositoryId",
        "BranchName",
        "DetectChanges",
        "Owner",
        "Repo",
        "Branch",
        "PollForSourceChanges",
        "ProjectName",
        "ApplicationName",
        "DeploymentGroupName",
        "ClusterName",
        "ServiceName",
    }
)


class Action(BaseModel):
    name: str
    category: str  # Source, Build, Test, Deploy, Approval, Invoke, Compute
    owner: str  # AWS, ThirdParty, Custom
    provider: str  # CodeStarSourceConnection, GitHub, CodeBuild, CodeDeployToECS, ECS, Manual …
    run_order: int  # actions of a stage run in runOrder order, equal ones in parallel
    configuration: dict[str, str]  # KEPT_CONFIGURATION only


class Stage(BaseModel):
    name: str
    actions: list[Action]


class PushFilter(BaseModel):
    """One push filter of a V2 pipeline's Git trigger: the branch globs it includes and
    excludes (None: the filter names no branch, e.g. tags only)."""

    branches: list[str] | None
    excluded_branches: list[str]


class Trigger(BaseModel):
    """A V2 pipeline's Git trigger: which source action it starts, on which pushes."""

    provider: str
    source_action: str
    push: list[PushFilter]


class Pipeline(BaseModel):
    name: str
    arn: str
    pipeline_type: str  # V1 or V2 (AWS omits it for V1)
    stages: list[Stage]
    triggers: list[Trigger]
    tags: dict[str, str]


class CodePipelineInventory(Section):
    service = "codepipeline"

    names: list[str]  # every pipeline in the region
    pipeline: Pipeline | None  # the release pipeline, when it exists

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.pipeline is not None

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        if inputs.environment != "production" or self.pipeline is None:
            return []  # the account holds it once, for every environment: production's
        return [Tagged(resource=f"pipeline {self.pipeline.name}", tags=self.pipeline.tags)]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        codepipeline = clients.client("codepipeline")
        names = [
            p["name"]
            for page in codepipeline.get_paginator("list_pipelines").paginate()
            for p in page["pipelines"]
        ]
        name = inputs.name("pipeline")
        if name not in names:
            return cls(names=names, pipeline=None)
        answer = codepipeline.get_pipeline(name=name)
        arn = answer["metadata"]["pipelineArn"]
        tags = {
            t["key"]: t.get("value", "")
            for page in codepipeline.get_paginator("list_tags_for_resource").paginate(
                resourceArn=arn
            )
            for t in page["tags"]
        }
        return cls(names=names, pipeline=_pipeline(answer["pipeline"], arn, tags))


def _pipeline(declaration: dict[str, Any], arn: str, tags: dict[str, str]) -> Pipeline:
    return Pipeline(
        name=declaration["name"],
        arn=arn,
        pipeline_type=declaration.get("pipelineType") or "V1",
        stages=[
            Stage(name=stage["name"], actions=[_action(a) for a in stage["actions"]])
            for stage in declaration["stages"]
        ],
        triggers=[_trigger(t) for t in declaration.get("triggers") or []],
        tags=tags,
    )


def _action(action: dict[str, Any]) -> Action:
    kind = action["actionTypeId"]
    configuration = action.get("configuration") or {}
    return Action(
        name=action["name"],
        category=kind["category"],
        owner=kind["owner"],
        provider=kind["provider"],
        run_order=action.get("runOrder", 1),
        configuration={k: str(v) for k, v in configuration.items() if k in KEPT_CONFIGURATION},
    )


def _trigger(trigger: dict[str, Any]) -> Trigger:
    git = trigger.get("gitConfiguration") or {}
    return Trigger(
        provider=trigger.get("providerType", ""),
        source_action=git.get("sourceActionName", ""),
        push=[
            PushFilter(
                branches=(push["branches"].get("includes") or []) if "branches" in push else None,
                excluded_branches=(push.get("branches") or {}).get("excludes") or [],
            )
            for push in git.get("push") or []
        ],
    )
