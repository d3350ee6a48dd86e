"""Declared value checks: the same ids, metadata and evidence as the functions they replaced,
and each one killed by changing its documented value.

``tests/data/declared_golden.json`` holds the results (``Result.as_json()``) of every AWS check,
written from the hand-written checks before they became declarations, for the conformant
reference and for every AWS drift of the catalogue (a drift keeps only the results that differ
from the conformant run's). Ids that moto makes up anew in each build are masked.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Any

import pytest

from conformance.aws import CallLog
from conformance.checks import UNVERIFIABLE, Check, Run, load_checks
from conformance.declared import (
    AT_LEAST,
    CONTAINS,
    DECLARED,
    EQUALS,
    MATCHES,
    SAME_NETWORK,
    Compare,
    documented,
)
from conformance.inputs import Inputs
from conformance.inventory import Inventory
from conformance.runner import execute
from conformance.spec import PHASES as ALL_PHASES
from conformance.spec import EnvironmentSpec, load_spec, spec_path
from conformance.targets import TargetOptions, open_target
from fixtures.drifts import load_catalogue

CHECKS = load_checks()  # registers the declared checks in DECLARED too
GOLDEN = Path(__file__).parent / "data" / "declared_golden.json"
CONFORMANT = "(conformant)"
# Ids moto draws at random in every build: EC2 ids, Route 53 zone ids, Elastic IP addresses.
MOTO_IDS = (
    (
        re.compile(r"\b(i|vpc|subnet|sg|eipalloc|eipassoc|nat|igw|rtb|eni|acl)-[0-9a-f]{8,17}\b"),
        r"\1-*",
    ),
    (re.compile(r"\b[A-Z0-9]{20,}\b"), "ZONE"),
    (re.compile(r"\b(\d{1,3}\.){3}\d{1,3}\b(?!/)"), "IP"),
)


PHASES = tuple(p for p in ALL_PHASES if spec_path(p).exists())
LAUNCH = load_spec(1).environment("production")


def _aws_checks() -> list[Check[Any]]:
    """The Phase 1 AWS checks (the golden's): later phases' checks do not apply to Phase 1."""
    return [
        c
        for c in CHECKS.values()
        if not c.module.startswith("specs.checks.host_") and c.area(LAUNCH) is not None
    ]


def first_phase(check_id: str) -> int:
    """The first phase that documents the declared check's field."""
    field = DECLARED[check_id].field
    return next(p for p in PHASES if documented(load_spec(p).environment("production"), field))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        for pattern, replacement in MOTO_IDS:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def results(drift: str | None) -> dict[str, Any]:
    """Every AWS check's result on the embedded reference (with ``drift``), by check id."""
    options = TargetOptions("moto", "us-east-1", "production", drift=drift)
    outcome = execute(options, checks=_aws_checks())
    return {r.check.id: _masked(r.as_json()) for r in outcome.results}


def aws_drifts() -> list[str]:
    return sorted(d.id for d in load_catalogue().values() if d.kind() == "aws" and 1 in d.phases)


def declared_drifts() -> list[str]:
    """The AWS drifts that kill a declared check: the cases that exercise the mechanism (the
    golden holds every drift, written once when the checks became declarations; the kill-matrix
    already runs every drift, so running all of them here again would only repeat it)."""
    catalogue = load_catalogue()
    return [d for d in aws_drifts() if set(catalogue[d].kills) & DECLARED.keys()]


def write_golden() -> None:
    """Written once, by the code before the change: ``python -c 'import tests.test_declared as
    t; t.write_golden()'``. Rewrite it the same way only when evidence changes on purpose (or a
    drift is added), and read the diff."""
    conformant = results(None)
    golden: dict[str, Any] = {CONFORMANT: conformant}
    for drift in aws_drifts():
        drifted = results(drift)
        golden[drift] = {k: v for k, v in drifted.items() if conformant.get(k) != v}
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")


# --- The same results as the hand-written checks gave --------------------------------------


@pytest.mark.parametrize("drift", [CONFORMANT, *declared_drifts()])
def test_results_are_those_of_the_hand_written_checks(drift: str) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert drift in golden, f"{GOLDEN.name} has no results for {drift}: see write_golden()"
    expected = golden[CONFORMANT] | golden[drift]
    actual = results(None if drift == CONFORMANT else drift)
    changed = {k: (expected.get(k), actual.get(k)) for k in expected.keys() | actual.keys()}
    assert {k: v for k, v in changed.items() if v[0] != v[1]} == {}


# --- Every declared check fails when its documented value changes --------------------------


@pytest.fixture(scope="module")
def reference(request: pytest.FixtureRequest) -> Iterator[Run]:
    """The conformant reference of a phase (1 unless parametrized), its inventory collected on
    demand while the mock is open."""
    phase = getattr(request, "param", 1)
    options = TargetOptions("moto", "us-east-1", "production")
    spec, inputs = load_spec(phase), Inputs()
    with open_target(options, spec, inputs, CallLog()) as clients:
        yield Run(spec, "production", inputs, Inventory(clients, inputs), options.describe())


def _changed(value: Any) -> Any:
    """A value other than ``value``, of its kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, IPv4Network):
        return next(
            n for n in (ip_network("192.0.2.0/24"), ip_network("198.51.100.0/24")) if n != value
        )
    return f"{value}-changed"


def _replaced(node: Any, parts: list[str], change: Callable[[Any], Any]) -> Any:
    """``node`` (frozen spec models and mappings) with ``change`` applied at the dotted path."""
    if not parts:
        return node.model_copy(update={"value": change(node.value)})
    head, rest = parts[0], parts[1:]
    if head == "*":
        return {key: _replaced(item, rest, change) for key, item in node.items()}
    if isinstance(node, dict):
        return {**node, head: _replaced(node[head], rest, change)}
    return node.model_copy(update={head: _replaced(getattr(node, head), rest, change)})


def _with_env(run: Run, env: EnvironmentSpec) -> Run:
    spec = run.spec.model_copy(
        update={"environments": {**run.spec.environments, run.environment: env}}
    )
    return replace(run, spec=spec)


@pytest.mark.parametrize(
    ("reference", "check_id"),
    sorted((first_phase(c), c) for c in DECLARED),
    indirect=["reference"],
)
def test_declared_check_fails_when_its_documented_value_changes(
    reference: Run, check_id: str
) -> None:
    check = CHECKS[check_id]
    conformant = check.run(reference)
    if conformant.outcome == "skipped" and conformant.message.startswith(UNVERIFIABLE):
        pytest.skip(f"moto cannot hold it ({conformant.message}); its inventory drifts kill it")
    assert conformant.outcome == "passed", conformant.describe()
    env = _replaced(reference.env, DECLARED[check_id].field.split("."), _changed)
    drifted = check.run(_with_env(reference, env))
    assert drifted.outcome == "failed", drifted.describe()
    # Each failure names the document section of the value that changed.
    sections = {stated.section for _, stated in documented(env, DECLARED[check_id].field)}
    assert drifted.failures and {c.section for c in drifted.failures} <= sections


def test_phase_1_declares_its_simple_values() -> None:
    declared = {c.id for c in _aws_checks() if c.id in DECLARED}
    assert declared == {
        "net.vpc.cidr",
        "net.subnet.cidr",
        "net.subnet.az",
        "net.subnet.tier",
        "net.subnet.public_ip",
        "ec2.instance.type",
        "rds.engine",
        "rds.instance_class",
        "rds.storage.size",
        "rds.storage.type",
        "rds.multi_az",
        "rds.backup_retention",
        "rds.performance_insights",
        "rds.publicly_accessible",
        "iac.lock_table",
        "ci.oidc_provider",
    }


# --- The mechanism ------------------------------------------------------------------------


def test_an_undocumented_field_is_not_applicable(reference: Run) -> None:
    assert reference.env.database is not None
    database = reference.env.database.model_copy(update={"publicly_accessible": None})
    run = _with_env(reference, reference.env.model_copy(update={"database": database}))
    result = CHECKS["rds.publicly_accessible"].run(run)
    assert (result.outcome, result.message.split(":")[0]) == ("skipped", "not applicable")


def test_a_star_compares_every_item_and_names_it(reference: Run) -> None:
    result = CHECKS["net.subnet.az"].run(reference)
    assert reference.env.network is not None
    roles = list(reference.env.network.subnets)
    assert [c.subject.split(" ")[1] for c in result.comparisons] == roles
    assert all(c.subject.startswith("subnet ") for c in result.comparisons)


def test_a_missing_resource_says_what_was_looked_for(reference: Run) -> None:
    run = replace(reference, inputs=reference.inputs.model_copy(update={"names": {"db": "gone"}}))
    result = CHECKS["rds.instance_class"].run(run)
    assert result.outcome == "failed"
    assert result.comparisons[0].subject == "an RDS DB instance gone"


def test_a_declared_check_is_reported_at_its_declaration() -> None:
    check = CHECKS["rds.multi_az"]
    path = Path(str(sys.modules[check.module].__file__))
    line = path.read_text().splitlines()[check.line - 1]
    assert (path.name, line.strip()) == ("database.py", '"rds.multi_az",')
    assert check.module == "specs.checks.database"


@pytest.mark.parametrize(
    ("compare", "actual", "expected", "holds", "shown"),
    [
        (EQUALS, "db.t3.micro", "db.t3.micro", True, "db.t3.micro"),
        (EQUALS, 20, 50, False, 50),
        (SAME_NETWORK, "10.0.0.0/16", ip_network("10.0.0.0/16"), True, ip_network("10.0.0.0/16")),
        (SAME_NETWORK, "10.1.0.0/16", ip_network("10.0.0.0/16"), False, ip_network("10.0.0.0/16")),
        (AT_LEAST, 3, 2, True, "at least 2"),
        (AT_LEAST, 1, 2, False, "at least 2"),
        (AT_LEAST, None, 2, False, "at least 2"),
        (CONTAINS, ["sts.amazonaws.com"], "sts.amazonaws.com", True, "includes sts.amazonaws.com"),
        (CONTAINS, [], "sts.amazonaws.com", False, "includes sts.amazonaws.com"),
        (MATCHES, "/actuator/health", r"/actuator/\w+", True, r"matches /actuator/\w+"),
        (MATCHES, "/actuator/health/x", r"/actuator/\w+", False, r"matches /actuator/\w+"),
        (MATCHES, None, r".*", False, "matches .*"),
    ],
)
def test_comparisons(compare: Compare, actual: Any, expected: Any, holds: bool, shown: Any) -> None:
    assert (compare.holds(actual, expected), compare.shown(expected)) == (holds, shown)


def test_documented_walks_mappings_and_skips_absent_groups(reference: Run) -> None:
    keys = [key for key, _ in documented(reference.env, "network.subnets.*.cidr")]
    assert reference.env.network is not None
    assert keys == list(reference.env.network.subnets)
    assert documented(reference.env, "ecs.services.*.cpu") == []
    assert documented(reference.env, "database.instance_class")[0][0] == ""
