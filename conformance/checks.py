"""Checks: small functions that compare documented values with the inventory.

A check is registered with its metadata beside it (stable id, title, severity, remediation, and
the spec group it verifies, in the manner of Prowler's metadata). It reads the inventory through
a :class:`CheckContext` and states each comparison with :meth:`CheckContext.expect`; it never
calls AWS. Running a check yields a :class:`Result` whether under pytest or in-process, whatever
the check raises; every text in a Result is scrubbed of secrets, so no output channel shows one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from conformance.errors import ConformanceError
from conformance.host import HostTargets
from conformance.inputs import Inputs
from conformance.inventory import Inventory, NotCollected, S, one_line
from conformance.redact import scrub, scrub_value
from conformance.spec import Documented, EnvironmentSpec, PhaseSpec

Severity = Literal["critical", "high", "medium", "low"]
Outcome = Literal["passed", "failed", "skipped", "error", "waived"]
G = TypeVar("G", bound=BaseModel)


@dataclass(frozen=True)
class Run:
    """Everything one conformance run checks against: spec, inputs and the collected inventory."""

    spec: PhaseSpec
    environment: str
    inputs: Inputs
    inventory: Inventory
    target: str
    host: HostTargets = field(default_factory=HostTargets)  # the EC2 host's files and services

    @property
    def env(self) -> EnvironmentSpec:
        return self.spec.environment(self.environment)


def result_key(check_id: str, environment: str) -> str:
    """What names one result of a run that checks several environments: ``rds.multi_az
    [staging]``; a run of one environment names its results by check id alone."""
    return f"{check_id} [{environment}]"


@dataclass(frozen=True)
class Comparison:
    subject: str
    expected: Any
    actual: Any
    section: str
    ok: bool
    note: str | None = None


UNVERIFIABLE = "not verifiable on this target: "
BEFORE_APPLY = "not verifiable before apply: "
NOT_APPLICABLE = "not applicable: "


class Unverifiable(Exception):
    """The target cannot report a value the check judges (moto omits PerformanceInsightsEnabled,
    which AWS always reports): the check is skipped with this reason, never passed."""

    prefix = UNVERIFIABLE


class UnknownBeforeApply(Unverifiable):
    """A plan or configuration does not hold the value yet (``ADDRESS.ATTRIBUTE is unknown``):
    only apply will tell."""

    prefix = BEFORE_APPLY


class UnknownName(str):
    """A name a plan or configuration does not know yet, held as its placeholder
    (``<ADDRESS.ATTRIBUTE>``): whether it is the name a check looks for cannot be told before
    apply, so comparing it with another name raises :class:`UnknownBeforeApply` (hashing, and
    so a set's or dict's membership, is a plain string's)."""

    reason: str  # "ADDRESS.ATTRIBUTE is unknown"

    def __new__(cls, placeholder: str, reason: str) -> UnknownName:
        made = super().__new__(cls, placeholder)
        made.reason = reason
        return made

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return str(self), self.reason

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        if str.__eq__(self, other):
            return True
        raise UnknownBeforeApply(self.reason)

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return not self.__eq__(other)

    __hash__ = str.__hash__


class ResourceMissing(Exception):
    """A located resource is absent: says what was looked for and what was there instead.
    Where what is there includes a name unknown before apply, the one looked for may be it:
    ``unknown`` says why it cannot be told (the check is skipped, never failed)."""

    def __init__(self, looked_for: str, found: Iterable[str]) -> None:
        self.looked_for = looked_for
        self.found = sorted(found)
        unknown = [name.reason for name in self.found if isinstance(name, UnknownName)]
        more = f", as are {len(unknown) - 1} more names" if len(unknown) > 1 else ""
        self.unknown = f"{unknown[0]}{more}" if unknown else None
        shown = ", ".join(self.found[:12]) + (" …" if len(self.found) > 12 else "")
        super().__init__(f"looked for {looked_for}; found {shown or 'nothing'}")


class CheckContext:
    """What a check sees while it runs, and where its comparisons are recorded."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.comparisons: list[Comparison] = []
        self.unavailable: list[NotCollected] = []  # sections asked for that the target lacked

    @property
    def inputs(self) -> Inputs:
        return self.run.inputs

    @property
    def env(self) -> EnvironmentSpec:
        return self.run.env

    @property
    def region(self) -> str:
        return self.run.inventory.region

    def get(self, section: type[S]) -> S:
        """The collected section; raises NotCollected when the target could not provide it."""
        try:
            return self.run.inventory.get(section)
        except NotCollected as exc:
            self.unavailable.append(exc)
            raise

    def expect(
        self,
        documented: Documented[Any],
        actual: Any,
        *,
        subject: str,
        ok: bool | None = None,
        expected: Any = None,
    ) -> bool:
        """Record one comparison: equality unless ``ok`` is given; ``expected`` is for display."""
        shown = documented.value if expected is None else expected
        passed = (actual == documented.value) if ok is None else ok
        self.comparisons.append(
            Comparison(subject, shown, actual, documented.section, passed, documented.note)
        )
        return passed


CheckFunction = Callable[[CheckContext, Any], None]


@dataclass(frozen=True)
class Check(Generic[G]):
    id: str
    title: str
    severity: Severity
    remediation: str
    area: Callable[[EnvironmentSpec], G | None]
    function: Callable[[CheckContext, G], None]
    module: str
    declared_at: int | None = None  # a declared check's line in its area module

    @property
    def line(self) -> int:
        """Where a reader finds the check: its function, or the row that declares it."""
        return self.declared_at or self.function.__code__.co_firstlineno

    def run(self, run: Run) -> Result:
        result = self._judge(run)
        result.environment = run.environment
        return result

    def _judge(self, run: Run) -> Result:
        group = self.area(run.env)
        if group is None:
            return self._result(
                "skipped",
                message=f"{NOT_APPLICABLE}phase {run.spec.phase} ({run.environment}) "
                "documents nothing this check verifies",
            )
        ctx = CheckContext(run)
        section = str(getattr(group, "section", ""))
        try:
            self.function(ctx, group)
        except ResourceMissing as missing:
            if missing.unknown is not None:
                message = f"{BEFORE_APPLY}{missing.unknown} (looked for {missing.looked_for})"
                return self._result("skipped", message=message, section=section)
            ctx.comparisons.append(
                Comparison(missing.looked_for, "present", "absent", section, False, str(missing))
            )
        except NotCollected as exc:
            outcome: Outcome = "skipped" if exc.failure.kind == "unsupported" else "error"
            return self._result(outcome, message=exc.failure.message, section=section)
        except Unverifiable as exc:
            return self._result("skipped", message=exc.prefix + str(exc), section=section)
        except ConformanceError as exc:  # e.g. the guard refused a call: its message says which
            return self._result("error", message=one_line(exc), section=section)
        except Exception as exc:  # a bug or an answer the check did not foresee: an outcome too
            message = f"{type(exc).__name__}: {one_line(exc)}"
            return self._result("error", message=message, section=section)
        failed = any(not c.ok for c in ctx.comparisons)
        if ctx.unavailable and not failed:
            # A check that went on without a section it asked for must not pass on the rest.
            lacking = ctx.unavailable[0].failure
            outcome = "skipped" if lacking.kind == "unsupported" else "error"
            return self._result(outcome, message=lacking.message, section=section)
        if not ctx.comparisons:
            return self._result("error", message="the check made no comparison", section=section)
        return self._result("failed" if failed else "passed", ctx.comparisons, section=section)

    def _result(
        self,
        outcome: Outcome,
        comparisons: list[Comparison] | None = None,
        message: str = "",
        section: str = "",
    ) -> Result:
        """The Result, with secrets scrubbed from its message and every comparison."""
        shown = [
            replace(
                c,
                subject=scrub(c.subject),
                expected=scrub_value(c.expected),
                actual=scrub_value(c.actual),
                note=None if c.note is None else scrub(c.note),
            )
            for c in comparisons or []
        ]
        return Result(self, outcome, shown, scrub(message), section)


@dataclass
class Result:
    check: Check[Any]
    outcome: Outcome
    comparisons: list[Comparison] = field(default_factory=list)
    message: str = ""
    section: str = ""
    environment: str = "production"

    @property
    def failures(self) -> list[Comparison]:
        return [c for c in self.comparisons if not c.ok]

    def describe(self, label: str | None = None) -> str:
        """The failure as a reader needs it: expected, actual and the document section."""
        lines = [f"{label or self.check.id}: {self.check.title} [{self.check.severity}]"]
        if self.message:
            lines.append(f"  {self.outcome}: {self.message}")
        for c in self.failures:
            lines.append(f"  {c.subject}")
            lines.append(f"    expected: {_show(c.expected)}")
            lines.append(f"    actual:   {_show(c.actual)}")
            lines.append(f"    document: {c.section}")
            if c.note:
                lines.append(f"    note:     {c.note}")
        if self.outcome == "failed":
            lines.append(f"  remediation: {self.check.remediation}")
        return "\n".join(lines)

    def as_json(self, label: str | None = None) -> dict[str, Any]:
        """The result as the evidence keeps it; ``label`` names it among several environments'
        results (default: the check id)."""
        return {
            "id": self.check.id,
            "environment": self.environment,
            "label": label or self.check.id,
            "title": self.check.title,
            "severity": self.check.severity,
            "outcome": self.outcome,
            "message": self.message,
            "section": self.section,
            "remediation": self.check.remediation,
            "comparisons": [
                {
                    "subject": c.subject,
                    "expected": _jsonable(c.expected),
                    "actual": _jsonable(c.actual),
                    "section": c.section,
                    "ok": c.ok,
                    "note": c.note,
                }
                for c in self.comparisons
            ],
        }


def _show(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


REGISTRY: dict[str, Check[Any]] = {}


def check(
    check_id: str,
    *,
    title: str,
    area: Callable[[EnvironmentSpec], G | None],
    remediation: str,
    severity: Severity = "medium",
) -> Callable[[Callable[[CheckContext, G], None]], Callable[[CheckContext, G], None]]:
    """Register a check under a stable id, with its metadata kept beside it."""

    def add(function: Callable[[CheckContext, G], None]) -> Callable[[CheckContext, G], None]:
        register(Check(check_id, title, severity, remediation, area, function, function.__module__))
        return function

    return add


def register(registered: Check[Any]) -> None:
    """Add a check to the registry; an id is registered once."""
    if registered.id in REGISTRY:
        raise ValueError(f"check id {registered.id} registered twice")
    REGISTRY[registered.id] = registered


CHECK_PACKAGE = "specs.checks"


def load_checks() -> dict[str, Check[Any]]:
    """Import every check module under ``specs/checks`` and return the registry."""
    package = importlib.import_module(CHECK_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{CHECK_PACKAGE}.{info.name}")
    return REGISTRY


def run_all(run: Run, checks: Iterable[Check[Any]] | None = None) -> list[Result]:
    """Run checks in-process, as the kill-matrix and the benchmark do."""
    selected = list(checks) if checks is not None else list(load_checks().values())
    return [c.run(run) for c in selected]
