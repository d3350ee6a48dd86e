"""OpenTofu's state backend (S3 bucket + DynamoDB lock table) and CI's OIDC access to AWS.

The lock table's key and the provider's audience are declared values; the state bucket's
settings, the deploy role's trust and the absence of long-lived deploy keys are judged by
functions.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from conformance.checks import CheckContext, ResourceMissing, check
from conformance.declared import CONTAINS, Role, Value, declare
from conformance.inventory.dynamodb import DynamoDbInventory, Table
from conformance.inventory.iam import (
    IamInventory,
    OidcProvider,
    as_list,
    federated_by,
    federates,
    statements,
)
from conformance.inventory.iam import Role as IamRole
from conformance.inventory.iam_users import IamUsersInventory, KeyUser, Statement
from conformance.inventory.s3 import Bucket, S3Inventory
from conformance.spec import IacSpec

WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
WEB_IDENTITY_ACTIONS = frozenset({WEB_IDENTITY, "sts:*", "*"})
# What pushing an image to ECR takes (the deploy workflow's docker push).
PUSH_ACTIONS = ("ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload", "ecr:PutImage")
PUBLIC_ACCESS_SETTINGS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def _state_bucket(ctx: CheckContext) -> Bucket:
    name = ctx.inputs.name("bucket.tfstate")
    s3 = ctx.get(S3Inventory)
    if name not in s3.buckets:
        raise ResourceMissing(f"the OpenTofu state bucket {name}", s3.names)
    return s3.buckets[name]


@check(
    "iac.state_bucket.versioned",
    title="The OpenTofu state bucket has versioning enabled",
    area=lambda env: env.iac,
    severity="high",
    remediation="Enable versioning on the state bucket so an earlier state can be recovered.",
)
def state_bucket_versioned(ctx: CheckContext, iac: IacSpec) -> None:
    bucket = _state_bucket(ctx)
    documented = iac.state_bucket_versioned
    ctx.expect(
        documented,
        bucket.versioning or "never enabled",
        subject=f"S3 bucket {bucket.name} versioning",
        expected="Enabled" if documented.value else "not Enabled",
        ok=(bucket.versioning == "Enabled") == documented.value,
    )


@check(
    "iac.state_bucket.encrypted",
    title="The OpenTofu state bucket has default server-side encryption",
    area=lambda env: env.iac,
    severity="high",
    remediation="Configure default encryption (SSE-S3 or SSE-KMS) on the state bucket.",
)
def state_bucket_encrypted(ctx: CheckContext, iac: IacSpec) -> None:
    bucket = _state_bucket(ctx)
    documented = iac.state_bucket_encrypted
    ctx.expect(
        documented,
        bucket.encryption or "no default encryption",
        subject=f"S3 bucket {bucket.name} default encryption",
        expected="an SSE algorithm" if documented.value else "no default encryption",
        ok=bool(bucket.encryption) == documented.value,
    )


@check(
    "iac.state_bucket.public_access_blocked",
    title="The OpenTofu state bucket blocks all public access",
    area=lambda env: env.iac,
    severity="critical",
    remediation="Set all four public access block settings to true on the state bucket.",
)
def state_bucket_public_access_blocked(ctx: CheckContext, iac: IacSpec) -> None:
    bucket = _state_bucket(ctx)
    documented = iac.state_bucket_public_access_blocked
    block = bucket.public_access_block or {}
    actual = {s: bool(block.get(s)) for s in PUBLIC_ACCESS_SETTINGS}
    ctx.expect(
        documented,
        actual if bucket.public_access_block is not None else "no public access block",
        subject=f"S3 bucket {bucket.name} public access block",
        expected={s: documented.value for s in PUBLIC_ACCESS_SETTINGS},
        ok=all(actual.values()) == documented.value,
    )


def _lock_table(ctx: CheckContext, _key: str) -> Table:
    dynamodb = ctx.get(DynamoDbInventory)
    if dynamodb.lock_table is None:
        raise ResourceMissing(
            f"the DynamoDB lock table {ctx.inputs.name('lock-table')}", dynamodb.names
        )
    return dynamodb.lock_table


def _github_provider(ctx: CheckContext, _key: str) -> OidcProvider:
    """The IAM OIDC provider of GitHub Actions, at the documented issuer URL."""
    assert ctx.env.iac is not None
    issuer = ctx.env.iac.ci_oidc_provider.value
    iam = ctx.get(IamInventory)
    if iam.github is None or iam.github.url != issuer:
        raise ResourceMissing(f"an IAM OIDC provider for {issuer}", iam.provider_arns)
    return iam.github


declare(
    [
        Value(
            "iac.lock_table",
            title="The OpenTofu lock table exists with the string partition key LockID",
            field="iac.lock_table_key",
            role=Role(find=_lock_table, label=lambda _key, table: table.name),
            attribute=lambda ctx, table: f"{table.hash_key} ({table.hash_key_type})",
            expected_from=lambda key: f"{key} (S)",
            subject="DynamoDB table {resource} partition key",
            severity="high",
            remediation="Create the lock table with hash key LockID of type S (string).",
        ),
        Value(
            "ci.oidc_provider",
            title="An IAM OIDC provider trusts GitHub Actions tokens for the STS audience",
            field="iac.ci_oidc_audience",
            role=Role(find=_github_provider, label=lambda _key, provider: provider.arn),
            attribute="client_ids",
            compare=CONTAINS,
            subject="OIDC provider {resource} client ids (audiences)",
            severity="high",
            remediation="Create the IAM OIDC provider for token.actions.githubusercontent.com "
            "with client id sts.amazonaws.com.",
        ),
    ],
    __name__,
)


@check(
    "ci.deploy_role",
    title="The deploy role trusts only the org's GitHub workflows, via OIDC",
    area=lambda env: env.iac,
    severity="critical",
    remediation="Scope the deploy role's trust: sts:AssumeRoleWithWebIdentity from the GitHub "
    "provider with aud = sts.amazonaws.com and sub like repo:<org>/<repo>:...",
)
def deploy_role(ctx: CheckContext, iac: IacSpec) -> None:
    issuer = iac.ci_oidc_provider.value
    roles = ctx.get(IamInventory).roles
    trusting = [r for r in roles if federated_by(r.trust, issuer)]
    if not trusting:
        raise ResourceMissing(
            f"an IAM role trusting the {issuer} OIDC provider", (r.name for r in roles)
        )
    org = ctx.inputs.github_org
    for role in trusting:
        problems = _trust_problems(role, issuer, iac.ci_oidc_audience.value, org)
        ctx.expect(
            iac.ci_oidc_provider,
            problems or "scoped",
            subject=f"IAM role {role.name} trust policy",
            expected=f"{WEB_IDENTITY} with {issuer}:aud = {iac.ci_oidc_audience.value} "
            f"and {issuer}:sub like repo:{org}/...",
            ok=not problems,
        )


def _trust_problems(role: IamRole, issuer: str, audience: str, org: str) -> list[str]:
    """Why the role's trust lets in more than the org's workflows (or lets none in)."""
    allowing = [
        s for s in statements(role.trust) if s.get("Effect") == "Allow" and federates(s, issuer)
    ]
    problems = []
    if not any(WEB_IDENTITY_ACTIONS & set(as_list(s.get("Action", []))) for s in allowing):
        problems.append(f"no statement allows {WEB_IDENTITY}")
    for statement in allowing:
        conditions = _conditions(statement.get("Condition", {}))
        audiences = conditions.get(f"{issuer}:aud", [])
        if not audiences or any(a != audience for a in audiences):
            problems.append(f"aud condition {audiences or 'missing'}")
        subjects = conditions.get(f"{issuer}:sub", [])
        if not subjects or any(not s.startswith(f"repo:{org}/") for s in subjects):
            problems.append(f"sub condition {subjects or 'missing'}")
    return problems


def _conditions(block: dict[str, Any]) -> dict[str, list[str]]:
    """Condition keys to their allowed values under StringEquals or StringLike."""
    found: dict[str, list[str]] = {}
    for operator in ("StringEquals", "StringLike"):
        for key, value in block.get(operator, {}).items():
            found.setdefault(key, []).extend(as_list(value))
    return found


@check(
    "ci.no_deploy_access_keys",
    title="No IAM user with an active access key can push the images (deploy is OIDC only)",
    area=lambda env: env.iac if env.services is not None else None,
    severity="high",
    remediation="Deactivate the user's access keys (deploy through the OIDC role), or take ECR "
    "push away from its policies; delete the keys from the repository's secrets.",
)
def no_deploy_access_keys(ctx: CheckContext, iac: IacSpec) -> None:
    """ "No long-lived access keys stored as GitHub secrets": a user with an active key that may
    push to one of the project's repositories is such a key. Only identity policies are judged
    (a boundary or an SCP could only narrow them); a conditional Allow counts as an Allow, and an
    unconditional Deny of a push action wins."""
    assert ctx.env.services is not None  # the area asks for it
    names = [ctx.inputs.name(f"ecr.{image}") for image in ctx.env.services.container_images.value]
    pushers = []
    for user in ctx.get(IamUsersInventory).with_active_keys:
        account = user.arn.split(":")[4]
        repositories = [f"arn:aws:ecr:{ctx.region}:{account}:repository/{n}" for n in names]
        grants = _push_grants(user, repositories)
        if grants:
            pushers.append(f"{user.name} ({user.active_keys} active key(s); {', '.join(grants)})")
    ctx.expect(
        iac.ci_oidc_provider,
        pushers,
        subject="IAM users with an active access key allowed to push to ECR",
        expected="none: the deploy workflow assumes the OIDC role",
        ok=not pushers,
    )


def _push_grants(user: KeyUser, repositories: list[str]) -> list[str]:
    """The policies that let ``user`` push to some of ``repositories``."""
    grants: set[str] = set()
    for repository in repositories:
        denied = any(
            s.effect == "Deny" and not s.conditional and _covers(s, action, repository)
            for s in user.statements
            for action in PUSH_ACTIONS
        )
        allowing = [
            [s.source for s in user.statements if s.effect == "Allow" and _covers(s, a, repository)]
            for a in PUSH_ACTIONS
        ]
        if not denied and all(allowing):
            grants.update(source for sources in allowing for source in sources)
    return sorted(grants)


def _covers(statement: Statement, action: str, resource: str) -> bool:
    """Does the statement name this action (case-insensitive) on this resource, wildcards,
    NotAction and NotResource included?"""
    if statement.not_actions is not None:
        acts = not any(fnmatchcase(action.lower(), a.lower()) for a in statement.not_actions)
    else:
        acts = any(fnmatchcase(action.lower(), a.lower()) for a in statement.actions or [])
    if statement.not_resources is not None:
        on = not any(fnmatchcase(resource, r) for r in statement.not_resources)
    else:
        on = any(fnmatchcase(resource, r) for r in statement.resources or [])
    return acts and on
