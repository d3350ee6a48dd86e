"""A Compose file read with Compose's own semantics, keeping only what the document states.

Implemented from the Compose specification: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
``${VAR:?err}``, ``$VAR`` and ``$$`` interpolation from the process environment and the ``.env``
file beside the Compose file; memory in bytes or with b/k/m/g units (``512M``, ``1g``, ``512mb``);
limits from ``deploy.resources.limits`` (or the legacy ``cpus``/``mem_limit``); ``environment``
as a list or a map; short and long port and volume syntax.

Secrets: of each service's environment only the documented, non-secret variables are kept
(:data:`KEPT_ENVIRONMENT`); every other value is dropped while reading and never reaches a
result, report or evidence. Password flags in a command are masked the same way.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from conformance.errors import UsageError
from conformance.yamlfile import load_yaml

KEPT_ENVIRONMENT = frozenset({"SPRING_PROFILES_ACTIVE", "NODE_ENV"})
SECRET_FLAGS = frozenset({"--requirepass", "--masterauth", "--password"})
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class ComposeService(BaseModel):
    name: str
    image: str | None
    image_raw: str | None
    restart: str | None
    cpus: float | None
    memory_bytes: int | None
    published_ports: list[int]
    environment: dict[str, str]
    command: list[str] | None
    volume_targets: list[str]
    logging_driver: str | None
    logging_options: dict[str, str]


class ComposeProject(BaseModel):
    path: str
    services: dict[str, ComposeService]


def load_compose(path: Path, environ: Mapping[str, str] | None = None) -> ComposeProject:
    """Read ``path``; a YAML or Compose error is one UsageError naming the file (and line)."""
    if not path.is_file():
        raise UsageError(f"--compose-file {path}: no such file")
    raw = load_yaml(path, "--compose-file")
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise UsageError(f"{path}: not a Compose file (no 'services' mapping)")
    variables = {
        **_dotenv(path.parent / ".env"),
        **(environ if environ is not None else os.environ),
    }
    services = {}
    for name, body in raw["services"].items():
        if not isinstance(body, dict):
            raise UsageError(f"{path}: services.{name}: expected a mapping")
        services[str(name)] = _service(path, str(name), body, variables)
    return ComposeProject(path=str(path), services=services)


def _service(
    path: Path, name: str, body: dict[str, Any], variables: Mapping[str, str]
) -> ComposeService:
    def sub(value: Any, key: str) -> str:
        return interpolate(str(value), variables, f"{path}: services.{name}.{key}")

    limits = ((body.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    cpus = limits.get("cpus", body.get("cpus"))
    memory = limits.get("memory", body.get("mem_limit"))
    command = body.get("command")
    logging = body.get("logging") or {}
    return ComposeService(
        name=name,
        image=sub(body["image"], "image") if "image" in body else None,
        image_raw=str(body["image"]) if "image" in body else None,
        restart=sub(body["restart"], "restart") if "restart" in body else None,
        cpus=float(sub(cpus, "cpus")) if cpus is not None else None,
        memory_bytes=(
            memory_bytes(sub(memory, "memory"), f"{path}: services.{name}.memory")
            if memory is not None
            else None
        ),
        published_ports=[
            p for port in body.get("ports") or [] if (p := _published(sub_any(port, sub)))
        ],
        environment=_environment(body.get("environment"), sub),
        command=(
            _mask(
                shlex.split(sub(command, "command"))
                if isinstance(command, str)
                else [sub(c, "command") for c in command]
            )
            if command is not None
            else None
        ),
        volume_targets=[_volume_target(sub_any(v, sub)) for v in body.get("volumes") or []],
        logging_driver=sub(logging["driver"], "logging") if "driver" in logging else None,
        logging_options={
            str(k): sub(v, "logging") for k, v in (logging.get("options") or {}).items()
        },
    )


def sub_any(value: Any, sub: Any) -> Any:
    """Interpolate a short-syntax string, or each value of a long-syntax mapping."""
    if isinstance(value, dict):
        return {k: sub(v, "entry") if isinstance(v, str) else v for k, v in value.items()}
    return sub(value, "entry")


def interpolate(text: str, variables: Mapping[str, str], where: str) -> str:
    """Compose variable substitution; ``${VAR:?msg}`` on an unset variable is a UsageError."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        value = variables.get(name)
        op, arg = match["op"], match["arg"] or ""
        if op in (":-", "-"):
            missing = value is None or (op == ":-" and value == "")
            return arg if missing else str(value)
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise UsageError(f"{where}: required variable {name} is not set ({arg})")
            return str(value)
        return value or ""

    return _VARIABLE.sub(replace, text)


def memory_bytes(text: str, where: str) -> int:
    """Docker's RAMInBytes: a plain number is bytes; k, m and g units are powers of 1024."""
    match = _MEMORY.match(text)
    if not match:
        raise UsageError(f"{where}: {text!r} is not a memory size (e.g. 512M, 1g, 536870912)")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def _environment(value: Any, sub: Any) -> dict[str, str]:
    """Only the documented non-secret variables; other values are dropped unread."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        for item in map(str, value):
            key, sep, text = item.partition("=")
            pairs.append((key, text if sep else None))
    return {
        str(k): sub(v, f"environment.{k}")
        for k, v in pairs
        if k in KEPT_ENVIRONMENT and v is not None
    }


def _mask(args: list[str]) -> list[str]:
    return ["***" if i and args[i - 1] in SECRET_FLAGS else a for i, a in enumerate(args)]


def _published(port: Any) -> int | None:
    if isinstance(port, dict):
        published = port.get("published")
        return int(str(published).split("-")[0]) if published is not None else None
    spec = str(port).split("/")[0]
    parts = spec.rsplit(":", 2)
    return int(parts[-2].split("-")[0]) if len(parts) >= 2 and parts[-2] else None


def _volume_target(volume: Any) -> str:
    if isinstance(volume, dict):
        return str(volume.get("target", ""))
    parts = str(volume).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _dotenv(path: Path) -> dict[str, str]:
    """The ``.env`` file Compose reads for interpolation (KEY=VALUE lines)."""
    if not path.is_file():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            found[key.removeprefix("export ").strip()] = value.strip().strip("'\"")
    return found
