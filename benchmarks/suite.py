"""Benchmark: whole ``pytest`` processes, as users run them, and how they compare to an older tree.

    .venv/bin/python -m benchmarks.suite [--runs 5] [--cases embedded,server-1x,...]
                                         [--before TREE] [--json FILE]

Each case is one command a user runs, timed as a whole process (imports, building or reading,
checks, reports and the interpreter's exit), never in-process:

- ``embedded``: ``pytest`` at the checkout's root (Phase 1 on the embedded moto reference);
- ``server-1x``, ``server-10x``, ``server-100x``: ``pytest --target aws`` against a moto server
  holding the Phase 1 reference and 1, 10 or 100 units of unrelated resources
  (:mod:`benchmarks.noise`); the calls must not grow with the account;
- ``server-1x-evidence``: the same at 1x, writing ``--evidence DIR``;
- ``phase-2``, ``phase-3``, ``phase-4``: the embedded ``--phase N`` (``--environment all`` from
  Phase 3, where the document has two environments).

Per case, the median of ``--runs``: wall time, CPU (user + system of the process and its
children, from ``wait4``), peak resident memory, the exit code and the API calls (what the run's
evidence counts: its ``evidence.json`` where ``--evidence`` is given, else the terminal's
``AWS API calls`` line, which prints the same evidence). With ``--before TREE`` (another
checkout, e.g. ``git archive HEAD | tar -x -C /tmp/before``) every case also runs in that tree,
interleaved run by run with this one and in alternating order, so a busy moment hurts both; the
after/before ratios are medians of the paired runs' ratios. Both trees use this virtualenv; each
tree's processes import that tree's packages (checked before measuring). The virtualenv's
development plugins that a user's install (``pip install '.[suite]'``) does not have are disabled
in both trees (:data:`DEV_ONLY_PLUGINS`: hypothesis imports itself into every run's summary).
Measures, never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.noise import add_noise
from fixtures.moto_server import ROOT, moto_server, provision, tree_environment

RUN_SECONDS = 600
CALLS_LINE = re.compile(r"^AWS API calls: (\d+)", re.MULTILINE)
# pytest plugins of the dev extra only; a user's run never loads them.
DEV_ONLY_PLUGINS = ("-p", "no:hypothesispytest")
TARGETS = {"embedded": 0.5, "server-1x": 0.55}  # issue 16: after/before wall time at most


@dataclass(frozen=True)
class Case:
    """One command a user runs: pytest's arguments, and the server it reads, if any."""

    name: str
    args: tuple[str, ...] = ()
    noise: int | None = None  # units of unrelated resources on the server; None: embedded
    evidence: bool = False


CASES = (
    Case("embedded"),
    Case("server-1x", ("--target=aws",), noise=1),
    Case("server-1x-evidence", ("--target=aws",), noise=1, evidence=True),
    Case("server-10x", ("--target=aws",), noise=10),
    Case("server-100x", ("--target=aws",), noise=100),
    Case("phase-2", ("--phase=2",)),
    Case("phase-3", ("--phase=3", "--environment=all")),
    Case("phase-4", ("--phase=4", "--environment=all")),
)
RATIOS = (  # (case, over case, what it shows)
    ("server-10x", "server-1x", "10x the account"),
    ("server-100x", "server-1x", "100x the account"),
    ("server-1x-evidence", "server-1x", "writing the evidence"),
    ("phase-2", "embedded", "phase 2 / phase 1"),
    ("phase-3", "embedded", "phase 3 / phase 1"),
    ("phase-4", "embedded", "phase 4 / phase 1"),
)


@dataclass(frozen=True)
class Run:
    """One whole process."""

    wall: float  # seconds
    cpu: float  # user + system seconds
    peak_rss_mb: float
    exit_code: int
    calls: int | None  # None: the run printed no count (it failed before reading)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per case and tree (median)")
    parser.add_argument(
        "--cases",
        default=",".join(c.name for c in CASES),
        help="comma-separated, of: " + ", ".join(c.name for c in CASES),
    )
    parser.add_argument("--before", type=Path, help="an older checkout to compare with")
    parser.add_argument("--json", type=Path, help="save the runs and medians to this file")
    parser.add_argument(
        "--warm-up",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one untimed run per tree and group first (default: yes)",
    )
    args = parser.parse_args(argv)
    known = {c.name: c for c in CASES}
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names or args.runs < 1:
        parser.error(f"unknown cases {unknown}" if unknown else "nothing to run")
    cases = [known[n] for n in names]
    trees = {"after": ROOT}
    if args.before is not None:
        trees["before"] = args.before.resolve()
    for tree in trees.values():
        check_imports(tree)

    started = datetime.now(UTC)
    runs = measure(cases, trees, args.runs, args.warm_up)
    medians = {label: {c: median(r) for c, r in by_case.items()} for label, by_case in runs.items()}
    print(
        f"\n{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, median of {args.runs} whole processes per case and tree"
    )
    print(table(cases, medians))
    print(ratios(cases, medians["after"]))
    if "before" in runs:
        print(comparison(cases, runs))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "started": started.isoformat(),
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "trees": {label: str(tree) for label, tree in trees.items()},
                    "runs": {
                        label: {c: [asdict(r) for r in rs] for c, rs in by_case.items()}
                        for label, by_case in runs.items()
                    },
                    "medians": medians,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


def check_imports(tree: Path) -> None:
    """Fail unless a process of ``tree`` imports ``tree``'s packages (the virtualenv holds an
    editable install of one checkout; a run of another must not read it)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import conformance, fixtures, specs; print(conformance.__file__)"],
        cwd=tree,
        env=tree_environment(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    imported = Path(probe.stdout.strip()).resolve()
    if not imported.is_relative_to(tree):
        raise SystemExit(f"a process in {tree} imports {imported}, not its own conformance")


def measure(
    cases: list[Case], trees: dict[str, Path], runs: int, warm: bool
) -> dict[str, dict[str, list[Run]]]:
    """Every case ``runs`` times in every tree, interleaved: the embedded cases, then the server
    cases by growing noise on one server per tree (started once, stopped at the end)."""
    results: dict[str, dict[str, list[Run]]] = {label: {} for label in trees}
    embedded = [c for c in cases if c.noise is None]
    served = [c for c in cases if c.noise is not None]
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        scratch = Path(directory)
        if embedded:
            if warm:
                warm_up(trees, {label: None for label in trees}, scratch)
            interleave(embedded, trees, {label: None for label in trees}, runs, results, scratch)
        if served:
            with servers(trees) as urls:
                if warm:
                    warm_up(trees, urls, scratch)
                noise = 0
                for level in sorted({c.noise for c in served if c.noise is not None}):
                    for url in urls.values():
                        add_noise(url, range(noise, level))
                    noise = level
                    at_level = [c for c in served if c.noise == level]
                    interleave(at_level, trees, urls, runs, results, scratch)
    return results


@contextmanager
def servers(trees: dict[str, Path]) -> Iterator[dict[str, str]]:
    """A moto server per tree holding the Phase 1 reference its own provisioner builds."""
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        for label, tree in trees.items():
            url, _ = stack.enter_context(moto_server())
            provision(url, 1, "production", tree=tree)
            urls[label] = url
        yield urls


def warm_up(trees: dict[str, Path], urls: Mapping[str, str | None], scratch: Path) -> None:
    """One untimed run per tree: a first run compiles the tree's bytecode and fills the page
    cache, a cost no later run (and no user's second run) pays."""
    for label, tree in trees.items():
        args = ("--target=aws",) if urls[label] else ()
        run_once(Case("warm-up", args), tree, urls[label], scratch)


def interleave(
    cases: list[Case],
    trees: dict[str, Path],
    urls: Mapping[str, str | None],
    runs: int,
    results: dict[str, dict[str, list[Run]]],
    scratch: Path,
) -> None:
    labels = list(trees)
    for index in range(runs):
        for case in cases:
            for label in labels if index % 2 == 0 else labels[::-1]:
                done = run_once(case, trees[label], urls[label], scratch)
                results[label].setdefault(case.name, []).append(done)
                print(
                    f"{case.name:<19} {label:<6} run {index + 1}: {done.wall:6.2f} s wall, "
                    f"{done.cpu:6.2f} s CPU, {done.peak_rss_mb:5.0f} MB, exit {done.exit_code}, "
                    f"{done.calls} calls",
                    flush=True,
                )


def run_once(case: Case, tree: Path, url: str | None, scratch: Path) -> Run:
    """``python -m pytest`` in ``tree`` as a user runs it; its wall time and what wait4 says."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *DEV_ONLY_PLUGINS]
    command += case.args
    if url is not None:
        command.append(f"--endpoint-url={url}")
    evidence = Path(tempfile.mkdtemp(prefix="evidence-", dir=scratch))
    if case.evidence:
        command.append(f"--evidence={evidence}")
    output = evidence / "output.txt"
    with output.open("w") as out:
        began = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=tree, env=tree_environment(tree), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
    if case.evidence:
        data: dict[str, Any] = json.loads((evidence / "evidence.json").read_text())
        calls: int | None = int(data["api_calls"]["count"])
    else:
        counted = CALLS_LINE.search(output.read_text())
        calls = int(counted[1]) if counted else None
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux: kilobytes
        exit_code=process.returncode,
        calls=calls,
    )


def median(runs: list[Run]) -> dict[str, Any]:
    calls = sorted({r.calls for r in runs}, key=lambda c: -1 if c is None else c)
    return {
        "wall": statistics.median(r.wall for r in runs),
        "cpu": statistics.median(r.cpu for r in runs),
        "peak_rss_mb": statistics.median(r.peak_rss_mb for r in runs),
        "exit_codes": sorted({r.exit_code for r in runs}),
        "calls": calls,
    }


def table(cases: list[Case], medians: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [
        f"{'case':<19} {'tree':<6} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'calls':>7} exit",
    ]
    for case in cases:
        for label, by_case in medians.items():
            m = by_case[case.name]
            lines.append(
                f"{case.name:<19} {label:<6} {m['wall']:7.2f} {m['cpu']:7.2f} "
                f"{m['peak_rss_mb']:8.0f} {_calls(m['calls']):>7} "
                f"{','.join(map(str, m['exit_codes']))}"
            )
    return "\n".join(lines)


def ratios(cases: list[Case], medians: dict[str, dict[str, Any]]) -> str:
    """Between cases of this tree: what the account's size, the evidence and a phase cost."""
    names = {c.name for c in cases}
    lines = ["between cases (this tree, medians): wall, CPU, peak memory; calls"]
    for case, base, what in RATIOS:
        if case in names and base in names:
            m, b = medians[case], medians[base]
            lines.append(
                f"  {case} / {base} ({what}): {m['wall'] / b['wall']:.2f}x, "
                f"{m['cpu'] / b['cpu']:.2f}x, {m['peak_rss_mb'] / b['peak_rss_mb']:.2f}x; "
                f"calls {_calls(b['calls'])} -> {_calls(m['calls'])}"
            )
    return "\n".join(lines)


def comparison(cases: list[Case], runs: dict[str, dict[str, list[Run]]]) -> str:
    """After/before per case: medians of the paired runs' ratios (run i of one tree with run i
    of the other, made next to each other), and the issue's targets."""
    lines = ["after / before (median of paired runs): wall, CPU, peak memory; calls"]
    for case in cases:
        after, before = runs["after"][case.name], runs["before"][case.name]
        wall = paired(after, before, "wall")
        target = TARGETS.get(case.name)
        verdict = (
            f" (target <= {target}: {'met' if wall <= target else 'not met'})" if target else ""
        )
        lines.append(
            f"  {case.name:<19} {wall:.2f}x, {paired(after, before, 'cpu'):.2f}x, "
            f"{paired(after, before, 'peak_rss_mb'):.2f}x; "
            f"calls {_calls(median(before)['calls'])} -> {_calls(median(after)['calls'])}"
            f"{verdict}"
        )
    return "\n".join(lines)


def paired(after: list[Run], before: list[Run], field: str) -> float:
    """The median of run i's ratio after/before, for every i."""
    return float(
        statistics.median(
            getattr(a, field) / getattr(b, field) for a, b in zip(after, before, strict=True)
        )
    )


def _calls(values: list[int | None]) -> str:
    return "/".join("?" if v is None else str(v) for v in values)


if __name__ == "__main__":
    sys.exit(main())
