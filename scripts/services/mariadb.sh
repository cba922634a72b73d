#!/usr/bin/env bash
# MariaDB from Debian: the MySQL-protocol stand-in for StarRocks (no StarRocks server
# is installable here). `start` installs mariadb-server if missing, initialises a data
# directory under $SWITCHYARD_STATE/mariadb, starts mariadbd on 127.0.0.1:$PORT, waits
# until it answers, creates the test database and user, and prints
#   export SWITCHYARD_TEST_MARIADB_URL=mysql://switchyard:switchyard@127.0.0.1:23306/switchyard_test
# `stop` kills the server by the PID it wrote. Both are idempotent.
set -euo pipefail

STATE="${SWITCHYARD_STATE:-$HOME/.cache/switchyard-test}"
DIR="$STATE/mariadb"
PORT="${SWITCHYARD_MARIADB_PORT:-23306}"
USER_NAME=switchyard
PASSWORD=switchyard
DATABASE=switchyard_test
SOCKET="$DIR/run/mysqld.sock"
PIDFILE="$DIR/run/mysqld.pid"

log() { echo "mariadb: $*" >&2; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

install() {
  command -v mariadbd >/dev/null 2>&1 && command -v mariadb >/dev/null 2>&1 && return 0
  log "installing mariadb-server from Debian"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    mariadb-server mariadb-client >&2
}

start() {
  install
  mkdir -p "$DIR/data" "$DIR/run" "$DIR/tmp"
  # mariadbd refuses to run as root without --user=root.
  local as_user=()
  [ "$(id -u)" -eq 0 ] && as_user=(--user=root)
  if [ ! -d "$DIR/data/mysql" ]; then
    log "initialising $DIR/data"
    mariadb-install-db --no-defaults "${as_user[@]}" --datadir="$DIR/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$DIR/install.log" 2>&1
  fi
  if ! running; then
    log "starting on 127.0.0.1:$PORT"
    setsid nohup mariadbd --no-defaults "${as_user[@]}" --datadir="$DIR/data" \
      --socket="$SOCKET" --pid-file="$PIDFILE" --port="$PORT" --bind-address=127.0.0.1 \
      --tmpdir="$DIR/tmp" --log-error="$DIR/error.log" --skip-name-resolve \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
      --innodb-buffer-pool-size=256M --max-connections=500 \
      >/dev/null 2>&1 </dev/null &
    local i
    for i in $(seq 1 300); do
      mariadb-admin --no-defaults -uroot --socket="$SOCKET" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    mariadb-admin --no-defaults -uroot --socket="$SOCKET" ping >/dev/null 2>&1 || {
      log "did not start; see $DIR/error.log"; tail -n 20 "$DIR/error.log" >&2; exit 1; }
  fi
  mariadb --no-defaults -uroot --socket="$SOCKET" -e "
    CREATE DATABASE IF NOT EXISTS \`$DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
    CREATE USER IF NOT EXISTS '$USER_NAME'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
    GRANT ALL ON *.* TO '$USER_NAME'@'127.0.0.1';"
  echo "export SWITCHYARD_TEST_MARIADB_URL=mysql://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "stopped (pid $pid)"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
