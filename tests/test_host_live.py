"""Live host checks against real servers on loopback: the reference passes, each drift fails
exactly its check (with expected, actual and the document section), and an unreachable service
fails its checks with the reason while the others still run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from conformance.aws import Clients
from conformance.checks import Result, Run, load_checks, run_all
from conformance.host import HostTargets
from conformance.inputs import Inputs
from conformance.inventory import Inventory
from conformance.spec import load_spec
from conformance.targets import FAKE_CREDENTIALS
from fixtures.drifts import load_catalogue
from fixtures.host import HostReference
from tests import hostservers
from tests.conftest import free_port

CHECKS = load_checks()
CATALOGUE = load_catalogue()
NGINX_CHECKS = {c for c in CHECKS if c.startswith(("tls.", "ratelimit."))}
REDIS_CHECKS = {c for c in CHECKS if c.startswith("redis.")}


def run_checks(host: HostTargets, ids: set[str]) -> dict[str, Result]:
    """Run ``ids`` in-process against ``host`` (no AWS call is made by host checks)."""
    inputs = Inputs()
    clients = Clients("us-east-1", session=boto3.Session(**FAKE_CREDENTIALS))
    run = Run(load_spec(1), "production", inputs, Inventory(clients, inputs), "host", host)
    return {r.check.id: r for r in run_all(run, [CHECKS[c] for c in sorted(ids)])}


def drifts_of(ids: set[str]) -> list[str]:
    return sorted(d for d, drift in CATALOGUE.items() if drift.host and drift.kills & ids)


def reference(drift_id: str | None) -> HostReference:
    ref = HostReference.load()
    host = CATALOGUE[drift_id].host if drift_id else None
    if host is not None:
        host(ref)
    return ref


def assert_fails_exactly(results: dict[str, Result], killed: set[str]) -> None:
    failed = {i for i, r in results.items() if r.outcome == "failed"}
    passed = {i for i, r in results.items() if r.outcome == "passed"}
    shown = "\n".join(r.describe() for r in results.values() if r.outcome != "passed")
    assert failed == killed, shown
    assert passed == set(results) - killed, shown
    for check_id in killed:
        failure = results[check_id].failures[0]
        assert failure.section.startswith("Phase 1"), failure
        assert failure.expected != failure.actual


# --- nginx: TLS on the wire, redirect, rate limits ----------------------------------------


needs = pytest.mark.skipif(
    shutil.which("nginx") is None, reason="nginx not installed (scripts/setup.d/host.sh)"
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    with hostservers.stub_upstream() as port:
        yield port


def _nginx_results(drift_id: str | None, upstream: int, tmp: Path) -> dict[str, Result]:
    with hostservers.nginx(reference(drift_id), tmp, upstream) as (https, http):
        host = HostTargets(
            tls_endpoint=f"127.0.0.1:{https}",
            http_endpoint=f"127.0.0.1:{http}",
            rate_limit_probe=True,
        )
        return run_checks(host, NGINX_CHECKS)


@needs
def test_reference_nginx_passes_tls_redirect_and_rate_limits(upstream: int, tmp_path: Path) -> None:
    assert_fails_exactly(_nginx_results(None, upstream, tmp_path), set())


@needs
@pytest.mark.parametrize("drift_id", drifts_of(NGINX_CHECKS))
def test_nginx_drift_fails_exactly_its_check(drift_id: str, upstream: int, tmp_path: Path) -> None:
    results = _nginx_results(drift_id, upstream, tmp_path)
    assert_fails_exactly(results, set(CATALOGUE[drift_id].kills & NGINX_CHECKS))


@needs
def test_tls_v1_drift_is_seen_on_the_wire(upstream: int, tmp_path: Path) -> None:
    results = _nginx_results("nginx-tlsv1", upstream, tmp_path)
    actual = {c.subject.split()[0]: c.actual for c in results["tls.protocols"].comparisons}
    assert actual == {
        "TLSv1.2": "accepted",
        "TLSv1.3": "accepted",
        "SSLv3": "refused",
        "TLSv1": "accepted",
        "TLSv1.1": "accepted",
    }


# --- Redis ---------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
@pytest.mark.parametrize("drift_id", [None, *drifts_of(REDIS_CHECKS)])
def test_redis(drift_id: str | None, tmp_path: Path) -> None:
    with hostservers.redis(reference(drift_id).redis_args, tmp_path) as url:
        results = run_checks(HostTargets(redis_url=url), REDIS_CHECKS)
    killed = set(CATALOGUE[drift_id].kills) if drift_id else set()
    assert_fails_exactly(results, killed)


# --- Unreachable services --------------------------------------------------------------------


def test_unreachable_services_error_with_the_reason_and_the_rest_still_run() -> None:
    dead = free_port()
    host = HostTargets(
        tls_endpoint=f"127.0.0.1:{dead}",
        redis_url=f"redis://:hunter2-secret@127.0.0.1:{dead}/0",
        db_dsn=f"postgresql://atlas:hunter2-secret@127.0.0.1:{dead}/atlas",
        docker_host=f"tcp://127.0.0.1:{dead}",
        nginx_conf=Path(__file__).resolve().parent.parent / "fixtures/host/nginx.conf",
    )
    live = {"tls.protocols", "redis.policy", "db.extensions", "container.limits"}
    results = run_checks(host, {*live, "nginx.ssl_protocols"})
    assert results["nginx.ssl_protocols"].outcome == "passed"
    for check_id in live:
        result = results[check_id]
        assert result.outcome == "error", result.describe()
        assert str(dead) in result.message
        assert "hunter2" not in result.describe()


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    if (
        not (hostservers.PG_BIN / "postgres").exists()
        or not (hostservers.PG_SHARE / "extension/postgis.control").exists()
    ):
        pytest.skip("postgresql-15 with postgresql-15-postgis-3 not installed (setup.d/host.sh)")
    with hostservers.postgres() as port:
        yield port


@pytest.mark.parametrize("drift_id", [None, *drifts_of({"db.extensions"})])
def test_database_extensions(drift_id: str | None, postgres: int) -> None:
    import psycopg

    name = f"atlas_{drift_id or 'reference'}".replace("-", "_")
    admin = f"host=127.0.0.1 port={postgres} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    dsn = f"host=127.0.0.1 port={postgres} user=postgres dbname={name}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        for extension in reference(drift_id).extensions:
            connection.execute(f"CREATE EXTENSION {extension}")
    results = run_checks(HostTargets(db_dsn=dsn), {"db.extensions"})
    killed = set(CATALOGUE[drift_id].kills) if drift_id else set()
    assert_fails_exactly(results, killed)
    if drift_id:
        missing = [c for c in results["db.extensions"].failures]
        assert [c.subject for c in missing] == ["extension temporal_tables"]
        assert missing[0].actual == "not installed"
    else:
        actual = {c.subject: c.actual for c in results["db.extensions"].comparisons}
        assert actual["extension postgis"].startswith("installed (3.")


# --- Docker Engine -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root to run containers (cgroups, mounts)")
    if shutil.which("dockerd") is None or not hostservers.BUSYBOX.exists():
        pytest.skip("docker.io and busybox-static not installed (scripts/setup.d/host.sh)")
    with hostservers.docker_engine() as url:
        yield url


CONTAINER_CHECKS = {c for c in CHECKS if c.startswith("container.")}


@pytest.mark.parametrize("drift_id", [None, *drifts_of(CONTAINER_CHECKS)])
def test_running_containers(drift_id: str | None, engine: str) -> None:
    hostservers.run_containers(engine, reference(drift_id))
    results = run_checks(HostTargets(docker_host=engine), CONTAINER_CHECKS)
    killed = set(CATALOGUE[drift_id].kills) if drift_id else set()
    assert_fails_exactly(results, killed)


@needs
def test_old_protocols_in_the_config_alone_stay_refused_by_openssl_3(
    upstream: int, tmp_path: Path
) -> None:
    """Why both layers are checked: listing TLSv1/TLSv1.1 in ssl_protocols fails the config
    check, but OpenSSL 3's default security level still refuses them on the wire."""
    ref = HostReference.load()
    ref.nginx_conf = ref.nginx_conf.replace(
        "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;"
    )
    nginx_conf = tmp_path / "files" / "nginx.conf"
    ref.write(nginx_conf.parent)
    with hostservers.nginx(ref, tmp_path / "server", upstream) as (https, _):
        results = run_checks(
            HostTargets(nginx_conf=nginx_conf, tls_endpoint=f"127.0.0.1:{https}"),
            {"nginx.ssl_protocols", "tls.protocols"},
        )
    assert results["nginx.ssl_protocols"].outcome == "failed"
    assert results["tls.protocols"].outcome == "passed"


def test_container_limits_lists_every_missing_container_with_the_others_limits(
    engine: str,
) -> None:
    """One run names every missing service and still compares every running one's limits;
    memory reads as the document writes it (2048, not 2048.0)."""
    import docker

    drifted = reference("container-memory")
    hostservers.run_containers(engine, drifted)
    client = docker.DockerClient(base_url=engine, timeout=30)
    try:
        for service in ("redis", "search-service"):
            client.containers.get(f"atlas-{service}-1").remove(force=True)
    finally:
        client.close()
    result = run_checks(HostTargets(docker_host=engine), {"container.limits"})["container.limits"]
    assert result.outcome == "failed", result.describe()
    failures = {c.subject: c for c in result.failures}
    assert sorted(failures) == [
        "a container of service redis",
        "a container of service search-service",
        "atlas-web-app-1 Memory (MB)",
    ]
    assert failures["a container of service redis"].actual == "absent"
    assert "found api-gateway, location-service" in str(
        failures["a container of service redis"].note
    )
    memory = failures["atlas-web-app-1 Memory (MB)"]
    assert (memory.expected, memory.actual, type(memory.actual)) == (1024, 2048, int)
    assert "actual:   2048\n" in result.describe()
    running = {c.subject.split()[0] for c in result.comparisons if c.ok}
    assert len(running) == 8  # the eight running containers' cpus and memory, all compared
