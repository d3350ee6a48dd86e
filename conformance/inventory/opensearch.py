"""OpenSearch Service: the names of the account's domains in the region.

Phase 1 and 2 search with PostgreSQL FTS, so what they check is that there is no domain; the
names are all that needs (ListDomainNames, once: it lists OpenSearch and Elasticsearch domains
alike and does not paginate).
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section


class Domain(BaseModel):
    name: str
    engine: str | None  # OpenSearch or Elasticsearch


class OpensearchInventory(Section):
    service = "opensearch"

    domains: list[Domain]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        listed = clients.client("opensearch").list_domain_names()
        return cls(
            domains=[
                Domain(name=d["DomainName"], engine=d.get("EngineType"))
                for d in listed.get("DomainNames", [])
            ]
        )
