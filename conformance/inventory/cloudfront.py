"""CloudFront (global, signed for us-east-1): the account's distributions, each with its origins,
the origin each cache behaviour routes to, its aliases and its tags.

ListDistributions (paginated) summarises every distribution with all of these but its tags,
which ListTagsForResource reads per distribution (the checks find an environment's
distribution by its origin or by its tags). An answer whose summary lacks the origins (moto 5.2
summarises a distribution with its id and domain only, though AWS's model requires the rest) is
completed with GetDistribution for that distribution; against AWS that call is never made.
Both answers also hold the origins' custom headers (often a secret the origin checks) and the
comment, which botocore marks sensitive: neither is recorded, only the origins' ids and domains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


# The hosted zone of every distribution's domain, as a Route 53 alias record to one names it.
HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"


class Origin(BaseModel):
    id: str
    domain: str  # lowercased


class Behavior(BaseModel):
    path_pattern: str  # "*" for the default behaviour
    target_origin_id: str


class Distribution(BaseModel):
    id: str
    arn: str
    domain: str
    enabled: bool
    aliases: list[str]
    origins: list[Origin]
    behaviors: list[Behavior]
    tags: dict[str, str]

    def routed_origins(self) -> list[Origin]:
        """The origins some cache behaviour sends requests to (an origin none routes to serves
        nothing)."""
        targets = {b.target_origin_id for b in self.behaviors}
        return [o for o in self.origins if o.id in targets]


class CloudfrontInventory(Section):
    service = "cloudfront"

    distributions: list[Distribution]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.cdn is not None

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """This environment's distributions: those serving one of its buckets (named under its
        prefix)."""
        return [
            Tagged(resource=f"CloudFront distribution {d.id}", tags=d.tags)
            for d in self.distributions
            if any(inputs.owns(bucket_of(o.domain) or "") for o in d.origins)
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        cloudfront = clients.client("cloudfront")
        summaries = [
            item
            for page in cloudfront.get_paginator("list_distributions").paginate()
            for item in (page.get("DistributionList", {}).get("Items") or [])
        ]
        distributions = []
        for summary in summaries:
            config = summary
            if "Origins" not in summary:
                answer = cloudfront.get_distribution(Id=summary["Id"])["Distribution"]
                config = answer["DistributionConfig"]
            tags = cloudfront.list_tags_for_resource(Resource=summary["ARN"])
            distributions.append(
                _distribution(summary, config, tags_of(tags.get("Tags", {}).get("Items")))
            )
        return cls(distributions=distributions)


def bucket_of(domain: str) -> str | None:
    """The bucket an S3 REST origin domain names (``<bucket>.s3.amazonaws.com`` or
    ``<bucket>.s3.<region>.amazonaws.com``), or None for any other origin. A website endpoint
    (``s3-website``) is not one: it serves a public bucket, which CloudFront does not need."""
    head, sep, rest = domain.lower().partition(".s3.")
    if not sep or not rest.endswith("amazonaws.com"):
        return None
    region = rest.removesuffix("amazonaws.com").rstrip(".")
    return head if "." not in region else None


def _distribution(
    summary: dict[str, Any], config: dict[str, Any], tags: dict[str, str]
) -> Distribution:
    """A distribution from its summary (id, ARN, domain) and its configuration (the same fields
    in a summary and in a DistributionConfig)."""
    default = config.get("DefaultCacheBehavior") or {}
    behaviors = [
        Behavior(path_pattern="*", target_origin_id=default.get("TargetOriginId", "")),
        *(
            Behavior(path_pattern=b.get("PathPattern", ""), target_origin_id=b["TargetOriginId"])
            for b in (config.get("CacheBehaviors") or {}).get("Items") or []
        ),
    ]
    return Distribution(
        id=summary["Id"],
        arn=summary["ARN"],
        domain=summary.get("DomainName", ""),
        enabled=bool(config.get("Enabled")),
        aliases=[a.lower() for a in (config.get("Aliases") or {}).get("Items") or []],
        origins=[
            Origin(id=o["Id"], domain=o.get("DomainName", "").lower().rstrip("."))
            for o in (config.get("Origins") or {}).get("Items") or []
        ],
        behaviors=behaviors,
        tags=tags,
    )
