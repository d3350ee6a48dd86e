"""The ``plan`` and ``iac`` targets: the checks judge a plan's JSON (``--plan``) or the
configuration itself (``--iac-dir``) before anything is applied.

The readers' snapshot is read as a saved inventory is, with one difference: a value the plan
does not know yet never passes or fails. Each section is validated when a check first asks for
it; then every model holding such a value (as the reader placed it) becomes an instance of a
subclass made for it, whose field raises :class:`~conformance.checks.UnknownBeforeApply` when a
check reads it, so the check is skipped "not verifiable before apply: ADDRESS.ATTRIBUTE is
unknown". Serializing reads the instance's ``__dict__``, not its attributes: the evidence keeps
the section as the reader made it.

A name unknown before apply (a bucket named after a variable with no value) is held as its
placeholder; wherever that placeholder stands (a list of names, a dict's keys, an alarm's
dimension) it becomes an :class:`~conformance.checks.UnknownName`, so a resource looked up by
another name is "not verifiable before apply" rather than absent: it may be the unknown one.
A resource whose instances could not be read at all (a for_each not known statically) leaves
the fields holding its type's models unverifiable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from conformance.checks import BEFORE_APPLY, UnknownBeforeApply, UnknownName
from conformance.errors import UsageError
from conformance.inputs import Inputs
from conformance.inventory import (
    CollectionFailure,
    SavedInventory,
    SavedSnapshot,
    Section,
)

if TYPE_CHECKING:
    from conformance.iac.plan import Plan

# The readers (python-hcl2, lark, the section builders) are imported when a plan or
# configuration is read: every run validates these options, few read one.
IAC_KINDS = ("plan", "iac")
UNKNOWN_FIELDS = "__unknown_fields__"  # on a marked class: field -> why it cannot be judged
# A resource the static reader could not expand: "ADDRESS: its for_each is not known ...".
NOT_EXPANDED = re.compile(r"^(?P<address>\S+): its (?:for_each|count) is not known statically")


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
        from conformance.iac.plan import read_plan

        source = read_plan(plan)
    elif kind == "iac":
        if iac_dir is None:
            raise UsageError("--target iac needs --iac-dir=DIR (the OpenTofu configuration)")
        from conformance.iac.hcl import read_configuration

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
    from conformance.iac.plan import plan_snapshot

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
        from conformance.iac.plan import plan_snapshot

        snapshot = plan_snapshot(source, inputs, region)
        self.unverifiable: dict[str, list[dict[str, Any]]] = snapshot["unknown_fields"]
        for line in source.not_read:
            for service, field in _not_expanded(line):
                self.unverifiable.setdefault(service, []).append({"path": [field], "reason": line})
        # Every unknown value's placeholder, of whatever service: an alarm names a queue.
        self.unknown_names = {
            f"<{unknown}>": f"{unknown} is unknown"
            for listed in snapshot["unknown"].values()
            for unknown in listed
        }
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
            _name_unknowns(section, self.unknown_names)
        elif cls.service in self._absent:
            self.failures[cls.service] = CollectionFailure(
                service=cls.service,
                kind="unsupported",
                message=f"{BEFORE_APPLY}{self.saved.origin} has no {cls.service} resources "
                "(what AWS holds besides them is read after apply)",
            )


def _not_expanded(line: str) -> list[tuple[str, str]]:
    """The section fields (service, field) a resource named ``line`` (a ``not_read`` line)
    would have added models to, had its instances been known."""
    found = NOT_EXPANDED.match(line)
    if found is None:
        return []
    resource_type = found["address"].split(".")[-2]  # a module call: "module", no section's
    from conformance.iac.sections import HELD_IN

    service, fields = HELD_IN.get(resource_type, ("", ()))
    return [(service, field) for field in fields]


def _name_unknowns(value: Any, placeholders: dict[str, str]) -> Any:
    """``value`` with every string that is an unknown's placeholder an UnknownName, replaced in
    place within models (their ``__dict__``: a marked field is not read), lists and dicts."""
    if isinstance(value, str):
        reason = placeholders.get(value)
        return value if reason is None else UnknownName(value, reason)
    if isinstance(value, BaseModel):
        held = vars(value)
        for name, field in held.items():
            held[name] = _name_unknowns(field, placeholders)
    elif isinstance(value, list):
        value[:] = [_name_unknowns(item, placeholders) for item in value]
    elif isinstance(value, dict):
        items = [
            (_name_unknowns(k, placeholders), _name_unknowns(v, placeholders))
            for k, v in value.items()
        ]
        value.clear()
        value.update(items)
    return value


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

    subclass = type(base)(
        base.__name__,
        (base,),
        {
            "__getattribute__": __getattribute__,
            "__module__": base.__module__,
            UNKNOWN_FIELDS: unknown,
        },
    )  # names no service of its own: the real section stays registered
    object.__setattr__(model, "__class__", subclass)
