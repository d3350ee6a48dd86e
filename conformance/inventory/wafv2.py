"""AWS WAF (v2): the web ACL associated with each environment's load balancer, with its rules.

Read from the load balancer's side: per environment, DescribeLoadBalancers by the ALB's name
(its ARN) and GetWebACLForResource, which answers the whole web ACL (default action and rules),
then the ACL's tags. The ACL's side (ListWebACLs, then ListResourcesForWebACL and GetWebACL for
every ACL of the account, other projects' included) costs more calls and is not implemented by
moto 5.2. The load balancer's ARN is read again by name because a collector reads no other
section; an environment without its ALB has no association to read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import ClientError
from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

if TYPE_CHECKING:
    from conformance.spec import EnvironmentSpec

# Actions of a rule (or of an ACL's default) that stop or challenge a request.
ENFORCING_ACTIONS = frozenset({"Block", "Captcha", "Challenge"})


class Rule(BaseModel):
    name: str
    priority: int
    statement: str  # its kind, and for a rule group which one: "ManagedRuleGroup AWS/…"
    action: str | None  # a plain rule's: Allow, Block, Count, Captcha or Challenge
    override_action: str | None  # a rule group's: None (its own actions apply) or Count

    @property
    def enforces(self) -> bool:
        """Whether the rule can stop a request: a rule group whose actions are not overridden
        to Count, or a rule that blocks or challenges. Count and Allow rules only observe."""
        if self.override_action is not None:
            return self.override_action == "None"
        return self.action in ENFORCING_ACTIONS


class WebAcl(BaseModel):
    arn: str
    name: str
    default_action: str  # Allow or Block
    rules: list[Rule]
    tags: dict[str, str]

    @property
    def protects(self) -> bool:
        """An ACL that allows by default protects only through a rule that enforces."""
        return self.default_action == "Block" or any(r.enforces for r in self.rules)


class Association(BaseModel):
    load_balancer: str  # the ALB's name
    load_balancer_arn: str
    web_acl_arn: str | None


class Wafv2Inventory(Section):
    service = "wafv2"

    associations: list[Association]
    web_acls: list[WebAcl]

    @classmethod
    def documented(cls, env: EnvironmentSpec) -> bool:
        return env.firewall is not None

    def for_resource(self, arn: str) -> WebAcl | None:
        """The web ACL associated with the resource ``arn``, if any."""
        association = next((a for a in self.associations if a.load_balancer_arn == arn), None)
        if association is None or association.web_acl_arn is None:
            return None
        return next((w for w in self.web_acls if w.arn == association.web_acl_arn), None)

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The web ACL of this environment's load balancer."""
        name = inputs.name("alb")
        return [
            Tagged(resource=f"web ACL {acl.name}", tags=acl.tags)
            for association in self.associations
            if association.load_balancer == name
            and (acl := self.for_resource(association.load_balancer_arn)) is not None
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        elbv2, wafv2 = clients.client("elbv2"), clients.client("wafv2")
        associations: list[Association] = []
        found: dict[str, dict[str, Any]] = {}
        for environment in inputs.each_environment():
            arn = _load_balancer_arn(elbv2, environment.name("alb"))
            if arn is None:
                continue
            acl = wafv2.get_web_acl_for_resource(ResourceArn=arn).get("WebACL")
            if acl is not None:
                found.setdefault(acl["ARN"], acl)
            associations.append(
                Association(
                    load_balancer=environment.name("alb"),
                    load_balancer_arn=arn,
                    web_acl_arn=acl["ARN"] if acl is not None else None,
                )
            )
        return cls(
            associations=associations,
            web_acls=[_web_acl(acl, _tags(wafv2, arn)) for arn, acl in found.items()],
        )


def _load_balancer_arn(elbv2: Any, name: str) -> str | None:
    try:
        found = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "LoadBalancerNotFound":
            return None
        raise
    return str(found[0]["LoadBalancerArn"]) if found else None


def _tags(wafv2: Any, arn: str) -> dict[str, str]:
    """The ACL's tags, every page (ListTagsForResource pages by NextMarker; boto3 has no
    paginator for it)."""
    tags: list[dict[str, str]] = []
    marker: dict[str, str] = {}
    while True:
        answer = wafv2.list_tags_for_resource(ResourceARN=arn, **marker)
        tags += answer.get("TagInfoForResource", {}).get("TagList", [])
        if not answer.get("NextMarker"):
            return tags_of(tags)
        marker = {"NextMarker": answer["NextMarker"]}


def _web_acl(acl: dict[str, Any], tags: dict[str, str]) -> WebAcl:
    return WebAcl(
        arn=acl["ARN"],
        name=acl.get("Name", ""),
        default_action=_only_key(acl.get("DefaultAction")) or "(none)",
        rules=[_rule(r) for r in acl.get("Rules", [])],
        tags=tags,
    )


def _rule(rule: dict[str, Any]) -> Rule:
    return Rule(
        name=rule.get("Name", ""),
        priority=rule.get("Priority", 0),
        statement=_statement(rule.get("Statement") or {}),
        action=_only_key(rule.get("Action")),
        override_action=_only_key(rule.get("OverrideAction")),
    )


def _only_key(choice: dict[str, Any] | None) -> str | None:
    """Which member a WAF union (an action, a statement) sets: its one key."""
    return next(iter(choice), None) if choice else None


def _statement(statement: dict[str, Any]) -> str:
    """The statement's kind, naming the rule group a rule-group statement uses."""
    kind = _only_key(statement) or "(none)"
    body = statement.get(kind) or {}
    kind = kind.removesuffix("Statement")
    if "VendorName" in body:
        return f"{kind} {body['VendorName']}/{body.get('Name', '')}"
    if "ARN" in body and kind == "RuleGroupReference":
        return f"{kind} {body['ARN'].rsplit('/', 2)[-2]}"
    return kind
