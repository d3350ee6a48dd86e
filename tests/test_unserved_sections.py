"""Sections moto does not serve (Cost Explorer's cost-allocation tags, X-Ray's sampling rules):
the embedded run skips their checks (never passes them), and a saved inventory holding the
service's answer is judged like a live account's."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.checks import load_checks
from conformance.inventory import SavedSnapshot, Section
from conformance.inventory.ce import CostExplorerInventory
from conformance.inventory.xray import DEFAULT_RULE, SamplingRule, XrayInventory
from conformance.runner import execute
from conformance.targets import TargetOptions

CHECKS = load_checks()


def _judged(check_id: str, section: Section, phase: int = 1) -> tuple[str, list[str]]:
    """The check on the embedded reference (skipped: moto does not serve the section), then on
    its saved inventory with ``section`` as the service would have answered."""
    check = CHECKS[check_id]
    embedded = execute(
        TargetOptions("moto", "us-east-1", "production"), phase=phase, checks=[check]
    )
    skipped = embedded.results[0]
    assert skipped.outcome == "skipped"
    assert skipped.message.startswith("moto (embedded) does not")
    snapshot = SavedSnapshot.of(embedded.snapshot, origin="a test run", location="memory")
    saved = replace(
        snapshot,
        sections={**snapshot.sections, section.service: section.model_dump(mode="json")},
        failures={k: v for k, v in snapshot.failures.items() if k != section.service},
    )
    options = TargetOptions("inventory", saved.region, "production", saved=saved)
    result = execute(options, phase=phase, checks=[check]).results[0]
    return result.outcome, [f"{c.subject}: {c.actual}" for c in result.failures]


def _activated(statuses: dict[str, str]) -> tuple[str, list[str]]:
    section = CostExplorerInventory(cost_allocation_tags=statuses)
    return _judged("tags.cost_allocation_active", section)


def test_every_documented_key_active_passes() -> None:
    active = dict.fromkeys(("Environment", "Service", "Project", "CostCenter"), "Active")
    assert _activated(active | {"team": "Inactive"}) == ("passed", [])


def test_a_key_not_yet_activated_fails_naming_it() -> None:
    statuses = dict.fromkeys(("Environment", "Service", "Project"), "Active")
    assert _activated(statuses) == (
        "failed",
        ["cost-allocation tag CostCenter: not a cost-allocation tag yet"],
    )


@pytest.mark.parametrize("phase", [1, 2])
def test_aws_s_default_sampling_rule_alone_is_no_tracing(phase: int) -> None:
    default = SamplingRule(name=DEFAULT_RULE, priority=10000, fixed_rate=0.05, reservoir_size=1)
    assert _judged("absent.tracing", XrayInventory(rules=[default]), phase) == ("passed", [])
