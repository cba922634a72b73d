#!/usr/bin/env bash
# Runs switchyard's whole test suite on a fresh Debian machine: installs the real
# clients the tests drive (psql), then runs every test. Tests whose server or client
# is missing say SKIPPED loudly; this script makes sure none are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v psql >/dev/null || need_apt+=(postgresql-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

echo "== cargo test"
cargo test --all-targets "$@"
