//! The old-server path: `TabSeparatedWithNamesAndTypes`, parsed line by line as bytes
//! arrive, into batches of the presented types. ClickHouse before 21 has no Arrow output
//! (18.16 is the one tested). Nested values (Array, Tuple, Map) are written in
//! ClickHouse's quoted format inside a field, so they get a small recursive parser.
//!
//! DateTime text is wall-clock time in the column's zone; it is read as an instant only
//! when that zone is UTC, and refused otherwise rather than shifted wrongly.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int16Builder, Int32Builder, Int64Builder, Int8Builder, ListArray, MapArray, NullArray,
    StringBuilder, StructArray, TimestampMicrosecondBuilder, TimestampNanosecondBuilder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use chrono::{NaiveDate, NaiveDateTime};

use super::arrow_format::{fixed_string_text, presented_schema};
use super::types::{ChType, UTC};
use crate::error::{Error, Result};

/// Rows per batch on this path.
const BATCH_ROWS: usize = 8192;

/// One parsed value, before it lands in an Arrow array.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i128),
    Float(f64),
    Text(String),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Nanoseconds since the epoch.
    Instant(i128),
    List(Vec<Value>),
}

/// Incremental parser of a TabSeparatedWithNamesAndTypes body.
pub struct TextDecoder {
    server_zone: String,
    pending: Vec<u8>,
    names: Option<Vec<String>>,
    types: Option<Vec<ChType>>,
    schema: Option<SchemaRef>,
    columns: Vec<Vec<Value>>,
    rows: usize,
}

impl TextDecoder {
    pub fn new(server_zone: &str) -> Self {
        TextDecoder {
            server_zone: server_zone.to_owned(),
            pending: Vec::new(),
            names: None,
            types: None,
            schema: None,
            columns: Vec::new(),
            rows: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// Parses buffered lines; returns a batch once a full one has accumulated.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line = self.pending[start..start + end].to_vec();
            start += end + 1;
            if let Err(e) = self.line(&line) {
                self.pending.drain(..start);
                return Err(e);
            }
            if self.rows >= BATCH_ROWS {
                break;
            }
        }
        self.pending.drain(..start);
        if self.rows >= BATCH_ROWS {
            return self.take_batch();
        }
        Ok(None)
    }

    /// The last, partial batch once the body has ended.
    pub fn finish(&mut self) -> Result<Option<RecordBatch>> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            if let Some(at) = find(&rest, b"Code:") {
                return Err(super::server_error(
                    String::from_utf8_lossy(&rest[at..]).trim(),
                ));
            }
            self.line(&rest)?;
        }
        if self.schema.is_none() {
            return Err(Error::internal(
                "ClickHouse answered without the names-and-types header",
            ));
        }
        if self.rows == 0 {
            return Ok(None);
        }
        self.take_batch()
    }

    fn line(&mut self, line: &[u8]) -> Result<()> {
        if line.starts_with(b"Code: ") && find(line, b"Exception").is_some() {
            return Err(super::server_error(String::from_utf8_lossy(line).trim()));
        }
        let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        if self.names.is_none() {
            self.names = Some(fields.iter().map(|f| unescape(f)).collect());
            return Ok(());
        }
        let Some(types) = &self.types else {
            let types = fields
                .iter()
                .map(|f| ChType::parse(&unescape(f)))
                .collect::<Result<Vec<_>>>()?;
            let names = self.names.as_ref().expect("names first");
            self.schema = Some(presented_schema(names, &types));
            self.columns = vec![Vec::with_capacity(BATCH_ROWS); types.len()];
            self.types = Some(types);
            return Ok(());
        };
        if fields.len() != types.len() {
            if let Some(at) = find(line, b"Code:") {
                return Err(super::server_error(
                    String::from_utf8_lossy(&line[at..]).trim(),
                ));
            }
            return Err(Error::internal(format!(
                "ClickHouse row has {} fields, header has {}",
                fields.len(),
                types.len()
            )));
        }
        for ((field, ty), column) in fields.iter().zip(types).zip(&mut self.columns) {
            column.push(parse_field(field, ty, &self.server_zone)?);
        }
        self.rows += 1;
        Ok(())
    }

    fn take_batch(&mut self) -> Result<Option<RecordBatch>> {
        let schema = self.schema.clone().expect("header read");
        let types = self.types.as_ref().expect("header read");
        let rows = std::mem::take(&mut self.rows);
        let arrays = self
            .columns
            .iter_mut()
            .zip(types)
            .map(|(values, ty)| build(&std::mem::take(values), ty))
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new_with_options(
            schema,
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map(Some)
        .map_err(Error::internal)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A TabSeparated field as text.
pub(super) fn unescape_str(field: &str) -> String {
    unescape(field.as_bytes())
}

/// TSV escapes: `\t \n \\ \' \0 \b \f \r`.
fn unescape(field: &[u8]) -> String {
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b't') => out.push(b'\t'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b'b') => out.push(8),
            Some(b'f') => out.push(12),
            Some(b'0') => out.push(0),
            Some(&other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_field(field: &[u8], ty: &ChType, zone: &str) -> Result<Value> {
    if field == b"\\N" && ty.is_nullable() {
        return Ok(Value::Null);
    }
    match ty.base() {
        ChType::Array(_) | ChType::Tuple(_) | ChType::Map(..) => {
            let text = String::from_utf8_lossy(field);
            let mut parser = Quoted {
                text: text.as_bytes(),
                at: 0,
            };
            parser.value(ty.base(), zone)
        }
        base => scalar(&unescape(field), base, zone),
    }
}

fn bad(text: &str, ty: &ChType) -> Error {
    Error::internal(format!("cannot read {text:?} as ClickHouse {ty:?}"))
}

/// A scalar from its unescaped text.
fn scalar(text: &str, ty: &ChType, zone: &str) -> Result<Value> {
    Ok(match ty {
        ChType::Nullable(inner) => {
            if text == "NULL" || text == "\\N" {
                Value::Null
            } else {
                scalar(text, inner, zone)?
            }
        }
        ChType::Int { bits: 256, .. } => Value::Text(text.to_owned()),
        ChType::Int { .. } => Value::Int(text.parse().map_err(|_| bad(text, ty))?),
        ChType::Float32 | ChType::Float64 => Value::Float(match text {
            "inf" | "+inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" | "-nan" | "+nan" => f64::NAN,
            other => other.parse().map_err(|_| bad(text, ty))?,
        }),
        ChType::Decimal { precision, scale } if *precision <= 38 => {
            Value::Int(parse_decimal(text, *scale).ok_or_else(|| bad(text, ty))?)
        }
        ChType::Bool => Value::Bool(matches!(text, "true" | "1")),
        ChType::Date | ChType::Date32 => {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad(text, ty))?;
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
            Value::Date((date - epoch).num_days() as i32)
        }
        ChType::DateTime(column_zone) | ChType::DateTime64(_, column_zone) => {
            if !ChType::zone_is_utc(column_zone.as_deref(), zone) {
                return Err(Error::unsupported(
                    format!(
                        "DateTime in time zone {} over a ClickHouse text format (ClickHouse \
                         before 21 has no Arrow output; use a UTC column or toTimeZone(x, 'UTC'))",
                        column_zone.as_deref().unwrap_or(zone)
                    ),
                    "clickhouse",
                ));
            }
            if let Ok(seconds) = text.parse::<i64>() {
                // date_time_output_format = unix_timestamp
                Value::Instant(i128::from(seconds) * 1_000_000_000)
            } else {
                let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                    .map_err(|_| bad(text, ty))?;
                let utc = time.and_utc();
                Value::Instant(
                    i128::from(utc.timestamp()) * 1_000_000_000
                        + i128::from(utc.timestamp_subsec_nanos()),
                )
            }
        }
        ChType::FixedString(_) => Value::Text(fixed_string_text(text.as_bytes())),
        ChType::Nothing => Value::Null,
        _ => Value::Text(text.to_owned()),
    })
}

/// `-12.340` at scale 3 → -12340.
fn parse_decimal(text: &str, scale: i8) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let scale = scale.max(0) as usize;
    let mut fraction = fraction.to_owned();
    if fraction.len() > scale {
        return None;
    }
    while fraction.len() < scale {
        fraction.push('0');
    }
    let whole: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let value = whole.checked_mul(10i128.checked_pow(scale as u32)?)? + fraction;
    Some(if negative { -value } else { value })
}

/// ClickHouse's quoted format, as nested values print inside a TSV field:
/// `[1,2]`, `('a',NULL)`, `{'k':'v'}`, strings in single quotes with backslash escapes.
struct Quoted<'a> {
    text: &'a [u8],
    at: usize,
}

impl Quoted<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, b: u8) -> Result<()> {
        if self.peek() == Some(b) {
            self.at += 1;
            Ok(())
        } else {
            Err(Error::internal(format!(
                "ClickHouse nested value: expected {:?} at byte {} of {:?}",
                b as char,
                self.at,
                String::from_utf8_lossy(self.text)
            )))
        }
    }

    fn value(&mut self, ty: &ChType, zone: &str) -> Result<Value> {
        if self.text[self.at..].starts_with(b"NULL") {
            self.at += 4;
            return Ok(Value::Null);
        }
        match ty.base() {
            ChType::Array(element) => {
                self.expect(b'[')?;
                let mut items = Vec::new();
                while self.peek() != Some(b']') {
                    if !items.is_empty() {
                        self.expect(b',')?;
                    }
                    items.push(self.value(element, zone)?);
                }
                self.expect(b']')?;
                Ok(Value::List(items))
            }
            ChType::Tuple(elements) => {
                self.expect(b'(')?;
                let mut items = Vec::new();
                for (i, (_, element)) in elements.iter().enumerate() {
                    if i > 0 {
                        self.expect(b',')?;
                    }
                    items.push(self.value(element, zone)?);
                }
                self.expect(b')')?;
                Ok(Value::List(items))
            }
            ChType::Map(key, value) => {
                self.expect(b'{')?;
                let mut entries = Vec::new();
                while self.peek() != Some(b'}') {
                    if !entries.is_empty() {
                        self.expect(b',')?;
                    }
                    let k = self.value(key, zone)?;
                    self.expect(b':')?;
                    let v = self.value(value, zone)?;
                    entries.push(Value::List(vec![k, v]));
                }
                self.expect(b'}')?;
                Ok(Value::List(entries))
            }
            base => {
                let text = if self.peek() == Some(b'\'') {
                    self.string()?
                } else {
                    let start = self.at;
                    while let Some(b) = self.peek() {
                        if matches!(b, b',' | b']' | b')' | b'}' | b':') {
                            break;
                        }
                        self.at += 1;
                    }
                    String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
                };
                scalar(&text, base, zone)
            }
        }
    }

    fn string(&mut self) -> Result<String> {
        self.expect(b'\'')?;
        let start = self.at;
        let mut escaped = false;
        while let Some(b) = self.peek() {
            self.at += 1;
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'\'' {
                return Ok(unescape(&self.text[start..self.at - 1]));
            }
        }
        Err(Error::internal(
            "ClickHouse nested value: unterminated string",
        ))
    }
}

/// Builds the presented array for `ty` from parsed values.
fn build(values: &[Value], ty: &ChType) -> Result<ArrayRef> {
    let target = ty.arrow_type();
    macro_rules! primitive {
        ($builder:ty, $pattern:pat => $value:expr) => {{
            let mut out = <$builder>::with_capacity(values.len());
            for v in values {
                match v {
                    $pattern => out.append_value($value),
                    _ => out.append_null(),
                }
            }
            Arc::new(out.finish()) as ArrayRef
        }};
    }
    Ok(match &target {
        DataType::Null => Arc::new(NullArray::new(values.len())),
        DataType::Int8 => primitive!(Int8Builder, Value::Int(i) => *i as i8),
        DataType::Int16 => primitive!(Int16Builder, Value::Int(i) => *i as i16),
        DataType::Int32 => primitive!(Int32Builder, Value::Int(i) => *i as i32),
        DataType::Int64 => primitive!(Int64Builder, Value::Int(i) => *i as i64),
        DataType::Float32 => primitive!(Float32Builder, Value::Float(f) => *f as f32),
        DataType::Float64 => primitive!(Float64Builder, Value::Float(f) => *f),
        DataType::Boolean => primitive!(BooleanBuilder, Value::Bool(b) => *b),
        DataType::Date32 => primitive!(Date32Builder, Value::Date(d) => *d),
        DataType::Decimal128(p, s) => {
            let mut out = Decimal128Builder::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Int(i) => out.append_value(*i),
                    _ => out.append_null(),
                }
            }
            Arc::new(
                out.finish()
                    .with_precision_and_scale(*p, *s)
                    .map_err(Error::internal)?,
            )
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let mut out = TimestampNanosecondBuilder::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Instant(n) => out.append_value(*n as i64),
                    _ => out.append_null(),
                }
            }
            Arc::new(out.finish().with_timezone(UTC))
        }
        DataType::Timestamp(_, _) => {
            let mut out = TimestampMicrosecondBuilder::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Instant(n) => out.append_value((n / 1000) as i64),
                    _ => out.append_null(),
                }
            }
            Arc::new(out.finish().with_timezone(UTC))
        }
        DataType::List(_) | DataType::Map(..) | DataType::Struct(_) => nested(values, ty)?,
        _ => {
            let mut out = StringBuilder::with_capacity(values.len(), values.len() * 16);
            for v in values {
                match v {
                    Value::Text(t) => out.append_value(t),
                    Value::Int(i) => out.append_value(i.to_string()),
                    Value::Float(f) => out.append_value(f.to_string()),
                    Value::Bool(b) => out.append_value(b.to_string()),
                    _ => out.append_null(),
                }
            }
            Arc::new(out.finish())
        }
    })
}

fn nested(values: &[Value], ty: &ChType) -> Result<ArrayRef> {
    let nulls = NullBuffer::from(
        values
            .iter()
            .map(|v| !matches!(v, Value::Null))
            .collect::<Vec<_>>(),
    );
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    let items = |v: &Value| match v {
        Value::List(items) => items.clone(),
        _ => Vec::new(),
    };
    let offsets = || OffsetBuffer::from_lengths(values.iter().map(|v| items(v).len()));
    match (ty.base(), ty.arrow_type()) {
        (ChType::Array(element), DataType::List(field)) => {
            let flat: Vec<Value> = values.iter().flat_map(items).collect();
            Ok(Arc::new(
                ListArray::try_new(field, offsets(), build(&flat, element)?, nulls)
                    .map_err(Error::internal)?,
            ))
        }
        (ChType::Map(key, value), DataType::Map(entries_field, sorted)) => {
            let pairs: Vec<Vec<Value>> = values.iter().flat_map(items).map(|p| items(&p)).collect();
            let keys: Vec<Value> = pairs.iter().map(|p| p[0].clone()).collect();
            let vals: Vec<Value> = pairs.iter().map(|p| p[1].clone()).collect();
            let DataType::Struct(fields) = entries_field.data_type() else {
                unreachable!("map entries are a struct")
            };
            let entries = StructArray::try_new(
                fields.clone(),
                vec![build(&keys, key)?, build(&vals, value)?],
                None,
            )
            .map_err(Error::internal)?;
            Ok(Arc::new(
                MapArray::try_new(entries_field, offsets(), entries, nulls, sorted)
                    .map_err(Error::internal)?,
            ))
        }
        (ChType::Tuple(elements), DataType::Struct(fields)) => {
            let columns = elements
                .iter()
                .enumerate()
                .map(|(i, (_, element))| {
                    let column: Vec<Value> = values
                        .iter()
                        .map(|v| items(v).get(i).cloned().unwrap_or(Value::Null))
                        .collect();
                    build(&column, element)
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(
                StructArray::try_new(fields, columns, nulls).map_err(Error::internal)?,
            ))
        }
        (other, _) => Err(Error::internal(format!("not a nested type: {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn parses_a_names_and_types_body_in_pieces() {
        let body =
            b"n\ts\tt\ta\tx\nUInt64\tNullable(String)\tDateTime\tArray(String)\tDecimal(9, 2)\n\
                     18446744073709551615\ta\\tb\t2024-01-02 03:04:05\t['x','y\\'z']\t-1.5\n\
                     0\t\\N\t1970-01-01 00:00:00\t[]\t0.25\n";
        let mut decoder = TextDecoder::new("UTC");
        for piece in body.chunks(7) {
            decoder.push(piece);
            assert!(decoder.next_batch().unwrap().is_none());
        }
        let batch = decoder.finish().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(
            batch
                .column(0)
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(0),
            i128::from(u64::MAX)
        );
        assert_eq!(batch.column(1).as_string::<i32>().value(0), "a\tb");
        assert!(batch.column(1).is_null(1));
        assert_eq!(
            batch
                .column(2)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            1_704_164_645_000_000
        );
        let list = batch.column(3).as_list::<i32>();
        assert_eq!(list.value(0).as_string::<i32>().value(1), "y'z");
        assert_eq!(list.value(1).len(), 0);
        assert_eq!(
            batch
                .column(4)
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(0),
            -150
        );
    }

    #[test]
    fn refuses_wall_clock_times_outside_utc() {
        let mut decoder = TextDecoder::new("Europe/Berlin");
        decoder.push(b"t\nDateTime\n2024-01-01 00:00:00\n");
        let err = decoder.next_batch().unwrap_err();
        assert_eq!(err.sqlstate(), "0A000");
    }

    #[test]
    fn an_error_after_rows_is_the_servers_error() {
        let mut decoder = TextDecoder::new("UTC");
        decoder.push(b"x\nUInt8\n1\nCode: 395, e.displayText() = DB::Exception: boom");
        decoder.next_batch().unwrap();
        let err = decoder.finish().unwrap_err().to_string();
        assert!(err.contains("395") && err.contains("boom"), "{err}");
    }
}
