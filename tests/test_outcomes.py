"""Every check ends with a recorded outcome, whatever is raised, and a failed section is
collected once.

A check that raises (a bug, an inventory it did not foresee, a host reader's exception) ends
"error" naming the exception; a collector that raises (a response botocore cannot parse, a cut
connection, a bug) makes its section's recorded failure, reused by every check that needs the
section, without calling the service again. Each Result is scrubbed of secrets at the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.parsers import ResponseParserError
from moto import mock_aws

from conformance import redact
from conformance.aws import Clients
from conformance.checks import Check, CheckContext, Run, load_checks
from conformance.errors import TargetError
from conformance.guard import MutationRefused
from conformance.inputs import Inputs
from conformance.inventory import Inventory, NotCollected
from conformance.inventory.logs import LogsInventory
from conformance.spec import load_spec
from conformance.targets import FAKE_CREDENTIALS

UNPARSABLE = (
    "Unable to parse response (syntax error: line 1, column 38), invalid XML received. "
    "Further retries may succeed:\nb'<DescribeLogGroupsResponse><logGroups>half an answ'"
)


@pytest.fixture
def clients() -> Iterator[Clients]:
    """Clients of an empty in-process moto account: real calls, nothing sent anywhere."""
    with mock_aws():
        yield Clients("us-east-1", None, session=boto3.Session(**FAKE_CREDENTIALS))


def _run(clients: Clients) -> Run:
    inputs = Inputs()
    return Run(load_spec(1), "production", inputs, Inventory(clients, inputs), "test")


def _check(function: Any) -> Check[Any]:
    return Check("t.check", "a test check", "low", "fix it", lambda env: env.network, function, "t")


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (KeyError("Vpcs"), "KeyError: 'Vpcs'"),
        (ValueError("invalid literal for int() with base 10: 'abc'"), "ValueError: invalid"),
        (ResponseParserError(UNPARSABLE), "ResponseParserError: Unable to parse response"),
        (MutationRefused("refused before sending: ec2:CreateVpc"), "refused before sending"),
    ],
    ids=["bug", "odd-value", "unparsable-answer", "guard-refusal"],
)
def test_a_check_that_raises_ends_in_error_naming_the_exception(
    clients: Clients, raised: Exception, message: str
) -> None:
    def crashes(ctx: CheckContext, group: Any) -> None:
        raise raised

    result = _check(crashes).run(_run(clients))
    assert result.outcome == "error"
    assert result.message.startswith(message)
    assert "\n" not in result.message  # one line: the unparsable body is not shown
    network = load_spec(1).environment("production").network
    assert network is not None and result.section == network.section


def test_a_section_whose_collector_raises_is_collected_once_and_every_check_errors_alike(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def collect(cls: type[LogsInventory], clients: Clients, inputs: Inputs) -> LogsInventory:
        attempts.append(1)
        clients.client("logs").describe_log_groups()  # a real call, then an answer that breaks
        raise ResponseParserError(UNPARSABLE)

    monkeypatch.setattr(LogsInventory, "collect", classmethod(collect))
    run = _run(clients)
    results = [c.run(run) for c in load_checks().values()]

    failure = run.inventory.failures["logs"]
    assert failure.kind == "error"
    assert failure.message == (
        "logs:DescribeLogGroups failed: ResponseParserError: Unable to parse response (syntax "
        "error: line 1, column 38), invalid XML received. Further retries may succeed"
    )
    needing_logs = [r for r in results if r.message == failure.message]
    assert {r.outcome for r in needing_logs} == {"error"}
    assert {"logs.group.present", "tags.project"} <= {r.check.id for r in needing_logs}
    assert attempts == [1]
    logs_calls = [c for c in run.inventory.clients.log.calls if c.service == "logs"]
    assert len(logs_calls) == 1
    with pytest.raises(NotCollected, match="logs:DescribeLogGroups failed"):
        run.inventory.get(LogsInventory)
    assert attempts == [1]


def test_a_result_is_scrubbed_of_registered_secrets_in_every_field(clients: Clients) -> None:
    secret = "planted-outcome-secret-7f3a"
    redact.register(secret)

    def leaks(ctx: CheckContext, group: Any) -> None:
        ctx.expect(
            group.vpc_cidr,
            {f"redis://:{secret}@cache:6379": [secret], "plain": {secret}},
            subject=f"value {secret}",
            ok=False,
        )

    result = _check(leaks).run(_run(clients))
    assert result.outcome == "failed"
    assert secret not in result.describe()
    assert secret not in str(result.as_json())
    assert result.comparisons[0].actual == {
        "redis://:***@cache:6379": ["***"],
        "plain": {"***"},
    }


def test_an_exception_message_carrying_a_secret_is_scrubbed(clients: Clients) -> None:
    def crashes(ctx: CheckContext, group: Any) -> None:
        raise ConnectionError("could not connect to postgresql://app:hunter2-planted@db:5432/app")

    result = _check(crashes).run(_run(clients))
    assert result.outcome == "error"
    assert "hunter2-planted" not in result.message
    assert "postgresql://app:***@db:5432/app" in result.message


def test_missing_credentials_stop_the_section_once_as_a_target_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clients = Clients("us-east-1", "http://127.0.0.1:9", session=boto3.Session())
    inventory = Inventory(clients, Inputs())
    with pytest.raises(TargetError, match="no AWS credentials found"):
        inventory.get(LogsInventory)
    with pytest.raises(NotCollected, match="no AWS credentials found"):
        inventory.get(LogsInventory)
    assert [c.action for c in clients.log.calls] == ["logs:DescribeLogGroups"]
