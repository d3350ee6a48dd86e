"""The kill-matrix of ``--target iac``: each IaC drift (fixtures/iac/drifts.py), an edit of the
Phase 1 configuration, fails exactly its checks; the configuration as written fails none, and
every check it lets the target verify before apply is failed by at least one drift.

The host's files (``--nginx-conf``, ``--compose-file``) are not given. No edit of the
configuration changes them, the host-file checks read the given files the same way whatever the
target, and the host drifts of tests/test_kill_matrix.py kill them; here they are skipped as
"... not given", as are the checks of running host services."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from conformance.checks import BEFORE_APPLY, NOT_APPLICABLE, load_checks
from conformance.errors import UsageError
from conformance.host import LIVE_PREFIXES
from conformance.iac.target import read_source
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions
from fixtures.iac.drifts import CATALOGUE, REFERENCE, Edit, IacDrift

CHECKS = load_checks()
HOST = {
    c
    for c in CHECKS
    if c.startswith(LIVE_PREFIXES) or CHECKS[c].module.startswith("specs.checks.host_")
}


def _iac(directory: Path) -> Outcome:
    """Every check of Phase 1's production through ``--target iac --iac-dir=DIRECTORY``."""
    source = read_source("iac", None, directory, [], None)
    assert source is not None
    return execute(TargetOptions("iac", source.region or "us-east-1", "production", source=source))


@cache
def _conformant() -> Outcome:
    return _iac(REFERENCE)


def _verified() -> set[str]:
    """The checks the configuration as written passes: what the target verifies before apply."""
    return _conformant().ids("passed")


def _summary(outcome: Outcome) -> str:
    return "\n".join(r.describe() for r in outcome.results if r.outcome in ("failed", "error"))


def test_the_configuration_passes_and_says_why_it_cannot_judge_the_rest() -> None:
    conformant = _conformant()
    assert conformant.ids("failed") | conformant.ids("error") == set(), _summary(conformant)
    unexplained = {
        r.check.id: r.message
        for r in conformant.results
        if r.outcome == "skipped"
        and not (
            r.message.endswith(" not given")
            if r.check.id in HOST
            else r.message.startswith((BEFORE_APPLY, NOT_APPLICABLE))
        )
    }
    assert unexplained == {}
    assert not HOST & _verified()


@pytest.mark.parametrize("drift_id", sorted(CATALOGUE))
def test_iac_drift_fails_exactly_its_checks(drift_id: str, tmp_path: Path) -> None:
    drift = CATALOGUE[drift_id]
    outcome = _iac(drift.copy(REFERENCE, tmp_path / "phase-1"))
    assert outcome.ids("failed") == drift.kills, _summary(outcome)
    assert outcome.ids("error") == set(), _summary(outcome)
    assert outcome.ids("passed") == _verified() - drift.kills, _summary(outcome)


def test_every_check_verifiable_before_apply_is_killed_by_an_iac_drift() -> None:
    killed: set[str] = set().union(*(d.kills for d in CATALOGUE.values()))
    assert sorted(_verified() - killed) == []


def test_iac_drifts_name_only_real_checks() -> None:
    named = {d.id: sorted(d.kills - set(CHECKS)) for d in CATALOGUE.values()}
    assert {k: v for k, v in named.items() if v} == {}


def test_every_edit_finds_the_text_it_replaces_once(tmp_path: Path) -> None:
    """Applied in turn to one copy, each drift's edits find their text (else the drift raises)
    and change the file they name."""
    for drift in CATALOGUE.values():
        copy = drift.copy(REFERENCE, tmp_path / drift.id)
        for edit in drift.edits:
            assert (copy / edit.file).read_text() != (REFERENCE / edit.file).read_text(), drift.id


def test_an_edit_whose_text_is_gone_names_the_drift(tmp_path: Path) -> None:
    stale = IacDrift(
        "iac-stale",
        "a value the configuration no longer holds",
        frozenset(),
        (Edit("database.tf", '"db.t2.micro"', '"db.t3.micro"'),),
    )
    with pytest.raises(UsageError, match=r"IaC drift iac-stale: database.tf holds .* 0 times"):
        stale.copy(REFERENCE, tmp_path / "phase-1")
