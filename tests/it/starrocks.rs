//! The StarRocks backend over the MySQL protocol, end to end: tokio-postgres →
//! switchyard → MySQL protocol. No StarRocks server installs here, so MariaDB is the
//! stand-in (`SWITCHYARD_TEST_MARIADB_URL`, started by scripts/services/mariadb.sh) for
//! wire, type, streaming, pooling, timeout and cancel tests, using SQL both engines
//! accept — except `seq_1_to_N`, MariaDB's sequence tables, used as big row sources.
//! `SWITCHYARD_TEST_STARROCKS_URL` runs a live smoke suite against a real StarRocks
//! (deploy/docker-compose.yml starts one).
//!
//! Fixtures, created afresh each run in the test database:
//! - `sy_types`: one column per type family, with edge values (NULLs, extreme
//!   integers, negative decimals, leap days, unicode, binary);
//! - `llm_requests_sr`: a copy of the demo Delta table `llm_requests` (`DEMO_ROWS`
//!   rows of the project's own generator, read through switchyard and inserted in
//!   batches), so the same dashboard queries can be compared across the two backends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use tokio_postgres::types::Type;
use tokio_postgres::{NoTls, SimpleQueryMessage};

use switchyard::config::Config;
use switchyard::engine::Engine;
use switchyard::frontend::Frontend;

use crate::support::simple_rows;
use crate::support::sqlstate;

const DEMO_ROWS: usize = 3_000;
/// A query MariaDB takes minutes over (10^10 row pairs, none matching), to cancel and
/// time out. No functions: it reaches the backend whatever the emitter supports.
const SLOW_QUERY: &str =
    "SELECT a.seq FROM seq_1_to_100000 AS a CROSS JOIN seq_1_to_100000 AS b WHERE a.seq + b.seq < 3";

fn mariadb_url() -> Option<String> {
    match std::env::var("SWITCHYARD_TEST_MARIADB_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "SKIPPED: SWITCHYARD_TEST_MARIADB_URL is not set (scripts/test.sh starts MariaDB)"
            );
            None
        }
    }
}

struct Harness {
    addr: SocketAddr,
    url: String,
}

fn harness() -> Option<&'static Harness> {
    static HARNESS: OnceLock<Option<Harness>> = OnceLock::new();
    HARNESS.get_or_init(|| mariadb_url().map(start)).as_ref()
}

fn config_toml(url: &str, data_dir: &std::path::Path) -> String {
    format!(
        r#"
data_dir = {data_dir:?}

[backends.maria]
kind = "starrocks"
url = "{url}"
pool_size = 4
timeout_secs = 60

[backends.maria_short]
kind = "starrocks"
url = "{url}"
timeout_secs = 2

[backends.down]
kind = "starrocks"
url = "mysql://nobody:nothing@127.0.0.1:1/none"
connect_timeout_secs = 2

[tables.sy_types]
backend = "maria"
[tables.llm_requests_sr]
backend = "maria"
[tables.seq_1_to_100000]
backend = "maria"
[tables.seq_1_to_300000]
backend = "maria"
[tables.seq_1_to_99999]
backend = "maria_short"
[tables.gone]
backend = "down"
"#,
        data_dir = data_dir.display().to_string()
    )
}

fn start(url: String) -> Harness {
    let data_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("it-starrocks-demo");
    let _ = std::fs::remove_dir_all(&data_dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let maria = url.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            create_fixtures(&maria).await;
            switchyard::demo::ensure_demo_data(&data_dir, DEMO_ROWS, false)
                .await
                .expect("demo data");
            let mut config = Config::from_toml(&config_toml(&maria, &data_dir)).expect("config");
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
            copy_demo_table(addr, &maria).await;
            tx.send(addr).expect("send");
            std::future::pending::<()>().await;
        });
    });
    let addr = rx.recv().expect("switchyard over MariaDB failed to start");
    Harness { addr, url }
}

async fn mysql(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::from_url(url)
        .await
        .expect("connect to MariaDB")
}

async fn create_fixtures(url: &str) {
    let mut conn = mysql(url).await;
    conn.query_drop(
        "DROP TABLE IF EXISTS sy_types, llm_requests_sr;
         CREATE TABLE sy_types (
           id INT PRIMARY KEY, b BOOLEAN, ti TINYINT, si SMALLINT, i INT, bi BIGINT,
           ubi BIGINT UNSIGNED, d DECIMAL(20,4), f FLOAT, db DOUBLE, dt DATE,
           ts DATETIME(6), s VARCHAR(100), j JSON, bin VARBINARY(16));
         INSERT INTO sy_types VALUES
           (1, TRUE, 127, 32767, 2147483647, 9223372036854775807, 18446744073709551615,
            1234567890123456.7890, 1.5, 0.1, '2024-02-29', '2024-05-01 12:34:56.123456',
            'héllo ☃ \"quoted\" it''s', '{\"k\": [1, 2]}', X'00FF10'),
           (2, FALSE, -128, -32768, -2147483648, -9223372036854775808, 0,
            -0.0001, -2.25, -1234.5, '1970-01-01', '1969-12-31 23:59:59', '', '[]', X''),
           (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
         CREATE TABLE llm_requests_sr (
           `timestamp` DATETIME(6) NOT NULL, request_id VARCHAR(64) NOT NULL,
           model VARCHAR(64) NOT NULL, provider VARCHAR(64) NOT NULL,
           status VARCHAR(16) NOT NULL, http_status INT NOT NULL, error_type VARCHAR(64),
           latency_ms BIGINT NOT NULL, ttft_ms BIGINT, input_tokens BIGINT NOT NULL,
           output_tokens BIGINT NOT NULL, cached BOOLEAN NOT NULL);",
    )
    .await
    .expect("create fixtures");
    conn.disconnect().await.expect("disconnect");
}

const COPIED: &str = "timestamp, request_id, model, provider, status, http_status, error_type, \
                      latency_ms, ttft_ms, input_tokens, output_tokens, cached";

/// Reads the demo Delta table through switchyard and inserts it into MariaDB in batches.
async fn copy_demo_table(addr: SocketAddr, url: &str) {
    let client = connect_to(addr).await;
    let messages = client
        .simple_query(&format!("SELECT {COPIED} FROM llm_requests"))
        .await
        .expect("read the demo table");
    let rows = simple_rows(&messages);
    assert_eq!(rows.len(), DEMO_ROWS);
    let mut conn = mysql(url).await;
    for chunk in rows.chunks(500) {
        let placeholders = vec!["(?,?,?,?,?,?,?,?,?,?,?,?)"; chunk.len()].join(",");
        let params: Vec<mysql_async::Value> = chunk
            .iter()
            .flat_map(|row| {
                row.iter().enumerate().map(|(i, v)| match v {
                    None => mysql_async::Value::NULL,
                    // timestamptz text `2025-05-25 12:34:56.123+00` → DATETIME text
                    Some(v) if i == 0 => v.trim_end_matches("+00").into(),
                    Some(v) if i == 11 => i64::from(v == "t").into(),
                    Some(v) => v.as_str().into(),
                })
            })
            .collect();
        conn.exec_drop(
            format!(
                "INSERT INTO llm_requests_sr ({}) VALUES {placeholders}",
                COPIED.replace("timestamp", "`timestamp`")
            ),
            params,
        )
        .await
        .expect("insert demo rows");
    }
    conn.disconnect().await.expect("disconnect");
}

async fn connect_to(addr: SocketAddr) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("host={} port={} user=tester", addr.ip(), addr.port()),
        NoTls,
    )
    .await
    .expect("connect to switchyard");
    tokio::spawn(connection);
    client
}

async fn query_text(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| {
        let detail = e
            .as_db_error()
            .map(|d| format!("{} {}", d.code().code(), d.message()));
        panic!("{sql}: {e} {detail:?}")
    });
    simple_rows(&messages)
}

#[tokio::test]
async fn types_map_to_postgres_types_with_exact_values() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let statement = client
        .prepare("SELECT * FROM sy_types ORDER BY id")
        .await
        .unwrap();
    let types: Vec<(&str, Type)> = statement
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_().clone()))
        .collect();
    let expected = [
        ("id", Type::INT4),
        ("b", Type::BOOL),
        ("ti", Type::INT2),
        ("si", Type::INT2),
        ("i", Type::INT4),
        ("bi", Type::INT8),
        ("ubi", Type::NUMERIC),
        ("d", Type::NUMERIC),
        ("f", Type::FLOAT4),
        ("db", Type::FLOAT8),
        ("dt", Type::DATE),
        ("ts", Type::TIMESTAMP),
        ("s", Type::TEXT),
        ("j", Type::TEXT),
        ("bin", Type::BYTEA),
    ];
    assert_eq!(types, expected.to_vec());

    let rows = query_text(&client, "SELECT * FROM sy_types ORDER BY id").await;
    let text =
        |row: usize| -> Vec<Option<&str>> { rows[row].iter().map(|v| v.as_deref()).collect() };
    assert_eq!(
        text(0),
        vec![
            Some("1"),
            Some("t"),
            Some("127"),
            Some("32767"),
            Some("2147483647"),
            Some("9223372036854775807"),
            Some("18446744073709551615"),
            Some("1234567890123456.7890"),
            Some("1.5"),
            Some("0.1"),
            Some("2024-02-29"),
            Some("2024-05-01 12:34:56.123456"),
            Some("héllo ☃ \"quoted\" it's"),
            Some("{\"k\": [1, 2]}"),
            Some("\\x00ff10"),
        ]
    );
    assert_eq!(
        text(1),
        vec![
            Some("2"),
            Some("f"),
            Some("-128"),
            Some("-32768"),
            Some("-2147483648"),
            Some("-9223372036854775808"),
            Some("0"),
            Some("-0.0001"),
            Some("-2.25"),
            Some("-1234.5"),
            Some("1970-01-01"),
            Some("1969-12-31 23:59:59"),
            Some(""),
            Some("[]"),
            Some("\\x"),
        ]
    );
    let mut nulls = vec![None; 15];
    nulls[0] = Some("3");
    assert_eq!(text(2), nulls);

    // The same values over the extended protocol in binary.
    let rows = client.query(&statement, &[]).await.unwrap();
    assert_eq!(rows[0].get::<_, i64>("bi"), i64::MAX);
    assert_eq!(rows[1].get::<_, i16>("ti"), -128);
    assert!(rows[0].get::<_, bool>("b"));
    assert_eq!(rows[1].get::<_, f64>("db"), -1234.5);
    assert_eq!(rows[0].get::<_, &str>("s"), "héllo ☃ \"quoted\" it's");
    assert_eq!(rows[0].get::<_, Vec<u8>>("bin"), vec![0, 255, 16]);
    assert_eq!(rows[2].get::<_, Option<i32>>("i"), None);
}

#[tokio::test]
async fn parameters_bind_through_the_extended_protocol() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let statement = client
        .prepare("SELECT id, s FROM sy_types WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(statement.columns()[1].type_(), &Type::TEXT);
    let rows = client.query(&statement, &[&"1"]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(1), "héllo ☃ \"quoted\" it's");
}

#[tokio::test]
async fn large_results_stream_in_batches() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let statement = client
        .prepare("SELECT seq FROM seq_1_to_300000")
        .await
        .unwrap();
    assert_eq!(
        statement.columns()[0].type_(),
        &Type::NUMERIC,
        "seq is BIGINT UNSIGNED"
    );
    let rows = query_text(&client, "SELECT seq FROM seq_1_to_300000").await;
    assert_eq!(rows.len(), 300_000);
    assert_eq!(rows[0][0].as_deref(), Some("1"));
    assert_eq!(rows[299_999][0].as_deref(), Some("300000"));
}

/// The same dashboard queries over the Delta demo table and its MariaDB copy.
#[tokio::test]
async fn mariadb_copy_answers_like_the_delta_table() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let plain = [
        "SELECT request_id, model, latency_ms, ttft_ms FROM {t} ORDER BY latency_ms DESC, request_id LIMIT 7",
        "SELECT request_id, status, http_status, error_type FROM {t} WHERE status <> 'ok' OR cached ORDER BY request_id LIMIT 20",
        "SELECT DISTINCT provider, model FROM {t} ORDER BY provider, model",
        "SELECT request_id FROM {t} WHERE error_type IS NULL AND input_tokens BETWEEN 100 AND 200 ORDER BY request_id LIMIT 5 OFFSET 3",
    ];
    for query in plain {
        let delta = query_text(&client, &query.replace("{t}", "llm_requests")).await;
        let maria = query_text(&client, &query.replace("{t}", "llm_requests_sr")).await;
        assert!(!delta.is_empty(), "{query}");
        assert_eq!(delta, maria, "{query}");
    }
    // Aggregates need the StarRocks emitter's function table; compared when it has them.
    let aggregates = [
        "SELECT count(*) FROM {t}",
        "SELECT model, count(*) AS n, sum(input_tokens) AS tokens FROM {t} GROUP BY model ORDER BY model",
        "SELECT status, max(latency_ms), min(http_status) FROM {t} GROUP BY status ORDER BY status",
    ];
    for query in aggregates {
        let delta = query_text(&client, &query.replace("{t}", "llm_requests")).await;
        let sql = query.replace("{t}", "llm_requests_sr");
        match client.simple_query(&sql).await {
            Ok(messages) => assert_eq!(delta, simple_rows(&messages), "{query}"),
            Err(e) if sqlstate(&e) == "0A000" => {
                eprintln!("SKIPPED: {sql}: the StarRocks emitter rejects it: {e:?}")
            }
            Err(e) => panic!("{sql}: {e:?}"),
        }
    }
}

/// The same columns and aggregates reach the client with the same Postgres types from
/// the MySQL-protocol backend as from Delta. (Not `sum` of integers: MariaDB's is
/// DECIMAL, where StarRocks, like DataFusion and ClickHouse, keeps BIGINT.)
#[tokio::test]
async fn mariadb_columns_have_the_delta_types() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let query = "SELECT request_id, model, status, http_status, error_type, latency_ms, \
                 ttft_ms, input_tokens, cached, count(*) AS n, max(output_tokens) AS tokens \
                 FROM {t} GROUP BY request_id, model, status, http_status, error_type, \
                 latency_ms, ttft_ms, input_tokens, cached";
    let types = |table: &'static str| {
        let client = &client;
        async move {
            let statement = client.prepare(&query.replace("{t}", table)).await.unwrap();
            statement
                .columns()
                .iter()
                .map(|c| format!("{} {}", c.name(), c.type_()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(types("llm_requests_sr").await, types("llm_requests").await);
}

#[tokio::test]
async fn mysql_errors_keep_their_code_and_text() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let error = client
        .simple_query("SELECT no_such_column FROM sy_types")
        .await
        .unwrap_err();
    let message = error.as_db_error().expect("database error").message();
    assert!(message.contains("ERROR 1054 (42S22)"), "{message}");
    assert_eq!(
        sqlstate(&error),
        "42703",
        "ER_BAD_FIELD_ERROR is undefined_column"
    );
    assert!(message.contains("no_such_column"), "{message}");
    // The connection stays usable.
    assert_eq!(
        query_text(&client, "SELECT id FROM sy_types ORDER BY id")
            .await
            .len(),
        3
    );
}

/// A number that makes a query's text unique to this test run, so a query left over
/// from an earlier (killed) run cannot be mistaken for this one in the processlist.
fn nonce() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::from(std::process::id()) * 1_000_000 + u64::from(now.subsec_micros())
}

/// Waits until `predicate` holds for the count of running queries whose text contains
/// `marker`; false after `tries` polls 100 ms apart.
async fn wait_for(url: &str, marker: &str, tries: usize, predicate: impl Fn(i64) -> bool) -> bool {
    for _ in 0..tries {
        if predicate(count_running(url, marker).await) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn cancel_request_kills_the_query_on_the_server() {
    let Some(h) = harness() else { return };
    let marker = format!("n{}", nonce());
    let query = SLOW_QUERY.replace("a.seq FROM", &format!("a.seq AS {marker} FROM"));
    let client = connect_to(h.addr).await;
    let cancel = client.cancel_token();
    let running = tokio::spawn(async move { client.simple_query(&query).await.map(|_| ()) });
    assert!(
        wait_for(&h.url, &marker, 50, |n| n > 0).await,
        "the slow query never showed up in MariaDB's processlist"
    );
    let cancelled_at = Instant::now();
    cancel.cancel_query(NoTls).await.unwrap();
    let error = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("cancel took longer than 10 s")
        .unwrap()
        .unwrap_err();
    assert_eq!(sqlstate(&error), "57014", "{error}");
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        cancelled_at.elapsed()
    );
    assert!(
        wait_for(&h.url, &marker, 50, |n| n == 0).await,
        "the cancelled query is still in MariaDB's processlist after 5 s"
    );
}

/// A client that goes away mid-result: switchyard's next write fails, the stream is
/// dropped, and the query is killed rather than left running on the server.
#[tokio::test]
async fn client_disconnect_kills_the_query_on_the_server() {
    let Some(h) = harness() else { return };
    let marker = format!("n{}", nonce());
    // 10^10 rows, produced as fast as they are read.
    let query = format!(
        "SELECT a.seq AS {marker}, b.seq FROM seq_1_to_100000 AS a CROSS JOIN seq_1_to_100000 AS b"
    );
    let (client, connection) = tokio_postgres::connect(
        &format!("host={} port={} user=tester", h.addr.ip(), h.addr.port()),
        NoTls,
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    // The simple protocol streams (pgwire 0.41 buffers a whole extended-protocol
    // Execute without a row limit).
    let rows = client.simple_query_raw(&query).await.unwrap();
    let mut rows = Box::pin(rows);
    use futures::StreamExt;
    let mut seen = 0;
    while seen < 10 {
        if let SimpleQueryMessage::Row(_) = rows.next().await.expect("a row").expect("a row") {
            seen += 1;
        }
    }
    assert!(
        wait_for(&h.url, &marker, 50, |n| n > 0).await,
        "not running on MariaDB"
    );
    // Drop the socket under the client.
    connection.abort();
    drop(rows);
    drop(client);
    assert!(
        wait_for(&h.url, &marker, 100, |n| n == 0).await,
        "the query outlived its client by 10 s"
    );
}

async fn count_running(url: &str, marker: &str) -> i64 {
    let mut conn = mysql(url).await;
    let n: Option<i64> = conn
        .exec_first(
            "SELECT count(*) FROM information_schema.processlist \
             WHERE info LIKE '%seq_1_to_100000%' AND info LIKE ? AND id <> CONNECTION_ID()",
            (format!("%{marker}%"),),
        )
        .await
        .expect("processlist");
    conn.disconnect().await.expect("disconnect");
    n.unwrap_or(0)
}

#[tokio::test]
async fn statement_timeout_kills_the_query() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let started = Instant::now();
    let error = client
        .simple_query(
            "SELECT a.seq FROM seq_1_to_99999 AS a CROSS JOIN seq_1_to_99999 AS b WHERE a.seq + b.seq < 3",
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "57014", "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let mut conn = mysql(&h.url).await;
    for _ in 0..50 {
        let n: Option<i64> = conn
            .query_first(
                "SELECT count(*) FROM information_schema.processlist \
                 WHERE info LIKE '%seq_1_to_99999%' AND id <> CONNECTION_ID()",
            )
            .await
            .unwrap();
        if n == Some(0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the timed-out query is still running on MariaDB");
}

#[tokio::test]
async fn a_pool_of_four_serves_many_concurrent_clients() {
    let Some(h) = harness() else { return };
    let mut tasks = Vec::new();
    for i in 0..16 {
        let addr = h.addr;
        tasks.push(tokio::spawn(async move {
            let client = connect_to(addr).await;
            let rows = query_text(
                &client,
                &format!("SELECT request_id FROM llm_requests_sr WHERE http_status > {i}"),
            )
            .await;
            rows.len()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), DEMO_ROWS);
    }
}

#[tokio::test]
async fn a_backend_that_is_down_fails_only_its_own_queries() {
    let Some(h) = harness() else { return };
    let client = connect_to(h.addr).await;
    let started = Instant::now();
    let error = client.simple_query("SELECT * FROM gone").await.unwrap_err();
    let message = error
        .as_db_error()
        .expect("database error")
        .message()
        .to_owned();
    assert!(
        message.contains("down") && message.contains("unavailable"),
        "{message}"
    );
    assert_eq!(sqlstate(&error), "08001");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Delta and the live MySQL backend still answer on the same connection.
    assert_eq!(
        query_text(&client, "SELECT request_id FROM llm_requests")
            .await
            .len(),
        DEMO_ROWS
    );
    assert_eq!(
        query_text(&client, "SELECT id FROM sy_types ORDER BY id")
            .await
            .len(),
        3
    );
}

/// The backend on its own, for what the engine does not expose.
struct StarRocksOnly(switchyard::backend::starrocks::StarRocksBackend);

impl StarRocksOnly {
    async fn open(url: &str) -> StarRocksOnly {
        let config: switchyard::config::StarRocksConfig =
            toml::from_str(&format!("url = \"{url}\"")).expect("config");
        StarRocksOnly(
            switchyard::backend::starrocks::StarRocksBackend::open("sr", &config, &[])
                .await
                .expect("open"),
        )
    }
}

#[tokio::test]
async fn mariadb_tables_are_discovered_through_information_schema() {
    let Some(h) = harness() else { return };
    let StarRocksOnly(backend) = StarRocksOnly::open(&h.url).await;
    use switchyard::backend::Backend;
    let tables = backend.tables();
    let types = tables
        .iter()
        .find(|t| t.name == "sy_types")
        .expect("sy_types discovered");
    let field = |name: &str| {
        types
            .schema
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    use arrow::datatypes::{DataType, TimeUnit};
    assert_eq!(field("b"), DataType::Boolean);
    assert_eq!(field("ubi"), DataType::Decimal128(20, 0));
    assert_eq!(field("d"), DataType::Decimal128(20, 4));
    assert_eq!(
        field("ts"),
        DataType::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(field("bin"), DataType::Binary);
    assert!(
        backend.dedup_on_write_tables().is_empty(),
        "MariaDB has no table models"
    );
}

/// Smoke tests against a real StarRocks (`SWITCHYARD_TEST_STARROCKS_URL`, e.g.
/// `mysql://root:@127.0.0.1:9030/switchyard` with deploy/docker-compose.yml).
mod live {
    use super::*;

    fn starrocks_url() -> Option<String> {
        match std::env::var("SWITCHYARD_TEST_STARROCKS_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                eprintln!("SKIPPED: SWITCHYARD_TEST_STARROCKS_URL is not set (see README: docker compose)");
                None
            }
        }
    }

    #[tokio::test]
    async fn starrocks_types_and_dedup_model() {
        let Some(url) = starrocks_url() else { return };
        let mut conn = mysql(&url).await;
        conn.query_drop(
            "DROP TABLE IF EXISTS sy_live;
             CREATE TABLE sy_live (id BIGINT, big LARGEINT, d DECIMAL(20, 4), ok BOOLEAN,
               dt DATETIME, s STRING, tags ARRAY<STRING>, j JSON)
             PRIMARY KEY (id) DISTRIBUTED BY HASH(id) BUCKETS 1
             PROPERTIES (\"replication_num\" = \"1\");
             INSERT INTO sy_live VALUES
               (1, 170141183460469231731687303715884105727, -12.5, true,
                '2024-05-01 12:34:56', 'héllo', ['a', 'b'], parse_json('{\"k\": 1}')),
               (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
        )
        .await
        .expect("create sy_live");
        conn.disconnect().await.unwrap();

        let data_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("it-starrocks-live");
        let _ = std::fs::create_dir_all(&data_dir);
        let mut config = Config::from_toml(&format!(
            "data_dir = {:?}\ndemo_rows = 0\n[backends.sr]\nkind = \"starrocks\"\nurl = \"{url}\"\n[tables.sy_live]\nbackend = \"sr\"\n",
            data_dir.display().to_string()
        ))
        .unwrap();
        config.validate().unwrap();
        let StarRocksOnly(sr) = StarRocksOnly::open(&url).await;
        assert_eq!(sr.dedup_on_write_tables(), vec!["sy_live".to_owned()]);
        let engine = Engine::start(&config).await.unwrap();
        let backend = engine.backends().find(|b| b.name() == "sr").unwrap();
        let table = backend
            .tables()
            .into_iter()
            .find(|t| t.name == "sy_live")
            .unwrap();
        assert_eq!(
            table.schema.field_with_name("big").unwrap().data_type(),
            &arrow::datatypes::DataType::Decimal128(38, 0)
        );
        let result = backend
            .execute("SELECT id, big, d, ok, dt, s, tags, j FROM sy_live ORDER BY id")
            .await
            .unwrap();
        use futures::StreamExt;
        let batches: Vec<_> = result.batches.collect().await;
        let batch = batches.into_iter().next().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 2);
        let text = arrow::util::pretty::pretty_format_batches(&[batch])
            .unwrap()
            .to_string();
        assert!(
            text.contains("170141183460469231731687303715884105727"),
            "{text}"
        );
        assert!(text.contains("-12.5000"), "{text}");
        assert!(text.contains("héllo"), "{text}");
    }
}
