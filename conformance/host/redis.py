"""Redis' running configuration, read with ``CONFIG GET`` (redis-py); nothing is written."""

from __future__ import annotations

import redis
from pydantic import BaseModel

from conformance.errors import UsageError
from conformance.host import Unreachable
from conformance.redact import hide_quoted, register_url, scrub


class RedisConfig(BaseModel):
    maxmemory: int
    maxmemory_policy: str
    save: str


def check_url(url: str) -> None:
    """--redis-url as redis-py will read it (scheme, port, query): one usage line, redacted."""
    try:
        redis.ConnectionPool.from_url(url)  # parses only: a pool connects on first use
    except ValueError as exc:
        raise UsageError(f"--redis-url {scrub(url)}: {hide_quoted(str(exc))}") from None


def read_redis(url: str) -> RedisConfig:
    """The three documented settings. redis-py's errors may repeat the URL, password included,
    and a URL it cannot parse is a ValueError quoting a piece of it: Unreachable scrubs both."""
    register_url(url)
    try:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    except ValueError as exc:
        raise Unreachable(f"{url}: {hide_quoted(str(exc))}") from None
    try:
        found = {
            key: str(value)
            for name in ("maxmemory", "maxmemory-policy", "save")
            for key, value in client.config_get(name).items()
        }
    except redis.RedisError as exc:
        raise Unreachable(f"{url}: {exc}") from None
    finally:
        client.close()
    return RedisConfig(
        maxmemory=int(found.get("maxmemory", "0")),
        maxmemory_policy=found.get("maxmemory-policy", ""),
        save=found.get("save", ""),
    )
