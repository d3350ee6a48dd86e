"""The conformance matrix: written with --evidence, opened in headless Chromium and read back."""

from __future__ import annotations

import html
import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from hashlib import sha256
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conformance.reports import matrix
from tests.conftest import ROOT, run_suite

DOCUMENT = ROOT.parent / "shared" / "seeds" / "000_2b72c41eb6d740da.txt"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


class Tables(HTMLParser):
    """The rows of every ``table.matrix`` in a DOM, as (section, cells)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._section: str | None = None
        self._cells: list[str] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and "matrix" in (found.get("class") or "").split():
            self._section = found.get("data-section") or ""
        elif tag == "tr" and self._section is not None:
            self._cells = []
        elif tag == "td" and self._cells is not None:
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cells is not None and self._text is not None:
            self._cells.append("".join(self._text))
            self._text = None
        elif tag == "tr" and self._cells is not None:
            if self._cells and self._section is not None:
                self.rows.append((self._section, self._cells))
            self._cells = None
        elif tag == "table":
            self._section = None


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """One Phase-1 run with a drift, a waiver, and the document check: its evidence directory."""
    directory = tmp_path_factory.mktemp("evidence")
    waivers = directory / "waivers.yaml"
    waivers.write_text(
        "waivers:\n  - {check: net.nat.absent, reason: NAT for the migration, owner: ops, "
        "expires: 2999-12-31}\n"
    )
    done = run_suite(
        "-k",
        "net. or sg. or doc.",
        "--drift",
        "sg-web-extra-port",
        f"--waivers={waivers}",
        f"--architecture-doc={DOCUMENT}",
        f"--evidence={directory}",
        f"--junitxml={directory / 'junit.xml'}",
        env=CI,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return directory, done


CI = {
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "acme/infra",
    "GITHUB_RUN_ID": "4242",
}


def _chromium(page: Path, tmp_path: Path, *flags: str) -> str:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run scripts/setup.d/chromium.sh (or bootstrap)"
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, profile, "--window-size=1280,800", *flags, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _dump_dom(page: Path, tmp_path: Path) -> str:
    return _chromium(page, tmp_path, "--dump-dom")


# Added to a copy of the page: where things are laid out at 1280 x 800, written into the DOM.
MEASURE = """<script>
window.addEventListener('load', function () {
  function box(selector) {
    var found = document.querySelector(selector);
    if (!found) return null;
    var r = found.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, text: found.textContent};
  }
  var layout = {
    viewport: [window.innerWidth, window.innerHeight],
    scrollWidth: document.documentElement.scrollWidth,
    verdict: box('.verdict'),
    check: box('.failure .check-id'),
    remediation: box('.failure .remediation'),
    provenance: box('dl.provenance'),
    wider: Array.from(document.querySelectorAll('body *')).filter(function (e) {
      return e.getBoundingClientRect().right > window.innerWidth + 1;
    }).length
  };
  filterRows('failed');
  layout.shownWhenFailed = Array.from(document.querySelectorAll('details.section'))
    .filter(function (d) { return !d.hidden; }).map(function (d) { return d.open; });
  layout.hiddenWhenFailed = document.querySelectorAll('details.section[hidden]').length;
  layout.sections = document.querySelectorAll('details.section').length;
  var out = document.createElement('pre');
  out.id = 'layout';
  out.textContent = JSON.stringify(layout);
  document.body.appendChild(out);
});
</script>"""


def _layout(directory: Path, tmp_path: Path) -> dict[str, Any]:
    measured = tmp_path / "measured.html"
    page = (directory / matrix.HTML_FILE).read_text()
    measured.write_text(page.replace("</body>", MEASURE + "</body>"))
    dom = _chromium(measured, tmp_path, "--dump-dom", "--virtual-time-budget=5000")
    start = dom.index('<pre id="layout">') + len('<pre id="layout">')
    return dict(json.loads(html.unescape(dom[start : dom.index("</pre>", start)])))


def test_the_html_matrix_read_back_from_chromium_shows_every_documented_value(
    drifted: tuple[Path, Any], tmp_path: Path
) -> None:
    directory, _ = drifted
    evidence = json.loads((directory / "evidence.json").read_text())
    tables = Tables()
    tables.feed(_dump_dom(directory / matrix.HTML_FILE, tmp_path))
    apart = matrix.not_applicable_section(evidence)
    shown = [(section, cells) for section, cells in tables.rows if section != apart]
    # The checks of later phases are listed apart, last, each saying it does not apply.
    later = [cells for section, cells in tables.rows if section == apart]
    assert later and tables.rows[-len(later) :] == [(apart, cells) for cells in later]
    assert {cells[4] for cells in later} == {"SKIPPED"}
    expected = [
        (c["section"], c["subject"], matrix.show(c["expected"]), matrix.show(c["actual"]))
        for r in evidence["results"]
        for c in r["comparisons"]
    ]
    assert sorted((s, cells[1], cells[2], cells[3]) for s, cells in shown) == sorted(expected)
    failing = [cells for _, cells in shown if cells[4] == "FAILED"]
    assert [(c[0], c[2], c[3]) for c in failing] == [
        ("sg.ec2_web.no_extra_ingress", "none", "[tcp/8080-8080 from 0.0.0.0/0]")
    ]
    assert {cells[4] for _, cells in shown} == {"PASSED", "FAILED"}


def test_the_matrix_is_self_contained_and_states_the_run(drifted: tuple[Path, Any]) -> None:
    directory, _ = drifted
    page = (directory / matrix.HTML_FILE).read_text()
    assert "src=" not in page and "href=" not in page and "@import" not in page
    for fact in ("Target", "Phase", "Environment", "Started", "API calls", "Suite commit"):
        assert f"<dt>{fact}</dt>" in page
    assert "moto (us-east-1) with drift sg-web-extra-port" in page
    md = (directory / matrix.MARKDOWN_FILE).read_text()
    assert "### Phase 1 — Current Deployment (Launch) > Security Groups" in md
    assert (
        "| sg.ec2_web.no_extra_ingress | accountabilityatlas-ec2-web (sg-" in md
        and "| none | [tcp/8080-8080 from 0.0.0.0/0] | FAILED |" in md
    )
    waiver = "| net.nat.absent | not needed | ops | 2999-12-31 (end of day, UTC) | NAT for the"
    assert waiver in md and waiver.replace(" | ", "</td><td>")[2:] in page.replace(
        "<code>", ""
    ).replace("</code>", "")
    assert "| doc.database | 11 values agree | | | PASSED |" in md
    assert "## Document contradictions" in md and "<h2>Document contradictions</h2>" in page


def test_provenance_is_in_the_evidence_and_in_both_reports(drifted: tuple[Path, Any]) -> None:
    directory, _ = drifted
    evidence = json.loads((directory / "evidence.json").read_text())
    found = evidence["provenance"]
    spec = ROOT / "specs" / "phase-1.yaml"
    assert found["spec"] == {"path": str(spec), "sha256": sha256(spec.read_bytes()).hexdigest()}
    assert found["document"]["sha256"] == sha256(DOCUMENT.read_bytes()).hexdigest()
    assert found["suite_version"] and found["regions"] == ["us-east-1"]
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert str(found["suite_commit"]).startswith(head)
    assert found["ci_run"] == "https://github.example/acme/infra/actions/runs/4242"
    md = (directory / matrix.MARKDOWN_FILE).read_text()
    page = (directory / matrix.HTML_FILE).read_text()
    for name, value in (
        ("Suite commit", found["suite_commit"]),
        ("CI run", found["ci_run"]),
        ("Regions", "us-east-1"),
    ):
        assert f"| {name} | {value} |" in md
        assert f"<dt>{name}</dt><dd>{value}</dd>" in page
    for digest in (found["spec"]["sha256"], found["document"]["sha256"]):
        assert digest in md and digest in page


def test_failures_come_first_with_severity_expected_actual_section_and_remediation(
    drifted: tuple[Path, Any],
) -> None:
    directory, _ = drifted
    md = (directory / matrix.MARKDOWN_FILE).read_text()
    failure = md.index("## Failures (1)\n\n### sg.ec2_web.no_extra_ingress — ")
    assert failure < md.index("## Run") < md.index("## Documented values by section")
    block = md[failure : md.index("## Run")]
    for line in (
        "[high] FAILED",
        "  - expected: none",
        "  - actual: [tcp/8080-8080 from 0.0.0.0/0]",
        "  - document: Phase 1 — Current Deployment (Launch) > Security Groups",
        "- remediation: Remove ingress rules the document does not list.",
    ):
        assert line in block, block
    assert "| sg | " in md and "| high | " in md  # counts by area and by severity


def test_the_failure_and_its_remediation_are_on_the_first_screen_without_overflow(
    drifted: tuple[Path, Any], tmp_path: Path
) -> None:
    """Headless Chromium at 1280 x 800: the failing check and what to do about it are visible
    without scrolling, nothing is wider than the window, and the filter hides empty sections."""
    directory, _ = drifted
    layout = _layout(directory, tmp_path)
    width, height = layout["viewport"]  # the height left once headless Chromium's frame is off
    assert width == 1280 and 600 < height <= 800, layout
    assert layout["scrollWidth"] <= 1280 and layout["wider"] == 0, layout
    assert layout["check"]["text"] == "sg.ec2_web.no_extra_ingress"
    assert "Remove ingress rules the document does not list." in layout["remediation"]["text"]
    for part in ("verdict", "check", "remediation", "provenance"):
        assert layout[part]["top"] >= 0 and layout[part]["bottom"] <= 800, (part, layout)
    assert layout["shownWhenFailed"] == [True]  # only Security Groups has a failed row, opened
    assert layout["hiddenWhenFailed"] == layout["sections"] - 1 > 1
    shot = tmp_path / "first-screen.png"
    _chromium(directory / matrix.HTML_FILE, tmp_path, f"--screenshot={shot}")
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])  # the PNG IHDR chunk
    assert (width, height) == (1280, 800)


def test_the_coverage_report_is_in_both_reports(drifted: tuple[Path, Any]) -> None:
    directory, _ = drifted
    coverage = json.loads((directory / "evidence.json").read_text())["document"]["coverage"]
    md = (directory / matrix.MARKDOWN_FILE).read_text()
    page = (directory / matrix.HTML_FILE).read_text()
    missing = coverage["documented_values_not_in_spec"]
    assert f"## Coverage: documented values with no spec value ({len(missing)})" in md
    assert f"Documented values with no spec value ({len(missing)})</summary>" in page
    assert all(html.escape(item, quote=True) in page for item in missing)
    assert "## Coverage: checks without a document anchor (0)\n\n- none" in md


def test_junit_properties_are_plain_text_or_json(drifted: tuple[Path, Any]) -> None:
    directory, _ = drifted
    cases = {c.get("name"): c for c in ET.parse(directory / "junit.xml").iter("testcase")}
    properties = {
        p.get("name"): p.get("value") for p in cases["sg.ec2_web.no_extra_ingress"].iter("property")
    }
    assert properties["expected"] == "none"
    assert properties["actual"] == '["tcp/8080-8080 from 0.0.0.0/0"]'


def test_evidence_keeps_the_document_check_and_its_coverage(drifted: tuple[Path, Any]) -> None:
    directory, _ = drifted
    evidence = json.loads((directory / "evidence.json").read_text())
    document = evidence["document"]
    assert {r["outcome"] for r in document["results"]} == {"passed"}
    assert document["coverage"]["checks_without_document_anchor"] == []
    assert document["coverage"]["documented_values_not_in_spec"]


def test_the_terminal_summary_ends_with_failures_by_area(drifted: tuple[Path, Any]) -> None:
    _, done = drifted
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "failures by area" in line)
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("="):
            break
        table.append(line.split())
    assert table == [["area", "failed", "error", "waived"], ["sg", "1", "0", "0"]]


def test_skipped_and_error_checks_appear_with_their_reason() -> None:
    evidence = {
        "target": "t",
        "phase": 1,
        "environment": "production",
        "api_calls": {"count": 3},
        "results": [
            {
                "id": "rds.engine",
                "title": "Engine",
                "outcome": "skipped",
                "message": "rds is not emulated by this target",
                "section": "Database Configuration",
                "comparisons": [],
            }
        ],
    }
    md = matrix.markdown(evidence)
    assert "| rds.engine | Engine | — | — | SKIPPED | rds is not emulated by this target |" in md
    assert "| API calls | 3 |" in md


def test_the_matrix_names_the_run_id_and_verdict_of_its_evidence(
    drifted: tuple[Path, Any], tmp_path: Path
) -> None:
    directory, _ = drifted
    evidence = json.loads((directory / "evidence.json").read_text())
    md = (directory / matrix.MARKDOWN_FILE).read_text()
    page = (directory / matrix.HTML_FILE).read_text()
    assert f"| Run id | {evidence['run_id']} |" in md
    assert f'<meta name="conformance-run-id" content="{evidence["run_id"]}">' in page
    assert "| Verdict | not conformant |" in md and "Verdict: <b>not conformant</b>" in page
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith(".")) == []
    matrix.write(tmp_path, evidence)  # rebuilt from kept evidence: the same run id
    assert f"| Run id | {evidence['run_id']} |" in (tmp_path / matrix.MARKDOWN_FILE).read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [matrix.HTML_FILE, matrix.MARKDOWN_FILE]
