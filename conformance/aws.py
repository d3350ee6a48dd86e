"""boto3 clients for a target: one per service and region, guarded and counted.

Every client built here carries the read-only guard and records each API call it makes, so
the evidence can list them and the tests can prove that no call is repeated.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from conformance import guard
from conformance.actions import iam_action

GLOBAL_SERVICES = frozenset({"iam", "route53", "cloudfront"})

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 6},
    connect_timeout=5,
    read_timeout=30,
)


@dataclass(frozen=True)
class ApiCall:
    service: str
    operation: str
    region: str
    request: str  # digest of the parameters: a repeated identical request has the same one

    @property
    def action(self) -> str:
        return iam_action(self.service, self.operation)


@dataclass
class CallLog:
    calls: list[ApiCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)

    def repeated(self) -> list[ApiCall]:
        """Calls made more than once with identical parameters in the same region."""
        seen: set[ApiCall] = set()
        return [c for c in self.calls if c in seen or seen.add(c)]  # type: ignore[func-returns-value]

    def as_json(self) -> list[dict[str, str]]:
        return [asdict(c) | {"action": c.action} for c in self.calls]


def _digest(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Clients:
    """Client factory for one target: read-only and recorded unless ``read_only`` is False.

    Only the provisioner of reference environments builds a writable factory, and it does so
    for local endpoints only (see ``fixtures.provision``).
    """

    def __init__(
        self,
        region: str,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        log: CallLog | None = None,
        read_only: bool = True,
        config: Config = CLIENT_CONFIG,
        emulator: str | None = None,
    ) -> None:
        self.region = region
        self.emulator = emulator  # e.g. "LocalStack 4.9.2 (community edition)", named in skips
        self.config = config
        self.account: str | None = None  # set when the target verified whose account it is
        self.endpoint_url = endpoint_url
        self.session = session or boto3.Session()
        self.log = log if log is not None else CallLog()
        self.read_only = read_only
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        region = "us-east-1" if service in GLOBAL_SERVICES else (region or self.region)
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(service, region)
            return self._clients[key]

    def _build(self, service: str, region: str) -> Any:
        client = self.session.client(
            service, region_name=region, endpoint_url=self.endpoint_url, config=self.config
        )
        recorded_region = "global" if service in GLOBAL_SERVICES else region

        def before_parameter_build(model: Any, params: dict[str, Any], **_: Any) -> None:
            # Runs before the request is serialized or signed: a refusal sends nothing.
            if self.read_only:
                guard.enforce(service, model.name, params)
            self.log.record(ApiCall(service, model.name, recorded_region, _digest(params)))

        client.meta.events.register("before-parameter-build.*.*", before_parameter_build)
        return client
