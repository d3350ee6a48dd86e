"""Targets: where the inventory is read from.

- ``moto``: in-process moto holding the phase's reference environment (with ``--drift``, with
  that drift applied); with ``--endpoint-url``, a local moto server the reference is built into.
- ``localstack``: a running LocalStack; never provisioned by the suite.
- ``aws``: the live account through the standard credential chain, read-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

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

from conformance import localstack
from conformance.aws import CallLog, Clients
from conformance.errors import TargetError, UsageError
from conformance.inputs import Inputs
from conformance.spec import PhaseSpec

TargetKind = Literal["moto", "localstack", "aws"]
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class TargetOptions:
    kind: TargetKind
    region: str
    environment: str
    endpoint_url: str | None = None
    drift: str | None = None
    profile: str | None = None
    expect_account: str | None = None

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        drift = f" with drift {self.drift}" if self.drift else ""
        return f"{self.kind}{where} ({self.region}){drift}"


@contextmanager
def open_target(
    options: TargetOptions, spec: PhaseSpec, inputs: Inputs, log: CallLog
) -> Iterator[Clients]:
    """Yield read-only clients for the target, set up (and torn down) as the kind requires."""
    if options.drift and options.kind != "moto":
        raise UsageError("--drift applies to the embedded moto target only (--target moto)")
    if options.kind == "moto":
        with _moto(options, spec, inputs, log) as clients:
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
UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


def _live(options: TargetOptions, inputs: Inputs, log: CallLog) -> Clients:
    """The live account: credentials and account are checked once, before any check runs."""
    try:
        session = boto3.Session(profile_name=options.profile)
    except ProfileNotFound as exc:
        raise UsageError(f"{exc} (named by --profile or AWS_PROFILE)") from None
    preflight = Clients(
        options.region, options.endpoint_url, session=session, log=log, config=PREFLIGHT_CONFIG
    )
    account = _caller_account(preflight, options.endpoint_url or f"AWS STS in {options.region}")
    expected = options.expect_account or inputs.account_id
    if expected and account != expected:
        raise TargetError(
            f"refusing to run: the credentials are for account {account}, not the expected "
            f"{expected} (--expect-account or the account_id input)"
        )
    clients = Clients(options.region, options.endpoint_url, session=session, log=log)
    clients.account = account
    return clients


def _caller_account(clients: Clients, where: str) -> str:
    """The account the credentials belong to (sts:GetCallerIdentity needs no permission)."""
    try:
        return str(clients.client("sts").get_caller_identity()["Account"])
    except NoCredentialsError:
        raise TargetError(
            "no AWS credentials found (looked at --profile, AWS_* environment variables, the "
            "shared config and credentials files, web identity, container and instance roles)"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise TargetError(
            f"the AWS credentials were rejected ({error.get('Code')}: {error.get('Message')}); "
            "refresh them or choose another --profile"
        ) from None
    except UNREACHABLE as exc:
        raise TargetError(f"cannot reach {where}: {exc}") from None
    except BotoCoreError as exc:
        raise TargetError(f"could not obtain AWS credentials: {exc}") from None


@contextmanager
def _moto(
    options: TargetOptions, spec: PhaseSpec, inputs: Inputs, log: CallLog
) -> Iterator[Clients]:
    from fixtures.drifts import get_drift
    from fixtures.provision import provision

    drift = get_drift(options.drift, spec.phase) if options.drift else None
    region = drift.region if drift and drift.region else options.region
    if options.endpoint_url is not None:
        provision(spec.phase, region, options.endpoint_url, inputs, options.environment, drift)
        session = boto3.Session(**FAKE_CREDENTIALS)
        yield Clients(region, options.endpoint_url, session=session, log=log)
        return
    from moto import mock_aws

    with mock_aws():  # sessions must be created inside the mock to be intercepted
        provision(spec.phase, region, None, inputs, options.environment, drift)
        yield Clients(region, None, session=boto3.Session(**FAKE_CREDENTIALS), log=log)


def check_endpoint(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise TargetError(f"--endpoint-url {url!r}: expected http(s)://host[:port]")
