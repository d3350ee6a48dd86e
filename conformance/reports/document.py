"""The architecture document checked against the spec, so the spec never drifts from it silently.

The document is read with a real Markdown parser (markdown-it-py): its section headings, its
tables (with the line of every row) and its fenced blocks (the compose file, the nginx
configuration, the subnet tree). Each ``doc.*`` check reads one part of the document and compares
every value it finds with the value in ``specs/phase-N.yaml``; a disagreement names the document
line and the spec line. Totals that contradict their own rows are not compared here: they are
document self-contradictions (``conformance.contradictions``), and the rows are what is checked.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import BaseModel

from conformance.checks import Check
from conformance.spec import Documented, EnvironmentSpec, PhaseSpec
from conformance.yamlfile import read_text

ROOT = Path(__file__).resolve().parent.parent.parent
DocOutcome = Literal["passed", "failed", "error"]


# --- The document ----------------------------------------------------------------------------


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
        """The row whose first cell is ``first`` (case-insensitive), if any."""
        for row in self.rows:
            if row.first.strip().lower() == first.lower():
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
    section: str
    line: int
    text: str


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
            elif token.type == "paragraph_open":
                caption = _text(tokens[i + 1])
                self.paragraphs.append(Paragraph(section, line, caption))
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


# --- The spec file, with the line of every value ------------------------------------------


class SpecMissing(Exception):
    """The spec has no value at this path."""


class SpecFile:
    """A loaded spec and its YAML source, so a value can be shown with its file and line."""

    def __init__(self, spec: PhaseSpec, path: Path, environment: str) -> None:
        self.spec = spec
        self.path = path
        self.environment = environment
        self._root = yaml.compose(path.read_text(encoding="utf-8"))

    @property
    def env(self) -> EnvironmentSpec:
        return self.spec.environment(self.environment)

    def env_path(self, *keys: str | int) -> tuple[str | int, ...]:
        return ("environments", self.environment, *keys)

    def value(self, keys: tuple[str | int, ...]) -> Any:
        node: Any = self.spec
        for key in keys:
            if isinstance(node, BaseModel) and isinstance(key, str):
                node = getattr(node, key, None)
            elif isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                node = None
            if node is None:
                raise SpecMissing(self.where(keys))
        return node.value if isinstance(node, Documented) else node

    def where(self, keys: tuple[str | int, ...]) -> str:
        dotted = ".".join(str(k) for k in keys)
        line = self._line(keys)
        return f"{_display(self.path)}{f':{line}' if line else ''} {dotted}"

    def _line(self, keys: tuple[str | int, ...]) -> int | None:
        node: yaml.Node | None = self._root
        line = None
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                match = [(k, v) for k, v in node.value if k.value == str(key)]
                if not match:
                    return line
                line = match[0][0].start_mark.line + 1
                node = match[0][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    return line
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                return line
        return line


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# --- Comparisons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """One documented value compared with its spec value; either side may be absent."""

    subject: str
    document: str
    documented: Any
    spec: str
    specified: Any
    ok: bool
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "document": self.document,
            "documented": _plain(self.documented),
            "spec": self.spec,
            "specified": _plain(self.specified),
            "ok": self.ok,
        }


ABSENT = "absent"


class Comparer:
    """What a document check sees: the document, the spec, and where agreements are recorded."""

    def __init__(self, doc: Document, spec: SpecFile) -> None:
        self.doc = doc
        self.spec = spec
        self.agreements: list[Agreement] = []

    def compare(
        self,
        subject: str,
        line: int,
        label: str,
        documented: Any,
        keys: tuple[str | int, ...],
        convert: Callable[[Any], Any] = lambda v: v,
    ) -> None:
        """Compare a document value with the spec value at ``keys`` (``convert`` normalizes it)."""
        where = self.doc.where(line) + (f" ({label})" if label else "")
        try:
            specified = convert(self.spec.value(keys))
        except SpecMissing:
            self.agreements.append(
                Agreement(subject, where, documented, self.spec.where(keys), ABSENT, False, line)
            )
            return
        ok = _equal(documented, specified)
        self.agreements.append(
            Agreement(subject, where, documented, self.spec.where(keys), specified, ok, line)
        )

    def only_in_document(self, subject: str, line: int, label: str, documented: Any) -> None:
        where = self.doc.where(line) + (f" ({label})" if label else "")
        spec = f"{_display(self.spec.path)} (no such value)"
        self.agreements.append(Agreement(subject, where, documented, spec, ABSENT, False, line))

    def only_in_spec(self, subject: str, keys: tuple[str | int, ...], specified: Any) -> None:
        self.agreements.append(
            Agreement(
                subject, "not in the document", ABSENT, self.spec.where(keys), specified, False
            )
        )


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 1e-9
    if isinstance(a, list | tuple | set | frozenset) and isinstance(b, list | tuple | set):
        return sorted(map(str, a)) == sorted(map(str, b))
    return bool(a == b)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def _number(text: str) -> float:
    match = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    if not match:
        raise ValueError(f"no number in {text!r}")
    return float(match.group().replace(",", ""))


def _flag(text: str) -> bool | str:
    words = {"yes": True, "enabled": True, "no": False, "disabled": False}
    return words.get(text.strip().lower(), text)


def _megabytes(text: str) -> float:
    """'256M', '1G', '1,024 MB', '16 GB' as megabytes."""
    value = _number(text)
    return value * 1024 if re.search(r"\d\s*G", text, re.IGNORECASE) else value


# --- The document checks -------------------------------------------------------------------

DocFunction = Callable[[Comparer], None]


@dataclass(frozen=True)
class DocCheck:
    id: str
    title: str
    function: DocFunction


DOC_CHECKS: dict[str, DocCheck] = {}


def doc_check(check_id: str, title: str) -> Callable[[DocFunction], DocFunction]:
    def register(function: DocFunction) -> DocFunction:
        DOC_CHECKS[check_id] = DocCheck(check_id, title, function)
        return function

    return register


def _phase_heading(doc: Document, phase: int) -> str:
    for heading in doc.headings:
        if heading.startswith(f"Phase {phase} —") and " > " not in heading:
            return heading
    raise DocumentMissing(f"the document has no 'Phase {phase} — …' section")


def _p(c: Comparer, *parts: str) -> str:
    """A section path under this phase's heading."""
    return " > ".join((_phase_heading(c.doc, c.spec.spec.phase), *parts))


@doc_check("doc.phase_tables", "Region, phase name, host and engine in the overview tables")
def phase_tables(c: Comparer) -> None:
    phase = c.spec.spec.phase
    para, match = c.doc.paragraph("Cloud Platform", r"Primary Region:\s*(\S+)")
    c.compare("primary region", para.line, "Cloud Platform", match[1], ("primary_region",))
    overview = c.doc.table("Deployment Phases Overview")
    row = overview.row(str(phase))
    if row is None:
        raise DocumentMissing(f"Deployment Phases Overview has no row for phase {phase}")
    c.compare("phase name", row.line, "Deployment Phases Overview", row["Name"], ("name",))
    compute = re.search(r"EC2 (\S+)", row.cells.get("Compute", ""))
    if compute:
        c.compare(
            "EC2 instance type",
            row.line,
            "Deployment Phases Overview, Compute",
            compute[1],
            c.spec.env_path("ec2_host", "instance_type"),
        )
    inventory = c.doc.table(_p(c, f"AWS Service Inventory (Phase {phase})"))
    for item in inventory.rows:
        ec2 = re.fullmatch(r"EC2 \((\S+)\)", item.first)
        if ec2:
            c.compare(
                "EC2 instance type",
                item.line,
                "AWS Service Inventory",
                ec2[1],
                c.spec.env_path("ec2_host", "instance_type"),
            )
        if item.first.startswith("RDS"):
            engine = "postgres" if "PostgreSQL" in item.first else item.first
            c.compare(
                "database engine",
                item.line,
                "AWS Service Inventory",
                engine,
                c.spec.env_path("database", "engine"),
            )
    topology = c.doc.block(_p(c, "Environment Topology"), "EC2")
    for line, text in topology.lines():
        host = re.search(r"EC2 (\S+) \((\d+) vCPU, (\d+) GB\)", text)
        if host:
            label = "Environment Topology"
            c.compare(
                "EC2 instance type",
                line,
                label,
                host[1],
                c.spec.env_path("ec2_host", "instance_type"),
            )
            c.compare(
                "host vCPUs", line, label, int(host[2]), c.spec.env_path("containers", "host_vcpus")
            )
            c.compare(
                "host memory (MB)",
                line,
                label,
                int(host[3]) * 1024,
                c.spec.env_path("containers", "host_memory_mb"),
            )
        db = re.search(r"(db\.[a-z0-9]+\.[a-z0-9]+)", text)
        if db:
            c.compare(
                "database instance class",
                line,
                "Environment Topology",
                db[1],
                c.spec.env_path("database", "instance_class"),
            )
    for heading in c.doc.headings:
        if heading.endswith(f"> Key Changes from Phase {phase}"):
            changes = c.doc.table(heading).row("Compute")
            compute = (
                re.search(r"EC2 (\S+)", changes.cells.get(f"Phase {phase}", ""))
                if changes
                else None
            )
            if changes and compute:
                c.compare(
                    "EC2 instance type",
                    changes.line,
                    f"Key Changes from Phase {phase}, Compute",
                    compute[1],
                    c.spec.env_path("ec2_host", "instance_type"),
                )


@doc_check("doc.subnets", "VPC CIDR and subnets in the VPC diagram")
def subnets(c: Comparer) -> None:
    phase = c.spec.spec.phase
    block = c.doc.block(_p(c, "Networking", f"Simplified VPC (Phase {phase})"), "VPC CIDR")
    tier = ""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for line, text in block.lines():
        vpc = re.search(r"VPC CIDR:\s*(\S+)", text)
        if vpc:
            c.compare(
                "VPC CIDR",
                line,
                "VPC diagram",
                vpc[1],
                c.spec.env_path("network", "vpc_cidr"),
                str,
            )
        heading = re.match(r"^[├└│─\s]*([A-Z][a-z]+)\b", text)
        if heading and ":" not in text:
            tier = heading[1].lower()
        entry = re.search(r"([a-z]{2}-[a-z]+-\d[a-z]):\s*(\d+\.\d+\.\d+\.\d+/\d+)", text)
        if entry:
            found[(tier, entry[1])] = (line, entry[2])
    network = c.spec.env.network
    for role, subnet in (network.subnets if network else {}).items():
        place: tuple[str, str] = (subnet.tier.value, subnet.availability_zone.value)
        keys = c.spec.env_path("network", "subnets", role, "cidr")
        if place in found:
            at, cidr = found.pop(place)
            c.compare(f"{place[0]} subnet in {place[1]}", at, "VPC diagram", cidr, keys, str)
        else:
            c.only_in_spec(
                f"{place[0]} subnet in {place[1]} ({role})", keys, str(subnet.cidr.value)
            )
    for (tier_name, zone), (at, cidr) in found.items():
        c.only_in_document(f"{tier_name} subnet in {zone}", at, "VPC diagram", cidr)
    para, _ = c.doc.paragraph(_p(c, "Networking", f"Simplified VPC (Phase {phase})"), r"No NAT")
    for what, field_name in (("NAT Gateway", "nat_gateways"), ("ALB", "load_balancers")):
        if re.search(rf"\bno {what}\b", para.text, re.IGNORECASE):
            c.compare(
                f"{what}s", para.line, "Simplified VPC", 0, c.spec.env_path("network", field_name)
            )


def _sg_source(text: str) -> str:
    if text.lower() == "admin ip":
        return "admin"
    if text.startswith("sg-"):
        return f"sg:{text[3:]}"
    return text


@doc_check("doc.security_groups", "Security-group rules in the security-group tables")
def security_groups(c: Comparer) -> None:
    section = _p(c, "Security Groups")
    tables = [t for t in c.doc.tables if t.section == section]
    if not tables:
        raise DocumentMissing(f"the document has no table under '{section}'")
    spec = c.spec.env.security_groups
    groups = dict(spec.groups) if spec else {}
    for table in tables:
        name = re.search(r"sg-([\w-]+)", table.caption)
        if name is None:
            continue
        role = name[1]
        if role not in groups:
            c.only_in_document(f"security group sg-{role}", table.line, table.caption, role)
            continue
        group = groups.pop(role)
        rules = {rule.port.value: (i, rule) for i, rule in enumerate(group.ingress)}
        outbound_all = False
        outbound_line = table.line
        for row in table.rows:
            if row["Direction"].lower() == "outbound":
                if row["Protocol"].lower() == "all" and row["Source"] == "0.0.0.0/0":
                    outbound_all, outbound_line = True, row.line
                continue
            port = int(_number(row["Port"]))
            label = f"sg-{role} inbound {port}"
            if port not in rules:
                c.only_in_document(label, row.line, f"sg-{role} table", row["Port"])
                continue
            index, _ = rules.pop(port)
            base = c.spec.env_path("security_groups", "groups", role, "ingress", index)
            where = f"sg-{role} table"
            c.compare(
                f"{label}: protocol", row.line, where, row["Protocol"].lower(), (*base, "protocol")
            )
            c.compare(f"{label}: port", row.line, where, port, (*base, "port"))
            c.compare(
                f"{label}: source", row.line, where, _sg_source(row["Source"]), (*base, "source")
            )
            c.compare(
                f"{label}: description", row.line, where, row["Description"], (*base, "description")
            )
        for port, (index, _) in rules.items():
            keys = c.spec.env_path("security_groups", "groups", role, "ingress", index, "port")
            c.only_in_spec(f"sg-{role} inbound {port}", keys, port)
        if group.egress_all is not None or outbound_all:
            c.compare(
                f"sg-{role} outbound to everywhere",
                outbound_line,
                f"sg-{role} table",
                outbound_all,
                c.spec.env_path("security_groups", "groups", role, "egress_all"),
                bool,
            )
    for role in groups:
        c.only_in_spec(
            f"security group sg-{role}", c.spec.env_path("security_groups", "groups", role), role
        )


DATABASE_ROWS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "Instance": ("instance_class", lambda t: t.split()[0]),
    "Multi-AZ": ("multi_az", _flag),
    "Read Replicas": ("read_replicas", _number),
    "Backup Retention": ("backup_retention_days", _number),
    "PITR": ("point_in_time_recovery", _flag),
    "Performance Insights": ("performance_insights", _flag),
    "Extensions": ("extensions", lambda t: [e.strip() for e in t.split(",")]),
}


@doc_check("doc.database", "Database settings in the database and backup tables")
def database(c: Comparer) -> None:
    table = c.doc.table(_p(c, "Database Configuration"))
    for row in table.rows:
        setting, value = row.first, list(row.cells.values())[1]
        label = f"Database Configuration, {setting}"
        if setting == "Storage":
            size = re.match(r"\s*([\d,]+)\s*GB\s*(\w+)?", value)
            if size:
                c.compare(
                    "storage (GB)",
                    row.line,
                    label,
                    _number(size[1]),
                    c.spec.env_path("database", "storage_gb"),
                )
                if size[2]:
                    c.compare(
                        "storage type",
                        row.line,
                        label,
                        size[2],
                        c.spec.env_path("database", "storage_type"),
                    )
        elif setting in DATABASE_ROWS:
            key, parse = DATABASE_ROWS[setting]
            c.compare(
                f"database {setting}",
                row.line,
                label,
                parse(value),
                c.spec.env_path("database", key),
            )
    backups = c.doc.table(_p(c, "Backup and Disaster Recovery"))
    for row in backups.rows:
        if row.first == "RDS" and "snapshot" in row.cells.get("Backup Type", "").lower():
            c.compare(
                "database backup retention (days)",
                row.line,
                "Backup and Disaster Recovery, RDS",
                _number(row["Retention"]),
                c.spec.env_path("database", "backup_retention_days"),
            )


@doc_check("doc.resource_allocation", "Container limits in the Resource Allocation Summary table")
def resource_allocation(c: Comparer) -> None:
    table = c.doc.table(_p(c, "Docker Compose Configuration", "Resource Allocation Summary"))
    containers = c.spec.env.containers
    remaining = set(containers.services) if containers else set()
    for row in table.rows:
        name = row.first
        label = f"Resource Allocation, {name}"
        if name.lower() == "total":
            # The totals are compared with the spec's totals as written; whether the rows add up
            # to them is a document self-contradiction, reported by conformance.contradictions.
            c.compare(
                "total CPU",
                row.line,
                label,
                _number(row["CPU Limit"]),
                c.spec.env_path("containers", "total_cpus"),
            )
            c.compare(
                "total memory (MB)",
                row.line,
                label,
                _megabytes(row["Memory Limit"]),
                c.spec.env_path("containers", "total_memory_mb"),
            )
            continue
        if name not in remaining:
            c.only_in_document(f"container {name}", row.line, label, row["CPU Limit"])
            continue
        remaining.discard(name)
        base = c.spec.env_path("containers", "services", name)
        c.compare(f"{name} CPU limit", row.line, label, _number(row["CPU Limit"]), (*base, "cpus"))
        c.compare(
            f"{name} memory limit (MB)",
            row.line,
            label,
            _megabytes(row["Memory Limit"]),
            (*base, "memory_mb"),
        )
    for name in sorted(remaining):
        c.only_in_spec(f"container {name}", c.spec.env_path("containers", "services", name), name)


def _yaml_lines(block: Block) -> tuple[Any, Callable[[tuple[str, ...]], int]]:
    """The parsed YAML of a block and a function giving the document line of a key path."""
    root = yaml.compose(block.text)
    data = yaml.safe_load(block.text)

    def line(keys: tuple[str, ...]) -> int:
        node: Any = root
        at = 0
        for key in keys:
            if not isinstance(node, yaml.MappingNode):
                break
            match = [(k, v) for k, v in node.value if k.value == key]
            if not match:
                break
            at = match[0][0].start_mark.line
            node = match[0][1]
        return block.line + at

    return data, line


def _world_ports(c: Comparer) -> tuple[set[int], tuple[str | int, ...]]:
    """The ports the spec opens to 0.0.0.0/0 on the web host's group (what nginx must serve)."""
    keys = c.spec.env_path("security_groups", "groups", "ec2-web", "ingress")
    sg = c.spec.env.security_groups
    group = sg.groups.get("ec2-web") if sg else None
    if group is None:
        raise SpecMissing(c.spec.where(keys))
    return {r.port.value for r in group.ingress if r.source.value == "0.0.0.0/0"}, keys


@doc_check("doc.compose", "Container limits, images, ports and log group in the compose blocks")
def compose(c: Comparer) -> None:
    block = c.doc.block(_p(c, "Docker Compose Configuration"), "services:", "yaml")
    data, line = _yaml_lines(block)
    services: dict[str, Any] = data.get("services") or {}
    containers = c.spec.env.containers
    specified = set(containers.services) if containers else set()
    images: list[str] = []
    for name, service in services.items():
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        image = re.search(r"acct-atlas-([\w-]+):", str(service.get("image", "")))
        if image:
            images.append(image[1])
        if name not in specified:
            c.only_in_document(f"container {name}", line(("services", name)), "compose", name)
            continue
        specified.discard(name)
        base = c.spec.env_path("containers", "services", name)
        path = ("services", name, "deploy", "resources", "limits")
        if "cpus" in limits:
            c.compare(
                f"{name} CPU limit",
                line((*path, "cpus")),
                "compose",
                float(limits["cpus"]),
                (*base, "cpus"),
            )
        if "memory" in limits:
            c.compare(
                f"{name} memory limit (MB)",
                line((*path, "memory")),
                "compose",
                _megabytes(str(limits["memory"])),
                (*base, "memory_mb"),
            )
    for name in sorted(specified):
        c.only_in_spec(f"container {name}", c.spec.env_path("containers", "services", name), name)
    c.compare(
        "ECR images",
        line(("services",)),
        "compose images",
        images,
        c.spec.env_path("services", "container_images"),
    )
    nginx = services.get("nginx") or {}
    published = {int(str(p).split(":")[0]) for p in nginx.get("ports", [])}
    ports, keys = _world_ports(c)
    c.compare(
        "ports open to the world",
        line(("services", "nginx", "ports")),
        "compose nginx ports",
        sorted(published),
        keys,
        lambda _: sorted(ports),
    )
    logging = c.doc.block(_p(c, "Monitoring", "Application Logging"), "awslogs-group", "yaml")
    logs, log_line = _yaml_lines(logging)
    options = (logs.get("logging") or {}).get("options") or {}
    where = ("logging", "options")
    c.compare(
        "log group",
        log_line((*where, "awslogs-group")),
        "compose logging",
        options.get("awslogs-group"),
        c.spec.env_path("services", "log_group"),
    )
    c.compare(
        "log region",
        log_line((*where, "awslogs-region")),
        "compose logging",
        options.get("awslogs-region"),
        ("primary_region",),
    )


@doc_check("doc.nginx", "The ports nginx listens on in the nginx block")
def nginx(c: Comparer) -> None:
    try:
        import crossplane
    except ModuleNotFoundError:
        raise DocumentMissing(
            "reading the nginx block needs crossplane: pip install '.[suite]'"
        ) from None

    block = c.doc.block(_p(c, "Nginx Reverse Proxy"), "server", "nginx")
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(block.text)
        parsed = crossplane.parse(str(conf), single=True, check_ctx=False, check_args=False)
    if parsed["errors"]:
        error = parsed["errors"][0]
        raise DocumentMissing(f"the nginx block does not parse: {error['error']}")
    directives = list(_directives(parsed["config"][0]["parsed"]))
    listens: dict[int, int] = {}
    for directive in directives:
        if directive["directive"] == "listen":
            port = int(str(directive["args"][0]).rsplit(":", 1)[-1])
            listens.setdefault(port, block.line + int(directive["line"]) - 1)
    ports, keys = _world_ports(c)
    first = min(listens.values(), default=block.line)
    c.compare(
        "ports open to the world",
        first,
        "nginx listen",
        sorted(listens),
        keys,
        lambda _: sorted(ports),
    )
    if c.spec.env.nginx is not None:
        _nginx_settings(c, block, directives)


def _nginx_settings(c: Comparer, block: Block, directives: list[dict[str, Any]]) -> None:
    """The nginx settings the spec states (worker connections, TLS protocols, rate limits)."""
    base = c.spec.env_path("nginx")
    for directive in directives:
        name, args = directive["directive"], [str(a) for a in directive["args"]]
        line = block.line + int(directive["line"]) - 1
        label = f"nginx {name}"
        if name == "worker_connections":
            c.compare("nginx worker connections", line, label, int(args[0]), (*base, name))
        elif name == "ssl_protocols":
            c.compare("nginx TLS protocols", line, label, args, (*base, name))
        elif name == "ssl_prefer_server_ciphers":
            c.compare(
                "nginx prefers server ciphers",
                line,
                label,
                args[0] == "on",
                (*base, "prefer_server_ciphers"),
            )
        elif name == "limit_req_zone":
            zone = dict(a.split("=", 1) for a in args[1:] if "=" in a)
            zone_name, _, size = zone.get("zone", "").partition(":")
            keys = (*base, "rate_zones", zone_name)
            c.compare(f"rate zone {zone_name} key", line, label, args[0], (*keys, "key"))
            c.compare(f"rate zone {zone_name} size", line, label, size, (*keys, "size"))
            c.compare(f"rate zone {zone_name} rate", line, label, zone.get("rate"), (*keys, "rate"))


@doc_check("doc.redis", "Redis memory, eviction and persistence in the Redis table")
def redis(c: Comparer) -> None:
    table = c.doc.table(_p(c, "Redis Configuration"))
    base = c.spec.env_path("redis")
    for row in table.rows:
        setting, value = row.first, list(row.cells.values())[1]
        label = f"Redis Configuration, {setting}"
        if setting == "Max Memory":
            c.compare(
                "redis maxmemory (MB)", row.line, label, _megabytes(value), (*base, "maxmemory_mb")
            )
        elif setting == "Eviction Policy":
            c.compare("redis eviction policy", row.line, label, value, (*base, "maxmemory_policy"))
        elif setting == "Persistence":
            c.compare(
                "redis RDB snapshots", row.line, label, "RDB" in value, (*base, "rdb_snapshots")
            )


def _directives(parsed: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for directive in parsed:
        yield directive
        yield from _directives(directive.get("block") or [])


COMPARISONS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}
ACTIONS = {
    "email notification": "email",
    "ec2 auto-recover": "ec2-recover",
    "sms + email": "sms+email",
}


@doc_check("doc.alarms", "Alarm metrics, thresholds, durations and actions in the alarm table")
def alarms(c: Comparer) -> None:
    table = c.doc.table(_p(c, "Monitoring", "CloudWatch Alarms"))
    spec = c.spec.env.alarms
    remaining = set(spec.alarms) if spec else set()
    for row in table.rows:
        key = re.sub(r"[^a-z0-9]+", "-", row["Alarm"].lower()).strip("-")
        label = f"CloudWatch Alarms, {row['Alarm']}"
        if key not in remaining:
            c.only_in_document(f"alarm {row['Alarm']}", row.line, label, row["Threshold"])
            continue
        remaining.discard(key)
        base = c.spec.env_path("alarms", "alarms", key)
        c.compare(f"{key} metric", row.line, label, row["Metric"], (*base, "documented_metric"))
        rule = re.match(
            r"\s*(>=|<=|>|<)\s*([\d,.]+)\s*%?\s*(?:for\s+(\d+)\s*min)?", row["Threshold"]
        )
        if rule:
            c.compare(
                f"{key} comparison", row.line, label, COMPARISONS[rule[1]], (*base, "comparison")
            )
            c.compare(f"{key} threshold", row.line, label, _number(rule[2]), (*base, "threshold"))
            duration = int(rule[3]) * 60 if rule[3] else None
            c.compare(f"{key} duration (s)", row.line, label, duration, (*base, "duration_seconds"))
        action = ACTIONS.get(row["Action"].lower(), row["Action"])
        c.compare(f"{key} action", row.line, label, action, (*base, "action"))
    for key in sorted(remaining):
        c.only_in_spec(f"alarm {key}", c.spec.env_path("alarms", "alarms", key), key)


DNS_TARGETS = {
    "ec2 elastic ip": "elastic-ip",
    "alb": "alb",
    "cloudfront distribution": "cloudfront",
}


@doc_check("doc.services", "DNS records, secrets and the IaC tool in their tables")
def services(c: Comparer) -> None:
    table = c.doc.table(_p(c, "Networking", "DNS Configuration (Route 53)"))
    apex = min((row["Record"] for row in table.rows), key=len)

    def relative(name: str) -> str:
        return "@" if name == apex else name.removesuffix("." + apex)

    spec = c.spec.env.services
    records = {r.name.value: i for i, r in enumerate(spec.dns_records)} if spec else {}
    for row in table.rows:
        name = relative(row["Record"])
        label = f"DNS Configuration, {row['Record']}"
        if name not in records:
            c.only_in_document(f"DNS record {name}", row.line, label, row["Type"])
            continue
        base = c.spec.env_path("services", "dns_records", records.pop(name))
        target = DNS_TARGETS.get(row["Value"].lower(), relative(row["Value"]))
        c.compare(f"DNS {name} type", row.line, label, row["Type"], (*base, "type"))
        c.compare(f"DNS {name} target", row.line, label, target, (*base, "target"))
    for name, index in records.items():
        c.only_in_spec(
            f"DNS record {name}", c.spec.env_path("services", "dns_records", index), name
        )
    secrets = c.doc.table(_p(c, "Secrets Management"))
    # The document names secrets in prose ("JWT RSA key pair"); the spec names them as stored.
    # Their number is what the two can be compared on.
    c.compare(
        "number of secrets",
        secrets.line,
        "Secrets Management",
        len(secrets.rows),
        c.spec.env_path("services", "secrets"),
        len,
    )
    iac = c.doc.table(_p(c, "Infrastructure as Code")).row("Tool")
    if iac is not None:
        tool = list(iac.cells.values())[1]
        c.compare(
            "IaC tool",
            iac.line,
            "Infrastructure as Code, Tool",
            tool,
            c.spec.env_path("iac", "tool"),
        )


@doc_check("doc.sections", "Every section the spec names is a heading of the document")
def sections(c: Comparer) -> None:
    for keys, section in _spec_sections(c.spec.spec):
        line = c.doc.headings.get(section)
        where = c.spec.where(keys)
        if line is not None:
            c.agreements.append(
                Agreement(
                    f"section of {'.'.join(map(str, keys))}",
                    c.doc.where(line),
                    section,
                    where,
                    section,
                    True,
                    line,
                )
            )
            continue
        close = difflib.get_close_matches(section, list(c.doc.headings), n=1)
        found = f"no such heading (closest: {close[0]!r})" if close else "no such heading"
        c.agreements.append(
            Agreement(
                f"section of {'.'.join(map(str, keys))}",
                f"{c.doc.path}: {found}",
                ABSENT,
                where,
                section,
                False,
            )
        )


def _spec_sections(
    node: Any, keys: tuple[str | int, ...] = (), parent: str = ""
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Each spec path that states a section of its own (one that differs from its group's)."""
    section = getattr(node, "section", None)
    if isinstance(node, BaseModel) and isinstance(section, str):
        if section != parent:
            yield (*keys, "section"), section
        parent = section
    if isinstance(node, Documented):
        return
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name != "section" and value is not None:
                yield from _spec_sections(value, (*keys, name), parent)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _spec_sections(value, (*keys, key), parent)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _spec_sections(value, (*keys, index), parent)


# --- Running the document checks, and coverage ------------------------------------------


@dataclass
class DocResult:
    check: DocCheck
    outcome: DocOutcome
    agreements: list[Agreement] = field(default_factory=list)
    message: str = ""

    @property
    def disagreements(self) -> list[Agreement]:
        return [a for a in self.agreements if not a.ok]

    def describe(self) -> str:
        """Each disagreement with the document line and the spec line, for the failure report."""
        lines = [f"{self.check.id}: {self.check.title}"]
        if self.message:
            lines.append(f"  {self.outcome}: {self.message}")
        for a in self.disagreements:
            lines.append(f"  {a.subject}")
            lines.append(f"    document: {_show(a.documented)}  at {a.document}")
            lines.append(f"    spec:     {_show(a.specified)}  at {a.spec}")
        if self.outcome == "failed":
            lines.append(
                "  remediation: correct whichever side is wrong; the document is the source of "
                "truth unless it contradicts itself or AWS."
            )
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.check.id,
            "title": self.check.title,
            "outcome": self.outcome,
            "message": self.message,
            "comparisons": [a.as_json() for a in self.agreements],
        }


def _show(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def run_check(check: DocCheck, doc: Document, spec: SpecFile) -> DocResult:
    comparer = Comparer(doc, spec)
    try:
        check.function(comparer)
    except DocumentMissing as missing:
        return DocResult(check, "error", comparer.agreements, str(missing))
    except SpecMissing as missing:
        return DocResult(check, "failed", comparer.agreements, f"the spec has no {missing}")
    if not comparer.agreements:
        return DocResult(check, "error", [], "found no documented value to compare")
    failed = any(not a.ok for a in comparer.agreements)
    return DocResult(check, "failed" if failed else "passed", comparer.agreements)


def run_all(doc: Document, spec: SpecFile) -> list[DocResult]:
    return [run_check(check, doc, spec) for check in DOC_CHECKS.values()]


@dataclass(frozen=True)
class Coverage:
    """Both ways: documented values that nothing checks, checks that nothing documented anchors."""

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
            out.append(f"{title}: {len(items)}")
            out.extend(f"    {item}" for item in items)
        return out


def coverage(
    doc: Document, spec: SpecFile, results: list[DocResult], checks: dict[str, Check[Any]]
) -> Coverage:
    """Which document rows of this phase no spec value reads, which spec groups no check reads,
    and which checks name a section the document does not have."""
    phase = _phase_heading(doc, spec.spec.phase)
    read = {a.line for r in results for a in r.agreements if a.line is not None}
    not_in_spec = []
    for table in doc.tables:
        if not table.section.startswith(phase):
            continue
        for row in table.rows:
            if row.line not in read:
                cells = " | ".join(row.cells.values())
                not_in_spec.append(f"{doc.where(row.line)} ({_last(table.section)}): {cells}")
    for block in doc.blocks:
        lines = range(block.line, block.line + len(block.text.splitlines()))
        if block.section.startswith(phase) and not read.intersection(lines):
            what = f"{block.info} block" if block.info else "block"
            not_in_spec.append(f"{doc.where(block.line)} ({_last(block.section)}): the {what}")
    env = spec.env
    paths = dict(_node_paths(env, ("environments", spec.environment)))
    areas = [paths[id(area)] for c in checks.values() if id(area := c.area(env)) in paths]
    unchecked: dict[str, str] = {}
    for r in results:
        if r.check.id == "doc.sections":
            continue
        for a in r.agreements:
            path = a.spec.split(" ", 1)[-1]
            parts = tuple(path.split("."))
            if parts[:2] != ("environments", spec.environment):
                continue
            if not any(parts[: len(area)] == area for area in areas):
                unchecked.setdefault(path, a.document)
    unanchored = []
    for registered in checks.values():
        group = registered.area(env)
        section = getattr(group, "section", None)
        if isinstance(section, str) and section not in doc.headings:
            unanchored.append(f"{registered.id}: section '{section}' is not a heading")
    shown = [f"{path} (document: {where})" for path, where in sorted(unchecked.items())]
    return Coverage(not_in_spec, shown, sorted(unanchored))


def _node_paths(node: Any, keys: tuple[str, ...]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(id, spec path) of every group and value, to tell which part of the spec a check reads."""
    if isinstance(node, BaseModel):
        yield id(node), keys
        if isinstance(node, Documented):
            return
        for name in type(node).model_fields:
            yield from _node_paths(getattr(node, name), (*keys, name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _node_paths(value, (*keys, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _node_paths(value, (*keys, str(index)))


def _last(section: str) -> str:
    return section.rsplit(" > ", 1)[-1]


def check_document(
    doc_path: Path, spec: PhaseSpec, spec_path: Path, environment: str
) -> tuple[list[DocResult], Document, SpecFile]:
    """Load the document and run every document check against the given spec."""
    doc = Document.load(doc_path)
    specfile = SpecFile(spec, spec_path, environment)
    return run_all(doc, specfile), doc, specfile
