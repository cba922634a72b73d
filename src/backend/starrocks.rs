//! The StarRocks backend: emitted StarRocks SQL runs over the MySQL protocol
//! (mysql_async, pooled) and its rows stream back as Arrow batches built from the
//! result-set metadata. Any MySQL-protocol server works; the tests use MariaDB.
//!
//! It owns the query lifecycle on the backend side: a deadline per query, and
//! `KILL QUERY <connection id>` on a side connection whenever a query stops early — the
//! client cancelled (the frontend drops the stream), disconnected, or the deadline
//! passed. It never holds a whole result: a task reads rows into batches of
//! `BATCH_ROWS` and hands them over a channel of two, so the server is read only as
//! fast as the client pulls.

mod types;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Backend, Description, ResultStream, TableInfo};
use crate::config::StarRocksConfig;
use crate::emit::Target;
use crate::error::{Error, Result};

pub use types::{declared_type, wire_type};

/// Rows per Arrow batch handed to the frontend.
pub const BATCH_ROWS: usize = 8192;

/// MySQL error codes that mean "this query was killed/interrupted".
const INTERRUPTED: [u16; 3] = [
    1317, // ER_QUERY_INTERRUPTED (MySQL, MariaDB)
    1927, // ER_CONNECTION_KILLED (MariaDB)
    3024, // ER_QUERY_TIMEOUT (max_execution_time)
];
/// MySQL error codes that mean our schema snapshot may be stale.
const SCHEMA_ERRORS: [u16; 3] = [
    1146, // ER_NO_SUCH_TABLE
    1054, // ER_BAD_FIELD_ERROR
    1064, // ER_PARSE_ERROR (StarRocks reports unknown columns as analysis errors too)
];

pub struct StarRocksBackend {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    pool: Pool,
    /// Options for the side connections that run `KILL QUERY`.
    kill_opts: Opts,
    timeout: Duration,
    connect_timeout: Duration,
    /// Tables routed here by `[tables]`; empty means "every table discovered".
    routed: Vec<String>,
    /// Discovered schemas, trusted for the TTL (one entry: the whole database).
    schemas: moka::future::Cache<(), Arc<Discovery>>,
    /// The last discovery, served while a refresh runs (or when the server is down).
    last: RwLock<Arc<Discovery>>,
    refreshing: AtomicBool,
}

/// `(table, column, data_type, column_type, numeric_precision, numeric_scale)`.
type InformationSchemaColumn = (String, String, String, String, Option<u64>, Option<u64>);

/// What information_schema says about the database's tables.
#[derive(Default)]
struct Discovery {
    tables: BTreeMap<String, DiscoveredTable>,
}

struct DiscoveredTable {
    info: TableInfo,
    /// Column name → declared Arrow type, to refine what the wire reports.
    declared: HashMap<String, DataType>,
    dedup_on_write: bool,
}

impl StarRocksBackend {
    /// Opens the pool and discovers table schemas. A server that is down does not stop
    /// switchyard from starting: its tables are served (and fail) once it answers.
    pub async fn open(
        name: &str,
        config: &StarRocksConfig,
        routed: &[String],
    ) -> Result<StarRocksBackend> {
        let opts = Opts::from_url(&config.url)
            .map_err(|e| Error::Config(format!("backend {name}: url: {e}")))?;
        let pool_size = config.pool_size.max(1);
        let constraints = PoolConstraints::new(0, pool_size)
            .ok_or_else(|| Error::Config(format!("backend {name}: invalid pool_size")))?;
        let pool_opts = PoolOpts::new()
            .with_constraints(constraints)
            // COM_RESET_CONNECTION is not something every MySQL-protocol server has.
            .with_reset_connection(false)
            .with_inactive_connection_ttl(Duration::from_secs(60));
        let session = vec![
            // TIMESTAMP values read as UTC, matching the TimeZone switchyard reports.
            "SET time_zone = '+00:00'".to_owned(),
        ];
        let pooled = OptsBuilder::from_opts(opts.clone())
            .pool_opts(pool_opts)
            .init(session)
            .stmt_cache_size(0);
        let kill_opts = Opts::from(OptsBuilder::from_opts(opts).stmt_cache_size(0));
        let ttl = Duration::from_secs(config.schema_ttl_secs.max(1));
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            pool: Pool::new(pooled),
            kill_opts,
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            connect_timeout: Duration::from_secs(config.connect_timeout_secs.max(1)),
            routed: routed.to_vec(),
            schemas: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build(),
            last: RwLock::default(),
            refreshing: AtomicBool::new(false),
        });
        if let Err(e) = inner.refresh().await {
            tracing::warn!(backend = name, error = %e, "schema discovery failed; will retry");
        }
        Ok(StarRocksBackend { inner })
    }

    /// Tables that deduplicate on write (StarRocks primary-key or unique-key model), as
    /// discovered: ClickHouse `FINAL` on them is a no-op.
    pub fn dedup_on_write_tables(&self) -> Vec<String> {
        let discovery = self.inner.snapshot();
        discovery
            .tables
            .values()
            .filter(|t| t.dedup_on_write)
            .map(|t| t.info.name.clone())
            .collect()
    }

    /// Forgets discovered schemas; the next use discovers again.
    pub async fn invalidate_schemas(&self) {
        self.inner.schemas.invalidate_all();
    }
}

impl Inner {
    fn snapshot(&self) -> Arc<Discovery> {
        self.last.read().unwrap().clone()
    }

    /// Serves the cached discovery; when the TTL has passed, refreshes in the
    /// background and serves the previous one meanwhile.
    fn current(self: &Arc<Self>) -> Arc<Discovery> {
        if self.schemas.iter().next().is_none() {
            self.refresh_in_background();
        }
        self.snapshot()
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refreshing.store(false, Ordering::Release);
            return;
        };
        let inner = self.clone();
        runtime.spawn(async move {
            if let Err(e) = inner.refresh().await {
                tracing::warn!(backend = %inner.name, error = %e, "schema discovery failed");
            }
            inner.refreshing.store(false, Ordering::Release);
        });
    }

    async fn refresh(&self) -> Result<()> {
        let discovery = Arc::new(self.discover().await?);
        *self.last.write().unwrap() = discovery.clone();
        self.schemas.insert((), discovery).await;
        Ok(())
    }

    async fn discover(&self) -> Result<Discovery> {
        let mut conn = self.connect().await?;
        let columns: Vec<InformationSchemaColumn> = with_deadline(
            self.connect_timeout.max(Duration::from_secs(30)),
            conn.query(
                "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, \
                     NUMERIC_PRECISION, NUMERIC_SCALE \
                     FROM information_schema.columns WHERE TABLE_SCHEMA = DATABASE() \
                     ORDER BY TABLE_NAME, ORDINAL_POSITION",
            ),
        )
        .await
        .map_err(|_| self.unavailable("timed out reading information_schema"))?
        .map_err(|e| self.error(e))?;
        // Only StarRocks has tables_config (the table model); elsewhere nothing dedups.
        let models: Vec<(String, String)> = conn
            .query(
                "SELECT TABLE_NAME, TABLE_MODEL FROM information_schema.tables_config \
                 WHERE TABLE_SCHEMA = DATABASE()",
            )
            .await
            .unwrap_or_default();
        let dedup: HashSet<String> = models
            .into_iter()
            .filter(|(_, model)| matches!(model.as_str(), "PRIMARY_KEYS" | "UNIQUE_KEYS"))
            .map(|(table, _)| table)
            .collect();
        let mut grouped: BTreeMap<String, Vec<(String, DataType)>> = BTreeMap::new();
        for (table, column, data_type, column_type, precision, scale) in columns {
            let ty = declared_type(&data_type, &column_type, precision, scale);
            grouped.entry(table).or_default().push((column, ty));
        }
        let tables = grouped
            .into_iter()
            .map(|(table, columns)| {
                let fields: Vec<arrow::datatypes::Field> = columns
                    .iter()
                    .map(|(name, ty)| arrow::datatypes::Field::new(name, ty.clone(), true))
                    .collect();
                let discovered = DiscoveredTable {
                    info: TableInfo {
                        name: table.clone(),
                        schema: Arc::new(arrow::datatypes::Schema::new(fields)),
                    },
                    declared: columns.into_iter().collect(),
                    dedup_on_write: dedup.contains(&table),
                };
                (table, discovered)
            })
            .collect();
        Ok(Discovery { tables })
    }

    async fn connect(&self) -> Result<Conn> {
        with_deadline(self.connect_timeout, self.pool.get_conn())
            .await
            .map_err(|_| self.unavailable("timed out connecting"))?
            .map_err(|e| self.error(e))
    }

    fn unavailable(&self, what: impl std::fmt::Display) -> Error {
        Error::unavailable(&self.name, what)
    }

    /// A MySQL error as a Postgres one, keeping the server's own code, state and text.
    fn error(&self, e: mysql_async::Error) -> Error {
        match e {
            mysql_async::Error::Server(e) if INTERRUPTED.contains(&e.code) => Error::Cancelled,
            mysql_async::Error::Server(e) => Error::Backend {
                backend: self.name.clone(),
                sqlstate: sqlstate_of(e.code, &e.state),
                message: format!("ERROR {} ({}): {}", e.code, e.state, e.message),
            },
            other => self.unavailable(other),
        }
    }

    fn is_schema_error(e: &mysql_async::Error) -> bool {
        matches!(e, mysql_async::Error::Server(s) if SCHEMA_ERRORS.contains(&s.code))
    }

    fn timed_out(&self) -> Error {
        Error::Session {
            code: "57014",
            message: format!(
                "canceling statement due to statement timeout ({}s on backend {})",
                self.timeout.as_secs(),
                self.name
            ),
        }
    }

    /// The declared type of the table column a result column reads directly, if known.
    fn declared(&self, discovery: &Discovery, column: &Column) -> Option<DataType> {
        let table = column.org_table_str();
        let name = column.org_name_str();
        if table.is_empty() || name.is_empty() {
            return None;
        }
        discovery
            .tables
            .get(table.as_ref())?
            .declared
            .get(name.as_ref())
            .cloned()
    }

    /// Runs `KILL QUERY` for connection `id` on a fresh side connection (the pool may
    /// be exhausted, and is for queries).
    async fn kill(&self, id: u32) {
        let outcome = with_deadline(self.connect_timeout, async {
            let mut side = Conn::new(self.kill_opts.clone()).await?;
            side.query_drop(format!("KILL QUERY {id}")).await?;
            side.disconnect().await
        })
        .await;
        match outcome {
            Ok(Ok(())) => tracing::debug!(backend = %self.name, connection = id, "killed query"),
            // The query may have finished meanwhile (ER_NO_SUCH_THREAD): nothing to do.
            Ok(Err(e)) => {
                tracing::info!(backend = %self.name, connection = id, error = %e, "KILL QUERY failed")
            }
            Err(_) => tracing::warn!(backend = %self.name, connection = id, "KILL QUERY timed out"),
        }
    }
}

async fn with_deadline<F: std::future::Future>(
    limit: Duration,
    future: F,
) -> std::result::Result<F::Output, tokio::time::error::Elapsed> {
    tokio::time::timeout(limit, future).await
}

#[async_trait]
impl Backend for StarRocksBackend {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn target(&self) -> Target {
        Target::StarRocks
    }

    fn tables(&self) -> Vec<TableInfo> {
        let discovery = self.inner.current();
        if self.inner.routed.is_empty() {
            return discovery.tables.values().map(|t| t.info.clone()).collect();
        }
        self.inner
            .routed
            .iter()
            .map(|name| match discovery.tables.get(name) {
                Some(t) => t.info.clone(),
                // Not discovered (yet): routed all the same, with no known columns.
                None => TableInfo {
                    name: name.clone(),
                    schema: Arc::new(arrow::datatypes::Schema::empty()),
                },
            })
            .collect()
    }

    /// The result schema without running the query: the same text-protocol metadata
    /// `execute` reads, from the query wrapped in `LIMIT 0`; `$n` placeholders read as
    /// NULL there. MySQL does not report parameter types.
    async fn describe(&self, sql: &str, parameter_count: usize) -> Result<Description> {
        Ok(Description {
            schema: self.probe_schema(sql).await?,
            parameter_types: vec![None; parameter_count],
        })
    }

    /// Starts the query and returns once its schema is known. The server sends result
    /// metadata only when the first rows are ready (an aggregate over a big table: at
    /// the end), so a query not started within `HEADER_WAIT` is described by a `LIMIT 0`
    /// probe instead: the frontend gets a schema, and with it a stream it can cancel,
    /// while the query runs.
    async fn execute(&self, sql: &str) -> Result<ResultStream> {
        let (mut header, batches) = self.start(sql);
        let schema = tokio::select! {
            schema = &mut header => return Ok(stream(header_result(schema)?, None, batches)),
            _ = tokio::time::sleep(HEADER_WAIT) => match self.probe_schema(sql).await {
                Ok(schema) => schema,
                // The query itself will say what is wrong, authoritatively.
                Err(_) => return Ok(stream(header_result(header.await)?, None, batches)),
            },
        };
        Ok(stream(schema, Some(header), batches))
    }
}

/// How long `execute` waits for result metadata before describing the query instead.
const HEADER_WAIT: Duration = Duration::from_millis(200);

impl StarRocksBackend {
    fn start(
        &self,
        sql: &str,
    ) -> (
        oneshot::Receiver<Result<SchemaRef>>,
        mpsc::Receiver<Result<RecordBatch>>,
    ) {
        let (header_tx, header_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(2);
        let inner = self.inner.clone();
        let sql = sql.to_owned();
        tokio::spawn(async move {
            let deadline = Instant::now() + inner.timeout;
            run_query(&inner, &sql, deadline, header_tx, batch_tx).await;
        });
        (header_rx, batch_rx)
    }

    async fn probe_schema(&self, sql: &str) -> Result<SchemaRef> {
        let probe = format!(
            "SELECT * FROM ({}) AS switchyard_describe LIMIT 0",
            placeholders_as_null(sql)?
        );
        let (header, _batches) = self.start(&probe);
        header_result(header.await)
    }
}

fn header_result(
    header: std::result::Result<Result<SchemaRef>, oneshot::error::RecvError>,
) -> Result<SchemaRef> {
    header.map_err(|_| Error::internal("starrocks query task ended early"))?
}

/// The batch stream of a started query. With `pending` (the schema came from a probe),
/// it first waits for the query's own metadata and casts batches to the probe's types
/// where the two differ.
fn stream(
    schema: SchemaRef,
    pending: Option<oneshot::Receiver<Result<SchemaRef>>>,
    batches: mpsc::Receiver<Result<RecordBatch>>,
) -> ResultStream {
    let expected = schema.clone();
    let state = (pending, batches, false);
    let batches = futures::stream::unfold(state, move |(pending, mut rx, mut cast)| {
        let expected = expected.clone();
        async move {
            if let Some(header) = pending {
                match header_result(header.await) {
                    Ok(actual) => cast = !same_types(&actual, &expected),
                    Err(e) => return Some((Err(e), (None, rx, cast))),
                }
            }
            let batch = rx.recv().await?;
            let batch = match batch {
                Ok(batch) if cast => conform(batch, &expected),
                other => other,
            };
            Some((batch, (None, rx, cast)))
        }
    });
    ResultStream {
        schema,
        batches: Box::pin(batches),
    }
}

fn same_types(a: &SchemaRef, b: &SchemaRef) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.data_type() == y.data_type())
}

/// A batch in the probe's schema (the probe and the query disagree only where
/// a declared-type refinement applied to one and not the other).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.num_columns() != schema.fields().len() {
        return Err(Error::internal(
            "result columns differ from the described ones",
        ));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| arrow::compute::cast(column, field.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::internal)?;
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)
}

type Header = oneshot::Sender<Result<SchemaRef>>;
type Batches = mpsc::Sender<Result<RecordBatch>>;

/// How a query ended before its last row.
enum Stop {
    /// Nobody wants the rest: the client cancelled or went away.
    Abandoned,
    TimedOut,
    /// Switchyard could not go on (the server may still be running the query).
    Failed(Error),
    /// The server or the connection ended the query with an error.
    Ended(Error),
}

/// One query from connection to last batch. On any early stop it kills the query on
/// the server before letting go of the connection, and does not return that
/// connection to the pool.
async fn run_query(
    inner: &Arc<Inner>,
    sql: &str,
    deadline: Instant,
    header: Header,
    batches: Batches,
) {
    let mut conn = match tokio::time::timeout_at(deadline, inner.connect()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            let _ = header.send(Err(e));
            return;
        }
        Err(_) => {
            let _ = header.send(Err(inner.timed_out()));
            return;
        }
    };
    let id = conn.id();
    let mut header = Some(header);
    let outcome = stream_rows(inner, &mut conn, sql, deadline, &mut header, &batches).await;
    let stop = match outcome {
        Ok(()) => return, // the connection goes back to the pool, result fully read
        Err(stop) => stop,
    };
    // Also after a failure of ours (a value that does not parse): the query runs on.
    if !matches!(stop, Stop::Ended(_)) {
        inner.kill(id).await;
    }
    // Not back to the pool: after a KILL the session's state is not worth trusting.
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.disconnect()).await;
    });
    let error = match stop {
        Stop::Abandoned => return,
        Stop::TimedOut => inner.timed_out(),
        Stop::Failed(e) | Stop::Ended(e) => e,
    };
    match header.take() {
        Some(header) => {
            let _ = header.send(Err(error));
        }
        None => {
            let _ = batches.send(Err(error)).await;
        }
    }
}

async fn stream_rows(
    inner: &Arc<Inner>,
    conn: &mut Conn,
    sql: &str,
    deadline: Instant,
    header: &mut Option<Header>,
    batches: &Batches,
) -> std::result::Result<(), Stop> {
    let started = tokio::select! {
        result = conn.query_iter(sql) => result,
        _ = tokio::time::sleep_until(deadline) => return Err(Stop::TimedOut),
        _ = closed(header) => return Err(Stop::Abandoned),
    };
    let mut result = match started {
        Ok(result) => result,
        Err(e) => {
            if Inner::is_schema_error(&e) {
                inner.schemas.invalidate_all();
            }
            return Err(Stop::Ended(inner.error(e)));
        }
    };
    let columns = result.columns().unwrap_or_else(|| Arc::from(Vec::new()));
    let discovery = inner.current();
    let schema = types::schema(&columns, |c| inner.declared(&discovery, c));
    if header
        .take()
        .is_some_and(|h| h.send(Ok(schema.clone())).is_err())
    {
        return Err(Stop::Abandoned);
    }
    let mut builder = types::BatchBuilder::new(schema, BATCH_ROWS);
    // One timer for the whole result, not one per row.
    let expired = tokio::time::sleep_until(deadline);
    tokio::pin!(expired);
    loop {
        // Watch for cancellation and the deadline once per batch, not once per row:
        // a select per row cost more than decoding the row.
        let more = tokio::select! {
            biased;
            _ = batches.closed() => return Err(Stop::Abandoned),
            _ = &mut expired => return Err(Stop::TimedOut),
            filled = fill(&mut result, &mut builder) => filled,
        };
        let more = more.map_err(|e| match e {
            Filling::Row(e) => Stop::Failed(e),
            Filling::Server(e) => Stop::Ended(inner.error(e)),
        })?;
        if !builder.is_empty() {
            send(&mut builder, batches, expired.as_mut()).await?;
        }
        if !more {
            return Ok(());
        }
    }
}

enum Filling {
    /// A row switchyard could not convert.
    Row(Error),
    Server(mysql_async::Error),
}

/// Reads rows into `builder` until it holds a batch (true: more may follow) or the
/// result ends (false).
async fn fill(
    result: &mut mysql_async::QueryResult<'_, '_, mysql_async::TextProtocol>,
    builder: &mut types::BatchBuilder,
) -> std::result::Result<bool, Filling> {
    while builder.len() < BATCH_ROWS {
        match result.next().await.map_err(Filling::Server)? {
            Some(row) => builder.push(row.unwrap_raw()).map_err(Filling::Row)?,
            None => return Ok(false),
        }
    }
    Ok(true)
}

async fn send(
    builder: &mut types::BatchBuilder,
    batches: &Batches,
    expired: std::pin::Pin<&mut tokio::time::Sleep>,
) -> std::result::Result<(), Stop> {
    let batch = builder.finish().map_err(Stop::Failed)?;
    tokio::select! {
        sent = batches.send(Ok(batch)) => sent.map_err(|_| Stop::Abandoned),
        _ = expired => Err(Stop::TimedOut),
    }
}

/// Resolves when the receiver of the header has gone (the caller stopped waiting).
async fn closed(header: &mut Option<Header>) {
    match header {
        Some(h) => h.closed().await,
        None => std::future::pending().await,
    }
}

/// Replaces `$n` placeholders with `NULL`, token-exactly (MySQL string rules, so a
/// `$1` inside a literal or comment stays as it is).
fn placeholders_as_null(sql: &str) -> Result<String> {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    if !sql.contains('$') {
        return Ok(sql.to_owned());
    }
    let tokens = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| Error::internal(format!("tokenizing emitted SQL: {e}")))?;
    // Byte offset of each (line, column) position, both 1-based, column in characters.
    let mut offsets: HashMap<(u64, u64), usize> = HashMap::new();
    let (mut line, mut column) = (1u64, 1u64);
    for (offset, ch) in sql.char_indices() {
        offsets.insert((line, column), offset);
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    offsets.insert((line, column), sql.len());
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for token in tokens {
        // MySQL lets `$` into identifiers, so its tokenizer reads `$1` as a bare word.
        let text = match &token.token {
            Token::Placeholder(text) => text,
            Token::Word(word) if word.quote_style.is_none() => &word.value,
            _ => continue,
        };
        let is_param = text
            .strip_prefix('$')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_param {
            continue;
        }
        let start = offsets.get(&(token.span.start.line, token.span.start.column));
        let end = offsets.get(&(token.span.end.line, token.span.end.column));
        let (Some(&start), Some(&end)) = (start, end) else {
            return Err(Error::internal("placeholder position out of range"));
        };
        out.push_str(&sql[copied..start]);
        out.push_str("NULL");
        copied = end;
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}

/// The Postgres SQLSTATE nearest to a MySQL/StarRocks error: by error number where
/// MySQL's own SQLSTATE is coarse (42000 covers syntax, access and unknown functions),
/// else MySQL's SQLSTATE where its class means the same in Postgres; XX000 otherwise.
fn sqlstate_of(code: u16, state: &str) -> &'static str {
    match code {
        1064 | 1149 => "42601",               // ER_PARSE_ERROR, ER_SYNTAX_ERROR
        1146 | 1051 => "42P01",               // ER_NO_SUCH_TABLE, ER_BAD_TABLE_ERROR
        1049 => "3D000",                      // ER_BAD_DB_ERROR
        1054 => "42703",                      // ER_BAD_FIELD_ERROR
        1305 | 1582 | 1583 => "42883",        // function does not exist / wrong arguments
        1044 | 1045 | 1142 | 1143 => "42501", // access denied
        1365 => "22012",                      // ER_DIVISION_BY_ZERO
        1264 | 1690 => "22003",               // out of range
        1292 | 1411 => "22007",               // incorrect datetime value
        1366 => "22P02",                      // incorrect value for column
        1406 => "22001",                      // data too long
        1040 | 1203 => "53300",               // too many connections
        1041 | 1038 => "53200",               // out of memory
        1205 => "55P03",                      // lock wait timeout
        1213 => "40P01",                      // deadlock
        1235 => "0A000",                      // ER_NOT_SUPPORTED_YET
        3024 => "57014",                      // max_execution_time exceeded
        _ => match state.get(..2) {
            Some("22") => "22000",
            Some("23") => "23000",
            Some("42") => "42000",
            Some("40") => "40000",
            Some("08") => "08000",
            _ => "XX000",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_null_outside_literals_only() {
        assert_eq!(
            placeholders_as_null("SELECT `a` FROM t WHERE x = $1 AND y = '$2' AND z > $10")
                .unwrap(),
            "SELECT `a` FROM t WHERE x = NULL AND y = '$2' AND z > NULL"
        );
        assert_eq!(
            placeholders_as_null("SELECT 'it\\'s $1',\n $2").unwrap(),
            "SELECT 'it\\'s $1',\n NULL"
        );
        assert_eq!(placeholders_as_null("SELECT 1").unwrap(), "SELECT 1");
    }

    #[test]
    fn mysql_errors_map_to_the_nearest_sqlstate() {
        assert_eq!(sqlstate_of(1146, "42S02"), "42P01");
        assert_eq!(sqlstate_of(1064, "42000"), "42601");
        assert_eq!(sqlstate_of(1305, "42000"), "42883");
        assert_eq!(sqlstate_of(1365, "22012"), "22012");
        assert_eq!(sqlstate_of(1406, "22001"), "22001");
        assert_eq!(sqlstate_of(9999, "22XYZ"), "22000");
        assert_eq!(sqlstate_of(9999, "HY000"), "XX000");
    }
}
