#!/usr/bin/env bash
# The real Postgres clients the tests in tests/it/clients.rs drive: a Python venv with
# psycopg 3, psycopg2, asyncpg, SQLAlchemy and pandas; node-postgres; pgjdbc with the
# machine's Java. `start` installs what is missing (fast when all is there) and prints
# the `export SWITCHYARD_TEST_…` lines naming them; `stop` has nothing to stop.
# Everything it installs lives under $SWITCHYARD_STATE, except the Debian JDBC jar.
set -euo pipefail

state="${SWITCHYARD_STATE:-$HOME/.cache/switchyard-test}"
venv="$state/clients-venv"
node_dir="$state/node"

log() { echo "clients: $*" >&2; }

install_python() {
  local py="$venv/bin/python"
  if [ -x "$py" ] && "$py" -c 'import psycopg, psycopg2, asyncpg, sqlalchemy, pandas' 2>/dev/null; then
    return 0
  fi
  log "creating $venv"
  python3 -m venv "$venv" >&2
  "$py" -m pip install -q "psycopg[binary]" psycopg2-binary asyncpg "SQLAlchemy[asyncio]" pandas >&2
}

install_node() {
  if [ -f "$node_dir/node_modules/pg/package.json" ]; then
    return 0
  fi
  command -v npm >/dev/null || { command -v apt_install >/dev/null && apt_install nodejs npm >&2; }
  log "npm install pg into $node_dir"
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || echo '{"name":"switchyard-test-clients","private":true}' > "$node_dir/package.json"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund pg >&2)
}

install_jdbc() {
  if ! dpkg -s libpostgresql-jdbc-java >/dev/null 2>&1 || ! command -v java >/dev/null; then
    local pkgs=(libpostgresql-jdbc-java)
    command -v java >/dev/null || pkgs+=(default-jre-headless)
    if command -v apt_install >/dev/null; then
      apt_install "${pkgs[@]}" >&2
    else
      local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
      $sudo apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
    fi
  fi
}

case "${1:-start}" in
  start)
    mkdir -p "$state"
    install_python
    install_node
    install_jdbc
    echo "export SWITCHYARD_TEST_PYTHON=$venv/bin/python"
    echo "export SWITCHYARD_TEST_NODE_PATH=$node_dir/node_modules"
    jar=/usr/share/java/postgresql.jar
    [ -f "$jar" ] && echo "export SWITCHYARD_TEST_JDBC_JAR=$jar"
    ;;
  stop) ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
