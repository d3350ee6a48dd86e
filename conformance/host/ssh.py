"""``--ssh-host``: read the host's configuration files on the EC2 host itself, over SFTP.

The file checks parse local files with crossplane and the Compose reader; rather than teach both
to read remotely, the files are *copied* (read-only, bounded in size) into a local temp dir and
parsed there by the same loaders, so a remote file is checked exactly as a local one. Only what
the loaders read is copied: nginx.conf and the files its ``include`` directives name (recursively,
globs expanded over SFTP as nginx expands them), the Compose file and the ``.env`` beside it,
which Compose interpolates from. The nginx directory usually holds TLS private keys too, so
nothing that looks like a key or certificate is ever copied, whatever names it: nginx never
``include``s one (``ssl_certificate`` paths are not includes). The remote layout is mirrored under
the temp dir (``<tmp>/etc/nginx/…``) so messages still show the remote path; the dir is 0700 with
0600 files and carries the owner's pid in its name, so that a copy left by a run killed with
SIGKILL is recognised and removed by the next run. Nothing is ever written on the remote host.

paramiko is used directly (SFTP: no shell command runs remotely). ``~/.ssh/config`` is honoured
for HostName, User, Port, IdentityFile and StrictHostKeyChecking; host keys are checked against
``~/.ssh/known_hosts`` (an unknown host is refused unless the config says ``accept-new``/``no``),
because a spoofed host could otherwise make a drifted environment look conformant.
"""

from __future__ import annotations

import fnmatch
import getpass
import glob
import logging
import os
import posixpath
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import crossplane
import paramiko

from conformance.errors import TargetError, UsageError

# Bounds of what is copied: a configuration is a few dozen small files; anything bigger, or
# includes nested deeper, is not a configuration and is refused rather than copied.
MAX_FILES = 500
MAX_BYTES = 10 * 2**20
MAX_DEPTH = 4
TIMEOUT = 10.0

COPY_PREFIX = "conformance-ssh-"
# COPY_PREFIX + owner pid + mkdtemp's random suffix; a Linux pid has at most 7 digits.
COPY_NAME = re.compile(re.escape(COPY_PREFIX) + r"(\d{1,7})-[a-z0-9_]+")

# Never copied: keys and certificates by name (of the path or of the file a link points to) or
# by content: a PEM block of any type, or DER (an ASN.1 SEQUENCE with a long-form length, as
# binary keys, certificates and PKCS#12 bundles begin). No configuration file looks like either.
KEY_SUFFIXES = frozenset({".pem", ".key", ".crt", ".cer", ".der", ".p12", ".pfx"})
PEM_BLOCK = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----")
DER_STARTS = (b"0\x81", b"0\x82", b"0\x83")
NOT_COPIED = "looks like a private key or certificate; not copied"

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


def copy_directory() -> Path:
    """A new private (0700, mkdtemp's mode) directory for the copies, named after this process.
    Copies left by runs that died without their cleanup (SIGKILL) are removed first."""
    parent = Path(tempfile.gettempdir())
    _remove_stale_copies(parent)
    return Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-", dir=parent))


def _remove_stale_copies(parent: Path) -> None:
    try:
        with os.scandir(parent) as entries:
            stale = [entry.path for entry in entries if _is_stale(entry)]
    except OSError:
        return  # an unreadable temp dir: mkdtemp says so next
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


def _is_stale(entry: os.DirEntry[str]) -> bool:
    """A directory (not a link) named as this suite names its copies, owned by this user, whose
    process is gone: a live run's copy, or another user's, is never touched."""
    name = COPY_NAME.fullmatch(entry.name)
    if name is None:
        return False
    try:
        mine = entry.is_dir(follow_symlinks=False) and (
            entry.stat(follow_symlinks=False).st_uid == os.getuid()
        )
    except OSError:
        return False  # removed meanwhile
    return mine and not _alive(int(name[1]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process
    return True


def fetch(
    target: SshHost,
    key: Path | None,
    nginx_conf: PurePosixPath | None,
    compose_file: PurePosixPath | None,
    into: Path,
) -> tuple[Path | None, Path | None]:
    """Copy the remote nginx.conf with the files it includes, and the Compose file with its
    ``.env``, under ``into``; return their local paths. Any failure is one error naming host
    and path."""
    for option, remote in (("--nginx-conf", nginx_conf), ("--compose-file", compose_file)):
        if remote is not None and not remote.is_absolute():
            raise UsageError(f"{option} {remote}: with --ssh-host, give the absolute remote path")
    client, target = _connect(target, key)
    try:
        copier = _Copier(client.open_sftp(), target, into)
        nginx = compose = None
        if nginx_conf is not None:
            nginx = copier.nginx(_clean(nginx_conf))
        if compose_file is not None:
            compose_file = _clean(compose_file)
            compose = copier.file(f"--compose-file {target}:{compose_file}", compose_file)
            env = compose_file.parent / ".env"
            if copier.exists(env):
                copier.file(f"--compose-file {target}:{env}", env)
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
    """Read-only copies from SFTP into a local mirror of the remote layout, within the bounds.
    Each file is checked (a regular file, not a key or certificate) before a byte is written."""

    def __init__(self, sftp: paramiko.SFTPClient, target: SshHost, into: Path) -> None:
        self.sftp, self.target, self.into = sftp, target, into
        self.copied: set[PurePosixPath] = set()
        self.bytes = 0

    def local(self, remote: PurePosixPath) -> Path:
        return self.into / remote.relative_to("/")

    def exists(self, remote: PurePosixPath) -> bool:
        try:
            self.sftp.stat(str(remote))
        except FileNotFoundError:
            return False
        return True

    def nginx(self, conf: PurePosixPath) -> Path:
        """nginx.conf and, recursively, the files its ``include`` directives name. Relative
        patterns resolve against nginx's prefix (the directory of nginx.conf); an include outside
        it is refused, since nginx.conf sits beside what it includes."""
        prefix = conf.parent
        pending = [(conf, 0, f"--nginx-conf {self.target}:{conf}")]
        while pending:
            remote, depth, where = pending.pop()
            if remote in self.copied:
                continue  # included twice, or in a cycle: nginx reads it again, we need not
            local = self.file(where, remote)
            includes = _includes(local)
            here = f"--nginx-conf {self.target}:{remote}"
            for line, pattern in includes:
                site = f"{here}:{line}: include {pattern}"
                included = _clean(prefix / pattern)
                if not included.is_relative_to(prefix):
                    raise UsageError(
                        f"{site} is outside {prefix}; only includes under the directory of "
                        "nginx.conf are read"
                    )
                if depth == MAX_DEPTH:
                    raise UsageError(f"{site}: includes nested more than {MAX_DEPTH} deep")
                pending += [
                    (path, depth + 1, f"{here}:{line}: include {path}")
                    for path in self._expand(site, prefix, included)
                ]
            _point_at_copy(local, includes, prefix, here)
        return self.local(conf)

    def _expand(
        self, site: str, prefix: PurePosixPath, pattern: PurePosixPath
    ) -> list[PurePosixPath]:
        """The remote files a pattern names, as Python's glob names the local copies (which is
        what crossplane reads): sorted, dot files only for a pattern starting with a dot."""
        if not glob.has_magic(str(pattern)):
            return [pattern]
        matches = [prefix]
        for part in pattern.relative_to(prefix).parts:
            if not glob.has_magic(part):
                matches = [directory / part for directory in matches]
                continue
            found: list[PurePosixPath] = []
            for directory in matches:
                try:
                    names = sorted(self.sftp.listdir(str(directory)))
                except PermissionError:
                    raise TargetError(f"{site}: {directory}: permission denied") from None
                except OSError:
                    continue  # missing, or not a directory: the pattern matches nothing there
                found += [
                    directory / name
                    for name in names
                    if fnmatch.fnmatchcase(name, part)
                    and (part.startswith(".") or not name.startswith("."))
                ]
            matches = found
        return matches

    def file(self, where: str, remote: PurePosixPath) -> Path:
        """Copy one file; ``where`` (option, host, path or include site) starts each message."""
        local = self.local(remote)
        if remote in self.copied:
            return local
        try:
            mode = self.sftp.stat(str(remote)).st_mode or 0  # follows links, as nginx does
            real = PurePosixPath(self.sftp.normalize(str(remote)))
        except FileNotFoundError:
            raise UsageError(f"{where}: no such file") from None
        except PermissionError:
            raise TargetError(f"{where}: permission denied") from None
        if not stat.S_ISREG(mode):
            raise UsageError(f"{where}: not a regular file")
        if {remote.suffix.lower(), real.suffix.lower()} & KEY_SUFFIXES:
            raise UsageError(f"{where}: {NOT_COPIED}")
        self.copied.add(remote)
        try:
            with self.sftp.open(str(remote), "rb") as handle:
                data = handle.read(MAX_BYTES - self.bytes + 1)
        except PermissionError:
            raise TargetError(f"{where}: permission denied") from None
        self.bytes += len(data)
        if len(self.copied) > MAX_FILES or self.bytes > MAX_BYTES:
            raise UsageError(
                f"{where}: more than {MAX_FILES} files or {MAX_BYTES // 2**20} MB to copy; "
                "not a configuration"
            )
        if PEM_BLOCK.search(data) or data.startswith(DER_STARTS):
            raise UsageError(f"{where}: {NOT_COPIED}")
        _write_private(self.into, local, data)
        return local


def _clean(path: PurePosixPath) -> PurePosixPath:
    """``path`` with one root and no ``.``/``..``, so that its copy cannot land outside the
    temp dir and the prefix test sees where it really points."""
    return PurePosixPath("/", posixpath.normpath(path).lstrip("/"))


def _write_private(root: Path, path: Path, data: bytes) -> None:
    """``data`` at ``path`` readable by this user only: directories 0700, the file 0600."""
    directory = root
    for part in path.parent.relative_to(root).parts:
        directory = directory / part
        directory.mkdir(mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def _includes(path: Path) -> list[tuple[int, str]]:
    """(line, pattern) of each ``include`` in ``path``, as crossplane, hence ``load_nginx``,
    reads them. A file crossplane cannot parse yields what it could; ``load_nginx`` reports the
    error."""
    payload = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False)
    found: list[tuple[int, str]] = []

    def walk(block: list[dict[str, Any]]) -> None:
        for directive in block:
            if directive["directive"] == "include" and len(directive["args"]) == 1:
                found.append((directive["line"], directive["args"][0]))
            walk(directive.get("block", []))

    walk(payload["config"][0]["parsed"])
    return found


def _point_at_copy(
    path: Path, includes: list[tuple[int, str]], prefix: PurePosixPath, where: str
) -> None:
    """Include paths become plain paths relative to the prefix, i.e. to the copy: an absolute one
    would make crossplane read *this* machine's /etc/nginx, a ``..`` would need directories the
    copy may not have. Each is rewritten on its own line, so line numbers still match the remote
    file; one that could not be rewritten is an error, never a read outside the copy."""
    changes = sorted(((line, p) for line, p in includes if _in_copy(prefix, p) != p), reverse=True)
    if not changes:
        return
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    starts = [0] + [newline.end() for newline in re.finditer("\n", text)]
    for line, pattern in changes:
        directive = re.compile(r"\binclude(\s+)(['\"]?)" + re.escape(pattern) + r"\2(?=[\s;])")
        found = directive.search(text, starts[line - 1])
        if found is not None:
            rewritten = f"include{found[1]}{found[2]}{_in_copy(prefix, pattern)}{found[2]}"
            text = text[: found.start()] + rewritten + text[found.end() :]
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    for line, pattern in _includes(path):
        if _in_copy(prefix, pattern) != pattern:
            raise UsageError(
                f"{where}:{line}: include {pattern} could not be pointed at the copy; "
                "write it as `include PATH;`"
            )


def _in_copy(prefix: PurePosixPath, pattern: str) -> str:
    """``pattern`` (already known to be under the prefix) as a plain path relative to it."""
    return str(_clean(prefix / pattern).relative_to(prefix))


def _reason(exc: BaseException) -> str:
    """paramiko's "[Errno None] Unable to connect to port 22 on …" hides the cause; show it."""
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        causes = {e.strerror or str(e) for e in exc.errors.values()}
        return ", ".join(sorted(causes)).lower()
    return str(exc) or type(exc).__name__
