"""Every check can fail: each drift fails exactly its checks, and every check has a drift."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import load_checks
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions
from fixtures.drifts import load_catalogue

CHECKS = load_checks()
CATALOGUE = load_catalogue()


def _embedded(drift: str | None = None) -> Outcome:
    return execute(TargetOptions("moto", "us-east-1", "production", drift=drift))


def _summary(outcome: Outcome) -> str:
    return "\n".join(r.describe() for r in outcome.results if r.outcome != "passed")


@pytest.fixture(scope="module")
def conformant() -> Outcome:
    return _embedded()


def test_conformant_reference_passes_every_check(conformant: Outcome) -> None:
    assert conformant.ids("passed") == set(CHECKS), _summary(conformant)


@pytest.mark.parametrize("drift_id", sorted(CATALOGUE))
def test_drift_fails_exactly_its_checks(drift_id: str) -> None:
    drift = CATALOGUE[drift_id]
    outcome = _embedded(drift_id)
    assert outcome.ids("failed") == drift.kills, _summary(outcome)
    assert outcome.ids("passed") == set(CHECKS) - drift.kills, _summary(outcome)


def test_every_check_is_killed_by_a_drift() -> None:
    killed: set[str] = set().union(*(d.kills for d in CATALOGUE.values()))
    assert sorted(set(CHECKS) - killed) == []


def test_drifts_name_only_real_checks() -> None:
    named: dict[str, Any] = {d.id: d.kills - set(CHECKS) for d in CATALOGUE.values()}
    assert {k: v for k, v in named.items() if v} == {}
