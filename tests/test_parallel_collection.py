"""Sections read ahead concurrently: the same calls, inventory and results as one by one.

A run of every check reads every section its environments document ahead, on a pool of threads
(``CONFORMANCE_COLLECT_WORKERS``, 1: one by one). Whatever order the threads finish in, the
evidence lists the same calls in the same order and the same inventory; no call is repeated; a
section failing on a worker thread is that section's recorded failure; missing credentials still
stop the run with one line. This module is also a plugin (``-p tests.test_parallel_collection``)
that skips the credential preflight, so a run reaches its sections without credentials.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from conformance import targets
from conformance.aws import CallLog, Clients
from conformance.checks import Run, load_checks
from conformance.errors import TargetError, UsageError
from conformance.inputs import Inputs
from conformance.inventory import (
    COLLECT_WORKERS,
    WORKERS_VARIABLE,
    Inventory,
    NotCollected,
    collect_workers,
    documented_sections,
)
from conformance.inventory.logs import LogsInventory
from conformance.inventory.sqs import SqsInventory
from conformance.spec import PhaseSpec, load_spec
from conformance.targets import EMBEDDED, TargetOptions, open_target
from tests.conftest import ROOT, provisioned_moto_server, run_suite

NO_PREFLIGHT = "CONFORMANCE_TEST_NO_PREFLIGHT"  # set: this module, as a plugin, skips it
FAKE = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
PHASE = 3  # two environments: the richest inventory that is complete
SERVER_PHASE = 2  # one environment, built and read faster


def pytest_configure(config: pytest.Config) -> None:
    """As a plugin: take the credentials' account for granted, as a preflight that passed."""
    if os.environ.get(NO_PREFLIGHT):
        targets.caller_account = _passed_preflight


def _passed_preflight(clients: Clients, where: str = "") -> str:
    return "123456789012"


def _environments(spec: PhaseSpec) -> list[Any]:
    return [spec.environment(name) for name in spec.chosen("all")]


def _read(clients: Clients, inputs: Inputs, workers: int) -> tuple[Inventory, CallLog]:
    """Every documented section of the clients' target, read ahead on ``workers`` threads."""
    log = CallLog()
    reader = Clients(
        clients.region,
        clients.endpoint_url,
        session=clients.session,
        log=log,
        emulator=clients.emulator,
        in_process=clients.endpoint_url is None,
    )
    inventory = Inventory(reader, inputs)
    inventory.read_ahead(documented_sections(_environments(load_spec(PHASE))), workers)
    return inventory, log


def _results(spec: PhaseSpec, inventory: Inventory) -> list[dict[str, Any]]:
    checks = list(load_checks().values())
    return [
        check.run(Run(spec, name, inventory.inputs.for_environment(name), inventory, "t")).as_json()
        for name in spec.chosen("all")
        for check in checks
    ]


def _same_reading(clients: Clients, inputs: Inputs) -> None:
    """One by one and concurrently read the same calls, in the same order, the same inventory,
    and the checks judge it the same; no call is repeated."""
    spec = load_spec(PHASE)
    one, one_log = _read(clients, inputs, 1)
    many, many_log = _read(clients, inputs, COLLECT_WORKERS)
    assert one_log.calls == many_log.calls and one_log.calls
    assert one_log.repeated() == many_log.repeated() == []
    first, second = one.snapshot(), many.snapshot()
    assert first.pop("collection")["read_ahead"]["workers"] == 1
    assert second.pop("collection")["read_ahead"]["workers"] > 1
    assert first == second
    assert _results(spec, one) == _results(spec, many)


def test_the_embedded_reference_reads_the_same_one_by_one_and_concurrently() -> None:
    spec = load_spec(PHASE)
    inputs = Inputs().collected(spec.chosen("all"))
    options = TargetOptions("moto", "us-east-1", "all")
    with open_target(options, spec, inputs, CallLog()) as clients:
        assert clients.emulator == EMBEDDED
        _same_reading(clients, inputs)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    with provisioned_moto_server(phase=SERVER_PHASE) as url:
        yield url


def test_whole_runs_write_the_same_evidence_one_by_one_and_concurrently(
    moto_server: str, tmp_path: Path
) -> None:
    evidence = {}
    for workers in (1, COLLECT_WORKERS):
        directory = tmp_path / str(workers)
        done = run_suite(
            f"--phase={SERVER_PHASE}",
            "--target=aws",
            f"--endpoint-url={moto_server}",
            f"--evidence={directory}",
            env={**FAKE, WORKERS_VARIABLE: str(workers)},
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        evidence[workers] = json.loads((directory / "evidence.json").read_text())
    one, many = evidence[1], evidence[COLLECT_WORKERS]
    assert one["api_calls"]["calls"] == many["api_calls"]["calls"]
    assert one["api_calls"]["repeated"] == many["api_calls"]["repeated"] == []
    for part in ("region", "sections", "failures"):
        assert one["inventory"][part] == many["inventory"][part]
    assert one["results"] == many["results"]
    read = many["inventory"]["collection"]
    assert read["read_ahead"]["workers"] > 1
    assert set(read["seconds"]) == set(many["inventory"]["sections"]) | set(
        many["inventory"]["failures"]
    )


def test_a_section_failing_on_a_worker_thread_is_its_recorded_failure(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []

    def broken(cls: type[SqsInventory], clients: Clients, inputs: Inputs) -> SqsInventory:
        threads.append(threading.current_thread().name)
        clients.client("sqs").list_queues()
        raise KeyError("QueueUrls")

    monkeypatch.setattr(SqsInventory, "collect", classmethod(broken))
    session = boto3.Session(region_name="us-east-1", **{k.lower(): v for k, v in FAKE.items()})
    clients = Clients("us-east-1", moto_server, session=session)
    inventory = Inventory(clients, Inputs())
    inventory.read_ahead([LogsInventory, SqsInventory], workers=2)
    assert threads and threads[0].startswith("collect")  # a worker of the pool, not this thread
    assert inventory.failures["sqs"].message == "sqs:ListQueues failed: KeyError: 'QueueUrls'"
    with pytest.raises(NotCollected, match="KeyError"):
        inventory.get(SqsInventory)
    assert inventory.get(LogsInventory) is inventory.sections["logs"]
    calls = [c.action for c in clients.log.calls]
    assert calls[-1] == "sqs:ListQueues" and calls.count("sqs:ListQueues") == 1  # listed last


def _no_credentials(tmp_path: Path) -> dict[str, str]:
    """An environment where botocore finds no credentials anywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_no_credentials_on_worker_threads_stop_the_read_ahead_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _no_credentials(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in [
        k for k in os.environ if k.startswith("AWS_") and k not in _no_credentials(tmp_path)
    ]:
        monkeypatch.delenv(name)
    clients = Clients("us-east-1", "http://127.0.0.1:9", session=boto3.Session())
    inventory = Inventory(clients, Inputs())
    with pytest.raises(TargetError, match=r"^no AWS credentials found"):
        inventory.read_ahead([LogsInventory, SqsInventory], workers=2)
    for section in (LogsInventory, SqsInventory):  # raised once: now each section's failure
        with pytest.raises(NotCollected, match="no AWS credentials found"):
            inventory.get(section)


def test_no_credentials_on_worker_threads_stop_the_run_with_one_line(tmp_path: Path) -> None:
    env = _no_credentials(tmp_path) | {NO_PREFLIGHT: "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.test_parallel_collection",
            "--target=aws",
            "--endpoint-url=http://127.0.0.1:9",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 6, done.stdout[-3000:] + done.stderr
    stopped = [line for line in done.stderr.splitlines() if line.startswith("conformance: ")]
    assert stopped == [
        "conformance: no AWS credentials found (looked in --profile, the "
        "environment, shared config and web identity)"
    ]
    assert "Traceback" not in done.stdout + done.stderr


def test_the_worker_count_is_a_whole_number_of_at_least_one() -> None:
    assert collect_workers({}) == COLLECT_WORKERS
    assert collect_workers({WORKERS_VARIABLE: "1"}) == 1
    for wrong in ("0", "many", "-2"):
        with pytest.raises(UsageError, match=f"{WORKERS_VARIABLE}='{wrong}': expected a whole"):
            collect_workers({WORKERS_VARIABLE: wrong})
