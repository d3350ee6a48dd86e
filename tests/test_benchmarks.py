"""The benchmark runs end to end, so it cannot rot: one cheap case, one run, no timing asserted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_module


def test_the_embedded_case_runs_as_a_whole_process_and_is_saved(tmp_path: Path) -> None:
    saved = tmp_path / "bench.json"
    done = run_module(
        "benchmarks.suite", "--cases=embedded", "--runs=1", "--no-warm-up", f"--json={saved}"
    )
    assert done.returncode == 0, done.stderr
    assert "\nembedded            after " in done.stdout
    measured = json.loads(saved.read_text())["medians"]["after"]["embedded"]
    assert measured["exit_codes"] == [0]
    [calls] = measured["calls"]
    assert calls > 0
    assert measured["wall"] > 0 and measured["cpu"] > 0 and measured["peak_rss_mb"] > 0


def test_an_older_tree_whose_runs_would_import_this_one_is_refused(tmp_path: Path) -> None:
    done = run_module("benchmarks.suite", "--cases=embedded", f"--before={tmp_path}")
    assert done.returncode != 0
    assert f"a process in {tmp_path.resolve()} imports" in done.stderr
    assert "not its own conformance" in done.stderr
