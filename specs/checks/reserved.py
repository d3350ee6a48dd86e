"""Phase 4's Reserved Instances: an active one-year reservation for each steady instance class of
production (the database, the cache nodes, the search nodes).

A reservation is a billing commitment of the account in a region, not a resource of an
environment: it has no tags and covers whichever matching instance runs, so the checks look for
one matching reservation among the account's, in production's run only (staging documents none).
Only an ``active`` reservation discounts anything (``payment-pending`` does not yet, ``retired``
no longer). The term is the reservation's Duration in seconds (AWS's year is 31,536,000 s).

An RDS reservation applies only to instances of its engine (ProductDescription ``postgresql``
for the ``postgres`` engine) and deployment: the check requires a Multi-AZ reservation where the
database is documented Multi-AZ, as production's is. (Size flexibility would also let two
Single-AZ reservations of the class cover one Multi-AZ instance; the table names one reservation
of db.r6g.large, read as one covering the documented instance.) The read replica and the
reservations' counts are not in the table, so not checked. ElastiCache and OpenSearch
reservations are matched on the node or instance type alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from conformance.checks import CheckContext, check
from conformance.inventory.reserved import (
    ElasticacheReservedInventory,
    OpensearchReservedInventory,
    RdsReservedInventory,
    Reservation,
)
from conformance.spec import EnvironmentSpec, ReservationSpec

YEAR_SECONDS = 31_536_000
ACTIVE = "active"
# The ProductDescription of an RDS reservation, by the engine name an instance reports.
RDS_PRODUCTS = {"postgres": "postgresql"}


def _reserving(
    kind: Literal["database", "cache", "search"],
) -> Callable[[EnvironmentSpec], ReservationSpec | None]:
    """The documented reservation of ``kind`` (database, cache, search)."""

    def area(env: EnvironmentSpec) -> ReservationSpec | None:
        return env.reserved.reservations.get(kind) if env.reserved is not None else None

    return area


def _shown(r: Reservation) -> str:
    years = r.duration_seconds / YEAR_SECONDS
    term = f"{years:g} year{'s' if years != 1 else ''}" if years else "no term"
    details = [term, r.state or "no state", f"x{r.count}"]
    if r.multi_az is not None:
        details.append("Multi-AZ" if r.multi_az else "Single-AZ")
    if r.product:
        details.append(r.product)
    return f"{r.id}: {r.instance} ({', '.join(details)})"


def _expect_reserved(
    ctx: CheckContext,
    spec: ReservationSpec,
    reservations: list[Reservation],
    covering: Callable[[Reservation], bool],
    wanted: str,
) -> None:
    """Two comparisons: an active reservation covering the documented instance (``covering``
    and ``wanted`` say what else it must match), then one of those with the documented term."""
    matching = [
        r
        for r in reservations
        if r.state == ACTIVE and r.instance == spec.instance.value and covering(r)
    ]
    ctx.expect(
        spec.instance,
        [_shown(r) for r in reservations] or "no reservation",
        subject="the account's reservations in the region",
        expected=f"an active reservation of {wanted}",
        ok=bool(matching),
    )
    if not matching:
        return
    seconds = spec.term_years.value * YEAR_SECONDS
    ctx.expect(
        spec.term_years,
        [_shown(r) for r in matching],
        subject=f"term of the active reservations of {spec.instance.value}",
        expected=f"{spec.term_years.value} year ({seconds} s)",
        ok=any(r.duration_seconds == seconds for r in matching),
    )


@check(
    "reserved.database",
    title="An active reservation of the documented term covers the database's instance class",
    area=_reserving("database"),
    severity="low",
    remediation="Purchase an RDS reserved DB instance of the documented class, term, engine and "
    "deployment (Multi-AZ for a Multi-AZ database) in the primary region.",
)
def database(ctx: CheckContext, spec: ReservationSpec) -> None:
    db = ctx.env.database
    multi_az = db.multi_az.value if db is not None else None
    product = RDS_PRODUCTS.get(db.engine.value, db.engine.value) if db is not None else None

    def covering(r: Reservation) -> bool:
        return (multi_az is None or r.multi_az == multi_az) and (
            product is None or r.product == product
        )

    deployment = {None: "", True: ", Multi-AZ", False: ", Single-AZ"}[multi_az]
    wanted = f"{spec.instance.value}{deployment}{f', {product}' if product else ''}"
    _expect_reserved(ctx, spec, ctx.get(RdsReservedInventory).reservations, covering, wanted)


@check(
    "reserved.cache",
    title="An active reservation of the documented term covers the cache's node type",
    area=_reserving("cache"),
    severity="low",
    remediation="Purchase ElastiCache reserved nodes of the documented node type and term in the "
    "primary region.",
)
def cache(ctx: CheckContext, spec: ReservationSpec) -> None:
    reservations = ctx.get(ElasticacheReservedInventory).reservations
    _expect_reserved(ctx, spec, reservations, lambda _r: True, spec.instance.value)


@check(
    "reserved.search",
    title="An active reservation of the documented term covers the search domain's instance type",
    area=_reserving("search"),
    severity="low",
    remediation="Purchase OpenSearch reserved instances of the documented instance type and term "
    "in the primary region.",
)
def search(ctx: CheckContext, spec: ReservationSpec) -> None:
    reservations = ctx.get(OpensearchReservedInventory).reservations
    _expect_reserved(ctx, spec, reservations, lambda _r: True, spec.instance.value)
