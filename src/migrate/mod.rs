//! Moving one table between backends: `switchyard copy` (resumable, exactly-once
//! backfill into Delta, see `copy`) and `switchyard verify` (row counts and per-day
//! checksums computed by switchyard on both sides, see `verify`).
//!
//! Owns what both share: opening just the two backends a command names (a Delta
//! destination may not exist yet, so `Engine::start` is not used), which of a ClickHouse
//! table's columns can be read at all, resolving a Delta table's location, choosing the
//! time column, building each side's range query in switchyard's input language and
//! translating it with the regular emitter (so a `--where` means the same on every
//! backend), and reading time values as microseconds since the epoch.

pub mod clickhouse_sink;
pub mod copy;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use futures::StreamExt;

use crate::backend::clickhouse::types::ChType;
use crate::backend::clickhouse::{ClickHouseBackend, ClickHouseTable};
use crate::backend::starrocks::StarRocksBackend;
use crate::backend::{BackendRef, DeltaBackend};
use crate::config::{BackendConfig, Config};
use crate::emit::{self, Target};
use crate::error::{Error, Result};
use crate::sql::DialectSetting;

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A failure reported by a destination engine (the one place this module builds
/// `Error::Backend`).
pub(crate) fn backend_error(backend: &str, message: impl std::fmt::Display) -> Error {
    Error::backend(backend, message.to_string())
}

/// One side of a copy or verify: an opened backend and what it knows about the table.
pub struct Side {
    pub backend: BackendRef,
    /// The table's columns as this backend presents them (`None`: a Delta table not
    /// created yet).
    pub schema: Option<SchemaRef>,
    /// ClickHouse's sorting key expressions (empty elsewhere).
    pub sorting_key: Vec<String>,
    /// Where the table lives when this side is Delta.
    pub location: Option<String>,
    /// Columns of the table left out of `schema` because their values cannot be read,
    /// with why (ClickHouse aggregate-function states).
    pub skipped: Vec<(String, String)>,
}

/// `--location BACKEND=PATH` pairs: the table's Delta location on that backend.
pub fn parse_locations(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(b, p)| (b.trim().to_owned(), p.trim().to_owned()))
                .filter(|(b, p)| !b.is_empty() && !p.is_empty())
                .ok_or_else(|| {
                    Error::Config(format!("--location wants BACKEND=PATH, not {pair:?}"))
                })
        })
        .collect()
}

/// The table's Delta location on `backend`: `--location`, else `[tables.T] location`,
/// else `<data_dir>/<table>`.
fn delta_location(
    config: &Config,
    table: &str,
    backend: &str,
    overrides: &BTreeMap<String, String>,
) -> String {
    if let Some(path) = overrides.get(backend) {
        return path.clone();
    }
    if let Some(location) = config.tables.get(table).and_then(|t| t.location.clone()) {
        return location;
    }
    let path: PathBuf = config.data_dir.join(table);
    path.display().to_string()
}

/// True when a Delta table exists at `location` (a local directory holding a log).
pub fn delta_table_exists(location: &str) -> bool {
    if location.contains("://") && !location.starts_with("file://") {
        // Object stores: let opening decide.
        return true;
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    std::path::Path::new(path).join("_delta_log").is_dir()
}

/// Opens backend `name` of `config` for `table` only. A Delta table that does not
/// exist yet opens as a side without schema (a copy destination creates it).
pub async fn open_side(
    config: &Config,
    name: &str,
    table: &str,
    locations: &BTreeMap<String, String>,
) -> Result<Side> {
    let backend_config = config.backends.get(name).ok_or_else(|| {
        let known: Vec<&str> = config.backends.keys().map(String::as_str).collect();
        Error::Config(format!(
            "no backend named {name:?} (configured: {})",
            known.join(", ")
        ))
    })?;
    let no_table = || {
        Error::UndefinedTable(format!(
            "{table} (not found on backend {name}, a {})",
            backend_config.kind()
        ))
    };
    match backend_config {
        BackendConfig::Delta {} => {
            let location = delta_location(config, table, name, locations);
            if !delta_table_exists(&location) {
                let backend = DeltaBackend::open(name, &[]).await?;
                return Ok(Side {
                    backend: Arc::new(backend),
                    schema: None,
                    sorting_key: Vec::new(),
                    location: Some(location),
                    skipped: Vec::new(),
                });
            }
            let backend = DeltaBackend::open(name, &[(table.to_owned(), location.clone())]).await?;
            let schema = table_schema(&backend, table);
            Ok(Side {
                backend: Arc::new(backend),
                schema,
                sorting_key: Vec::new(),
                location: Some(location),
                skipped: Vec::new(),
            })
        }
        BackendConfig::Clickhouse(clickhouse) => {
            let backend = ClickHouseBackend::open(name, clickhouse).await?;
            let described = backend.table(table).ok_or_else(no_table)?;
            let (schema, skipped) = readable_columns(&described);
            Ok(Side {
                schema: Some(schema),
                sorting_key: described.sorting_key.clone(),
                backend: Arc::new(backend),
                location: None,
                skipped,
            })
        }
        BackendConfig::Starrocks(starrocks) => {
            let backend = StarRocksBackend::open(name, starrocks, &[table.to_owned()]).await?;
            let schema = table_schema(&backend, table).ok_or_else(no_table)?;
            Ok(Side {
                backend: Arc::new(backend),
                schema: Some(schema),
                sorting_key: Vec::new(),
                location: None,
                skipped: Vec::new(),
            })
        }
    }
}

/// A ClickHouse table's columns whose values can be read, and the others with why.
///
/// AggregateFunction columns hold partial aggregation states. ClickHouse's ArrowStream
/// output writes each state's memory address (8 bytes that change from query to query),
/// not its serialisation, so there are no exact bytes to copy or compare; and a state
/// means nothing outside ClickHouse (`uniqMerge` has no counterpart elsewhere). They are
/// left out, loudly. MATERIALIZED and ALIAS columns stay: named in a SELECT, ClickHouse
/// computes them. (EPHEMERAL columns cannot be read and are not in the catalog.)
pub fn readable_columns(table: &ClickHouseTable) -> (SchemaRef, Vec<(String, String)>) {
    let mut fields = Vec::new();
    let mut skipped = Vec::new();
    for (field, (name, ty)) in table.schema.fields().iter().zip(&table.columns) {
        if holds_aggregate_state(ty) {
            skipped.push((
                name.clone(),
                format!(
                    "{} is an aggregation state, which ClickHouse does not output (its Arrow format writes memory addresses) and only ClickHouse can merge (-Merge, finalizeAggregation)",
                    type_text(ty)
                ),
            ));
        } else {
            fields.push(field.clone());
        }
    }
    let schema =
        arrow::datatypes::Schema::new_with_metadata(fields, table.schema.metadata().clone());
    (Arc::new(schema), skipped)
}

fn holds_aggregate_state(ty: &ChType) -> bool {
    match ty {
        ChType::Other(text) => text.starts_with("AggregateFunction"),
        ChType::Nullable(inner) | ChType::Array(inner) => holds_aggregate_state(inner),
        ChType::Map(key, value) => holds_aggregate_state(key) || holds_aggregate_state(value),
        ChType::Tuple(elements) => elements.iter().any(|(_, ty)| holds_aggregate_state(ty)),
        _ => false,
    }
}

/// How a message names a state column's type.
fn type_text(ty: &ChType) -> String {
    match ty {
        ChType::Other(text) => text.clone(),
        _ => "a type holding AggregateFunction values".into(),
    }
}

fn table_schema(backend: &dyn crate::backend::Backend, table: &str) -> Option<SchemaRef> {
    backend
        .tables()
        .into_iter()
        .find(|t| t.name == table)
        .map(|t| t.schema)
}

pub fn is_time_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    )
}

/// The time column: `requested` if given (it must be a timestamp or date), else the
/// first timestamp/date column named in the ClickHouse sorting key, else the table's
/// first timestamp/date column — non-Nullable ones first in both (a NULL time falls in
/// no window, so a Nullable column is a last resort). `None`: no time column.
pub fn time_column(
    schema: &SchemaRef,
    sorting_key: &[String],
    requested: Option<&str>,
) -> Result<Option<String>> {
    if let Some(name) = requested {
        let field = schema
            .field_with_name(name)
            .map_err(|_| Error::UndefinedColumn(format!("{name} (--time-column)")))?;
        if !is_time_type(field.data_type()) {
            return Err(Error::InvalidParameter(format!(
                "--time-column {name} is {}, not a timestamp or date",
                field.data_type()
            )));
        }
        return Ok(Some(name.to_owned()));
    }
    // `toStartOfHour(timestamp)` names `timestamp`: any identifier in a key expression.
    let in_key = sorting_key.iter().flat_map(|expression| {
        expression
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|word| !word.is_empty())
    });
    let in_table = schema.fields().iter().map(|f| f.name().as_str());
    let candidates: Vec<&str> = in_key.chain(in_table).collect();
    let time = |nullable: bool| {
        candidates.iter().copied().find(|name| {
            schema
                .field_with_name(name)
                .is_ok_and(|f| is_time_type(f.data_type()) && f.is_nullable() == nullable)
        })
    };
    Ok(time(false).or_else(|| time(true)).map(str::to_owned))
}

/// A half-open range of the time column, in microseconds since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// Parses `--since`/`--until`: RFC 3339 (`2025-05-25T00:00:00Z`), `YYYY-MM-DD HH:MM:SS`
/// (UTC) or a date `YYYY-MM-DD`; microseconds since the epoch.
pub fn parse_instant(text: &str) -> Result<i64> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp_micros());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(at.and_utc().timestamp_micros());
        }
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_micros());
    }
    Err(Error::InvalidParameter(format!(
        "{text:?} is not a time (use 2025-05-25T00:00:00Z or 2025-05-25)"
    )))
}

/// `2025-05-25 13:00:00` (UTC), with microseconds when there are any.
pub fn format_instant(micros: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(at) if micros % MICROS_PER_SECOND == 0 => at.format("%Y-%m-%d %H:%M:%S").to_string(),
        Some(at) => at.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        None => format!("{micros}µs"),
    }
}

/// A double-quoted identifier of switchyard's input language.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A backquoted ClickHouse identifier (`Events.Timestamp` stays one name).
pub fn backquote(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// What to read from a table: its rows in `range` of `time_column`, filtered by
/// the user's `--where` (switchyard's input language, translated per backend).
#[derive(Debug, Clone)]
pub struct Selection {
    pub table: String,
    pub time_column: Option<String>,
    pub filter: Option<String>,
}

impl Selection {
    /// The WHERE clause for `range` (None: no condition).
    fn condition(&self, range: Range, time_is_date: bool) -> Option<String> {
        let mut conditions = Vec::new();
        if let Some(column) = &self.time_column {
            let literal = |micros: i64| {
                if time_is_date && micros % MICROS_PER_DAY == 0 {
                    format!("DATE '{}'", &format_instant(micros)[..10])
                } else {
                    format!("TIMESTAMP '{}'", format_instant(micros))
                }
            };
            if let Some(start) = range.start {
                conditions.push(format!("{} >= {}", quote(column), literal(start)));
            }
            if let Some(end) = range.end {
                conditions.push(format!("{} < {}", quote(column), literal(end)));
            }
        }
        if let Some(filter) = &self.filter {
            conditions.push(format!("({filter})"));
        }
        (!conditions.is_empty()).then(|| conditions.join(" AND "))
    }

    /// The condition alone, emitted for `target` (None: every row).
    pub fn where_clause(
        &self,
        range: Range,
        dates: bool,
        target: Target,
    ) -> Result<Option<String>> {
        if self.condition(range, dates).is_none() {
            return Ok(None);
        }
        let sql = self.sql("1", range, dates, target)?;
        // The emitter prints `SELECT 1 FROM <table> WHERE <condition>`: the table is a
        // plain name, so the first WHERE is ours.
        let at = sql
            .find(" WHERE ")
            .ok_or_else(|| Error::internal(format!("no WHERE in {sql}")))?;
        Ok(Some(sql[at + 7..].to_owned()))
    }

    /// `SELECT <columns> FROM table WHERE …` for `target`, every column by name. For
    /// ClickHouse the names are backquoted here, exactly as the catalog spells them (a
    /// Nested table's `Events.Timestamp`, `$session_id`), and only the condition comes
    /// from the emitter; naming them is also what makes ClickHouse return MATERIALIZED
    /// and ALIAS columns, which `*` leaves out.
    pub fn select_columns(
        &self,
        columns: &[&str],
        range: Range,
        time_is_date: bool,
        target: Target,
    ) -> Result<String> {
        if target != Target::ClickHouse {
            let projection: Vec<String> = columns.iter().map(|c| quote(c)).collect();
            return self.sql(&projection.join(", "), range, time_is_date, target);
        }
        let projection: Vec<String> = columns.iter().map(|c| backquote(c)).collect();
        let mut text = format!(
            "SELECT {} FROM {}",
            projection.join(", "),
            backquote(&self.table)
        );
        if let Some(condition) = self.where_clause(range, time_is_date, target)? {
            text.push_str(" WHERE ");
            text.push_str(&condition);
        }
        Ok(text)
    }

    /// `SELECT <projection> FROM table WHERE …`, emitted for `target`.
    pub fn sql(
        &self,
        projection: &str,
        range: Range,
        time_is_date: bool,
        target: Target,
    ) -> Result<String> {
        let mut text = format!("SELECT {projection} FROM {}", quote(&self.table));
        if let Some(condition) = self.condition(range, time_is_date) {
            text.push_str(" WHERE ");
            text.push_str(&condition);
        }
        emit::translate(
            &text,
            DialectSetting::Auto,
            target,
            &emit::EmitContext::default(),
        )
    }
}

/// Runs a query expected to return one row; returns its columns.
pub async fn one_row(backend: &BackendRef, sql: &str) -> Result<Vec<ArrayRef>> {
    let mut result = backend.execute(sql).await?;
    let mut row = None;
    while let Some(batch) = result.batches.next().await {
        let batch = batch?;
        if batch.num_rows() > 0 && row.is_none() {
            row = Some(batch.slice(0, 1).columns().to_vec());
        }
    }
    row.ok_or_else(|| Error::internal(format!("no row from {sql}")))
}

/// An integer cell, whichever integer type the engine chose (ClickHouse counts are
/// UInt64, presented as Decimal(20, 0)).
pub fn integer_at(array: &ArrayRef, row: usize) -> Result<Option<i64>> {
    if array.is_null(row) {
        return Ok(None);
    }
    let cast = arrow::compute::cast(array, &DataType::Int64).map_err(Error::internal)?;
    let value = cast.as_primitive::<arrow::datatypes::Int64Type>();
    if value.is_null(row) {
        return Err(Error::internal(format!(
            "{} value does not fit a 64-bit integer",
            array.data_type()
        )));
    }
    Ok(Some(value.value(row)))
}

/// Microseconds since the epoch (UTC) of a timestamp or date cell; None for NULL.
/// Nanosecond timestamps are floored to the microsecond (window bounds only).
pub fn micros_at(array: &dyn Array, row: usize) -> Option<i64> {
    use arrow::datatypes::*;
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            array.as_primitive::<TimestampSecondType>().value(row) * MICROS_PER_SECOND
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            array.as_primitive::<TimestampMillisecondType>().value(row) * 1000
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            array.as_primitive::<TimestampMicrosecondType>().value(row)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => array
            .as_primitive::<TimestampNanosecondType>()
            .value(row)
            .div_euclid(1000),
        DataType::Date32 => array.as_primitive::<Date32Type>().value(row) as i64 * MICROS_PER_DAY,
        DataType::Date64 => array.as_primitive::<Date64Type>().value(row) * 1000,
        _ => return None,
    })
}

/// Whether the time column is a date (windows then align to days).
pub fn is_date(schema: &SchemaRef, column: &str) -> bool {
    schema
        .field_with_name(column)
        .is_ok_and(|f| matches!(f.data_type(), DataType::Date32 | DataType::Date64))
}

/// Timestamp unit names, for messages.
pub fn unit_name(unit: &TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "µs",
        TimeUnit::Nanosecond => "ns",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};

    #[test]
    fn parses_instants_as_utc_micros() {
        let day = 1_748_131_200 * MICROS_PER_SECOND; // 2025-05-25T00:00:00Z
        assert_eq!(parse_instant("2025-05-25").unwrap(), day);
        assert_eq!(parse_instant("2025-05-25T00:00:00Z").unwrap(), day);
        assert_eq!(parse_instant("2025-05-25T02:00:00+02:00").unwrap(), day);
        assert_eq!(
            parse_instant("2025-05-25 00:00:01.5").unwrap(),
            day + 1_500_000
        );
        assert!(parse_instant("yesterday").is_err());
        assert_eq!(format_instant(day), "2025-05-25 00:00:00");
        assert_eq!(format_instant(day + 5), "2025-05-25 00:00:00.000005");
    }

    #[test]
    fn picks_the_time_column_from_the_sorting_key_first() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("created", DataType::Date32, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]));
        let key = vec!["id".to_owned(), "toStartOfHour(ts)".to_owned()];
        assert_eq!(
            time_column(&schema, &key, None).unwrap().as_deref(),
            Some("ts")
        );
        assert_eq!(
            time_column(&schema, &[], None).unwrap().as_deref(),
            Some("created")
        );
        assert_eq!(
            time_column(&schema, &key, Some("created"))
                .unwrap()
                .as_deref(),
            Some("created")
        );
        assert!(time_column(&schema, &key, Some("id")).is_err());
        assert!(time_column(&schema, &key, Some("nope")).is_err());
        let plain = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        assert_eq!(time_column(&plain, &[], None).unwrap(), None);
    }

    #[test]
    fn prefers_a_time_column_without_nulls() {
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        // umami's session_data: the Nullable date_value comes first, created_at is the
        // time of every row; neither is in the sorting key.
        let schema = Arc::new(Schema::new(vec![
            Field::new("data_key", DataType::Utf8, false),
            Field::new("date_value", timestamp.clone(), true),
            Field::new("created_at", timestamp.clone(), false),
        ]));
        let key = vec!["data_key".to_owned()];
        assert_eq!(
            time_column(&schema, &key, None).unwrap().as_deref(),
            Some("created_at")
        );
        // A non-Nullable column anywhere beats a Nullable one in the key…
        let key = vec!["date_value".to_owned()];
        assert_eq!(
            time_column(&schema, &key, None).unwrap().as_deref(),
            Some("created_at")
        );
        // …and a Nullable one is still chosen when it is all there is, or asked for.
        let nullable = Arc::new(Schema::new(vec![Field::new("t", timestamp, true)]));
        assert_eq!(
            time_column(&nullable, &[], None).unwrap().as_deref(),
            Some("t")
        );
        assert_eq!(
            time_column(&schema, &[], Some("date_value"))
                .unwrap()
                .as_deref(),
            Some("date_value")
        );
    }

    #[test]
    fn aggregate_states_are_left_out_of_the_readable_columns() {
        let columns: Vec<(String, ChType)> = [
            ("ts", "DateTime"),
            ("uniq", "AggregateFunction(uniq, String)"),
            ("nested", "Array(AggregateFunction(max, UInt64))"),
            ("simple", "SimpleAggregateFunction(max, Float64)"),
            ("Events.Name", "Array(LowCardinality(String))"),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_owned(), ChType::parse(t).unwrap()))
        .collect();
        let fields: Vec<Field> = columns.iter().map(|(n, t)| t.field(n.clone())).collect();
        let table = ClickHouseTable {
            name: "t".into(),
            schema: Arc::new(Schema::new(fields)),
            columns,
            engine: "AggregatingMergeTree".into(),
            sorting_key: vec!["ts".into()],
            version_column: None,
            is_deleted_column: None,
        };
        let (schema, skipped) = readable_columns(&table);
        let kept: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(kept, ["ts", "simple", "Events.Name"]);
        assert_eq!(schema.field(1).data_type(), &DataType::Float64);
        let left_out: Vec<&str> = skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(left_out, ["uniq", "nested"]);
        assert!(skipped[0].1.contains("AggregateFunction(uniq, String)"));
    }

    #[test]
    fn clickhouse_reads_every_column_by_its_backquoted_name() {
        let selection = Selection {
            table: "traces".into(),
            time_column: Some("ts".into()),
            filter: Some("kind = 'a'".into()),
        };
        let range = Range {
            start: Some(0),
            end: None,
        };
        let columns = ["ts", "Events.Timestamp", "$session_id", "odd`name"];
        let clickhouse = selection
            .select_columns(&columns, range, false, Target::ClickHouse)
            .unwrap();
        assert!(
            clickhouse.starts_with(
                "SELECT `ts`, `Events.Timestamp`, `$session_id`, `odd\\`name` FROM `traces` WHERE "
            ),
            "{clickhouse}"
        );
        assert!(clickhouse.contains("'a'"), "{clickhouse}");
        let datafusion = selection
            .select_columns(&columns, range, false, Target::DataFusion)
            .unwrap();
        assert!(
            datafusion.starts_with("SELECT \"ts\", \"Events.Timestamp\""),
            "{datafusion}"
        );
    }

    #[test]
    fn selections_translate_per_backend() {
        let selection = Selection {
            table: "events".into(),
            time_column: Some("ts".into()),
            filter: Some("kind = 'a'".into()),
        };
        let range = Range {
            start: Some(0),
            end: Some(3_600 * MICROS_PER_SECOND),
        };
        let datafusion = selection
            .sql("*", range, false, Target::DataFusion)
            .unwrap();
        assert!(
            datafusion.contains("\"ts\" >= CAST('1970-01-01 00:00:00' AS TIMESTAMP)"),
            "{datafusion}"
        );
        assert!(datafusion.contains("\"kind\" = 'a'"), "{datafusion}");
        let clickhouse = selection
            .sql("*", range, false, Target::ClickHouse)
            .unwrap();
        assert!(clickhouse.contains("'1970-01-01 01:00:00'"), "{clickhouse}");
        let dates = selection.sql("*", range, true, Target::DataFusion).unwrap();
        assert!(dates.contains("1970-01-01 01:00:00"), "{dates}");
        let whole = Selection {
            table: "events".into(),
            time_column: None,
            filter: None,
        };
        assert_eq!(
            whole
                .sql("count(*)", range, false, Target::DataFusion)
                .unwrap(),
            "SELECT count(*) AS \"count\" FROM \"events\""
        );
    }
}
