//! Arrow batches → DataRow messages, a slice of rows at a time, into one buffer.
//!
//! Each column gets a writer chosen once per slice from its Arrow type and wire
//! format. The types dashboards read (integers, floats, decimals, text, bytes, dates,
//! timestamps, booleans) are written directly, in the exact text Postgres prints;
//! everything else goes value by value through arrow-pg. Per-value cost is what
//! bounds large-result throughput, so the common writers avoid allocation and
//! formatting machinery.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Decimal128Array, LargeBinaryArray,
    LargeStringArray, StringArray, StringViewArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Field, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimeUnit, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use bytes::{BufMut, BytesMut};
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

/// Days from 1970-01-01 to 2000-01-01, Postgres' binary epoch.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Encodes the rows of a result's batches; holds the buffer rows are cut from.
pub struct RowEncoder {
    fields: Arc<Vec<FieldInfo>>,
    buffer: BytesMut,
    /// The widest average row seen so far, to size the buffer for a slice.
    row_bytes: usize,
    /// arrow-pg's per-value encoder, for the types without a direct writer.
    fallback: DataRowEncoder,
}

impl RowEncoder {
    pub fn new(fields: Arc<Vec<FieldInfo>>) -> Self {
        RowEncoder {
            fallback: DataRowEncoder::new(fields.clone()),
            fields,
            buffer: BytesMut::new(),
            row_bytes: 64,
        }
    }

    /// Appends rows `rows` of a batch's `columns` to `out`. `arrow_fields` describe
    /// the columns, with the metadata arrow-pg reads (oid aliases, "char" columns).
    pub fn encode(
        &mut self,
        columns: &[ArrayRef],
        arrow_fields: &[Arc<Field>],
        rows: Range<usize>,
        out: &mut VecDeque<DataRow>,
    ) -> PgWireResult<()> {
        let columns = writers(&self.fields, columns, arrow_fields);
        let field_count = columns.len() as i16;
        // One allocation per slice: rows are split off this buffer, and a put that
        // outgrew it would allocate a fresh buffer for every row after.
        self.buffer
            .reserve(rows.len() * (self.row_bytes + 4 * columns.len()));
        let row_count = rows.len().max(1);
        let mut written = 0;
        for row in rows {
            for column in &columns {
                column.write(row, &mut self.buffer, &mut self.fallback)?;
            }
            written += self.buffer.len();
            out.push_back(DataRow::new(self.buffer.split(), field_count));
        }
        self.row_bytes = self.row_bytes.max(written / row_count);
        Ok(())
    }

    /// Rows `rows` as one packed item (see `unpack`): complete DataRow messages in
    /// one buffer, for a sender that writes them to the socket as they are.
    pub fn encode_packed(
        &mut self,
        columns: &[ArrayRef],
        arrow_fields: &[Arc<Field>],
        rows: Range<usize>,
    ) -> PgWireResult<DataRow> {
        let columns = writers(&self.fields, columns, arrow_fields);
        let field_count = columns.len() as i16;
        let mut out =
            BytesMut::with_capacity(4 + rows.len() * (7 + self.row_bytes + 4 * columns.len()));
        out.put_u32(rows.len() as u32);
        for row in rows.clone() {
            let start = out.len();
            out.put_u8(b'D');
            out.put_i32(0);
            out.put_i16(field_count);
            for column in &columns {
                column.write(row, &mut out, &mut self.fallback)?;
            }
            let len = (out.len() - start - 1) as i32;
            out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
        }
        self.row_bytes = self.row_bytes.max((out.len() - 4) / rows.len().max(1) - 7);
        Ok(DataRow::new(out, PACKED))
    }
}

/// The writers for a batch's columns.
fn writers<'a>(
    fields: &'a [FieldInfo],
    columns: &'a [ArrayRef],
    arrow_fields: &'a [Arc<Field>],
) -> Vec<Column<'a>> {
    columns
        .iter()
        .zip(arrow_fields)
        .zip(fields)
        .map(|((array, arrow_field), pg_field)| Column::new(array, arrow_field, pg_field))
        .collect()
}

/// The field count that marks a packed item: a row count, then that many complete
/// DataRow messages. No real row has a negative field count.
const PACKED: i16 = -1;

/// A packed item's row count and messages; None for an ordinary DataRow.
pub fn unpack(row: &DataRow) -> Option<(usize, &[u8])> {
    if row.field_count != PACKED {
        return None;
    }
    let count = u32::from_be_bytes(row.data[..4].try_into().ok()?);
    Some((count as usize, &row.data[4..]))
}

/// One column of a batch, ready to write a value per row: its length word, then the
/// value in the column's wire format (or length -1 for NULL).
struct Column<'a> {
    nulls: Option<&'a NullBuffer>,
    binary: bool,
    values: Values<'a>,
}

enum Values<'a> {
    Bool(&'a BooleanArray),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    /// Presented as numeric: text only (numeric's binary form goes through arrow-pg).
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    /// Presented as numeric with `scale` digits after the point: text only.
    Decimal(&'a Decimal128Array, i8),
    Text(Strings<'a>),
    Bytes(ByteStrings<'a>),
    /// Days since 1970-01-01.
    Date(&'a [i32]),
    /// Values in `unit` since 1970-01-01 UTC; `zone` prints the `+00` of timestamptz.
    Timestamp(&'a [i64], TimeUnit, bool),
    Other {
        array: &'a ArrayRef,
        arrow_field: &'a Field,
        pg_field: &'a FieldInfo,
    },
}

enum Strings<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

enum ByteStrings<'a> {
    Binary(&'a BinaryArray),
    Large(&'a LargeBinaryArray),
}

impl<'a> Column<'a> {
    fn new(array: &'a ArrayRef, arrow_field: &'a Field, pg_field: &'a FieldInfo) -> Self {
        let binary = pg_field.format() == FieldFormat::Binary;
        let values = Self::direct(array, arrow_field, pg_field, binary).unwrap_or(Values::Other {
            array,
            arrow_field,
            pg_field,
        });
        Column {
            nulls: array.nulls(),
            binary,
            values,
        }
    }

    /// The direct writer for this column, if it has one. Fields that arrow-pg treats
    /// specially (tagged `pg.*`) and non-default text settings keep arrow-pg's path.
    fn direct(
        array: &'a ArrayRef,
        arrow_field: &Field,
        pg_field: &FieldInfo,
        binary: bool,
    ) -> Option<Values<'a>> {
        if arrow_field.metadata().keys().any(|k| k.starts_with("pg.")) {
            return None;
        }
        let options = pg_field.format_options();
        let iso_dates = options.date_style.starts_with("ISO");
        let values = match array.data_type() {
            DataType::Boolean => Values::Bool(array.as_boolean()),
            DataType::Int8 => Values::I8(array.as_primitive::<Int8Type>().values()),
            DataType::Int16 => Values::I16(array.as_primitive::<Int16Type>().values()),
            DataType::Int32 => Values::I32(array.as_primitive::<Int32Type>().values()),
            DataType::Int64 => Values::I64(array.as_primitive::<Int64Type>().values()),
            DataType::UInt8 => Values::U8(array.as_primitive::<UInt8Type>().values()),
            DataType::UInt16 => Values::U16(array.as_primitive::<UInt16Type>().values()),
            DataType::UInt32 => Values::U32(array.as_primitive::<UInt32Type>().values()),
            DataType::UInt64 if !binary => Values::U64(array.as_primitive::<UInt64Type>().values()),
            DataType::Float32 => Values::F32(array.as_primitive::<Float32Type>().values()),
            DataType::Float64 => Values::F64(array.as_primitive::<Float64Type>().values()),
            DataType::Decimal128(_, scale) if !binary => {
                Values::Decimal(array.as_primitive(), *scale)
            }
            DataType::Utf8 => Values::Text(Strings::Utf8(array.as_string())),
            DataType::LargeUtf8 => Values::Text(Strings::Large(array.as_string())),
            DataType::Utf8View => Values::Text(Strings::View(array.as_string_view())),
            DataType::Binary if binary || options.bytea_output == "hex" => {
                Values::Bytes(ByteStrings::Binary(array.as_binary()))
            }
            DataType::LargeBinary if binary || options.bytea_output == "hex" => {
                Values::Bytes(ByteStrings::Large(array.as_binary()))
            }
            DataType::Date32 if binary || iso_dates => {
                Values::Date(array.as_primitive::<Date32Type>().values())
            }
            DataType::Timestamp(unit, zone) if binary || iso_dates => {
                let values = match unit {
                    TimeUnit::Second => array
                        .as_primitive::<arrow::datatypes::TimestampSecondType>()
                        .values(),
                    TimeUnit::Millisecond => array
                        .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
                        .values(),
                    TimeUnit::Microsecond => array
                        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                        .values(),
                    TimeUnit::Nanosecond => array
                        .as_primitive::<arrow::datatypes::TimestampNanosecondType>()
                        .values(),
                };
                Values::Timestamp(values, *unit, zone.is_some())
            }
            _ => return None,
        };
        Some(values)
    }

    fn write(
        &self,
        row: usize,
        out: &mut BytesMut,
        fallback: &mut DataRowEncoder,
    ) -> PgWireResult<()> {
        if let Values::Other {
            array,
            arrow_field,
            pg_field,
        } = &self.values
        {
            // arrow-pg writes the length word and value into the scratch row.
            arrow_pg::encoder::encode_value(fallback, array, row, arrow_field, pg_field)?;
            out.put_slice(&fallback.take_row().data);
            return Ok(());
        }
        if self.nulls.is_some_and(|nulls| nulls.is_null(row)) {
            out.put_i32(-1);
            return Ok(());
        }
        if self.binary {
            self.write_binary(row, out)
        } else {
            self.write_text(row, out)
        }
    }

    fn write_text(&self, row: usize, out: &mut BytesMut) -> PgWireResult<()> {
        match &self.values {
            Values::Bool(array) => put_value(out, if array.value(row) { b"t" } else { b"f" }),
            Values::I8(values) => put_integer(out, values[row]),
            Values::I16(values) => put_integer(out, values[row]),
            Values::I32(values) => put_integer(out, values[row]),
            Values::I64(values) => put_integer(out, values[row]),
            Values::U8(values) => put_integer(out, values[row]),
            Values::U16(values) => put_integer(out, values[row]),
            Values::U32(values) => put_integer(out, values[row]),
            Values::U64(values) => put_integer(out, values[row]),
            Values::F32(values) => put_measured(out, |out| push_float(out, values[row])),
            Values::F64(values) => put_measured(out, |out| push_float(out, values[row])),
            Values::Decimal(array, scale) => {
                put_measured(out, |out| push_decimal(out, array.value(row), *scale))
            }
            Values::Text(strings) => put_value(out, strings.value(row).as_bytes()),
            Values::Bytes(bytes) => {
                let bytes = bytes.value(row);
                out.put_i32(2 + 2 * bytes.len() as i32);
                out.put_slice(b"\\x");
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for byte in bytes {
                    out.put_u8(HEX[(byte >> 4) as usize]);
                    out.put_u8(HEX[(byte & 15) as usize]);
                }
            }
            Values::Date(days) => put_measured(out, |out| {
                let (year, month, day) = civil_from_days(days[row] as i64);
                push_date(out, year, month, day);
                if year <= 0 {
                    out.push(b" BC");
                }
            }),
            Values::Timestamp(values, unit, zone) => {
                let micros = to_micros(values[row], *unit)?;
                put_measured(out, |out| {
                    let year = push_timestamp(out, micros);
                    if *zone {
                        out.push(b"+00");
                    }
                    if year <= 0 {
                        out.push(b" BC");
                    }
                })
            }
            Values::Other { .. } => unreachable!("written by arrow-pg"),
        }
        Ok(())
    }

    /// Postgres' binary forms: big-endian integers widened to the presented type,
    /// IEEE floats, raw bytes, days and microseconds since 2000-01-01.
    fn write_binary(&self, row: usize, out: &mut BytesMut) -> PgWireResult<()> {
        match &self.values {
            Values::Bool(array) => {
                out.put_i32(1);
                out.put_u8(array.value(row) as u8);
            }
            Values::I8(values) => put_i16(out, values[row] as i16),
            Values::I16(values) => put_i16(out, values[row]),
            Values::I32(values) => put_i32(out, values[row]),
            Values::I64(values) => put_i64(out, values[row]),
            Values::U8(values) => put_i16(out, values[row] as i16),
            Values::U16(values) => put_i32(out, values[row] as i32),
            Values::U32(values) => put_i64(out, values[row] as i64),
            Values::F32(values) => {
                out.put_i32(4);
                out.put_f32(values[row]);
            }
            Values::F64(values) => {
                out.put_i32(8);
                out.put_f64(values[row]);
            }
            Values::Text(strings) => put_value(out, strings.value(row).as_bytes()),
            Values::Bytes(bytes) => put_value(out, bytes.value(row)),
            Values::Date(days) => put_i32(out, (days[row] as i64 - PG_EPOCH_DAYS) as i32),
            Values::Timestamp(values, unit, _) => {
                let micros = to_micros(values[row], *unit)?;
                put_i64(out, micros - PG_EPOCH_DAYS * MICROS_PER_DAY);
            }
            Values::U64(_) | Values::Decimal(..) | Values::Other { .. } => {
                unreachable!("numeric binary is written by arrow-pg")
            }
        }
        Ok(())
    }
}

impl Strings<'_> {
    fn value(&self, row: usize) -> &str {
        match self {
            Strings::Utf8(array) => array.value(row),
            Strings::Large(array) => array.value(row),
            Strings::View(array) => array.value(row),
        }
    }
}

impl ByteStrings<'_> {
    fn value(&self, row: usize) -> &[u8] {
        match self {
            ByteStrings::Binary(array) => array.value(row),
            ByteStrings::Large(array) => array.value(row),
        }
    }
}

fn put_value(out: &mut BytesMut, value: &[u8]) {
    out.put_i32(value.len() as i32);
    out.put_slice(value);
}

fn put_integer(out: &mut BytesMut, value: impl itoa::Integer) {
    put_value(out, itoa::Buffer::new().format(value).as_bytes());
}

fn put_i16(out: &mut BytesMut, value: i16) {
    out.put_i32(2);
    out.put_i16(value);
}

fn put_i32(out: &mut BytesMut, value: i32) {
    out.put_i32(4);
    out.put_i32(value);
}

fn put_i64(out: &mut BytesMut, value: i64) {
    out.put_i32(8);
    out.put_i64(value);
}

fn to_micros(value: i64, unit: TimeUnit) -> PgWireResult<i64> {
    let micros = match unit {
        TimeUnit::Second => value.checked_mul(1_000_000),
        TimeUnit::Millisecond => value.checked_mul(1_000),
        TimeUnit::Microsecond => Some(value),
        TimeUnit::Nanosecond => Some(value.div_euclid(1_000)),
    };
    micros.ok_or_else(|| {
        PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "22008".into(),
            format!("timestamp out of range: {value} {unit:?}s since 1970"),
        )))
    })
}

/// Writes a value whose length is known only once it is written: a length word
/// first, patched afterwards. Text goes straight into the row buffer.
fn put_measured(out: &mut BytesMut, write: impl FnOnce(&mut BytesMut)) {
    let at = out.len();
    out.put_i32(0);
    write(out);
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// Text-building steps on the row buffer.
trait PushText {
    fn push(&mut self, bytes: &[u8]);
    fn push_byte(&mut self, byte: u8);
    /// `value` in at least `width` digits, zero-padded.
    fn push_padded(&mut self, value: u64, width: usize);
}

impl PushText for BytesMut {
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        self.put_slice(bytes);
    }

    #[inline]
    fn push_byte(&mut self, byte: u8) {
        self.put_u8(byte);
    }

    fn push_padded(&mut self, value: u64, width: usize) {
        // Date and time fields: two or four digits, without a formatter call.
        let digit = |place: u64| b'0' + (value / place % 10) as u8;
        match (width, value) {
            (2, 0..=99) => self.put_slice(&[digit(10), digit(1)]),
            (4, 0..=9999) => self.put_slice(&[digit(1000), digit(100), digit(10), digit(1)]),
            _ => {
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(value).as_bytes();
                for _ in digits.len()..width {
                    self.put_u8(b'0');
                }
                self.put_slice(digits);
            }
        }
    }
}

/// A float the way Postgres prints it with extra_float_digits ≥ 1 (the default):
/// the shortest digits that read back exactly, in fixed notation for decimal
/// exponents in [-4, precision) and `d.ddde±XX` otherwise; `NaN`, `Infinity`, `-0`.
/// Lower extra_float_digits settings, which ask for rounding, still get exact digits.
fn push_float<F: Float>(out: &mut BytesMut, value: F) {
    if value.is_nan() {
        return out.push(b"NaN");
    }
    if value.is_infinite() {
        return out.push(if value.is_negative() {
            b"-Infinity"
        } else {
            b"Infinity"
        });
    }
    if value.is_zero() {
        return out.push(if value.is_negative() { b"-0" } else { b"0" });
    }
    if value.push_few_decimals(out) {
        return;
    }
    let mut shortest = ryu::Buffer::new();
    let shortest = value.shortest(&mut shortest).as_bytes();
    let (negative, shortest) = match shortest.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, shortest),
    };
    // ryu writes `123.45`, `0.00012`, `1.5e-7` or `1e20`: read back its digits and
    // the decimal exponent of the first significant one.
    let (mantissa, exponent) = match shortest.iter().position(|b| *b == b'e') {
        Some(e) => {
            let exponent = std::str::from_utf8(&shortest[e + 1..]).ok();
            let exponent = exponent.and_then(|e| e.parse::<i32>().ok()).unwrap_or(0);
            (&shortest[..e], exponent)
        }
        None => (shortest, 0),
    };
    let mut digits = [0u8; 32];
    let mut count = 0;
    let mut point = None;
    for &byte in mantissa {
        if byte == b'.' {
            point = Some(count);
        } else {
            digits[count] = byte;
            count += 1;
        }
    }
    let mut point = point.unwrap_or(count) as i32;
    let mut start = 0;
    while start + 1 < count && digits[start] == b'0' {
        start += 1;
        point -= 1;
    }
    let mut end = count;
    while end > start + 1 && digits[end - 1] == b'0' {
        end -= 1;
    }
    let digits = &digits[start..end];
    let exponent = point - 1 + exponent;

    if negative {
        out.push_byte(b'-');
    }
    if (-4..F::PRECISION).contains(&exponent) {
        if exponent < 0 {
            out.push(b"0.");
            for _ in 0..(-exponent - 1) {
                out.push_byte(b'0');
            }
            out.push(digits);
        } else {
            let whole = exponent as usize + 1;
            if digits.len() <= whole {
                out.push(digits);
                for _ in digits.len()..whole {
                    out.push_byte(b'0');
                }
            } else {
                out.push(&digits[..whole]);
                out.push_byte(b'.');
                out.push(&digits[whole..]);
            }
        }
    } else {
        out.push_byte(digits[0]);
        if digits.len() > 1 {
            out.push_byte(b'.');
            out.push(&digits[1..]);
        }
        out.push_byte(b'e');
        out.push_byte(if exponent < 0 { b'-' } else { b'+' });
        out.push_padded(exponent.unsigned_abs() as u64, 2);
    }
}

/// What `push_float` needs of f32 and f64. PRECISION is FLT_DIG / DBL_DIG, where
/// Postgres switches to exponent notation.
trait Float: Copy {
    const PRECISION: i32;
    /// Writes a finite non-zero value that is exactly an integer or a decimal with at
    /// most three places, the common case, without ryu; false for any other value.
    fn push_few_decimals(self, out: &mut BytesMut) -> bool;
    fn is_nan(self) -> bool;
    fn is_infinite(self) -> bool;
    fn is_zero(self) -> bool;
    fn is_negative(self) -> bool;
    fn shortest(self, buffer: &mut ryu::Buffer) -> &str;
}

macro_rules! float {
    ($t:ty, $precision:expr, $few_decimals:expr) => {
        impl Float for $t {
            const PRECISION: i32 = $precision;
            fn push_few_decimals(self, out: &mut BytesMut) -> bool {
                $few_decimals(self, out)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn is_infinite(self) -> bool {
                <$t>::is_infinite(self)
            }
            fn is_zero(self) -> bool {
                self == 0.0
            }
            fn is_negative(self) -> bool {
                self.is_sign_negative()
            }
            fn shortest(self, buffer: &mut ryu::Buffer) -> &str {
                buffer.format_finite(self)
            }
        }
    };
}
float!(f32, 6, |value: f32, out: &mut BytesMut| {
    // Integers below 10^6 print in full in fixed notation, which are their shortest
    // digits; f32 is too coarse for the decimal shortcut below.
    if value.abs() < 1e6 && value.fract() == 0.0 {
        out.push(itoa::Buffer::new().format(value as i32).as_bytes());
        return true;
    }
    false
});
float!(f64, 15, push_f64_few_decimals);

/// The decimal `m / 10^d` with the fewest places d ≤ 3 that reads back as `value`,
/// for |value| < 2^33. There, adjacent doubles are under 2^-19 apart, so at most one
/// d-place decimal reads back as `value`: if one does for the smallest such d, it is
/// exactly the shortest round-trip digits ryu would find. Division of the exact
/// m and 10^d rounds correctly, which is the same test a parser applies.
fn push_f64_few_decimals(value: f64, out: &mut BytesMut) -> bool {
    const SCALES: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
    if value.abs() >= (1u64 << 33) as f64 {
        if value.abs() < 1e15 && value.fract() == 0.0 {
            out.push(itoa::Buffer::new().format(value as i64).as_bytes());
            return true;
        }
        return false;
    }
    for (places, scale) in SCALES.iter().enumerate() {
        // Rounds half away from zero; the cast truncates (no libm call for round()).
        let scaled = value * scale;
        let scaled = (scaled + 0.5f64.copysign(scaled)) as i64;
        if scaled as f64 / scale != value {
            continue;
        }
        if scaled < 0 {
            out.push_byte(b'-');
        }
        let magnitude = scaled.unsigned_abs();
        let divisor = 10u64.pow(places as u32);
        out.push(itoa::Buffer::new().format(magnitude / divisor).as_bytes());
        if places > 0 {
            out.push_byte(b'.');
            out.push_padded(magnitude % divisor, places);
        }
        return true;
    }
    false
}

/// A decimal with `scale` digits after the point, as Postgres prints numeric: all
/// `scale` digits, and at least one before the point. A negative scale multiplies.
fn push_decimal(out: &mut BytesMut, value: i128, scale: i8) {
    if value < 0 {
        out.push_byte(b'-');
    }
    let mut digits = itoa::Buffer::new();
    let digits = match u64::try_from(value.unsigned_abs()) {
        Ok(small) => digits.format(small), // u128 formatting is several times slower
        Err(_) => digits.format(value.unsigned_abs()),
    }
    .as_bytes();
    if scale <= 0 {
        out.push(digits);
        if value != 0 {
            for _ in 0..-(scale as i32) {
                out.push_byte(b'0');
            }
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let whole = digits.len() - scale;
        out.push(&digits[..whole]);
        out.push_byte(b'.');
        out.push(&digits[whole..]);
    } else {
        out.push(b"0.");
        for _ in digits.len()..scale {
            out.push_byte(b'0');
        }
        out.push(digits);
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`): integer arithmetic only, valid for every i64 day count we pass.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD`; years before 1 as Postgres numbers BC years (the caller appends
/// ` BC`), years past 9999 in as many digits as they need.
fn push_date(out: &mut BytesMut, year: i64, month: u32, day: u32) {
    if (1..=9999).contains(&year) {
        out.put_slice(&date_text(year as u32, month, day));
        return;
    }
    let shown = if year <= 0 { 1 - year } else { year };
    out.push_padded(shown as u64, 4);
    out.push_byte(b'-');
    out.push_padded(month as u64, 2);
    out.push_byte(b'-');
    out.push_padded(day as u64, 2);
}

/// `YYYY-MM-DD` for a year of four digits, as one fixed-size copy.
#[inline]
fn date_text(year: u32, month: u32, day: u32) -> [u8; 10] {
    let [y1, y2] = two_digits(year / 100);
    let [y3, y4] = two_digits(year % 100);
    let [m1, m2] = two_digits(month);
    let [d1, d2] = two_digits(day);
    [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2]
}

#[inline]
fn two_digits(value: u32) -> [u8; 2] {
    [b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]
}

/// `micros` (since 1970-01-01 UTC) as `YYYY-MM-DD HH:MM:SS[.ffffff]`, the fraction
/// only when non-zero and without trailing zeros, as Postgres prints timestamps.
/// Returns the year, so the caller can append ` BC`.
fn push_timestamp(out: &mut BytesMut, micros: i64) -> i64 {
    let (days, time) = (
        micros.div_euclid(MICROS_PER_DAY),
        micros.rem_euclid(MICROS_PER_DAY),
    );
    let (year, month, day) = civil_from_days(days);
    push_date(out, year, month, day);
    let (seconds, fraction) = ((time / 1_000_000) as u32, (time % 1_000_000) as u32);
    let [h1, h2] = two_digits(seconds / 3600);
    let [m1, m2] = two_digits(seconds / 60 % 60);
    let [s1, s2] = two_digits(seconds % 60);
    out.put_slice(&[b' ', h1, h2, b':', m1, m2, b':', s1, s2]);
    if fraction != 0 {
        let (mut fraction, mut width) = (fraction, 6);
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        out.push_byte(b'.');
        out.push_padded(fraction as u64, width);
    }
    year
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_text<F: Float>(value: F) -> String {
        let mut out = BytesMut::new();
        push_float(&mut out, value);
        String::from_utf8(out.to_vec()).unwrap()
    }

    /// Expected texts are what PostgreSQL 15 prints for the same values.
    #[test]
    fn floats_print_like_postgres() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (0.5, "0.5"),
            (100.0, "100"),
            (0.1, "0.1"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (1e-100, "1e-100"),
            (-0.0, "-0"),
            (0.0, "0"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (value, text) in cases {
            assert_eq!(float_text(*value), *text, "{value:e}");
        }
        let cases: &[(f32, &str)] = &[
            (1.0, "1"),
            (1e6, "1e+06"),
            (1e5, "100000"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (3.4e38, "3.4e+38"),
            (0.1, "0.1"),
            (-0.0, "-0"),
        ];
        for (value, text) in cases {
            assert_eq!(float_text(*value), *text, "{value:e}");
        }
    }

    #[test]
    fn few_decimal_shortcut_agrees_with_ryu() {
        // Every value the shortcut takes must print as the ryu path would.
        let via_ryu = |value: f64| {
            let fast = float_text(value);
            let shortest: f64 = ryu::Buffer::new().format_finite(value).parse().unwrap();
            assert_eq!(shortest, value);
            assert_eq!(fast.parse::<f64>().unwrap(), value, "{fast}");
            fast
        };
        for cents in (-200_000i64..200_000).step_by(7) {
            let value = cents as f64 / 100.0;
            let text = via_ryu(value);
            let digits = ryu::Buffer::new().format_finite(value).to_owned();
            let digits = digits.trim_end_matches(".0");
            assert_eq!(text, digits, "{value}");
        }
        for value in [
            0.001,
            0.5,
            1.125,
            8589934591.5,
            8589934592.5,
            1e14 + 0.5,
            0.1 + 0.2,
        ] {
            let text = float_text(value);
            assert_eq!(text.parse::<f64>().unwrap(), value, "{text}");
        }
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_text(8589934592.5), "8589934592.5");
        assert_eq!(float_text(-12.25), "-12.25");
        assert_eq!(float_text(0.007), "0.007");
    }

    #[test]
    fn every_float_reads_back_exactly() {
        // The relayout must keep ryu's digits: spot-check a spread of magnitudes.
        let mut value = 1.234_567_890_123e-30_f64;
        while value < 1e30 {
            for candidate in [value, -value, value * 7.77, 1.0 / value] {
                let text = float_text(candidate);
                assert_eq!(text.parse::<f64>().unwrap(), candidate, "{text}");
            }
            value *= 13.7;
        }
    }

    #[test]
    fn decimals_keep_their_scale() {
        let text = |value, scale| {
            let mut out = BytesMut::new();
            push_decimal(&mut out, value, scale);
            String::from_utf8(out.to_vec()).unwrap()
        };
        assert_eq!(text(150, 2), "1.50");
        assert_eq!(text(-50, 3), "-0.050");
        assert_eq!(text(0, 2), "0.00");
        assert_eq!(text(7, 0), "7");
        assert_eq!(text(12, -3), "12000");
        assert_eq!(text(0, -3), "0");
        assert_eq!(
            text(i128::MAX, 10),
            "17014118346046923173168730371.5884105727"
        );
        assert_eq!(
            text(i128::MIN, 38),
            "-1.70141183460469231731687303715884105728"
        );
    }

    fn timestamp_text(micros: i64) -> String {
        let mut out = BytesMut::new();
        if push_timestamp(&mut out, micros) <= 0 {
            out.push(b" BC");
        }
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn timestamps_print_like_postgres() {
        assert_eq!(timestamp_text(1_714_566_896_000_000), "2024-05-01 12:34:56");
        assert_eq!(
            timestamp_text(1_714_566_896_120_000),
            "2024-05-01 12:34:56.12"
        );
        assert_eq!(timestamp_text(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(timestamp_text(1), "1970-01-01 00:00:00.000001");
        assert_eq!(
            timestamp_text(253_402_300_800_000_000),
            "10000-01-01 00:00:00"
        );
        // 0044-03-15 12:00:00.5 BC, as Postgres numbers it (year -43).
        assert_eq!(
            timestamp_text(-63_517_780_799_500_000),
            "0044-03-15 12:00:00.5 BC"
        );
    }

    #[test]
    fn packed_messages_are_the_rows_as_datarow_messages() {
        use arrow::array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![Some(1), None, Some(-3)])),
            Arc::new(StringArray::from(vec![Some("a"), Some(""), None])),
            Arc::new(Float64Array::from(vec![0.5, 1e20, f64::NAN])),
            Arc::new(TimestampMicrosecondArray::from(vec![0, 1, -1]).with_timezone("UTC")),
            // No direct writer: arrow-pg's path.
            Arc::new(arrow::array::Time64MicrosecondArray::from(vec![1, 2, 3])),
        ];
        let schema = Arc::new(arrow::datatypes::Schema::new(
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let fields = Arc::new(
            arrow_pg::datatypes::arrow_schema_to_pg_fields(
                &schema,
                &pgwire::api::portal::Format::UnifiedText,
                None,
            )
            .unwrap(),
        );
        let arrow_fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        let mut encoder = RowEncoder::new(fields);

        let mut rows = VecDeque::new();
        encoder
            .encode(&columns, &arrow_fields, 0..3, &mut rows)
            .unwrap();
        let mut expected = Vec::new();
        for row in &rows {
            expected.push(b'D');
            expected.extend_from_slice(&(6 + row.data.len() as i32).to_be_bytes());
            expected.extend_from_slice(&row.field_count.to_be_bytes());
            expected.extend_from_slice(&row.data);
        }
        let packed = encoder
            .encode_packed(&columns, &arrow_fields, 0..3)
            .unwrap();
        let (count, messages) = unpack(&packed).unwrap();
        assert_eq!(count, 3);
        assert_eq!(messages, &expected[..]);
        assert!(unpack(&rows[0]).is_none());

        let values: Vec<Option<&[u8]>> = {
            let mut data = &rows[0].data[..];
            (0..5)
                .map(|_| {
                    let len = i32::from_be_bytes(data[..4].try_into().unwrap());
                    data = &data[4..];
                    (len >= 0).then(|| {
                        let (value, rest) = data.split_at(len as usize);
                        data = rest;
                        value
                    })
                })
                .collect()
        };
        assert_eq!(
            values,
            [
                Some(&b"1"[..]),
                Some(b"a"),
                Some(b"0.5"),
                Some(b"1970-01-01 00:00:00+00"),
                Some(b"00:00:00.000001")
            ]
        );
    }

    #[test]
    fn dates_match_chrono_across_eras() {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-1_000_000..1_000_000).step_by(997) {
            let expected = epoch + chrono::Duration::days(days);
            let (year, month, day) = civil_from_days(days);
            use chrono::Datelike;
            assert_eq!(
                (year, month, day),
                (expected.year() as i64, expected.month(), expected.day()),
                "{days}"
            );
        }
    }
}
