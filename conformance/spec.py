"""The documented values of one phase, as a strict, typed model.

Every leaf value is a :class:`Documented` value that carries the section of the architecture
document it comes from, so that a failure can always name its source. In the YAML a group states
its ``section`` once and its plain values inherit it; a value that comes from elsewhere in the
document is written ``{value: ..., section: ..., note: ...}``.
"""

from __future__ import annotations

import types
import typing
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from conformance.errors import UsageError
from conformance.yamlfile import load_yaml

T = TypeVar("T")

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
PHASES = (1, 2, 3, 4)
EnvironmentName = Literal["production", "staging"]


class Documented(BaseModel, Generic[T]):
    """One value stated by the architecture document, with where it is stated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    section: str
    note: str | None = None

    def derive(self, value: Any, note: str | None = None) -> Documented[Any]:
        """A value computed from this one (e.g. an ARN for a region) keeps its section."""
        return Documented[Any](value=value, section=self.section, note=note or self.note)


class Group(BaseModel):
    """A group of documented values that share a document section.

    Plain values in the YAML are wrapped into :class:`Documented` with the group's section;
    nested groups without their own section inherit it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    section: str

    def stated(self, value: Any, note: str | None = None) -> Documented[Any]:
        """A value this group's section implies (e.g. a set of names), as a Documented value."""
        return Documented[Any](value=value, section=self.section, note=note)

    @model_validator(mode="before")
    @classmethod
    def _inherit_section(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "section" not in data:
            return data
        section = data["section"]
        out = dict(data)
        for name, field in cls.model_fields.items():
            if name == "section" or name not in out:
                continue
            out[name] = _inherit(field.annotation, out[name], section)
        return out


def _inherit(annotation: Any, raw: Any, section: str) -> Any:
    origin = get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        for arm in get_args(annotation):
            if arm is not type(None):
                return _inherit(arm, raw, section)
        return raw
    if raw is None:
        return raw
    if _is_documented(annotation):
        if isinstance(raw, dict) and "value" in raw:
            return {"section": section, **raw}
        return {"value": raw, "section": section}
    if isinstance(annotation, type) and issubclass(annotation, Group) and isinstance(raw, dict):
        return {"section": section, **raw}
    if origin is dict and isinstance(raw, dict):
        value_type = get_args(annotation)[1]
        return {key: _inherit(value_type, item, section) for key, item in raw.items()}
    if origin is list and isinstance(raw, list):
        item_type = get_args(annotation)[0]
        return [_inherit(item_type, item, section) for item in raw]
    return raw


def _is_documented(annotation: Any) -> bool:
    meta = getattr(annotation, "__pydantic_generic_metadata__", None)
    return bool(meta and meta.get("origin") is Documented) or annotation is Documented


# --- Network -------------------------------------------------------------------------------

Tier = Literal["public", "private", "data"]


class SubnetSpec(Group):
    cidr: Documented[IPv4Network]
    availability_zone: Documented[str]
    tier: Documented[Tier]


class NetworkSpec(Group):
    vpc_cidr: Documented[IPv4Network]
    subnets: dict[str, SubnetSpec] = Field(
        description="Subnets by role; the key is the default name suffix, e.g. 'public-a'."
    )
    nat_gateways: Documented[int]
    load_balancers: Documented[int]


# --- Security groups -----------------------------------------------------------------------


class IngressRule(Group):
    protocol: Documented[Literal["tcp", "udp", "all"]]
    port: Documented[int]
    source: Documented[str] = Field(
        description="A CIDR, 'admin' (the admin_cidr input), or 'sg:<role>' for another group."
    )
    description: Documented[str]


class SecurityGroupSpec(Group):
    ingress: list[IngressRule]
    egress_all: Documented[bool] | None = None


class SecurityGroupsSpec(Group):
    groups: dict[str, SecurityGroupSpec]
    never_open_to_world: Documented[list[int]]


# --- Compute and database ------------------------------------------------------------------


class Ec2HostSpec(Group):
    instance_type: Documented[str]
    subnet: Documented[str]
    security_groups: Documented[list[str]]
    elastic_ip: Documented[bool]


class DatabaseSpec(Group):
    engine: Documented[str]
    instance_class: Documented[str]
    storage_gb: Documented[int]
    storage_type: Documented[str]
    multi_az: Documented[bool]
    read_replicas: Documented[int]
    backup_retention_days: Documented[int]
    point_in_time_recovery: Documented[bool]
    performance_insights: Documented[bool]
    publicly_accessible: Documented[bool] | None = None
    subnets: Documented[list[str]] | None = None
    security_groups: Documented[list[str]] | None = None
    extensions: Documented[list[str]] | None = None


# --- Service inventory ---------------------------------------------------------------------


class QueuesSpec(Group):
    dead_letter_queues: Documented[bool]


class BucketsSpec(Group):
    roles: Documented[list[str]]


class DnsRecordSpec(Group):
    name: Documented[str]
    type: Documented[Literal["A", "AAAA", "CNAME"]]
    target: Documented[str] = Field(
        description="'elastic-ip', 'alb', 'cloudfront', or '@' for the apex."
    )


class ServicesSpec(Group):
    queues: QueuesSpec
    buckets: BucketsSpec
    dns_records: list[DnsRecordSpec]
    container_images: Documented[list[str]]
    secrets: Documented[list[str]]
    log_group: Documented[str]


# --- Alarms --------------------------------------------------------------------------------

Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
AlarmAction = Literal["email", "ec2-recover", "sms+email"]
AlarmSubject = Literal["app-instance", "database", "queue", "load-balancer", "search-domain"]


class AlarmSpec(Group):
    documented_metric: Documented[str]
    metric: Documented[str]
    namespace: Documented[str | None] = Field(
        description="None when the publisher (the CloudWatch agent) chooses the namespace."
    )
    subject: Documented[AlarmSubject]
    comparison: Documented[Comparison]
    threshold: Documented[float]
    duration_seconds: Documented[int | None]
    action: Documented[AlarmAction]


class AlarmsSpec(Group):
    alarms: dict[str, AlarmSpec]
    notification_protocol: Documented[str]


# --- IaC, CI and tags ----------------------------------------------------------------------


class IacSpec(Group):
    tool: Documented[str]
    state_bucket_versioned: Documented[bool]
    state_bucket_encrypted: Documented[bool]
    state_bucket_public_access_blocked: Documented[bool]
    lock_table_key: Documented[str]
    ci_oidc_provider: Documented[str]
    ci_oidc_audience: Documented[str]


class TagsSpec(Group):
    required: Documented[dict[str, str | None]] = Field(
        description="Tag key -> required value, or None when any non-empty value will do."
    )


# --- Containers (Phase 1 host) -------------------------------------------------------------


class ContainerSpec(Group):
    cpus: Documented[float]
    memory_mb: Documented[int]


class ContainersSpec(Group):
    host_vcpus: Documented[float]
    host_memory_mb: Documented[int]
    services: dict[str, ContainerSpec]
    total_cpus: Documented[float]
    total_memory_mb: Documented[int]


# --- Host layer (Phase 1 EC2 host): nginx, TLS, Compose details, Redis ---------------------


class RateZoneSpec(Group):
    key: Documented[str]
    size: Documented[str]
    rate: Documented[str]


class LocationSpec(Group):
    upstream: Documented[str]
    zone: Documented[str]
    burst: Documented[int]
    nodelay: Documented[bool]


class NginxSpec(Group):
    worker_connections: Documented[int]
    rate_zones: dict[str, RateZoneSpec]
    upstreams: Documented[dict[str, list[str]]]
    redirect: Documented[str] = Field(description="The port-80 server's return, e.g. '301 https'.")
    certificate_dir: Documented[str]
    ssl_protocols: Documented[list[str]]
    prefer_server_ciphers: Documented[bool]
    locations: dict[str, LocationSpec]
    proxy_headers: Documented[dict[str, str]]


class TlsSpec(Group):
    accepted: Documented[list[str]]
    rejected: Documented[list[str]]
    names: Documented[list[str]] = Field(description="'@' is the apex domain of the inputs.")
    min_days_left: Documented[int]
    http_redirect: Documented[int]


class ComposeSpec(Group):
    restart: Documented[str]
    images: Documented[dict[str, str]] = Field(
        description="Image by service; 'ecr' means ${ECR_REGISTRY}/acct-atlas-<service>:<tag>."
    )
    published_ports: Documented[dict[str, list[int]]]
    environment: Documented[dict[str, dict[str, str]]]
    redis_command: Documented[list[str]]
    redis_volume: Documented[str]
    logging: Documented[dict[str, str]]


class RedisSpec(Group):
    maxmemory_mb: Documented[int]
    maxmemory_policy: Documented[str]
    rdb_snapshots: Documented[bool]


# --- Phases 2-4: ECS, managed cache and search, edge, DR ----------------------------------


class EcsServiceSpec(Group):
    cpu: Documented[int]
    memory_mb: Documented[int]
    port: Documented[int]
    health_check: Documented[str]
    tasks: Documented[int] | None = None
    min_tasks: Documented[int] | None = None
    max_tasks: Documented[int] | None = None


class AutoScalingSpec(Group):
    metric: Documented[str]
    target_value: Documented[float]
    scale_in_cooldown: Documented[int]
    scale_out_cooldown: Documented[int]


class DeploymentSpec(Group):
    type: Documented[str]
    config: Documented[str] | None = None
    termination_wait_minutes: Documented[int] | None = None
    auto_rollback_events: Documented[list[str]] | None = None


class EcsSpec(Group):
    services: dict[str, EcsServiceSpec]
    autoscaling: AutoScalingSpec | None = None
    deployment: DeploymentSpec | None = None


class CacheSpec(Group):
    node_type: Documented[str]
    nodes: Documented[int]
    multi_az: Documented[bool]
    encryption_at_rest: Documented[bool] | None = None
    encryption_in_transit: Documented[bool] | None = None


class SearchSpec(Group):
    instance_type: Documented[str]
    nodes: Documented[int]
    storage_gb: Documented[int]
    encryption: Documented[bool]
    fine_grained_access: Documented[bool]


class EdgeSpec(Group):
    load_balancer: Documented[bool]
    tls_certificates: Documented[str]
    waf: Documented[bool] | None = None
    cloudfront: Documented[bool] | None = None
    xray_sampling: Documented[float] | None = None


class BackupSpec(Group):
    resource: Documented[str]
    type: Documented[str]
    frequency: Documented[str]
    retention_days: Documented[int | None]
    location: Documented[str]


# --- Environments and phases ---------------------------------------------------------------


class EnvironmentSpec(BaseModel):
    """What one environment of a phase must look like; an absent group is not documented."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    network: NetworkSpec | None = None
    security_groups: SecurityGroupsSpec | None = None
    ec2_host: Ec2HostSpec | None = None
    database: DatabaseSpec | None = None
    services: ServicesSpec | None = None
    alarms: AlarmsSpec | None = None
    iac: IacSpec | None = None
    tags: TagsSpec | None = None
    containers: ContainersSpec | None = None
    ecs: EcsSpec | None = None
    cache: CacheSpec | None = None
    search: SearchSpec | None = None
    edge: EdgeSpec | None = None
    backups: list[BackupSpec] | None = None
    nginx: NginxSpec | None = None
    tls: TlsSpec | None = None
    compose: ComposeSpec | None = None
    redis: RedisSpec | None = None


class PhaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: Literal[1, 2, 3, 4]
    name: str
    document: str
    primary_region: Documented[str]
    dr_region: Documented[str] | None = None
    environments: dict[EnvironmentName, EnvironmentSpec]

    def environment(self, name: str) -> EnvironmentSpec:
        try:
            return self.environments[name]  # type: ignore[index]
        except KeyError:
            documented = ", ".join(self.environments) or "none"
            raise UsageError(
                f"phase {self.phase} ({self.name}) documents no '{name}' environment "
                f"(documented: {documented}); use --environment"
            ) from None


def spec_path(phase: int) -> Path:
    return SPECS_DIR / f"phase-{phase}.yaml"


def load_spec(phase: int, path: Path | None = None) -> PhaseSpec:
    """Load and validate ``specs/phase-N.yaml``; any problem is one clear :class:`UsageError`."""
    if phase not in PHASES:
        raise UsageError(f"unknown phase {phase}: the document has phases 1, 2, 3 and 4")
    path = path or spec_path(phase)
    if not path.exists():
        raise UsageError(
            f"phase {phase} has no spec yet: {path} does not exist "
            "(only the phases with a specs/phase-N.yaml can be checked)"
        )
    raw = load_yaml(path, "spec")
    try:
        return PhaseSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise UsageError(f"{path}: invalid spec: {problems}") from None
