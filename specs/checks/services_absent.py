"""What a phase documents it does not have yet: in Phase 1, no OpenSearch domain (search is
PostgreSQL FTS), no ElastiCache (Redis is a container on the host) and no CloudWatch dashboard
("None (alarms only)"). Each counts the account's resources in the region."""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.inventory.cloudwatch import DashboardsInventory
from conformance.inventory.elasticache import CacheClustersInventory
from conformance.inventory.opensearch import OpensearchInventory
from conformance.spec import AbsentSpec, Documented, EnvironmentSpec


def _absent(env: EnvironmentSpec) -> AbsentSpec | None:
    return env.absent


def _expect_count(
    ctx: CheckContext, documented: Documented[int], found: list[str], subject: str
) -> None:
    ctx.expect(
        documented,
        found or "none",
        subject=f"{subject} in {ctx.region}",
        expected="none" if documented.value == 0 else f"{documented.value}",
        ok=len(found) == documented.value,
    )


@check(
    "absent.opensearch",
    title="No OpenSearch domain (Phase 1 searches with PostgreSQL FTS)",
    area=_absent,
    severity="low",
    remediation="Delete the OpenSearch domain (search-service uses PostgreSQL full-text search "
    "with the prod,fts profile until Phase 3), or move to the phase that documents it.",
)
def no_opensearch(ctx: CheckContext, absent: AbsentSpec) -> None:
    domains = [
        f"{d.name} ({d.engine or 'engine not given'})" for d in ctx.get(OpensearchInventory).domains
    ]
    _expect_count(ctx, absent.search_domains, domains, "OpenSearch domains")


@check(
    "absent.elasticache",
    title="No ElastiCache cluster (Phase 1 runs Redis as a container on the host)",
    area=_absent,
    severity="low",
    remediation="Delete the ElastiCache cluster: Phase 1's Redis is the redis:7-alpine container "
    "of the Compose file (ElastiCache comes with Phase 2).",
)
def no_elasticache(ctx: CheckContext, absent: AbsentSpec) -> None:
    clusters = ctx.get(CacheClustersInventory).cluster_ids
    _expect_count(ctx, absent.cache_clusters, clusters, "ElastiCache clusters")


@check(
    "absent.dashboards",
    title="No CloudWatch dashboard (Phase 1 monitors with alarms only)",
    area=_absent,
    severity="low",
    remediation="Delete the dashboard, or document it: Phase 1's monitoring is \"None (alarms "
    'only)" (the overview dashboard comes with Phase 2).',
)
def no_dashboards(ctx: CheckContext, absent: AbsentSpec) -> None:
    dashboards = [d.name for d in ctx.get(DashboardsInventory).dashboards]
    _expect_count(ctx, absent.dashboards, dashboards, "CloudWatch dashboards")
