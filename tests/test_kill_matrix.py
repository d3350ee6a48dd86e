"""Every check can fail: each drift fails exactly its checks, and every check has a drift.

Run for every phase with a spec, on every environment it documents at once (``--environment
all``): the conformant reference of a phase passes every check that applies to each environment
(the others are skipped as not applicable, or as not verifiable on moto, never passed), and a
drift of that phase fails exactly its checks, in its environment only. An inventory drift, for a
value moto cannot hold, is applied to the inventory of the conformant reference and checked
through ``--target inventory``. Results are (check id, environment) pairs."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest

from conformance.aws import CallLog, Clients
from conformance.checks import NOT_APPLICABLE, Run, load_checks, run_all
from conformance.host import LIVE_PREFIXES, HostTargets
from conformance.inputs import Inputs
from conformance.inventory import Inventory, SavedSnapshot
from conformance.runner import Outcome, execute
from conformance.spec import PHASES, load_spec, spec_path
from conformance.targets import FAKE_CREDENTIALS, TargetOptions
from fixtures.drifts import aws_unchanged, load_catalogue
from fixtures.host import HostReference

CHECKS = load_checks()
CATALOGUE = load_catalogue()
# Checks of running services are killed against real servers in tests/test_host_live.py.
STATIC = {c for c in CHECKS if not c.startswith(LIVE_PREFIXES)}
HOST_FILES = {c for c in STATIC if CHECKS[c].module.startswith("specs.checks.host_")}
SPECIFIED = tuple(p for p in PHASES if spec_path(p).exists())


Key = tuple[str, str]  # (check id, environment)


def _applicable(phase: int) -> set[Key]:
    """The static checks that apply to each environment of the phase."""
    spec = load_spec(phase)
    return {
        (c, name)
        for name, env in spec.environments.items()
        for c in STATIC
        if CHECKS[c].area(env) is not None
    }


APPLICABLE = {phase: _applicable(phase) for phase in SPECIFIED}


def _killed(drift_id: str, phase: int) -> set[Key]:
    """What the drift fails in ``phase``: those of its checks the phase documents, in its
    environment (or in every one). A drift of several phases may name a check one of them lacks
    (recreating the ALB also drops Phase 3's web ACL)."""
    drift = CATALOGUE[drift_id]
    return {
        (c, env)
        for c, env in APPLICABLE[phase]
        if c in drift.kills and drift.environment in ("all", env)
    }


def _embedded(drift: str | None = None, phase: int = 1) -> Outcome:
    """The moto reference of ``phase``, with the reference host files beside it."""
    return _with_host_files(TargetOptions("moto", "us-east-1", "all", drift=drift), phase)


def _with_host_files(options: TargetOptions, phase: int) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        nginx, compose = HostReference.load().write(Path(tmp))
        host = HostTargets(nginx_conf=nginx, compose_file=compose)
        return execute(options, phase=phase, host=host)


@cache
def _conformant(phase: int) -> Outcome:
    return _embedded(phase=phase)


def _saved(drift: str | None, phase: int) -> Outcome:
    """The inventory of the conformant reference of ``phase``, with ``drift`` applied to it,
    checked through ``--target inventory`` (the reference host files beside it)."""
    saved = SavedSnapshot.of(
        _conformant(phase).snapshot,
        origin=f"the conformant phase-{phase} reference",
        location="the kill-matrix",
    )
    options = TargetOptions("inventory", saved.region, "all", drift=drift, saved=saved)
    return _with_host_files(options, phase)


def _host_files(drift_id: str) -> Outcome:
    """The host-file checks on drifted files. A host drift builds the AWS reference unchanged
    (``aws_unchanged``), so the AWS checks' outcomes are those of the conformant run."""
    drift = CATALOGUE[drift_id]
    assert drift.host is not None and drift.apply is aws_unchanged
    reference = HostReference.load()
    drift.host(reference)
    inputs = Inputs()
    clients = Clients("us-east-1", session=boto3.Session(**FAKE_CREDENTIALS))  # never called
    with tempfile.TemporaryDirectory() as tmp:
        nginx, compose = reference.write(Path(tmp))
        host = HostTargets(nginx_conf=nginx, compose_file=compose)
        run = Run(load_spec(1), "production", inputs, Inventory(clients, inputs), "files", host)
        return Outcome(run_all(run, [CHECKS[c] for c in HOST_FILES]), CallLog(), {})


def _summary(outcome: Outcome) -> str:
    return "\n".join(r.describe() for r in outcome.results if r.outcome != "passed")


def _unverifiable(outcome: Outcome) -> set[Key]:
    """What moto cannot report (a field it omits, a service it does not serve): skipped with
    that reason, never passed; an inventory drift kills each such check."""
    return {
        (r.check.id, r.environment)
        for r in outcome.results
        if r.outcome == "skipped" and not r.message.startswith(NOT_APPLICABLE)
    }


@pytest.mark.parametrize("phase", SPECIFIED)
def test_conformant_reference_passes_every_check(phase: int) -> None:
    conformant = _conformant(phase)
    verified = APPLICABLE[phase] - _unverifiable(conformant)
    assert conformant.keys("passed") == verified, _summary(conformant)
    not_applicable = {
        (r.check.id, r.environment)
        for r in conformant.results
        if (r.check.id, r.environment) not in APPLICABLE[phase] and r.check.id in STATIC
    }
    assert conformant.keys("skipped") >= not_applicable


@pytest.mark.parametrize("phase", SPECIFIED)
def test_conformant_reference_passes_every_check_through_its_saved_inventory(phase: int) -> None:
    """What the inventory drifts start from: the saved inventory alone passes what moto did."""
    saved = _saved(None, phase)
    assert saved.calls.calls == []
    assert saved.keys("passed") == _conformant(phase).keys("passed"), _summary(saved)


def _cases() -> list[Any]:
    """Each drift on each phase it applies to (named ``drift`` for phase 1, ``drift@N`` else)."""
    return [
        pytest.param(d, phase, id=d if phase == 1 else f"{d}@{phase}")
        for d in sorted(CATALOGUE)
        if CATALOGUE[d].kills & STATIC
        for phase in CATALOGUE[d].phases
    ]


@pytest.mark.parametrize(("drift_id", "phase"), _cases())
def test_drift_fails_exactly_its_checks(drift_id: str, phase: int) -> None:
    drift = CATALOGUE[drift_id]
    if drift.host:
        outcome = _host_files(drift_id)
    elif drift.inventory:
        outcome = _saved(drift_id, phase)
    else:
        outcome = _embedded(drift_id, phase)
    if drift.host:
        assert outcome.ids("failed") == drift.kills & STATIC, _summary(outcome)
        assert outcome.ids("passed") == HOST_FILES - drift.kills, _summary(outcome)
        return
    checked = APPLICABLE[phase] - _unverifiable(_conformant(phase))
    assert outcome.keys("failed") == _killed(drift_id, phase), _summary(outcome)
    assert outcome.keys("passed") == checked - _killed(drift_id, phase), _summary(outcome)


@pytest.mark.parametrize("phase", SPECIFIED)
def test_every_check_of_a_phase_is_killed_by_a_drift_of_that_phase(phase: int) -> None:
    """In every environment the phase documents: a staging check is killed by a staging drift."""
    killed: set[Key] = set().union(
        *(_killed(d.id, phase) for d in CATALOGUE.values() if phase in d.phases)
    )
    assert sorted(APPLICABLE[phase] - killed) == []
    # A running service's check that a later phase still documents (Phase 2 keeps the database's
    # extensions) reads the same option the same way: its live drift, run against the real
    # server in tests/test_host_live.py, kills it in every phase.
    env = load_spec(phase).environment("production")
    live = {c for c in CHECKS if c.startswith(LIVE_PREFIXES) and CHECKS[c].area(env) is not None}
    live_killed = set().union(*(d.kills for d in CATALOGUE.values() if d.host is not None))
    assert sorted(live - live_killed) == []


def test_every_check_is_killed_by_a_drift() -> None:
    killed: set[str] = set().union(*(d.kills for d in CATALOGUE.values()))
    assert sorted(set(CHECKS) - killed) == []


def test_drifts_name_only_real_checks() -> None:
    named: dict[str, Any] = {d.id: d.kills - set(CHECKS) for d in CATALOGUE.values()}
    assert {k: v for k, v in named.items() if v} == {}
