#!/usr/bin/env bash
# Translation speed against a peer, same machine, same run, same corpus: switchyard's
# parse → IR → emit (benches/translate.rs, release) vs sqlglot (PyPI) transpiling the
# identical queries ClickHouse → StarRocks. Prints both medians and their ratio.
# Run by hand (not in CI):  benches/translate_vs_sqlglot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export SWITCHYARD_STATE="${SWITCHYARD_STATE:-$HOME/.cache/switchyard-test}"
WORK="$SWITCHYARD_STATE/bench"
mkdir -p "$WORK"
VENV="$WORK/sqlglot-venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q sqlglot >&2
fi

echo "== switchyard (cargo bench --bench translate)" >&2
SWITCHYARD_BENCH_CORPUS="$WORK/translate-corpus.sql" \
  cargo bench --bench translate -- --quiet 2>/dev/null | tee "$WORK/translate-bench.txt" | grep '^switchyard'

echo "== sqlglot $("$VENV/bin/python" -c 'import sqlglot; print(sqlglot.__version__)')" >&2
"$VENV/bin/python" - "$WORK/translate-corpus.sql" <<'PY' | tee "$WORK/sqlglot-bench.txt"
import logging, statistics, sys, time
import sqlglot
logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its per-query "unsupported" warnings
queries = [q for q in open(sys.argv[1]).read().splitlines() if q.strip()]
per_query, unparsed = [], 0
for q in queries:
    try:
        sqlglot.transpile(q, read="clickhouse", write="starrocks")  # warm-up
    except sqlglot.errors.SqlglotError:
        unparsed += 1  # e.g. LIMIT n BY … LIMIT m, which sqlglot does not read
        continue
    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        sqlglot.transpile(q, read="clickhouse", write="starrocks")
    per_query.append((time.perf_counter() - started) / runs)
print(f"sqlglot translate ClickHouse → StarRocks: {len(per_query)} queries "
      f"({unparsed} more it cannot parse), median {statistics.median(per_query) * 1e6:.1f} µs per query")
PY

ours=$(grep -o 'median [0-9.]*' "$WORK/translate-bench.txt" | head -1 | cut -d' ' -f2)
theirs=$(grep -o 'median [0-9.]*' "$WORK/sqlglot-bench.txt" | cut -d' ' -f2)
python3 -c "print(f'switchyard is {float($theirs)/float($ours):.0f}x faster per query (median {float($ours):.1f} µs vs {float($theirs):.1f} µs)')"
