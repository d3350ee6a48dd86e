"""Real servers on loopback for the host-layer tests: started in temp dirs, stopped by pid.

nginx serves the reference nginx.conf (ports, certificate and upstream hosts rewritten to
loopback), Redis runs with the reference flags, PostgreSQL 15 with PostGIS, and a Docker engine
runs busybox containers with the documented limits. Nothing here is a stand-in for the server.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures.host import HostReference
from tests.conftest import free_port

START_TIMEOUT = 20.0


def wait_for(ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not become ready in {timeout:.0f}s")


def listening(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    return ready


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def certificate(directory: Path, names: list[str], days: int) -> tuple[Path, Path]:
    """A self-signed certificate for ``names`` that expires in ``days`` days."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days, hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    chain, private = directory / "fullchain.pem", directory / "privkey.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return chain, private


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def stub_upstream() -> Iterator[int]:
    """An HTTP server answering 200 to everything: the api-gateway / web-app stand-in upstream."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def nginx(reference: HostReference, directory: Path, upstream: int) -> Iterator[tuple[int, int]]:
    """nginx serving ``reference.nginx_conf`` on loopback; yields (https port, http port)."""
    directory.mkdir(parents=True, exist_ok=True)
    chain, key = certificate(directory, reference.certificate_names, reference.certificate_days)
    https, http = free_port(), free_port()
    live = "/etc/letsencrypt/live/accountabilityatlas.com/"
    conf = (
        reference.nginx_conf.replace("listen 80;", f"listen 127.0.0.1:{http};")
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;")
        .replace(f"{live}fullchain.pem", str(chain))
        .replace(f"{live}privkey.pem", str(key))
        .replace("server api-gateway:8080;", f"server 127.0.0.1:{upstream};")
        .replace("server web-app:3000;", f"server 127.0.0.1:{upstream};")
    )
    temp = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", f"http {{\n    access_log off;\n{temp}", 1)
    path = directory / "nginx.conf"
    path.write_text(conf)
    globals_ = f"daemon off; pid {directory / 'nginx.pid'}; error_log {directory / 'error.log'};"
    process = subprocess.Popen(
        ["nginx", "-c", str(path), "-p", str(directory), "-g", globals_],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: process.poll() is not None or listening(https)(), "nginx")
        if process.poll() is not None:
            raise RuntimeError(
                f"nginx exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        yield https, http
    finally:
        stop(process, signal.SIGQUIT)


@contextmanager
def redis(args: list[str], directory: Path) -> Iterator[str]:
    """redis-server with ``args`` on loopback, data in ``directory``; yields its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(directory),
            "--daemonize",
            "no",
            "--logfile",
            "",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(listening(port), "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_SHARE = Path("/usr/share/postgresql/15")
PG_LIB = Path("/usr/lib/postgresql/15/lib")
TEMPORAL_TABLES_CONTROL = """\
# A local build of the extension named temporal_tables (test fixture, SQL-only)
comment = 'temporal tables (test build: versioning() trigger function)'
default_version = '1.2.2'
relocatable = true
"""
TEMPORAL_TABLES_SQL = """\
CREATE FUNCTION versioning() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEW;
END $$;
"""


@contextmanager
def postgres() -> Iterator[int]:
    """PostgreSQL 15 on loopback from a private installation tree; yields its port.

    Debian has no temporal_tables package, and PostgreSQL 15 only loads extensions from its
    share directory. So the server binary runs from a private tree (PostgreSQL finds its share
    and lib directories relative to its own binary) whose share directory mirrors the system's
    plus a small SQL-only extension named temporal_tables; PostGIS is the real package.
    """
    # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="conformance-pg-"))
    directory.chmod(0o755)
    try:
        with _postgres(directory) as port:
            yield port
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _postgres(directory: Path) -> Iterator[int]:
    tree = directory / "install"
    bin_dir = tree / "lib/postgresql/15/bin"
    bin_dir.mkdir(parents=True)
    shutil.copy2(PG_BIN / "postgres", bin_dir / "postgres")
    (tree / "lib/postgresql/15/lib").symlink_to(PG_LIB)
    share = tree / "share/postgresql/15"
    share.mkdir(parents=True)
    for entry in PG_SHARE.iterdir():
        if entry.name != "extension":
            (share / entry.name).symlink_to(entry)
    extensions = share / "extension"
    extensions.mkdir()
    for entry in (PG_SHARE / "extension").iterdir():
        (extensions / entry.name).symlink_to(entry)
    (extensions / "temporal_tables.control").write_text(TEMPORAL_TABLES_CONTROL)
    (extensions / "temporal_tables--1.2.2.sql").write_text(TEMPORAL_TABLES_SQL)
    data = directory / "data"
    # As root, the server runs as postgres (it refuses root); the process is the server itself.
    user = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
    if user:
        shutil.chown(directory, "postgres")
        for path in (directory, *directory.rglob("*")):
            if not path.is_symlink():
                shutil.chown(path, "postgres")
    subprocess.run(
        [
            str(PG_BIN / "initdb"),
            "-N",
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-L",
            str(share),
        ],
        check=True,
        capture_output=True,
        **user,  # type: ignore[call-overload]
    )
    port = free_port()
    process = subprocess.Popen(
        [
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-k",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **user,  # type: ignore[call-overload]
    )
    try:
        wait_for(_accepts_sessions(port), "postgres")
        yield port
    finally:
        stop(process, signal.SIGINT)


def _accepts_sessions(port: int) -> Callable[[], bool]:
    """Ready once a session opens: the port listens before recovery has finished."""
    import psycopg

    def ready() -> bool:
        try:
            with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres"):
                return True
        except psycopg.OperationalError:
            return False

    return ready


BUSYBOX = Path("/bin/busybox")
IMAGE = "local/busybox:conformance"


@contextmanager
def docker_engine() -> Iterator[str]:
    """dockerd in a temp dir (no iptables, no bridge) with a busybox image; yields its URL."""
    import docker

    directory = Path(tempfile.mkdtemp(prefix="conformance-docker-"))
    socket_path = directory / "docker.sock"
    log = (directory / "dockerd.log").open("wb")
    process = subprocess.Popen(
        [
            "dockerd",
            "--host",
            f"unix://{socket_path}",
            "--data-root",
            str(directory / "data"),
            "--exec-root",
            str(directory / "exec"),
            "--pidfile",
            str(directory / "docker.pid"),
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"unix://{socket_path}"
    try:
        wait_for(lambda: process.poll() is not None or _pings(url), "dockerd", 60)
        if process.poll() is not None:
            raise RuntimeError((directory / "dockerd.log").read_text()[-2000:])
        client = docker.DockerClient(base_url=url, timeout=30)
        client.api.import_image_from_data(
            _busybox_tar(), repository=IMAGE.split(":")[0], tag=IMAGE.split(":")[1]
        )
        try:
            yield url
        finally:
            for container in client.containers.list(all=True):
                container.remove(force=True)  # sleep as pid 1 ignores SIGTERM: don't wait 10 s
            client.close()
    finally:
        stop(process)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


def _pings(url: str) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=url, timeout=2)
    except docker.errors.DockerException:
        return False
    client.close()
    return True


def _busybox_tar() -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(BUSYBOX, arcname="bin/busybox")
        for tool in ("sh", "sleep"):
            link = tarfile.TarInfo(f"bin/{tool}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    return buffer.getvalue()


def run_containers(url: str, reference: HostReference) -> None:
    """(Re)create one sleeping container per service with the reference's limits and policy."""
    import docker

    client = docker.DockerClient(base_url=url, timeout=30)
    try:
        existing = {c.name: c for c in client.containers.list(all=True)}
        for service, spec in reference.containers.items():
            name = f"atlas-{service}-1"
            wanted = (round(spec.cpus * 1e9), spec.memory_mb * 1024 * 1024, spec.restart)
            if name in existing:
                host = existing[name].attrs["HostConfig"]
                if (host["NanoCpus"], host["Memory"], host["RestartPolicy"]["Name"]) == wanted:
                    continue
                existing[name].remove(force=True)
            client.containers.run(
                IMAGE,
                ["/bin/sleep", "600"],
                detach=True,
                name=name,
                labels={"com.docker.compose.service": service},
                nano_cpus=round(spec.cpus * 1e9),
                mem_limit=f"{spec.memory_mb}m",
                restart_policy={"Name": spec.restart},
                network_mode="none",
            )
    finally:
        client.close()
