"""The pytest plugin: options, one pytest item per registered check, evidence and summary.

Check modules under ``specs/checks`` are collected as files whose items are the checks they
register (node ids like ``specs/checks/network.py::net.vpc.cidr``). The target is opened and
the inventory collected lazily, once per session, the first time a check runs.

Every check expected to run ends with a result: its own, or an error saying why it has none
("not run: the run was interrupted", a crash). Each check's final report carries its result, so
results are recorded where reports are logged: in the one process, or on the xdist controller
under ``-n N``, which also merges the workers' API calls and inventory into one evidence. The
terminal summary, the exit status and the evidence are made from the same results.
"""

from __future__ import annotations

import gc
import importlib
import json
import signal
import sys
import threading
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import contradictions, evidence, validate
from conformance.aws import CallLog
from conformance.checks import (
    CHECK_PACKAGE,
    REGISTRY,
    Check,
    Outcome,
    Result,
    Run,
    load_checks,
    result_key,
)
from conformance.console import emit
from conformance.errors import ConformanceError, ExitCode, UsageError
from conformance.evidence import NOT_RUN, Reading
from conformance.host import HostTargets
from conformance.iac.target import plan_part, read_source
from conformance.inputs import Inputs, load_inputs
from conformance.inventory import one_line
from conformance.reports import matrix
from conformance.spec import PHASES, EnvironmentName, PhaseSpec, load_spec, spec_path
from conformance.targets import (
    TargetOptions,
    check_endpoint,
    load_saved,
    open_inventory,
    run_inputs,
    target_drift,
)

CHECKS_DIR = Path(importlib.import_module(CHECK_PACKAGE).__path__[0]).resolve()
# The phases --phase offers: those with a specs/phase-N.yaml (others are refused, saying so).
SPECIFIED_PHASES = tuple(p for p in PHASES if spec_path(p).exists())
# What each phase of the document checks, for --help (--list-checks --phase N lists the checks).
PHASE_SCOPE = {
    1: "Launch: one EC2 Docker host (nginx, TLS, Compose, Redis on it), RDS, SQS, S3, Route 53, "
    "ECR, secrets, alarms, state backend, OIDC, tags",
    2: "Growth: ECS Fargate (1 task per service) behind an internet-facing ALB with ACM, "
    "ElastiCache, NAT and private subnets, RDS db.t3.medium, dashboard; Phase 1's queues, "
    "buckets, ECR, secrets, state backend, OIDC and tags carried",
    3: "Scale: staging and production (--environment all), ECS 2 tasks per service, OpenSearch, "
    "WAF on each ALB, CloudFront (production), X-Ray sampling at 5 percent, RDS and ElastiCache "
    "per environment "
    "(production Multi-AZ, a read replica, a 2-node cache, encryption, Performance Insights), "
    "the seven Phase 3+ alarms with SMS for critical, three dashboards, Prometheus",
    4: "Full Production: auto-scaling, blue-green canary, cross-region DR",
}
RESULT = "conformance_result"  # the attribute of a check's final report that carries its result
WORKER_OUTPUT = "conformance"  # an xdist worker's reading, and whether it could use the target
# Waivers, the document check, the matrix and the failures-by-area table; the EC2 host's options;
# --checkov's baseline scan.
pytest_plugins = (
    "conformance.reports.plugin",
    "conformance.host.plugin",
    "conformance.iac.checkov",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "AccountabilityAtlas conformance")
    group.addoption(
        "--phase",
        type=int,
        default=1,
        metavar="{" + ",".join(map(str, SPECIFIED_PHASES)) + "}",
        help="document phase to check against (default 1; only the phases with a spec): "
        + "; ".join(f"{p} = {PHASE_SCOPE[p]}" for p in SPECIFIED_PHASES)
        + ". --list-checks --phase N lists what a phase checks",
    )
    group.addoption(
        "--environment",
        default="production",
        choices=("production", "staging", "all"),
        help="environment of the phase (default production); all: every environment the phase "
        "documents (Phase 3+: staging and production) in one run, from one inventory, each "
        "result labelled with its environment",
    )
    group.addoption(
        "--target",
        default="moto",
        choices=("moto", "localstack", "aws", "inventory", "plan", "iac"),
        help="where to read the inventory (default: embedded moto reference; inventory: the one "
        "saved in --inventory's evidence, with no AWS call; plan, iac: before apply, a plan's "
        "JSON or the OpenTofu configuration)",
    )
    group.addoption(
        "--inventory",
        type=validate.nonempty_path,
        metavar="PATH",
        help="--target inventory: an evidence.json (or its directory) whose inventory to check",
    )
    group.addoption(
        "--plan",
        type=validate.nonempty_path,
        metavar="FILE",
        help="--target plan: the JSON of `tofu show -json PLANFILE` (or terraform's)",
    )
    group.addoption(
        "--iac-dir",
        type=validate.nonempty_path,
        metavar="DIR",
        help="--target iac: the OpenTofu configuration's directory, read statically",
    )
    group.addoption(
        "--tfvars",
        action="append",
        default=[],
        type=validate.nonempty_path,
        metavar="FILE",
        help="--target iac: a variables file (repeatable; later files win)",
    )
    group.addoption(
        "--checkov",
        action="store_true",
        help="--target iac or plan: also run checkov (its own virtualenv, or $CONFORMANCE_CHECKOV) "
        "over the same directory or plan, as a baseline hardening part of the evidence (and "
        "DIR/checkov.sarif with --evidence); never a conformance outcome",
    )
    group.addoption(
        "--region",
        help="AWS region (default: the spec's primary region; plan, iac: the aws provider's)",
    )
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
        type=validate.nonempty_path,
        metavar="DIR",
        help="write DIR/evidence.json with results, API calls and inventory",
    )
    group.addoption(
        "--drift",
        metavar="ID",
        help="apply this catalogue drift to the embedded moto reference, or an inventory "
        "drift to --target inventory (see --list-drifts)",
    )
    group.addoption(
        "--list-checks",
        action="store_true",
        help="list the checks (id, severity, title, whether they apply to --phase and "
        "--environment, document section) and exit",
    )
    group.addoption(
        "--list-drifts",
        action="store_true",
        help="list the drift catalogue (id, phase, what it changes, the checks it fails) and exit",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """Keep the rootdir and configuration file that the command's real paths give.

    pytest picks both from the paths on its command line before it loads any plugin, so the
    value of ``--nginx-conf /elsewhere/nginx.conf`` (space form) counted as a path: the rootdir
    moved there and the checkout's pytest.ini (testpaths, addopts) was lost. Now that the
    options are known, the choice is made again from the real paths; nothing changes unless the
    two differ, nor when ``--rootdir`` or ``-c`` chose them."""
    from _pytest.config.findpaths import determine_setup

    known = early_config.known_args_namespace
    if known.rootdir or known.inifilename:
        return
    rootpath, inipath, inicfg, _ = determine_setup(
        inifile=None,
        override_ini=known.override_ini,
        args=known.file_or_dir,
        rootdir_cmd_arg=None,
        invocation_dir=early_config.invocation_params.dir,
    )
    if (rootpath, inipath) == (early_config.rootpath, early_config.inipath):
        return
    moved_confcutdir = str(
        early_config.inipath.parent if early_config.inipath else early_config.rootpath
    )
    early_config._rootpath, early_config._inipath, early_config._inicfg = rootpath, inipath, inicfg
    early_config._inicache.clear()
    early_config._parser.extra_info.update(rootdir=str(rootpath), inifile=str(inipath))
    if known.confcutdir == moved_confcutdir:  # set from the moved choice, not by the user
        known.confcutdir = str(inipath.parent if inipath else rootpath)
    args[:] = [*early_config.getini("addopts"), *args]


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--list-checks`` and ``--list-drifts`` print the catalogue and end the run before it is
    configured: no target is opened, nothing is collected or written."""
    if not (config.getoption("list_checks") or config.getoption("list_drifts")):
        return None
    parts = []
    try:
        if config.getoption("list_checks"):
            parts.append(
                _describe_checks(config.getoption("phase"), config.getoption("environment"))
            )
        if config.getoption("list_drifts"):
            from fixtures.drifts import describe_catalogue

            parts.append(describe_catalogue())
    except ConformanceError as exc:
        return _error_line(f"ERROR: {exc}", int(ExitCode.USAGE))
    emit("\n".join(parts))
    return int(ExitCode.CONFORMANT)


def _describe_checks(phase: int, environment: str) -> str:
    """Every check in run order: id, severity and title, then the document section it verifies
    in this phase and each environment, or why it does not apply there."""
    spec = load_spec(phase)
    environments = spec.chosen(environment)
    checks = load_checks()
    width = max(map(len, checks))
    lines, applicable = [], 0
    for found in checks.values():
        lines.append(f"{found.id:<{width}}  {found.severity:<8}  {found.title}")
        for name in environments:
            group = found.area(spec.environment(name))
            label = f"{name}: " if len(environments) > 1 else ""
            if group is None:
                where = f"not applicable: phase {phase} ({name}) documents nothing it verifies"
            else:
                applicable += 1
                where = f"document: {getattr(group, 'section', '')}"
            lines.append(f"{'':<{width}}  {label}{where}")
    head = (
        f"{len(checks)} checks, {applicable} of them apply to phase {phase} ({spec.name}), "
        f"{' and '.join(environments)}"
    )
    return "\n".join([head, *lines]) + "\n"


def _error_line(message: str, exit_code: int) -> int:
    """Say why the run stops in one line on stderr (stdout stays the report); ``exit_code``."""
    sys.stderr.write(one_line(message) + "\n")
    sys.stderr.flush()
    return exit_code


@dataclass
class Session:
    """The state of one conformance run inside a pytest session."""

    spec: PhaseSpec
    options: TargetOptions
    inputs: Inputs  # production's, collecting every environment of the run
    environments: tuple[EnvironmentName, ...] = ("production",)
    log: CallLog = field(default_factory=CallLog)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    expected: dict[str, str] = field(default_factory=dict)  # node id -> result label, in order
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # result label -> result
    reported: set[str] = field(default_factory=set)  # node ids whose reports were logged
    stopped: str | None = None  # why the run ended before every expected check ran
    interrupted: bool = False  # by Ctrl-C, SIGTERM or pytest.exit
    exit_code: int | None = None  # the run's exit status when the target could not be used
    readings: dict[str, Reading] = field(default_factory=dict)  # xdist: each worker's
    evidence: dict[str, Any] | None = None  # built when the session finishes
    _stack: ExitStack = field(default_factory=ExitStack)
    _runs: dict[str, Run] = field(default_factory=dict)
    host: HostTargets = field(default_factory=HostTargets)  # set by conformance.host.plugin
    worker: bool = False  # an xdist worker, running a share of the checks

    def run(self, environment: str | None = None) -> Run:
        """The run of one environment (default: the first); every environment's run reads the
        one inventory, opened the first time any is asked for."""
        environment = environment or self.environments[0]
        if environment not in self._runs:
            first = next(iter(self._runs.values()), None)
            if first is None:
                inventory = self._stack.enter_context(
                    open_inventory(
                        self.options,
                        self.spec,
                        self.inputs,
                        self.log,
                        read_ahead=self.runs_every_check(),
                        settle=True,  # kept to the end of the run
                    )
                )
                account = f" account {inventory.account}" if inventory.account else ""
                target = self.options.describe() + account
            else:
                inventory, target = first.inventory, first.target
            self._runs[environment] = Run(
                self.spec,
                environment,
                self.inputs.for_environment(environment),
                inventory,
                target,
                self.host,
            )
        return self._runs[environment]

    def runs_every_check(self) -> bool:
        """Whether no check was deselected (``-k``, ``-m``, node ids): then the run reads every
        section its environments document, and reads them ahead, concurrently; a selection
        reads only what its checks ask for. An xdist worker runs a share of the checks: it
        reads what they ask for, so that the workers together call no more than before."""
        every = {self.label(c, e) for c in REGISTRY for e in self.environments}
        return not self.worker and set(self.expected.values()) == every

    def close(self) -> None:
        self._stack.close()

    def label(self, check_id: str, environment: str) -> str:
        """How the run names a check's result: by id, or by id and environment when the run
        checks several."""
        return check_id if len(self.environments) == 1 else result_key(check_id, environment)

    def parse_label(self, label: str) -> tuple[str, str]:
        """(check id, environment) of a result label."""
        check_id, _, environment = label.partition(" [")
        return check_id, environment.rstrip("]") or self.environments[0]

    def result_for(self, label: str, outcome: Outcome, message: str) -> Result:
        """A result for a check that ended without one of its own."""
        check_id, environment = self.parse_label(label)
        check = REGISTRY[check_id]
        group = check.area(self.spec.environment(environment))
        section = str(getattr(group, "section", ""))
        return Result(check, outcome, [], one_line(message), section, environment)

    def record(self, report: pytest.TestReport) -> None:
        """Record the result a check's report carries (on an xdist controller, a worker's)."""
        self.reported.add(report.nodeid)
        result = vars(report).get(RESULT)
        label = self.expected.get(report.nodeid)
        if result is not None:
            self.records[result["label"]] = result
        elif label is not None and report.failed and label not in self.records:
            # e.g. the xdist worker running it crashed: pytest counts a failure, and so do we
            message = f"no result: {one_line(report.longrepr)}"
            self.records[label] = self.result_for(label, "error", message).as_json(label)

    def results(self, reason: str) -> list[dict[str, Any]]:
        """Every expected check's result in collection order; 'not run: REASON' where none came."""
        expected = dict.fromkeys(self.expected.values())
        out = [
            self.records.get(c) or self.result_for(c, "error", NOT_RUN + reason).as_json(c)
            for c in expected
        ]
        return out + [r for c, r in self.records.items() if c not in expected]

    def reading(self) -> Reading:
        """What was read from the target: here, or (on an xdist controller) by the workers."""
        if self.readings:
            merged = Reading()
            for _, reading in sorted(self.readings.items()):
                merged.merge(reading)
            return merged
        run = next(iter(self._runs.values()), None)
        if run is None:
            return Reading()
        inventory = run.inventory
        return Reading.of(run.target, inventory.emulator, self.log, inventory.snapshot())


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
        environments = spec.chosen(environment)
        endpoint = config.getoption("endpoint_url")
        if endpoint:
            check_endpoint(endpoint)
        kind, region = config.getoption("target"), config.getoption("region")
        saved = load_saved(kind, config.getoption("inventory"), region)
        source = read_source(
            kind,
            config.getoption("plan"),
            config.getoption("iac_dir"),
            config.getoption("tfvars"),
            region,
        )
        default_region = (
            saved.region if saved else (source and source.region) or spec.primary_region.value
        )
        options = TargetOptions(
            kind=kind,
            region=validate.region(region or default_region),
            environment=environment,
            endpoint_url=endpoint,
            drift=config.getoption("drift"),
            profile=config.getoption("profile"),
            expect_account=_account_id(config.getoption("expect_account")),
            saved=saved,
            source=source,
        )
        target_drift(options, spec.phase)
        given = load_inputs(
            config.getoption("inputs"),
            config.getoption("input"),
            spec.environments.get("production"),
            spec.environments.get("staging"),
        )
        inputs = run_inputs(options, given).collected(environments)
        if config.getoption("evidence") is not None:
            validate.writable_directory(config.getoption("evidence"), "--evidence")
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION] = Session(
        spec, options, inputs, environments, worker=hasattr(config, "workerinput")
    )
    _terminate_like_interrupt(config)  # now: later configure hooks fetch files (--ssh-host)
    settle_heap()


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
        state = self.config.stash[SESSION]
        for registered in REGISTRY.values():
            if registered.module == module.__name__:
                for environment in state.environments:
                    yield CheckItem.from_parent(
                        self,
                        name=_node_name(state, registered.id, environment),
                        check=registered,
                        environment=environment,
                    )


def _node_name(state: Session, check_id: str, environment: str) -> str:
    """A check's pytest name: its id, with ``[environment]`` when the run checks several."""
    return check_id if len(state.environments) == 1 else f"{check_id}[{environment}]"


class CheckFailed(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.describe())
        self.result = result


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check[Any], environment: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.environment = environment
        self.result: Result | None = None  # set when it ran; the waivers may judge it

    @property
    def label(self) -> str:
        """The name of its result in the evidence (see :meth:`Session.label`)."""
        return self.config.stash[SESSION].label(self.check.id, self.environment)

    def runtest(self) -> None:
        result = self.check.run(self.config.stash[SESSION].run(self.environment))
        self.result = result
        self.user_properties.extend(_properties(result))
        if result.outcome == "skipped":
            raise pytest.skip.Exception(result.message, _use_item_location=True)
        if result.outcome in ("failed", "error"):
            raise CheckFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return excinfo.value.result.describe(self.label)
        if isinstance(excinfo.value, ConformanceError):  # e.g. the guard refused a mutation
            return f"{self.label}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.check.line - 1  # pytest counts from 0
        return self.path, line, f"{self.label}: {self.check.title}"


def _properties(result: Result) -> list[tuple[str, object]]:
    """JUnit properties: the document section, and expected vs actual of each failure."""
    props: list[tuple[str, object]] = [
        ("check_id", result.check.id),
        ("environment", result.environment),
        ("outcome", result.outcome),
        ("severity", result.check.severity),
        ("section", result.section),
    ]
    for c in result.failures:
        props += [("expected", _plain(c.expected)), ("actual", _plain(c.actual))]
        props.append(("document", c.section))
    return props


def _plain(value: object) -> str:
    """A property value as a reader or a tool takes it: text as written, anything else JSON
    (``["tcp/8080-8080 from 0.0.0.0/0"]``, not a Python repr)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A check's final report carries its result, to be recorded wherever reports are logged.
    Outermost, so the waivers have judged it; a check that ended without a result of its own
    (something raised around it, or a skip or failure from another plugin) is given one here."""
    report = yield
    final = call.when == "call" or (call.when == "setup" and not report.passed)
    if isinstance(item, CheckItem) and final:
        if item.result is None:
            item.result = _result_of(item, report, call)
            report.user_properties.extend(_properties(item.result))
        vars(report)[RESULT] = item.result.as_json(item.label)
    return report


def _result_of(item: CheckItem, report: pytest.TestReport, call: pytest.CallInfo[None]) -> Result:
    state = item.config.stash[SESSION]
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return state.result_for(item.label, "skipped", reason.removeprefix("Skipped: "))
    excinfo = call.excinfo
    raised = f"{excinfo.typename}: {excinfo.value}" if excinfo else str(report.longrepr)
    prefix = "" if call.when == "call" else f"{NOT_RUN}{call.when} failed: "
    return state.result_for(item.label, "error", prefix + raised)


class ResultRecorder:
    """Records each check's result from its report where reports are logged: in this process,
    or on the xdist controller as the workers' reports arrive; and why the test loop ended
    early, if it did."""

    def __init__(self, state: Session) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.record(report)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        try:
            return (yield)
        except (KeyboardInterrupt, pytest.exit.Exception) as exc:
            if self.state.stopped is None:
                self.state.interrupted, self.state.stopped = _why_stopped(session.config, exc)
            raise


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the run ends the same way: evidence marked, files removed."""


def pytest_sessionstart(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is not None:
        session.config.pluginmanager.register(ResultRecorder(state), "conformance-results")


def _terminate_like_interrupt(config: pytest.Config) -> None:
    """Turn SIGTERM into :class:`Terminated` for this run (main thread, default handler only);
    a second SIGTERM ends the process at once. The default is restored when pytest unconfigures."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        return

    def terminate(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated("SIGTERM")

    signal.signal(signal.SIGTERM, terminate)
    config.add_cleanup(_restore_sigterm)


def _restore_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The checks expected to run: those collected and selected, unless nothing runs."""
    settle_heap()
    config = session.config
    state = config.stash.get(SESSION, None)
    if state is None or config.option.collectonly or config.getoption("setuponly", False):
        return
    state.expected = {i.nodeid: i.label for i in session.items if isinstance(i, CheckItem)}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """The xdist controller collects nothing: it expects the checks its workers collected."""
    config: pytest.Config = node.config
    state = config.stash.get(SESSION, None)
    if state is None:
        return
    checks = load_checks()
    for nodeid in ids:
        path, _, name = nodeid.partition("::")
        check_id, _, environment = name.partition("[")
        environment = environment.rstrip("]") or state.environments[0]
        if check_id in checks and (config.rootpath / path).resolve().parent == CHECKS_DIR:
            state.expected.setdefault(nodeid, state.label(check_id, environment))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """An xdist worker finished: keep what it read from the target (lost if it crashed), and
    whether it could not use the target at all."""
    state = node.config.stash.get(SESSION, None)
    output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if state is None or not output:
        return
    worker = json.loads(output)
    state.readings[node.gateway.id] = Reading.from_json(worker["reading"])
    if worker["exit_code"] is not None and state.exit_code is None:
        state.exit_code, state.stopped = worker["exit_code"], worker["stopped"]
        _error_line(f"conformance: {worker['stopped']}", state.exit_code)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Open the target before the first check so an unreachable one fails once, clearly: one
    line on stderr, no check run (each is recorded 'not run' with the reason), exit 6 or 4."""
    state = session.config.stash[SESSION]
    if session.config.option.collectonly or not any(
        isinstance(item, CheckItem) for item in session.items
    ):
        return None
    try:
        state.run()
    except ConformanceError as exc:
        state.close()
        state.stopped = f"the target could not be used: {one_line(exc)}"
        state.exit_code = int(exc.exit_code)
        if hasattr(session.config, "workerinput"):  # an xdist worker: stop them all
            session.shouldfail = f"conformance: {exc}"
            pytest.exit(f"conformance: {exc}", returncode=state.exit_code)
        _error_line(f"conformance: {exc}", state.exit_code)
        return True  # the loop is done: nothing runs
    if state.options.kind == "moto" and state.options.endpoint_url is None:
        gc.collect()  # in-process moto's X-Ray SDK made and dropped botocore sessions
    settle_heap()  # the target's clients and the inventory live to the end
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    try:
        return (yield)
    finally:
        if isinstance(item, CheckItem):  # not the project's own tests: they drop what they make
            gc.collect(1)  # the check's young garbage (a skip's traceback and frames)
            settle_heap()  # what it made and kept (its result, its reports)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure() -> None:
    settle_heap()  # pytest's last collection and the interpreter's at exit scan only the young


def settle_heap() -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``).

    A run keeps a large heap to its end: botocore's service models, in-process moto's backends,
    the spec, the items, the inventory. CPython's full collections walk all of it, again and
    again while the run allocates (about 45% of a moto-server run was spent so). Frozen at the
    points after which that heap only grows (configuration, collection, the target's opening and
    reading, each check, the end), a collection walks only what was allocated since. Garbage
    made after a freeze is still collected, so memory stays bounded (garbage made before one
    is not: the points follow a collection or make little; the reference built into in-process
    moto is collected area by area, see :func:`fixtures.reference.context.collected_once`)."""
    gc.freeze()


def _why_stopped(config: pytest.Config, exc: BaseException) -> tuple[bool, str]:
    """(interrupted, reason) for what ended the test loop: Ctrl-C or SIGTERM (here, or on an
    xdist worker), ``pytest.exit``, or a stop after failures (``-x``, ``--maxfail``, stepwise)."""
    if isinstance(exc, pytest.exit.Exception):
        return True, f"the run was stopped: {exc.msg}"
    if isinstance(exc, Terminated):
        return True, "the run was terminated (SIGTERM)"
    text = str(exc)
    if type(exc) is KeyboardInterrupt or text.endswith("received keyboard-interrupt"):
        return True, "the run was interrupted"
    return False, _stopped_after_failures(config, text)


def _stopped_after_failures(config: pytest.Config, text: str) -> str:
    maxfail = int(config.option.maxfail or 0)
    if text.startswith("stopping after") and maxfail == 1:
        return "stopped after the first failure (-x)"
    if text.startswith("stopping after") and maxfail:
        return f"stopped after {maxfail} failures (--maxfail)"
    return f"the run stopped: {text}"


class EvidenceHookspecs:
    """Hooks other plugins (the reports) implement to add to the one evidence file."""

    @pytest.hookspec
    def pytest_conformance_evidence(self, config: pytest.Config, data: dict[str, Any]) -> None:
        """Add keys to ``data`` once, when the session finishes (before any file is written)."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(EvidenceHookspecs)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    state = config.stash.get(SESSION, None)
    if state is None:
        return
    try:
        if hasattr(config, "workeroutput"):  # an xdist worker: the controller writes
            output = {"reading": state.reading().as_json(), "exit_code": state.exit_code}
            config.workeroutput[WORKER_OUTPUT] = json.dumps(output | {"stopped": state.stopped})
        else:
            _finish(session, state)
    finally:
        state.close()


def _finish(session: pytest.Session, state: Session) -> None:
    """Build the run's evidence (every expected check with a result), make the exit status say
    what it says, and write it with its reports as one set."""
    config = session.config
    directory = config.getoption("evidence")
    if not (state.expected or state.records or directory is not None):
        return
    if state.stopped is None and session.shouldfail:
        state.stopped = _stopped_after_failures(config, str(session.shouldfail))
    elif state.stopped is None and session.exitstatus == pytest.ExitCode.INTERRUPTED:
        state.interrupted, state.stopped = True, "the run was interrupted"
    reading = state.reading()
    data = evidence.build(
        reading=reading,
        phase=state.spec.phase,
        environment=state.options.environment,
        environments=state.environments,
        results=state.results(state.stopped or "no outcome was recorded"),
        contradictions=_contradictions(state),
        started=state.started,
        interrupted=state.interrupted,
    )
    options = state.options
    if options.source is not None:
        data["plan"] = plan_part(options.kind, options.source, state.inputs, options.region)
    config.hook.pytest_conformance_evidence(config=config, data=data)
    state.evidence = evidence.seal(data)
    if state.exit_code is not None:
        session.exitstatus = state.exit_code  # the target could not be used (here, or by a worker)
    elif not state.interrupted and session.exitstatus == pytest.ExitCode.INTERRUPTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # stopped after failures (xdist -x)
    elif state.expected and session.exitstatus == 0 and data["verdict"] != "conformant":
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a check ended without an outcome
    if directory is not None:
        try:
            evidence.write(directory, data, matrix.render(data))
        except OSError as exc:
            message = f"conformance: cannot write the evidence to {directory}: {exc.strerror}"
            session.exitstatus = _error_line(message, int(ExitCode.USAGE))


def _contradictions(state: Session) -> list[contradictions.Contradiction]:
    """What the document says twice, differently, about any environment of the run (once)."""
    found: dict[str, contradictions.Contradiction] = {}
    for environment in state.environments:
        for c in contradictions.find(state.spec.environment(environment)):
            found.setdefault(c.title, c)
    return list(found.values())


def _unverifiable_reasons(
    data: dict[str, Any], skipped: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Skips grouped by cause: the services the target did not serve (one line naming the
    emulator and its edition), then any other reason with its count."""
    failures = ((data.get("inventory") or {}).get("failures") or {}).values()
    unserved = {f["message"]: f["service"] for f in failures if f["kind"] == "unsupported"}
    by_service = Counter(unserved[r["message"]] for r in skipped if r["message"] in unserved)
    others = Counter(r["message"] for r in skipped if r["message"] not in unserved)
    lines = []
    if by_service:
        served = ", ".join(f"{s} {n}" for s, n in sorted(by_service.items()))
        lines.append((f"not served by {data.get('emulator') or 'this target'}", served))
    lines += [(message, str(n)) for message, n in sorted(others.items())]
    return lines


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The run as its evidence records it: the same counts, calls and verdict."""
    state = config.stash.get(SESSION, None)
    data = state.evidence if state is not None else None
    if state is None or data is None or not state.expected:
        return
    tr = terminalreporter
    results: list[dict[str, Any]] = data["results"]
    tr.section("conformance")
    tr.write_line(
        f"target {data['target'] or state.options.describe()} · phase {state.spec.phase} "
        f"({state.spec.name}) · {' + '.join(state.environments)}"
    )
    tr.write_line("checks: " + evidence.count_line(evidence.counts(results)))
    missing = evidence.not_run(results)
    if missing:
        reason = str(missing[0]["message"]).removeprefix(NOT_RUN)
        tr.write_line(f"not run: {len(missing)} checks ({reason}), each recorded as an error")
    unverifiable = [
        r for r in results if r["outcome"] == "skipped" and "not applicable" not in r["message"]
    ]
    if unverifiable:
        tr.write_line(f"not verifiable on this target: {len(unverifiable)} checks")
        for reason, n in _unverifiable_reasons(data, unverifiable):
            tr.write_line(f"    {reason}: {n}")
    calls = data["api_calls"]
    line = f"AWS API calls: {calls['count']}"
    if calls["repeated"]:
        line += f" ({len(calls['repeated'])} repeated: {sorted(set(calls['repeated']))})"
    if calls["processes"] > 1:
        line += f"; {calls['sent']} sent by {calls['processes']} xdist workers"
    tr.write_line(line)
    plan = data.get("plan")
    if plan is not None:
        unknown = sum(len(v) for v in plan["unknown"].values())
        tr.write_line(f"unknown before apply: {unknown} values (their checks skipped)")
        for line in plan["not_read"]:
            tr.write_line(f"not read: {line}")
    losses = evidence.stateful_changes(data)
    if losses:
        tr.write_line(
            f"PLANNED LOSS OF DATA: {len(losses)} (fails the run whatever the checks say)"
        )
        for change in losses:
            tr.write_line(f"    {change['message']}")
    tr.write_line(f"verdict: {data['verdict']}")
    if data["contradictions"]:
        tr.section("document contradictions", sep="-")
        for c in data["contradictions"]:
            tr.write_line(f"{c['title']}: {c['detail']}")
            tr.write_line(f"    document: {'; '.join(c['sections'])}")
    directory = config.getoption("evidence")
    if directory is not None:
        tr.write_line(f"evidence: {directory / evidence.EVIDENCE_FILE}")
