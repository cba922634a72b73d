//! MySQL-protocol result metadata → Arrow types, and the text protocol's values → Arrow
//! arrays. Over the text protocol every value arrives as text (or NULL); each column is
//! parsed exactly per its type, never guessed from the value.
//!
//! StarRocks reports LARGEINT, JSON, ARRAY, MAP and STRUCT as plain strings on the wire;
//! where a result column is a direct reference to a discovered table column, the
//! declared type (`Declared`) refines the wire type (LARGEINT → numeric, BOOLEAN → bool).

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};

use crate::error::{Error, Result};

/// The widest decimal Arrow's Decimal128 (and so Postgres numeric via arrow-pg) holds here.
const MAX_PRECISION: u8 = 38;
/// MySQL's character set number for binary strings.
const BINARY_CHARSET: u16 = 63;

/// The Arrow type of one result column from its wire metadata alone.
pub fn wire_type(column: &Column) -> DataType {
    use ColumnType::*;
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    match column.column_type() {
        // MySQL (and StarRocks) spell BOOLEAN as TINYINT(1).
        MYSQL_TYPE_TINY if column.column_length() == 1 => DataType::Boolean,
        MYSQL_TYPE_TINY | MYSQL_TYPE_YEAR => DataType::Int16,
        MYSQL_TYPE_SHORT if unsigned => DataType::Int32,
        MYSQL_TYPE_SHORT => DataType::Int16,
        MYSQL_TYPE_INT24 => DataType::Int32,
        MYSQL_TYPE_LONG if unsigned => DataType::Int64,
        MYSQL_TYPE_LONG => DataType::Int32,
        MYSQL_TYPE_LONGLONG if unsigned => DataType::Decimal128(20, 0),
        MYSQL_TYPE_LONGLONG => DataType::Int64,
        MYSQL_TYPE_FLOAT => DataType::Float32,
        MYSQL_TYPE_DOUBLE => DataType::Float64,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            decimal_type(column.column_length(), column.decimals(), unsigned)
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => DataType::Date32,
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => DataType::Timestamp(TimeUnit::Microsecond, None),
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => DataType::Binary,
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
            if column.character_set() == BINARY_CHARSET =>
        {
            DataType::Binary
        }
        // TIME can be negative or beyond 24h in MySQL: no Postgres time holds it, text does.
        // JSON, ENUM, SET, NULL and the rest read as text.
        _ => DataType::Utf8,
    }
}

/// DECIMAL(p, s) from the wire: the display length counts a sign and a decimal point.
fn decimal_type(length: u32, scale: u8, unsigned: bool) -> DataType {
    let scale = scale.min(MAX_PRECISION);
    let overhead = u32::from(scale > 0) + u32::from(!unsigned);
    let precision = length
        .saturating_sub(overhead)
        .clamp(1, u32::from(MAX_PRECISION)) as u8;
    DataType::Decimal128(precision.max(scale), scale as i8)
}

/// The Arrow type of a column as a table declares it in `information_schema.columns`
/// (`data_type` like `bigint`, `column_type` like `bigint(20) unsigned` or `array<int(11)>`).
pub fn declared_type(
    data_type: &str,
    column_type: &str,
    precision: Option<u64>,
    scale: Option<u64>,
) -> DataType {
    let data_type = data_type.to_ascii_lowercase();
    let column_type = column_type.to_ascii_lowercase();
    let unsigned = column_type.contains("unsigned");
    match data_type.as_str() {
        "tinyint" if column_type.starts_with("tinyint(1)") => DataType::Boolean,
        "boolean" | "bool" => DataType::Boolean,
        "tinyint" | "year" => DataType::Int16,
        "smallint" if unsigned => DataType::Int32,
        "smallint" => DataType::Int16,
        "mediumint" => DataType::Int32,
        "int" | "integer" if unsigned => DataType::Int64,
        "int" | "integer" => DataType::Int32,
        "bigint" if unsigned => DataType::Decimal128(20, 0),
        "bigint" => DataType::Int64,
        "largeint" => DataType::Decimal128(MAX_PRECISION, 0),
        "float" => DataType::Float32,
        "double" | "real" => DataType::Float64,
        "decimal" | "decimalv2" | "decimal32" | "decimal64" | "decimal128" | "numeric" => {
            let scale = scale.unwrap_or(0).min(u64::from(MAX_PRECISION)) as u8;
            let precision = precision
                .unwrap_or(u64::from(MAX_PRECISION))
                .clamp(1, u64::from(MAX_PRECISION)) as u8;
            DataType::Decimal128(precision.max(scale), scale as i8)
        }
        "date" => DataType::Date32,
        "datetime" | "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit" => {
            DataType::Binary
        }
        // char/varchar/string/text, json, array<…>, map<…>, struct<…>, time, enum: text
        // (JSON text for the nested types, as StarRocks prints them).
        _ => DataType::Utf8,
    }
}

/// The column's type: its wire type, refined by the declared type of the table column it
/// reads directly, when that is known and the wire type is a lossy spelling of it.
pub fn column_type(column: &Column, declared: Option<&DataType>) -> DataType {
    let wire = wire_type(column);
    match (declared, &wire) {
        (Some(d @ DataType::Decimal128(_, 0)), DataType::Utf8) => d.clone(),
        (Some(DataType::Boolean), DataType::Int16) => DataType::Boolean,
        _ => wire,
    }
}

/// A result schema from the wire metadata. Every column is nullable: MySQL's NOT NULL
/// flag describes the table column, not the expression, and StarRocks does not send it.
pub fn schema(columns: &[Column], declared: impl Fn(&Column) -> Option<DataType>) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c.name_str(), column_type(c, declared(c).as_ref()), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// Builds Arrow record batches from text-protocol rows, one builder per column.
pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

enum ColumnBuilder {
    Boolean(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
}

impl BatchBuilder {
    pub fn new(schema: SchemaRef, capacity: usize) -> BatchBuilder {
        let columns = schema
            .fields()
            .iter()
            .map(|f| ColumnBuilder::new(f.data_type(), capacity))
            .collect();
        BatchBuilder {
            schema,
            columns,
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row of text-protocol values (`None`/`NULL` is SQL NULL).
    pub fn push(&mut self, values: Vec<Option<Value>>) -> Result<()> {
        if values.len() != self.columns.len() {
            return Err(Error::internal(format!(
                "row has {} values for {} columns",
                values.len(),
                self.columns.len()
            )));
        }
        for ((builder, value), field) in self
            .columns
            .iter_mut()
            .zip(values)
            .zip(self.schema.fields())
        {
            let text = match value {
                None | Some(Value::NULL) => None,
                Some(Value::Bytes(bytes)) => Some(bytes),
                // The text protocol sends only bytes; other variants come from the binary one.
                Some(other) => Some(other.as_sql(true).into_bytes()),
            };
            builder.append(text.as_deref()).map_err(|message| {
                Error::internal(format!("column {}: {message}", field.name()))
            })?;
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows so far as one batch; the builder starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        let rows = self.rows;
        self.rows = 0;
        let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map_err(Error::internal)
    }
}

impl ColumnBuilder {
    fn new(data_type: &DataType, capacity: usize) -> ColumnBuilder {
        match data_type {
            DataType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity)),
            DataType::Int16 => ColumnBuilder::Int16(Int16Builder::with_capacity(capacity)),
            DataType::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            DataType::Float32 => ColumnBuilder::Float32(Float32Builder::with_capacity(capacity)),
            DataType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            DataType::Decimal128(p, s) => ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(*p, *s)
                    .expect("valid decimal type"),
                *p,
                *s,
            ),
            DataType::Date32 => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            DataType::Timestamp(_, _) => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity))
            }
            DataType::Binary => {
                ColumnBuilder::Binary(BinaryBuilder::with_capacity(capacity, capacity * 16))
            }
            _ => ColumnBuilder::Utf8(StringBuilder::with_capacity(capacity, capacity * 16)),
        }
    }

    fn append(&mut self, text: Option<&[u8]>) -> std::result::Result<(), String> {
        let Some(bytes) = text else {
            self.append_null();
            return Ok(());
        };
        match self {
            ColumnBuilder::Binary(b) => {
                b.append_value(bytes);
                return Ok(());
            }
            ColumnBuilder::Utf8(b) => {
                b.append_value(std::str::from_utf8(bytes).map_err(|e| e.to_string())?);
                return Ok(());
            }
            _ => {}
        }
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        let bad = |kind: &str| format!("cannot read {text:?} as {kind}");
        match self {
            ColumnBuilder::Boolean(b) => b.append_value(match text {
                "1" | "true" | "TRUE" => true,
                "0" | "false" | "FALSE" => false,
                _ => return Err(bad("a boolean")),
            }),
            ColumnBuilder::Int16(b) => b.append_value(text.parse().map_err(|_| bad("smallint"))?),
            ColumnBuilder::Int32(b) => b.append_value(text.parse().map_err(|_| bad("integer"))?),
            ColumnBuilder::Int64(b) => b.append_value(text.parse().map_err(|_| bad("bigint"))?),
            ColumnBuilder::Float32(b) => b.append_value(text.parse().map_err(|_| bad("real"))?),
            ColumnBuilder::Float64(b) => {
                b.append_value(text.parse().map_err(|_| bad("double precision"))?)
            }
            ColumnBuilder::Decimal(b, precision, scale) => b.append_value(
                parse_decimal(text, *precision, *scale).ok_or_else(|| bad("numeric"))?,
            ),
            ColumnBuilder::Date(b) => match parse_date(text) {
                Some(days) => b.append_value(days),
                // MySQL's zero date '0000-00-00' has no calendar day: NULL, as JDBC reads it.
                None if text.starts_with("0000-00-00") => b.append_null(),
                None => return Err(bad("a date")),
            },
            ColumnBuilder::Timestamp(b) => match parse_datetime(text) {
                Some(micros) => b.append_value(micros),
                None if text.starts_with("0000-00-00") => b.append_null(),
                None => return Err(bad("a timestamp")),
            },
            ColumnBuilder::Utf8(_) | ColumnBuilder::Binary(_) => unreachable!("handled above"),
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Int16(b) => b.append_null(),
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float32(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Decimal(b, _, _) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Utf8(b) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Int16(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float32(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, _, _) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => ArrayBuilder::finish(b),
        }
    }
}

/// `-123.4500` → the unscaled integer at `scale` (exactly: no float on the way). Extra
/// fractional digits beyond `scale` are an error rather than silently rounded.
fn parse_decimal(text: &str, precision: u8, scale: i8) -> Option<i128> {
    let scale = usize::try_from(scale).ok()?;
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > scale {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() + scale > usize::from(precision) {
        return None;
    }
    let mut value: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        value = value * 10 + i128::from(b - b'0');
    }
    for _ in fraction.len()..scale {
        value *= 10;
    }
    Some(if negative { -value } else { value })
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

/// `YYYY-MM-DD` → days since 1970-01-01.
fn parse_date(text: &str) -> Option<i32> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    i32::try_from((date - epoch()).num_days()).ok()
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` → microseconds since the epoch (the value is zoneless;
/// the session runs at UTC so TIMESTAMP columns read as UTC too).
fn parse_datetime(text: &str) -> Option<i64> {
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .or_else(|| parse_date(text).map(epoch_day))?;
    Some(parsed.and_utc().timestamp_micros())
}

fn epoch_day(days: i32) -> NaiveDateTime {
    (epoch() + chrono::Duration::days(i64::from(days)))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Decimal128Type, Int64Type};

    fn column(ty: ColumnType, length: u32, decimals: u8, flags: ColumnFlags) -> Column {
        Column::new(ty)
            .with_name(b"c")
            .with_column_length(length)
            .with_decimals(decimals)
            .with_flags(flags)
            .with_character_set(45)
    }

    #[test]
    fn wire_types_map_to_postgres_friendly_arrow_types() {
        use ColumnType::*;
        let none = ColumnFlags::empty();
        let unsigned = ColumnFlags::UNSIGNED_FLAG;
        let cases = [
            (column(MYSQL_TYPE_TINY, 1, 0, none), DataType::Boolean),
            (column(MYSQL_TYPE_TINY, 4, 0, none), DataType::Int16),
            (column(MYSQL_TYPE_SHORT, 6, 0, none), DataType::Int16),
            (column(MYSQL_TYPE_SHORT, 5, 0, unsigned), DataType::Int32),
            (column(MYSQL_TYPE_LONG, 11, 0, none), DataType::Int32),
            (column(MYSQL_TYPE_LONG, 10, 0, unsigned), DataType::Int64),
            (column(MYSQL_TYPE_LONGLONG, 20, 0, none), DataType::Int64),
            (
                column(MYSQL_TYPE_LONGLONG, 20, 0, unsigned),
                DataType::Decimal128(20, 0),
            ),
            (
                column(MYSQL_TYPE_NEWDECIMAL, 12, 2, none),
                DataType::Decimal128(10, 2),
            ),
            (
                column(MYSQL_TYPE_NEWDECIMAL, 11, 0, none),
                DataType::Decimal128(10, 0),
            ),
            (
                column(MYSQL_TYPE_NEWDECIMAL, 67, 30, none),
                DataType::Decimal128(38, 30),
            ),
            (column(MYSQL_TYPE_DOUBLE, 22, 31, none), DataType::Float64),
            (column(MYSQL_TYPE_DATE, 10, 0, none), DataType::Date32),
            (
                column(MYSQL_TYPE_DATETIME, 26, 6, none),
                DataType::Timestamp(TimeUnit::Microsecond, None),
            ),
            (column(MYSQL_TYPE_VAR_STRING, 400, 0, none), DataType::Utf8),
            (column(MYSQL_TYPE_JSON, 400, 0, none), DataType::Utf8),
            (
                column(MYSQL_TYPE_BLOB, 400, 0, ColumnFlags::BINARY_FLAG).with_character_set(63),
                DataType::Binary,
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(wire_type(&c), expected, "{:?}", c.column_type());
        }
    }

    #[test]
    fn declared_types_refine_what_starrocks_sends_as_strings() {
        let largeint = declared_type("largeint", "largeint(40)", None, None);
        assert_eq!(largeint, DataType::Decimal128(38, 0));
        let wire = column(ColumnType::MYSQL_TYPE_STRING, 40, 0, ColumnFlags::empty());
        assert_eq!(column_type(&wire, Some(&largeint)), largeint);
        let boolean = declared_type("boolean", "boolean", None, None);
        let tiny = column(ColumnType::MYSQL_TYPE_TINY, 4, 0, ColumnFlags::empty());
        assert_eq!(column_type(&tiny, Some(&boolean)), DataType::Boolean);
        assert_eq!(
            declared_type("decimal", "decimal(10,3)", Some(10), Some(3)),
            DataType::Decimal128(10, 3)
        );
        assert_eq!(
            declared_type("array", "array<int(11)>", None, None),
            DataType::Utf8
        );
        assert_eq!(
            declared_type("bigint", "bigint(20) unsigned", None, None),
            DataType::Decimal128(20, 0)
        );
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("-123.4500", 10, 4), Some(-1_234_500));
        assert_eq!(parse_decimal("0.01", 10, 2), Some(1));
        assert_eq!(parse_decimal("-0.5", 3, 1), Some(-5));
        assert_eq!(parse_decimal("42", 10, 2), Some(4200));
        assert_eq!(
            parse_decimal("170141183460469231731687303715884105727", 38, 0),
            None,
            "39 digits do not fit"
        );
        assert_eq!(
            parse_decimal("-17014118346046923173168730371588410572", 38, 0),
            Some(-17_014_118_346_046_923_173_168_730_371_588_410_572)
        );
        assert_eq!(parse_decimal("1.234", 10, 2), None, "never rounds silently");
        assert_eq!(parse_decimal("1e5", 10, 0), None);
        assert_eq!(parse_decimal("", 10, 0), None);
    }

    #[test]
    fn dates_and_datetimes_parse_to_epoch_offsets() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(
            parse_datetime("2025-06-01 00:00:00"),
            Some(1_748_736_000_000_000)
        );
        assert_eq!(
            parse_datetime("2025-06-01 00:00:00.000123"),
            Some(1_748_736_000_000_123)
        );
        assert_eq!(parse_datetime("not a date"), None);
    }

    #[test]
    fn rows_become_a_batch_with_nulls_and_edge_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("d", DataType::Decimal128(20, 0), true),
            Field::new("s", DataType::Utf8, true),
            Field::new("z", DataType::Date32, true),
        ]));
        let mut builder = BatchBuilder::new(schema, 4);
        let bytes = |s: &str| Some(Value::Bytes(s.as_bytes().to_vec()));
        builder
            .push(vec![
                bytes("-9223372036854775808"),
                bytes("18446744073709551615"),
                bytes("héllo ☃"),
                bytes("0000-00-00"),
            ])
            .unwrap();
        builder
            .push(vec![
                Some(Value::NULL),
                None,
                Some(Value::NULL),
                bytes("2024-02-29"),
            ])
            .unwrap();
        let batch = builder.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert!(builder.is_empty());
        let ints = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(ints.value(0), i64::MIN);
        assert!(ints.is_null(1));
        let decimals = batch.column(1).as_primitive::<Decimal128Type>();
        assert_eq!(decimals.value(0), 18_446_744_073_709_551_615);
        assert_eq!(batch.column(2).as_string::<i32>().value(0), "héllo ☃");
        assert!(batch.column(3).is_null(0));
        assert!(!batch.column(3).is_null(1));
        let err = builder
            .push(vec![bytes("x"), None, None, None])
            .unwrap_err();
        assert!(err.to_string().contains("column i"), "{err}");
    }
}
