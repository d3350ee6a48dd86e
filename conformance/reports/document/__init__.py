"""The architecture document checked against the spec, so the spec never drifts from it silently.

The document is read with a real Markdown parser (``parse``): its section headings, its tables
(with the line of every row), its fenced blocks and paragraphs. A phase file's ``anchors`` block
declares which table, row and column each spec value mirrors and how the cell is read; one
mechanism (``anchored``) reads and compares them all. What is not a table cell (the VPC tree, the
compose file, the nginx configuration, the security-group and alarm tables) is read by
hand-written readers (``blocks``, ``tables``) the phase file names with the section they read.
Each ``doc.*`` check gathers the anchors and readers assigned to it (``checks``); a disagreement
names the document line and the spec line. ``coverage`` lists what no anchor reads, what no check
verifies, and checks without a document section. Totals that contradict their own rows are not
compared here: they are document self-contradictions (``conformance.contradictions``).
"""

from __future__ import annotations

from pathlib import Path

from conformance.reports.document.checks import (
    DocCheck,
    DocResult,
    phase_checks,
    run_all,
    run_check,
)
from conformance.reports.document.compare import Agreement, Comparer
from conformance.reports.document.coverage import Coverage, coverage
from conformance.reports.document.parse import Document, DocumentMissing
from conformance.reports.document.spec_file import SpecFile, SpecMissing
from conformance.spec import PhaseSpec

__all__ = [
    "Agreement",
    "Comparer",
    "Coverage",
    "DocCheck",
    "DocResult",
    "Document",
    "DocumentMissing",
    "SpecFile",
    "SpecMissing",
    "check_document",
    "coverage",
    "phase_checks",
    "run_all",
    "run_check",
]


def check_document(
    doc_path: Path, spec: PhaseSpec, spec_path: Path, environment: str
) -> tuple[list[DocResult], Document, SpecFile]:
    """Load the document and run the phase's document checks against the given spec."""
    doc = Document.load(doc_path)
    specfile = SpecFile(spec, spec_path, environment)
    return run_all(doc, specfile), doc, specfile
