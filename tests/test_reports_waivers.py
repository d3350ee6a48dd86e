"""Waivers: a waived failure passes the gate through its expiry date and fails it after."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from conformance.checks import REGISTRY, Result, load_checks
from conformance.errors import UsageError
from conformance.reports.waivers import load_waivers
from tests.conftest import run_suite

CHECK = "sg.ec2_web.no_extra_ingress"
DRIFT = "sg-web-extra-port"  # opens 8080/tcp to the world: fails exactly CHECK


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(body)
    return path


def _waiver(expires: date, check: str = CHECK, zone: str | None = None) -> str:
    head = f"timezone: {zone}\n" if zone else ""
    return (
        f"{head}waivers:\n"
        f"  - check: {check!r}\n"
        "    reason: 8080 stays open for the load test\n"
        "    owner: platform-team\n"
        f"    expires: {expires.isoformat()}\n"
    )


def _failed() -> Result:
    load_checks()
    return Result(REGISTRY[CHECK], "failed")


@pytest.mark.parametrize(
    ("zone", "now", "outcome"),
    [
        # UTC unless stated: the waiver applies through the last second of its expiry date.
        (None, datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC), "waived"),
        (None, datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC), "failed"),
        # With a stated zone the date ends at midnight there: 03:59 UTC is still the 31st in
        # New York (EDT, UTC-4), 04:00 UTC is not.
        ("America/New_York", datetime(2026, 4, 1, 3, 59, 59, tzinfo=UTC), "waived"),
        ("America/New_York", datetime(2026, 4, 1, 4, 0, 0, tzinfo=UTC), "failed"),
    ],
)
def test_expiry_on_both_sides_of_the_date(
    tmp_path: Path, zone: str | None, now: datetime, outcome: str
) -> None:
    waivers = load_waivers(_file(tmp_path, _waiver(date(2026, 3, 31), zone=zone)), now=now)
    judged = waivers.apply(_failed())
    assert judged.outcome == outcome
    if outcome == "waived":
        assert judged.message.startswith("WAIVED until 2026-03-31")
        assert waivers.statuses(REGISTRY)[0].state == "applied"
    else:
        assert "EXPIRED on 2026-03-31" in judged.message
        assert "EXPIRED on 2026-03-31" in judged.describe()
        assert waivers.statuses(REGISTRY)[0].state == "expired"


def test_a_glob_pattern_waives_and_a_pattern_matching_nothing_is_reported(tmp_path: Path) -> None:
    body = _waiver(date(2099, 1, 1), check="sg.ec2_web.*") + (
        "  - {check: 'sg.no_such.*', reason: typo, owner: me, expires: 2099-01-01}\n"
    )
    waivers = load_waivers(_file(tmp_path, body))
    assert waivers.apply(_failed()).outcome == "waived"
    states = [s.state for s in waivers.statuses(REGISTRY)]
    assert states == ["applied", "unmatched"]


@pytest.mark.parametrize("missing", ["reason", "owner", "expires"])
def test_a_waiver_without_reason_owner_or_expiry_is_rejected(tmp_path: Path, missing: str) -> None:
    lines = [
        line
        for line in _waiver(date(2099, 1, 1)).splitlines()
        if not line.strip().startswith(missing)
    ]
    path = _file(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(UsageError, match=rf"waiver 1 \({CHECK}\): {missing}: Field required"):
        load_waivers(path)


def test_a_rejected_waiver_file_stops_the_run_with_exit_4(tmp_path: Path) -> None:
    path = _file(tmp_path, _waiver(date(2099, 1, 1)).replace("    owner: platform-team\n", ""))
    done = run_suite("-k", "net.vpc", f"--waivers={path}")
    assert done.returncode == 4
    expected = f"{path}:2: invalid waiver file: waiver 1 ({CHECK}): owner: Field required"
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_an_empty_reason_and_an_unknown_zone_are_rejected(tmp_path: Path) -> None:
    body = _waiver(date(2099, 1, 1), zone="Mars/Olympus").replace(
        "reason: 8080 stays open for the load test", "reason: ''"
    )
    with pytest.raises(UsageError) as raised:
        load_waivers(_file(tmp_path, body))
    assert "unknown time zone 'Mars/Olympus'" in str(raised.value)
    assert "reason: String should have at least 1 character" in str(raised.value)


def test_the_gate_passes_with_an_active_waiver_and_fails_once_it_expired(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    active = _file(tmp_path, _waiver(today))
    done = run_suite(
        "-v", "-k", "sg.", "--drift", DRIFT, f"--waivers={active}", f"--evidence={tmp_path / 'ev'}"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{CHECK} WAIVED" in done.stdout
    assert "1 waived" in done.stdout.splitlines()[-1]
    assert f"waived {CHECK}" in done.stdout
    evidence = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    result = next(r for r in evidence["results"] if r["id"] == CHECK)
    assert result["outcome"] == "waived"
    assert evidence["waivers"][0]["state"] == "applied"
    assert evidence["summary"]["waived"] == 1

    expired = tmp_path / "expired.yaml"
    expired.write_text(_waiver(today - timedelta(days=1)))
    done = run_suite("-k", "sg.", "--drift", DRIFT, f"--waivers={expired}")
    assert done.returncode == 1
    assert f"FAILED specs/checks/security_groups.py::{CHECK}" in done.stdout
    assert f"EXPIRED on {today - timedelta(days=1)} (UTC)" in done.stdout
    lines = done.stdout.splitlines()
    table = lines[lines.index(next(line for line in lines if "failures by area" in line)) + 1 :]
    assert table[0].split() == ["area", "failed", "error", "waived"]
    assert table[1].split() == ["sg", "1", "0", "0"]


def test_a_waiver_for_a_passing_check_is_reported_as_not_needed(tmp_path: Path) -> None:
    path = _file(tmp_path, _waiver(date(2099, 1, 1), check="net.vpc.*"))
    done = run_suite("-k", "net.vpc", f"--waivers={path}")
    assert done.returncode == 0
    assert "matches only passing checks (net.vpc.cidr): remove it" in done.stdout
