"""A Markdown summary of a run's evidence, for a CI job summary or a pull-request comment.

Failures first, each with expected, actual and the document section, so a reader of the job
page sees what drifted without opening the evidence file. The verdict and the counts are the
run's own (``conformance.evidence``): an interrupted run is called interrupted, never conformant.
"""

from __future__ import annotations

from typing import Any

from conformance.errors import ExitCode
from conformance.evidence import (
    NOT_RUN,
    baseline,
    count_line,
    counts,
    environments_of,
    label,
    not_run,
    stateful_changes,
    verdict,
)
from conformance.reports.matrix import BASELINE_TITLE, baseline_headline, where

EXIT_CODES = {
    "conformant": ExitCode.CONFORMANT,
    "not conformant": ExitCode.DRIFT,
    "interrupted": ExitCode.INTERRUPTED,
}


def exit_code(evidence: dict[str, Any]) -> int:
    """The exit status the run had: 0 conformant, 1 not conformant, 2 interrupted."""
    return int(EXIT_CODES[verdict(evidence)])


def markdown(evidence: dict[str, Any]) -> str:
    results: list[dict[str, Any]] = evidence.get("results", [])
    missing = not_run(results)
    lines = [f"## Conformance: {verdict(evidence)}", ""]
    if evidence.get("interrupted"):
        lines += [
            f"**The run was interrupted**: {len(missing)} of {len(results)} checks did not run. "
            "This evidence is partial and is not a verdict of conformance.",
            "",
        ]
    lines += [
        f"Target {evidence.get('target')} · phase {evidence.get('phase')} · "
        f"{environments_of(evidence)} · checks: {count_line(counts(results))}",
        "",
    ]
    losses = stateful_changes(evidence)
    if losses:
        lines += ["**Planned loss of data** (fails the run whatever the checks say):", ""]
        lines += [f"- {_cell(c['message'])}" for c in losses] + [""]
    failed = [r for r in results if r["outcome"] == "failed"]
    if failed:
        lines += [
            "| check | severity | subject | expected | actual | document |",
            "|---|---|---|---|---|---|",
        ]
        for r in failed:
            for c in r.get("comparisons", []):
                if not c["ok"]:
                    cells = [label(r), r.get("severity"), c["subject"], c.get("expected")]
                    cells += [c.get("actual"), c.get("section")]
                    lines.append("| " + " | ".join(_cell(v) for v in cells) + " |")
        lines.append("")
    errors = [r for r in results if r["outcome"] == "error" and r not in missing]
    if errors:
        lines += ["Could not be verified (error):", ""]
        lines += [f"- `{r['id']}`: {_cell(r.get('message'))}" for r in errors]
        lines.append("")
    if missing:
        reason = str(missing[0]["message"]).removeprefix(NOT_RUN)
        lines += _details(f"{len(missing)} not run ({reason}), each an error", missing, False)
    waived = [r for r in results if r["outcome"] == "waived"]
    if waived:
        lines += ["Waived:", "", *[f"- `{r['id']}`: {_cell(r.get('message'))}" for r in waived], ""]
    document = evidence.get("document")
    if document:
        judged = count_line(counts(document.get("results", [])))
        lines += [f"Architecture document against the spec: {judged}", ""]
    skipped = [r for r in results if r["outcome"] == "skipped"]
    if skipped:
        lines += _details(f"{len(skipped)} skipped", skipped, True)
    part = baseline(evidence)
    if part is not None:
        lines += [f"### {BASELINE_TITLE}", "", baseline_headline(part), ""]
        items = [
            f"- `{f['check']}` {_cell(f['resource'])} ({_cell(where(f))}): {_cell(f['name'])}"
            for f in part.get("failed") or []
        ]
        if items:
            lines += [f"<details><summary>{len(items)} failed</summary>", "", *items, ""]
            lines += ["</details>", ""]
        for f in part.get("documented_decisions") or []:
            lines.append(
                f"- documented decision `{f['check']}` {_cell(f['resource'])}: "
                f"{_cell(f['section'])}"
            )
        lines.append("")
    return "\n".join(lines)


def _details(title: str, results: list[dict[str, Any]], reasons: bool) -> list[str]:
    """A collapsed list of check ids (with their reasons)."""
    items = [
        f"- `{r['id']}`" + (f": {_cell(r.get('message'))}" if reasons else "") for r in results
    ]
    return [f"<details><summary>{title}</summary>", "", *items, "", "</details>", ""]


def _cell(value: Any) -> str:
    """A value as one Markdown table cell: lists joined, pipes and newlines escaped."""
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value) if value else "none"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")
