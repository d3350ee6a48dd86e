"""IAM: the GitHub Actions OIDC provider and the roles its tokens may assume."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

# The issuer of GitHub Actions' OIDC tokens; its provider's ARN ends in oidc-provider/<issuer>.
GITHUB_ISSUER = "token.actions.githubusercontent.com"


class OidcProvider(BaseModel):
    arn: str
    url: str  # the issuer, without https://
    client_ids: list[str]


class Role(BaseModel):
    name: str
    arn: str
    trust: dict[str, Any]  # the assume-role policy document
    tags: dict[str, str] | None  # read for the roles GitHub's tokens may assume only


class IamInventory(Section):
    service = "iam"

    provider_arns: list[str]  # every OIDC provider of the account
    github: OidcProvider | None
    roles: list[Role]

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The deploy role(s); the OIDC provider is account-wide, shared by every repository."""
        if inputs.environment != "production":
            return []  # the account holds it once, for every environment: production's
        return [
            Tagged(resource=f"iam role {r.name}", tags=r.tags)
            for r in self.roles
            if r.tags is not None
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        iam = clients.client("iam")
        arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
        arn = next((a for a in arns if a.endswith(f":oidc-provider/{GITHUB_ISSUER}")), None)
        github = None
        if arn is not None:
            provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
            github = OidcProvider(
                arn=arn, url=provider["Url"], client_ids=provider.get("ClientIDList", [])
            )
        roles = []
        for page in iam.get_paginator("list_roles").paginate():
            for r in page["Roles"]:
                trust = r.get("AssumeRolePolicyDocument") or {}
                tags = (
                    _role_tags(iam, r["RoleName"]) if federated_by(trust, GITHUB_ISSUER) else None
                )
                roles.append(Role(name=r["RoleName"], arn=r["Arn"], trust=trust, tags=tags))
        return cls(provider_arns=arns, github=github, roles=roles)


def _role_tags(iam: Any, name: str) -> dict[str, str]:
    paginator = iam.get_paginator("list_role_tags")
    return tags_of([t for page in paginator.paginate(RoleName=name) for t in page["Tags"]])


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy's statements as a list (IAM allows a single statement object)."""
    found = policy.get("Statement", [])
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    """IAM policy values are a string or a list of strings."""
    return value if isinstance(value, list) else [value]


def federates(statement: dict[str, Any], issuer: str) -> bool:
    """Does this statement name the OIDC provider of ``issuer`` as a federated principal?"""
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return False
    return any(
        p.endswith(f":oidc-provider/{issuer}") for p in as_list(principal.get("Federated", []))
    )


def federated_by(policy: dict[str, Any], issuer: str) -> bool:
    """Does any statement of ``policy`` federate the OIDC provider of ``issuer``?"""
    return any(federates(s, issuer) for s in statements(policy))
