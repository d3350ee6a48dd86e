"""The database: RDS PostgreSQL's class, storage, availability, backups and placement.

The instance's own settings are declared values (one table); its replicas, subnets and security
groups are relations, judged by functions.

RDS has no point-in-time-recovery switch: PITR is on whenever automated backups are retained
(BackupRetentionPeriod > 0). So ``rds.pitr`` applies only where the document says PITR is
enabled (Phase 2+), and checks the retention is above 0. Phase 1's "PITR Disabled" contradicts
its 7-day retention (see ``conformance.contradictions``): there the retention is what is checked.

The database is the instance with the environment's exact name, never one of its read replicas
(which RDS describes alongside it); the replicas are counted by ``rds.read_replicas``.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance import locate
from conformance.checks import CheckContext, ResourceMissing, Unverifiable, check
from conformance.declared import Role, Value, declare
from conformance.inventory.ec2 import Ec2Inventory
from conformance.inventory.rds import DbInstance, RdsInventory
from conformance.spec import DatabaseSpec, EnvironmentSpec


def _database(env: EnvironmentSpec) -> DatabaseSpec | None:
    return env.database


def _documenting(field: str) -> Callable[[EnvironmentSpec], DatabaseSpec | None]:
    """The database group, where it documents the optional ``field``."""

    def area(env: EnvironmentSpec) -> DatabaseSpec | None:
        db = env.database
        return db if db is not None and getattr(db, field) is not None else None

    return area


def _db(ctx: CheckContext) -> DbInstance:
    """The project's DB instance, by its identifier."""
    identifier = ctx.inputs.name("db")
    rds = ctx.get(RdsInventory)
    found = rds.instance(identifier)
    if found is None:
        raise ResourceMissing(
            f"an RDS DB instance {identifier}",
            (f"{i.identifier} ({i.engine}, {i.instance_class})" for i in rds.instances),
        )
    return found


def _performance_insights(_ctx: CheckContext, instance: DbInstance) -> bool:
    """Whether Performance Insights is on; a target that does not say (moto never reports
    PerformanceInsightsEnabled, AWS always does) cannot verify it either way."""
    if instance.performance_insights is None:
        raise Unverifiable(
            f"DescribeDBInstances reports no PerformanceInsightsEnabled for {instance.identifier}"
        )
    return instance.performance_insights


DB = Role(find=lambda ctx, _key: _db(ctx), label=lambda _key, db: db.identifier)

declare(
    [
        Value(
            "rds.engine",
            title="The database engine is PostgreSQL",
            field="database.engine",
            role=DB,
            attribute="engine",
            subject="{resource} engine",
            severity="high",
            remediation="Recreate the database with the documented engine (restore from a dump).",
        ),
        Value(
            "rds.instance_class",
            title="The DB instance class is the documented one",
            field="database.instance_class",
            role=DB,
            attribute="instance_class",
            subject="{resource} class",
            remediation="Modify the DB instance to the documented class.",
        ),
        Value(
            "rds.storage.size",
            title="The allocated storage is the documented size",
            field="database.storage_gb",
            role=DB,
            attribute="allocated_storage_gb",
            subject="{resource} allocated storage (GB)",
            remediation="Set allocated_storage to the documented size "
            "(storage can grow, never shrink).",
        ),
        Value(
            "rds.storage.type",
            title="The storage type is the documented one",
            field="database.storage_type",
            role=DB,
            attribute="storage_type",
            subject="{resource} storage",
            remediation="Modify the DB instance's storage_type to the documented type.",
        ),
        Value(
            "rds.multi_az",
            title="Multi-AZ as documented (Phase 1: single-AZ)",
            field="database.multi_az",
            role=DB,
            attribute="multi_az",
            subject="{resource} Multi-AZ",
            remediation="Set multi_az on the DB instance to the documented value.",
        ),
        Value(
            "rds.backup_retention",
            title="Automated backups are kept for the documented number of days",
            field="database.backup_retention_days",
            role=DB,
            attribute="backup_retention_days",
            subject="{resource} backup retention (days)",
            severity="high",
            remediation="Set backup_retention_period to the documented number of days.",
        ),
        Value(
            "rds.performance_insights",
            title="Performance Insights as documented (Phase 1: disabled)",
            field="database.performance_insights",
            role=DB,
            attribute=_performance_insights,
            subject="{resource} Performance Insights",
            severity="low",
            remediation="Set performance_insights_enabled on the DB instance to the documented "
            "value.",
        ),
        Value(
            "rds.publicly_accessible",
            title="The database is not publicly accessible",
            field="database.publicly_accessible",
            role=DB,
            attribute="publicly_accessible",
            subject="{resource} PubliclyAccessible",
            severity="critical",
            remediation="Set publicly_accessible to false on the DB instance.",
        ),
    ],
    __name__,
)


@check(
    "rds.read_replicas",
    title="As many read replicas as documented (Phase 1: none)",
    area=_database,
    remediation="Delete (or create) read replicas to match the documented count.",
)
def read_replicas(ctx: CheckContext, db: DatabaseSpec) -> None:
    instance = _db(ctx)
    replicas = ctx.get(RdsInventory).replicas_of(instance)
    listed = f" ({', '.join(replicas)})" if replicas else ""
    ctx.expect(
        db.read_replicas, len(replicas), subject=f"read replicas of {instance.identifier}{listed}"
    )


@check(
    "rds.subnets",
    title="The DB subnet group spans exactly the documented data subnets",
    area=_documenting("subnets"),
    severity="high",
    remediation="Put exactly the documented data subnets in the DB subnet group.",
)
def subnets(ctx: CheckContext, db: DatabaseSpec) -> None:
    assert db.subnets is not None
    instance = _db(ctx)
    documented = {locate.subnet(ctx, role).id for role in db.subnets.value}
    names = {s.id: s.tags.get("Name", "(unnamed)") for s in ctx.get(Ec2Inventory).subnets}
    ctx.expect(
        db.subnets,
        sorted(f"{names.get(s, '(unknown)')} ({s})" for s in instance.subnet_ids),
        subject=f"{instance.identifier} DB subnet group {instance.subnet_group}",
        expected=sorted(f"{names[s]} ({s})" for s in documented),
        ok=set(instance.subnet_ids) == documented,
    )


@check(
    "rds.security_groups",
    title="The database has exactly the documented security group",
    area=_documenting("security_groups"),
    severity="high",
    remediation="Attach only sg-rds to the DB instance (vpc_security_group_ids).",
)
def security_groups(ctx: CheckContext, db: DatabaseSpec) -> None:
    assert db.security_groups is not None
    instance = _db(ctx)
    documented = {locate.security_group(ctx, role).id for role in db.security_groups.value}
    names = {g.id: g.name for g in ctx.get(Ec2Inventory).security_groups}
    ctx.expect(
        db.security_groups,
        sorted(f"{names.get(g, '(unknown)')} ({g})" for g in instance.security_group_ids),
        subject=f"{instance.identifier} VPC security groups",
        expected=sorted(f"{names[g]} ({g})" for g in documented),
        ok=set(instance.security_group_ids) == documented,
    )


def _pitr_enabled(env: EnvironmentSpec) -> DatabaseSpec | None:
    db = env.database
    return db if db is not None and db.point_in_time_recovery.value else None


@check(
    "rds.pitr",
    title="Point-in-time recovery is enabled (automated backups are retained)",
    area=_pitr_enabled,
    severity="high",
    remediation="Set backup_retention_period above 0 (the documented number of days): RDS "
    "offers point-in-time recovery only while automated backups are kept.",
)
def point_in_time_recovery(ctx: CheckContext, db: DatabaseSpec) -> None:
    instance = _db(ctx)
    retention = instance.backup_retention_days
    ctx.expect(
        db.point_in_time_recovery,
        f"backup retention {retention} days: PITR {'enabled' if retention > 0 else 'disabled'}",
        subject=f"{instance.identifier} point-in-time recovery",
        expected="enabled (backup retention > 0 days)",
        ok=retention > 0,
    )
