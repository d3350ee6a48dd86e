"""``--checkov``: checkov's generic hardening rules as a baseline beside the conformance checks.

checkov judges one resource at a time against rules of its own, not against the document, so
its findings are a part of their own (the evidence's ``baseline``): never an outcome of a
check, never in the verdict or the exit status. Those of its rules that contradict a decision
the document records (``specs/checkov-skips.yaml``) are listed as "documented decision" with the
section, not as failures, and carry a SARIF suppression with the same justification.

checkov's pins fight the suite's, so it runs as a program from its own virtualenv
(``scripts/setup.d/checkov.sh``), started when the run is configured and collected when it
finishes: its start-up and scan overlap the checks. It runs once, on the xdist controller.
Its output can quote resource configuration (and a plan's values): only the id, name,
resource, file, line and guideline of a finding are kept, and those pass the suite's redaction.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from conformance.errors import ConformanceError, ExitCode, UsageError
from conformance.evidence import SUITE_ROOT, replace_together
from conformance.inventory import one_line
from conformance.redact import scrub, scrub_value
from conformance.reports.matrix import baseline_headline
from conformance.spec import PHASES, SPECS_DIR
from conformance.yamlfile import load_yaml

ENVIRONMENT_VARIABLE = "CONFORMANCE_CHECKOV"  # the checkov executable to run, if not the repo's
VENV_EXECUTABLE = SUITE_ROOT / ".venv" / "checkov" / "bin" / "checkov"
SKIPS_FILE = SPECS_DIR / "checkov-skips.yaml"
SARIF_FILE = "checkov.sarif"
INSTALL_HINT = "install it with scripts/setup.d/checkov.sh (or tox -e checkov)"
SCAN_TIMEOUT = 900.0  # seconds; a configuration checkov needs longer for is an error, not a hang
FRAMEWORKS = {"iac": ("-d", "terraform"), "plan": ("-f", "terraform_plan")}
CHECK_ID = r"^CKV2?_[A-Z0-9]+_\d+$"

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class CheckovMissing(ConformanceError):
    """No checkov to run: a required tool is missing (exit 6)."""

    exit_code = ExitCode.TARGET_UNREACHABLE


class DocumentedDecision(BaseModel):
    """A checkov check whose finding the document decided against, in the phases named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: Annotated[str, StringConstraints(pattern=CHECK_ID)]
    phases: list[int] = Field(min_length=1)
    section: NonEmpty
    reason: NonEmpty

    @field_validator("phases")
    @classmethod
    def _known_phases(cls, phases: list[int]) -> list[int]:
        unknown = sorted(set(phases) - set(PHASES))
        if unknown:
            raise ValueError(f"no phase {unknown[0]} in the document (phases: {list(PHASES)})")
        if len(set(phases)) != len(phases):
            raise ValueError("a phase is named twice")
        return phases


class SkipList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    skips: list[DocumentedDecision]

    @model_validator(mode="after")
    def _one_decision_per_check_and_phase(self) -> SkipList:
        seen: set[tuple[str, int]] = set()
        for decision in self.skips:
            for phase in decision.phases:
                if (decision.check, phase) in seen:
                    raise ValueError(f"{decision.check} is listed twice for phase {phase}")
                seen.add((decision.check, phase))
        return self

    def for_phase(self, phase: int) -> dict[str, DocumentedDecision]:
        """The decisions of one phase, by checkov id."""
        return {d.check: d for d in self.skips if phase in d.phases}


def load_skips(path: Path = SKIPS_FILE) -> SkipList:
    """The skip list; a bad entry is one line naming the file, the line and the field."""
    document = load_yaml(path, "checkov skip list")
    try:
        return SkipList.model_validate(document.data)
    except ValidationError as exc:
        raise document.invalid("invalid checkov skip list", exc) from None


def locate(environ: Mapping[str, str] = os.environ) -> Path:
    """The checkov to run: ``$CONFORMANCE_CHECKOV``, else the repository's ``.venv/checkov``,
    else ``checkov`` on the PATH; none is :class:`CheckovMissing`."""
    named = environ.get(ENVIRONMENT_VARIABLE)
    if named:
        path = Path(named)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise CheckovMissing(
            f"--checkov: {ENVIRONMENT_VARIABLE}={named} is not an executable; {INSTALL_HINT}"
        )
    if VENV_EXECUTABLE.is_file() and os.access(VENV_EXECUTABLE, os.X_OK):
        return VENV_EXECUTABLE
    found = shutil.which("checkov")
    if found is None:
        raise CheckovMissing(f"--checkov: checkov is not installed; {INSTALL_HINT}")
    return Path(found)


@dataclass
class Scan:
    """One checkov run over the configuration directory or the plan file, in the background."""

    executable: Path
    kind: str  # "iac" or "plan"
    location: Path
    cwd: Path  # where the run was started: SARIF paths are relative to it
    output: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="checkov-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        flag, framework = FRAMEWORKS[self.kind]
        return [
            str(self.executable),
            flag,
            str(self.location),
            "--framework",
            framework,
            "--skip-download",  # it cannot reach its online API here, nor need it
            "--compact",
            "--soft-fail",
            "-o",
            "json",
            "-o",
            "sarif",
            "--output-file-path",
            str(self.output),
        ]

    def start(self) -> None:
        """Start checkov; one that cannot start is a usage error naming what it was to scan."""
        try:
            with (self.output / "stderr").open("wb") as stderr:  # the child keeps its own copy
                self.process = subprocess.Popen(
                    self.command,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
        except OSError as exc:
            self.discard()
            raise UsageError(
                f"--checkov: {self.executable} cannot start on {self.location}: "
                f"{exc.strerror or exc}"
            ) from None

    def finish(self, phase: int, skips: SkipList) -> tuple[dict[str, Any], dict[str, Any]]:
        """Wait for checkov; (the evidence's ``baseline``, the SARIF log). A crash, a timeout or
        output that is not checkov's is a usage error naming what it scanned."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=SCAN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            raise UsageError(
                f"--checkov: checkov did not finish within {SCAN_TIMEOUT:.0f} s on {self.location}"
            ) from None
        try:
            if code != 0:
                raise UsageError(
                    f"--checkov: checkov exited with status {code} on {self.location}"
                    + self._last_error()
                )
            report, sarif = self._read_outputs()
            return baseline(report, self, phase, skips), suppressed(sarif, phase, skips)
        finally:
            self.discard()

    def stop(self) -> None:
        """End the checkov this scan started, if it still runs (a run that ended early)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def discard(self) -> None:
        shutil.rmtree(self.output, ignore_errors=True)

    def _last_error(self) -> str:
        lines = (self.output / "stderr").read_text(errors="replace").strip().splitlines()
        return f": {one_line(scrub(lines[-1]))}" if lines else ""

    def _read_outputs(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        json_file, sarif_file = (
            self.output / "results_json.json",
            self.output / "results_sarif.sarif",
        )
        if not json_file.is_file() or not sarif_file.is_file():
            raise UsageError(
                f"--checkov: checkov wrote no results for {self.location}" + self._last_error()
            )
        try:
            data = json.loads(json_file.read_text())
            sarif = json.loads(sarif_file.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"--checkov: checkov's output for {self.location} is unreadable: {exc}"
            ) from None
        reports = data if isinstance(data, list) else [data]
        if not all(isinstance(r, dict) for r in reports) or not isinstance(sarif, dict):
            raise UsageError(f"--checkov: checkov's output for {self.location} is not its JSON")
        return reports, sarif


def baseline(
    reports: Sequence[dict[str, Any]], scan: Scan, phase: int, skips: SkipList
) -> dict[str, Any]:
    """The evidence's ``baseline``: checkov's version and command, its counts, and each finding
    by id, name, resource, file and line only (never the configuration it quotes)."""
    decisions = skips.for_phase(phase)
    failed, documented, skipped, passed, version = [], [], [], 0, None
    for report in reports:
        # A report without findings is checkov's summary alone, not under "summary".
        summary = report.get("summary", report)
        version = version or summary.get("checkov_version")
        results = report.get("results") or {}
        passed += len(results.get("passed_checks") or [])
        for finding in results.get("failed_checks") or []:
            decision = decisions.get(str(finding.get("check_id")))
            if decision is None:
                failed.append(_finding(finding, scan.cwd))
            else:
                documented.append(
                    _finding(finding, scan.cwd)
                    | {"section": decision.section, "reason": decision.reason}
                )
        for finding in results.get("skipped_checks") or []:
            comment = (finding.get("check_result") or {}).get("suppress_comment")
            skipped.append(
                _finding(finding, scan.cwd) | {"reason": comment or "skipped in the configuration"}
            )
    part = {
        "tool": "checkov",
        "version": version,
        "command": [Path(scan.command[0]).name, *scan.command[1:-2]],
        "scanned": str(scan.location),
        "phase": phase,
        "counts": {
            "passed": passed,
            "failed": len(failed),
            "skipped": len(skipped) + len(documented),
            "documented decisions": len(documented),
        },
        "failed": failed,
        "documented_decisions": documented,
        "skipped": skipped,
    }
    cleaned: dict[str, Any] = scrub_value(part)
    return cleaned


def _finding(finding: dict[str, Any], cwd: Path) -> dict[str, Any]:
    lines = finding.get("file_line_range") or [None]
    return {
        "check": finding.get("check_id"),
        "name": finding.get("check_name"),
        "resource": finding.get("resource_address") or finding.get("resource"),
        "file": _relative(finding.get("file_abs_path") or finding.get("file_path"), cwd),
        "line": lines[0],
        "guideline": finding.get("guideline"),
    }


def _relative(path: str | None, cwd: Path) -> str | None:
    if not path:
        return None
    try:
        return str(Path(path).relative_to(cwd))
    except ValueError:
        return path


def suppressed(sarif: dict[str, Any], phase: int, skips: SkipList) -> dict[str, Any]:
    """checkov's SARIF for GitHub code scanning: each result a documented decision covers gets
    an accepted external suppression whose justification names the document section; code
    snippets (they quote the configuration, a plan's values too) are dropped."""
    decisions = skips.for_phase(phase)
    for run in sarif.get("runs") or []:
        for result in run.get("results") or []:
            for location in result.get("locations") or []:
                (location.get("physicalLocation") or {}).get("region", {}).pop("snippet", None)
            decision = decisions.get(str(result.get("ruleId")))
            if decision is not None:
                result["suppressions"] = [
                    {
                        "kind": "external",
                        "status": "accepted",
                        "justification": f"documented decision: {decision.section}: "
                        f"{decision.reason}",
                    }
                ]
    cleaned: dict[str, Any] = scrub_value(sarif)
    return cleaned


def write_sarif(directory: Path, sarif: dict[str, Any]) -> Path:
    """``DIR/checkov.sarif`` beside the evidence, written whole or not at all."""
    replace_together(directory, {SARIF_FILE: json.dumps(sarif, indent=2) + "\n"})
    return directory / SARIF_FILE


def summary_lines(part: dict[str, Any], shown: int = 8) -> list[str]:
    """The terminal's short block: the counts, the most frequent failed checks, and the
    documented decisions with their sections (every finding is in the evidence)."""
    lines = [baseline_headline(part) + "; not conformance outcomes"]
    frequent = sorted(_by_check(part["failed"]), key=lambda c: (-c[2], c[0]))
    if frequent:
        named = ", ".join(f"{check} ×{n}" for check, _, n in frequent[:shown])
        more = f" and {len(frequent) - shown} more checks" if len(frequent) > shown else ""
        lines.append(f"    failed: {named}{more}")
    decisions = sorted({(d["check"], d["section"]) for d in part["documented_decisions"]})
    for check, section in decisions:
        lines.append(f"    {check}: documented decision, {section}")
    return lines


def _by_check(findings: Iterable[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(check id, name, how many findings) of each check with findings."""
    counted: dict[str, tuple[str, int]] = {}
    for f in findings:
        name, n = counted.get(f["check"], (f["name"], 0))
        counted[f["check"]] = (name, n + 1)
    return [(c, name, n) for c, (name, n) in sorted(counted.items())]


# --- pytest hooks: registered by conformance.plugin -----------------------------------------

SCAN = pytest.StashKey[Scan]()
BASELINE = pytest.StashKey[dict[str, Any]]()  # the evidence's baseline part, once finished
FAILURE = pytest.StashKey[str]()  # why checkov gave no baseline (exit 4)


def _wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("checkov", False)) and not hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--checkov`` with a target it cannot scan is a usage error (4), and without checkov
    installed a missing tool (6): one line each, before the run is configured."""
    if not config.getoption("checkov", False) or config.getoption("list_checks", False):
        return None
    message, code = None, ExitCode.USAGE
    if config.getoption("target") not in FRAMEWORKS:
        message = "ERROR: --checkov applies to --target iac or --target plan only"
    else:
        try:
            locate()
            load_skips()
        except ConformanceError as exc:
            message, code = f"ERROR: {exc}", exc.exit_code
    if message is None:
        return None
    sys.stderr.write(one_line(message) + "\n")
    return int(code)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Start checkov once the options are valid, so that it scans while the checks run."""
    if not _wanted(config):
        return
    kind = config.getoption("target")
    location = config.getoption("plan") if kind == "plan" else config.getoption("iac_dir")
    scan = Scan(locate(), kind, location, config.invocation_params.dir)
    try:
        scan.start()
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SCAN] = scan
    config.add_cleanup(scan.stop)
    config.add_cleanup(scan.discard)


def pytest_conformance_evidence(config: pytest.Config, data: dict[str, Any]) -> None:
    """Add the baseline part (and write ``checkov.sarif`` beside the evidence)."""
    scan = config.stash.get(SCAN, None)
    if scan is None:
        return
    try:
        part, sarif = scan.finish(config.getoption("phase"), load_skips())
    except ConformanceError as exc:
        config.stash[FAILURE] = str(exc)
        data["baseline"] = {"tool": "checkov", "scanned": str(scan.location), "error": str(exc)}
        return
    directory = config.getoption("evidence")
    if directory is not None:
        part["sarif"] = SARIF_FILE
        write_sarif(directory, sarif)
    data["baseline"] = part
    config.stash[BASELINE] = part


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A checkov that crashed makes the run a usage error (4); its findings never change it."""
    failure = session.config.stash.get(FAILURE, None)
    if failure is not None:
        sys.stderr.write(one_line(f"conformance: {failure}") + "\n")
        session.exitstatus = int(ExitCode.USAGE)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    part = config.stash.get(BASELINE, None)
    if part is None:
        return
    terminalreporter.section("baseline hardening (checkov)", sep="-")
    for line in summary_lines(part):
        terminalreporter.write_line(line)
    if part.get("sarif"):
        terminalreporter.write_line(f"sarif: {config.getoption('evidence') / SARIF_FILE}")
