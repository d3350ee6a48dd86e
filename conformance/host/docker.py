"""The running containers' limits and restart policy, from the Docker Engine API (Docker SDK).

A container is matched to its Compose service by the ``com.docker.compose.service`` label that
Compose sets, else by its name. ``ssh://user@host`` reads the engine on the EC2 host itself
through the system ssh client.
"""

from __future__ import annotations

import docker
from docker.errors import DockerException
from docker.utils import parse_host
from pydantic import BaseModel
from requests import RequestException

from conformance.errors import UsageError
from conformance.host import Unreachable
from conformance.redact import hide_quoted, register_url, scrub

COMPOSE_SERVICE = "com.docker.compose.service"


class Container(BaseModel):
    name: str
    service: str
    nano_cpus: int
    memory: int
    restart: str
    running: bool


def check_host(url: str) -> None:
    """--docker-host as the Docker SDK will read it (it takes no user:password in the URL)."""
    try:
        parse_host(url)
    except (DockerException, ValueError) as exc:
        raise UsageError(f"--docker-host {scrub(url)}: {hide_quoted(str(exc))}") from None


def running_containers(base_url: str) -> dict[str, Container]:
    """Containers by Compose service (the newest wins when a service has several)."""
    register_url(base_url)
    try:
        client = docker.DockerClient(
            base_url=base_url, timeout=10, use_ssh_client=base_url.startswith("ssh://")
        )
        try:
            listed = client.api.containers(all=True)
            found: dict[str, Container] = {}
            for summary in sorted(listed, key=lambda c: c["Created"]):
                attrs = client.api.inspect_container(summary["Id"])
                host = attrs["HostConfig"]
                name = attrs["Name"].lstrip("/")
                service = (attrs["Config"].get("Labels") or {}).get(COMPOSE_SERVICE, name)
                found[service] = Container(
                    name=name,
                    service=service,
                    nano_cpus=int(host.get("NanoCpus") or 0),
                    memory=int(host.get("Memory") or 0),
                    restart=str((host.get("RestartPolicy") or {}).get("Name") or "no"),
                    running=bool(attrs["State"].get("Running")),
                )
            return found
        finally:
            client.close()
    except ValueError as exc:  # the SDK parsing the URL quotes a piece of it (an invalid port)
        raise Unreachable(f"{base_url}: {hide_quoted(str(exc))}") from None
    except (DockerException, RequestException, OSError) as exc:
        # The SDK's and requests' messages repeat the URL, userinfo included: Unreachable scrubs.
        raise Unreachable(f"{base_url}: {exc}") from None
