"""The pytest plugin: options, one pytest item per registered check, evidence and summary.

Check modules under ``specs/checks`` are collected as files whose items are the checks they
register (node ids like ``specs/checks/network.py::net.vpc.cidr``). The target is opened and
the inventory collected lazily, once per session, the first time a check runs.
"""

from __future__ import annotations

import importlib
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import contradictions, evidence
from conformance.aws import CallLog
from conformance.checks import CHECK_PACKAGE, REGISTRY, Check, Result, Run
from conformance.errors import ConformanceError, UsageError
from conformance.host import HostTargets
from conformance.inputs import Inputs, load_inputs
from conformance.inventory import Inventory
from conformance.spec import PhaseSpec, load_spec
from conformance.targets import TargetOptions, check_endpoint, open_target

CHECKS_DIR = Path(importlib.import_module(CHECK_PACKAGE).__path__[0]).resolve()
# Waivers, the document check, the matrix and the failures-by-area table.
pytest_plugins = ("conformance.reports.plugin",)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "AccountabilityAtlas conformance")
    group.addoption(
        "--phase",
        type=int,
        default=1,
        choices=(1, 2, 3, 4),
        help="document phase to check against (default 1)",
    )
    group.addoption(
        "--environment",
        default="production",
        choices=("production", "staging"),
        help="environment of the phase (default production)",
    )
    group.addoption(
        "--target",
        default="moto",
        choices=("moto", "localstack", "aws"),
        help="where to read the inventory (default: embedded moto reference)",
    )
    group.addoption("--region", help="AWS region (default: the spec's primary region)")
    group.addoption("--endpoint-url", help="any AWS-compatible endpoint, for any target")
    group.addoption("--profile", help="AWS profile for --target aws (default credential chain)")
    group.addoption(
        "--expect-account",
        metavar="ID",
        help="--target aws: refuse to run unless the credentials are for this account",
    )
    group.addoption("--inputs", type=Path, help="YAML file of deployment inputs")
    group.addoption(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one input (repeatable; wins over --inputs)",
    )
    group.addoption(
        "--evidence",
        type=Path,
        metavar="DIR",
        help="write DIR/evidence.json with results, API calls and inventory",
    )
    group.addoption("--drift", help="apply this catalogue drift to the embedded moto reference")


@dataclass
class Session:
    """The state of one conformance run inside a pytest session."""

    spec: PhaseSpec
    options: TargetOptions
    inputs: Inputs
    log: CallLog = field(default_factory=CallLog)
    results: list[Result] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    _stack: ExitStack = field(default_factory=ExitStack)
    _run: Run | None = None
    host: HostTargets = field(default_factory=HostTargets)  # set by conformance.host.plugin

    def run(self) -> Run:
        if self._run is None:
            clients = self._stack.enter_context(
                open_target(self.options, self.spec, self.inputs, self.log)
            )
            account = f" account {clients.account}" if clients.account else ""
            self._run = Run(
                self.spec,
                self.options.environment,
                self.inputs,
                Inventory(clients, self.inputs),
                self.options.describe() + account,
                self.host,
            )
        return self._run

    @property
    def opened(self) -> bool:
        return self._run is not None

    def close(self) -> None:
        self._stack.close()


SESSION = pytest.StashKey[Session]()


def _account_id(value: str | None) -> str | None:
    if value is not None and not (value.isdigit() and len(value) == 12):
        raise UsageError(f"--expect-account {value!r}: expected a 12-digit AWS account id")
    return value


def pytest_configure(config: pytest.Config) -> None:
    """Validate every option before anything runs: one clear message, no traceback."""
    try:
        spec = load_spec(config.getoption("phase"))
        environment = config.getoption("environment")
        spec.environment(environment)
        endpoint = config.getoption("endpoint_url")
        if endpoint:
            check_endpoint(endpoint)
        options = TargetOptions(
            kind=config.getoption("target"),
            region=config.getoption("region") or spec.primary_region.value,
            environment=environment,
            endpoint_url=endpoint,
            drift=config.getoption("drift"),
            profile=config.getoption("profile"),
            expect_account=_account_id(config.getoption("expect_account")),
        )
        if options.drift:
            if options.kind != "moto":
                raise UsageError("--drift applies to the embedded moto target only")
            from fixtures.drifts import get_drift

            get_drift(options.drift, spec.phase)
        inputs = load_inputs(config.getoption("inputs"), config.getoption("input"))
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION] = Session(spec, options, inputs)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if (
        file_path.suffix == ".py"
        and file_path.parent.resolve() == CHECKS_DIR
        and file_path.name != "__init__.py"
    ):
        return CheckFile.from_parent(parent, path=file_path)
    return None


class CheckFile(pytest.File):
    """A check module: its items are the checks it registers."""

    def collect(self) -> Any:
        module = importlib.import_module(f"{CHECK_PACKAGE}.{self.path.stem}")
        for registered in REGISTRY.values():
            if registered.module == module.__name__:
                yield CheckItem.from_parent(self, name=registered.id, check=registered)


class CheckFailed(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.describe())
        self.result = result


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        session = self.config.stash[SESSION]
        result = self.check.run(session.run())
        session.results.append(result)
        self.user_properties.extend(_properties(result))
        if result.outcome == "skipped":
            raise pytest.skip.Exception(result.message, _use_item_location=True)
        if result.outcome in ("failed", "error"):
            raise CheckFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return excinfo.value.result.describe()
        if isinstance(excinfo.value, ConformanceError):  # e.g. the guard refused a mutation
            return f"{self.check.id}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.check.function.__code__.co_firstlineno - 1  # pytest counts from 0
        return self.path, line, f"{self.check.id}: {self.check.title}"


def _properties(result: Result) -> list[tuple[str, object]]:
    """JUnit properties: the document section, and expected vs actual of each failure."""
    props: list[tuple[str, object]] = [
        ("check_id", result.check.id),
        ("outcome", result.outcome),
        ("severity", result.check.severity),
        ("section", result.section),
    ]
    for c in result.failures:
        props += [("expected", c.expected), ("actual", c.actual), ("document", c.section)]
    return props


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    """Open the target before the first check so an unreachable one fails once, clearly."""
    state = session.config.stash[SESSION]
    if not session.config.option.collectonly and any(
        isinstance(item, CheckItem) for item in session.items
    ):
        try:
            state.run()
        except ConformanceError as exc:
            state.close()
            pytest.exit(f"conformance: {exc}", returncode=int(exc.exit_code))
    return (yield)


class EvidenceHookspecs:
    """Hooks other plugins (the reports) implement to add to the one evidence file."""

    @pytest.hookspec
    def pytest_conformance_evidence(self, config: pytest.Config, data: dict[str, Any]) -> None:
        """Add keys to ``data`` just before ``DIR/evidence.json`` is written, once."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(EvidenceHookspecs)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is None:
        return
    directory = session.config.getoption("evidence")
    try:
        if directory is not None:
            run = state.run() if state.opened else None  # a document-only run opens nothing
            data = evidence.build(
                target=run.target if run else None,
                phase=state.spec.phase,
                environment=state.options.environment,
                results=state.results,
                calls=state.log,
                inventory=run.inventory.snapshot() if run else None,
                contradictions=contradictions.find(
                    state.spec.environment(state.options.environment)
                ),
                started=state.started,
            )
            session.config.hook.pytest_conformance_evidence(config=session.config, data=data)
            evidence.write(directory, data)
    finally:
        state.close()


def _unverifiable_reasons(state: Session, skipped: list[Result]) -> list[tuple[str, str]]:
    """Skips grouped by cause: the services the target did not serve (one line naming the
    emulator and its edition), then any other reason with its count."""
    inventory = state.run().inventory if state.opened else None
    failures = inventory.failures.values() if inventory is not None else []
    unserved = {f.message: f.service for f in failures if f.kind == "unsupported"}
    by_service = Counter(unserved[r.message] for r in skipped if r.message in unserved)
    others = Counter(r.message for r in skipped if r.message not in unserved)
    lines = []
    if by_service and inventory is not None:
        emulator = inventory.clients.emulator or "this target"
        served = ", ".join(f"{s} {n}" for s, n in sorted(by_service.items()))
        lines.append((f"not served by {emulator}", served))
    lines += [(message, str(n)) for message, n in sorted(others.items())]
    return lines


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(SESSION, None)
    if state is None or not state.results:
        return
    tr = terminalreporter
    env = state.spec.environment(state.options.environment)
    tr.section("conformance")
    counts = Counter(r.outcome for r in state.results)
    tr.write_line(
        f"target {state.run().target} · phase {state.spec.phase} ({state.spec.name}) "
        f"· {state.options.environment}"
    )
    tr.write_line(
        "checks: "
        + ", ".join(f"{counts[o]} {o}" for o in ("passed", "failed", "error", "waived", "skipped"))
    )
    unverifiable = [
        r for r in state.results if r.outcome == "skipped" and "not applicable" not in r.message
    ]
    if unverifiable:
        tr.write_line(f"not verifiable on this target: {len(unverifiable)} checks")
        for reason, n in _unverifiable_reasons(state, unverifiable):
            tr.write_line(f"    {reason}: {n}")
    repeated = state.log.repeated()
    tr.write_line(
        f"AWS API calls: {len(state.log.calls)}"
        + (
            f" ({len(repeated)} repeated: {sorted({c.action for c in repeated})})"
            if repeated
            else ""
        )
    )
    found = contradictions.find(env)
    if found:
        tr.section("document contradictions", sep="-")
        for c in found:
            tr.write_line(f"{c.title}: {c.detail}")
            tr.write_line(f"    document: {'; '.join(c.sections)}")
    directory = config.getoption("evidence")
    if directory is not None:
        tr.write_line(f"evidence: {directory / evidence.EVIDENCE_FILE}")
