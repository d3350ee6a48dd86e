"""Hand-written readers of the Phase 1 tables whose rows are not one value per cell: the
overview tables, the security-group tables, the alarm table, the DNS/secrets/IaC tables."""

from __future__ import annotations

import re

from conformance.reports.document.compare import (
    Comparer,
    in_phase,
    megabytes,
    number,
)
from conformance.reports.document.parse import DocumentMissing


def phase_tables(c: Comparer, _section: str | None) -> None:
    """Phase 1's region, phase name, host and engine in the overview tables and the topology."""
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
    inventory = c.doc.table(in_phase(c, f"AWS Service Inventory (Phase {phase})"))
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
    topology = c.doc.block(in_phase(c, "Environment Topology"), "EC2")
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


def _sg_source(text: str) -> str:
    if text.lower() == "admin ip":
        return "admin"
    if text.startswith("sg-"):
        return f"sg:{text[3:]}"
    return text


def security_groups(c: Comparer, _section: str | None) -> None:
    """Security-group rules in the security-group tables."""
    section = in_phase(c, "Security Groups")
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
            port = int(number(row["Port"]))
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


def redis(c: Comparer, _section: str | None) -> None:
    """Redis memory, eviction and persistence in the Redis table."""
    table = c.doc.table(in_phase(c, "Redis Configuration"))
    base = c.spec.env_path("redis")
    for row in table.rows:
        setting, value = row.first, list(row.cells.values())[1]
        label = f"Redis Configuration, {setting}"
        if setting == "Max Memory":
            c.compare(
                "redis maxmemory (MB)", row.line, label, megabytes(value), (*base, "maxmemory_mb")
            )
        elif setting == "Eviction Policy":
            c.compare("redis eviction policy", row.line, label, value, (*base, "maxmemory_policy"))
        elif setting == "Persistence":
            c.compare(
                "redis RDB snapshots", row.line, label, "RDB" in value, (*base, "rdb_snapshots")
            )


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


def alarms(c: Comparer, _section: str | None) -> None:
    """Alarm metrics, thresholds, durations and actions in the alarm table."""
    table = c.doc.table(in_phase(c, "Monitoring", "CloudWatch Alarms"))
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
            c.compare(f"{key} threshold", row.line, label, number(rule[2]), (*base, "threshold"))
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


def services(c: Comparer, _section: str | None) -> None:
    """DNS records, secrets and the IaC tool in their tables."""
    table = c.doc.table(in_phase(c, "Networking", "DNS Configuration (Route 53)"))
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
    secrets = c.doc.table(in_phase(c, "Secrets Management"))
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
    iac = c.doc.table(in_phase(c, "Infrastructure as Code")).row("Tool")
    if iac is not None:
        tool = list(iac.cells.values())[1]
        c.compare(
            "IaC tool",
            iac.line,
            "Infrastructure as Code, Tool",
            tool,
            c.spec.env_path("iac", "tool"),
        )
