"""Load the conformance plugin for runs from the repository root.

An installed suite registers the same module (which loads the reports' and the host's plugins)
through its ``pytest11`` entry point, under this name, so pytest loads it once. This keeps a
checkout that is not installed, or a run with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``, working; there
write path options as ``--opt=PATH``: without the entry point pytest reads the command line
before it knows the suite's options.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import conformance

pytest_plugins = ("conformance.plugin",)
CHECKOUT = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    """The checks collected here must be this checkout's: not those of another installed copy
    (a ``pip install .`` run with the ``pytest`` script), which would match none of them."""
    installed = Path(conformance.__file__).resolve().parent.parent
    if installed != CHECKOUT:
        raise pytest.UsageError(
            f"pytest loaded the suite installed in {installed}, not this checkout's: run "
            "`python -m pytest` here, install the checkout with `pip install -e .`, or run "
            "the installed suite with `atlas-conformance`"
        )
