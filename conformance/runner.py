"""Run every check in-process: for the kill-matrix, the benchmark and other library callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.aws import CallLog
from conformance.checks import Check, Result, Run, load_checks
from conformance.host import HostTargets
from conformance.inputs import Inputs
from conformance.spec import load_spec
from conformance.targets import TargetOptions, open_inventory, run_inputs


@dataclass
class Outcome:
    results: list[Result]
    calls: CallLog
    snapshot: dict[str, Any]

    def ids(self, outcome: str) -> set[str]:
        """The checks with this outcome (in any environment)."""
        return {r.check.id for r in self.results if r.outcome == outcome}

    def keys(self, outcome: str) -> set[tuple[str, str]]:
        """(check id, environment) of every result with this outcome."""
        return {(r.check.id, r.environment) for r in self.results if r.outcome == outcome}


def execute(
    options: TargetOptions,
    inputs: Inputs | None = None,
    phase: int = 1,
    checks: list[Check[Any]] | None = None,
    host: HostTargets | None = None,
) -> Outcome:
    spec = load_spec(phase)
    environments = spec.chosen(options.environment)
    inputs = run_inputs(options, inputs or Inputs()).collected(environments)
    log = CallLog()
    selected = checks if checks is not None else list(load_checks().values())
    # Every check: read every documented section ahead, concurrently; a selection: as asked.
    with open_inventory(options, spec, inputs, log, read_ahead=checks is None) as inventory:
        results = []
        for environment in environments:
            run = Run(
                spec,
                environment,
                inputs.for_environment(environment),
                inventory,
                options.describe(),
                host or HostTargets(),
            )
            results += [c.run(run) for c in selected]
        return Outcome(results, log, inventory.snapshot())
