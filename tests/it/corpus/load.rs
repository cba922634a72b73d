//! The corpus's servers, set up once per test binary: the 41 tables created in ClickHouse's
//! `default` database from schema.sql (dropped and recreated, so every run starts from the
//! same rows) and filled by `generate`; a copy of each in Delta made by `switchyard copy`
//! (a table whose copy fails is recorded, not fatal); and two in-process switchyards, one
//! over ClickHouse and one over the Delta copies. Plus what offline translation needs to
//! know about the tables (schemas, FINAL's dedup rules).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use switchyard::backend::clickhouse::ClickHouseBackend;
use switchyard::backend::Backend;
use switchyard::emit::{DedupRule, EmitContext};

use super::generate::{insert_sql, quote_str, Column};
use super::sqltext::{parse_params, parse_queries, split_statements, tokens, Hints, Query, Tok};
use crate::clickhouse::{run, text};

/// Rows generated per table: a few groups per GROUP BY, and fast to load and copy.
const ROWS: usize = 1000;
/// Copies to Delta running at once.
const COPY_WORKERS: usize = 4;
/// Tables other test modules keep in the same ClickHouse (`clickhouse.rs`), which the
/// corpus must not drop.
const OTHER_TABLES: &[&str] = &[
    "llm_requests",
    "llm_feedback",
    "llm_feedback_versions",
    "ch_types",
    "endless",
];

/// The corpus files, read at test time from the shared folder (never copied here).
pub struct Corpus {
    pub queries: Vec<Query>,
    pub params: BTreeMap<String, String>,
    pub statements: Vec<String>,
}

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dashboards")
}

/// The corpus, or None when the shared folder is not there.
pub fn read_corpus() -> Option<Corpus> {
    let dir = corpus_dir();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    Some(Corpus {
        queries: parse_queries(&read("queries.sql")?),
        params: parse_params(&read("params.json")?).expect("params.json"),
        statements: split_statements(&read("schema.sql")?),
    })
}

/// The table a `CREATE TABLE` statement creates.
pub fn created_table(statement: &str) -> Option<String> {
    let toks = tokens(statement);
    toks.windows(3).find_map(|w| match w {
        [Tok::Ident(c), Tok::Ident(t), Tok::Ident(name)]
            if c.eq_ignore_ascii_case("CREATE") && t.eq_ignore_ascii_case("TABLE") =>
        {
            Some(name.clone())
        }
        _ => None,
    })
}

/// Everything the test needs, started once.
pub struct Setup {
    pub url: String,
    pub clickhouse: SocketAddr,
    pub delta: SocketAddr,
    pub tables: Vec<String>,
    /// Table → why `switchyard copy` could not copy it to Delta.
    pub copy_failures: BTreeMap<String, String>,
    /// Schemas as ClickHouse presents them and FINAL's dedup rules, for offline translation.
    pub context: EmitContext,
    pub load_time: Duration,
    pub copy_time: Duration,
}

pub fn setup(url: &str, corpus: &Corpus) -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let url = url.to_owned();
        let statements = corpus.statements.clone();
        let mut hints = Hints::default();
        hints.scan_params(&corpus.params);
        for query in &corpus.queries {
            hints.scan(&query.sql, &corpus.params);
        }
        // MATERIALIZED/ALIAS expressions name Map keys too.
        hints.scan(&statements.join("\n"), &BTreeMap::new());
        // The servers live on their own runtime, past any one test's.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let setup = start(url, &statements, &hints).await;
                tx.send(setup).expect("send");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("corpus setup failed")
    })
}

async fn start(url: String, statements: &[String], hints: &Hints) -> Setup {
    let started = Instant::now();
    let (tables, columns) = load(&url, statements, hints).await;
    let load_time = started.elapsed();

    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("it-corpus");
    let lake = scratch.join("delta");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&lake).expect("scratch dir");
    let started = Instant::now();
    let copy_failures = copy_to_delta(&url, &scratch, &lake, &columns);
    let copy_time = started.elapsed();

    let dedup = dedup_rules(&url).await;
    let mut delta_toml = format!(
        "data_dir = {:?}\n[backends.lake]\nkind = \"delta\"\n",
        lake.display().to_string()
    );
    for table in tables.iter().filter(|t| !copy_failures.contains_key(*t)) {
        delta_toml.push_str(&format!(
            "[tables.{table}]\nbackend = \"lake\"\nlocation = {:?}\n",
            lake.join(table).display().to_string()
        ));
        if let Some(DedupRule::Key { key, version, .. }) = dedup.get(table) {
            delta_toml.push_str(&format!("dedup = {{ key = {key:?}"));
            if let Some(version) = version {
                delta_toml.push_str(&format!(", version = {version:?}"));
            }
            delta_toml.push_str(" }\n");
        }
    }
    let empty = scratch.join("empty");
    std::fs::create_dir_all(&empty).expect("scratch dir");
    let clickhouse = crate::clickhouse::serve(&format!(
        "data_dir = {:?}\n[backends.ch]\nkind = \"clickhouse\"\nurl = \"{url}\"\ntimeout_secs = 120\n",
        empty.display().to_string()
    ))
    .await;
    let delta = crate::clickhouse::serve(&delta_toml).await;

    let mut context = EmitContext::default();
    let backend = ClickHouseBackend::open("ch", &crate::clickhouse::config(&url))
        .await
        .expect("open ClickHouse");
    for info in backend
        .tables()
        .into_iter()
        .filter(|t| tables.contains(&t.name))
    {
        // Keyed by the name as queries write it, with or without the database.
        for name in [info.name.clone(), format!("default.{}", info.name)] {
            context.tables.insert(name.clone(), info.schema.clone());
            if let Some(rule) = dedup.get(&info.name) {
                context.dedup.insert(name, rule.clone());
            }
        }
    }
    Setup {
        url,
        clickhouse,
        delta,
        tables,
        copy_failures,
        context,
        load_time,
        copy_time,
    }
}

/// Creates the tables afresh and fills them; returns their names and writable columns.
async fn load(
    url: &str,
    statements: &[String],
    hints: &Hints,
) -> (Vec<String>, BTreeMap<String, Vec<Column>>) {
    let mut tables = Vec::new();
    for statement in statements {
        let table =
            created_table(statement).expect("schema.sql holds CREATE TABLE statements only");
        assert!(
            !OTHER_TABLES.contains(&table.as_str()),
            "corpus table {table} would replace another module's"
        );
        run(url, &format!("DROP TABLE IF EXISTS default.`{table}`")).await;
        run(url, statement).await;
        tables.push(table);
    }
    let list: Vec<String> = tables.iter().map(|t| quote_str(t)).collect();
    let columns = text(
        url,
        &format!(
            "SELECT table, name, type FROM system.columns WHERE database = 'default' \
             AND table IN ({}) AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY table, position",
            list.join(", ")
        ),
    )
    .await;
    let mut by_table: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for line in columns.lines() {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        by_table.entry(fields[0].clone()).or_default().push(Column {
            name: fields[1].clone(),
            ty: fields[2].clone(),
        });
    }
    for (table, columns) in &by_table {
        run(url, &insert_sql(table, columns, ROWS, hints)).await;
    }
    (tables, by_table)
}

fn unescape(field: &str) -> String {
    field.replace("\\'", "'").replace("\\\\", "\\")
}

/// `switchyard copy` of every table from ClickHouse into `lake/<table>`; the errors of
/// the copies that failed, by table. A copy that asks for another `--time-column` (its
/// choice holds NULLs) runs again with the table's first non-Nullable time column, as an
/// operator would.
fn copy_to_delta(
    url: &str,
    scratch: &Path,
    lake: &Path,
    tables: &BTreeMap<String, Vec<Column>>,
) -> BTreeMap<String, String> {
    let config = scratch.join("copy.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\ndemo_rows = 0\n[backends.ch]\nkind = \"clickhouse\"\nurl = \"{url}\"\n[backends.lake]\nkind = \"delta\"\n",
            lake.display().to_string()
        ),
    )
    .expect("write copy.toml");
    let config = config.display().to_string();
    let jobs: Vec<(String, Option<String>)> = tables
        .iter()
        .map(|(table, columns)| {
            let time = columns
                .iter()
                .find(|c| c.ty.starts_with("Date"))
                .map(|c| c.name.clone());
            (table.clone(), time)
        })
        .collect();
    // Copies mostly wait (process start, ClickHouse, Delta commits): four at a time.
    let chunks: Vec<Vec<(String, Option<String>)>> = jobs
        .chunks(jobs.len().div_ceil(COPY_WORKERS))
        .map(|c| c.to_vec())
        .collect();
    let workers: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let config = config.clone();
            let lake = lake.to_path_buf();
            std::thread::spawn(move || {
                let mut failures = BTreeMap::new();
                for (table, time) in chunk {
                    let copy = |extra: &[&str]| {
                        let mut args = vec![
                            "copy", "--config", &config, "--table", &table, "--from", "ch", "--to",
                            "lake",
                        ];
                        args.extend_from_slice(extra);
                        let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
                            .args(&args)
                            .output()
                            .expect("run switchyard copy");
                        let stderr = String::from_utf8_lossy(&output.stderr);
                        let why = stderr
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("failed");
                        (output.status.success(), why.trim().to_owned())
                    };
                    let (mut copied, mut why) = copy(&[]);
                    if let (false, true, Some(time)) =
                        (copied, why.contains("--time-column"), &time)
                    {
                        (copied, why) = copy(&["--time-column", time]);
                    }
                    if !copied {
                        // A half-made table would still be served (as `local`): gone, its
                        // queries meet 42P01 and count as not copied.
                        let _ = std::fs::remove_dir_all(lake.join(&table));
                        failures.insert(table, why);
                    }
                }
                failures
            })
        })
        .collect();
    workers
        .into_iter()
        .flat_map(|w| w.join().expect("copy worker"))
        .collect()
}

/// FINAL's meaning for each ReplacingMergeTree table, as a migration would configure it
/// for Delta: its sorting key's columns, and the version column its engine names.
async fn dedup_rules(url: &str) -> BTreeMap<String, DedupRule> {
    let rows = text(
        url,
        "SELECT name, sorting_key, engine_full FROM system.tables \
         WHERE database = 'default' AND engine = 'ReplacingMergeTree'",
    )
    .await;
    let mut rules = BTreeMap::new();
    for line in rows.lines() {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        // `toDate(timestamp)` keys by `timestamp`: finer, and equal on data with one row per key.
        let key: Vec<String> = fields[1]
            .split(',')
            .map(|part| {
                let inner = part.rsplit('(').next().unwrap_or(part);
                inner
                    .split(')')
                    .next()
                    .unwrap_or(inner)
                    .trim()
                    .trim_matches('`')
                    .to_owned()
            })
            .collect();
        let version = fields[2]
            .strip_prefix("ReplacingMergeTree(")
            .and_then(|rest| rest.split(')').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        rules.insert(
            fields[0].clone(),
            DedupRule::Key {
                key,
                version,
                is_deleted: None,
            },
        );
    }
    rules
}
