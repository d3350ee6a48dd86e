"""S3: the project's buckets (backups, static assets, OpenTofu state) and their protections.

Where the phase has a disaster-recovery region (Phase 4), each bucket's replication
configuration is read too (GetBucketReplication), and the region of every bucket its rules
replicate to (GetBucketLocation, once per destination, asked in the DR region: S3 answers it for
a bucket of any region). Earlier phases make no such call.
"""

from __future__ import annotations

from typing import Any, Self

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

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
        "ReplicationConfigurationNotFoundError",
    }
)
# GetBucketLocation's answer for us-east-1 (no constraint) and its legacy name for eu-west-1.
LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}


class ReplicationRule(BaseModel):
    """One rule of a bucket's replication configuration, and which objects it replicates."""

    id: str | None
    status: str  # Enabled or Disabled
    destination: str  # the destination bucket's name (the rule names it by ARN)
    prefix: str  # the key prefix the rule is limited to; "" for every key
    tags: dict[str, str]  # the object tags the rule is limited to
    size_limits: list[str]  # object-size conditions, e.g. "ObjectSizeGreaterThan 1024"

    @property
    def whole_bucket(self) -> bool:
        """Whether the rule replicates every object (no prefix, tag or size narrows it)."""
        return not self.prefix and not self.tags and not self.size_limits


class Bucket(BaseModel):
    name: str
    versioning: str | None  # "Enabled", "Suspended", or None when never enabled
    encryption: list[str]  # SSE algorithms of the default-encryption rules
    public_access_block: dict[str, bool] | None  # the four settings; None when not configured
    tags: dict[str, str]
    # The replication rules ([] without a configuration); None where not read (no DR region).
    replication: list[ReplicationRule] | None = None


class S3Inventory(Section):
    service = "s3"
    fans_out = True

    names: list[str]  # every bucket of the account
    buckets: dict[str, Bucket]  # the project's documented buckets that exist, by name
    # The region of each bucket the documented buckets replicate to; None: no such bucket.
    destination_regions: dict[str, str | None] = Field(default_factory=dict)

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
        replicates = clients.dr_region is not None
        buckets = {name: _bucket(s3, name, replicates) for name in documented if name in names}
        destinations = sorted(
            {rule.destination for b in buckets.values() for rule in b.replication or []}
        )
        regions: dict[str, str | None] = {}
        if destinations:
            located = clients.client("s3", clients.dr_region)
            regions = {name: _region(located, name) for name in destinations}
        return cls(names=sorted(names), buckets=buckets, destination_regions=regions)


def _bucket(s3: Any, name: str, replicates: bool) -> Bucket:
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
        replication=_replication(s3, name) if replicates else None,
    )


def _replication(s3: Any, name: str) -> list[ReplicationRule]:
    configuration = _configuration(s3.get_bucket_replication, name)
    rules = (configuration or {}).get("ReplicationConfiguration", {}).get("Rules", [])
    return [replication_rule(r) for r in rules]


def replication_rule(raw: dict[str, Any]) -> ReplicationRule:
    """A rule, its scope read from whichever form it uses: the legacy top-level Prefix, or a
    Filter of one Prefix, one Tag, or an And of several conditions."""
    scope = raw.get("Filter", {})
    conditions = scope.get("And", scope)
    tags = conditions.get("Tags", []) + ([conditions["Tag"]] if "Tag" in conditions else [])
    return ReplicationRule(
        id=raw.get("ID"),
        status=raw["Status"],
        destination=raw["Destination"]["Bucket"].rsplit(":", 1)[-1],  # arn:aws:s3:::NAME
        prefix=raw.get("Prefix") or conditions.get("Prefix") or "",
        tags=tags_of(tags),
        size_limits=[
            f"{limit} {conditions[limit]}"
            for limit in ("ObjectSizeGreaterThan", "ObjectSizeLessThan")
            if limit in conditions
        ],
    )


def _region(s3: Any, name: str) -> str | None:
    """The region of bucket ``name``; None when it does not exist."""
    try:
        constraint: str | None = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return None
        raise
    return LEGACY_LOCATIONS.get(constraint, constraint)


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
