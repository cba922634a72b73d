//! The ClickHouse backend end to end: tokio-postgres → switchyard → ClickHouse HTTP.
//! Two real engines, started by scripts/services/clickhouse.sh:
//! - `SWITCHYARD_TEST_CLICKHOUSE_URL`: the modern engine (chdb behind the project's
//!   shim tests/harness/chdb_http.py) — the ArrowStream path;
//! - `SWITCHYARD_TEST_CLICKHOUSE18_URL`: Debian's clickhouse-server 18.16, a genuine
//!   old server — the TabSeparatedWithNamesAndTypes path, and query killing.
//!
//! Fixtures, recreated each run from the project's own generator: the demo Delta
//! tables are generated into a directory of this harness, and ClickHouse loads the very
//! same Parquet files (18.16 copies them from the modern engine with `url()`), so the
//! Delta and ClickHouse copies hold identical rows:
//! - `llm_requests` (MergeTree), `llm_feedback` (MergeTree);
//! - `llm_feedback_versions` (ReplacingMergeTree(version)): every feedback row at
//!   version 2, plus an older version 1 of a quarter of them in another part, so `FINAL`
//!   changes results; the Delta directory gets the same rows (both versions);
//! - `ch_types`: one column per ClickHouse type family dashboards meet;
//! - `endless` (18.16 only): a view of the infinite `system.numbers`, to cancel.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

use switchyard::backend::clickhouse::ClickHouseBackend;
use switchyard::backend::Backend;
use switchyard::config::{ClickHouseCompression, ClickHouseConfig, Config};
use switchyard::engine::Engine;
use switchyard::frontend::Frontend;

use crate::support::simple_rows;
use crate::support::sqlstate;

pub const DEMO_ROWS: usize = 20_000;
/// Counts over `endless`, a view of the infinite `system.numbers` on 18.16: runs until
/// killed (or the backend timeout).
const ENDLESS_QUERY: &str = "SELECT count(*) FROM endless WHERE number % 1000000007 = 1000000006";

pub fn clickhouse_url() -> Option<String> {
    env_url("SWITCHYARD_TEST_CLICKHOUSE_URL")
}

fn clickhouse18_url() -> Option<String> {
    env_url("SWITCHYARD_TEST_CLICKHOUSE18_URL")
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|url| !url.is_empty())
}

/// The servers of this module, started once for the whole test binary.
pub struct Harness {
    /// switchyard with every demo table routed to the modern ClickHouse.
    pub clickhouse: SocketAddr,
    /// switchyard over the same rows as Delta tables (DataFusion).
    pub delta: SocketAddr,
    /// switchyard routed to ClickHouse 18.16, if its URL is set.
    pub clickhouse18: Option<SocketAddr>,
    /// switchyard with a ClickHouse that is down and one that never answers, next to Delta.
    pub broken: SocketAddr,
    pub url: String,
    pub url18: Option<String>,
    /// The demo Delta tables ClickHouse was loaded from (identical rows).
    pub data_dir: PathBuf,
}

/// The harness, or None (having said SKIPPED) without a ClickHouse to test against.
pub fn harness() -> Option<&'static Harness> {
    static HARNESS: OnceLock<Option<Harness>> = OnceLock::new();
    let harness = HARNESS
        .get_or_init(|| clickhouse_url().map(|url| start(url, clickhouse18_url())))
        .as_ref();
    if harness.is_none() {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLICKHOUSE_URL is not set (scripts/test.sh starts ClickHouse)");
    }
    harness
}

fn start(url: String, url18: Option<String>) -> Harness {
    let data_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("it-clickhouse-demo");
    let empty_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("it-clickhouse-empty");
    let _ = std::fs::remove_dir_all(&data_dir);
    let _ = std::fs::create_dir_all(&empty_dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let (modern, old) = (url.clone(), url18.clone());
    let demo_dir = data_dir.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            switchyard::demo::ensure_demo_data(&data_dir, DEMO_ROWS, false)
                .await
                .expect("demo data");
            load_modern(&modern, &data_dir).await;
            copy_versions_to_delta(&modern, &data_dir).await;
            if let Some(old) = &old {
                load_old(old, &modern).await;
            }
            let clickhouse = serve(&format!(
                "data_dir = {empty:?}\n[backends.ch]\nkind = \"clickhouse\"\nurl = \"{modern}\"\ntimeout_secs = 120\n",
                empty = empty_dir.display().to_string()
            ))
            .await;
            let delta = serve(&format!(
                "data_dir = {dir:?}\n",
                dir = data_dir.display().to_string()
            ))
            .await;
            let clickhouse18 = match &old {
                Some(old) => Some(
                    serve(&format!(
                        "data_dir = {empty:?}\n[backends.ch18]\nkind = \"clickhouse\"\nurl = \"{old}\"\ntimeout_secs = 120\n",
                        empty = empty_dir.display().to_string()
                    ))
                    .await,
                ),
                None => None,
            };
            let silent = silent_server().await;
            let broken = serve(&format!(
                "data_dir = {dir:?}\n\
                 [backends.down]\nkind = \"clickhouse\"\nurl = \"http://127.0.0.1:1\"\ntimeout_secs = 2\n\
                 [backends.silent]\nkind = \"clickhouse\"\nurl = \"http://{silent}\"\ntimeout_secs = 1\n\
                 [tables.gone]\nbackend = \"down\"\n[tables.stuck]\nbackend = \"silent\"\n",
                dir = data_dir.display().to_string()
            ))
            .await;
            tx.send((clickhouse, delta, clickhouse18, broken))
                .expect("send");
            std::future::pending::<()>().await;
        });
    });
    let (clickhouse, delta, clickhouse18, broken) = rx
        .recv()
        .expect("switchyard over ClickHouse failed to start");
    Harness {
        clickhouse,
        delta,
        clickhouse18,
        broken,
        url,
        url18,
        data_dir: demo_dir,
    }
}

/// An in-process switchyard on `toml` (no demo data); sessions on database `clickhouse`
/// speak ClickHouse SQL.
pub async fn serve(toml: &str) -> SocketAddr {
    let mut config = Config::from_toml(toml).expect("config");
    config.demo_rows = 0;
    // Sessions on database `clickhouse` speak ClickHouse SQL, as a Grafana data source
    // for ClickHouse dashboards would be set up.
    config
        .dialects
        .databases
        .insert("clickhouse".into(), "clickhouse".into());
    config.validate().expect("config");
    let engine = Arc::new(Engine::start(&config).await.expect("engine"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(switchyard::server::run(
        listener,
        Frontend::new(engine),
        64,
        std::future::pending(),
    ));
    addr
}

/// Accepts connections and never answers: a ClickHouse that hangs.
async fn silent_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

pub fn client(url: &str) -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(url)
        .with_compression(clickhouse::Compression::None)
}

pub async fn run(url: &str, sql: &str) {
    client(url)
        .query_raw(sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A query's answer as TabSeparated text.
pub async fn text(url: &str, sql: &str) -> String {
    let bytes = client(url)
        .query_raw(sql)
        .fetch_bytes("TabSeparated")
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    String::from_utf8_lossy(&bytes).into_owned()
}

const REQUESTS_DDL: &str = "timestamp DateTime64(3, 'UTC'), request_id String, trace_id String, \
    user_id String, project LowCardinality(String), provider LowCardinality(String), \
    model LowCardinality(String), endpoint LowCardinality(String), status LowCardinality(String), \
    http_status Int32, error_type Nullable(String), latency_ms Int64, ttft_ms Nullable(Int64), \
    input_tokens Int64, output_tokens Int64, cost_usd Float64, cached Bool, \
    tags Map(String, String), request_bytes Int64, response_bytes Int64";
const FEEDBACK_DDL: &str =
    "request_id String, metric LowCardinality(String), value Float64, created_at DateTime64(3, 'UTC')";

async fn load_modern(url: &str, data_dir: &Path) {
    let parquet = |table: &str| format!("{}/{table}/*.parquet", data_dir.display());
    for table in [
        "llm_requests",
        "llm_feedback",
        "llm_feedback_versions",
        "ch_types",
    ] {
        run(url, &format!("DROP TABLE IF EXISTS {table}")).await;
    }
    run(
        url,
        &format!("CREATE TABLE llm_requests ({REQUESTS_DDL}) ENGINE = MergeTree ORDER BY (project, model, timestamp)"),
    )
    .await;
    run(
        url,
        &format!(
            "INSERT INTO llm_requests SELECT * FROM file('{}', Parquet)",
            parquet("llm_requests")
        ),
    )
    .await;
    run(
        url,
        &format!("CREATE TABLE llm_feedback ({FEEDBACK_DDL}) ENGINE = MergeTree ORDER BY (request_id, metric)"),
    )
    .await;
    run(
        url,
        &format!(
            "INSERT INTO llm_feedback SELECT * FROM file('{}', Parquet)",
            parquet("llm_feedback")
        ),
    )
    .await;
    run(
        url,
        &format!(
            "CREATE TABLE llm_feedback_versions ({FEEDBACK_DDL}, version UInt32) \
             ENGINE = ReplacingMergeTree(version) ORDER BY (request_id, metric)"
        ),
    )
    .await;
    run(url, "SYSTEM STOP MERGES llm_feedback_versions").await;
    // The older versions first, in their own part: only FINAL (or a merge) hides them.
    run(
        url,
        "INSERT INTO llm_feedback_versions SELECT request_id, metric, value / 2 + 0.25, \
         created_at - INTERVAL 1 HOUR, 1 FROM llm_feedback WHERE cityHash64(request_id) % 4 = 0",
    )
    .await;
    run(
        url,
        "INSERT INTO llm_feedback_versions SELECT request_id, metric, value, created_at, 2 FROM llm_feedback",
    )
    .await;
    run(
        url,
        "CREATE TABLE ch_types (id UInt8, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64, \
         i8 Int8, i16 Int16, i32 Int32, i64 Int64, i128 Int128, u256 UInt256, f32 Float32, f64 Float64, \
         dec Decimal(18, 4), s String, fs FixedString(4), lc LowCardinality(String), \
         ns Nullable(String), d Date, d32 Date32, dt DateTime, dtz DateTime('Asia/Tokyo'), \
         dt64 DateTime64(3, 'UTC'), uuid UUID, b Bool, e Enum8('ok' = 1, 'error' = 2), \
         arr Array(UInt32), narr Array(Nullable(String)), m Map(String, UInt64), \
         t Tuple(a String, b Int32), ip4 IPv4, ip6 IPv6) ENGINE = MergeTree ORDER BY id",
    )
    .await;
    run(
        url,
        "INSERT INTO ch_types VALUES \
         (1, 255, 65535, 4294967295, 18446744073709551615, -128, -32768, -2147483648, \
          -9223372036854775808, -12345678901234567890123, 7, 1.5, 0.1, \
          -12.3456, 'héllo\\ttab ☃', 'ab', 'low', NULL, '2024-02-29', '1900-01-01', \
          '2024-05-01 12:34:56', '2024-05-01 12:34:56', '2024-05-01 12:34:56.789', \
          '61f0c404-5cb3-11e7-907b-a6006ad3dba0', true, 'error', [1, 2, 3], ['x', NULL], \
          {'a': 1, 'b': 18446744073709551615}, ('k', -5), '192.168.0.1', '::ffff:10.0.0.1'), \
         (2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', 'x', '1970-01-01', '1970-01-01', \
          '1970-01-01 00:00:00', '1970-01-01 09:00:00', '1970-01-01 00:00:00.000', \
          '00000000-0000-0000-0000-000000000000', false, 'ok', [], [], {}, ('', 0), '0.0.0.0', '::')",
    )
    .await;
}

/// The versioned feedback as a Delta table too, read back from ClickHouse through the
/// backend itself (so its types are the presented ones).
async fn copy_versions_to_delta(url: &str, data_dir: &Path) {
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    use deltalake::kernel::StructType;
    use deltalake::writer::{DeltaWriter, RecordBatchWriter};

    let backend = ClickHouseBackend::open("copy", &config(url))
        .await
        .expect("open");
    let result = backend
        .execute(
            "SELECT request_id, metric, value, created_at, toInt64(version) AS version \
             FROM llm_feedback_versions ORDER BY version, request_id, metric",
        )
        .await
        .expect("read versions");
    let fields: Vec<arrow::datatypes::Field> = result
        .schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
    let path = data_dir.join("llm_feedback_versions");
    let columns: StructType = schema.as_ref().try_into_kernel().expect("kernel schema");
    let mut table = deltalake::DeltaTable::try_from_url(
        deltalake::ensure_table_uri(path.to_str().unwrap()).unwrap(),
    )
    .await
    .unwrap()
    .create()
    .with_table_name("llm_feedback_versions")
    .with_columns(columns.fields().cloned())
    .await
    .expect("create delta table");
    let mut writer = RecordBatchWriter::for_table(&table).unwrap();
    let mut batches = result.batches;
    while let Some(batch) = batches.next().await {
        let batch = batch.expect("batch");
        let batch =
            arrow::record_batch::RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
                .expect("batch");
        writer.write(batch).await.expect("write");
    }
    writer.flush_and_commit(&mut table).await.expect("commit");
}

/// 18.16 pulls the demo rows from the modern engine with `url()`, in the types it has.
async fn load_old(url18: &str, modern: &str) {
    for table in ["llm_requests", "llm_feedback", "ch_types", "endless"] {
        run(url18, &format!("DROP TABLE IF EXISTS {table}")).await;
    }
    run(
        url18,
        "CREATE VIEW endless AS SELECT number FROM system.numbers",
    )
    .await;
    let columns = "timestamp DateTime, request_id String, model String, provider String, \
                   status String, http_status Int32, error_type Nullable(String), latency_ms Int64, \
                   ttft_ms Nullable(Int64), input_tokens Int64, output_tokens Int64, cost_usd Float64, \
                   cached UInt8";
    run(
        url18,
        &format!("CREATE TABLE llm_requests ({columns}) ENGINE = MergeTree() ORDER BY (model, timestamp)"),
    )
    .await;
    let source = "SELECT toDateTime(timestamp), request_id, model, provider, status, http_status, \
                  error_type, latency_ms, ttft_ms, input_tokens, output_tokens, cost_usd, toUInt8(cached) \
                  FROM llm_requests";
    run(
        url18,
        &format!(
            "INSERT INTO llm_requests SELECT * FROM url('{modern}/?query={}', TabSeparated, '{columns}')",
            percent_encode(source)
        ),
    )
    .await;
    run(
        url18,
        "CREATE TABLE ch_types (id UInt8, u64 UInt64, i8 Int8, f64 Float64, dec Decimal(18, 4), \
         s String, fs FixedString(4), ns Nullable(String), d Date, dt DateTime, uuid UUID, \
         e Enum8('ok' = 1, 'error' = 2), arr Array(UInt32), narr Array(Nullable(String)), \
         t Tuple(String, Int32)) ENGINE = MergeTree() ORDER BY id",
    )
    .await;
    run(
        url18,
        "INSERT INTO ch_types VALUES (1, 18446744073709551615, -128, 0.1, -12.3456, 'héllo\\ttab ☃', \
         'ab', NULL, '2024-02-29', '2024-05-01 12:34:56', '61f0c404-5cb3-11e7-907b-a6006ad3dba0', \
         'error', [1, 2, 3], ['x', NULL], ('k', -5))",
    )
    .await;
}

pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn config(url: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        url: url.to_owned(),
        user: "default".into(),
        password: None,
        database: None,
        compression: ClickHouseCompression::None,
        timeout_secs: 60,
        schema_ttl_secs: 60,
    }
}

pub async fn connect_to(addr: SocketAddr) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host={} port={} user=tester dbname=clickhouse application_name=it-clickhouse",
            addr.ip(),
            addr.port()
        ),
        NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(connection);
    client
}

async fn one_value(addr: SocketAddr, sql: &str) -> String {
    let client = connect_to(addr).await;
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    simple_rows(&messages)[0][0].clone().unwrap_or_default()
}

#[tokio::test]
async fn demo_tables_are_served_from_clickhouse() {
    let Some(h) = harness() else { return };
    assert_eq!(
        one_value(h.clickhouse, "SELECT count(*) FROM llm_requests").await,
        DEMO_ROWS.to_string()
    );
    let client = connect_to(h.clickhouse).await;
    let rows = client
        .query(
            "SELECT model, count(*) AS n, max(timestamp) AS last FROM llm_requests GROUP BY model ORDER BY n DESC LIMIT 3",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].columns()[1].type_(),
        &Type::INT8,
        "ClickHouse counts in UInt64; clients see bigint, as from Postgres and Delta"
    );
    assert_eq!(rows[0].columns()[2].type_(), &Type::TIMESTAMPTZ);
}

#[tokio::test]
async fn prepared_statements_with_parameters_run_on_clickhouse() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.clickhouse).await;
    let statement = client
        .prepare_typed(
            "SELECT request_id, latency_ms FROM llm_requests WHERE latency_ms > $1 AND provider = $2 ORDER BY latency_ms DESC, request_id LIMIT 5",
            &[Type::INT8, Type::TEXT],
        )
        .await
        .unwrap();
    assert_eq!(statement.columns()[1].type_(), &Type::INT8);
    let rows = client
        .query(&statement, &[&2_000i64, &"openai"])
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.get::<_, i64>(1) > 2_000));
}

#[tokio::test]
async fn clickhouse_types_reach_postgres_with_their_meaning() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.clickhouse).await;
    let messages = client
        .simple_query("SELECT * FROM ch_types ORDER BY id")
        .await
        .unwrap();
    let rows = simple_rows(&messages);
    let row = &rows[0];
    let expected = [
        "1",
        "255",
        "65535",
        "4294967295",
        "18446744073709551615",
        "-128",
        "-32768",
        "-2147483648",
        "-9223372036854775808",
    ];
    for (i, value) in expected.iter().enumerate() {
        assert_eq!(row[i].as_deref(), Some(*value), "column {i}");
    }
    let by_name = |name: &str| {
        let columns = [
            "id", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "i128", "u256", "f32",
            "f64", "dec", "s", "fs", "lc", "ns", "d", "d32", "dt", "dtz", "dt64", "uuid", "b", "e",
            "arr", "narr", "m", "t", "ip4", "ip6",
        ];
        let at = columns.iter().position(|c| *c == name).unwrap();
        row[at].clone()
    };
    assert_eq!(by_name("u256").as_deref(), Some("7"));
    assert_eq!(by_name("dec").as_deref(), Some("-12.3456"));
    assert_eq!(by_name("s").as_deref(), Some("héllo\ttab ☃"));
    assert_eq!(by_name("fs").as_deref(), Some("ab"));
    assert_eq!(by_name("ns"), None);
    assert_eq!(by_name("d").as_deref(), Some("2024-02-29"));
    assert_eq!(by_name("d32").as_deref(), Some("1900-01-01"));
    assert_eq!(by_name("dt").as_deref(), Some("2024-05-01 12:34:56+00"));
    // Wall clock 12:34:56 in Tokyo is 03:34:56 UTC: the instant survives.
    assert_eq!(by_name("dtz").as_deref(), Some("2024-05-01 03:34:56+00"));
    assert_eq!(
        by_name("dt64").as_deref(),
        Some("2024-05-01 12:34:56.789+00")
    );
    assert_eq!(
        by_name("uuid").as_deref(),
        Some("61f0c404-5cb3-11e7-907b-a6006ad3dba0")
    );
    assert_eq!(by_name("b").as_deref(), Some("t"));
    assert_eq!(by_name("e").as_deref(), Some("error"));
    assert_eq!(by_name("arr").as_deref(), Some("{1,2,3}"));
    assert_eq!(
        by_name("m").as_deref(),
        Some(r#"{"a": 1, "b": 18446744073709551615}"#)
    );
    assert_eq!(by_name("ip4").as_deref(), Some("192.168.0.1"));
    assert_eq!(by_name("ip6").as_deref(), Some("::ffff:10.0.0.1"));

    // Binary results decode as the Postgres types the RowDescription announced.
    let row = client
        .query_one(
            "SELECT u64, i128, dt64, d, b, f64, u32 FROM ch_types WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    let types: Vec<&Type> = row.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(
        types,
        [
            &Type::NUMERIC,
            &Type::NUMERIC,
            &Type::TIMESTAMPTZ,
            &Type::DATE,
            &Type::BOOL,
            &Type::FLOAT8,
            &Type::INT8
        ]
    );
    assert_eq!(row.get::<_, i64>(6), 4_294_967_295);
    assert!((row.get::<_, f64>(5) - 0.1).abs() < 1e-12);
}

#[tokio::test]
async fn old_server_answers_over_the_text_format() {
    let Some(h) = harness() else { return };
    let Some(addr) = h.clickhouse18 else {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLICKHOUSE18_URL is not set");
        return;
    };
    assert_eq!(
        one_value(addr, "SELECT count(*) FROM llm_requests").await,
        DEMO_ROWS.to_string()
    );
    let client = connect_to(addr).await;
    let messages = client.simple_query("SELECT * FROM ch_types").await.unwrap();
    let row = &simple_rows(&messages)[0];
    let values: Vec<Option<&str>> = row.iter().map(|v| v.as_deref()).collect();
    assert_eq!(
        values,
        [
            Some("1"),
            Some("18446744073709551615"),
            Some("-128"),
            Some("0.1"),
            Some("-12.3456"),
            Some("héllo\ttab ☃"),
            Some("ab"),
            None,
            Some("2024-02-29"),
            Some("2024-05-01 12:34:56+00"),
            Some("61f0c404-5cb3-11e7-907b-a6006ad3dba0"),
            Some("error"),
            Some("{1,2,3}"),
            Some("{x,NULL}"),
            Some("(k,-5)"),
        ]
    );
    // The same aggregate as the modern engine computes over the same rows.
    let sql =
        "SELECT model, count(*), sum(input_tokens) FROM llm_requests GROUP BY model ORDER BY model";
    let old = simple_rows(&client.simple_query(sql).await.unwrap());
    let modern = simple_rows(
        &connect_to(h.clickhouse)
            .await
            .simple_query(sql)
            .await
            .unwrap(),
    );
    assert_eq!(old, modern);
}

#[tokio::test]
async fn clickhouse_errors_keep_code_and_message() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.clickhouse).await;
    let err = client
        .simple_query("SELECT no_such_column FROM llm_requests")
        .await
        .unwrap_err();
    let db = err.as_db_error().expect("a database error");
    assert!(
        db.message().contains("Code: 47") && db.message().contains("no_such_column"),
        "{}",
        db.message()
    );
    assert!(
        db.message().starts_with("ch: "),
        "names the backend: {}",
        db.message()
    );
    assert_eq!(
        db.code().code(),
        "42703",
        "UNKNOWN_IDENTIFIER is undefined_column"
    );
    // The connection is still usable.
    assert!(
        !one_value(h.clickhouse, "SELECT count(*) FROM llm_feedback")
            .await
            .is_empty()
    );
    if let Some(addr) = h.clickhouse18 {
        let err = connect_to(addr)
            .await
            .simple_query("SELECT no_such_column FROM llm_requests")
            .await
            .unwrap_err();
        let message = err.as_db_error().expect("db error").message().to_owned();
        assert!(message.contains("Code: 47"), "{message}");
        assert_eq!(sqlstate(&err), "42703");
    }
}

#[tokio::test]
async fn replacing_merge_tree_metadata_is_discovered() {
    let Some(h) = harness() else { return };
    let backend = ClickHouseBackend::open("meta", &config(&h.url))
        .await
        .unwrap();
    let table = backend.table("llm_feedback_versions").expect("discovered");
    assert_eq!(table.engine, "ReplacingMergeTree");
    assert_eq!(table.version_column.as_deref(), Some("version"));
    assert_eq!(table.sorting_key, ["request_id", "metric"]);
    assert!(table.deduplicates_on_merge());
    let plain = backend.table("llm_requests").expect("discovered");
    assert_eq!(plain.engine, "MergeTree");
    assert!(!plain.deduplicates_on_merge());
    assert!(backend
        .tables()
        .iter()
        .any(|t| t.name == "llm_requests" && t.schema.fields().len() == 20));
    // FINAL matters on this table: there are stale versions to hide.
    let all = text(&h.url, "SELECT count() FROM llm_feedback_versions").await;
    let last = text(&h.url, "SELECT count() FROM llm_feedback_versions FINAL").await;
    let feedback = text(&h.url, "SELECT count() FROM llm_feedback").await;
    assert_eq!(last, feedback);
    assert!(all.trim().parse::<u64>().unwrap() > last.trim().parse::<u64>().unwrap());
}

#[tokio::test]
async fn large_results_stream_in_many_batches() {
    let Some(h) = harness() else { return };
    let backend = ClickHouseBackend::open("stream", &config(&h.url))
        .await
        .unwrap();
    let result = backend
        .execute("SELECT number, toString(number) AS s, toDateTime(number) AS t FROM system.numbers LIMIT 1000000")
        .await
        .unwrap();
    assert_eq!(result.schema.fields().len(), 3);
    let mut batches = result.batches;
    let (mut rows, mut count) = (0, 0);
    while let Some(batch) = batches.next().await {
        rows += batch.unwrap().num_rows();
        count += 1;
    }
    assert_eq!(rows, 1_000_000);
    assert!(count > 4, "{count} batches");
}

/// Waits until 18.16 runs no query of switchyard's; panics after `limit`.
async fn wait_until_no_switchyard_query(url18: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let running = text(
            url18,
            "SELECT count() FROM system.processes WHERE query_id LIKE 'switchyard-%' AND query NOT LIKE 'KILL%'",
        )
        .await;
        if running.trim() == "0" {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "ClickHouse still runs the query after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_running(url18: &str) {
    let started = Instant::now();
    loop {
        let running = text(
            url18,
            "SELECT count() FROM system.processes WHERE query_id LIKE 'switchyard-%' AND query NOT LIKE 'KILL%'",
        )
        .await;
        if running.trim() != "0" {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "query never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// 18.16 (the real server here) with no query of switchyard's left from earlier runs.
async fn old_server_idle() -> Option<(SocketAddr, &'static str)> {
    let h = harness()?;
    let (Some(addr), Some(url18)) = (h.clickhouse18, h.url18.as_deref()) else {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLICKHOUSE18_URL is not set");
        return None;
    };
    run(url18, "KILL QUERY WHERE query_id LIKE 'switchyard-%' ASYNC").await;
    wait_until_no_switchyard_query(url18, Duration::from_secs(30)).await;
    Some((addr, url18))
}

/// Both lifecycle tests watch 18.16's process list, so they take turns.
static PROCESS_LIST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn postgres_cancel_kills_the_clickhouse_query() {
    let _turn = PROCESS_LIST.lock().await;
    let Some((addr, url18)) = old_server_idle().await else {
        return;
    };
    let client = connect_to(addr).await;
    let token = client.cancel_token();
    let query = tokio::spawn(async move { client.simple_query(ENDLESS_QUERY).await });
    wait_until_running(url18).await;
    token.cancel_query(NoTls).await.unwrap();
    let err = query.await.unwrap().unwrap_err();
    assert_eq!(sqlstate(&err), "57014");
    let gone = wait_until_no_switchyard_query(url18, Duration::from_secs(10)).await;
    eprintln!("cancel: the ClickHouse query was gone {gone:?} after the cancel request");
}

/// A client that goes away mid-query, before the first row: a `count(*)` writes nothing
/// until ClickHouse is done, so only the server's socket watch can notice the hang-up,
/// and it must kill the ClickHouse query rather than let it run to the backend timeout.
#[tokio::test]
async fn client_disconnect_kills_the_clickhouse_query() {
    let _turn = PROCESS_LIST.lock().await;
    let Some((addr, url18)) = old_server_idle().await else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(
        &format!("host={} port={} user=tester", addr.ip(), addr.port()),
        NoTls,
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let query = tokio::spawn(async move { client.simple_query(ENDLESS_QUERY).await });
    wait_until_running(url18).await;
    connection.abort();
    query.abort();
    let gone = wait_until_no_switchyard_query(url18, Duration::from_secs(10)).await;
    eprintln!("disconnect: the ClickHouse query was gone {gone:?} after the client left");
}

#[tokio::test]
async fn a_down_or_hanging_clickhouse_fails_only_its_own_queries() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.broken).await;
    let started = Instant::now();
    let err = client
        .simple_query("SELECT count(*) FROM gone")
        .await
        .unwrap_err();
    let message = err.as_db_error().expect("db error").message().to_owned();
    assert!(
        message.contains("down") && message.contains("unreachable"),
        "{message}"
    );
    assert_eq!(
        sqlstate(&err),
        "08001",
        "unreachable, as postgres_fdw reports it"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let started = Instant::now();
    let hanging = tokio::spawn({
        let addr = h.broken;
        async move {
            connect_to(addr)
                .await
                .simple_query("SELECT count(*) FROM stuck")
                .await
        }
    });
    // Delta keeps answering while the other ClickHouse hangs.
    let rows = simple_rows(
        &client
            .simple_query("SELECT count(*) FROM llm_requests")
            .await
            .unwrap(),
    );
    assert_eq!(rows[0][0].as_deref(), Some(DEMO_ROWS.to_string().as_str()));
    let err = hanging.await.unwrap().unwrap_err();
    let message = err.as_db_error().expect("db error").message().to_owned();
    assert!(message.contains("silent"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "timed out after {:?}",
        started.elapsed()
    );
}

/// A client sees the same schema and the same result types whichever backend holds a
/// table: the catalog's columns, and the column types of a typical dashboard query.
#[tokio::test]
async fn every_backend_presents_the_same_schema_and_result_types() {
    let Some(h) = harness() else { return };
    let columns = "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                   WHERE table_name = 'llm_requests' ORDER BY ordinal_position";
    let dashboard = "SELECT model, count(*) AS n, count(DISTINCT user_id) AS users, \
                     sum(input_tokens) AS tokens, avg(latency_ms) AS latency, \
                     max(timestamp) AS last FROM llm_requests GROUP BY model";
    // (The 18.16 harness holds a narrower llm_requests: not the same table.)
    let servers = [("clickhouse", h.clickhouse)];
    let reference = connect_to(h.delta).await;
    let expected_columns = simple_rows(&reference.simple_query(columns).await.unwrap());
    let statement = reference.prepare(dashboard).await.unwrap();
    let expected_types: Vec<_> = statement
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    for (name, addr) in servers {
        let client = connect_to(addr).await;
        let seen = simple_rows(&client.simple_query(columns).await.unwrap());
        assert_eq!(
            seen, expected_columns,
            "information_schema on {name} vs Delta"
        );
        let statement = client.prepare(dashboard).await.unwrap();
        let types: Vec<_> = statement
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        assert_eq!(types, expected_types, "result types on {name} vs Delta");
    }
}

/// ClickHouse's JSON functions run on DataFusion by switchyard's UDFs: every function on
/// every (document, path) of a corpus answers as ClickHouse itself does, or refuses the
/// row with "not supported" where ClickHouse's rules are quirks we did not reproduce.
#[tokio::test]
async fn json_functions_on_datafusion_answer_as_clickhouse() {
    let Some(url) = clickhouse_url() else {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLICKHOUSE_URL is not set (scripts/test.sh starts ClickHouse)");
        return;
    };
    let documents = [
        r#"{"s":"x","i":1,"f":1.50,"g":-0.0,"h":1e300,"t":true,"n":null,"o":{"d":"y","k":[1,2.5e0]},"a":["p",1],"big":18446744073709551615,"neg":-9223372036854775808,"s":"dup"}"#,
        r#"[10, -3, 2.5, "txt", [1,2], {"z":0}]"#,
        r#"{"e":"\u00e9\n\t\"q\\ / \u0001 \ud83d\ude00","esc":"a\/b","ctl":"\b\f\r\u001f"}"#,
        r#"{"nested":{"deep":{"deeper":[{"v":"w"}]}}}"#,
        r#""top""#,
        "42",
        "not json",
        r#"{"a":01}"#,
        r#"{"a":"x"} trailing"#,
        "",
        r#"{"num":-1.5,"frac":0.1,"tiny":1e-7,"large":1e21,"mid":1e20,"int_float":3.0,"minus":-2.5e-10,"u":9223372036854775808,"zero":0,"neg_int":-7}"#,
        "{}",
        "[]",
        r#"{"A":"upper","a":"lower"}"#,
        r#"  {"sp" : [ 1 , 2 ] , "w" : { } }  "#,
    ];
    let paths = [
        "'s'",
        "'i'",
        "'f'",
        "'o', 'd'",
        "'o', 'k', 2",
        "'a', 1",
        "'a', -1",
        "1",
        "-1",
        "3",
        "0",
        "'zz'",
        "'n'",
        "'t'",
        "'num'",
        "'frac'",
        "'tiny'",
        "'large'",
        "'mid'",
        "'int_float'",
        "'minus'",
        "'u'",
        "'e'",
        "'esc'",
        "'ctl'",
        "'nested', 'deep', 'deeper', 1, 'v'",
        "'A'",
        "'sp'",
        "'h'",
        "'g'",
        "'zero'",
        "'neg_int'",
        "'w'",
    ];
    let functions = [
        "JSONHas",
        "JSONLength",
        "JSONExtractString",
        "JSONExtractRaw",
        "JSONExtractInt",
        "JSONExtractUInt",
        "JSONExtractFloat",
    ];
    let ctx = datafusion::prelude::SessionContext::new();
    switchyard::udf::json::register(&ctx);
    let udf = |name: &str| {
        switchyard::udf::json::FUNCTIONS
            .iter()
            .find(|(ch, _)| *ch == name)
            .unwrap()
            .1
    };
    let (mut compared, mut refused, mut differ) = (0, Vec::new(), Vec::new());
    for document in documents {
        // ClickHouse reads backslash escapes in literals; DataFusion does not.
        let ch_doc = document.replace('\\', "\\\\").replace('\'', "\\'");
        let df_doc = document.replace('\'', "''");
        for path in paths {
            // Strings as hex: TabSeparated would escape them.
            let select: Vec<String> = functions
                .iter()
                .map(|f| match *f {
                    "JSONExtractString" | "JSONExtractRaw" => format!("hex({f}(d, {path}))"),
                    _ => format!("{f}(d, {path})"),
                })
                .collect();
            let sql = format!("SELECT {} FROM (SELECT '{ch_doc}' AS d)", select.join(", "));
            let expected = text(&url, &sql).await;
            let expected: Vec<&str> = expected.trim_end_matches('\n').split('\t').collect();
            for (function, expected) in functions.iter().zip(expected) {
                let sql = format!("SELECT {}('{df_doc}', {path}) AS v", udf(function));
                let answer = match ctx.sql(&sql).await.unwrap().collect().await {
                    Ok(batches) => batches,
                    Err(e) => {
                        let message = e.to_string();
                        assert!(
                            message.contains("a number inside a JSON string")
                                || message.contains("an integer beyond 64 bits"),
                            "{function}({document}, {path}): {message}"
                        );
                        refused.push(format!("{function}({document}, {path})"));
                        continue;
                    }
                };
                let column = answer[0].column(0);
                let ours = arrow::util::display::array_value_to_string(column, 0).unwrap();
                let same = match *function {
                    "JSONExtractString" | "JSONExtractRaw" => {
                        let hex: String = ours.bytes().map(|b| format!("{b:02X}")).collect();
                        hex == expected
                    }
                    "JSONExtractFloat" => {
                        let (a, b): (f64, f64) = (ours.parse().unwrap(), expected.parse().unwrap());
                        a == b || (a.is_nan() && b.is_nan())
                    }
                    _ => ours == expected,
                };
                compared += 1;
                if !same {
                    differ.push(format!(
                        "{function}({document}, {path}): ClickHouse {expected:?}, switchyard {ours:?}"
                    ));
                }
            }
        }
    }
    eprintln!(
        "JSON functions: {compared} answers compared, {} differ, {} refused (e.g. {:?})",
        differ.len(),
        refused.len(),
        refused.first()
    );
    assert!(compared > 3000, "{compared}");
    assert!(differ.is_empty(), "\n{}", differ.join("\n"));
}
