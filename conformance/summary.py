"""A Markdown summary of a run's evidence, for a CI job summary or a pull-request comment.

Failures first, each with expected, actual and the document section, so a reader of the job
page sees what drifted without opening the evidence file.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped")


def markdown(evidence: dict[str, Any]) -> str:
    results: list[dict[str, Any]] = evidence.get("results", [])
    counts = Counter(r["outcome"] for r in results)
    bad = [r for r in results if r["outcome"] in ("failed", "error")]
    verdict = "conformant" if not bad and results else "not conformant"
    lines = [
        f"## Conformance: {verdict}",
        "",
        f"Target {evidence.get('target')} · phase {evidence.get('phase')} · "
        f"{evidence.get('environment')} · " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES),
        "",
    ]
    failed = [r for r in bad if r["outcome"] == "failed"]
    if failed:
        lines += [
            "| check | severity | subject | expected | actual | document |",
            "|---|---|---|---|---|---|",
        ]
        for r in failed:
            for c in r["comparisons"]:
                if not c["ok"]:
                    cells = [r["id"], r["severity"], c["subject"], c["expected"], c["actual"]]
                    lines.append("| " + " | ".join(_cell(v) for v in [*cells, c["section"]]) + " |")
        lines.append("")
    errors = [r for r in bad if r["outcome"] == "error"]
    if errors:
        lines += ["Could not be verified (error):", ""]
        lines += [f"- `{r['id']}`: {_cell(r['message'])}" for r in errors]
        lines.append("")
    skipped = [r for r in results if r["outcome"] == "skipped"]
    if skipped:
        lines += [
            f"<details><summary>{len(skipped)} skipped</summary>",
            "",
            *[f"- `{r['id']}`: {_cell(r['message'])}" for r in skipped],
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    """A value as one Markdown table cell: lists joined, pipes and newlines escaped."""
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value) if value else "none"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")
