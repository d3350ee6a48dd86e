"""Evidence a reviewer can keep: every result, every API call and the inventory, in one file.

``evidence.json`` and the reports made from it (``conformance.md``, ``conformance.html``) are one
set: they carry the same run id and are replaced together, so a reader never takes files of two
runs for one. A run that was interrupted says so (``"interrupted": true``), lists what it
completed and an error for every check it did not run, and is never called conformant. A run
of ``--target plan`` or ``iac`` adds a ``plan`` part; a planned loss of data it lists
(``stateful_changes``) makes the run not conformant whatever the checks say; ``--checkov``
adds a ``baseline`` part that never does. The
verdict and the counts are computed here, once, for the terminal, the files and the commands.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance.aws import CallLog
from conformance.contradictions import Contradiction
from conformance.errors import UsageError
from conformance.yamlfile import read_text

EVIDENCE_FILE = "evidence.json"
SCHEMA_VERSION = 2  # 2: run_id, interrupted, verdict; api_calls.sent and processes
OUTCOMES = ("passed", "failed", "error", "waived", "skipped")
# The outcomes a gate accepts; anything else (failed, error, an outcome unknown here) is drift.
ACCEPTED = frozenset({"passed", "waived", "skipped"})
NOT_RUN = "not run: "  # the message of an expected check that ended without an outcome


@dataclass
class Reading:
    """What the checks read from the target: which it was, every API call, the inventory.

    Under ``pytest -n N`` every worker reads what its own checks need; the controller merges
    the workers' readings. A section is read the same way whichever check asks for it, so an
    operation two workers both called is listed as often as one of them called it (the request
    digests may differ where the parameters name resources each embedded reference generated);
    ``sent`` counts every call, and a call one worker repeated stays listed as repeated.
    """

    target: str | None = None
    emulator: str | None = None
    calls: list[dict[str, str]] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)  # actions of calls a process repeated
    refused: list[dict[str, str]] = field(default_factory=list)
    sent: int = 0
    processes: int = 0
    inventory: dict[str, Any] | None = None

    @classmethod
    def of(
        cls, target: str, emulator: str | None, log: CallLog, inventory: dict[str, Any]
    ) -> Reading:
        return cls(
            target=target,
            emulator=emulator,
            calls=log.as_json(),
            repeated=[c.action for c in log.repeated()],
            refused=[_call_json(c) for c in log.refused],
            sent=len(log.calls),
            processes=1,
            inventory=inventory,
        )

    def merge(self, other: Reading) -> None:
        """Add another process's reading: its calls of an operation beyond as many as this one
        already lists."""
        listed = Counter(_operation(c) for c in self.calls)
        seen: Counter[tuple[str, str, str]] = Counter()
        for call in other.calls:
            seen[_operation(call)] += 1
            if seen[_operation(call)] > listed[_operation(call)]:
                self.calls.append(call)
        self.repeated += other.repeated
        self.refused += [c for c in other.refused if c not in self.refused]
        self.sent += other.sent
        self.processes += other.processes
        self.target = self.target or other.target
        self.emulator = self.emulator or other.emulator
        if other.inventory is not None:
            mine = self.inventory or {"region": other.inventory.get("region")}
            for part in ("sections", "failures"):
                merged = dict(mine.get(part) or {})
                for key, value in (other.inventory.get(part) or {}).items():
                    merged.setdefault(key, value)
                mine[part] = dict(sorted(merged.items()))
            # Each worker read the sections its checks asked for, one by one: their seconds.
            theirs = other.inventory.get("collection") or {}
            collection = dict(mine.get("collection") or {"read_ahead": None})
            collection["seconds"] = dict(
                sorted(
                    {**(theirs.get("seconds") or {}), **(collection.get("seconds") or {})}.items()
                )
            )
            mine["collection"] = collection
            self.inventory = mine

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "emulator": self.emulator,
            "calls": self.calls,
            "repeated": self.repeated,
            "refused": self.refused,
            "sent": self.sent,
            "processes": self.processes,
            "inventory": self.inventory,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reading:
        return cls(**data)


def _operation(call: Mapping[str, str]) -> tuple[str, str, str]:
    return (call["service"], call["operation"], call["region"])


def _call_json(call: Any) -> dict[str, str]:
    return {
        "service": call.service,
        "operation": call.operation,
        "region": call.region,
        "request": call.request,
        "action": call.action,
    }


def build(
    *,
    reading: Reading,
    phase: int,
    environment: str,
    results: list[dict[str, Any]],
    environments: tuple[str, ...] | None = None,
    contradictions: list[Contradiction],
    started: datetime,
    interrupted: bool,
) -> dict[str, Any]:
    """The evidence of a run; its ``verdict`` is set by :func:`seal` once plugins added theirs."""
    return {
        "schema": SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "target": reading.target,
        "emulator": reading.emulator,
        "phase": phase,
        "environment": environment,
        "environments": list(environments or (environment,)),
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "interrupted": interrupted,
        "verdict": None,
        "summary": dict(Counter(str(r.get("outcome")) for r in results)),
        "results": results,
        "contradictions": [c.as_json() for c in contradictions],
        "api_calls": {
            "count": len(reading.calls),
            "sent": reading.sent,
            "processes": reading.processes,
            "repeated": reading.repeated,
            "refused": [c["action"] for c in reading.refused],
            "calls": reading.calls,
        },
        "inventory": reading.inventory,
    }


DISTRIBUTION = "accountabilityatlas-conformance"
SUITE_ROOT = Path(__file__).resolve().parent.parent  # the checkout, when run from one


def provenance(
    evidence: Mapping[str, Any],
    *,
    spec: Path,
    document: Path | None,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """Where a run's verdict comes from, for an auditor: the suite's version and commit, the
    hashes of the spec and the document it encodes, the account and regions read, the CI run."""
    target = str(evidence.get("target") or "")
    account = re.search(r" account (\d{12})\b", target)
    regions = {c["region"] for c in (evidence.get("api_calls") or {}).get("calls") or []}
    region = (evidence.get("inventory") or {}).get("region")
    return {
        "suite_version": _suite_version(),
        "suite_commit": _suite_commit(),
        "spec": {"path": str(spec), "sha256": _sha256(spec)},
        "document": None
        if document is None
        else {"path": str(document), "sha256": _sha256(document)},
        "account": account[1] if account else None,
        "regions": sorted(regions - {"global"} or ({region} if region else set())),
        "ci_run": ci_run_url(environ),
    }


def ci_run_url(environ: Mapping[str, str]) -> str | None:
    """The GitHub Actions run this ran in, from the variables every job has (None elsewhere)."""
    parts = [environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    server, repository, run_id = parts
    return f"{server}/{repository}/actions/runs/{run_id}"


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _suite_version() -> str | None:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def _suite_commit() -> str | None:
    """The suite's git commit (``+modified`` when tracked files differ from it), when it runs
    from its own checkout; an installed copy inside another repository names none."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(SUITE_ROOT), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != SUITE_ROOT:
        return None
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    modified = git("status", "--porcelain", "--untracked-files=no")
    return commit + ("+modified" if modified else "")


def seal(evidence: dict[str, Any]) -> dict[str, Any]:
    evidence["verdict"] = verdict(evidence)
    return evidence


def counts(results: list[dict[str, Any]]) -> dict[str, int]:
    """Results by outcome, every outcome named (an unknown one too)."""
    counted = Counter(str(r.get("outcome")) for r in results)
    return {o: counted[o] for o in OUTCOMES} | {
        o: n for o, n in counted.items() if o not in OUTCOMES
    }


def count_line(counted: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {outcome}" for outcome, n in counted.items())


def verdict(evidence: Mapping[str, Any]) -> str:
    """``interrupted``, ``not conformant`` or ``conformant``, as the run's exit status says:
    computed from the results (the document check's and the team's own tests' too), never taken
    from the file's word."""
    if evidence.get("interrupted"):
        return "interrupted"
    if stateful_changes(evidence):
        return "not conformant"
    outcomes = [r.get("outcome") for r in evidence.get("results") or []]
    outcomes += [r.get("outcome") for r in (evidence.get("document") or {}).get("results") or []]
    # A team's own tests run in the same gate: one that fails fails the run (an xfail does not).
    own = [t.get("outcome") for t in evidence.get("own_tests") or []]
    if any(o in ("failed", "error") for o in own):
        return "not conformant"
    if not outcomes or any(o not in ACCEPTED for o in outcomes):
        return "not conformant"
    return "conformant"


def stateful_changes(evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The planned deletes or replacements of resources that hold data (``--target plan``)."""
    return list((evidence.get("plan") or {}).get("stateful_changes") or [])


def baseline(evidence: Mapping[str, Any]) -> dict[str, Any] | None:
    """checkov's baseline hardening part (``--checkov``): beside the checks, never in the
    verdict."""
    part = evidence.get("baseline")
    return part if isinstance(part, dict) else None


def not_run(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The expected checks that ended without an outcome of their own."""
    return [
        r
        for r in results
        if r.get("outcome") == "error" and str(r.get("message") or "").startswith(NOT_RUN)
    ]


EVIDENCE_MAX_BYTES = 512 * 2**20


def file_of(path: Path) -> Path:
    """The evidence file a path names: the file itself, or ``DIR/evidence.json``."""
    return path / EVIDENCE_FILE if path.is_dir() else path


def load(path: Path) -> dict[str, Any]:
    """An evidence file (or ``DIR/evidence.json``); anything else is one clear usage error."""
    file = file_of(path)
    try:
        # A regular file only (a FIFO would hang the reader), of a bounded size.
        data = json.loads(read_text(file, "evidence", EVIDENCE_MAX_BYTES))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{file}:{exc.lineno}: not an evidence file: {exc.msg}") from None
    except RecursionError:
        raise UsageError(f"{file}: not an evidence file: nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise UsageError(f"{file}: not an evidence file (no list of 'results')")
    for number, result in enumerate(data["results"], 1):
        if not _readable(result):
            raise UsageError(
                f"{file}: not an evidence file: result {number} lacks an id, an outcome or "
                "comparisons with a subject and ok"
            )
    return data


def environments_of(evidence: Mapping[str, Any]) -> str:
    """The environments a run checked, as a reader names them (``production + staging``)."""
    names = evidence.get("environments") or [evidence.get("environment") or ""]
    return " + ".join(map(str, names))


def label(result: Mapping[str, Any]) -> str:
    """How a result is named: by check id, and environment when its run checked several (an
    evidence file written before results had labels names them by id)."""
    return str(result.get("label") or result["id"])


def _readable(result: Any) -> bool:
    """A result the reports can read: id and outcome, and comparisons with subject and ok."""
    if not isinstance(result, dict):
        return False
    comparisons = result.get("comparisons", [])
    return (
        isinstance(result.get("id"), str)
        and isinstance(result.get("outcome"), str)
        and isinstance(comparisons, list)
        and all(isinstance(c, dict) and {"subject", "ok"} <= c.keys() for c in comparisons)
    )


def write(directory: Path, evidence: dict[str, Any], reports: Mapping[str, str]) -> Path:
    """Write ``DIR/evidence.json`` and the reports made from it as one set (see
    :func:`replace_together`)."""
    text = json.dumps(evidence, indent=2, sort_keys=False) + "\n"
    replace_together(directory, {**reports, EVIDENCE_FILE: text})
    return directory / EVIDENCE_FILE


def replace_together(directory: Path, files: Mapping[str, str]) -> None:
    """Write every file to a temporary file beside it, then rename them all, ``evidence.json``
    last: a reader never sees a half-written file, and a signal arriving while they are renamed
    waits until all are. Temporary files left by a killed run are removed; none of ours stays."""
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(directory, files)
    written: list[tuple[Path, Path]] = []
    try:
        for name, text in files.items():
            stem, suffix = os.path.splitext(name)
            fd, path = tempfile.mkstemp(
                dir=directory, prefix=f".{stem}-{os.getpid()}-", suffix=suffix
            )
            written.append((Path(path), directory / name))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        written.sort(key=lambda pair: pair[1].name == EVIDENCE_FILE)
        with _signals_deferred():
            for temporary, final in written:
                os.replace(temporary, final)
    finally:
        for temporary, _ in written:
            temporary.unlink(missing_ok=True)


def remove_stale_temporaries(directory: Path, names: Iterable[str]) -> None:
    """Remove temporary files of ``names`` whose writer is no longer running (killed)."""
    stems = "|".join(re.escape(os.path.splitext(n)[0]) for n in names)
    pattern = re.compile(rf"^\.(?:{stems})-(?:(?P<pid>\d+)-)?\w+\.\w+$")
    for path in directory.iterdir():
        match = pattern.match(path.name)
        if match and not _running(int(match["pid"]) if match["pid"] else None):
            path.unlink(missing_ok=True)


def _running(pid: int | None) -> bool:
    """Whether another process with this id is running (``None``: a writer that named none)."""
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block, then deliver them to the handlers the run had."""
    caught = (signal.SIGINT, signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or any(
        signal.getsignal(s) is None for s in caught
    ):
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _: received.append(signum)) for s in caught}
    try:
        yield
    finally:
        for caught_signal, handler in previous.items():
            signal.signal(caught_signal, handler)
        for number in received:
            signal.raise_signal(number)
