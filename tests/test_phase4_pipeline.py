"""The release pipeline's collector and checks where the kill-matrix does not reach: the older
GitHub (version 1) source action, Git-trigger filters that exclude main, ECS (not CodeDeploy)
deploy actions, and a GitHub token that must never be recorded."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from conformance.aws import Clients
from conformance.checks import Result, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import SavedInventory, SavedSnapshot
from conformance.inventory.codepipeline import (
    Action,
    CodePipelineInventory,
    Pipeline,
    PushFilter,
    Stage,
    Trigger,
)
from conformance.spec import load_spec

CHECKS = load_checks()
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
INPUTS = Inputs()


def _action(name: str, category: str, provider: str, run_order: int = 1, **config: str) -> Action:
    owner = "ThirdParty" if provider == "GitHub" else "AWS"
    return Action(
        name=name,
        category=category,
        owner=owner,
        provider=provider,
        run_order=run_order,
        configuration=config,
    )


def _ecs_deploys(environment: str, run_order: int = 1) -> list[Action]:
    """ECS (rolling) deploy actions of every service of ``environment``, by cluster and name."""
    inputs = INPUTS.for_environment(environment)
    ecs = load_spec(4).environment(environment).ecs
    assert ecs is not None
    return [
        _action(
            f"Deploy-{service}",
            "Deploy",
            "ECS",
            run_order,
            ClusterName=inputs.name("ecs-cluster"),
            ServiceName=inputs.name(f"ecs-service.{service}"),
        )
        for service in ecs.services
    ]


def _pipeline(source: Action, triggers: list[Trigger] | None = None) -> Pipeline:
    return Pipeline(
        name=INPUTS.name("pipeline"),
        arn="arn:aws:codepipeline:us-east-1:123456789012:accountabilityatlas-release",
        pipeline_type="V2" if triggers else "V1",
        stages=[
            Stage(name="Source", actions=[source]),
            Stage(
                name="Build",
                actions=[
                    _action("Build", "Build", "CodeBuild", ProjectName=INPUTS.name("build-project"))
                ],
            ),
            Stage(name="Staging", actions=_ecs_deploys("staging")),
            Stage(
                name="Production",
                actions=[_action("Approve", "Approval", "Manual"), *_ecs_deploys("production", 2)],
            ),
        ],
        triggers=triggers or [],
        tags={},
    )


def _check(check_id: str, pipeline: Pipeline) -> Result:
    section = CodePipelineInventory(names=[pipeline.name], pipeline=pipeline)
    saved = SavedSnapshot.of(
        {
            "region": "us-east-1",
            "sections": {"codepipeline": section.model_dump(mode="json")},
            "failures": {},
        },
        origin="a test",
        location="memory",
    )
    run = Run(load_spec(4), "production", INPUTS, SavedInventory(saved, INPUTS), "inventory")
    return CHECKS[check_id].run(run)


GITHUB_V1 = _action(
    "Source", "Source", "GitHub", Owner="AccountabilityAtlas", Repo="atlas", Branch="main"
)


def test_the_github_version_1_action_is_a_github_source_that_polls_by_default() -> None:
    pipeline = _pipeline(GITHUB_V1)
    for check_id in ("pipeline.source", "pipeline.branch", "pipeline.trigger"):
        result = _check(check_id, pipeline)
        assert result.outcome == "passed", result.describe()


def test_a_github_version_1_action_that_does_not_poll_is_not_verifiable() -> None:
    source = GITHUB_V1.model_copy(
        update={"configuration": {**GITHUB_V1.configuration, "PollForSourceChanges": "false"}}
    )
    result = _check("pipeline.trigger", _pipeline(source))
    assert result.outcome == "skipped"
    assert "webhook" in result.message


def test_a_git_trigger_that_excludes_main_or_reads_tags_only_fails() -> None:
    source = _action(
        "Source", "Source", "CodeStarSourceConnection", FullRepositoryId="o/r", BranchName="main"
    )
    for push in (
        [PushFilter(branches=["*"], excluded_branches=["main"])],
        [PushFilter(branches=None, excluded_branches=[])],
    ):
        trigger = Trigger(provider="CodeStarSourceConnection", source_action="Source", push=push)
        result = _check("pipeline.trigger", _pipeline(source, [trigger]))
        assert result.outcome == "failed", result.describe()
    matching = Trigger(
        provider="CodeStarSourceConnection",
        source_action="Source",
        push=[PushFilter(branches=["ma*"], excluded_branches=["release/*"])],
    )
    assert _check("pipeline.trigger", _pipeline(source, [matching])).outcome == "passed"


def test_ecs_deploy_actions_are_placed_by_cluster_and_service() -> None:
    pipeline = _pipeline(GITHUB_V1)
    for check_id in (
        "pipeline.deploy_order",
        "pipeline.deploy_services",
        "pipeline.manual_approval",
    ):
        result = _check(check_id, pipeline)
        assert result.outcome == "passed", result.describe()


def test_staging_and_production_deployed_in_parallel_is_not_in_order() -> None:
    pipeline = _pipeline(GITHUB_V1)
    staging, production = pipeline.stages[2], pipeline.stages[3]
    merged = Stage(name="Deploy", actions=[*staging.actions, *_ecs_deploys("production")])
    parallel = pipeline.model_copy(update={"stages": [*pipeline.stages[:2], merged, production]})
    result = _check("pipeline.deploy_order", parallel)
    assert result.outcome == "failed"
    assert result.failures[0].actual == ["production+staging", "production"]


def test_the_collector_never_records_a_github_token() -> None:
    token = "ghp_not-a-real-token-0123456789"
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1", **KEYS)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "codepipeline.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(RoleName="release", AssumeRolePolicyDocument=json.dumps(trust))
        kind = {"owner": "ThirdParty", "provider": "GitHub", "version": "1"}
        boto3.client("codepipeline", region_name="us-east-1", **KEYS).create_pipeline(
            pipeline={
                "name": INPUTS.name("pipeline"),
                "roleArn": role["Role"]["Arn"],
                "artifactStore": {"type": "S3", "location": "artifacts"},
                "stages": [
                    {
                        "name": "Source",
                        "actions": [
                            {
                                "name": "Source",
                                "actionTypeId": {"category": "Source", **kind},
                                "configuration": {
                                    "Owner": "AccountabilityAtlas",
                                    "Repo": "atlas",
                                    "Branch": "main",
                                    "OAuthToken": token,
                                },
                            }
                        ],
                    },
                    {
                        "name": "Build",
                        "actions": [
                            {
                                "name": "Build",
                                "actionTypeId": {
                                    "category": "Build",
                                    "owner": "AWS",
                                    "provider": "CodeBuild",
                                    "version": "1",
                                },
                                "configuration": {
                                    "ProjectName": "build",
                                    "EnvironmentVariables": json.dumps(
                                        [{"name": "TOKEN", "value": token, "type": "PLAINTEXT"}]
                                    ),
                                },
                            }
                        ],
                    },
                ],
            }
        )
        clients = Clients("us-east-1", session=boto3.Session(**KEYS))
        section = CodePipelineInventory.collect(clients, INPUTS)
    assert section.pipeline is not None
    assert section.pipeline.stages[0].actions[0].configuration["Branch"] == "main"
    assert token not in section.model_dump_json()
