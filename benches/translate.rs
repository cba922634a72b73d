//! Translation speed: parse → IR → emit for every ClickHouse-flavoured query of the
//! translate fixtures and the 43 ClickBench queries (read from ../shared when present),
//! ClickHouse → StarRocks, the same corpus `benches/translate_vs_sqlglot.sh` times
//! sqlglot on. `SWITCHYARD_BENCH_CORPUS=FILE` writes that corpus, one query per line.
//!
//! Then the typed-translation budget: the real dashboard queries of
//! ../shared/corpus/dashboards, typed by their tables' DDL, translated for DataFusion and
//! ClickHouse against sqlparser's bare parse + print of the same text, in the same run
//! (the ratio must stay within 2×).
//!
//!   cargo bench --bench translate            # criterion, per-query median
//!   benches/translate_vs_sqlglot.sh          # the same run against sqlglot

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use switchyard::emit::{translate, EmitContext, Target};
use switchyard::sql::DialectSetting;

/// ClickHouse-flavoured queries that translate for StarRocks (rejected ones are
/// excluded: timing an error path says nothing about translation speed).
fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut queries = Vec::new();
    let fixtures = std::fs::read_dir(root.join("fixtures/translate")).expect("fixtures exist");
    let mut files: Vec<_> = fixtures.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture readable");
        for block in text.split("\n\n") {
            let sql = block.lines().find_map(|l| l.strip_prefix("sql: "));
            let from = block.lines().find_map(|l| l.strip_prefix("from: "));
            if let (Some(sql), Some("clickhouse")) = (sql, from) {
                queries.push(sql.to_owned());
            }
        }
    }
    let clickbench = root.join("../shared/bench/clickbench/clickhouse-queries.sql");
    match std::fs::read_to_string(&clickbench) {
        Ok(text) => queries.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| l.trim_end_matches(';').to_owned()),
        ),
        Err(_) => eprintln!(
            "SKIPPED ClickBench queries: {} not found",
            clickbench.display()
        ),
    }
    queries.retain(|sql| to_starrocks(sql).is_ok());
    queries
}

fn to_starrocks(sql: &str) -> switchyard::error::Result<String> {
    translate(
        sql,
        DialectSetting::ClickHouse,
        Target::StarRocks,
        &EmitContext::default(),
    )
}

/// The dashboard corpus's queries (final `;` dropped) and its tables' schemas.
fn dashboards() -> Option<(Vec<String>, EmitContext)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dashboards");
    let text = std::fs::read_to_string(dir.join("queries.sql")).ok()?;
    let ddl = std::fs::read_to_string(dir.join("schema.sql")).ok()?;
    let mut queries = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with("-- id: ") {
            if !current.trim().is_empty() {
                queries.push(current.trim().trim_end_matches(';').to_owned());
            }
            current.clear();
        } else if !queries.is_empty() || !current.is_empty() || !line.starts_with("--") {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        queries.push(current.trim().trim_end_matches(';').to_owned());
    }
    let context = EmitContext {
        tables: switchyard::backend::clickhouse::ddl::schemas(&ddl).ok()?,
        ..EmitContext::default()
    };
    Some((queries, context))
}

/// Typed translation (parse, lower, type, emit) against sqlparser's parse + print of the
/// same text, over the dashboard corpus: total time of each, same run, same queries.
fn typed_vs_bare(runs: u32) {
    let Some((queries, context)) = dashboards() else {
        eprintln!("SKIPPED typed-vs-bare: ../shared/corpus/dashboards not found");
        return;
    };
    let dialect = sqlparser::dialect::ClickHouseDialect {};
    // Only what both can read: sqlparser's bare parse fails on some ClickHouse syntax.
    let readable: Vec<&String> = queries
        .iter()
        .filter(|q| sqlparser::parser::Parser::parse_sql(&dialect, q).is_ok())
        .collect();
    let time = |f: &dyn Fn(&str)| {
        let started = Instant::now();
        for _ in 0..runs {
            for q in &readable {
                f(std::hint::black_box(q));
            }
        }
        started.elapsed() / runs
    };
    let bare = time(&|q| {
        let parsed = sqlparser::parser::Parser::parse_sql(&dialect, q).unwrap();
        std::hint::black_box(parsed.iter().map(|s| s.to_string().len()).sum::<usize>());
    });
    for target in [Target::DataFusion, Target::ClickHouse] {
        let translated = readable
            .iter()
            .filter(|q| translate(q, DialectSetting::ClickHouse, target, &context).is_ok())
            .count();
        let typed = time(&|q| {
            let _ =
                std::hint::black_box(translate(q, DialectSetting::ClickHouse, target, &context));
        });
        println!(
            "dashboard corpus → {}: {} queries ({} translate), typed translation {:.0} µs, \
             sqlparser parse + print {:.0} µs: {:.2}× the bare parse",
            target.name(),
            readable.len(),
            translated,
            typed.as_secs_f64() * 1e6,
            bare.as_secs_f64() * 1e6,
            typed.as_secs_f64() / bare.as_secs_f64()
        );
    }
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    if let Ok(path) = std::env::var("SWITCHYARD_BENCH_CORPUS") {
        std::fs::write(&path, corpus.join("\n") + "\n").expect("corpus written");
    }
    // One figure for the whole corpus: the median over queries of each query's mean.
    // `cargo test` runs benches once as a smoke test (no `--bench` argument).
    let runs = if std::env::args().any(|a| a == "--bench") {
        200
    } else {
        1
    };
    let mut per_query: Vec<Duration> = corpus
        .iter()
        .map(|sql| {
            let started = Instant::now();
            for _ in 0..runs {
                std::hint::black_box(to_starrocks(std::hint::black_box(sql)).unwrap());
            }
            started.elapsed() / runs
        })
        .collect();
    typed_vs_bare(if runs > 1 { 50 } else { 1 });
    per_query.sort();
    if let Some(median) = per_query.get(per_query.len() / 2) {
        println!(
            "switchyard translate ClickHouse → StarRocks: {} queries, median {:.1} µs per query",
            corpus.len(),
            median.as_secs_f64() * 1e6
        );
    }
    let mut group = c.benchmark_group("translate_clickhouse_to_starrocks");
    group
        .sample_size(20)
        .measurement_time(Duration::from_millis(300));
    group.warm_up_time(Duration::from_millis(100));
    for (i, sql) in corpus.iter().enumerate() {
        group.bench_function(format!("q{i:03}"), |b| {
            b.iter(|| to_starrocks(sql).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
