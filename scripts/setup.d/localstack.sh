#!/usr/bin/env bash
# LocalStack for host mode (no Docker) in its own virtualenv, .venv-localstack, from the pinned
# localstack/requirements.txt: tests/test_localstack.py starts it on a free loopback port.
# Idempotent and quiet: a second run only compares the requirements' digest.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=.venv/bin/python
[ -x "$python" ] || python=${PYTHON:-python3.11}
"$python" localstack/host.py install >/dev/null
