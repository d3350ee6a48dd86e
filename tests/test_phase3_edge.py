"""The Phase-3 edge collectors and checks where the kill-matrix does not reach: the X-Ray rule that
applies (moto has none, so a saved inventory holds it), an AWS-shaped CloudFront summary that
needs no GetDistribution, S3 origin domains, what a web ACL enforces, and a missing ALB."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from conformance.aws import Clients
from conformance.checks import Result, Run, load_checks
from conformance.inputs import Inputs
from conformance.inventory import SavedInventory, SavedSnapshot
from conformance.inventory.cloudfront import CloudfrontInventory, bucket_of
from conformance.inventory.wafv2 import Rule, Wafv2Inventory, WebAcl
from conformance.inventory.xray import SamplingRule, XrayInventory
from conformance.runner import execute
from conformance.spec import load_spec
from conformance.targets import TargetOptions

CHECKS = load_checks()
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _rule(name: str, priority: int, rate: float, **matching: str) -> SamplingRule:
    return SamplingRule(name=name, priority=priority, fixed_rate=rate, reservoir_size=1, **matching)


DEFAULT_5 = _rule("Default", 10000, 0.05)


def _sampling(*rules: SamplingRule) -> Result:
    """xray.sampling on a saved inventory holding only these sampling rules."""
    saved = SavedSnapshot.of(
        {
            "region": "us-east-1",
            "sections": {"xray": XrayInventory(rules=list(rules)).model_dump(mode="json")},
            "failures": {},
        },
        origin="a test",
        location="memory",
    )
    inputs = Inputs()
    run = Run(load_spec(3), "production", inputs, SavedInventory(saved, inputs), "inventory")
    return CHECKS["xray.sampling"].run(run)


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param([DEFAULT_5], id="default-5%"),
        pytest.param(
            [DEFAULT_5, _rule("health", 1, 0.0, url_path="/actuator/health")],
            id="a health-check exception at 0%",
        ),
        pytest.param([DEFAULT_5, _rule("other", 1, 1.0, service_name="billing-*")], id="other"),
        pytest.param(
            [
                _rule("Default", 10000, 1.0),
                _rule("services", 10, 0.05, service_name="*-service"),
                _rule("edge", 11, 0.05, service_name="api-gateway"),
                _rule("web", 12, 0.05, service_name="web-?pp"),
            ],
            id="project rules ahead of a 100% Default",
        ),
    ],
)
def test_the_rule_taking_the_services_traffic_is_judged(rules: list[SamplingRule]) -> None:
    result = _sampling(*rules)
    assert result.outcome == "passed", result.describe()


def test_a_service_left_to_a_wrong_default_fails_naming_it() -> None:
    rules = [_rule("Default", 10000, 1.0), _rule("services", 10, 0.05, service_name="*-service")]
    result = _sampling(*rules)
    assert result.outcome == "failed"
    [failure] = result.failures
    assert failure.actual == 1.0
    assert "rule Default (priority 10000), applying to api-gateway, web-app" in failure.subject


def test_without_a_rule_for_all_traffic_the_check_fails() -> None:
    result = _sampling(_rule("health", 1, 0.0, url_path="/health"))
    assert result.outcome == "failed"
    assert "a sampling rule taking all of" in result.describe()


def test_xray_is_not_verifiable_on_the_embedded_target() -> None:
    """moto serves no sampling rules: the check is skipped with the reason, never passed."""
    outcome = execute(
        TargetOptions("moto", "us-east-1", "production"),
        phase=3,
        checks=[CHECKS["xray.sampling"]],
    )
    [result] = outcome.results
    assert result.outcome == "skipped", result.describe()
    assert "GetSamplingRules" in result.message


def test_an_aws_summary_needs_no_get_distribution() -> None:
    """AWS summarises each distribution with its origins and behaviours: one list call, then
    the tags (GetDistribution is for an emulator's abbreviated summary only)."""
    clients = Clients("us-east-1", session=boto3.Session(**KEYS))
    cloudfront = clients.client("cloudfront")
    arn = "arn:aws:cloudfront::123456789012:distribution/E1"
    summary = {
        "Id": "E1",
        "ARN": arn,
        "Status": "Deployed",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
        "DomainName": "d1.cloudfront.net",
        "Aliases": {"Quantity": 1, "Items": ["Assets.Example.com"]},
        "Origins": {
            "Quantity": 1,
            "Items": [{"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com"}],
        },
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "https-only"},
        "CacheBehaviors": {"Quantity": 0},
        "CustomErrorResponses": {"Quantity": 0},
        "Comment": "",
        "PriceClass": "PriceClass_100",
        "Enabled": True,
        "ViewerCertificate": {},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "",
        "HttpVersion": "http2",
        "IsIPV6Enabled": True,
        "Staging": False,
    }
    listing = {
        "DistributionList": {
            "Marker": "",
            "MaxItems": 100,
            "IsTruncated": False,
            "Quantity": 1,
            "Items": [summary],
        }
    }
    tags = {"Tags": {"Items": [{"Key": "Environment", "Value": "prod"}]}}
    with Stubber(cloudfront) as stub:
        stub.add_response("list_distributions", listing)
        stub.add_response("list_tags_for_resource", tags, {"Resource": arn})
        found = CloudfrontInventory.collect(clients, Inputs())
    [distribution] = found.distributions
    assert (distribution.enabled, distribution.aliases) == (True, ["assets.example.com"])
    assert [o.domain for o in distribution.routed_origins()] == ["b.s3.us-east-1.amazonaws.com"]
    assert distribution.tags == {"Environment": "prod"}
    assert [c.operation for c in clients.log.calls] == ["ListDistributions", "ListTagsForResource"]


@pytest.mark.parametrize(
    ("domain", "bucket"),
    [
        ("assets.s3.amazonaws.com", "assets"),
        ("assets.s3.eu-west-1.amazonaws.com", "assets"),
        ("my.assets.s3.us-east-1.amazonaws.com", "my.assets"),
        ("assets.s3-website-us-east-1.amazonaws.com", None),
        ("assets.s3.example.com", None),
        ("app-1.us-east-1.elb.amazonaws.com", None),
    ],
)
def test_s3_rest_origins_name_their_bucket(domain: str, bucket: str | None) -> None:
    assert bucket_of(domain) == bucket


def _acl(default: str, *rules: Rule) -> WebAcl:
    return WebAcl(arn="arn", name="acl", default_action=default, rules=list(rules), tags={})


def _waf_rule(action: str | None = None, override: str | None = None) -> Rule:
    return Rule(name="r", priority=0, statement="s", action=action, override_action=override)


@pytest.mark.parametrize(
    ("acl", "protects"),
    [
        (_acl("Allow"), False),
        (_acl("Block"), True),
        (_acl("Allow", _waf_rule(action="Count"), _waf_rule(action="Allow")), False),
        (_acl("Allow", _waf_rule(action="Block")), True),
        (_acl("Allow", _waf_rule(action="Challenge")), True),
        (_acl("Allow", _waf_rule(override="Count")), False),
        (_acl("Allow", _waf_rule(override="None")), True),
    ],
)
def test_a_web_acl_protects_only_by_blocking_something(acl: WebAcl, protects: bool) -> None:
    assert acl.protects is protects


def test_an_environment_without_its_alb_has_no_association_to_read() -> None:
    with mock_aws():
        clients = Clients("us-east-1", session=boto3.Session(**KEYS), in_process=True)
        found = Wafv2Inventory.collect(clients, Inputs())
    assert found.associations == [] and found.web_acls == []
    assert [c.operation for c in clients.log.calls] == ["DescribeLoadBalancers"]
