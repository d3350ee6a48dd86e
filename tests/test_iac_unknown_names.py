"""A name unknown before apply never makes a resource absent: ``--target iac`` skips, naming
the unknown attribute, every check that looks a resource up by a name the unknown one could be
(a bucket named after a variable with no value, or after the account id), while a resource
found by a known name is judged as always and one truly missing still fails as absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.checks import BEFORE_APPLY, UnknownBeforeApply, UnknownName
from conformance.iac.hcl import read_configuration
from conformance.iac.plan import plan_snapshot
from conformance.iac.sections import HELD_IN
from conformance.iac.target import read_source
from conformance.inputs import load_inputs
from conformance.inventory import SECTIONS
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions
from tests.conftest import ROOT

ELSEWHERE = ROOT / "fixtures" / "iac" / "elsewhere"
PHASE_1 = ROOT / "fixtures" / "iac" / "phase-1"
# The checks that failed as "absent" or "no such alarm" where only the names were unknown.
LOOKED_UP_BY_NAME = {
    "s3.buckets.present": 'aws_s3_bucket.site["backups"].bucket is unknown',
    "iac.state_bucket.versioned": 'aws_s3_bucket.site["backups"].bucket is unknown',
    "iac.state_bucket.encrypted": 'aws_s3_bucket.site["backups"].bucket is unknown',
    "iac.state_bucket.public_access_blocked": 'aws_s3_bucket.site["backups"].bucket is unknown',
    "sqs.queues.present": 'aws_sqs_queue.dead_letter["moderation-events"].name is unknown',
    "sqs.queues.redrive": 'aws_sqs_queue.dead_letter["moderation-events"].name is unknown',
    # Its for_each is the queue names: its instances cannot be read, so no alarm is absent.
    "alarm.sqs_queue_depth.threshold": "aws_cloudwatch_metric_alarm.queue_depth: its for_each "
    "is not known statically",
}
ACCOUNT_ID = 'data "aws_caller_identity" "current" {}\n'


def _iac(directory: Path, inputs: Path | None = None) -> Outcome:
    source = read_source("iac", None, directory, [], None)
    assert source is not None
    options = TargetOptions("iac", source.region or "us-east-1", "production", source=source)
    return execute(options, load_inputs(inputs, []) if inputs else None)


def _messages(outcome: Outcome) -> dict[str, str]:
    return {r.check.id: f"{r.outcome}: {r.message}" for r in outcome.results}


def _edited(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the Phase 1 configuration with ``old`` replaced by ``new`` in ``file``."""
    copied = tmp_path / "phase-1"
    shutil.copytree(PHASE_1, copied)
    path = copied / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return copied


def test_a_project_name_without_a_value_makes_no_check_fail() -> None:
    """The elsewhere configuration without its tfvars: every name built from the project
    variable is unknown, so what is looked up by name is not verifiable, never absent."""
    outcome = _iac(ELSEWHERE, ELSEWHERE / "inputs.yaml")
    messages = _messages(outcome)
    assert outcome.ids("failed") | outcome.ids("error") == set(), messages
    for check_id, unknown in LOOKED_UP_BY_NAME.items():
        assert messages[check_id].startswith(f"skipped: {BEFORE_APPLY}{unknown}"), check_id
    assert "(looked for S3 bucket accountabilityatlas-backups" in messages["s3.buckets.present"]


def test_a_bucket_named_after_the_account_is_not_verifiable_and_the_others_are_judged(
    tmp_path: Path,
) -> None:
    copied = _edited(
        tmp_path,
        "services.tf",
        'bucket = "${var.project}-backups"',
        'bucket = "${data.aws_caller_identity.current.account_id}-backups"',
    )
    (copied / "account.tf").write_text(ACCOUNT_ID)
    outcome = _iac(copied)
    messages = _messages(outcome)
    assert outcome.ids("failed") | outcome.ids("error") == set(), messages
    assert messages["s3.buckets.present"].startswith(
        f"skipped: {BEFORE_APPLY}aws_s3_bucket.backups.bucket is unknown"
    )
    # The state bucket is found by its known name: judged as before.
    assert {
        "iac.state_bucket.versioned",
        "iac.state_bucket.encrypted",
        "iac.state_bucket.public_access_blocked",
        "sqs.queues.present",
    } <= outcome.ids("passed")
    # The evidence keeps the section as the reader made it.
    snapshot = plan_snapshot(read_configuration(copied), load_inputs(None, []))
    assert outcome.snapshot["sections"]["s3"] == snapshot["sections"]["s3"]


def test_an_alarm_whose_dimension_is_an_unknown_queue_name_is_not_verifiable(
    tmp_path: Path,
) -> None:
    """The queue-depth alarms name their queue by ``aws_sqs_queue.queue[KEY].name``: with the
    queue names made by AWS from a prefix (unknown until apply), which alarm watches which
    queue cannot be told before apply."""
    copied = _edited(
        tmp_path,
        "services.tf",
        'name     = "${var.project}-${each.key}"',
        'name_prefix = "${var.project}-${each.key}-"',
    )
    outcome = _iac(copied)
    messages = _messages(outcome)
    assert outcome.ids("failed") | outcome.ids("error") == set(), messages
    for check_id in ("alarm.sqs_queue_depth.threshold", "sqs.queues.present"):
        assert messages[check_id].startswith(f"skipped: {BEFORE_APPLY}aws_sqs_queue.queue["), (
            messages[check_id]
        )
    assert "alarm.ec2_high_cpu.threshold" in outcome.ids("passed")  # by a known instance id


def test_a_bucket_truly_missing_still_fails_as_absent(tmp_path: Path) -> None:
    copied = _edited(
        tmp_path,
        "services.tf",
        'resource "aws_s3_bucket" "static_assets" {\n'
        '  bucket = "${var.project}-static-assets"\n'
        '  tags   = { Service = "storage" }\n'
        "}\n",
        "",
    )
    outcome = _iac(copied)
    assert outcome.ids("failed") == {"s3.buckets.present"}
    (failed,) = [r for r in outcome.results if r.check.id == "s3.buckets.present"]
    assert [(c.expected, c.actual) for c in failed.comparisons] == [("present", "absent")]
    assert "looked for S3 bucket accountabilityatlas-static-assets" in failed.describe()


def test_an_unknown_name_equals_only_itself() -> None:
    name = UnknownName("<aws_s3_bucket.backups.bucket>", "aws_s3_bucket.backups.bucket is unknown")
    assert name == "<aws_s3_bucket.backups.bucket>"
    assert "acct-atlas-backups" not in {name} and "acct-atlas-backups" not in {name: 1}
    with pytest.raises(UnknownBeforeApply, match=r"aws_s3_bucket\.backups\.bucket is unknown"):
        assert name != "acct-atlas-backups"
    with pytest.raises(UnknownBeforeApply):
        assert "acct-atlas-backups" in [name]


def test_each_type_not_expanded_leaves_fields_of_its_section() -> None:
    for resource_type, (service, fields) in HELD_IN.items():
        assert set(fields) <= set(SECTIONS[service].model_fields), resource_type
