//! Copying into ClickHouse: `INSERT … FORMAT JSONEachRow` over HTTP, made exactly-once
//! without transactions by a progress table and an idempotent cleanup.
//!
//! `switchyard_copy_progress(app_id, version)` in the destination database records, per
//! copy, that it started (`version` = i64::MIN) and the exclusive end of every window
//! whose rows are all inserted. A run first deletes (synchronously) the destination's
//! rows at or after its resume point that match the copy's `--where` — whatever a killed
//! run left of an unfinished window — then inserts window by window, recording each. So
//! the destination table must hold only this copy's rows in that range; a copy that
//! never started deletes nothing. The destination table must exist (its engine and
//! ORDER BY are the user's choice). Needs ClickHouse ≥ 23.3 (lightweight DELETE).

use std::fmt::Write as _;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::*;
use clickhouse::Client;

use super::backquote;
use crate::config::ClickHouseConfig;
use crate::error::{Error, Result};
use crate::frontend::encode::push_json_string;

const PROGRESS_TABLE: &str = "switchyard_copy_progress";
/// The progress version of a copy that started but finished no window.
pub const STARTED: i64 = i64::MIN;

pub struct ClickHouseSink {
    client: Client,
    /// The destination table, quoted.
    table: String,
    /// Columns in source order, JSON-quoted.
    names: Vec<String>,
}

impl ClickHouseSink {
    /// A sink for `table` of the backend configured by `config`; refuses source columns
    /// whose values have no exact JSONEachRow rendering here.
    pub fn new(config: &ClickHouseConfig, table: &str, schema: &SchemaRef) -> Result<Self> {
        for field in schema.fields() {
            if !renderable(field.data_type()) {
                return Err(Error::unsupported(
                    format!(
                        "copying column {} of type {} into ClickHouse",
                        field.name(),
                        field.data_type()
                    ),
                    "switchyard copy",
                ));
            }
        }
        let mut client = Client::default()
            .with_url(config.url.trim_end_matches('/'))
            .with_user(config.user.clone())
            .with_compression(clickhouse::Compression::None);
        if let Some(password) = &config.password {
            client = client.with_password(password.clone());
        }
        if let Some(database) = &config.database {
            client = client.with_database(database.clone());
        }
        let mut names = Vec::new();
        for field in schema.fields() {
            let mut name = String::new();
            push_json_string(&mut name, field.name());
            names.push(name);
        }
        Ok(ClickHouseSink {
            client,
            table: backquote(table),
            names,
        })
    }

    async fn execute(&self, sql: &str) -> Result<()> {
        self.client
            .query_raw(sql)
            .with_setting("mutations_sync", "2")
            .with_setting("lightweight_deletes_sync", "2")
            .with_setting("date_time_input_format", "best_effort")
            .execute()
            .await
            .map_err(|e| super::backend_error("clickhouse", e))
    }

    /// The recorded progress of copy `app`: None when it never started.
    pub async fn progress(&self, app: &str) -> Result<Option<i64>> {
        self.execute(&format!(
            "CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (app_id String, version Int64, \
             at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY (app_id, version)"
        ))
        .await?;
        let body = self
            .client
            .query_raw(&format!(
                "SELECT count(), max(version) FROM {PROGRESS_TABLE} WHERE app_id = {}",
                literal(app)
            ))
            .fetch_bytes("TabSeparated")
            .map_err(|e| Error::internal(e.to_string()))?
            .collect()
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        let text = String::from_utf8_lossy(&body);
        let mut fields = text.trim().split('\t');
        let rows: u64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        if rows == 0 {
            return Ok(None);
        }
        let version = fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| Error::internal(format!("progress of {app}: {text:?}")))?;
        Ok(Some(version))
    }

    /// Records that copy `app` has every row before `version` (or has started).
    pub async fn record(&self, app: &str, version: i64) -> Result<()> {
        self.execute(&format!(
            "INSERT INTO {PROGRESS_TABLE} (app_id, version) VALUES ({}, {version})",
            literal(app)
        ))
        .await
    }

    /// Deletes the destination rows matching `condition` (ClickHouse SQL), synchronously.
    pub async fn delete(&self, condition: Option<&str>) -> Result<()> {
        self.execute(&format!(
            "DELETE FROM {} WHERE {}",
            self.table,
            condition.unwrap_or("1")
        ))
        .await
    }

    /// Inserts a batch (one INSERT, ClickHouse's unit of atomicity); returns its bytes.
    pub async fn insert(&self, batch: &RecordBatch) -> Result<u64> {
        let mut body = format!("INSERT INTO {} FORMAT JSONEachRow\n", self.table);
        for row in 0..batch.num_rows() {
            body.push('{');
            for (i, column) in batch.columns().iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&self.names[i]);
                body.push(':');
                json_value(column.as_ref(), row, &mut body);
            }
            body.push_str("}\n");
        }
        let bytes = body.len() as u64;
        self.execute(&body).await?;
        Ok(bytes)
    }
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Types rendered exactly: numbers, decimals, strings, booleans, dates, timestamps.
fn renderable(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Date32
            | DataType::Timestamp(_, _)
    )
}

/// One value as JSON ClickHouse reads exactly: decimals as their digits, timestamps as
/// RFC 3339 instants with `Z` (read with best_effort, so the column's zone is irrelevant).
fn json_value(array: &dyn Array, row: usize, out: &mut String) {
    if array.is_null(row) {
        out.push_str("null");
        return;
    }
    macro_rules! number {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    match array.data_type() {
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => number!(Int8Type),
        DataType::Int16 => number!(Int16Type),
        DataType::Int32 => number!(Int32Type),
        DataType::Int64 => number!(Int64Type),
        DataType::UInt8 => number!(UInt8Type),
        DataType::UInt16 => number!(UInt16Type),
        DataType::UInt32 => number!(UInt32Type),
        DataType::UInt64 => number!(UInt64Type),
        DataType::Float32 => float(
            f64::from(array.as_primitive::<Float32Type>().value(row)),
            out,
        ),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row), out),
        DataType::Decimal128(_, _) => {
            let decimals = array.as_primitive::<Decimal128Type>();
            out.push_str(&decimals.value_as_string(row));
        }
        DataType::Utf8 => push_json_string(out, array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => push_json_string(out, array.as_string::<i64>().value(row)),
        DataType::Utf8View => push_json_string(out, array.as_string_view().value(row)),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            let micros = i64::from(days) * super::MICROS_PER_DAY;
            let _ = write!(out, "\"{}\"", &super::format_instant(micros)[..10]);
        }
        DataType::Timestamp(_, _) => {
            let nanos = match array.data_type() {
                DataType::Timestamp(TimeUnit::Second, _) => {
                    array.as_primitive::<TimestampSecondType>().value(row) as i128 * 1_000_000_000
                }
                DataType::Timestamp(TimeUnit::Millisecond, _) => {
                    array.as_primitive::<TimestampMillisecondType>().value(row) as i128 * 1_000_000
                }
                DataType::Timestamp(TimeUnit::Microsecond, _) => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row) as i128 * 1_000
                }
                _ => array.as_primitive::<TimestampNanosecondType>().value(row) as i128,
            };
            let seconds = nanos.div_euclid(1_000_000_000) as i64;
            let fraction = nanos.rem_euclid(1_000_000_000) as u32;
            match chrono::DateTime::from_timestamp(seconds, fraction) {
                Some(at) => {
                    let text = at.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
                    let _ = write!(out, "\"{text}Z\"");
                }
                None => out.push_str("null"),
            }
        }
        other => unreachable!("{other} is refused by ClickHouseSink::new"),
    }
}

fn float(value: f64, out: &mut String) {
    if value.is_finite() {
        let _ = write!(out, "{value}");
    } else {
        // ClickHouse reads nan/inf/-inf in JSON number position.
        out.push_str(if value.is_nan() {
            "nan"
        } else if value > 0.0 {
            "inf"
        } else {
            "-inf"
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::*;
    use std::sync::Arc;

    fn json(array: ArrayRef) -> String {
        let mut out = String::new();
        json_value(array.as_ref(), 0, &mut out);
        out
    }

    #[test]
    fn renders_values_exactly() {
        assert_eq!(
            json(Arc::new(UInt64Array::from(vec![u64::MAX]))),
            u64::MAX.to_string()
        );
        assert_eq!(
            json(Arc::new(
                Decimal128Array::from(vec![-1_234_500])
                    .with_precision_and_scale(18, 4)
                    .unwrap()
            )),
            "-123.4500"
        );
        assert_eq!(
            json(Arc::new(StringArray::from(vec!["a\"b\\c\n\u{1}é"]))),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
        assert_eq!(
            json(Arc::new(
                TimestampMillisecondArray::from(vec![1_500]).with_timezone("Asia/Tokyo")
            )),
            "\"1970-01-01T00:00:01.500Z\""
        );
        assert_eq!(
            json(Arc::new(TimestampSecondArray::from(vec![-1]))),
            "\"1969-12-31T23:59:59Z\""
        );
        assert_eq!(json(Arc::new(Date32Array::from(vec![1]))), "\"1970-01-02\"");
        assert_eq!(json(Arc::new(Float64Array::from(vec![0.1]))), "0.1");
        assert_eq!(json(Arc::new(Int32Array::from(vec![None]))), "null");
        let lists = Schema::new(vec![Field::new(
            "l",
            DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
            true,
        )]);
        let config = crate::config::Config::from_toml(
            "[backends.ch]\nkind = \"clickhouse\"\nurl = \"http://127.0.0.1:1\"\n",
        )
        .unwrap();
        let Some(crate::config::BackendConfig::Clickhouse(config)) = config.backends.get("ch")
        else {
            panic!("not a ClickHouse backend");
        };
        assert!(ClickHouseSink::new(config, "t", &Arc::new(lists)).is_err());
    }
}
