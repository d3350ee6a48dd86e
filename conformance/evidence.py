"""Evidence a reviewer can keep: every result, every API call and the inventory, in one file."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.aws import CallLog
from conformance.checks import Result
from conformance.contradictions import Contradiction

EVIDENCE_FILE = "evidence.json"
SCHEMA_VERSION = 1


def build(
    *,
    target: str | None,
    phase: int,
    environment: str,
    results: list[Result],
    calls: CallLog,
    inventory: dict[str, Any] | None,
    contradictions: list[Contradiction],
    started: datetime,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "target": target,
        "phase": phase,
        "environment": environment,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "summary": dict(Counter(r.outcome for r in results)),
        "results": [r.as_json() for r in results],
        "contradictions": [c.as_json() for c in contradictions],
        "api_calls": {
            "count": len(calls.calls),
            "repeated": [c.action for c in calls.repeated()],
            "calls": calls.as_json(),
        },
        "inventory": inventory,
    }


def write(directory: Path, evidence: dict[str, Any]) -> Path:
    """Write ``DIR/evidence.json`` atomically: a reader never sees a half-written file."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / EVIDENCE_FILE
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".evidence-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(evidence, handle, indent=2, sort_keys=False)
            handle.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
