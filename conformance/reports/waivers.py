"""Waivers: accept a known deviation for a while without turning the gate off.

A waiver names a check id or a glob pattern within one area (``sg.*``; a pattern that could
match every check, like ``*``, is rejected), and must give a reason, an owner and an expiry
date; a waiver without any of them is rejected. A failing check that an active waiver
matches is reported WAIVED and does not fail the gate. A waiver applies through the end of its
expiry date in the file's ``timezone`` (UTC unless the file states one), and from then on the
check fails again and the report says the waiver expired. Waivers that match no check, or only
checks that pass, are reported so that stale ones get removed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from conformance.checks import Result
from conformance.errors import UsageError
from conformance.yamlfile import dotted, load_yaml, problem, shown

WaiverState = Literal["applied", "expired", "not needed", "unmatched"]


class Waiver(BaseModel):
    """One accepted deviation: which checks, why, who owns it, and until when."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    check: str = Field(min_length=1, description="A check id, or a glob pattern such as 'sg.*'.")
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date = Field(description="The last day the waiver applies (inclusive).")

    @field_validator("check")
    @classmethod
    def _narrow(cls, value: str) -> str:
        """The area (the id up to its first dot) is spelled out, so a waiver can never cover
        every check: ``sg.*`` is one area's checks, ``*`` or ``*.cidr`` would be all areas'."""
        area, dot, _ = value.partition(".")
        if not value.isprintable() or " " in value:
            raise ValueError(f"{shown(value)} is not a check id or pattern")
        if not dot or not area or any(c in area for c in "*?[]"):
            raise ValueError(
                f"{shown(value)} does not name a check or an area: write a check id or a "
                "pattern within one area, such as 'sg.*'"
            )
        return value

    @field_validator("expires", mode="before")
    @classmethod
    def _calendar_date(cls, value: Any) -> Any:
        if isinstance(value, int | float):  # pydantic would read a number as a Unix time
            raise ValueError(f"{shown(value)} is not a date (YYYY-MM-DD)")
        return value

    def matches(self, check_id: str) -> bool:
        return fnmatch.fnmatchcase(check_id, self.check)


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(default="UTC", description="IANA zone the expiry dates are in.")
    waivers: list[Waiver]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {shown(value)} (use an IANA name like UTC)"
            ) from None
        return value


@dataclass
class WaiverStatus:
    waiver: Waiver
    state: WaiverState
    checks: list[str] = field(default_factory=list)

    def describe(self, zone: str) -> str:
        w = self.waiver
        what = {
            "applied": f"waived {', '.join(self.checks)}",
            "expired": f"EXPIRED on {w.expires} ({zone}); {', '.join(self.checks)} fail again",
            "not needed": f"matches only passing checks ({', '.join(self.checks)}): remove it",
            "unmatched": "matches no check: fix the id or remove it",
        }[self.state]
        return f"{w.check} (owner {w.owner}, expires {w.expires} {zone}): {what}"

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.waiver.check,
            "reason": self.waiver.reason,
            "owner": self.waiver.owner,
            "expires": self.waiver.expires.isoformat(),
            "state": self.state,
            "checks": self.checks,
        }


@dataclass
class Waivers:
    """The waivers of one run, the clock they are judged by, and what each one did."""

    file: WaiverFile
    path: Path
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _applied: dict[int, set[str]] = field(default_factory=dict)
    _expired: dict[int, set[str]] = field(default_factory=dict)
    _passing: dict[int, set[str]] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.file.timezone)

    def active(self, waiver: Waiver) -> bool:
        """Through the last second of the expiry date in the file's zone (9999-12-31 too)."""
        return self.now.astimezone(self.zone).date() <= waiver.expires

    def apply(self, result: Result) -> Result:
        """The result as the gate sees it: a failure an active waiver matches becomes WAIVED."""
        matching = [(i, w) for i, w in enumerate(self.file.waivers) if w.matches(result.check.id)]
        if not matching:
            return result
        if result.outcome != "failed":
            for i, _ in matching:
                self._passing.setdefault(i, set()).add(result.check.id)
            return result
        for i, waiver in matching:
            if self.active(waiver):
                self._applied.setdefault(i, set()).add(result.check.id)
                return replace(
                    result,
                    outcome="waived",
                    message=f"WAIVED until {waiver.expires} ({self.file.timezone}) by "
                    f"{waiver.owner}: {waiver.reason}",
                )
        i, waiver = matching[0]
        for j, _ in matching:
            self._expired.setdefault(j, set()).add(result.check.id)
        return replace(
            result,
            message=f"waiver '{waiver.check}' EXPIRED on {waiver.expires} ({self.file.timezone}); "
            f"owner {waiver.owner}: {waiver.reason}",
        )

    def statuses(self, check_ids: Iterable[str]) -> list[WaiverStatus]:
        """What each waiver did in this run; ``check_ids`` are all the checks that exist."""
        known = list(check_ids)
        out = []
        for i, waiver in enumerate(self.file.waivers):
            if i in self._applied:
                out.append(WaiverStatus(waiver, "applied", sorted(self._applied[i])))
            elif i in self._expired:
                out.append(WaiverStatus(waiver, "expired", sorted(self._expired[i])))
            elif i in self._passing:
                out.append(WaiverStatus(waiver, "not needed", sorted(self._passing[i])))
            elif not any(waiver.matches(c) for c in known):
                out.append(WaiverStatus(waiver, "unmatched"))
        return out


def load_waivers(path: Path, now: datetime | None = None) -> Waivers:
    """Read and validate a waiver file; any problem is one clear :class:`UsageError`."""
    doc = load_yaml(path, "--waivers")
    try:
        parsed = WaiverFile.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = "; ".join(_located(doc.data, err) for err in errors)
        raise UsageError(
            f"{doc.where(errors[0]['loc'])}: invalid waiver file: {problems}"
        ) from None
    return Waivers(parsed, path, now or datetime.now(UTC))


def _located(raw: Any, error: ErrorDetails) -> str:
    """'waiver 2 (sg.*): reason: ...' for a problem in the second waiver."""
    loc = error["loc"]
    if len(loc) < 2 or loc[0] != "waivers" or not isinstance(loc[1], int):
        return problem(error)
    entries = raw.get("waivers") if isinstance(raw, dict) else None
    entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
    name = entry.get("check") if isinstance(entry, dict) else None
    label = f" ({dotted([name])})" if isinstance(name, str) and name else ""
    return f"waiver {loc[1] + 1}{label}: {problem(error, within=2)}"
