"""The conformance matrix: written with --evidence, opened in headless Chromium and read back."""

from __future__ import annotations

import json
import shutil
import subprocess
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
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return directory, done


def _dump_dom(page: Path, tmp_path: Path) -> str:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run scripts/setup.d/chromium.sh (or bootstrap)"
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, profile, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_html_matrix_read_back_from_chromium_shows_every_documented_value(
    drifted: tuple[Path, Any], tmp_path: Path
) -> None:
    directory, _ = drifted
    evidence = json.loads((directory / "evidence.json").read_text())
    tables = Tables()
    tables.feed(_dump_dom(directory / matrix.HTML_FILE, tmp_path))
    shown = [(section, cells) for section, cells in tables.rows]
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
    for fact in ("Target", "Phase", "Environment", "Started", "API calls"):
        assert f"<th>{fact}</th>" in page
    assert "moto (us-east-1) with drift sg-web-extra-port" in page
    md = (directory / matrix.MARKDOWN_FILE).read_text()
    assert "## Phase 1 — Current Deployment (Launch) > Security Groups" in md
    assert (
        "| sg.ec2_web.no_extra_ingress | accountabilityatlas-ec2-web (sg-" in md
        and "| none | [tcp/8080-8080 from 0.0.0.0/0] | FAILED |" in md
    )
    assert "| net.nat.absent | not needed | ops | 2999-12-31 | NAT for the migration |" in md
    assert "| doc.database | 10 values agree | | | PASSED |" in md
    assert "## Document contradictions" in md


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
    assert "| Verdict | not conformant |" in md and "<td>not conformant</td>" in page
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith(".")) == []
    matrix.write(tmp_path, evidence)  # rebuilt from kept evidence: the same run id
    assert f"| Run id | {evidence['run_id']} |" in (tmp_path / matrix.MARKDOWN_FILE).read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [matrix.HTML_FILE, matrix.MARKDOWN_FILE]
