"""``--ssh-host``: the host's state through testinfra, and a team's own testinfra tests.

The host is a real OpenSSH server on loopback (as in tests/test_host_ssh.py) started in its own
mount and pid namespaces (``unshare``), so what its commands see is the test's: ``/etc/cron.d`` is
a temp dir holding the reference's (or a drift's) cron table, the places certbot and cron keep
other schedules are hidden behind empty ones, and ``ps`` sees only the namespace's processes —
among them, when the agent runs, a copy of ``sleep`` named ``amazon-cloudwatch-agent``. Nothing
is mocked: testinfra runs the suite's commands over SSH, and sshd's shell runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.evidence import verdict as evidence_verdict
from conformance.host import HostTargets
from conformance.host.ssh import SshHost
from conformance.host.state import (
    READ_ONLY_COMMANDS,
    RemoteHost,
    calendar_runs_per_day,
    cron_entry,
    cron_runs_per_day,
    systemd_units,
)
from fixtures.host import HostReference
from tests.conftest import free_port, run_suite
from tests.test_host_live import CATALOGUE, CHECKS, assert_fails_exactly, drifts_of, run_checks
from tests.test_host_live import reference as host_reference
from tests.test_host_ssh import SSHD, Sshd, keygen, outcomes, run, wait_listening

STATE_CHECKS = {c for c in CHECKS if CHECKS[c].module == "specs.checks.host_state"}
STATE_FILE = "specs/checks/host_state.py"
# What the sshd's commands must not see of this machine: each is covered by an empty one.
HIDDEN = ("/etc/crontab", "/var/spool/cron", "/etc/letsencrypt", "/etc/sysconfig", "/run/systemd")
AGENT = "opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent"
# sh -c SCRIPT sh CRON_D EMPTY_DIR EMPTY_FILE AGENT SSHD_CONFIG, run as pid 1 of the namespace.
NAMESPACE_SCRIPT = """set -e
mount --bind "$1" /etc/cron.d
for hidden in {hidden}; do
  if [ -d "$hidden" ]; then mount --bind "$2" "$hidden"
  elif [ -e "$hidden" ]; then mount --bind "$3" "$hidden"; fi
done
if [ -n "$4" ]; then "$4" infinity & fi
exec {sshd} -D -e -f "$5"
"""


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SSHD.exists():
        pytest.skip("sshd missing: run scripts/setup.d/ssh.sh")
    if (
        shutil.which("unshare") is None
        or subprocess.run(
            ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "true"], check=False
        ).returncode
    ):
        pytest.skip("unshare cannot make mount and pid namespaces here (needs root)")
    directory = tmp_path_factory.mktemp("keys")
    keygen(directory / "host_key")
    keygen(directory / "client_key")
    shutil.copy(directory / "client_key.pub", directory / "authorized_keys")
    return directory


@contextmanager
def state_host(ref: HostReference, keys: Path, tmp: Path) -> Iterator[Sshd]:
    """sshd on 127.0.0.1 whose commands see ``ref``'s cron table and, if it runs, the agent."""
    cron_d, empty = tmp / "cron.d", tmp / "empty"
    cron_d.mkdir(parents=True)
    empty.mkdir()
    (tmp / "empty-file").write_text("")
    for name, text in ref.cron_d.items():
        (cron_d / name).write_text(text)
    agent = ""
    if ref.cloudwatch_agent:
        (tmp / AGENT).parent.mkdir(parents=True)
        shutil.copy(shutil.which("sleep") or "/bin/sleep", tmp / AGENT)
        agent = str(tmp / AGENT)
    port = free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host_key'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPidFile none\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
    )
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    host_key = (keys / "host_key.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    script = NAMESPACE_SCRIPT.format(hidden=" ".join(HIDDEN), sshd=SSHD)
    log = (tmp / "sshd.log").open("w")
    server = subprocess.Popen(
        [
            *("unshare", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child"),
            *("sh", "-c", script, "sh", str(cron_d), str(empty), str(tmp / "empty-file")),
            *(agent, str(config)),
        ],
        stdout=log,
        stderr=log,
    )
    try:
        wait_listening(server, port, tmp / "sshd.log")
        yield Sshd(port=port, key=keys / "client_key", home=home)
    finally:
        # unshare --fork ignores SIGTERM while it waits: stop the namespace's pid 1 (sshd), its
        # child; the kernel then ends everything else in the namespace, and unshare exits.
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        for child in children.read_text().split() if server.poll() is None else []:
            os.kill(int(child), signal.SIGTERM)
        server.wait(timeout=10)
        log.close()


def remote(sshd: Sshd) -> RemoteHost:
    return RemoteHost(SshHost("127.0.0.1", "root", sshd.port), sshd.key)


# --- The checks against the host: the reference passes, each drift fails exactly its check ---


@pytest.mark.parametrize("drift_id", [None, *drifts_of(STATE_CHECKS)])
def test_host_state(
    drift_id: str | None, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with state_host(host_reference(drift_id), keys, tmp_path) as sshd:
        monkeypatch.setenv("HOME", str(sshd.home))  # known_hosts: the host key is checked
        host = remote(sshd)
        try:
            results = run_checks(HostTargets(remote=host), STATE_CHECKS)
        finally:
            host.close()
    killed = set(CATALOGUE[drift_id].kills) if drift_id else set()
    assert_fails_exactly(results, killed)
    assert set(host.ran) <= set(READ_ONLY_COMMANDS.values())
    agent = results["host.cloudwatch_agent"].comparisons[0]
    assert agent.section.endswith("> Monitoring")
    scheduled, hook = results["host.certbot_renewal"].comparisons
    assert str(scheduled.actual).startswith("/etc/cron.d/certbot: 0 0")
    assert scheduled.subject.endswith(
        f"(times a day: {1 if drift_id == 'host-certbot-daily' else 2})"
    )
    assert hook.ok == (drift_id != "host-certbot-without-deploy-hook"), hook
    if drift_id == "host-cloudwatch-agent-stopped":
        assert agent.actual == "not running"
    elif drift_id is None:
        assert str(agent.actual).endswith(f"/{AGENT} infinity")


def test_an_unknown_host_key_is_refused(
    keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """testinfra's own paramiko backend would accept any host key; the suite's does not."""
    with state_host(HostReference.load(), keys, tmp_path) as sshd:
        (sshd.home / ".ssh" / "known_hosts").write_text("")
        monkeypatch.setenv("HOME", str(sshd.home))
        results = run_checks(HostTargets(remote=remote(sshd)), STATE_CHECKS)
    for result in results.values():
        assert result.outcome == "error", result.describe()
        assert "host key unknown" in result.message


def test_only_allow_listed_commands_are_sent() -> None:
    host = RemoteHost(SshHost("127.0.0.1", "root", free_port()))
    with pytest.raises(KeyError):
        host.read("rm -rf /")
    assert host.ran == [] and host._client is None  # refused before connecting


# --- In the gate: the checks and a team's own testinfra tests, one run, one evidence ---------

TEAM_TESTS = """
def test_certbot_cron_file(host):
    assert host.file("/etc/cron.d/certbot").contains("certbot renew")


def test_nginx_runs_on_the_host(host):
    assert host.process.filter(comm="nginx"), "no nginx process"
"""


def test_team_tests_run_beside_the_checks_and_land_in_the_evidence(
    keys: Path, tmp_path: Path
) -> None:
    team = tmp_path / "team" / "test_team_host.py"
    team.parent.mkdir()
    team.write_text(TEAM_TESTS)
    cron = (tmp_path / "host" / "cron.d" / "certbot").resolve()
    with state_host(HostReference.load(), keys, tmp_path / "host") as sshd:
        before = (cron.read_bytes(), cron.stat().st_mtime_ns)
        done = run(
            sshd,
            tmp_path,
            f"--ssh-host=root@127.0.0.1:{sshd.port}",
            f"--ssh-key={sshd.key}",
            f"--evidence={tmp_path / 'out'}",
            "-v",
            STATE_FILE,
            str(team),
        )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr  # the team's failing test
    assert outcomes(done.stdout) == {
        "host.cloudwatch_agent": "PASSED",
        "host.certbot_renewal": "PASSED",
    }
    assert (cron.read_bytes(), cron.stat().st_mtime_ns) == before  # read, never written
    evidence = json.loads((tmp_path / "out" / "evidence.json").read_text())
    own = {e["test"].rpartition("::")[2]: e for e in evidence["own_tests"]}
    assert own["test_certbot_cron_file"]["outcome"] == "passed"
    assert own["test_nginx_runs_on_the_host"]["outcome"] == "failed"
    assert "no nginx process" in own["test_nginx_runs_on_the_host"]["message"]
    assert {r["id"]: r["outcome"] for r in evidence["results"]} == {
        "host.cloudwatch_agent": "passed",
        "host.certbot_renewal": "passed",
    }
    # The exit code, the evidence's verdict and the summary agree: the team's test failed.
    assert evidence_verdict(evidence) == "not conformant"
    assert "verdict: not conformant" in done.stdout


def test_without_ssh_host_the_host_fixture_and_checks_skip_saying_why(tmp_path: Path) -> None:
    team = tmp_path / "test_team_host.py"
    team.write_text(TEAM_TESTS)
    done = run_suite("-rs", f"--evidence={tmp_path / 'out'}", STATE_FILE, str(team))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "4 skipped" in done.stdout, done.stdout
    evidence = json.loads((tmp_path / "out" / "evidence.json").read_text())
    assert {e["outcome"] for e in evidence["own_tests"]} == {"skipped"}
    assert "--ssh-host not given" in evidence["own_tests"][0]["message"]


def test_testinfra_own_host_options_do_not_mix_with_ssh_host() -> None:
    done = run_suite("--ssh-host=ec2-test", "--hosts=ssh://other", STATE_FILE)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr
    assert "--ssh-host and testinfra's --hosts: give one of them" in done.stderr


# --- Reading cron tables and systemd timers --------------------------------------------------


@pytest.mark.parametrize(
    ("line", "system", "expected"),
    [
        (
            '0 0,12 * * * root certbot renew --quiet --deploy-hook "docker compose restart nginx"',
            True,
            2,
        ),
        # Debian's /etc/cron.d/certbot (a no-op where systemd runs its timer instead)
        (
            "0 */12 * * * root test -x /usr/bin/certbot -a \\! -d /run/systemd/system && "
            "perl -e 'sleep int(rand(43200))' && certbot -q renew --no-random-sleep-on-renew",
            True,
            2,
        ),
        ("@daily /usr/local/bin/certbot renew", False, 1),
        ("30 3 * * 1 certbot renew", False, 0),  # weekly
        ("0 0,12 * * * root certbot certificates", True, None),  # not a renewal
        ("# 0 0,12 * * * root certbot renew", True, None),
        ("MAILTO=root", True, None),
    ],
)
def test_cron_lines(line: str, system: bool, expected: int | None) -> None:
    entry = cron_entry(line, "certbot renew", system=system)
    assert (entry[1] if entry else None) == expected


def test_schedules_per_day() -> None:
    assert cron_runs_per_day(["0", "0,12", "*", "*", "*"]) == 2
    assert cron_runs_per_day(["*/30", "1-2", "*", "*", "*"]) == 4
    assert cron_runs_per_day(["0", "0", "1", "*", "*"]) == 0
    assert calendar_runs_per_day("{ OnCalendar=*-*-* 00,12:00:00 ; next_elapse=n/a }") == 2
    assert calendar_runs_per_day("{ OnCalendar=*-*-* 00/12:00:00 ; next_elapse=n/a }") == 2
    assert calendar_runs_per_day("{ OnCalendar=daily ; next_elapse=n/a }") == 1
    assert calendar_runs_per_day("{ OnCalendar=Mon *-*-* 00:00:00 ; next_elapse=n/a }") == 0
    shown = "Id=certbot.timer\nActiveState=active\n\nId=certbot-renew.timer\nActiveState=inactive\n"
    assert [u["Id"] for u in systemd_units(shown)] == ["certbot.timer", "certbot-renew.timer"]
