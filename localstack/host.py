"""Run LocalStack on this host without Docker, in its own pinned virtual environment.

    python localstack/host.py install
    python localstack/host.py start [--port 4566] [--state-dir DIR] [--phase N [--drift ID]]
                                    [--without SERVICE,...]
    python localstack/host.py status [--state-dir DIR]
    python localstack/host.py stop [--state-dir DIR]

LocalStack's pins fight the suite's, so it lives in ``.venv-localstack`` (created from
``localstack/requirements.txt``). It listens on 127.0.0.1 only and keeps everything it writes
under the state directory (default ``.localstack/``, git-ignored). ``start --phase N`` provisions
the reference environment of phase N through the same init hook the Docker set-up uses. ``stop``
stops only the process this launcher recorded in the state directory. Standard library only:
it runs under any Python 3.11+.

LocalStack downloads the engines of a few services at their first use (Java and DynamoDB Local,
OpenSearch, kinesis-mock). Offline, such a call hangs for about 25 s and then fails with a 500,
so by default (``--without auto``) those services are switched off when github.com does not
resolve: LocalStack then answers 501 for them and the suite skips their checks, naming them.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = ROOT / ".venv-localstack"
REQUIREMENTS = HERE / "requirements.txt"
HOOKS = HERE / "init" / "ready.d"
DEFAULT_STATE = ROOT / ".localstack"
SERVER_MODULE = "localstack.runtime.main"
START_TIMEOUT = 60.0
PROVISION_TIMEOUT = 180.0
STOP_GRACE = 10.0
ENGINE_DOWNLOADS = ("dynamodb", "dynamodbstreams", "es", "kinesis", "opensearch")


class LauncherError(Exception):
    """A failure the user can act on: printed as one line, exit status 1."""


def install(quiet: bool = False) -> Path:
    """Create or update .venv-localstack from the pinned requirements; return its python."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    if not python.exists():
        _say(f"creating {VENV.name} (LocalStack's own virtualenv)", quiet)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    _say(f"installing the pinned LocalStack ({REQUIREMENTS.relative_to(ROOT)})", quiet)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted + "\n")
    return python


def start(
    state: Path, port: int, phase: int | None, drift: str | None, without: list[str]
) -> dict[str, Any]:
    """Start LocalStack, wait until it is healthy (and provisioned), record what was started."""
    running = _recorded(state)
    if running is not None:
        raise LauncherError(
            f"already running: pid {running['pid']} at {running['endpoint']} (stop it first)"
        )
    python = install(quiet=True)
    _require_free(port)
    endpoint = f"http://127.0.0.1:{port}"
    filesystem = _prepare_filesystem(state, provision=phase is not None)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AWS_ENDPOINT_URL")}
    env |= {
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_SERVER": "hypercorn",  # the default server binds 0.0.0.0 whatever we ask
        "OVERRIDE_IN_DOCKER": "0",  # else it writes to /var/lib, /etc and /usr/lib
        "FILESYSTEM_ROOT": str(filesystem),
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",
        "CONFORMANCE_ROOT": str(ROOT),
        "CONFORMANCE_ENDPOINT": endpoint,
        "CONFORMANCE_PHASE": str(phase or ""),
        "CONFORMANCE_DRIFT": drift or "",
    }
    if without:
        env |= {"SERVICES": ",".join(s for s in _providers() if s not in without)}
    log_path = state / "localstack.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(python), "-m", SERVER_MODULE],
            cwd=state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop ends it and its children
        )
    record = {
        "pid": process.pid,
        "port": port,
        "endpoint": endpoint,
        "log": str(log_path),
        "without": without,
    }
    (state / "localstack.json").write_text(json.dumps(record, indent=2) + "\n")
    try:
        health = _wait(process, endpoint, "/_localstack/health", START_TIMEOUT, log_path)
        if phase is not None:
            _wait_for_hooks(process, endpoint, log_path)
    except BaseException:
        stop(state)
        raise
    return record | {"version": health.get("version"), "edition": health.get("edition")}


def stop(state: Path) -> int | None:
    """Stop the LocalStack recorded in ``state`` (only that one); return its pid if it ran."""
    record_path = state / "localstack.json"
    running = _recorded(state)
    record_path.unlink(missing_ok=True)
    if running is None:
        return None
    pid = int(running["pid"])
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while _is_ours(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _is_ours(pid):
        _signal_group(pid, signal.SIGKILL)
    return pid


def status(state: Path) -> dict[str, Any] | None:
    running = _recorded(state)
    if running is None:
        return None
    return running | {"health": _get_json(running["endpoint"] + "/_localstack/health")}


def resolve_without(value: str) -> list[str]:
    """The services to switch off: ``auto`` means the engine downloads when offline."""
    if value != "auto":
        return [s for s in value.split(",") if s]
    try:
        socket.getaddrinfo("github.com", 443)
    except OSError:
        return list(ENGINE_DOWNLOADS)
    return []


def _providers() -> list[str]:
    """Every service the installed LocalStack has a provider for (its entry points)."""
    found = sorted(VENV.glob("lib/python*/site-packages/localstack_core-*.dist-info"))
    if not found:
        raise LauncherError(f"localstack-core is not installed in {VENV}")
    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.read(found[-1] / "entry_points.txt")
    names = entry_points["localstack.aws.provider"].keys()
    return sorted({name.split(":")[0] for name in names})


def _prepare_filesystem(state: Path, provision: bool) -> Path:
    """LocalStack's directories under ``state``; the init hook linked in only when provisioning."""
    filesystem = state / "filesystem"
    libs = filesystem / "usr" / "lib" / "localstack"
    libs.mkdir(parents=True, exist_ok=True)
    # What the community image ships: LocalStack reads its edition from this marker file, and
    # the packages installed here (localstack-core without localstack-ext) are that edition.
    (libs / ".community-version").touch()
    ready = filesystem / "etc" / "localstack" / "init" / "ready.d"
    ready.parent.mkdir(parents=True, exist_ok=True)
    if ready.is_symlink() or ready.is_file():
        ready.unlink()
    if provision:
        ready.symlink_to(HOOKS, target_is_directory=True)
    return filesystem


def _wait(
    process: subprocess.Popen[bytes], endpoint: str, path: str, timeout: float, log: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LauncherError(
                f"LocalStack exited with status {process.returncode}:\n{_tail(log)}"
            )
        answer = _get_json(endpoint + path)
        if answer is not None:
            return answer
        time.sleep(0.1)
    raise LauncherError(f"no answer on {endpoint}{path} after {timeout:.0f} s:\n{_tail(log)}")


def _wait_for_hooks(process: subprocess.Popen[bytes], endpoint: str, log: Path) -> None:
    deadline = time.monotonic() + PROVISION_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        ready = _wait(process, endpoint, "/_localstack/init/ready", left, log)
        failed = [s["name"] for s in ready.get("scripts", []) if s.get("state") == "ERROR"]
        if failed:
            raise LauncherError(f"init hook {', '.join(failed)} failed:\n{_tail(log)}")
        if ready.get("completed"):
            return
        time.sleep(0.2)
    raise LauncherError(f"the init hooks did not finish in {PROVISION_TIMEOUT:.0f} s")


def _get_json(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def _recorded(state: Path) -> dict[str, Any] | None:
    """The record of a LocalStack this launcher started that is still alive, else None."""
    try:
        record = json.loads((state / "localstack.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and _is_ours(int(record["pid"])) else None


def _is_ours(pid: int) -> bool:
    """Alive and still LocalStack's server: a recycled pid is never signalled."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    return not zombie and SERVER_MODULE.encode() in cmdline


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _require_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LauncherError(
                f"port {port} on 127.0.0.1 is in use (another LocalStack? try --port)"
            ) from None


def _tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python localstack/host.py", description=__doc__)
    parser.add_argument("command", choices=("install", "start", "status", "stop"))
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--phase", type=int, choices=(1, 2, 3, 4), help="provision this phase")
    parser.add_argument("--drift", help="with --phase: apply this catalogue drift")
    parser.add_argument(
        "--without",
        default="auto",
        metavar="SERVICE,...",
        help="services to switch off (default auto: engine downloads when offline; '' for none)",
    )
    args = parser.parse_args(argv)
    if args.drift and args.phase is None:
        parser.error("--drift needs --phase")
    state: Path = args.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    try:
        if args.command == "install":
            print(install())
        elif args.command == "start":
            without = resolve_without(args.without)
            started = start(state, args.port, args.phase, args.drift, without)
            provisioned = f", phase {args.phase} provisioned" if args.phase else ""
            off = f" · switched off: {', '.join(without)}" if without else ""
            print(
                f"LocalStack {started['version']} ({started['edition']} edition) ready at "
                f"{started['endpoint']}{provisioned} · pid {started['pid']} · log "
                f"{started['log']}{off}"
            )
        elif args.command == "status":
            found = status(state)
            if found is None:
                print(f"not running (nothing recorded in {state})")
                return 1
            print(json.dumps(found, indent=2))
        else:
            pid = stop(state)
            print(f"stopped pid {pid}" if pid else f"not running (nothing recorded in {state})")
    except (LauncherError, subprocess.CalledProcessError) as exc:
        print(f"localstack/host.py {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
