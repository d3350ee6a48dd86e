"""``--ssh-host``: the file checks read nginx.conf and the Compose file on the host over SSH.

A real OpenSSH server runs on loopback with its own config, keys and port in a temp dir
(``scripts/setup.d/ssh.sh`` installs it). The only change outside the temp dir is
``/run/sshd`` (sshd's privilege-separation directory), created if missing. The suite runs with
HOME pointing at a temp dir whose ``~/.ssh/known_hosts`` holds the server's key, so host-key
checking is exercised, not disabled, and with TMPDIR pointing at a temp dir of the test, so what
the run leaves behind there is seen.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conformance.errors import UsageError
from conformance.host.nginx import load_nginx
from conformance.host.ssh import COPY_PREFIX, MAX_DEPTH, SshHost, copy_directory, fetch
from fixtures.host import HostReference, replace
from tests.conftest import ROOT, free_port, run_suite
from tests.hostservers import certificate
from tests.test_host_files import NGINX_IDS

SSHD = Path("/usr/sbin/sshd")
CHECKS = ("specs/checks/host_nginx.py", "specs/checks/host_compose.py")
LIVE_CHECKS = "specs/checks/host_live.py"


@dataclass
class Sshd:
    port: int
    key: Path
    home: Path


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30
    )


def wait_listening(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until sshd listens on ``port`` (10 s at most); if it exits first, its log says why."""
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "sshd did not listen"
            time.sleep(0.1)


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
        wait_listening(server, port, tmp / "sshd.log")
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


# What --ssh-host copies from nginx_directory(), relative to it.
COPIED = {
    "nginx.conf",
    "conf.d/zones.conf",
    "snippets/tokens.conf",
    "mime.types",
    "docker-compose.prod.yml",
    ".env",
}


def nginx_directory(directory: Path) -> Path:
    """A remote nginx directory as deployed, returning its nginx.conf: the reference, with the
    rate zones moved to ``conf.d/*.conf`` (a relative glob) which includes a snippet by its
    absolute path, and ``include mime.types;`` (a plain file); the Compose file and a ``.env``.
    Beside them, what must never be copied: the TLS key and certificate (also named in a
    comment's include), a stray ``server.key``, notes, a dot file and a backup the glob does not
    match."""
    nginx, _ = remote_files(directory)
    text = nginx.read_text()
    zones = "".join(line for line in text.splitlines(True) if "limit_req_zone" in line)
    for sub in ("conf.d", "snippets", "ssl"):
        (directory / sub).mkdir()
    (directory / "conf.d" / "zones.conf").write_text(
        f"{zones}include {directory}/snippets/tokens.conf;\n"
    )
    (directory / "snippets" / "tokens.conf").write_text("server_tokens off;\n")
    (directory / "mime.types").write_text("types {\n    text/html html;\n}\n")
    includes = (
        "    # include ssl/privkey.pem;\n    include conf.d/*.conf;\n    include mime.types;\n"
    )
    nginx.write_text(replace(text, zones, includes))
    (directory / ".env").write_text("COMPOSE_PROJECT_NAME=atlas\n")
    certificate(directory / "ssl", ["accountabilityatlas.com"], 90)
    shutil.copy(directory / "ssl" / "privkey.pem", directory / "server.key")
    (directory / "notes.txt").write_text("rotate the key in May\n")
    (directory / "conf.d" / ".draft.conf").write_text("server_tokens on;\n")
    (directory / "conf.d" / "zones.conf.bak").write_text(zones)
    return nginx


def suite_env(sshd: Sshd, tmp_path: Path) -> dict[str, str]:
    """HOME with the sshd's known_hosts and config; TMPDIR private to the test (see copies)."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {"HOME": str(sshd.home), "TMPDIR": str(tmp_path / "tmp")}


def run(sshd: Sshd, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_suite(*args, env=suite_env(sshd, tmp_path))


def copies(tmp_path: Path) -> list[Path]:
    """The suite's copy directories in the test's TMPDIR."""
    return sorted((tmp_path / "tmp").glob(f"{COPY_PREFIX}*"))


def ssh_args(sshd: Sshd, nginx: Path) -> tuple[str, ...]:
    return (
        f"--ssh-host=root@127.0.0.1:{sshd.port}",
        f"--ssh-key={sshd.key}",
        f"--nginx-conf={nginx}",
    )


def outcomes(stdout: str) -> dict[str, str]:
    """check id -> PASSED/FAILED/… from ``-v`` lines like ``…::nginx.rate_zones PASSED``."""
    return dict(re.findall(r"::([a-z]+\.[a-z_]+) +(PASSED|FAILED|ERROR|SKIPPED)", stdout))


def test_remote_reference_files_pass(sshd: Sshd, tmp_path: Path) -> None:
    """The reference files, read from the "remote" host with the rate zones behind a glob
    include (which includes a file by its absolute remote path), pass every nginx and Compose
    check; the remote files are left byte-for-byte and mtime-for-mtime unchanged (read-only),
    and the local copy is gone when the run ends."""
    nginx = nginx_directory(tmp_path / "remote")
    files = sorted(p for p in (tmp_path / "remote").rglob("*") if p.is_file())
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in files]
    done = run(
        sshd,
        tmp_path,
        *ssh_args(sshd, nginx),
        f"--compose-file={nginx.parent / 'docker-compose.prod.yml'}",
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
    assert copies(tmp_path) == []


def test_remote_drift_fails_exactly_its_check(sshd: Sshd, tmp_path: Path) -> None:
    """A drifted remote nginx.conf fails only nginx.worker_connections; the host is reached
    through a ~/.ssh/config alias (no --ssh-key), so the config is honoured."""
    nginx, _ = remote_files(
        tmp_path / "remote", ("worker_connections 1024;", "worker_connections 512;")
    )
    done = run(sshd, tmp_path, "--ssh-host=ec2-test", f"--nginx-conf={nginx}", "-v", CHECKS[0])
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
            tmp_path,
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
    assert copies(tmp_path) == []


def test_a_usage_error_after_the_copy_leaves_no_copy(sshd: Sshd, tmp_path: Path) -> None:
    """An included file nginx cannot parse is found only once it is copied: one error line,
    exit 4, and the copy is removed all the same."""
    nginx = nginx_directory(tmp_path / "remote")
    (nginx.parent / "mime.types").write_text("types {\n    text/html html;\n")
    done = run(sshd, tmp_path, *ssh_args(sshd, nginx), CHECKS[0])
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert "mime.types:" in output and "Traceback" not in output
    assert copies(tmp_path) == []


@contextmanager
def silent_listener() -> Iterator[socket.socket]:
    """A loopback port that accepts connections and never answers: a host that hangs."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(120)
        yield silent


def address(listener: socket.socket) -> str:
    return "{}:{}".format(*listener.getsockname())


@contextmanager
def running_suite(sshd: Sshd, tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """The suite started as run_suite starts it, output in ``tmp_path/output``; killed by pid
    if the test leaves it running."""
    with (tmp_path / "output").open("w") as output:
        running = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **suite_env(sshd, tmp_path)},
        )
    try:
        yield running
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_run_leaves_no_copy(sshd: Sshd, tmp_path: Path, kill: signal.Signals) -> None:
    """The run is held mid-check by a TLS endpoint that accepts and never answers; its copy is
    then complete, and private: a 0700 directory of 0600 files, nginx.conf and what it includes
    only. SIGTERM removes it as the run ends; SIGKILL cannot, and the next run removes it."""
    nginx = nginx_directory(tmp_path / "remote")
    with silent_listener() as tls:
        args = (*ssh_args(sshd, nginx), f"--tls-endpoint={address(tls)}", LIVE_CHECKS)
        with running_suite(sshd, tmp_path, *args) as running:
            connection, _ = tls.accept()
            (copy,) = copies(tmp_path)
            mirror = copy / nginx.parent.relative_to("/")
            copied = {p.relative_to(mirror).as_posix() for p in copy.rglob("*") if p.is_file()}
            assert copied == COPIED - {"docker-compose.prod.yml", ".env"}
            assert stat.S_IMODE(copy.stat().st_mode) == 0o700
            for path in copy.rglob("*"):
                assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600)
            running.send_signal(kill)
            running.wait(timeout=60)
            connection.close()
    if kill == signal.SIGKILL:
        assert copies(tmp_path) == [copy]
        done = run(sshd, tmp_path, *ssh_args(sshd, nginx), CHECKS[0])
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert copies(tmp_path) == [], (tmp_path / "output").read_text()[-3000:]


def test_sigterm_before_the_checks_leaves_no_copy(sshd: Sshd, tmp_path: Path) -> None:
    """SIGTERM can come while the files are still being fetched (here: a host that accepts the
    connection and never sends its banner), before any check has started."""
    with silent_listener() as host:
        args = (f"--ssh-host=root@{address(host)}", f"--ssh-key={sshd.key}")
        with running_suite(sshd, tmp_path, *args, "--nginx-conf=/etc/nginx/nginx.conf") as running:
            connection, _ = host.accept()
            assert len(copies(tmp_path)) == 1
            running.send_signal(signal.SIGTERM)
            running.wait(timeout=60)
            connection.close()
    assert copies(tmp_path) == [], (tmp_path / "output").read_text()[-3000:]


@pytest.fixture
def copy(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process: HOME as the suite sees it, a private temp dir; a new copy directory."""
    monkeypatch.setenv("HOME", str(sshd.home))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return copy_directory()


def fetch_nginx(sshd: Sshd, nginx: Path, into: Path, compose: Path | None = None) -> Path | None:
    host = SshHost("127.0.0.1", "root", sshd.port)
    remote_compose = PurePosixPath(compose) if compose is not None else None
    return fetch(host, sshd.key, PurePosixPath(nginx), remote_compose, into)[0]


def test_only_nginx_conf_what_it_includes_and_compose_are_copied(
    sshd: Sshd, tmp_path: Path, copy: Path
) -> None:
    """Privately (0700 directories, 0600 files). The absolute include, and one through a
    directory the copy does not have, now point at the copy, on the same line: once the remote
    directory is gone (on loopback the remote path exists locally) the copy still parses, with
    the included rate zones, and line numbers are the remote ones."""
    nginx = nginx_directory(tmp_path / "remote")
    (nginx.parent / "modules").mkdir()  # nothing in it is included, so the copy has no modules/
    nginx.write_text(
        replace(nginx.read_text(), "include mime.types;", "include modules/../mime.types;")
    )
    local = fetch_nginx(sshd, nginx, copy, nginx.parent / "docker-compose.prod.yml")
    mirror = copy / nginx.parent.relative_to("/")
    assert local == mirror / "nginx.conf"
    assert {p.relative_to(mirror).as_posix() for p in copy.rglob("*") if p.is_file()} == COPIED
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700
    for path in copy.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    remote_lines = (nginx.parent / "conf.d" / "zones.conf").read_text().splitlines()
    shutil.rmtree(nginx.parent)
    local_lines = (mirror / "conf.d" / "zones.conf").read_text().splitlines()
    assert local_lines == [*remote_lines[:-1], "include snippets/tokens.conf;"]
    assert "    include mime.types;" in (mirror / "nginx.conf").read_text().splitlines()
    assert set(load_nginx(local).zones) == {"general", "auth"}


def der_certificate(directory: Path) -> bytes:
    pem = (directory / "ssl" / "fullchain.pem").read_bytes()
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("conf", "include"),
    [
        ("nginx.conf", "ssl/privkey.pem"),
        ("nginx.conf", "ssl/*"),
        ("nginx.conf", "tls.conf"),
        ("nginx.conf", "pasted.conf"),
        ("nginx.conf", "bundle.conf"),
        ("ssl/fullchain.pem", None),
    ],
    ids=["by name", "by glob", "by link", "PEM content", "DER content", "as --nginx-conf"],
)
def test_a_key_or_certificate_is_never_copied(
    sshd: Sshd, tmp_path: Path, copy: Path, conf: str, include: str | None
) -> None:
    """Whatever names it, and whatever it is named: nginx never includes one (ssl_certificate
    is not an include), so naming one is an error rather than a file on this machine."""
    nginx = nginx_directory(tmp_path / "remote")
    (nginx.parent / "tls.conf").symlink_to(nginx.parent / "ssl" / "privkey.pem")
    key = (nginx.parent / "ssl" / "privkey.pem").read_text()
    (nginx.parent / "pasted.conf").write_text(f"# the key, for safekeeping\n{key}")
    (nginx.parent / "bundle.conf").write_bytes(der_certificate(nginx.parent))
    if include is not None:
        nginx.write_text(
            replace(nginx.read_text(), "http {\n", f"http {{\n    include {include};\n")
        )
    with pytest.raises(UsageError, match="looks like a private key or certificate; not copied"):
        fetch_nginx(sshd, nginx.parent / conf, copy)
    copied = [p for p in copy.rglob("*") if p.is_file()]
    assert all(p.suffix not in (".pem", ".key") for p in copied)
    assert all(b"-----BEGIN" not in p.read_bytes() for p in copied)
    assert all(not p.read_bytes().startswith(b"0\x82") for p in copied)


@pytest.mark.parametrize(
    ("include", "message"),
    [
        ("missing.conf", "include {remote}/missing.conf: no such file"),
        ("conf.d", "include {remote}/conf.d: not a regular file"),
        ("/usr/share/nginx/modules/*.conf", "include /usr/share/nginx/modules/*.conf is outside"),
        ("../elsewhere.conf", "include ../elsewhere.conf is outside {remote};"),
        ("d1.conf", f"include d{MAX_DEPTH + 1}.conf: includes nested more than {MAX_DEPTH} deep"),
    ],
)
def test_an_include_that_cannot_be_copied_is_one_error_at_its_line(
    sshd: Sshd, tmp_path: Path, copy: Path, include: str, message: str
) -> None:
    nginx = nginx_directory(tmp_path / "remote")
    (tmp_path / "elsewhere.conf").write_text("server_tokens off;\n")
    for depth in range(1, MAX_DEPTH + 1):
        (nginx.parent / f"d{depth}.conf").write_text(f"include d{depth + 1}.conf;\n")
    (nginx.parent / f"d{MAX_DEPTH + 1}.conf").write_text("server_tokens off;\n")
    nginx.write_text(replace(nginx.read_text(), "http {\n", f"http {{\n    include {include};\n"))
    with pytest.raises(UsageError) as raised:
        fetch_nginx(sshd, nginx, copy)
    assert message.format(remote=nginx.parent) in str(raised.value)
    assert str(raised.value).startswith(f"--nginx-conf root@127.0.0.1:{sshd.port}:{nginx.parent}/")


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def test_copies_left_by_dead_runs_are_removed_and_only_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new copy directory first removes the copies of runs that are gone; a live run's copy,
    names that are not the suite's, files, and links (nor what they point at) are kept."""
    parent = tmp_path / "tmp"
    parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    dead = dead_pid()
    stale = parent / f"{COPY_PREFIX}{dead}-abc_12"
    (stale / "etc" / "nginx").mkdir(parents=True)
    (stale / "etc" / "nginx" / "nginx.conf").write_text("events {}\n")
    kept = [
        parent / f"{COPY_PREFIX}{os.getpid()}-live01",
        parent / f"{COPY_PREFIX}notapid",
        parent / f"other-{dead}-abc_12",
    ]
    for directory in kept:
        directory.mkdir()
    (parent / f"{COPY_PREFIX}{dead}-file01").write_text("x")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("x")
    (parent / f"{COPY_PREFIX}{dead}-link01").symlink_to(tmp_path / "elsewhere")
    new = copy_directory()
    assert not stale.exists()
    assert all(directory.is_dir() for directory in kept)
    assert (parent / f"{COPY_PREFIX}{dead}-file01").is_file()
    assert (parent / f"{COPY_PREFIX}{dead}-link01" / "keep.txt").is_file()
    assert new.parent == parent and new.name.startswith(f"{COPY_PREFIX}{os.getpid()}-")
    assert stat.S_IMODE(new.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_another_users_copy_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = tmp_path / "tmp"
    parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    theirs = parent / f"{COPY_PREFIX}{dead_pid()}-theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    copy_directory()
    assert theirs.is_dir()


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
