"""The conformance matrix: every documented value with expected, actual and outcome, by section.

Built from an evidence dict alone (``DIR/evidence.json``), so a reviewer or auditor reads it
without the code, and it can be rebuilt later from kept evidence. One Markdown file and one
self-contained HTML page (inline CSS and script, no external resource). Both name the run id of
their evidence and are written together with it; an interrupted run says so at the top.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.evidence import OUTCOMES, count_line, counts, not_run, replace_together, verdict

MARKDOWN_FILE = "conformance.md"
HTML_FILE = "conformance.html"


@dataclass(frozen=True)
class Row:
    section: str
    check: str
    subject: str
    expected: str
    actual: str
    outcome: str
    detail: str


def rows(evidence: dict[str, Any]) -> list[Row]:
    """A row per comparison; a check that made none (skipped, error) is one row with its reason."""
    out = []
    for result in evidence.get("results", []):
        comparisons = result.get("comparisons") or []
        if not comparisons:
            out.append(
                Row(
                    result.get("section") or "(no document section)",
                    result["id"],
                    result["title"],
                    "—",
                    "—",
                    result["outcome"],
                    result.get("message", ""),
                )
            )
            continue
        for c in comparisons:
            if c["ok"]:
                outcome = "passed"
            else:
                outcome = "waived" if result["outcome"] == "waived" else "failed"
            detail = [c.get("note") or ""]
            if not c["ok"] and result.get("message"):
                detail.append(result["message"])
            out.append(
                Row(
                    c["section"],
                    result["id"],
                    c["subject"],
                    show(c["expected"]),
                    show(c["actual"]),
                    outcome,
                    " · ".join(d for d in detail if d),
                )
            )
    return out


def by_section(items: list[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in items:
        grouped.setdefault(row.section, []).append(row)
    return grouped


def show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _facts(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Verdict", verdict(evidence)),
        ("Run id", str(evidence.get("run_id", ""))),
        ("Target", str(evidence.get("target", ""))),
        ("Phase", str(evidence.get("phase", ""))),
        ("Environment", str(evidence.get("environment", ""))),
        ("Started", str(evidence.get("started", ""))),
        ("Finished", str(evidence.get("finished", ""))),
        ("API calls", str(evidence.get("api_calls", {}).get("count", 0))),
        ("Checks", count_line(counts(evidence.get("results", [])))),
    ]


def interruption(evidence: dict[str, Any]) -> str | None:
    """The warning an interrupted run's reports start with, or None."""
    if not evidence.get("interrupted"):
        return None
    missing = len(not_run(evidence.get("results", [])))
    return (
        f"This run was interrupted: {missing} checks did not run (ERROR, 'not run'). "
        "The evidence is partial and is not a verdict of conformance."
    )


# --- Markdown ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_row(*cells: object) -> str:
    return "| " + " | ".join(_cell(str(c)) for c in cells) + " |"


def markdown(evidence: dict[str, Any]) -> str:
    lines = ["# Conformance matrix", ""]
    warning = interruption(evidence)
    if warning:
        lines += [f"**{warning}**", ""]
    lines += ["| Run | |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in _facts(evidence)]
    for section, items in by_section(rows(evidence)).items():
        lines += ["", f"## {section}", ""]
        lines += [
            "| Check | Value | Expected | Actual | Outcome | Detail |",
            "|---|---|---|---|---|---|",
        ]
        for r in items:
            lines.append(
                _md_row(r.check, r.subject, r.expected, r.actual, r.outcome.upper(), r.detail)
            )
    waivers = evidence.get("waivers") or []
    if waivers:
        lines += ["", "## Waivers", "", "| Check or pattern | State | Owner | Expires | Reason |"]
        lines.append("|---|---|---|---|---|")
        for w in waivers:
            lines.append(_md_row(w["check"], w["state"], w["owner"], w["expires"], w["reason"]))
    contradictions = evidence.get("contradictions") or []
    if contradictions:
        lines += ["", "## Document contradictions", ""]
        for c in contradictions:
            lines.append(f"- **{c['title']}**: {c['detail']} ({'; '.join(c['sections'])})")
    document = evidence.get("document")
    if document:
        lines += ["", "## Architecture document against the spec", ""]
        lines += [f"Document: `{document['path']}`", ""]
        lines += ["| Check | Value | Document | Spec | Outcome |", "|---|---|---|---|---|"]
        for result in document["results"]:
            for a in result["comparisons"]:
                if a["ok"]:
                    continue
                lines.append(
                    _md_row(
                        result["id"],
                        a["subject"],
                        f"{show(a['documented'])} at {a['document']}",
                        f"{show(a['specified'])} at {a['spec']}",
                        "FAILED",
                    )
                )
            agreed = sum(1 for a in result["comparisons"] if a["ok"])
            note = result["message"] or f"{agreed} values agree"
            lines.append(f"| {result['id']} | {_cell(note)} | | | {result['outcome'].upper()} |")
    return "\n".join(lines) + "\n"


# --- HTML ----------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
td.outcome{font-weight:bold}
tr.passed td.outcome{color:#17692c} tr.failed td.outcome,tr.error td.outcome{color:#b00020}
tr.waived td.outcome{color:#8a5a00} tr.skipped td.outcome{color:#555}
tr.failed,tr.error{background:#fff0f0} tr.waived{background:#fff8e6}
h2{font-size:1.1em;margin-top:1.5em}
p.interrupted{color:#b00020}
"""

SCRIPT = """
function filterRows(value){
  document.querySelectorAll('table.matrix tbody tr').forEach(function(tr){
    tr.hidden = value !== 'all' && !tr.classList.contains(value);
  });
}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(cls: str, header: tuple[str, ...], body: list[str], section: str = "") -> str:
    attr = f' data-section="{_e(section)}"' if section else ""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return (
        f'<table class="{cls}"{attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def page(evidence: dict[str, Any]) -> str:
    title = f"Conformance matrix · phase {evidence.get('phase')} · {evidence.get('environment')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta name="conformance-run-id" content="{_e(evidence.get("run_id", ""))}">',
        f"<title>{_e(title)}</title><style>{STYLE}</style><script>{SCRIPT}</script></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    warning = interruption(evidence)
    if warning:
        parts.append(f'<p class="interrupted"><strong>{_e(warning)}</strong></p>')
    facts = [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _facts(evidence)]
    parts.append(f'<table class="run"><tbody>{"".join(facts)}</tbody></table>')
    options = "".join(f'<option value="{o}">{o}</option>' for o in ("all", *OUTCOMES))
    parts.append(
        f'<p><label>Show <select onchange="filterRows(this.value)">{options}</select></label></p>'
    )
    header = ("Check", "Value", "Expected", "Actual", "Outcome", "Detail")
    for section, items in by_section(rows(evidence)).items():
        body = [
            f'<tr class="{r.outcome}"><td>{_e(r.check)}</td><td>{_e(r.subject)}</td>'
            f"<td>{_e(r.expected)}</td><td>{_e(r.actual)}</td>"
            f'<td class="outcome">{_e(r.outcome.upper())}</td><td>{_e(r.detail)}</td></tr>'
            for r in items
        ]
        parts.append(f"<h2>{_e(section)}</h2>")
        parts.append(_table("matrix", header, body, section))
    waivers = evidence.get("waivers") or []
    if waivers:
        body = [
            f"<tr><td>{_e(w['check'])}</td><td>{_e(w['state'])}</td><td>{_e(w['owner'])}</td>"
            f"<td>{_e(w['expires'])}</td><td>{_e(w['reason'])}</td></tr>"
            for w in waivers
        ]
        parts.append("<h2>Waivers</h2>")
        parts.append(
            _table("waivers", ("Check or pattern", "State", "Owner", "Expires", "Reason"), body)
        )
    contradictions = evidence.get("contradictions") or []
    if contradictions:
        parts.append("<h2>Document contradictions</h2><ul>")
        parts += [
            f"<li><b>{_e(c['title'])}</b>: {_e(c['detail'])} ({_e('; '.join(c['sections']))})</li>"
            for c in contradictions
        ]
        parts.append("</ul>")
    document = evidence.get("document")
    if document:
        body = []
        for result in document["results"]:
            for a in result["comparisons"]:
                if not a["ok"]:
                    body.append(
                        f'<tr class="failed"><td>{_e(result["id"])}</td><td>{_e(a["subject"])}</td>'
                        f"<td>{_e(show(a['documented']))} at {_e(a['document'])}</td>"
                        f"<td>{_e(show(a['specified']))} at {_e(a['spec'])}</td>"
                        '<td class="outcome">FAILED</td></tr>'
                    )
            agreed = sum(1 for a in result["comparisons"] if a["ok"])
            body.append(
                f'<tr class="{_e(result["outcome"])}"><td>{_e(result["id"])}</td>'
                f"<td>{_e(result['message'] or f'{agreed} values agree')}</td><td></td><td></td>"
                f'<td class="outcome">{_e(result["outcome"].upper())}</td></tr>'
            )
        parts.append(
            f"<h2>Architecture document against the spec</h2><p>{_e(document['path'])}</p>"
        )
        parts.append(_table("document", ("Check", "Value", "Document", "Spec", "Outcome"), body))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(evidence: dict[str, Any]) -> dict[str, str]:
    """The matrix files of an evidence, by file name, to be written with it as one set."""
    return {MARKDOWN_FILE: markdown(evidence), HTML_FILE: page(evidence)}


def write(directory: Path, evidence: dict[str, Any]) -> tuple[Path, Path]:
    """Rebuild ``DIR/conformance.md`` and ``DIR/conformance.html`` from kept evidence."""
    replace_together(directory, render(evidence))
    return directory / MARKDOWN_FILE, directory / HTML_FILE
