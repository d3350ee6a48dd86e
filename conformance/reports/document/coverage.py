"""Coverage both ways, per phase and, where the phase has several, per environment: documented
values no anchor reads, spec values no check verifies, and checks whose section is not a heading
of the document."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from conformance.anchors import Anchors, NotChecked
from conformance.checks import Check
from conformance.declared import DECLARED
from conformance.reports.document.checks import DocResult
from conformance.reports.document.compare import last, phase_heading
from conformance.reports.document.parse import Document, DocumentMissing, Paragraph, Row, Table
from conformance.reports.document.spec_file import SpecFile
from conformance.spec import Documented, EnvironmentSpec


@dataclass(frozen=True)
class Coverage:
    """Both ways: documented values that nothing checks, checks that nothing documented anchors.

    An item the phase file gives a reason for says so: "(not checked: …)", "(not verified: …)".
    Where the phase has several environments, ``environments`` holds each one's own items (the
    cells of its column, its spec values, its checks); the rest concern the phase as a whole."""

    not_in_spec: list[str]
    unchecked: list[str]
    unanchored: list[str]
    environments: dict[str, Coverage] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "documented_values_not_in_spec": self.not_in_spec,
            "documented_values_without_check": self.unchecked,
            "checks_without_document_anchor": self.unanchored,
        }
        if self.environments:
            found["environments"] = {name: env.as_json() for name, env in self.environments.items()}
        return found

    def lines(self) -> list[str]:
        out = []
        for title, items in (
            ("documented values with no spec value (so no check)", self.not_in_spec),
            ("documented values in the spec that no check verifies", self.unchecked),
            ("checks without a document anchor", self.unanchored),
        ):
            out.append(f"{title}: {_count(items)}")
            out.extend(f"    {item}" for item in items)
        for name, env in self.environments.items():
            out.append(
                f"{name}: {_count(env.not_in_spec)} documented values with no spec value, "
                f"{_count(env.unchecked)} in the spec that no check verifies, "
                f"{_count(env.unanchored)} checks without a document anchor"
            )
        return out


REASONED = re.compile(r"\(not (checked|verified): .*\)$")


def _count(items: list[str]) -> str:
    reasoned = sum(1 for item in items if REASONED.search(item))
    return f"{len(items)}" + (f" ({reasoned} by design)" if reasoned else "")


def coverage(
    doc: Document, spec: SpecFile, results: list[DocResult], checks: dict[str, Check[Any]]
) -> Coverage:
    """What of the phase's part of the document no anchor reads, which spec values no check
    verifies, and which checks name a section the document does not have; each environment's
    own, where the phase has several."""
    anchors = spec.spec.anchors or Anchors()
    read = {(a.line, a.column) for r in results for a in r.agreements if a.line is not None}
    read_rows = {line for line, _ in read}
    names = spec.environments
    gaps: list[tuple[str | None, str]] = []  # (the environment it concerns, the item)

    def gap(
        where: str,
        section: str,
        text: str,
        row: Row | None,
        column: str | None,
        environment: str | None = None,
    ) -> None:
        reason = _reason(anchors.not_checked, section, row, column, text)
        item = f"{where} ({last(section)}): {text}"
        concerns = environment or _environment(column, names)
        gaps.append((concerns, f"{item} ({reason})" if reason else item))

    phase = phase_heading(doc, spec.spec.phase)
    for table in doc.tables:
        if table.section.startswith(phase):
            for row in table.rows:
                columns = [c for c in row.cells if _environment(c, names)]
                for column in columns:  # a column per environment: each cell is a value
                    if (row.line, column) not in read:
                        text = f"{row.first} | {column}: {row[column]}"
                        gap(doc.where(row.line), table.section, text, row, column)
                if not columns and row.line not in read_rows:
                    text = " | ".join(row.cells.values())
                    gap(doc.where(row.line), table.section, text, row, None)
    for table, rows, columns in _shared_cells(doc, anchors, phase):
        for row in rows:
            for column in columns or list(row.cells)[1:]:
                if (row.line, column) not in read and column in row.cells:
                    text = f"{row.first} | {column}: {row[column]}"
                    gap(doc.where(row.line), table.section, text, row, column)
    for paragraph in _shared_items(doc, anchors, phase):
        if paragraph.line not in read_rows:
            gap(doc.where(paragraph.line), paragraph.section, paragraph.text, None, None)
    for block in doc.blocks:
        lines = range(block.line, block.line + len(block.text.splitlines()))
        if block.section.startswith(phase) and not read_rows.intersection(lines):
            what = f"{block.info} block" if block.info else "block"
            drawn = [b.environment for b in anchors.blocks if b.section == block.section]
            concerns = drawn[0] if drawn and len(names) > 1 else None
            gap(doc.where(block.line), block.section, f"the {what}", None, None, concerns)
    unchecked = {name: _unchecked(spec.bound(name), checks, anchors) for name in names}
    unanchored = {name: _unanchored(doc, spec.bound(name), checks) for name in names}
    found = Coverage(
        [item for _, item in gaps],
        [item for name in names for item in unchecked[name]],
        sorted(item for name in names for item in unanchored[name]),
    )
    if len(names) == 1:
        return found
    environments = {
        name: Coverage(
            [item for env, item in gaps if env == name], unchecked[name], unanchored[name]
        )
        for name in names
    }
    return Coverage(found.not_in_spec, found.unchecked, found.unanchored, environments)


def _environment(column: str | None, names: list[str]) -> str | None:
    """The environment a column is of ("Staging"), where the phase has several."""
    if column is None or len(names) < 2:
        return None
    return next((name for name in names if name == column.strip().lower()), None)


def _unanchored(doc: Document, spec: SpecFile, checks: dict[str, Check[Any]]) -> list[str]:
    """The environment's checks whose section is not a heading of the document."""
    found = []
    for registered in checks.values():
        group = registered.area(spec.env)
        section = getattr(group, "section", None)
        if isinstance(section, str) and section not in doc.headings:
            found.append(f"{spec.label(registered.id)}: section '{section}' is not a heading")
    return sorted(found)


def _shared_items(doc: Document, anchors: Anchors, phase: str) -> Iterator[Paragraph]:
    """The list items of the sections outside the phase's that its anchors read (the tracing
    bullets, the tags): each states a value of its own."""
    shared = {t.table for t in anchors.tables} | {p.section for p in anchors.paragraphs}
    for paragraph in doc.paragraphs:
        if (
            paragraph.item
            and paragraph.section in shared
            and not paragraph.section.startswith(phase)
        ):
            yield paragraph


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


def _reason(
    notes: list[NotChecked], section: str, row: Row | None, column: str | None, text: str
) -> str:
    for note in notes:
        if note.at != section:
            continue
        if note.row is not None and (row is None or row.first.lower() != note.row.lower()):
            continue
        if note.column is not None and note.column != column:
            continue
        if note.item is not None and (row is not None or not text.startswith(note.item)):
            continue
        return f"not checked: {note.reason}"
    return ""


def _unchecked(spec: SpecFile, checks: dict[str, Check[Any]], anchors: Anchors) -> list[str]:
    """Spec values of the phase's environment no check verifies. A declared check verifies
    exactly its field; a hand-written one the fields of its group (its area) it reads, or the
    whole group when it hands the group on to a helper."""
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
