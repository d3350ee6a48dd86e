"""Cost Allocation Tags: the documented tag keys are activated for cost allocation.

A tag on a resource reaches a cost report only once its key is activated in Billing (Cost
Explorer's cost-allocation tags); "All resources tagged with: Environment, Service, Project,
CostCenter" is there to allocate cost, so each key must be Active. Activation is account-wide:
it is checked with the account's other shared settings (the state backend, OIDC), in the
environment that documents them (production), not once more for staging.
"""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.inventory.ce import CostExplorerInventory
from conformance.spec import EnvironmentSpec, TagsSpec


def _tags(env: EnvironmentSpec) -> TagsSpec | None:
    return env.tags if env.iac is not None else None


@check(
    "tags.cost_allocation_active",
    title="The cost-allocation tag keys are activated in Billing",
    area=_tags,
    severity="low",
    remediation="Activate each key under Billing > Cost allocation tags (or "
    "ce:UpdateCostAllocationTagsStatus); a key appears there once a resource carries it.",
)
def cost_allocation_active(ctx: CheckContext, tags: TagsSpec) -> None:
    activated = ctx.get(CostExplorerInventory).cost_allocation_tags
    for key in tags.required.value:
        status = activated.get(key)
        ctx.expect(
            tags.required.derive("Active"),
            status or "not a cost-allocation tag yet",
            subject=f"cost-allocation tag {key}",
            ok=status == "Active",
        )
