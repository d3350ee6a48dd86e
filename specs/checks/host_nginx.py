"""nginx.conf (--nginx-conf): the reverse proxy's rate limits, upstreams, redirect and TLS settings.

These read the configuration file, so they run before deploy (in CI) as well as on the host.
"""

from __future__ import annotations

from conformance.checks import CheckContext, ResourceMissing, check
from conformance.host.nginx import Location, NginxConfig, Server
from conformance.spec import EnvironmentSpec, NginxSpec


def _nginx(env: EnvironmentSpec) -> NginxSpec | None:
    return env.nginx


def _https(conf: NginxConfig) -> Server:
    found = [s for s in conf.servers if s.listens_on(443) and s.ssl]
    if not found:
        raise ResourceMissing("a server listening on 443 ssl", [s.where for s in conf.servers])
    return found[0]


def _plain_http(conf: NginxConfig) -> list[Server]:
    """The servers listening on port 80 without TLS (several may share the port)."""
    found = [s for s in conf.servers if s.listens_on(80) and not s.ssl]
    if not found:
        raise ResourceMissing("a server listening on 80", [s.where for s in conf.servers])
    return found


def _location(server: Server, path: str) -> Location:
    for location in server.locations:
        if location.path == path:
            return location
    raise ResourceMissing(f"location {path} in {server.where}", [x.path for x in server.locations])


@check(
    "nginx.worker_connections",
    title="nginx allows 1024 connections per worker",
    area=_nginx,
    severity="low",
    remediation="Set worker_connections in the events block to the documented value.",
)
def worker_connections(ctx: CheckContext, spec: NginxSpec) -> None:
    conf = ctx.run.host.nginx()
    ctx.expect(
        spec.worker_connections, conf.worker_connections, subject="events.worker_connections"
    )


@check(
    "nginx.rate_zones",
    title="The general and auth rate-limit zones have their key, size and rate",
    area=_nginx,
    severity="high",
    remediation="Declare each limit_req_zone with the documented key, zone size and rate.",
)
def rate_zones(ctx: CheckContext, spec: NginxSpec) -> None:
    conf = ctx.run.host.nginx()
    for name, zone in spec.rate_zones.items():
        args = conf.zones.get(name)
        if args is None:
            raise ResourceMissing(f"limit_req_zone zone={name}", conf.zones)
        expected = [zone.key.value, f"zone={name}:{zone.size.value}", f"rate={zone.rate.value}"]
        ctx.expect(
            zone.rate,
            " ".join(args),
            subject=f"limit_req_zone {name}",
            ok=sorted(args) == sorted(expected),
            expected=" ".join(expected),
        )


@check(
    "nginx.upstreams",
    title="The api_gateway and web_app upstreams point at their containers",
    area=_nginx,
    severity="high",
    remediation="Point each upstream at the documented service:port.",
)
def upstreams(ctx: CheckContext, spec: NginxSpec) -> None:
    conf = ctx.run.host.nginx()
    for name, servers in spec.upstreams.value.items():
        ctx.expect(
            spec.upstreams.derive(servers),
            conf.upstreams.get(name),
            subject=f"upstream {name}",
        )


@check(
    "nginx.http_redirect",
    title="The port-80 server answers 301 to https",
    area=_nginx,
    severity="high",
    remediation="Make the port-80 server `return 301 https://$host$request_uri;`.",
)
def http_redirect(ctx: CheckContext, spec: NginxSpec) -> None:
    for server in _plain_http(ctx.run.host.nginx()):
        answers, ok = _plain_http_answers(server)
        ctx.expect(spec.redirect, answers, subject=f"server at {server.where}", ok=ok)


ACME_CHALLENGE = "/.well-known/acme-challenge"


def _plain_http_answers(server: Server) -> tuple[str, bool]:
    """What the port-80 server answers, and whether every request but an ACME challenge is sent
    to https. A server-level ``return`` answers every request (nginx never reaches a location);
    otherwise ``location /`` must redirect and every other location must redirect too or answer
    the ACME challenge (certbot's webroot set-up)."""
    if server.returns is not None:
        return f"return {' '.join(server.returns)}", _redirects(server.returns)
    shown, catch_all, others = [], False, True
    for location in server.locations:
        modifier, _, uri = location.path.rpartition(" ")
        redirects = location.returns is not None and _redirects(location.returns)
        if location.returns is not None:
            answer = f"return {' '.join(location.returns)}"
        elif location.proxy_pass:
            answer = f"proxy_pass {location.proxy_pass}"
        else:
            answer = f"files from {location.root}" if location.root else "files"
        shown.append(f"location {location.path}: {answer}")
        if uri == "/" and modifier in ("", "^~"):
            catch_all = redirects
        elif not (redirects or uri.startswith(ACME_CHALLENGE)):
            others = False
    return "; ".join(shown) or "no return", catch_all and others


def _redirects(returned: list[str]) -> bool:
    status, target = [*returned, "", ""][:2]
    return status == "301" and target.startswith("https://")


@check(
    "nginx.server_names",
    title="The HTTPS server answers for the apex domain and www",
    area=_nginx,
    remediation="List the apex domain and www.<domain> in the 443 server's server_name.",
)
def server_names(ctx: CheckContext, spec: NginxSpec) -> None:
    server = _https(ctx.run.host.nginx())
    domain = ctx.inputs.domain
    expected = sorted({domain, f"www.{domain}"})
    ctx.expect(
        spec.stated(expected, note="the domain comes from the inputs"),
        sorted(server.names),
        subject=f"server_name of {server.where}",
        ok=set(expected) <= set(server.names),
    )


@check(
    "nginx.http_server_names",
    title="The port-80 server answers for the apex domain and www",
    area=_nginx,
    remediation="List the apex domain and www.<domain> in the port-80 server's server_name.",
)
def http_server_names(ctx: CheckContext, spec: NginxSpec) -> None:
    plain = _plain_http(ctx.run.host.nginx())
    domain = ctx.inputs.domain
    expected = sorted({domain, f"www.{domain}"})
    names = sorted({name for server in plain for name in server.names})
    ctx.expect(
        spec.stated(expected, note="the domain comes from the inputs"),
        names,
        subject=f"server_name of {', '.join(s.where for s in plain)}",
        ok=set(expected) <= set(names),
    )


@check(
    "nginx.certificate",
    title="The certificate and key come from the Let's Encrypt live directory",
    area=_nginx,
    severity="high",
    remediation="Point ssl_certificate and ssl_certificate_key at /etc/letsencrypt/live/<domain>/.",
)
def certificate(ctx: CheckContext, spec: NginxSpec) -> None:
    server = _https(ctx.run.host.nginx())
    live = f"{spec.certificate_dir.value}{ctx.inputs.domain}/"
    for directive in ("ssl_certificate", "ssl_certificate_key"):
        path = " ".join(server.settings.get(directive, [])) or "not set"
        ctx.expect(
            spec.certificate_dir.derive(f"{live}…"),
            path,
            subject=f"{directive} of {server.where}",
            ok=path.startswith(live),
        )


@check(
    "nginx.ssl_protocols",
    title="The HTTPS server enables exactly TLS 1.2 and TLS 1.3",
    area=_nginx,
    severity="critical",
    remediation="Set `ssl_protocols TLSv1.2 TLSv1.3;` in the 443 server.",
)
def ssl_protocols(ctx: CheckContext, spec: NginxSpec) -> None:
    server = _https(ctx.run.host.nginx())
    actual = server.settings.get("ssl_protocols")
    ctx.expect(
        spec.ssl_protocols,
        actual or "not set (nginx's default)",
        subject=f"ssl_protocols of {server.where}",
        ok=actual is not None and sorted(actual) == sorted(spec.ssl_protocols.value),
    )


@check(
    "nginx.prefer_server_ciphers",
    title="The server's cipher preference wins",
    area=_nginx,
    severity="low",
    remediation="Set `ssl_prefer_server_ciphers on;` in the 443 server.",
)
def prefer_server_ciphers(ctx: CheckContext, spec: NginxSpec) -> None:
    server = _https(ctx.run.host.nginx())
    actual = server.settings.get("ssl_prefer_server_ciphers", ["off"]) == ["on"]
    ctx.expect(
        spec.prefer_server_ciphers, actual, subject=f"ssl_prefer_server_ciphers of {server.where}"
    )


@check(
    "nginx.locations",
    title="/api/, /api/v1/auth/ and / proxy to their upstream with their rate limit",
    area=_nginx,
    severity="high",
    remediation="Give each location its documented proxy_pass and limit_req zone, burst, nodelay.",
)
def locations(ctx: CheckContext, spec: NginxSpec) -> None:
    server = _https(ctx.run.host.nginx())
    for path, documented in spec.locations.items():
        location = _location(server, path)
        ctx.expect(
            documented.upstream,
            location.proxy_pass,
            subject=f"proxy_pass of location {path} ({location.where})",
            ok=location.proxy_pass == f"http://{documented.upstream.value}",
            expected=f"http://{documented.upstream.value}",
        )
        expected = [f"zone={documented.zone.value}", f"burst={documented.burst.value}"]
        if documented.nodelay.value:
            expected.append("nodelay")
        ctx.expect(
            documented.burst,
            [" ".join(a) for a in location.limit_req] or "no limit_req",
            subject=f"limit_req of location {path} ({location.where})",
            ok=[sorted(a) for a in location.limit_req] == [sorted(expected)],
            expected=" ".join(expected),
        )


@check(
    "nginx.proxy_headers",
    title="Every proxied location sets Host, X-Real-IP, X-Forwarded-For and X-Forwarded-Proto",
    area=_nginx,
    remediation="Add the four proxy_set_header lines to each proxied location.",
)
def proxy_headers(ctx: CheckContext, spec: NginxSpec) -> None:
    server = _https(ctx.run.host.nginx())
    proxied = [loc for loc in server.locations if loc.proxy_pass]
    if not proxied:
        raise ResourceMissing(f"a proxied location in {server.where}", [])
    for location in proxied:
        actual = {k: location.headers.get(k) for k in spec.proxy_headers.value}
        ctx.expect(
            spec.proxy_headers,
            {k: v for k, v in actual.items() if v is not None},
            subject=f"proxy_set_header of location {location.path} ({location.where})",
            ok=actual == spec.proxy_headers.value,
        )
