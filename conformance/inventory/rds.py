"""RDS: the DB instances and DB subnet groups, as DescribeDBInstances and DescribeDBSubnetGroups
report them (no per-instance call: tags come inline in TagList).

An instance's automated-backup replications to other regions (Phase 4's disaster recovery) come
inline too (DBInstanceAutomatedBackupsReplications); the replicated backups themselves are read
in the DR region (``conformance.inventory.rds_dr``)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of


class DbInstance(BaseModel):
    identifier: str
    arn: str
    status: str
    engine: str
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    storage_type: str
    multi_az: bool
    read_replica_ids: list[str]
    replica_source: str | None  # set on a read replica: the identifier (or ARN) it replicates
    backup_retention_days: int
    # None when the answer lacks PerformanceInsightsEnabled: AWS always reports it, moto never.
    performance_insights: bool | None
    publicly_accessible: bool
    subnet_group: str | None
    subnet_ids: list[str]
    security_group_ids: list[str]
    tags: dict[str, str]
    # ARNs of the automated backups replicated to other regions (DBInstanceAutomatedBackupsArn);
    # None when the answer lacks DBInstanceAutomatedBackupsReplications (moto never reports it).
    automated_backup_replications: list[str] | None = None


class DbSubnetGroup(BaseModel):
    name: str
    vpc_id: str
    subnet_ids: list[str]


class RdsInventory(Section):
    service = "rds"

    instances: list[DbInstance]
    subnet_groups: list[DbSubnetGroup]

    def instance(self, identifier: str) -> DbInstance | None:
        return next((i for i in self.instances if i.identifier == identifier), None)

    def replicas_of(self, primary: DbInstance) -> list[str]:
        """Read replicas of ``primary``, as it lists them or as they name it as their source
        (a cross-region replica names its source by ARN)."""
        named = {
            i.identifier
            for i in self.instances
            if i.replica_source in (primary.identifier, primary.arn)
        }
        return sorted(named | set(primary.read_replica_ids))

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The environment's database and its read replicas, by the database's exact name:
        another environment's database (and its replicas) is not this environment's."""
        primary = self.instance(inputs.name("db"))
        if primary is None:
            return []
        ours = {primary.identifier, *self.replicas_of(primary)}
        return [
            Tagged(resource=f"db-instance {i.identifier}", tags=i.tags)
            for i in self.instances
            if i.identifier in ours
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        rds = clients.client("rds")

        def pages(operation: str, key: str) -> list[dict[str, Any]]:
            return [item for page in rds.get_paginator(operation).paginate() for item in page[key]]

        return cls(
            instances=[_instance(i) for i in pages("describe_db_instances", "DBInstances")],
            subnet_groups=[
                DbSubnetGroup(
                    name=g["DBSubnetGroupName"],
                    vpc_id=g.get("VpcId", ""),
                    subnet_ids=[s["SubnetIdentifier"] for s in g.get("Subnets", [])],
                )
                for g in pages("describe_db_subnet_groups", "DBSubnetGroups")
            ],
        )


def _instance(i: dict[str, Any]) -> DbInstance:
    group = i.get("DBSubnetGroup") or {}
    return DbInstance(
        identifier=i["DBInstanceIdentifier"],
        arn=i.get("DBInstanceArn", ""),
        status=i.get("DBInstanceStatus", ""),
        engine=i["Engine"],
        engine_version=i.get("EngineVersion", ""),
        instance_class=i["DBInstanceClass"],
        allocated_storage_gb=i.get("AllocatedStorage", 0),
        storage_type=i.get("StorageType", ""),
        multi_az=bool(i.get("MultiAZ")),
        read_replica_ids=i.get("ReadReplicaDBInstanceIdentifiers", []),
        replica_source=i.get("ReadReplicaSourceDBInstanceIdentifier"),
        backup_retention_days=i.get("BackupRetentionPeriod", 0),
        # Absent is not "off": the target did not say (rds.performance_insights is then skipped).
        performance_insights=i.get("PerformanceInsightsEnabled"),
        publicly_accessible=bool(i.get("PubliclyAccessible")),
        subnet_group=group.get("DBSubnetGroupName"),
        subnet_ids=[s["SubnetIdentifier"] for s in group.get("Subnets", [])],
        security_group_ids=[g["VpcSecurityGroupId"] for g in i.get("VpcSecurityGroups", [])],
        tags=tags_of(i.get("TagList")),
        automated_backup_replications=(
            None
            if "DBInstanceAutomatedBackupsReplications" not in i
            else [
                r["DBInstanceAutomatedBackupsArn"]
                for r in i["DBInstanceAutomatedBackupsReplications"]
                if "DBInstanceAutomatedBackupsArn" in r
            ]
        ),
    )
