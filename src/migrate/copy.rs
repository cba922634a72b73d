//! `switchyard copy`: streams a table's rows from one backend into a Delta table (or an
//! existing ClickHouse table, see `clickhouse_sink`), resumably and exactly once.
//!
//! The source range is cut by its time column into windows aligned to absolute UTC
//! boundaries (minute, hour or day), copied in increasing order. Each window is ONE Delta
//! commit that also records a Delta application transaction (`txn` action):
//! `appId = switchyard-copy:<source>/<table>[:<hash of --where>]`, `version` = the
//! window's exclusive end in microseconds since the epoch, i.e. "every source row
//! before this instant is in the table". A run starts after the last recorded version,
//! so a copy killed at any point and run again neither skips nor repeats a row: Parquet
//! files written for a window that never committed are not in the log (VACUUM removes
//! them). Without `--until` the upper bound is pinned when the run starts; a later run
//! continues from there. Assumption (stated in the output): the source is append-only
//! — rows inside an already-copied window do not change. A table without a time column
//! is copied as one window (version 0 = complete). One copy per table at a time.
//!
//! Columns are read by name (MATERIALIZED and ALIAS ones too, so the copy holds what
//! queries read); ClickHouse aggregate-function states, which no output format carries,
//! are left out with a warning (`super::readable_columns`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::CastOptions;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::{StructType, Transaction};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::DeltaTable;
use futures::StreamExt;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::clickhouse_sink::{ClickHouseSink, STARTED};
use super::{
    format_instant, integer_at, is_date, micros_at, open_side, quote, time_column, Range,
    Selection, MICROS_PER_DAY, MICROS_PER_SECOND,
};
use crate::config::{BackendConfig, Config};
use crate::error::{Error, Result};

/// What `switchyard copy` was asked to do.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub table: String,
    pub from: String,
    pub to: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub filter: Option<String>,
    pub time_column: Option<String>,
    pub window: Option<Granularity>,
    /// Most rows per Delta write (source batches are split to this size).
    pub batch_rows: usize,
    /// Throttle: most rows copied per second (spares a busy source).
    pub max_rows_per_second: Option<u64>,
    /// `--location BACKEND=PATH` overrides.
    pub locations: BTreeMap<String, String>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct CopySummary {
    pub rows: u64,
    pub bytes: u64,
    pub windows_committed: usize,
    pub windows_skipped_empty: usize,
    pub already_done: bool,
}

/// Window widths: boundaries are multiples of the width since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Minute,
    Hour,
    Day,
}

/// When the width is chosen from the range: at most this many windows…
const MAX_WINDOWS: i64 = 1000;
/// …holding at least this many rows on average (amortising each commit's cost).
const MIN_WINDOW_ROWS: u64 = 100_000;

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        match text.to_ascii_lowercase().as_str() {
            "minute" => Some(Granularity::Minute),
            "hour" => Some(Granularity::Hour),
            "day" => Some(Granularity::Day),
            _ => None,
        }
    }

    pub fn micros(self) -> i64 {
        match self {
            Granularity::Minute => 60 * MICROS_PER_SECOND,
            Granularity::Hour => 3600 * MICROS_PER_SECOND,
            Granularity::Day => MICROS_PER_DAY,
        }
    }

    /// The finest width giving at most MAX_WINDOWS windows over `[start, end)` of
    /// MIN_WINDOW_ROWS rows each on average, for `rows` rows (days at the coarsest;
    /// dates are always cut by days).
    pub fn for_range(start: i64, end: i64, rows: u64, dates: bool) -> Granularity {
        if dates {
            return Granularity::Day;
        }
        [Granularity::Minute, Granularity::Hour]
            .into_iter()
            .find(|g| {
                let windows = window_count(start, end, *g);
                windows <= MAX_WINDOWS && rows / windows.max(1) as u64 >= MIN_WINDOW_ROWS
            })
            .unwrap_or(Granularity::Day)
    }
}

/// Cuts `[start, end)` at every multiple of the width: the first and last windows
/// may be partial, the others are whole and absolutely aligned, so a resumed run
/// (starting mid-window) rejoins the same boundaries.
pub fn plan_windows(start: i64, end: i64, granularity: Granularity) -> Vec<(i64, i64)> {
    let mut windows = Vec::new();
    let mut at = start;
    while at < end {
        windows.push(window_at(at, end, granularity));
        at = windows[windows.len() - 1].1;
    }
    windows
}

/// How many windows `plan_windows` cuts `[start, end)` into, without cutting.
pub fn window_count(start: i64, end: i64, granularity: Granularity) -> i64 {
    if end <= start {
        return 0;
    }
    let width = granularity.micros();
    (end - 1).div_euclid(width) - start.div_euclid(width) + 1
}

/// The window starting at `at`: up to the next boundary, or `end`.
pub fn window_at(at: i64, end: i64, granularity: Granularity) -> (i64, i64) {
    let width = granularity.micros();
    (at, ((at.div_euclid(width) + 1) * width).min(end))
}

/// The application id recording this copy's progress in the Delta log. A different
/// `--where` is a different copy; a stable hash (FNV-1a) keeps ids equal across builds.
pub fn app_id(source: &str, table: &str, filter: Option<&str>) -> String {
    match filter {
        None => format!("switchyard-copy:{source}/{table}"),
        Some(filter) => format!(
            "switchyard-copy:{source}/{table}:{:016x}",
            fnv1a(filter.trim().as_bytes())
        ),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The Delta type holding `data_type` without loss: unsigned integers widen, string and
/// binary encodings unify, timestamps become microseconds in UTC (the same instants).
pub fn delta_type(data_type: &DataType) -> std::result::Result<DataType, String> {
    Ok(match data_type {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::Binary
        | DataType::Date32 => data_type.clone(),
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 => DataType::Int64,
        DataType::UInt64 => DataType::Decimal128(20, 0),
        DataType::Float16 => DataType::Float32,
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            DataType::Binary
        }
        DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, tz) => {
            DataType::Timestamp(TimeUnit::Microsecond, tz.as_ref().map(|_| "UTC".into()))
        }
        DataType::Decimal128(precision, _) if *precision <= 38 => data_type.clone(),
        DataType::Dictionary(_, value) => delta_type(value)?,
        DataType::List(item) | DataType::LargeList(item) => {
            DataType::List(Arc::new(delta_field(item)?))
        }
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| delta_field(f))
                .collect::<std::result::Result<Fields, String>>()?,
        ),
        DataType::Map(entries, sorted) => DataType::Map(Arc::new(delta_field(entries)?), *sorted),
        other => return Err(format!("{other} has no Delta Lake type")),
    })
}

fn delta_field(field: &Field) -> std::result::Result<Field, String> {
    Ok(Field::new(
        field.name(),
        delta_type(field.data_type())?,
        field.is_nullable(),
    ))
}

/// The Delta table's Arrow schema for a source schema.
pub fn delta_schema(source: &SchemaRef) -> Result<SchemaRef> {
    let fields = source
        .fields()
        .iter()
        .map(|f| {
            delta_field(f).map_err(|why| {
                Error::unsupported(format!("column {} of type {why}", f.name()), "delta")
            })
        })
        .collect::<Result<Vec<Field>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// A source batch in the Delta schema. Casts fail on overflow rather than wrap, and
/// nanosecond timestamps must hold whole microseconds (Delta cannot store the rest).
pub fn to_delta_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    // Columns pair by position: a source answering other columns than the schema's
    // must fail here, not land values under another column's name.
    let names =
        |s: &Schema| -> Vec<String> { s.fields().iter().map(|f| f.name().clone()).collect() };
    if names(batch.schema_ref()) != names(schema) {
        return Err(Error::internal(format!(
            "the source answered columns {:?} where the copy expects {:?}",
            names(batch.schema_ref()),
            names(schema)
        )));
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                return Ok(column.clone());
            }
            if let DataType::Timestamp(TimeUnit::Nanosecond, _) = column.data_type() {
                let nanos = column.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
                if nanos.iter().flatten().any(|v| v % 1000 != 0) {
                    return Err(Error::unsupported(
                        format!(
                            "column {} holds sub-microsecond timestamps (Delta Lake stores microseconds)",
                            field.name()
                        ),
                        "delta",
                    ));
                }
            }
            arrow::compute::cast_with_options(column, field.data_type(), &options).map_err(|e| {
                Error::internal(format!(
                    "column {}: {} → {}: {e}",
                    field.name(),
                    column.data_type(),
                    field.data_type()
                ))
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)
}

fn delta_error(location: &str) -> impl Fn(deltalake::DeltaTableError) -> Error + '_ {
    move |e| super::backend_error("delta", format!("{location}: {e}"))
}

/// Opens the destination, creating it with `schema` when it does not exist; an
/// existing table must have exactly that schema.
async fn open_destination(location: &str, table: &str, schema: &SchemaRef) -> Result<DeltaTable> {
    let fail = delta_error(location);
    if !location.contains("://") {
        std::fs::create_dir_all(location)
            .map_err(|e| Error::Config(format!("cannot create {location}: {e}")))?;
    }
    let url = deltalake::ensure_table_uri(location).map_err(&fail)?;
    if super::delta_table_exists(location) {
        let table = deltalake::open_table(url).await.map_err(&fail)?;
        let existing = RecordBatchWriter::for_table(&table)
            .map_err(&fail)?
            .arrow_schema();
        // Compared as Delta types: Arrow spellings that Delta does not keep (a map's
        // entries field is `entries` from ClickHouse, `key_value` from Delta) don't count.
        let shape = |s: &Schema| -> Vec<(String, String)> {
            s.fields()
                .iter()
                .map(|f| {
                    let delta: Result<deltalake::kernel::DataType, _> =
                        f.data_type().try_into_kernel();
                    let delta =
                        delta.map_or_else(|_| format!("{:?}", f.data_type()), |t| format!("{t:?}"));
                    (f.name().clone(), delta)
                })
                .collect()
        };
        if shape(&existing) != shape(schema) {
            return Err(Error::Config(format!(
                "the Delta table at {location} has columns {:?}, the source needs {:?}",
                shape(&existing),
                shape(schema)
            )));
        }
        return Ok(table);
    }
    let columns: StructType = schema
        .as_ref()
        .try_into_kernel()
        .map_err(|e| Error::unsupported(format!("the source schema ({e})"), "delta"))?;
    // The builder rather than `DeltaTable::try_from_url`: loading an empty directory
    // as a table logs a spurious kernel error.
    deltalake::operations::create::CreateBuilder::new()
        .with_location(url.to_string())
        .with_table_name(table)
        .with_columns(columns.fields().cloned())
        .await
        .map_err(&fail)
}

/// Runs a copy; progress goes to stderr (a bar on a terminal, a line per window
/// otherwise), the plan and outcome to stdout.
pub async fn run(mut config: Config, request: CopyRequest) -> Result<CopySummary> {
    config.validate()?;
    if request.batch_rows == 0 {
        return Err(Error::InvalidParameter(
            "--batch-rows must be positive".into(),
        ));
    }
    let clickhouse = match config.backends.get(&request.to) {
        Some(BackendConfig::Delta {}) => None,
        Some(BackendConfig::Clickhouse(clickhouse)) => Some(clickhouse.clone()),
        Some(other) => {
            return Err(Error::unsupported(
                format!(
                    "copying into a {} backend ({}): destinations are Delta or ClickHouse",
                    other.kind(),
                    request.to
                ),
                "switchyard copy",
            ))
        }
        None => return Err(Error::Config(format!("no backend named {:?}", request.to))),
    };
    let source = open_side(&config, &request.from, &request.table, &request.locations).await?;
    let destination = open_side(&config, &request.to, &request.table, &request.locations).await?;
    let source_schema = source.schema.clone().ok_or_else(|| {
        Error::UndefinedTable(format!(
            "{} (no Delta table at {})",
            request.table,
            source.location.clone().unwrap_or_default()
        ))
    })?;
    let time = time_column(
        &source_schema,
        &source.sorting_key,
        request.time_column.as_deref(),
    )?;
    let app = app_id(&request.from, &request.table, request.filter.as_deref());
    let mut sink = match clickhouse {
        None => {
            let location = destination
                .location
                .clone()
                .ok_or_else(|| Error::internal("Delta destination without a location"))?;
            if source.location.as_deref() == Some(location.as_str()) {
                let how = if request.from == request.to {
                    "copy to another Delta backend (define one under [backends]) with its own --location"
                } else {
                    "give the destination another with --location BACKEND=PATH"
                };
                return Err(Error::Config(format!(
                    "source and destination are the same Delta table ({location}); {how}"
                )));
            }
            let schema = delta_schema(&source_schema)?;
            let table = open_destination(&location, &request.table, &schema).await?;
            Sink::Delta {
                table: Box::new(table),
                location,
                schema,
                writer: None,
            }
        }
        Some(clickhouse) => {
            // Leaving a state column out would leave the destination's states empty.
            if let Some((column, why)) = source.skipped.first().or(destination.skipped.first()) {
                return Err(Error::unsupported(
                    format!("copying column {column} into ClickHouse: {why}"),
                    "switchyard copy",
                ));
            }
            if let Some(BackendConfig::Clickhouse(from)) = config.backends.get(&request.from) {
                let place = |c: &crate::config::ClickHouseConfig| {
                    (c.url.trim_end_matches('/').to_owned(), c.database.clone())
                };
                if place(from) == place(&clickhouse) {
                    return Err(Error::Config(format!(
                        "{} and {} are the same ClickHouse database: the copy would write into its own source",
                        request.from, request.to
                    )));
                }
            }
            let columns = |schema: &SchemaRef| -> Vec<String> {
                schema.fields().iter().map(|f| f.name().clone()).collect()
            };
            let existing = destination.schema.as_ref().map(columns).unwrap_or_default();
            if existing != columns(&source_schema) {
                return Err(Error::Config(format!(
                    "the ClickHouse table {} has columns {existing:?}; the source has {:?} (create it with the source's columns, in order)",
                    request.table,
                    columns(&source_schema)
                )));
            }
            Sink::ClickHouse(Box::new(ClickHouseSink::new(
                &clickhouse,
                &request.table,
                &source_schema,
            )?))
        }
    };
    let progress = sink.progress(&app).await?;
    let committed = progress.filter(|version| *version != STARTED);
    let location = sink.describe();

    let selection = Selection {
        table: request.table.clone(),
        time_column: time.clone(),
        filter: request.filter.clone(),
    };
    let target = source.backend.target();
    println!(
        "copy {} from {} to {} ({location}); progress id {app}",
        request.table, request.from, request.to
    );
    for (column, why) in &source.skipped {
        println!("warning: column {column} is not copied: {why}");
    }
    let columns: Vec<&str> = source_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let Some(column) = time else {
        println!(
            "{} has no timestamp or date column: copying it as one window (one commit)",
            request.table
        );
        if committed.is_some() {
            println!("already copied (recorded at the destination); nothing to do");
            return Ok(CopySummary {
                already_done: true,
                ..Default::default()
            });
        }
        let whole = Range {
            start: None,
            end: None,
        };
        let total = count(&source.backend, &selection, whole, false, target).await?;
        sink.prepare(&app, progress, &selection, whole, false)
            .await?;
        let mut copier = Copier::new(&request, total, &columns);
        copier
            .window(
                &source.backend,
                &selection,
                whole,
                false,
                &mut sink,
                &app,
                0,
            )
            .await?;
        return Ok(copier.finish());
    };
    let dates = is_date(&source_schema, &column);
    // The pinned upper bound: rows arriving later are left for a later run.
    let end = match request.until {
        Some(until) => until,
        None => {
            let now = chrono::Utc::now().timestamp() * MICROS_PER_SECOND;
            let now = if dates {
                now.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY
            } else {
                now
            };
            println!(
                "no --until: copying rows before {} UTC (pinned at start; run again later for newer rows)",
                format_instant(now)
            );
            now
        }
    };
    println!(
        "windows by {column}; assumes rows inside a copied window never change (append-only source)"
    );
    if source_schema
        .field_with_name(&column)
        .is_ok_and(|f| f.is_nullable())
    {
        let nulls = format!("{} IS NULL", quote(&column));
        let with_nulls = Selection {
            time_column: None,
            filter: Some(match &request.filter {
                Some(filter) => format!("({filter}) AND {nulls}"),
                None => nulls,
            }),
            ..selection.clone()
        };
        let unbounded = Range {
            start: None,
            end: None,
        };
        let missing = count(&source.backend, &with_nulls, unbounded, dates, target).await?;
        if missing > 0 {
            return Err(Error::InvalidParameter(format!(
                "{missing} rows have a NULL {column}, so no time window holds them; choose another --time-column or exclude them with --where"
            )));
        }
    }
    let start = match (request.since, committed) {
        (Some(since), Some(done)) => Some(since.max(done)),
        (since, done) => since.or(done),
    };
    if let Some(done) = committed {
        println!(
            "resuming: rows before {} UTC are already copied",
            format_instant(done)
        );
    }
    let pending = Range {
        start,
        end: Some(end),
    };
    if start.is_some_and(|s| s >= end) {
        println!("nothing to copy: the range is already copied");
        return Ok(CopySummary {
            already_done: true,
            ..Default::default()
        });
    }
    let (total, first, last) =
        count_and_bounds(&source.backend, &selection, pending, dates, target, &column).await?;
    let (Some(first), Some(last)) = (first, last) else {
        println!("nothing to copy: no source rows in range");
        return Ok(CopySummary::default());
    };
    let start = start.unwrap_or(first);
    let granularity = match request.window {
        _ if dates => Granularity::Day,
        Some(granularity) => granularity,
        None => Granularity::for_range(start, last + 1, total, dates),
    };
    // Windows end after the newest row rather than at the pinned bound: no queries for
    // empty windows; a later run resumes from the last window's end.
    let width = granularity.micros();
    let stop = end.min((last.div_euclid(width) + 1) * width);
    println!(
        "{total} rows from {} to {} UTC, in {granularity:?} windows (at most {})",
        format_instant(start),
        format_instant(stop),
        window_count(start, stop, granularity)
    );
    sink.prepare(
        &app,
        progress,
        &selection,
        Range {
            start: Some(start),
            end: None,
        },
        dates,
    )
    .await?;
    let mut copier = Copier::new(&request, total, &columns);
    let mut at = start;
    while at < stop {
        let (from, to) = window_at(at, stop, granularity);
        let range = Range {
            start: Some(from),
            end: Some(to),
        };
        let rows = copier
            .window(
                &source.backend,
                &selection,
                range,
                dates,
                &mut sink,
                &app,
                to,
            )
            .await?;
        at = to;
        if rows == 0 {
            // Sparse data: jump to the window of the next row instead of querying
            // every empty window on the way.
            let rest = Range {
                start: Some(to),
                end: Some(stop),
            };
            match count_and_bounds(&source.backend, &selection, rest, dates, target, &column)
                .await?
            {
                (_, Some(next), _) => at = at.max(next.div_euclid(width) * width),
                _ => break,
            }
        }
    }
    Ok(copier.finish())
}

async fn count(
    backend: &crate::backend::BackendRef,
    selection: &Selection,
    range: Range,
    dates: bool,
    target: crate::emit::Target,
) -> Result<u64> {
    let sql = selection.sql("count(*)", range, dates, target)?;
    let row = super::one_row(backend, &sql).await?;
    Ok(integer_at(&row[0], 0)?.unwrap_or(0).max(0) as u64)
}

async fn count_and_bounds(
    backend: &crate::backend::BackendRef,
    selection: &Selection,
    range: Range,
    dates: bool,
    target: crate::emit::Target,
    column: &str,
) -> Result<(u64, Option<i64>, Option<i64>)> {
    let projection = format!("count(*), min({0}), max({0})", quote(column));
    let sql = selection.sql(&projection, range, dates, target)?;
    let row = super::one_row(backend, &sql).await?;
    let total = integer_at(&row[0], 0)?.unwrap_or(0).max(0) as u64;
    if total == 0 {
        // ClickHouse's min/max of no rows is the type's default (1970-01-01), not NULL.
        return Ok((0, None, None));
    }
    Ok((
        total,
        micros_at(row[1].as_ref(), 0),
        micros_at(row[2].as_ref(), 0),
    ))
}

/// Streams windows into the Delta table and keeps the progress display.
struct Copier<'a> {
    /// The source columns read, by name, in the destination's order.
    columns: &'a [&'a str],
    batch_rows: usize,
    max_rows_per_second: Option<u64>,
    bar: ProgressBar,
    started: Instant,
    summary: CopySummary,
}

impl<'a> Copier<'a> {
    fn new(request: &CopyRequest, total: u64, columns: &'a [&'a str]) -> Copier<'a> {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows  {msg}  {per_sec:0}  ETA {eta}",
            )
            .expect("progress template"),
        );
        Copier {
            columns,
            batch_rows: request.batch_rows,
            max_rows_per_second: request.max_rows_per_second,
            bar,
            started: Instant::now(),
            summary: CopySummary::default(),
        }
    }

    /// Copies one window as one commit recording `version`.
    #[allow(clippy::too_many_arguments)]
    async fn window(
        &mut self,
        source: &crate::backend::BackendRef,
        selection: &Selection,
        range: Range,
        dates: bool,
        sink: &mut Sink,
        app: &str,
        version: i64,
    ) -> Result<u64> {
        // By name, never `*`: ClickHouse's `*` leaves out MATERIALIZED and ALIAS
        // columns, which the schema lists, and every later column would shift.
        let sql = selection.select_columns(self.columns, range, dates, source.target())?;
        let mut result = source.execute(&sql).await?;
        sink.begin(app, version)?;
        let mut rows = 0u64;
        while let Some(batch) = result.batches.next().await {
            let batch = batch?;
            let mut offset = 0;
            while offset < batch.num_rows() {
                let length = self.batch_rows.min(batch.num_rows() - offset);
                let bytes = sink.write(&batch.slice(offset, length)).await?;
                offset += length;
                rows += length as u64;
                self.summary.rows += length as u64;
                self.summary.bytes += bytes;
                self.bar.set_position(self.summary.rows);
                self.bar
                    .set_message(format!("{} read", HumanBytes(self.summary.bytes)));
                self.throttle().await;
            }
        }
        let label = match (range.start, range.end) {
            (Some(from), Some(to)) => format!("[{}, {})", format_instant(from), format_instant(to)),
            _ => "the whole table".to_owned(),
        };
        if rows == 0 {
            self.summary.windows_skipped_empty += 1;
            return Ok(0);
        }
        let committed = sink.commit(app, version).await?;
        self.summary.windows_committed += 1;
        let line = format!("committed {label}: {rows} rows ({committed})");
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
        Ok(rows)
    }

    /// Sleeps while ahead of `--max-rows-per-second`.
    async fn throttle(&self) {
        let Some(rate) = self.max_rows_per_second.filter(|r| *r > 0) else {
            return;
        };
        let due = Duration::from_secs_f64(self.summary.rows as f64 / rate as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }

    fn finish(self) -> CopySummary {
        self.bar.finish_and_clear();
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        println!(
            "copied {} rows ({} as Arrow) in {:.1}s ({:.0} rows/s); {} windows committed, {} empty",
            self.summary.rows,
            HumanBytes(self.summary.bytes),
            seconds,
            self.summary.rows as f64 / seconds,
            self.summary.windows_committed,
            self.summary.windows_skipped_empty
        );
        self.summary
    }
}

/// Where the rows go, and how a window becomes durable there.
enum Sink {
    /// One Delta commit per window, carrying the `txn` action.
    Delta {
        table: Box<DeltaTable>,
        location: String,
        schema: SchemaRef,
        writer: Option<Box<RecordBatchWriter>>,
    },
    /// INSERTs, then a row in the progress table (see `clickhouse_sink`).
    ClickHouse(Box<ClickHouseSink>),
}

impl Sink {
    fn describe(&self) -> String {
        match self {
            Sink::Delta { location, .. } => location.clone(),
            Sink::ClickHouse(_) => "ClickHouse".into(),
        }
    }

    /// The recorded progress of copy `app` (ClickHouse: `STARTED` when no window is done).
    async fn progress(&self, app: &str) -> Result<Option<i64>> {
        match self {
            Sink::Delta {
                table, location, ..
            } => table
                .snapshot()
                .map_err(delta_error(location))?
                .transaction_version(table.log_store().as_ref(), app)
                .await
                .map_err(delta_error(location)),
            Sink::ClickHouse(sink) => sink.progress(app).await,
        }
    }

    /// Before the first window. ClickHouse: a copy that ran before may have left rows of
    /// an unfinished window; delete the destination's rows of the pending range, then
    /// record that this copy started. Delta needs nothing: uncommitted files are not
    /// part of the table.
    async fn prepare(
        &self,
        app: &str,
        progress: Option<i64>,
        selection: &Selection,
        pending: Range,
        dates: bool,
    ) -> Result<()> {
        let Sink::ClickHouse(sink) = self else {
            return Ok(());
        };
        match progress {
            Some(_) => {
                let condition =
                    selection.where_clause(pending, dates, crate::emit::Target::ClickHouse)?;
                println!(
                    "removing rows an interrupted run may have left (destination rows where {})",
                    condition.as_deref().unwrap_or("true")
                );
                sink.delete(condition.as_deref()).await
            }
            None => sink.record(app, STARTED).await,
        }
    }

    fn begin(&mut self, app: &str, version: i64) -> Result<()> {
        if let Sink::Delta {
            table,
            location,
            writer,
            ..
        } = self
        {
            let properties = CommitProperties::default()
                .with_application_transaction(Transaction::new(app, version));
            *writer = Some(Box::new(
                RecordBatchWriter::for_table(table)
                    .map_err(delta_error(location))?
                    .with_commit_properties(properties),
            ));
        }
        Ok(())
    }

    /// Writes a batch; returns the bytes it took.
    async fn write(&mut self, batch: &RecordBatch) -> Result<u64> {
        match self {
            Sink::Delta {
                location,
                schema,
                writer,
                ..
            } => {
                let chunk = to_delta_batch(batch, schema)?;
                let bytes = chunk
                    .columns()
                    .iter()
                    .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
                    .sum::<u64>();
                let writer = writer
                    .as_mut()
                    .ok_or_else(|| Error::internal("Delta write outside a window"))?;
                writer.write(chunk).await.map_err(delta_error(location))?;
                Ok(bytes)
            }
            Sink::ClickHouse(sink) => sink.insert(batch).await,
        }
    }

    /// Makes the window durable; describes the commit.
    async fn commit(&mut self, app: &str, version: i64) -> Result<String> {
        match self {
            Sink::Delta {
                table,
                location,
                writer,
                ..
            } => {
                let mut writer = writer
                    .take()
                    .ok_or_else(|| Error::internal("Delta commit outside a window"))?;
                let committed = writer
                    .flush_and_commit(table)
                    .await
                    .map_err(delta_error(location))?;
                Ok(format!("Delta version {committed}"))
            }
            Sink::ClickHouse(sink) => {
                sink.record(app, version).await?;
                Ok("progress recorded".into())
            }
        }
    }
}

/// A local path for `--location` values given relative to the working directory.
pub fn absolute(path: &str) -> String {
    if path.contains("://") {
        return path.to_owned();
    }
    let path = PathBuf::from(path);
    let path = if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|dir| dir.join(&path))
            .unwrap_or(path)
    };
    // Without `.` components, so messages show the plain path.
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect::<PathBuf>()
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringViewArray, TimestampNanosecondArray, UInt64Array};

    const HOUR: i64 = 3600 * MICROS_PER_SECOND;

    #[test]
    fn windows_align_to_absolute_boundaries() {
        let day = 20_000 * MICROS_PER_DAY;
        let windows = plan_windows(
            day + 90 * 60 * MICROS_PER_SECOND,
            day + 4 * HOUR,
            Granularity::Hour,
        );
        assert_eq!(
            windows,
            vec![
                (day + 90 * 60 * MICROS_PER_SECOND, day + 2 * HOUR),
                (day + 2 * HOUR, day + 3 * HOUR),
                (day + 3 * HOUR, day + 4 * HOUR),
            ]
        );
        // Contiguous, covering, never empty.
        let windows = plan_windows(-5 * HOUR - 7, 3 * HOUR + 11, Granularity::Hour);
        assert_eq!(windows.first().unwrap().0, -5 * HOUR - 7);
        assert_eq!(windows.last().unwrap().1, 3 * HOUR + 11);
        assert!(windows.windows(2).all(|w| w[0].1 == w[1].0));
        assert!(windows.iter().all(|(a, b)| a < b));
        assert!(windows.iter().skip(1).all(|(a, _)| a % HOUR == 0));
        assert!(plan_windows(5, 5, Granularity::Day).is_empty());
    }

    #[test]
    fn a_resumed_run_rejoins_the_same_boundaries() {
        let full = plan_windows(0, 10 * HOUR, Granularity::Hour);
        // Killed after committing the first three windows: version = their end.
        let resumed = plan_windows(3 * HOUR, 10 * HOUR, Granularity::Hour);
        assert_eq!(&full[3..], resumed.as_slice());
    }

    #[test]
    fn the_window_width_follows_the_range() {
        let day = MICROS_PER_DAY;
        // Few rows: one window a day.
        assert_eq!(
            Granularity::for_range(0, 7 * day, 20_000, false),
            Granularity::Day
        );
        // Many: the finest width with ≥ 100k rows a window and ≤ 1000 windows.
        assert_eq!(
            Granularity::for_range(0, 30 * day, 100_000_000, false),
            Granularity::Hour
        );
        assert_eq!(
            Granularity::for_range(0, 10 * HOUR, 100_000_000, false),
            Granularity::Minute
        );
        assert_eq!(
            Granularity::for_range(0, 3000 * day, u64::MAX, false),
            Granularity::Day
        );
        assert_eq!(
            Granularity::for_range(0, HOUR, 1 << 40, true),
            Granularity::Day
        );
    }

    #[test]
    fn window_counts_match_the_plan() {
        for (start, end) in [
            (0, 1),
            (-7, 5 * HOUR),
            (HOUR, 3 * HOUR),
            (HOUR + 1, 3 * HOUR - 1),
            (5, 5),
        ] {
            for g in [Granularity::Minute, Granularity::Hour, Granularity::Day] {
                assert_eq!(
                    window_count(start, end, g),
                    plan_windows(start, end, g).len() as i64
                );
            }
        }
    }

    #[test]
    fn app_ids_separate_filters_stably() {
        assert_eq!(app_id("ch", "t", None), "switchyard-copy:ch/t");
        let a = app_id("ch", "t", Some("x = 1"));
        assert_eq!(a, app_id("ch", "t", Some(" x = 1 ")));
        assert_ne!(a, app_id("ch", "t", Some("x = 2")));
        // FNV-1a of "a", a published test vector: stable across builds.
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn source_types_map_to_delta_without_loss() {
        let source = Arc::new(Schema::new(vec![
            Field::new("n", DataType::UInt64, false),
            Field::new("s", DataType::Utf8View, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Berlin".into())),
                true,
            ),
        ]));
        let schema = delta_schema(&source).unwrap();
        assert_eq!(schema.field(0).data_type(), &DataType::Decimal128(20, 0));
        assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
        assert_eq!(
            schema.field(2).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        let batch = RecordBatch::try_new(
            source.clone(),
            vec![
                Arc::new(UInt64Array::from(vec![u64::MAX])),
                Arc::new(StringViewArray::from(vec![Some("x")])),
                Arc::new(
                    TimestampNanosecondArray::from(vec![Some(5_000)])
                        .with_timezone("Europe/Berlin"),
                ),
            ],
        )
        .unwrap();
        let converted = to_delta_batch(&batch, &schema).unwrap();
        assert_eq!(micros_at(converted.column(2).as_ref(), 0), Some(5));
        assert_eq!(
            arrow::util::display::array_value_to_string(converted.column(0), 0).unwrap(),
            u64::MAX.to_string()
        );
        let lossy = RecordBatch::try_new(
            source,
            vec![
                Arc::new(UInt64Array::from(vec![1])),
                Arc::new(StringViewArray::from(vec![Some("x")])),
                Arc::new(
                    TimestampNanosecondArray::from(vec![Some(5_001)])
                        .with_timezone("Europe/Berlin"),
                ),
            ],
        )
        .unwrap();
        assert!(to_delta_batch(&lossy, &schema).is_err());
        let null = Arc::new(Schema::new(vec![Field::new("x", DataType::Null, true)]));
        assert!(delta_schema(&null).is_err());
    }
}
