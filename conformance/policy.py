"""The least-privilege IAM policy, generated from the guard's allow-list.

``conformance.guard.READ_OPERATIONS`` lists every operation the suite sends; the policy allows the
IAM actions that authorize exactly those (``conformance/actions.py``) and denies secret, credential
and content reads outright. It is kept in the repository as
``iam/conformance-readonly-policy.json``. ``tests/test_policy.py`` fails when that file is not
what this module generates from the list, and when the list is not exactly what the suite sends
(``recorded_operations``), so a new collector call fails the tests until it is added to the list.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from conformance.actions import FORBIDDEN, iam_actions
from conformance.aws import CallLog, Clients
from conformance.errors import UsageError
from conformance.guard import READ_OPERATIONS
from conformance.runner import execute
from conformance.spec import PHASES, load_spec, spec_path
from conformance.targets import FAKE_CREDENTIALS, TargetOptions, caller_account

ROOT = Path(__file__).resolve().parent.parent
POLICY_PATH = ROOT / "iam" / "conformance-readonly-policy.json"
DENY_SID = "NeverReadSecretsOrContents"


class ForbiddenAction(UsageError):
    """An allowed operation needs a permission that would expose secrets or contents."""


def phases_with_specs() -> list[int]:
    """The phases the suite can run: those with a ``specs/phase-N.yaml``."""
    return [phase for phase in PHASES if spec_path(phase).exists()]


def required_actions() -> dict[str, set[str]]:
    """IAM action -> the allowed ``service:Operation`` calls that need it."""
    return actions_for(READ_OPERATIONS)


def actions_for(operations: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """The IAM actions the operations need; refuses any that would expose secrets or contents."""
    needed: dict[str, set[str]] = defaultdict(set)
    for service, operation in operations:
        for action in iam_actions(service, operation):
            needed[action].add(f"{service}:{operation}")
    forbidden = sorted(set(needed) & FORBIDDEN)
    if forbidden:
        raise ForbiddenAction(
            f"an operation on the allow-list needs {', '.join(forbidden)}, which reads secrets or "
            "contents; the conformance role never gets it: read the metadata another way"
        )
    return dict(needed)


def recorded_operations() -> CallLog:
    """What the suite sends and what its guard refuses, found by running it: every check of every
    phase and environment against its embedded reference (where every documented resource exists,
    so every collector reads everything it reads on a real account), and the live target's
    credential preflight."""
    recorded = CallLog()
    for phase in phases_with_specs():
        spec = load_spec(phase)
        for environment in spec.environments:
            options = TargetOptions(
                kind="moto", region=spec.primary_region.value, environment=environment
            )
            log = execute(options, phase=phase).calls
            recorded.calls += log.calls
            recorded.refused += log.refused
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(**FAKE_CREDENTIALS)
        caller_account(Clients("us-east-1", session=session, log=recorded, in_process=True))
    return recorded


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
    """How a kept policy differs from the one generated from the allow-list."""

    missing: dict[str, set[str]]  # action -> the allowed operations that need it
    unused: set[str]
    other: bool  # same actions, but the file is not what the generator writes

    @property
    def stale(self) -> bool:
        return bool(self.missing or self.unused or self.other)

    def describe(self, path: Path) -> str:
        lines = [f"{path} is stale; regenerate it with: python -m conformance policy"]
        lines += [
            f"  missing {action} (needed by: {', '.join(sorted(calls))})"
            for action, calls in sorted(self.missing.items())
        ]
        lines += [
            f"  not needed by any operation on the allow-list: {action}"
            for action in sorted(self.unused)
        ]
        if self.other and not (self.missing or self.unused):
            lines.append("  same actions, but not in the generated layout (or another Deny)")
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
