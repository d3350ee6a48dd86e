"""No secret reaches an output. Known values are planted in every input that can carry one — the
DSN in each of its forms, the Redis and Docker URLs, secret-named environment variables, the
Compose file's environment and ``.env``, the embedded reference's Secrets Manager and RDS — and
every channel of a run is searched for them: stdout, stderr, JUnit, evidence.json,
conformance.md and conformance.html, with ``--tb=long --showlocals`` too."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from conformance.host import HostTargets, Unreachable
from conformance.host.redis import read_redis
from conformance.redact import (
    hide_quoted,
    redact_url,
    register,
    register_url,
    scrub,
    scrub_value,
)
from fixtures.host import COMPOSE_FILE, HostReference
from tests import hostservers
from tests.conftest import ROOT, free_port, run_suite
from tests.test_host_live import run_checks

# Every planted value holds the marker: a channel holding the marker holds a secret, or a piece
# of one, in whatever encoding (percent-encoding, JSON, HTML and XML escapes keep letters).
MARKER = "Pl4nted"
REDIS_PASSWORD = f"{MARKER}-redis@url"  # '@' is percent-encoded in the URL
ENV_PASSWORD = f"{MARKER}-compose-env"  # REDIS_PASSWORD in the environment, for Compose
DOTENV_TOKEN = f"{MARKER}-dotenv-token"  # TOKEN in the Compose file's .env
AWS_SECRET = f"{MARKER}-aws-secret-access-key"
AWS_SESSION = f"{MARKER}-aws-session-token"
SECRETS_MANAGER = f"{MARKER}-secretsmanager-value"
RDS_MASTER = f"{MARKER}-rds-master-password"

# Loaded with -p in the suite's process: the embedded reference's Secrets Manager values and RDS
# master password become known ones (it draws them from secrets.token_urlsafe), and each use is
# logged, so the test knows they were planted.
PLANT_PLUGIN = f'''
import os
import types

import fixtures.reference.database as database
import fixtures.reference.services as services


def _planted(value):
    def token_urlsafe(nbytes=None):
        with open(os.environ["PLANT_LOG"], "a") as log:
            log.write(value + "\\n")
        return value

    return types.SimpleNamespace(token_urlsafe=token_urlsafe)


services.secrets = _planted("{SECRETS_MANAGER}")
database.secrets = _planted("{RDS_MASTER}")
'''


def leaks(text: str, planted: list[str]) -> list[str]:
    """The planted values (raw or percent-encoded) or bare markers found in ``text``."""
    found = [v for v in planted if v in text or quote(v, safe="") in text]
    return found or ([MARKER] if MARKER in text else [])


def assert_no_leak(channels: dict[str, str], planted: list[str]) -> None:
    leaked = {name: leaks(text, planted) for name, text in channels.items()}
    leaked = {name: found for name, found in leaked.items() if found}
    context = {
        name: [line for line in channels[name].splitlines() if MARKER in line][:5]
        for name in leaked
    }
    assert not leaked, f"secrets in outputs: {leaked}\n{json.dumps(context, indent=1)}"


# --- the redaction itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("host=h password=s3cret dbname=x", "host=h password=*** dbname=x"),
        ("host=h password = s3cret dbname=x", "host=h password = *** dbname=x"),
        ("host=h password='s3 cret' dbname=x", "host=h password=*** dbname=x"),
        (r"host=h password = 'it\'s s3cret' dbname=x", "host=h password = *** dbname=x"),
        ("host=h sslpassword=s3cret", "host=h sslpassword=***"),
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:s3%40cret@h/db", "postgresql://u:***@h/db"),
        (
            "postgresql://u@h/db?sslmode=require&password=s3cret",
            "postgresql://u@h/db?sslmode=require&password=***",
        ),
        ("postgresql://u@h/db?password=s3%20cret&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("redis://:p@ss@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:s3cret@h/0?token=abc", "rediss://user:***@h/0?token=***"),
        ("tcp://user:s3cret@127.0.0.1:2375", "tcp://user:***@127.0.0.1:2375"),
        ("{'password': 's3cret', 'host': 'h'}", "{'password': ***, 'host': 'h'}"),
        ("--requirepass=s3cret", "--requirepass=***"),
        (
            "postgresql://u@h/db?password=s3cret: refused",
            "postgresql://u@h/db?password=***: refused",
        ),
        ("DB_PASSWORD=${DB_PASSWORD}", "DB_PASSWORD=${DB_PASSWORD}"),  # a reference, as written
        ("https://h:443/a?u=a@b redis://h:6379/0", "https://h:443/a?u=a@b redis://h:6379/0"),
    ],
)
def test_every_url_and_dsn_form_is_redacted(given: str, shown: str) -> None:
    assert redact_url(given) == shown


def test_a_registered_secret_is_scrubbed_in_every_form_a_library_may_show() -> None:
    secret = f"{MARKER}-a b/c@d'e"
    register_url(f"host=h password='{secret.replace(chr(39), chr(92) + chr(39))}' dbname=x")
    for shown in (
        secret,
        quote(secret, safe=""),
        quote(secret),
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
    ):
        text = scrub(f"args ('{shown}',) netloc=':{shown}@h' [{shown}]")
        assert MARKER not in text, (shown, text)


def test_a_password_with_an_unencoded_slash_is_not_shown_in_redis_errors() -> None:
    with pytest.raises(Unreachable) as raised:
        read_redis(f"redis://:{MARKER}/slash@127.0.0.1:1/0")
    assert MARKER not in str(raised.value)


def test_a_short_registered_secret_does_not_mask_inside_words() -> None:
    register("q7z")
    assert scrub("q7zz/q7z.py: q7z") == "q7zz/***.py: ***"


def test_values_of_secret_named_keys_are_masked_but_references_kept() -> None:
    value = {
        "splunk-token": f"{MARKER}-value",
        "awslogs-group": "/accountabilityatlas/prod",
        "api_key": "${API_KEY}",
        "nested": [{"DB_PASSWORD": f"{MARKER}-db"}],
    }
    assert scrub_value(value) == {
        "splunk-token": "***",
        "awslogs-group": "/accountabilityatlas/prod",
        "api_key": "${API_KEY}",
        "nested": [{"DB_PASSWORD": "***"}],
    }


def test_the_fragments_a_parse_error_quotes_are_hidden() -> None:
    assert (
        hide_quoted(f'missing "=" after "{MARKER}" in connection info string')
        == 'missing "=" after "***" in connection info string'
    )


# --- client libraries' messages --------------------------------------------------------------


def test_client_library_errors_are_scrubbed_and_never_escape() -> None:
    """The Docker SDK repeats a URL with userinfo, redis-py raises ValueError for a bad port,
    libpq quotes a piece of an unquoted password: each becomes an error naming the option."""
    dead = free_port()
    host = HostTargets(
        docker_host=f"tcp://user:{MARKER}-docker@127.0.0.1:{dead}",
        redis_url=f"redis://:{MARKER}-port@127.0.0.1:abc/0",
        db_dsn=f"host=127.0.0.1 port={dead} password={MARKER}-a {MARKER}-b",
    )
    results = run_checks(host, {"container.limits", "redis.policy", "db.extensions"})
    for check_id, result in results.items():
        assert result.outcome == "error", result.describe()
        assert MARKER not in result.describe() + json.dumps(result.as_json()), check_id
    assert results["container.limits"].message.startswith("--docker-host: tcp://user:***@")


def test_unreachable_scrubs_what_it_is_given() -> None:
    assert str(Unreachable(f"postgresql://u:{MARKER}@h/db: refused")) == (
        "postgresql://u:***@h/db: refused"
    )


# --- pytest's own channels ------------------------------------------------------------------

CRASHING_TEST = f'''
import logging


def test_crashes_holding_a_secret(record_property):
    url = "redis://:{MARKER}-local@127.0.0.1:1/0"
    kwargs = {{"password": "{MARKER}-local", "host": "127.0.0.1"}}
    print(url)
    logging.getLogger("client").warning("connecting to %s", url)
    record_property("url", url)
    raise ValueError(f"cannot connect to {{url}} with {{kwargs}}")
'''
REGISTERING_CONFTEST = f"""
from conformance import redaction_plugin
from conformance.redact import register_url


def pytest_configure(config):
    redaction_plugin.register(config)
    register_url("redis://:{MARKER}-local@127.0.0.1:1/0")
"""


def test_a_traceback_with_locals_captured_output_and_properties_are_scrubbed(
    tmp_path: Path,
) -> None:
    """A crash outside the checks (a test, a fixture, a hook) shows its locals under
    --showlocals, captured output and logs under -rA, properties in JUnit: all scrubbed."""
    (tmp_path / "conftest.py").write_text(REGISTERING_CONFTEST)
    (tmp_path / "test_crash.py").write_text(CRASHING_TEST)
    junit = tmp_path / "junit.xml"
    run = run_suite(
        "--tb=long",
        "--showlocals",
        "-rA",
        f"--junitxml={junit}",
        "-o",
        "junit_logging=all",
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "ValueError" in run.stdout and "url        = " in run.stdout  # the locals are shown
    assert "Captured log call" in run.stdout
    channels = {"stdout": run.stdout, "stderr": run.stderr, "junit": junit.read_text()}
    assert_no_leak(channels, [f"{MARKER}-local"])


# --- the suite, end to end -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (f"--redis-url=redis://:{MARKER}-redis@127.0.0.1:99999/0", "--redis-url redis://:***@"),
        (f"--redis-url=redis://:{MARKER}-redis@127.0.0.1:abc/0", "--redis-url redis://:***@"),
        (f"--redis-url=redis://:{MARKER}/slash@127.0.0.1:1/0", "--redis-url redis://:***@"),
        (f"--docker-host=tcp://user:{MARKER}-docker@127.0.0.1:1", "--docker-host tcp://user:***@"),
        (f"--db-dsn=host=127.0.0.1 password={MARKER}-a {MARKER}-b", "--db-dsn: not a PostgreSQL"),
        (f"--db-dsn=postgresql://u@h/db?password={MARKER} x", "--db-dsn: not a PostgreSQL"),
        (f"--tls-endpoint=user:{MARKER}@127.0.0.1:443", "--tls-endpoint: expected HOST:PORT"),
    ],
)
def test_a_bad_url_option_is_one_line_with_its_secret_hidden(
    option: str, said: str, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    run = run_suite(option, f"--junitxml={junit}", "--tb=long", "--showlocals", "-rA")
    assert run.returncode == 4, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and said in errors[0], run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    channels = {"stdout": run.stdout, "stderr": run.stderr}
    if junit.exists():
        channels["junit"] = junit.read_text()
    assert_no_leak(channels, [])


@pytest.fixture(scope="module")
def redis_with_password(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis with the reference's flags that requires the planted password."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (scripts/setup.d/host.sh)")
    args = [*HostReference.load().redis_args, "--requirepass", REDIS_PASSWORD]
    with hostservers.redis(args, tmp_path_factory.mktemp("redis")) as url:
        yield url.replace("redis://", f"redis://:{quote(REDIS_PASSWORD, safe='')}@")


def compose_with_secrets(directory: Path) -> Path:
    """The reference Compose file with the values the issue found interpolated into outputs:
    ``--requirepass ${REDIS_PASSWORD}`` (from the environment) and a logging
    ``splunk-token: ${TOKEN}`` (from the .env beside it)."""
    text = COMPOSE_FILE.read_text()
    text = text.replace(
        "command: redis-server --maxmemory 512mb --maxmemory-policy allkeys-lru",
        "command: redis-server --maxmemory 512mb --maxmemory-policy allkeys-lru"
        " --requirepass ${REDIS_PASSWORD}",
    )
    text = text.replace(
        "        awslogs-stream-prefix: redis\n",
        "        awslogs-stream-prefix: redis\n        splunk-token: ${TOKEN}\n",
    )
    assert "${TOKEN}" in text and "${REDIS_PASSWORD}" in text
    compose = directory / "docker-compose.prod.yml"
    compose.write_text(text)
    (directory / ".env").write_text(f"TOKEN={DOTENV_TOKEN}\n")
    return compose


DSN_FORMS = {
    "keyword": "host=127.0.0.1 port={port} user=atlas dbname=atlas"
    f" password = '{MARKER}-kw with \\' quote'",
    "uri": f"postgresql://atlas:{quote(MARKER + '-uri@x', safe='')}@127.0.0.1:{{port}}/atlas"
    f"?sslmode=disable&password={quote(MARKER + '-query&y', safe='')}",
}


@pytest.mark.parametrize(
    ("dsn_form", "traceback"),
    [("keyword", ["-rA", "-v"]), ("uri", ["--tb=long", "--showlocals", "-rA", "-v"])],
)
def test_no_planted_secret_reaches_any_output(
    dsn_form: str, traceback: list[str], redis_with_password: str, tmp_path: Path
) -> None:
    evidence, junit, plants = tmp_path / "evidence", tmp_path / "junit.xml", tmp_path / "plants"
    plants.mkdir()
    (plants / "plant_secrets.py").write_text(textwrap.dedent(PLANT_PLUGIN))
    compose = compose_with_secrets(tmp_path)
    run = run_suite(
        "-p",
        "plant_secrets",
        f"--evidence={evidence}",
        f"--junitxml={junit}",
        *traceback,
        f"--compose-file={compose}",
        f"--redis-url={redis_with_password}",
        f"--db-dsn={DSN_FORMS[dsn_form].format(port=free_port())}",
        env={
            "PYTHONPATH": str(plants),
            "PLANT_LOG": str(tmp_path / "planted.log"),
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_SESSION_TOKEN": AWS_SESSION,
            "REDIS_PASSWORD": ENV_PASSWORD,
        },
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]  # the DB is unreachable
    planted = (tmp_path / "planted.log").read_text().split()
    assert set(planted) == {SECRETS_MANAGER, RDS_MASTER}  # the reference holds the values
    outcomes = {
        r["id"]: r["outcome"]
        for r in json.loads((evidence / "evidence.json").read_text())["results"]
    }
    assert outcomes["redis.policy"] == "passed"  # the planted password was used, and worked
    assert outcomes["db.extensions"] == "error"
    assert outcomes["secrets.present"] == "passed"
    assert {"compose.redis", "compose.logging"} <= set(outcomes)
    channels = {"stdout": run.stdout, "stderr": run.stderr, "junit": junit.read_text()}
    for name in ("evidence.json", "conformance.md", "conformance.html"):
        channels[name] = (evidence / name).read_text()
    assert_no_leak(
        channels,
        [REDIS_PASSWORD, ENV_PASSWORD, DOTENV_TOKEN, AWS_SECRET, AWS_SESSION, *planted],
    )
