"""The one mechanism behind every declared anchor: find the table, the row and the column the
phase file names, read the cell as it says, and compare it with the spec value of the
environment the anchor names."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from conformance.anchors import Cell, EachRow, ParagraphAnchor, Read, TableAnchors
from conformance.reports.document.compare import (
    ABSENT,
    Comparer,
    flag,
    includes,
    last,
    megabytes,
    number,
    seconds,
)
from conformance.reports.document.derived import DERIVED
from conformance.reports.document.parse import DocumentMissing, Row, Table
from conformance.reports.document.spec_file import SpecMissing

Part = Callable[[Comparer], None]
AS: dict[str, Callable[[str], Any]] = {
    "text": str.strip,
    "number": number,
    "megabytes": megabytes,
    "seconds": seconds,
    "percent": lambda text: number(text) / 100,
    "flag": flag,
    "list": lambda text: [item.strip() for item in re.split(r"[,/]", text) if item.strip()],
    "names": lambda text: [item.strip().lower() for item in text.split(",") if item.strip()],
    "count": number,  # compared with the number of the spec list's items
    "first_word": lambda text: text.split()[0] if text.split() else text,
    "present": lambda _text: True,  # compared with the spec value being there at all
}


def read(text: str, how: Read) -> Any:
    """The value a cell states; a cell that does not read as declared is its text, so that the
    comparison fails showing what the document says."""
    if how.regex is not None:
        match = re.search(how.regex, text)
        if match is None:
            return text
        if match.groups() and match[1] is None:
            return None  # an optional part the cell does not state ("> 1000": no duration)
        text = match[1] if match.groups() else match[0]
    if how.map is not None:
        mapped = {k.lower(): v for k, v in how.map.items()}
        return mapped.get(text.strip().lower(), text)
    try:
        return AS[how.as_](text)
    except ValueError:
        return text


def table_part(anchors: TableAnchors) -> Part:
    def part(c: Comparer) -> None:
        table = c.doc.table(anchors.table)
        for name, cells in anchors.rows.items():
            row = table.row(name)
            for cell in cells:
                bound = c.bound(cell.environment or anchors.environment)
                _cell(bound, table, anchors, row, name, cell, cell.spec)
        if anchors.each_row is not None:
            _each_row(c.bound(anchors.environment), table, anchors, anchors.each_row)

    return part


def _cell(
    c: Comparer,
    table: Table,
    anchors: TableAnchors,
    row: Row | None,
    name: str,
    cell: Cell,
    path: str,
) -> None:
    column = cell.column or anchors.column or (list(row.cells)[1] if row else "")
    label = f"{last(anchors.table)}, {name}"
    if row is None or column not in row.cells:
        missing = f"row '{name}'" if row is None else f"column '{column}'"
        where = f"{c.doc.where(table.line)}: the table has no {missing}"
        for keys in c.spec.expand(path):
            c.only_in_spec(_subject(c, cell.subject, name, keys), keys, _specified(c, keys), where)
        return
    documented = read(row[column], cell.read)
    label = label if len(row.cells) <= 2 else f"{label}, {column}"
    if cell.read.derive is not None:
        documented, how = _derive(c, cell.read.derive, documented)
        label = f"{label}: {how}"
    for keys in c.spec.expand(path):
        c.compare(
            _subject(c, cell.subject, name, keys),
            row.line,
            label,
            documented,
            keys,
            _as_compared(cell.read),
            column=column,
            holds=includes if cell.includes else None,
        )


def _subject(c: Comparer, template: str | None, row: str, keys: tuple[str | int, ...]) -> str:
    """The declared subject (``{row}``: the row's first cell), else the spec path compared; with
    its environment where the phase has several."""
    env = c.spec.env_path()
    path = keys[len(env) :] if keys[: len(env)] == env else keys
    return c.spec.label(template.format(row=row) if template else ".".join(map(str, path)))


def _derive(c: Comparer, rule: str, documented: Any) -> tuple[Any, str]:
    """The value a derived cell stands for, and how it was derived (for the report)."""
    if rule not in DERIVED:
        known = ", ".join(sorted(DERIVED))
        raise DocumentMissing(f"the phase file names a derivation '{rule}' (known: {known})")
    return DERIVED[rule](c.spec, documented)


def _as_compared(how: Read) -> Callable[[Any], Any]:
    """The spec value as compared: with ``present``, only that it is there; with ``count``, how
    many items it has."""
    if how.as_ == "present":
        return lambda _: True
    if how.as_ == "count":
        return lambda value: len(value) if isinstance(value, list | dict) else value
    return lambda value: value


def _specified(c: Comparer, keys: tuple[str | int, ...]) -> Any:
    try:
        return c.spec.value(keys)
    except SpecMissing:
        return ABSENT


def _each_row(c: Comparer, table: Table, anchors: TableAnchors, each: EachRow) -> None:
    mapping = c.spec.value(c.spec.expand(each.spec)[0])
    remaining = list(mapping) if isinstance(mapping, dict) else []
    for row in table.rows:
        if row.first in anchors.rows:
            continue
        if row.first not in remaining:
            label = f"{last(anchors.table)}, {row.first}"
            subject = c.spec.label(f"{each.spec}.{row.first}")
            c.only_in_document(subject, row.line, label, row.first)
            continue
        remaining.remove(row.first)
        for column, cell in each.columns.items():
            path = f"{each.spec}.{row.first}.{cell.spec}"
            _cell(
                c, table, anchors, row, row.first, cell.model_copy(update={"column": column}), path
            )
    for key in remaining:
        keys = c.spec.expand(f"{each.spec}.{key}")[0]
        c.only_in_spec(c.spec.label(f"{each.spec}.{key}"), keys, key)


def paragraph_part(anchor: ParagraphAnchor) -> Part:
    def part(unbound: Comparer) -> None:
        c = unbound.bound(anchor.environment)
        paragraph, match = c.doc.paragraph(anchor.section, anchor.pattern)
        text = match[1] if match.groups() else match[0]
        documented = read(text, anchor.read)
        for keys in c.spec.expand(anchor.spec):
            subject = _subject(c, anchor.subject, "", keys)
            label = last(anchor.section)
            c.compare(subject, paragraph.line, label, documented, keys, _as_compared(anchor.read))

    return part
