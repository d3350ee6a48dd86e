"""The resources an IaC reader found, in one form whatever it read (a plan's JSON, later the
configuration itself), with what is unknown until apply and what the configuration references."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Resources whose delete or replacement loses data: reported whatever the checks say.
STATEFUL_TYPES = frozenset({"aws_db_instance", "aws_s3_bucket", "aws_dynamodb_table"})


@dataclass(frozen=True)
class Target:
    """What a reference names: a resource instance, and the attribute read from it, if any."""

    address: str
    attribute: str | None


@dataclass(frozen=True)
class Resource:
    """One managed resource instance as it will be after apply."""

    address: str  # module.network.aws_subnet.this["public-a"]
    type: str
    values: Mapping[str, Any]  # planned values; sensitive ones already None
    unknown: Mapping[str, Any]  # after_unknown: True (or a structure holding True) per attribute
    # What each configured expression references, by its path in the values ("vpc_id",
    # "ingress.0.security_groups"), resolved to resource instances (through modules).
    references: Mapping[str, tuple[Target, ...]] = field(default_factory=dict)
    configured: frozenset[str] = frozenset()  # the top-level attributes the configuration sets

    def is_unknown(self, attribute: str) -> bool:
        """Whether any part of ``attribute`` is unknown until apply."""
        return holds_true(self.unknown.get(attribute))


@dataclass(frozen=True)
class StatefulChange:
    """A planned delete or replacement of a resource that holds data."""

    address: str
    type: str
    actions: tuple[str, ...]

    def finding(self) -> dict[str, Any]:
        verb = "replaced (deleted, then created)" if "create" in self.actions else "deleted"
        return {
            "address": self.address,
            "type": self.type,
            "actions": list(self.actions),
            "message": f"{self.address} is planned to be {verb}: the data it holds is lost "
            "unless restored from a backup",
        }


def holds_true(marks: Any) -> bool:
    """Whether an ``after_unknown`` (or sensitivity) structure marks any part True."""
    if isinstance(marks, dict):
        return any(holds_true(v) for v in marks.values())
    if isinstance(marks, list):
        return any(holds_true(v) for v in marks)
    return marks is True
