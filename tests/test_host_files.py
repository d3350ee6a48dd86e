"""Host checks from files: nginx.conf through crossplane, the Compose file with Compose's
semantics, clear usage errors for malformed files, and no secret in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.host import HostTargets
from conformance.host.compose import interpolate, load_compose, memory_bytes
from conformance.host.nginx import load_nginx
from conformance.redact import redact_url
from fixtures.host import COMPOSE_FILE, NGINX_CONF, HostReference, replace
from tests.conftest import run_suite
from tests.test_host_live import run_checks

NGINX_IDS = {
    "nginx.worker_connections",
    "nginx.rate_zones",
    "nginx.upstreams",
    "nginx.http_redirect",
    "nginx.http_server_names",
    "nginx.server_names",
    "nginx.certificate",
    "nginx.ssl_protocols",
    "nginx.prefer_server_ciphers",
    "nginx.locations",
    "nginx.proxy_headers",
}


def test_includes_are_resolved_and_headers_inherited(tmp_path: Path) -> None:
    """The same settings split across included files, headers set once per server, pass."""
    conf = NGINX_CONF.read_text()
    headers = (
        "            proxy_set_header Host $host;\n"
        "            proxy_set_header X-Real-IP $remote_addr;\n"
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "            proxy_set_header X-Forwarded-Proto $scheme;\n"
    )
    assert conf.count(headers) == 3
    conf = conf.replace(headers, "")
    conf = replace(conf, "        ssl_prefer_server_ciphers on;\n", "        include proxy.conf;\n")
    (tmp_path / "proxy.conf").write_text("ssl_prefer_server_ciphers on;\n" + headers)
    https = conf.index("    server {\n        listen 443")
    end = conf.rindex("}")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "site.conf").write_text(conf[https:end])
    (tmp_path / "nginx.conf").write_text(conf[:https] + "    include conf.d/*.conf;\n}\n")

    parsed = load_nginx(tmp_path / "nginx.conf")
    https_server = next(s for s in parsed.servers if s.ssl)
    assert https_server.where.startswith(str(tmp_path / "conf.d" / "site.conf"))
    results = run_checks(HostTargets(nginx_conf=tmp_path / "nginx.conf"), NGINX_IDS)
    assert {i for i, r in results.items() if r.outcome != "passed"} == set()


REDIRECT = "return 301 https://$host$request_uri;"
WEBROOT = "location /.well-known/acme-challenge/ {\n            root /var/www/certbot;\n        }\n"


@pytest.mark.parametrize(
    ("port_80_body", "passes"),
    [
        # certbot's webroot set-up: the challenge from disk, everything else redirected
        (f"{WEBROOT}        location / {{\n            {REDIRECT}\n        }}", True),
        (
            "location ^~ /.well-known/acme-challenge/ {\n            alias /srv/acme/;\n        }\n"
            f"        location ^~ / {{\n            {REDIRECT}\n        }}",
            True,
        ),
        (f"{WEBROOT}        {REDIRECT}", True),  # a server-level return answers every request
        (
            f"{WEBROOT}        location / {{\n            proxy_pass http://web_app;\n        }}",
            False,
        ),
        (
            f"location / {{\n            {REDIRECT}\n        }}\n        location /api/ {{\n"
            "            proxy_pass http://api_gateway;\n        }",
            False,
        ),
        (WEBROOT, False),  # only the challenge: every other request gets a 404, not https
        (f"location = / {{\n            {REDIRECT}\n        }}", False),  # "/" only, exactly
    ],
)
def test_port_80_redirects_everything_but_the_acme_challenge(
    tmp_path: Path, port_80_body: str, passes: bool
) -> None:
    conf = replace(NGINX_CONF.read_text(), REDIRECT, port_80_body)
    (tmp_path / "nginx.conf").write_text(conf)
    result = run_checks(HostTargets(nginx_conf=tmp_path / "nginx.conf"), {"nginx.http_redirect"})
    outcome = result["nginx.http_redirect"]
    assert outcome.outcome == ("passed" if passes else "failed"), outcome.describe()


COMMENT = "    # Redirect HTTP to HTTPS\n"
PORT_80_NAMES = (
    "listen 80;\n        server_name accountabilityatlas.com www.accountabilityatlas.com;"
)


@pytest.mark.parametrize(
    ("old", "new", "passes"),
    [
        (None, None, True),
        # a catch-all default server beside the named one: the names are the named server's
        (
            COMMENT,
            "    server {\n        listen 80 default_server;\n        return 444;\n    }\n"
            + COMMENT,
            True,
        ),
        (PORT_80_NAMES, "listen 80;\n        server_name www.accountabilityatlas.com;", False),
        (PORT_80_NAMES, "listen 80;", False),  # no server_name: nginx's default, ""
    ],
)
def test_port_80_server_names(tmp_path: Path, old: str | None, new: str, passes: bool) -> None:
    conf = NGINX_CONF.read_text()
    (tmp_path / "nginx.conf").write_text(replace(conf, old, new) if old else conf)
    results = run_checks(
        HostTargets(nginx_conf=tmp_path / "nginx.conf"), {"nginx.http_server_names"}
    )
    outcome = results["nginx.http_server_names"]
    assert outcome.outcome == ("passed" if passes else "failed"), outcome.describe()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("events {\n    worker_connections 1024\n}\n", 2, "not terminated"),
        ("events {\n}\nhttp {\n    include missing.conf;\n}\n", 4, "No such file"),
        ("events {\n}\nhttp {\n    listen 80;\n}\n", 4, "not allowed here"),
    ],
)
def test_malformed_nginx_conf_is_one_usage_error_with_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "nginx.conf"
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as raised:
        load_nginx(path)
    assert str(raised.value).startswith(f"{path}:{line}: ")


def test_malformed_files_stop_the_run_with_one_clear_error(tmp_path: Path) -> None:
    nginx = tmp_path / "nginx.conf"
    nginx.write_text("events {\n    worker_connections 1024\n}\n")
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web:\n    image: x\n   bad: [\n")
    for option, path, line in (("--nginx-conf", nginx, 2), ("--compose-file", compose, 4)):
        done = run_suite("specs/checks/host_nginx.py", f"{option}={path}")
        assert done.returncode == 4, done.stdout + done.stderr
        assert f"{path}:{line}: " in done.stderr
        assert "Traceback" not in done.stdout + done.stderr


def test_compose_semantics() -> None:
    assert [memory_bytes(m, "x") for m in ("512M", "1g", "536870912", "512mb", "1024k")] == [
        512 * 1024**2,
        1024**3,
        536870912,
        512 * 1024**2,
        1024**2,
    ]
    with pytest.raises(UsageError, match="not a memory size"):
        memory_bytes("lots", "services.web.memory")
    env = {"TAG": "v1", "EMPTY": ""}
    assert interpolate("a:${TAG}", env, "x") == "a:v1"
    assert (
        interpolate("${MISSING:-d}|${EMPTY:-d}|${EMPTY-d}|$$HOME|$TAG", env, "x") == "d|d||$HOME|v1"
    )
    with pytest.raises(UsageError, match="required variable MISSING"):
        interpolate("${MISSING:?set it}", env, "x")


def test_compose_map_environment_long_ports_and_legacy_limits(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PROFILE=prod\nDB_PASSWORD=from-dotenv\n")
    path = tmp_path / "compose.yml"
    path.write_text(
        "services:\n"
        "  api:\n"
        "    image: x\n"
        "    cpus: 0.5\n"
        "    mem_limit: 1g\n"
        "    environment:\n"
        "      SPRING_PROFILES_ACTIVE: ${PROFILE}\n"
        "      DB_PASSWORD: ${DB_PASSWORD}\n"
        "    ports:\n"
        "      - {target: 8080, published: 8443}\n"
        "      - 127.0.0.1:9000:9000/tcp\n"
    )
    api = load_compose(path, {}).services["api"]
    assert (api.cpus, api.memory_bytes, api.published_ports) == (0.5, 1024**3, [8443, 9000])
    assert api.environment == {"SPRING_PROFILES_ACTIVE": "prod"}


def test_compose_values_that_could_carry_a_secret_are_kept_as_written(tmp_path: Path) -> None:
    """Interpolated only where a value is parsed or compared (the awslogs region, the profile,
    ports); a command argument or a logging option shows the variable, never its value."""
    path = tmp_path / "compose.yml"
    path.write_text(
        "services:\n"
        "  redis:\n"
        "    command: redis-server --requirepass ${REDIS_PASSWORD} --masterauth inline-SECRET\n"
        "    logging:\n"
        "      driver: ${DRIVER}\n"
        "      options: {splunk-token: '${TOKEN}', awslogs-region: '${REGION}'}\n"
        "    environment: ['SPRING_PROFILES_ACTIVE=${PROFILE}', 'DB_PASSWORD=${DB_PASSWORD}']\n"
        "    ports: ['3000', '127.0.0.1:${PORT}:80']\n"
    )
    environ = {
        "REDIS_PASSWORD": "redis-SECRET",
        "TOKEN": "token-SECRET",
        "DB_PASSWORD": "db-SECRET",
        "DRIVER": "splunk",
        "REGION": "us-east-1",
        "PROFILE": "prod",
        "PORT": "8080",
    }
    redis = load_compose(path, environ).services["redis"]
    assert redis.command == [
        "redis-server",
        "--requirepass",
        "${REDIS_PASSWORD}",
        "--masterauth",
        "***",
    ]
    assert redis.logging_driver == "splunk"
    assert redis.logging_options == {"splunk-token": "${TOKEN}", "awslogs-region": "us-east-1"}
    assert redis.environment == {"SPRING_PROFILES_ACTIVE": "prod"}
    assert redis.published_ports == [0, 8080]  # "3000" is published on a port Docker picks
    assert "SECRET" not in redis.model_dump_json()


def test_compose_ports_mounts_dependencies_and_variable_names(tmp_path: Path) -> None:
    """Container ports from expose and port targets; mounts in both syntaxes; depends_on as a
    list or a map; variable names from environment and env_file, with no value kept."""
    (tmp_path / "app.env").write_text(
        "# comment\nexport DB_PASSWORD=db-SECRET\nJWT_PRIVATE_KEY='k-SECRET'\nBARE\n"
        'PEM_KEY="-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0SECRET\n'
        '-----END PRIVATE KEY-----"\n'
    )
    path = tmp_path / "compose.yml"
    path.write_text(
        "services:\n"
        "  api:\n"
        "    image: x\n"
        "    expose: ['8081', 9000-9001/tcp]\n"
        "    ports: ['127.0.0.1:80:8080', {target: 8443, published: 443}]\n"
        "    environment: {SERVER_PORT: '8081', ADMIN_EMAIL: null, ADMIN_PASSWORD_HASH: h-SECRET}\n"
        "    env_file: [app.env, {path: optional.env, required: false}, missing.env]\n"
        "    volumes:\n"
        "      - ./nginx.conf:/etc/nginx/nginx.conf:ro,z\n"
        "      - data:/data\n"
        "      - /anonymous\n"
        "      - {type: bind, source: ./certs, target: /etc/letsencrypt, read_only: true}\n"
        "    depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}\n"
        "  web:\n"
        "    image: y\n"
        "    env_file: app.env\n"
        "    depends_on: [api]\n"
    )
    project = load_compose(path, {})
    api, web = project.services["api"], project.services["web"]
    assert (api.container_ports, api.published_ports) == ([8080, 8081, 8443, 9000, 9001], [80, 443])
    assert api.environment == {"SERVER_PORT": "8081"}
    assert api.variable_names == [
        "ADMIN_EMAIL",
        "ADMIN_PASSWORD_HASH",
        "BARE",
        "DB_PASSWORD",
        "JWT_PRIVATE_KEY",
        "PEM_KEY",
        "SERVER_PORT",
    ]
    assert api.unread_env_files == ["missing.env"]  # optional.env is skipped, as Compose does
    assert [(m.source, m.target, m.read_only) for m in api.volumes] == [
        ("./nginx.conf", "/etc/nginx/nginx.conf", True),
        ("data", "/data", False),
        (None, "/anonymous", False),
        ("./certs", "/etc/letsencrypt", True),
    ]
    assert (api.depends_on, web.depends_on) == (["cache", "db"], ["api"])
    assert web.variable_names == ["BARE", "DB_PASSWORD", "JWT_PRIVATE_KEY", "PEM_KEY"]
    assert "SECRET" not in project.model_dump_json()


USER_SECRETS = (
    "      - JWT_PRIVATE_KEY=${JWT_PRIVATE_KEY}\n"
    "      - DB_PASSWORD=${DB_PASSWORD}\n"
    "      - ADMIN_PASSWORD_HASH=${ADMIN_PASSWORD_HASH}\n"
    "      - ADMIN_EMAIL=${ADMIN_EMAIL}\n"
)
USER_ENV_FILE = "    env_file: [user.env]\n    deploy:\n"


def _user_service(text: str, old: str, new: str) -> str:
    start = text.index("\n  user-service:\n")
    return text[:start] + replace(text[start:], old, new)


@pytest.mark.parametrize(
    ("changes", "env_file", "outcomes"),
    [
        # the secrets in an env_file, as "Docker Compose with env file" says
        ([(USER_SECRETS, ""), ("    deploy:\n", USER_ENV_FILE)], True, ("passed", "passed")),
        # the same env_file not here (e.g. only .env is copied over SSH): not verifiable
        ([(USER_SECRETS, ""), ("    deploy:\n", USER_ENV_FILE)], False, ("error", "passed")),
        # another accepted spelling, and the port as Spring's SERVER_PORT
        (
            [
                ("- DB_PASSWORD=", "- SPRING_DATASOURCE_PASSWORD="),
                ('    expose:\n      - "8081"\n', ""),
                (
                    "- SPRING_PROFILES_ACTIVE=prod\n",
                    "- SPRING_PROFILES_ACTIVE=prod\n      - SERVER_PORT=8081\n",
                ),
            ],
            False,
            ("passed", "passed"),
        ),
        # no port stated, as in the document's own Compose block: the image decides, so that
        # service is not compared (the file cannot contradict the diagram); the others are
        ([('    expose:\n      - "8081"\n', "")], False, ("passed", "passed")),
        # a port stated otherwise than the diagram
        (
            [('    expose:\n      - "8081"\n', '    expose:\n      - "9081"\n')],
            False,
            ("passed", "failed"),
        ),
        # the ApplicationRunner's ADMIN_EMAIL missing
        ([("      - ADMIN_EMAIL=${ADMIN_EMAIL}\n", "")], False, ("failed", "passed")),
    ],
)
def test_secret_variables_and_container_ports(
    tmp_path: Path, changes: list[tuple[str, str]], env_file: bool, outcomes: tuple[str, str]
) -> None:
    text = COMPOSE_FILE.read_text()
    for old, new in changes:
        text = _user_service(text, old, new)
    if env_file:
        (tmp_path / "user.env").write_text(
            "JWT_PRIVATE_KEY=k-SECRET\nDB_PASSWORD=d-SECRET\nADMIN_PASSWORD_HASH=h\nADMIN_EMAIL=a\n"
        )
    path = tmp_path / "docker-compose.prod.yml"
    path.write_text(text)
    ids = {"compose.secret_variables", "compose.container_ports"}
    results = run_checks(HostTargets(compose_file=path), ids)
    got = (results["compose.secret_variables"], results["compose.container_ports"])
    assert tuple(r.outcome for r in got) == outcomes, "\n".join(r.describe() for r in got)
    if outcomes[0] == "error":
        assert "not verifiable here: jwt-private-key for user-service (env_file user.env)" in (
            got[0].message
        )
    assert "SECRET" not in "".join(r.describe() for r in got)


def test_reference_files_are_the_document() -> None:
    reference = HostReference.load()
    assert "limit_req_zone $binary_remote_addr zone=auth:10m rate=5r/s;" in reference.nginx_conf
    project = load_compose(COMPOSE_FILE, {})
    assert len(project.services) == 10


def test_redact_hides_passwords() -> None:
    assert redact_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"
    assert redact_url("host=h password=s3cret dbname=x") == "host=h password=*** dbname=x"
    assert redact_url("host=h password = 's3 cret' dbname=x") == "host=h password = *** dbname=x"
    assert (
        redact_url("postgresql://u@h/db?password=s3cret&x=1")
        == "postgresql://u@h/db?password=***&x=1"
    )


SECRETS = {
    "JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw-SECRET1",
    "DB_PASSWORD": "db-password-SECRET2",
    "MAPBOX_ACCESS_TOKEN": "pk.mapbox-SECRET3",
}


def test_no_secret_reaches_output_report_or_evidence(tmp_path: Path) -> None:
    """Secrets in the environment, in .env, inline in the file and in a command, with failing
    checks that print actual values: none of them appears anywhere the suite writes."""
    reference = HostReference.load()
    compose = replace(
        reference.compose,
        "      - SPRING_PROFILES_ACTIVE=prod,fts\n",
        "      - SPRING_PROFILES_ACTIVE=prod\n"
        "      - ADMIN_PASSWORD_HASH=$$2a$$10$$inline-SECRET4\n",
    )
    compose = replace(
        compose,
        "--maxmemory-policy allkeys-lru",
        "--maxmemory-policy volatile-lru --requirepass ${REDIS_PASSWORD}",
    )
    (tmp_path / ".env").write_text("YOUTUBE_API_KEY=yt-SECRET5\nREDIS_PASSWORD=redis-SECRET6\n")
    path = tmp_path / "docker-compose.prod.yml"
    path.write_text(compose)
    evidence = tmp_path / "evidence"
    junit = tmp_path / "junit.xml"
    done = run_suite(
        "specs/checks/host_compose.py",
        "specs/checks/host_live.py",
        "specs/checks/host_nginx.py",
        f"--compose-file={path}",
        "--redis-url=redis://:redis-SECRET7@127.0.0.1:9/0",
        "--db-dsn=postgresql://atlas:pg-SECRET8@127.0.0.1:9/atlas",
        f"--evidence={evidence}",
        f"--junitxml={junit}",
        "-v",
        "-rA",
        env=SECRETS,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "compose.environment FAILED" in output and "compose.redis FAILED" in output
    assert "nginx.worker_connections PASSED" in output  # the embedded reference's nginx.conf
    written = output + (evidence / "evidence.json").read_text() + junit.read_text()
    leaked = [s for s in (*SECRETS.values(), *(f"SECRET{i}" for i in range(1, 9))) if s in written]
    assert leaked == []
    results = json.loads((evidence / "evidence.json").read_text())["results"]
    redis_live = next(r for r in results if r["id"] == "redis.policy")
    assert (
        redis_live["outcome"] == "error" and "redis://:***@127.0.0.1:9/0" in redis_live["message"]
    )


def test_rate_limit_probe_refuses_a_production_host() -> None:
    done = run_suite(
        "specs/checks/host_live.py",
        "--rate-limit-probe",
        "--tls-endpoint=accountabilityatlas.com:443",
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "--rate-limit-probe refuses accountabilityatlas.com" in done.stderr
