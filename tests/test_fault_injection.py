"""A struggling endpoint gets a truthful gate: the suite run through a fault-injection proxy.

``--target aws`` reads a provisioned moto server through :mod:`fixtures.proxy`, which faults
one service per test: throttling that outlasts botocore's retries, a connection cut mid-answer,
an XML or JSON body cut short, AccessDenied, a slow answer. In every case the checks that need
that service end "error" with one reason naming the operation, every other check ends as it does
without the fault, the evidence holds a result for every check, no call is repeated and nothing
prints a traceback. A delay below the read timeout changes nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from conformance.aws import Clients
from conformance.checks import Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import SECTIONS, CollectionFailure, Inventory, NotCollected
from conformance.inventory.ce import CostExplorerInventory
from conformance.inventory.dynamodb import DynamoDbInventory
from conformance.spec import load_spec
from fixtures.proxy import Fault, FaultProxy, fault_proxy
from tests.conftest import provisioned_moto_server, run_suite

FAKE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PYTEST_OUTCOMES = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)\b")


@dataclass(frozen=True)
class Case:
    fault: Fault
    # The inventory sections of the faulted service (IAM has two: the OIDC trust and the users'
    # keys), each with how every check needing it must be told why it could not verify.
    reasons: dict[str, str]


CASES = {
    "throttled": Case(
        Fault("logs", "throttle"),
        {
            "logs": "logs:DescribeLogGroups throttled: still throttled after botocore's retries "
            "(ThrottlingException: Rate exceeded)"
        },
    ),
    "connection-cut": Case(
        Fault("sqs", "cut"),
        {"sqs": "sqs:ListQueues failed: ResponseParserError: the answer was cut short"},
    ),
    "xml-cut-short": Case(
        Fault("rds", "malformed"),
        {"rds": "rds:DescribeDBInstances failed: ResponseParserError: Unable to parse response"},
    ),
    "json-cut-short": Case(
        Fault("secretsmanager", "malformed"),
        {
            "secretsmanager": "secretsmanager:ListSecrets failed: ResponseParserError: the "
            "answer is not valid JSON"
        },
    ),
    "iam-denied": Case(
        Fault("iam", "denied"),
        {
            "iam": "access denied to iam:ListOpenIDConnectProviders (grant it to the "
            "conformance role)",
            "iam-users": "access denied to iam:GetAccountAuthorizationDetails (grant it to the "
            "conformance role)",
        },
    ),
    "ec2-denied": Case(
        Fault("ec2", "denied"),
        {"ec2": "access denied to ec2:DescribeInstances (grant it to the conformance role)"},
    ),
}


@dataclass(frozen=True)
class SuiteRun:
    done: subprocess.CompletedProcess[str]
    evidence: dict[str, Any]
    faulted: int  # requests the proxy answered with the fault, botocore's retries included

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.evidence["results"]}

    @property
    def items(self) -> int:
        """The number of checks pytest ran, from its final summary line."""
        last = self.done.stdout.strip().splitlines()[-1]
        return sum(int(n) for n, _ in PYTEST_OUTCOMES.findall(last))

    def calls(self, service: str) -> list[dict[str, str]]:
        return [c for c in self.evidence["api_calls"]["calls"] if c["service"] == service]


@pytest.fixture(scope="module")
def proxy() -> Iterator[FaultProxy]:
    with provisioned_moto_server() as url, fault_proxy(url) as running:
        yield running


def _suite(proxy: FaultProxy, fault: Fault | None, evidence: Path) -> SuiteRun:
    proxy.use(fault)
    try:
        done = run_suite(
            "--target", "aws", "--endpoint-url", proxy.url, f"--evidence={evidence}", env=FAKE
        )
    finally:
        faulted = dict(proxy.faulted)
        proxy.use(None)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout[-4000:] + done.stderr
    hits = faulted.get(fault.service or "unsigned", 0) if fault is not None else 0
    assert fault is None or hits, "the proxy never saw the faulted service"
    return SuiteRun(done, json.loads((evidence / "evidence.json").read_text()), hits)


@pytest.fixture(scope="module")
def unfaulted(proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    run = _suite(proxy, None, tmp_path_factory.mktemp("unfaulted"))
    assert run.done.returncode == 0, run.done.stdout[-4000:]
    assert run.items == len(run.results) > 0
    return run


def _checks_needing(sections: list[str], unfaulted: SuiteRun) -> set[str]:
    """The checks that need one of ``sections``: those that cannot verify when these alone are
    missing from the inventory the unfaulted run collected (rebuilt here, in-process, calling
    nothing)."""
    checks = load_checks()
    inputs = Inputs()
    inventory = Inventory(Clients("us-east-1", "http://127.0.0.1:9"), inputs)  # never called
    for service, data in unfaulted.evidence["inventory"]["sections"].items():
        inventory.sections[service] = SECTIONS[service].model_validate(data)
    for section in sections:
        del inventory.sections[section]
        inventory.failures[section] = CollectionFailure(
            service=section, kind="error", message="gone"
        )
    run = Run(load_spec(1), "production", inputs, inventory, "model")
    return {check.id for check in checks.values() if check.run(run).message == "gone"}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_faulted_service_errors_its_checks_and_nothing_else(
    proxy: FaultProxy, unfaulted: SuiteRun, case: Case, tmp_path: Path
) -> None:
    run = _suite(proxy, case.fault, tmp_path)
    assert run.done.returncode == 1, run.done.stdout[-4000:]
    assert len(run.results) == run.items == unfaulted.items
    assert run.evidence["api_calls"]["repeated"] == []
    # Each failed collection was not tried again: one call per section of the service.
    assert case.fault.service is not None
    assert len(run.calls(case.fault.service)) == len(case.reasons)
    if case.fault.kind == "throttle":  # botocore retried at the HTTP level: one recorded call
        assert run.faulted > 1

    errored = {i for i, r in run.results.items() if r["outcome"] == "error"}
    assert errored == _checks_needing(list(case.reasons), unfaulted)
    failures = run.evidence["inventory"]["failures"]
    for section, reason in case.reasons.items():
        assert failures[section]["message"].startswith(reason)
        if case.fault.kind == "denied":
            assert failures[section]["kind"] == "denied"
            assert failures[section]["permission"] == reason.split()[3]
    messages = {failures[section]["message"] for section in case.reasons}
    assert {run.results[i]["message"] for i in errored} <= messages
    for check_id, result in run.results.items():
        if check_id not in errored:
            assert result == unfaulted.results[check_id], check_id


def test_throttling_retries_are_not_recorded_as_repeated_calls(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    """botocore retries a throttled request several times; the suite made one call."""
    proxy.use(Fault("dynamodb", "throttle-429"))
    try:
        quick = Config(retries={"mode": "standard", "total_max_attempts": 3})
        session = boto3.Session(FAKE["AWS_ACCESS_KEY_ID"], FAKE["AWS_SECRET_ACCESS_KEY"])
        clients = Clients("us-east-1", proxy.url, session=session, config=quick)
        inventory = Inventory(clients, Inputs())
        for _ in range(2):
            with pytest.raises(NotCollected, match="dynamodb:ListTables throttled"):
                inventory.get(DynamoDbInventory)
        assert proxy.faulted["dynamodb"] == 3
        assert [c.action for c in clients.log.calls] == ["dynamodb:ListTables"]
    finally:
        proxy.use(None)


def test_an_aws_internal_error_is_retried(proxy: FaultProxy) -> None:
    """A 500 with AWS's error document is transient: botocore retries it, as against AWS."""
    proxy.use(Fault("dynamodb", "internal"))
    try:
        quick = Config(retries={"mode": "standard", "total_max_attempts": 3})
        session = boto3.Session(FAKE["AWS_ACCESS_KEY_ID"], FAKE["AWS_SECRET_ACCESS_KEY"])
        clients = Clients("us-east-1", proxy.url, session=session, config=quick)
        with pytest.raises(NotCollected, match="dynamodb:ListTables failed: InternalFailure"):
            Inventory(clients, Inputs()).get(DynamoDbInventory)
        assert proxy.faulted["dynamodb"] == 3
    finally:
        proxy.use(None)


def test_an_emulators_error_page_is_its_last_word(proxy: FaultProxy) -> None:
    """The moto server answers Cost Explorer, which it does not implement, with an HTML 500
    page: asked once, not six times with backoff, and skipped as not served."""
    proxy.use(None)
    session = boto3.Session(FAKE["AWS_ACCESS_KEY_ID"], FAKE["AWS_SECRET_ACCESS_KEY"])
    clients = Clients("us-east-1", proxy.url, session=session)
    inventory = Inventory(clients, Inputs())
    with pytest.raises(NotCollected, match="answered 500 500: an HTML error page") as raised:
        inventory.get(CostExplorerInventory)
    assert raised.value.failure.kind == "unsupported"
    assert proxy.requests["ce"] == 1
    assert [c.action for c in clients.log.calls] == ["ce:ListCostAllocationTags"]


def test_a_delay_below_the_read_timeout_is_a_conformant_run(
    proxy: FaultProxy, unfaulted: SuiteRun, tmp_path: Path
) -> None:
    run = _suite(proxy, Fault("rds", "delay", delay_seconds=1.5), tmp_path)
    assert run.done.returncode == 0, run.done.stdout[-4000:]
    assert run.results == unfaulted.results
    assert run.evidence["api_calls"]["repeated"] == []
