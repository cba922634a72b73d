//! The ClickHouse backend: runs SQL already emitted in ClickHouse's dialect over the HTTP
//! interface (the `clickhouse` crate's client) and streams the answer as Arrow batches.
//!
//! Owns: detecting the server once (version, time zone → which output format), the
//! catalog discovered from `system.tables`/`system.columns` (cached with a TTL, refreshed
//! on a schema error), query ids, the per-backend timeout, and killing a query whose
//! result stream is dropped early (Postgres cancel, client gone, timeout).
//! Never: buffering a whole result, or guessing a column's type from its Arrow encoding
//! alone (DESCRIBE says what ClickHouse meant).
//!
//! Two output paths: `ArrowStream` (ClickHouse ≥ 21), decoded incrementally; and
//! `TabSeparatedWithNamesAndTypes` for older servers (18.16 has no Arrow formats and a
//! broken `compress=1`, so nothing is compressed for it either).

mod arrow_format;
pub mod ddl;
mod text_format;
pub mod types;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use clickhouse::query::BytesCursor;
use clickhouse::{Client, Compression};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{Backend, Description, ResultStream, TableInfo};
use crate::config::{ClickHouseCompression, ClickHouseConfig};
use crate::emit::Target;
use crate::error::{Error, Result};
use arrow_format::{presented_schema, ArrowDecoder};
use text_format::TextDecoder;
use types::ChType;

/// First ClickHouse major version whose HTTP interface speaks ArrowStream.
const ARROW_SINCE_MAJOR: u32 = 21;
/// How long a failed server probe is trusted before the next query tries again.
const PROBE_RETRY: Duration = Duration::from_secs(2);

/// What the server said about itself on first contact.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: String,
    pub major: u32,
    /// The server's time zone, in which it prints DateTime columns without one.
    pub timezone: String,
}

impl ServerInfo {
    pub fn speaks_arrow(&self) -> bool {
        self.major >= ARROW_SINCE_MAJOR
    }
}

/// A table as ClickHouse describes it, including what the translator needs to
/// emulate `FINAL` elsewhere.
#[derive(Debug, Clone)]
pub struct ClickHouseTable {
    pub name: String,
    pub schema: SchemaRef,
    pub columns: Vec<(String, ChType)>,
    /// `MergeTree`, `ReplacingMergeTree`, `Memory`, …
    pub engine: String,
    /// Expressions of `ORDER BY`: the deduplication key of a ReplacingMergeTree.
    pub sorting_key: Vec<String>,
    /// ReplacingMergeTree's version column (the newest row of a key survives `FINAL`).
    pub version_column: Option<String>,
    /// ReplacingMergeTree's `is_deleted` column (ClickHouse ≥ 23.2).
    pub is_deleted_column: Option<String>,
}

impl ClickHouseTable {
    /// True when `FROM t FINAL` changes results: the engine collapses rows at merge time.
    pub fn deduplicates_on_merge(&self) -> bool {
        self.engine.contains("Replacing")
            || self.engine.contains("Collapsing")
            || self.engine.contains("Aggregating")
            || self.engine.contains("Summing")
    }
}

#[derive(Debug, Default)]
struct Catalog {
    tables: BTreeMap<String, ClickHouseTable>,
}

/// A result's column names and ClickHouse types, from DESCRIBE.
#[derive(Debug)]
struct Columns {
    names: Vec<String>,
    types: Vec<ChType>,
}

pub struct ClickHouseBackend {
    name: String,
    client: Client,
    timeout: Duration,
    server: Mutex<Option<(Instant, Result<ServerInfo>)>>,
    catalog: moka::future::Cache<(), Arc<Catalog>>,
    /// The last catalog discovered, for the synchronous `tables()`.
    snapshot: RwLock<Arc<Catalog>>,
    described: moka::future::Cache<String, Arc<Columns>>,
    next_query: AtomicU64,
    /// Distinguishes this process's query ids from another switchyard's.
    instance: String,
}

impl ClickHouseBackend {
    /// Connects lazily: a ClickHouse that is down at startup fails only the queries
    /// routed to it, and its tables appear once it answers.
    pub async fn open(name: &str, config: &ClickHouseConfig) -> Result<ClickHouseBackend> {
        let mut client = Client::default()
            .with_url(config.url.trim_end_matches('/'))
            .with_user(config.user.clone());
        if let Some(password) = &config.password {
            client = client.with_password(password.clone());
        }
        if let Some(database) = &config.database {
            client = client.with_database(database.clone());
        }
        let compression = match config.compression {
            ClickHouseCompression::None => Compression::None,
            ClickHouseCompression::Lz4 => Compression::Lz4,
        };
        let ttl = Duration::from_secs(config.schema_ttl_secs.max(1));
        let backend = ClickHouseBackend {
            name: name.to_owned(),
            client: client.with_compression(compression),
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            server: Mutex::new(None),
            catalog: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build(),
            snapshot: RwLock::new(Arc::default()),
            described: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            next_query: AtomicU64::new(0),
            instance: format!(
                "{:x}{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0)
            ),
        };
        match tokio::time::timeout(backend.timeout, backend.catalog()).await {
            Ok(Ok(catalog)) => tracing::info!(
                backend = name,
                tables = catalog.tables.len(),
                "ClickHouse catalog discovered"
            ),
            Ok(Err(e)) => tracing::warn!(backend = name, "ClickHouse not ready: {e}"),
            Err(_) => tracing::warn!(backend = name, "ClickHouse did not answer in time"),
        }
        Ok(backend)
    }

    /// Server facts, probed once (and again after a failure, at most every PROBE_RETRY).
    pub async fn server(&self) -> Result<ServerInfo> {
        let mut slot = self.server.lock().await;
        if let Some((at, result)) = slot.as_ref() {
            if result.is_ok() || at.elapsed() < PROBE_RETRY {
                return result.clone();
            }
        }
        let result = self.probe().await;
        if let Ok(info) = &result {
            tracing::info!(backend = %self.name, version = %info.version, arrow = info.speaks_arrow(), "ClickHouse server");
        }
        *slot = Some((Instant::now(), result.clone()));
        result
    }

    async fn probe(&self) -> Result<ServerInfo> {
        // Compression stays off until the server is known: 18.16 answers compress=1 with nothing.
        let client = self.client.clone().with_compression(Compression::None);
        let rows = tokio::time::timeout(
            self.timeout,
            fetch_text(&client, "SELECT version(), timezone()"),
        )
        .await
        .map_err(|_| self.unreachable("no answer"))?
        .map_err(|e| self.rename(e))?;
        let row = rows
            .first()
            .ok_or_else(|| self.unreachable("empty answer to SELECT version()"))?;
        let version = row.first().cloned().unwrap_or_default();
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        Ok(ServerInfo {
            version,
            major,
            timezone: row.get(1).cloned().unwrap_or_else(|| "UTC".into()),
        })
    }

    fn unreachable(&self, why: impl std::fmt::Display) -> Error {
        Error::unavailable(&self.name, format_args!("ClickHouse is unreachable: {why}"))
    }

    /// The client for a query on this server: compression only where it works.
    fn client_for(&self, server: &ServerInfo) -> Client {
        if server.speaks_arrow() {
            self.client.clone()
        } else {
            self.client.clone().with_compression(Compression::None)
        }
    }

    /// A table's ClickHouse metadata (engine, sorting key, ReplacingMergeTree version
    /// column), from the last discovery.
    pub fn table(&self, name: &str) -> Option<ClickHouseTable> {
        self.snapshot
            .read()
            .expect("catalog lock")
            .tables
            .get(name)
            .cloned()
    }

    async fn catalog(&self) -> Result<Arc<Catalog>> {
        self.catalog
            .try_get_with((), self.discover())
            .await
            .map_err(|e| e.as_ref().clone())
    }

    /// Forgets everything learned about schemas, after ClickHouse said a name is unknown.
    async fn forget_schemas(&self) {
        self.catalog.invalidate_all();
        self.described.invalidate_all();
        if let Err(e) = self.catalog().await {
            tracing::warn!(backend = %self.name, "ClickHouse catalog refresh failed: {e}");
        }
    }

    async fn discover(&self) -> Result<Arc<Catalog>> {
        let server = self.server().await?;
        let client = self.client_for(&server);
        let tables = fetch_text(
            &client,
            "SELECT name, engine, engine_full, sorting_key FROM system.tables \
             WHERE database = currentDatabase() AND NOT is_temporary",
        )
        .await
        .map_err(|e| self.rename(e))?;
        // EPHEMERAL columns exist only for INSERTs: no SELECT can read them.
        let columns = fetch_text(
            &client,
            "SELECT table, name, type FROM system.columns \
             WHERE database = currentDatabase() AND default_kind != 'EPHEMERAL'",
        )
        .await
        .map_err(|e| self.rename(e))?;
        let mut by_table: BTreeMap<String, Vec<(String, ChType)>> = BTreeMap::new();
        for row in columns {
            let [table, name, ty] = <[String; 3]>::try_from(row)
                .map_err(|_| Error::internal("system.columns row shape"))?;
            let ty = ChType::parse(&ty).unwrap_or(ChType::Other(ty));
            by_table.entry(table).or_default().push((name, ty));
        }
        let mut catalog = Catalog::default();
        for row in tables {
            let [name, engine, engine_full, sorting_key] = <[String; 4]>::try_from(row)
                .map_err(|_| Error::internal("system.tables row shape"))?;
            let columns = by_table.remove(&name).unwrap_or_default();
            let (names, types): (Vec<String>, Vec<ChType>) = columns.iter().cloned().unzip();
            let (version_column, is_deleted_column) = replacing_arguments(&engine, &engine_full);
            catalog.tables.insert(
                name.clone(),
                ClickHouseTable {
                    name,
                    schema: presented_schema(&names, &types),
                    columns,
                    engine,
                    sorting_key: split_top_level(&sorting_key),
                    version_column,
                    is_deleted_column,
                },
            );
        }
        let catalog = Arc::new(catalog);
        *self.snapshot.write().expect("catalog lock") = catalog.clone();
        Ok(catalog)
    }

    /// Column names and ClickHouse types of `sql`'s result, cached by text.
    async fn columns(&self, client: &Client, sql: &str) -> Result<Arc<Columns>> {
        self.described
            .try_get_with(sql.to_owned(), async {
                let rows = fetch_text(client, &format!("DESCRIBE TABLE ({sql})")).await?;
                let mut names = Vec::with_capacity(rows.len());
                let mut types = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut fields = row.into_iter();
                    names.push(fields.next().unwrap_or_default());
                    types.push(ChType::parse(&fields.next().unwrap_or_default())?);
                }
                Ok(Arc::new(Columns { names, types }))
            })
            .await
            .map_err(|e: Arc<Error>| e.as_ref().clone())
    }

    fn query_id(&self) -> String {
        format!(
            "switchyard-{}-{}-{}",
            self.name,
            self.instance,
            self.next_query.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Error from ClickHouse, labelled with this backend's name.
    fn rename(&self, e: Error) -> Error {
        e.on_backend(&self.name)
    }

    async fn after_error(&self, e: Error) -> Error {
        let e = self.rename(e);
        if is_schema_error(&e) {
            self.forget_schemas().await;
        }
        e
    }

    /// Learns the schema (DESCRIBE), sends the query and returns at once: the rows
    /// arrive while the caller polls, so a cancel or a disconnect (dropping the stream)
    /// reaches a query still computing its first block.
    async fn start(&self, sql: &str) -> Result<ResultStream> {
        let server = self.server().await?;
        let client = self.client_for(&server);
        let query_id = self.query_id();
        let deadline = Instant::now() + self.timeout;
        let mut query = client
            .query_raw(sql)
            .with_setting("query_id", query_id.clone())
            .with_setting(
                "max_execution_time",
                self.timeout.as_secs().max(1).to_string(),
            );
        if server.speaks_arrow() {
            query = query
                .with_setting("cancel_http_readonly_queries_on_client_close", "1")
                .with_setting("output_format_arrow_string_as_string", "1")
                .with_setting("output_format_arrow_low_cardinality_as_dictionary", "0");
        }
        let format = if server.speaks_arrow() {
            "ArrowStream"
        } else {
            "TabSeparatedWithNamesAndTypes"
        };
        // DESCRIBE before the query, not alongside: a server running one query at a time
        // (or at its max_concurrent_queries) would otherwise wait for the DESCRIBE while
        // the query waits for its reader. Cached, so repeated dashboards pay it once.
        let columns = tokio::time::timeout_at(deadline, self.columns(&client, sql))
            .await
            .map_err(|_| timed_out(self.timeout))??;
        let cursor = query.fetch_bytes(format).map_err(client_error)?;
        let guard = KillOnDrop {
            client: client.clone().with_compression(Compression::None),
            query_id,
            armed: true,
        };
        let (chunks, receiver) = tokio::sync::mpsc::channel(4);
        tokio::spawn(pump(cursor, chunks, guard, deadline, self.timeout));
        let schema = presented_schema(&columns.names, &columns.types);
        let decoder = if server.speaks_arrow() {
            Decoder::Arrow {
                decoder: ArrowDecoder::new(),
                types: columns.types.clone(),
                schema: schema.clone(),
            }
        } else {
            Decoder::Text(TextDecoder::new(&server.timezone))
        };
        let state = StreamState {
            receiver,
            decoder,
            body_done: false,
            done: false,
            backend: self.name.clone(),
        };
        let batches = futures::stream::unfold(state, |mut state| async move {
            match state.next().await {
                Ok(Some(batch)) => Some((Ok(batch), state)),
                Ok(None) => None,
                Err(e) => {
                    state.done = true;
                    Some((Err(e), state))
                }
            }
        });
        Ok(ResultStream {
            schema,
            batches: Box::pin(batches),
        })
    }
}

fn timed_out(timeout: Duration) -> Error {
    Error::Backend {
        backend: "clickhouse".into(),
        sqlstate: "57014",
        message: format!(
            "canceling statement due to the backend timeout of {}s",
            timeout.as_secs()
        ),
    }
}

/// Moves the response body into the channel the result stream reads. Stops, and kills
/// the query, when the stream is dropped (the channel closes) or the deadline passes;
/// a query that ended by itself is left alone.
async fn pump(
    mut cursor: BytesCursor,
    chunks: tokio::sync::mpsc::Sender<Result<bytes::Bytes>>,
    mut guard: KillOnDrop,
    deadline: Instant,
    timeout: Duration,
) {
    loop {
        let next = tokio::select! {
            _ = chunks.closed() => return,
            next = tokio::time::timeout_at(deadline, cursor.next()) => next,
        };
        match next {
            Err(_) => {
                let _ = chunks.send(Err(timed_out(timeout))).await;
                return;
            }
            Ok(Err(e)) => {
                guard.armed = false;
                let _ = chunks.send(Err(client_error(e))).await;
                return;
            }
            Ok(Ok(Some(bytes))) => {
                if chunks.send(Ok(bytes)).await.is_err() {
                    return;
                }
            }
            Ok(Ok(None)) => {
                guard.armed = false;
                return;
            }
        }
    }
}

/// Parses `ReplacingMergeTree(ver[, is_deleted])` (or the old
/// `ReplacingMergeTree(date, key, granularity[, ver])` syntax) for its columns.
fn replacing_arguments(engine: &str, engine_full: &str) -> (Option<String>, Option<String>) {
    if !engine.contains("ReplacingMergeTree") {
        return (None, None);
    }
    let Some(open) = engine_full.find('(') else {
        return (None, None);
    };
    let mut depth = 0;
    let mut close = engine_full.len();
    for (i, c) in engine_full[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = open + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let arguments = split_top_level(&engine_full[open + 1..close.min(engine_full.len())]);
    let unquote = |s: &String| s.trim_matches('`').trim_matches('"').to_owned();
    match arguments.len() {
        0 => (None, None),
        1 => (Some(unquote(&arguments[0])), None),
        2 => (Some(unquote(&arguments[0])), Some(unquote(&arguments[1]))),
        3 => (None, None),
        _ => (arguments.last().map(unquote), None),
    }
}

/// `a, toDate(b), (c, d)` → ["a", "toDate(b)", "(c, d)"]; a sorting key in parentheses
/// is unwrapped first.
fn split_top_level(text: &str) -> Vec<String> {
    let text = text.trim();
    let text = if text.starts_with('(') && text.ends_with(')') && balanced(&text[1..text.len() - 1])
    {
        &text[1..text.len() - 1]
    } else {
        text
    };
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// `$1`, `$2`… outside quotes → `NULL`.
fn placeholders_as_null(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push_str("NULL");
            }
            None => {
                if matches!(c, '\'' | '"' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// A ClickHouse exception text → the crate's error, keeping ClickHouse's code and
/// message (`Code: 60. DB::Exception: Unknown table …`). A cancelled query is 57014.
pub(crate) fn server_error(text: &str) -> Error {
    if error_code(text) == Some(394) {
        return Error::Cancelled;
    }
    Error::Backend {
        backend: "clickhouse".into(),
        sqlstate: error_code(text).map_or("XX000", sqlstate_of_code),
        message: text.to_owned(),
    }
}

/// The Postgres SQLSTATE nearest to a ClickHouse error code (ErrorCodes.cpp); the
/// original code stays in the message.
fn sqlstate_of_code(code: u32) -> &'static str {
    match code {
        62 => "42601",                         // SYNTAX_ERROR
        60 => "42P01",                         // UNKNOWN_TABLE
        81 => "3D000",                         // UNKNOWN_DATABASE
        16 | 47 => "42703",                    // NO_SUCH_COLUMN_IN_TABLE, UNKNOWN_IDENTIFIER
        46 | 42 => "42883",                    // UNKNOWN_FUNCTION, NUMBER_OF_ARGUMENTS_DOESNT_MATCH
        43 | 44 | 53 | 386 => "42804", // ILLEGAL_TYPE_OF_ARGUMENT, ILLEGAL_COLUMN, TYPE_MISMATCH, NO_COMMON_TYPE
        184 | 215 => "42803",          // ILLEGAL_AGGREGATION, NOT_AN_AGGREGATE
        153 => "22012",                // ILLEGAL_DIVISION
        69 | 321 => "22003",           // ARGUMENT_OUT_OF_BOUND, VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        6 | 27 | 38 | 41 | 72 | 70 => "22P02", // CANNOT_PARSE_*, CANNOT_CONVERT_TYPE
        159 => "57014",                // TIMEOUT_EXCEEDED
        241 => "53200",                // MEMORY_LIMIT_EXCEEDED
        202 => "53300",                // TOO_MANY_SIMULTANEOUS_QUERIES
        158 | 396 => "54000",          // TOO_MANY_ROWS, TOO_MANY_ROWS_OR_BYTES
        48 | 1 => "0A000",             // NOT_IMPLEMENTED, UNSUPPORTED_METHOD
        164 | 497 | 516 => "42501",    // READONLY, ACCESS_DENIED, AUTHENTICATION_FAILED
        _ => "XX000",
    }
}

/// The `Code: N` of a ClickHouse exception text.
fn error_code(text: &str) -> Option<u32> {
    let at = text.find("Code:")?;
    text[at + 5..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Codes meaning a name ClickHouse does not know (a table or column changed).
fn is_schema_error(e: &Error) -> bool {
    match e {
        Error::Backend { message, .. } => {
            matches!(error_code(message), Some(16 | 47 | 60 | 81))
        }
        _ => false,
    }
}

fn client_error(e: clickhouse::error::Error) -> Error {
    match e {
        clickhouse::error::Error::BadResponse(text) => server_error(&text),
        clickhouse::error::Error::Network(inner) => Error::unavailable(
            "clickhouse",
            format_args!("ClickHouse is unreachable: {inner}"),
        ),
        other => Error::backend("clickhouse", other.to_string()),
    }
}

/// Runs a small query and returns its rows as unescaped TabSeparated fields.
async fn fetch_text(client: &Client, sql: &str) -> Result<Vec<Vec<String>>> {
    let body = client
        .query_raw(sql)
        .fetch_bytes("TabSeparated")
        .map_err(client_error)?
        .collect()
        .await
        .map_err(client_error)?;
    let text = String::from_utf8_lossy(&body);
    Ok(text
        .lines()
        .map(|line| line.split('\t').map(text_format::unescape_str).collect())
        .collect())
}

enum Decoder {
    Arrow {
        decoder: ArrowDecoder,
        types: Vec<ChType>,
        schema: SchemaRef,
    },
    Text(TextDecoder),
}

struct StreamState {
    receiver: tokio::sync::mpsc::Receiver<Result<bytes::Bytes>>,
    decoder: Decoder,
    /// The HTTP body has ended.
    body_done: bool,
    /// The stream has ended (or failed): yield nothing more.
    done: bool,
    backend: String,
}

impl StreamState {
    async fn next(&mut self) -> Result<Option<RecordBatch>> {
        if self.done {
            return Ok(None);
        }
        let backend = self.backend.clone();
        let label = |e: Error| e.on_backend(&backend);
        loop {
            let decoded = match &mut self.decoder {
                Decoder::Arrow {
                    decoder,
                    types,
                    schema,
                } => match decoder.next_batch().map_err(label)? {
                    Some(batch) => Some(arrow_format::present_batch(&batch, types, schema)?),
                    None => None,
                },
                Decoder::Text(decoder) => decoder.next_batch().map_err(label)?,
            };
            if let Some(batch) = decoded {
                return Ok(Some(batch));
            }
            if self.body_done {
                self.done = true;
                return match &mut self.decoder {
                    Decoder::Arrow { decoder, .. } => {
                        decoder.finish().map_err(label)?;
                        Ok(None)
                    }
                    Decoder::Text(decoder) => decoder.finish().map_err(label),
                };
            }
            match self.receiver.recv().await {
                Some(Ok(bytes)) => match &mut self.decoder {
                    Decoder::Arrow { decoder, .. } => decoder.push(bytes),
                    Decoder::Text(decoder) => decoder.push(&bytes),
                },
                Some(Err(e)) => return Err(label(e)),
                None => self.body_done = true,
            }
        }
    }
}

/// Kills the ClickHouse query when its result stream is dropped before the end. Closing
/// the HTTP connection is enough for modern servers
/// (`cancel_http_readonly_queries_on_client_close`); 18.16 keeps running without this.
struct KillOnDrop {
    client: Client,
    query_id: String,
    armed: bool,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let query_id = self.query_id.clone();
        runtime.spawn(async move {
            let sql = format!(
                "KILL QUERY WHERE query_id = '{}' ASYNC",
                query_id.replace('\\', "\\\\").replace('\'', "\\'")
            );
            let kill = async {
                let mut cursor = client
                    .query_raw(&sql)
                    .fetch_bytes("TabSeparated")
                    .map_err(client_error)?;
                cursor.collect().await.map(|_| ()).map_err(client_error)
            };
            let outcome = tokio::time::timeout(Duration::from_secs(10), kill)
                .await
                .unwrap_or_else(|_| Err(Error::internal("timed out")));
            match outcome {
                Ok(()) => tracing::debug!(%query_id, "killed ClickHouse query"),
                Err(e) => tracing::warn!(%query_id, "could not kill ClickHouse query: {e}"),
            }
        });
    }
}

#[async_trait]
impl Backend for ClickHouseBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn target(&self) -> Target {
        Target::ClickHouse
    }

    fn tables(&self) -> Vec<TableInfo> {
        self.snapshot
            .read()
            .expect("catalog lock")
            .tables
            .values()
            .map(|t| TableInfo {
                name: t.name.clone(),
                schema: t.schema.clone(),
            })
            .collect()
    }

    async fn describe(&self, sql: &str, parameter_count: usize) -> Result<Description> {
        let server = self.server().await?;
        let client = self.client_for(&server);
        // ClickHouse cannot DESCRIBE `$n`; NULL in their place keeps the result's shape.
        let sql = if parameter_count > 0 {
            placeholders_as_null(sql)
        } else {
            sql.to_owned()
        };
        let columns = match tokio::time::timeout(self.timeout, self.columns(&client, &sql)).await {
            Ok(Ok(columns)) => columns,
            Ok(Err(e)) => return Err(self.after_error(e).await),
            Err(_) => return Err(self.unreachable("DESCRIBE timed out")),
        };
        Ok(Description {
            schema: presented_schema(&columns.names, &columns.types),
            parameter_types: vec![None; parameter_count],
        })
    }

    async fn execute(&self, sql: &str) -> Result<ResultStream> {
        // Refresh an expired catalog in passing (cheap when cached).
        if self.catalog.get(&()).await.is_none() {
            let _ = self.catalog().await;
        }
        match self.start(sql).await {
            Ok(stream) => Ok(stream),
            Err(e) => Err(self.after_error(e).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_version_column_of_replacing_merge_trees() {
        assert_eq!(
            replacing_arguments(
                "ReplacingMergeTree",
                "ReplacingMergeTree(version) ORDER BY (request_id, metric) SETTINGS index_granularity = 8192"
            ),
            (Some("version".into()), None)
        );
        assert_eq!(
            replacing_arguments(
                "ReplacingMergeTree",
                "ReplacingMergeTree(ver, deleted) ORDER BY k"
            ),
            (Some("ver".into()), Some("deleted".into()))
        );
        assert_eq!(
            replacing_arguments(
                "ReplacingMergeTree",
                "ReplacingMergeTree(d, (k, s), 8192, ver)"
            ),
            (Some("ver".into()), None)
        );
        assert_eq!(
            replacing_arguments("ReplacingMergeTree", "ReplacingMergeTree ORDER BY k"),
            (None, None)
        );
        assert_eq!(
            replacing_arguments("MergeTree", "MergeTree ORDER BY k"),
            (None, None)
        );
    }

    #[test]
    fn placeholders_become_null_outside_quotes() {
        assert_eq!(
            placeholders_as_null("SELECT a FROM t WHERE b > $1 AND c = '$2' AND d = $10"),
            "SELECT a FROM t WHERE b > NULL AND c = '$2' AND d = NULL"
        );
    }

    #[test]
    fn splits_sorting_keys() {
        assert_eq!(
            split_top_level("request_id, metric"),
            ["request_id", "metric"]
        );
        assert_eq!(
            split_top_level("(toStartOfHour(ts), model)"),
            ["toStartOfHour(ts)", "model"]
        );
        assert!(split_top_level("").is_empty());
    }

    #[test]
    fn keeps_clickhouse_codes_and_messages() {
        let modern = "Code: 60. DB::Exception: Unknown table expression identifier 'nope'. (UNKNOWN_TABLE) (version 26.9.2.1)";
        assert_eq!(error_code(modern), Some(60));
        assert!(is_schema_error(&server_error(modern)));
        let old = "Code: 47, e.displayText() = DB::Exception: Unknown identifier: x, e.what() = DB::Exception";
        assert_eq!(error_code(old), Some(47));
        assert_eq!(server_error(old).to_string(), format!("clickhouse: {old}"));
        assert_eq!(
            server_error("Code: 394. DB::Exception: Query was cancelled").sqlstate(),
            "57014"
        );
        // The code picks the nearest Postgres class; unknown codes stay XX000.
        assert_eq!(server_error(modern).sqlstate(), "42P01");
        assert_eq!(server_error(old).sqlstate(), "42703");
        assert_eq!(
            server_error("Code: 62. DB::Exception: Syntax error").sqlstate(),
            "42601"
        );
        assert_eq!(
            server_error("Code: 9999. DB::Exception: ?").sqlstate(),
            "XX000"
        );
        assert_eq!(server_error("no code at all").sqlstate(), "XX000");
    }
}
