"""Benchmark: what network latency costs a run, sections read one by one and concurrently.

    .venv/bin/python -m benchmarks.latency [--phase 3] [--environment all] [--delay-ms 50]
                                           [--repeat 1] [--workers 12]

Starts a moto server on loopback, builds the phase's reference into it directly (the provisioner
command, no delay), and puts a loopback proxy in front of it that holds every request
``--delay-ms`` before forwarding it (live AWS answers in tens to hundreds of milliseconds, moto in
a few). The suite's whole pytest process reads the server through the proxy (``--target aws
--endpoint-url PROXY``: reading only, nothing is provisioned through it), with one collection
worker (``CONFORMANCE_COLLECT_WORKERS=1``) and with the default pool (or ``--workers``),
alternately.

Reported per mode (median of ``--repeat``): the process's wall time, the time its inventory took
to read every section ahead and the API calls (both from its evidence), the CPU time the moto
server spent answering (one Python process: concurrent requests share its one interpreter, so
its CPU is a floor no client can go under, which AWS does not have), and the slowest single
section (its collection time in the sequential run). The target: at 50 ms per call, the parallel
run reads its sections in under 1.5 times its slowest section, with the sequential run's calls.
Measures, never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.inventory import COLLECT_WORKERS, WORKERS_VARIABLE
from fixtures.moto_server import CREDENTIALS, moto_server, provision
from fixtures.proxy import Fault, FaultProxy, fault_proxy

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5  # the parallel read-ahead, in times the slowest section


@dataclass(frozen=True)
class Timed:
    """One whole pytest process: its wall time, exit status and what its evidence says."""

    wall: float
    exit_code: int
    calls: int
    read_ahead: float  # seconds the inventory took to read its sections ahead
    sections: dict[str, float]  # seconds each section took
    server_cpu: float  # CPU seconds the moto server spent during the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase", type=int, default=3)
    parser.add_argument("--environment", default="all")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=COLLECT_WORKERS, help="the parallel pool")
    args = parser.parse_args()

    modes = {"sequential": 1, "parallel": args.workers}
    runs: dict[str, list[Timed]] = {mode: [] for mode in modes}
    with moto_server() as (server, pid):
        provision(server, args.phase, args.environment)
        with fault_proxy(server, Fault(None, "delay", args.delay_ms / 1000)) as proxy:
            for _ in range(args.repeat):
                for mode, workers in modes.items():  # alternately: a busy moment hurts both
                    runs[mode].append(run_suite(proxy, pid, workers, args.phase, args.environment))
    report(runs, modes, args)


def report(runs: dict[str, list[Timed]], modes: dict[str, int], args: argparse.Namespace) -> None:
    sequential, parallel = runs["sequential"][0], runs["parallel"][0]
    ranked = sorted(sequential.sections.items(), key=lambda item: -item[1])
    seconds = ranked[0][1]
    slowest = ", ".join(f"{name} {took:.2f} s" for name, took in ranked[:3])
    print(
        f"phase {args.phase} ({args.environment}), {args.delay_ms:g} ms per request, "
        f"median of {args.repeat}; {len(ranked)} sections, the slowest: {slowest}"
    )
    print(
        f"{'mode':<11} {'workers':>7} {'wall':>8} {'read ahead':>11} {'server CPU':>11} "
        f"{'calls':>6} {'exit':>5}"
    )
    walls: dict[str, float] = {}
    reads: dict[str, float] = {}
    for mode, timed in runs.items():
        walls[mode] = statistics.median(t.wall for t in timed)
        reads[mode] = statistics.median(t.read_ahead for t in timed)
        print(
            f"{mode:<11} {modes[mode]:>7} {walls[mode]:>7.2f}s {reads[mode]:>10.2f}s "
            f"{statistics.median(t.server_cpu for t in timed):>10.2f}s "
            f"{timed[0].calls:>6} {timed[0].exit_code:>5}"
        )
    print(
        f"sequential/parallel: wall {walls['sequential'] / walls['parallel']:.2f}x, "
        f"read ahead {reads['sequential'] / reads['parallel']:.2f}x"
    )
    print(
        f"parallel read ahead / slowest section: {reads['parallel'] / seconds:.2f} "
        f"(target < {TARGET_RATIO}); calls equal: {parallel.calls == sequential.calls}"
    )


def run_suite(proxy: FaultProxy, server: int, workers: int, phase: int, environment: str) -> Timed:
    """The suite's whole process reading the server (process ``server``) through ``proxy``."""
    with tempfile.TemporaryDirectory(prefix="latency-") as evidence:
        served = cpu_seconds(server)
        began = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "-n",
                "0",
                f"--phase={phase}",
                f"--environment={environment}",
                "--target=aws",
                f"--endpoint-url={proxy.url}",
                f"--evidence={evidence}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **CREDENTIALS, WORKERS_VARIABLE: str(workers)},
        )
        wall = time.perf_counter() - began
        served = cpu_seconds(server) - served
        data: dict[str, Any] = json.loads((Path(evidence) / "evidence.json").read_text())
    collection = data["inventory"]["collection"]
    return Timed(
        wall,
        done.returncode,
        data["api_calls"]["count"],
        collection["read_ahead"]["seconds"],
        collection["seconds"],
        served,
    )


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process ``pid`` has used so far (Linux: /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
