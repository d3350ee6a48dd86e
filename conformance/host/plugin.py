"""Options of the host layer. Each enables its checks; without it they are skipped, saying so.

Configuration files are parsed here, before any check runs, so a malformed nginx.conf or
Compose file is one clear usage error (file:line, exit 4) rather than a failure per check.

``--ssh-host`` also binds pytest-testinfra's ``host`` fixture to that host, so a team's own
host tests run in the same session as the checks, and their outcomes go into the same evidence
(``own_tests``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conformance import redaction_plugin, validate
from conformance.errors import ConformanceError, UsageError
from conformance.host import LIVE_PREFIXES, HostTargets, Unreachable
from conformance.inventory import one_line
from conformance.plugin import CHECKS_DIR, SESSION
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
        help="the EC2 host: read --nginx-conf and --compose-file there over SFTP (then remote "
        "paths), check its state with fixed read-only commands (host.*), and bind testinfra's "
        "`host` fixture to it; ~/.ssh/config and known_hosts apply",
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
            host = _remote_host(config, host)
        if session.options.kind == "moto":
            host = _embedded_files(config, host, session.options.drift, session.inputs.domain)
        _validate(host)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    session.host = host
    _bind_testinfra(config, host)
    config.pluginmanager.register(OwnTests(config), "conformance-own-tests")


# Options of pytest-testinfra's own plugin that choose its hosts itself.
TESTINFRA_HOST_OPTIONS = ("hosts", "connection", "ansible_inventory")


def _bind_testinfra(config: pytest.Config, host: HostTargets) -> None:
    """Give the session testinfra's ``host`` fixture bound to --ssh-host. Registered now, after
    every plugin (testinfra's too) was loaded, so it is the one tests get. Someone who chose
    testinfra's hosts with its own options keeps testinfra's fixture."""
    own = [o for o in TESTINFRA_HOST_OPTIONS if config.getoption(o, None) is not None]
    if own and host.remote is not None:
        raise pytest.UsageError(
            f"--ssh-host and testinfra's --{own[0].replace('_', '-')}: give one of them"
        )
    if not own:
        config.pluginmanager.register(TestinfraHost(), "conformance-testinfra-host")


class TestinfraHost:
    """The ``host`` fixture: testinfra's Host on the --ssh-host host; skipped without it."""

    __test__ = False  # a plugin, not a test class

    @pytest.fixture(scope="session")
    def host(self, request: pytest.FixtureRequest) -> Any:
        """testinfra's ``host`` on the EC2 host --ssh-host names (the suite's SSH connection:
        ~/.ssh/config, --ssh-key and known_hosts apply). What a test runs with it is the test's."""
        state = request.config.stash.get(SESSION, None)
        remote = state.host.remote if state is not None else None
        if remote is None:
            pytest.skip("--ssh-host not given: the `host` fixture (testinfra) runs on that host")
        try:
            return remote.testinfra()
        except Unreachable as exc:
            pytest.fail(str(exc), pytrace=False)


class OwnTests:
    """The outcome of every test beside the checks (a team's own host tests, typically), for the
    evidence: one entry per test, as pytest judged it (setup or teardown failures are errors)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, dict[str, str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = report.nodeid.partition("::")[0]
        if (self.config.rootpath / path).resolve().parent == CHECKS_DIR:
            return  # a check: recorded with its result by conformance.plugin
        entry = self.outcomes.setdefault(report.nodeid, {"test": report.nodeid, "outcome": ""})
        if report.when == "call" or not report.passed:
            outcome: str = report.outcome
            if report.when != "call" and report.failed:
                outcome = "error"
            elif hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            if entry["outcome"] in ("", "passed"):
                entry["outcome"] = outcome
                message = _message(report)
                if message:
                    entry["message"] = message

    def pytest_conformance_evidence(self, config: pytest.Config, data: dict[str, Any]) -> None:
        if self.outcomes:
            data["own_tests"] = [e for e in self.outcomes.values() if e["outcome"]]


def _message(report: pytest.TestReport) -> str:
    """Why a test did not pass: the skip reason, or the last line of the failure."""
    if report.passed:
        return ""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return one_line(str(longrepr[2]).removeprefix("Skipped: "))
    crash = getattr(longrepr, "reprcrash", None)  # where an exception ended the test
    if crash is not None:
        return one_line(crash.message)
    return one_line(report.longreprtext)


def _remote_host(config: pytest.Config, host: HostTargets) -> HostTargets:
    """With --ssh-host, the host's state is read by commands there (connecting when a check or
    a test first needs it), and the file options name files on that host: copy them (those
    files and what nginx.conf includes, never a key) into a private temp dir so the same loaders
    parse them. Its cleanup is registered before the copy starts, so it runs however the run
    ends: tests done, a usage error, Ctrl-C or SIGTERM; a SIGKILLed run's copy goes at the next
    run."""
    from pathlib import PurePosixPath

    from conformance.host.ssh import SshHost, copy_directory, fetch

    target = SshHost.parse(config.getoption("ssh_host"))
    try:
        from conformance.host.state import RemoteHost
    except ImportError as exc:
        raise UsageError(
            f"--ssh-host needs {exc.name}: pip install 'accountabilityatlas-conformance[suite]'"
        ) from None
    key = config.getoption("ssh_key")
    if key is not None and not key.is_file():
        raise UsageError(f"--ssh-key {key}: no such file")
    remote = RemoteHost(target, key)
    config.add_cleanup(remote.close)
    host = dataclasses.replace(host, remote=remote)
    if host.nginx_conf is None and host.compose_file is None:
        return host
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

    drift = get_drift(drift_id, config.getoption("phase")) if drift_id else None
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
