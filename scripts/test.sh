#!/usr/bin/env bash
# Runs switchyard's whole test suite on a fresh Debian machine: installs the real
# clients the tests drive, starts the real servers they need (each by a script under
# scripts/services/), runs every test, and stops the servers again.
#
# A service script takes `start` or `stop`. `start` installs what is missing, starts
# the server on a loopback port, waits until it answers and prints `export VAR=...`
# lines naming it for the tests (e.g. SWITCHYARD_TEST_CLICKHOUSE_URL); `stop` stops it
# by PID. Tests whose variable is unset say SKIPPED, so plain `cargo test` still passes.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWITCHYARD_STATE="${SWITCHYARD_STATE:-$HOME/.cache/switchyard-test}"
mkdir -p "$SWITCHYARD_STATE"

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
export -f apt_install

apt_install postgresql-client

services=(scripts/services/*.sh)
stop_services() {
  for service in "${services[@]}"; do
    [ -f "$service" ] && bash "$service" stop >/dev/null 2>&1 || true
  done
}
trap stop_services EXIT
for service in "${services[@]}"; do
  [ -f "$service" ] || continue
  echo "== starting $(basename "$service" .sh)"
  exports=$(bash "$service" start)
  eval "$exports"
  printf '%s\n' "$exports" | sed 's/^/   /'
done

echo "== cargo test"
cargo test --all-targets "$@"
