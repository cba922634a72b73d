"""asyncpg against switchyard: extended protocol with binary parameters and results
throughout, prepared statements and a cursor inside a transaction."""
import asyncio
import datetime

import asyncpg

from common import HOST, PORT, ROWS, check


async def main():
    conn = await asyncpg.connect(host=HOST, port=PORT, user="tester", database="switchyard")
    check("server_version", conn.get_server_version().major, 15)
    check("count", await conn.fetchval("SELECT count(*) FROM llm_requests"), ROWS)
    rows = await conn.fetch(
        "SELECT provider, count(*) AS n, max(cost_usd) AS top, min(timestamp) AS first "
        "FROM llm_requests WHERE latency_ms > $1 GROUP BY provider ORDER BY provider",
        0,
    )
    check("grouped rows", len(rows) > 0, True)
    check("binary float8", isinstance(rows[0]["top"], float), True)
    check("binary timestamptz", isinstance(rows[0]["first"], datetime.datetime), True)
    stmt = await conn.prepare("SELECT count(*) FROM llm_requests WHERE provider = $1")
    for row in rows:
        check(f"prepared count for {row['provider']}", await stmt.fetchval(row["provider"]), row["n"])
    async with conn.transaction():
        seen = 0
        async for _ in conn.cursor("SELECT request_id FROM llm_requests LIMIT 250", prefetch=100):
            seen += 1
        check("cursor rows", seen, 250)
    check("catalog over binary", await conn.fetchval("SELECT current_setting('server_version_num')"), "150008")
    await conn.close()
    print("asyncpg: all checks passed")


asyncio.run(main())
