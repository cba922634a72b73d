//! ClickHouse's `toString` as a DataFusion UDF (`ch_to_string`), choosing the text by
//! the argument's type at run time, as ClickHouse does: integers in decimal, floats
//! in ClickHouse's shortest form (`1`, `0.1`, `1e21`, `nan`, `-inf`), decimals
//! without trailing zeros, booleans as `true`/`false`, dates as `YYYY-MM-DD`, strings
//! as they are. Date-times are refused (SQLSTATE 0A000): ClickHouse prints their
//! fraction to the column's declared precision, which a Delta timestamp does not keep.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

pub const NAME: &str = "ch_to_string";

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(ToString {
        signature: Signature::any(1, Volatility::Immutable),
    }));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ToString {
    signature: Signature,
}

impl ScalarUDFImpl for ToString {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value] = args.args.as_slice() else {
            return Err(DataFusionError::Plan(format!("{NAME} takes one argument")));
        };
        let array = value.to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(text_of(&array)?))
    }
}

fn text_of(array: &ArrayRef) -> Result<ArrayRef> {
    let mut out = StringBuilder::with_capacity(array.len(), array.len() * 8);
    let mut text = String::new();
    macro_rules! each {
        ($values:expr, $write:expr) => {{
            let values = $values;
            for row in 0..values.len() {
                if values.is_null(row) {
                    out.append_null();
                } else {
                    text.clear();
                    $write(&mut text, values.value(row));
                    out.append_value(&text);
                }
            }
        }};
    }
    let integer = |text: &mut String, value: i128| text.push_str(itoa::Buffer::new().format(value));
    match array.data_type() {
        DataType::Null => (0..array.len()).for_each(|_| out.append_null()),
        DataType::Int8 => each!(array.as_primitive::<Int8Type>(), |t, v: i8| integer(
            t,
            v.into()
        )),
        DataType::Int16 => each!(array.as_primitive::<Int16Type>(), |t, v: i16| integer(
            t,
            v.into()
        )),
        DataType::Int32 => each!(array.as_primitive::<Int32Type>(), |t, v: i32| integer(
            t,
            v.into()
        )),
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), |t, v: i64| integer(
            t,
            v.into()
        )),
        DataType::UInt8 => each!(array.as_primitive::<UInt8Type>(), |t, v: u8| integer(
            t,
            v.into()
        )),
        DataType::UInt16 => each!(array.as_primitive::<UInt16Type>(), |t, v: u16| integer(
            t,
            v.into()
        )),
        DataType::UInt32 => each!(array.as_primitive::<UInt32Type>(), |t, v: u32| integer(
            t,
            v.into()
        )),
        DataType::UInt64 => each!(array.as_primitive::<UInt64Type>(), |t, v: u64| integer(
            t,
            v.into()
        )),
        DataType::Float32 => each!(
            array.as_primitive::<Float32Type>(),
            |t: &mut String, v: f32| {
                push_float(
                    t,
                    v.is_nan(),
                    v.is_infinite(),
                    v == 0.0,
                    v.is_sign_negative(),
                    || ryu::Buffer::new().format_finite(v).to_owned(),
                )
            }
        ),
        DataType::Float64 => each!(
            array.as_primitive::<Float64Type>(),
            |t: &mut String, v: f64| { push_clickhouse_double(t, v) }
        ),
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            each!(
                array.as_primitive::<arrow::datatypes::Decimal128Type>(),
                |t: &mut String, v: i128| push_decimal(t, v, scale)
            )
        }
        DataType::Boolean => each!(array.as_boolean(), |t: &mut String, v: bool| {
            t.push_str(if v { "true" } else { "false" })
        }),
        DataType::Date32 => each!(
            array.as_primitive::<Date32Type>(),
            |t: &mut String, v: i32| {
                let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                    .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(v.into())));
                match date {
                    Some(date) => t.push_str(&date.format("%Y-%m-%d").to_string()),
                    None => t.push_str(&v.to_string()),
                }
            }
        ),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            return Ok(arrow::compute::cast(array, &DataType::Utf8)?);
        }
        DataType::Timestamp(..) => {
            return Err(DataFusionError::NotImplemented(
                "toString of a date-time (ClickHouse prints the column's declared precision, \
                 which a Delta timestamp does not keep)"
                    .into(),
            ))
        }
        other => {
            return Err(DataFusionError::NotImplemented(format!(
                "toString of a value of type {other}"
            )))
        }
    }
    Ok(Arc::new(out.finish()))
}

/// A double as ClickHouse prints it: the shortest digits that read back exactly, in
/// fixed notation for decimal exponents in [-7, 21) and `de±x` (no `+`) outside, which
/// is ECMAScript's Number-to-string layout; `-0` keeps its sign; `nan`, `inf`, `-inf`.
pub fn push_clickhouse_double(out: &mut String, value: f64) {
    push_float(
        out,
        value.is_nan(),
        value.is_infinite(),
        value == 0.0,
        value.is_sign_negative(),
        || ryu::Buffer::new().format_finite(value).to_owned(),
    )
}

fn push_float(
    out: &mut String,
    nan: bool,
    infinite: bool,
    zero: bool,
    negative: bool,
    shortest: impl FnOnce() -> String,
) {
    if nan {
        return out.push_str("nan");
    }
    if infinite {
        return out.push_str(if negative { "-inf" } else { "inf" });
    }
    if zero {
        return out.push_str(if negative { "-0" } else { "0" });
    }
    let shortest = shortest();
    let unsigned = shortest.trim_start_matches('-');
    let (mantissa, exponent) = match unsigned.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let point = mantissa.find('.').unwrap_or(mantissa.len()) as i32;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let digits = digits.trim_matches('0');
    // value = 0.DIGITS × 10^n
    let n = point - leading as i32 + exponent;
    let k = digits.len() as i32;
    if negative {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push_str(itoa::Buffer::new().format(n - 1));
    }
}

/// A decimal with `scale` digits after the point, as ClickHouse's toString prints it:
/// trailing fractional zeros and a bare point dropped.
fn push_decimal(out: &mut String, value: i128, scale: i8) {
    if value < 0 {
        out.push('-');
    }
    let digits = itoa::Buffer::new().format(value.unsigned_abs()).to_owned();
    if scale <= 0 {
        out.push_str(&digits);
        if value != 0 {
            out.extend(std::iter::repeat_n('0', (-(scale as i32)) as usize));
        }
        return;
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    out.push_str(whole);
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected texts are what ClickHouse 26 (chdb) printed for the same values.
    #[test]
    fn values_print_like_clickhouse() {
        let text = |array: ArrayRef| {
            let out = text_of(&array).unwrap();
            let out = out.as_string::<i32>();
            (0..out.len())
                .map(|i| out.is_valid(i).then(|| out.value(i).to_owned()))
                .collect::<Vec<_>>()
        };
        let some = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        assert_eq!(
            text(Arc::new(arrow::array::Float64Array::from(vec![
                0.1,
                1e21,
                1e20,
                1e-7,
                0.00001,
                1.0,
                -0.0,
                f64::NAN,
                f64::NEG_INFINITY,
                1e300
            ]))),
            some(&[
                "0.1",
                "1e21",
                "100000000000000000000",
                "1e-7",
                "0.00001",
                "1",
                "-0",
                "nan",
                "-inf",
                "1e300"
            ])
        );
        assert_eq!(
            text(Arc::new(arrow::array::Float32Array::from(vec![
                0.1, 1e20, 16777217.0
            ]))),
            some(&["0.1", "100000000000000000000", "16777216"])
        );
        let decimals = arrow::array::Decimal128Array::from(vec![150, -50, 0])
            .with_precision_and_scale(18, 2)
            .unwrap();
        assert_eq!(text(Arc::new(decimals)), some(&["1.5", "-0.5", "0"]));
        assert_eq!(
            text(Arc::new(arrow::array::Int8Array::from(vec![
                Some(-5),
                None
            ]))),
            vec![Some("-5".to_owned()), None]
        );
        assert_eq!(
            text(Arc::new(arrow::array::UInt64Array::from(vec![u64::MAX]))),
            some(&["18446744073709551615"])
        );
        assert_eq!(
            text(Arc::new(arrow::array::BooleanArray::from(vec![
                true, false
            ]))),
            some(&["true", "false"])
        );
        assert_eq!(
            text(Arc::new(arrow::array::Date32Array::from(vec![
                19844, -7305
            ]))),
            some(&["2024-05-01", "1950-01-01"])
        );
        let timestamps: ArrayRef = Arc::new(arrow::array::TimestampMicrosecondArray::from(vec![0]));
        assert!(text_of(&timestamps).is_err());
    }
}
