//! The differential suite: every query of `fixtures/differential/*.sql` runs
//! (a) directly on ClickHouse, (b) through switchyard routed to ClickHouse and
//! (c) through switchyard routed to Delta/DataFusion, over identical rows (see
//! `clickhouse.rs` for how the rows get there). (b) and (c) are compared with (a).
//!
//! A fixture file holds queries, each introduced by a header of `-- key: value` lines:
//!   -- name: error_rate_by_model          (required, unique)
//!   -- tolerance: 1e-9                    relative float tolerance (default 1e-9)
//!   -- approx: 0.05                       approximate functions: relative bound
//!   -- ordered: yes|no                    (default: yes iff the query ends in ORDER BY)
//!   -- reject: delta|clickhouse|both      0A000 expected there
//!   -- why: …                             the reason, shown in the report
//! Rows compare cell by cell with `switchyard::shadow::compare` (shared with shadow
//! reads): NULL only equals NULL, numbers within tolerance (so the UInt64 `numeric` of
//! ClickHouse equals DataFusion's `int8`), booleans and timestamps by meaning, other
//! text exactly. Unordered results are sorted before comparing.
//!
//! The report lists each query as equal / differ / rejected-0A000 / error per target.
//! The test fails on any differ, any error, and any rejection not declared — except the
//! ones recorded in `fixtures/differential/known_gaps.txt` (`target name status  # why`),
//! today's translator gaps, which the report shows as KNOWN and counts apart. A known gap
//! that now passes is reported as fixed (remove its line). With
//! `SWITCHYARD_DIFFERENTIAL_STRICT=1` known gaps fail too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use switchyard::shadow::compare::{self, cell, Cell, Rows, Tolerance};

use crate::clickhouse::{connect_to, harness};
use crate::support::simple_rows;

#[derive(Debug, Clone)]
pub struct Case {
    file: String,
    pub name: String,
    pub sql: String,
    tolerance: f64,
    ordered: bool,
    reject: Vec<String>,
    why: String,
}

type Header = (BTreeMap<String, String>, String);

pub fn load_cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/differential");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/differential")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut current: Option<Header> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(header) = trimmed.strip_prefix("--") {
                if let Some((key, value)) = header.split_once(':') {
                    let key = key.trim().to_owned();
                    if key == "name" {
                        if let Some((keys, sql)) = current.take() {
                            cases.push(case(&file, keys, sql));
                        }
                        current = Some((BTreeMap::new(), String::new()));
                    }
                    if let Some((keys, sql)) = current.as_mut() {
                        if sql.trim().is_empty() {
                            keys.insert(key, value.trim().to_owned());
                        }
                    }
                }
                continue;
            }
            if let Some((_, sql)) = current.as_mut() {
                sql.push_str(line);
                sql.push('\n');
            }
        }
        if let Some((keys, sql)) = current.take() {
            cases.push(case(&file, keys, sql));
        }
    }
    cases
}

fn case(file: &str, keys: BTreeMap<String, String>, sql: String) -> Case {
    let sql = sql.trim().trim_end_matches(';').trim().to_owned();
    let name = keys.get("name").cloned().unwrap();
    let tolerance = keys
        .get("approx")
        .or(keys.get("tolerance"))
        .map(|t| {
            t.parse()
                .unwrap_or_else(|_| panic!("{name}: bad tolerance {t}"))
        })
        .unwrap_or(1e-9);
    let ordered = match keys.get("ordered").map(String::as_str) {
        Some("yes") => true,
        Some("no") => false,
        Some(other) => panic!("{name}: ordered must be yes or no, not {other}"),
        None => ends_in_order_by(&sql),
    };
    let reject = match keys.get("reject").map(String::as_str) {
        None => Vec::new(),
        Some("both") => vec!["clickhouse".into(), "delta".into()],
        Some(targets) => targets.split(',').map(|t| t.trim().to_owned()).collect(),
    };
    Case {
        file: file.to_owned(),
        name,
        sql,
        tolerance,
        ordered,
        reject,
        why: keys.get("why").cloned().unwrap_or_default(),
    }
}

/// True when the outermost query has an ORDER BY (outside any parentheses).
fn ends_in_order_by(sql: &str) -> bool {
    let upper = sql.to_uppercase();
    let mut depth = 0i32;
    let mut found = false;
    for (i, b) in upper.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'O' if depth == 0 && upper[i..].starts_with("ORDER BY") => found = true,
            _ => {}
        }
    }
    found
}

#[derive(Debug)]
enum Outcome {
    Rows(Rows),
    Rejected(String),
    Failed(String),
}

/// The comparison is switchyard's own (`switchyard::shadow::compare`, which shadow
/// reads use too), so the suite and the shadows judge "equal" alike.
fn compare(expected: &Rows, actual: &Rows, case: &Case) -> Result<(), String> {
    let tolerance = Tolerance {
        relative: case.tolerance,
        ordered: case.ordered,
    };
    compare::compare(expected, actual, tolerance).map_err(|m| m.message)
}

async fn direct(url: &str, sql: &str) -> Outcome {
    let result = crate::clickhouse::client(url)
        .query_raw(sql)
        .fetch_bytes("TabSeparated");
    let body = match result {
        Ok(mut cursor) => cursor.collect().await,
        Err(e) => Err(e),
    };
    match body {
        Ok(body) => Outcome::Rows(
            String::from_utf8_lossy(&body)
                .lines()
                .map(|line| {
                    line.split('\t')
                        .map(|field| {
                            if field == "\\N" {
                                Cell::Null
                            } else {
                                cell(Some(&unescape_tsv(field)))
                            }
                        })
                        .collect()
                })
                .collect(),
        ),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

pub fn unescape_tsv(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

async fn through(client: &tokio_postgres::Client, sql: &str) -> Outcome {
    match client.simple_query(sql).await {
        Ok(messages) => Outcome::Rows(
            simple_rows(&messages)
                .iter()
                .map(|row| row.iter().map(|v| cell(v.as_deref())).collect())
                .collect(),
        ),
        Err(e) => match e.as_db_error() {
            Some(db) if db.code().code() == "0A000" => Outcome::Rejected(db.message().to_owned()),
            Some(db) => Outcome::Failed(format!("{}: {}", db.code().code(), db.message())),
            None => Outcome::Failed(e.to_string()),
        },
    }
}

/// One target's verdict on one query: (status, detail, fails the suite).
fn verdict(
    expected: &Outcome,
    actual: &Outcome,
    case: &Case,
    target: &str,
) -> (&'static str, String, bool) {
    let declared = case.reject.iter().any(|t| t == target);
    match (expected, actual) {
        (_, Outcome::Rejected(message)) => ("rejected-0A000", message.clone(), !declared),
        (Outcome::Failed(e), _) => ("error", format!("directly on ClickHouse: {e}"), true),
        (_, Outcome::Failed(e)) => ("error", e.clone(), true),
        (Outcome::Rows(e), Outcome::Rows(a)) => match compare(e, a, case) {
            Ok(()) if declared => (
                "equal",
                "declared rejected here but runs and agrees: update the fixture".into(),
                false,
            ),
            Ok(()) => ("equal", String::new(), false),
            Err(why) => ("differ", why, true),
        },
        (Outcome::Rejected(_), _) => unreachable!("direct runs never reject"),
    }
}

/// `(target, name)` → the status recorded for a known gap.
fn known_gaps() -> BTreeMap<(String, String), String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/differential/known_gaps.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "known_gaps.txt: {line}");
            (
                (fields[0].to_owned(), fields[1].to_owned()),
                fields[2].to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn clickhouse_queries_agree_across_backends() {
    let Some(h) = harness() else { return };
    let cases = load_cases();
    assert!(cases.len() >= 100, "only {} queries", cases.len());
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(names.insert(&case.name), "duplicate name {}", case.name);
    }
    let gaps = known_gaps();
    let strict = std::env::var("SWITCHYARD_DIFFERENTIAL_STRICT").is_ok_and(|v| v == "1");
    let via_clickhouse = connect_to(h.clickhouse).await;
    let via_delta = connect_to(h.delta).await;
    let mut report = String::new();
    let mut tally: BTreeMap<(&'static str, &'static str), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut known_count = 0;
    for case in &cases {
        let expected = direct(&h.url, &case.sql).await;
        for (target, client) in [("clickhouse", &via_clickhouse), ("delta", &via_delta)] {
            let actual = through(client, &case.sql).await;
            let (status, mut detail, mut failed) = verdict(&expected, &actual, case, target);
            let known = gaps.get(&(target.to_owned(), case.name.clone()));
            let mark = match known {
                Some(recorded) if failed && recorded == status && !strict => {
                    failed = false;
                    known_count += 1;
                    "KNOWN"
                }
                Some(_) if !failed => {
                    detail = format!("fixed: remove it from known_gaps.txt. {detail}");
                    "ok   "
                }
                _ if failed => "FAIL ",
                _ => "ok   ",
            };
            *tally.entry((target, status)).or_default() += 1;
            let _ = writeln!(
                report,
                "{mark} {target:<10} {status:<15} {}/{}{}{}",
                case.file,
                case.name,
                if detail.is_empty() { "" } else { ": " },
                first_line(&detail)
            );
            if status == "rejected-0A000" && !failed && !case.why.is_empty() {
                let _ = writeln!(report, "{:<32}(declared: {})", "", case.why);
            }
            if failed {
                failures.push(format!("{target} {}: {status}", case.name));
            }
        }
    }
    let _ = writeln!(
        report,
        "\nsummary ({} queries; {known_count} results are known gaps listed in known_gaps.txt):",
        cases.len()
    );
    for ((target, status), count) in &tally {
        let _ = writeln!(report, "  {target:<10} {status:<15} {count}");
    }
    eprintln!("{report}");
    if let Ok(path) = std::env::var("SWITCHYARD_DIFFERENTIAL_REPORT") {
        std::fs::write(path, &report).expect("write report");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_owned()
    }
}

#[test]
fn fixture_headers_parse() {
    let cases = load_cases();
    assert!(cases.iter().all(|c| !c.sql.is_empty()));
    assert!(ends_in_order_by("SELECT a FROM t ORDER BY a"));
    assert!(!ends_in_order_by(
        "SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)"
    ));
    assert_eq!(
        cell(Some("2025-05-25 10:00:00.500+00")),
        cell(Some("2025-05-25 10:00:00.500"))
    );
    assert!(compare::same(
        &cell(Some("3")),
        &cell(Some("3.0000000001")),
        1e-9
    ));
}
