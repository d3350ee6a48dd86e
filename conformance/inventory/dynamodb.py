"""DynamoDB: the OpenTofu state lock table's key schema and tags."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel

from conformance.aws import Clients
from conformance.inputs import Inputs
from conformance.inventory import Section, Tagged, tags_of


class Table(BaseModel):
    name: str
    arn: str
    hash_key: str | None
    hash_key_type: str | None  # S, N or B
    tags: dict[str, str]


class DynamoDbInventory(Section):
    service = "dynamodb"

    names: list[str]  # every table in the region
    lock_table: Table | None

    def tagged(self, inputs: Inputs) -> list[Tagged]:
        if inputs.environment != "production":
            return []  # the account holds it once, for every environment: production's
        table = self.lock_table
        return [Tagged(resource=f"dynamodb table {table.name}", tags=table.tags)] if table else []

    @classmethod
    def collect(cls, clients: Clients, inputs: Inputs) -> Self:
        dynamodb = clients.client("dynamodb")
        names = [
            n
            for page in dynamodb.get_paginator("list_tables").paginate()
            for n in page["TableNames"]
        ]
        name = inputs.name("lock-table")
        if name not in names:
            return cls(names=names, lock_table=None)
        table = dynamodb.describe_table(TableName=name)["Table"]
        hash_key = next(
            (k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH"), None
        )
        types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        # ListTagsOfResource pages by NextToken (a table may carry up to 50 tags).
        pages = dynamodb.get_paginator("list_tags_of_resource").paginate(
            ResourceArn=table["TableArn"]
        )
        tags = [t for page in pages for t in page.get("Tags", [])]
        return cls(
            names=names,
            lock_table=Table(
                name=name,
                arn=table["TableArn"],
                hash_key=hash_key,
                hash_key_type=types.get(hash_key) if hash_key else None,
                tags=tags_of(tags),
            ),
        )
