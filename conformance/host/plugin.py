"""Options of the host layer. Each enables its checks; without it they are skipped, saying so.

Configuration files are parsed here, before any check runs, so a malformed nginx.conf or
Compose file is one clear usage error (file:line, exit 4) rather than a failure per check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.errors import ConformanceError, UsageError
from conformance.host import HostTargets
from conformance.host.tls import split_endpoint
from conformance.plugin import SESSION


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance-host", "AccountabilityAtlas conformance: the EC2 host")
    group.addoption("--nginx-conf", type=Path, metavar="PATH", help="nginx.conf to check")
    group.addoption(
        "--compose-file", type=Path, metavar="PATH", help="docker-compose.prod.yml to check"
    )
    group.addoption(
        "--tls-endpoint", metavar="HOST:PORT", help="probe TLS versions and certificate there"
    )
    group.addoption(
        "--http-endpoint",
        metavar="HOST:PORT",
        help="plain-HTTP endpoint for the redirect check (default: port 80 of --tls-endpoint)",
    )
    group.addoption(
        "--rate-limit-probe",
        action="store_true",
        help="send bounded bursts to --tls-endpoint to measure the rate limits "
        "(loopback and test hosts only; never production)",
    )
    group.addoption(
        "--docker-host",
        metavar="URL",
        help="Docker Engine to read running containers from (unix://, tcp://, ssh://user@host)",
    )
    group.addoption("--redis-url", metavar="URL", help="Redis to read CONFIG GET from")
    group.addoption(
        "--db-dsn", metavar="DSN", help="PostgreSQL to list extensions from (read-only)"
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Hand the host targets to the conformance session; parse the files up front."""
    session = config.stash.get(SESSION, None)
    if session is None:
        return
    host = HostTargets(
        nginx_conf=config.getoption("nginx_conf"),
        compose_file=config.getoption("compose_file"),
        tls_endpoint=config.getoption("tls_endpoint"),
        http_endpoint=config.getoption("http_endpoint"),
        rate_limit_probe=config.getoption("rate_limit_probe"),
        docker_host=config.getoption("docker_host"),
        redis_url=config.getoption("redis_url"),
        db_dsn=config.getoption("db_dsn"),
    )
    try:
        _validate(host)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    session.host = host


def _validate(host: HostTargets) -> None:
    for option, endpoint in (
        ("--tls-endpoint", host.tls_endpoint),
        ("--http-endpoint", host.http_endpoint),
    ):
        if endpoint is not None and split_endpoint(endpoint, 0)[1] == 0:
            raise UsageError(f"{option} {endpoint!r}: expected HOST:PORT")
    if host.rate_limit_probe:
        if host.tls_endpoint is None:
            raise UsageError("--rate-limit-probe needs --tls-endpoint (the nginx to probe)")
        from conformance.host.ratelimit import allowed_host

        allowed_host(host.tls_endpoint)
    if host.nginx_conf is not None:
        from conformance.host.nginx import load_nginx

        host.remember("nginx", load_nginx(host.nginx_conf))
    if host.compose_file is not None:
        from conformance.host.compose import load_compose

        host.remember("compose", load_compose(host.compose_file))
