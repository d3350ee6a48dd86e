"""boto3 clients for a target: one per service and region, guarded and counted.

Every client the suite reads with is built by ``Clients``: it carries the read-only guard and
records each API call it makes, so the evidence can list them and the tests can prove that no call
is repeated. Nothing about a built ``Clients`` makes it writable; the provisioner of reference
environments has its own factory (``fixtures.provision.WritableLocalClients``).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from conformance import guard
from conformance.actions import iam_action
from conformance.errors import TargetError

GLOBAL_SERVICES = frozenset({"iam", "route53", "cloudfront"})

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 6},
    connect_timeout=5,
    read_timeout=30,
)
# In-process moto: the endpoint is AWS's own name, which moto intercepts, whatever
# AWS_ENDPOINT_URL*, a profile's endpoint_url or the FIPS/dual-stack settings say.
IN_PROCESS_CONFIG = Config(
    ignore_configured_endpoint_urls=True, use_fips_endpoint=False, use_dualstack_endpoint=False
)


class NotIntercepted(TargetError):
    """A request of an in-process client reached the network stage: it is stopped there."""


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
    """Every call the clients made (and every one the guard refused), in a stable order.

    Sections may be collected on several threads at once, so the order calls are made in is not
    the order they are listed in: a call made while a section is collected (inside
    :meth:`scoped`) is listed with that section's calls, sections in the order they were
    scheduled (:meth:`open_scope`) and each section's calls in the order it made them; a call
    made outside any section (the credential preflight) is listed where it was made. Whatever
    order the threads finish in, the evidence lists the same calls in the same order."""

    calls: list[ApiCall] = field(default_factory=list)
    refused: list[ApiCall] = field(default_factory=list)  # stopped by the guard, never sent
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _scopes: int = field(default=0, repr=False)  # scopes opened so far
    _made: dict[int, list[ApiCall]] = field(default_factory=dict, repr=False)  # calls by scope
    _call_keys: list[tuple[int, int]] = field(default_factory=list, repr=False)
    _refused_keys: list[tuple[int, int]] = field(default_factory=list, repr=False)
    _thread: threading.local = field(default_factory=threading.local, repr=False)

    def open_scope(self) -> int:
        """A new scope, listed after every scope opened before it."""
        with self._lock:
            self._scopes += 1
            return self._scopes

    @contextmanager
    def scoped(self, scope: int) -> Iterator[list[ApiCall]]:
        """Record this thread's calls in ``scope``; yields the scope's calls as they are made."""
        with self._lock:
            made = self._made.setdefault(scope, [])
        self._thread.scope = scope
        try:
            yield made
        finally:
            self._thread.scope = None

    def record(self, call: ApiCall) -> None:
        with self._lock:
            _insert(self.calls, self._call_keys, self._key(call, made=True), call)

    def record_refused(self, call: ApiCall) -> None:
        with self._lock:
            _insert(self.refused, self._refused_keys, self._key(call, made=False), call)

    def _key(self, call: ApiCall, made: bool) -> tuple[int, int]:
        """Where ``call`` is listed: (its scope, its place in the scope); ``made``: it was sent,
        so it is one of the scope's calls. The caller holds the lock."""
        scope: int | None = getattr(self._thread, "scope", None)
        if scope is None:  # a call of its own, listed where it was made
            self._scopes += 1
            return self._scopes, 0
        calls = self._made[scope]
        if made:
            calls.append(call)
        return scope, len(calls)

    def repeated(self) -> list[ApiCall]:
        """Calls made more than once with identical parameters in the same region."""
        seen: set[ApiCall] = set()
        return [c for c in self.calls if c in seen or seen.add(c)]  # type: ignore[func-returns-value]

    def as_json(self) -> list[dict[str, str]]:
        return [asdict(c) | {"action": c.action} for c in self.calls]


def _insert(
    items: list[ApiCall], keys: list[tuple[int, int]], key: tuple[int, int], item: ApiCall
) -> None:
    """Insert ``item`` where ``key`` sorts among ``keys`` (kept parallel to ``items``)."""
    index = bisect.bisect_right(keys, key)
    keys.insert(index, key)
    items.insert(index, item)


def _digest(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def share_model_loaders() -> None:
    """One botocore model loader for every botocore session in this process, and one for moto.

    botocore reads its JSON service models through a loader per session, and in-process moto
    makes sessions of its own (importing its EC2 makes three, each reading EC2's 3 MB model and
    the endpoint data again) and a new loader for every model its dispatcher looks up (each
    listing botocore's 400 model directories again). A loader only caches the installed model
    files, so one of each kind (moto's adds moto's extras) serves every session the same data,
    read once: the embedded run's reading of models went from 0.73 s to 0.30 s. Idempotent."""
    import botocore.session
    from moto.core import utils as moto_utils

    modules: tuple[Any, ...] = (botocore.session, moto_utils)
    for module in modules:
        if not hasattr(module.create_loader, "cache_info"):
            module.create_loader = functools.cache(module.create_loader)


def _answer_in_process(event_name: str, request: Any, **kwargs: Any) -> Any:
    """The only ``before-send`` answer of an in-process client: moto's, or none at all. botocore
    sends whatever no handler answered, so a request moto does not recognise (or one made with no
    mock active) is stopped here instead."""
    from moto.core.models import botocore_stubber

    response = botocore_stubber(event_name, request, **kwargs)
    if response is None:
        raise NotIntercepted(
            f"in-process moto did not answer {request.method} {request.url}; the embedded "
            "target sends nothing over the network"
        )
    return response


class ClientFactory:
    """boto3 clients per service and region, built on first use. ``in_process``: clients for
    in-process moto that can never send a request over the network."""

    def __init__(
        self,
        region: str,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        config: Config = CLIENT_CONFIG,
        in_process: bool = False,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.session = session or boto3.Session()
        self._config = config.merge(IN_PROCESS_CONFIG) if in_process else config
        self._in_process = in_process
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        region = "us-east-1" if service in GLOBAL_SERVICES else (region or self.region)
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                client = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self._config
                )
                if self._in_process:
                    from moto.core.models import botocore_stubber

                    client.meta.events.unregister("before-send", botocore_stubber)
                    client.meta.events.register("before-send", _answer_in_process)
                self._prepare(client, service, region)
                self._clients[key] = client
            return self._clients[key]

    def _prepare(self, client: Any, service: str, region: str) -> None:
        """What a kind of factory adds to each client it builds, before the client is used."""


class Clients(ClientFactory):
    """The suite's clients for one target: read-only and recorded, always."""

    def __init__(
        self,
        region: str,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        log: CallLog | None = None,
        config: Config = CLIENT_CONFIG,
        emulator: str | None = None,
        in_process: bool = False,
    ) -> None:
        super().__init__(region, endpoint_url, session, config, in_process)
        self.emulator = emulator  # e.g. "LocalStack 4.9.2 (community edition)", named in skips
        self.account: str | None = None  # set when the target verified whose account it is
        # The spec's disaster-recovery region (Phase 4), which the DR collectors read too.
        self.dr_region: str | None = None
        self.log = log if log is not None else CallLog()

    def _prepare(self, client: Any, service: str, region: str) -> None:
        recorded_region = "global" if service in GLOBAL_SERVICES else region
        log = self.log

        def before_parameter_build(model: Any, params: dict[str, Any], **_: Any) -> None:
            # Runs before the request is serialized or signed: a refusal sends nothing.
            call = ApiCall(service, model.name, recorded_region, _digest(params))
            try:
                guard.enforce(service, model.name)
            except guard.MutationRefused:
                log.record_refused(call)
                raise
            log.record(call)

        def before_sign(operation_name: str, **_: Any) -> None:
            # Signing without an API call (an RDS IAM auth token: "connect") is refused too.
            guard.enforce(service, operation_name)

        client.meta.events.register("before-parameter-build.*.*", before_parameter_build)
        client.meta.events.register("before-sign.*.*", before_sign)
        client.meta.events.register("before-parse.*.*", refuse_incomplete_answer)
        if self.endpoint_url is not None:
            client.meta.events.register("needs-retry.*.*", unserved_is_final)


JSON_PROTOCOLS = frozenset({"json", "rest-json"})


def unserved_is_final(response: Any = None, operation: Any = None, **_: Any) -> None:
    """An endpoint's HTML 500 page is its last word on the operation: raise the error botocore
    raises after its last retry, without the retries. A moto server answers a JSON-protocol
    operation it does not implement (Cost Explorer's tag list) with one, and botocore retries
    a 500 as transient, six times with backoff (0.7 s to 2.5 s of sleeping per operation).
    Only with ``--endpoint-url`` (AWS answers every API error with an error document), and
    only a 500: a gateway's 502, 503 or 504 page is transient and stays retried."""
    if response is None:
        return
    http, parsed = response
    if http.status_code == 500 and is_web_page(http.content):
        raise ClientError(parsed, operation.name)


def is_web_page(body: str | bytes) -> bool:
    """Whether an answer is a web page (a server's own error page), which no AWS API sends."""
    head = body.lstrip()[:9]
    if isinstance(head, bytes):
        head = head.decode("latin-1")
    return head.lower() == "<!doctype"


def refuse_incomplete_answer(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """Raise on an answer cut short or not parsable, which botocore would read as an empty one:
    it does not enforce Content-Length (the length of an encoded body, e.g. gzip, is not the
    length of what urllib3 decoded, so that one is left to the parser), and it reads a JSON
    body that does not parse as ``{}``.
    An empty answer would pass for an empty account; this makes it the section's failure."""
    body = response_dict.get("body")
    if not isinstance(body, bytes) or operation_model.http.get("method") == "HEAD":
        return  # a streamed body is read later; a HEAD answer has a length and no body
    headers = response_dict["headers"]
    length = str(headers.get("content-length", ""))
    encoded = str(headers.get("content-encoding", "identity")).lower() not in ("", "identity")
    if length.isdigit() and not encoded and int(length) != len(body):
        raise ResponseParserError(f"the answer was cut short: {len(body)} of {length} bytes")
    protocol = operation_model.service_model.resolved_protocol
    if body and protocol in JSON_PROTOCOLS and response_dict["status_code"] < 300:
        try:
            json.loads(body)
        except ValueError:
            raise ResponseParserError("the answer is not valid JSON") from None
