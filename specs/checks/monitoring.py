"""Monitoring (Phase 2+): the documented CloudWatch dashboards exist.

A dashboard is found by the name of its role (``dashboard.overview`` -> ``{project}-overview``,
overridable in the inputs); what it shows is the team's choice, so only its presence is checked.
"""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.inventory.cloudwatch import DashboardsInventory
from conformance.spec import MonitoringSpec


@check(
    "monitoring.dashboards",
    title="Each documented CloudWatch dashboard exists (Phase 2: one overview dashboard)",
    area=lambda env: env.monitoring,
    remediation="Create the documented dashboards (aws_cloudwatch_dashboard), named by the "
    "project's convention or as the inputs say.",
)
def dashboards(ctx: CheckContext, spec: MonitoringSpec) -> None:
    present = sorted(d.name for d in ctx.get(DashboardsInventory).dashboards)
    for role in spec.dashboards.value:
        name = ctx.inputs.name(f"dashboard.{role}")
        ctx.expect(
            spec.dashboards,
            name if name in present else f"absent; dashboards: {present or 'none'}",
            subject=f"the {role} dashboard",
            expected=name,
            ok=name in present,
        )
