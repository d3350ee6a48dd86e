"""The search domain (Phase 3+): the OpenSearch Configuration table of each environment.

The domain is the one named for the role ``search``. Instance type, data nodes, storage and
fine-grained access control are declared values; "Encryption: Yes" is one check of three
settings, each its own comparison: encryption at rest, node-to-node encryption and HTTPS
required (fine-grained access control needs all three, so the document's "Yes" asks for each).
A setting the target's DescribeDomains answer lacks is skipped as not verifiable, never passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.checks import CheckContext, ResourceMissing, Unverifiable, check
from conformance.declared import Role, Value, declare
from conformance.inventory import CollectionFailure, NotCollected
from conformance.inventory.opensearch import Domain, DomainStatus, OpensearchInventory
from conformance.spec import EnvironmentSpec, SearchSpec


def _search(env: EnvironmentSpec) -> SearchSpec | None:
    return env.search


def _domain(ctx: CheckContext) -> tuple[Domain, DomainStatus]:
    """The environment's OpenSearch domain, by name, as DescribeDomains reported it."""
    name = ctx.inputs.name("search")
    opensearch = ctx.get(OpensearchInventory)
    found = opensearch.domain(name)
    if found is None or found.status is None:
        raise ResourceMissing(
            f"an OpenSearch domain {name}",
            (f"{d.name} ({d.engine or 'engine not given'})" for d in opensearch.domains),
        )
    return found, found.status


def _not_verifiable(what: str, domain: Domain) -> NotCollected:
    return NotCollected(
        CollectionFailure(
            service="opensearch",
            kind="unsupported",
            message=f"not verifiable on this target: DescribeDomains reports no {what} for "
            f"domain {domain.name}",
        )
    )


def _reported(attribute: str, what: str) -> Callable[[CheckContext, Any], Any]:
    """The domain's ``attribute``; where the answer lacks it, the check is skipped."""

    def read(ctx: CheckContext, found: tuple[Domain, DomainStatus]) -> Any:
        domain, status = found
        value = getattr(status, attribute)
        if value is None:
            raise Unverifiable(f"DescribeDomains reports no {what} for domain {domain.name}")
        return value

    return read


def _storage(ctx: CheckContext, found: tuple[Domain, DomainStatus]) -> int | str:
    """EBS storage per data node; a domain on instance storage has no EBS volume to size."""
    domain, status = found
    if status.ebs_enabled is False:
        return "no EBS volume (instance storage)"
    if status.volume_size_gb is None:
        raise Unverifiable(f"DescribeDomains reports no EBS volume size for domain {domain.name}")
    return status.volume_size_gb


SEARCH = Role(
    find=lambda ctx, _key: _domain(ctx),
    label=lambda _key, found: f"OpenSearch domain {found[0].name}",
)

declare(
    [
        Value(
            "search.instance_type",
            title="The search domain's data nodes have the documented instance type",
            field="search.instance_type",
            role=SEARCH,
            attribute=_reported("instance_type", "instance type"),
            subject="{resource} instance type",
            remediation="Set the domain's cluster_config instance_type to the documented one.",
        ),
        Value(
            "search.nodes",
            title="The search domain has the documented number of data nodes",
            field="search.nodes",
            role=SEARCH,
            attribute=_reported("instance_count", "instance count"),
            subject="{resource} data nodes",
            remediation="Set the domain's cluster_config instance_count to the documented count.",
        ),
        Value(
            "search.storage",
            title="Each search data node has the documented EBS storage",
            field="search.storage_gb",
            role=SEARCH,
            attribute=_storage,
            subject="{resource} EBS storage per data node (GB)",
            remediation="Set the domain's ebs_options volume_size to the documented size.",
        ),
        Value(
            "search.fine_grained_access",
            title="Fine-grained access control is enabled on the search domain",
            field="search.fine_grained_access",
            role=SEARCH,
            attribute=_reported("fine_grained_access", "advanced security options"),
            subject="{resource} fine-grained access control",
            severity="high",
            remediation="Enable advanced_security_options on the domain (it needs encryption at "
            "rest, node-to-node encryption and HTTPS; AWS enables it on an existing domain "
            "only through a blue/green change).",
        ),
    ],
    __name__,
)


@check(
    "search.encryption",
    title="The search domain is encrypted at rest and node-to-node, and requires HTTPS",
    area=_search,
    severity="high",
    remediation="Enable encrypt_at_rest, node_to_node_encryption and domain_endpoint_options "
    "enforce_https on the domain.",
)
def encryption(ctx: CheckContext, search: SearchSpec) -> None:
    domain, status = _domain(ctx)
    settings = {
        "encryption at rest": status.encryption_at_rest,
        "node-to-node encryption": status.node_to_node_encryption,
        "HTTPS required": status.enforce_https,
    }
    for setting, actual in settings.items():
        if actual is None:
            ctx.unavailable.append(_not_verifiable(setting, domain))
            continue
        ctx.expect(search.encryption, actual, subject=f"OpenSearch domain {domain.name} {setting}")
