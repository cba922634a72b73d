#!/usr/bin/env bash
# Streaming throughput of the StarRocks backend, measured against MariaDB (the
# MySQL-protocol stand-in): rows/s of one large result read
#   (a) directly from MariaDB by the `mysql` client (--quick: unbuffered, printing rows),
#   (b) through switchyard by psql (Postgres wire, text format, printing rows), and
#   (c) through switchyard by pg_drain (benches/pg_drain.rs: reads rows, decodes none),
# in the same run, best of $RUNS each, and the ratios to (a). Run by hand; not in CI.
#
#   benches/starrocks_stream.sh                 # builds release, 1,000,000 rows
#   ROWS=200000 SWITCHYARD_BIN=target/debug/switchyard benches/starrocks_stream.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
RUNS="${RUNS:-3}"
PORT="${PORT:-25433}"
export SWITCHYARD_STATE="${SWITCHYARD_STATE:-$HOME/.cache/switchyard-test}"

eval "$(bash scripts/services/mariadb.sh start)"
url="$SWITCHYARD_TEST_MARIADB_URL"            # mysql://user:pass@host:port/db
rest="${url#mysql://}"; creds="${rest%%@*}"; hostpath="${rest#*@}"
user="${creds%%:*}"; pass="${creds#*:}"
hostport="${hostpath%%/*}"; db="${hostpath#*/}"
host="${hostport%%:*}"; mport="${hostport#*:}"

target="${CARGO_TARGET_DIR:-target}"
if [ -z "${SWITCHYARD_BIN:-}" ]; then
  cargo build --release --bin switchyard >&2
  SWITCHYARD_BIN="$target/release/switchyard"
fi
DRAIN="${PG_DRAIN_BIN:-$target/release/examples/pg_drain}"
[ -x "$DRAIN" ] || cargo build --release --example pg_drain >&2

table="seq_1_to_${ROWS}"
query="SELECT seq, seq * 2 AS twice, seq % 7 AS bucket FROM ${table}"
work="$(mktemp -d)"
cat >"$work/bench.toml" <<TOML
data_dir = "$work/data"
demo_rows = 0
[backends.maria]
kind = "starrocks"
url = "$url"
pool_size = 4
[tables.${table}]
backend = "maria"
TOML
mkdir -p "$work/data"
"$SWITCHYARD_BIN" serve --config "$work/bench.toml" --listen "127.0.0.1:$PORT" >"$work/switchyard.log" 2>&1 &
sy_pid=$!
trap 'kill $sy_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  psql -h 127.0.0.1 -p "$PORT" -U bench -d bench -Atc "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.2
done

best() { # best wall-clock seconds of $RUNS runs of "$@", output checked for $ROWS rows
  local best="" t0 t1 n
  for _ in $(seq 1 "$RUNS"); do
    t0=$(date +%s.%N)
    if [ "$1" = "$DRAIN" ]; then n=$("$@" | cut -d' ' -f1); else n=$("$@" | wc -l); fi
    t1=$(date +%s.%N)
    [ "$n" -eq "$ROWS" ] || { echo "expected $ROWS rows, got $n" >&2; exit 1; }
    best=$(echo "$t0 $t1 ${best:-1e9}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
  done
  echo "$best"
}

direct=$(best mysql --no-defaults --quick -N -B -h "$host" -P "$mport" -u "$user" -p"$pass" "$db" -e "$query")
proxied=$(best psql -X -q -At -h 127.0.0.1 -p "$PORT" -U bench -d bench -c "$query")
drained=$(best "$DRAIN" "127.0.0.1:$PORT" bench bench "$query")

awk -v rows="$ROWS" -v d="$direct" -v p="$proxied" -v r="$drained" 'BEGIN {
  printf "rows                     %d\n", rows
  printf "mysql client direct      %.3f s  %12.0f rows/s\n", d, rows / d
  printf "psql via switchyard      %.3f s  %12.0f rows/s  ratio %.2f\n", p, rows / p, d / p
  printf "pg_drain via switchyard  %.3f s  %12.0f rows/s  ratio %.2f\n", r, rows / r, d / r
}'
