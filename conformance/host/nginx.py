"""nginx.conf, parsed by crossplane (includes resolved) into the few things the document states.

nginx's own inheritance is applied: a location without ``proxy_set_header`` or ``limit_req``
inherits the server's (or http's) directives, as nginx does for these array directives.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import crossplane
from pydantic import BaseModel

from conformance.errors import UsageError
from conformance.yamlfile import require_regular_file, shown

Block = list[dict[str, Any]]


class Location(BaseModel):
    path: str
    where: str
    proxy_pass: str | None
    returns: list[str] | None
    root: str | None  # ``root`` or ``alias``: files served from disk (e.g. certbot's webroot)
    limit_req: list[list[str]]
    headers: dict[str, str]


class Server(BaseModel):
    where: str
    listen: list[list[str]]
    names: list[str]
    settings: dict[str, list[str]]
    returns: list[str] | None
    locations: list[Location]

    def listens_on(self, port: int) -> bool:
        return any(args and args[0].rsplit(":", 1)[-1] == str(port) for args in self.listen)

    @property
    def ssl(self) -> bool:
        return any("ssl" in args[1:] for args in self.listen)


class NginxConfig(BaseModel):
    path: str
    worker_connections: int | None
    zones: dict[str, list[str]]
    upstreams: dict[str, list[str]]
    servers: list[Server]


def load_nginx(path: Path) -> NginxConfig:
    """Parse ``path`` and its includes; any parse error is one UsageError naming file:line."""
    _require_regular_files(path)
    payload = crossplane.parse(str(path), combine=True, check_ctx=True, check_args=True)
    if payload["errors"]:
        first = payload["errors"][0]
        message = str(first["error"]).split(" in /")[0]
        more = len(payload["errors"]) - 1
        extra = f" (and {more} more error{'s' * (more > 1)})" if more else ""
        raise UsageError(f"{first['file']}:{first['line']}: nginx.conf: {message}{extra}")
    parsed: Block = payload["config"][0]["parsed"]
    events = _first(parsed, "events")
    http = _first(parsed, "http")
    connections = _first(events["block"], "worker_connections") if events else None
    http_block: Block = http["block"] if http else []
    return NginxConfig(
        path=str(path),
        worker_connections=_count(connections) if connections else None,
        zones={_zone(d["args"]): d["args"] for d in _all(http_block, "limit_req_zone")},
        upstreams={
            d["args"][0]: [s["args"][0] for s in _all(d["block"], "server")]
            for d in _all(http_block, "upstream")
        },
        servers=[_server(d, http_block) for d in _all(http_block, "server")],
    )


def _require_regular_files(path: Path) -> None:
    """The file and everything it includes must be regular files: crossplane would open a FIFO
    and wait for a writer forever. Each file is scanned alone first, for its includes."""
    pending, seen = [(path, "--nginx-conf")], set()
    while pending:
        current, option = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        require_regular_file(current, option)
        single = crossplane.parse(str(current), single=True, check_ctx=False, check_args=False)
        for directive in _walk(single["config"][0]["parsed"] if single["config"] else []):
            if directive["directive"] == "include" and directive["args"]:
                pattern = path.parent / directive["args"][0]  # relative to the main file's dir
                origin = f"{current}:{directive['line']}: include"
                pending += [(Path(p), origin) for p in sorted(glob.glob(str(pattern)))]


def _walk(block: Block) -> Iterator[dict[str, Any]]:
    for directive in block:
        yield directive
        yield from _walk(directive.get("block") or [])


def _count(directive: dict[str, Any]) -> int:
    """A positive whole number argument, e.g. ``worker_connections 1024;``."""
    value = str(directive["args"][0])
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and int(value) > 0):
        raise UsageError(
            f"{_where(directive)}: nginx.conf: {directive['directive']} {shown(value)} "
            "is not a positive number"
        )
    return int(value)


def _server(directive: dict[str, Any], http: Block) -> Server:
    block: Block = directive["block"]
    names = [n for d in _all(block, "server_name") for n in d["args"]]
    settings = {d["directive"]: d["args"] for d in block if str(d["directive"]).startswith("ssl_")}
    returned = _args(block, "return")
    inherited_headers = _headers(block) or _headers(http)
    inherited_limits = _limits(block) or _limits(http)
    locations = [
        Location(
            path=" ".join(d["args"]),
            where=_where(d),
            proxy_pass=" ".join(_args(d["block"], "proxy_pass") or []) or None,
            returns=_args(d["block"], "return"),
            root=" ".join(_args(d["block"], "root") or _args(d["block"], "alias") or []) or None,
            limit_req=_limits(d["block"]) or inherited_limits,
            headers=_headers(d["block"]) or inherited_headers,
        )
        for d in _all(block, "location")
    ]
    return Server(
        where=_where(directive),
        listen=[d["args"] for d in _all(block, "listen")],
        names=names,
        settings=settings,
        returns=returned,
        locations=locations,
    )


def _headers(block: Block) -> dict[str, str]:
    return {d["args"][0]: " ".join(d["args"][1:]) for d in _all(block, "proxy_set_header")}


def _limits(block: Block) -> list[list[str]]:
    return [d["args"] for d in _all(block, "limit_req")]


def _zone(args: list[str]) -> str:
    zone = next((a for a in args if a.startswith("zone=")), "zone=?")
    return zone.removeprefix("zone=").split(":")[0]


def _where(directive: dict[str, Any]) -> str:
    return f"{directive['file']}:{directive['line']}"


def _all(block: Block, name: str) -> Block:
    return [d for d in block if d["directive"] == name]


def _first(block: Block, name: str) -> dict[str, Any] | None:
    found = _all(block, name)
    return found[0] if found else None


def _args(block: Block, name: str) -> list[str] | None:
    found = _first(block, name)
    return list(found["args"]) if found else None
