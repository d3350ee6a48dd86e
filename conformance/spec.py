"""The documented values of one phase, as a strict, typed model.

Every leaf value is a :class:`Documented` value that carries the section of the architecture
document it comes from, so that a failure can always name its source. In the YAML a group states
its ``section`` once and its plain values inherit it; a value that comes from elsewhere in the
document is written ``{value: ..., section: ..., note: ...}``.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from functools import cache
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from conformance import carry
from conformance.anchors import Anchors
from conformance.errors import UsageError
from conformance.validate import is_region
from conformance.yamlfile import dotted, load_yaml, shown

T = TypeVar("T")

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
PHASES = (1, 2, 3, 4)
EnvironmentName = Literal["production", "staging"]


def _cidr(value: Any) -> Any:
    """A CIDR block must be written as one: a bare 12345 would otherwise be the address
    0.0.48.57/32."""
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"{shown(value)} is not a CIDR block like 10.0.0.0/16")
    return value


def _region(value: str) -> str:
    if not is_region(value):
        raise ValueError(f"{shown(value)} is not an AWS region name like us-east-1")
    return value


# Constrained values: what the reference build and the checks can rely on.
Cidr = Annotated[IPv4Network, BeforeValidator(_cidr)]
Region = Annotated[str, AfterValidator(_region)]
Port = Annotated[int, Field(ge=0, le=65535)]
PublishedPort = Annotated[int, Field(ge=1, le=65535)]
Count = Annotated[int, Field(ge=0)]
Size = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(gt=0)]
Text = Annotated[str, Field(min_length=1)]


class Documented(BaseModel, Generic[T]):
    """One value stated by the architecture document, with where it is stated."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    value: T
    section: Text
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

    section: Text

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
    cidr: Documented[Cidr]
    availability_zone: Documented[str]
    tier: Documented[Tier]


class NetworkSpec(Group):
    vpc_cidr: Documented[Cidr]
    subnets: dict[str, SubnetSpec] = Field(
        description="Subnets by role; the key is the default name suffix, e.g. 'public-a'."
    )
    nat_gateways: Documented[Count]
    load_balancers: Documented[Count]
    nat_gateway_tier: Documented[Tier] | None = Field(
        default=None, description="The tier of subnet the NAT gateways sit in (Phase 2: public)."
    )


# --- Security groups -----------------------------------------------------------------------


class IngressRule(Group):
    protocol: Documented[Literal["tcp", "udp", "all"]]
    port: Documented[Port]
    source: Documented[str] = Field(
        description="A CIDR, 'admin' (the admin_cidr input), or 'sg:<role>' for another group."
    )
    description: Documented[str]


class SecurityGroupSpec(Group):
    ingress: list[IngressRule]
    egress_all: Documented[bool] | None = None


class SecurityGroupsSpec(Group):
    groups: dict[str, SecurityGroupSpec]
    never_open_to_world: Documented[list[Port]]
    rule_descriptions: Documented[bool] | None = Field(
        default=None,
        description="True where the document's table gives each rule's Description (Phase 1); "
        "then each rule must carry it.",
    )


# --- Compute and database ------------------------------------------------------------------


class Ec2HostSpec(Group):
    instance_type: Documented[str]
    subnet: Documented[str]
    security_groups: Documented[list[str]]
    elastic_ip: Documented[bool]
    agent_metrics: Documented[list[str]] | None = Field(
        default=None, description="Metrics the CloudWatch agent publishes for the instance."
    )
    ami_backups: Documented[Size] | None = Field(
        default=None, description="How many manual AMIs of the instance are kept (at most)."
    )


class DatabaseSpec(Group):
    engine: Documented[str]
    instance_class: Documented[str]
    storage_gb: Documented[Size]
    storage_type: Documented[str]
    multi_az: Documented[bool]
    read_replicas: Documented[Count]
    backup_retention_days: Documented[Annotated[int, Field(ge=0, le=35)]]
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
    environment: Documented[EnvironmentName] | None = Field(
        default=None,
        description="Whose resource the target is (api.staging -> staging's ALB); the record's "
        "own environment when absent.",
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
AlarmSubject = Literal[
    "app-instance", "database", "queue", "load-balancer", "target-group", "search-domain"
]


class AlarmSpec(Group):
    documented_metric: Documented[str]
    metric: Documented[str]
    namespace: Documented[str | None] = Field(
        description="None when the publisher (the CloudWatch agent) chooses the namespace."
    )
    subject: Documented[AlarmSubject]
    comparison: Documented[Comparison]
    threshold: Documented[float]
    duration_seconds: Documented[Size | None]
    action: Documented[AlarmAction]
    severity: Documented[Literal["critical", "warning"]] | None = Field(
        default=None, description="Phase 3+: critical alarms page by SMS and email."
    )
    statistic: Documented[str] | None = Field(
        default=None, description="The statistic judged, when it matters (p95 for latency)."
    )
    ratio_of: Documented[str] | None = Field(
        default=None,
        description="A percentage: the alarm judges 100 * metric / ratio_of (metric math).",
    )


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
    cpus: Documented[Share]
    memory_mb: Documented[Size]


class ContainersSpec(Group):
    host_vcpus: Documented[Share]
    host_memory_mb: Documented[Size]
    services: dict[str, ContainerSpec]
    total_cpus: Documented[Share]
    total_memory_mb: Documented[Size]


# --- Host layer (Phase 1 EC2 host): nginx, TLS, Compose details, Redis ---------------------


class RateZoneSpec(Group):
    key: Documented[str]
    size: Documented[str]
    rate: Documented[str]


class LocationSpec(Group):
    upstream: Documented[str]
    zone: Documented[str]
    burst: Documented[Count]
    nodelay: Documented[bool]


class NginxSpec(Group):
    worker_connections: Documented[Size]
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
    min_days_left: Documented[Count]
    http_redirect: Documented[Annotated[int, Field(ge=300, le=399)]]


class SecretVariableSpec(Group):
    """One secret of the Secrets Management table, as the environment variable its services get."""

    used_by: Documented[list[Text]]
    names: Documented[list[Text]] = Field(
        description="The variable's accepted names; the first is the reference's."
    )


class ComposeSpec(Group):
    restart: Documented[str]
    images: Documented[dict[str, str]] = Field(
        description="Image by service; 'ecr' means ${ECR_REGISTRY}/acct-atlas-<service>:<tag>."
    )
    published_ports: Documented[dict[str, list[PublishedPort]]]
    container_ports: Documented[dict[str, list[PublishedPort]]] = Field(
        description="The ports each container listens on (Environment Topology)."
    )
    nginx_volumes: Documented[list[Text]] = Field(description="Paths nginx mounts read-only.")
    depends_on: Documented[dict[str, list[Text]]]
    secret_variables: dict[str, SecretVariableSpec] = Field(
        description="By Secrets Manager secret: the services it reaches, as environment variables."
    )
    environment: Documented[dict[str, dict[str, str]]]
    redis_command: Documented[list[str]]
    redis_volume: Documented[str]
    logging: Documented[dict[str, str]]


class RedisSpec(Group):
    maxmemory_mb: Documented[Size]
    maxmemory_policy: Documented[str]
    rdb_snapshots: Documented[bool]


class HostStateSpec(Group):
    """What runs on the EC2 host besides the containers (read with --ssh-host)."""

    cloudwatch_agent: Documented[Text] = Field(description="The agent's executable name.")
    renewal_command: Documented[Text]
    renewal_deploy_hook: Documented[Text]
    renewal_runs_per_day: Documented[Size]


# --- Phases 2-4: ECS, load balancer, managed cache and search, edge, DR --------------------


class EcsServiceSpec(Group):
    cpu: Documented[Size] = Field(description="Task CPU units (1024 = 1 vCPU).")
    memory_mb: Documented[Size]
    port: Documented[PublishedPort]
    health_check: Documented[str] = Field(description="The HTTP path the ALB health check asks.")
    tasks: Documented[Count] | None = None
    min_tasks: Documented[Count] | None = None
    max_tasks: Documented[Count] | None = None


class AutoScalingSpec(Group):
    metric: Documented[str]
    target_value: Documented[float]
    scale_in_cooldown: Documented[Count]
    scale_out_cooldown: Documented[Count]


class DeploymentSpec(Group):
    type: Documented[Literal["rolling", "blue-green"]] = Field(
        description="rolling: ECS's own deployment controller; blue-green: CodeDeploy's."
    )
    config: Documented[str] | None = None
    termination_wait_minutes: Documented[Count] | None = None
    auto_rollback_events: Documented[list[str]] | None = None


class EcsSpec(Group):
    """The ECS cluster's services: one per row of the ECS Task Definitions table."""

    launch_type: Documented[Literal["FARGATE", "EC2"]]
    subnets: Documented[list[str]] = Field(description="Subnet roles the tasks run in.")
    assign_public_ip: Documented[bool]
    security_groups: Documented[list[str]] | None = None
    log_driver: Documented[str]
    environment: Documented[dict[str, dict[str, str]]] | None = Field(
        default=None, description="Container environment by service (only the listed keys)."
    )
    services: dict[str, EcsServiceSpec]
    deployment: DeploymentSpec | None = None
    autoscaling: AutoScalingSpec | None = None


class LoadBalancerSpec(Group):
    """The load balancer in front of the services (Phase 2+: an ALB terminating TLS)."""

    type: Documented[Literal["application", "network"]]
    scheme: Documented[Literal["internet-facing", "internal"]]
    subnets: Documented[list[str]]
    security_groups: Documented[list[str]] | None = None
    https_port: Documented[PublishedPort]
    certificate: Documented[Literal["acm"]] = Field(
        description="Where the HTTPS listener's certificate comes from."
    )
    certificate_names: Documented[list[str]] = Field(
        description="Names the certificate must cover; '@' is the apex domain of the inputs."
    )
    http_redirect: Documented[Annotated[int, Field(ge=300, le=399)]] = Field(
        description="The port-80 listener's redirect to HTTPS."
    )


class CacheSpec(Group):
    engine: Documented[str] | None = None
    node_type: Documented[str]
    nodes: Documented[Size]
    multi_az: Documented[bool]
    subnets: Documented[list[str]] | None = None
    security_groups: Documented[list[str]] | None = None
    encryption_at_rest: Documented[bool] | None = None
    encryption_in_transit: Documented[bool] | None = None


class MonitoringSpec(Group):
    dashboards: Documented[list[str]] = Field(description="CloudWatch dashboards by role.")
    prometheus: Documented[bool] | None = Field(
        default=None,
        description="Phase 3+: metrics also in an Amazon Managed Prometheus workspace.",
    )


class RetiredSpec(Group):
    """What an earlier phase had and this one must no longer have."""

    ec2_host: Documented[bool] = Field(
        description="True: no EC2 instance in the VPC serves the site (the Phase 1 Docker host)."
    )


class AbsentSpec(Group):
    """What a phase documents it does not have yet (Phase 1: managed search and cache,
    dashboards, tracing), each as the number of such resources in the account and region."""

    search_domains: Documented[Count] | None = None
    cache_clusters: Documented[Count] | None = None
    dashboards: Documented[Count] | None = None
    sampling_rules: Documented[Count] | None = Field(
        default=None, description="X-Ray sampling rules beside AWS's own Default rule."
    )


class SearchSpec(Group):
    """The OpenSearch Service domain (Phase 3+: search moves off PostgreSQL FTS)."""

    instance_type: Documented[str]
    nodes: Documented[Size] = Field(description="Data nodes.")
    storage_gb: Documented[Size] = Field(description="EBS storage per data node.")
    encryption: Documented[bool] = Field(
        description="Encrypted at rest and node-to-node, HTTPS required."
    )
    fine_grained_access: Documented[bool]


class FirewallSpec(Group):
    web_acl: Documented[bool] = Field(
        description="A WAFv2 web ACL is associated with the environment's ALB."
    )


class CdnSpec(Group):
    distribution: Documented[bool] = Field(
        description="A CloudFront distribution serves the environment's static assets."
    )
    origin: Documented[str] | None = Field(
        default=None, description="The bucket role it serves them from (static-assets)."
    )
    dynamic_origin: Documented[str] | None = Field(
        default=None, description="What serves the rest (SSR, API routes): 'alb'."
    )


class TracingSpec(Group):
    sampling_rate: Documented[Annotated[float, Field(ge=0, le=1)]] = Field(
        description="The X-Ray default sampling rule's fixed rate (0.05 = 5%)."
    )


class PipelineSpec(Group):
    """The release pipeline of Phase 4: one CodePipeline from GitHub to both environments."""

    source: Documented[str] = Field(description="Where the source comes from (GitHub).")
    branch: Documented[str] = Field(description="The branch whose pushes start the pipeline.")
    build: Documented[str] = Field(description="The build stage's provider (CodeBuild).")
    docker_build: Documented[bool] = Field(
        description="The build builds Docker images (CodeBuild's privileged mode)."
    )
    deploys: Documented[list[EnvironmentName]] = Field(
        description="The environments the pipeline deploys, in stage order."
    )
    manual_approval: Documented[list[EnvironmentName]] = Field(
        description="The environments deployed only after a manual approval."
    )


class DisasterRecoverySpec(Group):
    """The Backup Strategy table beyond the primary region's own automated backups (the
    database group's retention): what must survive the loss of the primary region."""

    database_replicated_retention_days: Documented[Size] = Field(
        description="Days the DR region keeps the database's replicated automated backups."
    )
    search_automated_snapshots: Documented[bool] = Field(
        description="OpenSearch takes its automated (hourly, 14-day) snapshots."
    )
    replicated_buckets: Documented[list[str]] = Field(
        description="Bucket roles replicated to a bucket in the DR region."
    )


class ReservationSpec(Group):
    instance: Documented[str]
    term_years: Documented[Size]


class ReservedSpec(Group):
    """Reserved capacity bought for the environment's steady instances (Reserved Instances)."""

    reservations: dict[Literal["database", "cache", "search"], ReservationSpec]


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
    load_balancer: LoadBalancerSpec | None = None
    cache: CacheSpec | None = None
    monitoring: MonitoringSpec | None = None
    retired: RetiredSpec | None = None
    absent: AbsentSpec | None = None
    search: SearchSpec | None = None
    firewall: FirewallSpec | None = None
    cdn: CdnSpec | None = None
    tracing: TracingSpec | None = None
    pipeline: PipelineSpec | None = None
    disaster_recovery: DisasterRecoverySpec | None = None
    reserved: ReservedSpec | None = None
    nginx: NginxSpec | None = None
    tls: TlsSpec | None = None
    compose: ComposeSpec | None = None
    redis: RedisSpec | None = None
    host_state: HostStateSpec | None = None


class PhaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: Literal[1, 2, 3, 4]
    name: str
    document: str
    primary_region: Documented[Region]
    dr_region: Documented[Region] | None = None
    environments: dict[EnvironmentName, EnvironmentSpec]
    anchors: Anchors | None = Field(
        default=None, description="Which document cell each value mirrors (--architecture-doc)."
    )

    def chosen(self, environment: str) -> tuple[EnvironmentName, ...]:
        """The environments ``--environment`` names: one, or (``all``) every one the phase
        documents, production first. An environment the phase lacks is a usage error."""
        if environment == "all":
            return tuple(self.environments)
        self.environment(environment)
        return (environment,)  # type: ignore[return-value]  # documented: checked just above

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
    """Load and validate ``specs/phase-N.yaml`` (or the phase file at ``path``); any problem is
    one clear :class:`UsageError` naming the file, the line and the field. The shipped phase
    files are read once per process: a later phase carries an earlier one's groups, and each
    carried group would otherwise read (and validate) the earlier files again."""
    if phase not in PHASES:
        raise UsageError(f"unknown phase {phase}: the document has phases 1, 2, 3 and 4")
    if path is None:
        return _shipped_spec(phase)
    return _read_spec(phase, path)


@cache
def _shipped_spec(phase: int) -> PhaseSpec:
    return _read_spec(phase, spec_path(phase))


def _read_spec(phase: int, path: Path) -> PhaseSpec:
    if not path.exists():
        raise UsageError(
            f"phase {phase} has no spec yet: {path} does not exist "
            "(only the phases with a specs/phase-N.yaml can be checked)"
        )
    doc = load_yaml(path, "spec")
    data = carry.resolve(doc.data, phase, load_spec, doc.where)
    try:
        spec = PhaseSpec.model_validate(data)
    except ValidationError as exc:
        raise doc.invalid("invalid spec", exc) from None
    for loc, problem in _inconsistencies(spec):
        raise UsageError(f"{doc.where(loc)}: invalid spec: {dotted(loc)}: {problem}")
    return spec


Loc = tuple[str | int, ...]


def _inconsistencies(spec: PhaseSpec) -> Iterator[tuple[Loc, str]]:
    """Values each valid alone that do not fit together: a subnet outside its VPC, a reference
    to a subnet or group the spec does not define, an availability zone of another region."""
    for name, env in spec.environments.items():
        at: Loc = ("environments", name)
        subnets = env.network.subnets if env.network else {}
        groups = env.security_groups.groups if env.security_groups else {}
        if env.network is not None:
            yield from _network(env.network, spec.primary_region.value, (*at, "network"))
        for role, group in groups.items():
            for index, rule in enumerate(group.ingress):
                loc = (*at, "security_groups", "groups", role, "ingress", index, "source")
                yield from _source(rule.source.value, loc, groups)
        host, db = env.ec2_host, env.database
        references: list[tuple[Loc, list[str], Mapping[str, object]]] = [
            (("ec2_host", "subnet"), [host.subnet.value] if host else [], subnets),
            (("ec2_host", "security_groups"), host.security_groups.value if host else [], groups),
            (("database", "subnets"), _values(db.subnets if db else None), subnets),
            (("database", "security_groups"), _values(db.security_groups if db else None), groups),
        ]
        for key in ("ecs", "load_balancer", "cache"):
            part = getattr(env, key)
            references += [
                ((key, "subnets"), _values(getattr(part, "subnets", None)), subnets),
                ((key, "security_groups"), _values(getattr(part, "security_groups", None)), groups),
            ]
        for where, named, defined in references:
            missing = [n for n in named if n not in defined]
            if missing and defined:
                yield (*at, *where), f"{', '.join(missing)} not defined here ({', '.join(defined)})"
        if env.nginx is not None:
            for path, location in env.nginx.locations.items():
                loc = (*at, "nginx", "locations", path)
                if location.upstream.value not in env.nginx.upstreams.value:
                    yield (*loc, "upstream"), f"no upstream {shown(location.upstream.value)}"
                if location.zone.value not in env.nginx.rate_zones:
                    yield (*loc, "zone"), f"no rate zone {shown(location.zone.value)}"


def _network(network: NetworkSpec, region: str, at: Loc) -> Iterator[tuple[Loc, str]]:
    vpc = network.vpc_cidr.value
    placed: list[tuple[str, IPv4Network]] = []
    for role, subnet in network.subnets.items():
        cidr = subnet.cidr.value
        if not cidr.subnet_of(vpc):
            yield (*at, "subnets", role, "cidr"), f"{cidr} is outside the VPC's {vpc}"
        for other, taken in placed:
            if cidr.overlaps(taken):
                yield (*at, "subnets", role, "cidr"), f"{cidr} overlaps {other}'s {taken}"
        placed.append((role, cidr))
        zone = subnet.availability_zone.value
        if not re.fullmatch(re.escape(region) + "[a-z]", zone):
            yield (
                (*at, "subnets", role, "availability_zone"),
                f"{shown(zone)} is not a zone of the primary region {region}",
            )


def _source(source: str, loc: Loc, groups: Mapping[str, object]) -> Iterator[tuple[Loc, str]]:
    """A rule's source: 'admin', 'sg:<a group of this spec>', or a CIDR block."""
    if source == "admin":
        return
    if source.startswith("sg:"):
        if source[3:] not in groups:
            yield loc, f"no security group {shown(source[3:])} ({', '.join(groups)})"
        return
    try:
        ip_network(source)
    except ValueError:
        yield loc, f"{shown(source)} is not a CIDR block, 'admin' or 'sg:<group>'"


def _values(documented: Documented[list[str]] | None) -> list[str]:
    return documented.value if documented is not None else []
