"""The architecture document checked against the spec: one edited number on either side fails."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conformance.checks import load_checks
from conformance.reports.document import DocResult, check_document, coverage
from conformance.spec import load_spec, spec_path
from tests.conftest import ROOT, run_suite

DOCUMENT = ROOT.parent / "shared" / "seeds" / "000_2b72c41eb6d740da.txt"
SPEC = spec_path(1)

pytestmark = pytest.mark.skipif(
    not DOCUMENT.exists(), reason=f"the architecture document is not beside the repo: {DOCUMENT}"
)


def _check(doc: Path = DOCUMENT, spec: Path = SPEC) -> dict[str, DocResult]:
    results, _, _ = check_document(doc, load_spec(1, spec), spec, "production")
    return {r.check.id: r for r in results}


def _edit(source: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of ``source`` with ``old`` (which occurs once) replaced; returns its 1-based line."""
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    line = text[: text.index(old)].count("\n") + 1
    copy = tmp_path / source.name
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy, line


def test_the_shipped_document_and_spec_agree_despite_the_documents_own_contradictions() -> None:
    results = _check()
    assert {i: r.outcome for i, r in results.items()} == dict.fromkeys(results, "passed")
    # The Resource Allocation total (~7,040 MB) contradicts its rows (8,064 MB): the total is
    # compared as written, and the rows row by row; neither makes the document check fail.
    total = next(
        a for a in results["doc.resource_allocation"].agreements if a.subject == "total memory (MB)"
    )
    assert (total.documented, total.specified, total.ok) == (7040, 7040, True)
    assert sum(len(r.agreements) for r in results.values()) > 150


@pytest.mark.parametrize(
    ("old", "new", "check", "subject"),
    [
        ("| Storage | 20 GB gp3 |", "| Storage | 25 GB gp3 |", "doc.database", "storage (GB)"),
        (
            "| Backup Retention | 7 days |\n| PITR | Disabled |",
            "| Backup Retention | 14 days |\n| PITR | Disabled |",
            "doc.database",
            "database Backup Retention",
        ),
        (
            "| EC2 High CPU | CPUUtilization | >70% for 10 min",
            "| EC2 High CPU | CPUUtilization | >75% for 10 min",
            "doc.alarms",
            "ec2-high-cpu threshold",
        ),
        (
            "| redis | 0.15 vCPU | 640 MB |",
            "| redis | 0.15 vCPU | 768 MB |",
            "doc.resource_allocation",
            "redis memory limit (MB)",
        ),
        (
            "│   └── us-east-1a: 10.0.1.0/24",
            "│   └── us-east-1a: 10.0.3.0/24",
            "doc.subnets",
            "public subnet in us-east-1a",
        ),
        (
            "| Inbound | TCP | 5432 | sg-ec2-web |",
            "| Inbound | TCP | 5433 | sg-ec2-web |",
            "doc.security_groups",
            None,
        ),
        (
            '          cpus: "0.15"\n          memory: 640M',
            '          cpus: "0.20"\n          memory: 640M',
            "doc.compose",
            "redis CPU limit",
        ),
        ("rate=5r/s", "rate=10r/s", "doc.nginx", "rate zone auth rate"),
        ("| Max Memory | 512 MB |", "| Max Memory | 1 GB |", "doc.redis", "redis maxmemory (MB)"),
        (
            "**Primary Region**: us-east-1",
            "**Primary Region**: us-east-2",
            "doc.phase_tables",
            "primary region",
        ),
    ],
)
def test_one_number_edited_in_the_document_fails_naming_document_line_and_spec_line(
    tmp_path: Path, old: str, new: str, check: str, subject: str | None
) -> None:
    doc, line = _edit(DOCUMENT, tmp_path, old, new)
    results = _check(doc=doc)
    failed = {i for i, r in results.items() if r.outcome != "passed"}
    assert failed == {check}
    report = results[check].describe()
    assert f"{doc}:{line}" in report
    assert re.search(r"specs/phase-1\.yaml:\d+ [a-z_]+", report), report
    if subject:
        assert subject in report


def test_one_number_edited_in_the_spec_fails_naming_both(tmp_path: Path) -> None:
    spec, line = _edit(SPEC, tmp_path, "      storage_gb: 20\n", "      storage_gb: 30\n")
    results = _check(spec=spec)
    assert {i for i, r in results.items() if r.outcome != "passed"} == {"doc.database"}
    report = results["doc.database"].describe()
    assert "storage (GB)" in report
    assert "document: 20" in report and "spec:     30" in report
    assert f"{spec}:{line} environments.production.database.storage_gb" in report
    doc_line = DOCUMENT.read_text().splitlines().index("| Storage | 20 GB gp3 |") + 1
    assert f"{DOCUMENT}:{doc_line}" in report


def test_a_port_changed_in_the_document_names_the_row_and_the_spec_rule(tmp_path: Path) -> None:
    doc, line = _edit(DOCUMENT, tmp_path, "| Inbound | TCP | 443 |", "| Inbound | TCP | 8443 |")
    report = _check(doc=doc)["doc.security_groups"].describe()
    assert f"sg-ec2-web inbound 8443\n    document: 8443  at {doc}:{line}" in report
    assert "sg-ec2-web inbound 443\n    document: absent  at not in the document" in report
    assert "environments.production.security_groups.groups.ec2-web.ingress.1.port" in report


def test_a_renamed_section_breaks_the_spec_anchors_and_the_checks_reading_it(
    tmp_path: Path,
) -> None:
    doc, _ = _edit(
        DOCUMENT,
        tmp_path,
        "### Database Configuration\n\n| Setting | Phase 1",
        "### Database Settings\n\n| Setting | Phase 1",
    )
    results = _check(doc=doc)
    assert results["doc.database"].outcome == "error"
    assert "Database Configuration' (no such heading" in results["doc.database"].message
    assert results["doc.sections"].outcome == "failed"
    assert "environments.production.database.section" in results["doc.sections"].describe()
    _, document, specfile = check_document(doc, load_spec(1), SPEC, "production")
    gaps = coverage(document, specfile, list(results.values()), load_checks())
    assert any(line.startswith("rds.") for line in gaps.unanchored), gaps.unanchored


def test_coverage_both_ways_on_the_shipped_document() -> None:
    results, document, specfile = check_document(DOCUMENT, load_spec(1), SPEC, "production")
    gaps = coverage(document, specfile, results, load_checks())
    assert gaps.unanchored == []
    assert any("(Redis Configuration): Image | redis:7-alpine" in v for v in gaps.not_in_spec)
    assert any("(TLS Configuration): the bash block" in v for v in gaps.not_in_spec)
    # Rows the document checks compare are not listed as missing from the spec.
    assert not any("(Database Configuration)" in v for v in gaps.not_in_spec)


def test_pytest_with_architecture_doc_fails_on_an_edited_document(tmp_path: Path) -> None:
    phase_1 = "| Read Replicas | 0 |\n| Backup Retention | 7 days |\n| PITR | Disabled |"
    doc, line = _edit(DOCUMENT, tmp_path, phase_1, phase_1.replace("| 0 |", "| 1 |"))
    done = run_suite("specs/phase-1.yaml", f"--architecture-doc={doc}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED specs/phase-1.yaml::doc.database" in done.stdout
    assert f"document: 1  at {doc}:{line} (Database Configuration, Read Replicas)" in done.stdout
    assert "spec:     0  at specs/phase-1.yaml:" in done.stdout
    assert "database.read_replicas" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].count("failed") == 1


def test_pytest_with_the_shipped_document_passes_and_reports_coverage(tmp_path: Path) -> None:
    shutil.copy(DOCUMENT, tmp_path / "architecture.md")
    done = run_suite("specs/phase-1.yaml", f"--architecture-doc={tmp_path / 'architecture.md'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "architecture document against the spec" in done.stdout
    assert "checks without a document anchor: 0" in done.stdout


def test_a_missing_architecture_doc_is_a_usage_error(tmp_path: Path) -> None:
    done = run_suite(f"--architecture-doc={tmp_path / 'nope.md'}")
    assert done.returncode == 4
    assert "nope.md" in done.stderr and "Traceback" not in done.stderr
