"""``--target inventory``: the checks re-run on the inventory an earlier run saved in its evidence,
with no AWS client at all, reproduce that run's outcomes; what the snapshot lacks or no longer
fits is said per check, and a file that is not a saved inventory is one usage error."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from conformance.host import HostTargets
from conformance.inventory import SavedSnapshot
from conformance.runner import Outcome, execute
from conformance.targets import TargetOptions
from fixtures.host import COMPOSE_FILE, NGINX_CONF, HostReference
from tests.conftest import run_suite

# Any AWS client or request the inventory target made would fail loudly with these.
NO_AWS = {"AWS_PROFILE": "no-such-profile", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}


# The embedded reference's own host files: they are not in the AWS inventory, so a re-check
# names them as every run outside the embedded target does.
HOST_FILES = [f"--nginx-conf={NGINX_CONF}", f"--compose-file={COMPOSE_FILE}"]


def _evidence(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "evidence.json").read_text())
    return data


def _outcomes(data: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each check's outcome, message, section and comparisons (in any order: the tag checks
    list the sections' resources in the order their modules were imported)."""
    return {
        r["id"]: (
            r["outcome"],
            r["message"],
            r["section"],
            sorted(json.dumps(c, sort_keys=True) for c in r["comparisons"]),
        )
        for r in data["results"]
    }


@pytest.mark.parametrize(
    ("phase", "drift"),
    [(1, None), (1, "sg-web-extra-port"), (2, None), (2, "cache-t3-small")],
)
def test_a_saved_evidence_reproduces_every_outcome_with_no_api_call(
    phase: int, drift: str | None, tmp_path: Path
) -> None:
    drifted = ["--drift", drift] if drift else []
    first = run_suite(f"--phase={phase}", *drifted, f"--evidence={tmp_path / 'first'}")
    assert first.returncode == (1 if drift else 0), first.stdout + first.stderr
    again = run_suite(
        f"--phase={phase}",
        "--target",
        "inventory",
        f"--inventory={tmp_path / 'first'}",
        *HOST_FILES,
        f"--evidence={tmp_path / 'again'}",
        env=NO_AWS,
    )
    assert again.returncode == first.returncode, again.stdout + again.stderr
    original, rechecked = _evidence(tmp_path / "first"), _evidence(tmp_path / "again")
    assert _outcomes(rechecked) == _outcomes(original)
    assert rechecked["api_calls"]["count"] == rechecked["api_calls"]["sent"] == 0
    source = f"inventory of run {original['run_id']} in {tmp_path / 'first' / 'evidence.json'}"
    assert rechecked["target"].startswith(source)
    assert f"target {source}" in again.stdout
    assert "AWS API calls: 0" in again.stdout


def _checked(options: TargetOptions, phase: int = 1) -> Outcome:
    """Every check on ``options``' target, with the reference host files beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        nginx, compose = HostReference.load().write(Path(tmp))
        host = HostTargets(nginx_conf=nginx, compose_file=compose)
        return execute(options, phase=phase, host=host)


@pytest.fixture(scope="module")
def reference() -> Outcome:
    """The conformant Phase 1 reference, checked in moto."""
    return _checked(TargetOptions("moto", "us-east-1", "production"))


def _saved(inventory: dict[str, Any], drift: str | None = None) -> Outcome:
    saved = SavedSnapshot.of(inventory, origin="run R", location="a test")
    return _checked(
        TargetOptions("inventory", saved.region, "production", drift=drift, saved=saved)
    )


def _by_id(outcome: Outcome) -> dict[str, tuple[str, str]]:
    return {r.check.id: (r.outcome, r.message) for r in outcome.results}


@pytest.fixture
def no_aws_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Building any botocore client (the first step of every AWS call) fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"an AWS client was built: {args[1:2]}")

    monkeypatch.setattr(botocore.session.Session, "create_client", refuse)
    yield


def test_the_inventory_target_builds_no_aws_client(reference: Outcome, no_aws_client: None) -> None:
    rechecked = _saved(reference.snapshot)
    assert rechecked.calls.calls == [] and rechecked.calls.refused == []
    assert _by_id(rechecked) == _by_id(reference)
    assert rechecked.snapshot == reference.snapshot


def test_a_section_the_saved_run_did_not_collect_skips_its_checks_saying_so(
    reference: Outcome, no_aws_client: None
) -> None:
    inventory = copy.deepcopy(reference.snapshot)
    del inventory["sections"]["sqs"]
    outcomes = _by_id(_saved(inventory))
    reason = "the saved inventory of run R has no sqs section (that run did not collect it)"
    lacking = {c for c, (outcome, message) in outcomes.items() if message == reason}
    assert {"sqs.queues.present", "tags.project"} <= lacking
    assert all(outcomes[c][0] == "skipped" for c in lacking)
    assert outcomes["rds.instance_class"] == ("passed", "")


@pytest.mark.parametrize(("kind", "outcome"), [("denied", "error"), ("unsupported", "skipped")])
def test_a_section_the_saved_run_could_not_collect_keeps_its_failure(
    reference: Outcome, kind: str, outcome: str
) -> None:
    inventory = copy.deepcopy(reference.snapshot)
    del inventory["sections"]["rds"]
    message = "access denied to rds:DescribeDBInstances (grant it to the conformance role): no"
    inventory["failures"]["rds"] = {"service": "rds", "kind": kind, "message": message}
    rechecked = _saved(inventory)
    assert _by_id(rechecked)["rds.instance_class"] == (outcome, message)
    assert rechecked.snapshot["failures"]["rds"]["kind"] == kind


def test_a_section_saved_by_an_older_model_is_its_checks_error(reference: Outcome) -> None:
    inventory = copy.deepcopy(reference.snapshot)
    for instance in inventory["sections"]["rds"]["instances"]:
        del instance["performance_insights"]
    outcome, message = _by_id(_saved(inventory))["rds.instance_class"]
    assert outcome == "error"
    assert message == (
        "the saved inventory of run R: its rds section does not fit the current model "
        "(instances.0.performance_insights: Field required); collect it again"
    )


def test_an_inventory_drift_changes_only_the_copy_it_checks(reference: Outcome) -> None:
    drifted = _saved(reference.snapshot, drift="rds-performance-insights-on-saved")
    assert drifted.ids("failed") == {"rds.performance_insights"}
    database = reference.snapshot["sections"]["rds"]["instances"][0]
    assert database["performance_insights"] is None  # moto does not report it


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The evidence of a Phase 1 run of the RDS checks only: its inventory has no other section."""
    directory = tmp_path_factory.mktemp("saved")
    done = run_suite("-k", "rds", f"--evidence={directory}")
    assert done.returncode == 0, done.stdout + done.stderr
    return directory / "evidence.json"


def test_an_inventory_drift_on_the_command_line_fails_its_check(saved_run: Path) -> None:
    done = run_suite(
        "--target=inventory",
        f"--inventory={saved_run}",
        "--drift=rds-performance-insights-on-saved",
        "-k",
        "rds",
        env=NO_AWS,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED specs/checks/database.py::rds.performance_insights" in done.stdout
    assert " 1 failed" in done.stdout.splitlines()[-1]
    assert "with drift rds-performance-insights-on-saved" in done.stdout


def test_checks_of_sections_the_saved_run_lacks_are_skipped_with_its_run_id(
    saved_run: Path,
) -> None:
    done = run_suite(
        "--target=inventory", f"--inventory={saved_run}", "-k", "sqs or rds", "-rs", env=NO_AWS
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = json.loads(saved_run.read_text())["run_id"]
    assert f"the saved inventory of run {run_id} has no sqs section" in done.stdout


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def _evidence_with(inventory: object) -> str:
    return json.dumps({"run_id": "r1", "results": [], "inventory": inventory})


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("not json", [], "not an evidence file: Expecting value"),
        (json.dumps({"sections": {}}), [], "not an evidence file (no list of 'results')"),
        (_evidence_with(None), [], "run r1 recorded no inventory"),
        (_evidence_with({"region": "us-east-1", "sections": [], "failures": {}}), [], "sections"),
        (
            _evidence_with({"region": "us-east-1", "sections": {}, "failures": {"rds": 1}}),
            [],
            "not an inventory snapshot (a failure:",
        ),
        (
            _evidence_with({"region": "us-east-1", "sections": {}, "failures": {}}),
            ["--region=eu-west-1"],
            "is of us-east-1",
        ),
        (
            _evidence_with({"region": "us-east-1", "sections": {}, "failures": {}}),
            ["--endpoint-url=http://127.0.0.1:9"],
            "do not apply to --target inventory",
        ),
        (
            _evidence_with({"region": "us-east-1", "sections": {}, "failures": {}}),
            ["--drift=sg-web-extra-port"],
            "builds the embedded reference",
        ),
    ],
)
def test_a_file_that_is_not_a_saved_inventory_is_one_usage_error(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    path = _write(tmp_path, "evidence.json", content)
    done = run_suite("--target=inventory", f"--inventory={path}", *args)
    assert done.returncode == 4, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target=inventory"], "--target inventory needs --inventory=PATH"),
        (["--inventory=x.json"], "--inventory applies to --target inventory only"),
        (["--drift=rds-performance-insights-on-saved"], "applies to --target inventory"),
    ],
)
def test_the_inventory_options_go_together(args: list[str], message: str) -> None:
    done = run_suite(*args)
    assert done.returncode == 4, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_list_drifts_names_the_inventory_drifts() -> None:
    done = run_suite("--list-drifts")
    rows = [line.split(maxsplit=5) for line in done.stdout.splitlines()]
    assert ["rds-performance-insights-on-saved", "phase", "1,2", "production", "inventory"] in [
        row[:5] for row in rows
    ]
