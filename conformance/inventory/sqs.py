"""SQS: the project's queues and their dead-letter queues, with redrive policy and tags."""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged


class Queue(BaseModel):
    name: str
    arn: str
    dead_letter_target: str | None  # the RedrivePolicy's deadLetterTargetArn
    tags: dict[str, str]


PAGE_SIZE = 1000  # ListQueues' largest page; without MaxResults AWS returns one page, unpaged


class SqsInventory(Section):
    service = "sqs"
    fans_out = True

    names: list[str]  # the queues listed (project prefix, overrides), to say what is there
    queues: dict[str, Queue]  # the project's documented queues and DLQs that exist, by name

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        """The environment's documented queues and dead-letter queues."""
        own = set(_documented(inputs))
        return [
            Tagged(resource=f"sqs queue {q.name}", tags=q.tags)
            for q in self.queues.values()
            if q.name in own
        ]

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        sqs = clients.client("sqs")
        documented = [n for scoped in inputs.each_environment() for n in _documented(scoped)]
        # Listed by name prefix: an account may hold far more queues than the project's. A
        # documented name outside the project's prefix (a name override) is listed by itself.
        prefixes = {inputs.project} | {n for n in documented if not n.startswith(inputs.project)}
        by_name = {
            url.rsplit("/", 1)[-1]: url
            for prefix in sorted(prefixes)
            for url in _queue_urls(sqs, prefix)
        }
        queues = {}
        for name in documented:
            if name not in by_name:
                continue
            attributes = sqs.get_queue_attributes(QueueUrl=by_name[name], AttributeNames=["All"])[
                "Attributes"
            ]
            redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
            queues[name] = Queue(
                name=name,
                arn=attributes["QueueArn"],
                dead_letter_target=redrive.get("deadLetterTargetArn"),
                tags=sqs.list_queue_tags(QueueUrl=by_name[name]).get("Tags", {}),
            )
        return cls(names=sorted(by_name), queues=queues)


def _documented(inputs: Inputs) -> list[str]:
    """The environment's queue and dead-letter queue names."""
    return [inputs.name(f"{kind}.{q}") for q in inputs.queues for kind in ("queue", "dlq")]


def _queue_urls(sqs: Any, prefix: str) -> list[str]:
    """Every queue whose name starts with ``prefix``, following NextToken."""
    pages = sqs.get_paginator("list_queues").paginate(
        QueueNamePrefix=prefix, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    return [url for page in pages for url in page.get("QueueUrls", [])]
