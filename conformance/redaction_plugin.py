"""pytest's own output channels pass through :func:`conformance.redact.scrub` too.

The results are scrubbed where they are made (conformance.checks), but pytest reports more than
results: a traceback (with ``--showlocals`` its locals), captured output and logs, and the
JUnit properties. Each report is scrubbed before any other plugin sees it — the terminal, JUnit,
and under xdist the worker that sends it to the controller.
"""

from __future__ import annotations

import pytest

from conformance.redact import scrub, scrub_value

NAME = "conformance-redaction"


class ScrubbedReports:
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        scrub_report(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        scrub_report(report)


def scrub_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Scrub in place; a traceback holding a secret becomes its scrubbed text (uncoloured)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = longrepr
        report.longrepr = (path, line, scrub(reason))
    elif longrepr is not None:
        text = str(longrepr)
        cleaned = scrub(text)
        if cleaned != text:
            report.longrepr = cleaned
    report.sections = [(title, scrub(content)) for title, content in report.sections]
    if isinstance(report, pytest.TestReport):
        report.user_properties = [
            (name, scrub_value(value)) for name, value in report.user_properties
        ]


def register(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(NAME):
        config.pluginmanager.register(ScrubbedReports(), NAME)
