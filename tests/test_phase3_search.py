"""The OpenSearch collector describes the environments' own domains only, and a setting the
target does not report is skipped as not verifiable, never passed nor failed. (That each
documented value can fail is the kill-matrix's job.)"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from conformance.aws import Clients
from conformance.checks import Result, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import Inventory
from conformance.inventory.opensearch import Domain, DomainStatus, OpensearchInventory
from conformance.spec import PhaseSpec, load_spec

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
BOTH = Inputs().collected(("production", "staging"))


@pytest.fixture
def account() -> Iterator[Any]:
    """Production's and staging's domains (tagged), and another team's."""
    with mock_aws():
        opensearch = boto3.Session(**KEYS).client("opensearch", region_name="us-east-1")
        for name in ("accountabilityatlas", "accountabilityatlas-staging", "other-team-search"):
            opensearch.create_domain(DomainName=name, TagList=[{"Key": "Owner", "Value": name}])
        yield opensearch


def _collect(inputs: Inputs) -> tuple[OpensearchInventory, list[tuple[str, dict[str, Any]]]]:
    clients = Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)
    opensearch = clients.client("opensearch")
    sent: list[tuple[str, dict[str, Any]]] = []

    def capture(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, dict(params)))

    opensearch.meta.events.register("before-parameter-build.opensearch", capture)
    return OpensearchInventory.collect(clients, inputs), sent


def test_only_the_environments_domains_are_described_in_one_call(account: Any) -> None:
    section, sent = _collect(BOTH)
    operations = [operation for operation, _ in sent]
    assert operations.count("ListDomainNames") == 1
    assert operations.count("DescribeDomains") == 1
    assert operations.count("ListTags") == 2
    described = next(params for operation, params in sent if operation == "DescribeDomains")
    assert sorted(described["DomainNames"]) == [
        "accountabilityatlas",
        "accountabilityatlas-staging",
    ]
    other = section.domain("other-team-search")
    assert other is not None and other.status is None  # listed for absent.opensearch only


def test_an_account_without_the_projects_domain_costs_only_the_name_list(account: Any) -> None:
    for name in ("accountabilityatlas", "accountabilityatlas-staging"):
        account.delete_domain(DomainName=name)
    section, sent = _collect(Inputs())
    assert [operation for operation, _ in sent] == ["ListDomainNames"]
    assert [d.name for d in section.domains] == ["other-team-search"]


def test_each_environment_is_tagged_with_its_own_domain_only(account: Any) -> None:
    section, _ = _collect(BOTH)
    for environment in ("production", "staging"):
        inputs = BOTH.for_environment(environment)
        tagged = section.tagged(inputs)
        name = inputs.name("search")
        assert [t.resource for t in tagged] == [f"OpenSearch domain {name}"]
        assert tagged[0].tags == {"Owner": name}


@cache
def _phase_3() -> PhaseSpec:
    return load_spec(3)


def _judged(check_id: str, **reported: Any) -> Result:
    """The production check against a domain reported with these settings, the rest as
    documented."""
    status = DomainStatus(
        arn="arn:aws:es:us-east-1:123456789012:domain/accountabilityatlas",
        instance_type="r6g.large.search",
        instance_count=3,
        ebs_enabled=True,
        volume_size_gb=100,
        encryption_at_rest=True,
        node_to_node_encryption=True,
        enforce_https=True,
        fine_grained_access=True,
        tags={},
    )
    domain = Domain(name="accountabilityatlas", engine="OpenSearch", status=status)
    inputs = Inputs()
    inventory = Inventory(Clients("us-east-1", "http://127.0.0.1:9"), inputs)  # never called
    inventory.sections["opensearch"] = OpensearchInventory(
        domains=[domain.model_copy(update={"status": status.model_copy(update=reported)})]
    )
    run = Run(_phase_3(), "production", inputs, inventory, "test")
    return load_checks()[check_id].run(run)


@pytest.mark.parametrize(
    ("check_id", "unreported", "what"),
    [
        ("search.fine_grained_access", "fine_grained_access", "advanced security options"),
        ("search.storage", "volume_size_gb", "EBS volume size"),
        ("search.encryption", "enforce_https", "HTTPS required"),
    ],
)
def test_a_setting_the_target_does_not_report_is_not_verifiable(
    check_id: str, unreported: str, what: str
) -> None:
    result = _judged(check_id, **{unreported: None})
    assert result.outcome == "skipped"
    assert result.message == (
        f"not verifiable on this target: DescribeDomains reports no {what} for domain "
        "accountabilityatlas"
    )


def test_an_unreported_encryption_setting_does_not_hide_a_failing_one() -> None:
    result = _judged("search.encryption", enforce_https=None, node_to_node_encryption=False)
    assert result.outcome == "failed"
    assert [c.subject for c in result.failures] == [
        "OpenSearch domain accountabilityatlas node-to-node encryption"
    ]


def test_a_domain_on_instance_storage_fails_the_storage_check() -> None:
    result = _judged("search.storage", ebs_enabled=False, volume_size_gb=None)
    assert result.outcome == "failed"
    assert result.failures[0].actual == "no EBS volume (instance storage)"
