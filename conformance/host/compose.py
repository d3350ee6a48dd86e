"""A Compose file read with Compose's own semantics, keeping only what the document states.

Implemented from the Compose specification: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
``${VAR:?err}``, ``$VAR`` and ``$$`` interpolation from the process environment and the ``.env``
file beside the Compose file; memory in bytes or with b/k/m/g units (``512M``, ``1g``, ``512mb``);
limits from ``deploy.resources.limits`` (or the legacy ``cpus``/``mem_limit``); ``environment``
as a list or a map; short and long port and volume syntax; ``expose``; ``depends_on`` as a list
or a map; ``env_file`` entries relative to the Compose file. A value of the wrong type (``deploy:
x``, ``ports: '8080:80'``, a port of 70000) is one usage error naming the file, line and key.

Secrets: a value is interpolated only where it must be parsed or compared as Compose would see it
(image, restart, limits, ports, volumes, the logging driver and its awslogs options, and the
documented non-secret variables of :data:`KEPT_ENVIRONMENT`). Everything else that could carry a
secret keeps the text as written (a command shows ``--requirepass ${REDIS_PASSWORD}``, a logging
option ``${SPLUNK_TOKEN}``); other environment values are dropped while reading and never reach a
result, report or evidence, and a password flag's literal value in a command is masked. Of the
variables a container receives (``environment`` and the ``env_file`` files) only the names are
kept, so that the secrets can be checked to reach their services without reading one.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from conformance.errors import UsageError
from conformance.yamlfile import YamlDocument, dotted, load_yaml, read_text, shown

# The profiles, and the port variables of Spring Boot (server.port) and Node (web-app).
KEPT_ENVIRONMENT = frozenset({"SPRING_PROFILES_ACTIVE", "NODE_ENV", "SERVER_PORT", "PORT"})
KEPT_LOGGING_OPTIONS = frozenset(
    {"awslogs-region", "awslogs-group", "awslogs-stream", "awslogs-stream-prefix"}
)
SECRET_FLAGS = frozenset({"--requirepass", "--masterauth", "--password"})
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_REFERENCE = re.compile(r"\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_PORTS = re.compile(r"(?P<start>\d{1,5})(?:-(?P<end>\d{1,5}))?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")  # an environment variable's name
Loc = tuple[str, ...]


class Mount(BaseModel):
    """One ``volumes`` entry of a service."""

    source: str | None  # a host path or a named volume; None for an anonymous volume
    target: str
    read_only: bool


class ComposeService(BaseModel):
    name: str
    image: str | None
    image_raw: str | None
    restart: str | None
    cpus: float | None
    memory_bytes: int | None
    published_ports: list[int]  # host ports; 0 where Docker picks one (no host port given)
    container_ports: list[int]  # ``expose`` and the targets of ``ports``
    environment: dict[str, str]  # KEPT_ENVIRONMENT only
    variable_names: list[str]  # of ``environment`` and the env_file files; values never kept
    unread_env_files: list[str]  # env_file files absent here (e.g. not copied over SSH)
    command: list[str] | None  # as written, password flags masked
    volumes: list[Mount]
    depends_on: list[str]
    logging_driver: str | None
    logging_options: dict[str, str]  # awslogs options interpolated, the others as written


class ComposeProject(BaseModel):
    path: str
    services: dict[str, ComposeService]


def load_compose(path: Path, environ: Mapping[str, str] | None = None) -> ComposeProject:
    """Read ``path``; a YAML or Compose error is one UsageError naming the file, line and key."""
    doc = load_yaml(path, "--compose-file")
    services = doc.data.get("services") if isinstance(doc.data, dict) else None
    if not isinstance(services, dict):
        raise UsageError(f"{doc.where(('services',))}: not a Compose file (no 'services' mapping)")
    variables = {
        **_dotenv(path.parent / ".env"),
        **(environ if environ is not None else os.environ),
    }
    return ComposeProject(
        path=str(path),
        services={
            str(name): _Service(doc, str(name), variables, path.parent).read(body)
            for name, body in services.items()
        },
    )


class _Service:
    """Reads one service, checking each value's type as it goes."""

    def __init__(
        self, doc: YamlDocument, name: str, variables: Mapping[str, str], directory: Path
    ) -> None:
        self.doc = doc
        self.name = name
        self.variables = variables
        self.directory = directory  # where Compose resolves a relative env_file

    def fail(self, loc: Loc, problem: str) -> UsageError:
        return UsageError(f"{self.at(loc)}: {problem}")

    def mapping(self, value: Any, loc: Loc) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(loc, f"expected a mapping, not {_kind(value)}")
        return value

    def listing(self, value: Any, loc: Loc) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(loc, f"expected a list (Compose requires one), not {_kind(value)}")
        return value

    def text(self, value: Any, loc: Loc, numbers: bool = False) -> str:
        """A scalar as written; a number only where Compose accepts one."""
        if isinstance(value, str) or (
            numbers and isinstance(value, int | float) and not isinstance(value, bool)
        ):
            return str(value)
        wanted = "a string or a number" if numbers else "a string"
        hint = " (quote it: YAML reads yes, no, on and off as booleans)" * isinstance(value, bool)
        raise self.fail(loc, f"expected {wanted}, not {_kind(value)}{hint}")

    def at(self, loc: Loc) -> str:
        """``file:line: services.NAME.key`` for a message."""
        full = ("services", self.name, *loc)
        return f"{self.doc.where(full)}: {dotted(full)}"

    def resolved(self, value: Any, loc: Loc, numbers: bool = False) -> str:
        """The scalar as Compose would see it, variables substituted."""
        return interpolate(self.text(value, loc, numbers), self.variables, self.at(loc))

    def read(self, body: Any) -> ComposeService:
        if not isinstance(body, dict):
            raise self.fail((), f"expected a mapping, not {_kind(body)}")
        deploy = self.mapping(body.get("deploy"), ("deploy",))
        resources = self.mapping(deploy.get("resources"), ("deploy", "resources"))
        limits = self.mapping(resources.get("limits"), ("deploy", "resources", "limits"))
        logging = self.mapping(body.get("logging"), ("logging",))
        image = body.get("image")
        mappings = [
            self.port_mapping(item, ("ports", str(index)))
            for index, item in enumerate(self.listing(body.get("ports"), ("ports",)))
        ]
        pairs = self.environment_pairs(body.get("environment"))
        env_names, unread = self.env_files(body.get("env_file"))
        return ComposeService(
            name=self.name,
            image=self.resolved(image, ("image",)) if image is not None else None,
            image_raw=self.text(image, ("image",)) if image is not None else None,
            restart=self.resolved(body["restart"], ("restart",)) if "restart" in body else None,
            cpus=self.cpus(limits, body),
            memory_bytes=self.memory(limits, body),
            published_ports=[port for published, _ in mappings for port in published],
            container_ports=sorted(
                {port for _, targets in mappings for port in targets}
                | set(self.exposed(body.get("expose")))
            ),
            environment=self.environment(pairs),
            variable_names=sorted({k for k, _, _ in pairs if _NAME.fullmatch(k)} | set(env_names)),
            unread_env_files=unread,
            command=self.command(body.get("command")),
            volumes=[
                self.mount(item, ("volumes", str(index)))
                for index, item in enumerate(self.listing(body.get("volumes"), ("volumes",)))
            ],
            depends_on=self.depends_on(body.get("depends_on")),
            logging_driver=(
                self.resolved(logging["driver"], ("logging", "driver"))
                if "driver" in logging
                else None
            ),
            logging_options=self.logging_options(logging.get("options")),
        )

    def cpus(self, limits: dict[Any, Any], body: dict[Any, Any]) -> float | None:
        loc, value = _limit(limits, "cpus", body, "cpus")
        if value is None:
            return None
        text = self.resolved(value, loc, numbers=True)
        try:
            cpus = float(text)
        except ValueError:
            cpus = math.nan
        if not math.isfinite(cpus) or cpus < 0:
            raise self.fail(loc, f"{shown(text)} is not a number of CPUs (e.g. 0.5)")
        return cpus

    def memory(self, limits: dict[Any, Any], body: dict[Any, Any]) -> int | None:
        loc, value = _limit(limits, "memory", body, "mem_limit")
        if value is None:
            return None
        return memory_bytes(self.resolved(value, loc, numbers=True), self.at(loc))

    def port_mapping(self, item: Any, loc: Loc) -> tuple[list[int], list[int]]:
        """The host ports one ``ports`` entry publishes (0: Docker picks one) and the container
        ports it targets, in short or long syntax."""
        if isinstance(item, dict):
            if "target" not in item:
                raise self.fail(loc, "a long-syntax port needs a target")
            at = (*loc, "target")
            targets = self.port_range(self.resolved(item["target"], at, numbers=True), at, 1)
            if item.get("published") in (None, ""):
                return [0], targets
            published = self.resolved(item["published"], (*loc, "published"), numbers=True)
            return self.port_range(published, (*loc, "published"), 0), targets
        spec = self.resolved(item, loc, numbers=True)
        mapping = self.protocol_stripped(spec, loc)
        if mapping.startswith("["):  # [::1]:8080:80
            mapping = mapping.partition("]")[2].removeprefix(":")
        parts = mapping.rsplit(":", 2)
        targets = self.port_range(parts[-1], loc, 1, spec)
        host = parts[-2] if len(parts) > 1 else ""
        return (self.port_range(host, loc, 0, spec) if host else [0]), targets

    def exposed(self, value: Any) -> Iterator[int]:
        """The container ports ``expose`` declares (``"8080"``, ``8080``, ``"8080-8081/tcp"``)."""
        for index, item in enumerate(self.listing(value, ("expose",))):
            loc = ("expose", str(index))
            spec = self.resolved(item, loc, numbers=True)
            yield from self.port_range(self.protocol_stripped(spec, loc), loc, 1, spec)

    def protocol_stripped(self, spec: str, loc: Loc) -> str:
        """``spec`` without its ``/tcp``, ``/udp`` or ``/sctp``; another protocol is an error."""
        mapping, _, protocol = spec.partition("/")
        if protocol not in ("", "tcp", "udp", "sctp"):
            raise self.fail(loc, f"{shown(spec)}: unknown protocol {shown(protocol)}")
        return mapping

    def port_range(self, text: str, loc: Loc, lowest: int, entry: str = "") -> list[int]:
        """``80`` or ``8000-8010`` as the ports it names, each ``lowest``-65535."""
        match = _PORTS.fullmatch(text.strip())
        start = int(match["start"]) if match else -1
        end = int(match["end"] or start) if match else -1
        if not match or not lowest <= start <= end <= 65535:
            within = f"{shown(entry)}: " if entry and entry != text else ""
            problem = f"{shown(text)} is not a port or port range ({lowest}-65535)"
            raise self.fail(loc, within + problem)
        return list(range(start, end + 1))

    def environment_pairs(self, value: Any) -> list[tuple[str, Any, Loc]]:
        """(name, value as written or None, where) of each ``environment`` entry."""
        pairs: list[tuple[str, Any, Loc]] = []
        if isinstance(value, dict):
            pairs = [(str(k), v, ("environment", str(k))) for k, v in value.items()]
        elif value is not None and not isinstance(value, list):
            raise self.fail(("environment",), f"expected a list or a mapping, not {_kind(value)}")
        else:
            for index, item in enumerate(value or []):
                loc = ("environment", str(index))
                key, sep, text = self.text(item, loc, numbers=True).partition("=")
                pairs.append((key, text if sep else None, loc))
        return pairs

    def environment(self, pairs: list[tuple[str, Any, Loc]]) -> dict[str, str]:
        """Only the documented non-secret variables; other values are dropped unread."""
        return {
            key: self.resolved(str(item).lower() if isinstance(item, bool) else item, loc, True)
            for key, item, loc in pairs
            if key in KEPT_ENVIRONMENT and item is not None
        }

    def command(self, value: Any) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return _mask(shlex.split(value))
            except ValueError as exc:  # "No closing quotation"
                raise self.fail(("command",), str(exc)) from None
        items = self.listing(value, ("command",))
        return _mask([self.text(v, ("command", str(i)), True) for i, v in enumerate(items)])

    def env_files(self, value: Any) -> tuple[list[str], list[str]]:
        """The variable names the ``env_file`` files set, and the files absent here. Paths are
        relative to the Compose file's directory; a value is never kept."""
        single = isinstance(value, str | dict)
        entries = [value] if single else self.listing(value, ("env_file",))
        names: list[str] = []
        unread: list[str] = []
        for index, entry in enumerate(entries):
            loc: Loc = ("env_file",) if single else ("env_file", str(index))
            required = True
            if isinstance(entry, dict):
                loc, required = (*loc, "path"), entry.get("required") is not False
                entry = entry.get("path")
            written = self.resolved(entry, loc)
            path = self.directory / written
            if os.path.lexists(path):
                names += _names(read_text(path, f"--compose-file (env_file of {self.name})"))
            elif required:  # Compose skips an absent file marked ``required: false``
                unread.append(written)
        return names, unread

    def mount(self, item: Any, loc: Loc) -> Mount:
        """A short (``source:target[:mode]``) or long-syntax volume."""
        if isinstance(item, dict):
            source = item.get("source")
            return Mount(
                source=self.resolved(source, (*loc, "source")) if source is not None else None,
                target=self.resolved(item.get("target", ""), (*loc, "target")),
                read_only=item.get("read_only") in (True, "true"),
            )
        parts = self.resolved(item, loc).split(":")
        if len(parts) == 1:
            return Mount(source=None, target=parts[0], read_only=False)
        mode = parts[2].split(",") if len(parts) > 2 else []
        return Mount(source=parts[0], target=parts[1], read_only="ro" in mode)

    def depends_on(self, value: Any) -> list[str]:
        """The services this one starts after (a list, or a mapping with conditions)."""
        if isinstance(value, dict):
            return sorted(str(name) for name in value)
        items = self.listing(value, ("depends_on",))
        return sorted(self.text(item, ("depends_on", str(i))) for i, item in enumerate(items))

    def logging_options(self, value: Any) -> dict[str, str]:
        options = self.mapping(value, ("logging", "options"))
        return {
            str(key): (self.resolved if key in KEPT_LOGGING_OPTIONS else self.text)(
                item, ("logging", "options", str(key)), True
            )
            for key, item in options.items()
        }


def _limit(limits: dict[Any, Any], key: str, body: dict[Any, Any], legacy: str) -> tuple[Loc, Any]:
    """A resource limit from ``deploy.resources.limits``, else its legacy service key."""
    if limits.get(key) is not None:
        return ("deploy", "resources", "limits", key), limits[key]
    return (legacy,), body.get(legacy)


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number"}
    return names.get(type(value), "empty" if value is None else f"a {type(value).__name__}")


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
        raise UsageError(f"{where}: {shown(text)} is not a memory size (e.g. 512M, 1g, 536870912)")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def _mask(args: list[str]) -> list[str]:
    """A password flag's literal value (``--requirepass X``, ``--requirepass=X``) as ``***``;
    a bare variable reference (``${REDIS_PASSWORD}``) is no secret and is kept as written."""
    masked = []
    for index, arg in enumerate(args):
        flag, sep, value = arg.partition("=")
        if sep and flag in SECRET_FLAGS and not _REFERENCE.fullmatch(value):
            masked.append(f"{flag}=***")
        elif index and args[index - 1] in SECRET_FLAGS and not _REFERENCE.fullmatch(arg):
            masked.append("***")
        else:
            masked.append(arg)
    return masked


def _names(text: str) -> list[str]:
    """The variable names of an env file (``KEY=VALUE``, ``export KEY=…`` or a bare ``KEY``).
    The lines of a quoted multi-line value (a PEM key) are skipped, never taken for names."""
    names, open_quote = [], ""
    for line in text.splitlines():
        if open_quote:
            open_quote = "" if open_quote in line else open_quote
            continue
        key, _, value = line.strip().partition("=")
        name = key.removeprefix("export ").strip()
        if not _NAME.fullmatch(name):
            continue
        names.append(name)
        value = value.strip()
        if value[:1] in ("'", '"') and value[0] not in value[1:]:
            open_quote = value[0]
    return names


def _dotenv(path: Path) -> dict[str, str]:
    """The ``.env`` file Compose reads for interpolation (KEY=VALUE lines)."""
    if not os.path.lexists(path):
        return {}
    found = {}
    for line in read_text(path, "--compose-file (its .env)").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            found[key.removeprefix("export ").strip()] = value.strip().strip("'\"")
    return found
