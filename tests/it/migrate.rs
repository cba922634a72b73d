//! `switchyard copy` and `switchyard verify` end to end, with the real binary: a copy
//! SIGKILLed mid-way and run again ends with exactly the source's rows (checked by
//! `verify` and independently through DataFusion), `verify` names a partition where
//! a row was deleted or changed, `--where`/`--since` copy subsets, and a table without a
//! time column copies in one commit. Delta → Delta always runs; ClickHouse → Delta and
//! Delta → ClickHouse run against the real ClickHouse (`SWITCHYARD_TEST_CLICKHOUSE_URL`)
//! in databases of their own, and over the harness's `ch_types` table (every type family
//! dashboards meet) and demo `llm_requests`; a StarRocks-protocol source runs against
//! MariaDB (`SWITCHYARD_TEST_MARIADB_URL`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::clickhouse::{clickhouse_url, run, text};

/// Source rows: one a minute over two days (48 hourly windows).
const ROWS: i64 = 2880;
/// 2025-01-01T00:00:00Z in seconds.
const START: i64 = 1_735_689_600;

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("it-migrate")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    dir
}

pub(crate) fn switchyard(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .expect("run switchyard");
    eprintln!(
        "switchyard {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Rows of `sql` over the Delta table at `path` (registered as `t`), read by DataFusion
/// directly — not through switchyard — and shown as text.
async fn delta_query(path: &Path, sql: &str) -> Vec<Vec<String>> {
    let url = deltalake::ensure_table_uri(path.to_str().unwrap()).unwrap();
    let table = deltalake::open_table(url).await.unwrap();
    let ctx = datafusion::prelude::SessionContext::new();
    table.update_datafusion_session(&ctx.state()).unwrap();
    ctx.register_table("t", table.table_provider().await.unwrap())
        .unwrap();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| arrow::util::display::array_value_to_string(c, row).unwrap())
                    .collect(),
            );
        }
    }
    rows
}

/// The Delta table's column names, in order.
async fn delta_columns(path: &Path) -> Vec<String> {
    let url = deltalake::ensure_table_uri(path.to_str().unwrap()).unwrap();
    let table = deltalake::open_table(url).await.unwrap();
    let ctx = datafusion::prelude::SessionContext::new();
    let provider = table.table_provider().await.unwrap();
    ctx.register_table("t", provider).unwrap();
    let frame = ctx.sql("SELECT * FROM t").await.unwrap();
    frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

async fn delta_count(path: &Path) -> i64 {
    delta_query(path, "SELECT count(*) FROM t").await[0][0]
        .parse()
        .unwrap()
}

/// Commits in a Delta log (version 0 creates the table).
fn commits(path: &Path) -> usize {
    std::fs::read_dir(path.join("_delta_log"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

/// Where a copy writes, to watch it.
pub(crate) enum Destination<'a> {
    Delta(&'a Path),
    /// URL and database of a ClickHouse holding `events`.
    ClickHouse(&'a str, &'a str),
}

impl Destination<'_> {
    /// Windows recorded as copied.
    async fn windows(&self) -> usize {
        match self {
            // Version 0 creates the table.
            Destination::Delta(path) => commits(path).saturating_sub(1),
            // One row says the copy started.
            Destination::ClickHouse(url, database) => {
                let table = format!("{database}.switchyard_copy_progress");
                if text(url, &format!("EXISTS TABLE {table}")).await.trim() != "1" {
                    return 0;
                }
                text(url, &format!("SELECT count() - 1 FROM {table}"))
                    .await
                    .trim()
                    .parse()
                    .unwrap_or(0)
            }
        }
    }

    async fn rows(&self) -> i64 {
        match self {
            Destination::Delta(path) => delta_count(path).await,
            Destination::ClickHouse(url, database) => {
                text(url, &format!("SELECT count() FROM {database}.events"))
                    .await
                    .trim()
                    .parse()
                    .unwrap()
            }
        }
    }
}

/// Starts a throttled copy, SIGKILLs it once it has committed a few windows, checks the
/// destination then held some but not all rows, and runs the copy again to the end.
pub(crate) async fn copy_killed_and_resumed(
    copy: &[&str],
    destination: Destination<'_>,
    total: i64,
) {
    let mut args = copy.to_vec();
    args.extend([
        "--window",
        "hour",
        "--batch-rows",
        "20",
        "--max-rows-per-second",
        "300",
    ]);
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("it-migrate")
        .join(format!("killed-{}.log", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(&args)
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .expect("start copy");
    let deadline = Instant::now() + Duration::from_secs(120);
    while destination.windows().await < 3 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "copy ended ({status}) before it could be killed: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "copy committed nothing in 120s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let partial = destination.rows().await;
    eprintln!(
        "killed after {} windows, holding {partial} of {total} rows",
        destination.windows().await
    );
    assert!(
        partial > 0 && partial < total,
        "{partial} of {total} rows at the kill"
    );

    let resumed = switchyard(copy);
    assert!(resumed.status.success());
    assert!(
        stdout(&resumed).contains("resuming: rows before"),
        "{}",
        stdout(&resumed)
    );
    let again = switchyard(copy);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("nothing to copy"),
        "{}",
        stdout(&again)
    );
}

/// Writes the Delta source table: `ts` (one a minute from START), `id`, `kind`,
/// `value`, and `note` (NULL every fifth row).
async fn write_delta_source(path: &Path) {
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    use deltalake::kernel::StructType;
    use deltalake::writer::{DeltaWriter, RecordBatchWriter};

    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("id", DataType::Int64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("note", DataType::Utf8, true),
    ]));
    std::fs::create_dir_all(path).unwrap();
    let url = deltalake::ensure_table_uri(path.to_str().unwrap()).unwrap();
    let columns: StructType = schema.as_ref().try_into_kernel().unwrap();
    let mut table = deltalake::operations::create::CreateBuilder::new()
        .with_location(url.to_string())
        .with_columns(columns.fields().cloned())
        .await
        .unwrap();
    // Several commits, newest rows first: the copy's order comes from its windows.
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(1000).rev() {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from(
                        chunk
                            .iter()
                            .map(|n| (START + n * 60) * 1_000_000)
                            .collect::<Vec<_>>(),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from(chunk.to_vec())),
                Arc::new(StringArray::from(
                    chunk
                        .iter()
                        .map(|n| ["a", "b", "c"][(n % 3) as usize])
                        .collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    chunk.iter().map(|n| *n as f64 / 7.0).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from(
                    chunk
                        .iter()
                        .map(|n| (n % 5 != 0).then(|| format!("n{n}")))
                        .collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        let mut writer = RecordBatchWriter::for_table(&table).unwrap();
        writer.write(batch).await.unwrap();
        writer.flush_and_commit(&mut table).await.unwrap();
    }
}

fn config_file(dir: &Path, backends: &str) -> String {
    let path = dir.join("switchyard.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = {:?}\n[backends.lake]\nkind = \"delta\"\n{backends}",
            dir.join("data").display().to_string()
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// Deletes one row and changes another in a Delta table.
async fn plant_differences(path: &Path, deleted: &str, changed: &str) {
    let url = deltalake::ensure_table_uri(path.to_str().unwrap()).unwrap();
    let table = deltalake::open_table(url).await.unwrap();
    let (table, _) = table.delete().with_predicate(deleted).await.unwrap();
    table
        .update()
        .with_predicate(changed)
        .with_update("value", "value + 1")
        .await
        .unwrap();
}

/// The verify report's line for one partition.
fn partition_line<'a>(report: &'a str, day: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.starts_with(day))
        .unwrap_or_else(|| panic!("no partition {day} in\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_to_delta_copy_survives_a_kill() {
    let dir = scratch("delta-to-delta");
    write_delta_source(&dir.join("data").join("events")).await;
    let config = config_file(&dir, "");
    let destination = dir.join("copy");
    let location = format!("lake={}", destination.display());
    let copy = [
        "copy",
        "--config",
        &config,
        "--table",
        "events",
        "--from",
        "local",
        "--to",
        "lake",
        "--location",
        &location,
    ];
    copy_killed_and_resumed(&copy, Destination::Delta(&destination), ROWS).await;
    // Exactly the source's rows: none lost, none twice, every value intact.
    let stats =
        "SELECT count(*), count(DISTINCT id), sum(id), sum(round(value * 7)), count(note) FROM t";
    let source = delta_query(&dir.join("data").join("events"), stats).await;
    assert_eq!(delta_query(&destination, stats).await, source);
    assert_eq!(source[0][0], ROWS.to_string());

    let verify = [
        "verify",
        "--config",
        &config,
        "--table",
        "events",
        "--between",
        "local",
        "lake",
        "--location",
        &location,
    ];
    let equal = switchyard(&verify);
    assert_eq!(equal.status.code(), Some(0));
    assert!(stdout(&equal).contains(&format!("equal: {ROWS} rows in 2 partitions")));

    plant_differences(&destination, "id = 7", "id = 2000").await;
    let differ = switchyard(&verify);
    assert_eq!(differ.status.code(), Some(1));
    let report = stdout(&differ);
    assert!(
        partition_line(&report, "2025-01-01").contains("DIFFER (row counts)"),
        "{report}"
    );
    assert!(
        partition_line(&report, "2025-01-02").contains("DIFFER (values)"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_without_time_column_copies_in_one_commit() {
    let dir = scratch("no-time-column");
    crate::support::append_delta_rows(&dir.join("data"), "plain", vec![1, 2, 3]).await;
    crate::support::append_delta_rows(&dir.join("data"), "plain", vec![4, 5]).await;
    let config = config_file(&dir, "");
    let destination = dir.join("copy");
    let location = format!("lake={}", destination.display());
    let copy = [
        "copy",
        "--config",
        &config,
        "--table",
        "plain",
        "--from",
        "local",
        "--to",
        "lake",
        "--location",
        &location,
    ];
    let first = switchyard(&copy);
    assert!(first.status.success());
    assert!(stdout(&first).contains("as one window (one commit)"));
    assert_eq!(commits(&destination), 2, "creation and one data commit");
    let second = switchyard(&copy);
    assert!(
        stdout(&second).contains("already copied"),
        "{}",
        stdout(&second)
    );
    assert_eq!(
        delta_query(&destination, "SELECT sum(n), count(*) FROM t").await,
        [["15", "5"]]
    );
    let verify = switchyard(&[
        "verify",
        "--config",
        &config,
        "--table",
        "plain",
        "--between",
        "local",
        "lake",
        "--location",
        &location,
    ]);
    assert_eq!(verify.status.code(), Some(0));
    assert!(partition_line(&stdout(&verify), "all").contains("equal"));
    // A source that is its own destination is refused.
    let same = switchyard(&[
        "copy", "--config", &config, "--table", "plain", "--from", "local", "--to", "local",
    ]);
    assert_eq!(same.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&same.stderr).contains("same Delta table"));
}

/// A database of its own on the real ClickHouse, holding `events`: the Delta source's
/// rows plus ClickHouse types (UInt64 id, LowCardinality, Decimal, a Date column
/// before the sorting key's DateTime). None (SKIPPED) without ClickHouse.
async fn clickhouse_events(test: &str) -> Option<(String, String)> {
    let Some(url) = clickhouse_url() else {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLICKHOUSE_URL is not set (scripts/test.sh starts ClickHouse); {test} needs it");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let database = format!("sy_migrate_{test}_{}_{nanos}", std::process::id());
    run(&url, &format!("CREATE DATABASE {database}")).await;
    run(
        &url,
        &format!(
            "CREATE TABLE {database}.events (day Date, ts DateTime('UTC'), id UInt64, \
             kind LowCardinality(String), value Float64, amount Decimal(18, 4), note Nullable(String)) \
             ENGINE = MergeTree ORDER BY (kind, ts)"
        ),
    )
    .await;
    run(
        &url,
        &format!(
            "INSERT INTO {database}.events SELECT toDate(t), t, number, ['a', 'b', 'c'][number % 3 + 1], \
             number / 7, toDecimal64(number, 4) / 8, if(number % 5 = 0, NULL, concat('n', toString(number))) \
             FROM (SELECT number, toDateTime({START}, 'UTC') + number * 60 AS t FROM numbers({ROWS}))"
        ),
    )
    .await;
    Some((url, database))
}

fn clickhouse_backend(url: &str, database: &str) -> String {
    format!("[backends.ch]\nkind = \"clickhouse\"\nurl = \"{url}\"\ndatabase = \"{database}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_copy_survives_a_kill_and_verifies() {
    let Some((url, database)) = clickhouse_events("kill").await else {
        return;
    };
    let dir = scratch("clickhouse-kill");
    let config = config_file(&dir, &clickhouse_backend(&url, &database));
    let destination = dir.join("data").join("events");
    let copy = [
        "copy", "--config", &config, "--table", "events", "--from", "ch", "--to", "lake",
    ];
    copy_killed_and_resumed(&copy, Destination::Delta(&destination), ROWS).await;

    let verify = [
        "verify",
        "--config",
        &config,
        "--table",
        "events",
        "--between",
        "ch",
        "lake",
    ];
    let equal = switchyard(&verify);
    assert_eq!(equal.status.code(), Some(0));
    // Partitions by the sorting key's DateTime, not the Date column listed first.
    assert!(stdout(&equal).contains("day(ts)"), "{}", stdout(&equal));
    assert!(stdout(&equal).contains(&format!("equal: {ROWS} rows in 2 partitions")));

    // Independently: DataFusion over the Delta table against ClickHouse itself.
    let stats = "count(*), count(DISTINCT id), sum(id), sum(amount), count(note), min(ts), max(ts)";
    let delta = delta_query(&destination, &format!("SELECT {stats} FROM t")).await;
    let clickhouse = text(
        &url,
        &format!(
            "SELECT count(*), uniqExact(id), sum(id), sum(amount), count(note), \
             formatDateTime(min(ts), '%Y-%m-%dT%H:%i:%SZ'), formatDateTime(max(ts), '%Y-%m-%dT%H:%i:%SZ') \
             FROM {database}.events"
        ),
    )
    .await;
    let clickhouse: Vec<&str> = clickhouse.trim_end().split('\t').collect();
    assert_eq!(delta[0][..3], clickhouse[..3]);
    // Decimal scale differs in display only (518220.0000 and 518220).
    let number = |text: &str| text.parse::<f64>().unwrap();
    assert_eq!(number(&delta[0][3]), number(clickhouse[3]));
    assert_eq!(delta[0][4], clickhouse[4]);
    assert_eq!(delta[0][5], clickhouse[5]);
    assert_eq!(delta[0][6], clickhouse[6]);
    assert_eq!(clickhouse[0], ROWS.to_string());

    plant_differences(&destination, "id = 7", "id = 2000").await;
    let differ = switchyard(&verify);
    assert_eq!(differ.status.code(), Some(1));
    let report = stdout(&differ);
    assert!(
        partition_line(&report, "2025-01-01").contains("DIFFER (row counts)"),
        "{report}"
    );
    assert!(
        partition_line(&report, "2025-01-02").contains("DIFFER (values)"),
        "{report}"
    );
    assert!(
        report.contains("DIFFERENT: 2 of 2 partitions differ"),
        "{report}"
    );
    run(&url, &format!("DROP DATABASE {database}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_copy_of_a_subset() {
    let Some((url, database)) = clickhouse_events("subset").await else {
        return;
    };
    let dir = scratch("clickhouse-subset");
    let config = config_file(&dir, &clickhouse_backend(&url, &database));
    let destination = dir.join("data").join("events");
    let subset = [
        "--where",
        "kind = 'b' AND note IS NOT NULL",
        "--since",
        "2025-01-01T12:00:00Z",
        "--until",
        "2025-01-02T06:00:00Z",
    ];
    let mut copy = vec![
        "copy", "--config", &config, "--table", "events", "--from", "ch", "--to", "lake",
    ];
    copy.extend(subset);
    let copied = switchyard(&copy);
    assert!(copied.status.success());
    let expected = text(
        &url,
        &format!(
            "SELECT count(*), sum(id) FROM {database}.events WHERE kind = 'b' AND note IS NOT NULL \
             AND ts >= toDateTime('2025-01-01 12:00:00', 'UTC') AND ts < toDateTime('2025-01-02 06:00:00', 'UTC')"
        ),
    )
    .await;
    let expected: Vec<String> = expected.trim_end().split('\t').map(str::to_owned).collect();
    assert!(expected[0].parse::<i64>().unwrap() > 100, "{expected:?}");
    assert_eq!(
        delta_query(&destination, "SELECT count(*), sum(id) FROM t").await,
        [expected]
    );
    assert_eq!(
        delta_query(
            &destination,
            "SELECT count(*) FROM t WHERE kind <> 'b' OR note IS NULL"
        )
        .await,
        [["0"]]
    );

    let mut verify = vec![
        "verify",
        "--config",
        &config,
        "--table",
        "events",
        "--between",
        "ch",
        "lake",
    ];
    let whole = switchyard(&verify);
    assert_eq!(
        whole.status.code(),
        Some(1),
        "the destination holds a subset"
    );
    verify.extend(subset);
    let same_subset = switchyard(&verify);
    assert_eq!(same_subset.status.code(), Some(0));
    // Into its own source: refused before anything is written.
    let own = switchyard(&[
        "copy", "--config", &config, "--table", "events", "--from", "ch", "--to", "ch",
    ]);
    assert_eq!(own.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&own.stderr).contains("into its own source"));

    run(&url, &format!("DROP DATABASE {database}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_types_survive_the_copy() {
    let Some(harness) = crate::clickhouse::harness() else {
        return;
    };
    let dir = scratch("clickhouse-types");
    let config = config_file(
        &dir,
        &format!(
            "[backends.ch]\nkind = \"clickhouse\"\nurl = \"{}\"\n",
            harness.url
        ),
    );
    for table in ["ch_types", "llm_requests"] {
        let copied = switchyard(&[
            "copy", "--config", &config, "--table", table, "--from", "ch", "--to", "lake",
        ]);
        assert!(copied.status.success(), "{table}");
        let verify = switchyard(&[
            "verify",
            "--config",
            &config,
            "--table",
            table,
            "--between",
            "ch",
            "lake",
        ]);
        assert_eq!(verify.status.code(), Some(0), "{table}");
    }
    assert_eq!(
        delta_count(&dir.join("data").join("llm_requests")).await,
        crate::clickhouse::DEMO_ROWS as i64
    );
}

/// A ClickHouse table's computed, Nested and state columns (as ClickStack, Coroot and
/// PostHog declare them): MATERIALIZED and ALIAS columns are read by name and land in
/// the Delta copy with their values, a Nested table's dotted columns stay whole, the
/// EPHEMERAL column (unreadable) and the AggregateFunction column (no output format
/// carries its states) are left out — the latter with a warning — and the time column
/// is the non-Nullable one though a Nullable one holding NULLs comes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_computed_and_nested_columns_copy() {
    let Some(url) = clickhouse_url() else {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLICKHOUSE_URL is not set (scripts/test.sh starts ClickHouse)");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let database = format!("sy_migrate_computed_{}_{nanos}", std::process::id());
    run(&url, &format!("CREATE DATABASE {database}")).await;
    run(
        &url,
        &format!(
            "CREATE TABLE {database}.spans (\
               seen Nullable(DateTime('UTC')), \
               ts DateTime64(3, 'UTC'), \
               id UInt64, \
               attributes Map(String, String), \
               raw String EPHEMERAL, \
               doubled UInt64 MATERIALIZED id * 2, \
               `service.name` String MATERIALIZED attributes['service'], \
               `$label` String ALIAS concat('s', toString(id)), \
               Events Nested(Timestamp DateTime64(3, 'UTC'), Name String), \
               max_state AggregateFunction(max, UInt64)\
             ) ENGINE = MergeTree ORDER BY id"
        ),
    )
    .await;
    let rows = 240;
    run(
        &url,
        &format!(
            "INSERT INTO {database}.spans (seen, ts, id, attributes, `Events.Timestamp`, `Events.Name`, max_state) \
             SELECT if(number % 3 = 0, NULL, toDateTime(t, 'UTC')), t, number, map('service', concat('svc', toString(number % 4))), \
             [t, t + 1], ['start', concat('e', toString(number))], arrayReduce('maxState', [number]) \
             FROM (SELECT number, toDateTime64({START}, 3, 'UTC') + number * 60 AS t FROM numbers({rows}))"
        ),
    )
    .await;
    let dir = scratch("clickhouse-computed");
    let config = config_file(&dir, &clickhouse_backend(&url, &database));
    let destination = dir.join("data").join("spans");
    let copied = switchyard(&[
        "copy", "--config", &config, "--table", "spans", "--from", "ch", "--to", "lake",
    ]);
    assert!(copied.status.success());
    let out = stdout(&copied);
    assert!(out.contains("windows by ts"), "{out}");
    assert!(
        out.contains("warning: column max_state is not copied: AggregateFunction(max, UInt64) is an aggregation state"),
        "{out}"
    );
    assert!(out.contains(&format!("copied {rows} rows")), "{out}");

    assert_eq!(
        delta_columns(&destination).await,
        [
            "seen",
            "ts",
            "id",
            "attributes",
            "doubled",
            "service.name",
            "$label",
            "Events.Timestamp",
            "Events.Name"
        ]
    );
    let sample = "SELECT id, doubled, \"service.name\", \"$label\", \"Events.Name\"[2], \
                  \"Events.Timestamp\"[2] FROM t WHERE id = 7";
    assert_eq!(
        delta_query(&destination, sample).await,
        [["7", "14", "svc3", "s7", "e7", "2025-01-01T00:07:01Z"]]
    );
    let totals = delta_query(
        &destination,
        "SELECT count(*), count(seen), sum(doubled), count(DISTINCT \"service.name\"), \
         sum(cardinality(\"Events.Timestamp\")) FROM t",
    )
    .await;
    let expected = text(
        &url,
        &format!(
            "SELECT count(), count(seen), sum(doubled), uniqExact(`service.name`), \
             sum(length(`Events.Timestamp`)) FROM {database}.spans"
        ),
    )
    .await;
    let expected: Vec<String> = expected.trim_end().split('\t').map(str::to_owned).collect();
    assert_eq!(totals, [expected]);

    let verify = switchyard(&[
        "verify",
        "--config",
        &config,
        "--table",
        "spans",
        "--between",
        "ch",
        "lake",
    ]);
    assert_eq!(verify.status.code(), Some(0), "{}", stdout(&verify));
    assert!(
        stdout(&verify).contains("not compared: column max_state on ch"),
        "{}",
        stdout(&verify)
    );
    run(&url, &format!("DROP DATABASE {database}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_to_clickhouse_copy_survives_a_kill() {
    let Some(url) = clickhouse_url() else {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLICKHOUSE_URL is not set (scripts/test.sh starts ClickHouse)");
        return;
    };
    let dir = scratch("delta-to-clickhouse");
    write_delta_source(&dir.join("data").join("events")).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let database = format!("sy_migrate_into_{}_{nanos}", std::process::id());
    run(&url, &format!("CREATE DATABASE {database}")).await;
    run(
        &url,
        &format!(
            "CREATE TABLE {database}.events (ts DateTime64(6, 'UTC'), id Int64, kind LowCardinality(String), \
             value Float64, note Nullable(String)) ENGINE = MergeTree ORDER BY ts"
        ),
    )
    .await;
    let config = config_file(&dir, &clickhouse_backend(&url, &database));
    let copy = [
        "copy", "--config", &config, "--table", "events", "--from", "local", "--to", "ch",
    ];
    copy_killed_and_resumed(&copy, Destination::ClickHouse(&url, &database), ROWS).await;

    let verify = switchyard(&[
        "verify",
        "--config",
        &config,
        "--table",
        "events",
        "--between",
        "local",
        "ch",
    ]);
    assert_eq!(verify.status.code(), Some(0));
    assert!(stdout(&verify).contains(&format!("equal: {ROWS} rows in 2 partitions")));
    // Independently: ClickHouse's own answer against the Delta source's.
    let clickhouse = text(
        &url,
        &format!("SELECT count(), uniqExact(id), sum(id), count(note) FROM {database}.events"),
    )
    .await;
    let delta = delta_query(
        &dir.join("data").join("events"),
        "SELECT count(*), count(DISTINCT id), sum(id), count(note) FROM t",
    )
    .await;
    assert_eq!(
        clickhouse.trim_end().split('\t').collect::<Vec<_>>(),
        delta[0]
    );
    run(&url, &format!("DROP DATABASE {database}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starrocks_protocol_copy_and_verify() {
    use mysql_async::prelude::Queryable;
    let Some(url) = std::env::var("SWITCHYARD_TEST_MARIADB_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "SKIPPED: SWITCHYARD_TEST_MARIADB_URL is not set (scripts/test.sh starts MariaDB)"
        );
        return;
    };
    let table = format!("sy_migrate_{}", std::process::id());
    let mut conn = mysql_async::Conn::from_url(url.as_str()).await.unwrap();
    conn.query_drop(format!(
        "DROP TABLE IF EXISTS {table};
         CREATE TABLE {table} (ts DATETIME(6) NOT NULL, id BIGINT UNSIGNED NOT NULL,
           kind VARCHAR(8) NOT NULL, amount DECIMAL(18, 4), day DATE);
         INSERT INTO {table} SELECT TIMESTAMP '2025-01-01 00:00:00' + INTERVAL seq MINUTE, seq,
           ELT(seq % 3 + 1, 'a', 'b', 'c'), IF(seq % 5 = 0, NULL, seq / 8), DATE('2025-01-01')
           FROM seq_0_to_{}",
        ROWS - 1
    ))
    .await
    .unwrap();
    let dir = scratch("starrocks");
    let config = config_file(
        &dir,
        &format!("[backends.sr]\nkind = \"starrocks\"\nurl = \"{url}\"\n"),
    );
    let copied = switchyard(&[
        "copy",
        "--config",
        &config,
        "--table",
        &table,
        "--from",
        "sr",
        "--to",
        "lake",
        "--time-column",
        "ts",
    ]);
    assert!(copied.status.success());
    let verify = switchyard(&[
        "verify",
        "--config",
        &config,
        "--table",
        &table,
        "--between",
        "sr",
        "lake",
        "--time-column",
        "ts",
    ]);
    assert_eq!(verify.status.code(), Some(0));
    assert!(stdout(&verify).contains(&format!("equal: {ROWS} rows in 2 partitions")));
    assert_eq!(
        delta_query(
            &dir.join("data").join(&table),
            "SELECT count(*), count(DISTINCT id), count(amount) FROM t"
        )
        .await,
        [[
            ROWS.to_string(),
            ROWS.to_string(),
            (ROWS - ROWS / 5).to_string()
        ]]
    );
    conn.query_drop(format!("DROP TABLE {table}"))
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
}
