"""psycopg2 against switchyard: client-side interpolation over the simple protocol,
inside the transaction psycopg2 opens implicitly."""
import datetime

import psycopg2

from common import HOST, PORT, ROWS, check

conn = psycopg2.connect(host=HOST, port=PORT, user="tester", dbname="switchyard")
check("server_version", conn.server_version // 10000, 15)
cur = conn.cursor()
cur.execute("SELECT count(*) FROM llm_requests WHERE latency_ms >= %s", (0,))
check("count", cur.fetchone()[0], ROWS)
cur.execute("SELECT model, avg(latency_ms)::float8, min(timestamp) FROM llm_requests GROUP BY model ORDER BY 1 LIMIT 2")
rows = cur.fetchall()
check("two models", len(rows), 2)
check("timestamptz", isinstance(rows[0][2], datetime.datetime) and rows[0][2].tzinfo is not None, True)
check("column names", [d.name for d in cur.description], ["model", "avg", "min"])
cur.execute("SELECT current_setting('standard_conforming_strings'), current_schema()")
check("catalog functions", cur.fetchone(), ("on", "public"))
cur.execute("SELECT 'it''s'")
check("quoted literal", cur.fetchone()[0], "it's")
conn.rollback()
# A named cursor is a server-side DECLARE … CURSOR read with FETCH FORWARD itersize.
named = conn.cursor("big_read")
named.itersize = 1000
named.execute("SELECT request_id, latency_ms FROM llm_requests WHERE latency_ms >= %s", (0,))
seen = sum(1 for _ in named)
check("named cursor streams every row", seen, ROWS)
named.close()
conn.rollback()
conn.autocommit = True
cur.execute("SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r' ORDER BY 1")
check("pg_class", {"llm_feedback", "llm_requests"} <= {r[0] for r in cur.fetchall()}, True)
conn.close()
print("psycopg2: all checks passed")
