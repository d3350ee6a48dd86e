"""``--ssh-host``: read the host's configuration files on the EC2 host itself, over SFTP.

The file checks parse local files with crossplane and the Compose reader; rather than teach both
to read remotely, the files are *copied* (read-only, bounded in size) into a local temp dir and
parsed there by the same loaders, so a remote file is checked exactly as a local one. For nginx
the whole directory of nginx.conf is copied, because its ``include`` directives may reference any
file in it; the remote layout is mirrored under the temp dir (``<tmp>/etc/nginx/…``) so messages
still show the remote path. For Compose the ``.env`` beside the file is copied too, since Compose
interpolates from it. Nothing is ever written on the remote host.

paramiko is used directly (SFTP: no shell command runs remotely). ``~/.ssh/config`` is honoured
for HostName, User, Port, IdentityFile and StrictHostKeyChecking; host keys are checked against
``~/.ssh/known_hosts`` (an unknown host is refused unless the config says ``accept-new``/``no``),
because a spoofed host could otherwise make a drifted environment look conformant.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import paramiko

from conformance.errors import TargetError, UsageError

# Bounds of what is copied: nginx's directory holds a few dozen small files; anything bigger is
# not a configuration directory and is refused rather than copied.
MAX_FILES = 500
MAX_BYTES = 10 * 2**20
MAX_DEPTH = 4
TIMEOUT = 10.0

# Without a handler paramiko's errors would reach stderr through logging's last resort, as
# tracebacks; the failure is reported once, as a TargetError, instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False


@dataclass(frozen=True)
class SshHost:
    """``[USER@]HOST[:PORT]`` as given; None means "from ~/.ssh/config, else the default"."""

    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> SshHost:
        user, _, rest = text.rpartition("@")
        host, colon, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
        if not host or (colon and not port.isdigit()):
            raise UsageError(f"--ssh-host {text!r}: expected [USER@]HOST[:PORT]")
        return cls(host=host, user=user or None, port=int(port) if colon else None)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.host}{port}"


def fetch(
    target: SshHost,
    key: Path | None,
    nginx_conf: PurePosixPath | None,
    compose_file: PurePosixPath | None,
    into: Path,
) -> tuple[Path | None, Path | None]:
    """Copy the remote nginx.conf (with its directory) and Compose file (with ``.env``) under
    ``into``; return their local paths. Any failure is one error naming host and path."""
    for option, remote in (("--nginx-conf", nginx_conf), ("--compose-file", compose_file)):
        if remote is not None and not remote.is_absolute():
            raise UsageError(f"{option} {remote}: with --ssh-host, give the absolute remote path")
    client, target = _connect(target, key)
    try:
        sftp = client.open_sftp()
        copier = _Copier(sftp, target, into)
        nginx = compose = None
        if nginx_conf is not None:
            copier.require("--nginx-conf", nginx_conf)
            copier.tree("--nginx-conf", nginx_conf.parent, depth=0)
            nginx = copier.local(nginx_conf)
            _localize_includes(copier.local(nginx_conf.parent), nginx_conf.parent, target)
        if compose_file is not None:
            copier.require("--compose-file", compose_file)
            copier.file("--compose-file", compose_file)
            env = compose_file.parent / ".env"
            if copier.exists(env):
                copier.file("--compose-file", env)
            compose = copier.local(compose_file)
        return nginx, compose
    except (OSError, paramiko.SSHException) as exc:
        raise TargetError(f"--ssh-host {target}: reading files failed: {_reason(exc)}") from None
    finally:
        client.close()


def _connect(target: SshHost, key: Path | None) -> tuple[paramiko.SSHClient, SshHost]:
    """A logged-in client, and the target as resolved through ~/.ssh/config (for messages)."""
    config = paramiko.SSHConfig()
    path = Path(os.path.expanduser("~/.ssh/config"))
    if path.is_file():
        config = paramiko.SSHConfig.from_path(str(path))
    found = config.lookup(target.host)
    hostname = found.get("hostname", target.host)
    user = target.user or found.get("user") or getpass.getuser()
    port = target.port or int(found.get("port", 22))
    keys = [str(key)] if key is not None else list(found.get("identityfile", [])) or None
    if key is not None and not key.is_file():
        raise UsageError(f"--ssh-key {key}: no such file")
    client = paramiko.SSHClient()
    client.load_system_host_keys()
    known = found.get("userknownhostsfile")
    if known and Path(os.path.expanduser(known)).is_file():
        client.load_host_keys(os.path.expanduser(known))
    if found.get("stricthostkeychecking", "ask").lower() in ("no", "accept-new", "off"):
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # kept in memory only
    else:
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    resolved = SshHost(host=hostname, user=user, port=port)
    where = f"--ssh-host {resolved}"
    try:
        client.connect(
            hostname,
            port=port,
            username=user,
            key_filename=keys,
            timeout=TIMEOUT,
            banner_timeout=TIMEOUT,
            auth_timeout=TIMEOUT,
            allow_agent=key is None,
            look_for_keys=key is None,
        )
    except paramiko.AuthenticationException as exc:
        client.close()
        raise TargetError(f"{where}: authentication failed ({exc})") from None
    except paramiko.BadHostKeyException:
        client.close()
        raise TargetError(f"{where}: host key does not match known_hosts") from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise TargetError(
                f"{where}: host key unknown; add it to ~/.ssh/known_hosts (ssh-keyscan)"
            ) from None
        raise TargetError(f"{where}: {_reason(exc)}") from None
    except OSError as exc:  # refused, unreachable, DNS, timeout
        client.close()
        raise TargetError(f"{where}: cannot connect: {_reason(exc)}") from None
    return client, resolved


class _Copier:
    """Read-only copies from SFTP into a local mirror of the remote layout, within the bounds."""

    def __init__(self, sftp: paramiko.SFTPClient, target: SshHost, into: Path) -> None:
        self.sftp, self.target, self.into = sftp, target, into
        self.files = 0
        self.bytes = 0

    def local(self, remote: PurePosixPath) -> Path:
        return self.into / remote.relative_to("/")

    def exists(self, remote: PurePosixPath) -> bool:
        try:
            self.sftp.stat(str(remote))
        except FileNotFoundError:
            return False
        return True

    def require(self, option: str, remote: PurePosixPath) -> None:
        try:
            mode = self.sftp.stat(str(remote)).st_mode or 0
        except FileNotFoundError:
            raise UsageError(f"{option} {self.target}:{remote}: no such file") from None
        except PermissionError:
            raise TargetError(f"{option} {self.target}:{remote}: permission denied") from None
        if not stat.S_ISREG(mode):
            raise UsageError(f"{option} {self.target}:{remote}: not a regular file")

    def file(self, option: str, remote: PurePosixPath) -> None:
        size = self.sftp.stat(str(remote)).st_size or 0
        self.files += 1
        self.bytes += size
        if self.files > MAX_FILES or self.bytes > MAX_BYTES:
            raise UsageError(
                f"{option} {self.target}:{remote.parent}: more than {MAX_FILES} files or "
                f"{MAX_BYTES // 2**20} MB; not a configuration directory"
            )
        local = self.local(remote)
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.sftp.get(str(remote), str(local))
        except PermissionError:
            raise TargetError(f"{option} {self.target}:{remote}: permission denied") from None

    def tree(self, option: str, remote: PurePosixPath, depth: int) -> None:
        """Regular files (symlinks followed, as nginx does) up to MAX_DEPTH levels down."""
        try:
            entries = self.sftp.listdir_attr(str(remote))
        except PermissionError:
            return  # e.g. a private key directory: nginx.conf cannot need what it cannot list
        for entry in entries:
            path = remote / entry.filename
            try:
                mode = self.sftp.stat(str(path)).st_mode or 0  # follows symlinks
            except (FileNotFoundError, PermissionError):
                continue  # a dangling or private link; an include of it fails when parsed
            if stat.S_ISDIR(mode) and depth < MAX_DEPTH:
                self.tree(option, path, depth + 1)
            elif stat.S_ISREG(mode):
                try:
                    self.file(option, path)
                except (PermissionError, TargetError):
                    continue  # unreadable (e.g. a key); only the included files matter


INCLUDE = re.compile(r"""^(\s*include\s+["']?)(/[^\s;"']+)""", re.MULTILINE)


def _localize_includes(local_dir: Path, remote_dir: PurePosixPath, target: SshHost) -> None:
    """Absolute ``include`` paths inside the copied directory point at its local copy (crossplane
    would otherwise read the *local* machine's /etc/nginx); one outside it is a clear error."""
    for path in local_dir.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue

        def local(match: re.Match[str]) -> str:
            included = PurePosixPath(match.group(2))
            if not included.is_relative_to(remote_dir):
                raise UsageError(
                    f"--nginx-conf {target}:{remote_dir}: include {included} is outside the "
                    "copied directory; only includes under the directory of nginx.conf are read"
                )
            return match.group(1) + str(local_dir / included.relative_to(remote_dir))

        changed = INCLUDE.sub(local, text)
        if changed != text:
            path.write_text(changed)


def _reason(exc: BaseException) -> str:
    """paramiko's "[Errno None] Unable to connect to port 22 on …" hides the cause; show it."""
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        causes = {e.strerror or str(e) for e in exc.errors.values()}
        return ", ".join(sorted(causes)).lower()
    return str(exc) or type(exc).__name__
