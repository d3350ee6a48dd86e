#!/usr/bin/env bash
# System packages the host-layer tests run for real on loopback: nginx, Redis, PostgreSQL 15 with
# PostGIS, the Docker engine and a static busybox to build a local image from. Nothing is started
# here: each test starts its own server in a temp dir and stops it by pid. Idempotent and quiet.
set -euo pipefail
packages=(nginx-light redis-server postgresql-15 postgresql-15-postgis-3
  docker.io busybox-static openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages try to start their services; this suite never uses the system instances.
for service in nginx redis-server postgresql docker containerd; do
  $sudo service "$service" stop >/dev/null 2>&1 || true
done
