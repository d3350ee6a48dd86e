"""The architecture document checked against the spec: one edited number on either side fails,
for every phase with a spec; the coverage report lists what is not compared, and why."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance import contradictions
from conformance.checks import Check, load_checks
from conformance.reports.document import Coverage, DocResult, check_document, coverage
from conformance.spec import load_spec, spec_path
from tests.conftest import ROOT, run_suite

DOCUMENT = ROOT.parent / "shared" / "seeds" / "000_2b72c41eb6d740da.txt"
SPEC = spec_path(1)
SPEC_2 = spec_path(2)
SPEC_3 = spec_path(3)
SPEC_4 = spec_path(4)

pytestmark = pytest.mark.skipif(
    not DOCUMENT.exists(), reason=f"the architecture document is not beside the repo: {DOCUMENT}"
)


def _check(doc: Path = DOCUMENT, spec: Path = SPEC, phase: int = 1) -> dict[str, DocResult]:
    results, _, _ = check_document(doc, load_spec(phase, spec), spec, "production")
    return {r.check.id: r for r in results}


def _coverage(
    phase: int, checks: dict[str, Check[Any]] | None = None, spec: Path | None = None
) -> Coverage:
    path = spec or spec_path(phase)
    results, document, specfile = check_document(
        DOCUMENT, load_spec(phase, path), path, "production"
    )
    return coverage(document, specfile, results, checks or load_checks())


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
    gaps = _coverage(1)
    assert gaps.unanchored == []
    # Every Phase 1 row is compared or listed with the phase file's reason; the service
    # inventory (SQS, S3, Route 53, ECR, Secrets Manager), state backend and OIDC rows are compared.
    assert [v for v in gaps.not_in_spec if "(not checked: " not in v] == []
    assert any(
        "(Redis Configuration): Backup | Not required" in v and "not checked: " in v
        for v in gaps.not_in_spec
    )
    assert any("(TLS Configuration): the bash block (not checked: " in v for v in gaps.not_in_spec)
    listed = "\n".join(gaps.not_in_spec)
    for anchored in (
        "SQS",
        "S3 |",
        "Route 53",
        "ECR",
        "Secrets Manager",
        "State backend",
        "OIDC |",
    ):
        assert anchored not in listed
    # Every spec value has a check, or a reason it has none.
    assert all("(not verified: " in v for v in gaps.unchecked)
    assert [v.split(" ")[1] for v in gaps.unchecked] == [
        "environments.production.database.point_in_time_recovery",
        "environments.production.iac.tool",
        "environments.production.containers.total_cpus",
        "environments.production.containers.total_memory_mb",
    ]


def test_coverage_names_the_exact_field_a_missing_check_verified() -> None:
    """A declared check verifies its field, a hand-written one the fields of its group it reads:
    without them, exactly those values are listed, not their whole group."""
    checks = load_checks()
    fewer = {
        i: c for i, c in checks.items() if i not in ("rds.instance_class", "rds.read_replicas")
    }
    unchecked = [v.split(" ")[1] for v in _coverage(2, fewer).unchecked if "(not " not in v]
    assert unchecked == [
        "environments.production.database.instance_class",
        "environments.production.database.read_replicas",
    ]


PHASE_2_DB_REST = "| Read Replicas | 0 |\n| Backup Retention | 7 days |\n| PITR | Enabled |"
PHASE_2_SECTIONS = (
    "Key Changes from Phase 1",
    "AWS Services Added",
    "ECS Task Definitions",
    "DNS Configuration (Route 53)",
    "Database Configuration",
)


def test_phase_2_document_and_spec_agree_and_every_value_is_anchored() -> None:
    results = _check(spec=SPEC_2, phase=2)
    assert {i: r.outcome for i, r in results.items()} == dict.fromkeys(results, "passed")
    assert set(results) == {
        "doc.phase_tables",
        "doc.subnets",
        "doc.database",
        "doc.ecs",
        "doc.monitoring",
        "doc.services",
        "doc.sections",
    }
    ecs = {a.subject: a for a in results["doc.ecs"].agreements}
    assert len(ecs) == 8 * 4
    search = ecs["ecs.services.search-service.cpu"]
    assert (search.documented, search.specified, search.ok) == (512, 512, True)
    gaps = _coverage(2)
    # Every row of the Phase 2 section, the VPC tree, and the Phase 2 cells of the overview and
    # monitoring tables are compared, or listed with the reason they are not.
    assert gaps.unanchored == []
    assert all("(not checked: " in v for v in gaps.not_in_spec)
    assert not any(section in v for v in gaps.not_in_spec for section in PHASE_2_SECTIONS)
    assert sorted({v.split("(not checked: ")[1] for v in gaps.not_in_spec}) == [
        '"CloudWatch Metrics": AWS publishes the ECS, ALB and RDS metrics itself)',
        "Migration Triggers are business thresholds, not infrastructure values)",
        "a cost estimate, not checkable against the infrastructure)",
    ]
    # Every Phase 2 spec value is verified by a check, or the phase file says why not.
    assert [v.split(" ")[1] for v in gaps.unchecked] == ["environments.production.iac.tool"]
    assert "(not verified: OpenTofu leaves no mark of its own in AWS" in gaps.unchecked[0]


@pytest.mark.parametrize(
    ("old", "new", "check", "subject"),
    [
        (
            "| search-service | 512 | 1024 | 8084 |",
            "| search-service | 1024 | 1024 | 8084 |",
            "doc.ecs",
            "ecs.services.search-service.cpu",
        ),
        (
            "| web-app | 512 | 1024 | 3000 | /api/health |",
            "| web-app | 512 | 1024 | 3000 | /health |",
            "doc.ecs",
            "ecs.services.web-app.health_check",
        ),
        ("| Storage | 50 GB gp3 |", "| Storage | 60 GB gp3 |", "doc.database", "storage_gb"),
        (
            f"| Multi-AZ | No |\n{PHASE_2_DB_REST}",
            f"| Multi-AZ | Yes |\n{PHASE_2_DB_REST}",
            "doc.database",
            "multi_az",
        ),
        (
            "│   └── us-east-1b: 10.0.11.0/24",
            "│   └── us-east-1b: 10.0.12.0/24",
            "doc.subnets",
            "private subnet in us-east-1b",
        ),
        (
            "| api.accountabilityatlas.com | A | ALB |",
            "| api.accountabilityatlas.com | CNAME | ALB |",
            "doc.services",
            "services.dns_records.1.type",
        ),
        (
            "| ECS Fargate (1 task per service) |",
            "| ECS Fargate (2 tasks per service) |",
            "doc.phase_tables",
            "ecs.services.search-service.tasks",
        ),
        (
            "| Redis | Docker container | ElastiCache (cache.t3.medium) |",
            "| Redis | Docker container | ElastiCache (cache.t3.large) |",
            "doc.phase_tables",
            "cache.node_type",
        ),
        (
            "| PostgreSQL FTS (unchanged) |",
            "| OpenSearch |",
            "doc.phase_tables",
            "SPRING_PROFILES_ACTIVE",
        ),
        (
            "| 1 overview dashboard |",
            "| 1 operations dashboard |",
            "doc.monitoring",
            "monitoring.dashboards",
        ),
        (
            "| Full alarm suite (email) |",
            "| Full alarm suite (sms) |",
            "doc.monitoring",
            "alarms.notification_protocol",
        ),
    ],
)
def test_one_phase_2_value_edited_in_the_document_fails_naming_both_lines(
    tmp_path: Path, old: str, new: str, check: str, subject: str
) -> None:
    doc, line = _edit(DOCUMENT, tmp_path, old, new)
    results = _check(doc=doc, spec=SPEC_2, phase=2)
    assert {i for i, r in results.items() if r.outcome != "passed"} == {check}
    report = results[check].describe()
    assert f"{doc}:{line}" in report
    assert re.search(r"specs/phase-2\.yaml:\d+ environments\.production\.", report), report
    assert subject in report


def test_one_phase_2_value_edited_in_the_spec_fails_naming_both(tmp_path: Path) -> None:
    # The copy's carried groups resolve from the real specs/phase-1.yaml.
    spec, line = _edit(
        SPEC_2, tmp_path, "search-service: {cpu: 512,", "search-service: {cpu: 1024,"
    )
    results = _check(spec=spec, phase=2)
    assert {i for i, r in results.items() if r.outcome != "passed"} == {"doc.ecs"}
    report = results["doc.ecs"].describe()
    doc_line = (
        DOCUMENT.read_text()
        .splitlines()
        .index("| search-service | 512 | 1024 | 8084 | /actuator/health |")
    )
    assert "document: 512  at" in report and "spec:     1024  at" in report
    assert f"{DOCUMENT}:{doc_line + 1} (ECS Task Definitions, search-service, CPU)" in report
    assert f"{spec}:{line} environments.production.ecs.services.search-service.cpu" in report


def test_a_removed_phase_2_row_is_a_disagreement_naming_the_table(tmp_path: Path) -> None:
    doc, _ = _edit(DOCUMENT, tmp_path, "| PITR | Enabled |\n", "")
    report = _check(doc=doc, spec=SPEC_2, phase=2)["doc.database"].describe()
    assert "the table has no row 'PITR'" in report
    assert "environments.production.database.point_in_time_recovery" in report


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


def test_pytest_phase_2_with_the_shipped_document_passes(tmp_path: Path) -> None:
    shutil.copy(DOCUMENT, tmp_path / "architecture.md")
    done = run_suite(
        "specs/phase-2.yaml", "--phase=2", f"--architecture-doc={tmp_path / 'architecture.md'}"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout
    assert "documented values with no spec value (so no check): 6 (6 by design)" in done.stdout
    assert "documented values in the spec that no check verifies: 1 (1 by design)" in done.stdout


PHASE_3_CHECKS = {
    "doc.phase_tables",
    "doc.subnets",
    "doc.staging",
    "doc.database",
    "doc.search",
    "doc.cache",
    "doc.web_hosting",
    "doc.alarms",
    "doc.monitoring",
    "doc.tags",
    "doc.sections",
}


def test_phase_3_document_and_spec_agree_for_staging_and_production() -> None:
    results = _check(spec=SPEC_3, phase=3)
    assert {i: r.outcome for i, r in results.items()} == dict.fromkeys(PHASE_3_CHECKS, "passed")
    search = {a.subject: a for a in results["doc.search"].agreements}
    # The Staging column is staging's value, the Production column production's.
    staging, production = search["search.nodes [staging]"], search["search.nodes [production]"]
    assert (staging.documented, staging.specified) == (1, 1)
    assert "environments.staging.search.nodes" in staging.spec
    assert (production.documented, production.specified) == (3, 3)
    assert "environments.production.search.nodes" in production.spec
    # "> 80% max" is no number: 80% of db.r6g.large's 1802 default connections, rounded down.
    alarms = {a.subject: a for a in results["doc.alarms"].agreements}
    connections = alarms["alarms.alarms.rds-connections.threshold [production]"]
    assert (connections.documented, connections.specified, connections.ok) == (1441, 1441, True)
    assert "80% of 1802 max connections on db.r6g.large" in connections.document
    # Key Changes' "OpenSearch (t3.small.search)" agrees with staging, not with production.
    key_changes = [
        a
        for a in results["doc.phase_tables"].agreements
        if a.subject == "search.instance_type [staging]"
    ]
    assert [a.documented for a in key_changes] == ["t3.small.search"]


def test_phase_3_search_in_key_changes_is_reported_as_a_contradiction_for_production() -> None:
    spec = load_spec(3)
    found = contradictions.find(spec.environment("production"))
    assert [c.sections for c in found] == [
        (
            "Phase 3 — Scale > Key Changes from Phase 2",
            "Phase 3 — Scale > OpenSearch Configuration",
        )
    ]
    assert "t3.small.search" in found[0].detail and "r6g.large.search" in found[0].detail
    assert contradictions.find(spec.environment("staging")) == []


@pytest.mark.parametrize(
    ("old", "new", "check", "subject", "environment"),
    [
        ("| Nodes | 1 | 3 |", "| Nodes | 2 | 3 |", "doc.search", "search.nodes", "staging"),
        ("| Nodes | 1 | 3 |", "| Nodes | 1 | 4 |", "doc.search", "search.nodes", "production"),
        (
            "| Backup Retention | 7 days | 30 days |",
            "| Backup Retention | 14 days | 30 days |",
            "doc.database",
            "database.backup_retention_days",
            "staging",
        ),
        (
            "| Backup Retention | 7 days | 30 days |",
            "| Backup Retention | 7 days | 35 days |",
            "doc.database",
            "database.backup_retention_days",
            "production",
        ),
        (
            "| Nodes | 1 | 2 (cluster) |",
            "| Nodes | 1 | 3 (cluster) |",
            "doc.cache",
            "cache.nodes",
            "production",
        ),
        (
            "│  │db.t3.medium │",
            "│  │db.t3.large  │",
            "doc.staging",
            "database.instance_class",
            "staging",
        ),
        (
            "| Staging | 2 | No |",
            "| Staging | 2 | Yes |",
            "doc.web_hosting",
            "cdn.distribution",
            "staging",
        ),
        (
            "| cache.r6g.large, 2-node cluster |",
            "| cache.r6g.xlarge, 2-node cluster |",
            "doc.phase_tables",
            "cache.node_type",
            "production",
        ),
        (
            "| > 1s for 5 min |",
            "| > 2s for 5 min |",
            "doc.alarms",
            "alarms.alarms.alb-p95-latency.threshold",
            "production",
        ),
        (
            "| > 80% max for 5 min |",
            "| > 75% max for 5 min |",
            "doc.alarms",
            "alarms.alarms.rds-connections.threshold",
            "production",
        ),
        (
            "| AWS X-Ray (5% sampling) |",
            "| AWS X-Ray (10% sampling) |",
            "doc.monitoring",
            "tracing.sampling_rate",
            "production",
        ),
        (
            "`Environment`: dev/staging/prod",
            "`Environment`: dev/stage/prod",
            "doc.tags",
            "tags.required.Environment",
            "staging",
        ),
    ],
)
def test_one_phase_3_value_edited_in_the_document_fails_naming_both_lines(
    tmp_path: Path, old: str, new: str, check: str, subject: str, environment: str
) -> None:
    doc, line = _edit(DOCUMENT, tmp_path, old, new)
    results = _check(doc=doc, spec=SPEC_3, phase=3)
    assert {i for i, r in results.items() if r.outcome != "passed"} == {check}
    report = results[check].describe()
    assert f"{doc}:{line}" in report
    assert f"{subject} [{environment}]" in report
    assert re.search(rf"specs/phase-3\.yaml:\d+ environments\.{environment}\.{subject}", report)
    other = "production" if environment == "staging" else "staging"
    assert f"environments.{other}." not in report, report


@pytest.mark.parametrize(
    ("old", "new", "failed", "subject", "environment"),
    [
        (
            "      instance_type: t3.small.search\n      nodes: 1\n",
            "      instance_type: t3.small.search\n      nodes: 2\n",
            {"doc.search"},
            "search.nodes",
            "staging",
        ),
        (
            "      instance_type: r6g.large.search\n      nodes: 3\n",
            "      instance_type: r6g.large.search\n      nodes: 5\n",
            {"doc.search"},
            "search.nodes",
            "production",
        ),
        (
            "            value: 1441\n",
            "            value: 1500\n",
            {"doc.alarms"},
            "alarms.alarms.rds-connections.threshold",
            "production",
        ),
        # The class the connection threshold is derived from: 80% of db.r6g.xlarge's is 2883.
        (
            "      instance_class: db.r6g.large\n",
            "      instance_class: db.r6g.xlarge\n",
            {"doc.database", "doc.phase_tables", "doc.alarms"},
            "database.instance_class",
            "production",
        ),
    ],
)
def test_one_phase_3_value_edited_in_the_spec_fails_naming_both(
    tmp_path: Path, old: str, new: str, failed: set[str], subject: str, environment: str
) -> None:
    spec, _ = _edit(SPEC_3, tmp_path, old, new)
    results = _check(spec=spec, phase=3)
    assert {i for i, r in results.items() if r.outcome != "passed"} == failed
    report = "\n".join(results[check].describe() for check in sorted(failed))
    assert f"{subject} [{environment}]" in report
    assert f"{DOCUMENT}:" in report
    assert re.search(rf"{re.escape(str(spec))}:\d+ environments\.{environment}\.{subject}", report)


def test_phase_3_coverage_both_ways_per_environment() -> None:
    gaps = _coverage(3)
    assert gaps.unanchored == []
    assert set(gaps.environments) == {"production", "staging"}
    # Every cell of the Phase 3 tables, of its column of the shared tables, and of the tracing,
    # alarm and tag bullets is compared or listed with the phase file's reason.
    assert [v for v in gaps.not_in_spec if "(not checked: " not in v] == []
    listed = "\n".join(gaps.not_in_spec)
    for reason in (
        "(Distributed Tracing (Phase 3+)): Service map visualization (not checked: ",
        "(Distributed Tracing (Phase 3+)): Latency analysis by segment (not checked: ",
        "(Distributed Tracing (Phase 3+)): All services instrumented with AWS X-Ray SDK (not ",
        "(CloudWatch Alarms (Phase 3+)): PagerDuty for critical alarms",
        "(CloudWatch Alarms (Phase 3+)): Slack for warning alarms",
        "(Phase 3 → Phase 4 Migration Triggers): Active registered users",
        "(Deployment Phases Overview): 3 | ~Cost/mo: $2,300-2,900* (not checked: ",
    ):
        assert reason in listed
    for anchored in ("OpenSearch Configuration", "ElastiCache Redis", "Key Changes", "Tracing |"):
        assert anchored not in listed
    assert all("(not verified: " in v for v in gaps.unchecked), gaps.unchecked
    for name, env in gaps.environments.items():
        assert env.not_in_spec == [] and env.unanchored == []
        assert all(f" environments.{name}." in v for v in env.unchecked)
    assert gaps.as_json()["environments"]["staging"]["checks_without_document_anchor"] == []


def test_phase_3_coverage_lists_an_unanchored_cell_under_its_environment(tmp_path: Path) -> None:
    # Both columns of the OpenSearch table share their rows: without the Nodes anchor, each
    # environment lists its own cell.
    spec, _ = _edit(SPEC_3, tmp_path, "        Nodes: {spec: search.nodes, read: number}\n", "")
    gaps = _coverage(3, spec=spec)
    staging, production = gaps.environments["staging"], gaps.environments["production"]
    assert [v.split("): ", 1)[-1] for v in staging.not_in_spec] == ["Nodes | Staging: 1"]
    assert [v.split("): ", 1)[-1] for v in production.not_in_spec] == ["Nodes | Production: 3"]
    assert "staging: 1 documented values with no spec value" in "\n".join(gaps.lines())


def test_pytest_phase_3_with_the_shipped_document_passes_for_either_environment(
    tmp_path: Path,
) -> None:
    shutil.copy(DOCUMENT, tmp_path / "architecture.md")
    done = run_suite(
        "specs/phase-3.yaml",
        "--phase=3",
        "--environment=staging",
        f"--architecture-doc={tmp_path / 'architecture.md'}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(PHASE_3_CHECKS)} passed" in done.stdout
    assert "checks without a document anchor: 0" in done.stdout
    assert "\nstaging: 0 documented values with no spec value" in done.stdout


PHASE_4_CHECKS = {
    "doc.phase_tables",
    "doc.subnets",
    "doc.staging",
    "doc.web_hosting",
    "doc.scaling",
    "doc.deployment",
    "doc.pipeline",
    "doc.disaster_recovery",
    "doc.reserved",
    "doc.services",
    "doc.sections",
}


def test_phase_4_document_and_spec_agree() -> None:
    results = _check(spec=SPEC_4, phase=4)
    assert {i: r.outcome for i, r in results.items()} == dict.fromkeys(PHASE_4_CHECKS, "passed")
    scaling = {a.subject: a for a in results["doc.scaling"].agreements}
    # The diagram's "(3 tasks)" is a moment of an auto-scaled count: it must lie in min..max.
    drawn = scaling["ecs.services.api-gateway desired count [production]"]
    assert (drawn.documented, drawn.specified, drawn.ok) == (3, 10, True)
    assert "within min..max" in drawn.document
    limits = [
        a for a in results["doc.scaling"].agreements if a.subject.endswith("max_tasks [production]")
    ]
    assert {a.documented for a in limits} == {5, 10}
    recovery = {a.subject: a for a in results["doc.disaster_recovery"].agreements}
    replicated = recovery["disaster_recovery.database_replicated_retention_days [production]"]
    assert (replicated.documented, replicated.specified) == (7, 7)
    dns = {a.subject: a for a in results["doc.services"].agreements}
    staging_alb = dns["services.dns_records.2.environment [production]"]
    assert (staging_alb.documented, staging_alb.specified) == ("staging", "staging")
    # "Auto-scaling (min 2, max 10)" is not every service's limits: reported, not judged.
    found = {c.title: c for c in contradictions.find(load_spec(4).environment("production"))}
    key_changes = found["auto-scaling limits in Key Changes are not every service's"]
    assert "moderation-service 1-5, notification-service 1-5, web-app 2-5" in key_changes.detail
    assert contradictions.find(load_spec(4).environment("staging")) == []


@pytest.mark.parametrize(
    ("old", "new", "check", "subject"),
    [
        (
            "  scale_out_cooldown: 60\n",
            "  scale_out_cooldown: 120\n",
            "doc.scaling",
            "ecs.autoscaling.scale_out_cooldown",
        ),
        (
            "    termination_wait_time: 5",
            "    termination_wait_time: 15",
            "doc.deployment",
            "ecs.deployment.termination_wait_minutes",
        ),
        (
            "| RDS | Cross-region snapshot | Daily | 7 days | us-west-2 |",
            "| RDS | Cross-region snapshot | Daily | 14 days | us-west-2 |",
            "doc.disaster_recovery",
            "disaster_recovery.database_replicated_retention_days",
        ),
        (
            "| ElastiCache | cache.r6g.large | 1 year |",
            "| ElastiCache | cache.r6g.large | 3 years |",
            "doc.reserved",
            "reserved.reservations.cache.term_years",
        ),
        (
            "│min:1    │ │min:1    │ ",
            "│min:1    │ │min:2    │ ",
            "doc.scaling",
            "ecs.services.notification-service.min_tasks",
        ),
    ],
)
def test_one_phase_4_value_edited_in_the_document_fails_naming_both_lines(
    tmp_path: Path, old: str, new: str, check: str, subject: str
) -> None:
    doc, line = _edit(DOCUMENT, tmp_path, old, new)
    results = _check(doc=doc, spec=SPEC_4, phase=4)
    assert {i for i, r in results.items() if r.outcome != "passed"} == {check}
    report = results[check].describe()
    assert f"{doc}:{line}" in report, report
    assert f"{subject} [production]" in report
    assert re.search(
        rf"specs/phase-4\.yaml:\d+ environments\.production\.{re.escape(subject)}", report
    )


def test_phase_4_coverage_says_why_recovery_procedures_are_not_checked() -> None:
    gaps = _coverage(4)
    assert gaps.unanchored == []
    assert [v for v in gaps.not_in_spec if "(not checked: " not in v] == []
    listed = "\n".join(gaps.not_in_spec)
    for row in ("Single service failure", "AZ failure", "Database failure", "Region failure"):
        assert f"(Recovery Procedures): {row} |" in listed
    assert "RTO and RPO are targets of a recovery procedure" in listed
    for anchored in ("Backup Strategy", "Reserved Instances): RDS", "Key Changes", "DNS Config"):
        assert anchored not in listed
    assert all("(not verified: " in v for v in gaps.unchecked), gaps.unchecked


def test_a_missing_architecture_doc_is_a_usage_error(tmp_path: Path) -> None:
    done = run_suite(f"--architecture-doc={tmp_path / 'nope.md'}")
    assert done.returncode == 4
    assert "nope.md" in done.stderr and "Traceback" not in done.stderr
