"""Reading the suite's YAML files (spec, inputs, waivers, Compose) with errors a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conformance.errors import UsageError


def load_yaml(path: Path, option: str) -> Any:
    """The parsed YAML of ``path``; an unreadable file or bad YAML is one UsageError naming
    ``option`` and the file (and line, for a syntax error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
