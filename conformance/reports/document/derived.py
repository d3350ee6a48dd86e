"""Values the document states as a rule rather than a number, turned into the number the spec
holds, so that a change to either side (or to what the rule depends on) still fails."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from conformance.reports.document.spec_file import SpecFile, SpecMissing

# Memory (GiB) of the RDS instance classes the document names or may name next; RDS PostgreSQL's
# default max_connections is LEAST(DBInstanceClassMemory / 9531392, 5000).
DB_CLASS_MEMORY_GIB = {
    "db.t4g.micro": 1,
    "db.t3.micro": 1,
    "db.t3.small": 2,
    "db.t3.medium": 4,
    "db.t3.large": 8,
    "db.t4g.medium": 4,
    "db.t4g.large": 8,
    "db.m6g.large": 8,
    "db.r6g.large": 16,
    "db.r6g.xlarge": 32,
}
BYTES_PER_CONNECTION = 9531392
MAX_CONNECTIONS_CAP = 5000


def max_connections_share(spec: SpecFile, percent: Any) -> tuple[Any, str]:
    """ "> 80% max" connections: that share of the default max_connections of the environment's
    database instance class, rounded down."""
    keys = spec.env_path("database", "instance_class")
    try:
        instance_class = spec.value(keys)
    except SpecMissing:
        return percent, "no database instance class to take the maximum of"
    memory = DB_CLASS_MEMORY_GIB.get(str(instance_class))
    if memory is None or not isinstance(percent, int | float):
        return percent, f"max connections of {instance_class} unknown"
    maximum = min(memory * 2**30 // BYTES_PER_CONNECTION, MAX_CONNECTIONS_CAP)
    share = math.floor(maximum * percent / 100)
    return share, f"{percent:g}% of {maximum} max connections on {instance_class}"


DERIVED: dict[str, Callable[[SpecFile, Any], tuple[Any, str]]] = {
    "max_connections_share": max_connections_share,
}
