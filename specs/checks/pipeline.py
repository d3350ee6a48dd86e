"""The release pipeline of Phase 4 ("CI/CD Pipeline": GitHub -> CodeBuild -> ECR -> ECS).

One CodePipeline for the account (the ``pipeline`` role), checked in production's run. How the
document's stages are read in AWS's terms:

- Source, "GitHub webhook on push to main": a GitHub source action, either a
  CodeStarSourceConnection action (a CodeConnections connection, the current way) or the older
  ThirdParty GitHub action, on branch main; a push starts the pipeline. In a V2 pipeline a Git
  trigger on the action decides (a push filter whose branch globs include main and do not
  exclude it); without one the action's own change detection does (DetectChanges of a
  connection, PollForSourceChanges of the GitHub action, both true unless set false). Not read:
  which provider a connection connects to (GitHub, Bitbucket or GitLab is a property of the
  connection, codeconnections:GetConnection), and the webhook of a GitHub action that does not
  poll (codepipeline:ListWebhooks): such an action makes the trigger check not verifiable.
- Build: a CodeBuild build action that runs the documented build project before every deployment;
  "Docker image build" needs the project's privileged mode.
- Deploy Staging, then Deploy Production: deploy actions of each environment's ECS services, a
  CodeDeployToECS action (blue-green) naming the environment's CodeDeploy application and a
  service's deployment group, or an ECS action naming its cluster and service. Actions run by
  stage, and within a stage by runOrder; equal runOrders run in parallel.
- "Deploy Production: Manual approval required": a Manual approval action strictly before
  production's first deployment (an earlier stage or an earlier runOrder of its stage); "Deploy
  Staging: Auto-deploy": none before staging's.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from conformance.checks import CheckContext, ResourceMissing, Unverifiable, check
from conformance.inventory.codebuild import CodeBuildInventory
from conformance.inventory.codepipeline import Action, CodePipelineInventory, Pipeline
from conformance.spec import PipelineSpec

# The documented source -> the (owner, provider) action types that read it.
SOURCE_ACTIONS = {
    "GitHub": frozenset({("AWS", "CodeStarSourceConnection"), ("ThirdParty", "GitHub")}),
}
CODEDEPLOY_ECS, ECS = "CodeDeployToECS", "ECS"
Position = tuple[int, int]  # (stage index, runOrder): what runs earlier is smaller


@dataclass(frozen=True)
class Placed:
    """An action with where it runs in the pipeline."""

    stage: int
    stage_name: str
    action: Action

    @property
    def position(self) -> Position:
        return (self.stage, self.action.run_order)

    def where(self) -> str:
        return f"{self.action.name} (stage {self.stage_name}, runOrder {self.action.run_order})"


@dataclass(frozen=True)
class Deployment:
    """A deploy action and the environment (and ECS service, when known) it deploys."""

    placed: Placed
    environment: str
    service: str | None


def _release_pipeline(ctx: CheckContext) -> Pipeline:
    section = ctx.get(CodePipelineInventory)
    if section.pipeline is None:
        raise ResourceMissing(f"the release pipeline {ctx.inputs.name('pipeline')}", section.names)
    return section.pipeline


def _placed(pipeline: Pipeline) -> list[Placed]:
    return [
        Placed(index, stage.name, action)
        for index, stage in enumerate(pipeline.stages)
        for action in stage.actions
    ]


def _kinds(source: str) -> frozenset[tuple[str, str]]:
    """The (owner, provider) action types reading the documented source (an AWS one by its
    name, for a source this table does not know)."""
    return SOURCE_ACTIONS.get(source, frozenset({("AWS", source)}))


def _reads(action: Action, source: str) -> bool:
    return (action.owner, action.provider) in _kinds(source)


def _source_actions(pipeline: Pipeline, source: str) -> list[Placed]:
    """The source actions reading the documented source; none is a missing resource."""
    sources = [p for p in _placed(pipeline) if p.action.category == "Source"]
    reading = [p for p in sources if _reads(p.action, source)]
    if not reading:
        raise ResourceMissing(
            f"a {source} source action in pipeline {pipeline.name}",
            [f"{p.action.provider} {p.where()}" for p in sources],
        )
    return reading


def _branch(action: Action) -> str | None:
    return action.configuration.get("BranchName") or action.configuration.get("Branch")


@check(
    "pipeline.source",
    title="The release pipeline's source is the GitHub repository (Phase 4: CodePipeline)",
    area=lambda env: env.pipeline,
    severity="high",
    remediation="Give the pipeline a source action reading the GitHub repository through a "
    "CodeConnections connection (CodeStarSourceConnection).",
)
def source(ctx: CheckContext, spec: PipelineSpec) -> None:
    pipeline = _release_pipeline(ctx)
    sources = [p for p in _placed(pipeline) if p.action.category == "Source"]
    documented = spec.source.value
    kinds = _kinds(documented)
    ctx.expect(
        spec.source,
        [f"{p.action.owner}/{p.action.provider} {p.where()}" for p in sources]
        or "no source action",
        subject=f"pipeline {pipeline.name} source actions",
        expected=f"a {documented} source action ({' or '.join(sorted(map('/'.join, kinds)))})",
        ok=any(_reads(p.action, documented) for p in sources),
    )


@check(
    "pipeline.branch",
    title="The release pipeline's source action reads the main branch",
    area=lambda env: env.pipeline,
    severity="high",
    remediation="Set the source action's BranchName to the documented branch (main).",
)
def branch(ctx: CheckContext, spec: PipelineSpec) -> None:
    pipeline = _release_pipeline(ctx)
    for placed in _source_actions(pipeline, spec.source.value):
        ctx.expect(
            spec.branch,
            _branch(placed.action) or "no branch configured",
            subject=f"pipeline {pipeline.name} source action {placed.where()} branch",
        )


def _started_by_push(pipeline: Pipeline, action: Action, branch: str) -> tuple[bool, str]:
    """Whether a push to ``branch`` starts the pipeline through ``action``, and what decides it.
    Branch globs are matched as fnmatch does (enough for a branch name without a slash)."""
    triggers = [t for t in pipeline.triggers if t.source_action == action.name]
    if triggers:
        filters = [f for t in triggers for f in t.push]
        matching = [
            f
            for f in filters
            if f.branches is not None
            and any(fnmatchcase(branch, glob) for glob in f.branches)
            and not any(fnmatchcase(branch, glob) for glob in f.excluded_branches)
        ]
        shown = [
            f"branches {', '.join(f.branches)}"
            + (f" excluding {', '.join(f.excluded_branches)}" if f.excluded_branches else "")
            if f.branches is not None
            else "tags only"
            for f in filters
        ]
        return bool(matching), "Git trigger on pushes to " + (
            "; ".join(shown) or "nothing (pull requests only)"
        )
    if action.provider == "CodeStarSourceConnection":
        detect = action.configuration.get("DetectChanges", "true")
        return detect.lower() != "false", f"DetectChanges {detect}"
    if action.provider == "GitHub":
        poll = action.configuration.get("PollForSourceChanges", "true")
        if poll.lower() != "false":
            return True, f"PollForSourceChanges {poll}"
        raise Unverifiable(
            f"the GitHub source action {action.name} does not poll: a webhook would start the "
            "pipeline, and webhooks (codepipeline:ListWebhooks) are not read"
        )
    return False, f"{action.provider} has no change detection this check knows"


@check(
    "pipeline.trigger",
    title="A push to main starts the release pipeline (Phase 4: GitHub webhook on push)",
    area=lambda env: env.pipeline,
    remediation="Add a Git trigger on pushes to main for the source action (V2 pipeline), or "
    "leave the connection's DetectChanges true.",
)
def trigger(ctx: CheckContext, spec: PipelineSpec) -> None:
    pipeline = _release_pipeline(ctx)
    documented = spec.branch.value
    for placed in _source_actions(pipeline, spec.source.value):
        started, decided_by = _started_by_push(pipeline, placed.action, documented)
        ctx.expect(
            spec.branch,
            decided_by,
            subject=f"pipeline {pipeline.name} start on a push to {documented} "
            f"(source action {placed.action.name})",
            expected=f"a push to {documented} starts it",
            ok=started,
        )


def _deploy_positions(pipeline: Pipeline) -> list[Position]:
    return [p.position for p in _placed(pipeline) if p.action.category == "Deploy"]


@check(
    "pipeline.build",
    title="The release pipeline builds with its CodeBuild project before deploying",
    area=lambda env: env.pipeline,
    severity="high",
    remediation="Add a build stage whose CodeBuild action runs the build project (tests, lint, "
    "docker build and push to ECR), before the deploy stages.",
)
def build(ctx: CheckContext, spec: PipelineSpec) -> None:
    pipeline = _release_pipeline(ctx)
    provider, project = spec.build.value, ctx.inputs.name("build-project")
    builds = [p for p in _placed(pipeline) if p.action.category == "Build"]
    first_deploy = min(_deploy_positions(pipeline), default=None)
    running = [
        p
        for p in builds
        if (p.action.owner, p.action.provider) == ("AWS", provider)
        and p.action.configuration.get("ProjectName") == project
        and (first_deploy is None or p.position < first_deploy)
    ]
    ctx.expect(
        spec.build,
        [
            f"{p.action.provider} {p.action.configuration.get('ProjectName', '')} {p.where()}"
            for p in builds
        ]
        or "no build action",
        subject=f"pipeline {pipeline.name} build actions",
        expected=f"a {provider} action running project {project} before the deployments",
        ok=bool(running),
    )


@check(
    "pipeline.docker_build",
    title="The build project runs in privileged mode, which building Docker images needs",
    area=lambda env: env.pipeline,
    remediation="Set privileged_mode = true in the CodeBuild project's environment.",
)
def docker_build(ctx: CheckContext, spec: PipelineSpec) -> None:
    name = ctx.inputs.name("build-project")
    codebuild = ctx.get(CodeBuildInventory)
    project = codebuild.build_project
    if project is None:
        raise ResourceMissing(f"the CodeBuild project {name}", codebuild.names)
    if project.privileged_mode is None:
        raise Unverifiable(f"the target does not report CodeBuild project {name}'s privileged mode")
    ctx.expect(
        spec.docker_build,
        project.privileged_mode,
        subject=f"CodeBuild project {name} environment privilegedMode",
    )


def _deployments(ctx: CheckContext, pipeline: Pipeline) -> list[Deployment]:
    """The deploy actions that deploy one of the phase's environments, and which: by the
    environment's CodeDeploy application (CodeDeployToECS) or ECS cluster (ECS)."""
    found = []
    for placed in _placed(pipeline):
        action, configuration = placed.action, placed.action.configuration
        if action.category != "Deploy":
            continue
        for environment, env in ctx.run.spec.environments.items():
            inputs = ctx.inputs.for_environment(environment)
            services = list(env.ecs.services) if env.ecs is not None else []
            if action.provider == CODEDEPLOY_ECS:
                if configuration.get("ApplicationName") != inputs.name("deploy-app"):
                    continue
                role, named = "deployment-group", configuration.get("DeploymentGroupName")
            elif action.provider == ECS:
                if configuration.get("ClusterName") != inputs.name("ecs-cluster"):
                    continue
                role, named = "ecs-service", configuration.get("ServiceName")
            else:
                continue
            service = next((s for s in services if inputs.name(f"{role}.{s}") == named), None)
            found.append(Deployment(placed, environment, service))
    return found


def _order(deployments: list[Deployment]) -> list[str]:
    """The environments in the order they are deployed; environments deployed at the same
    position (in parallel) are joined by '+'."""
    at: dict[Position, set[str]] = {}
    for deployment in deployments:
        at.setdefault(deployment.placed.position, set()).add(deployment.environment)
    order: list[str] = []
    for position in sorted(at):
        label = "+".join(sorted(at[position]))
        if not order or order[-1] != label:
            order.append(label)
    return order


@check(
    "pipeline.deploy_order",
    title="The release pipeline deploys staging, then production",
    area=lambda env: env.pipeline,
    severity="high",
    remediation="Deploy staging's services in a stage before production's deploy stage.",
)
def deploy_order(ctx: CheckContext, spec: PipelineSpec) -> None:
    pipeline = _release_pipeline(ctx)
    ctx.expect(
        spec.deploys,
        _order(_deployments(ctx, pipeline)) or "no deployment of any environment",
        subject=f"pipeline {pipeline.name} environments deployed, in order",
        expected=list(spec.deploys.value),
    )


@check(
    "pipeline.deploy_services",
    title="The release pipeline deploys every ECS service of each environment it deploys",
    area=lambda env: env.pipeline,
    remediation="Add a deploy action (CodeDeployToECS with the service's deployment group) for "
    "each of the environment's ECS services.",
)
def deploy_services(ctx: CheckContext, spec: PipelineSpec) -> None:
    pipeline = _release_pipeline(ctx)
    deployments = _deployments(ctx, pipeline)
    for environment in spec.deploys.value:
        ecs = ctx.run.spec.environment(environment).ecs
        services = list(ecs.services) if ecs is not None else []
        deployed = {d.service for d in deployments if d.environment == environment}
        missing = [s for s in services if s not in deployed]
        ctx.expect(
            spec.deploys,
            f"not deployed: {', '.join(missing)}" if missing else "every one",
            subject=f"pipeline {pipeline.name} deployments of {environment}'s ECS services",
            expected=f"every one ({', '.join(services)})",
            ok=not missing,
        )


@check(
    "pipeline.manual_approval",
    title="Production is deployed only after a manual approval, staging without one",
    area=lambda env: env.pipeline,
    severity="high",
    remediation="Put a Manual approval action before production's deploy actions (its own "
    "stage, or runOrder 1 of production's stage) and none before staging's.",
)
def manual_approval(ctx: CheckContext, spec: PipelineSpec) -> None:
    pipeline = _release_pipeline(ctx)
    placed = _placed(pipeline)
    approvals = [
        p for p in placed if p.action.category == "Approval" and p.action.provider == "Manual"
    ]
    deployments = _deployments(ctx, pipeline)
    for environment in ctx.run.spec.environments:
        gated = environment in spec.manual_approval.value
        positions = [d.placed.position for d in deployments if d.environment == environment]
        if not positions:
            actual = "not deployed"
            ok = not gated
        else:
            before = [a for a in approvals if a.position < min(positions)]
            actual = f"after {before[0].where()}" if before else "no manual approval before it"
            ok = bool(before) == gated
        ctx.expect(
            spec.manual_approval,
            actual,
            subject=f"pipeline {pipeline.name} deployment of {environment}",
            expected="after a manual approval" if gated else "no manual approval before it",
            ok=ok,
        )
