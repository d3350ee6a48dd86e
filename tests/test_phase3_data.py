"""Phase 3's database and cache in two environments, on small inventories: each environment's
tags come from its own resources only, and a value the target does not report (moto never says
whether Performance Insights is on) is skipped as not verifiable, never passed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from conformance.aws import Clients
from conformance.checks import REGISTRY, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import Inventory
from conformance.inventory.elasticache import ElasticacheInventory, ReplicationGroup
from conformance.inventory.rds import DbInstance, RdsInventory
from conformance.spec import load_spec

load_checks()
PRODUCTION = Inputs()
STAGING = PRODUCTION.for_environment("staging")
BOTH = PRODUCTION.collected(("production", "staging"))
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _run(environment: str, *sections: Any) -> Run:
    inputs = PRODUCTION.for_environment(environment)
    inventory = Inventory(Clients("us-east-1", "http://127.0.0.1:9"), inputs)  # never called
    for section in sections:
        inventory.sections[section.service] = section
    return Run(load_spec(3), environment, inputs, inventory, "model")


def _db(identifier: str, source: str | None = None, insights: bool | None = True) -> DbInstance:
    return DbInstance(
        identifier=identifier,
        arn=f"arn:aws:rds:us-east-1:123456789012:db:{identifier}",
        status="available",
        engine="postgres",
        engine_version="15.4",
        instance_class="db.r6g.large",
        allocated_storage_gb=100,
        storage_type="gp3",
        multi_az=True,
        read_replica_ids=[],
        replica_source=source,
        backup_retention_days=30,
        performance_insights=insights,
        publicly_accessible=False,
        subnet_group=None,
        subnet_ids=[],
        security_group_ids=[],
        tags={"Environment": "staging" if "staging" in identifier else "prod"},
    )


def test_each_environment_tags_its_own_database_and_replicas_only() -> None:
    """Production's prefix also begins staging's names: the database is found by exact name."""
    primary, staging = PRODUCTION.name("db"), STAGING.name("db")
    rds = RdsInventory(
        instances=[_db(primary), _db(f"{primary}-replica-1", source=primary), _db(staging)],
        subnet_groups=[],
    )
    assert [t.resource for t in rds.tagged(PRODUCTION)] == [
        f"db-instance {primary}",
        f"db-instance {primary}-replica-1",
    ]
    assert [t.resource for t in rds.tagged(STAGING)] == [f"db-instance {staging}"]


@pytest.mark.parametrize(
    ("reported", "outcome"), [(True, "passed"), (False, "failed"), (None, "skipped")]
)
def test_performance_insights_a_target_does_not_report_is_not_verifiable(
    reported: bool | None, outcome: str
) -> None:
    rds = RdsInventory(instances=[_db(STAGING.name("db"), insights=reported)], subnet_groups=[])
    result = REGISTRY["rds.performance_insights"].run(_run("staging", rds))
    assert result.outcome == outcome, result.describe()
    if outcome == "skipped":
        assert result.message.startswith("not verifiable on this target: ")


def _group(encrypted_at_rest: bool | None) -> ReplicationGroup:
    return ReplicationGroup(
        id=PRODUCTION.name("cache"),
        arn="arn:aws:elasticache:us-east-1:123456789012:replicationgroup:x",
        status="available",
        engine="redis",
        node_type="cache.r6g.large",
        multi_az=True,
        automatic_failover="enabled",
        member_clusters=["x-001", "x-002"],
        encryption_at_rest=encrypted_at_rest,
        encryption_in_transit=True,
        tags={},
    )


@pytest.mark.parametrize(
    ("reported", "outcome"), [(True, "passed"), (False, "failed"), (None, "skipped")]
)
def test_cache_encryption_a_target_does_not_report_is_not_verifiable(
    reported: bool | None, outcome: str
) -> None:
    cache = ElasticacheInventory(
        replication_groups=[_group(reported)], clusters=[], subnet_groups=[]
    )
    result = REGISTRY["cache.encryption_at_rest"].run(_run("production", cache))
    assert result.outcome == outcome, result.describe()
    if outcome == "skipped":
        assert result.message.startswith("not verifiable on this target: ")


@pytest.fixture
def two_caches() -> Iterator[Clients]:
    """Production's two-node cache, staging's one-node cache and a cache of another project."""
    with mock_aws():
        elasticache = boto3.Session(**KEYS).client("elasticache", region_name="us-east-1")
        for name, replicas in ((PRODUCTION.name("cache"), 1), (STAGING.name("cache"), 0)):
            elasticache.create_replication_group(
                ReplicationGroupId=name,
                ReplicationGroupDescription=name,
                Engine="redis",
                CacheNodeType="cache.t3.medium",
                NumNodeGroups=1,
                ReplicasPerNodeGroup=replicas,
                AtRestEncryptionEnabled=True,
                TransitEncryptionEnabled=True,
                Tags=[{"Key": "Environment", "Value": "staging" if replicas == 0 else "prod"}],
            )
        elasticache.create_replication_group(
            ReplicationGroupId="someone-else", ReplicationGroupDescription="not ours"
        )
        yield Clients("us-east-1", session=boto3.Session(**KEYS))


def test_the_tags_of_each_environments_cache_are_read_and_kept_apart(two_caches: Clients) -> None:
    cache = ElasticacheInventory.collect(two_caches, BOTH)
    sent = Counter(c.action for c in two_caches.log.calls)
    assert sent["elasticache:ListTagsForResource"] == 2  # ours only, once each
    assert {g.id: len(g.member_clusters) for g in cache.replication_groups} == {
        PRODUCTION.name("cache"): 2,  # moto: ReplicasPerNodeGroup=1 reads back as two nodes
        STAGING.name("cache"): 1,
        "someone-else": 1,
    }
    assert [(t.resource, t.tags) for t in cache.tagged(STAGING)] == [
        (f"elasticache-replication-group {STAGING.name('cache')}", {"Environment": "staging"})
    ]
    assert [t.tags for t in cache.tagged(PRODUCTION)] == [{"Environment": "prod"}]
    assert all(
        g.encryption_at_rest and g.encryption_in_transit for g in cache.replication_groups[:2]
    )
