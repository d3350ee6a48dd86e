"""TLS over the wire: which protocol versions the server accepts, its certificate, the redirect.

No AGPL dependency: Python's ``ssl`` (OpenSSL 3) can still offer TLS 1.0 and 1.1 when the
client's security level is lowered to 0, so each version is tried with a handshake pinned to
it. OpenSSL 3 is built without SSL 3.0, so SSL 3.0 is probed with a raw SSL 3.0 ClientHello:
the server accepts it only if it answers with an SSL 3.0 ServerHello. See docs/host.md.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import struct
import warnings
from datetime import UTC, datetime

from pydantic import BaseModel

from conformance.host import Unreachable

TIMEOUT = 5.0
VERSIONS = {
    "TLSv1": "TLSv1",
    "TLSv1.1": "TLSv1_1",
    "TLSv1.2": "TLSv1_2",
    "TLSv1.3": "TLSv1_3",
}


class Certificate(BaseModel):
    names: list[str]
    not_after: str
    days_left: int


class TlsReport(BaseModel):
    endpoint: str
    protocols: dict[str, bool]
    certificate: Certificate


class HttpAnswer(BaseModel):
    status: int
    location: str | None


def split_endpoint(endpoint: str, default_port: int) -> tuple[str, int]:
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit():
        return endpoint, default_port
    return host.strip("[]"), int(port)


def probe(endpoint: str, server_name: str) -> TlsReport:
    """Try every protocol version against ``endpoint`` and read the certificate it serves."""
    host, port = split_endpoint(endpoint, 443)
    protocols = {"SSLv3": _accepts_sslv3(host, port)}
    for name in VERSIONS:
        protocols[name] = _accepts(host, port, server_name, name)
    return TlsReport(
        endpoint=endpoint, protocols=protocols, certificate=_certificate(host, port, server_name)
    )


def http_answer(endpoint: str, host_header: str) -> HttpAnswer:
    """The plain-HTTP answer to ``GET /`` (not followed), for the HTTPS redirect."""
    host, port = split_endpoint(endpoint, 80)
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/", headers={"Host": host_header})
        response = connection.getresponse()
        return HttpAnswer(status=response.status, location=response.getheader("Location"))
    except (OSError, http.client.HTTPException) as exc:
        raise Unreachable(f"http://{host}:{port}/: {exc!r}") from None
    finally:
        connection.close()


def _context(version: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the probe reads what is served; trust is not its job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pinned = getattr(ssl.TLSVersion, VERSIONS[version])
        context.minimum_version = pinned
        context.maximum_version = pinned
    if version in ("TLSv1", "TLSv1.1"):
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def _accepts(host: str, port: int, server_name: str, version: str) -> bool:
    try:
        with (
            _connect(host, port) as raw,
            _context(version).wrap_socket(raw, server_hostname=server_name),
        ):
            return True
    except (ssl.SSLError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
        return False
    except OSError as exc:
        raise Unreachable(f"{host}:{port}: {version} handshake: {exc}") from None


def _connect(host: str, port: int) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=TIMEOUT)
    except OSError as exc:
        raise Unreachable(f"{host}:{port}: {exc}") from None


def _accepts_sslv3(host: str, port: int) -> bool:
    """Send an SSL 3.0 ClientHello; accepted only if the server answers with an SSL 3.0 hello."""
    suites = (0x002F, 0x0035, 0x000A, 0x0005, 0x0004)
    body = (
        b"\x03\x00"
        + os.urandom(32)
        + b"\x00"
        + struct.pack(">H", 2 * len(suites))
        + b"".join(struct.pack(">H", s) for s in suites)
        + b"\x01\x00"
    )
    handshake = b"\x01" + struct.pack(">I", len(body))[1:] + body
    record = b"\x16\x03\x00" + struct.pack(">H", len(handshake)) + handshake
    with _connect(host, port) as sock:
        try:
            sock.sendall(record)
            answer = b""
            while len(answer) < 11:
                chunk = sock.recv(11 - len(answer))
                if not chunk:
                    break
                answer += chunk
        except OSError:
            return False
    return (
        len(answer) >= 11
        and answer[0] == 0x16
        and answer[5] == 0x02
        and answer[9:11] == b"\x03\x00"
    )


def _certificate(host: str, port: int, server_name: str) -> Certificate:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            _connect(host, port) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLError as exc:
        raise Unreachable(f"{host}:{port}: no TLS handshake ({exc.reason})") from None
    except OSError as exc:
        raise Unreachable(f"{host}:{port}: {exc}") from None
    if der is None:
        raise Unreachable(f"{host}:{port}: the server sent no certificate")
    from cryptography import x509  # ~0.1 s to import: only a run given --tls-endpoint pays it

    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = [str(n) for n in names.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        dns = []
    not_after = cert.not_valid_after_utc
    return Certificate(
        names=dns,
        not_after=not_after.isoformat(),
        days_left=(not_after - datetime.now(UTC)).days,
    )


def covers(names: list[str], host: str) -> bool:
    """Whether a certificate's DNS names cover ``host`` (a wildcard covers one label)."""
    host = host.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == host:
            return True
        if name.startswith("*.") and host.split(".", 1)[-1] == name[2:] and host.count(".") > 1:
            return True
    return False
