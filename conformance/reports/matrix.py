"""The report an auditor reads: the verdict and what failed first, then every documented value.

Built from an evidence dict alone (``DIR/evidence.json``), so a reviewer or auditor reads it
without the code, and it can be rebuilt later from kept evidence. One Markdown file and one
self-contained HTML page (inline CSS and script, no external resource) with the same content in
the same order: the run's verdict, counts by outcome, area and severity, and provenance; each
failure with severity, expected, actual, document section, note and remediation; every
documented value by section; the waivers; the document check's coverage and disagreements; the
document's contradictions. Both name the run id of their evidence and are written together
with it; an interrupted run says so at the top.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.evidence import (
    OUTCOMES,
    baseline,
    count_line,
    counts,
    environments_of,
    label,
    not_run,
    replace_together,
    stateful_changes,
    verdict,
)

MARKDOWN_FILE = "conformance.md"
HTML_FILE = "conformance.html"
SEVERITIES = ("critical", "high", "medium", "low")
FAILING = ("failed", "error")


@dataclass(frozen=True)
class Row:
    section: str
    check: str
    subject: str
    expected: str
    actual: str
    outcome: str
    detail: str


NOT_APPLICABLE = "not applicable:"  # how a check the phase does not document says so


def not_applicable_section(evidence: dict[str, Any]) -> str:
    """Where the checks of other phases are listed: after every documented value, together."""
    return f"Not applicable to phase {evidence.get('phase')} ({environments_of(evidence)})"


def rows(evidence: dict[str, Any]) -> list[Row]:
    """A row per comparison; a check that made none (skipped, error) is one row with its reason;
    the checks the phase does not document are listed apart, last."""
    out: list[Row] = []
    apart: list[Row] = []
    for result in evidence.get("results", []):
        comparisons = result.get("comparisons") or []
        if not comparisons:
            applies = not str(result.get("message", "")).startswith(NOT_APPLICABLE)
            (out if applies else apart).append(
                Row(
                    (result.get("section") or "(no document section)")
                    if applies
                    else not_applicable_section(evidence),
                    label(result),
                    result.get("title", ""),
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
                    c.get("section") or result.get("section") or "(no document section)",
                    label(result),
                    c["subject"],
                    show(c.get("expected")),
                    show(c.get("actual")),
                    outcome,
                    " · ".join(d for d in detail if d),
                )
            )
    return out + apart


def by_section(items: list[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in items:
        grouped.setdefault(row.section, []).append(row)
    return grouped


def show(value: Any) -> str:
    """A value as the document writes it: ``2048``, not ``2048.0``; ``none`` for no value."""
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


# --- What both reports show ------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A check that failed or could not be verified, as the head of the report shows it."""

    check: str
    title: str
    severity: str  # a check's severity, or "document" for a document-check item
    outcome: str
    message: str
    section: str
    remediation: str
    comparisons: list[tuple[str, str, str, str, str]]  # value, expected, actual, section, note


def failures(evidence: dict[str, Any]) -> list[Failure]:
    """Failed and errored checks, most severe first (checks that did not run are listed apart),
    then the document check's disagreements."""
    skipped = {id(r) for r in not_run(evidence.get("results", []))}
    found = [
        Failure(
            label(r),
            r.get("title", ""),
            str(r.get("severity", "")),
            r["outcome"],
            r.get("message", ""),
            r.get("section", ""),
            r.get("remediation", "") if r["outcome"] == "failed" else "",
            [
                (
                    c["subject"],
                    show(c.get("expected")),
                    show(c.get("actual")),
                    c.get("section") or r.get("section", ""),
                    c.get("note") or "",
                )
                for c in r.get("comparisons", [])
                if not c["ok"]
            ],
        )
        for r in evidence.get("results", [])
        if r["outcome"] in FAILING and id(r) not in skipped
    ]
    rank = {s: n for n, s in enumerate(SEVERITIES)}
    found.sort(key=lambda f: (rank.get(f.severity, len(rank)), f.outcome != "failed"))
    for r in (evidence.get("document") or {}).get("results", []):
        if r["outcome"] in FAILING:
            found.append(
                Failure(
                    label(r),
                    r.get("title", ""),
                    "document",
                    r["outcome"],
                    r.get("message", ""),
                    "",
                    "Correct the spec or the document, whichever is wrong, so they agree.",
                    [
                        (
                            a["subject"],
                            f"{show(a['documented'])} (document, {a['document']})",
                            f"{show(a['specified'])} (spec, {a['spec']})",
                            str(a["document"]),
                            "",
                        )
                        for a in r.get("comparisons", [])
                        if not a["ok"]
                    ],
                )
            )
    return found


def did_not_run(evidence: dict[str, Any]) -> dict[str, list[str]]:
    """The checks that ended without an outcome of their own, by reason."""
    grouped: dict[str, list[str]] = {}
    for r in not_run(evidence.get("results", [])):
        grouped.setdefault(str(r.get("message", "")), []).append(label(r))
    return grouped


def waived(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in evidence.get("results", []) if r["outcome"] == "waived"]


def by_area(evidence: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Outcomes per area (the first part of the check id), document checks included."""
    table: dict[str, Counter[str]] = {}
    results = [*evidence.get("results", []), *(evidence.get("document") or {}).get("results", [])]
    for r in results:
        table.setdefault(r["id"].split(".")[0], Counter())[r["outcome"]] += 1
    return {area: {o: n[o] for o in OUTCOMES} for area, n in sorted(table.items())}


def by_severity(evidence: dict[str, Any]) -> dict[str, dict[str, int]]:
    table = {s: Counter[str]() for s in SEVERITIES}
    for r in evidence.get("results", []):
        table.setdefault(str(r.get("severity")), Counter())[r["outcome"]] += 1
    return {s: {o: n[o] for o in OUTCOMES} for s, n in table.items()}


def provenance_facts(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    """Where the verdict comes from: suite, spec, document, target, time, calls, CI run."""
    found = evidence.get("provenance") or {}
    spec = found.get("spec") or {}
    document = found.get("document") or {}
    facts = [
        ("Run id", str(evidence.get("run_id", ""))),
        ("Suite", f"{found.get('suite_version') or 'unknown version'}"),
        ("Suite commit", found.get("suite_commit") or "not known (not run from a git checkout)"),
        ("Spec", f"{spec.get('path', '')} sha256 {spec.get('sha256') or 'unknown'}"),
    ]
    if document:
        facts.append(("Document", f"{document.get('path')} sha256 {document.get('sha256')}"))
    facts += [
        ("Target", str(evidence.get("target", ""))),
        ("Account", found.get("account") or "not stated by the target"),
        ("Regions", ", ".join(found.get("regions") or []) or "none read"),
        ("Phase", str(evidence.get("phase", ""))),
        ("Environment", environments_of(evidence)),
        ("Started", str(evidence.get("started", ""))),
        ("Finished", str(evidence.get("finished", ""))),
        ("API calls", str((evidence.get("api_calls") or {}).get("count", 0))),
    ]
    if found.get("ci_run"):
        facts.append(("CI run", str(found["ci_run"])))
    return facts


def interruption(evidence: dict[str, Any]) -> str | None:
    """The warning an interrupted run's reports start with, or None."""
    if not evidence.get("interrupted"):
        return None
    missing = len(not_run(evidence.get("results", [])))
    return (
        f"This run was interrupted: {missing} checks did not run (ERROR, 'not run'). "
        "The evidence is partial and is not a verdict of conformance."
    )


def _title(evidence: dict[str, Any]) -> str:
    return f"Conformance · phase {evidence.get('phase')} · {environments_of(evidence)}"


def _expires(waiver: dict[str, Any], evidence: dict[str, Any]) -> str:
    zone = evidence.get("waiver_timezone") or "UTC"
    return f"{waiver['expires']} (end of day, {zone})"


def _coverage(evidence: dict[str, Any]) -> list[tuple[str, list[str]]]:
    found = (evidence.get("document") or {}).get("coverage")
    if not found:
        return []
    return [
        ("Documented values with no spec value", found.get("documented_values_not_in_spec", [])),
        (
            "Documented values in the spec that no check verifies",
            found.get("documented_values_without_check", []),
        ),
        ("Checks without a document anchor", found.get("checks_without_document_anchor", [])),
    ]


def _outcome_counts(evidence: dict[str, Any]) -> str:
    return count_line(counts(evidence.get("results", [])))


# --- Markdown ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_row(*cells: object) -> str:
    return "| " + " | ".join(_cell(str(c)) for c in cells) + " |"


def _md_table(header: tuple[str, ...], body: Sequence[tuple[object, ...]]) -> list[str]:
    return [_md_row(*header), "|" + "---|" * len(header), *(_md_row(*r) for r in body)]


def markdown(evidence: dict[str, Any]) -> str:
    lines = [f"# {_title(evidence)}", ""]
    warning = interruption(evidence)
    if warning:
        lines += [f"**{warning}**", ""]
    lines += [f"**Verdict: {verdict(evidence)}** · checks: {_outcome_counts(evidence)}", ""]
    losses = stateful_changes(evidence)
    if losses:
        lines += [f"## Planned loss of data ({len(losses)})", ""]
        lines += [f"- {_cell(c['message'])}" for c in losses] + [""]
    found = failures(evidence)
    lines += [f"## Failures ({len(found)})", ""]
    if not found:
        lines += ["No check failed or could not be verified.", ""]
    for f in found:
        lines += [f"### {f.check} — {f.title} [{f.severity}] {f.outcome.upper()}", ""]
        if f.message:
            lines += [f"- reason: {f.message}"]
        if f.section and not f.comparisons:
            lines += [f"- document: {f.section}"]
        for subject, expected, actual, section, note in f.comparisons:
            lines += [f"- **{subject}**", f"  - expected: {expected}", f"  - actual: {actual}"]
            lines += [f"  - document: {section}"] + ([f"  - note: {note}"] if note else [])
        if f.remediation:
            lines += [f"- remediation: {f.remediation}"]
        lines.append("")
    for reason, ids in did_not_run(evidence).items():
        lines += [f"- **{len(ids)} did not run** ({reason}): {', '.join(ids)}", ""]
    for r in waived(evidence):
        lines += [f"- waived: {r['id']} [{r.get('severity')}] — {r.get('message', '')}", ""]
    lines += _baseline_md(evidence)
    facts = [("Verdict", verdict(evidence)), *provenance_facts(evidence)]
    facts.append(("Checks", _outcome_counts(evidence)))
    lines += ["## Run", "", *_md_table(("Run", ""), facts), ""]
    lines += ["### By area", ""]
    lines += _md_table(
        ("Area", *OUTCOMES), [(a, *n.values()) for a, n in by_area(evidence).items()]
    )
    lines += ["", "### By severity", ""]
    lines += _md_table(
        ("Severity", *OUTCOMES), [(s, *n.values()) for s, n in by_severity(evidence).items()]
    )
    lines += ["", "## Documented values by section"]
    for section, items in by_section(rows(evidence)).items():
        lines += ["", f"### {section}", ""]
        lines += _md_table(
            ("Check", "Value", "Expected", "Actual", "Outcome", "Detail"),
            [
                (r.check, r.subject, r.expected, r.actual, r.outcome.upper(), r.detail)
                for r in items
            ],
        )
    waivers = evidence.get("waivers") or []
    if waivers:
        lines += ["", "## Waivers", ""]
        lines += _md_table(
            ("Check or pattern", "State", "Owner", "Expires", "Reason"),
            [
                (w["check"], w["state"], w["owner"], _expires(w, evidence), w["reason"])
                for w in waivers
            ],
        )
    for heading, listed in _coverage(evidence):
        lines += ["", f"## Coverage: {heading.lower()} ({len(listed)})", ""]
        lines += [f"- {_cell(item)}" for item in listed] or ["- none"]
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
                if not a["ok"]:
                    lines.append(
                        _md_row(
                            label(result),
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


# --- checkov's baseline (--checkov): beside the checks, never in the verdict ---------------

BASELINE_TITLE = "Baseline hardening: checkov (not part of the verdict)"
BASELINE_NOTE = (
    "checkov's generic rules, not the document's values: its findings never change a check's "
    "outcome, the verdict or the exit status."
)


def baseline_headline(part: dict[str, Any]) -> str:
    """checkov's counts in one line, or why it gave none."""
    if part.get("error"):
        return f"checkov gave no baseline for {part.get('scanned')}: {part['error']}"
    n = part["counts"]
    return (
        f"checkov {part.get('version') or ''} on {part['scanned']}: {n['passed']} passed, "
        f"{n['failed']} failed, {n['skipped']} skipped "
        f"({n['documented decisions']} documented decisions)"
    )


def where(finding: dict[str, Any]) -> str:
    """A finding's ``file:line``."""
    line = finding.get("line")
    return f"{finding.get('file')}:{line}" if line else str(finding.get("file"))


def _baseline_md(evidence: dict[str, Any]) -> list[str]:
    part = baseline(evidence)
    if part is None:
        return []
    lines = [f"## {BASELINE_TITLE}", "", baseline_headline(part), "", BASELINE_NOTE, ""]
    for heading, header, table_rows in _baseline_tables(part):
        lines += [f"### {heading}", "", *_md_table(header, table_rows), ""]
    return lines


BaselineTable = tuple[str, tuple[str, ...], list[tuple[object, ...]]]


def _baseline_tables(part: dict[str, Any]) -> list[BaselineTable]:
    """(heading, header, rows) of each non-empty list of findings, as both formats show them."""
    tables: list[BaselineTable] = [
        (
            f"Failed ({len(part.get('failed') or [])})",
            ("checkov", "Name", "Resource", "File", "Guideline"),
            [
                (f["check"], f["name"], f["resource"], where(f), f.get("guideline") or "")
                for f in part.get("failed") or []
            ],
        ),
        (
            f"Documented decisions ({len(part.get('documented_decisions') or [])})",
            ("checkov", "Resource", "File", "Document", "Why"),
            [
                (f["check"], f["resource"], where(f), f["section"], f["reason"])
                for f in part.get("documented_decisions") or []
            ],
        ),
        (
            f"Skipped in the configuration ({len(part.get('skipped') or [])})",
            ("checkov", "Resource", "File", "Reason"),
            [(f["check"], f["resource"], where(f), f["reason"]) for f in part.get("skipped") or []],
        ),
    ]
    return [t for t in tables if t[2]]


def _baseline_html(evidence: dict[str, Any]) -> list[str]:
    part = baseline(evidence)
    if part is None:
        return []
    parts = [
        f'<section id="baseline"><h2>{_e(BASELINE_TITLE)}</h2>',
        f"<p>{_e(baseline_headline(part))}</p><p>{_e(BASELINE_NOTE)}</p>",
    ]
    for heading, header, table_rows in _baseline_tables(part):
        body = [
            f"<tr><td><code>{_e(row[0])}</code></td>"
            + "".join(f"<td>{_e(cell)}</td>" for cell in row[1:])
            + "</tr>"
            for row in table_rows
        ]
        parts.append(
            f"<details><summary>{_e(heading)}</summary>{_table('baseline', header, body)}</details>"
        )
    parts.append("</section>")
    return parts


# --- HTML ----------------------------------------------------------------------------------

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:1em 1.5em;max-width:1600px;
color:#1d1d1f;overflow-wrap:anywhere}
h1{font-size:1.35em;margin:.2em 0 .4em} h2{font-size:1.15em;margin:1.2em 0 .5em}
h3{font-size:1em;margin:0 0 .4em}
.head{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:1.2em;align-items:start}
@media (max-width:900px){.head{grid-template-columns:minmax(0,1fr)}}
.verdict{padding:.6em .9em;border-radius:6px;font-size:1.1em;margin-bottom:.8em}
.verdict.conformant{background:#e7f6ea;border:1px solid #17692c}
.verdict.not-conformant,.verdict.interrupted{background:#fdecee;border:1px solid #b00020}
.verdict b{text-transform:uppercase}
.failure{border:1px solid #e3b3ba;border-left:5px solid #b00020;border-radius:4px;
padding:.6em .8em;margin:0 0 .8em;background:#fff}
.failure.error{border-left-color:#7a0016}
.sev{display:inline-block;font-size:.75em;font-weight:bold;text-transform:uppercase;
padding:.05em .45em;border-radius:3px;background:#555;color:#fff;vertical-align:middle}
.sev.critical{background:#7a0016} .sev.high{background:#b00020} .sev.medium{background:#b86e00}
.sev.low{background:#555} .sev.document{background:#3b4a9c}
dl.cmp{display:grid;grid-template-columns:7em minmax(0,1fr);gap:.1em .6em;margin:.3em 0}
dl.cmp dt{color:#555} dl.cmp dd{margin:0}
.remediation{margin:.4em 0 0;padding:.3em .5em;background:#f3f6ff;border-radius:3px}
aside dl{display:grid;grid-template-columns:7.5em minmax(0,1fr);gap:.1em .6em;margin:0;
font-size:.9em} aside dd{margin:0}
code{font:.95em ui-monospace,monospace}
table{border-collapse:collapse;margin:.4em 0 1em;width:100%;table-layout:fixed}
th,td{border:1px solid #ccc;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
table.counts{font-size:.85em} table.counts td,table.counts th{padding:.1em .3em}
table.counts th{overflow-wrap:normal;font-size:.9em}
td.outcome{font-weight:bold}
tr.passed td.outcome{color:#17692c} tr.failed td.outcome,tr.error td.outcome{color:#b00020}
tr.waived td.outcome{color:#8a5a00} tr.skipped td.outcome{color:#555}
tr.failed,tr.error{background:#fff0f0} tr.waived{background:#fff8e6}
details.section{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.2em .6em}
details.section summary{cursor:pointer;font-weight:600;padding:.2em 0}
summary .tally{font-weight:normal;color:#555;margin-left:.5em}
p.interrupted{color:#b00020;font-weight:bold}
"""

SCRIPT = """
function filterRows(value){
  document.querySelectorAll('details.section').forEach(function(section){
    var shown = 0;
    section.querySelectorAll('tbody tr').forEach(function(tr){
      tr.hidden = value !== 'all' && !tr.classList.contains(value);
      if (!tr.hidden) shown++;
    });
    section.hidden = shown === 0;
    section.open = value !== 'all' && shown > 0 || section.dataset.open === 'yes';
  });
}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(
    cls: str,
    header: tuple[str, ...],
    body: list[str],
    widths: tuple[int, ...] = (),
    section: str = "",
) -> str:
    attr = f' data-section="{_e(section)}"' if section else ""
    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return (
        f'<table class="{cls}"{attr}><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _failure_html(f: Failure) -> str:
    parts = [
        f'<article class="failure {_e(f.outcome)}" id="failure-{_e(f.check)}">',
        f'<h3><span class="sev {_e(f.severity)}">{_e(f.severity)}</span> '
        f'<code class="check-id">{_e(f.check)}</code> {_e(f.title)} '
        f"<b>{_e(f.outcome.upper())}</b></h3>",
    ]
    if f.message:
        parts.append(f'<p class="reason">{_e(f.message)}</p>')
    if f.section and not f.comparisons:
        parts.append(f'<dl class="cmp"><dt>Document</dt><dd>{_e(f.section)}</dd></dl>')
    for subject, expected, actual, section, note in f.comparisons:
        items = [("Value", subject), ("Expected", expected), ("Actual", actual)]
        items += [("Document", section)] + ([("Note", note)] if note else [])
        parts.append(
            '<dl class="cmp">'
            + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
            + "</dl>"
        )
    if f.remediation:
        parts.append(f'<p class="remediation"><b>Remediation:</b> {_e(f.remediation)}</p>')
    parts.append("</article>")
    return "".join(parts)


def _counts_table(cls: str, first: str, table: dict[str, dict[str, int]]) -> str:
    body = [
        f"<tr><td>{_e(name)}</td>"
        + "".join(f"<td>{n or ''}</td>" for n in counted.values())
        + "</tr>"
        for name, counted in table.items()
    ]
    return _table(cls, (first, *OUTCOMES), body, (28, 14, 14, 14, 14, 16))


def page(evidence: dict[str, Any]) -> str:
    title = _title(evidence)
    state = verdict(evidence)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="conformance-run-id" content="{_e(evidence.get("run_id", ""))}">',
        f"<title>{_e(title)}</title><style>{STYLE}</style><script>{SCRIPT}</script></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    warning = interruption(evidence)
    if warning:
        parts.append(f'<p class="interrupted">{_e(warning)}</p>')
    found = failures(evidence)
    parts += [
        '<div class="head"><main>',
        f'<p class="verdict {_e(state.replace(" ", "-"))}">Verdict: <b>{_e(state)}</b> · '
        f"checks: {_e(_outcome_counts(evidence))}</p>",
    ]
    losses = stateful_changes(evidence)
    if losses:
        lost = "".join(f"<li>{_e(c['message'])}</li>" for c in losses)
        parts.append(
            f'<section id="stateful-changes"><h2>Planned loss of data ({len(losses)})</h2>'
            f"<ul>{lost}</ul></section>"
        )
    parts.append(f'<section id="failures"><h2>Failures ({len(found)})</h2>')
    if not found:
        parts.append("<p>No check failed or could not be verified.</p>")
    parts += [_failure_html(f) for f in found]
    for reason, ids in did_not_run(evidence).items():
        parts.append(
            f'<p class="not-run"><b>{len(ids)} did not run</b> ({_e(reason)}): '
            f"{_e(', '.join(ids))}</p>"
        )
    for r in waived(evidence):
        parts.append(
            f'<p class="waived">Waived: <code>{_e(label(r))}</code> '
            f"[{_e(r.get('severity'))}] {_e(r.get('message', ''))}</p>"
        )
    facts = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in provenance_facts(evidence))
    parts += [
        "</section>",
        *_baseline_html(evidence),
        "</main>",
        f'<aside><h2>Run</h2><dl class="provenance">{facts}</dl>',
        "<h2>By severity</h2>",
        _counts_table("counts severity", "severity", by_severity(evidence)),
        "<h2>By area</h2>",
        _counts_table("counts area", "area", by_area(evidence)),
        "</aside></div>",
    ]
    options = "".join(f'<option value="{o}">{o}</option>' for o in ("all", *OUTCOMES))
    parts.append(
        '<h2 id="values">Documented values by section</h2>'
        f'<p><label>Show <select onchange="filterRows(this.value)">{options}</select></label> '
        "(sections without a matching row are hidden)</p>"
    )
    header = ("Check", "Value", "Expected", "Actual", "Outcome", "Detail")
    for section, items in by_section(rows(evidence)).items():
        body = [
            f'<tr class="{_e(r.outcome)}"><td><code>{_e(r.check)}</code></td>'
            f"<td>{_e(r.subject)}</td><td>{_e(r.expected)}</td><td>{_e(r.actual)}</td>"
            f'<td class="outcome">{_e(r.outcome.upper())}</td><td>{_e(r.detail)}</td></tr>'
            for r in items
        ]
        tally = Counter(r.outcome for r in items)
        problem = any(r.outcome in (*FAILING, "waived") for r in items)
        summary = ", ".join(f"{n} {o}" for o, n in tally.items())
        parts.append(
            f'<details class="section" data-open="{"yes" if problem else "no"}"'
            f"{' open' if problem else ''}><summary>{_e(section)}"
            f'<span class="tally">{_e(summary)}</span></summary>'
            + _table("matrix", header, body, (17, 22, 17, 17, 8, 19), section)
            + "</details>"
        )
    waivers = evidence.get("waivers") or []
    if waivers:
        body = [
            f"<tr><td><code>{_e(w['check'])}</code></td><td>{_e(w['state'])}</td>"
            f"<td>{_e(w['owner'])}</td><td>{_e(_expires(w, evidence))}</td>"
            f"<td>{_e(w['reason'])}</td></tr>"
            for w in waivers
        ]
        parts.append("<h2>Waivers</h2>")
        parts.append(
            _table(
                "waivers",
                ("Check or pattern", "State", "Owner", "Expires", "Reason"),
                body,
                (20, 12, 12, 22, 34),
            )
        )
    coverage = _coverage(evidence)
    if coverage:
        parts.append('<h2 id="coverage">Coverage of the document</h2>')
        for heading, listed in coverage:
            entries = "".join(f"<li>{_e(i)}</li>" for i in listed) or "<li>none</li>"
            parts.append(
                f"<details{' open' if listed and len(listed) <= 10 else ''}><summary>"
                f"{_e(heading)} ({len(listed)})</summary><ul>{entries}</ul></details>"
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
                        f'<tr class="failed"><td>{_e(label(result))}</td>'
                        f"<td>{_e(a['subject'])}</td>"
                        f"<td>{_e(show(a['documented']))} at {_e(a['document'])}</td>"
                        f"<td>{_e(show(a['specified']))} at {_e(a['spec'])}</td>"
                        '<td class="outcome">FAILED</td></tr>'
                    )
            agreed = sum(1 for a in result["comparisons"] if a["ok"])
            body.append(
                f'<tr class="{_e(result["outcome"])}"><td>{_e(label(result))}</td>'
                f"<td>{_e(result['message'] or f'{agreed} values agree')}</td><td></td><td></td>"
                f'<td class="outcome">{_e(result["outcome"].upper())}</td></tr>'
            )
        parts.append(
            f"<h2>Architecture document against the spec</h2><p>{_e(document['path'])}</p>"
        )
        parts.append(
            _table(
                "document",
                ("Check", "Value", "Document", "Spec", "Outcome"),
                body,
                (18, 24, 24, 24, 10),
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(evidence: dict[str, Any]) -> dict[str, str]:
    """The matrix files of an evidence, by file name, to be written with it as one set."""
    return {MARKDOWN_FILE: markdown(evidence), HTML_FILE: page(evidence)}


def write(directory: Path, evidence: dict[str, Any]) -> tuple[Path, Path]:
    """Rebuild ``DIR/conformance.md`` and ``DIR/conformance.html`` from kept evidence."""
    replace_together(directory, render(evidence))
    return directory / MARKDOWN_FILE, directory / HTML_FILE
