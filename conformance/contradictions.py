"""Places where the architecture document contradicts itself or a fact of AWS.

The suite reports these beside its results rather than silently choosing one reading: each
names the sections involved and says what the checks verify instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.spec import EnvironmentSpec


@dataclass(frozen=True)
class Contradiction:
    title: str
    detail: str
    sections: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"title": self.title, "detail": self.detail, "sections": list(self.sections)}


def find(env: EnvironmentSpec) -> list[Contradiction]:
    return [
        *_pitr_with_backups(env),
        *_container_totals(env),
        *_search_in_key_changes(env),
        *_scaling_limits_in_key_changes(env),
    ]


# What Phase 3's "Key Changes from Phase 2" says of search: "OpenSearch (t3.small.search)". The
# document check keeps this honest: phase-3.yaml anchors that cell to staging's instance type.
KEY_CHANGES = "Phase 3 — Scale > Key Changes from Phase 2"
KEY_CHANGES_SEARCH = "t3.small.search"
# What Phase 4's "Key Changes from Phase 3" says of ECS scaling: "Auto-scaling (min 2, max 10)".
SCALING_KEY_CHANGES = "Phase 4 — Full Production > Key Changes from Phase 3"
SCALING_KEY_CHANGES_LIMITS = (2, 10)


def _pitr_with_backups(env: EnvironmentSpec) -> list[Contradiction]:
    db = env.database
    if db is None or db.point_in_time_recovery.value or db.backup_retention_days.value == 0:
        return []
    return [
        Contradiction(
            "PITR disabled with automated backups retained",
            f"The document says PITR is disabled but keeps automated backups for "
            f"{db.backup_retention_days.value} days; RDS offers point-in-time recovery whenever "
            f"the backup retention is above 0, so both cannot hold. The suite checks the "
            f"retention and reports PITR as enabled by it.",
            tuple(
                dict.fromkeys((db.point_in_time_recovery.section, db.backup_retention_days.section))
            ),
        )
    ]


def _container_totals(env: EnvironmentSpec) -> list[Contradiction]:
    containers = env.containers
    if containers is None:
        return []
    found = []
    cpus = round(sum(c.cpus.value for c in containers.services.values()), 2)
    memory = sum(c.memory_mb.value for c in containers.services.values())
    if abs(cpus - containers.total_cpus.value) > 0.005:
        found.append(
            Contradiction(
                "container CPU total does not add up",
                f"The Resource Allocation rows add up to {cpus} vCPU; the table's total says "
                f"{containers.total_cpus.value}. The suite checks the rows.",
                (containers.total_cpus.section,),
            )
        )
    if memory != containers.total_memory_mb.value:
        found.append(
            Contradiction(
                "container memory total does not add up",
                f"The Resource Allocation rows add up to {memory:,} MB; the table's total says "
                f"~{containers.total_memory_mb.value:,} MB. The suite checks the rows.",
                (containers.total_memory_mb.section,),
            )
        )
    return found


def _search_in_key_changes(env: EnvironmentSpec) -> list[Contradiction]:
    search = env.search
    phase = KEY_CHANGES.split(" > ")[0]
    if search is None or not search.instance_type.section.startswith(phase):
        return []
    if search.instance_type.value == KEY_CHANGES_SEARCH:
        return []  # staging: the type Key Changes names is its own
    return [
        Contradiction(
            "OpenSearch instance type in Key Changes differs from the configuration table",
            f'"Key Changes from Phase 2" gives Search as "OpenSearch ({KEY_CHANGES_SEARCH})", '
            f"but the OpenSearch Configuration table gives this environment "
            f"{search.instance_type.value} ({KEY_CHANGES_SEARCH} is staging's). The suite "
            f"follows the configuration table for each environment and checks "
            f"{search.instance_type.value}.",
            (KEY_CHANGES, search.instance_type.section),
        )
    ]


def _scaling_limits_in_key_changes(env: EnvironmentSpec) -> list[Contradiction]:
    ecs = env.ecs
    if ecs is None or ecs.autoscaling is None:
        return []
    other = {
        name: (service.min_tasks.value, service.max_tasks.value)
        for name, service in ecs.services.items()
        if service.min_tasks is not None
        and service.max_tasks is not None
        and (service.min_tasks.value, service.max_tasks.value) != SCALING_KEY_CHANGES_LIMITS
    }
    if not other:
        return []
    low, high = SCALING_KEY_CHANGES_LIMITS
    listed = ", ".join(f"{name} {low_}-{high_}" for name, (low_, high_) in sorted(other.items()))
    sections = {low_.section for name in other if (low_ := ecs.services[name].min_tasks)}
    return [
        Contradiction(
            "auto-scaling limits in Key Changes are not every service's",
            f'"Key Changes from Phase 3" gives ECS scaling as "Auto-scaling (min {low}, max '
            f"{high})\", but other sections give {listed}. The suite checks each service's own "
            f"limits.",
            (SCALING_KEY_CHANGES, *sorted(sections)),
        )
    ]
