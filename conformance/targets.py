"""Targets: where the inventory is read from.

- ``moto``: in-process moto holding the phase's reference environment (with ``--drift``, with
  that drift applied), which sends nothing over the network; with ``--endpoint-url``, a moto
  server on loopback the reference is built into, in an account of the run's own.
- ``localstack``: a running LocalStack; never provisioned by the suite.
- ``aws``: the live account through the standard credential chain, read-only.
- ``inventory``: the inventory an earlier run saved in its evidence (``--inventory=PATH``), with
  no AWS client at all; ``--drift`` applies an inventory drift to it.
- ``plan`` and ``iac``: before apply, the inventory a ``tofu show -json`` plan (``--plan=FILE``)
  or the OpenTofu configuration itself (``--iac-dir=DIR``) makes, with no AWS client either
  (:mod:`conformance.iac.target`).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from conformance import localstack, validate
from conformance.aws import CallLog, Clients, share_model_loaders
from conformance.errors import TargetError, UsageError
from conformance.iac.target import IAC_KINDS, PlanInventory
from conformance.inputs import Inputs
from conformance.inventory import (
    THROTTLING_CODES,
    Inventory,
    SavedInventory,
    SavedSnapshot,
    collect_workers,
    documented_sections,
)
from conformance.spec import PhaseSpec

if TYPE_CHECKING:
    from conformance.iac.plan import Plan
    from fixtures.drifts import Drift

TargetKind = Literal["moto", "localstack", "aws", "inventory", "plan", "iac"]
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
EMBEDDED = "moto (embedded)"  # the emulator named where the embedded target serves no service


@dataclass(frozen=True)
class TargetOptions:
    kind: TargetKind
    region: str
    environment: str
    endpoint_url: str | None = None
    drift: str | None = None
    profile: str | None = None
    expect_account: str | None = None
    saved: SavedSnapshot | None = None  # --target inventory: what an earlier run recorded
    source: Plan | None = None  # --target plan or iac: what the plan or configuration holds

    def __post_init__(self) -> None:
        if (self.kind == "inventory") != (self.saved is not None):
            raise UsageError(
                "--target inventory reads the saved inventory of --inventory=PATH (an "
                "evidence.json or its directory), and no other target reads one"
            )
        if (self.kind in IAC_KINDS) != (self.source is not None):
            raise UsageError("--target plan reads --plan=FILE, --target iac reads --iac-dir=DIR")
        offline = self.kind == "inventory" or self.kind in IAC_KINDS
        if offline and (self.endpoint_url or self.profile or self.expect_account):
            raise UsageError(
                "--endpoint-url, --profile and --expect-account do not apply to --target "
                f"{self.kind}: it reads files and calls no AWS API"
            )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        drift = f" with drift {self.drift}" if self.drift else ""
        if self.saved is not None:
            return f"{self.saved.describe()}{drift}"
        if self.source is not None:
            return f"{self.kind} {self.source.location} ({self.region})"
        return f"{self.kind}{where} ({self.region}){drift}"


def load_saved(kind: str, path: Path | None, region: str | None) -> SavedSnapshot | None:
    """The saved inventory ``--target inventory`` reads (``--inventory=PATH``); None for the
    other targets. ``--region``, if given, must be the region it was recorded in."""
    if kind != "inventory":
        if path is not None:
            raise UsageError("--inventory applies to --target inventory only")
        return None
    if path is None:
        raise UsageError("--target inventory needs --inventory=PATH (an evidence.json or its dir)")
    saved = SavedSnapshot.from_evidence(path)
    if region is not None and region != saved.region:
        raise UsageError(
            f"--region {region}: the saved inventory of {saved.origin} is of {saved.region}"
        )
    return saved


def target_drift(options: TargetOptions, phase: int) -> Drift | None:
    """The ``--drift`` the target takes: an aws or host drift builds the embedded reference, an
    inventory drift changes a saved inventory; any other pairing is a usage error."""
    if options.drift is None:
        return None
    if options.kind not in ("moto", "inventory"):
        raise UsageError(
            "--drift applies to the embedded moto target only (an inventory drift: to --target "
            "inventory)"
        )
    from fixtures.drifts import get_drift

    drift = get_drift(options.drift, phase)
    if drift.kind() == "inventory" and options.kind != "inventory":
        raise UsageError(
            f"drift {drift.id!r} changes a saved inventory: it applies to --target inventory "
            "--inventory=PATH (e.g. the evidence of a conformant embedded run)"
        )
    if drift.kind() != "inventory" and options.kind == "inventory":
        raise UsageError(
            f"drift {drift.id!r} builds the embedded reference: --target moto, not inventory"
        )
    if drift.environment != "all" and options.environment not in ("all", drift.environment):
        raise UsageError(
            f"drift {drift.id!r} changes {drift.environment}: run it with --environment "
            f"{drift.environment} (or all), not {options.environment}"
        )
    return drift


@contextmanager
def open_inventory(
    options: TargetOptions,
    spec: PhaseSpec,
    inputs: Inputs,
    log: CallLog,
    read_ahead: bool = False,
    settle: bool = False,
) -> Iterator[Inventory]:
    """The inventory the checks read: the saved one of ``--target inventory`` (with its drift,
    if any; its sections are validated as checks ask for them), the one a plan or configuration
    makes (``--target plan``, ``iac``: validated likewise), or one collected from the
    target's clients. ``read_ahead`` (a run of every check): every section the run's
    environments document is collected now, concurrently (``CONFORMANCE_COLLECT_WORKERS``
    sections at once; the embedded target one by one), so the run waits about as long as its
    slowest section, not the sum of all; any other section is collected the first time a
    check asks for it."""
    if options.saved is not None:
        drift = target_drift(options, spec.phase)
        saved = (
            options.saved
            if drift is None
            else drift.applied(options.saved, inputs.for_environment(_drifted(drift, inputs)))
        )
        yield SavedInventory(saved, inputs)
        return
    if options.source is not None:
        yield PlanInventory(options.kind, options.source, inputs, options.region)
        return
    # In-process moto answers without latency: threads would only share its one interpreter
    # (the default run measured 8.1 s one by one, 8.8 s with 12 threads, on 2 cores).
    embedded = options.kind == "moto" and options.endpoint_url is None
    workers = 1 if embedded else collect_workers()
    with open_target(options, spec, inputs, log, settle) as clients:
        clients.dr_region = spec.dr_region.value if spec.dr_region else None
        inventory = Inventory(clients, inputs)
        if read_ahead:
            environments = (spec.environment(name) for name in spec.chosen(options.environment))
            inventory.read_ahead(documented_sections(environments), workers)
        yield inventory


def _drifted(drift: Drift, inputs: Inputs) -> str:
    """The environment whose names an inventory drift edits (one that changes every
    environment edits what the account holds once: production's)."""
    return "production" if drift.environment == "all" else drift.environment


@contextmanager
def open_target(
    options: TargetOptions, spec: PhaseSpec, inputs: Inputs, log: CallLog, settle: bool = False
) -> Iterator[Clients]:
    """Yield read-only clients for the target, set up (and torn down) as the kind requires.
    ``settle``: the process keeps the target to its end (a run), so the embedded reference may
    be frozen out of the garbage collector's reach as it is built (``provision(settle=True)``);
    a process that opens targets one after another (a test) must not freeze what it drops."""
    if options.kind == "inventory" or options.kind in IAC_KINDS:
        raise UsageError(f"--target {options.kind} has no AWS clients: it reads files")
    drift = target_drift(options, spec.phase)
    if options.kind == "moto":
        with _moto(options, spec, inputs, log, drift, settle) as clients:
            yield clients
        return
    if options.kind == "localstack":
        # Health first: a LocalStack that is not running is one clear error, not a traceback.
        found = localstack.probe(options.endpoint_url or localstack.endpoint_from_environment())
        session = boto3.Session(**FAKE_CREDENTIALS)
        yield Clients(
            options.region, found.endpoint, session=session, log=log, emulator=found.describe()
        )
        return
    yield _live(options, inputs, log)


# The preflight fails fast: an endpoint that does not answer is reported within ~12 s.
PREFLIGHT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=5, read_timeout=5
)
# Throttling is not a verdict on the credentials: ask again after these pauses (seconds).
THROTTLED_WAITS = (1.0, 2.0, 4.0)
PREFLIGHT_ATTEMPTS = 2 * (len(THROTTLED_WAITS) + 1)
UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
ACCOUNT_ID = re.compile(r"\d{12}")


class PreflightThrottled(TargetError):
    """STS throttled the credential preflight (after botocore's own retries)."""


def _live(options: TargetOptions, inputs: Inputs, log: CallLog) -> Clients:
    """The live account: credentials and account are checked once, before any check runs."""
    try:
        session = boto3.Session(profile_name=options.profile)
    except ProfileNotFound as exc:
        raise UsageError(f"{exc} (named by --profile or AWS_PROFILE)") from None
    preflight = Clients(
        options.region, options.endpoint_url, session=session, log=log, config=PREFLIGHT_CONFIG
    )
    account = caller_account(preflight, options.endpoint_url or f"AWS STS in {options.region}")
    expected = options.expect_account or inputs.account_id
    if expected and account != expected:
        raise TargetError(
            f"refusing to run: the credentials are for account {account}, not the expected "
            f"{expected} (--expect-account or the account_id input)"
        )
    clients = Clients(options.region, options.endpoint_url, session=session, log=log)
    clients.account = account
    return clients


def caller_account(clients: Clients, where: str = "AWS STS") -> str:
    """The account the credentials belong to (sts:GetCallerIdentity needs no permission).
    Throttling is asked again after a pause; every other failure is one TargetError."""
    for wait in THROTTLED_WAITS:
        try:
            return _caller_account_once(clients, where)
        except PreflightThrottled:
            time.sleep(wait)
    return _caller_account_once(clients, where)


def _caller_account_once(clients: Clients, where: str) -> str:
    try:
        identity = clients.client("sts").get_caller_identity()
    except NoCredentialsError:
        raise TargetError(
            "no AWS credentials found (looked at --profile, AWS_* environment variables, the "
            "shared config and credentials files, web identity, container and instance roles)"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if error.get("Code") in THROTTLING_CODES or status == 429:
            raise PreflightThrottled(
                f"{where} throttled sts:GetCallerIdentity {PREFLIGHT_ATTEMPTS} times in a row "
                f"({error.get('Code')}: {error.get('Message')}); try again later"
            ) from None
        raise TargetError(
            f"the AWS credentials were rejected ({error.get('Code')}: {error.get('Message')}); "
            "refresh them or choose another --profile"
        ) from None
    except UNREACHABLE as exc:
        raise TargetError(f"cannot reach {where}: {exc}") from None
    except ResponseParserError:
        raise TargetError(
            f"{where} answered sts:GetCallerIdentity with something that is not an STS response; "
            "is the endpoint an AWS (or AWS-compatible) one?"
        ) from None
    except BotoCoreError as exc:
        raise TargetError(f"could not obtain AWS credentials: {exc}") from None
    account = identity.get("Account")
    if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
        raise TargetError(
            f"{where} answered sts:GetCallerIdentity without a 12-digit account id "
            f"(Account: {str(account)[:40]!r})"
        )
    return account


# S3 bucket names are global to a moto server, as they are to AWS.
GLOBAL_NAME_ROLES = ("bucket.backups", "bucket.static-assets", "bucket.tfstate")


def run_inputs(options: TargetOptions, inputs: Inputs) -> Inputs:
    """The inputs a run uses on its target. A moto server (``--target moto --endpoint-url``) may
    serve several runs, one after another or at once: each builds its reference into an account
    of its own (the ``account_id`` input; a fresh one unless given), and its buckets, whose names
    are global to the server, end in that account id (unless an input names them)."""
    if options.kind != "moto" or options.endpoint_url is None:
        return inputs
    account = inputs.account_id or fresh_account_id()
    suffixed = {
        role: f"{inputs.name(role)}-{account}"
        for role in GLOBAL_NAME_ROLES
        if role not in inputs.names
    }
    return inputs.model_copy(update={"account_id": account, "names": inputs.names | suffixed})


def fresh_account_id() -> str:
    """A random 12-digit account id (no leading zero), for a run of its own on a moto server."""
    return str(10**11 + secrets.randbelow(9 * 10**11))


@contextmanager
def _moto(
    options: TargetOptions,
    spec: PhaseSpec,
    inputs: Inputs,
    log: CallLog,
    drift: Drift | None,
    settle: bool,
) -> Iterator[Clients]:
    from fixtures.provision import provision

    region = drift.region if drift and drift.region else options.region
    if options.endpoint_url is not None:
        try:
            built = provision(
                spec.phase,
                region,
                options.endpoint_url,
                inputs,
                options.environment,
                drift,
                account=inputs.account_id,
            )
        except (ClientError, BotoCoreError) as exc:
            raise TargetError(
                f"cannot build the reference into {options.endpoint_url}: {exc}"
            ) from None
        # Read as the provisioner wrote: with the credentials of the run's own account.
        clients = Clients(region, options.endpoint_url, session=built.clients.session, log=log)
        clients.account = inputs.account_id
        yield clients
        return
    from moto import mock_aws

    share_model_loaders()
    with mock_aws():  # sessions must be created inside the mock to be intercepted
        # Read with the provisioner's session (not its clients): botocore loads each service
        # model once per session, and the reading clients ask for the models the building ones
        # loaded.
        session = provision(
            spec.phase, region, None, inputs, options.environment, drift, settle=settle
        ).clients.session
        yield Clients(region, session=session, log=log, in_process=True, emulator=EMBEDDED)


def check_endpoint(url: str) -> None:
    """A malformed --endpoint-url (``http://[::1``, port 99999, ``ftp://``) is a usage error,
    found before botocore would raise on it."""
    validate.endpoint(url, "--endpoint-url")
