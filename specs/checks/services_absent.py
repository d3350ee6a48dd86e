"""What a phase documents it does not have yet: in Phase 1, no OpenSearch domain (search is
PostgreSQL FTS), no ElastiCache (Redis is a container on the host), no CloudWatch dashboard
("None (alarms only)"); in Phases 1 and 2 no tracing ("Tracing: None"). Each counts the
account's resources in the region."""

from __future__ import annotations

from collections.abc import Callable

from conformance.checks import CheckContext, check
from conformance.inventory.cloudwatch import DashboardsInventory
from conformance.inventory.elasticache import CacheClustersInventory
from conformance.inventory.opensearch import OpensearchInventory
from conformance.inventory.xray import DEFAULT_RULE, XrayInventory
from conformance.spec import AbsentSpec, Documented, EnvironmentSpec


def _absent(field: str) -> Callable[[EnvironmentSpec], AbsentSpec | None]:
    """The absent group, where it documents ``field``."""

    def area(env: EnvironmentSpec) -> AbsentSpec | None:
        return env.absent if env.absent and getattr(env.absent, field) is not None else None

    return area


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
    area=_absent("search_domains"),
    severity="low",
    remediation="Delete the OpenSearch domain (search-service uses PostgreSQL full-text search "
    "with the prod,fts profile until Phase 3), or move to the phase that documents it.",
)
def no_opensearch(ctx: CheckContext, absent: AbsentSpec) -> None:
    domains = [
        f"{d.name} ({d.engine or 'engine not given'})" for d in ctx.get(OpensearchInventory).domains
    ]
    assert absent.search_domains is not None  # the area asks for it
    _expect_count(ctx, absent.search_domains, domains, "OpenSearch domains")


@check(
    "absent.elasticache",
    title="No ElastiCache cluster (Phase 1 runs Redis as a container on the host)",
    area=_absent("cache_clusters"),
    severity="low",
    remediation="Delete the ElastiCache cluster: Phase 1's Redis is the redis:7-alpine container "
    "of the Compose file (ElastiCache comes with Phase 2).",
)
def no_elasticache(ctx: CheckContext, absent: AbsentSpec) -> None:
    clusters = ctx.get(CacheClustersInventory).cluster_ids
    assert absent.cache_clusters is not None
    _expect_count(ctx, absent.cache_clusters, clusters, "ElastiCache clusters")


@check(
    "absent.dashboards",
    title="No CloudWatch dashboard (Phase 1 monitors with alarms only)",
    area=_absent("dashboards"),
    severity="low",
    remediation="Delete the dashboard, or document it: Phase 1's monitoring is \"None (alarms "
    'only)" (the overview dashboard comes with Phase 2).',
)
def no_dashboards(ctx: CheckContext, absent: AbsentSpec) -> None:
    dashboards = [d.name for d in ctx.get(DashboardsInventory).dashboards]
    assert absent.dashboards is not None
    _expect_count(ctx, absent.dashboards, dashboards, "CloudWatch dashboards")


@check(
    "absent.tracing",
    title="No X-Ray sampling rule of the project's (tracing comes with Phase 3)",
    area=_absent("sampling_rules"),
    severity="low",
    remediation='Delete the sampling rules, or document tracing: "Tracing: None" until '
    "Phase 3 (AWS X-Ray, 5% sampling).",
)
def no_tracing(ctx: CheckContext, absent: AbsentSpec) -> None:
    assert absent.sampling_rules is not None
    rules = [r.name for r in ctx.get(XrayInventory).rules if r.name != DEFAULT_RULE]
    _expect_count(ctx, absent.sampling_rules, rules, "X-Ray sampling rules beside Default")
