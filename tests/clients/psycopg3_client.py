"""psycopg 3 against switchyard: server-side parameters (extended protocol), text and
binary results, prepared statements, type introspection and a transaction."""
import datetime

import psycopg
from psycopg.types import TypeInfo

from common import HOST, PORT, ROWS, check

conninfo = f"host={HOST} port={PORT} user=tester dbname=switchyard"

with psycopg.connect(conninfo, autocommit=True) as conn:
    check("server_version", conn.info.server_version // 10000, 15)
    cur = conn.execute("SELECT count(*) FROM llm_requests WHERE latency_ms >= %s", (0,))
    check("count with a parameter", cur.fetchone()[0], ROWS)

    providers = [r[0] for r in conn.execute("SELECT DISTINCT provider FROM llm_requests ORDER BY 1")]
    check("providers are text", all(isinstance(p, str) for p in providers), True)

    with conn.cursor(binary=True) as cur:
        cur.execute(
            "SELECT provider, count(*) AS n, max(cost_usd) AS top, min(timestamp) AS first "
            "FROM llm_requests WHERE provider = %s GROUP BY provider",
            (providers[0],),
        )
        provider, n, top, first = cur.fetchone()
        check("binary: provider", provider, providers[0])
        check("binary: count is int", isinstance(n, int) and n > 0, True)
        check("binary: float8", isinstance(top, float), True)
        check("binary: timestamptz", isinstance(first, datetime.datetime) and first.tzinfo is not None, True)

    # Prepared on the server after the first execution with prepare=True.
    for _ in range(3):
        cur = conn.execute("SELECT count(*) FROM llm_requests WHERE provider = %s", (providers[0],), prepare=True)
        check("prepared statement", cur.fetchone()[0] > 0, True)

    check("version()", conn.execute("SELECT version()").fetchone()[0].startswith("PostgreSQL 15"), True)
    info = TypeInfo.fetch(conn, "timestamptz")
    check("TypeInfo.fetch oid", info.oid if info else None, 1184)

with psycopg.connect(conninfo) as conn:
    check("in a transaction", conn.execute("SELECT count(*) FROM llm_feedback").fetchone()[0] > 0, True)
    conn.rollback()
    # A server-side cursor: DECLARE with a bound parameter, Describe of the cursor as a
    # portal, then FETCH FORWARD itersize until the result ends.
    with conn.cursor(name="big_read") as cur:
        cur.itersize = 700
        cur.execute("SELECT request_id, latency_ms FROM llm_requests WHERE latency_ms >= %s", (0,))
        check("server-side cursor columns", [d.name for d in cur.description], ["request_id", "latency_ms"])
        check("server-side cursor streams every row", sum(1 for _ in cur), ROWS)
    conn.rollback()
print("psycopg3: all checks passed")
