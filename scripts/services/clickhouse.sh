#!/usr/bin/env bash
# ClickHouse for switchyard's tests, two of them:
#   - the modern engine: PyPI chdb (ClickHouse 26.x as a library) behind the project's own
#     HTTP shim tests/harness/chdb_http.py, on 127.0.0.1:$CHDB_PORT;
#   - a genuine old server: Debian's clickhouse-server 18.16 on 127.0.0.1:$CH18_PORT
#     (no Arrow formats, broken compress=1: the backend's row-format path).
# `start` installs what is missing (a venv under $SWITCHYARD_STATE/clickhouse, apt for
# 18.16), starts both with setsid, waits until they answer and prints
#   export SWITCHYARD_TEST_CLICKHOUSE_URL=http://127.0.0.1:28123
#   export SWITCHYARD_TEST_CLICKHOUSE18_URL=http://127.0.0.1:28124
# The demo tables are loaded by the test harness (tests/it/clickhouse.rs) from the very
# Delta files the in-process switchyard serves, so both sides hold identical rows.
# `stop` kills each server by the PID it wrote. Both are idempotent; all logs go to stderr
# (stdout is evaluated by scripts/test.sh).
set -euo pipefail

STATE="${SWITCHYARD_STATE:-$HOME/.cache/switchyard-test}"
DIR="$STATE/clickhouse"
CHDB_PORT="${SWITCHYARD_CHDB_PORT:-28123}"
CH18_PORT="${SWITCHYARD_CH18_PORT:-28124}"
CH18_TCP_PORT="${SWITCHYARD_CH18_TCP_PORT:-29000}"
CHDB_VERSION="${SWITCHYARD_CHDB_VERSION:-4.4.0}"
SHIM="$(cd "$(dirname "$0")/../.." && pwd)/tests/harness/chdb_http.py"

log() { echo "clickhouse: $*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_http() {
  local url=$1 what=$2 log_file=$3 i
  for i in $(seq 1 300); do
    curl -sf "$url/ping" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "$what did not answer on $url; last lines of $log_file:"
  tail -n 20 "$log_file" >&2 || true
  exit 1
}

install_chdb() {
  local venv="$DIR/venv"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import chdb, pyarrow" 2>/dev/null; then
    return 0
  fi
  log "creating $venv with chdb $CHDB_VERSION (about 1 GB, once)"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "chdb==$CHDB_VERSION" pyarrow >&2
}

install_ch18() {
  command -v clickhouse-server >/dev/null 2>&1 && return 0
  log "installing clickhouse-server from Debian"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    clickhouse-server clickhouse-client >&2
}

start_chdb() {
  mkdir -p "$DIR/chdb"
  alive "$DIR/chdb.pid" && return 0
  log "starting chdb shim on 127.0.0.1:$CHDB_PORT"
  setsid nohup "$DIR/venv/bin/python" "$SHIM" --port "$CHDB_PORT" --path "$DIR/chdb/data" \
    >"$DIR/chdb/shim.log" 2>&1 </dev/null &
  echo $! >"$DIR/chdb.pid"
}

start_ch18() {
  local home="$DIR/ch18"
  mkdir -p "$home"/{data,tmp,user_files,log}
  alive "$DIR/ch18.pid" && return 0
  cat >"$home/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$home/log/server.log</log>
    <errorlog>$home/log/error.log</errorlog><size>50M</size><count>2</count></logger>
  <http_port>$CH18_PORT</http_port><tcp_port>$CH18_TCP_PORT</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$home/data/</path><tmp_path>$home/tmp/</tmp_path>
  <user_files_path>$home/user_files/</user_files_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
XML
  log "starting clickhouse-server 18.16 on 127.0.0.1:$CH18_PORT"
  setsid nohup clickhouse-server --config-file="$home/config.xml" \
    >"$home/log/stdout.log" 2>&1 </dev/null &
  echo $! >"$DIR/ch18.pid"
}

stop_one() {
  local pidfile=$1 pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    install_chdb
    install_ch18
    start_chdb
    start_ch18
    wait_http "http://127.0.0.1:$CHDB_PORT" "chdb shim" "$DIR/chdb/shim.log"
    wait_http "http://127.0.0.1:$CH18_PORT" "clickhouse-server 18.16" "$DIR/ch18/log/stdout.log"
    echo "export SWITCHYARD_TEST_CLICKHOUSE_URL=http://127.0.0.1:$CHDB_PORT"
    echo "export SWITCHYARD_TEST_CLICKHOUSE18_URL=http://127.0.0.1:$CH18_PORT"
    ;;
  stop)
    stop_one "$DIR/chdb.pid"
    stop_one "$DIR/ch18.pid"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
