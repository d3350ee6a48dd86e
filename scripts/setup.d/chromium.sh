#!/usr/bin/env bash
# Headless Chromium (Debian's package) for the test that opens the conformance matrix HTML page
# and reads its table back. Idempotent and quiet: does nothing when chromium is already there.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.d/chromium.sh: chromium is missing and installing it needs root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
