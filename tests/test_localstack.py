"""The suite against a real LocalStack in host mode (no Docker), started by localstack/host.py.

One LocalStack per test module (per xdist worker) on a free loopback port; every scenario
restarts it for a clean state, then provisions either through the init hook the Docker set-up
uses (``start --phase 1``) or with ``python -m fixtures.provision --drift``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.aws import CallLog
from conformance.checks import Check, CheckContext, Comparison, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import CollectionFailure, Inventory, NotCollected
from conformance.inventory.elbv2 import Elbv2Inventory
from conformance.localstack import endpoint_from_environment
from conformance.runner import execute
from conformance.spec import load_spec
from conformance.targets import TargetOptions, open_target
from fixtures.drifts import load_catalogue
from tests.conftest import ROOT, free_port, run_suite

LAUNCHER = ROOT / "localstack" / "host.py"
CHECKS = load_checks()
CATALOGUE = load_catalogue()
EDITION = "LocalStack 4.9.2 (community edition)"
# What the community edition answers 501 for (machine notes), plus what the launcher switches
# off offline. Only an upper bound: the suite itself learns it from LocalStack's answers.
NOT_IN_COMMUNITY = {
    "rds",
    "ecs",
    "ecr",
    "elasticache",
    "elasticache-clusters",  # Phase 1's "no ElastiCache" section
    "elbv2",
    "opensearch",
    "wafv2",
    "application-autoscaling",
    "cloudfront",
    "dynamodb",
    "ce",  # Cost Explorer's cost-allocation tags (Phase 1's activation check)
    "xray",  # X-Ray's sampling rules (Phase 1's "Tracing: None")
}
# Drifts whose every killed check is on a service LocalStack emulates: each is provisioned into
# a fresh LocalStack and must fail exactly its checks there too.
DRIFTS = (
    "vpc-cidr",
    "data-subnet-internet-route",
    "nat-gateway-added",
    "sg-web-ssh-world",
    "sg-rds-from-cidr",
)
LEFT_OUT = re.compile(r"left out, not served by this endpoint: (\w+) \(")


@dataclass
class LocalStackHost:
    """The launcher as a user drives it, on one state directory and port."""

    state: Path
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launcher(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(LAUNCHER), command, f"--state-dir={self.state}", *args],
            capture_output=True,
            text=True,
            timeout=600,  # a fresh machine installs .venv-localstack first
        )

    def fresh(self, *args: str) -> str:
        """Restart LocalStack with an empty state (LocalStack keeps state in memory only)."""
        self.launcher("stop")
        started = self.launcher("start", f"--port={self.port}", *args)
        assert started.returncode == 0, started.stdout + started.stderr
        return started.stdout

    def log(self) -> str:
        return (self.state / "localstack.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHost]:
    host = LocalStackHost(tmp_path_factory.mktemp("localstack"), free_port())
    yield host
    stopped = host.launcher("stop")
    assert stopped.returncode == 0, stopped.stderr


def _provision(localstack: LocalStackHost, *args: str) -> subprocess.CompletedProcess[str]:
    """The provisioner command, as a user runs it against this LocalStack."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fixtures.provision",
            "--phase=1",
            f"--endpoint-url={localstack.endpoint}",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def explained_by(left_out: set[str]) -> set[str]:
    """Checks that may fail because the provisioner had to leave their area (partly) out."""
    return {c.id for c in CHECKS.values() if c.module.rsplit(".", 1)[-1] in left_out}


@dataclass
class Conformant:
    done: subprocess.CompletedProcess[str]
    evidence: dict[str, Any]
    left_out: set[str]
    passed_without: list[tuple[str, str, list[str]]]  # check, outcome, unserved sections

    def ids(self, outcome: str) -> set[str]:
        return {r["id"] for r in self.evidence["results"] if r["outcome"] == outcome}


@pytest.fixture(scope="module")
def conformant(localstack: LocalStackHost, tmp_path_factory: pytest.TempPathFactory) -> Conformant:
    """Phase 1 provisioned by the init hook, checked by `pytest --target localstack`."""
    started = localstack.fresh("--phase=1")
    assert "phase 1 provisioned" in started
    evidence_dir = tmp_path_factory.mktemp("evidence")
    done = run_suite(
        "--target=localstack", f"--endpoint-url={localstack.endpoint}", f"--evidence={evidence_dir}"
    )
    evidence = json.loads((evidence_dir / "evidence.json").read_text())
    return Conformant(
        done, evidence, set(LEFT_OUT.findall(localstack.log())), _each_check_alone(localstack)
    )


def _each_check_alone(localstack: LocalStackHost) -> list[tuple[str, str, list[str]]]:
    """Run every check with an inventory of its own, to see exactly which sections it asked for
    and which of those LocalStack did not serve."""
    spec, inputs = load_spec(1), Inputs()
    options = TargetOptions("localstack", "us-east-1", "production", localstack.endpoint)
    found: list[tuple[str, str, list[str]]] = []
    with open_target(options, spec, inputs, CallLog()) as clients:
        for check in CHECKS.values():
            inventory = Inventory(clients, inputs)
            result = check.run(Run(spec, "production", inputs, inventory, "localstack"))
            unserved = sorted(s for s, f in inventory.failures.items() if f.kind == "unsupported")
            if unserved:
                found.append((check.id, result.outcome, unserved))
    return found


def test_conformant_reference_has_no_unexplained_failure(conformant: Conformant) -> None:
    output = conformant.done.stdout + conformant.done.stderr
    assert conformant.ids("error") == set(), output
    failed = conformant.ids("failed")
    # Only checks of an area the community edition could not fully build may fail; the areas
    # that LocalStack builds completely (network, security groups) pass.
    assert failed <= explained_by(conformant.left_out), output
    launch = load_spec(1).environment("production")
    network = {c for c in CHECKS if c.startswith(("net.", "sg.")) and CHECKS[c].area(launch)}
    assert network - {"net.lb.absent"} <= conformant.ids("passed")
    assert conformant.done.returncode == (1 if failed else 0), output
    assert "Traceback" not in output


def test_services_localstack_does_not_serve_are_skipped_naming_service_and_edition(
    conformant: Conformant,
) -> None:
    failures = conformant.evidence["inventory"]["failures"]
    assert failures, "LocalStack community should leave some services unserved"
    assert {f["kind"] for f in failures.values()} == {"unsupported"}
    assert set(failures) <= NOT_IN_COMMUNITY
    skipped = {r["id"]: r["message"] for r in conformant.evidence["results"]}
    assert skipped["net.lb.absent"].startswith(f"{EDITION} does not serve elbv2: ")
    unserved = [r for r in conformant.evidence["results"] if r["message"].startswith(EDITION)]
    assert unserved and all(r["outcome"] == "skipped" for r in unserved)
    assert all(
        re.match(rf"{re.escape(EDITION)} does not serve [\w-]+: ", r["message"]) for r in unserved
    )
    not_verifiable = [
        r
        for r in conformant.evidence["results"]
        if r["outcome"] == "skipped" and not r["message"].startswith("not applicable")
    ]
    assert f"not verifiable on this target: {len(not_verifiable)} checks" in conformant.done.stdout
    served = re.search(rf"not served by {re.escape(EDITION)}: (.*)", conformant.done.stdout)
    assert served is not None, conformant.done.stdout
    assert sum(int(n) for n in re.findall(r"[\w-]+ (\d+)", served.group(1))) == len(unserved)
    assert "elbv2 1" in served.group(1)


def test_no_check_passes_on_a_service_localstack_does_not_serve(conformant: Conformant) -> None:
    assert conformant.passed_without, "expected checks that need rds, ecr, elbv2 …"
    passed = [(c, s) for c, outcome, s in conformant.passed_without if outcome == "passed"]
    assert passed == []


@pytest.mark.parametrize("drift_id", DRIFTS)
def test_drift_fails_exactly_its_checks_on_localstack(
    localstack: LocalStackHost, drift_id: str
) -> None:
    localstack.fresh()
    provisioned = _provision(localstack, f"--drift={drift_id}")
    assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
    assert f"with drift {drift_id} into {localstack.endpoint}" in provisioned.stdout
    outcome = execute(TargetOptions("localstack", "us-east-1", "production", localstack.endpoint))
    kills = CATALOGUE[drift_id].kills
    baseline = explained_by(set(LEFT_OUT.findall(provisioned.stdout)))
    summary = "\n".join(r.describe() for r in outcome.results if r.outcome != "passed")
    assert kills <= outcome.ids("failed"), summary
    assert outcome.ids("failed") - kills <= baseline, summary
    assert outcome.ids("error") == set(), summary


def test_a_drift_on_a_service_localstack_does_not_serve_is_refused_clearly(
    localstack: LocalStackHost,
) -> None:
    localstack.fresh()
    done = _provision(localstack, "--drift=load-balancer-added")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CreateLoadBalancer operation" in done.stderr
    assert "'elbv2' is either not included in your current license plan" in done.stderr
    assert "Traceback" not in done.stderr


def test_phase_2_checks_what_localstack_serves_and_skips_the_rest(
    localstack: LocalStackHost, tmp_path: Path
) -> None:
    """Phase 2 provisioned by the init hook: ECS, the ALB, ElastiCache and RDS are not in the
    community edition, so their checks are skipped naming the service; the network, the
    security-group tiers, the certificate-free rest pass; nothing errors."""
    started = localstack.fresh("--phase=2")
    assert "phase 2 provisioned" in started
    done = run_suite(
        "--phase=2",
        "--target=localstack",
        f"--endpoint-url={localstack.endpoint}",
        f"--evidence={tmp_path}",
    )
    output = done.stdout + done.stderr
    results = json.loads((tmp_path / "evidence.json").read_text())["results"]
    outcomes = {r["id"]: r for r in results}
    assert {i for i, r in outcomes.items() if r["outcome"] == "error"} == set(), output
    phase_2 = load_spec(2).environment("production")
    unserved = {
        i: r["message"].split(":")[0].rpartition(" ")[2]
        for i, r in outcomes.items()
        if r["outcome"] == "skipped" and r["message"].startswith(f"{EDITION} does not serve ")
    }
    for prefix in ("ecs.", "alb.", "cache.", "rds."):
        ids = {i for i in CHECKS if i.startswith(prefix) and CHECKS[i].area(phase_2)}
        assert ids and {unserved.get(i) for i in ids} <= NOT_IN_COMMUNITY, output
    network = {
        i for i in CHECKS if i.startswith(("net.", "sg.")) and CHECKS[i].area(phase_2) is not None
    }
    passed = {i for i, r in outcomes.items() if r["outcome"] == "passed"}
    assert network - {"net.lb.absent"} <= passed, output
    failed = {i for i, r in outcomes.items() if r["outcome"] == "failed"}
    assert failed <= explained_by(set(LEFT_OUT.findall(localstack.log()))), output
    assert "Traceback" not in output


def test_phase_4_reads_both_regions_and_skips_what_localstack_does_not_serve(
    localstack: LocalStackHost, tmp_path: Path
) -> None:
    """Phase 4, staging and production, provisioned by the init hook: the services the
    community edition lacks (auto-scaling, CodeDeploy, CodePipeline, CodeBuild, the reserved
    instances, RDS, ECS …) are skipped naming the service; the network passes; the DR region is
    read in the same run; nothing errors."""
    started = localstack.fresh("--phase=4")
    assert "phase 4 provisioned" in started
    done = run_suite(
        "--phase=4",
        "--environment=all",
        "--target=localstack",
        f"--endpoint-url={localstack.endpoint}",
        f"--evidence={tmp_path}",
    )
    output = done.stdout + done.stderr
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    outcomes = {r["label"]: r for r in evidence["results"]}
    assert {i for i, r in outcomes.items() if r["outcome"] == "error"} == set(), output
    unserved = {
        r["id"]
        for r in outcomes.values()
        if r["outcome"] == "skipped" and r["message"].startswith(f"{EDITION} does not serve ")
    }
    assert {"scaling.policy.metric", "deploy.group.config", "reserved.database"} <= unserved
    assert {r["region"] for r in evidence["api_calls"]["calls"]} >= {"us-east-1", "us-west-2"}
    passed = {r["id"] for r in outcomes.values() if r["outcome"] == "passed"}
    assert {"net.vpc.cidr", "sg.alb.ingress"} <= passed, output
    failed = {r["id"] for r in outcomes.values() if r["outcome"] == "failed"}
    assert failed <= explained_by(set(LEFT_OUT.findall(localstack.log()))), output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--endpoint-url=http://127.0.0.1:{port}"], {}),
        ([], {"AWS_ENDPOINT_URL": "http://127.0.0.1:{port}"}),
        ([], {"LOCALSTACK_HOST": "127.0.0.1:{port}"}),
    ],
    ids=["endpoint-url", "AWS_ENDPOINT_URL", "LOCALSTACK_HOST"],
)
def test_localstack_not_running_is_one_clear_error(args: list[str], env: dict[str, str]) -> None:
    port = free_port()
    done = run_suite(
        "--target=localstack",
        *(a.format(port=port) for a in args),
        env={k: v.format(port=port) for k, v in env.items()},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 6, output
    assert f"LocalStack is not running at http://127.0.0.1:{port} " in output
    assert "python localstack/host.py start" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        ({}, "http://localhost:4566"),
        ({"LOCALSTACK_HOST": "localstack"}, "http://localstack:4566"),
        (
            {"LOCALSTACK_HOST": "localhost.localstack.cloud:4567"},
            "http://localhost.localstack.cloud:4567",
        ),
        (
            {"LOCALSTACK_HOST": "localstack", "AWS_ENDPOINT_URL": "http://127.0.0.1:4510/"},
            "http://127.0.0.1:4510",
        ),
    ],
)
def test_endpoint_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], endpoint: str
) -> None:
    monkeypatch.delenv("LOCALSTACK_HOST", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert endpoint_from_environment() == endpoint


def test_a_moto_server_is_not_mistaken_for_localstack(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        done = run_suite("--target=localstack", f"--endpoint-url=http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert done.returncode == 6, done.stdout + done.stderr
    assert f"http://127.0.0.1:{port} answers but is not LocalStack" in done.stdout + done.stderr


def test_launcher_refuses_a_second_start_and_reports_status(localstack: LocalStackHost) -> None:
    localstack.fresh()
    again = localstack.launcher("start", f"--port={localstack.port}")
    assert again.returncode == 1
    assert "already running" in again.stderr
    status = localstack.launcher("status")
    assert status.returncode == 0, status.stderr
    record = json.loads(status.stdout)
    assert record["endpoint"] == localstack.endpoint
    assert record["health"]["edition"] == "community"
    stopped = localstack.launcher("stop")
    assert f"stopped pid {record['pid']}" in stopped.stdout
    assert not Path(f"/proc/{record['pid']}").exists() or _zombie(record["pid"])
    assert localstack.launcher("status").returncode == 1


def test_a_check_that_carries_on_without_a_section_does_not_pass() -> None:
    """Even a check that catches NotCollected itself is not passed on the sections it got."""

    def lenient(ctx: CheckContext, group: Any) -> None:
        with contextlib.suppress(NotCollected):
            ctx.get(Elbv2Inventory)
        ctx.comparisons.append(Comparison("something else", 1, 1, "s", True))

    spec, inputs = load_spec(1), Inputs()
    inventory = Inventory(_no_clients(), inputs)
    inventory.failures["elbv2"] = CollectionFailure(
        service="elbv2", kind="unsupported", message="elbv2 not served here"
    )
    run = Run(spec, "production", inputs, inventory, "test")
    check = Check("t.lenient", "t", "low", "r", lambda env: env.network, lenient, __name__)
    result = check.run(run)
    assert (result.outcome, result.message) == ("skipped", "elbv2 not served here")


def _no_clients() -> Any:
    from conformance.aws import Clients

    return Clients("us-east-1", "http://127.0.0.1:9")  # never called: the inventory is preset


def _wait_for_port(port: int) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
