#!/usr/bin/env bash
# checkov for `--checkov` (the baseline scan beside --target iac|plan), pinned, in its own
# virtualenv .venv/checkov: checkov 3.3 pins boto3==1.35.49 and packaging<24, which fight the
# suite's (pytest 9 needs packaging>=24). The suite finds it there (or $CONFORMANCE_CHECKOV).
# Idempotent and quiet: a second run only checks the stamp of the pinned version.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=3.3.30
prefix=.venv/checkov
stamp=$prefix/.installed-checkov-$version
[ -f "$stamp" ] && [ -x "$prefix/bin/checkov" ] && exit 0
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! {
  rm -f "$prefix"/.installed-checkov-*
  [ -x "$prefix/bin/python" ] || "$python" -m venv "$prefix"
  "$prefix/bin/pip" install -q --disable-pip-version-check "checkov==$version"
} >"$log" 2>&1; then
  echo "setup.d/checkov.sh: pip install checkov==$version into $prefix failed:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
touch "$stamp"
