"""Staging and production in one run (``--environment all``): staging's names, one inventory
for both, every result labelled with its environment, a drift failing its environment only."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import UsageError
from conformance.inputs import Inputs, load_inputs
from conformance.spec import load_spec
from tests.conftest import run_suite

PHASE_3 = load_spec(3)


def test_staging_names_follow_the_convention_under_their_own_prefix() -> None:
    staging = Inputs().for_environment("staging")
    assert staging.name("db") == "accountabilityatlas-staging-db"
    assert staging.name("ecs-cluster") == "accountabilityatlas-staging-cluster"
    assert staging.name("sg.alb") == "accountabilityatlas-staging-alb"
    assert staging.domain == "staging.accountabilityatlas.com"


def test_what_the_account_holds_once_keeps_production_s_name_in_staging() -> None:
    inputs = load_inputs(None, ["names.lock-table=locks", "names.ecr.web-app=web"])
    staging = inputs.for_environment("staging")
    for role in ("lock-table", "bucket.tfstate", "ecr.web-app"):
        assert staging.name(role) == inputs.name(role)
    assert staging.name("bucket.static-assets") != inputs.name("bucket.static-assets")


def test_staging_inputs_override_prefix_domain_and_one_name() -> None:
    inputs = load_inputs(
        None,
        ["staging.prefix=aa-stg", "staging.domain=stg.example.org", "staging.names.db=stg-db"],
        PHASE_3.environment("production"),
        PHASE_3.environment("staging"),
    )
    staging = inputs.for_environment("staging")
    assert (staging.name("db"), staging.name("vpc")) == ("stg-db", "aa-stg-vpc")
    assert staging.domain == "stg.example.org"
    assert inputs.name("db") == "accountabilityatlas-db"  # production is untouched


def test_production_does_not_own_staging_s_resources() -> None:
    production, staging = Inputs(), Inputs().for_environment("staging")
    assert production.owns("accountabilityatlas-db")
    assert not production.owns("accountabilityatlas-staging-db")
    assert staging.owns("accountabilityatlas-staging-db")
    assert not staging.owns("accountabilityatlas-db")


def test_one_collection_asks_for_every_environment_s_names() -> None:
    inputs = Inputs().collected(("production", "staging"))
    assert [i.name("ecs-cluster") for i in inputs.each_environment()] == [
        "accountabilityatlas-cluster",
        "accountabilityatlas-staging-cluster",
    ]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["environment=staging"], "--input 'environment=staging': environment: chosen by"),
        (["staging.names.subnet.publc-a=x"], "staging.names.subnet.publc-a: this phase has no"),
        (["staging.names=x"], "give each name as staging.names.ROLE=NAME"),
    ],
)
def test_bad_staging_inputs_are_one_clear_error(given: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_inputs(None, given, PHASE_3.environment("production"), PHASE_3.environment("staging"))


def test_a_phase_with_one_environment_runs_as_before_under_all() -> None:
    """Phase 2 documents production only: ``all`` is production, named as before."""
    listed = run_suite("--phase", "2", "--environment", "all", "--collect-only", "-q")
    assert listed.returncode == 0, listed.stderr
    assert "::rds.instance_class\n" in listed.stdout
    assert "[production]" not in listed.stdout


def test_an_environment_the_phase_lacks_is_a_usage_error() -> None:
    done = run_suite("--phase", "2", "--environment", "staging")
    assert done.returncode == 4
    assert "phase 2 (Growth) documents no 'staging' environment" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], ET.Element, Path]:
    """One conformant run of Phase 3's staging and production: its output, evidence, JUnit and
    evidence directory."""
    out = tmp_path_factory.mktemp("both")
    done = run_suite(
        "--phase",
        "3",
        "--environment",
        "all",
        "--evidence",
        str(out),
        f"--junitxml={out / 'junit.xml'}",
        "-q",
    )
    evidence = json.loads((out / "evidence.json").read_text())
    return done, evidence, ET.parse(out / "junit.xml").getroot(), out


def test_both_environments_pass_in_one_run(both: Any) -> None:
    done, evidence, _, _ = both
    assert done.returncode == 0, done.stdout[-3000:]
    assert evidence["verdict"] == "conformant"
    assert evidence["environments"] == ["production", "staging"]
    assert "phase 3 (Scale) · production + staging" in done.stdout


def test_every_result_is_labelled_by_its_environment_and_unique(both: Any) -> None:
    _, evidence, junit, _ = both
    labels = [r["label"] for r in evidence["results"]]
    assert len(labels) == len(set(labels))
    environments = Counter(r["environment"] for r in evidence["results"])
    assert environments["production"] == environments["staging"] > 0
    assert "rds.instance_class [staging]" in labels
    cases = [c.get("name") for c in junit.iter("testcase")]
    assert len(cases) == len(set(cases)) == len(labels)
    assert "rds.instance_class[staging]" in cases


def test_the_two_environments_share_one_inventory(both: Any) -> None:
    _, evidence, _, _ = both
    calls = evidence["api_calls"]
    assert calls["repeated"] == []
    operations = Counter((c["service"], c["operation"]) for c in calls["calls"])
    assert operations[("rds", "DescribeDBInstances")] == 1


def test_the_saved_inventory_of_both_reproduces_their_outcomes_with_no_call(
    both: Any, tmp_path: Path
) -> None:
    _, evidence, _, directory = both
    again = run_suite(
        "--phase",
        "3",
        "--environment",
        "all",
        "--target",
        "inventory",
        f"--inventory={directory}",
        "--evidence",
        str(tmp_path),
        "-q",
    )
    assert again.returncode == 0, again.stdout[-3000:]
    rechecked = json.loads((tmp_path / "evidence.json").read_text())
    assert rechecked["api_calls"]["count"] == 0

    def outcomes(data: dict[str, Any]) -> dict[str, str]:
        return {r["label"]: r["outcome"] for r in data["results"]}

    assert outcomes(rechecked) == outcomes(evidence)


def test_a_staging_drift_fails_its_checks_in_staging_only(tmp_path: Path) -> None:
    done = run_suite(
        "--phase",
        "3",
        "--environment",
        "all",
        "--drift",
        "rds-class-r6g-large-staging",
        "--evidence",
        str(tmp_path),
        "-q",
    )
    assert done.returncode == 1
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    failed = {r["label"] for r in evidence["results"] if r["outcome"] == "failed"}
    assert failed == {"rds.instance_class [staging]"}


def test_a_drift_of_another_environment_is_refused() -> None:
    done = run_suite(
        "--phase", "3", "--environment", "production", "--drift", "rds-class-r6g-large-staging"
    )
    assert done.returncode == 4
    assert "changes staging: run it with --environment staging (or all)" in done.stderr
