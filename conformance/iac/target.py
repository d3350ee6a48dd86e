"""The ``plan`` and ``iac`` targets: the checks judge a plan's JSON (``--plan``) or the
configuration itself (``--iac-dir``) before anything is applied.

The readers' snapshot is read as a saved inventory is, with one difference: a value the plan
does not know yet never passes or fails. Each section is validated when a check first asks for
it; then every model holding such a value (as the reader placed it) becomes an instance of a
subclass made for it, whose field raises :class:`~conformance.checks.UnknownBeforeApply` when a
check reads it, so the check is skipped "not verifiable before apply: ADDRESS.ATTRIBUTE is
unknown". Serializing reads the instance's ``__dict__``, not its attributes: the evidence keeps
the section as the reader made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from conformance.checks import BEFORE_APPLY, UnknownBeforeApply
from conformance.errors import UsageError
from conformance.iac.hcl import read_configuration
from conformance.iac.plan import Plan, plan_snapshot, read_plan
from conformance.inputs import Inputs
from conformance.inventory import (
    SECTIONS,
    CollectionFailure,
    SavedInventory,
    SavedSnapshot,
    Section,
)

IAC_KINDS = ("plan", "iac")
UNKNOWN_FIELDS = "__unknown_fields__"  # on a marked class: field -> why it cannot be judged


def read_source(
    kind: str, plan: Path | None, iac_dir: Path | None, tfvars: Sequence[Path], region: str | None
) -> Plan | None:
    """What ``--target plan`` (``--plan``) or ``--target iac`` (``--iac-dir``, ``--tfvars``)
    reads, read now so that a bad file stops the run before any check; None for the other
    targets. ``--region``, if given, must be the region the plan's provider names."""
    if plan is not None and kind != "plan":
        raise UsageError("--plan applies to --target plan only")
    if (iac_dir is not None or tfvars) and kind != "iac":
        raise UsageError("--iac-dir and --tfvars apply to --target iac only")
    if kind == "plan":
        if plan is None:
            raise UsageError("--target plan needs --plan=FILE (the JSON of `tofu show -json PLAN`)")
        source = read_plan(plan)
    elif kind == "iac":
        if iac_dir is None:
            raise UsageError("--target iac needs --iac-dir=DIR (the OpenTofu configuration)")
        source = read_configuration(iac_dir, tfvars)
    else:
        return None
    if region is not None and source.region is not None and region != source.region:
        raise UsageError(
            f"--region {region}: {_named(kind, source)}'s aws provider is in {source.region}"
        )
    return source


def _named(kind: str, source: Plan) -> str:
    return (
        f"the plan {source.location}" if kind == "plan" else f"the configuration {source.location}"
    )


def plan_part(kind: str, source: Plan, inputs: Inputs, region: str) -> dict[str, Any]:
    """The evidence's ``plan``: what was read, the planned losses of data (a finding of their
    own), what is unknown before apply and what could not be read."""
    snapshot = plan_snapshot(source, inputs, region)
    return {
        "kind": kind,
        "location": source.location,
        "stateful_changes": snapshot["stateful_changes"],
        "unknown": snapshot["unknown"],
        "not_read": snapshot["not_read"],
    }


class PlanInventory(SavedInventory):
    """The inventory a plan or configuration makes; what it cannot know is never judged."""

    def __init__(self, kind: str, source: Plan, inputs: Inputs, region: str) -> None:
        snapshot = plan_snapshot(source, inputs, region)
        self.unverifiable: dict[str, list[dict[str, Any]]] = snapshot["unknown_fields"]
        saved = SavedSnapshot.of(
            snapshot, origin=_named(kind, source), location=source.location, recorded_from=kind
        )
        super().__init__(saved, inputs)

    def _collect(self, cls: type[Section], scope: int) -> None:
        super()._collect(cls, scope)
        section = self.sections.get(cls.service)
        if section is not None:
            for placed in self.unverifiable.get(cls.service, []):
                _mark(section, placed["path"], placed["reason"])
        elif cls.service in self._absent:
            self.failures[cls.service] = CollectionFailure(
                service=cls.service,
                kind="unsupported",
                message=f"{BEFORE_APPLY}{self.saved.origin} has no {cls.service} resources "
                "(what AWS holds besides them is read after apply)",
            )


def _mark(section: Section, path: Sequence[str | int], reason: str) -> None:
    """Make the field at ``path`` (or every field of the model at ``path``) unverifiable."""
    parent: Any = None
    held: Any = section
    for step in path:
        parent, held = held, _step(held, step)
    if not isinstance(held, BaseModel):  # a field of its parent
        _unverifiable(parent, {str(path[-1]): reason})
    else:  # a whole model
        _unverifiable(held, dict.fromkeys(type(held).model_fields, reason))


def _step(held: Any, step: str | int) -> Any:
    if isinstance(held, list) and isinstance(step, int):
        return held[step]
    if isinstance(held, dict):
        return held[step]
    return vars(held)[step]


def _unverifiable(model: BaseModel, reasons: dict[str, str]) -> None:
    """Swap ``model``'s class for one whose ``reasons`` fields raise when read."""
    marked = type(model)
    base = marked.__bases__[0] if UNKNOWN_FIELDS in vars(marked) else marked
    unknown = {**reasons, **vars(marked).get(UNKNOWN_FIELDS, {})}

    def __getattribute__(self: BaseModel, name: str) -> Any:
        if name in unknown:
            raise UnknownBeforeApply(unknown[name])
        return object.__getattribute__(self, name)  # no model class defines its own

    # A Section subclass registers itself as its service's section: the real one stays.
    registered = dict(SECTIONS)
    try:
        subclass = type(base)(
            base.__name__,
            (base,),
            {
                "__getattribute__": __getattribute__,
                "__module__": base.__module__,
                UNKNOWN_FIELDS: unknown,
            },
        )
    finally:
        SECTIONS.clear()
        SECTIONS.update(registered)
    object.__setattr__(model, "__class__", subclass)
