"""LocalStack as a target: find the running one, name its edition, and recognise what it cannot
serve, from what it answers rather than from a list of services, so a Pro edition that emulates
more gets the full suite.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from conformance.errors import TargetError

DEFAULT_PORT = 4566
HEALTH_PATH = "/_localstack/health"
HEALTH_TIMEOUT = 3.0
START_HINT = (
    "start it with `docker compose -f localstack/docker-compose.yml up -d` or "
    "`python localstack/host.py start`, or pass --endpoint-url"
)


@dataclass(frozen=True)
class LocalStack:
    """A running LocalStack as its health endpoint describes itself."""

    endpoint: str
    version: str
    edition: str

    def describe(self) -> str:
        edition = "edition unknown" if self.edition == "unknown" else f"{self.edition} edition"
        return f"LocalStack {self.version} ({edition})"


def endpoint_from_environment() -> str:
    """AWS_ENDPOINT_URL, else LOCALSTACK_HOST (host[:port], as LocalStack's own tools read it),
    else http://localhost:4566."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    host = os.environ.get("LOCALSTACK_HOST") or f"localhost:{DEFAULT_PORT}"
    url = host if "://" in host else f"http://{host}"
    if urlparse(url).port is None:
        url = f"{url.rstrip('/')}:{DEFAULT_PORT}"
    return url.rstrip("/")


def probe(endpoint: str, timeout: float = HEALTH_TIMEOUT) -> LocalStack:
    """Ask ``endpoint`` for LocalStack's health; one clear TargetError when that is not possible."""
    url = endpoint.rstrip("/") + HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise TargetError(
            f"{endpoint} answers but is not LocalStack (GET {HEALTH_PATH}: HTTP {exc.code}); "
            "use --target moto for a moto server"
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TargetError(
            f"LocalStack is not running at {endpoint} (GET {url}: {reason}); {START_HINT}"
        ) from None
    try:
        health = json.loads(body)
    except ValueError:
        health = None
    if not isinstance(health, dict) or "services" not in health:
        raise TargetError(f"{endpoint} answers {HEALTH_PATH} but not as LocalStack does")
    return LocalStack(
        endpoint, str(health.get("version", "unknown")), str(health.get("edition", "unknown"))
    )


def cannot_serve(exc: ClientError) -> bool:
    """LocalStack's own answer that it cannot serve this API here: 501 for a service its edition
    does not include, or a 500 from its gateway when the service's engine failed to start (e.g.
    DynamoDB without its Java engine). Only answers carrying LocalStack's header count."""
    response = exc.response
    metadata = response.get("ResponseMetadata", {})
    headers = {k.lower(): v for k, v in metadata.get("HTTPHeaders", {}).items()}
    if headers.get("x-localstack") != "true":
        return False
    status = metadata.get("HTTPStatusCode")
    message = str(response.get("Error", {}).get("Message", ""))
    return status == 501 or (status == 500 and message.startswith("exception while calling"))
