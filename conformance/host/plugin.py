"""Options of the host layer. Each enables its checks; without it they are skipped, saying so.

Configuration files are parsed here, before any check runs, so a malformed nginx.conf or
Compose file is one clear usage error (file:line, exit 4) rather than a failure per check.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conformance import redaction_plugin, validate
from conformance.errors import ConformanceError, UsageError
from conformance.host import LIVE_PREFIXES, HostTargets
from conformance.plugin import SESSION
from conformance.redact import register_environment, register_url


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance-host", "AccountabilityAtlas conformance: the EC2 host")
    group.addoption(
        "--nginx-conf",
        type=Path,
        metavar="PATH",
        help="nginx.conf to check (with --ssh-host: its absolute path on that host)",
    )
    group.addoption(
        "--compose-file",
        type=Path,
        metavar="PATH",
        help="docker-compose.prod.yml to check (with --ssh-host: its absolute path on that host)",
    )
    group.addoption(
        "--ssh-host",
        metavar="[USER@]HOST[:PORT]",
        help="read --nginx-conf and --compose-file on this host over SSH (read-only; "
        "~/.ssh/config and known_hosts apply); both must then be remote paths",
    )
    group.addoption("--ssh-key", type=Path, metavar="PATH", help="private key for --ssh-host")
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
    """Register the secrets the options hold before anything can show them; hand the host
    targets to the conformance session; validate the options and parse the files up front."""
    redaction_plugin.register(config)
    register_environment(os.environ)
    for option in ("db_dsn", "redis_url", "docker_host", "endpoint_url"):
        register_url(config.getoption(option, None))
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
        if config.getoption("ssh_host") is not None:
            host = _remote_files(config, host)
        if session.options.kind == "moto":
            host = _embedded_files(config, host, session.options.drift, session.inputs.domain)
        _validate(host)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    session.host = host


def _remote_files(config: pytest.Config, host: HostTargets) -> HostTargets:
    """With --ssh-host, the file options name files on that host: copy them (those files and
    what nginx.conf includes, never a key) into a private temp dir so the same loaders parse
    them. Its cleanup is registered before the copy starts, so it runs however the run ends:
    tests done, a usage error, Ctrl-C or SIGTERM; a SIGKILLed run's copy goes at the next run."""
    from pathlib import PurePosixPath

    from conformance.host.ssh import SshHost, copy_directory, fetch

    target = SshHost.parse(config.getoption("ssh_host"))
    if host.nginx_conf is None and host.compose_file is None:
        raise UsageError(
            "--ssh-host needs --nginx-conf and/or --compose-file (their paths on that host)"
        )
    directory = copy_directory()
    config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
    nginx, compose = fetch(
        target,
        config.getoption("ssh_key"),
        PurePosixPath(host.nginx_conf) if host.nginx_conf is not None else None,
        PurePosixPath(host.compose_file) if host.compose_file is not None else None,
        directory,
    )
    return dataclasses.replace(host, nginx_conf=nginx, compose_file=compose)


def _embedded_files(
    config: pytest.Config, host: HostTargets, drift_id: str | None, domain: str
) -> HostTargets:
    """The embedded reference includes the host's files: the documented nginx.conf and Compose
    file, or with a host ``--drift`` their drifted copies. Explicit options still win."""
    from fixtures.drifts import get_drift
    from fixtures.host import COMPOSE_FILE, NGINX_CONF, HostReference

    drift = get_drift(drift_id, 1) if drift_id else None
    nginx, compose = NGINX_CONF, COMPOSE_FILE
    if drift is not None and drift.host is not None:
        if not {k for k in drift.kills if not k.startswith(LIVE_PREFIXES)}:
            raise UsageError(
                f"drift {drift.id!r} changes a running service ({', '.join(sorted(drift.kills))}); "
                "the embedded target runs no servers (tests/test_host_live.py exercises it)"
            )
        reference = HostReference.load(domain)
        drift.host(reference)
        directory = Path(tempfile.mkdtemp(prefix="conformance-host-"))
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
        nginx, compose = reference.write(directory)
    return dataclasses.replace(
        host,
        nginx_conf=host.nginx_conf or nginx,
        compose_file=host.compose_file or compose,
    )


def _validate(host: HostTargets) -> None:
    for option, endpoint in (
        ("--tls-endpoint", host.tls_endpoint),
        ("--http-endpoint", host.http_endpoint),
    ):
        if endpoint is not None:
            validate.host_port(endpoint, option)
    # Each URL as its client library will read it, so a bad one is one line here rather than
    # a traceback (holding the URL) later; the libraries are imported only for a given option.
    try:
        if host.redis_url is not None:
            from conformance.host.redis import check_url

            check_url(host.redis_url)
        if host.db_dsn is not None:
            from conformance.host.postgres import check_dsn

            check_dsn(host.db_dsn)
        if host.docker_host is not None:
            from conformance.host.docker import check_host

            check_host(host.docker_host)
    except ImportError as exc:
        raise UsageError(
            f"the host options need {exc.name}: "
            "pip install 'accountabilityatlas-conformance[suite]'"
        ) from None
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
