"""LocalStack init hook (ready stage): provision a reference environment into this LocalStack.

CONFORMANCE_PHASE selects the phase (unset or empty: do nothing; every environment it documents
is built, from Phase 3 staging beside production) and CONFORMANCE_DRIFT an optional catalogue
drift; CONFORMANCE_ROOT is the conformance repository (mounted read-only under Docker) and
CONFORMANCE_ENDPOINT this LocalStack's own endpoint. LocalStack runs ``.py`` hooks with its
own interpreter, which has what the provisioner needs (boto3, pydantic, PyYAML); the provisioner
runs there as a child process so nothing of ours is imported into LocalStack itself.
"""

import os
import subprocess
import sys

phase = os.environ.get("CONFORMANCE_PHASE", "")
if phase:
    command = [
        sys.executable,
        "-m",
        "fixtures.provision",
        "--phase",
        phase,
        "--environment",
        "all",
        "--endpoint-url",
        os.environ.get("CONFORMANCE_ENDPOINT", "http://localhost:4566"),
    ]
    drift = os.environ.get("CONFORMANCE_DRIFT", "")
    if drift:
        command += ["--drift", drift]
    subprocess.run(
        command,
        cwd=os.environ.get("CONFORMANCE_ROOT", "/opt/conformance"),
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=True,
    )
