"""Phase 4's disaster recovery read where it lives: a run reads the primary region and the DR
region (us-west-2) and its evidence shows both (a moto server's deleted replication rule:
tests/test_phase4_server.py). What moto cannot hold (a rule's filter, a replicated RDS backup) is
read from AWS-shaped answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.checks import Result, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import SavedInventory, SavedSnapshot
from conformance.inventory.rds import DbInstance, RdsInventory
from conformance.inventory.rds_dr import AutomatedBackup, RdsDrInventory
from conformance.inventory.s3 import replication_rule
from conformance.spec import load_spec
from tests.conftest import run_suite

CHECKS = load_checks()


def test_evidence_of_a_phase_4_run_shows_calls_in_both_regions(tmp_path: Path) -> None:
    run_suite("--phase=4", f"--evidence={tmp_path}", "-k", "dr.")
    calls = json.loads((tmp_path / "evidence.json").read_text())["api_calls"]
    regions = {(c["region"], c["service"], c["operation"]) for c in calls["calls"]}
    assert {r for r, _, _ in regions} >= {"us-east-1", "us-west-2"}
    assert {
        ("us-west-2", "rds", "DescribeDBInstanceAutomatedBackups"),
        ("us-west-2", "s3", "GetBucketLocation"),
        ("us-east-1", "rds", "DescribeDBInstances"),
        ("us-east-1", "s3", "GetBucketReplication"),
    } <= regions
    assert calls["repeated"] == []


@pytest.mark.parametrize(
    ("rule", "whole"),
    [
        pytest.param({"Filter": {}}, True, id="empty filter"),
        pytest.param({"Filter": {"Prefix": ""}}, True, id="empty prefix"),
        pytest.param({"Prefix": "db/"}, False, id="legacy prefix"),
        pytest.param({"Filter": {"Tag": {"Key": "copy", "Value": "yes"}}}, False, id="tag"),
        pytest.param(
            {"Filter": {"And": {"Prefix": "", "ObjectSizeGreaterThan": 1024}}}, False, id="size"
        ),
    ],
)
def test_a_rule_narrowed_by_prefix_tag_or_size_is_not_the_whole_bucket(
    rule: dict[str, Any], whole: bool
) -> None:
    """AWS reports a rule's scope in each of these forms; moto answers every rule as whole."""
    raw = {"ID": "r", "Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::copy"}}
    parsed = replication_rule(raw | rule)
    assert parsed.destination == "copy"
    assert parsed.whole_bucket is whole


def _replication(retention: int) -> Result:
    """dr.database_backup_replication on a saved inventory holding the database and, in the DR
    region, its replicated backup kept ``retention`` days, as AWS reports them."""
    inputs = Inputs()
    arn = f"arn:aws:rds:us-east-1:123456789012:db:{inputs.name('db')}"
    backup = "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-example"
    database = DbInstance(
        identifier=inputs.name("db"),
        arn=arn,
        status="available",
        engine="postgres",
        engine_version="15",
        instance_class="db.r6g.large",
        allocated_storage_gb=100,
        storage_type="gp3",
        multi_az=True,
        read_replica_ids=[],
        replica_source=None,
        backup_retention_days=30,
        performance_insights=True,
        publicly_accessible=False,
        subnet_group=None,
        subnet_ids=[],
        security_group_ids=[],
        tags={},
        automated_backup_replications=[backup],
    )
    replicated = AutomatedBackup(
        arn=backup,
        instance=database.identifier,
        source_arn=arn,
        source_region="us-east-1",
        status="replicating",
        retention_days=retention,
    )
    sections = {
        "rds": RdsInventory(instances=[database], subnet_groups=[]),
        "rds-dr": RdsDrInventory(region="us-west-2", backups=[replicated]),
    }
    saved = SavedSnapshot.of(
        {
            "region": "us-east-1",
            "sections": {k: v.model_dump(mode="json") for k, v in sections.items()},
            "failures": {},
        },
        origin="a test",
        location="memory",
    )
    run = Run(load_spec(4), "production", inputs, SavedInventory(saved, inputs), "inventory")
    return CHECKS["dr.database_backup_replication"].run(run)


def test_replicated_backups_kept_the_documented_days_pass_and_others_fail() -> None:
    assert _replication(7).outcome == "passed"
    assert _replication(14).outcome == "failed"
