"""Deployment-specific values the document does not give, in the manner of InSpec inputs.

They come from ``--inputs FILE`` (YAML) and ``--input KEY=VALUE`` (repeatable, wins over the
file). Resource names default to the project's IaC convention and can each be overridden.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from conformance.errors import UsageError
from conformance.yamlfile import MAX_PROBLEMS, YamlDocument, dotted, load_yaml, problem, shown

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

DEFAULT_QUEUES = (
    "video-events",
    "video-status-events",
    "moderation-events",
    "search-moderation-events",
    "user-events",
    "user-video-events",
    "user-video-status-events",
)

# The IaC naming convention, from the project name {p}: the roles with one resource each, and
# the kinds of role named by a key (subnet.public-a, queue.user-events …). Inputs.name and the
# check of the names input both read these two tables: a role is known when it has a convention.
ROLE_NAMES = {
    "vpc": "{p}-vpc",
    "instance": "{p}-app",
    "db": "{p}-db",
    "alarm-topic": "{p}-alarms",
    "bucket.backups": "{p}-backups",
    "bucket.static-assets": "{p}-static-assets",
    "bucket.tfstate": "{p}-tfstate",
    "lock-table": "terraform-locks",
    "ecs-cluster": "{p}-cluster",
    "alb": "{p}-alb",
    "cache": "{p}-redis",
}
KIND_NAMES = {
    "subnet": "{p}-{key}",
    "sg": "{p}-{key}",
    "ecr": "acct-atlas-{key}",
    "secret": "{p}/{key}",
    "queue": "{p}-{key}",
    "dlq": "{p}-{key}-dlq",
    "ecs-service": "{key}",
    "task": "{p}-{key}",
    "dashboard": "{p}-{key}",
}
_KNOWN_ROLES = ", ".join([*ROLE_NAMES, *(f"{kind}.KEY" for kind in KIND_NAMES)])


def _known_role(role: str) -> str:
    kind, _, key = role.partition(".")
    if role not in ROLE_NAMES and not (key and kind in KIND_NAMES):
        raise ValueError(f"unknown role {shown(role)} (roles: {_KNOWN_ROLES})")
    return role


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"listed more than once: {', '.join(repeated)}")
    return values


def _shaped(pattern: str, shape: str) -> AfterValidator:
    """A string check whose error says what the value should look like."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{shown(value)} is not {shape}")
        return value

    return AfterValidator(check)


# The project prefixes S3 bucket, RDS, SQS and secret names: lowercase letters, digits and single
# hyphens, short enough that "{project}-static-assets" stays within S3's 63 characters.
Project = Annotated[
    str,
    _shaped(r"(?=.{1,40}\Z)[a-z](?:-?[a-z0-9])*", "a name prefix (a-z, 0-9, single hyphens; 1-40)"),
]
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
Domain = Annotated[
    str, _shaped(rf"(?=.{{1,253}}\.?$){_LABEL}(?:\.{_LABEL})+\.?", "a DNS domain (example.com)")
]
GithubOwner = Annotated[
    str, _shaped(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}", "a GitHub user or organization name")
]
QueueName = Annotated[
    str, _shaped(r"[A-Za-z0-9_-]{1,40}", "an SQS queue name suffix (A-Z, a-z, 0-9, _, -)")
]
Role = Annotated[str, AfterValidator(_known_role)]
ResourceName = Annotated[
    str, _shaped(r"[!-~]{1,255}", "a resource name (printable ASCII, no spaces, 1-255 long)")
]


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project: Project = "accountabilityatlas"
    domain: Domain = "accountabilityatlas.com"
    admin_cidr: IPv4Network | None = Field(
        default=None,
        description="Where SSH may come from. Unset: exactly one /32 host, never the world.",
    )
    account_id: str | None = None
    github_org: GithubOwner = Field(
        default="AccountabilityAtlas",
        description="The GitHub owner whose workflows the deploy role may trust.",
    )
    queues: Annotated[tuple[QueueName, ...], Field(min_length=1), AfterValidator(_unique)] = (
        DEFAULT_QUEUES
    )
    names: dict[Role, ResourceName] = Field(
        default_factory=dict,
        description="Name overrides by role, e.g. {vpc: my-vpc, sg.ec2-web: web}.",
    )

    @field_validator("queues", mode="before")
    @classmethod
    def _split_queues(cls, value: Any) -> Any:
        return (
            [q.strip() for q in value.split(",") if q.strip()] if isinstance(value, str) else value
        )

    @field_validator("account_id", mode="before")
    @classmethod
    def _quoted_account_id(cls, value: Any) -> Any:
        if isinstance(value, int):
            raise ValueError("quote it ('012345678901'): YAML reads bare digits as a number")
        return value

    @field_validator("account_id")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        if value is not None and not (value.isdigit() and len(value) == 12):
            raise ValueError("an AWS account id is 12 digits")
        return value

    def name(self, role: str) -> str:
        """The name of the resource playing ``role`` (override, else the IaC convention)."""
        if role in self.names:
            return self.names[role]
        kind, _, key = role.partition(".")
        template = ROLE_NAMES.get(role) or (KIND_NAMES.get(kind) if key else None)
        if template is None:
            raise KeyError(f"no naming convention for role {role!r}")
        return template.format(p=self.project, key=key)

    def unknown_roles(self, env: EnvironmentSpec) -> list[str]:
        """Name overrides whose key the phase does not have (``subnet.publc-a``): a typo that
        would otherwise leave the override silently unused."""
        services = env.services
        keys: dict[str, set[str]] = {
            "subnet": set(env.network.subnets) if env.network else set(),
            "sg": set(env.security_groups.groups) if env.security_groups else set(),
            "ecr": set(services.container_images.value) if services else set(),
            "secret": set(services.secrets.value) if services else set(),
            "queue": set(self.queues),
            "dlq": set(self.queues),
            "ecs-service": set(env.ecs.services) if env.ecs else set(),
            "task": set(env.ecs.services) if env.ecs else set(),
            "dashboard": set(env.monitoring.dashboards.value) if env.monitoring else set(),
        }
        return [
            role
            for role in self.names
            if role not in ROLE_NAMES and role.partition(".")[2] not in keys[role.partition(".")[0]]
        ]


def load_inputs(
    path: Path | None, overrides: list[str], env: EnvironmentSpec | None = None
) -> Inputs:
    """Merge the inputs file and ``KEY=VALUE`` overrides; bad input is one clear UsageError
    naming the file and line, or the ``--input`` it came from. With ``env``, a name override
    for a role that phase does not have is refused too."""
    doc: YamlDocument | None = None
    data: dict[Any, Any] = {}
    if path is not None:
        doc = load_yaml(path, "--inputs")
        if doc.data is not None and not isinstance(doc.data, dict):
            raise UsageError(f"--inputs {path}: expected a mapping of input names to values")
        data.update(doc.data or {})
    given: dict[str, str] = {}  # input key (names.ROLE for a name) -> the --input that set it
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--input {shown(item)}: expected KEY=VALUE")
        if key == "names":
            raise UsageError(f"--input {shown(item)}: give each name as names.ROLE=NAME")
        given[key] = item
        if key.startswith("names."):
            names = data.get("names") or {}
            if not isinstance(names, dict):
                raise UsageError(
                    f"{_where(('names',), doc, given)}: names: expected a mapping of role to name"
                )
            data["names"] = {**names, key.removeprefix("names."): value}
        else:
            data[key] = value
    try:
        inputs = Inputs.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [f"{_where(e['loc'], doc, given)}: {problem(e)}" for e in errors[:MAX_PROBLEMS]]
        more = f"; and {len(errors) - MAX_PROBLEMS} more" if len(errors) > MAX_PROBLEMS else ""
        raise UsageError("; ".join(problems) + more) from None
    unknown = inputs.unknown_roles(env) if env is not None else []
    if unknown:
        kind, _, key = unknown[0].partition(".")
        raise UsageError(
            f"{_where(('names', unknown[0]), doc, given)}: {dotted(('names', unknown[0]))}: "
            f"this phase has no {kind} {shown(key)}"
        )
    return inputs


def _where(loc: tuple[int | str, ...], doc: YamlDocument | None, given: dict[str, str]) -> str:
    """Where an input came from: the ``--input`` that set it, else its file:line."""
    key = f"names.{loc[1]}" if len(loc) > 1 and loc[0] == "names" else str(loc[0]) if loc else ""
    if key in given:
        return f"--input {shown(given[key])}"
    return doc.where(loc) if doc is not None else "--input"
