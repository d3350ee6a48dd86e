"""A fault-injection HTTP proxy for the suite's own tests, put in front of a moto server.

It forwards every request unchanged and, for the one service its current :class:`Fault` names,
answers as a struggling AWS would: throttled (a 400 with the protocol's throttling error, or a
bare 429), slow, cut off mid-response, with a truncated body, or AccessDenied. The service is
read from the SigV4 credential scope (``Credential=KEY/DATE/REGION/SERVICE/aws4_request``), so
the faults hit exactly what a real endpoint of that service would. Loopback only, bounded in
request size, threads and time; the fault can be switched between runs.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

FaultKind = Literal["throttle", "throttle-429", "delay", "cut", "malformed", "denied"]
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_CONNECTIONS = 32
UPSTREAM_TIMEOUT = 60
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)
CREDENTIAL_SCOPE = re.compile(
    r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/(?P<service>[^/,\s]+)/aws4_request"
)


@dataclass(frozen=True)
class Fault:
    """What to do to requests signed for ``service`` (its SigV4 signing name, e.g. ``logs``)."""

    service: str
    kind: FaultKind
    delay_seconds: float = 0.0


def signing_service(authorization: str | None) -> str | None:
    """The service a SigV4 ``Authorization`` header was signed for, or None if unsigned."""
    match = CREDENTIAL_SCOPE.search(authorization or "")
    return match["service"] if match else None


def error_body(service: str, json_protocol: bool, code: str, message: str) -> tuple[str, bytes]:
    """Content type and body of an AWS error in the protocol the request was made in."""
    if json_protocol:
        text = f'{{"__type": "{code}", "message": "{message}"}}'
        return "application/x-amz-json-1.1", text.encode()
    error = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    if service == "ec2":  # the EC2 protocol wraps errors in Response/Errors
        text = f"<Response><Errors>{error}</Errors><RequestID>fault-proxy</RequestID></Response>"
    else:  # query and rest-xml
        text = f"<ErrorResponse>{error}<RequestId>fault-proxy</RequestId></ErrorResponse>"
    return "text/xml", text.encode()


class FaultProxy(ThreadingHTTPServer):
    """Forwards to ``upstream``; applies :attr:`fault` to its service; counts what it saw."""

    daemon_threads = True
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port is None:
            raise ValueError(f"the fault proxy forwards to loopback only, not {upstream}")
        self.upstream = (parts.hostname, parts.port)
        self.fault: Fault | None = None
        self.requests: Counter[str] = Counter()  # requests seen, by signing service
        self.faulted: Counter[str] = Counter()  # requests the fault was applied to, by service
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), FaultHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def use(self, fault: Fault | None) -> None:
        """Apply ``fault`` from now on (None: forward everything), with fresh counters."""
        with self._lock:
            self.fault = fault
            self.requests.clear()
            self.faulted.clear()

    def count(self, service: str | None, faulted: bool) -> None:
        with self._lock:
            self.requests[service or "unsigned"] += 1
            if faulted and service is not None:
                self.faulted[service] += 1

    def process_request(self, request: Any, client_address: Any) -> None:
        """At most MAX_CONNECTIONS handler threads; a connection beyond waits, then is dropped."""
        if not self._slots.acquire(timeout=UPSTREAM_TIMEOUT):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    timeout = UPSTREAM_TIMEOUT
    server: FaultProxy

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_HEAD = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests assert on what the suite prints, not on the proxy's access log."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES or "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.send_error(413, "request too large for the fault proxy")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        service = signing_service(self.headers.get("Authorization"))
        fault = self.server.fault
        hit = fault is not None and service == fault.service
        self.server.count(service, hit)
        json_protocol = "X-Amz-Target" in self.headers
        if hit and fault is not None and service is not None:
            if fault.kind == "throttle":
                code = "ThrottlingException" if json_protocol else "Throttling"
                if service == "ec2":
                    code = "RequestLimitExceeded"
                self._answer(400, *error_body(service, json_protocol, code, "Rate exceeded"))
                return
            if fault.kind == "throttle-429":
                code = "TooManyRequestsException"
                self._answer(429, *error_body(service, json_protocol, code, "Too many requests"))
                return
            if fault.kind == "denied":
                code = "AccessDeniedException" if json_protocol else "AccessDenied"
                if service == "ec2":
                    code = "UnauthorizedOperation"
                message = "User: arn:aws:iam::123456789012:user/conformance is not authorized"
                self._answer(403, *error_body(service, json_protocol, code, message))
                return
            if fault.kind == "delay":
                time.sleep(fault.delay_seconds)
        status, headers, payload = self._forward(body)
        if hit and fault is not None and fault.kind == "malformed":
            self._answer(status, headers.get("Content-Type", ""), payload[: len(payload) // 2])
            return
        if hit and fault is not None and fault.kind == "cut":
            self._cut(status, headers, payload)
            return
        self._answer(status, headers.get("Content-Type", ""), payload, headers)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body or None, headers=forwarded)
            response = upstream.getresponse()
            payload = response.read()
            return response.status, dict(response.getheaders()), payload
        finally:
            upstream.close()

    def _answer(
        self,
        status: int,
        content_type: str,
        payload: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            if name.lower() not in HOP_BY_HOP | {"content-type", "date", "server"}:
                self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _cut(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        """Promise the whole body, send half of it, and drop the connection."""
        self.send_response(status)
        self.send_header("Content-Type", headers.get("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A running :class:`FaultProxy` in front of ``upstream``, stopped on exit."""
    proxy = FaultProxy(upstream)
    thread = threading.Thread(target=proxy.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=10)
