"""Cost Explorer: which user-defined tags are activated as cost-allocation tags.

"Cost Allocation Tags: all resources tagged with Environment, Service, Project, CostCenter" only
allocates cost once the keys are activated in Billing: until then the tags are on the resources
but in no cost report. Activation is one account-wide setting, read through Cost Explorer's
global endpoint (ListCostAllocationTags, paged by NextToken).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class CostExplorerInventory(Section):
    service = "ce"

    cost_allocation_tags: dict[str, str]  # user-defined tag key -> Active or Inactive

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.tags is not None

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        ce = clients.client("ce")
        found: dict[str, str] = {}
        request: dict[str, Any] = {"Type": "UserDefined", "MaxResults": 1000}
        while True:
            page = ce.list_cost_allocation_tags(**request)
            found |= {t["TagKey"]: t.get("Status", "") for t in page.get("CostAllocationTags", [])}
            if not page.get("NextToken"):
                return cls(cost_allocation_tags=found)
            request["NextToken"] = page["NextToken"]
