"""Monitoring (Phase 2+): the documented CloudWatch dashboards exist; from Phase 3, metrics also
go to Prometheus.

A dashboard is found by the name of its role (``dashboard.overview`` -> ``{project}-overview``,
overridable in the inputs); what it shows is the team's choice, so only its presence is checked.
Phase 3's "CloudWatch Metrics + Prometheus" is read as an Amazon Managed Service for Prometheus
workspace of the environment: aliased by the environment's prefix, or tagged with its Project and
Environment.
"""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.inventory.amp import AmpInventory, Workspace
from conformance.inventory.cloudwatch import DashboardsInventory
from conformance.spec import EnvironmentSpec, MonitoringSpec

ACTIVE = "ACTIVE"


@check(
    "monitoring.dashboards",
    title="Each documented CloudWatch dashboard exists (Phase 2: one overview dashboard; "
    "Phase 3: overview, DB, search)",
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


def _with_prometheus(env: EnvironmentSpec) -> MonitoringSpec | None:
    monitoring = env.monitoring
    return monitoring if monitoring is not None and monitoring.prometheus is not None else None


def _environment_tag(env: EnvironmentSpec) -> str | None:
    return env.tags.required.value.get("Environment") if env.tags is not None else None


def _is_environments(ctx: CheckContext, workspace: Workspace) -> bool:
    """Aliased by the environment's prefix, or tagged with its Project and Environment."""
    if workspace.alias == ctx.inputs.prefix:
        return True
    environment = _environment_tag(ctx.env)
    return (
        environment is not None
        and workspace.tags.get("Project") == ctx.inputs.project
        and workspace.tags.get("Environment") == environment
    )


@check(
    "monitoring.prometheus",
    title="The environment has an active Amazon Managed Prometheus workspace (Phase 3+: "
    "CloudWatch Metrics + Prometheus)",
    area=_with_prometheus,
    remediation="Create an aws_prometheus_workspace for the environment, aliased by its name "
    "prefix (or tagged with its Project and Environment).",
)
def prometheus(ctx: CheckContext, spec: MonitoringSpec) -> None:
    assert spec.prometheus is not None
    workspaces = ctx.get(AmpInventory).workspaces
    own = [w for w in workspaces if _is_environments(ctx, w)]
    active = [w for w in own if w.status == ACTIVE]
    shown = [f"{w.alias or '(no alias)'} ({w.id}, {w.status})" for w in own]
    others = [f"{w.alias or '(no alias)'} ({w.id})" for w in workspaces if w not in own]
    ctx.expect(
        spec.prometheus,
        shown or f"none; other workspaces: {others or 'none'}",
        subject=f"Prometheus workspace of {ctx.inputs.prefix}",
        expected=f"an {ACTIVE} workspace aliased {ctx.inputs.prefix}"
        if spec.prometheus.value
        else "none",
        ok=bool(active) == spec.prometheus.value,
    )
