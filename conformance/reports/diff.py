"""Drift between two runs: ``python -m conformance diff OLD NEW`` over two evidence files.

Reports the regressions (new failures, new errors, checks gone from NEW, and a NEW that was
interrupted), then fixed checks, other outcome changes, comparisons whose actual value changed,
and inventory resources that appeared or disappeared. What a rebuilt environment does not keep
is masked when comparing subjects and values: generated ids (``vpc-0abc…``, ``eipalloc-…``,
hosted-zone ids, UUIDs, account numbers in ARNs) and the values each run's inventory names as
generated (its Elastic IP addresses, zone ids, account). So two runs against rebuilt
environments (e.g. the embedded moto reference) compare by meaning rather than by id; resources
are matched by their Name tag or name, else by their content.

Exit status: 0 when NEW has no regression, 1 when it has one, 4 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.console import emit
from conformance.errors import ExitCode, UsageError
from conformance.evidence import environments_of, label, load, not_run, verdict
from conformance.reports.matrix import show

FAILING = frozenset({"failed", "error"})
# Ids AWS (or moto) generates for a resource, which a rebuilt environment does not keep.
GENERATED = (
    (re.compile(r"\b[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\b"), "uuid-*"),
    (re.compile(r"\b([a-z]{1,12})-[0-9a-f]{8,17}\b"), r"\1-*"),  # vpc-…, i-…, eipalloc-…
    (re.compile(r"\b(arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)\d{12}(?=:)"), r"\1*"),
    (re.compile(r"\bZ[0-9A-Z]{12,31}\b"), "Z*"),  # a hosted zone id
)
# Inventory fields whose values are generated (addresses, a moto zone id without its Z).
GENERATED_FIELDS = frozenset({"public_ip", "private_ip", "allocation_id", "zone_id"})


def mask(value: Any, generated: frozenset[str] = frozenset()) -> str:
    """A value as text with generated ids replaced by ``kind-*``, and the values one run's
    inventory says were generated (its Elastic IP addresses, zone ids, account) by ``*``."""
    text = show(value)
    for literal in sorted(generated, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(literal)}(?![\w.])", "*", text)
    for pattern, replacement in GENERATED:
        text = pattern.sub(replacement, text)
    return text


def generated_values(evidence: dict[str, Any]) -> frozenset[str]:
    """What the run's environment generated rather than the document stated: Elastic IP and
    instance addresses, hosted-zone ids and the account, found in its evidence."""
    found: set[str] = set()
    account = (evidence.get("provenance") or {}).get("account")
    if account:
        found.add(str(account))
    sections = (evidence.get("inventory") or {}).get("sections") or {}

    def walk(node: Any, zone: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and (key in GENERATED_FIELDS or (zone and key == "id")):
                    found.add(value)
                else:
                    walk(value, zone)
        elif isinstance(node, list):
            for item in node:
                walk(item, zone)

    for name, section in sections.items():
        walk(section, name == "route53")
    return frozenset(v for v in found if len(v) >= 6)


@dataclass
class Change:
    check: str
    subject: str
    old: str
    new: str


@dataclass
class Drift:
    new_failures: list[Change] = field(default_factory=list)  # failed now, did not fail before
    new_errors: list[Change] = field(default_factory=list)  # could not be verified now
    vanished: list[Change] = field(default_factory=list)  # in OLD, absent from NEW
    interrupted: bool = False  # NEW is the partial evidence of an interrupted run
    fixed: list[Change] = field(default_factory=list)
    outcome_changes: list[Change] = field(default_factory=list)
    changed_values: list[Change] = field(default_factory=list)
    appeared: list[str] = field(default_factory=list)
    disappeared: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def changes(items: list[Change]) -> list[dict[str, str]]:
            return [vars(c) for c in items]

        return {
            "regression": self.regression,
            "new_failures": changes(self.new_failures),
            "new_errors": changes(self.new_errors),
            "vanished": changes(self.vanished),
            "interrupted": self.interrupted,
            "fixed": changes(self.fixed),
            "outcome_changes": changes(self.outcome_changes),
            "changed_values": changes(self.changed_values),
            "resources_appeared": self.appeared,
            "resources_disappeared": self.disappeared,
        }

    @property
    def regression(self) -> bool:
        """NEW is worse than OLD: a check fails or errs that did not, a check is gone, or NEW
        did not run to the end."""
        return bool(self.new_failures or self.new_errors or self.vanished or self.interrupted)


def compare(old: dict[str, Any], new: dict[str, Any]) -> Drift:
    drift = Drift(interrupted=bool(new.get("interrupted")))
    old_ids, new_ids = generated_values(old), generated_values(new)
    before = {label(r): r for r in old.get("results", [])}
    after = {label(r): r for r in new.get("results", [])}
    for check_id, result in after.items():
        previous = before.get(check_id)
        was = previous["outcome"] if previous else "absent"
        now = result["outcome"]
        change = Change(check_id, str(result.get("title", "")), was, now)
        if now == "failed" and was not in FAILING:
            change.subject = _failure_text(result)
            drift.new_failures.append(change)
        elif now == "error" and was != "error":
            change.subject = str(result.get("message") or result.get("title", ""))
            drift.new_errors.append(change)
        elif was in FAILING and now == "passed":
            drift.fixed.append(change)
        elif was != now:
            drift.outcome_changes.append(change)
        if previous:
            drift.changed_values += _value_changes(check_id, (previous, old_ids), (result, new_ids))
    for check_id in sorted(set(before) - set(after)):
        gone = before[check_id]
        drift.vanished.append(
            Change(check_id, str(gone.get("title", "")), gone["outcome"], "absent")
        )
    old_resources = _resources(old.get("inventory"), old_ids)
    new_resources = _resources(new.get("inventory"), new_ids)
    drift.appeared = sorted(new_resources[k] for k in set(new_resources) - set(old_resources))
    drift.disappeared = sorted(old_resources[k] for k in set(old_resources) - set(new_resources))
    return drift


def _failure_text(result: dict[str, Any]) -> str:
    failing = [c for c in result.get("comparisons", []) if not c["ok"]]
    if not failing:
        return str(result.get("message") or result.get("title", ""))
    return "; ".join(
        f"{c['subject']}: expected {show(c['expected'])}, actual {show(c['actual'])}"
        for c in failing
    )


ResultOfRun = tuple[dict[str, Any], frozenset[str]]  # a result, and the ids its run generated


def _keyed(result: dict[str, Any], generated: frozenset[str]) -> dict[str, dict[str, Any]]:
    keyed: dict[str, dict[str, Any]] = {}
    for c in result.get("comparisons", []):
        key = mask(c["subject"], generated)
        n = 2
        while key in keyed:
            key, n = f"{mask(c['subject'], generated)} #{n}", n + 1
        keyed[key] = c
    return keyed


def _value_changes(check_id: str, old: ResultOfRun, new: ResultOfRun) -> list[Change]:
    (old_result, old_ids), (new_result, new_ids) = old, new
    before, after = _keyed(old_result, old_ids), _keyed(new_result, new_ids)
    out = []
    for key, c in after.items():
        if key not in before:
            continue
        was, now = before[key].get("actual"), c.get("actual")
        if mask(was, old_ids) != mask(now, new_ids):
            out.append(Change(check_id, key, show(was), show(now)))
    for key in after.keys() - before.keys():
        out.append(Change(check_id, key, "absent", show(after[key].get("actual"))))
    for key in before.keys() - after.keys():
        out.append(Change(check_id, key, show(before[key].get("actual")), "absent"))
    return out


def _items(value: Any) -> list[dict[str, Any]]:
    """The resources of one inventory entry: a list of them, one resource, or a dict by name."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if not isinstance(value, dict):
        return []
    if {"id", "name", "arn"} & value.keys():
        return [value]
    if value and all(isinstance(v, dict) for v in value.values()):
        return [{"name": k, **v} for k, v in value.items()]
    return []


def _resources(inventory: dict[str, Any] | None, generated: frozenset[str]) -> dict[str, str]:
    """Inventory resources keyed by kind and name (or masked content), shown as kind: name (id)."""
    out: dict[str, str] = {}
    for section, content in ((inventory or {}).get("sections") or {}).items():
        for kind, value in (content or {}).items():
            for item in _items(value):
                tags = item.get("tags")
                name = (tags.get("Name") if isinstance(tags, dict) else None) or item.get("name")
                ident = item.get("id") or item.get("arn") or ""
                masked = mask(item, generated)
                key = f"{section}.{kind}:{name}" if name else f"{section}.{kind}:{masked}"
                label = " ".join(str(p) for p in (name, f"({ident})" if ident else None) if p)
                out[key] = f"{section}.{kind}: {label or masked}"
    return out


def render(drift: Drift, old: dict[str, Any], new: dict[str, Any]) -> str:
    def run(evidence: dict[str, Any]) -> str:
        return (
            f"{evidence.get('target')} · phase {evidence.get('phase')} · "
            f"{environments_of(evidence)} · {evidence.get('started')}"
        )

    lines = [f"old: {run(old)} · {verdict(old)}", f"new: {run(new)} · {verdict(new)}"]
    if (old.get("phase"), environments_of(old)) != (new.get("phase"), environments_of(new)):
        lines.append("note: the two runs check different phases or environments")
    if drift.interrupted:
        missing = len(not_run(new.get("results", [])))
        lines.append(
            f"NEW was interrupted: {missing} checks did not run; its evidence is partial "
            "(a regression)"
        )
    groups: list[tuple[str, list[str]]] = [
        (
            "new failures",
            [f"{c.check} ({c.old} → {c.new}): {c.subject}" for c in drift.new_failures],
        ),
        (
            "new errors (could not be verified)",
            [f"{c.check} ({c.old} → {c.new}): {c.subject}" for c in drift.new_errors],
        ),
        (
            "checks gone (in OLD, absent from NEW)",
            [f"{c.check} ({c.old} → absent)" for c in drift.vanished],
        ),
        ("fixed", [f"{c.check} ({c.old} → {c.new})" for c in drift.fixed]),
        (
            "other outcome changes",
            [f"{c.check} ({c.old} → {c.new})" for c in drift.outcome_changes],
        ),
        (
            "changed actual values",
            [f"{c.check} · {c.subject}: {c.old} → {c.new}" for c in drift.changed_values],
        ),
        ("resources appeared", drift.appeared),
        ("resources disappeared", drift.disappeared),
    ]
    for title, items in groups:
        lines.append(f"{title}: {len(items)}")
        lines += [f"  {item}" for item in items]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance diff",
        description="What changed between two conformance runs (two evidence files).",
    )
    parser.add_argument("old", type=Path, help="the earlier evidence.json (or its directory)")
    parser.add_argument("new", type=Path, help="the later evidence.json (or its directory)")
    parser.add_argument("--json", action="store_true", help="print the drift as JSON")
    args = parser.parse_args(argv)
    try:
        old, new = load(args.old), load(args.new)
    except UsageError as exc:
        print(f"conformance diff: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    drift = compare(old, new)
    if args.json:
        emit(json.dumps(drift.as_json(), indent=2) + "\n")
    else:
        emit(render(drift, old, new))
    return int(ExitCode.DRIFT if drift.regression else ExitCode.CONFORMANT)
