"""SNS: topics, their subscriptions, and the tags of the project's alarm topic.

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
    tags: dict[str, str] | None  # read for the project's alarm topic only


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

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        return [
            Tagged(resource=f"sns-topic {t.name}", tags=t.tags)
            for t in self.topics
            if t.tags is not None
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        sns = clients.client("sns")
        arns = [
            t["TopicArn"]
            for page in sns.get_paginator("list_topics").paginate()
            for t in page["Topics"]
        ]
        project_topic = inputs.name("alarm-topic")
        topics = []
        for arn in arns:
            name = arn.rsplit(":", 1)[-1]
            tags = None
            if name == project_topic:
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
