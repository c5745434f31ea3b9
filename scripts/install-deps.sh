#!/usr/bin/env bash
# Installs the Debian packages acrt needs to build, test and benchmark, when they
# are missing. Safe to run again: it does nothing when everything is present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libyaml-dev libjansson-dev libcmocka-dev libpcre2-dev libjq-dev libssl-dev graphviz
  libzmq3-dev python3 python3-anyio
  curl procps time
  libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev libproc2-dev prometheus wrk openssl
  libsqlite3-dev libhiredis-dev redis-server sqlite3 libnats-dev nats-server faketime
  libsimdjson-dev syslog-ng-core jq
  libsystemd-dev
  libpq-dev postgresql
  debhelper dpkg-dev lintian man-db
  chromium python3-websocket
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
