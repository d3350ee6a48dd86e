"""IAM users with long-lived keys, and the identity policies that apply to each.

"AWS authentication uses OIDC federation — no long-lived access keys stored as GitHub secrets":
deploying (pushing the images to ECR) must need the OIDC role, so no IAM user holding an active
access key may be allowed to push (``ci.no_deploy_access_keys`` judges the statements kept here).
Users, groups and policy documents come from one paged GetAccountAuthorizationDetails (no policy
is fetched one by one); access keys from ListAccessKeys per user. Only users with an active key
are kept, with the statements of their inline, managed and groups' policies; key ids are not.
"""

from __future__ import annotations

import json
from typing import Any, Self
from urllib.parse import unquote

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section

FILTERS = ["User", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]


class Statement(BaseModel):
    """One statement of an identity policy, as written (a string becomes a one-item list)."""

    source: str  # "inline deploy", "managed AmazonEC2ContainerRegistryPowerUser", "group ci …"
    effect: str
    actions: list[str] | None  # Action, or None when the statement says NotAction
    not_actions: list[str] | None
    resources: list[str] | None
    not_resources: list[str] | None
    conditional: bool


class KeyUser(BaseModel):
    name: str
    arn: str
    active_keys: int
    statements: list[Statement]


class IamUsersInventory(Section):
    service = "iam-users"

    users: int  # every IAM user of the account
    with_active_keys: list[KeyUser]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        iam = clients.client("iam")
        users: list[dict[str, Any]] = []
        groups: dict[str, dict[str, Any]] = {}
        documents: dict[str, Any] = {}
        pages = iam.get_paginator("get_account_authorization_details").paginate(Filter=FILTERS)
        for page in pages:
            users += page.get("UserDetailList", [])
            groups |= {g["GroupName"]: g for g in page.get("GroupDetailList", [])}
            for policy in page.get("Policies", []):
                versions = policy.get("PolicyVersionList", [])
                default = next((v for v in versions if v.get("IsDefaultVersion")), None)
                if default is not None:
                    documents[policy["Arn"]] = default.get("Document")
        with_keys = []
        for user in users:
            keys = iam.get_paginator("list_access_keys").paginate(UserName=user["UserName"])
            active = sum(
                1 for page in keys for k in page["AccessKeyMetadata"] if k["Status"] == "Active"
            )
            if active:
                statements = [
                    _statement(source, raw)
                    for source, document in _policies(user, groups, documents)
                    for raw in _statements(document)
                ]
                with_keys.append(
                    KeyUser(
                        name=user["UserName"],
                        arn=user["Arn"],
                        active_keys=active,
                        statements=statements,
                    )
                )
        return cls(users=len(users), with_active_keys=with_keys)


def _policies(
    user: dict[str, Any], groups: dict[str, dict[str, Any]], documents: dict[str, Any]
) -> list[tuple[str, Any]]:
    """(where it comes from, document) of every identity policy that applies to the user."""
    found = [
        (f"inline {p['PolicyName']}", p.get("PolicyDocument"))
        for p in user.get("UserPolicyList", [])
    ]
    found += [
        (f"managed {p['PolicyName']}", documents.get(p["PolicyArn"]))
        for p in user.get("AttachedManagedPolicies", [])
    ]
    for name in user.get("GroupList", []):
        group = groups.get(name, {})
        found += [
            (f"group {name} inline {p['PolicyName']}", p.get("PolicyDocument"))
            for p in group.get("GroupPolicyList", [])
        ]
        found += [
            (f"group {name} managed {p['PolicyName']}", documents.get(p["PolicyArn"]))
            for p in group.get("AttachedManagedPolicies", [])
        ]
    return found


def _statements(document: Any) -> list[dict[str, Any]]:
    """A policy document's statements; IAM may hand the document URL-encoded."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = (document or {}).get("Statement", [])
    listed = [statements] if isinstance(statements, dict) else statements
    return [s for s in listed if isinstance(s, dict)]


def _statement(source: str, raw: dict[str, Any]) -> Statement:
    def listed(key: str) -> list[str] | None:
        value = raw.get(key)
        if value is None:
            return None
        return [value] if isinstance(value, str) else [str(v) for v in value]

    return Statement(
        source=source,
        effect=str(raw.get("Effect", "")),
        actions=listed("Action"),
        not_actions=listed("NotAction"),
        resources=listed("Resource"),
        not_resources=listed("NotResource"),
        conditional="Condition" in raw,
    )
