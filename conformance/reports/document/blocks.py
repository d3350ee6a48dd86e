"""Hand-written readers of what is not a table cell: the VPC tree diagram (any phase's), an
environment's cluster diagram (Phases 3-4), the compose file and the nginx configuration (Phase 1),
and Phase 4's auto-scaling policy and deployment configuration blocks."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from conformance.reports.document.compare import Comparer, in_phase, megabytes
from conformance.reports.document.parse import Block, DocumentMissing
from conformance.reports.document.spec_file import SpecMissing

# What the tree's tier headings name ("Public (NAT Gateway, ALB)") -> the spec value that places it.
PLACED = {
    "nat gateway": "network.nat_gateway_tier",
    "alb": "load_balancer.subnets",
    "ecs services": "ecs.subnets",
    "rds": "database.subnets",
    "elasticache": "cache.subnets",
    "ec2 instance": "ec2_host.subnet",
}


def vpc_tree(c: Comparer, section: str | None) -> None:
    """The VPC CIDR, every subnet (tier, zone, CIDR) and what each tier holds, in a VPC diagram."""
    if section is None:
        raise DocumentMissing("the vpc_tree reader needs the section of the diagram")
    block = c.doc.block(section, "VPC CIDR")
    tier = ""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for line, text in block.lines():
        vpc = re.search(r"VPC CIDR:\s*(\S+)", text)
        if vpc:
            keys = c.spec.env_path("network", "vpc_cidr")
            c.compare("VPC CIDR", line, "VPC diagram", vpc[1], keys, str)
        heading = re.match(r"^[├└│─\s]*([A-Z][a-z]+)\b(?:\s*\(([^)]*)\))?", text)
        if heading and ":" not in text:
            tier = heading[1].lower()
            for held in (heading[2] or "").split(","):
                _placed(c, line, tier, held.strip())
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


def _placed(c: Comparer, line: int, tier: str, held: str) -> None:
    """A component the diagram puts in a tier: the spec places it in subnets of that tier."""
    path = PLACED.get(held.lower())
    if path is None:
        return
    network = c.spec.env.network
    tiers = {role: s.tier.value for role, s in (network.subnets if network else {}).items()}

    def tiers_of(value: Any) -> list[str]:
        roles = value if isinstance(value, list) else [value]
        return sorted({tiers.get(str(role), str(role)) for role in roles})

    keys = c.spec.env_path(*path.split("."))
    c.compare(f"tier of {held}", line, "VPC diagram", [tier], keys, tiers_of)


def cluster_diagram(c: Comparer, section: str | None) -> None:
    """An environment's diagram (Phase 3's staging): the region in its title, each service box's
    task count, and the database class. The diagram abbreviates service names ("api-gw",
    "mod-svc"): a box is the service whose first word begins with the box's."""
    if section is None:
        raise DocumentMissing("the cluster_diagram reader needs the section of the diagram")
    block = c.doc.block(section, "ECS Cluster")
    ecs = c.spec.env.ecs
    services = dict(ecs.services) if ecs else {}
    drawn: set[str] = set()
    names: list[str] = []
    for line, text in block.lines():
        region = re.search(r"\(([a-z]{2}-[a-z]+-\d)\)", text)
        if region:
            c.compare("region", line, "diagram title", region[1], ("primary_region",))
        boxes = re.findall(r"│([^│\s][^│]*?)\s*│", text)
        counts = [re.fullmatch(r"\((\d+) tasks?\)|(min|max):(\d+)", box) for box in boxes]
        if not boxes or not all(counts):
            names = boxes  # the names of the boxes whose counts the next lines give
            counts = []
        for name, count in zip(names, counts, strict=False):
            service = _service_drawn(name, list(services))
            if count is None:
                continue
            if service is None:
                c.only_in_document(c.spec.label(f"service box {name}"), line, "diagram", name)
                continue
            drawn.add(service)
            if count[2]:  # "min:2" / "max:10" under an auto-scaled service's task count
                field = f"{count[2]}_tasks"
                keys = c.spec.env_path("ecs", "services", service, field)
                subject = c.spec.label(f"ecs.services.{service}.{field}")
                c.compare(subject, line, f"diagram, {name}", int(count[3]), keys)
            else:
                _tasks_drawn(c, line, name, service, int(count[1]))
        db = re.search(r"\b(db\.[a-z0-9]+\.[a-z0-9]+)", text)
        if db:
            keys = c.spec.env_path("database", "instance_class")
            c.compare(c.spec.label("database.instance_class"), line, "diagram", db[1], keys)
        full = re.search(r"Full names:\s*(.+)$", text)
        for name in full[1].split(",") if full else []:
            _full_name(c, line, name.strip())
    for service, spec in services.items():
        tasks = spec.tasks
        if service not in drawn and tasks is not None and tasks.section == section:
            keys = c.spec.env_path("ecs", "services", service, "tasks")
            c.only_in_spec(c.spec.label(f"ecs.services.{service}.tasks"), keys, tasks.value)


def _tasks_drawn(c: Comparer, line: int, name: str, service: str, drawn: int) -> None:
    """A box's "(3 tasks)": the service's fixed task count, or, where it auto-scales (no fixed
    count, a min and a max), a moment of its desired count, which must lie between them."""
    path = c.spec.env_path("ecs", "services", service)
    ecs = c.spec.env.ecs
    scaled = ecs.services.get(service) if ecs else None
    if scaled is None or scaled.tasks is not None or scaled.min_tasks is None:
        keys = (*path, "tasks")
        c.compare(
            c.spec.label(f"ecs.services.{service}.tasks"), line, f"diagram, {name}", drawn, keys
        )
        return
    low = scaled.min_tasks.value
    c.compare(
        c.spec.label(f"ecs.services.{service} desired count"),
        line,
        f"diagram, {name}: within min..max",
        drawn,
        (*path, "max_tasks"),
        holds=lambda documented, high: low <= documented <= high,
    )


def scaling_policy(c: Comparer, section: str | None) -> None:
    """The production auto-scaling policy block: metric, target, cooldowns and each service's
    limits (a service the block does not list takes its limits from another section)."""
    block = c.doc.block(section or in_phase(c, "Auto-Scaling Configuration"), "scaling_policy")
    data, line = _yaml_lines(block)
    policy: dict[str, Any] = data.get("scaling_policy") or {}
    for key, field in (
        ("metric", "metric"),
        ("target_value", "target_value"),
        ("scale_in_cooldown", "scale_in_cooldown"),
        ("scale_out_cooldown", "scale_out_cooldown"),
    ):
        keys = c.spec.env_path("ecs", "autoscaling", field)
        where = line(("scaling_policy", key))
        c.compare(c.spec.label(f"ecs.autoscaling.{field}"), where, key, policy.get(key), keys)
    ecs = c.spec.env.ecs
    listed: dict[str, Any] = policy.get("services") or {}
    for service, limits in listed.items():
        where = line(("scaling_policy", "services", service))
        if ecs is None or service not in ecs.services:
            c.only_in_document(c.spec.label(f"service {service}"), where, "policy", limits)
            continue
        for bound in ("min", "max"):
            keys = c.spec.env_path("ecs", "services", service, f"{bound}_tasks")
            subject = c.spec.label(f"ecs.services.{service}.{bound}_tasks")
            c.compare(subject, where, f"policy, {service}", (limits or {}).get(bound), keys)


# CodeDeploy's deployment type -> the document's deployment kind, as the spec names it.
DEPLOYMENT_TYPES = {"CODE_DEPLOY": "blue-green", "ECS": "rolling"}


def deployment_config(c: Comparer, section: str | None) -> None:
    """The production deployment block: CodeDeploy's type, config, termination wait and the
    auto-rollback events (``enabled: true`` with events: the spec lists the events)."""
    block = c.doc.block(section or in_phase(c, "Deployment Strategy"), "deployment:")
    data, line = _yaml_lines(block)
    deployment: dict[str, Any] = data.get("deployment") or {}
    config: dict[str, Any] = deployment.get("config") or {}
    rollback: dict[str, Any] = config.get("auto_rollback") or {}
    base = ("ecs", "deployment")
    kind = deployment.get("type")
    for subject, where, documented, field in (
        ("type", ("deployment", "type"), DEPLOYMENT_TYPES.get(str(kind), kind), "type"),
        (
            "config",
            ("deployment", "config", "deployment_config"),
            config.get("deployment_config"),
            "config",
        ),
        (
            "termination_wait_minutes",
            ("deployment", "config", "termination_wait_time"),
            config.get("termination_wait_time"),
            "termination_wait_minutes",
        ),
        (
            "auto_rollback_events",
            ("deployment", "config", "auto_rollback", "events"),
            rollback.get("events") if rollback.get("enabled") else [],
            "auto_rollback_events",
        ),
    ):
        keys = c.spec.env_path(*base, field)
        c.compare(
            c.spec.label(f"ecs.deployment.{subject}"), line(where), "deployment", documented, keys
        )


# What a full instance-type name in the diagram's note names, by its form.
FULL_NAMES = {
    r"db\.[a-z0-9]+\.[a-z0-9]+": "database.instance_class",
    r"cache\.[a-z0-9]+\.[a-z0-9]+": "cache.node_type",
    r"[a-z0-9]+\.[a-z0-9]+\.search": "search.instance_type",
}


def _full_name(c: Comparer, line: int, name: str) -> None:
    """A name of the diagram's note ("Full names: cache.t3.medium, ..."): the abbreviated box's
    instance type in full."""
    path = next((p for form, p in FULL_NAMES.items() if re.fullmatch(form, name)), None)
    if path is None:
        c.only_in_document(c.spec.label(f"instance type {name}"), line, "diagram note", name)
        return
    keys = c.spec.env_path(*path.split("."))
    c.compare(c.spec.label(path), line, "diagram note", name, keys)


def _service_drawn(box: str, services: list[str]) -> str | None:
    """The service a box names in short ("notif-svc": notification-service), if exactly one."""
    stem = box.split("-")[0].lower()
    found = [s for s in services if s.split("-")[0].startswith(stem)]
    return found[0] if len(found) == 1 else None


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


def compose(c: Comparer, _section: str | None) -> None:
    """Container limits, images, ports and log group in the compose blocks."""
    block = c.doc.block(in_phase(c, "Docker Compose Configuration"), "services:", "yaml")
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
                megabytes(str(limits["memory"])),
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
    logging = c.doc.block(in_phase(c, "Monitoring", "Application Logging"), "awslogs-group", "yaml")
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


def nginx(c: Comparer, _section: str | None) -> None:
    """The ports nginx listens on, and the nginx settings, in the nginx block."""
    try:
        import crossplane
    except ModuleNotFoundError:
        raise DocumentMissing(
            "reading the nginx block needs crossplane: pip install '.[suite]'"
        ) from None

    block = c.doc.block(in_phase(c, "Nginx Reverse Proxy"), "server", "nginx")
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


def _directives(parsed: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for directive in parsed:
        yield directive
        yield from _directives(directive.get("block") or [])
