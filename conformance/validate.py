"""Validation of the options that name a place: a region, an endpoint, the evidence directory.

Each is checked when the run is configured, before any target is opened or file written, so a
typo is one line naming the option (exit 4) rather than a traceback from botocore or a write
into the wrong directory.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import tempfile
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from botocore.loaders import Loader

from conformance.errors import UsageError

_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?")


@cache
def _region_shapes() -> tuple[re.Pattern[str], ...]:
    """The region name pattern of every AWS partition (aws, aws-cn, aws-us-gov, iso …), as
    botocore ships them."""
    partitions = Loader().load_data("partitions")["partitions"]
    return tuple(re.compile(p["regionRegex"], re.ASCII) for p in partitions)


def is_region(name: str) -> bool:
    """Whether ``name`` is shaped like an AWS region of some partition (us-east-1,
    us-gov-west-1, cn-north-1 …)."""
    return any(shape.fullmatch(name) for shape in _region_shapes())


def region(name: str, option: str = "--region") -> str:
    """``name``, if it is a region name; else a UsageError naming ``option``."""
    if not is_region(name):
        raise UsageError(
            f"{option} {name!r}: not an AWS region name (e.g. us-east-1, us-gov-west-1, cn-north-1)"
        )
    return name


def endpoint(url: str, option: str = "--endpoint-url") -> str:
    """``url`` if it is ``http(s)://host[:port][/path]`` with a valid host and port 1-65535."""
    if "@" in url:  # not shown: before the @ would be a user and password
        raise UsageError(f"{option}: expected http(s)://host[:port], without user or password")
    shape = f"{option} {url!r}: expected http(s)://host[:port]"
    if not url.isprintable() or any(c.isspace() for c in url):
        raise UsageError(f"{shape} (it contains a space or control character)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", …
        raise UsageError(f"{shape} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(shape)
    if port == 0 or (port is None and parts.netloc.endswith(":")):
        raise UsageError(f"{shape} (the port must be 1-65535)")
    if parts.query or parts.fragment:
        raise UsageError(f"{shape} (no query or fragment)")
    if not _valid_host(parts.hostname, bracketed=parts.netloc.startswith("[")):
        raise UsageError(f"{shape} ({parts.hostname!r} is not a host name or IP address)")
    return url


def host_port(text: str, option: str) -> str:
    """``text`` if it is ``HOST:PORT`` (``[::1]:443`` for IPv6) with a valid host and port."""
    if "@" in text:  # not shown: before the @ is a credential
        raise UsageError(f"{option}: expected HOST:PORT, without user or password")
    shape = f"{option} {text!r}: expected HOST:PORT"
    if not text.isprintable() or any(c.isspace() for c in text) or "/" in text:
        raise UsageError(shape)
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{shape} ({exc})") from None
    if not parts.hostname or port is None or not 0 < port <= 65535:
        raise UsageError(f"{shape} (a port 1-65535)" if parts.hostname else shape)
    if not _valid_host(parts.hostname, bracketed=text.startswith("[")):
        raise UsageError(f"{shape} ({parts.hostname!r} is not a host name or IP address)")
    return text


def _valid_host(host: str, bracketed: bool) -> bool:
    if bracketed:
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return bool(_HOSTNAME.fullmatch(host))


def nonempty_path(text: str) -> Path:
    """argparse type of a path option where an empty value must not mean the current
    directory (``--evidence=`` is a mistake, not a request to write here)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; name a directory")
    return Path(text)


def writable_directory(path: Path, option: str) -> Path:
    """Create ``path`` if needed and prove a file can be written there (the probe is removed),
    so that a run does not end by failing to write its evidence."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".conformance-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"{option} {path}: cannot write there: {reason}") from None
    return path
