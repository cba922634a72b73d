#!/usr/bin/env bash
# Bench: ClickHouse through switchyard vs directly, small (1 row) and large (1M rows)
# results, in the same run. Run by hand (not in CI):
#   benches/clickhouse.sh [--debug]        # default: a release build of switchyard
#   SWITCHYARD_BIN=path/to/switchyard benches/clickhouse.sh   # a binary already built
# Starts the modern ClickHouse (scripts/services/clickhouse.sh), fills `bench_rows`
# (1M rows), starts `switchyard serve` routed to it on 127.0.0.1:$PORT, runs
# benches/clickhouse_bench.py, and stops switchyard again. Needs psql and pgbench;
# builds benches/pg_drain.rs, the client that reads rows without decoding them.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWITCHYARD_STATE="${SWITCHYARD_STATE:-$HOME/.cache/switchyard-test}"
PORT="${SWITCHYARD_BENCH_PORT:-25433}"
PROFILE=release
[ "${1:-}" = "--debug" ] && PROFILE=debug
TARGET="${CARGO_TARGET_DIR:-target}"
WORK="$SWITCHYARD_STATE/bench"
mkdir -p "$WORK/empty"

eval "$(bash scripts/services/clickhouse.sh start)"
CH="$SWITCHYARD_TEST_CLICKHOUSE_URL"
curl -sf "$CH/" --data-binary "DROP TABLE IF EXISTS bench_rows" >/dev/null
curl -sf "$CH/" --data-binary "CREATE TABLE bench_rows ENGINE = MergeTree ORDER BY n AS
  SELECT number AS n, toString(number) AS s, toDateTime(number) AS t, number * 0.5 AS f
  FROM numbers(1000000)" >/dev/null

PROFILE_FLAG=(); [ "$PROFILE" = release ] && PROFILE_FLAG=(--release)
if [ -z "${SWITCHYARD_BIN:-}" ]; then
  echo "== cargo build ($PROFILE)" >&2
  cargo build "${PROFILE_FLAG[@]}" --bin switchyard --example pg_drain >&2
  SWITCHYARD_BIN="$TARGET/$PROFILE/switchyard"
fi
DRAIN="${PG_DRAIN_BIN:-$TARGET/$PROFILE/examples/pg_drain}"
[ -x "$DRAIN" ] || cargo build "${PROFILE_FLAG[@]}" --example pg_drain >&2

cat >"$WORK/switchyard.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$WORK/empty"
demo_rows = 0
[backends.ch]
kind = "clickhouse"
url = "$CH"
[tables.bench_rows]
backend = "ch"
TOML
SWITCHYARD_LOG=warn setsid nohup "$SWITCHYARD_BIN" serve --config "$WORK/switchyard.toml" \
  >"$WORK/switchyard.log" 2>&1 </dev/null &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.1; done

python3 benches/clickhouse_bench.py --clickhouse "$CH" --port "$PORT" --profile "$PROFILE" --work "$WORK" \
  --drain "$DRAIN" --proxy-pid "$PID" --server-pid "$(cat "$SWITCHYARD_STATE/clickhouse/chdb.pid")"
