"""Document anchors: which cell of the architecture document each spec value mirrors, as data.

A phase file's ``anchors`` block says, for every table of the phase, which row (by its first
cell) and which column a spec value mirrors and how the cell's text is read; ``blocks`` names the
hand-written readers of what is not a table cell (the VPC tree, the compose file) with the
section they read; ``not_checked`` gives the reason a row, cell or block is deliberately not
compared, and ``unverified`` the reason a spec value has no check. The document check
(``conformance.reports.document``) reads every anchor the same way and compares it with the spec.
The model lives here, apart from the document check, so that the spec does not import it.

From Phase 3 the document gives staging and production their own columns: an anchor names the
``environment`` whose spec value it mirrors (a cell's wins over its table's; default production).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

As = Literal[
    "text",
    "number",
    "megabytes",
    "seconds",
    "percent",
    "flag",
    "list",
    "names",
    "count",
    "first_word",
    "present",
]
Environment = Literal["production", "staging"]


class Read(BaseModel):
    """How a cell's text becomes a value: the ``regex``'s first group (else the whole text; a
    group that matched nothing is a value the cell does not state: None), then ``map``
    (case-insensitive, for words the spec spells differently), else read ``as``: ``percent`` is
    a fraction (5% -> 0.05), ``names`` a list in lower case, ``count`` a number of the spec
    list's items, ``present`` is the row's mere presence, against the spec value being there.
    ``derive`` names a rule that turns what the cell states into the value the spec holds, where
    the document gives no fixed number ("80% of max" connections: a count for the instance class).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    regex: str | None = None
    map: dict[str, Any] | None = None
    as_: As = Field(default="text", alias="as")
    derive: str | None = None


def _read(value: Any) -> Any:
    return {"as": value} if isinstance(value, str) else value


class Cell(BaseModel):
    """One spec value mirrored by one cell. ``spec`` is a dotted path in the environment (``/``
    first: from the phase file's top, e.g. ``/name``); ``*`` is every key of a mapping, and
    ``list[field=value]`` the list item whose field has that value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str
    column: str | None = None
    read: Annotated[Read, BeforeValidator(_read)] = Read()
    includes: bool = Field(default=False, description="The value is one of the spec's list.")
    subject: str | None = Field(default=None, description="{row}: the row's first cell.")
    environment: Environment | None = Field(default=None, description="Default: the table's.")


def _spec(value: Any) -> Any:
    return {"spec": value} if isinstance(value, str) else value


def _cells(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


Cells = Annotated[list[Cell], BeforeValidator(_cells)]


class EachRow(BaseModel):
    """Every row of the table is one entry of the ``spec`` mapping, keyed by its first cell; a
    row the spec lacks, or an entry the table lacks, is a disagreement."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str
    columns: dict[str, Annotated[Cell, BeforeValidator(_spec)]] = Field(
        description="Column -> the entry's field (``spec`` relative to the entry)."
    )


class TableAnchors(BaseModel):
    """The anchors in one table, found by the section heading it sits under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str
    title: str | None = None
    table: str
    column: str | None = Field(default=None, description="Default column (else the second).")
    environment: Environment = "production"
    rows: dict[str, Cells] = Field(default_factory=dict)
    each_row: EachRow | None = None


class ParagraphAnchor(BaseModel):
    """A value stated in prose: the first paragraph under ``section`` matching ``pattern``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str
    section: str
    pattern: str
    spec: str
    read: Annotated[Read, BeforeValidator(_read)] = Read()
    subject: str | None = None
    environment: Environment = "production"


class BlockReader(BaseModel):
    """A hand-written reader of what is not a table cell, and the section it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str
    reader: str
    section: str | None = None
    environment: Environment = "production"


class NotChecked(BaseModel):
    """A part of the document no anchor reads on purpose: rows of a table (all, or the one whose
    first cell is ``row``), a ``column`` of it, the blocks under ``at``, or the list item there
    that begins with ``item``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str
    row: str | None = None
    column: str | None = None
    item: str | None = None
    reason: str


class Anchors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tables: list[TableAnchors] = Field(default_factory=list)
    paragraphs: list[ParagraphAnchor] = Field(default_factory=list)
    blocks: list[BlockReader] = Field(default_factory=list)
    not_checked: list[NotChecked] = Field(default_factory=list)
    unverified: dict[str, str] = Field(
        default_factory=dict,
        description="Spec values (dotted, '*' allowed) no AWS check verifies, with the reason.",
    )
