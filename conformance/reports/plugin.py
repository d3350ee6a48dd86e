"""pytest hooks of the reports: --waivers, --architecture-doc, the matrix and the failures table.

Loaded by ``conformance.plugin``. Waivers are judged when a check's report is made, so a waived
failure is a passing report the terminal shows as WAIVED and the exit status ignores. The
document checks are the items of ``specs/phase-N.yaml`` (node ids like
``specs/phase-1.yaml::doc.database``). The waivers and the document results are added to the
evidence through ``pytest_conformance_evidence``; ``conformance.plugin`` writes the matrix with
it. Under ``pytest -n N`` the controller judged nothing and ran no document item: it replays the
workers' judgements from their results, and runs the document check (local files only) itself.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks import REGISTRY, Outcome, Result, load_checks
from conformance.errors import ConformanceError
from conformance.evidence import not_run, provenance
from conformance.plugin import SESSION, CheckFailed, CheckItem
from conformance.reports import matrix
from conformance.reports.waivers import Waivers, load_waivers
from conformance.spec import spec_path

if TYPE_CHECKING:  # the document check (markdown-it) is imported only when a run asks for it
    from conformance.reports.document import Coverage, DocCheck, DocResult, Document, SpecFile


@dataclass
class DocumentRun:
    """The document check of one session: run once, the first time one of its items runs."""

    document: Document
    spec: SpecFile
    results: dict[str, DocResult] = field(default_factory=dict)

    def result(self, check_id: str) -> DocResult:
        from conformance.reports.document import run_all

        if not self.results:
            self.results = {r.check.id: r for r in run_all(self.document, self.spec)}
        return self.results[check_id]

    def coverage(self) -> Coverage:
        from conformance.reports.document import coverage

        # Every check, not only those collected: a run of the spec file alone collects none.
        return coverage(self.document, self.spec, list(self.results.values()), load_checks())


WAIVERS = pytest.StashKey[Waivers]()
DOCUMENT = pytest.StashKey[DocumentRun]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption(
        "--waivers",
        type=Path,
        metavar="FILE",
        help="YAML waivers (check id or pattern, reason, owner, expires): a waived failure "
        "is reported WAIVED and does not fail the run until its expiry date",
    )
    group.addoption(
        "--architecture-doc",
        type=Path,
        metavar="PATH",
        help="check specs/phase-N.yaml against this architecture document (doc.* items)",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is None:
        return
    try:
        waivers = config.getoption("waivers")
        if waivers is not None:
            config.stash[WAIVERS] = load_waivers(waivers)
        doc = config.getoption("architecture_doc")
        if doc is not None:
            from conformance.reports.document import Document, SpecFile

            specfile = SpecFile(
                session.spec, spec_path(session.spec.phase), session.options.environment
            )
            config.stash[DOCUMENT] = DocumentRun(Document.load(doc), specfile)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    run = parent.config.stash.get(DOCUMENT, None)
    if run is not None and file_path.resolve() == run.spec.path.resolve():
        return DocumentFile.from_parent(parent, path=file_path)
    return None


class DocumentFile(pytest.File):
    """The phase's spec file: its items compare it with the architecture document."""

    def collect(self) -> Any:
        from conformance.reports.document import phase_checks

        for check in phase_checks(self.config.stash[DOCUMENT].spec):
            yield DocItem.from_parent(self, name=check.id, check=check)


class DocumentDisagrees(Exception):
    def __init__(self, result: DocResult) -> None:
        super().__init__(result.describe())
        self.result = result


class DocItem(pytest.Item):
    def __init__(self, *, check: DocCheck, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        result = self.config.stash[DOCUMENT].result(self.check.id)
        self.user_properties.append(("outcome", result.outcome))
        if result.outcome != "passed":
            raise DocumentDisagrees(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, DocumentDisagrees):
            return excinfo.value.result.describe()
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.check.id}: {self.check.title}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Judge a check's result by the waivers: an active one turns its failure into WAIVED."""
    report = yield
    waivers = item.config.stash.get(WAIVERS, None)
    if waivers is None or call.when != "call" or not isinstance(item, CheckItem):
        return report
    if item.result is None:  # it raised before a result: nothing to judge
        return report
    judged = waivers.apply(item.result)
    item.result = judged
    if judged.outcome == "waived":
        report.outcome = "passed"
        report.longrepr = None
        report.user_properties = [
            ("outcome", "waived") if key == "outcome" else (key, value)
            for key, value in report.user_properties
        ]
        report.sections.append(("waiver", judged.message))
    elif call.excinfo is not None and isinstance(call.excinfo.value, CheckFailed):
        report.longrepr = judged.describe()
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when == "call" and report.passed and ("outcome", "waived") in report.user_properties:
        return "waived", "W", ("WAIVED", {"yellow": True})
    return None


def _waiver_statuses(config: pytest.Config) -> list[Any]:
    waivers = config.stash.get(WAIVERS, None)
    return waivers.statuses(REGISTRY) if waivers else []


def _replay(waivers: Waivers, results: list[dict[str, Any]]) -> None:
    """Judge the run's results again, so that what each waiver did is known where the results
    were gathered (an xdist controller judged none). Judging a result twice changes nothing;
    a check that did not run tells nothing about a waiver."""
    checks = load_checks()
    missing = {r["id"] for r in not_run(results)}
    for r in results:
        if r["id"] in checks and r["id"] not in missing:
            outcome: Outcome = "failed" if r["outcome"] == "waived" else r["outcome"]
            waivers.apply(Result(checks[r["id"]], outcome))


def _document(config: pytest.Config) -> DocumentRun | None:
    """The document check, if one of its items ran (here, or on an xdist worker)."""
    run = config.stash.get(DOCUMENT, None)
    if run is None:
        return None
    if not run.results:
        state = config.stash[SESSION]
        ran = [n for n in state.reported if _is_path(config, n.partition("::")[0], run.spec.path)]
        if not ran:
            return None
        run.result(ran[0].partition("::")[2])
    return run


def _is_path(config: pytest.Config, relative: str, path: Path) -> bool:
    return (config.rootpath / relative).resolve() == path.resolve()


def pytest_conformance_evidence(config: pytest.Config, data: dict[str, Any]) -> None:
    """Add the run's provenance, the waivers and the document check to the evidence."""
    state = config.stash[SESSION]
    data["provenance"] = provenance(
        data,
        spec=spec_path(state.spec.phase),
        document=config.getoption("architecture_doc"),
        environ=os.environ,
    )
    waivers = config.stash.get(WAIVERS, None)
    if waivers is not None:
        _replay(waivers, data["results"])
        data["waiver_timezone"] = waivers.file.timezone
        data["waivers"] = [s.as_json() for s in _waiver_statuses(config)]
    run = _document(config)
    if run is not None:
        data["document"] = {
            "path": str(run.document.path),
            "results": [r.as_json() for r in run.results.values()],
            "coverage": run.coverage().as_json(),
        }


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    tr = terminalreporter
    state = config.stash.get(SESSION, None)
    if state is None:
        return
    waivers = config.stash.get(WAIVERS, None)
    if waivers is not None:
        tr.section(f"waivers ({waivers.path}, expiry dates in {waivers.file.timezone})", sep="-")
        for status in _waiver_statuses(config):
            tr.write_line(status.describe(waivers.file.timezone))
    run = _document(config)
    if run is not None:
        counts = Counter(r.outcome for r in run.results.values())
        tr.section("architecture document against the spec", sep="-")
        tr.write_line(
            f"{run.document.path}: "
            + ", ".join(f"{counts[o]} {o}" for o in ("passed", "failed", "error"))
        )
        for line in run.coverage().lines():
            if not line.startswith("    ") or config.getoption("verbose") > 0:
                tr.write_line(line)
    directory = config.getoption("evidence")
    if directory is not None:
        tr.write_line(f"matrix: {directory / matrix.MARKDOWN_FILE}, {directory / matrix.HTML_FILE}")
    _failures_by_area(tr, state.evidence["results"] if state.evidence else [], run)


def _failures_by_area(tr: Any, results: list[dict[str, Any]], run: DocumentRun | None) -> None:
    """The last lines of the summary: a short table of what failed, by area."""
    table: dict[str, Counter[str]] = {}
    outcomes = [(r["id"], r["outcome"]) for r in results]
    outcomes += [(r.check.id, r.outcome) for r in (run.results.values() if run else [])]
    for check_id, outcome in outcomes:
        if outcome in ("failed", "error", "waived"):
            table.setdefault(check_id.split(".")[0], Counter())[outcome] += 1
    if not table:
        return
    tr.section("failures by area", sep="-")
    width = max(len(a) for a in table) + 2
    tr.write_line(f"{'area':<{width}}{'failed':>8}{'error':>8}{'waived':>8}")
    for area, counts in sorted(table.items()):
        tr.write_line(
            f"{area:<{width}}{counts['failed']:>8}{counts['error']:>8}{counts['waived']:>8}"
        )
