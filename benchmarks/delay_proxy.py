"""A loopback HTTP proxy that adds a fixed latency to every request, for the latency benchmark.

Live AWS answers in tens to hundreds of milliseconds; a moto server on loopback in about one.
Put in front of a moto server, this proxy makes each request wait ``delay`` seconds before it is
forwarded unchanged, so a run pays for its calls as it would against AWS: one after another, the
sum of their latencies; concurrently, about the longest chain of them. It listens on 127.0.0.1
only, forwards to a loopback upstream only, and counts the requests it delayed.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_CONNECTIONS = 64  # handler threads at once; the suite's pool is far smaller
UPSTREAM_TIMEOUT = 60
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DelayProxy(ThreadingHTTPServer):
    """Forwards every request to ``upstream`` after ``delay`` seconds."""

    daemon_threads = True
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, upstream: str, delay: float) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in LOOPBACK or parts.port is None:
            raise ValueError(f"the delay proxy forwards to loopback only, not {upstream}")
        self.upstream = (parts.hostname, parts.port)
        self.delay = delay
        self.requests = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(("127.0.0.1", 0), DelayHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def counted(self) -> None:
        with self._lock:
            self.requests += 1

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


class DelayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    timeout = UPSTREAM_TIMEOUT
    # Headers and body leave in two writes: with Nagle's algorithm the body would wait for the
    # client's delayed ACK (~40 ms), a latency of the proxy's own on every request.
    disable_nagle_algorithm = True
    server: DelayProxy

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_HEAD = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the benchmark prints its own table."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES or "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.send_error(413, "request too large for the delay proxy")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        self.server.counted()
        time.sleep(self.server.delay)
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body or None, headers=forwarded)
            response = upstream.getresponse()
            payload = response.read()
            status, headers = response.status, response.getheaders()
        finally:
            upstream.close()
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP | {"date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


@contextmanager
def delay_proxy(upstream: str, delay: float) -> Iterator[DelayProxy]:
    """A running :class:`DelayProxy` in front of ``upstream``, stopped on exit."""
    proxy = DelayProxy(upstream, delay)
    thread = threading.Thread(target=proxy.serve_forever, name="delay-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=10)
