"""Bad input is one clear error: exit 4, one line naming the option or file:line, no traceback,
no hang, and nothing accepted that would make the gate lie.

The loaders are exercised in-process (fast, every kind of malformed file against every loader);
a few runs of the suite prove the same errors reach the user as exit 4 from pytest's configure,
before any target is opened. Property-based tests feed the loaders generated documents: each
returns a valid model or raises UsageError, nothing else.
"""

from __future__ import annotations

import copy
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import validate
from conformance.checks import REGISTRY, Result, load_checks
from conformance.errors import UsageError
from conformance.host.compose import ComposeProject, load_compose
from conformance.host.nginx import load_nginx
from conformance.inputs import Inputs, load_inputs
from conformance.reports.waivers import Waivers, load_waivers
from conformance.spec import PhaseSpec, load_spec, spec_path
from conformance.yamlfile import MAX_BYTES, YamlDocument, load_yaml
from tests.conftest import run_suite

PHASE_1 = spec_path(1).read_text()
ENV = load_spec(1).environment("production")

# --- every YAML loader, every kind of malformed file ----------------------------------------

LOADERS: dict[str, Callable[[Path], object]] = {
    "yaml": lambda path: load_yaml(path, "--x"),
    "inputs": lambda path: load_inputs(path, []),
    "waivers": load_waivers,
    "compose": lambda path: load_compose(path, {}),
    "spec": lambda path: load_spec(1, path),
}

# name -> (file content, the line the message must name, or None for the file itself)
MALFORMED: dict[str, tuple[bytes, int | None]] = {
    "binary": (b"a: 1\n\x89PNG\x00\x01\x02", 2),
    "utf-16": ("a: 1\n".encode("utf-16"), None),
    "latin-1": ("a: 1\nb: caf\xe9\n".encode("latin-1"), 2),
    "control character": (b"a: 1\nb: \x07\n", 2),
    "deep nesting": (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", 1),
    "deep block nesting": ("".join(f"{'  ' * i}k{i}:\n" for i in range(200)).encode(), 64),
    "5,000-digit integer": (b"a: 1\nb: " + b"7" * 5000 + b"\n", 2),
    "duplicate key": (b"a: 1\nb: 2\na: 3\n", 3),
    "duplicate nested key": (b"a:\n  b: 1\n  c: 2\n  b: 3\n", 4),
    "alias bomb": (
        b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + b"".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n".encode()
            for p, n in zip("abcde", "bcdef", strict=True)
        ),
        None,
    ),
    "recursive alias": (b"a: 1\nb: &b [*b]\n", 2),
    "impossible date": (b"a: 1\nb: 2024-02-30\n", 2),
    "two documents": (b"a: 1\n---\nb: 2\n", 2),
    "python tag": (b"a: !!python/object/apply:os.system [id]\n", 1),
    "unhashable key": (b"? [a]\n: 1\n", 1),
    "syntax error": (b"a: [1, 2\nb: 3\n", 2),
}


@pytest.fixture(scope="module")
def malformed_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("malformed")
    files = {}
    for name, (content, _) in MALFORMED.items():
        files[name] = directory / f"{name.replace(' ', '-')}.yaml"
        files[name].write_bytes(content)
    return files


def _one_line_error(call: Callable[[], object]) -> str:
    with pytest.raises(UsageError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message and message.isprintable(), message
    return message


@pytest.mark.parametrize("kind", MALFORMED)
@pytest.mark.parametrize("loader", LOADERS)
def test_a_malformed_file_is_one_error_naming_file_and_line(
    malformed_files: dict[str, Path], loader: str, kind: str
) -> None:
    path = malformed_files[kind]
    message = _one_line_error(lambda: LOADERS[loader](path))
    line = MALFORMED[kind][1]
    assert (f"{path}:{line}: " if line else f"{path}") in message


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda d: d, "a directory"),
        (lambda d: Path("/dev/zero"), "a character device"),
        (lambda d: d / "missing.yaml", "No such file or directory"),
    ],
)
@pytest.mark.parametrize("loader", LOADERS)
def test_only_regular_files_are_read(
    tmp_path: Path, loader: str, make: Callable[[Path], Path], kind: str
) -> None:
    path = make(tmp_path)
    message = _one_line_error(lambda: LOADERS[loader](path))
    if loader == "spec" and kind.startswith("No such"):
        kind = "does not exist"  # the spec says which phases have one
    assert f"{path}: {kind}" in message or f"{path} {kind}" in message


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: its size alone refuses it
    assert f"--x {path}: {MAX_BYTES + 1} bytes" in _one_line_error(lambda: load_yaml(path, "--x"))


def _returns_promptly(call: Callable[[], object], fifo: Path) -> BaseException | None:
    """Run ``call`` in a thread; if it blocks (opening the FIFO), unblock it and fail."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer releases the reader
        thread.join(timeout=10)
        pytest.fail(f"reading the FIFO {fifo} blocked")
    return outcome[0]


@pytest.mark.parametrize("loader", [*LOADERS, "nginx", "nginx include"])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, loader: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if loader == "nginx include":
        conf = tmp_path / "nginx.conf"
        conf.write_text("events {\n}\nhttp {\n    include fifo;\n}\n")
        error = _returns_promptly(lambda: load_nginx(conf), fifo)
        assert isinstance(error, UsageError)
        assert str(error) == f"{conf}:4: include {fifo}: a FIFO, not a regular file"
        return
    call = (lambda: load_nginx(fifo)) if loader == "nginx" else (lambda: LOADERS[loader](fifo))
    error = _returns_promptly(call, fifo)
    assert isinstance(error, UsageError) and f"{fifo}: a FIFO, not a regular file" in str(error)


def test_a_compose_dotenv_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text("services:\n  web:\n    image: x\n")
    os.mkfifo(tmp_path / ".env")
    error = _returns_promptly(lambda: load_compose(tmp_path / "compose.yml"), tmp_path / ".env")
    assert isinstance(error, UsageError) and "a FIFO, not a regular file" in str(error)


def test_line_numbers_point_at_the_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("base: &base\n  x: 1\nmerged:\n  <<: *base\n  y:\n    - a\n    - b\n")
    doc = load_yaml(path, "--x")
    assert doc.data == {"base": {"x": 1}, "merged": {"x": 1, "y": ["a", "b"]}}
    assert doc.where(("merged", "y", 1)) == f"{path}:7"
    assert doc.where(("merged", "x")) == f"{path}:2"  # merged from the anchor
    assert doc.where(("merged", "value", "y")) == f"{path}:5"  # a model's own wrapping
    assert doc.where(("nowhere",)) == str(path)


# --- inputs ----------------------------------------------------------------------------------


def _inputs(tmp_path: Path, text: str | None, *overrides: str) -> Inputs:
    path = None
    if text is not None:
        path = tmp_path / "inputs.yaml"
        path.write_text(text)
    return load_inputs(path, list(overrides), ENV)


@pytest.mark.parametrize(
    ("text", "overrides", "expected"),
    [
        (None, ["names=x", "names.vpc=y"], "--input 'names=x': give each name as names.ROLE=NAME"),
        ("names: x\n", ["names.vpc=y"], "inputs.yaml:1: names: expected a mapping"),
        (None, ["names.vcp=y"], "--input 'names.vcp=y': names.vcp: unknown role 'vcp' (roles: vpc"),
        ("project: ok\nnames:\n  vcp: x\n", [], "inputs.yaml:3: names.vcp: unknown role 'vcp'"),
        ("names:\n  subnet.publc-a: x\n", [], "inputs.yaml:2: names.subnet.publc-a: this phase"),
        (None, ["names.sg.ec2-wbe=x"], "--input 'names.sg.ec2-wbe=x': names.sg.ec2-wbe: this"),
        (None, ["names.vpc="], "--input 'names.vpc=': names.vpc: '' is not a resource name"),
        ("project: ''\n", [], "inputs.yaml:1: project: '' is not a name prefix"),
        (None, ["project=Atlas Prod"], "--input 'project=Atlas Prod': project: 'Atlas Prod' is"),
        ("domain: localhost\n", [], "inputs.yaml:1: domain: 'localhost' is not a DNS domain"),
        ("queues: []\n", [], "inputs.yaml:1: queues: "),
        (None, ["queues=a,a"], "--input 'queues=a,a': queues: listed more than once: a"),
        ("account_id: 123456789012\n", [], "inputs.yaml:1: account_id: quote it"),
        ("admin_cidr: 10.0.0.1/24\n", [], "inputs.yaml:1: admin_cidr: "),
        ("- a\n", [], "expected a mapping of input names to values"),
        (None, ["project"], "--input 'project': expected KEY=VALUE"),
    ],
)
def test_bad_inputs_are_one_error_naming_the_file_line_or_option(
    tmp_path: Path, text: str | None, overrides: list[str], expected: str
) -> None:
    assert expected in _one_line_error(lambda: _inputs(tmp_path, text, *overrides))


def test_good_inputs_still_load(tmp_path: Path) -> None:
    inputs = _inputs(
        tmp_path,
        "project: atlas-prod\nnames:\n  subnet.public-a: web-a\n",
        "names.vpc=main",
        "queues=jobs,mail",
    )
    assert inputs.name("vpc") == "main" and inputs.name("subnet.public-a") == "web-a"
    assert inputs.name("dlq.jobs") == "atlas-prod-jobs-dlq"


# --- the spec --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("vpc_cidr: 10.0.0.0/16", "vpc_cidr: 12345", "network.vpc_cidr.value: 12345 is not a CIDR"),
        ("      storage_gb: 20\n", "      storage_gb: 20\n      storage_gb: 30\n", "duplicate key"),
        ("port: 443,", "port: 70000,", "ingress.1.port.value: Input should be less than or equal"),
        ("port: 443,", "port: -1,", "ingress.1.port.value: Input should be greater than or equal"),
        ("public-a: {cidr: 10.0.1.0/24", "public-a: {cidr: 10.1.1.0/24", "is outside the VPC"),
        ("data-a: {cidr: 10.0.20.0/24", "data-a: {cidr: 10.0.1.0/24", "overlaps public-a's"),
        ("zone: us-east-1b", "zone: eu-west-1b", "not a zone of the primary region us-east-1"),
        ('source: "sg:ec2-web"', 'source: "sg:ec2-wbe"', "no security group 'ec2-wbe'"),
        ("source: 0.0.0.0/0, description: HTTPS", "source: all, description: HTTPS", "'all' is"),
        ("value: public-a\n", "value: public-x\n", "ec2_host.subnet: public-x not defined"),
        ("value: [data-a, data-b]", "value: [data-a, data-c]", "database.subnets: data-c not"),
        ("  value: us-east-1\n", "  value: us-east-1x\n", "'us-east-1x' is not an AWS region"),
        ("threshold: 70", "threshold: .nan", "threshold.value: Input should be a finite number"),
        ("nginx: [80, 443]", "nginx: [80, 0]", "published_ports.value.nginx.1: Input should be"),
        ("backup_retention_days: 7", "backup_retention_days: 99", "less than or equal to 35"),
        ("upstream: api_gateway, zone: general", "upstream: api, zone: general", "no upstream"),
        ("worker_connections: 1024", "worker_connections: abc", "worker_connections.value"),
    ],
)
def test_spec_values_that_would_break_the_reference_are_refused(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in PHASE_1
    path = tmp_path / "phase-1.yaml"
    path.write_text(PHASE_1.replace(old, new, 1))
    changed = PHASE_1[: PHASE_1.index(old)].count("\n") + 1
    message = _one_line_error(lambda: load_spec(1, path))
    assert expected in message
    line = int(message.removeprefix(f"{path}:").split(":")[0])
    assert changed - 1 <= line <= changed + 1  # the key, or the value, that is wrong


# --- waivers ---------------------------------------------------------------------------------


def _waivers(tmp_path: Path, check: str, expires: str = "2099-01-01") -> Waivers:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        f"waivers:\n  - check: {check!r}\n    reason: r\n    owner: o\n    expires: {expires}\n"
    )
    return load_waivers(path)


@pytest.mark.parametrize("check", ["*", "*.*", "*.cidr", "s*", "[a-z]*.x", "?g.*", "sg"])
def test_a_waiver_must_name_a_check_or_a_pattern_within_one_area(
    tmp_path: Path, check: str
) -> None:
    message = _one_line_error(lambda: _waivers(tmp_path, check))
    assert f"waivers.yaml:2: invalid waiver file: waiver 1 ({check}): check: " in message


def test_a_far_future_expiry_applies_without_overflow(tmp_path: Path) -> None:
    load_checks()
    waivers = _waivers(tmp_path, "sg.ec2_web.*", "9999-12-31")
    judged = waivers.apply(Result(REGISTRY["sg.ec2_web.no_extra_ingress"], "failed"))
    assert judged.outcome == "waived" and "until 9999-12-31" in judged.message
    waivers.now = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert waivers.active(waivers.file.waivers[0])


def test_a_waiver_expiry_must_be_a_date(tmp_path: Path) -> None:
    message = _one_line_error(lambda: _waivers(tmp_path, "sg.*", "20991231"))
    assert (
        "waivers.yaml:5: invalid waiver file: waiver 1 (sg.*): expires: 20991231 is not" in message
    )


# --- Compose and nginx -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("deploy: x", ":4: services.web.deploy: expected a mapping, not a string"),
        (
            "deploy: {resources: {limits: {cpus: abc}}}",
            ":4: services.web.deploy.resources.limits.cpus: 'abc' is not a number of CPUs",
        ),
        ("cpus: -1", ":4: services.web.cpus: '-1' is not a number of CPUs"),
        ("ports: ['abc:80']", ":4: services.web.ports.0: 'abc:80': 'abc' is not a port"),
        ("ports: '8080:80'", ":4: services.web.ports: expected a list (Compose requires one)"),
        ("ports: ['-1:80']", ":4: services.web.ports.0: '-1:80': '-1' is not a port"),
        ("ports: ['70000:80']", ":4: services.web.ports.0: '70000:80': '70000' is not a port"),
        ("ports: ['8080:0']", ":4: services.web.ports.0: '8080:0': '0' is not a port"),
        ("ports: [{published: 80}]", ":4: services.web.ports.0: a long-syntax port needs a target"),
        ("ports: [{target: 80, published: 99999}]", "ports.0.published: '99999' is not a port"),
        ("ports: ['80/xtp']", ":4: services.web.ports.0: '80/xtp': unknown protocol 'xtp'"),
        ("logging: json", ":4: services.web.logging: expected a mapping, not a string"),
        ("logging: {options: [a]}", ":4: services.web.logging.options: expected a mapping"),
        ("environment: x", ":4: services.web.environment: expected a list or a mapping"),
        ("restart: no", ":4: services.web.restart: expected a string, not a boolean (quote it"),
        ("mem_limit: lots", ":4: services.web.mem_limit: 'lots' is not a memory size"),
        ("volumes: /data", ":4: services.web.volumes: expected a list (Compose requires one)"),
        ("command: 'a \"b'", ":4: services.web.command: No closing quotation"),
        ("image: [x]", "duplicate key 'image'"),
    ],
)
def test_compose_type_errors_name_file_line_and_key(
    tmp_path: Path, service: str, expected: str
) -> None:
    path = tmp_path / "compose.yml"
    path.write_text(f"services:\n  web:\n    image: x\n    {service}\n")
    assert f"{path}" in (message := _one_line_error(lambda: load_compose(path, {})))
    assert expected in message


@pytest.mark.parametrize("value", ["abc", "0", "-5", "99999999999999", "²"])
def test_nginx_worker_connections_must_be_a_positive_number(tmp_path: Path, value: str) -> None:
    path = tmp_path / "nginx.conf"
    path.write_text(f"events {{\n    worker_connections {value};\n}}\n")
    message = _one_line_error(lambda: load_nginx(path))
    assert message.startswith(f"{path}:2: nginx.conf: worker_connections '{value}' is not a ")


# --- region and endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1", "us-isob-east-1"]
)
def test_real_region_names_are_accepted(name: str) -> None:
    assert validate.region(name) == name


@pytest.mark.parametrize(
    "name",
    ["x y", "us-east-1x", "us-east", "US-EAST-1", "us-east-1\n", "", "us_east_1", "xx-east-1"],
)
def test_region_names_of_no_partition_are_refused(name: str) -> None:
    assert f"--region {name!r}: not an AWS region name" in _one_line_error(
        lambda: validate.region(name)
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4566", "https://localhost", "http://[::1]:5000/", "http://moto:5000"]
)
def test_endpoints_are_accepted(url: str) -> None:
    assert validate.endpoint(url) == url
    host_port = url.split("/")[2]
    if ":" in host_port:
        assert validate.host_port(host_port, "--tls-endpoint") == host_port


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://127.0.0.1:99999", "Port out of range"),
        ("http://127.0.0.1:0", "the port must be 1-65535"),
        ("http://127.0.0.1:", "the port must be 1-65535"),
        ("http://127.0.0.1:abc", "Port could not be cast"),
        ("ftp://127.0.0.1", "expected http(s)://host[:port]"),
        ("127.0.0.1:4566", "expected http(s)://host[:port]"),
        ("http://", "expected http(s)://host[:port]"),
        ("http://a b", "space or control character"),
        ("http://[zz]:80", "does not appear to be an IPv4 or IPv6 address"),
        ("http://[v1.x]:80", "is not a host name or IP address"),
        ("http://exa$mple.com", "is not a host name or IP address"),
        ("http://127.0.0.1?x=1", "no query or fragment"),
    ],
)
def test_malformed_endpoints_are_refused(url: str, why: str) -> None:
    message = _one_line_error(lambda: validate.endpoint(url))
    assert message.startswith(f"--endpoint-url {url!r}: expected http(s)://host[:port]")
    assert why in message


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[::1", "(Invalid IPv6 URL)"),
        ("host:99999", "(Port out of range 0-65535)"),
        ("host:0", "(a port 1-65535)"),
        ("host", "(a port 1-65535)"),
        ("::1:443", "(Port could not be cast"),
        ("ex$mple.com:443", "is not a host name or IP address"),
        ("host:443/path", ""),
    ],
)
def test_malformed_host_ports_are_refused(text: str, why: str) -> None:
    message = _one_line_error(lambda: validate.host_port(text, "--tls-endpoint"))
    assert message.startswith(f"--tls-endpoint {text!r}: expected HOST:PORT") and why in message


def test_a_user_or_password_in_an_endpoint_is_refused_without_being_shown() -> None:
    for call in (
        lambda: validate.endpoint("http://user:pw-SECRET@127.0.0.1:4566"),
        lambda: validate.host_port("user:pw-SECRET@host:443", "--tls-endpoint"),
    ):
        message = _one_line_error(call)
        assert "without user or password" in message and "SECRET" not in message


def test_an_evidence_directory_is_probed_and_left_clean(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "evidence"
    assert validate.writable_directory(directory, "--evidence") == directory
    assert directory.is_dir() and list(directory.iterdir()) == []
    (tmp_path / "file").write_text("")
    message = _one_line_error(lambda: validate.writable_directory(tmp_path / "file", "--evidence"))
    assert message == f"--evidence {tmp_path / 'file'}: cannot write there: File exists"


# --- through the suite: exit 4 from configure, one line, no traceback ------------------------


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("bad")
    contents = {
        "compose": "services:\n  web:\n    image: x\n    deploy: x\n",
        "nginx": "events {\n    worker_connections abc;\n}\n",
        "wildcard": "waivers:\n  - {check: '*', reason: green, owner: me, expires: 2099-01-01}\n",
        "plain_file": "",
    }
    for name, content in contents.items():
        (directory / name).write_text(content)
    return {name: str(directory / name) for name in contents}


SUITE_CASES: dict[str, tuple[list[str], str]] = {
    "region": (["--region=us-east-1x"], "--region 'us-east-1x': not an AWS region name"),
    "endpoint": (["--endpoint-url=http://[::1"], "--endpoint-url 'http://[::1': expected http"),
    "empty evidence": (["--evidence="], "argument --evidence: an empty path; name a directory"),
    "unwritable evidence": (["--evidence={plain_file}/out"], "/out: cannot write there: Not a"),
    "names mixed": (["--input", "names=x", "--input", "names.vpc=y"], "names.ROLE=NAME"),
    "device": (["--waivers=/dev/zero"], "--waivers /dev/zero: a character device"),
    # Accepted before, it turned this drifted run green.
    "wildcard waiver": (
        ["--drift", "sg-web-extra-port", "--waivers={wildcard}"],
        "waiver 1 (*): check: '*' does not name a check or an area",
    ),
    "compose": (["--compose-file={compose}"], ":4: services.web.deploy: expected a mapping"),
    "nginx": (["--nginx-conf={nginx}"], ":2: nginx.conf: worker_connections 'abc' is not a"),
    "tls endpoint": (["--tls-endpoint=[::1"], "--tls-endpoint '[::1': expected HOST:PORT"),
}


def _refused(done: subprocess.CompletedProcess[str], expected: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    lines = done.stderr.splitlines()
    errors = [line for line in lines if "error" in line.lower() and " usage: " not in line]
    assert len(errors) == 1 and expected in errors[0], output


@pytest.mark.parametrize("case", SUITE_CASES)
def test_the_suite_refuses_bad_input_with_exit_4(bad_files: dict[str, str], case: str) -> None:
    args, expected = SUITE_CASES[case]
    _refused(run_suite("-k", "net.vpc", *(a.format(**bad_files) for a in args)), expected)


def test_a_fifo_input_file_returns_promptly(tmp_path: Path) -> None:
    fifo = tmp_path / "inputs.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    done = run_suite("-k", "net.vpc", f"--inputs={fifo}")
    assert time.monotonic() - started < 60
    _refused(done, f"--inputs {fifo}: a FIFO, not a regular file")


# --- properties: a loader returns a valid model or raises UsageError, nothing else -----------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.dates(), st.just(date.max)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=10,
)
# Random exploration on a developer's machine; a fixed set of examples in CI, so that a gate run
# cannot turn red on a case no one has seen (what a developer's run finds is fixed and kept).
PROPERTY = settings(max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")))


def _loads_or_refuses(load: Callable[[Path], object], content: str | bytes, model: type) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "file.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        try:
            loaded = load(path)
        except UsageError as exc:
            assert "\n" not in str(exc) and str(exc).isprintable(), str(exc)
            return
        assert isinstance(loaded, model)


def _some(keys: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping with any of ``keys`` (each a plausible value or anything at all), or extras."""
    return st.fixed_dictionaries(
        {}, optional={k: st.one_of(v, VALUES) for k, v in keys.items()}
    ) | st.dictionaries(TEXT, VALUES, max_size=3)


@PROPERTY
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).filter(str.isprintable)))
def test_load_yaml_parses_or_refuses_any_bytes(content: str | bytes) -> None:
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    _loads_or_refuses(lambda path: load_yaml(path, "--x"), content, YamlDocument)


INPUT_DOCUMENTS = _some(
    {
        "project": TEXT,
        "domain": TEXT,
        "admin_cidr": TEXT,
        "account_id": TEXT,
        "github_org": TEXT,
        "queues": st.lists(TEXT, max_size=3) | TEXT,
        "names": st.dictionaries(st.sampled_from(["vpc", "db", "subnet.public-a", "x"]), TEXT),
    }
)


@PROPERTY
@given(INPUT_DOCUMENTS, st.lists(TEXT, max_size=3))
def test_load_inputs_returns_inputs_or_refuses(document: Any, overrides: list[str]) -> None:
    _loads_or_refuses(
        lambda path: load_inputs(path, overrides, ENV), yaml.safe_dump(document), Inputs
    )


WAIVER = _some(
    {
        "check": st.sampled_from(["sg.*", "*", "net.vpc.cidr"]) | TEXT,
        "reason": TEXT,
        "owner": TEXT,
        "expires": st.dates() | st.just(date.max),
    }
)


@PROPERTY
@given(
    _some(
        {
            "timezone": st.sampled_from(["UTC", "Etc/GMT-14", "../x"]) | TEXT,
            "waivers": st.lists(WAIVER, max_size=3),
        }
    )
)
def test_load_waivers_returns_waivers_or_refuses(document: Any) -> None:
    _loads_or_refuses(load_waivers, yaml.safe_dump(document), Waivers)


PORT = st.one_of(st.integers(-2, 70000), TEXT, st.from_regex(r"\A[0-9:.\-/a-z\[\]]{1,14}\Z"))
SERVICE = _some(
    {
        "image": TEXT,
        "restart": TEXT,
        "cpus": st.floats() | TEXT,
        "mem_limit": TEXT,
        "ports": st.lists(PORT | st.dictionaries(st.sampled_from(["target", "published"]), PORT)),
        "environment": st.lists(TEXT) | st.dictionaries(TEXT, TEXT),
        "command": TEXT | st.lists(TEXT),
        "volumes": st.lists(TEXT),
        "deploy": st.fixed_dictionaries(
            {"resources": st.fixed_dictionaries({"limits": st.dictionaries(TEXT, TEXT)})}
        ),
        "logging": st.fixed_dictionaries({"driver": TEXT, "options": st.dictionaries(TEXT, TEXT)}),
    }
)


@PROPERTY
@given(st.dictionaries(TEXT, SERVICE, max_size=2), st.dictionaries(TEXT, TEXT, max_size=3))
def test_load_compose_returns_a_project_or_refuses(
    services: dict[str, Any], environ: dict[str, str]
) -> None:
    _loads_or_refuses(
        lambda path: load_compose(path, environ),
        yaml.safe_dump({"services": services}),
        ComposeProject,
    )


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield from _paths(child, (*at, key))


SPEC_DATA = yaml.safe_load(PHASE_1)
SPEC_PATHS = list(_paths(SPEC_DATA))[1:]


@PROPERTY
@given(st.sampled_from(SPEC_PATHS), VALUES)
def test_load_spec_returns_a_spec_or_refuses(at: tuple[Any, ...], value: Any) -> None:
    document = copy.deepcopy(SPEC_DATA)
    parent = document
    for key in at[:-1]:
        parent = parent[key]
    parent[at[-1]] = value
    _loads_or_refuses(lambda path: load_spec(1, path), yaml.safe_dump(document), PhaseSpec)


def test_a_message_is_one_printable_line_whatever_the_input_held() -> None:
    """Found by the spec property test: a spec value "\\x1f" reached the message as it was."""
    spec = copy.deepcopy(SPEC_DATA)
    spec["environments"]["production"]["ec2_host"]["subnet"] = "\x1f\nx"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "phase-1.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        with pytest.raises(UsageError) as raised:
            load_spec(1, path)
    assert "ec2_host.subnet: \\x1f\\nx not defined here" in str(raised.value)
    assert str(raised.value).isprintable()
