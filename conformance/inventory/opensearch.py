"""OpenSearch Service: the account's domains in the region, and the project's described.

Phases 1 and 2 search with PostgreSQL FTS, so what they check is that there is no domain; the
names are all that needs (ListDomainNames, once: it lists OpenSearch and Elasticsearch domains
alike and does not paginate). From Phase 3 the project's domain, one per environment, is
described too: only the listed names of the environments collected (their ``search`` role) are
asked for, in one DescribeDomains (it takes up to 5 names; a collection serves at most two
environments), so an account without the project's domain costs no more than the name list, and
other teams' domains are never described. Its tags come from ListTags on its ARN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class DomainStatus(BaseModel):
    """What DescribeDomains reports of a domain; None where the answer lacks the field."""

    arn: str
    instance_type: str | None
    instance_count: int | None  # data nodes; dedicated master nodes are counted apart
    ebs_enabled: bool | None
    volume_size_gb: int | None  # EBS storage of each data node
    encryption_at_rest: bool | None
    node_to_node_encryption: bool | None
    enforce_https: bool | None
    fine_grained_access: bool | None  # AdvancedSecurityOptions.Enabled
    tags: dict[str, str]
    # e.g. OpenSearch_2.11 or Elasticsearch_7.10 (which snapshots the service takes depends on it)
    engine_version: str | None = None


class Domain(BaseModel):
    name: str
    engine: str | None  # OpenSearch or Elasticsearch
    # Described for the project's domains only (None otherwise, and in an inventory saved
    # before Phase 3 was checked).
    status: DomainStatus | None = None


class OpensearchInventory(Section):
    service = "opensearch"

    domains: list[Domain]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.search is not None

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self.domains if d.name == name), None)

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The environment's own domain, the one playing its ``search`` role."""
        domain = self.domain(inputs.name("search"))
        if domain is None or domain.status is None:
            return []
        return [Tagged(resource=f"OpenSearch domain {domain.name}", tags=domain.status.tags)]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        opensearch = clients.client("opensearch")
        listed = opensearch.list_domain_names().get("DomainNames", [])
        wanted = {env.name("search") for env in inputs.each_environment()}
        project = [d["DomainName"] for d in listed if d["DomainName"] in wanted]
        described = (
            opensearch.describe_domains(DomainNames=project)["DomainStatusList"] if project else []
        )
        statuses = {
            raw["DomainName"]: _status(
                raw, tags_of(opensearch.list_tags(ARN=raw["ARN"]).get("TagList"))
            )
            for raw in described
        }
        return cls(
            domains=[
                Domain(
                    name=d["DomainName"],
                    engine=d.get("EngineType"),
                    status=statuses.get(d["DomainName"]),
                )
                for d in listed
            ]
        )


def _status(raw: dict[str, Any], tags: dict[str, str]) -> DomainStatus:
    cluster = raw.get("ClusterConfig", {})
    ebs = raw.get("EBSOptions", {})
    return DomainStatus(
        arn=raw["ARN"],
        instance_type=cluster.get("InstanceType"),
        instance_count=cluster.get("InstanceCount"),
        ebs_enabled=ebs.get("EBSEnabled"),
        volume_size_gb=ebs.get("VolumeSize"),
        encryption_at_rest=raw.get("EncryptionAtRestOptions", {}).get("Enabled"),
        node_to_node_encryption=raw.get("NodeToNodeEncryptionOptions", {}).get("Enabled"),
        enforce_https=raw.get("DomainEndpointOptions", {}).get("EnforceHTTPS"),
        fine_grained_access=raw.get("AdvancedSecurityOptions", {}).get("Enabled"),
        tags=tags,
        engine_version=raw.get("EngineVersion"),
    )
