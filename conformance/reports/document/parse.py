"""The architecture document as sections, tables (with the line of every row), fenced blocks and
paragraphs, read with a real Markdown parser (markdown-it-py)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from conformance.yamlfile import read_text


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells[column]

    @property
    def first(self) -> str:
        return next(iter(self.cells.values()))


@dataclass(frozen=True)
class Table:
    section: str
    line: int
    caption: str
    rows: tuple[Row, ...]

    def row(self, first: str) -> Row | None:
        """The row whose first cell is ``first`` (case-insensitive), if any. Where the first
        cell repeats (the Backup Strategy table's two RDS rows), ``first / second`` names the
        row by its first two cells."""
        wanted = [part.strip().lower() for part in first.split(" / ")]
        for row in self.rows:
            cells = [cell.strip().lower() for cell in list(row.cells.values())[: len(wanted)]]
            if cells == wanted:
                return row
        return None


@dataclass(frozen=True)
class Block:
    """A fenced block; ``line`` is the 1-based line of its first content line."""

    section: str
    line: int
    info: str
    text: str

    def lines(self) -> Iterator[tuple[int, str]]:
        for offset, text in enumerate(self.text.splitlines()):
            yield self.line + offset, text


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``item``: one of a list's items (a bullet point)."""

    section: str
    line: int
    text: str
    item: bool = False


class DocumentMissing(Exception):
    """The part of the document a check reads is not there (renamed or removed)."""


class Document:
    """The architecture document as sections, tables, fenced blocks and paragraphs."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.headings: dict[str, int] = {}
        self.tables: list[Table] = []
        self.blocks: list[Block] = []
        self.paragraphs: list[Paragraph] = []
        self._parse(MarkdownIt("commonmark").enable("table").parse(text))

    @classmethod
    def load(cls, path: Path) -> Document:
        """A regular UTF-8 file only: a FIFO would hang the run, a binary file garble it."""
        return cls(path, read_text(path, "--architecture-doc", max_bytes=8 * 1024 * 1024))

    def where(self, line: int) -> str:
        return f"{self.path}:{line}"

    def _parse(self, tokens: list[Token]) -> None:
        stack: list[tuple[int, str]] = []
        section = ""
        caption = ""
        items = 0  # how many list items the current token is in
        i = 0
        while i < len(tokens):
            token = tokens[i]
            line = (token.map[0] + 1) if token.map else 0
            if token.type == "heading_open":
                level = int(token.tag[1])
                title = _text(tokens[i + 1])
                stack = [(lvl, t) for lvl, t in stack if lvl < level]
                if level > 1:
                    stack.append((level, title))
                section = " > ".join(t for _, t in stack)
                self.headings.setdefault(section, line)
                caption = ""
            elif token.type in ("list_item_open", "list_item_close"):
                items += 1 if token.type == "list_item_open" else -1
            elif token.type == "paragraph_open":
                caption = _text(tokens[i + 1])
                self.paragraphs.append(Paragraph(section, line, caption, items > 0))
            elif token.type == "fence":
                self.blocks.append(Block(section, line + 1, token.info.strip(), token.content))
            elif token.type == "table_open":
                i = self._table(tokens, i, section, caption)
            i += 1

    def _table(self, tokens: list[Token], start: int, section: str, caption: str) -> int:
        header: list[str] = []
        rows: list[Row] = []
        cells: list[str] = []
        row_line = 0
        i = start
        while tokens[i].type != "table_close":
            token = tokens[i]
            if token.type == "tr_open":
                cells = []
                row_line = (token.map[0] + 1) if token.map else 0
            elif token.type in ("th_open", "td_open"):
                cells.append(_text(tokens[i + 1]))
            elif token.type == "tr_close":
                if not header:
                    header = cells
                else:
                    rows.append(Row(row_line, dict(zip(header, cells, strict=False))))
            i += 1
        opening = tokens[start].map
        line = opening[0] + 1 if opening else 0
        self.tables.append(Table(section, line, caption, tuple(rows)))
        return i

    def table(self, section: str, caption: str = "") -> Table:
        for table in self.tables:
            if table.section == section and caption in table.caption:
                return table
        what = f"table under '{section}'" + (f" after '{caption}'" if caption else "")
        raise DocumentMissing(f"the document has no {what}{self._hint(section)}")

    def block(self, section: str, contains: str, info: str | None = None) -> Block:
        for block in self.blocks:
            matches = block.section == section and contains in block.text
            if matches and (info is None or block.info == info):
                return block
        raise DocumentMissing(
            f"the document has no {info or 'fenced'} block containing '{contains}' under "
            f"'{section}'{self._hint(section)}"
        )

    def paragraph(self, section: str, pattern: str) -> tuple[Paragraph, re.Match[str]]:
        for paragraph in self.paragraphs:
            if paragraph.section == section:
                match = re.search(pattern, paragraph.text)
                if match:
                    return paragraph, match
        raise DocumentMissing(f"no paragraph under '{section}' matches {pattern!r}")

    def _hint(self, section: str) -> str:
        if section in self.headings:
            return ""
        close = difflib.get_close_matches(section, list(self.headings), n=1)
        return f" (no such heading; closest: '{close[0]}')" if close else " (no such heading)"


def _text(inline: Token) -> str:
    """The plain text of an inline token: emphasis and code marks dropped."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts).strip()
