"""What a run does not use, it does not import: the plugin and every check module load without
the libraries of options a run may not give (the document check's markdown-it, the TLS probe's
cryptography, the IaC readers' python-hcl2 and lark, the live host's clients) and without moto,
which only the embedded target and the provisioner need. Each costs a run 0.05-1 s to import."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

OPTIONAL = (
    *("markdown_it", "cryptography", "hcl2", "lark"),
    *("docker", "paramiko", "redis", "psycopg"),
    "moto",
)
PROBE = f"""
import sys
import conformance.plugin
for plugin in conformance.plugin.pytest_plugins:
    __import__(plugin)
from conformance.checks import load_checks
load_checks()
print(" ".join(sorted(name for name in {OPTIONAL!r} if name in sys.modules)))
"""


def test_the_plugin_and_every_check_load_without_optional_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [], done.stdout
