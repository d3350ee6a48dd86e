"""The normalized, JSON-serializable inventory that checks read instead of AWS.

One module per service (as in moto) defines a :class:`Section` model and how to collect it with
read operations. A section is collected at most once per run and region: a run of every check
reads every section its environments document ahead, several at once (collectors read no other
section, and live AWS answers in tens to hundreds of milliseconds: the run then waits about as
long as its slowest section, not the sum); any other section is collected the first time a check
asks for it. A section that could not be collected records why, whatever was raised (an API
error, a cut connection, an answer that does not parse, a collector's bug), and every check that
needs it reports that reason instead of a verdict. A failed section is never collected again.

A :class:`SavedInventory` is the inventory an earlier run recorded in its evidence, read again
without any AWS client (``--target inventory``).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from pydantic import BaseModel, ConfigDict, ValidationError

from conformance import evidence
from conformance.actions import iam_action
from conformance.aws import Clients, is_web_page
from conformance.errors import ConformanceError, TargetError, UsageError
from conformance.inputs import Inputs
from conformance.localstack import cannot_serve
from conformance.redact import scrub

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

FailureKind = Literal["unsupported", "denied", "unreachable", "error"]
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnrecognizedClientException",
    }
)
# Error codes botocore retries as throttling; one that reaches us survived every retry.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)
NO_CREDENTIALS = (
    "no AWS credentials found (looked in --profile, the environment, shared config and web "
    "identity)"
)
# A web server's own error page (a moto server's for what it does not implement) in a parser error.
HTML_SERVER_ERROR = re.compile(r"<title>50\d [^<]*</title>", re.IGNORECASE)
DETAIL_LIMIT = 300  # characters of an exception's text kept in a one-line message


# Sections read ahead at once: enough to overlap the ~25 services of two regions on a live
# account, few enough to stay well under AWS's per-account request rates.
COLLECT_WORKERS = 12
WORKERS_VARIABLE = "CONFORMANCE_COLLECT_WORKERS"  # e.g. 1: read the sections one by one


def collect_workers(environ: Mapping[str, str] = os.environ) -> int:
    """How many sections are read at once: ``CONFORMANCE_COLLECT_WORKERS`` or the default."""
    given = environ.get(WORKERS_VARIABLE, "").strip()
    if not given:
        return COLLECT_WORKERS
    if not given.isdigit() or int(given) < 1:
        raise UsageError(f"{WORKERS_VARIABLE}={given!r}: expected a whole number of at least 1")
    return int(given)


def documented_sections(environments: Iterable[EnvironmentSpec]) -> list[type[Section]]:
    """Every section of the inventory that one of ``environments`` documents (``documented``:
    the phase has its resources, so its checks, the tag checks among them, read it), by
    service. A check may still ask for another (that a phase has no cache): it is collected
    when asked."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    chosen = list(environments)
    return [
        cls
        for _, cls in sorted(SECTIONS.items())
        if any(cls.documented(environment) for environment in chosen)
    ]


class Tagged(BaseModel):
    """A project resource that must carry the cost-allocation tags."""

    resource: str
    tags: dict[str, str]


SECTIONS: dict[str, type[Section]] = {}


class Section(BaseModel):
    """What one service holds, normalized. Subclasses set ``service`` and implement collect."""

    model_config = ConfigDict(extra="forbid")

    service: ClassVar[str]
    # The collector calls once per resource it finds (a queue's attributes, then its tags): a
    # chain as long as the account's part of the service. Read ahead, these start first, so
    # the longest chains run alongside the short sections instead of after them.
    fans_out: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class naming its own service is that service's section (a shared base, or a
        subclass made to mark unknown fields, names none and is not)."""
        super().__init_subclass__(**kwargs)
        if "service" in vars(cls):
            SECTIONS[cls.service] = cls

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        raise NotImplementedError

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The project's taggable resources in this section (AWS-made defaults aside)."""
        return []

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        """Whether the phase has resources of this section at all. A section of a later phase
        (ECS in Phase 1) is then neither collected nor asked for tags: on a target that cannot
        serve it, that would turn a Phase 1 tag check into a skip."""
        return True


class CollectionFailure(BaseModel):
    service: str
    kind: FailureKind
    message: str
    permission: str | None = None


class NotCollected(Exception):
    """A check needs a section that could not be collected on this target."""

    def __init__(self, failure: CollectionFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


S = TypeVar("S", bound=Section)


class Inventory:
    """Sections of one target, each collected once: read ahead concurrently (:meth:`read_ahead`)
    or the first time a check asks for it (:meth:`get`), whichever comes first. A check waiting
    for one section waits for that section only."""

    def __init__(self, clients: Clients, inputs: Inputs) -> None:
        self.clients = clients
        self._start(inputs)

    def _start(self, inputs: Inputs) -> None:
        """No section read yet (a collected and a saved inventory alike)."""
        self.inputs = inputs
        self.sections: dict[str, Section] = {}
        self.failures: dict[str, CollectionFailure] = {}
        self.durations: dict[str, float] = {}  # seconds each section took to collect
        self.read_ahead_record: dict[str, Any] | None = None  # see read_ahead
        self._collections: dict[str, _Collection] = {}
        self._lock = threading.Lock()  # guards _collections and the stops they hold

    @property
    def region(self) -> str:
        return self.clients.region

    @property
    def emulator(self) -> str | None:
        """The emulator the sections come from, named in the skips of what it does not serve."""
        return self.clients.emulator

    @property
    def account(self) -> str | None:
        """The account the target verified the credentials are for, if it did."""
        return self.clients.account

    def get(self, cls: type[S]) -> S:
        if cls.service not in self.sections and cls.service not in self.failures:
            collection, mine = self._schedule(cls)
            if mine:
                self._run(cls, collection)
            self._wait([collection])
        if cls.service in self.failures:
            raise NotCollected(self.failures[cls.service])
        section = self.sections[cls.service]
        assert isinstance(section, cls)
        return section

    def read_ahead(self, sections: Iterable[type[Section]], workers: int) -> None:
        """Collect ``sections`` now, on up to ``workers`` threads (one: in this thread, in order),
        those not collected or being collected already. Collectors read no other section, so
        they are independent; botocore's adaptive retries pace each client under throttling.
        Raises the TargetError (no credentials) of the first section in order that had one."""
        began, cpu = time.perf_counter(), time.process_time()
        scheduled = [(cls, *self._schedule(cls)) for cls in sections]
        todo = [(cls, collection) for cls, collection, mine in scheduled if mine]
        # Longest chains first; where the calls are listed was fixed by the order scheduled.
        todo.sort(key=lambda item: not item[0].fans_out)
        if workers <= 1 or len(todo) <= 1:
            for cls, collection in todo:
                self._run(cls, collection)
        else:
            pool = ThreadPoolExecutor(min(workers, len(todo)), thread_name_prefix="collect")
            futures = [(cls, pool.submit(self._run, cls, c)) for cls, c in todo]
            try:
                self._wait([collection for _, collection in todo])
            finally:
                for cls, future in futures:
                    if future.cancel():  # interrupted before it began: a check may ask again
                        self._forget(cls)
                pool.shutdown(wait=False)
        self.read_ahead_record = {
            "sections": len(todo),
            "workers": min(workers, len(todo)),
            "seconds": round(time.perf_counter() - began, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3),  # this process's, all threads
        }
        self._wait([collection for _, collection, _ in scheduled])

    def _schedule(self, cls: type[Section]) -> tuple[_Collection, bool]:
        """The collection of ``cls``, and whether the caller must run it (it was not scheduled).
        Scheduling fixes where the section's calls are listed in the evidence."""
        with self._lock:
            collection = self._collections.get(cls.service)
            if collection is not None:
                return collection, False
            collection = self._collections[cls.service] = _Collection(self._open_scope())
            return collection, True

    def _open_scope(self) -> int:
        return self.clients.log.open_scope()

    def _forget(self, cls: type[Section]) -> None:
        with self._lock:
            self._collections.pop(cls.service, None)

    def _run(self, cls: type[Section], collection: _Collection) -> None:
        """Collect ``cls`` (in whichever thread), then let whoever waits for it go on."""
        began = time.perf_counter()
        try:
            self._collect(cls, collection.scope)
        except TargetError as stop:
            collection.stop = stop
        except BaseException:  # interrupted: not collected, so a later ask collects it again
            self._forget(cls)
            collection.done.set()
            raise
        self.durations[cls.service] = round(time.perf_counter() - began, 3)
        collection.done.set()

    def _wait(self, collections: list[_Collection]) -> None:
        """Wait for ``collections``; raise the first stop none raised yet (each is raised once:
        afterwards the section is its recorded failure)."""
        for collection in collections:
            collection.done.wait()
        with self._lock:
            stop = next((c.stop for c in collections if c.stop is not None), None)
            for collection in collections:
                if collection.stop is stop:
                    collection.stop = None
        if stop is not None:
            raise stop

    def _collect(self, cls: type[Section], scope: int) -> None:
        """Collect ``cls`` once: its section, or whatever went wrong as its recorded failure."""
        with self.clients.log.scoped(scope) as calls:
            try:
                self.sections[cls.service] = cls.collect(self.clients, self.inputs)
            except NoCredentialsError:
                self.failures[cls.service] = CollectionFailure(
                    service=cls.service, kind="error", message=NO_CREDENTIALS
                )
                raise TargetError(NO_CREDENTIALS) from None
            except Exception as exc:  # every other cause is this section's failure, never a crash
                last = calls[-1].action if calls else None
                self.failures[cls.service] = failure_of(cls.service, exc, last, self.emulator)

    def snapshot(self) -> dict[str, Any]:
        """What was read, in service order, and how it was collected: the sections read ahead
        (how many, on how many threads, in how many seconds and CPU seconds; None: none was)
        and the seconds each section took."""
        return {
            "region": self.region,
            "sections": {k: v.model_dump(mode="json") for k, v in sorted(self.sections.items())},
            "failures": {k: v.model_dump(mode="json") for k, v in sorted(self.failures.items())},
            "collection": {
                "read_ahead": self.read_ahead_record,
                "seconds": dict(sorted(self.durations.items())),
            },
        }


@dataclass(eq=False)
class _Collection:
    """One section's collection: done once it is recorded (a section or a failure)."""

    scope: int  # where its calls are listed (see CallLog)
    done: threading.Event = field(default_factory=threading.Event)
    stop: TargetError | None = None  # a run-stopping error no waiter has raised yet


@dataclass(frozen=True, eq=False)
class SavedSnapshot:
    """The inventory an earlier run recorded (its evidence's ``inventory``), and which run."""

    origin: str  # "run RUN_ID", as the messages name it
    location: str  # the evidence file it was read from
    recorded_from: str | None  # the target that run read
    emulator: str | None
    region: str
    sections: Mapping[str, Mapping[str, Any]]
    failures: Mapping[str, CollectionFailure]
    collection: Mapping[str, Any] | None = None  # how that run collected it (see snapshot)

    def describe(self) -> str:
        return f"inventory of {self.origin} in {self.location}, read from {self.recorded_from}"

    @classmethod
    def from_evidence(cls, path: Path) -> SavedSnapshot:
        """The inventory of an evidence file (or ``DIR/evidence.json``); a file that is not
        evidence, or whose run recorded no inventory, is one usage error."""
        file = evidence.file_of(path)
        data = evidence.load(path)
        return cls.of(
            data.get("inventory"),
            origin=f"run {data.get('run_id') or '(no run id)'}",
            location=str(file),
            recorded_from=data.get("target"),
            emulator=data.get("emulator"),
        )

    @classmethod
    def of(
        cls,
        inventory: object,
        *,
        origin: str,
        location: str,
        recorded_from: str | None = None,
        emulator: str | None = None,
    ) -> SavedSnapshot:
        """A snapshot shaped as :meth:`Inventory.snapshot` makes it; the sections themselves are
        validated when a check asks for them (see :class:`SavedInventory`)."""
        if inventory is None:
            raise UsageError(f"{location}: {origin} recorded no inventory (no check read one)")
        shape = f"{location}: not an inventory snapshot"
        if not isinstance(inventory, dict) or not isinstance(inventory.get("region"), str):
            raise UsageError(f"{shape} (no region)")
        sections, failures = inventory.get("sections"), inventory.get("failures")
        if not isinstance(sections, dict) or not all(
            isinstance(v, dict) for v in sections.values()
        ):
            raise UsageError(f"{shape} ('sections' is not an object of sections)")
        if not isinstance(failures, dict):
            raise UsageError(f"{shape} ('failures' is not an object)")
        try:
            recorded = {k: CollectionFailure.model_validate(v) for k, v in failures.items()}
        except ValidationError as exc:
            raise UsageError(f"{shape} (a failure: {one_line(exc)})") from None
        collection = inventory.get("collection")
        return cls(
            origin,
            location,
            recorded_from,
            emulator,
            inventory["region"],
            sections,
            recorded,
            collection if isinstance(collection, dict) else None,
        )


class SavedInventory(Inventory):
    """A saved inventory, read again with no AWS client at all: the checks see what the earlier
    run saw. A section is validated against the current model when a check first asks for it;
    one the run never collected, or recorded in a shape the model no longer reads, is that
    section's failure (skipped, or an error), as is the failure the run recorded for it."""

    def __init__(self, saved: SavedSnapshot, inputs: Inputs) -> None:
        self.saved = saved
        self._start(inputs)
        self._absent: set[str] = set()

    @property
    def region(self) -> str:
        return self.saved.region

    @property
    def emulator(self) -> str | None:
        return self.saved.emulator

    @property
    def account(self) -> str | None:
        return None  # the description of the run it was recorded by names the account

    def _open_scope(self) -> int:
        return 0  # no call is made

    def _collect(self, cls: type[Section], scope: int) -> None:
        service, origin = cls.service, self.saved.origin
        raw = self.saved.sections.get(service)
        if service in self.saved.failures:
            self.failures[service] = self.saved.failures[service]
        elif raw is None:
            self._absent.add(service)
            self.failures[service] = CollectionFailure(
                service=service,
                kind="unsupported",
                message=f"the saved inventory of {origin} has no {service} section "
                "(that run did not collect it)",
            )
        else:
            try:
                self.sections[service] = cls.model_validate(raw)
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(map(str, error["loc"])) or service
                self.failures[service] = CollectionFailure(
                    service=service,
                    kind="error",
                    message=f"the saved inventory of {origin}: its {service} section does not "
                    f"fit the current model ({where}: {error['msg']}); collect it again",
                )

    def snapshot(self) -> dict[str, Any]:
        """What was read; a section the saved run lacked is not a failure of its own; how it
        was collected is what the saved run recorded."""
        data = super().snapshot()
        data["failures"] = {k: v for k, v in data["failures"].items() if k not in self._absent}
        data["collection"] = self.saved.collection
        return data


def failure_of(
    service: str, exc: Exception, last_call: str | None, emulator: str | None = None
) -> CollectionFailure:
    """Why ``service`` could not be collected, in one line naming the operation when known
    (``last_call``: the IAM action of the last call the collector made)."""
    if isinstance(exc, ClientError):
        return classify(service, exc, emulator)
    if isinstance(exc, ConformanceError):  # the guard's refusal already names the operation
        return CollectionFailure(service=service, kind="error", message=one_line(exc))
    if isinstance(exc, ResponseParserError) and last_call and HTML_SERVER_ERROR.search(str(exc)):
        # A moto server answers a query-protocol operation it does not implement (RDS's and
        # ElastiCache's reserved instances) with an HTML 500 page, which botocore cannot parse
        # into an error (a JSON-protocol one is a ClientError 500, classified above). AWS
        # answers every API error with an error document, never a web page.
        return CollectionFailure(
            service=service,
            kind="unsupported",
            message=f"{emulator or 'this target'} does not serve {service}: {last_call} "
            "answered 500: an HTML error page",
        )
    if isinstance(exc, NotImplementedError) and last_call:
        # In-process moto raises this for an operation it does not implement (X-Ray sampling
        # rules, Cost Explorer's tag list): the target cannot serve it, which is not a verdict.
        return CollectionFailure(
            service=service,
            kind="unsupported",
            message=f"{emulator or 'this target'} does not implement {last_call}: {one_line(exc)}",
        )
    where = f"{last_call} failed" if last_call else f"collecting {service} failed"
    kind: FailureKind = "unreachable" if isinstance(exc, UNREACHABLE) else "error"
    return CollectionFailure(
        service=service, kind=kind, message=f"{where}: {type(exc).__name__}: {one_line(exc)}"
    )


def one_line(text: object) -> str:
    """The first line of ``text`` (an exception, a message), scrubbed and bounded: botocore
    appends the whole unparsable body to a parser error, after a newline."""
    lines = str(text).strip().splitlines()
    text = scrub(lines[0].rstrip(" :")) if lines else ""
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def classify(service: str, exc: ClientError, emulator: str | None = None) -> CollectionFailure:
    """Turn an API error into a reason a reader can act on (naming the emulator, if any)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = one_line(error.get("Message", exc))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    operation = exc.operation_name
    action = iam_action(service, operation)
    if code in DENIED_CODES or code.endswith("AccessDenied"):
        return CollectionFailure(
            service=service,
            kind="denied",
            permission=action,
            message=f"access denied to {action} (grant it to the conformance role): {message}",
        )
    if code in THROTTLING_CODES or status == 429:
        return CollectionFailure(
            service=service,
            kind="error",
            message=f"{action} throttled: still throttled after botocore's retries "
            f"({code}: {message})",
        )
    if status == 501 or cannot_serve(exc) or (status in (404, 500) and code == str(status)):
        # An error with no code of its own but its HTTP status is not an AWS error document:
        # the target has no handler for the operation (moto answers 404 for X-Ray's sampling
        # rules, a moto server 500 for what it does not implement). AWS always names its code.
        return CollectionFailure(
            service=service,
            kind="unsupported",
            message=f"{emulator or 'this target'} does not serve {service}: "
            f"{action} answered {status} {code}: {_unserved(message)}",
        )
    return CollectionFailure(
        service=service, kind="error", message=f"{action} failed: {code}: {message}"
    )


def _unserved(message: str) -> str:
    """A target's refusal as one short line (a moto server answers with an HTML page)."""
    return "an HTML error page" if is_web_page(message) else message


def tags_of(items: list[dict[str, str]] | None) -> dict[str, str]:
    """AWS's [{Key, Value}] tag lists as a dict."""
    return {t["Key"]: t.get("Value", "") for t in items or []}
