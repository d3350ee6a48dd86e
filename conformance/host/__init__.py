"""The EC2 host layer: nginx, Compose, TLS, containers, Redis and PostgreSQL.

Each resource has a small module (testinfra-style) that reads one thing — a configuration file
or a running service — into a normalized model. :class:`HostTargets` holds what the user pointed
the suite at (``--nginx-conf``, ``--redis-url`` …) and reads each resource at most once per run.
A resource that was not given makes its checks *skipped* with the option to pass; one that
cannot be reached makes them *error* with the reason, as an AWS section that cannot be collected
does. Credentials inside URLs and DSNs are never shown (:mod:`conformance.redact`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from conformance.inventory import CollectionFailure, NotCollected, one_line
from conformance.redact import scrub

if TYPE_CHECKING:  # the readers import their client libraries only when a check needs them
    from conformance.host.compose import ComposeProject
    from conformance.host.docker import Container
    from conformance.host.nginx import NginxConfig
    from conformance.host.ratelimit import Probe
    from conformance.host.redis import RedisConfig
    from conformance.host.state import RemoteHost, Schedule
    from conformance.host.tls import HttpAnswer, TlsReport

T = TypeVar("T")
G = TypeVar("G")

# Check-id prefixes of the checks that need a running service (not a file) to verify.
LIVE_PREFIXES = ("tls.", "ratelimit.", "container.", "redis.", "db.", "host.")


class Unreachable(Exception):
    """A host resource was given but could not be read; the message says why. It is scrubbed
    here, once, because client libraries put the URL or DSN they were given in their errors."""

    def __init__(self, message: str) -> None:
        super().__init__(scrub(message))


@dataclass
class HostTargets:
    """Where the host resources are; each one is read lazily, once, when a check needs it."""

    nginx_conf: Path | None = None
    compose_file: Path | None = None
    tls_endpoint: str | None = None
    http_endpoint: str | None = None
    rate_limit_probe: bool = False
    # Options that may hold a password stay out of the repr (a traceback's locals).
    docker_host: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    db_dsn: str | None = field(default=None, repr=False)
    remote: RemoteHost | None = field(default=None, repr=False)  # --ssh-host: commands run there
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def read(self, resource: str, option: str, given: G | None, reader: Callable[[G], T]) -> T:
        """``reader(given)``, once; NotCollected if ``given`` is None or the read failed."""
        if given is None:
            raise NotCollected(
                CollectionFailure(
                    service=resource, kind="unsupported", message=f"{option} not given"
                )
            )
        if resource not in self._cache:
            try:
                self._cache[resource] = reader(given)
            except Unreachable as exc:
                self._cache[resource] = CollectionFailure(
                    service=resource, kind="unreachable", message=f"{option}: {exc}"
                )
            except Exception as exc:  # a reader's bug or an odd answer: read once, every check errs
                self._cache[resource] = CollectionFailure(
                    service=resource,
                    kind="error",
                    message=f"{option}: {type(exc).__name__}: {one_line(exc)}",
                )
        found = self._cache[resource]
        if isinstance(found, CollectionFailure):
            raise NotCollected(found)
        return found  # type: ignore[no-any-return]

    def remember(self, resource: str, value: object) -> None:
        """Keep a resource read ahead of the checks (the files, parsed at start-up)."""
        self._cache[resource] = value

    def nginx(self) -> NginxConfig:
        from conformance.host.nginx import load_nginx

        return self.read("nginx", "--nginx-conf", self.nginx_conf, load_nginx)

    def compose(self) -> ComposeProject:
        from conformance.host.compose import load_compose

        return self.read("compose", "--compose-file", self.compose_file, load_compose)

    def tls(self, server_name: str) -> TlsReport:
        from conformance.host.tls import probe

        return self.read(
            "tls", "--tls-endpoint", self.tls_endpoint, lambda at: probe(at, server_name)
        )

    def http(self, host_header: str) -> HttpAnswer:
        """The plain-HTTP answer on --http-endpoint, by default port 80 of the TLS host."""
        from conformance.host.tls import http_answer, split_endpoint

        endpoint = self.http_endpoint
        if endpoint is None and self.tls_endpoint is not None:
            endpoint = f"{split_endpoint(self.tls_endpoint, 443)[0]}:80"
        return self.read(
            "http", "--tls-endpoint", endpoint, lambda at: http_answer(at, host_header)
        )

    # The client libraries (redis-py, psycopg, the Docker SDK) are imported only when their
    # option is given: a run without them should not pay for the imports.
    def redis(self) -> RedisConfig:
        def read(url: str) -> RedisConfig:
            from conformance.host.redis import read_redis

            return read_redis(url)

        return self.read("redis", "--redis-url", self.redis_url, read)

    def extensions(self) -> dict[str, str]:
        def read(dsn: str) -> dict[str, str]:
            from conformance.host.postgres import installed_extensions

            return installed_extensions(dsn)

        return self.read("postgres", "--db-dsn", self.db_dsn, read)

    def containers(self) -> dict[str, Container]:
        def read(url: str) -> dict[str, Container]:
            from conformance.host.docker import running_containers

            return running_containers(url)

        return self.read("docker", "--docker-host", self.docker_host, read)

    def rate_limit(self, host_header: str, path: str, burst: int) -> Probe:
        from conformance.host.ratelimit import probe

        return self.read(
            f"rate limit of {path}",
            "--rate-limit-probe",
            self.tls_endpoint if self.rate_limit_probe else None,
            lambda at: probe(at, host_header, path, burst),
        )

    # --ssh-host: the host's state, through the allow-listed commands of conformance.host.state.
    def agent_processes(self, executable: str) -> list[str]:
        def read(remote: RemoteHost) -> list[str]:
            # Imported only with --ssh-host: paramiko and testinfra are in the `suite` extra.
            from conformance.host.state import agent_processes

            return agent_processes(remote, executable)

        return self.read(f"processes of {executable}", "--ssh-host", self.remote, read)

    def renewal_schedules(self, renew: str) -> tuple[list[Schedule], list[str]]:
        def read(remote: RemoteHost) -> tuple[list[Schedule], list[str]]:
            from conformance.host.state import renewal_schedules

            return renewal_schedules(remote, renew)

        return self.read("certbot renewal", "--ssh-host", self.remote, read)
