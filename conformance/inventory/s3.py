"""S3: the project's buckets (backups, static assets, OpenTofu state) and their protections."""

from __future__ import annotations

from typing import Any, Self

from botocore.exceptions import ClientError
from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

# The bucket roles the document names: S3 "Backups, static assets" and the state backend.
BUCKET_ROLES = ("backups", "static-assets", "tfstate")
# Answers that mean "this bucket has no such configuration", not a failure to read it.
ABSENT = frozenset(
    {
        "NoSuchTagSet",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchPublicAccessBlockConfiguration",
    }
)


class Bucket(BaseModel):
    name: str
    versioning: str | None  # "Enabled", "Suspended", or None when never enabled
    encryption: list[str]  # SSE algorithms of the default-encryption rules
    public_access_block: dict[str, bool] | None  # the four settings; None when not configured
    tags: dict[str, str]


class S3Inventory(Section):
    service = "s3"

    names: list[str]  # every bucket of the account
    buckets: dict[str, Bucket]  # the project's documented buckets that exist, by name

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The environment's documented buckets (the state bucket is production's)."""
        own = {
            inputs.name(r)
            for r in _roles()
            if inputs.environment == "production" or not inputs.shared(r)
        }
        return [
            Tagged(resource=f"s3 bucket {b.name}", tags=b.tags)
            for b in self.buckets.values()
            if b.name in own
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        s3 = clients.client("s3")
        names = [
            b["Name"]
            for page in s3.get_paginator("list_buckets").paginate()
            for b in page.get("Buckets", [])
        ]
        documented = list(
            dict.fromkeys(scoped.name(r) for scoped in inputs.each_environment() for r in _roles())
        )
        buckets = {name: _bucket(s3, name) for name in documented if name in names}
        return cls(names=sorted(names), buckets=buckets)


def _bucket(s3: Any, name: str) -> Bucket:
    encryption = _configuration(s3.get_bucket_encryption, name)
    rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    block = _configuration(s3.get_public_access_block, name)
    tagging = _configuration(s3.get_bucket_tagging, name)
    return Bucket(
        name=name,
        versioning=s3.get_bucket_versioning(Bucket=name).get("Status"),
        encryption=[
            r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            for r in rules
            if "ApplyServerSideEncryptionByDefault" in r
        ],
        public_access_block=block["PublicAccessBlockConfiguration"] if block else None,
        tags=tags_of(tagging["TagSet"] if tagging else None),
    )


def _configuration(operation: Any, name: str) -> dict[str, Any] | None:
    """The bucket's configuration, or None when the bucket has none of this kind."""
    try:
        response: dict[str, Any] = operation(Bucket=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ABSENT:
            return None
        raise
    return response


def _roles() -> list[str]:
    return [f"bucket.{role}" for role in BUCKET_ROLES]
