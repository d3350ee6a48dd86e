"""RDS in the disaster-recovery region: the automated backups replicated there (Phase 4).

RDS replicates a DB instance's automated backups (snapshots and transaction logs) into another
region when asked to (StartDBInstanceAutomatedBackupsReplication, run in the destination region).
There, DescribeDBInstanceAutomatedBackups lists the replicated backup under the source instance's
identifier, with the source's ARN (DBInstanceArn), the source region (Region) and the retention
the replication was started with. It is read once, in the DR region (``clients.dr_region``), and
only the backups of the environments' own databases are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.errors import ConformanceError
from conformance.inputs import Inputs
from conformance.inventory import Section

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec


class AutomatedBackup(BaseModel):
    """A DB instance's automated backups as the DR region lists them; None where the answer
    lacks the field (moto reports little more than the identifier and status)."""

    arn: str | None  # DBInstanceAutomatedBackupsArn
    instance: str  # the source instance's identifier
    source_arn: str | None  # DBInstanceArn: the instance whose backups these are
    source_region: str | None  # Region: where that instance runs
    status: str | None  # e.g. replicating, active, retained
    retention_days: int | None  # BackupRetentionPeriod


class RdsDrInventory(Section):
    service = "rds-dr"

    region: str  # the DR region it was read in
    backups: list[AutomatedBackup]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.disaster_recovery is not None

    def replicated_from(self, source_arn: str) -> list[AutomatedBackup]:
        """The backups of the instance ``source_arn`` held in this region."""
        return [b for b in self.backups if b.source_arn == source_arn]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        region = clients.dr_region
        if region is None:
            raise ConformanceError("the phase names no disaster-recovery region to read")
        rds = clients.client("rds", region)
        databases = {env.name("db") for env in inputs.each_environment()}
        paginator = rds.get_paginator("describe_db_instance_automated_backups")
        return cls(
            region=region,
            backups=[
                _backup(b)
                for page in paginator.paginate()
                for b in page["DBInstanceAutomatedBackups"]
                if b.get("DBInstanceIdentifier") in databases
            ],
        )


def _backup(raw: dict[str, Any]) -> AutomatedBackup:
    return AutomatedBackup(
        arn=raw.get("DBInstanceAutomatedBackupsArn"),
        instance=raw["DBInstanceIdentifier"],
        source_arn=raw.get("DBInstanceArn"),
        source_region=raw.get("Region"),
        status=raw.get("Status"),
        retention_days=raw.get("BackupRetentionPeriod"),
    )
