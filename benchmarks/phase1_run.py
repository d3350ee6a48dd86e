"""Benchmark: wall time and API calls of a Phase-1 run on the embedded moto target.

    .venv/bin/python -m benchmarks.phase1_run [--repeat N] [--drift ID]

Reports the time to import, to build the reference, to collect and check, and the number of
AWS API calls (all reads; provisioning calls are not counted). Measures, never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--drift")
    args = parser.parse_args()

    started = time.perf_counter()
    from conformance.checks import load_checks
    from conformance.runner import execute
    from conformance.targets import TargetOptions

    checks = list(load_checks().values())
    imported = time.perf_counter() - started

    totals: list[float] = []
    calls = 0
    outcomes: Counter[str] = Counter()
    for _ in range(args.repeat):
        began = time.perf_counter()
        outcome = execute(TargetOptions("moto", "us-east-1", "production", drift=args.drift))
        totals.append(time.perf_counter() - began)
        calls = len(outcome.calls.calls)
        outcomes = Counter(r.outcome for r in outcome.results)
    print(f"checks: {len(checks)} ({dict(outcomes)})")
    print(f"import: {imported:.2f} s")
    print(
        f"build + collect + check: first {totals[0]:.2f} s, "
        f"median of {len(totals)} {statistics.median(totals):.2f} s"
    )
    print(f"AWS API calls per run: {calls} (repeated: {len(outcome.calls.repeated())})")
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    print(f"end to end (`pytest` at the root, one process): {time.perf_counter() - began:.2f} s")


if __name__ == "__main__":
    main()
