//! The corpus differential test: the 116 real dashboard queries of
//! `../shared/corpus/dashboards` (read at test time, never copied here) run over generated
//! rows (a) directly on ClickHouse, (b) through switchyard routed to that ClickHouse, (c)
//! through switchyard over Delta copies of the same tables made by `switchyard copy`, and
//! (d) are translated for StarRocks offline (no server). (b) and (c) are compared with (a)
//! by `switchyard::shadow::compare`, the comparison shadow reads use.
//!
//! Owns the verdicts and the report: per query and target equal / loose / differ /
//! refused (0A000, counted, never a failure) / error, and per target `translated / equal /
//! refused / differ / error`. "loose" is equal by shape only (same columns, and rows unless
//! the result depends on the clock or sampling), for the queries the corpus README calls
//! non-deterministic (`UNSTABLE`). The test fails on any differ (a wrong answer) or error
//! (not 0A000) except the known gaps of `fixtures/corpus/known_gaps.txt`, and when the
//! number of equal queries on a target drops below that file's floor.
//!
//! Rows of equal ORDER BY keys may come in any order, and a LIMIT may cut such a run
//! anywhere (README): an ordered result that differs only so is "loose" too.
//!
//! Submodules: `sqltext` reads the corpus and the hints in its SQL, `generate` writes the
//! data-generating INSERTs, `load` sets up ClickHouse, the Delta copies and the servers,
//! `wire` runs one query on each side, `values` compares Maps, tuples and nested arrays
//! by meaning.

mod generate;
mod load;
mod sqltext;
mod values;
mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use switchyard::emit::{translate, Target};
use switchyard::shadow::compare::{self, Rows, Tolerance};
use switchyard::sql::DialectSetting;

use crate::clickhouse::clickhouse_url;
use load::{read_corpus, Setup};
use sqltext::{tokens, Tok};
use wire::{Outcome, Pg};

/// Queries whose results are not deterministic or not exact by design (corpus README,
/// "Things to know when generating data and comparing results"): they compare by shape
/// when the exact comparison fails. `true`: the row count may differ too.
const UNSTABLE: &[(&str, bool, &str)] = &[
    (
        "time-relative (now())",
        true,
        "d027 d029 d031 d050 d051 d052 d058 d094",
    ),
    (
        "approximate distinct counts (uniq, uniqCombined*)",
        false,
        "d094 d096 d100 d101 d102 d106 d107 d108 d109 d115",
    ),
    (
        "approximate quantiles (quantile, quantiles, quantileTDigest*, quantileMerge)",
        false,
        "d002 d008 d009 d010 d018 d024 d066 d069 d075 d095",
    ),
    (
        "arbitrary row (any, anyLast, anyOrNull*)",
        false,
        "d010 d058 d059 d061 d062 d063 d064 d086 d087 d088",
    ),
    (
        "array order not defined (groupArray, groupUniqArray)",
        false,
        "d010 d011 d014 d015 d016 d044 d057 d058 d084 d098",
    ),
    ("sampling (SAMPLE 0.1)", true, "d046 d047 d048 d049"),
    (
        "WITH FILL adds gap rows whose values are defaults",
        false,
        "d001 d002 d003 d004 d005 d006 d018 d019 d021 d024 d026 d027 d030 d031 d093",
    ),
];

const TARGETS: [&str; 3] = ["clickhouse", "delta", "starrocks"];

/// Why a query is unstable, and whether its row count may differ.
fn unstable(id: &str) -> (Vec<&'static str>, bool) {
    let matching: Vec<_> = UNSTABLE
        .iter()
        .filter(|(_, _, ids)| ids.split_whitespace().any(|i| i == id))
        .collect();
    (
        matching.iter().map(|(why, _, _)| *why).collect(),
        matching.iter().any(|(_, rows_vary, _)| *rows_vary),
    )
}

/// Whether the outermost query has an ORDER BY, and a LIMIT (outside any parentheses).
fn outer_order_and_limit(sql: &str) -> (bool, bool) {
    let toks = tokens(sql);
    let (mut depth, mut order, mut limit) = (0i32, false, false);
    for (i, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Op(o) if o == "(" => depth += 1,
            Tok::Op(o) if o == ")" => depth -= 1,
            Tok::Ident(w) if depth == 0 && w.eq_ignore_ascii_case("ORDER") => {
                order |=
                    matches!(toks.get(i + 1), Some(Tok::Ident(b)) if b.eq_ignore_ascii_case("BY"))
            }
            Tok::Ident(w) if depth == 0 && order && w.eq_ignore_ascii_case("LIMIT") => limit = true,
            _ => {}
        }
    }
    (order, limit)
}

/// Ordered results that differ only where ORDER BY keys tie: the columns equal on every
/// row stand for the keys; within each run of equal keys the rows must be the same set,
/// except the last run when a LIMIT may have cut it.
fn only_ties_differ(expected: &Rows, actual: &Rows, limited: bool) -> bool {
    if expected.len() != actual.len() || expected.is_empty() {
        return false;
    }
    let width = expected[0].len();
    let keys: Vec<usize> = (0..width)
        .filter(|&j| {
            expected
                .iter()
                .zip(actual)
                .all(|(e, a)| matches!((e.get(j), a.get(j)), (Some(x), Some(y)) if compare::same(x, y, 1e-9)))
        })
        .collect();
    if keys.is_empty() || keys.len() == width {
        return false;
    }
    let key = |row: &Vec<compare::Cell>| -> Vec<compare::Cell> {
        keys.iter().map(|&j| row[j].clone()).collect()
    };
    let mut start = 0;
    while start < expected.len() {
        let mut end = start + 1;
        while end < expected.len() && key(&expected[end]) == key(&expected[start]) {
            end += 1;
        }
        let last = end == expected.len();
        let unordered = Tolerance {
            relative: 1e-9,
            ordered: false,
        };
        let run = |rows: &Rows| rows[start..end].to_vec();
        if !(last && limited) && compare::compare(&run(expected), &run(actual), unordered).is_err()
        {
            return false;
        }
        start = end;
    }
    true
}

/// Corpus tables a query reads (`FROM t`, `JOIN t`, `FROM default.t`).
fn tables_read(sql: &str, known: &[String]) -> BTreeSet<String> {
    let toks = tokens(sql);
    let mut out = BTreeSet::new();
    for (i, tok) in toks.iter().enumerate() {
        let Tok::Ident(name) = tok else { continue };
        let mut before = i.wrapping_sub(1);
        if toks.get(before) == Some(&Tok::Op(".".into())) {
            before = i.wrapping_sub(3);
        }
        let after_from = matches!(toks.get(before), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("FROM") || w.eq_ignore_ascii_case("JOIN"));
        if after_from && known.contains(name) {
            out.insert(name.clone());
        }
    }
    out
}

/// One target's verdict on one query: (status, detail).
fn verdict(id: &str, sql: &str, expected: &Outcome, actual: &Outcome) -> (&'static str, String) {
    let (e_columns, e_rows, a_columns, a_rows) = match (expected, actual) {
        (_, Outcome::Refused(why)) => return ("refused", why.clone()),
        (Outcome::Failed(e), _) => return ("error", format!("directly on ClickHouse: {e}")),
        (_, Outcome::Failed(e)) => return ("error", e.clone()),
        (
            Outcome::Rows { columns, rows },
            Outcome::Rows {
                columns: c,
                rows: r,
            },
        ) => (columns, rows, c, r),
        (Outcome::Refused(_), _) => unreachable!("direct runs never refuse"),
    };
    let (ordered, limited) = outer_order_and_limit(sql);
    let (mut e_rows, mut a_rows) = (e_rows.clone(), a_rows.clone());
    values::canonicalize(&mut e_rows, &mut a_rows);
    let tolerance = Tolerance {
        relative: 1e-9,
        ordered,
    };
    let exact = compare::compare(&e_rows, &a_rows, tolerance);
    if exact.is_ok() && e_columns == a_columns {
        return ("equal", String::new());
    }
    if ordered && e_columns == a_columns && only_ties_differ(&e_rows, &a_rows, limited) {
        return ("loose", "equal but for rows whose ORDER BY keys tie".into());
    }
    let why = match exact {
        Err(mismatch) => format!(
            "{}; {}",
            mismatch.message,
            mismatch.samples.first().cloned().unwrap_or_default()
        ),
        Ok(()) => format!("{e_columns} columns expected, {a_columns} here"),
    };
    let (reasons, rows_vary) = unstable(id);
    // Same shape: the columns, and unless the clock or sampling decides, the rows and
    // where NULLs are (an empty array is not NULL).
    let nulls = |rows: &Rows, j: usize| {
        rows.iter()
            .filter(|r| r.get(j) == Some(&compare::Cell::Null))
            .count()
    };
    let same_shape = e_columns == a_columns
        && (rows_vary
            || (e_rows.len() == a_rows.len()
                && (0..*e_columns).all(|j| nulls(&e_rows, j) == nulls(&a_rows, j))));
    if !reasons.is_empty() && same_shape {
        return (
            "loose",
            format!("equal by shape only ({}): {why}", reasons.join("; ")),
        );
    }
    ("differ", why)
}

/// `(id, target)` → recorded status, and `target` → floor of equal queries.
type KnownGaps = (BTreeMap<(String, String), String>, BTreeMap<String, usize>);

fn known_gaps() -> KnownGaps {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus/known_gaps.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (mut gaps, mut floors) = (BTreeMap::new(), BTreeMap::new());
    for line in text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["floor", target, n] => {
                floors.insert(
                    target.to_string(),
                    n.parse().expect("known_gaps.txt: floor count"),
                );
            }
            [id, target, status] => {
                assert!(
                    TARGETS.contains(target),
                    "known_gaps.txt: unknown target in {line}"
                );
                gaps.insert((id.to_string(), target.to_string()), status.to_string());
            }
            _ => panic!("known_gaps.txt: cannot read {line:?}"),
        }
    }
    (gaps, floors)
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// The verdicts on one query, per target.
struct Row {
    id: String,
    /// Rows ClickHouse itself returned (an empty answer agrees trivially).
    expected_rows: String,
    /// (target, status, detail)
    results: Vec<(&'static str, &'static str, String)>,
    /// Targets `emit::translate` translates the query for (offline, with the tables'
    /// ClickHouse schemas and dedup rules).
    translated: Vec<&'static str>,
}

/// Offline translation: "translated", or the refusal/error.
fn translated(sql: &str, target: Target, setup: &Setup) -> (&'static str, String) {
    match translate(sql, DialectSetting::Auto, target, &setup.context) {
        Ok(_) => ("translated", String::new()),
        Err(e) if e.sqlstate() == "0A000" => ("refused", e.to_string()),
        Err(e) => ("error", format!("{}: {e}", e.sqlstate())),
    }
}

/// Runs every query on each side and judges it.
async fn run_queries(corpus: &load::Corpus, setup: &Setup) -> Vec<Row> {
    let mut via_clickhouse = Pg::connect(setup.clickhouse).await;
    let mut via_delta = Pg::connect(setup.delta).await;
    let mut rows = Vec::new();
    for query in &corpus.queries {
        let bound: Vec<(String, String)> = wire::parameter_names(&query.sql)
            .into_iter()
            .map(|n| {
                let value = corpus.params.get(&n).cloned().unwrap_or_default();
                (n, value)
            })
            .collect();
        let values: Vec<String> = bound.iter().map(|(_, v)| v.clone()).collect();
        let expected = wire::direct(&setup.url, &query.sql, &bound).await;
        let mut row = Row {
            id: query.id.clone(),
            expected_rows: match &expected {
                Outcome::Rows { rows, .. } => rows.len().to_string(),
                _ => "-".into(),
            },
            results: Vec::new(),
            translated: Vec::new(),
        };
        for (target, pg, addr, offline) in [
            (
                "clickhouse",
                &mut via_clickhouse,
                setup.clickhouse,
                Target::ClickHouse,
            ),
            ("delta", &mut via_delta, setup.delta, Target::DataFusion),
        ] {
            if translated(&query.sql, offline, setup).0 == "translated" {
                row.translated.push(target);
            }
            let actual = pg.run(&query.sql, &values).await;
            if matches!(&actual, Outcome::Failed(e) if e == "timed out") {
                // The connection is mid-answer: start afresh for the next query.
                *pg = Pg::connect(addr).await;
            }
            let (mut status, mut detail) = verdict(&query.id, &query.sql, &expected, &actual);
            let lost: Vec<String> = tables_read(&query.sql, &setup.tables)
                .into_iter()
                .filter(|t| setup.copy_failures.contains_key(t))
                .collect();
            // A table missing from Delta fails routing (42P01): the copy's gap, not the query's.
            if target == "delta"
                && !lost.is_empty()
                && status == "error"
                && detail.starts_with("42P01")
            {
                status = "refused";
                detail = format!("not copied to Delta: {}", lost.join(", "));
            }
            row.results.push((target, status, detail));
        }
        let (status, detail) = translated(&query.sql, Target::StarRocks, setup);
        if status == "translated" {
            row.translated.push("starrocks");
        }
        row.results.push(("starrocks", status, detail));
        rows.push(row);
    }
    rows
}

/// The report, and the failures: differ/error results not recorded as known gaps, and
/// targets below their floor.
fn report(rows: &[Row], setup: &Setup, (gaps, floors): &KnownGaps) -> (String, Vec<String>) {
    let mut report = String::new();
    let mut failures = Vec::new();
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let _ = writeln!(
        report,
        "\n{:<5} {:>5} {:<12} {:<12} {:<12} first line of the refusal/error",
        "id", "rows", "clickhouse", "delta", "starrocks"
    );
    for row in rows {
        let mut details = Vec::new();
        let mut cells = Vec::new();
        for (target, status, detail) in &row.results {
            *tally.entry((target, status)).or_default() += 1;
            let failing = matches!(*status, "differ" | "error");
            let mark = match gaps.get(&(row.id.clone(), target.to_string())) {
                Some(recorded) if failing && recorded == status => "KNOWN ",
                Some(recorded) if !failing => {
                    details.push(format!(
                        "{target}: fixed ({recorded} in known_gaps.txt, now {status}): remove the line"
                    ));
                    ""
                }
                _ if failing => {
                    failures.push(format!(
                        "{} {target} {status}: {}",
                        row.id,
                        first_line(detail)
                    ));
                    "FAIL "
                }
                _ => "",
            };
            cells.push(format!("{mark}{status}"));
            if !detail.is_empty() {
                details.push(format!("{target}: {}", first_line(detail)));
            }
        }
        let _ = writeln!(
            report,
            "{:<5} {:>5} {:<12} {:<12} {:<12} {}",
            row.id,
            row.expected_rows,
            cells[0],
            cells[1],
            cells[2],
            details.first().cloned().unwrap_or_default()
        );
        for detail in details.iter().skip(1) {
            let _ = writeln!(report, "{:<50} {detail}", "");
        }
    }
    for (table, why) in &setup.copy_failures {
        let _ = writeln!(report, "copy to Delta failed: {table}: {}", first_line(why));
    }
    let total = rows.len();
    let empty = rows.iter().filter(|r| r.expected_rows == "0").count();
    let pct = |n: usize| 100.0 * n as f64 / total as f64;
    let _ = writeln!(
        report,
        "\nsummary: {total} queries ({empty} answered with no rows by ClickHouse); \
         load {:.1}s, copy to Delta {:.1}s",
        setup.load_time.as_secs_f64(),
        setup.copy_time.as_secs_f64(),
    );
    for target in TARGETS {
        let count = |s: &str| tally.get(&(target, s)).copied().unwrap_or(0);
        let translated = rows
            .iter()
            .filter(|r| r.translated.contains(&target))
            .count();
        let equal = count("equal") + count("loose");
        let outcome = if target == "starrocks" {
            // No StarRocks server: nothing ran, nothing to compare.
            format!(
                "refused {} ({:.0}%) / error {} (translation only, no server)",
                count("refused"),
                pct(count("refused")),
                count("error")
            )
        } else {
            format!(
                "equal {equal} ({:.0}%; {} of them by shape or ties) / refused {} ({:.0}%) / differ {} / error {} ({:.0}%)",
                pct(equal),
                count("loose"),
                count("refused"),
                pct(count("refused")),
                count("differ"),
                count("error"),
                pct(count("error")),
            )
        };
        let _ = writeln!(
            report,
            "  {target:<10} translated {translated} ({:.0}%) / {outcome}",
            pct(translated)
        );
        if let Some(floor) = floors.get(target) {
            if equal < *floor {
                failures.push(format!(
                    "{target}: {equal} queries equal, below the floor of {floor} in known_gaps.txt"
                ));
            }
        }
    }
    (report, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_corpus_agrees_across_backends() {
    let Some(url) = clickhouse_url() else {
        eprintln!(
            "SKIPPED: the dashboard corpus needs ClickHouse (set SWITCHYARD_TEST_CLICKHOUSE_URL)"
        );
        return;
    };
    let Some(corpus) = read_corpus() else {
        eprintln!(
            "SKIPPED: no corpus at {} (../shared/corpus/dashboards)",
            load::corpus_dir().display()
        );
        return;
    };
    let started = Instant::now();
    let setup = load::setup(&url, &corpus);
    let rows = run_queries(&corpus, setup).await;
    let (mut report, failures) = report(&rows, setup, &known_gaps());
    let _ = writeln!(report, "test time {:.1}s", started.elapsed().as_secs_f64());
    eprintln!("{report}");
    if let Ok(path) = std::env::var("SWITCHYARD_CORPUS_REPORT") {
        std::fs::write(path, &report).expect("write report");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The corpus reads as the README describes, and its SQL yields the hints the generator
/// needs (no server needed).
#[test]
fn corpus_files_parse() {
    let Some(corpus) = read_corpus() else {
        eprintln!("SKIPPED: no corpus at {}", load::corpus_dir().display());
        return;
    };
    assert_eq!(corpus.queries.len(), 116);
    assert_eq!(corpus.statements.len(), 41);
    let ids: BTreeSet<&str> = corpus.queries.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids.len(), 116, "ids are unique");
    for query in &corpus.queries {
        assert!(!query.sql.ends_with(';'), "{}", query.id);
        for name in wire::parameter_names(&query.sql) {
            assert!(
                corpus.params.contains_key(&name),
                "{}: no value for {name}",
                query.id
            );
        }
    }
    for (_, _, listed) in UNSTABLE {
        assert!(
            listed.split_whitespace().all(|id| ids.contains(id)),
            "{listed}"
        );
    }
    let mut hints = sqltext::Hints::default();
    for query in &corpus.queries {
        hints.scan(&query.sql, &corpus.params);
    }
    assert!(hints.equal["workspace_id"].contains(&corpus.params["workspace_id"]));
    assert!(hints.map_keys["LogAttributes"].contains_key("http.method"));
    assert!(
        matches!(hints.json.get("attributes"), Some(sqltext::Json::Object(keys)) if keys.contains_key("llm.model"))
    );
    assert_eq!(
        outer_order_and_limit("SELECT a FROM t ORDER BY a LIMIT 3"),
        (true, true)
    );
    assert_eq!(
        outer_order_and_limit("SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)"),
        (false, false)
    );
    // Rows tied on the key column (1) may swap; a LIMIT may cut the last run anywhere.
    let rows = |cells: &[(&str, f64)]| -> Rows {
        cells
            .iter()
            .map(|(t, n)| {
                vec![
                    compare::Cell::Text(t.to_string()),
                    compare::Cell::Number(*n),
                ]
            })
            .collect()
    };
    let expected = rows(&[("a", 2.0), ("b", 2.0), ("c", 1.0)]);
    assert!(only_ties_differ(
        &expected,
        &rows(&[("b", 2.0), ("a", 2.0), ("c", 1.0)]),
        false
    ));
    assert!(only_ties_differ(
        &expected,
        &rows(&[("a", 2.0), ("b", 2.0), ("d", 1.0)]),
        true
    ));
    assert!(!only_ties_differ(
        &expected,
        &rows(&[("a", 2.0), ("b", 2.0), ("d", 1.0)]),
        false
    ));
    assert!(!only_ties_differ(
        &expected,
        &rows(&[("a", 2.0), ("d", 2.0), ("c", 1.0)]),
        true
    ));
    assert_eq!(
        wire::parameter_names("SELECT {b:String}, {a: UInt32}, {b:String}"),
        ["b", "a"]
    );
}
