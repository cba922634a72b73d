//! ClickHouse's date-time parsing functions as DataFusion UDFs, with ClickHouse's
//! answers in a UTC session: `parseDateTimeBestEffort[OrNull|OrZero]` (DateTime),
//! `parseDateTime64BestEffort[OrNull|OrZero]` (DateTime64, precision 3 unless given)
//! and `fromUnixTimestamp64{Second,Milli,Micro,Nano}`. Every result is an Arrow
//! `Timestamp(Microsecond, "UTC")`. The string reader is a port of ClickHouse's
//! (`parse_time_best_effort.rs`); the rules here are the result types' and were read
//! off ClickHouse 26.9 (chdb):
//!
//! - DateTime is whole seconds saturated to [1970-01-01 00:00:00, 2106-02-07 06:28:15].
//! - DateTime64(p) is the seconds times 10^p plus the fraction cut to p digits; past
//!   Int64 it is ClickHouse's DECIMAL_OVERFLOW (an error, or NULL / zero in the
//!   OrNull / OrZero variants). For p in 7..=9 and for `fromUnixTimestamp64Nano` the
//!   digits past the microsecond are dropped, rounding toward the past, so the answer
//!   prints as ClickHouse's text cut at six fraction digits.
//! - ClickHouse prints DateTime64 values outside [0000-01-01, 9999-12-31 23:59:59.999999]
//!   as the nearest end; such results fail with SQLSTATE 0A000 rather than differ.
//! - A time zone argument is honoured only when it names UTC; others fail (0A000),
//!   since ClickHouse reads zone-less strings in that zone.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, TimestampMicrosecondBuilder};
use arrow::datatypes::{
    DataType, Int16Type, Int32Type, Int64Type, Int8Type, TimeUnit, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use chrono::NaiveDate;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

#[path = "parse_time_best_effort.rs"]
mod best_effort;

pub const PARSE_DATE_TIME_BEST_EFFORT: &str = "ch_parse_date_time_best_effort";
pub const PARSE_DATE_TIME_BEST_EFFORT_OR_NULL: &str = "ch_parse_date_time_best_effort_or_null";
pub const PARSE_DATE_TIME_BEST_EFFORT_OR_ZERO: &str = "ch_parse_date_time_best_effort_or_zero";
pub const PARSE_DATE_TIME64_BEST_EFFORT: &str = "ch_parse_date_time64_best_effort";
pub const PARSE_DATE_TIME64_BEST_EFFORT_OR_NULL: &str = "ch_parse_date_time64_best_effort_or_null";
pub const PARSE_DATE_TIME64_BEST_EFFORT_OR_ZERO: &str = "ch_parse_date_time64_best_effort_or_zero";
pub const FROM_UNIX_TIMESTAMP64_SECOND: &str = "ch_from_unix_timestamp64_second";
pub const FROM_UNIX_TIMESTAMP64_MILLI: &str = "ch_from_unix_timestamp64_milli";
pub const FROM_UNIX_TIMESTAMP64_MICRO: &str = "ch_from_unix_timestamp64_micro";
pub const FROM_UNIX_TIMESTAMP64_NANO: &str = "ch_from_unix_timestamp64_nano";

/// The UDFs' names, as the DataFusion emitter spells the ClickHouse functions.
pub const FUNCTIONS: [(&str, &str); 10] = [
    ("parseDateTimeBestEffort", PARSE_DATE_TIME_BEST_EFFORT),
    (
        "parseDateTimeBestEffortOrNull",
        PARSE_DATE_TIME_BEST_EFFORT_OR_NULL,
    ),
    (
        "parseDateTimeBestEffortOrZero",
        PARSE_DATE_TIME_BEST_EFFORT_OR_ZERO,
    ),
    ("parseDateTime64BestEffort", PARSE_DATE_TIME64_BEST_EFFORT),
    (
        "parseDateTime64BestEffortOrNull",
        PARSE_DATE_TIME64_BEST_EFFORT_OR_NULL,
    ),
    (
        "parseDateTime64BestEffortOrZero",
        PARSE_DATE_TIME64_BEST_EFFORT_OR_ZERO,
    ),
    ("fromUnixTimestamp64Second", FROM_UNIX_TIMESTAMP64_SECOND),
    ("fromUnixTimestamp64Milli", FROM_UNIX_TIMESTAMP64_MILLI),
    ("fromUnixTimestamp64Micro", FROM_UNIX_TIMESTAMP64_MICRO),
    ("fromUnixTimestamp64Nano", FROM_UNIX_TIMESTAMP64_NANO),
];

/// Registers every function in `ctx`.
pub fn register(ctx: &SessionContext) {
    for (index, (clickhouse, name)) in FUNCTIONS.into_iter().enumerate() {
        if index < 6 {
            ctx.register_udf(ScalarUDF::new_from_impl(ParseBestEffort {
                clickhouse,
                name,
                wide: index >= 3,
                on_failure: [OnFailure::Error, OnFailure::Null, OnFailure::Zero][index % 3],
                // Stable, not Immutable: a string without a year takes this year or last.
                signature: Signature::variadic_any(Volatility::Stable),
            }));
        } else {
            ctx.register_udf(ScalarUDF::new_from_impl(FromUnixTimestamp64 {
                clickhouse,
                name,
                scale: [0, 3, 6, 9][index - 6],
                signature: Signature::variadic_any(Volatility::Immutable),
            }));
        }
    }
}

/// Microseconds of the first and last instants ClickHouse prints as they are.
const FIRST_PRINTABLE: i64 = -62_167_219_200_000_000;
const LAST_PRINTABLE: i64 = 253_402_300_799_999_999;

fn output_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum OnFailure {
    Error,
    Null,
    Zero,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ParseBestEffort {
    clickhouse: &'static str,
    name: &'static str,
    /// DateTime64 rather than DateTime.
    wide: bool,
    on_failure: OnFailure,
    signature: Signature,
}

impl ScalarUDFImpl for ParseBestEffort {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(output_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.clickhouse;
        let (text, rest) = args
            .args
            .split_first()
            .ok_or_else(|| DataFusionError::Plan(format!("{name} needs a string")))?;
        let (precision, zone) = match (self.wide, rest) {
            (false, []) => (None, None),
            (false, [zone]) => (None, Some(zone)),
            (true, []) => (Some(3), None),
            (true, [precision]) => (Some(precision_of(name, precision)?), None),
            (true, [precision, zone]) => (Some(precision_of(name, precision)?), Some(zone)),
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "{name} takes a string{}{}",
                    if self.wide { ", a precision" } else { "" },
                    " and a time zone at most"
                )))
            }
        };
        if let Some(zone) = zone {
            check_utc(name, zone)?;
        }
        let text = text.to_array(args.number_rows)?;
        let text = match text.data_type() {
            DataType::Dictionary(..) => arrow::compute::cast(&text, &DataType::Utf8)?,
            _ => text,
        };
        let today = chrono::Utc::now().date_naive();
        let convert = |text: &str| self.convert(text, precision, today);
        let out = match text.data_type() {
            DataType::Null => each(std::iter::repeat_n(None, text.len()), convert),
            DataType::Utf8 => each(text.as_string::<i32>().iter(), convert),
            DataType::LargeUtf8 => each(text.as_string::<i64>().iter(), convert),
            DataType::Utf8View => each(text.as_string_view().iter(), convert),
            other => Err(DataFusionError::Plan(format!(
                "{name} needs a string, not {other}"
            ))),
        }?;
        Ok(ColumnarValue::Array(out))
    }
}

impl ParseBestEffort {
    /// One string's answer in microseconds, or `None` for NULL.
    fn convert(&self, text: &str, precision: Option<u32>, today: NaiveDate) -> Result<Option<i64>> {
        let name = self.clickhouse;
        let failed = |why: String| match self.on_failure {
            OnFailure::Error => Err(DataFusionError::Execution(format!(
                "{name}('{text}'): {why}"
            ))),
            OnFailure::Null => Ok(None),
            OnFailure::Zero => Ok(Some(0)),
        };
        let parsed = match best_effort::best_effort(text.as_bytes(), self.wide, today) {
            Ok(parsed) => parsed,
            Err(why) => return failed(why),
        };
        let Some(precision) = precision else {
            // DateTime: ClickHouse saturates the seconds to its UInt32 range.
            return Ok(Some(parsed.seconds.clamp(0, u32::MAX.into()) * 1_000_000));
        };
        let Some(value) = decimal(parsed, precision) else {
            return match self.on_failure {
                OnFailure::Error => Err(DataFusionError::Execution(format!(
                    "{name}('{text}', {precision}): Decimal math overflow (DECIMAL_OVERFLOW)"
                ))),
                OnFailure::Null => Ok(None),
                OnFailure::Zero => Ok(Some(0)),
            };
        };
        let micros = if precision <= 6 {
            value * 10i64.pow(6 - precision)
        } else {
            value.div_euclid(10i64.pow(precision - 6))
        };
        printable(name, micros).map(Some)
    }
}

/// ClickHouse's DateTime64(`precision`) value for what the reader read: the seconds
/// scaled plus the fraction cut (or padded) to `precision` digits; `None` past Int64.
fn decimal(parsed: best_effort::Parsed, precision: u32) -> Option<i64> {
    let fraction = if parsed.fraction_digits > precision {
        parsed.fraction / 10u64.pow(parsed.fraction_digits - precision)
    } else {
        parsed.fraction * 10u64.pow(precision - parsed.fraction_digits)
    };
    parsed
        .seconds
        .checked_mul(10i64.pow(precision))?
        .checked_add(fraction as i64)
}

/// Refuses instants ClickHouse would print as the nearest end of its calendar.
fn printable(name: &str, micros: i64) -> Result<i64> {
    if (FIRST_PRINTABLE..=LAST_PRINTABLE).contains(&micros) {
        Ok(micros)
    } else {
        Err(outside(name, micros))
    }
}

fn outside(name: &str, value: i64) -> DataFusionError {
    DataFusionError::NotImplemented(format!(
        "{name}: {value} lies outside years 0000 to 9999, which ClickHouse prints as \
         the nearest end"
    ))
}

/// DateTime64's precision: a constant integer from 0 to 9, as ClickHouse demands.
fn precision_of(name: &str, value: &ColumnarValue) -> Result<u32> {
    let ColumnarValue::Scalar(value) = value else {
        return Err(DataFusionError::Plan(format!(
            "{name}'s precision must be a constant"
        )));
    };
    let precision = match value {
        ScalarValue::Int8(Some(_))
        | ScalarValue::Int16(Some(_))
        | ScalarValue::Int32(Some(_))
        | ScalarValue::Int64(Some(_))
        | ScalarValue::UInt8(Some(_))
        | ScalarValue::UInt16(Some(_))
        | ScalarValue::UInt32(Some(_))
        | ScalarValue::UInt64(Some(_)) => i64::try_from(value.cast_to(&DataType::Int64)?)?,
        other => {
            return Err(DataFusionError::Plan(format!(
                "{name}'s precision must be a constant integer, not {other:?}"
            )))
        }
    };
    match u32::try_from(precision) {
        Ok(precision) if precision <= 9 => Ok(precision),
        _ => Err(DataFusionError::Plan(format!(
            "{name}: scale {precision} is not a DateTime64 precision (0 to 9)"
        ))),
    }
}

/// A time zone argument: only UTC's names, since another zone changes how zone-less
/// strings read.
fn check_utc(name: &str, zone: &ColumnarValue) -> Result<()> {
    const UTC: [&str; 10] = [
        "UTC",
        "Etc/UTC",
        "GMT",
        "Etc/GMT",
        "UCT",
        "Etc/UCT",
        "Universal",
        "Etc/Universal",
        "Zulu",
        "Etc/Zulu",
    ];
    match zone {
        ColumnarValue::Scalar(value) => match value.try_as_str() {
            Some(Some(zone)) if UTC.contains(&zone) => Ok(()),
            Some(Some(zone)) => Err(DataFusionError::NotImplemented(format!(
                "{name} in time zone {zone} (only UTC is supported)"
            ))),
            _ => Err(DataFusionError::Plan(format!(
                "{name}'s time zone must be a constant string"
            ))),
        },
        ColumnarValue::Array(_) => Err(DataFusionError::Plan(format!(
            "{name}'s time zone must be a constant string"
        ))),
    }
}

/// Builds the answer column from each row's `convert` result.
fn each<'a>(
    rows: impl Iterator<Item = Option<&'a str>>,
    convert: impl Fn(&str) -> Result<Option<i64>>,
) -> Result<ArrayRef> {
    let mut out = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for row in rows {
        out.append_option(match row {
            Some(text) => convert(text)?,
            None => None,
        });
    }
    Ok(Arc::new(out.finish()))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FromUnixTimestamp64 {
    clickhouse: &'static str,
    name: &'static str,
    /// Decimal digits of a second in the argument: 0, 3, 6 or 9.
    scale: u32,
    signature: Signature,
}

impl ScalarUDFImpl for FromUnixTimestamp64 {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(output_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.clickhouse;
        let value = match args.args.as_slice() {
            [value] => value,
            [value, zone] => {
                check_utc(name, zone)?;
                value
            }
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "{name} takes an integer and a time zone at most"
                )))
            }
        };
        let array = value.to_array(args.number_rows)?;
        let mut out = TimestampMicrosecondBuilder::with_capacity(array.len()).with_timezone("UTC");
        macro_rules! each {
            ($type:ty) => {
                for value in array.as_primitive::<$type>().iter() {
                    // UInt64 wraps into Int64, as ClickHouse reinterprets it.
                    out.append_option(value.map(|v| self.micros(v as i64)).transpose()?);
                }
            };
        }
        match array.data_type() {
            DataType::Null => out.append_nulls(array.len()),
            DataType::Int8 => each!(Int8Type),
            DataType::Int16 => each!(Int16Type),
            DataType::Int32 => each!(Int32Type),
            DataType::Int64 => each!(Int64Type),
            DataType::UInt8 => each!(UInt8Type),
            DataType::UInt16 => each!(UInt16Type),
            DataType::UInt32 => each!(UInt32Type),
            DataType::UInt64 => each!(UInt64Type),
            other => {
                return Err(DataFusionError::Plan(format!(
                    "the first argument for function {name} must be integer, not {other}"
                )))
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

impl FromUnixTimestamp64 {
    fn micros(&self, value: i64) -> Result<i64> {
        let micros = if self.scale <= 6 {
            value.checked_mul(10i64.pow(6 - self.scale))
        } else {
            Some(value.div_euclid(10i64.pow(self.scale - 6)))
        };
        match micros {
            Some(micros) => printable(self.clickhouse, micros),
            None => Err(outside(self.clickhouse, value)),
        }
    }
}

#[cfg(test)]
#[path = "parse_time_tests.rs"]
mod tests;
