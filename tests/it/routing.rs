//! Routing modes end to end, each test with its own in-process switchyard: primary and
//! shadow per table, `SHOW switchyard.routes`, `EXPLAIN ROUTE`, shadow reads and their
//! report and metrics, reloads under open connections, and (with a real ClickHouse)
//! the migration journey: shadows over the differential corpus, a planted difference,
//! cutover and rollback.
//!
//! Delta-only parts always run, over small `probe` tables (one BIGINT column `n`)
//! written here and the demo tables of `support`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use switchyard::config::Config;
use switchyard::engine::Engine;
use switchyard::frontend::Frontend;

use crate::migrate::{self, copy_killed_and_resumed, Destination};
use crate::support::{append_delta_rows, simple_rows, sqlstate};

struct Served {
    addr: SocketAddr,
    engine: Arc<Engine>,
    config: PathBuf,
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("it-routing")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    dir
}

fn load(path: &Path) -> switchyard::Result<Config> {
    let mut config = Config::load(path)?;
    config.demo_rows = 0;
    config.validate()?;
    Ok(config)
}

/// switchyard over the config file `dir/switchyard.toml` holding `toml`; with `poll`,
/// it reloads when the file changes.
async fn serve(dir: &Path, toml: &str, poll: Option<Duration>) -> Served {
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, toml).unwrap();
    let config = load(&path).expect("config");
    let engine = Arc::new(Engine::start(&config).await.expect("engine"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(switchyard::server::run(
        listener,
        Frontend::new(engine.clone()),
        64,
        std::future::pending(),
    ));
    if let Some(poll) = poll {
        let file = path.clone();
        tokio::spawn(switchyard::engine::watch_config(
            Some(path.clone()),
            move || load(&file),
            engine.clone(),
            poll,
        ));
    }
    Served {
        addr,
        engine,
        config: path,
    }
}

async fn connect(addr: SocketAddr) -> tokio_postgres::Client {
    crate::clickhouse::connect_to(addr).await
}

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    simple_rows(&messages)
}

async fn value(client: &tokio_postgres::Client, sql: &str) -> String {
    rows(client, sql).await[0][0].clone().unwrap_or_default()
}

/// Waits until no shadow query runs or is being compared.
async fn shadows_settle(engine: &Engine) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while engine.shadows_in_flight() > 0 {
        assert!(
            Instant::now() < deadline,
            "shadows still running after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `switchyard.shadow_report` as maps of column → value.
async fn report(
    client: &tokio_postgres::Client,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let messages = client
        .simple_query("SELECT * FROM switchyard.shadow_report")
        .await
        .expect("shadow_report");
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                row.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name().to_owned(), row.get(i).unwrap_or("").to_owned()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

fn count(row: &std::collections::BTreeMap<String, String>, outcome: &str) -> u64 {
    row[outcome].parse().unwrap()
}

fn demo_dir() -> PathBuf {
    crate::support::server().data_dir.clone()
}

/// Two copies of `probe` that differ: a = 1, 2, 3; b = 1, 2, 4.
async fn probes(dir: &Path) -> (String, String) {
    append_delta_rows(&dir.join("a"), "probe", vec![1, 2, 3]).await;
    append_delta_rows(&dir.join("b"), "probe", vec![1, 2, 4]).await;
    let at = |side: &str| dir.join(side).join("probe").display().to_string();
    (at("a"), at("b"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_routes_and_explain_route() {
    let dir = scratch("explain");
    let (a, b) = probes(&dir).await;
    let demo = demo_dir();
    let toml = format!(
        "data_dir = {empty:?}\n\
         [backends.lake]\nkind = \"delta\"\n\
         [tables.probe]\nprimary = \"local\"\nshadow = \"lake\"\nlocation = {a:?}\nshadow_location = {b:?}\nshadow_sample = 0.5\n\
         [tables.llm_requests]\nbackend = \"local\"\nlocation = {requests:?}\n\
         [tables.llm_feedback]\nprimary = \"lake\"\nlocation = {feedback:?}\ndedup = {{ key = [\"request_id\", \"metric\"] }}\n",
        empty = dir.join("empty").display().to_string(),
        requests = demo.join("llm_requests").display().to_string(),
        feedback = demo.join("llm_feedback").display().to_string(),
    );
    let served = serve(&dir, &toml, None).await;
    let client = connect(served.addr).await;
    let some = |s: &str| Some(s.to_owned());
    let expected = vec![
        vec![
            some("llm_feedback"),
            some("lake"),
            None,
            None,
            some("key (request_id, metric)"),
        ],
        vec![some("llm_requests"), some("local"), None, None, None],
        vec![
            some("probe"),
            some("local"),
            some("lake"),
            some("0.5"),
            None,
        ],
    ];
    assert_eq!(rows(&client, "SHOW switchyard.routes").await, expected);
    assert_eq!(
        rows(
            &client,
            "SELECT * FROM switchyard.routes ORDER BY \"table\""
        )
        .await,
        expected
    );

    let plan: Vec<String> = rows(&client, "EXPLAIN ROUTE SELECT count(*) FROM probe")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(plan[0], "primary: local (holds probe)");
    assert_eq!(
        plan[1],
        "table probe: primary local, shadow lake (sample 0.5)"
    );
    assert_eq!(plan[2], "shadow: lake (sample 0.5)");
    assert!(
        plan[3].starts_with("primary sql: SELECT count(*)"),
        "{plan:?}"
    );
    assert!(
        plan[4].starts_with("shadow sql: SELECT count(*)"),
        "{plan:?}"
    );

    // A join whose tables do not share a shadow runs unshadowed, and says why.
    let plan = rows(
        &client,
        "explain route SELECT count(*) FROM probe JOIN llm_requests ON n = latency_ms",
    )
    .await;
    assert_eq!(
        plan[3][0].as_deref(),
        Some("shadow: none (its tables' shadows differ: probe on lake; llm_requests on no shadow)")
    );

    // Cross-backend stays refused, naming tables and backends, shadows or not.
    for sql in [
        "SELECT count(*) FROM probe, llm_feedback",
        "EXPLAIN ROUTE SELECT count(*) FROM probe, llm_feedback",
    ] {
        let err = client.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "0A000");
        let message = err.as_db_error().unwrap().message().to_owned();
        assert!(
            message.contains("llm_feedback on lake") && message.contains("probe on local"),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_reads_are_compared_in_the_background() {
    let dir = scratch("shadow");
    let (a, b) = probes(&dir).await;
    let toml = format!(
        "data_dir = {empty:?}\n\
         [backends.lake]\nkind = \"delta\"\n\
         [tables.probe]\nprimary = \"local\"\nshadow = \"lake\"\nlocation = {a:?}\nshadow_location = {b:?}\n",
        empty = dir.join("empty").display().to_string(),
    );
    let served = serve(&dir, &toml, None).await;
    let client = connect(served.addr).await;
    // The primary answers, whatever the shadow says.
    assert_eq!(value(&client, "SELECT count(*) FROM probe").await, "3");
    assert_eq!(value(&client, "SELECT count(*) FROM probe").await, "3");
    assert_eq!(
        rows(&client, "SELECT n FROM probe WHERE n > 1 ORDER BY n").await,
        [[Some("2".to_owned())], [Some("3".to_owned())]]
    );
    rows(&client, "SELECT n FROM probe WHERE n > 2 ORDER BY n").await;
    // Unordered: the same rows in any order are equal.
    rows(&client, "SELECT n FROM probe WHERE n < 3").await;
    shadows_settle(&served.engine).await;

    let report = report(&client).await;
    assert_eq!(report.len(), 3, "{report:?}");
    let row = |needle: &str| {
        report
            .iter()
            .find(|r| r["query"].contains(needle))
            .unwrap_or_else(|| panic!("no report row with {needle}: {report:?}"))
    };
    let counted = row("count(");
    assert_eq!((count(counted, "equal"), count(counted, "differ")), (2, 0));
    // One shape, two literals: one row, literals replaced.
    let filtered = row("> ?");
    assert_eq!(count(filtered, "differ"), 2, "{filtered:?}");
    assert_eq!(count(filtered, "equal"), 0);
    assert!(!filtered["query"].contains('1'), "{filtered:?}");
    // The latest difference, with its rows (primary | shadow); either query's.
    assert!(
        filtered["last_detail"].contains(": [3] | [4]"),
        "{filtered:?}"
    );
    assert_eq!(count(row("< ?"), "equal"), 1);
    assert_eq!(
        (filtered["primary"].as_str(), filtered["shadow"].as_str()),
        ("local", "lake")
    );
    assert!(filtered["shadow_ms_max"].parse::<f64>().unwrap() > 0.0);

    // Prometheus exposition.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = listener.local_addr().unwrap();
    tokio::spawn(switchyard::metrics::serve(listener, served.engine.clone()));
    let body = http_get(metrics_addr, "/metrics").await;
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(
        body.contains("switchyard_queries_total{backend=\"local\"} 5"),
        "{body}"
    );
    assert!(
        body.contains("switchyard_query_errors_total{backend=\"local\"} 0"),
        "{body}"
    );
    let differ = format!(
        "switchyard_shadow_queries_total{{fingerprint=\"{}\",primary=\"local\",shadow=\"lake\",outcome=\"differ\"}} 2",
        filtered["fingerprint"]
    );
    assert!(body.contains(&differ), "{body}");
    assert!(body.contains("switchyard_shadow_latency_seconds_count{fingerprint="));
    assert!(http_get(metrics_addr, "/other")
        .await
        .starts_with("HTTP/1.1 404"));
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut body = String::new();
    socket.read_to_string(&mut body).await.unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_failing_shadow_never_touches_the_client() {
    let dir = scratch("isolation");
    let (a, _) = probes(&dir).await;
    // The shadow's probe is large: its self-join takes seconds where the primary's is instant.
    append_delta_rows(&dir.join("big"), "probe", (0..10_000).collect()).await;
    let big = dir.join("big").join("probe").display().to_string();
    let demo = demo_dir();
    let toml = format!(
        "data_dir = {empty:?}
shadow_concurrency = 1
         [backends.lake]
kind = \"delta\"
         [backends.down]
kind = \"clickhouse\"
url = \"http://127.0.0.1:1\"
timeout_secs = 2
         [tables.probe]
primary = \"local\"
shadow = \"lake\"
location = {a:?}
shadow_location = {big:?}
         [tables.llm_feedback]
primary = \"local\"
shadow = \"down\"
location = {feedback:?}
",
        empty = dir.join("empty").display().to_string(),
        feedback = demo.join("llm_feedback").display().to_string(),
    );
    let served = serve(&dir, &toml, None).await;
    let client = connect(served.addr).await;
    // A shadow that fails: the client gets its rows.
    assert!(!value(&client, "SELECT count(*) FROM llm_feedback")
        .await
        .is_empty());
    shadows_settle(&served.engine).await;
    // A slow shadow holds the only slot; the client never waits for it.
    let slow = "SELECT count(*) FROM probe AS x, probe AS y WHERE x.n <> y.n";
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(value(&client, slow).await, "6");
    }
    assert_eq!(
        served.engine.shadows_in_flight(),
        1,
        "{:?}",
        started.elapsed()
    );
    let report = report(&client).await;
    let row = |shadow: &str| report.iter().find(|r| r["shadow"] == shadow).unwrap();
    assert_eq!(count(row("down"), "error"), 1, "{report:?}");
    assert!(row("down")["last_detail"].contains("down"), "{report:?}");
    // The first runs (slowly); the next two find no free slot and are skipped.
    assert_eq!(count(row("lake"), "skipped"), 2, "{report:?}");
    assert_eq!(
        count(row("lake"), "equal") + count(row("lake"), "differ"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_routes_under_open_connections() {
    let dir = scratch("reload");
    let (a, b) = probes(&dir).await;
    let demo = demo_dir();
    let requests = demo.join("llm_requests").display().to_string();
    let config = |probe_primary: &str, probe_at: &str, requests_primary: &str| {
        format!(
            "data_dir = {empty:?}\n\
             [backends.lake]\nkind = \"delta\"\n\
             [tables.probe]\nprimary = \"{probe_primary}\"\nlocation = {probe_at:?}\n\
             [tables.llm_requests]\nprimary = \"{requests_primary}\"\nlocation = {requests:?}\n",
            empty = dir.join("empty").display().to_string(),
        )
    };
    let served = serve(
        &dir,
        &config("local", &a, "local"),
        Some(Duration::from_millis(100)),
    )
    .await;
    let client = connect(served.addr).await;
    assert_eq!(value(&client, "SELECT sum(n) FROM probe").await, "6");
    let prepared = client.prepare("SELECT sum(n) FROM probe").await.unwrap();

    // A long query streaming on another connection while the routing changes.
    let streaming = connect(served.addr).await;
    let stream = streaming
        .query_raw("SELECT request_id FROM llm_requests", Vec::<String>::new())
        .await
        .unwrap();
    let mut stream = Box::pin(stream);
    let mut streamed = 0;
    while streamed < 100 {
        stream.next().await.unwrap().unwrap();
        streamed += 1;
    }

    // Cutover: probe moves to lake over other data, llm_requests to lake too.
    std::fs::write(&served.config, config("lake", &b, "lake")).unwrap();
    wait_for(&client, "SELECT sum(n) FROM probe", "7").await;
    let routes = rows(&client, "SHOW switchyard.routes").await;
    assert!(
        routes.iter().all(|r| r[1].as_deref() == Some("lake")),
        "{routes:?}"
    );
    // Prepared before the reload, executed after: routed anew.
    let sum: i64 = client.query_one(&prepared, &[]).await.unwrap().get(0);
    assert_eq!(sum, 7);
    // The stream started before the reload completes on the old routing.
    while let Some(row) = stream.next().await {
        row.unwrap();
        streamed += 1;
    }
    assert_eq!(streamed, crate::support::DEMO_ROWS);
    assert_eq!(
        value(&streaming, "SELECT count(*) FROM llm_requests").await,
        "20000"
    );

    // A broken file is refused; the running routing stays.
    std::fs::write(&served.config, config("nowhere", &a, "lake")).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(value(&client, "SELECT sum(n) FROM probe").await, "7");
    // Rollback.
    std::fs::write(&served.config, config("local", &a, "local")).unwrap();
    wait_for(&client, "SELECT sum(n) FROM probe", "6").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_configuration() {
    let dir = scratch("sighup");
    let (a, b) = probes(&dir).await;
    let config = |at: &str| {
        format!(
            "data_dir = {empty:?}\n[tables.probe]\nprimary = \"local\"\nlocation = {at:?}\n",
            empty = dir.join("empty").display().to_string(),
        )
    };
    // Polling the file hourly: only the signal can bring the change in time.
    let served = serve(&dir, &config(&a), Some(Duration::from_secs(3600))).await;
    let client = connect(served.addr).await;
    assert_eq!(value(&client, "SELECT sum(n) FROM probe").await, "6");
    // The watcher installs its SIGHUP handler when first polled; give it that moment
    // (an unhandled SIGHUP would end the test process).
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&served.config, config(&b)).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    wait_for(&client, "SELECT sum(n) FROM probe", "7").await;
}

/// Polls `sql` until it answers `expected` (a reload landing), for up to 10 s.
async fn wait_for(client: &tokio_postgres::Client, sql: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = value(client, sql).await;
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql}: still {got}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The migration journey on a real ClickHouse: ClickHouse's tables are copied into Delta
/// by `switchyard copy` (killed once mid-way and resumed) and verified equal; shadows on
/// the copies over the differential corpus report no difference, a planted one is
/// reported; then cutover (Delta answers) and rollback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_to_delta_shadow_cutover_and_rollback() {
    let Some(h) = crate::clickhouse::harness() else {
        eprintln!("SKIPPED: routing::clickhouse_to_delta_shadow_cutover_and_rollback needs SWITCHYARD_TEST_CLICKHOUSE_URL");
        return;
    };
    let dir = scratch("journey");

    // 0. Backfill: ClickHouse → Delta with the real binary, one copy killed and resumed.
    let lake = dir.join("lake");
    let copy_config = dir.join("copy.toml");
    std::fs::write(
        &copy_config,
        format!(
            "data_dir = {:?}\n[backends.lake]\nkind = \"delta\"\n\
             [backends.ch]\nkind = \"clickhouse\"\nurl = \"{}\"\n",
            lake.display().to_string(),
            h.url
        ),
    )
    .unwrap();
    let copy_config = copy_config.display().to_string();
    for table in ["llm_requests", "llm_feedback"] {
        let copy = [
            "copy",
            "--config",
            &copy_config,
            "--table",
            table,
            "--from",
            "ch",
            "--to",
            "lake",
        ];
        if table == "llm_requests" {
            let destination = lake.join(table);
            let rows = crate::clickhouse::DEMO_ROWS as i64;
            copy_killed_and_resumed(&copy, Destination::Delta(&destination), rows).await;
        } else {
            assert!(migrate::switchyard(&copy).status.success());
        }
        let verify = migrate::switchyard(&[
            "verify",
            "--config",
            &copy_config,
            "--table",
            table,
            "--between",
            "ch",
            "lake",
        ]);
        assert_eq!(verify.status.code(), Some(0), "{table} verifies equal");
        assert!(migrate::stdout(&verify).contains("equal: "));
    }

    let planted = dir.join("planted").join("llm_feedback");
    let changed_id = plant_difference(&lake.join("llm_feedback"), &planted).await;
    // The copies are the shadows; the versions table (a FINAL fixture) stays the harness's.
    let location = |table: &str| match table {
        "llm_requests" | "llm_feedback" => lake.join(table).display().to_string(),
        _ => h.data_dir.join(table).display().to_string(),
    };
    let config = |primary: &str, shadow: &str, feedback_shadow_at: &str| {
        let mut toml = format!(
            "data_dir = {empty:?}\nshadow_concurrency = 64\n\
             [backends.ch]\nkind = \"clickhouse\"\nurl = \"{url}\"\ntimeout_secs = 120\n\
             [backends.lake]\nkind = \"delta\"\n",
            empty = dir.join("empty").display().to_string(),
            url = h.url,
        );
        for table in ["llm_requests", "llm_feedback", "llm_feedback_versions"] {
            toml.push_str(&format!(
                "[tables.{table}]\nprimary = \"{primary}\"\nshadow = \"{shadow}\"\nlocation = {:?}\n",
                location(table)
            ));
            if table == "llm_feedback" {
                toml.push_str(&format!("shadow_location = {feedback_shadow_at:?}\n"));
            }
        }
        toml
    };
    let served = serve(&dir, &config("ch", "lake", &location("llm_feedback")), None).await;
    let client = connect(served.addr).await;

    // 1. The corpus through switchyard: ClickHouse answers, Delta shadows.
    let cases = crate::differential::load_cases();
    let mut answered = 0;
    for case in &cases {
        if client.simple_query(&case.sql).await.is_ok() {
            answered += 1;
        }
    }
    shadows_settle(&served.engine).await;
    let report = report(&client).await;
    let total = |outcome: &str| report.iter().map(|r| count(r, outcome)).sum::<u64>();
    let mut summary = format!(
        "shadow report over {} corpus queries ({answered} answered by ClickHouse):",
        cases.len()
    );
    for outcome in [
        "equal",
        "differ",
        "error",
        "rejected",
        "skipped",
        "incomplete",
        "too_large",
    ] {
        summary.push_str(&format!(" {outcome} {}", total(outcome)));
    }
    for row in &report {
        for outcome in ["differ", "error", "rejected", "too_large"] {
            if count(row, outcome) > 0 {
                summary.push_str(&format!(
                    "\n  {outcome:<9} {}: {}",
                    row["query"].chars().take(100).collect::<String>(),
                    row["last_detail"].chars().take(160).collect::<String>()
                ));
            }
        }
    }
    eprintln!("{summary}");
    assert_eq!(total("differ"), 0, "{summary}");
    assert_eq!(total("skipped") + total("incomplete"), 0, "{summary}");
    assert!(total("equal") >= 80, "{summary}");
    assert!(
        total("rejected") > 0,
        "the corpus has queries Delta refuses: {summary}"
    );

    // 2. A planted difference: the shadow's llm_feedback has one value changed.
    served
        .engine
        .reload(&load_text(
            &dir,
            &config("ch", "lake", &planted.display().to_string()),
        ))
        .await
        .expect("reload");
    let probe = format!(
        "SELECT request_id, metric, value FROM llm_feedback WHERE request_id = '{changed_id}'"
    );
    rows(&client, &probe).await;
    rows(&client, "SELECT count(*) FROM llm_feedback").await;
    shadows_settle(&served.engine).await;
    let after = crate::routing::report(&client).await;
    let total_after = |outcome: &str| after.iter().map(|r| count(r, outcome)).sum::<u64>();
    assert_eq!(total_after("differ"), 1, "{after:?}");
    assert_eq!(total_after("equal"), total("equal") + 1, "{after:?}");
    let differing = after.iter().find(|r| count(r, "differ") == 1).unwrap();
    assert!(
        differing["last_detail"].contains(&changed_id),
        "the differing rows are shown: {differing:?}"
    );

    // 3. Cutover: Delta answers (it refuses ClickHouse's JSON functions, which ClickHouse
    // runs), then rollback.
    // %f (fractional seconds) has no DataFusion translation.
    let clickhouse_only = "SELECT formatDateTime(timestamp, '%f') AS j FROM llm_requests LIMIT 1";
    rows(&client, clickhouse_only).await;
    served
        .engine
        .reload(&load_text(
            &dir,
            &config("lake", "ch", &location("llm_feedback")),
        ))
        .await
        .expect("cutover");
    let lake_before = served
        .engine
        .metrics()
        .queries()
        .get("lake")
        .map_or(0, |q| q.0);
    let err = client.simple_query(clickhouse_only).await.unwrap_err();
    assert_eq!(sqlstate(&err), "0A000", "{err}");
    assert_eq!(
        value(&client, "SELECT count(*) FROM llm_requests").await,
        "20000"
    );
    assert!(served.engine.metrics().queries()["lake"].0 > lake_before);
    served
        .engine
        .reload(&load_text(
            &dir,
            &config("ch", "lake", &location("llm_feedback")),
        ))
        .await
        .expect("rollback");
    assert_eq!(rows(&client, clickhouse_only).await.len(), 1);
}

/// Parses and validates a config text as the file would be.
fn load_text(dir: &Path, toml: &str) -> Config {
    let path = dir.join("next.toml");
    std::fs::write(&path, toml).unwrap();
    load(&path).expect("config")
}

/// Copies the Delta table at `from` to `to` with the first row's value changed;
/// returns that row's request_id.
async fn plant_difference(from: &Path, to: &Path) -> String {
    use arrow::array::{Array, AsArray, Float64Array};
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    use deltalake::kernel::StructType;
    use deltalake::writer::{DeltaWriter, RecordBatchWriter};
    use switchyard::backend::Backend;

    let source = switchyard::backend::DeltaBackend::open(
        "copy",
        &[("llm_feedback".into(), from.display().to_string())],
    )
    .await
    .expect("open");
    let result = source
        .execute("SELECT * FROM \"llm_feedback\"")
        .await
        .expect("read");
    let schema = result.schema.clone();
    let batches: Vec<arrow::record_batch::RecordBatch> =
        result.batches.map(|b| b.expect("batch")).collect().await;
    // Delta's writer wants plain strings where DataFusion reads string views.
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            arrow::datatypes::DataType::Utf8View => f
                .as_ref()
                .clone()
                .with_data_type(arrow::datatypes::DataType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
    let columns: StructType = schema.as_ref().try_into_kernel().expect("kernel schema");
    let mut table = deltalake::DeltaTable::try_from_url(
        deltalake::ensure_table_uri(to.to_str().unwrap()).unwrap(),
    )
    .await
    .unwrap()
    .create()
    .with_table_name("llm_feedback")
    .with_columns(columns.fields().cloned())
    .await
    .expect("create");
    let mut writer = RecordBatchWriter::for_table(&table).unwrap();
    let mut changed = None;
    for batch in batches {
        let mut columns: Vec<arrow::array::ArrayRef> = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| arrow::compute::cast(c, f.data_type()).unwrap())
            .collect();
        if changed.is_none() && batch.num_rows() > 0 {
            let id = schema.index_of("request_id").unwrap();
            let value = schema.index_of("value").unwrap();
            let ids =
                arrow::compute::cast(&columns[id], &arrow::datatypes::DataType::Utf8).unwrap();
            changed = Some(ids.as_string::<i32>().value(0).to_owned());
            let values = columns[value].as_primitive::<arrow::datatypes::Float64Type>();
            let planted: Float64Array = (0..values.len())
                .map(|i| {
                    (!values.is_null(i))
                        .then(|| values.value(i) + if i == 0 { 1000.0 } else { 0.0 })
                })
                .collect();
            columns[value] = Arc::new(planted);
        }
        let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), columns).unwrap();
        writer.write(batch).await.expect("write");
    }
    writer.flush_and_commit(&mut table).await.expect("commit");
    changed.expect("llm_feedback has rows")
}
