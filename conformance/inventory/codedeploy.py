"""CodeDeploy: the environments' applications and their deployment groups (Phase 4: blue-green
deployment of the ECS services, production's with a canary).

Only the applications playing the collected environments' ``deploy-app`` role are read: one
ListApplications (paginated) to see which exist, one ListDeploymentGroups (paginated) per
application, then each group with GetDeploymentGroup. BatchGetDeploymentGroups would read 25
groups a call, but moto does not implement it; an environment has 8 groups.

The deployment configuration is recorded by name. GetDeploymentConfig is not called: moto does
not implement it, and the document names a predefined configuration
(CodeDeployDefault.ECSCanary10Percent5Minutes) whose traffic routing AWS fixes; a custom
configuration cannot take the CodeDeployDefault. prefix, so the name says it all.

An alarm configuration is recorded only when the answer says whether it is enabled: AWS always
does, moto answers an empty ``alarmConfiguration`` whatever was configured, so there the group's
``alarms_enabled`` is None (not reported) and checks of it cannot be verified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class DeployedService(BaseModel):
    """An ECS service a deployment group deploys."""

    cluster: str
    service: str


class DeploymentGroup(BaseModel):
    application: str
    name: str
    compute_platform: str | None  # ECS, Server or Lambda
    deployment_config: str | None
    deployment_type: str | None  # IN_PLACE or BLUE_GREEN
    deployment_option: str | None  # WITH_TRAFFIC_CONTROL or WITHOUT_TRAFFIC_CONTROL
    ecs_services: list[DeployedService]
    target_groups: list[str]  # the names of its blue/green target-group pairs
    # What happens to the original (blue) tasks after a successful deployment.
    termination_action: str | None  # TERMINATE or KEEP_ALIVE
    termination_wait_minutes: int | None
    auto_rollback_enabled: bool | None
    auto_rollback_events: list[str]
    alarms_enabled: bool | None  # None: the answer does not say (moto)
    alarms: list[str]  # the CloudWatch alarms a deployment stops on


class CodedeployInventory(Section):
    service = "codedeploy"
    fans_out = True

    applications: list[str]  # the collected environments' applications that exist
    deployment_groups: list[DeploymentGroup]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        deployment = env.ecs.deployment if env.ecs is not None else None
        return deployment is not None and deployment.type.value == "blue-green"

    def groups_of(self, application: str) -> list[DeploymentGroup]:
        return [g for g in self.deployment_groups if g.application == application]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        codedeploy = clients.client("codedeploy")
        wanted = {env.name("deploy-app") for env in inputs.each_environment()}
        applications = sorted(
            name
            for page in codedeploy.get_paginator("list_applications").paginate()
            for name in page["applications"]
            if name in wanted
        )
        groups = []
        for application in applications:
            paginator = codedeploy.get_paginator("list_deployment_groups")
            for page in paginator.paginate(applicationName=application):
                groups += [
                    _group(
                        codedeploy.get_deployment_group(
                            applicationName=application, deploymentGroupName=name
                        )["deploymentGroupInfo"]
                    )
                    for name in page["deploymentGroups"]
                ]
        return cls(applications=applications, deployment_groups=groups)


def _group(g: dict[str, Any]) -> DeploymentGroup:
    style = g.get("deploymentStyle") or {}
    blue_green = g.get("blueGreenDeploymentConfiguration") or {}
    terminate = blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    rollback = g.get("autoRollbackConfiguration") or {}
    alarms = g.get("alarmConfiguration") or {}
    pairs = (g.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    return DeploymentGroup(
        application=g["applicationName"],
        name=g["deploymentGroupName"],
        compute_platform=g.get("computePlatform"),
        deployment_config=g.get("deploymentConfigName"),
        deployment_type=style.get("deploymentType"),
        deployment_option=style.get("deploymentOption"),
        ecs_services=[
            DeployedService(cluster=s.get("clusterName", ""), service=s.get("serviceName", ""))
            for s in g.get("ecsServices") or []
        ],
        target_groups=[t["name"] for pair in pairs for t in pair.get("targetGroups") or []],
        termination_action=terminate.get("action"),
        termination_wait_minutes=terminate.get("terminationWaitTimeInMinutes"),
        auto_rollback_enabled=rollback.get("enabled"),
        auto_rollback_events=rollback.get("events") or [],
        alarms_enabled=alarms.get("enabled"),
        alarms=[a["name"] for a in alarms.get("alarms") or []],
    )
