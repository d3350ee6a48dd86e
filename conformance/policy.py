"""The least-privilege IAM policy, generated from the API calls the collectors actually make.

Every check of every phase that has a spec is run against that phase's embedded reference (in
in-process moto, where every documented resource exists, so every collector reads everything it
can read); each recorded call becomes the IAM actions that authorize it. The result is kept in
the repository as ``iam/conformance-readonly-policy.json`` and a test fails when it is stale, so a
new collector cannot ship without the permission it needs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.actions import FORBIDDEN, iam_actions
from conformance.aws import ApiCall
from conformance.errors import UsageError
from conformance.runner import execute
from conformance.spec import PHASES, load_spec, spec_path
from conformance.targets import TargetOptions

ROOT = Path(__file__).resolve().parent.parent
POLICY_PATH = ROOT / "iam" / "conformance-readonly-policy.json"
DENY_SID = "NeverReadSecretsOrContents"


class ForbiddenAction(UsageError):
    """A collector called an API whose permission would expose secrets or contents."""


def phases_with_specs() -> list[int]:
    """The phases the suite can run: those with a ``specs/phase-N.yaml``."""
    return [phase for phase in PHASES if spec_path(phase).exists()]


def required_actions() -> dict[str, set[str]]:
    """IAM action -> the ``service:Operation`` calls that need it, over every phase and env."""
    calls: list[ApiCall] = []
    for phase in phases_with_specs():
        spec = load_spec(phase)
        for environment in spec.environments:
            options = TargetOptions(
                kind="moto", region=spec.primary_region.value, environment=environment
            )
            calls += execute(options, phase=phase).calls.calls
    return actions_for(calls)


def actions_for(calls: Iterable[ApiCall]) -> dict[str, set[str]]:
    """The IAM actions the calls need; refuses any that would expose secrets or contents."""
    needed: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        for action in iam_actions(call.service, call.operation):
            needed[action].add(f"{call.service}:{call.operation}")
    forbidden = sorted(set(needed) & FORBIDDEN)
    if forbidden:
        raise ForbiddenAction(
            f"a collector needs {', '.join(forbidden)}, which reads secrets or contents; "
            "the conformance role never gets it: read the metadata another way"
        )
    return dict(needed)


def document(actions: set[str]) -> dict[str, Any]:
    """The policy: one Allow statement per service, and a Deny on secret and content reads.

    The Deny keeps the guarantee if someone later attaches a broader read-only policy too.
    """
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for action in sorted(actions):
        by_prefix[action.split(":", 1)[0]].append(action)
    statements: list[dict[str, Any]] = [
        {"Sid": _sid(prefix), "Effect": "Allow", "Action": names, "Resource": "*"}
        for prefix, names in sorted(by_prefix.items())
    ]
    statements.append(
        {"Sid": DENY_SID, "Effect": "Deny", "Action": sorted(FORBIDDEN), "Resource": "*"}
    )
    return {"Version": "2012-10-17", "Statement": statements}


def allowed(policy: dict[str, Any]) -> set[str]:
    """The actions a policy document allows (as written; no wildcards are generated)."""
    found: set[str] = set()
    for statement in policy.get("Statement", []):
        if statement.get("Effect") == "Allow":
            names = statement.get("Action", [])
            found.update([names] if isinstance(names, str) else names)
    return found


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


@dataclass(frozen=True)
class Staleness:
    """How a kept policy differs from what the collectors need."""

    missing: dict[str, set[str]]  # action -> the calls that need it
    unused: set[str]
    other: bool  # same actions, but the file is not what the generator writes

    @property
    def stale(self) -> bool:
        return bool(self.missing or self.unused or self.other)

    def describe(self, path: Path) -> str:
        lines = [f"{path} is stale; regenerate it with: python -m conformance policy"]
        lines += [
            f"  missing {action} (called: {', '.join(sorted(calls))})"
            for action, calls in sorted(self.missing.items())
        ]
        lines += [f"  not needed by any collector: {action}" for action in sorted(self.unused)]
        if self.other and not (self.missing or self.unused):
            lines.append("  same actions, but not in the generated layout")
        return "\n".join(lines)


def compare(needed: dict[str, set[str]], kept_text: str) -> Staleness:
    kept = json.loads(kept_text)
    granted = allowed(kept)
    return Staleness(
        missing={a: calls for a, calls in needed.items() if a not in granted},
        unused=granted - set(needed),
        other=kept_text != render(document(set(needed))),
    )


def _sid(prefix: str) -> str:
    return "Read" + "".join(part.capitalize() for part in prefix.replace("_", "-").split("-"))
