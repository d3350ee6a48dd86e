"""``atlas-conformance``: the conformance suite, installed, from any directory.

``atlas-conformance [PYTEST OPTIONS]`` runs pytest on the installed specs with the suite's own
configuration (``conformance/suite.ini``), not whatever pytest configuration the directory it is
started in has, and with the installed packages' directory as rootdir, so node ids read as in
the checkout (``specs/checks/network.py::net.vpc.cidr``). The working directory is left as it
is: relative paths in the options (``--nginx-conf``, ``--evidence``, ``--waivers``,
``--junitxml`` …) are the user's, and pytest's cache is kept there too.

``atlas-conformance diff|summary|policy …`` are the commands of ``python -m conformance``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import specs

SUITE_ROOT = Path(specs.__file__).resolve().parent.parent  # holds specs/, conformance/, fixtures/
SUITE_CONFIG = Path(__file__).resolve().with_name("suite.ini")
# Named even when entry points are not loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD in a CI).
PLUGIN = "conformance.plugin"
COMMANDS = ("diff", "summary", "policy")


def pytest_args(args: list[str], cwd: Path) -> list[str]:
    """The pytest command line that runs the installed specs with the user's ``args``."""
    return [
        f"--config-file={SUITE_CONFIG}",
        f"--rootdir={SUITE_ROOT}",
        "-o",
        f"cache_dir={cwd / '.pytest_cache'}",
        "-p",
        PLUGIN,
        str(SUITE_ROOT / "specs"),
        *args,
    ]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] and args[0] in COMMANDS:
        from conformance.__main__ import main as command

        return command(args)
    return int(pytest.main(pytest_args(args, Path.cwd())))


if __name__ == "__main__":
    sys.exit(main())
