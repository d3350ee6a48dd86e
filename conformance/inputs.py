"""Deployment-specific values the document does not give, in the manner of InSpec inputs.

They come from ``--inputs FILE`` (YAML) and ``--input KEY=VALUE`` (repeatable, wins over the
file). Resource names default to the project's IaC convention and can each be overridden.

From Phase 3 the document describes a staging environment beside production. Staging's
resources are named by the same convention under a prefix of their own (``{project}-staging``
unless ``staging.prefix`` says otherwise), its site answers on ``staging.{domain}`` (or
``staging.domain``), and ``staging.names`` overrides a name the way ``names`` does for
production. What the account holds once for both (the OpenTofu state bucket and lock table, the
ECR repositories the images are promoted through) keeps production's name in either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from ipaddress import IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
    # An OpenSearch domain name has 3-28 characters: "{p}-search" would be 34 for staging.
    "search": "{p}",
    # Phase 4: CodeDeploy's application (one per environment), the release pipeline and its
    # build project (one for both environments).
    "deploy-app": "{p}-deploy",
    "pipeline": "{p}-release",
    "build-project": "{p}-build",
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
    "deployment-group": "{p}-{key}",  # CodeDeploy's group of an ECS service
}
# Resources the account holds once for every environment: the state backend, the ECR
# repositories (an image is built once and promoted from staging to production), and the
# release pipeline that builds it and deploys both.
SHARED_ROLES = frozenset({"lock-table", "bucket.tfstate", "pipeline", "build-project"})
SHARED_KINDS = frozenset({"ecr"})
Environment = Literal["production", "staging"]
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


class StagingInputs(BaseModel):
    """How the staging environment's resources are named, where they differ from the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: Project | None = Field(
        default=None, description="Prefix of staging's names (default: {project}-staging)."
    )
    domain: Domain | None = Field(
        default=None, description="The staging site's domain (default: staging.{domain})."
    )
    names: dict[Role, ResourceName] = Field(
        default_factory=dict, description="Staging name overrides by role, as names."
    )


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
    staging: StagingInputs = Field(default_factory=StagingInputs)
    # Set by the run, never by the inputs file: the environment whose names name() gives, and
    # the environments one collection serves (--environment all: both).
    environment: Environment = "production"
    collecting: tuple[Environment, ...] = ("production",)

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
        """The name of the resource playing ``role`` in this environment (override, else the
        IaC convention under the environment's prefix)."""
        kind, _, key = role.partition(".")
        own = self.environment == "staging" and not _shared(role)
        names = self.staging.names if own else self.names
        if role in names:
            return names[role]
        template = ROLE_NAMES.get(role) or (KIND_NAMES.get(kind) if key else None)
        if template is None:
            raise KeyError(f"no naming convention for role {role!r}")
        return template.format(p=self.prefix if own else self.project, key=key)

    @property
    def prefix(self) -> str:
        """What this environment's resource names start with."""
        if self.environment == "staging":
            return self.staging.prefix or f"{self.project}-staging"
        return self.project

    def for_environment(self, environment: str) -> Inputs:
        """These inputs as the named environment reads them: its names and its domain."""
        if environment == self.environment:
            return self
        if environment not in ("production", "staging") or self.environment != "production":
            raise ValueError(f"no inputs for environment {environment!r} from {self.environment}")
        update: dict[str, Any] = {"environment": environment}
        if environment == "staging":
            update["domain"] = self.staging.domain or f"staging.{self.domain.rstrip('.')}"
        return self.model_copy(update=update)

    def collected(self, environments: tuple[Environment, ...]) -> Inputs:
        """Production's inputs for one collection serving ``environments`` (--environment all)."""
        return self.model_copy(update={"collecting": environments})

    def each_environment(self) -> Iterator[Inputs]:
        """The inputs of every environment this collection serves: a collector that asks for
        resources by name asks for each environment's."""
        for environment in self.collecting:
            yield self.for_environment(environment)

    @property
    def overrides(self) -> dict[str, str]:
        """This environment's name overrides by role."""
        return dict(self.staging.names if self.environment == "staging" else self.names)

    def shared(self, role: str) -> bool:
        """Whether the account holds the role's resource once for every environment; it is
        production's (its tags say prod), so a staging run does not claim it."""
        return _shared(role)

    def owns(self, name: str) -> bool:
        """Whether a resource named by the convention belongs to this environment: production's
        prefix also begins staging's names (accountabilityatlas-staging-db), so production's
        resources are those under its prefix that are not under staging's."""
        if not name.startswith(self.prefix):
            return False
        if self.environment == "staging":
            return True
        staging = self.for_environment("staging").prefix
        return not (name.startswith(staging) and staging.startswith(self.prefix))

    def unknown_roles(
        self, env: EnvironmentSpec, names: Mapping[str, str] | None = None
    ) -> list[str]:
        """Name overrides whose key the phase does not have (``subnet.publc-a``): a typo that
        would otherwise leave the override silently unused. ``names``: staging's overrides."""
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
            for role in (self.names if names is None else names)
            if role not in ROLE_NAMES and role.partition(".")[2] not in keys[role.partition(".")[0]]
        ]


def _shared(role: str) -> bool:
    return role in SHARED_ROLES or role.partition(".")[0] in SHARED_KINDS


RUN_CHOSEN = ("environment", "collecting")  # Inputs fields the run sets, never the inputs


def load_inputs(
    path: Path | None,
    overrides: list[str],
    env: EnvironmentSpec | None = None,
    staging: EnvironmentSpec | None = None,
) -> Inputs:
    """Merge the inputs file and ``KEY=VALUE`` overrides; bad input is one clear UsageError
    naming the file and line, or the ``--input`` it came from. With ``env`` (and ``staging``,
    when the phase has one), a name override for a role that environment does not have is
    refused too."""
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
        if key in ("names", "staging", "staging.names"):
            raise UsageError(f"--input {shown(item)}: give each name as {key}.ROLE=NAME")
        given[key] = item
        _set(data, _path(key), value, lambda loc: _where(loc, doc, given))
    for key in RUN_CHOSEN:
        if key in data:
            where = given.get(key) and f"--input {shown(given[key])}"
            raise UsageError(
                f"{where or _where((key,), doc, given)}: {key}: chosen by --environment, "
                "not an input"
            )
    try:
        inputs = Inputs.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [f"{_where(e['loc'], doc, given)}: {problem(e)}" for e in errors[:MAX_PROBLEMS]]
        more = f"; and {len(errors) - MAX_PROBLEMS} more" if len(errors) > MAX_PROBLEMS else ""
        raise UsageError("; ".join(problems) + more) from None
    checked = [
        (("names",), inputs.names, env),
        (("staging", "names"), inputs.staging.names, staging),
    ]
    for at, names, documented in checked:
        unknown = inputs.unknown_roles(documented, names) if documented is not None else []
        if unknown:
            kind, _, key = unknown[0].partition(".")
            loc = (*at, unknown[0])
            raise UsageError(
                f"{_where(loc, doc, given)}: {dotted(loc)}: this phase has no {kind} {shown(key)}"
            )
    return inputs


def _path(key: str) -> tuple[str, ...]:
    """An ``--input`` key as a path into the inputs: a role keeps its dots
    (``names.subnet.public-a``, ``staging.names.sg.alb``)."""
    for mapping in ("names.", "staging.names."):
        if key.startswith(mapping):
            return (*mapping.rstrip(".").split("."), key.removeprefix(mapping))
    return tuple(key.split(".", 1)) if key.startswith("staging.") else (key,)


def _set(data: dict[Any, Any], path: tuple[str, ...], value: str, where: Any) -> None:
    """Set ``value`` at ``path`` of the merged inputs, creating the mappings on the way."""
    node = data
    for depth, key in enumerate(path[:-1]):
        child = node.get(key) or {}
        if not isinstance(child, dict):
            loc = path[: depth + 1]
            raise UsageError(f"{where(loc)}: {dotted(loc)}: expected a mapping")
        node[key] = child = dict(child)
        node = child
    node[path[-1]] = value


def _where(loc: tuple[int | str, ...], doc: YamlDocument | None, given: dict[str, str]) -> str:
    """Where an input came from: the ``--input`` that set it, else its file:line."""
    parts = [str(part) for part in loc]
    for depth in range(len(parts), 0, -1):
        key = ".".join(parts[:depth])
        if key in given:
            return f"--input {shown(given[key])}"
    return doc.where(loc) if doc is not None else "--input"
