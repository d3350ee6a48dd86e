"""Redis' running configuration, read with ``CONFIG GET`` (redis-py); nothing is written."""

from __future__ import annotations

import redis
from pydantic import BaseModel

from conformance.host import Unreachable, redact


class RedisConfig(BaseModel):
    maxmemory: int
    maxmemory_policy: str
    save: str


def read_redis(url: str) -> RedisConfig:
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        found = {
            key: str(value)
            for name in ("maxmemory", "maxmemory-policy", "save")
            for key, value in client.config_get(name).items()
        }
    except redis.RedisError as exc:
        raise Unreachable(f"{redact(url)}: {exc}") from None
    finally:
        client.close()
    return RedisConfig(
        maxmemory=int(found.get("maxmemory", "0")),
        maxmemory_policy=found.get("maxmemory-policy", ""),
        save=found.get("save", ""),
    )
