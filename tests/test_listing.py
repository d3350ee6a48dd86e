"""What a new user finds without reading the source: the catalogues, one-line errors on
stderr, and path options written the way every pytest plugin takes them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conformance.checks import load_checks
from conformance.plugin import SPECIFIED_PHASES
from conformance.spec import PHASES, load_spec
from fixtures.drifts import load_catalogue
from tests.conftest import ROOT, free_port, run_module, run_suite

UNREACHABLE = ("--target=localstack", "--endpoint-url=http://127.0.0.1:{port}")


def _unreachable() -> list[str]:
    port = free_port()
    return [option.format(port=port) for option in UNREACHABLE]


def test_list_checks_prints_every_check_with_its_metadata_and_opens_no_target() -> None:
    done = run_suite("--list-checks", *_unreachable())

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    checks = load_checks()
    launch = load_spec(1).environment("production")
    applicable = [c for c in checks.values() if c.area(launch) is not None]
    assert lines[0] == (
        f"{len(checks)} checks, {len(applicable)} of them apply to phase 1 (Launch), production"
    )
    check = checks["sg.ec2_web.no_extra_ingress"]
    (row,) = [i for i, line in enumerate(lines) if line.startswith(check.id + " ")]
    assert lines[row].split(maxsplit=2) == [check.id, check.severity, check.title]
    assert (
        lines[row + 1].strip()
        == "document: Phase 1 — Current Deployment (Launch) > Security Groups"
    )
    assert {line.split()[0] for line in lines[1::2]} == set(checks)
    assert "LocalStack is not running" not in done.stdout + done.stderr  # never opened
    assert "collected" not in done.stdout and done.stderr == ""


def test_list_checks_of_phase_2_says_what_applies_and_where_it_is_documented() -> None:
    done = run_suite("--list-checks", "--phase=2")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    growth = load_spec(2).environment("production")
    applicable = [c for c in load_checks().values() if c.area(growth) is not None]
    assert lines[0].endswith(f", {len(applicable)} of them apply to phase 2 (Growth), production")
    where = {lines[i].split()[0]: lines[i + 1].strip() for i in range(1, len(lines), 2)}
    assert where["ecs.task.cpu"] == "document: Phase 2 — Growth > ECS Task Definitions"
    assert where["nginx.worker_connections"] == (
        "not applicable: phase 2 (production) documents nothing it verifies"
    )
    # A carried value names the phase it was documented in.
    assert where["iac.lock_table"].startswith("document: Phase 1 — ")


def test_list_checks_validates_phase_and_environment_in_one_line() -> None:
    done = run_suite("--list-checks", "--environment", "staging")
    assert done.returncode == 4
    assert done.stdout == ""
    (line,) = [line for line in done.stderr.splitlines() if line]
    assert line.startswith("ERROR: phase 1 (Launch) documents no 'staging' environment")


def test_list_drifts_prints_the_catalogue_with_the_checks_each_kills() -> None:
    done = run_suite("--list-drifts", *_unreachable())

    assert done.returncode == 0, done.stdout + done.stderr
    catalogue = load_catalogue()
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{len(catalogue)} drifts: --drift ID builds")
    assert {line.split()[0] for line in lines[1::2]} == set(catalogue)
    (row,) = [i for i, line in enumerate(lines) if line.startswith("sg-web-extra-port ")]
    drift = catalogue["sg-web-extra-port"]
    assert lines[row].split(maxsplit=5) == [
        "sg-web-extra-port",
        "phase",
        "1",
        "production",
        "aws",
        drift.changes,
    ]
    assert lines[row + 1].strip() == "kills: sg.ec2_web.no_extra_ingress"
    kinds = {line.split()[4] for line in lines[1::2]}
    assert kinds == {"aws", "host", "live", "inventory"}
    assert {line.split()[3] for line in lines[1::2]} == {"production", "staging", "all"}


def test_an_unknown_drift_names_the_closest_ids_and_how_to_list_them() -> None:
    done = run_suite("--drift", "sg-web-extra-prt")
    assert done.returncode == 4
    (line,) = [line for line in done.stderr.splitlines() if line]
    assert line.startswith("ERROR: unknown drift id 'sg-web-extra-prt'; closest: sg-web-extra-port")
    assert line.endswith("; --list-drifts lists them all")


def test_help_offers_only_the_phases_that_have_a_spec() -> None:
    assert (
        tuple(
            int(p.stem.removeprefix("phase-"))
            for p in sorted((ROOT / "specs").glob("phase-*.yaml"))
        )
        == SPECIFIED_PHASES
    )
    done = run_suite("--help")
    assert done.returncode == 0
    phases = "{" + ",".join(map(str, SPECIFIED_PHASES)) + "}"
    assert f"--phase={phases}" in done.stdout
    assert "--list-checks" in done.stdout and "--list-drifts" in done.stdout


def test_a_phase_the_document_lacks_is_one_line_on_stderr() -> None:
    done = run_suite("--phase", str(max(PHASES) + 1))
    assert done.returncode == 4 and done.stdout == ""
    (line,) = [line for line in done.stderr.splitlines() if line]
    assert line == f"ERROR: unknown phase {max(PHASES) + 1}: the document has phases 1, 2, 3 and 4"


def test_an_unreachable_target_is_one_line_on_stderr_not_a_pytest_exit_banner() -> None:
    options = _unreachable()
    done = run_suite(*options)

    assert done.returncode == 6
    url = options[1].removeprefix("--endpoint-url=")
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"conformance: LocalStack is not running at {url} (GET")
    assert "_pytest.outcomes.Exit" not in done.stdout + done.stderr
    assert "! conformance:" not in done.stdout
    assert "verdict: not conformant" in done.stdout  # the report stays on stdout


def test_path_options_take_the_space_form_without_moving_the_rootdir(tmp_path: Path) -> None:
    """``--nginx-conf /elsewhere/nginx.conf``: pytest picks its rootdir from the command line's
    paths before it knows the option; the plugin makes the choice again from the real ones."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ROOT / "fixtures" / "host" / "nginx.conf", elsewhere / "nginx.conf")
    evidence = tmp_path / "out"
    evidence.mkdir()  # an existing directory is a path too

    done = run_suite(
        "--nginx-conf", str(elsewhere / "nginx.conf"), "--evidence", str(evidence), "-k", "nginx"
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert f"rootdir: {ROOT}" in done.stdout
    assert "configfile: pytest.ini" in done.stdout
    results = json.loads((evidence / "evidence.json").read_text())["results"]
    assert results and all(r["id"].startswith("nginx.") for r in results)
    assert all(r["outcome"] == "passed" for r in results)


def test_summary_accepts_an_evidence_directory_as_diff_does(tmp_path: Path) -> None:
    done = run_suite("-k", "net.vpc", f"--evidence={tmp_path}")
    assert done.returncode == 0, done.stdout[-3000:]
    summary = run_module("conformance", "summary", "--check", str(tmp_path))
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith("## Conformance: conformant")


def test_the_checkout_runs_with_its_conftest_when_entry_points_are_off(tmp_path: Path) -> None:
    """The root conftest.py and the entry points name the same modules: loaded once either way."""
    for env in ({}, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}):
        done = run_suite("-k", "net.vpc", f"--evidence={tmp_path}", env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        assert "verdict: conformant" in done.stdout
