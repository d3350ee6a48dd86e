"""A bounded rate-limit probe: two short bursts at one path show its burst and its rate.

nginx's ``limit_req ... burst=B nodelay`` answers B+1 back-to-back requests and refuses the
rest (503 by default, 429 if configured) until tokens come back at the zone's rate. So a first
burst of B+1+extra requests shows the burst, and a second burst after a pause of ``pause``
seconds shows the rate (about rate × pause accepted). Opt-in only (--rate-limit-probe), for
loopback and test hosts only: it deliberately trips the limiter, which production users share.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time

from pydantic import BaseModel

from conformance.errors import UsageError
from conformance.host import Unreachable
from conformance.host.tls import TIMEOUT, split_endpoint

EXTRA = 5
PAUSE = 0.5
MAX_REQUESTS = 80
TEST_SUFFIXES = (".test", ".localhost", ".example", ".invalid")
REFUSED = frozenset({429, 503})


class Burst(BaseModel):
    sent: int
    accepted: int
    refused: int
    other: dict[int, int]
    seconds: float


class Probe(BaseModel):
    path: str
    first: Burst
    second: Burst
    pause: float


def allowed_host(endpoint: str) -> None:
    """Refuse to probe anything but loopback or a reserved test name (RFC 2606 / 6761)."""
    host, _ = split_endpoint(endpoint, 443)
    if host == "localhost" or host.endswith(TEST_SUFFIXES):
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        infos = []
    addresses = {ipaddress.ip_address(i[4][0]) for i in infos}
    if not addresses or not all(a.is_loopback for a in addresses):
        raise UsageError(
            f"--rate-limit-probe refuses {host}: it trips the rate limiter on purpose, so it runs "
            "against loopback or a test host (*.test, *.localhost) only, never production"
        )


def probe(endpoint: str, host_header: str, path: str, burst: int) -> Probe:
    """Two bursts of ``burst + 1 + EXTRA`` requests at ``path``, ``PAUSE`` seconds apart."""
    count = min(burst + 1 + EXTRA, MAX_REQUESTS // 2)
    first = _burst(endpoint, host_header, path, count)
    time.sleep(PAUSE)
    second = _burst(endpoint, host_header, path, count)
    return Probe(path=path, first=first, second=second, pause=PAUSE)


def _burst(endpoint: str, host_header: str, path: str, count: int) -> Burst:
    host, port = split_endpoint(endpoint, 443)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(host, port, timeout=TIMEOUT, context=context)
    statuses: list[int] = []
    started = time.monotonic()
    try:
        for _ in range(count):
            connection.request("GET", path, headers={"Host": host_header})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
    except (OSError, http.client.HTTPException) as exc:
        raise Unreachable(f"https://{host}:{port}{path}: {exc!r}") from None
    finally:
        connection.close()
    other: dict[int, int] = {}
    for status in statuses:
        if status >= 400 and status not in REFUSED:
            other[status] = other.get(status, 0) + 1
    return Burst(
        sent=count,
        accepted=sum(1 for s in statuses if s < 400),
        refused=sum(1 for s in statuses if s in REFUSED),
        other=other,
        seconds=round(time.monotonic() - started, 3),
    )
