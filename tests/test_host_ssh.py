"""``--ssh-host``: the file checks read nginx.conf and the Compose file on the host over SSH.

A real OpenSSH server runs on loopback with its own config, keys and port in a temp dir
(``scripts/setup.d/ssh.sh`` installs it). The only change outside the temp dir is
``/run/sshd`` (sshd's privilege-separation directory), created if missing. The suite runs with
HOME pointing at a temp dir whose ``~/.ssh/known_hosts`` holds the server's key, so host-key
checking is exercised, not disabled.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from conformance.errors import UsageError
from conformance.host.ssh import SshHost, _localize_includes
from fixtures.host import HostReference, replace
from tests.conftest import free_port, run_suite
from tests.test_host_files import NGINX_IDS

SSHD = Path("/usr/sbin/sshd")
CHECKS = ("specs/checks/host_nginx.py", "specs/checks/host_compose.py")


@dataclass
class Sshd:
    port: int
    key: Path
    home: Path


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30
    )


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """sshd on 127.0.0.1:<free port>, accepting one client key for root; stopped by pid."""
    if not SSHD.exists():
        pytest.skip("sshd missing: run scripts/setup.d/ssh.sh")
    tmp = tmp_path_factory.mktemp("sshd")
    keygen(tmp / "host_key")
    keygen(tmp / "client_key")
    shutil.copy(tmp / "client_key.pub", tmp / "authorized_keys")
    port = free_port()
    (tmp / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp / 'host_key'}\n"
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nPidFile {tmp / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\n"
    )
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    host_key = (tmp / "host_key.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    # An alias, to prove ~/.ssh/config is honoured (HostName, Port, User, IdentityFile).
    (home / ".ssh" / "config").write_text(
        f"Host ec2-test\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
        f"  IdentityFile {tmp / 'client_key'}\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # the one system-wide change
    log = (tmp / "sshd.log").open("w")
    server = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(tmp / "sshd_config")], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (tmp / "sshd.log").read_text()
                assert time.monotonic() < deadline, "sshd did not listen"
                time.sleep(0.1)
        yield Sshd(port=port, key=tmp / "client_key", home=home)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def remote_files(directory: Path, drift: tuple[str, str] | None = None) -> tuple[Path, Path]:
    reference = HostReference.load()
    if drift is not None:
        reference.nginx_conf = replace(reference.nginx_conf, *drift)
    return reference.write(directory)


def run(sshd: Sshd, *args: str) -> subprocess.CompletedProcess[str]:
    return run_suite(*args, env={"HOME": str(sshd.home)})


def outcomes(stdout: str) -> dict[str, str]:
    """check id -> PASSED/FAILED/… from ``-v`` lines like ``…::nginx.rate_zones PASSED``."""
    return dict(re.findall(r"::([a-z]+\.[a-z_]+) +(PASSED|FAILED|ERROR|SKIPPED)", stdout))


def test_remote_reference_files_pass(sshd: Sshd, tmp_path: Path) -> None:
    """The reference files, read from the "remote" host, pass every nginx and Compose check;
    the rate zones live in a file included by its absolute remote path, so the directory is
    copied with it; the remote files are left byte-for-byte and mtime-for-mtime unchanged
    (read-only). On loopback the remote path also exists locally, so that the include reads the
    *copy* is proven by ``test_absolute_includes_point_at_the_copy``."""
    nginx, compose = remote_files(tmp_path / "remote")
    zones = "".join(line for line in nginx.read_text().splitlines(True) if "limit_req_zone" in line)
    (tmp_path / "remote" / "conf.d").mkdir()
    (tmp_path / "remote" / "conf.d" / "zones.conf").write_text(zones)
    included = f"    include {tmp_path / 'remote' / 'conf.d'}/*.conf;\n"
    nginx.write_text(replace(nginx.read_text(), zones, included))
    files = sorted(p for p in (tmp_path / "remote").rglob("*") if p.is_file())
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in files]
    done = run(
        sshd,
        f"--ssh-host=root@127.0.0.1:{sshd.port}",
        f"--ssh-key={sshd.key}",
        f"--nginx-conf={nginx}",
        f"--compose-file={compose}",
        "-v",
        *CHECKS,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    found = outcomes(done.stdout)
    assert set(found) >= NGINX_IDS
    assert len([i for i in found if i.startswith("compose.")]) >= 9
    assert set(found.values()) == {"PASSED"}
    assert sorted(p for p in (tmp_path / "remote").rglob("*") if p.is_file()) == files
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in files] == before


def test_remote_drift_fails_exactly_its_check(sshd: Sshd, tmp_path: Path) -> None:
    """A drifted remote nginx.conf fails only nginx.worker_connections; the host is reached
    through a ~/.ssh/config alias (no --ssh-key), so the config is honoured."""
    nginx, _ = remote_files(
        tmp_path / "remote", ("worker_connections 1024;", "worker_connections 512;")
    )
    done = run(sshd, "--ssh-host=ec2-test", f"--nginx-conf={nginx}", "-v", CHECKS[0])
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    failed = {i for i, outcome in outcomes(done.stdout).items() if outcome != "PASSED"}
    assert failed == {"nginx.worker_connections"}


@pytest.mark.parametrize("case", ["missing file", "closed port", "unknown host key"])
def test_unreachable_or_missing_is_one_clear_line(sshd: Sshd, tmp_path: Path, case: str) -> None:
    nginx, _ = remote_files(tmp_path / "remote")
    port = sshd.port
    expected = f"root@127.0.0.1:{port}"
    if case == "missing file":
        nginx = tmp_path / "nowhere" / "nginx.conf"
        expected = f"--nginx-conf root@127.0.0.1:{port}:{nginx}: no such file"
    elif case == "closed port":
        port = free_port()
        expected = f"--ssh-host root@127.0.0.1:{port}: cannot connect"
    else:
        (sshd.home / ".ssh" / "known_hosts").rename(tmp_path / "known_hosts")
        expected = f"--ssh-host root@127.0.0.1:{port}: host key unknown"
    try:
        done = run(
            sshd,
            f"--ssh-host=root@127.0.0.1:{port}",
            f"--ssh-key={sshd.key}",
            f"--nginx-conf={nginx}",
            CHECKS[0],
        )
    finally:
        if case == "unknown host key":
            (tmp_path / "known_hosts").rename(sshd.home / ".ssh" / "known_hosts")
    assert done.returncode in (4, 6), done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.strip()]
    assert len(errors) == 1 and expected in errors[0], output


def test_absolute_includes_point_at_the_copy(tmp_path: Path) -> None:
    """An absolute include under the remote directory is rewritten to the local mirror (else
    crossplane would read this machine's /etc/nginx); one outside it is a usage error."""
    copy = tmp_path / "etc" / "nginx"
    (copy / "conf.d").mkdir(parents=True)
    (copy / "nginx.conf").write_text("http {\n    include /etc/nginx/conf.d/*.conf;\n}\n")
    target = SshHost.parse("ec2-user@host:2222")
    _localize_includes(copy, PurePosixPath("/etc/nginx"), target)
    assert f"include {copy}/conf.d/*.conf;" in (copy / "nginx.conf").read_text()
    (copy / "conf.d" / "x.conf").write_text("include /usr/share/nginx/modules/*.conf;\n")
    with pytest.raises(UsageError, match="outside the copied directory"):
        _localize_includes(copy, PurePosixPath("/etc/nginx"), target)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("host", SshHost("host")),
        ("ec2-user@host", SshHost("host", "ec2-user")),
        ("ec2-user@10.0.0.5:2222", SshHost("10.0.0.5", "ec2-user", 2222)),
    ],
)
def test_ssh_host_syntax(text: str, parsed: SshHost) -> None:
    assert SshHost.parse(text) == parsed
    assert str(parsed) == text
    with pytest.raises(UsageError, match="expected"):
        SshHost.parse(f"{text}:port")
