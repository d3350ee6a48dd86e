"""Coverage both ways, per phase: documented values no anchor reads, spec values no check
verifies, and checks whose section is not a heading of the document."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from conformance.anchors import Anchors, NotChecked
from conformance.checks import Check
from conformance.declared import DECLARED
from conformance.reports.document.checks import DocResult
from conformance.reports.document.compare import last, phase_heading
from conformance.reports.document.parse import Document, DocumentMissing, Row, Table
from conformance.reports.document.spec_file import SpecFile
from conformance.spec import Documented, EnvironmentSpec


@dataclass(frozen=True)
class Coverage:
    """Both ways: documented values that nothing checks, checks that nothing documented anchors.

    An item the phase file gives a reason for says so: "(not checked: …)", "(not verified: …)"."""

    not_in_spec: list[str]
    unchecked: list[str]
    unanchored: list[str]

    def as_json(self) -> dict[str, list[str]]:
        return {
            "documented_values_not_in_spec": self.not_in_spec,
            "documented_values_without_check": self.unchecked,
            "checks_without_document_anchor": self.unanchored,
        }

    def lines(self) -> list[str]:
        out = []
        for title, items in (
            ("documented values with no spec value (so no check)", self.not_in_spec),
            ("documented values in the spec that no check verifies", self.unchecked),
            ("checks without a document anchor", self.unanchored),
        ):
            reasoned = sum(1 for item in items if REASONED.search(item))
            out.append(f"{title}: {len(items)}" + (f" ({reasoned} by design)" if reasoned else ""))
            out.extend(f"    {item}" for item in items)
        return out


REASONED = re.compile(r"\(not (checked|verified): .*\)$")


def coverage(
    doc: Document, spec: SpecFile, results: list[DocResult], checks: dict[str, Check[Any]]
) -> Coverage:
    """What of the phase's part of the document no anchor reads, which spec values no check
    verifies, and which checks name a section the document does not have."""
    anchors = spec.spec.anchors or Anchors()
    read = {(a.line, a.column) for r in results for a in r.agreements if a.line is not None}
    read_rows = {line for line, _ in read}
    not_in_spec: list[str] = []

    def gap(where: str, section: str, text: str, row: Row | None, column: str | None) -> None:
        reason = _reason(anchors.not_checked, section, row, column)
        item = f"{where} ({last(section)}): {text}"
        not_in_spec.append(f"{item} ({reason})" if reason else item)

    phase = phase_heading(doc, spec.spec.phase)
    for table in doc.tables:
        if table.section.startswith(phase):
            for row in table.rows:
                if row.line not in read_rows:
                    gap(
                        doc.where(row.line),
                        table.section,
                        " | ".join(row.cells.values()),
                        row,
                        None,
                    )
    for table, rows, columns in _shared_cells(doc, anchors, phase):
        for row in rows:
            for column in columns or list(row.cells)[1:]:
                if (row.line, column) not in read and column in row.cells:
                    text = f"{row.first} | {column}: {row[column]}"
                    gap(doc.where(row.line), table.section, text, row, column)
    for block in doc.blocks:
        lines = range(block.line, block.line + len(block.text.splitlines()))
        if block.section.startswith(phase) and not read_rows.intersection(lines):
            what = f"{block.info} block" if block.info else "block"
            gap(doc.where(block.line), block.section, f"the {what}", None, None)
    unchecked = _unchecked(spec, checks, anchors)
    unanchored = []
    env = spec.env
    for registered in checks.values():
        group = registered.area(env)
        section = getattr(group, "section", None)
        if isinstance(section, str) and section not in doc.headings:
            unanchored.append(f"{registered.id}: section '{section}' is not a heading")
    return Coverage(not_in_spec, unchecked, sorted(unanchored))


def _shared_cells(
    doc: Document, anchors: Anchors, phase: str
) -> Iterator[tuple[Table, list[Row], list[str]]]:
    """The phase's cells of tables outside its section that its anchors read: the anchored
    column of every row, or every cell of the anchored rows."""
    for declared in anchors.tables:
        if declared.table.startswith(phase):
            continue
        try:
            table = doc.table(declared.table)
        except DocumentMissing:
            continue  # the document check reports it
        if declared.column:
            yield table, list(table.rows), [declared.column]
        else:
            named = [row for row in table.rows if row.first in declared.rows]
            yield table, named, []


def _reason(notes: list[NotChecked], section: str, row: Row | None, column: str | None) -> str:
    for note in notes:
        if note.at != section:
            continue
        if note.row is not None and (row is None or row.first.lower() != note.row.lower()):
            continue
        if note.column is not None and note.column != column:
            continue
        return f"not checked: {note.reason}"
    return ""


def _unchecked(spec: SpecFile, checks: dict[str, Check[Any]], anchors: Anchors) -> list[str]:
    """Spec values of the phase no check verifies. A declared check verifies exactly its field;
    a hand-written one the fields of its group (its area) it reads, or the whole group when it
    hands the group on to a helper."""
    env = spec.env
    paths = {id(node): path for path, node in _nodes(env, ())}
    verified: list[str] = []
    for check in checks.values():
        area = check.area(env)
        if area is None:
            continue
        value = DECLARED.get(check.id)
        if value is not None:
            verified.append(_pattern(value.field))
        elif id(area) in paths:
            for field in _fields_read(check.function, paths[id(area)]):
                verified.append(_pattern(field) + r"(\..*)?")
    unchecked = []
    for path, node in _nodes(env, ()):
        if not isinstance(node, Documented) or node.value is None:
            continue
        dotted = ".".join(path)
        if any(re.fullmatch(pattern, dotted) for pattern in verified):
            continue
        where = spec.where(spec.env_path(*path))
        reason = next(
            (r for p, r in anchors.unverified.items() if re.fullmatch(_pattern(p), dotted)), ""
        )
        unchecked.append(f"{where} (not verified: {reason})" if reason else where)
    return unchecked


def _fields_read(function: Callable[..., Any], area: tuple[str, ...]) -> list[str]:
    """The spec paths a hand-written check reads: the fields of its group (its second parameter)
    it names, and those of a variable named after a group of the environment (``containers =
    ...; containers.host_vcpus``). The whole group when it reads none of these, hands its group
    on to a helper, or the group is one item of a list (chosen by its values)."""
    whole = [".".join(area)]
    if area and area[-1].isdigit():
        return whole
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return whole
    definition = tree.body[0] if tree.body else None
    if not isinstance(definition, ast.FunctionDef) or len(definition.args.args) < 2:
        return whole
    group = definition.args.args[1].arg
    nodes = list(ast.walk(definition))
    named = [n for n in nodes if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)]
    uses = sum(1 for n in nodes if isinstance(n, ast.Name) and n.id == group)
    own = [n.attr for n in named if isinstance(n.value, ast.Name) and n.value.id == group]
    if len(own) != uses:
        return whole
    groups = set(EnvironmentSpec.model_fields)
    other = [
        f"{n.value.id}.{n.attr}"
        for n in named
        if isinstance(n.value, ast.Name) and n.value.id in groups and n.value.id != group
    ]
    return [".".join((*area, field)) for field in own] + other or whole


def _pattern(field: str) -> str:
    """A dotted spec path as a regular expression; ``*`` stands for any text within one key."""
    return r"\.".join(re.escape(part).replace(r"\*", "[^.]*") for part in field.split("."))


def _nodes(node: Any, keys: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(spec path, node) of every group and value of the environment."""
    if isinstance(node, BaseModel):
        yield keys, node
        if isinstance(node, Documented):
            return
        for name in type(node).model_fields:
            yield from _nodes(getattr(node, name), (*keys, name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _nodes(value, (*keys, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nodes(value, (*keys, str(index)))
