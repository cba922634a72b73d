// node-postgres against switchyard: extended protocol with $n parameters (text and
// binary results), the simple protocol, and a catalog query.
const { Client } = require('pg');

const [host, port, rows] = process.argv.slice(2);

function check(label, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${label}: got ${g}, want ${w}`);
  console.log(`ok  ${label}`);
}

async function main() {
  const client = new Client({ host, port: Number(port), user: 'tester', database: 'switchyard' });
  await client.connect();
  let r = await client.query('SELECT count(*) AS n FROM llm_requests WHERE latency_ms >= $1', [0]);
  check('count with a parameter', r.rows[0].n, String(rows));  // int8 arrives as a string
  r = await client.query('SELECT provider, count(*) AS n FROM llm_requests GROUP BY provider ORDER BY provider');
  check('simple protocol groups', r.rows.length > 0, true);
  const provider = r.rows[0].provider;
  r = await client.query({
    text: 'SELECT max(cost_usd) AS top, min(timestamp) AS first FROM llm_requests WHERE provider = $1',
    values: [provider],
    binary: true,
  });
  check('binary float8', typeof r.rows[0].top, 'number');
  check('binary timestamptz', r.rows[0].first instanceof Date, true);
  r = await client.query({ name: 'by-provider', text: 'SELECT count(*)::int AS n FROM llm_requests WHERE provider = $1', values: [provider] });
  const first = r.rows[0].n;
  r = await client.query({ name: 'by-provider', text: 'SELECT count(*)::int AS n FROM llm_requests WHERE provider = $1', values: [provider] });
  check('named statement reused', r.rows[0].n, first);
  r = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", ['public']);
  const names = r.rows.map((x) => x.table_name);
  check('information_schema', names.includes('llm_feedback') && names.includes('llm_requests'), true);
  await client.end();
  console.log('node-postgres: all checks passed');
}

main().catch((e) => { console.error(e); process.exit(1); });
