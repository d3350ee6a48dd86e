"""Disaster recovery (Phase 4, production): the Backup Strategy table beyond the primary region.

What must survive the loss of the primary region is read where it lives, in the DR region
(the spec's ``dr_region``):

- "RDS: Cross-region snapshot, Daily, 7 days, us-west-2" is RDS's automated-backup replication:
  the database's automated backups (daily snapshots and transaction logs) replicated into the DR
  region and kept there 7 days. The DR region lists the replicated backup under the source
  instance's ARN; the primary instance lists the replications it feeds.
- "OpenSearch: Automated snapshot, Hourly, 14 days" is not a setting: OpenSearch Service takes
  hourly snapshots and keeps them 14 days for every OpenSearch domain and every Elasticsearch
  domain from 5.3 (up to 5.1 it takes one a day). So the domain's engine version decides it.
- "S3: Cross-region replication, Continuous, us-west-2": each replicated bucket has an enabled
  rule over all of its objects to a bucket in the DR region, and versioning on (S3 replicates
  only from a versioned bucket).

"RDS: Automated snapshot, Daily, 30 days, Same region" is the database's own backup retention,
checked by ``rds.backup_retention``. The search snapshots are a declared value of the domain; the
two copies are relations across regions, judged by functions.
"""

from __future__ import annotations

from conformance.checks import CheckContext, ResourceMissing, Unverifiable, check
from conformance.declared import Role, Value, declare
from conformance.inventory.opensearch import Domain, DomainStatus, OpensearchInventory
from conformance.inventory.rds import DbInstance, RdsInventory
from conformance.inventory.rds_dr import RdsDrInventory
from conformance.inventory.s3 import Bucket, ReplicationRule, S3Inventory
from conformance.spec import DisasterRecoverySpec, EnvironmentSpec

# The first Elasticsearch version OpenSearch Service snapshots hourly (5.1 and earlier: daily).
HOURLY_SNAPSHOTS_FROM = (5, 3)


def _disaster_recovery(env: EnvironmentSpec) -> DisasterRecoverySpec | None:
    return env.disaster_recovery


def _dr_region(ctx: CheckContext) -> str:
    documented = ctx.run.spec.dr_region
    if documented is None:
        raise Unverifiable("the phase's spec names no disaster-recovery region")
    return documented.value


def _database(ctx: CheckContext) -> DbInstance:
    """The environment's database, by its exact name (never one of its read replicas)."""
    identifier = ctx.inputs.name("db")
    rds = ctx.get(RdsInventory)
    found = rds.instance(identifier)
    if found is None:
        raise ResourceMissing(
            f"an RDS DB instance {identifier}", (i.identifier for i in rds.instances)
        )
    return found


@check(
    "dr.database_backup_replication",
    title="The database's automated backups are replicated to the DR region and kept 7 days",
    area=_disaster_recovery,
    severity="high",
    remediation="Replicate the DB instance's automated backups to the DR region with the "
    "documented retention (aws_db_instance_automated_backups_replication, in the DR region, "
    "retention_period = 7).",
)
def database_backup_replication(ctx: CheckContext, dr: DisasterRecoverySpec) -> None:
    region = _dr_region(ctx)
    database = _database(ctx)
    held = ctx.get(RdsDrInventory).replicated_from(database.arn)
    feeding = database.automated_backup_replications
    if feeding is not None:
        held = [b for b in held if b.arn in feeding]  # a stopped replication feeds nothing
    elif not held:
        raise Unverifiable(
            f"DescribeDBInstances reports no DBInstanceAutomatedBackupsReplications for "
            f"{database.identifier}, and {region} lists no replicated backup of it"
        )
    subject = f"{database.identifier} automated backups replicated to {region}"
    if not held:
        listed = ", ".join(feeding or []) or "none"
        ctx.expect(
            dr.database_replicated_retention_days,
            f"not replicated to {region} (replications of the instance: {listed})",
            subject=subject,
            expected=f"replicated to {region}, kept "
            f"{dr.database_replicated_retention_days.value} days",
            ok=False,
        )
        return
    for backup in held:
        if backup.retention_days is None:
            raise Unverifiable(
                f"DescribeDBInstanceAutomatedBackups in {region} reports no retention for "
                f"{backup.arn or backup.instance}"
            )
        ctx.expect(
            dr.database_replicated_retention_days,
            backup.retention_days,
            subject=f"{subject} ({backup.arn}) retention (days)",
        )


def _search_domain(ctx: CheckContext) -> tuple[Domain, DomainStatus]:
    """The environment's OpenSearch domain, and what DescribeDomains reported of it."""
    name = ctx.inputs.name("search")
    opensearch = ctx.get(OpensearchInventory)
    domain = opensearch.domain(name)
    if domain is None or domain.status is None:
        raise ResourceMissing(f"an OpenSearch domain {name}", (d.name for d in opensearch.domains))
    return domain, domain.status


def _hourly_snapshots(_ctx: CheckContext, found: tuple[Domain, DomainStatus]) -> bool:
    """Whether OpenSearch Service snapshots the domain hourly (and keeps 14 days): every
    OpenSearch version and Elasticsearch from 5.3 ("OpenSearch_2.11", "Elasticsearch_7.10"; the
    legacy API's bare "7.10" is Elasticsearch); up to 5.1 it takes one snapshot a day."""
    domain, status = found
    version = status.engine_version
    if version is None:
        raise Unverifiable(f"DescribeDomains reports no EngineVersion for domain {domain.name}")
    engine, _, number = version.rpartition("_")
    if engine == "OpenSearch":
        return True
    try:
        release = tuple(int(part) for part in number.split(".")[:2])
    except ValueError:
        release = None
    if engine not in ("Elasticsearch", "") or release is None:
        raise Unverifiable(f"domain {domain.name} runs {version}, an engine not known here")
    return release >= HOURLY_SNAPSHOTS_FROM


SEARCH = Role(
    find=lambda ctx, _key: _search_domain(ctx),
    label=lambda _key, found: f"OpenSearch domain {found[0].name} ({found[1].engine_version})",
)

declare(
    [
        Value(
            "dr.search_snapshots",
            title="OpenSearch snapshots the search domain hourly and keeps 14 days",
            field="disaster_recovery.search_automated_snapshots",
            role=SEARCH,
            attribute=_hourly_snapshots,
            subject="{resource} hourly automated snapshots, kept 14 days",
            remediation="Run the domain on OpenSearch (or Elasticsearch 5.3 or later): only then "
            "does the service snapshot it hourly and keep the snapshots 14 days.",
        ),
    ],
    __name__,
)


@check(
    "dr.bucket_replication",
    title="The site's buckets replicate, whole and versioned, to a bucket in the DR region",
    area=_disaster_recovery,
    severity="high",
    remediation="Enable versioning on the bucket and a replication rule over the whole bucket "
    "(no prefix, tag or size filter) to a versioned bucket in the DR region "
    "(aws_s3_bucket_replication_configuration).",
)
def bucket_replication(ctx: CheckContext, dr: DisasterRecoverySpec) -> None:
    region = _dr_region(ctx)
    s3 = ctx.get(S3Inventory)
    for role in dr.replicated_buckets.value:
        name = ctx.inputs.name(f"bucket.{role}")
        bucket = s3.buckets.get(name)
        if bucket is None:
            raise ResourceMissing(f"an S3 bucket {name} ({role})", s3.buckets)
        _expect_replicated(ctx, dr, bucket, region, s3.destination_regions)
        ctx.expect(
            dr.replicated_buckets,
            bucket.versioning or "never enabled",
            subject=f"S3 bucket {name} versioning (replication needs it)",
            expected="Enabled",
            ok=bucket.versioning == "Enabled",
        )


def _expect_replicated(
    ctx: CheckContext,
    dr: DisasterRecoverySpec,
    bucket: Bucket,
    region: str,
    destination_regions: dict[str, str | None],
) -> None:
    """One comparison: the bucket has an enabled whole-bucket rule into ``region``."""
    if bucket.replication is None:
        raise Unverifiable(f"the inventory holds no replication configuration of {bucket.name}")

    def shown(rule: ReplicationRule) -> str:
        located = destination_regions.get(rule.destination)
        scope = "whole bucket" if rule.whole_bucket else "only " + ", ".join(_narrowing(rule))
        return (
            f"rule {rule.id or '(no id)'} {rule.status}, {scope}, to {rule.destination} "
            f"({located or 'no such bucket'})"
        )

    ok = any(
        rule.status == "Enabled"
        and rule.whole_bucket
        and destination_regions.get(rule.destination) == region
        for rule in bucket.replication
    )
    ctx.expect(
        dr.replicated_buckets,
        [shown(rule) for rule in bucket.replication] or "no replication configuration",
        subject=f"S3 bucket {bucket.name} replication",
        expected=f"an Enabled rule over the whole bucket to a bucket in {region}",
        ok=ok,
    )


def _narrowing(rule: ReplicationRule) -> list[str]:
    """What limits a rule to part of the bucket."""
    return [
        *([f"prefix {rule.prefix!r}"] if rule.prefix else []),
        *(f"tag {key}={value}" for key, value in rule.tags.items()),
        *rule.size_limits,
    ]
