"""Declared value checks: "this documented field equals that attribute of the resource playing
this role", written as one row of data and registered, run and reported by one mechanism.

Most documented values are compared this simply (a DB instance class, a subnet's zone); written
as functions they repeated one shape dozens of times, and every phase would add more. A
:class:`Value` names the spec field, the role of the resource (:class:`Role`: how it is found and
named), its attribute, the comparison, and the check's id, title, severity and remediation;
:func:`declare` registers each as an ordinary :class:`~conformance.checks.Check`, so pytest
items, evidence, waivers, reports and the kill-matrix treat it like any other. Relations
("exactly these ingress rules", "the alarm on that instance's metric") stay hand-written.

Each area declares its values in a Python table beside its hand-written checks, not in YAML: a
role finds its resource with the area's own locate functions and a derived attribute (a subnet's
tier, read from its route table) is a small function, which Python keeps typed and checked by
mypy; and a reader sees every check of an area, declared or not, in one file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from conformance.checks import Check, CheckContext, CheckFunction, Severity, register
from conformance.spec import Documented, EnvironmentSpec, Group

R = TypeVar("R")


@dataclass(frozen=True)
class Role(Generic[R]):
    """How the resource playing a role is found, and how the evidence names it.

    ``find`` gets the key of the documented item (a subnet's role for ``network.subnets.*``; ""
    where the field has no ``*``) and raises ``ResourceMissing`` when there is no such resource.
    """

    find: Callable[[CheckContext, str], R]
    label: Callable[[str, R], str]


@dataclass(frozen=True)
class Compare:
    """How an actual value is judged against the expected one, and how the expected is shown."""

    holds: Callable[[Any, Any], bool]  # (actual, expected)
    shown: Callable[[Any], Any]


EQUALS = Compare(lambda actual, expected: bool(actual == expected), lambda expected: expected)
SAME_NETWORK = Compare(  # a CIDR read as text, against the documented network
    lambda actual, expected: ip_network(actual) == expected, lambda expected: expected
)
AT_LEAST = Compare(
    lambda actual, expected: actual is not None and actual >= expected,
    lambda expected: f"at least {expected}",
)
CONTAINS = Compare(
    lambda actual, expected: expected in actual, lambda expected: f"includes {expected}"
)
MATCHES = Compare(  # the whole actual text matches the documented regular expression
    lambda actual, expected: isinstance(actual, str) and re.fullmatch(expected, actual) is not None,
    lambda expected: f"matches {expected}",
)


@dataclass(frozen=True)
class Value:
    """One declared check: the documented ``field`` against ``attribute`` of the ``role``.

    ``field`` is a dotted path into the EnvironmentSpec (``database.instance_class``); ``*``
    stands for every key of a mapping (``network.subnets.*.cidr``: one comparison per subnet).
    ``attribute`` is the resource's attribute name, or a function of the context and the
    resource. ``subject`` names the comparison; ``{resource}`` is the role's label.
    ``expected_from`` derives the value the resource must have from the documented one
    (default: the documented value itself).
    """

    id: str
    title: str
    field: str
    role: Role[Any]
    attribute: str | Callable[[CheckContext, Any], Any]
    subject: str
    remediation: str
    severity: Severity = "medium"
    compare: Compare = EQUALS
    expected_from: Callable[[Any], Any] | None = None


DECLARED: dict[str, Value] = {}


def documented(env: EnvironmentSpec, field: str) -> list[tuple[str, Documented[Any]]]:
    """Each documented value at ``field``, with the key its ``*`` stands for ("" without one)."""
    return list(_walk(env, field.split("."), ""))


def _walk(node: Any, parts: list[str], key: str) -> Iterator[tuple[str, Any]]:
    if not parts:
        yield key, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        for item_key, item in node.items():
            yield from _walk(item, rest, str(item_key))
        return
    child = node.get(head) if isinstance(node, dict) else getattr(node, head)
    if child is not None:
        yield from _walk(child, rest, key)


def _area(field: str) -> Callable[[EnvironmentSpec], Group | None]:
    """The innermost group holding ``field`` (its section is the check's), where the field is
    documented at all; otherwise the check is not applicable."""
    parts = field.split(".")

    def area(env: EnvironmentSpec) -> Group | None:
        if not documented(env, field):
            return None
        node: Any = env
        group = None
        for part in parts[: parts.index("*") if "*" in parts else len(parts)]:
            node = getattr(node, part) if isinstance(node, BaseModel) else node[part]
            if isinstance(node, Group):
                group = node
        return group

    return area


def _verify(value: Value) -> CheckFunction:
    def verify(ctx: CheckContext, _group: Group) -> None:
        for key, stated in documented(ctx.env, value.field):
            resource = value.role.find(ctx, key)
            attribute = value.attribute
            actual = (
                getattr(resource, attribute)
                if isinstance(attribute, str)
                else attribute(ctx, resource)
            )
            wanted = (
                stated.value if value.expected_from is None else value.expected_from(stated.value)
            )
            ctx.expect(
                stated,
                actual,
                subject=value.subject.format(resource=value.role.label(key, resource)),
                expected=value.compare.shown(wanted),
                ok=value.compare.holds(actual, wanted),
            )

    return verify


def declare(values: Iterable[Value], module: str) -> None:
    """Register each declared value as a check of ``module`` (the area module declaring it)."""
    path = Path(str(sys.modules[module].__file__))
    lines = path.read_text(encoding="utf-8").splitlines()
    for value in values:
        line = next((n for n, text in enumerate(lines, 1) if f'"{value.id}"' in text), 1)
        register(
            Check(
                value.id,
                value.title,
                value.severity,
                value.remediation,
                _area(value.field),
                _verify(value),
                module,
                declared_at=line,
            )
        )
        DECLARED[value.id] = value
