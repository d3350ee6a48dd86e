#!/usr/bin/env bash
# The OpenSSH server the --ssh-host test (tests/test_host_ssh.py) runs on loopback with its own
# config, keys and port in a temp dir. Nothing is started here. Idempotent and quiet.
set -euo pipefail
[ -x /usr/sbin/sshd ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends openssh-server >/dev/null 2>&1
# Debian's package starts the system sshd; the test never uses it.
$sudo service ssh stop >/dev/null 2>&1 || true
