//! Shadow reads: a query whose tables have a shadow backend runs there too, in the
//! background, and the two results are compared (`compare`). The client only ever sees
//! the primary's answer: the shadow never slows it, fails it or makes it wait.
//!
//! Bounds: a semaphore caps shadows in flight (none free: the shadow is skipped and
//! counted, never queued); each side keeps at most `max_rows` rows for the comparison
//! (more: counted as too_large). The primary's batches are teed into that bounded copy
//! as they stream to the client.
//!
//! Outcomes are counted per query fingerprint (the primary's SQL with literals replaced)
//! and primary/shadow pair, with each side's latency: `switchyard.shadow_report` and the
//! Prometheus metrics read them. Every mismatch is logged with both SQL texts.

pub mod compare;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use futures::{Stream, StreamExt};
use sqlparser::tokenizer::{Token, Tokenizer};
use tokio::sync::{oneshot, OwnedSemaphorePermit};

use crate::backend::{BackendRef, BatchStream};
use crate::emit::Target;
use crate::error::Result;
use crate::ir;
use compare::Tolerance;

/// What became of one shadowed query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Both answered the same.
    Equal,
    /// Both answered, differently.
    Differ,
    /// The shadow failed (the primary answered).
    Error,
    /// The shadow's dialect cannot express the query (0A000 there).
    Rejected,
    /// No shadow slot was free.
    Skipped,
    /// The primary failed or its client stopped reading: nothing to compare.
    Incomplete,
    /// A side returned more rows than a comparison keeps.
    TooLarge,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Equal,
        Outcome::Differ,
        Outcome::Error,
        Outcome::Rejected,
        Outcome::Skipped,
        Outcome::Incomplete,
        Outcome::TooLarge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Equal => "equal",
            Outcome::Differ => "differ",
            Outcome::Error => "error",
            Outcome::Rejected => "rejected",
            Outcome::Skipped => "skipped",
            Outcome::Incomplete => "incomplete",
            Outcome::TooLarge => "too_large",
        }
    }
}

/// Count, sum and maximum of one side's latencies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub count: u64,
    pub sum: Duration,
    pub max: Duration,
}

impl Latency {
    fn add(&mut self, took: Duration) {
        self.count += 1;
        self.sum += took;
        self.max = self.max.max(took);
    }
}

/// One report row: a query shape on one primary/shadow pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub fingerprint: String,
    pub primary: String,
    pub shadow: String,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// The normalised primary SQL.
    pub query: String,
    counts: [u64; Outcome::ALL.len()],
    pub primary_latency: Latency,
    pub shadow_latency: Latency,
    /// The latest mismatch, shadow error or rejection.
    pub last_detail: Option<String>,
}

impl Stats {
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize]
    }
}

/// Distinct report rows kept; later shapes share one `other` row, so ad-hoc queries
/// cannot grow memory without bound.
const MAX_FINGERPRINTS: usize = 1000;

/// Outcome counts, shared by every routing generation (they survive reloads).
#[derive(Default)]
pub struct Report {
    stats: Mutex<BTreeMap<Key, Stats>>,
}

impl Report {
    pub fn snapshot(&self) -> Vec<(Key, Stats)> {
        let stats = self.stats.lock().unwrap();
        stats.iter().map(|(k, s)| (k.clone(), s.clone())).collect()
    }

    fn update(&self, key: &Key, query: &str, f: impl FnOnce(&mut Stats)) {
        let mut stats = self.stats.lock().unwrap();
        let key = if stats.len() >= MAX_FINGERPRINTS && !stats.contains_key(key) {
            Key {
                fingerprint: "other".into(),
                ..key.clone()
            }
        } else {
            key.clone()
        };
        let entry = stats.entry(key).or_insert_with(|| Stats {
            query: query.to_owned(),
            ..Stats::default()
        });
        f(entry);
    }

    /// Counts one outcome for `key`; `detail` replaces the row's last detail.
    pub fn record(&self, key: &Key, query: &str, outcome: Outcome, detail: Option<String>) {
        self.update(key, query, |stats| {
            stats.counts[outcome as usize] += 1;
            if detail.is_some() {
                stats.last_detail = detail;
            }
        });
    }
}

/// A query's shape: its SQL with literals and parameters replaced by `?` and
/// whitespace collapsed, and a stable hash of that.
pub fn fingerprint(sql: &str, target: Target) -> (String, String) {
    let clickhouse = sqlparser::dialect::ClickHouseDialect {};
    let mysql = sqlparser::dialect::MySqlDialect {};
    let generic = sqlparser::dialect::GenericDialect {};
    let dialect: &dyn sqlparser::dialect::Dialect = match target {
        Target::ClickHouse => &clickhouse,
        Target::StarRocks => &mysql,
        Target::DataFusion => &generic,
    };
    let normalized = match Tokenizer::new(dialect, sql).tokenize() {
        Ok(tokens) => {
            let mut out = String::with_capacity(sql.len());
            for token in tokens {
                match token {
                    Token::Whitespace(_) => {
                        if !out.ends_with(' ') {
                            out.push(' ');
                        }
                    }
                    Token::Number(..)
                    | Token::SingleQuotedString(_)
                    | Token::DoubleQuotedString(_)
                    | Token::NationalStringLiteral(_)
                    | Token::EscapedStringLiteral(_)
                    | Token::HexStringLiteral(_)
                    | Token::Placeholder(_) => out.push('?'),
                    other => out.push_str(&other.to_string()),
                }
            }
            out.trim().to_owned()
        }
        Err(_) => sql.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let hash = normalized.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (format!("{hash:016x}"), normalized)
}

/// Whether the `tick`-th query considered is shadowed at rate `sample`: exactly that
/// share of queries, evenly spread (no randomness to make tests flaky).
pub fn sampled(tick: u64, sample: f64) -> bool {
    let tick = tick as f64;
    ((tick + 1.0) * sample).floor() > (tick * sample).floor()
}

/// ClickHouse aggregates whose answers are estimates, with the relative error a
/// shadow comparison allows for a query using them. Another engine's estimate (or
/// exact answer) differs by up to about that much.
const APPROXIMATE: &[(&str, f64)] = &[
    ("uniq", 0.05),
    ("uniqhll12", 0.05),
    ("uniqcombined", 0.05),
    ("uniqcombined64", 0.05),
    ("uniqtheta", 0.05),
    ("approx_distinct", 0.05),
    ("approx_count_distinct", 0.05),
    ("quantile", 0.2),
    ("quantiles", 0.2),
    ("median", 0.2),
    ("quantiletdigest", 0.2),
    ("quantilestdigest", 0.2),
    ("mediantdigest", 0.2),
    ("quantiletiming", 0.2),
    ("quantilebfloat16", 0.2),
    ("approx_percentile_cont", 0.2),
    ("percentile_approx", 0.2),
];

/// How a shadow result may differ from the primary's for `query`: in order only with an
/// ORDER BY; numbers within 1e-9, or the loosest bound of the estimates it computes.
pub fn tolerance(query: &ir::Query) -> Tolerance {
    let mut relative = 1e-9f64;
    ir::visit::for_each_expr(query, &mut |expr| {
        if let ir::Expr::Function(call) = expr {
            let name = call.func.name().to_ascii_lowercase();
            // The -If combinator (`quantileTDigestIf`) estimates like its aggregate.
            let aggregate = name.strip_suffix("if").unwrap_or(&name);
            let estimate = |n: &&(&str, f64)| n.0 == name || n.0 == aggregate;
            if let Some((_, bound)) = APPROXIMATE.iter().find(estimate) {
                relative = relative.max(*bound);
            }
        }
    });
    Tolerance {
        relative,
        ordered: !query.order_by.is_empty(),
    }
}

/// A shadow about to run: everything its task needs.
pub struct Job {
    pub report: Arc<Report>,
    pub key: Key,
    pub query: String,
    pub primary_sql: String,
    pub shadow_sql: String,
    pub backend: BackendRef,
    pub tolerance: Tolerance,
    pub max_rows: usize,
    pub permit: OwnedSemaphorePermit,
}

/// What the primary returned, up to the row cap.
struct Captured {
    batches: Vec<RecordBatch>,
    too_large: bool,
    took: Duration,
}

impl Job {
    /// Starts the shadow query in the background; returns the primary's stream teed
    /// into the comparison.
    pub fn start(self, primary: BatchStream, started: Instant) -> BatchStream {
        let (tx, rx) = oneshot::channel();
        let max_rows = self.max_rows;
        tokio::spawn(self.run(rx));
        Box::pin(Tee {
            inner: primary,
            capture: Some((tx, Vec::new(), 0)),
            max_rows,
            started,
        })
    }

    /// Holds its permit to the end, so comparisons (and the rows they hold) are
    /// bounded by the same semaphore as shadow queries.
    async fn run(self, primary: oneshot::Receiver<Captured>) {
        let started = Instant::now();
        let shadow = collect(&self.backend, &self.shadow_sql, self.max_rows).await;
        let took = started.elapsed();
        let report = &self.report;
        let (key, query) = (&self.key, self.query.as_str());
        report.update(key, query, |stats| stats.shadow_latency.add(took));
        let Ok(primary) = primary.await else {
            return report.record(key, query, Outcome::Incomplete, None);
        };
        report.update(key, query, |stats| stats.primary_latency.add(primary.took));
        let shadow = match shadow {
            Err(e) => {
                tracing::warn!(
                    fingerprint = %key.fingerprint,
                    shadow = %key.shadow,
                    shadow_sql = %self.shadow_sql,
                    error = %e,
                    "shadow query failed"
                );
                return report.record(key, query, Outcome::Error, Some(e.to_string()));
            }
            Ok(None) => return report.record(key, query, Outcome::TooLarge, None),
            Ok(Some(batches)) => batches,
        };
        if primary.too_large {
            return report.record(key, query, Outcome::TooLarge, None);
        }
        let expected = compare::rows_from_batches(&primary.batches);
        let actual = compare::rows_from_batches(&shadow);
        match compare::compare(&expected, &actual, self.tolerance) {
            Ok(()) => report.record(key, query, Outcome::Equal, None),
            Err(mismatch) => {
                tracing::warn!(
                    fingerprint = %key.fingerprint,
                    primary = %key.primary,
                    shadow = %key.shadow,
                    primary_sql = %self.primary_sql,
                    shadow_sql = %self.shadow_sql,
                    difference = %mismatch.message,
                    rows = %mismatch.samples.join("; "),
                    "shadow result differs (primary | shadow)"
                );
                let detail = format!("{}; {}", mismatch.message, mismatch.samples.join("; "));
                report.record(key, query, Outcome::Differ, Some(detail));
            }
        }
    }
}

/// The shadow's batches, or None past `max_rows` (the rest is never read).
async fn collect(
    backend: &BackendRef,
    sql: &str,
    max_rows: usize,
) -> Result<Option<Vec<RecordBatch>>> {
    let mut result = backend.execute(sql).await?;
    let (mut batches, mut rows) = (Vec::new(), 0);
    while let Some(batch) = result.batches.next().await {
        let batch = batch?;
        rows += batch.num_rows();
        if rows > max_rows {
            return Ok(None);
        }
        batches.push(batch);
    }
    Ok(Some(batches))
}

/// Passes the primary's batches through, keeping a copy of the first `max_rows` rows;
/// hands the copy to the shadow task once the stream ends. A stream dropped early or
/// failing hands nothing (the shadow counts it incomplete).
struct Tee {
    inner: BatchStream,
    capture: Option<(oneshot::Sender<Captured>, Vec<RecordBatch>, usize)>,
    max_rows: usize,
    started: Instant,
}

impl Stream for Tee {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = this.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => {
                if let Some((_, kept, rows)) = &mut this.capture {
                    *rows += batch.num_rows();
                    if *rows <= this.max_rows {
                        kept.push(batch.clone());
                    } else {
                        // Too large to compare: let the memory go now.
                        kept.clear();
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => this.capture = None,
            Poll::Ready(None) => {
                if let Some((tx, batches, rows)) = this.capture.take() {
                    let _ = tx.send(Captured {
                        batches,
                        too_large: rows > this.max_rows,
                        took: this.started.elapsed(),
                    });
                }
            }
            Poll::Pending => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_literals_and_spacing() {
        let (a, text) = fingerprint(
            "SELECT n FROM t WHERE n > 1 AND s = 'x\\'y'  LIMIT 10",
            Target::ClickHouse,
        );
        let (b, _) = fingerprint(
            "SELECT n FROM t WHERE n > 42 AND s = 'z' LIMIT 5",
            Target::ClickHouse,
        );
        let (c, _) = fingerprint(
            "SELECT n FROM t WHERE n < 1 AND s = 'x' LIMIT 10",
            Target::ClickHouse,
        );
        assert_eq!(text, "SELECT n FROM t WHERE n > ? AND s = ? LIMIT ?");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn sampling_takes_exactly_the_share_asked() {
        let taken = |sample| (0..1000).filter(|&t| sampled(t, sample)).count();
        assert_eq!(taken(1.0), 1000);
        assert_eq!(taken(0.0), 0);
        assert_eq!(taken(0.25), 250);
        assert!(!sampled(0, 0.5) && sampled(1, 0.5));
    }

    #[test]
    fn approximate_aggregates_loosen_the_tolerance() {
        let query = |sql: &str| {
            let statement = crate::sql::parse_as(sql, ir::Flavor::ClickHouse)
                .unwrap()
                .remove(0);
            let sqlparser::ast::Statement::Query(query) = statement else {
                panic!("{sql}")
            };
            crate::sql::lower_query_as(&query, ir::Flavor::ClickHouse).unwrap()
        };
        let exact = tolerance(&query("SELECT model, count() FROM t GROUP BY model"));
        assert_eq!((exact.relative, exact.ordered), (1e-9, false));
        let approx = tolerance(&query(
            "SELECT model, quantile(0.9)(latency_ms) FROM t GROUP BY model ORDER BY model",
        ));
        assert_eq!((approx.relative, approx.ordered), (0.2, true));
    }
}
