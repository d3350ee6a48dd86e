"""Read the JSON of ``tofu show -json PLANFILE`` (Terraform's format, 0.1 to 1.2) into resources.

What will exist after apply is every managed resource change that does not end in a delete,
with its ``after`` values (sensitive ones masked), ``after_unknown`` and the references of its
``configuration`` expressions, resolved through module calls (``var.X`` to the caller's
expression, ``module.M.OUT`` to the module's output) to resource instances.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.iac.resources import STATEFUL_TYPES, Resource, StatefulChange, Target
from conformance.iac.sections import Reader
from conformance.inputs import Inputs
from conformance.inventory import one_line

# An instance key: [0] (count) or ["name"] (for_each).
KEY = r'\[(?:"(?:[^"\\]|\\.)*"|\d+)\]'
# A module instance's segments: module.NAME, with a count or for_each key.
MODULE_SEGMENT = re.compile(rf"module\.([^.\[]+)({KEY})?")
# A reference to a resource: TYPE.NAME, an instance key, then the attribute read.
RESOURCE_REFERENCE = re.compile(
    rf"(?P<resource>[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*)(?P<key>{KEY})?"
    r"(?:\.(?P<attribute>[A-Za-z_][\w-]*))?"
)
# Reference roots that name no resource: nothing to relate.
NOT_RESOURCES = ("data.", "local.", "each.", "count.", "path.", "self.", "terraform.")
PLAN_KEYS = ("planned_values", "resource_changes")
GONE = ("delete", "forget")  # actions after which the resource no longer exists


@dataclass(frozen=True)
class Plan:
    """What a plan says will exist after apply, and where it is."""

    location: str  # the file (or configuration directory) it was read from
    region: str | None  # the aws provider's region, when the configuration gives it
    resources: tuple[Resource, ...]
    stateful_changes: tuple[StatefulChange, ...]
    # What the reader could not read, e.g. a registry module of a configuration read statically.
    not_read: tuple[str, ...] = ()


def read_plan(path: Path) -> Plan:
    """The plan JSON at ``path``; a file that is not one is one usage error naming it."""
    return parse_plan(_load(path), str(path))


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    if raw.startswith(b"PK"):
        raise UsageError(
            f"{path}: a binary plan file, not its JSON: give `tofu show -json {path.name}`'s output"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a plan's JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a plan's JSON (a JSON {type(data).__name__}, not an object)")
    return data


def parse_plan(data: dict[str, Any], location: str) -> Plan:
    """A plan from its decoded JSON; a shape that is not a plan is one usage error."""
    if "format_version" not in data or not any(k in data for k in PLAN_KEYS):
        what = "a state's JSON" if "values" in data else "JSON without format_version"
        raise UsageError(
            f"{location}: not a plan's JSON ({what}; expected `tofu show -json PLANFILE` "
            "with planned_values and resource_changes)"
        )
    try:
        return _plan(data, location)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"{location}: a malformed plan ({type(exc).__name__}: {one_line(exc)})"
        ) from None


def _plan(data: dict[str, Any], location: str) -> Plan:
    configuration = data.get("configuration") or {}
    modules = _Modules(configuration.get("root_module") or {})
    sensitive = _planned_sensitive(data.get("planned_values") or {})
    resources, stateful = [], []
    for change in data.get("resource_changes") or []:
        if change.get("mode", "managed") != "managed":
            continue
        actions = tuple(change["change"]["actions"])
        if change["type"] in STATEFUL_TYPES and "delete" in actions:
            stateful.append(StatefulChange(change["address"], change["type"], actions))
        if actions[-1] in GONE:
            continue
        resources.append(_resource(change, modules, sensitive.get(change["address"])))
    modules.resolve_all(resources)
    return Plan(
        location=location,
        region=_region(configuration, data.get("variables") or {}),
        resources=tuple(modules.resolved(r) for r in resources),
        stateful_changes=tuple(stateful),
    )


def _resource(change: dict[str, Any], modules: _Modules, sensitive: Any) -> Resource:
    planned = change["change"]
    values = _masked(_masked(planned.get("after") or {}, planned.get("after_sensitive")), sensitive)
    config = modules.resource(change.get("module_address", ""), change["type"], change["name"])
    return Resource(
        address=change["address"],
        type=change["type"],
        values=values,
        unknown=planned.get("after_unknown") or {},
        configured=frozenset((config or {}).get("expressions") or {}),
    )


def _masked(value: Any, sensitive: Any) -> Any:
    """``value`` with every part ``sensitive`` marks (True) replaced by None."""
    if sensitive is True:
        return None
    if isinstance(value, dict) and isinstance(sensitive, dict):
        return {k: _masked(v, sensitive.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(sensitive, list):
        return [
            _masked(v, sensitive[i] if i < len(sensitive) else None) for i, v in enumerate(value)
        ]
    return value


def _planned_sensitive(planned_values: dict[str, Any]) -> dict[str, Any]:
    """``sensitive_values`` of every resource in planned_values, by address (format 0.2+)."""
    found: dict[str, Any] = {}

    def walk(module: dict[str, Any]) -> None:
        for resource in module.get("resources") or []:
            found[resource["address"]] = resource.get("sensitive_values")
        for child in module.get("child_modules") or []:
            walk(child)

    walk(planned_values.get("root_module") or {})
    return found


def _region(configuration: dict[str, Any], variables: dict[str, Any]) -> str | None:
    """The default aws provider's region: a constant, or a variable that is not sensitive."""
    provider = (configuration.get("provider_config") or {}).get("aws") or {}
    region = (provider.get("expressions") or {}).get("region") or {}
    if isinstance(region.get("constant_value"), str):
        return str(region["constant_value"])
    declared = (configuration.get("root_module") or {}).get("variables") or {}
    for reference in region.get("references") or []:
        name = reference.removeprefix("var.")
        value = (variables.get(name) or {}).get("value")
        secret = (declared.get(name) or {}).get("sensitive")
        if reference.startswith("var.") and isinstance(value, str) and not secret:
            return value
    return None


class _Modules:
    """The configuration's modules, to find a resource's expressions and resolve references."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.instances: dict[tuple[str, str, str], list[str]] = {}  # (module, type, name)
        self.references: dict[str, dict[str, tuple[Target, ...]]] = {}

    def config(self, module_address: str) -> dict[str, Any] | None:
        """The configuration of the module at ``module_address`` (instance keys ignored)."""
        module: dict[str, Any] | None = self.root
        for name, _ in MODULE_SEGMENT.findall(module_address):
            call = ((module or {}).get("module_calls") or {}).get(name) or {}
            module = call.get("module")
        return module

    def resource(self, module_address: str, type_: str, name: str) -> dict[str, Any] | None:
        for resource in (self.config(module_address) or {}).get("resources") or []:
            if (resource.get("type"), resource.get("name")) == (type_, name):
                return dict(resource)
        return None

    def resolve_all(self, resources: list[Resource]) -> None:
        """Index the instances, then resolve every resource's expressions' references."""
        for r in resources:
            module, type_, name = _split(r.address)
            self.instances.setdefault((module, type_, name), []).append(r.address)
        for r in resources:
            module, type_, name = _split(r.address)
            config = self.resource(module, type_, name) or {}
            key = r.address[len(f"{module}.{type_}.{name}".lstrip(".")) :]
            self.references[r.address] = {
                path: targets
                for path, references in _expressions(config.get("expressions") or {})
                if (targets := _same_key(self._targets(module, references), references, key))
            }

    def resolved(self, resource: Resource) -> Resource:
        return replace(resource, references=self.references.get(resource.address, {}))

    def _targets(self, module: str, references: list[str], depth: int = 0) -> tuple[Target, ...]:
        """The resource instances ``references`` (made in ``module``) name, most specific first
        kept: Terraform lists ``aws_x.a["k"].id``, ``aws_x.a["k"]`` and ``aws_x.a`` together."""
        if depth > 20:  # a cycle through module outputs: nothing to relate
            return ()
        found: list[Target] = []
        for reference in _most_specific(references):
            found += self._target(module, reference, depth)
        return tuple(dict.fromkeys(found))

    def _target(self, module: str, reference: str, depth: int) -> list[Target]:
        if reference.startswith(NOT_RESOURCES):
            return []
        if reference.startswith("var."):
            return self._variable(module, reference.split(".")[1], depth)
        if reference.startswith("module."):
            parts = reference.split(".")
            return self._output(module, parts[1], parts[2], depth) if len(parts) > 2 else []
        matched = RESOURCE_REFERENCE.fullmatch(reference) or RESOURCE_REFERENCE.match(reference)
        if matched is None:
            return []
        type_, name = matched["resource"].split(".")
        key = matched["key"] or ""
        return [
            Target(address, matched["attribute"])
            for address in self.instances.get((module, type_, name), [])
            if not key or address.endswith(f"{type_}.{name}{key}")
        ]

    def _variable(self, module: str, variable: str, depth: int) -> list[Target]:
        """A module's input variable: the expression its caller passes, in the caller."""
        segments = list(_segments(module))
        if not segments:
            return []
        caller = ".".join(segments[:-1])
        call_name = MODULE_SEGMENT.fullmatch(segments[-1])
        call = ((self.config(caller) or {}).get("module_calls") or {}).get(
            call_name[1] if call_name else ""
        ) or {}
        expression = (call.get("expressions") or {}).get(variable) or {}
        return list(self._targets(caller, expression.get("references") or [], depth + 1))

    def _output(self, module: str, call: str, output: str, depth: int) -> list[Target]:
        """A module's output, in each instance of the module called ``call`` from ``module``."""
        prefix = f"{module}.module.{call}" if module else f"module.{call}"
        children = sorted(
            {
                m
                for m, _, _ in self.instances
                if m == prefix or (m.startswith(prefix) and re.fullmatch(KEY, m[len(prefix) :]))
            }
        )
        found: list[Target] = []
        for child in children:
            outputs = (self.config(child) or {}).get("outputs") or {}
            expression = (outputs.get(output) or {}).get("expression") or {}
            found += self._targets(child, expression.get("references") or [], depth + 1)
        return found


def _same_key(targets: tuple[Target, ...], references: list[str], key: str) -> tuple[Target, ...]:
    """``aws_x.y[each.key]`` is referenced as ``aws_x.y`` and ``each.key`` (the key is not a
    literal): of a for_each resource's instances, the one with the referencing instance's key."""
    if "each.key" not in references or not key:
        return targets
    keyed = tuple(t for t in targets if t.address.endswith(key))
    return keyed or targets


def _segments(module: str) -> Iterator[str]:
    for matched in MODULE_SEGMENT.finditer(module):
        yield matched[0]


def _split(address: str) -> tuple[str, str, str]:
    """(module instance, type, name) of a resource instance address."""
    module = "".join(f"{m}." for m in _segments(address)).rstrip(".")
    rest = address[len(module) + 1 :] if module else address
    matched = RESOURCE_REFERENCE.match(rest)
    if matched is None:
        raise ValueError(f"not a resource address: {address}")
    type_, name = matched["resource"].split(".")
    return module, type_, name


def _most_specific(references: list[str]) -> list[str]:
    """Of the references to one resource, those with an instance key and attribute if any."""
    by_resource: dict[str, list[tuple[tuple[bool, bool], str]]] = {}
    for reference in references:
        matched = RESOURCE_REFERENCE.match(reference)
        base = matched["resource"] if matched else reference
        rank = (bool(matched and matched["key"]), bool(matched and matched["attribute"]))
        by_resource.setdefault(base, []).append((rank, reference))
    chosen = []
    for ranked in by_resource.values():
        best = max(rank for rank, _ in ranked)
        chosen += [reference for rank, reference in ranked if rank == best]
    return chosen


def _expressions(
    expressions: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[str, list[str]]]:
    """(dotted path, references) of every expression, nested blocks included."""
    for key, expression in expressions.items():
        here = (*path, key)
        if isinstance(expression, list):
            for index, block in enumerate(expression):
                if isinstance(block, dict):
                    yield from _expressions(block, (*here, str(index)))
        elif isinstance(expression, dict) and "references" in expression:
            yield ".".join(here), [str(r) for r in expression["references"]]
        elif isinstance(expression, dict) and "constant_value" not in expression:
            yield from _expressions(expression, here)


def plan_snapshot(plan: Plan, inputs: Inputs, region: str | None = None) -> dict[str, Any]:
    """The inventory snapshot of ``plan`` (as ``Inventory.snapshot`` shapes it, with the
    package's ``unknown``, ``unknown_fields``, ``stateful_changes`` and ``not_read``), in
    ``region`` (None: the plan's own)."""
    if region is not None and plan.region is not None and region != plan.region:
        raise UsageError(f"--region {region}: the plan {plan.location} is of {plan.region}")
    chosen = region or plan.region
    if chosen is None:
        raise UsageError(f"{plan.location}: the plan names no aws provider region; give --region")
    reader = Reader(plan.resources, chosen, inputs)
    sections, failures = reader.sections()
    return {
        "region": chosen,
        "sections": {k: v.model_dump(mode="json") for k, v in sorted(sections.items())},
        "failures": {k: v.model_dump(mode="json") for k, v in sorted(failures.items())},
        "unknown": {k: sorted(set(v)) for k, v in sorted(reader.unknown.items())},
        "unknown_fields": {k: v for k, v in sorted(reader.placed.items()) if v},
        "stateful_changes": [c.finding() for c in plan.stateful_changes],
        "not_read": list(plan.not_read),
    }
