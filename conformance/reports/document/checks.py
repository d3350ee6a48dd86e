"""The document checks of a phase: the ``doc.*`` items, each made of the declared anchors and the
hand-written readers the phase file assigns to it, and their results."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from conformance.anchors import Anchors
from conformance.reports.document import blocks, tables
from conformance.reports.document.anchored import Part, paragraph_part, table_part
from conformance.reports.document.compare import (
    ABSENT,
    Agreement,
    Comparer,
)
from conformance.reports.document.parse import Document, DocumentMissing
from conformance.reports.document.spec_file import SpecFile, SpecMissing
from conformance.spec import Documented

DocOutcome = Literal["passed", "failed", "error"]
Reader = Callable[[Comparer, str | None], None]

# The hand-written readers a phase file may name in ``anchors.blocks`` (with the section read).
READERS: dict[str, Reader] = {
    "phase_tables": tables.phase_tables,
    "security_groups": tables.security_groups,
    "redis": tables.redis,
    "alarms": tables.alarms,
    "services": tables.services,
    "vpc_tree": blocks.vpc_tree,
    "cluster_diagram": blocks.cluster_diagram,
    "scaling_policy": blocks.scaling_policy,
    "deployment_config": blocks.deployment_config,
    "compose": blocks.compose,
    "nginx": blocks.nginx,
}

# The titles of the checks, in the order they are reported; a phase file may name another check
# (with a ``title`` in its table anchors).
TITLES = {
    "doc.phase_tables": "Region, phase name and the phase's overview and key-change tables",
    "doc.subnets": "VPC CIDR, subnets and their tiers in the VPC diagram",
    "doc.security_groups": "Security-group rules in the security-group tables",
    "doc.staging": "Staging's ECS cluster, database, cache and search in the staging diagram",
    "doc.database": "Database settings in the database and backup tables",
    "doc.search": "OpenSearch instance, nodes, storage, encryption and access control",
    "doc.cache": "ElastiCache node type, nodes, Multi-AZ and encryption",
    "doc.web_hosting": "Web application tasks, CloudFront and ALB access per environment",
    "doc.resource_allocation": "Container limits in the Resource Allocation Summary table",
    "doc.compose": "Container limits, images, ports and log group in the compose blocks",
    "doc.nginx": "The ports nginx listens on in the nginx block",
    "doc.redis": "Redis memory, eviction and persistence in the Redis table",
    "doc.ecs": "Task CPU, memory, port and health check in the ECS Task Definitions table",
    "doc.alarms": "Alarm metrics, thresholds, durations and actions in the alarm table",
    "doc.monitoring": "Logging, metrics, tracing, dashboards and alerting in the monitoring column",
    "doc.tags": "The cost-allocation tags of each environment",
    "doc.scaling": "Auto-scaling policy and each service's task limits",
    "doc.deployment": "Deployment kind, canary config, termination wait and rollback events",
    "doc.pipeline": "The release pipeline's source, build, deployments and approval",
    "doc.disaster_recovery": "The DR region and the Backup Strategy table",
    "doc.reserved": "Reserved instances: class and term",
    "doc.services": "DNS records, services, secrets and the IaC tool in their tables",
    "doc.sections": "Every section the spec names is a heading of the document",
}


@dataclass(frozen=True)
class DocCheck:
    id: str
    title: str
    parts: tuple[Part, ...] = ()


def phase_checks(spec: SpecFile) -> list[DocCheck]:
    """The phase's document checks: every check its anchors name, and doc.sections."""
    anchors = spec.spec.anchors or Anchors()
    parts: dict[str, list[Part]] = {}
    titles = dict(TITLES)
    for table in anchors.tables:
        parts.setdefault(table.check, []).append(table_part(table))
        if table.title:
            titles.setdefault(table.check, table.title)
    for paragraph in anchors.paragraphs:
        parts.setdefault(paragraph.check, []).append(paragraph_part(paragraph))
    for block in anchors.blocks:
        parts.setdefault(block.check, []).append(
            _reader_part(block.reader, block.section, block.environment)
        )
    parts["doc.sections"] = [sections]
    order = list(titles)
    return [
        DocCheck(check_id, titles.get(check_id, check_id), tuple(found))
        for check_id, found in sorted(
            parts.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99
        )
    ]


def _reader_part(name: str, section: str | None, environment: str) -> Part:
    def part(c: Comparer) -> None:
        if name not in READERS:
            known = ", ".join(sorted(READERS))
            raise DocumentMissing(f"the phase file names a reader '{name}' (known: {known})")
        READERS[name](c.bound(environment), section)

    return part


def sections(c: Comparer) -> None:
    """Every section the spec names is a heading of the document."""
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


# --- Running the document checks -----------------------------------------------------------


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
        for part in check.parts:
            part(comparer)
    except DocumentMissing as missing:
        return DocResult(check, "error", comparer.agreements, str(missing))
    except SpecMissing as missing:
        return DocResult(check, "failed", comparer.agreements, f"the spec has no {missing}")
    if not comparer.agreements:
        return DocResult(check, "error", [], "found no documented value to compare")
    failed = any(not a.ok for a in comparer.agreements)
    return DocResult(check, "failed" if failed else "passed", comparer.agreements)


def run_all(doc: Document, spec: SpecFile) -> list[DocResult]:
    return [run_check(check, doc, spec) for check in phase_checks(spec)]
