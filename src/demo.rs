//! Demo data for the embedded default backend: two Delta Lake tables of LLM-gateway
//! logs (`llm_requests`, `llm_feedback`) created on first start, and discovery of
//! the Delta tables that live under a data directory.
//!
//! This module owns the synthetic data model and writing it as Delta tables. It must
//! never write into a data directory that already holds a Delta table, never hold a
//! whole table in memory, and never use platform maths (libm) or third-party RNGs:
//! the same `rows` must give the same content on every run and machine.
//!
//! The model borrows its columns from real gateways (TensorZero's `ModelInference`,
//! Langfuse's observations and scores, Helicone's `request_response_rmt`): a few
//! models dominate, traffic follows the sun, latency is long-tailed, and errors come
//! in bursts (provider outages, nightly rate-limit storms) rather than uniformly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, MapBuilder,
    MapFieldNames, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::StructType;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::DeltaTable;
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, Result};

/// End of the demo window: 2025-06-01T00:00:00Z, in milliseconds since the epoch.
pub const ANCHOR_MS: i64 = 1_748_736_000_000;
/// One row per gateway request.
pub const REQUESTS_TABLE: &str = "llm_requests";
/// User and evaluator feedback on some of the requests, joined on `request_id`.
pub const FEEDBACK_TABLE: &str = "llm_feedback";

const MINUTE_MS: i64 = 60_000;
const DAY_MINUTES: usize = 24 * 60;
const WINDOW_MINUTES: usize = 7 * DAY_MINUTES;
/// Start of the window: Sunday 2025-05-25T00:00:00Z.
const WINDOW_START_MS: i64 = ANCHOR_MS - WINDOW_MINUTES as i64 * MINUTE_MS;

/// Rows per RecordBatch, and batches per Delta commit (one Parquet file each).
const BATCH_ROWS: usize = 65_536;
const BATCHES_PER_COMMIT: usize = 4;
/// Tables are generated here and renamed into place once complete, so an
/// interrupted first start leaves no half-written table behind. Hidden, so
/// `discover_tables` never serves it.
const STAGING_DIR: &str = ".switchyard-demo-staging";

/// Seeds for the two independent random streams (traffic shape, request contents).
const TRAFFIC_SEED: u64 = 0x5357_4954_4348_5944;
const ROW_SEED: u64 = 0x6C6C_6D5F_6C6F_6773;

/// Generates the demo tables under `data_dir` if it holds no Delta table yet.
/// Returns true if it generated.
pub async fn ensure_demo_data(data_dir: &Path, rows: usize, show_progress: bool) -> Result<bool> {
    std::fs::create_dir_all(data_dir).map_err(|e| dir_error(data_dir, e))?;
    if !discover_tables(data_dir)?.is_empty() {
        return Ok(false);
    }

    let staging = data_dir.join(STAGING_DIR);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| dir_error(&staging, e))?;
    }
    let progress = if show_progress {
        progress_bar(rows)?
    } else {
        ProgressBar::hidden()
    };
    generate(&staging, rows, &progress).await?;
    progress.finish_and_clear();

    for table in [REQUESTS_TABLE, FEEDBACK_TABLE] {
        let target = data_dir.join(table);
        std::fs::rename(staging.join(table), &target).map_err(|e| dir_error(&target, e))?;
    }
    std::fs::remove_dir(&staging).map_err(|e| dir_error(&staging, e))?;
    tracing::info!(rows, dir = %data_dir.display(), "generated demo tables");
    Ok(true)
}

/// Finds Delta tables: immediate subdirectories of `data_dir` that contain
/// `_delta_log/`. Returns (table name = dir name, path), sorted. Hidden directories
/// (such as an interrupted demo staging area) and names that are not UTF-8 are
/// skipped.
pub fn discover_tables(data_dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(data_dir).map_err(|e| dir_error(data_dir, e))? {
        let entry = entry.map_err(|e| dir_error(data_dir, e))?;
        let path = entry.path();
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !name.starts_with('.') && path.join("_delta_log").is_dir() {
            tables.push((name, path));
        }
    }
    tables.sort();
    Ok(tables)
}

fn dir_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("{}: {e}", path.display()))
}

fn progress_bar(rows: usize) -> Result<ProgressBar> {
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {human_pos}/{human_len} rows, {per_sec:0}, ETA {eta}",
    )
    .map_err(Error::internal)?
    .progress_chars("=> ");
    let bar = ProgressBar::new(rows as u64).with_style(style);
    bar.set_message("generating demo data");
    Ok(bar)
}

/// Writes both tables under `dir`, one batch of requests (and their feedback) at a
/// time, so memory stays bounded by a few batches whatever `rows` is.
async fn generate(dir: &Path, rows: usize, progress: &ProgressBar) -> Result<()> {
    let mut requests = TableSink::create(dir, REQUESTS_TABLE, requests_schema()).await?;
    let mut feedback = TableSink::create(dir, FEEDBACK_TABLE, feedback_schema()).await?;
    let mut generator = Generator::new(rows);
    let mut batches = 0;
    // The generation is CPU-bound but takes only seconds, and runs once before the
    // server starts accepting connections, so it stays on the async task.
    while let Some((request_batch, feedback_batch)) = generator.next_batches(BATCH_ROWS)? {
        progress.inc(request_batch.num_rows() as u64);
        requests.write(request_batch).await?;
        if feedback_batch.num_rows() > 0 {
            feedback.write(feedback_batch).await?;
        }
        batches += 1;
        if batches % BATCHES_PER_COMMIT == 0 {
            requests.commit().await?;
            feedback.commit().await?;
        }
    }
    requests.commit().await?;
    feedback.commit().await
}

/// A freshly created Delta table and a streaming writer into it.
struct TableSink {
    table: DeltaTable,
    writer: RecordBatchWriter,
}

impl TableSink {
    async fn create(dir: &Path, name: &str, schema: SchemaRef) -> Result<Self> {
        let path = dir.join(name);
        let location = path
            .to_str()
            .ok_or_else(|| Error::Internal(format!("non-UTF-8 path {}", path.display())))?;
        let url = deltalake::ensure_table_uri(location).map_err(Error::internal)?;
        let columns: StructType = schema.as_ref().try_into_kernel().map_err(Error::internal)?;
        let table = DeltaTable::try_from_url(url)
            .await
            .map_err(Error::internal)?
            .create()
            .with_table_name(name)
            .with_columns(columns.fields().cloned())
            .with_comment("switchyard demo data (synthetic LLM-gateway logs)")
            .await
            .map_err(Error::internal)?;
        let writer = RecordBatchWriter::for_table(&table).map_err(Error::internal)?;
        Ok(Self { table, writer })
    }

    async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.writer.write(batch).await.map_err(Error::internal)
    }

    async fn commit(&mut self) -> Result<()> {
        if self.writer.buffered_record_batch_count() > 0 {
            self.writer
                .flush_and_commit(&mut self.table)
                .await
                .map_err(Error::internal)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Schemas

/// Delta's `timestamp` type: microseconds, UTC. Values carry millisecond precision.
fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Field names Delta uses for map entries, so batches match the table's schema.
fn map_field_names() -> MapFieldNames {
    MapFieldNames {
        entry: "key_value".into(),
        key: "key".into(),
        value: "value".into(),
    }
}

fn tags_type() -> DataType {
    let names = map_field_names();
    let entry = Field::new_struct(
        names.entry,
        vec![
            Field::new(names.key, DataType::Utf8, false),
            // ClickHouse's Map(String, String): a missing key reads as '', not NULL.
            Field::new(names.value, DataType::Utf8, false),
        ],
        false,
    );
    DataType::Map(Arc::new(entry), false)
}

fn requests_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("timestamp", utc_micros(), false),
        Field::new("request_id", DataType::Utf8, false),
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("user_id", DataType::Utf8, false),
        Field::new("project", DataType::Utf8, false),
        Field::new("provider", DataType::Utf8, false),
        Field::new("model", DataType::Utf8, false),
        Field::new("endpoint", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("http_status", DataType::Int32, false),
        Field::new("error_type", DataType::Utf8, true),
        Field::new("latency_ms", DataType::Int64, false),
        Field::new("ttft_ms", DataType::Int64, true),
        Field::new("input_tokens", DataType::Int64, false),
        Field::new("output_tokens", DataType::Int64, false),
        Field::new("cost_usd", DataType::Float64, false),
        Field::new("cached", DataType::Boolean, false),
        Field::new("tags", tags_type(), false),
        Field::new("request_bytes", DataType::Int64, false),
        Field::new("response_bytes", DataType::Int64, false),
    ]))
}

fn feedback_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("request_id", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("created_at", utc_micros(), false),
    ]))
}

// ---------------------------------------------------------------------------
// The world being simulated: models, projects, traffic shape, incidents.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Chat { tokens_per_sec: f64 },
    Embedding { dims: i64 },
}

#[derive(Debug)]
struct Model {
    provider: &'static str,
    name: &'static str,
    endpoint: &'static str,
    kind: Kind,
    /// List prices in USD per million tokens (mid-2025).
    input_price: f64,
    output_price: f64,
    context_tokens: i64,
    max_output_tokens: i64,
    /// Median time to first token for chat models; median latency for embeddings.
    base_ms: f64,
    /// How often users are happy with its answers, 0..1; drives feedback values.
    quality: f64,
}

#[allow(clippy::too_many_arguments)] // one row of the model table in `catalog`
const fn chat(
    provider: &'static str,
    name: &'static str,
    endpoint: &'static str,
    tokens_per_sec: f64,
    input_price: f64,
    output_price: f64,
    context_tokens: i64,
    max_output_tokens: i64,
    base_ms: f64,
    quality: f64,
) -> Model {
    Model {
        provider,
        name,
        endpoint,
        kind: Kind::Chat { tokens_per_sec },
        input_price,
        output_price,
        context_tokens,
        max_output_tokens,
        base_ms,
        quality,
    }
}

const fn embedding(
    provider: &'static str,
    name: &'static str,
    endpoint: &'static str,
    dims: i64,
    input_price: f64,
    context_tokens: i64,
    base_ms: f64,
) -> Model {
    Model {
        provider,
        name,
        endpoint,
        kind: Kind::Embedding { dims },
        input_price,
        output_price: 0.0,
        context_tokens,
        max_output_tokens: 0,
        base_ms,
        quality: 0.0,
    }
}

/// An application calling the gateway; it decides the model mix and prompt sizes.
#[derive(Debug)]
struct Project {
    name: &'static str,
    /// Share of baseline traffic.
    weight: f64,
    models: &'static [(&'static Model, f64)],
    features: &'static [&'static str],
    /// Medians of the log-normal prompt and completion sizes, in tokens.
    input_tokens: f64,
    output_tokens: f64,
    /// Fraction of successful requests answered from the gateway cache.
    cache_rate: f64,
    /// Batch jobs run under one service account instead of end users.
    service_user: Option<&'static str>,
}

/// The simulated world as tables: models with list prices (USD per million tokens,
/// mid-2025) and the projects that call them.
#[rustfmt::skip]
mod catalog {
    use super::{chat, embedding, Model, Project};

    // Chat models. o3-mini and gemini-2.5-pro reason before answering: slow first token.
    //                                     provider      model                                       endpoint                                            tok/s   $in/M   $out/M  context     max out   ttft ms   quality
    static GPT_4O_MINI:       Model = chat("openai",     "gpt-4o-mini",                              "/v1/chat/completions",                             85.0,   0.15,   0.60,   128_000,    16_384,   380.0,    0.78);
    static GPT_4O:            Model = chat("openai",     "gpt-4o",                                   "/v1/chat/completions",                             60.0,   2.50,   10.00,  128_000,    16_384,   450.0,    0.85);
    static GPT_4_1:           Model = chat("openai",     "gpt-4.1",                                  "/v1/responses",                                    70.0,   2.00,   8.00,   1_047_576,  32_768,   520.0,    0.87);
    static GPT_4_1_MINI:      Model = chat("openai",     "gpt-4.1-mini",                             "/v1/responses",                                    90.0,   0.40,   1.60,   1_047_576,  32_768,   400.0,    0.81);
    static O3_MINI:           Model = chat("openai",     "o3-mini",                                  "/v1/chat/completions",                             110.0,  1.10,   4.40,   200_000,    100_000,  4_200.0,  0.86);
    static CLAUDE_SONNET_4:   Model = chat("anthropic",  "claude-sonnet-4-20250514",                 "/v1/messages",                                     55.0,   3.00,   15.00,  200_000,    64_000,   900.0,    0.91);
    static CLAUDE_HAIKU_3_5:  Model = chat("anthropic",  "claude-3-5-haiku-20241022",                "/v1/messages",                                     80.0,   0.80,   4.00,   200_000,    8_192,    600.0,    0.80);
    static CLAUDE_SONNET_3_7: Model = chat("anthropic",  "claude-3-7-sonnet-20250219",               "/v1/messages",                                     55.0,   3.00,   15.00,  200_000,    64_000,   950.0,    0.89);
    static CLAUDE_OPUS_4:     Model = chat("anthropic",  "claude-opus-4-20250514",                   "/v1/messages",                                     30.0,   15.00,  75.00,  200_000,    32_000,   1_600.0,  0.93);
    static GEMINI_2_0_FLASH:  Model = chat("google",     "gemini-2.0-flash",                         "/v1beta/models/gemini-2.0-flash:generateContent",  160.0,  0.10,   0.40,   1_048_576,  8_192,    330.0,    0.77);
    static GEMINI_2_5_FLASH:  Model = chat("google",     "gemini-2.5-flash",                         "/v1beta/models/gemini-2.5-flash:generateContent",  140.0,  0.30,   2.50,   1_048_576,  65_536,   700.0,    0.83);
    static GEMINI_2_5_PRO:    Model = chat("google",     "gemini-2.5-pro",                           "/v1beta/models/gemini-2.5-pro:generateContent",    75.0,   1.25,   10.00,  1_048_576,  65_536,   2_600.0,  0.90);
    static MISTRAL_LARGE:     Model = chat("mistral",    "mistral-large-latest",                     "/v1/chat/completions",                             45.0,   2.00,   6.00,   128_000,    8_192,    520.0,    0.82);
    static MISTRAL_SMALL:     Model = chat("mistral",    "mistral-small-latest",                     "/v1/chat/completions",                             130.0,  0.10,   0.30,   128_000,    8_192,    280.0,    0.74);
    static LLAMA_3_3_70B:     Model = chat("together",   "meta-llama/Llama-3.3-70B-Instruct-Turbo",  "/v1/chat/completions",                             110.0,  0.88,   0.88,   131_072,    8_192,    300.0,    0.80);

    // Embedding models; `ms` is the median latency.
    //                                      provider    model                      endpoint                                           dims   $in/M   context ms
    static EMBED_3_SMALL: Model = embedding("openai",   "text-embedding-3-small",  "/v1/embeddings",                                  1536,  0.02,   8_191,  110.0);
    static EMBED_3_LARGE: Model = embedding("openai",   "text-embedding-3-large",  "/v1/embeddings",                                  3072,  0.13,   8_191,  160.0);
    static GEMINI_EMBED:  Model = embedding("google",   "text-embedding-004",      "/v1beta/models/text-embedding-004:embedContent",  768,   0.025,  2_048,  95.0);
    static MISTRAL_EMBED: Model = embedding("mistral",  "mistral-embed",           "/v1/embeddings",                                  1024,  0.10,   8_192,  120.0);

    pub(super) static PROJECTS: [Project; 6] = [
        Project {
            name: "support-bot", weight: 30.0,
            models: &[(&CLAUDE_SONNET_4, 34.0), (&GPT_4O_MINI, 30.0), (&CLAUDE_HAIKU_3_5, 14.0), (&EMBED_3_SMALL, 22.0)],
            features: &["chat", "ticket-triage", "reply-draft"],
            input_tokens: 1_800.0, output_tokens: 220.0, cache_rate: 0.04, service_user: None,
        },
        Project {
            name: "search", weight: 24.0,
            models: &[(&EMBED_3_SMALL, 46.0), (&GPT_4O_MINI, 30.0), (&GEMINI_2_0_FLASH, 15.0), (&EMBED_3_LARGE, 9.0)],
            features: &["query-rewrite", "rerank", "answer"],
            input_tokens: 900.0, output_tokens: 120.0, cache_rate: 0.12, service_user: None,
        },
        Project {
            name: "code-assistant", weight: 20.0,
            models: &[(&CLAUDE_SONNET_4, 40.0), (&GPT_4_1, 22.0), (&GPT_4_1_MINI, 14.0), (&CLAUDE_SONNET_3_7, 10.0), (&O3_MINI, 8.0), (&CLAUDE_OPUS_4, 3.0), (&EMBED_3_LARGE, 3.0)],
            features: &["completion", "chat", "review"],
            input_tokens: 7_000.0, output_tokens: 450.0, cache_rate: 0.02, service_user: None,
        },
        Project {
            name: "doc-summarizer", weight: 12.0,
            models: &[(&GEMINI_2_0_FLASH, 30.0), (&GPT_4O, 22.0), (&GEMINI_2_5_FLASH, 20.0), (&GEMINI_EMBED, 18.0), (&GEMINI_2_5_PRO, 10.0)],
            features: &["summarize", "extract"],
            input_tokens: 9_000.0, output_tokens: 380.0, cache_rate: 0.05, service_user: None,
        },
        Project {
            name: "batch-eval", weight: 8.0,
            models: &[(&GPT_4O, 40.0), (&GPT_4O_MINI, 30.0), (&MISTRAL_LARGE, 15.0), (&LLAMA_3_3_70B, 15.0)],
            features: &["nightly-eval"],
            input_tokens: 1_400.0, output_tokens: 260.0, cache_rate: 0.20, service_user: Some("svc-batch-eval"),
        },
        Project {
            name: "internal-tools", weight: 6.0,
            models: &[(&MISTRAL_SMALL, 34.0), (&GPT_4O_MINI, 30.0), (&LLAMA_3_3_70B, 20.0), (&MISTRAL_EMBED, 16.0)],
            features: &["sql-helper", "slack-bot"],
            input_tokens: 1_100.0, output_tokens: 200.0, cache_rate: 0.03, service_user: None,
        },
    ];
}

use catalog::PROJECTS;

/// End users, `user_00000` … ; index 0 is the heaviest (see `Generator::zipf_user`).
const END_USERS: usize = 2_500;
/// Embedding inputs are document chunks, independent of the project's prompts.
const EMBEDDING_INPUT_TOKENS: f64 = 300.0;
/// Its end users are split per user into a `control` and a `treatment` arm; the
/// treatment's prompt does a little better in user feedback.
const AB_TEST_PROJECT: &str = "code-assistant";
const TREATMENT_UPLIFT: f64 = 0.04;
/// The gateway answers 504 when a provider has not started answering after this
/// long; a long answer may then stream for minutes.
const GATEWAY_TIMEOUT_MS: i64 = 60_000;

static ENVS: [(&str, f64); 3] = [("prod", 0.93), ("staging", 0.05), ("dev", 0.02)];
static REGIONS: [(&str, f64); 3] = [
    ("us-east-1", 0.58),
    ("eu-west-1", 0.30),
    ("ap-southeast-1", 0.12),
];

/// Relative traffic per UTC hour: quiet at night in the Americas and Europe,
/// peaking in the US afternoon.
static HOURLY_TRAFFIC: [f64; 24] = [
    0.55, 0.45, 0.38, 0.33, 0.30, 0.30, 0.33, 0.40, 0.52, 0.65, 0.75, 0.82, //
    0.90, 1.00, 1.10, 1.18, 1.20, 1.18, 1.12, 1.02, 0.92, 0.82, 0.72, 0.62,
];
/// Relative traffic per day of the window, which runs Sunday to Saturday.
static DAILY_TRAFFIC: [f64; 7] = [0.62, 1.00, 1.06, 1.04, 1.02, 0.94, 0.66];

/// Baseline per-request probabilities of each failure, outside incidents.
const BASE_RATE_LIMIT: f64 = 0.004;
const BASE_SERVER_ERROR: f64 = 0.003;
const BASE_TIMEOUT: f64 = 0.0015;
const BASE_INVALID_REQUEST: f64 = 0.003;
const BASE_AUTH_ERROR: f64 = 0.0003;

#[derive(Debug)]
enum Scope {
    Provider(&'static str),
    Project(&'static str),
}

/// A window in which one provider misbehaves or one project floods the gateway.
#[derive(Debug)]
struct Incident {
    start_minute: usize,
    minutes: usize,
    scope: Scope,
    /// Multiplies all traffic in the window; the extra requests come from the
    /// incident's project.
    traffic_boost: f64,
    server_error_rate: f64,
    timeout_rate: f64,
    rate_limit_rate: f64,
    latency_factor: f64,
}

const fn at(day: usize, hour: usize, minute: usize) -> usize {
    day * DAY_MINUTES + hour * 60 + minute
}

static INCIDENTS: [Incident; 7] = [
    outage(at(2, 14, 5), 45, "openai", 0.42, 0.12, 2.5),
    outage(at(4, 16, 20), 70, "anthropic", 0.25, 0.04, 1.8),
    outage(at(5, 9, 0), 90, "google", 0.03, 0.18, 4.0),
    outage(at(6, 11, 0), 12, "mistral", 0.60, 0.05, 1.5),
    // The nightly eval job fans out too fast and gets throttled.
    storm(at(1, 2, 0), 40, "batch-eval"),
    storm(at(3, 2, 0), 40, "batch-eval"),
    storm(at(5, 2, 0), 40, "batch-eval"),
];

const fn outage(
    start_minute: usize,
    minutes: usize,
    provider: &'static str,
    server_error_rate: f64,
    timeout_rate: f64,
    latency_factor: f64,
) -> Incident {
    Incident {
        start_minute,
        minutes,
        scope: Scope::Provider(provider),
        traffic_boost: 1.0,
        server_error_rate,
        timeout_rate,
        rate_limit_rate: 0.0,
        latency_factor,
    }
}

const fn storm(start_minute: usize, minutes: usize, project: &'static str) -> Incident {
    Incident {
        start_minute,
        minutes,
        scope: Scope::Project(project),
        traffic_boost: 2.5,
        server_error_rate: 0.0,
        timeout_rate: 0.01,
        rate_limit_rate: 0.35,
        latency_factor: 1.3,
    }
}

impl Incident {
    fn active(&self, minute: usize) -> bool {
        (self.start_minute..self.start_minute + self.minutes).contains(&minute)
    }

    fn applies(&self, project: &Project, model: &Model) -> bool {
        match self.scope {
            Scope::Provider(provider) => provider == model.provider,
            Scope::Project(name) => name == project.name,
        }
    }
}

// ---------------------------------------------------------------------------
// Deterministic randomness

/// SplitMix64: tiny, fast, and fully specified, so output never changes with a
/// dependency upgrade.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

/// The SplitMix64 output function; also used to hash user ids into stable traits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 64 random bits to a uniform f64 in [0, 1).
fn unit_from(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn unit(&mut self) -> f64 {
        unit_from(self.next_u64())
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything visible).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Approximately standard normal: a rescaled sum of four uniforms, which needs
    /// no libm. Tails stop at ±3.46; long tails are added explicitly where wanted.
    fn normal(&mut self) -> f64 {
        const SQRT_3: f64 = 1.732_050_807_568_877_2;
        (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * SQRT_3
    }

    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * exp(sigma * self.normal())
    }

    fn pick<T>(&mut self, items: &[T], weight: impl Fn(&T) -> f64) -> usize {
        weighted_index(items, weight, self.unit())
    }
}

/// The index whose cumulative weight interval contains `u` (a fraction in [0, 1)).
fn weighted_index<T>(items: &[T], weight: impl Fn(&T) -> f64, u: f64) -> usize {
    let total: f64 = items.iter().map(&weight).sum();
    let mut target = u * total;
    for (i, item) in items.iter().enumerate() {
        target -= weight(item);
        if target < 0.0 {
            return i;
        }
    }
    items.len() - 1
}

/// e^x from basic arithmetic only, so results are bit-identical on every platform
/// (libm's `exp` may differ in the last bit). Accurate to ~1e-11 relative for the
/// small arguments used here.
fn exp(x: f64) -> f64 {
    let r = x / 1024.0;
    let mut y = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r / 120.0))));
    for _ in 0..10 {
        y *= y;
    }
    y
}

/// Rounds to 9 decimals (nano-dollars, like TensorZero's `Decimal(18, 9)` cost).
fn round_nanos(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

// ---------------------------------------------------------------------------
// Request generation

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Ok,
    RateLimit,
    ServerError,
    Overloaded,
    Timeout,
    InvalidRequest,
    ContextLengthExceeded,
    AuthError,
}

impl Outcome {
    /// (`status`, `error_type`); the HTTP status is chosen separately.
    fn labels(self) -> (&'static str, Option<&'static str>) {
        match self {
            Outcome::Ok => ("ok", None),
            Outcome::RateLimit => ("error", Some("rate_limit")),
            Outcome::ServerError => ("error", Some("server_error")),
            Outcome::Overloaded => ("error", Some("overloaded")),
            Outcome::Timeout => ("timeout", Some("timeout")),
            Outcome::InvalidRequest => ("error", Some("invalid_request")),
            Outcome::ContextLengthExceeded => ("error", Some("context_length_exceeded")),
            Outcome::AuthError => ("error", Some("authentication_error")),
        }
    }
}

/// A multi-request conversation or agent run; its requests share user and project.
#[derive(Debug, Clone)]
struct Trace {
    id: String,
    user: usize,
    project: usize,
    env: &'static str,
    region: &'static str,
    /// Arm of the code assistant's A/B test, for enrolled users.
    variant: Option<&'static str>,
}

#[derive(Debug)]
struct Request {
    timestamp_ms: i64,
    request_id: String,
    trace: Trace,
    model: &'static Model,
    outcome: Outcome,
    http_status: i32,
    latency_ms: i64,
    ttft_ms: Option<i64>,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
    cached: bool,
    feature: Option<&'static str>,
    request_bytes: i64,
    response_bytes: i64,
}

#[derive(Debug)]
struct Feedback {
    request_id: String,
    metric: &'static str,
    value: f64,
    created_at_ms: i64,
}

/// How many traces are "open" at once; a new request continues one of them with
/// probability `TRACE_CONTINUE`, so several requests share a trace id.
const OPEN_TRACES: usize = 48;
const TRACE_CONTINUE: f64 = 0.55;

/// Produces requests in timestamp order, minute by minute.
struct Generator {
    rng: SplitMix64,
    rows: usize,
    /// Cumulative traffic weight at the end of each minute of the window.
    cumulative: Vec<f64>,
    /// Next minute to schedule, and how many rows the minutes so far received.
    minute: usize,
    scheduled: usize,
    /// Timestamps of the current minute still to emit, latest first.
    pending: Vec<i64>,
    traces: Vec<Trace>,
    /// `user_id` values: end users first, then the projects' service accounts.
    users: Vec<String>,
    /// Per project (as in `PROJECTS`), the index of its service account in `users`.
    service_users: Vec<Option<usize>>,
}

impl Generator {
    fn new(rows: usize) -> Self {
        let mut users: Vec<String> = (0..END_USERS).map(|i| format!("user_{i:05}")).collect();
        let mut service_users = Vec::new();
        for project in &PROJECTS {
            service_users.push(project.service_user.map(|name| {
                users.push(name.to_owned());
                users.len() - 1
            }));
        }
        Self {
            rng: SplitMix64(ROW_SEED),
            rows,
            cumulative: traffic_curve(),
            minute: 0,
            scheduled: 0,
            pending: Vec::new(),
            traces: Vec::with_capacity(OPEN_TRACES),
            users,
            service_users,
        }
    }

    /// The next batch of up to `max_rows` requests and the feedback on them, or
    /// `None` once every row was produced.
    fn next_batches(&mut self, max_rows: usize) -> Result<Option<(RecordBatch, RecordBatch)>> {
        let mut requests = RequestColumns::with_capacity(max_rows);
        let mut feedback = FeedbackColumns::default();
        let mut count = 0;
        while count < max_rows {
            let Some(request) = self.next_request() else {
                break;
            };
            if let Some(fb) = self.feedback(&request) {
                feedback.append(&fb);
            }
            requests.append(&request, &self.users)?;
            count += 1;
        }
        if count == 0 {
            return Ok(None);
        }
        Ok(Some((requests.finish()?, feedback.finish()?)))
    }

    fn next_request(&mut self) -> Option<Request> {
        while self.pending.is_empty() {
            if self.minute == WINDOW_MINUTES {
                return None;
            }
            self.schedule_minute();
        }
        let timestamp_ms = self.pending.pop()?;
        let minute = ((timestamp_ms - WINDOW_START_MS) / MINUTE_MS) as usize;
        let active: Vec<&'static Incident> =
            INCIDENTS.iter().filter(|i| i.active(minute)).collect();

        let trace = self.trace_for(&active);
        let project = &PROJECTS[trace.project];
        let model = project.models[self.rng.pick(project.models, |m| m.1)].0;
        let applicable: Vec<&Incident> = active
            .into_iter()
            .filter(|i| i.applies(project, model))
            .collect();

        let input_tokens = match model.kind {
            Kind::Chat { .. } => self.rng.log_normal(project.input_tokens, 1.0),
            Kind::Embedding { .. } => self.rng.log_normal(EMBEDDING_INPUT_TOKENS, 0.9),
        }
        .round()
        .max(1.0) as i64;
        let outcome = self.outcome(model, input_tokens, &applicable);
        let http_status = self.http_status(outcome);
        let latency_factor: f64 = applicable.iter().map(|i| i.latency_factor).product();
        let cached = outcome == Outcome::Ok && self.rng.chance(project.cache_rate);

        let output_tokens = match (outcome, model.kind) {
            (Outcome::Ok, Kind::Chat { .. }) => {
                let sampled = self.rng.log_normal(project.output_tokens, 0.8).round() as i64;
                sampled.clamp(1, model.max_output_tokens)
            }
            _ => 0,
        };
        let (latency_ms, ttft_ms) = self.latency(
            model,
            outcome,
            cached,
            input_tokens,
            output_tokens,
            latency_factor,
        );
        let cost_usd = if outcome == Outcome::Ok && !cached {
            round_nanos(
                (input_tokens as f64 * model.input_price
                    + output_tokens as f64 * model.output_price)
                    / 1e6,
            )
        } else {
            0.0
        };
        let request_bytes = match model.kind {
            // Roughly four characters per token plus the JSON envelope and parameters.
            Kind::Chat { .. } => {
                (input_tokens as f64 * self.rng.log_normal(4.1, 0.08)) as i64 + 350
            }
            Kind::Embedding { .. } => input_tokens * 4 + 150,
        };
        let response_bytes = match (outcome, model.kind) {
            (Outcome::Ok, Kind::Chat { .. }) => {
                (output_tokens as f64 * self.rng.log_normal(4.2, 0.08)) as i64 + 420
            }
            // A JSON float takes about eleven bytes.
            (Outcome::Ok, Kind::Embedding { dims }) => dims * 11 + 200,
            _ => 120 + self.rng.below(300) as i64,
        };
        let feature = if self.rng.chance(0.9) {
            Some(project.features[self.rng.below(project.features.len() as u64) as usize])
        } else {
            None
        };
        let request_id = self.uuid_v7(timestamp_ms);

        Some(Request {
            timestamp_ms,
            request_id,
            trace,
            model,
            outcome,
            http_status,
            latency_ms,
            ttft_ms,
            input_tokens,
            output_tokens,
            cost_usd,
            cached,
            feature,
            request_bytes,
            response_bytes,
        })
    }

    /// Spreads the rows over the minutes in proportion to the traffic curve, with
    /// rounding carried over so the total is exactly `rows`.
    fn schedule_minute(&mut self) {
        let total = self.cumulative[WINDOW_MINUTES - 1];
        let through = if self.minute + 1 == WINDOW_MINUTES {
            self.rows
        } else {
            ((self.cumulative[self.minute] / total * self.rows as f64).round() as usize)
                .clamp(self.scheduled, self.rows)
        };
        let start_ms = WINDOW_START_MS + self.minute as i64 * MINUTE_MS;
        for _ in self.scheduled..through {
            let offset = self.rng.below(MINUTE_MS as u64) as i64;
            self.pending.push(start_ms + offset);
        }
        self.pending.sort_unstable_by(|a, b| b.cmp(a));
        self.scheduled = through;
        self.minute += 1;
    }

    /// Continues an open trace, or starts a new one. During a traffic storm the
    /// extra requests are fresh traces of the storming project.
    fn trace_for(&mut self, active: &[&Incident]) -> Trace {
        for incident in active {
            if let Scope::Project(name) = incident.scope {
                if self.rng.chance(1.0 - 1.0 / incident.traffic_boost) {
                    let project = PROJECTS.iter().position(|p| p.name == name).unwrap_or(0);
                    return self.new_trace(project);
                }
            }
        }
        if self.traces.len() == OPEN_TRACES && self.rng.chance(TRACE_CONTINUE) {
            return self.traces[self.rng.below(OPEN_TRACES as u64) as usize].clone();
        }
        let project = self.rng.pick(&PROJECTS, |p| p.weight);
        let trace = self.new_trace(project);
        if self.traces.len() < OPEN_TRACES {
            self.traces.push(trace.clone());
        } else {
            let slot = self.rng.below(OPEN_TRACES as u64) as usize;
            self.traces[slot] = trace.clone();
        }
        trace
    }

    fn new_trace(&mut self, project: usize) -> Trace {
        let user = match self.service_users[project] {
            Some(user) => user,
            None => self.zipf_user(),
        };
        // Region and A/B arm are traits of the user, so they stay stable across traces.
        let user_hash = mix(user as u64 ^ 0xA5A5_A5A5);
        let region = REGIONS[weighted_index(&REGIONS, |r| r.1, unit_from(user_hash))].0;
        let enrolled = PROJECTS[project].name == AB_TEST_PROJECT && user < END_USERS;
        let variant = enrolled.then_some(if user_hash >> 63 == 0 {
            "control"
        } else {
            "treatment"
        });
        Trace {
            id: format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64()),
            user,
            project,
            env: ENVS[self.rng.pick(&ENVS, |e| e.1)].0,
            region,
            variant,
        }
    }

    /// A few heavy users: P(index < k) = (k / n)^0.4, so user 0 alone sends about
    /// 4% of end-user requests and the top 1% of users about 16%.
    fn zipf_user(&mut self) -> usize {
        let u = self.rng.unit();
        // `sqrt` is exactly rounded by IEEE 754, so this stays platform-independent.
        ((u * u * u.sqrt() * END_USERS as f64) as usize).min(END_USERS - 1)
    }

    fn outcome(&mut self, model: &Model, input_tokens: i64, incidents: &[&Incident]) -> Outcome {
        if input_tokens > model.context_tokens {
            return Outcome::ContextLengthExceeded;
        }
        let extra = |rate: fn(&Incident) -> f64| incidents.iter().map(|i| rate(i)).sum::<f64>();
        let server_error = BASE_SERVER_ERROR + extra(|i| i.server_error_rate);
        let table = [
            (
                Outcome::RateLimit,
                BASE_RATE_LIMIT + extra(|i| i.rate_limit_rate),
            ),
            (Outcome::Timeout, BASE_TIMEOUT + extra(|i| i.timeout_rate)),
            (Outcome::ServerError, server_error),
            (Outcome::InvalidRequest, BASE_INVALID_REQUEST),
            (Outcome::AuthError, BASE_AUTH_ERROR),
        ];
        let mut u = self.rng.unit();
        for (outcome, p) in table {
            if u < p {
                // Anthropic reports capacity trouble as 529 "overloaded".
                if outcome == Outcome::ServerError
                    && model.provider == "anthropic"
                    && self.rng.chance(0.7)
                {
                    return Outcome::Overloaded;
                }
                return outcome;
            }
            u -= p;
        }
        Outcome::Ok
    }

    fn http_status(&mut self, outcome: Outcome) -> i32 {
        match outcome {
            Outcome::Ok => 200,
            Outcome::RateLimit => 429,
            Outcome::ServerError => [500, 500, 502, 503][self.rng.below(4) as usize],
            Outcome::Overloaded => 529,
            Outcome::Timeout => 504,
            Outcome::InvalidRequest | Outcome::ContextLengthExceeded => 400,
            Outcome::AuthError => 401,
        }
    }

    /// (`latency_ms`, `ttft_ms`). Chat latency is time to first token plus
    /// generation time, with an occasional queueing tail.
    fn latency(
        &mut self,
        model: &Model,
        outcome: Outcome,
        cached: bool,
        input_tokens: i64,
        output_tokens: i64,
        factor: f64,
    ) -> (i64, Option<i64>) {
        let is_chat = matches!(model.kind, Kind::Chat { .. });
        let latency = match outcome {
            Outcome::Ok if cached => {
                let ms = 2 + self.rng.below(30) as i64;
                return (ms, is_chat.then_some(ms));
            }
            Outcome::Ok => match model.kind {
                Kind::Chat { tokens_per_sec } => {
                    let ttft = (self.rng.log_normal(model.base_ms, 0.45) * factor)
                        .min((GATEWAY_TIMEOUT_MS - 1) as f64);
                    let generation = output_tokens as f64 / tokens_per_sec
                        * 1000.0
                        * self.rng.log_normal(1.0, 0.25);
                    let mut total = ttft + generation + 20.0;
                    if self.rng.chance(0.02) {
                        total *= 1.5 + 4.0 * self.rng.unit();
                    }
                    let total = total.round() as i64;
                    return (total, Some((ttft.round() as i64).clamp(1, total)));
                }
                Kind::Embedding { .. } => {
                    let size = 1.0 + input_tokens as f64 / 2_000.0;
                    self.rng.log_normal(model.base_ms, 0.4) * size * factor
                }
            },
            Outcome::RateLimit => self.rng.log_normal(35.0, 0.6),
            Outcome::ServerError | Outcome::Overloaded => self.rng.log_normal(800.0, 1.0) * factor,
            Outcome::Timeout => (GATEWAY_TIMEOUT_MS + self.rng.below(400) as i64) as f64,
            Outcome::InvalidRequest | Outcome::ContextLengthExceeded | Outcome::AuthError => {
                self.rng.log_normal(90.0, 0.5)
            }
        };
        ((latency.round() as i64).max(1), None)
    }

    /// Feedback on a successful chat request: thumbs and ratings from end users,
    /// correctness scores from the eval job's judge. Feedback that would arrive
    /// after the window is left out, as if not received yet.
    fn feedback(&mut self, request: &Request) -> Option<Feedback> {
        if request.outcome != Outcome::Ok || !matches!(request.model.kind, Kind::Chat { .. }) {
            return None;
        }
        let mut quality = request.model.quality;
        if request.latency_ms > 15_000 {
            quality -= 0.1;
        }
        if request.trace.variant == Some("treatment") {
            quality += TREATMENT_UPLIFT;
        }
        let project = &PROJECTS[request.trace.project];
        let (metric, value, delay_ms) = if project.service_user.is_some() {
            if !self.rng.chance(0.6) {
                return None;
            }
            let score = (quality + 0.15 * self.rng.normal()).clamp(0.0, 1.0);
            let delay = self.rng.log_normal(20_000.0, 0.5);
            ("correctness", (score * 1000.0).round() / 1000.0, delay)
        } else {
            let u = self.rng.unit();
            if u < 0.12 {
                let up = if self.rng.chance(quality) { 1.0 } else { 0.0 };
                ("thumbs_up", up, self.rng.log_normal(45_000.0, 1.5))
            } else if u < 0.16 {
                let stars = (quality * 5.0 + 0.9 * self.rng.normal())
                    .round()
                    .clamp(1.0, 5.0);
                ("rating", stars, self.rng.log_normal(300_000.0, 1.2))
            } else {
                return None;
            }
        };
        let created_at_ms = request.timestamp_ms + request.latency_ms + delay_ms.round() as i64;
        (created_at_ms < ANCHOR_MS).then(|| Feedback {
            request_id: request.request_id.clone(),
            metric,
            value,
            created_at_ms,
        })
    }

    /// A UUIDv7 (as TensorZero uses): the millisecond timestamp up front, so ids
    /// sort by time, then version and variant bits around 74 random bits.
    fn uuid_v7(&mut self, timestamp_ms: i64) -> String {
        let rand_a = self.rng.next_u64() & 0x0fff;
        let rand_b = self.rng.next_u64() & 0x3fff_ffff_ffff_ffff;
        let high = ((timestamp_ms as u64) << 16) | 0x7000 | rand_a;
        let low = 0x8000_0000_0000_0000 | rand_b;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xffff,
            low >> 48,
            low & 0xffff_ffff_ffff
        )
    }
}

/// Cumulative traffic weight per minute: hourly and daily shape, minute-to-minute
/// noise, and the incidents' traffic boosts.
fn traffic_curve() -> Vec<f64> {
    let mut rng = SplitMix64(TRAFFIC_SEED);
    let mut total = 0.0;
    (0..WINDOW_MINUTES)
        .map(|minute| {
            let of_day = minute % DAY_MINUTES;
            let hour = of_day / 60;
            let frac = (of_day % 60) as f64 / 60.0;
            let hourly =
                HOURLY_TRAFFIC[hour] * (1.0 - frac) + HOURLY_TRAFFIC[(hour + 1) % 24] * frac;
            let boost: f64 = INCIDENTS
                .iter()
                .filter(|i| i.active(minute))
                .map(|i| i.traffic_boost)
                .product();
            total +=
                hourly * DAILY_TRAFFIC[minute / DAY_MINUTES] * (0.85 + 0.3 * rng.unit()) * boost;
            total
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Arrow columns

struct RequestColumns {
    timestamp: TimestampMicrosecondBuilder,
    request_id: StringBuilder,
    trace_id: StringBuilder,
    user_id: StringBuilder,
    project: StringBuilder,
    provider: StringBuilder,
    model: StringBuilder,
    endpoint: StringBuilder,
    status: StringBuilder,
    http_status: Int32Builder,
    error_type: StringBuilder,
    latency_ms: Int64Builder,
    ttft_ms: Int64Builder,
    input_tokens: Int64Builder,
    output_tokens: Int64Builder,
    cost_usd: Float64Builder,
    cached: BooleanBuilder,
    tags: MapBuilder<StringBuilder, StringBuilder>,
    request_bytes: Int64Builder,
    response_bytes: Int64Builder,
}

impl RequestColumns {
    fn with_capacity(rows: usize) -> Self {
        let strings = || StringBuilder::with_capacity(rows, rows * 16);
        Self {
            timestamp: TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            request_id: StringBuilder::with_capacity(rows, rows * 36),
            trace_id: StringBuilder::with_capacity(rows, rows * 32),
            user_id: strings(),
            project: strings(),
            provider: strings(),
            model: strings(),
            endpoint: strings(),
            status: strings(),
            http_status: Int32Builder::with_capacity(rows),
            error_type: strings(),
            latency_ms: Int64Builder::with_capacity(rows),
            ttft_ms: Int64Builder::with_capacity(rows),
            input_tokens: Int64Builder::with_capacity(rows),
            output_tokens: Int64Builder::with_capacity(rows),
            cost_usd: Float64Builder::with_capacity(rows),
            cached: BooleanBuilder::with_capacity(rows),
            tags: MapBuilder::new(Some(map_field_names()), strings(), strings())
                .with_values_field(Field::new(map_field_names().value, DataType::Utf8, false)),
            request_bytes: Int64Builder::with_capacity(rows),
            response_bytes: Int64Builder::with_capacity(rows),
        }
    }

    fn append(&mut self, r: &Request, users: &[String]) -> Result<()> {
        let project = &PROJECTS[r.trace.project];
        let (status, error_type) = r.outcome.labels();
        self.timestamp.append_value(r.timestamp_ms * 1000);
        self.request_id.append_value(&r.request_id);
        self.trace_id.append_value(&r.trace.id);
        self.user_id.append_value(&users[r.trace.user]);
        self.project.append_value(project.name);
        self.provider.append_value(r.model.provider);
        self.model.append_value(r.model.name);
        self.endpoint.append_value(r.model.endpoint);
        self.status.append_value(status);
        self.http_status.append_value(r.http_status);
        self.error_type.append_option(error_type);
        self.latency_ms.append_value(r.latency_ms);
        self.ttft_ms.append_option(r.ttft_ms);
        self.input_tokens.append_value(r.input_tokens);
        self.output_tokens.append_value(r.output_tokens);
        self.cost_usd.append_value(r.cost_usd);
        self.cached.append_value(r.cached);
        self.append_tags(r);
        self.tags.append(true).map_err(Error::internal)?;
        self.request_bytes.append_value(r.request_bytes);
        self.response_bytes.append_value(r.response_bytes);
        Ok(())
    }

    fn append_tags(&mut self, r: &Request) {
        let (keys, values) = self.tags.entries();
        let mut tag = |key: &str, value: &str| {
            keys.append_value(key);
            values.append_value(value);
        };
        tag("env", r.trace.env);
        tag("region", r.trace.region);
        if let Some(feature) = r.feature {
            tag("feature", feature);
        }
        if let Some(variant) = r.trace.variant {
            tag("variant", variant);
        }
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.request_id.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.project.finish()),
            Arc::new(self.provider.finish()),
            Arc::new(self.model.finish()),
            Arc::new(self.endpoint.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.http_status.finish()),
            Arc::new(self.error_type.finish()),
            Arc::new(self.latency_ms.finish()),
            Arc::new(self.ttft_ms.finish()),
            Arc::new(self.input_tokens.finish()),
            Arc::new(self.output_tokens.finish()),
            Arc::new(self.cost_usd.finish()),
            Arc::new(self.cached.finish()),
            Arc::new(self.tags.finish()),
            Arc::new(self.request_bytes.finish()),
            Arc::new(self.response_bytes.finish()),
        ];
        RecordBatch::try_new(requests_schema(), columns).map_err(Error::internal)
    }
}

struct FeedbackColumns {
    request_id: StringBuilder,
    metric: StringBuilder,
    value: Float64Builder,
    created_at: TimestampMicrosecondBuilder,
}

impl Default for FeedbackColumns {
    fn default() -> Self {
        Self {
            request_id: StringBuilder::new(),
            metric: StringBuilder::new(),
            value: Float64Builder::new(),
            created_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
        }
    }
}

impl FeedbackColumns {
    fn append(&mut self, f: &Feedback) {
        self.request_id.append_value(&f.request_id);
        self.metric.append_value(f.metric);
        self.value.append_value(f.value);
        self.created_at.append_value(f.created_at_ms * 1000);
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.request_id.finish()),
            Arc::new(self.metric.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.created_at.finish()),
        ];
        RecordBatch::try_new(feedback_schema(), columns).map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use arrow::array::{Array, AsArray};
    use arrow::compute::{cast, concat_batches, sort_to_indices, take_record_batch};
    use arrow::datatypes::{Int32Type, TimestampMicrosecondType};
    use deltalake::kernel::engine::arrow_conversion::TryIntoArrow;

    use super::*;

    const WINDOW_START_MICROS: i64 = WINDOW_START_MS * 1000;
    const ANCHOR_MICROS: i64 = ANCHOR_MS * 1000;

    /// A fresh, empty directory under the system temp dir.
    fn temp_dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "switchyard-demo-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    async fn open(path: &Path) -> DeltaTable {
        let url = deltalake::ensure_table_uri(path.to_str().unwrap()).unwrap();
        deltalake::open_table(url).await.unwrap()
    }

    /// The whole table, sorted by `sort_column` so file order does not matter.
    async fn read_sorted(path: &Path, sort_column: &str) -> RecordBatch {
        let (_, stream) = open(path).await.scan_table().await.unwrap();
        let batches = deltalake::operations::collect_sendable_stream(stream)
            .await
            .unwrap();
        let batch = concat_batches(&batches[0].schema(), &batches).unwrap();
        let indices =
            sort_to_indices(batch.column_by_name(sort_column).unwrap(), None, None).unwrap();
        take_record_batch(&batch, &indices).unwrap()
    }

    /// A text column as owned strings (the scan may return Utf8View).
    fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
        let column = cast(batch.column_by_name(name).unwrap(), &DataType::Utf8).unwrap();
        column
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_owned))
            .collect()
    }

    fn micros(batch: &RecordBatch, name: &str) -> Vec<i64> {
        let column = batch.column_by_name(name).unwrap();
        column
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .to_vec()
    }

    fn all_requests(rows: usize) -> Vec<Request> {
        let mut generator = Generator::new(rows);
        std::iter::from_fn(|| generator.next_request()).collect()
    }

    #[tokio::test]
    async fn generates_tables_once() {
        let dir = temp_dir("once");
        assert!(ensure_demo_data(&dir, 2_000, false).await.unwrap());
        assert!(!ensure_demo_data(&dir, 2_000, false).await.unwrap());

        let tables = discover_tables(&dir).unwrap();
        let expected = vec![
            (FEEDBACK_TABLE.to_owned(), dir.join(FEEDBACK_TABLE)),
            (REQUESTS_TABLE.to_owned(), dir.join(REQUESTS_TABLE)),
        ];
        assert_eq!(tables, expected);
        assert!(!dir.join(STAGING_DIR).exists());

        for (name, schema) in [
            (REQUESTS_TABLE, requests_schema()),
            (FEEDBACK_TABLE, feedback_schema()),
        ] {
            let table = open(&dir.join(name)).await;
            let delta_schema = table.snapshot().unwrap().schema();
            let stored: Schema = delta_schema.as_ref().try_into_arrow().unwrap();
            assert_eq!(stored.fields().len(), schema.fields().len(), "{name}");
            for (stored, expected) in stored.fields().iter().zip(schema.fields()) {
                assert_eq!(stored.name(), expected.name(), "{name}");
                assert_eq!(stored.data_type(), expected.data_type(), "{name}");
                assert_eq!(stored.is_nullable(), expected.is_nullable(), "{name}");
            }
        }

        let requests = read_sorted(&dir.join(REQUESTS_TABLE), "request_id").await;
        assert_eq!(requests.num_rows(), 2_000);
        for ts in micros(&requests, "timestamp") {
            assert!((WINDOW_START_MICROS..ANCHOR_MICROS).contains(&ts));
            assert_eq!(ts % 1000, 0, "millisecond precision");
        }
        let ids: Vec<String> = strings(&requests, "request_id")
            .into_iter()
            .map(Option::unwrap)
            .collect();
        assert!(ids.iter().all(|id| id.len() == 36 && &id[14..15] == "7"));
        let id_set: HashSet<&String> = ids.iter().collect();
        assert_eq!(id_set.len(), ids.len(), "request ids are unique");

        let statuses = strings(&requests, "status");
        let error_types = strings(&requests, "error_type");
        let http = requests
            .column_by_name("http_status")
            .unwrap()
            .as_primitive::<Int32Type>()
            .clone();
        for i in 0..requests.num_rows() {
            match statuses[i].as_deref() {
                Some("ok") => assert!(http.value(i) == 200 && error_types[i].is_none()),
                Some("timeout") => assert!(http.value(i) == 504 && error_types[i].is_some()),
                Some("error") => assert!(http.value(i) >= 400 && error_types[i].is_some()),
                other => panic!("unexpected status {other:?}"),
            }
        }
        let tags = requests.column_by_name("tags").unwrap().as_map();
        for i in 0..tags.len() {
            let entries = tags.value(i);
            let keys = cast(entries.column(0), &DataType::Utf8).unwrap();
            assert!(keys.as_string::<i32>().iter().any(|k| k == Some("env")));
        }

        let feedback = read_sorted(&dir.join(FEEDBACK_TABLE), "request_id").await;
        let share = feedback.num_rows() as f64 / requests.num_rows() as f64;
        assert!((0.05..0.30).contains(&share), "feedback share {share}");
        let request_time: std::collections::HashMap<&String, i64> =
            ids.iter().zip(micros(&requests, "timestamp")).collect();
        let created = micros(&feedback, "created_at");
        for (id, created_at) in strings(&feedback, "request_id").iter().zip(created) {
            let requested = request_time[id.as_ref().unwrap()];
            assert!(requested < created_at && created_at < ANCHOR_MICROS);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn same_rows_give_same_content() {
        let (a, b) = (temp_dir("det-a"), temp_dir("det-b"));
        ensure_demo_data(&a, 2_000, false).await.unwrap();
        ensure_demo_data(&b, 2_000, false).await.unwrap();
        for (table, key) in [
            (REQUESTS_TABLE, "request_id"),
            (FEEDBACK_TABLE, "request_id"),
        ] {
            let left = read_sorted(&a.join(table), key).await;
            let right = read_sorted(&b.join(table), key).await;
            assert_eq!(left, right, "{table}");
        }
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }

    #[test]
    fn requests_are_sorted_and_fill_the_window() {
        let requests = all_requests(10_000);
        assert_eq!(requests.len(), 10_000);
        assert!(requests
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
        assert!(requests[0].timestamp_ms < WINDOW_START_MS + 30 * MINUTE_MS);
        assert!(requests[9_999].timestamp_ms > ANCHOR_MS - 30 * MINUTE_MS);
        assert!(requests[9_999].timestamp_ms < ANCHOR_MS);
    }

    #[test]
    fn a_few_models_dominate_and_errors_cluster() {
        let requests = all_requests(50_000);
        let mut per_model = std::collections::HashMap::<&str, usize>::new();
        for r in &requests {
            *per_model.entry(r.model.name).or_default() += 1;
        }
        let mut counts: Vec<usize> = per_model.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top3: usize = counts[..3].iter().sum();
        assert!(top3 * 2 > requests.len(), "top 3 models carry most traffic");

        let openai_outage = &INCIDENTS[0];
        let (mut inside, mut inside_failed, mut outside, mut outside_failed) = (0, 0, 0, 0);
        for r in requests.iter().filter(|r| r.model.provider == "openai") {
            let minute = ((r.timestamp_ms - WINDOW_START_MS) / MINUTE_MS) as usize;
            let failed = r.outcome != Outcome::Ok;
            if openai_outage.active(minute) {
                inside += 1;
                inside_failed += usize::from(failed);
            } else {
                outside += 1;
                outside_failed += usize::from(failed);
            }
        }
        assert!(
            inside_failed * 100 > inside * 30,
            "{inside_failed}/{inside}"
        );
        assert!(
            outside_failed * 100 < outside * 5,
            "{outside_failed}/{outside}"
        );
    }

    #[test]
    fn latency_is_long_tailed() {
        let mut latencies: Vec<i64> = all_requests(20_000)
            .iter()
            .filter(|r| r.outcome == Outcome::Ok && !r.cached)
            .map(|r| r.latency_ms)
            .collect();
        latencies.sort_unstable();
        let p50 = latencies[latencies.len() / 2];
        let p99 = latencies[latencies.len() * 99 / 100];
        assert!(p99 > 5 * p50, "p50 {p50} p99 {p99}");
    }

    /// Pins the generated content, so a change to the model (or a platform that
    /// computes differently) is noticed. Update the numbers deliberately.
    #[test]
    fn content_is_pinned() {
        let requests = all_requests(2_000);
        let latency: i64 = requests.iter().map(|r| r.latency_ms).sum();
        let tokens: i64 = requests
            .iter()
            .map(|r| r.input_tokens + r.output_tokens)
            .sum();
        let cost: f64 = requests.iter().map(|r| r.cost_usd).sum();
        assert_eq!(
            requests[0].request_id,
            "019704c2-3551-7318-a7dd-e5735d2559f2"
        );
        assert_eq!(
            requests[1_999].request_id,
            "019728c5-9c2f-747f-bac8-9067128b8104"
        );
        assert_eq!((latency, tokens), (10_738_977, 10_540_928));
        assert_eq!(cost.to_bits(), 4_626_581_844_899_637_576);
    }

    #[test]
    fn catalog_is_consistent() {
        let providers: HashSet<&str> = PROJECTS
            .iter()
            .flat_map(|p| p.models.iter().map(|(m, _)| m.provider))
            .collect();
        for incident in &INCIDENTS {
            match incident.scope {
                Scope::Provider(name) => assert!(providers.contains(name), "{name}"),
                Scope::Project(name) => assert!(PROJECTS.iter().any(|p| p.name == name)),
            }
            assert!(incident.start_minute + incident.minutes <= WINDOW_MINUTES);
        }
        assert!(PROJECTS.iter().any(|p| p.name == AB_TEST_PROJECT));
        for project in &PROJECTS {
            assert!(!project.features.is_empty() && !project.models.is_empty());
        }
    }

    #[test]
    fn exp_matches_libm_closely() {
        for i in -800..=1600 {
            let x = f64::from(i) / 100.0;
            let relative = (exp(x) - x.exp()).abs() / x.exp();
            assert!(relative < 1e-9, "exp({x}) off by {relative}");
        }
    }

    #[test]
    fn uuid_v7_layout() {
        let mut generator = Generator::new(1);
        let id = generator.uuid_v7(ANCHOR_MS);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[..15], "019728c9-c000-7");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(id.matches('-').count(), 4);
    }

    #[test]
    fn discover_tables_ignores_plain_and_hidden_dirs() {
        let dir = temp_dir("discover");
        std::fs::create_dir_all(dir.join("b_table/_delta_log")).unwrap();
        std::fs::create_dir_all(dir.join("a_table/_delta_log")).unwrap();
        std::fs::create_dir_all(dir.join("not_a_table/data")).unwrap();
        std::fs::create_dir_all(dir.join(".hidden/_delta_log")).unwrap();
        std::fs::write(dir.join("file.txt"), "x").unwrap();
        let names: Vec<String> = discover_tables(&dir)
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["a_table", "b_table"]);
        assert!(discover_tables(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
