"""``--ssh-host``: the host's running state, read through pytest-testinfra.

Copying files (:mod:`conformance.host.ssh`) never runs a command; this module is the one place a
command runs on the host, over the same connection policy (``~/.ssh/config``, ``--ssh-key``,
``known_hosts`` enforced). Two users share one SSH connection:

- the suite's own checks run only the fixed, read-only commands of :data:`READ_ONLY_COMMANDS`
  (processes by name, cron tables, systemd timers, certbot's saved hooks) through
  :meth:`RemoteHost.read`; any other command is refused before it is sent;
- a team's own tests get testinfra's ``host`` fixture (:meth:`RemoteHost.testinfra`) bound to
  the same host; what those tests run is theirs.

Only what a check needs comes back: the agent's processes (``ps -C``, not every command line,
which may hold passwords), and the certbot lines of the cron tables and hook files.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from testinfra.backend.base import BaseBackend, CommandResult
from testinfra.host import Host

from conformance.errors import ConformanceError
from conformance.host import Unreachable
from conformance.host.ssh import TIMEOUT, SshHost, _connect

CERTBOT_TIMERS = ("certbot.timer", "certbot-renew.timer", "snap.certbot.renew.timer")
CERTBOT_SERVICES = tuple(t.removesuffix(".timer") + ".service" for t in CERTBOT_TIMERS)

# Every command the suite's checks may run on the host: read-only, fixed (no argument of ours
# or of the host is ever interpolated). ``grep -Hs`` prints only matching lines, prefixed with
# their file; ``-s`` keeps absent files quiet. A missing tool (no crontab, no systemd) is an
# answer ("none"), not an error.
READ_ONLY_COMMANDS = {
    # The CloudWatch agent's processes, selected by name: no other command line is read.
    "agent processes": "ps -C amazon-cloudwatch-agent -o args=",
    # certbot renewal scheduled by cron: the system tables and the login user's crontab.
    "cron tables": "grep -Hs -e certbot /etc/crontab /etc/cron.d/*",
    "user crontab": "crontab -l",
    # ... or by a systemd timer (Debian's certbot.timer, Fedora/Amazon Linux's
    # certbot-renew.timer, the snap's), and the service each one starts.
    "certbot timers": "systemctl show --property=Id,ActiveState,TimersCalendar "
    + " ".join(CERTBOT_TIMERS),
    "certbot services": "systemctl show --property=Id,ExecStart " + " ".join(CERTBOT_SERVICES),
    # Deploy hooks certbot keeps outside the scheduled command: saved with the certificate
    # (renew_hook) or in Fedora/Amazon Linux's /etc/sysconfig/certbot (DEPLOY_HOOK).
    "certbot hooks": "grep -Hs -e '^renew_hook' -e '^DEPLOY_HOOK' "
    "/etc/letsencrypt/renewal/*.conf /etc/sysconfig/certbot",
}
NOT_FOUND = 127  # the shell's "command not found"


class _SuiteConnection(BaseBackend):  # type: ignore[misc]  # testinfra ships no type hints
    """testinfra's backend over the suite's own SSH client: testinfra's paramiko backend would
    accept an unknown host key (WarningPolicy), which could make a spoofed host look conformant.
    A dropped connection is an error, never a silent reconnect with another policy."""

    NAME = "paramiko"

    def __init__(self, client: paramiko.SSHClient, target: SshHost) -> None:
        super().__init__(str(target))
        self.client = client

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        encoded = self.encode(self.get_command(command, *args))
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise Unreachable(f"--ssh-host {self.hostname}: the connection was closed")
        channel = transport.open_session(timeout=TIMEOUT)
        channel.settimeout(TIMEOUT * 3)
        channel.exec_command(encoded)
        stdout = b"".join(channel.makefile("rb"))
        stderr = b"".join(channel.makefile_stderr("rb"))
        return self.result(channel.recv_exit_status(), encoded, stdout, stderr)


@dataclass
class RemoteHost:
    """The host ``--ssh-host`` names, connected on first use, once."""

    target: SshHost
    key: Path | None = None
    ran: list[str] = field(default_factory=list)  # the suite's own commands, in order
    _client: paramiko.SSHClient | None = field(default=None, repr=False)
    _host: Host | None = field(default=None, repr=False)

    def testinfra(self) -> Host:
        """testinfra's ``Host`` on this host (the ``host`` fixture); connecting on first use."""
        if self._host is None:
            try:
                self._client, resolved = _connect(self.target, self.key)
            except ConformanceError as exc:
                raise Unreachable(str(exc)) from None
            backend = _SuiteConnection(self._client, resolved)
            self._host = Host(backend)
            backend.set_host(self._host)
        return self._host

    def read(self, name: str) -> CommandResult:
        """Run the allow-listed command ``name``; an exit status of 1 or 2 (nothing matched,
        no such file) or a missing tool is an answer for the caller to read, not an error."""
        command = READ_ONLY_COMMANDS[name]  # a KeyError: nothing else is ever sent
        self.ran.append(command)
        try:
            return self.testinfra().run(command)
        except (OSError, paramiko.SSHException) as exc:
            raise Unreachable(f"--ssh-host {self.target}: `{command}` failed: {exc}") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


# --- What the checks read -------------------------------------------------------------------


def agent_processes(remote: RemoteHost, executable: str) -> list[str]:
    """Command lines of the running processes whose executable is ``executable``."""
    found = remote.read("agent processes")
    lines = [line.strip() for line in found.stdout.splitlines() if line.strip()]
    return [line for line in lines if posixpath.basename(line.split()[0]) == executable]


@dataclass(frozen=True)
class Schedule:
    """One way certbot's renewal is started: a cron line or a systemd timer."""

    source: str  # "/etc/cron.d/certbot", "crontab -l", "certbot.timer"
    when: str  # the cron fields or the timer's calendar, as written
    runs_per_day: int  # 0: less often than daily, or never (an inactive timer)
    command: str

    def __str__(self) -> str:
        return f"{self.source}: {self.when} {self.command}"


def renewal_schedules(remote: RemoteHost, renew: str) -> tuple[list[Schedule], list[str]]:
    """Every cron line and systemd timer that runs ``renew`` (``certbot renew``), and the deploy
    hooks certbot keeps beside them (``renew_hook`` of a certificate, ``DEPLOY_HOOK``)."""
    schedules: list[Schedule] = []
    tables = remote.read("cron tables").stdout
    for line in tables.splitlines():
        path, _, entry = line.partition(":")
        cron = cron_entry(entry, renew, system=True)
        if cron is not None:
            schedules.append(Schedule(path, *cron))
    user = remote.read("user crontab")
    if user.rc == 0:
        for line in user.stdout.splitlines():
            cron = cron_entry(line, renew, system=False)
            if cron is not None:
                schedules.append(Schedule("crontab -l", *cron))
    schedules += [t for t in _timers(remote) if runs(t.command, renew)]
    hooks = remote.read("certbot hooks").stdout.splitlines()
    return schedules, [h.replace(":", ": ", 1) for h in hooks if h.strip()]


def _timers(remote: RemoteHost) -> list[Schedule]:
    """The certbot timers that are installed, with the command of the service each starts."""
    timers = remote.read("certbot timers")
    if timers.rc == NOT_FOUND:
        return []
    services = {
        unit["Id"]: unit.get("ExecStart", "")
        for unit in systemd_units(remote.read("certbot services").stdout)
    }
    found = []
    for unit in systemd_units(timers.stdout):
        calendar = unit.get("TimersCalendar", "")
        if unit.get("ActiveState") in (None, "inactive") and not calendar:
            continue  # not installed
        command = services.get(unit["Id"].removesuffix(".timer") + ".service", "")
        per_day = calendar_runs_per_day(calendar) if unit.get("ActiveState") == "active" else 0
        found.append(Schedule(unit["Id"], calendar or "no calendar", per_day, command))
    return found


def systemd_units(shown: str) -> list[dict[str, str]]:
    """``systemctl show`` of several units: blocks of ``Key=value`` separated by blank lines."""
    units = []
    for block in re.split(r"\n\s*\n", shown.strip()):
        unit = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" in unit:
            units.append(unit)
    return units


CRON_MACROS = {"@yearly": 0, "@annually": 0, "@monthly": 0, "@weekly": 0, "@daily": 1}
CRON_MACROS |= {"@midnight": 1, "@hourly": 24, "@reboot": 0}


def cron_entry(line: str, renew: str, *, system: bool) -> tuple[str, int, str] | None:
    """(schedule, runs per day, command) of a cron line that runs ``renew``; None for any
    other line. A system table (/etc/crontab, /etc/cron.d) has a user field before the
    command; a user's crontab has none."""
    line = line.strip()
    if not line or line.startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line):
        return None
    fields = line.split()
    if fields[0].startswith("@"):
        when, rest = fields[0], fields[1:]
        per_day = CRON_MACROS.get(when, 0)
    else:
        when, rest = " ".join(fields[:5]), fields[5:]
        per_day = cron_runs_per_day(fields[:5])
    command = " ".join(rest[1:] if system else rest)
    return (when, per_day, command) if runs(command, renew) else None


def runs(command: str, renew: str) -> bool:
    """Whether a shell command (or systemd's ExecStart) runs ``renew``: its program (by any
    path) and, after it, its subcommand, e.g. ``/usr/bin/certbot -q renew``."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: judge by the plain words
        words = command.split()
    program, *arguments = renew.split()
    return any(
        posixpath.basename(word) == program and set(arguments) <= set(words[i + 1 :])
        for i, word in enumerate(words)
    )


def cron_runs_per_day(fields: list[str]) -> int:
    """How many times a day five cron fields fire; 0 if not every day (a restricted day of
    month, month or weekday) or malformed."""
    if len(fields) != 5 or any(f != "*" for f in fields[2:]):
        return 0
    minutes, hours = _cron_values(fields[0], 0, 59), _cron_values(fields[1], 0, 23)
    return len(minutes) * len(hours)


def _cron_values(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            if not (first.isdigit() and last.isdigit()):
                return set()
            start, end = int(first), int(last)
        elif span.isdigit():  # one value, or with a step: from it to the end ("0/12")
            start, end = int(span), (high if step_text else int(span))
        else:
            return set()
        values |= {v for v in range(start, end + 1, step) if low <= v <= high}
    return values


def calendar_runs_per_day(calendar: str) -> int:
    """Runs a day of a systemd ``OnCalendar`` as ``systemctl show`` writes it
    (``{ OnCalendar=*-*-* 00,12:00:00 ; next_elapse=… }``): the hours times the minutes of a
    daily calendar; 0 for any other."""
    found = re.search(r"OnCalendar=([^;]+)", calendar)
    spec = (found[1] if found else calendar).strip()
    if spec == "daily":
        return 1
    if spec == "hourly":
        return 24
    daily = re.fullmatch(r"(?:\*-\*-\*\s+)?([0-9*/,.-]+):([0-9*/,.-]+)(?::[0-9*/,.]+)?", spec)
    if daily is None:
        return 0
    hours = _cron_values(daily[1].replace("..", "-"), 0, 23)
    minutes = _cron_values(daily[2].replace("..", "-"), 0, 59)
    return len(hours) * len(minutes)
