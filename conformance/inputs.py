"""Deployment-specific values the document does not give, in the manner of InSpec inputs.

They come from ``--inputs FILE`` (YAML) and ``--input KEY=VALUE`` (repeatable, wins over the
file). Resource names default to the project's IaC convention and can each be overridden.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conformance.errors import UsageError
from conformance.yamlfile import load_yaml

DEFAULT_QUEUES = (
    "video-events",
    "video-status-events",
    "moderation-events",
    "search-moderation-events",
    "user-events",
    "user-video-events",
    "user-video-status-events",
)


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = "accountabilityatlas"
    domain: str = "accountabilityatlas.com"
    admin_cidr: IPv4Network | None = Field(
        default=None,
        description="Where SSH may come from. Unset: exactly one /32 host, never the world.",
    )
    account_id: str | None = None
    github_org: str = Field(
        default="AccountabilityAtlas",
        description="The GitHub owner whose workflows the deploy role may trust.",
    )
    queues: tuple[str, ...] = DEFAULT_QUEUES
    names: dict[str, str] = Field(
        default_factory=dict,
        description="Name overrides by role, e.g. {vpc: my-vpc, sg.ec2-web: web}.",
    )

    @field_validator("queues", mode="before")
    @classmethod
    def _split_queues(cls, value: Any) -> Any:
        return (
            [q.strip() for q in value.split(",") if q.strip()] if isinstance(value, str) else value
        )

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
        p = self.project
        defaults = {
            "vpc": f"{p}-vpc",
            "instance": f"{p}-app",
            "db": f"{p}-db",
            "alarm-topic": f"{p}-alarms",
            "bucket.backups": f"{p}-backups",
            "bucket.static-assets": f"{p}-static-assets",
            "bucket.tfstate": f"{p}-tfstate",
            "lock-table": "terraform-locks",
        }
        if role in defaults:
            return defaults[role]
        kind, _, key = role.partition(".")
        by_kind = {
            "subnet": f"{p}-{key}",
            "sg": f"{p}-{key}",
            "ecr": f"acct-atlas-{key}",
            "secret": f"{p}/{key}",
            "queue": f"{p}-{key}",
            "dlq": f"{p}-{key}-dlq",
        }
        if key and kind in by_kind:
            return by_kind[kind]
        raise KeyError(f"no naming convention for role {role!r}")


def load_inputs(path: Path | None, overrides: list[str]) -> Inputs:
    """Merge the inputs file and ``KEY=VALUE`` overrides; bad input is one clear UsageError."""
    data: dict[str, Any] = {}
    if path is not None:
        loaded = load_yaml(path, "--inputs") or {}
        if not isinstance(loaded, dict):
            raise UsageError(f"--inputs {path}: expected a mapping of input names to values")
        data.update(loaded)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--input {item!r}: expected KEY=VALUE")
        if key.startswith("names."):
            data.setdefault("names", {})[key.removeprefix("names.")] = value
        else:
            data[key] = value
    try:
        return Inputs.model_validate(data)
    except ValidationError as exc:
        source = f"--inputs {path} / --input" if path else "--input"
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise UsageError(f"{source}: {problems}") from None
