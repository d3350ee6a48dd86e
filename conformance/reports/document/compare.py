"""Comparing a documented value with its spec value, recording both places: the agreements."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.reports.document.parse import Document, DocumentMissing
from conformance.reports.document.spec_file import Keys, SpecFile, SpecMissing, display


@dataclass(frozen=True)
class Agreement:
    """One documented value compared with its spec value; either side may be absent.

    ``line`` and ``column`` are the document cell read, for the coverage report."""

    subject: str
    document: str
    documented: Any
    spec: str
    specified: Any
    ok: bool
    line: int | None = None
    column: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "document": self.document,
            "documented": plain(self.documented),
            "spec": self.spec,
            "specified": plain(self.specified),
            "ok": self.ok,
        }


ABSENT = "absent"


class Comparer:
    """What a document check sees: the document, the spec, and where agreements are recorded."""

    def __init__(self, doc: Document, spec: SpecFile) -> None:
        self.doc = doc
        self.spec = spec
        self.agreements: list[Agreement] = []

    def bound(self, environment: str) -> Comparer:
        """This comparer reading the spec in ``environment``, recording the same agreements."""
        if environment == self.spec.environment:
            return self
        bound = Comparer(self.doc, self.spec.bound(environment))
        bound.agreements = self.agreements
        return bound

    def compare(
        self,
        subject: str,
        line: int,
        label: str,
        documented: Any,
        keys: Keys,
        convert: Callable[[Any], Any] = lambda v: v,
        *,
        column: str | None = None,
        holds: Callable[[Any, Any], bool] | None = None,
    ) -> None:
        """Compare a document value with the spec value at ``keys`` (``convert`` normalizes it;
        ``holds(documented, specified)`` replaces equality)."""
        where = self.doc.where(line) + (f" ({label})" if label else "")
        try:
            specified = convert(self.spec.value(keys))
        except SpecMissing:
            self.agreements.append(
                Agreement(
                    subject, where, documented, self.spec.where(keys), ABSENT, False, line, column
                )
            )
            return
        ok = (holds or _equal)(documented, specified)
        self.agreements.append(
            Agreement(
                subject, where, documented, self.spec.where(keys), specified, ok, line, column
            )
        )

    def only_in_document(self, subject: str, line: int, label: str, documented: Any) -> None:
        where = self.doc.where(line) + (f" ({label})" if label else "")
        spec = f"{display(self.spec.path)} (no such value)"
        self.agreements.append(Agreement(subject, where, documented, spec, ABSENT, False, line))

    def only_in_spec(
        self, subject: str, keys: Keys, specified: Any, document: str = "not in the document"
    ) -> None:
        self.agreements.append(
            Agreement(subject, document, ABSENT, self.spec.where(keys), specified, False)
        )


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 1e-9
    if isinstance(a, list | tuple | set | frozenset) and isinstance(b, list | tuple | set):
        return sorted(map(str, a)) == sorted(map(str, b))
    return bool(a == b)


def includes(documented: Any, specified: Any) -> bool:
    """The documented value is one of the spec's list (a row naming one of several)."""
    return isinstance(specified, list | tuple | set) and any(
        _equal(documented, item) for item in specified
    )


def plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


def number(text: str) -> float:
    match = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    if not match:
        raise ValueError(f"no number in {text!r}")
    return float(match.group().replace(",", ""))


def flag(text: str) -> bool | str:
    words = {"yes": True, "enabled": True, "no": False, "disabled": False}
    return words.get(text.strip().lower(), text)


def seconds(text: str) -> float:
    """'5 min', '1s', '2 hours' as seconds."""
    value = number(text)
    if re.search(r"\d\s*(min|minutes?)\b", text, re.IGNORECASE):
        return value * 60
    if re.search(r"\d\s*(h|hours?)\b", text, re.IGNORECASE):
        return value * 3600
    return value


def megabytes(text: str) -> float:
    """'256M', '1G', '1,024 MB', '16 GB' as megabytes."""
    value = number(text)
    return value * 1024 if re.search(r"\d\s*G", text, re.IGNORECASE) else value


# --- Where a phase's parts are ---------------------------------------------------------------


def phase_heading(doc: Document, phase: int) -> str:
    for heading in doc.headings:
        if heading.startswith(f"Phase {phase} —") and " > " not in heading:
            return heading
    raise DocumentMissing(f"the document has no 'Phase {phase} — …' section")


def in_phase(c: Comparer, *parts: str) -> str:
    """A section path under this phase's heading."""
    return " > ".join((phase_heading(c.doc, c.spec.spec.phase), *parts))


def last(section: str) -> str:
    return section.rsplit(" > ", 1)[-1]
