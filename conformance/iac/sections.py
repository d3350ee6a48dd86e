"""The inventory's sections made from IaC resources, field for field as the AWS collectors make
them (see the package docstring for unknown values, placeholders and sensitive values).

A section is made only when the resources include one of its types: a plan that manages no
queue says nothing about queues (they may live in another state), so their checks skip as
"no section" rather than fail.

Each unknown is also placed: the field of the section's model it went to (``Reader.placed``: a
path of field names, list indexes and dict keys within the section), so the plan target can make
exactly the checks that read it unverifiable. A field no configuration can hold (the manual
AMIs of the host) is placed the same way, with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from conformance.iac.resources import Resource, Target, holds_true
from conformance.inputs import Inputs
from conformance.inventory import CollectionFailure, Section, one_line
from conformance.inventory.cloudwatch import Alarm, CloudwatchInventory, MetricQuery
from conformance.inventory.dynamodb import DynamoDbInventory, Table
from conformance.inventory.ec2 import (
    Address,
    Ec2Inventory,
    Gateway,
    Instance,
    NatGateway,
    Route,
    RouteTable,
    Rule,
    SecurityGroup,
    Subnet,
    Vpc,
)
from conformance.inventory.ecr import EcrInventory, Repository, is_project_repository
from conformance.inventory.iam import GITHUB_ISSUER, IamInventory, OidcProvider, Role, federated_by
from conformance.inventory.logs import LogGroup, LogsInventory
from conformance.inventory.rds import DbInstance, DbSubnetGroup, RdsInventory
from conformance.inventory.route53 import HostedZone, Record, Route53Inventory
from conformance.inventory.s3 import Bucket, S3Inventory
from conformance.inventory.secretsmanager import Secret, SecretsManagerInventory
from conformance.inventory.sns import PERSONAL_PROTOCOLS, SnsInventory, Subscription, Topic
from conformance.inventory.sqs import Queue, SqsInventory

ACCOUNT = "<account>"  # the account of an ARN made before apply
# The id prefix AWS gives each type: a placeholder keeps it (a route's igw- target decides a tier).
ID_PREFIXES = {
    "aws_vpc": "vpc",
    "aws_subnet": "subnet",
    "aws_security_group": "sg",
    "aws_internet_gateway": "igw",
    "aws_nat_gateway": "nat",
    "aws_route_table": "rtb",
    "aws_default_route_table": "rtb",
    "aws_instance": "i",
    "aws_eip": "eipalloc",
}
# The fields of an inline rule naming other resources, whose ids are unknown until apply.
REFERENCED_IN_RULES = frozenset({"security_groups", "prefix_list_ids"})
PROTOCOLS = {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp"}
PLANNED_STATE = "pending"  # the state AWS gives a resource it has just created
M = TypeVar("M", bound=BaseModel)
FieldPath = list[str | int]  # a field's place in a section: field names, list indexes, dict keys


class Reader:
    """Reads resources into sections, recording per section what is unknown until apply."""

    def __init__(self, resources: Iterable[Resource], region: str, inputs: Inputs) -> None:
        self.resources = {r.address: r for r in resources}
        self.region = region
        self.inputs = inputs
        self.unknown: dict[str, list[str]] = {}
        self.service = ""
        # Per service: where each unknown (and each value no configuration holds) went, and why
        # it cannot be judged before apply: [{"path": PATH, "reason": "ADDRESS.PATH is unknown"}].
        self.placed: dict[str, list[dict[str, Any]]] = {}
        self._recorded: dict[str, list[tuple[Resource, str]]] = {}
        self._models: dict[str, list[BaseModel]] = {}  # resource address -> the models it made

    def sections(self) -> tuple[dict[str, Section], dict[str, CollectionFailure]]:
        """The sections the resources make, and why any could not be made (a value of a shape
        the provider never writes): that section's checks report it, as for a collector. A
        service the reader reads but the configuration declares nothing of is an empty section:
        what the document requires of it is missing, and its checks fail (a plan of the whole
        environment is judged whole); a service the reader cannot read is no section at all."""
        made, failed = {}, {}
        for section, build in BUILDERS:
            self.service = section.service
            try:
                made[section.service] = build(self)
                self.placed[section.service] = self._place(made[section.service])
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                failed[section.service] = CollectionFailure(
                    service=section.service,
                    kind="error",
                    message=f"reading the {section.service} resources failed: "
                    f"{type(exc).__name__}: {one_line(exc)}",
                )
        return made, failed

    def of(self, *types: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type in types]

    def made(self, resource: Resource, model: M) -> M:
        """``model``, noted as made from ``resource``: its unknowns are placed in its fields."""
        self._models.setdefault(resource.address, []).append(model)
        return model

    def record(self, resource: Resource, path: str) -> None:
        """Note that the value at ``path`` of ``resource`` is unknown until apply."""
        self.unknown.setdefault(self.service, []).append(f"{resource.address}.{path}")
        self._recorded.setdefault(self.service, []).append((resource, path))

    def _place(self, section: Section) -> list[dict[str, Any]]:
        """Where this section's unknowns went: the field of each model made from the resource
        (or, for a resource that only adds to another, e.g. a separate security-group rule, of
        the model it adds to); all of a model whose field is not known; the whole section when
        no model of it was made from the resource (never judged on a value it does not hold)."""
        paths = {id(model): path for path, model in _models(section, [])}
        placed: list[dict[str, Any]] = [
            {"path": [field], "reason": reason}
            for field, reason in NOT_IN_A_CONFIGURATION.get(section.service, {}).items()
        ]
        for resource, attribute in self._recorded.get(section.service, []):
            reason = f"{resource.address}.{attribute} is unknown"
            placed += [
                {"path": p, "reason": reason} for p in self._where(resource, attribute, paths)
            ]
        return placed

    def _where(
        self, resource: Resource, attribute: str, paths: dict[int, FieldPath]
    ) -> list[FieldPath]:
        """The paths of the fields the value of ``resource`` at ``attribute`` went to."""
        top = attribute.split(".")[0]
        field = RENAMED.get(top, top)
        holder = ADDS_TO.get(resource.type)
        if holder is not None:
            via, added = holder
            field = added or str(resource.values.get("type"))
            targets = resource.references.get(via, ())
            owners = [m for t in targets for m in self._models.get(t.address, [])]
        else:
            owners = self._models.get(resource.address, [])
        owners = [m for m in owners if id(m) in paths]
        if not owners:
            return [[]]
        with_field = [paths[id(m)] + [field] for m in owners if field in type(m).model_fields]
        return with_field or [paths[id(owners[0])]]

    def value(self, resource: Resource, path: str) -> Any:
        """The planned value at ``path`` (``rule.0.status``), or None when any part of it is
        unknown until apply (recorded)."""
        if holds_true(_at(resource.unknown, path)):
            self.record(resource, path)
            return None
        return _at(resource.values, path)

    def text(self, resource: Resource, path: str) -> str:
        """A string value; unknown, the placeholder ``<ADDRESS.PATH>`` (never a real value)."""
        found = self.value(resource, path)
        if found is None and holds_true(_at(resource.unknown, path)):
            return f"<{resource.address}.{path}>"
        return "" if found is None else str(found)

    def number(self, resource: Resource, attribute: str) -> int:
        """A whole number; unknown (recorded) or absent, 0."""
        found = self.value(resource, attribute)
        return int(found) if isinstance(found, int | float) else 0

    def flag(self, resource: Resource, attribute: str, default: bool = False) -> bool:
        """A flag; absent from the values, ``default``; unknown (recorded), False."""
        found = self.value(resource, attribute)
        return default if found is None and attribute not in resource.values else bool(found)

    def tags(self, resource: Resource) -> dict[str, str]:
        """``tags_all`` (the provider's default_tags merged in), else ``tags``."""
        tags = self.value(resource, "tags_all")
        if tags is None:
            tags = resource.values.get("tags")
        return {k: v for k, v in (tags or {}).items() if isinstance(v, str)}

    def related(self, resource: Resource, path: str) -> list[str]:
        """The identities ``path`` names: its known values, and for what is unknown until apply
        the identities of the resources the configuration references there. Unknown and not
        configured, it is the provider's computed default: it names nothing."""
        value, marks = _at(resource.values, path), _at(resource.unknown, path)
        found = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        if holds_true(marks) and path.split(".")[0] in resource.configured:
            targets = resource.references.get(path, ())
            if not targets:
                self.record(resource, path)
            found += [self.identity(t) for t in targets]
        return list(dict.fromkeys(v for v in found if v))

    def one(self, resource: Resource, path: str) -> str | None:
        found = self.related(resource, path)
        return found[0] if found else None

    def identity(self, target: Target) -> str:
        """The value a reference reads, or a placeholder made from its address."""
        resource = self.resources.get(target.address)
        attribute = target.attribute or "id"
        if resource is None:
            return f"<{target.address}.{attribute}>"
        known = resource.values.get(attribute)
        if known is not None and not resource.is_unknown(attribute):
            return str(known)
        derived = DERIVED.get((resource.type, attribute))
        if derived is not None:
            return derived(self, resource)
        if attribute == "id" and resource.type in ID_PREFIXES:
            return f"{ID_PREFIXES[resource.type]}-<{resource.address}>"
        return f"<{resource.address}.{attribute}>"

    def arn(self, service: str, resource: Resource, name_attribute: str, form: str) -> str:
        """A resource's ARN, made from its known name where AWS's ARN is only unknown because
        the account is (``form``: what follows REGION:ACCOUNT:)."""
        known = resource.values.get("arn")
        if known is not None:
            return str(known)
        name = self.identity(Target(resource.address, name_attribute))
        return f"arn:aws:{service}:{self.region}:{ACCOUNT}:{form.format(name=name)}"


def _models(value: Any, path: FieldPath) -> list[tuple[FieldPath, BaseModel]]:
    """Every model within ``value`` (a section), with its path."""
    if isinstance(value, BaseModel):
        found = [(path, value)]
        for name, field in vars(value).items():
            found += _models(field, [*path, name])
        return found
    if isinstance(value, list):
        return [m for index, item in enumerate(value) for m in _models(item, [*path, index])]
    if isinstance(value, dict):
        return [m for key, item in value.items() for m in _models(item, [*path, key])]
    return []


# The model field each resource attribute goes to, where the names differ.
RENAMED = {
    "tags_all": "tags",
    "cidr_block": "cidr",
    "map_public_ip_on_launch": "map_public_ip",
    "instance_type": "type",
    "vpc_security_group_ids": "security_group_ids",
    "route": "routes",
    "instance": "instance_id",
    "allocated_storage": "allocated_storage_gb",
    "backup_retention_period": "backup_retention_days",
    "performance_insights_enabled": "performance_insights",
    "db_subnet_group_name": "subnet_group",
    "replicate_source_db": "replica_source",
    "bucket": "name",
    "redrive_policy": "dead_letter_target",
    "records": "values",
    "alias": "values",
    "alarm_name": "name",
    "metric_name": "metric",
    "comparison_operator": "comparison",
    "metric_query": "queries",
    "extended_statistic": "statistic",
    "pending_confirmation": "confirmed",
    "client_id_list": "client_ids",
    "assume_role_policy": "trust",
}
# Resources that only add to another resource's model: the reference naming that resource, and
# the field they add to (None: the rule's ``type``, ingress or egress).
ADDS_TO: dict[str, tuple[str, str | None]] = {
    "aws_security_group_rule": ("security_group_id", None),
    "aws_vpc_security_group_ingress_rule": ("security_group_id", "ingress"),
    "aws_vpc_security_group_egress_rule": ("security_group_id", "egress"),
    "aws_route": ("route_table_id", "routes"),
    "aws_route_table_association": ("route_table_id", "subnet_ids"),
    "aws_main_route_table_association": ("route_table_id", "main"),
    "aws_eip_association": ("allocation_id", "instance_id"),
    "aws_s3_bucket_versioning": ("bucket", "versioning"),
    "aws_s3_bucket_server_side_encryption_configuration": ("bucket", "encryption"),
    "aws_s3_bucket_public_access_block": ("bucket", "public_access_block"),
    "aws_sqs_queue_redrive_policy": ("queue_url", "dead_letter_target"),
}
# The section fields each type's models go to: a resource whose instances the static reader
# could not expand (a for_each not known statically) leaves them incomplete, so unverifiable.
HELD_IN: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws_vpc": ("ec2", ("vpcs",)),
    "aws_subnet": ("ec2", ("subnets",)),
    "aws_route_table": ("ec2", ("route_tables",)),
    "aws_route": ("ec2", ("route_tables",)),
    "aws_route_table_association": ("ec2", ("route_tables",)),
    "aws_internet_gateway": ("ec2", ("internet_gateways",)),
    "aws_nat_gateway": ("ec2", ("nat_gateways",)),
    "aws_security_group": ("ec2", ("security_groups",)),
    "aws_security_group_rule": ("ec2", ("security_groups",)),
    "aws_vpc_security_group_ingress_rule": ("ec2", ("security_groups",)),
    "aws_vpc_security_group_egress_rule": ("ec2", ("security_groups",)),
    "aws_instance": ("ec2", ("instances",)),
    "aws_eip": ("ec2", ("addresses",)),
    "aws_eip_association": ("ec2", ("addresses",)),
    "aws_db_instance": ("rds", ("instances",)),
    "aws_db_subnet_group": ("rds", ("subnet_groups",)),
    "aws_s3_bucket": ("s3", ("names", "buckets")),
    "aws_s3_bucket_versioning": ("s3", ("buckets",)),
    "aws_s3_bucket_server_side_encryption_configuration": ("s3", ("buckets",)),
    "aws_s3_bucket_public_access_block": ("s3", ("buckets",)),
    "aws_sqs_queue": ("sqs", ("names", "queues")),
    "aws_sqs_queue_redrive_policy": ("sqs", ("queues",)),
    "aws_route53_zone": ("route53", ("zones", "zone")),
    "aws_route53_record": ("route53", ("records",)),
    "aws_ecr_repository": ("ecr", ("repositories",)),
    "aws_cloudwatch_metric_alarm": ("cloudwatch", ("alarms",)),
    "aws_cloudwatch_log_group": ("logs", ("groups",)),
    "aws_secretsmanager_secret": ("secretsmanager", ("secrets",)),
    "aws_dynamodb_table": ("dynamodb", ("names", "lock_table")),
    "aws_sns_topic": ("sns", ("topics",)),
    "aws_sns_topic_subscription": ("sns", ("subscriptions",)),
    "aws_iam_openid_connect_provider": ("iam", ("provider_arns", "github")),
    "aws_iam_role": ("iam", ("roles",)),
}
# What exists only after apply, never in a configuration: per service, field and reason.
NOT_IN_A_CONFIGURATION = {
    "ec2": {
        "images": "the host's AMIs are made from the running instance after apply (manual "
        "backups), never by the configuration",
    },
}


def _at(values: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(values, Mapping):
            values = values.get(part)
        elif isinstance(values, list) and part.isdigit() and int(part) < len(values):
            values = values[int(part)]
        else:
            return values if values is True else None
    return values


def _named(attribute: str) -> Callable[[Reader, Resource], str]:
    return lambda reader, r: reader.identity(Target(r.address, attribute))


# Identities AWS derives from a name known before apply.
DERIVED: dict[tuple[str, str], Callable[[Reader, Resource], str]] = {
    ("aws_s3_bucket", "id"): _named("bucket"),
    ("aws_s3_bucket", "arn"): lambda reader, r: f"arn:aws:s3:::{_named('bucket')(reader, r)}",
    ("aws_sqs_queue", "arn"): lambda reader, r: reader.arn("sqs", r, "name", "{name}"),
    ("aws_sqs_queue", "id"): lambda reader, r: (
        f"https://sqs.{reader.region}.amazonaws.com/{ACCOUNT}/{_named('name')(reader, r)}"
    ),
    ("aws_sqs_queue", "url"): lambda reader, r: reader.identity(Target(r.address, "id")),
    ("aws_sns_topic", "arn"): lambda reader, r: reader.arn("sns", r, "name", "{name}"),
    ("aws_sns_topic", "id"): lambda reader, r: reader.arn("sns", r, "name", "{name}"),
    ("aws_db_subnet_group", "id"): _named("name"),
    ("aws_route53_zone", "id"): _named("zone_id"),
    ("aws_cloudwatch_log_group", "id"): _named("name"),
    ("aws_ecr_repository", "id"): _named("name"),
    ("aws_ecr_repository", "arn"): lambda reader, r: reader.arn(
        "ecr", r, "name", "repository/{name}"
    ),
    ("aws_dynamodb_table", "id"): _named("name"),
    ("aws_iam_role", "id"): _named("name"),
    ("aws_iam_role", "arn"): lambda reader, r: (
        f"arn:aws:iam::{ACCOUNT}:role/{_named('name')(reader, r)}"
    ),
    ("aws_iam_openid_connect_provider", "arn"): lambda reader, r: (
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/{_issuer(reader.text(r, 'url'))}"
    ),
    ("aws_cloudwatch_metric_alarm", "arn"): lambda reader, r: reader.arn(
        "cloudwatch", r, "alarm_name", "alarm:{name}"
    ),
}


def _ec2(reader: Reader) -> Ec2Inventory:
    vpcs = [
        reader.made(
            r,
            Vpc(
                id=reader.identity(Target(r.address, None)),
                cidr=reader.text(r, "cidr_block"),
                tags=reader.tags(r),
            ),
        )
        for r in reader.of("aws_vpc")
    ]
    subnets = [
        reader.made(
            r,
            Subnet(
                id=reader.identity(Target(r.address, None)),
                vpc_id=reader.one(r, "vpc_id") or "",
                cidr=reader.text(r, "cidr_block"),
                availability_zone=reader.text(r, "availability_zone"),
                map_public_ip=reader.flag(r, "map_public_ip_on_launch"),
                tags=reader.tags(r),
            ),
        )
        for r in reader.of("aws_subnet")
    ]
    subnet_vpcs = {s.id: s.vpc_id for s in subnets}
    subnet_zones = {s.id: s.availability_zone for s in subnets}
    instances = []
    for r in reader.of("aws_instance"):
        subnet = reader.one(r, "subnet_id")
        zone = r.values.get("availability_zone") or subnet_zones.get(subnet or "")
        instances.append(
            reader.made(
                r,
                Instance(
                    id=reader.identity(Target(r.address, None)),
                    type=reader.text(r, "instance_type"),
                    state=PLANNED_STATE,
                    vpc_id=subnet_vpcs.get(subnet or ""),
                    subnet_id=subnet,
                    availability_zone=zone or reader.text(r, "availability_zone"),
                    public_ip=(
                        reader.identity(Target(r.address, "public_ip"))
                        if r.is_unknown("public_ip") or r.values.get("public_ip")
                        else None
                    ),
                    security_group_ids=reader.related(r, "vpc_security_group_ids"),
                    tags=reader.tags(r),
                ),
            )
        )
    return Ec2Inventory(
        vpcs=vpcs,
        subnets=subnets,
        route_tables=_route_tables(reader, {v.id: v.cidr for v in vpcs}),
        internet_gateways=[
            reader.made(
                r,
                Gateway(
                    id=reader.identity(Target(r.address, None)),
                    vpc_ids=reader.related(r, "vpc_id"),
                    state="attached" if reader.related(r, "vpc_id") else "detached",
                    tags=reader.tags(r),
                ),
            )
            for r in reader.of("aws_internet_gateway")
        ],
        nat_gateways=[
            reader.made(
                r,
                NatGateway(
                    id=reader.identity(Target(r.address, None)),
                    vpc_ids=[v for v in [subnet_vpcs.get(reader.one(r, "subnet_id") or "")] if v],
                    state=PLANNED_STATE,
                    subnet_id=reader.one(r, "subnet_id"),
                    tags=reader.tags(r),
                ),
            )
            for r in reader.of("aws_nat_gateway")
        ],
        security_groups=_security_groups(reader),
        instances=instances,
        addresses=_addresses(reader),
    )


def _route_tables(reader: Reader, vpc_cidrs: dict[str, str]) -> list[RouteTable]:
    """Route tables with their inline routes, aws_route rows, associations and the main one
    (an aws_default_route_table: the VPC's own main table, which it adopts)."""
    tables: dict[str, RouteTable] = {}
    for r in reader.of("aws_route_table", "aws_default_route_table"):
        adopted = r.type == "aws_default_route_table"
        vpc = reader.one(r, "vpc_id") or (_adopted_by(reader, r) if adopted else "")
        routes = [Route(destination=vpc_cidrs[vpc], target="local")] if vpc in vpc_cidrs else []
        computed = r.is_unknown("route") and "route" not in r.configured  # aws_route rows only
        # Inline blocks: their targets' ids are unknown until apply, read from the references.
        blocks = r.values.get("route")
        if not isinstance(blocks, list):
            blocks = [] if computed else reader.value(r, "route") or []
        for index, route in enumerate(blocks):
            target = next(
                (
                    found
                    for key in ("gateway_id", "nat_gateway_id")
                    if (found := reader.one(r, f"route.{index}.{key}"))
                ),
                "",
            )
            routes.append(Route(destination=str(route.get("cidr_block") or ""), target=target))
        identity = reader.identity(Target(r.address, None))
        tables[identity] = reader.made(
            r,
            RouteTable(
                id=identity,
                vpc_id=vpc,
                main=adopted,
                subnet_ids=[],
                routes=routes,
                tags=reader.tags(r),
            ),
        )
    for r in reader.of("aws_route"):
        table = tables.get(reader.one(r, "route_table_id") or "")
        target = reader.one(r, "gateway_id") or reader.one(r, "nat_gateway_id") or ""
        if table is not None:
            destination = reader.text(r, "destination_cidr_block")
            table.routes.append(Route(destination=destination, target=target))
    for r in reader.of("aws_route_table_association"):
        table = tables.get(reader.one(r, "route_table_id") or "")
        subnet = reader.one(r, "subnet_id")
        if table is not None and subnet:
            table.subnet_ids.append(subnet)
    for r in reader.of("aws_main_route_table_association"):
        table = tables.get(reader.one(r, "route_table_id") or "")
        if table is not None:
            table.main = True
    return list(tables.values())


def _adopted_by(reader: Reader, r: Resource) -> str:
    """The VPC whose main route table an aws_default_route_table adopts: the one its
    ``default_route_table_id`` names (``aws_vpc.main.default_route_table_id``)."""
    vpcs = [
        reader.identity(Target(t.address, None))
        for t in r.references.get("default_route_table_id", ())
        if t.address in reader.resources and reader.resources[t.address].type == "aws_vpc"
    ]
    return vpcs[0] if len(vpcs) == 1 else ""


def _rule(protocol: Any, from_port: Any, to_port: Any, source: str, description: Any) -> Rule:
    normalized = PROTOCOLS.get(str(protocol).lower(), str(protocol).lower())
    everything = normalized == "all"
    return Rule(
        protocol=normalized,
        from_port=None if everything or from_port is None else int(from_port),
        to_port=None if everything or to_port is None else int(to_port),
        source=source,
        description=description or None,
    )


def _inline_rules(reader: Reader, r: Resource, direction: str, group: str) -> list[Rule]:
    """A group's ``ingress``/``egress`` blocks. Left out of the configuration, the provider
    plans them as computed (unknown): the group then has no inline rule, only separate ones."""
    if r.is_unknown(direction) and direction not in r.configured:
        return []
    marks = _at(r.unknown, direction)
    if holds_true(marks) and not _only_references_unknown(marks):
        reader.value(r, direction)  # recorded: the rules themselves are not known
        return []
    rules = []
    for index, block in enumerate(_at(r.values, direction) or []):
        sources = [
            *(block.get("cidr_blocks") or []),
            *(block.get("ipv6_cidr_blocks") or []),
            *(f"pl:{p}" for p in reader.related(r, f"{direction}.{index}.prefix_list_ids")),
            *(f"sg:{g}" for g in reader.related(r, f"{direction}.{index}.security_groups")),
            *([f"sg:{group}"] if block.get("self") else []),
        ]
        rules += [
            _rule(block.get("protocol"), block.get("from_port"), block.get("to_port"), s, d)
            for s in sources
            for d in [block.get("description")]
            if isinstance(s, str)
        ]
    return rules


def _only_references_unknown(marks: Any) -> bool:
    """Whether all that is unknown in inline rule blocks is the ids of the groups and prefix
    lists they name (until apply): those are read from the configuration's references."""
    return isinstance(marks, list) and all(
        isinstance(block, dict)
        and not any(holds_true(v) for k, v in block.items() if k not in REFERENCED_IN_RULES)
        for block in marks
    )


def _sources(reader: Reader, r: Resource, attribute: str) -> list[Any]:
    """The CIDR blocks a separate rule sets at ``attribute``: none where its configuration sets
    none, as the provider computes none (the static reader marks what is left out unknown)."""
    if attribute not in r.configured and r.is_unknown(attribute):
        return []
    return list(reader.value(r, attribute) or [])


def _separate_rules(reader: Reader) -> dict[tuple[str, str], list[Rule]]:
    """Rules of aws_security_group_rule and aws_vpc_security_group_{in,e}gress_rule, by
    (group, direction)."""
    found: dict[tuple[str, str], list[Rule]] = {}
    for r in reader.of("aws_security_group_rule"):
        group = reader.one(r, "security_group_id") or ""
        source = reader.one(r, "source_security_group_id")
        sources = [
            *_sources(reader, r, "cidr_blocks"),
            *_sources(reader, r, "ipv6_cidr_blocks"),
            *(f"pl:{p}" for p in reader.related(r, "prefix_list_ids")),
            *([f"sg:{source}"] if source else []),
            *([f"sg:{group}"] if r.values.get("self") else []),
        ]
        found.setdefault((group, str(r.values.get("type"))), []).extend(
            _rule(
                r.values.get("protocol"),
                r.values.get("from_port"),
                r.values.get("to_port"),
                s,
                r.values.get("description"),
            )
            for s in sources
            if isinstance(s, str)
        )
    for direction in ("ingress", "egress"):
        for r in reader.of(f"aws_vpc_security_group_{direction}_rule"):
            group = reader.one(r, "security_group_id") or ""
            referenced = reader.one(r, "referenced_security_group_id")
            prefix_list = reader.one(r, "prefix_list_id")
            sources = [
                *[r.values[k] for k in ("cidr_ipv4", "cidr_ipv6") if r.values.get(k)],
                *([f"sg:{referenced}"] if referenced else []),
                *([f"pl:{prefix_list}"] if prefix_list else []),
            ]
            found.setdefault((group, direction), []).extend(
                _rule(
                    r.values.get("ip_protocol"),
                    r.values.get("from_port"),
                    r.values.get("to_port"),
                    str(s),
                    r.values.get("description"),
                )
                for s in sources
            )
    return found


def _security_groups(reader: Reader) -> list[SecurityGroup]:
    separate = _separate_rules(reader)
    groups = []
    for r in reader.of("aws_security_group"):
        identity = reader.identity(Target(r.address, None))
        groups.append(
            reader.made(
                r,
                SecurityGroup(
                    id=identity,
                    name=reader.text(r, "name"),
                    vpc_id=reader.one(r, "vpc_id") or "",
                    ingress=_inline_rules(reader, r, "ingress", identity)
                    + separate.get((identity, "ingress"), []),
                    egress=_inline_rules(reader, r, "egress", identity)
                    + separate.get((identity, "egress"), []),
                    tags=reader.tags(r),
                ),
            )
        )
    return groups


def _addresses(reader: Reader) -> list[Address]:
    """Elastic IPs, with the instance they are associated with (``instance`` or an
    aws_eip_association naming the address)."""
    associated = {
        reader.one(r, "allocation_id") or "": reader.one(r, "instance_id")
        for r in reader.of("aws_eip_association")
    }
    addresses = []
    for r in reader.of("aws_eip"):
        allocation = reader.identity(Target(r.address, None))
        addresses.append(
            reader.made(
                r,
                Address(
                    allocation_id=allocation,
                    public_ip=(
                        reader.identity(Target(r.address, "public_ip"))
                        if r.is_unknown("public_ip") or r.values.get("public_ip")
                        else None
                    ),
                    instance_id=reader.one(r, "instance") or associated.get(allocation),
                    tags=reader.tags(r),
                ),
            )
        )
    return addresses


def _rds(reader: Reader) -> RdsInventory:
    subnet_vpcs = {
        reader.identity(Target(r.address, None)): reader.one(r, "vpc_id") or ""
        for r in reader.of("aws_subnet")
    }
    groups, group_resources = [], {}  # the groups' models, and resources by name
    for r in reader.of("aws_db_subnet_group"):
        subnets = reader.related(r, "subnet_ids")
        vpcs = {subnet_vpcs[s] for s in subnets if s in subnet_vpcs}
        groups.append(
            reader.made(
                r,
                DbSubnetGroup(
                    name=reader.text(r, "name"),
                    vpc_id=vpcs.pop() if len(vpcs) == 1 else "",
                    subnet_ids=subnets,
                ),
            )
        )
        group_resources[groups[-1].name] = r
    subnets_of = {g.name: g.subnet_ids for g in groups}
    instances = []
    for r in reader.of("aws_db_instance"):
        group = reader.one(r, "db_subnet_group_name")
        performance_insights = reader.value(r, "performance_insights_enabled")
        instances.append(
            reader.made(
                r,
                DbInstance(
                    identifier=reader.text(r, "identifier"),
                    arn=reader.arn("rds", r, "identifier", "db:{name}"),
                    status=PLANNED_STATE,
                    engine=reader.text(r, "engine"),
                    engine_version=reader.text(r, "engine_version"),
                    instance_class=reader.text(r, "instance_class"),
                    allocated_storage_gb=reader.number(r, "allocated_storage"),
                    storage_type=reader.text(r, "storage_type"),
                    multi_az=reader.flag(r, "multi_az"),
                    read_replica_ids=[],
                    replica_source=reader.one(r, "replicate_source_db"),
                    backup_retention_days=reader.number(r, "backup_retention_period"),
                    performance_insights=(
                        None if performance_insights is None else bool(performance_insights)
                    ),
                    publicly_accessible=reader.flag(r, "publicly_accessible"),
                    subnet_group=group,
                    subnet_ids=subnets_of.get(group or "", []),
                    security_group_ids=reader.related(r, "vpc_security_group_ids"),
                    tags=reader.tags(r),
                ),
            )
        )
        subnet_group = group_resources.get(group or "")
        if subnet_group is not None:  # the instance's subnets are its group's
            reader.made(subnet_group, instances[-1])
    return RdsInventory(instances=instances, subnet_groups=groups)


def _s3(reader: Reader) -> S3Inventory:
    """Buckets, with the versioning, encryption and public access block of their own resources
    (provider v4+) or inline blocks (earlier providers)."""
    versioning: dict[str, str | None] = {}
    for r in reader.of("aws_s3_bucket_versioning"):
        status = reader.value(r, "versioning_configuration.0.status")
        versioning[reader.one(r, "bucket") or ""] = None if status is None else str(status)
    encryption: dict[str, list[str]] = {}
    for r in reader.of("aws_s3_bucket_server_side_encryption_configuration"):
        encryption[reader.one(r, "bucket") or ""] = _algorithms(reader.value(r, "rule"))
    blocks = {
        reader.one(r, "bucket") or "": {
            key: reader.flag(r, attribute)
            for key, attribute in (
                ("BlockPublicAcls", "block_public_acls"),
                ("IgnorePublicAcls", "ignore_public_acls"),
                ("BlockPublicPolicy", "block_public_policy"),
                ("RestrictPublicBuckets", "restrict_public_buckets"),
            )
        }
        for r in reader.of("aws_s3_bucket_public_access_block")
    }
    buckets = {}
    for r in reader.of("aws_s3_bucket"):
        name = reader.text(r, "bucket")
        inline = (r.values.get("versioning") or [{}])[0]
        inline_status = "Enabled" if inline.get("enabled") else None
        inline_rules = (r.values.get("server_side_encryption_configuration") or [{}])[0]
        buckets[name] = reader.made(
            r,
            Bucket(
                name=name,
                versioning=versioning.get(name, inline_status),
                encryption=encryption.get(name, _algorithms(inline_rules.get("rule"))),
                public_access_block=blocks.get(name),
                tags=reader.tags(r),
            ),
        )
    return S3Inventory(names=sorted(buckets), buckets=buckets)


def _algorithms(rules: Any) -> list[str]:
    return [
        str(default["sse_algorithm"])
        for rule in rules or []
        for default in rule.get("apply_server_side_encryption_by_default") or []
        if default.get("sse_algorithm")
    ]


def _sqs(reader: Reader) -> SqsInventory:
    """Queues and their dead-letter target: the redrive policy's known ARN, else the queue
    its expression references (``jsonencode({deadLetterTargetArn = aws_sqs_queue.dlq.arn})``
    is unknown until apply), on the queue or an aws_sqs_queue_redrive_policy."""
    separate = {
        reader.one(r, "queue_url") or "": r for r in reader.of("aws_sqs_queue_redrive_policy")
    }
    queues = {}
    for r in reader.of("aws_sqs_queue"):
        name = reader.text(r, "name")
        url = reader.identity(Target(r.address, "id"))
        policy_holder = separate.get(url, r)
        queues[name] = reader.made(
            r,
            Queue(
                name=name,
                arn=reader.identity(Target(r.address, "arn")),
                dead_letter_target=_dead_letter_target(reader, policy_holder),
                tags=reader.tags(r),
            ),
        )
    return SqsInventory(names=sorted(queues), queues=queues)


def _dead_letter_target(reader: Reader, r: Resource) -> str | None:
    """The redrive target; a queue whose configuration sets no redrive policy has none."""
    policy = r.values.get("redrive_policy")
    if isinstance(policy, str) and policy:
        target = json.loads(policy).get("deadLetterTargetArn")
        return str(target) if target else None
    if r.is_unknown("redrive_policy") and "redrive_policy" in r.configured:
        queues = {
            t.address
            for t in r.references.get("redrive_policy", ())
            if t.attribute in (None, "arn")
            and t.address in reader.resources
            and reader.resources[t.address].type == "aws_sqs_queue"
        }
        if len(queues) == 1:
            return reader.identity(Target(queues.pop(), "arn"))
        reader.value(r, "redrive_policy")  # not one queue named: recorded as unknown
    return None


def _route53(reader: Reader) -> Route53Inventory:
    zones = {
        reader.identity(Target(r.address, "zone_id")): (
            r,
            reader.made(
                r,
                HostedZone(
                    id=reader.identity(Target(r.address, "zone_id")),
                    name=reader.text(r, "name").rstrip(".").lower(),
                    private=bool(r.values.get("vpc")),
                ),
            ),
        )
        for r in reader.of("aws_route53_zone")
    }
    domain = reader.inputs.domain.rstrip(".").lower()
    ours = next(((r, z) for r, z in zones.values() if z.name == domain and not z.private), None)
    if ours is None:
        return Route53Inventory(
            zones=[z for _, z in zones.values()], zone=None, records=[], tags={}
        )
    zone_resource, zone = ours
    records = []
    for r in reader.of("aws_route53_record"):
        if reader.one(r, "zone_id") != zone.id:
            continue
        name = reader.text(r, "name").rstrip(".").lower()
        fqdn = (
            name if name == zone.name or name.endswith(f".{zone.name}") else f"{name}.{zone.name}"
        )
        alias = (r.values.get("alias") or [None])[0]
        records.append(
            reader.made(
                r,
                Record(
                    name=fqdn.lstrip("."),
                    type=reader.text(r, "type"),
                    values=(
                        [reader.one(r, "alias.0.name") or ""]
                        if alias is not None
                        else reader.related(r, "records")
                    ),
                    alias=alias is not None,
                    alias_zone=reader.one(r, "alias.0.zone_id") if alias is not None else None,
                ),
            )
        )
    return reader.made(
        zone_resource,
        Route53Inventory(
            zones=[z for _, z in zones.values()],
            zone=zone,
            records=records,
            tags=reader.tags(zone_resource),
        ),
    )


def _ecr(reader: Reader) -> EcrInventory:
    repositories = []
    for r in reader.of("aws_ecr_repository"):
        name = reader.text(r, "name")
        project = is_project_repository(reader.inputs, name)
        repositories.append(
            reader.made(
                r,
                Repository(
                    name=name,
                    arn=reader.identity(Target(r.address, "arn")),
                    tags=reader.tags(r) if project else None,
                ),
            )
        )
    return EcrInventory(repositories=repositories)


def _cloudwatch(reader: Reader) -> CloudwatchInventory:
    alarms = []
    for r in reader.of("aws_cloudwatch_metric_alarm"):
        queries = [
            _query(reader, r, i, q) for i, q in enumerate(r.values.get("metric_query") or [])
        ]
        alarms.append(
            reader.made(
                r,
                Alarm(
                    name=reader.text(r, "alarm_name"),
                    arn=reader.identity(Target(r.address, "arn")),
                    metric=r.values.get("metric_name"),
                    namespace=r.values.get("namespace"),
                    dimensions=_dimensions(reader, r, "dimensions"),
                    statistic=r.values.get("statistic") or r.values.get("extended_statistic"),
                    comparison=reader.text(r, "comparison_operator"),
                    threshold=reader.value(r, "threshold"),
                    period=reader.value(r, "period"),
                    evaluation_periods=reader.number(r, "evaluation_periods"),
                    datapoints_to_alarm=reader.value(r, "datapoints_to_alarm"),
                    actions_enabled=reader.flag(r, "actions_enabled", default=True),
                    alarm_actions=reader.related(r, "alarm_actions"),
                    tags=reader.tags(r),
                    queries=queries,
                ),
            )
        )
    return CloudwatchInventory(alarms=alarms)


def _dimensions(reader: Reader, r: Resource, path: str) -> dict[str, str]:
    """An alarm's dimensions; the one unknown value (an instance id) is the identity its
    expression references. Several unknown values cannot be told apart: recorded unknown."""
    known = _at(r.values, path) or {}
    marks = _at(r.unknown, path)
    missing = [k for k in (marks if isinstance(marks, dict) else {}) if marks[k] is True]
    dimensions = {k: str(v) for k, v in known.items() if v is not None}
    if marks is True:
        missing = ["*"]
    targets = r.references.get(path, ())
    if len(missing) == 1 and missing[0] != "*" and len(targets) == 1:
        dimensions[missing[0]] = reader.identity(targets[0])
    elif missing:
        reader.record(r, path)
    return dimensions


def _query(reader: Reader, r: Resource, index: int, raw: dict[str, Any]) -> MetricQuery:
    stat = (raw.get("metric") or [{}])[0]
    return MetricQuery(
        id=str(raw.get("id")),
        expression=raw.get("expression") or None,
        namespace=stat.get("namespace"),
        metric=stat.get("metric_name"),
        dimensions=_dimensions(reader, r, f"metric_query.{index}.metric.0.dimensions"),
        statistic=stat.get("stat"),
        period=raw.get("period") or stat.get("period"),
        returned=bool(raw.get("return_data", True)),
    )


def _logs(reader: Reader) -> LogsInventory:
    return LogsInventory(
        groups=[
            reader.made(
                r,
                LogGroup(
                    name=reader.text(r, "name"),
                    arn=reader.arn("logs", r, "name", "log-group:{name}"),
                    tags=reader.tags(r),
                ),
            )
            for r in reader.of("aws_cloudwatch_log_group")
        ]
    )


def _secretsmanager(reader: Reader) -> SecretsManagerInventory:
    return SecretsManagerInventory(
        secrets=[
            reader.made(
                r,
                Secret(
                    name=reader.text(r, "name"),
                    arn=reader.identity(Target(r.address, "arn")),
                    tags=reader.tags(r),
                ),
            )
            for r in reader.of("aws_secretsmanager_secret")
        ]
    )


def _dynamodb(reader: Reader) -> DynamoDbInventory:
    tables = {reader.text(r, "name"): r for r in reader.of("aws_dynamodb_table")}
    lock = tables.get(reader.inputs.name("lock-table"))
    if lock is None:
        return DynamoDbInventory(names=sorted(tables), lock_table=None)
    hash_key = reader.value(lock, "hash_key")
    types = {a.get("name"): a.get("type") for a in lock.values.get("attribute") or []}
    return DynamoDbInventory(
        names=sorted(tables),
        lock_table=reader.made(
            lock,
            Table(
                name=reader.text(lock, "name"),
                arn=reader.arn("dynamodb", lock, "name", "table/{name}"),
                hash_key=hash_key,
                hash_key_type=types.get(hash_key),
                tags=reader.tags(lock),
            ),
        ),
    )


def _sns(reader: Reader) -> SnsInventory:
    """Topics and subscriptions. An email or SMS subscription is confirmed by a person after
    apply (unknown: recorded); its address is never copied."""
    subscriptions = []
    for r in reader.of("aws_sns_topic_subscription"):
        protocol = reader.text(r, "protocol")
        personal = protocol in PERSONAL_PROTOCOLS
        pending = reader.value(r, "pending_confirmation")
        subscriptions.append(
            reader.made(
                r,
                Subscription(
                    topic_arn=reader.one(r, "topic_arn") or "",
                    protocol=protocol,
                    endpoint="***" if personal else reader.one(r, "endpoint") or "",
                    confirmed=pending is False or (pending is None and not personal),
                ),
            )
        )
    return SnsInventory(
        topics=[
            reader.made(
                r,
                Topic(
                    arn=reader.identity(Target(r.address, "arn")),
                    name=reader.text(r, "name"),
                    tags=reader.tags(r),
                ),
            )
            for r in reader.of("aws_sns_topic")
        ],
        subscriptions=subscriptions,
    )


def _issuer(url: str) -> str:
    return url.removeprefix("https://").rstrip("/")


def _iam(reader: Reader) -> IamInventory:
    """The OIDC providers and the roles, with the trust policy of those GitHub may assume."""
    providers = [
        reader.made(
            r,
            OidcProvider(
                arn=reader.identity(Target(r.address, "arn")),
                url=_issuer(reader.text(r, "url")),
                client_ids=[str(c) for c in reader.value(r, "client_id_list") or []],
            ),
        )
        for r in reader.of("aws_iam_openid_connect_provider")
    ]
    roles = []
    for r in reader.of("aws_iam_role"):
        policy = reader.value(r, "assume_role_policy")
        trust = json.loads(policy) if isinstance(policy, str) and policy else {}
        roles.append(
            reader.made(
                r,
                Role(
                    name=reader.text(r, "name"),
                    arn=reader.identity(Target(r.address, "arn")),
                    trust=trust,
                    tags=reader.tags(r) if federated_by(trust, GITHUB_ISSUER) else None,
                ),
            )
        )
    return IamInventory(
        provider_arns=[p.arn for p in providers],
        github=next((p for p in providers if p.url == GITHUB_ISSUER), None),
        roles=roles,
    )


# Each section's builder: every section the reader makes, from the resources it reads.
BUILDERS: list[tuple[type[Section], Callable[[Reader], Section]]] = [
    (Ec2Inventory, _ec2),
    (RdsInventory, _rds),
    (S3Inventory, _s3),
    (SqsInventory, _sqs),
    (Route53Inventory, _route53),
    (EcrInventory, _ecr),
    (CloudwatchInventory, _cloudwatch),
    (LogsInventory, _logs),
    (SecretsManagerInventory, _secretsmanager),
    (DynamoDbInventory, _dynamodb),
    (SnsInventory, _sns),
    (IamInventory, _iam),
]
