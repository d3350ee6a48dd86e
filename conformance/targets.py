"""Targets: where the inventory is read from.

- ``moto``: in-process moto holding the phase's reference environment (with ``--drift``, with
  that drift applied); with ``--endpoint-url``, a local moto server the reference is built into.
- ``localstack``: a running LocalStack; never provisioned by the suite.
- ``aws``: the live account through the standard credential chain, read-only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

import boto3

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

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        drift = f" with drift {self.drift}" if self.drift else ""
        return f"{self.kind}{where} ({self.region}){drift}"


def localstack_endpoint() -> str:
    """LocalStack's endpoint from AWS_ENDPOINT_URL or LOCALSTACK_HOST, else localhost:4566."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"]
    host = os.environ.get("LOCALSTACK_HOST", "localhost:4566")
    return host if "://" in host else f"http://{host}"


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
        endpoint = options.endpoint_url or localstack_endpoint()
        session = boto3.Session(**FAKE_CREDENTIALS)
        yield Clients(options.region, endpoint, session=session, log=log)
        return
    yield Clients(
        options.region,
        options.endpoint_url,
        session=boto3.Session(profile_name=options.profile),
        log=log,
    )


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
