"""SNS: topics, their subscriptions (each with its protocol: Phase 3's critical alarms reach an
SMS one, every alarm an email one), and the tags of each environment's alarm topic.

Subscription endpoints of the person-addressed protocols (email, SMS) are masked when collected,
so no address reaches a failure message or the evidence.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of

PERSONAL_PROTOCOLS = frozenset({"email", "email-json", "sms"})
PENDING = "PendingConfirmation"


class Topic(BaseModel):
    arn: str
    name: str
    tags: dict[str, str] | None  # read for the environments' alarm topics only


class Subscription(BaseModel):
    topic_arn: str
    protocol: str
    endpoint: str  # masked for email and SMS
    confirmed: bool


class SnsInventory(Section):
    service = "sns"

    topics: list[Topic]
    subscriptions: list[Subscription]

    def topic(self, name: str) -> Topic | None:
        return next((t for t in self.topics if t.name == name), None)

    def subscriptions_of(self, topic_arns: list[str]) -> list[Subscription]:
        return [s for s in self.subscriptions if s.topic_arn in topic_arns]

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """This environment's alarm topic."""
        return [
            Tagged(resource=f"sns-topic {t.name}", tags=t.tags)
            for t in self.topics
            if t.tags is not None and t.name == inputs.name("alarm-topic")
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        sns = clients.client("sns")
        arns = [
            t["TopicArn"]
            for page in sns.get_paginator("list_topics").paginate()
            for t in page["Topics"]
        ]
        alarm_topics = {env.name("alarm-topic") for env in inputs.each_environment()}
        topics = []
        for arn in arns:
            name = arn.rsplit(":", 1)[-1]
            tags = None
            if name in alarm_topics:
                tags = tags_of(sns.list_tags_for_resource(ResourceArn=arn).get("Tags"))
            topics.append(Topic(arn=arn, name=name, tags=tags))
        return cls(
            topics=topics,
            subscriptions=[
                Subscription(
                    topic_arn=s["TopicArn"],
                    protocol=s["Protocol"],
                    endpoint=_mask(s["Protocol"], s.get("Endpoint", "")),
                    confirmed=s.get("SubscriptionArn", PENDING) != PENDING,
                )
                for page in sns.get_paginator("list_subscriptions").paginate()
                for s in page["Subscriptions"]
            ],
        )


def _mask(protocol: str, endpoint: str) -> str:
    """``ops@example.com`` -> ``o***@example.com``; a phone number keeps its last two digits."""
    if protocol not in PERSONAL_PROTOCOLS:
        return endpoint
    local, at, domain = endpoint.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return f"***{endpoint[-2:]}"
