//! `switchyard verify`: do two backends hold the same rows of a table?
//!
//! Both sides stream the same selection; switchyard itself renders every row
//! canonically and sums 64-bit hashes of the renderings (wrapping, so order does not
//! matter) per day of the time column. Engines' own hash functions differ, so none is
//! used. The rendering tolerates what engines legitimately change — integer width and
//! signedness, decimal scale, timestamp unit and zone label, string/binary encodings,
//! dictionary encoding — and nothing else: every value difference changes the hash.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::hash::Hasher;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::*;
use futures::StreamExt;

use super::{format_instant, micros_at, open_side, time_column, Range, Selection};
use crate::config::Config;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub table: String,
    pub a: String,
    pub b: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub filter: Option<String>,
    pub time_column: Option<String>,
    pub locations: BTreeMap<String, String>,
}

/// Rows and the wrapping sum of their hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub rows: u64,
    pub sum: u64,
}

/// Tallies per partition: the day (days since the epoch) of the time column, `None`
/// for rows whose time is NULL or for a table without a time column.
pub type Partitions = BTreeMap<Option<i64>, Tally>;

/// Compares the table on both backends; prints a table of partitions. Ok(true) when
/// every partition is equal.
pub async fn run(mut config: Config, request: VerifyRequest) -> Result<bool> {
    config.validate()?;
    let (a, b) = futures::try_join!(
        open_side(&config, &request.a, &request.table, &request.locations),
        open_side(&config, &request.b, &request.table, &request.locations),
    )?;
    let missing =
        |name: &str| Error::UndefinedTable(format!("{} on backend {name}", request.table));
    let schema_a = a.schema.clone().ok_or_else(|| missing(&request.a))?;
    let schema_b = b.schema.clone().ok_or_else(|| missing(&request.b))?;
    for (side, name) in [(&a, &request.a), (&b, &request.b)] {
        for (column, why) in &side.skipped {
            println!("not compared: column {column} on {name}: {why}");
        }
    }
    let names_a: BTreeSet<&String> = schema_a.fields().iter().map(|f| f.name()).collect();
    let names_b: BTreeSet<&String> = schema_b.fields().iter().map(|f| f.name()).collect();
    if names_a != names_b {
        println!(
            "columns differ: only on {}: {:?}; only on {}: {:?}",
            request.a,
            names_a.difference(&names_b).collect::<Vec<_>>(),
            request.b,
            names_b.difference(&names_a).collect::<Vec<_>>()
        );
        return Ok(false);
    }
    let key: Vec<String> = a
        .sorting_key
        .iter()
        .chain(&b.sorting_key)
        .cloned()
        .collect();
    let time = time_column(&schema_a, &key, request.time_column.as_deref())?;
    if (request.since.is_some() || request.until.is_some()) && time.is_none() {
        return Err(Error::InvalidParameter(format!(
            "--since/--until need a time column, and {} has none",
            request.table
        )));
    }
    let dates = time
        .as_deref()
        .is_some_and(|c| super::is_date(&schema_a, c));
    let selection = Selection {
        table: request.table.clone(),
        time_column: time.clone(),
        filter: request.filter.clone(),
    };
    let range = Range {
        start: request.since,
        end: request.until,
    };
    let columns: Vec<&str> = schema_a
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let time_index = time.as_deref().and_then(|c| schema_a.index_of(c).ok());
    let sql_a = selection.select_columns(&columns, range, dates, a.backend.target())?;
    let sql_b = selection.select_columns(&columns, range, dates, b.backend.target())?;
    let (tally_a, tally_b) = futures::try_join!(
        tally(&a.backend, &sql_a, time_index),
        tally(&b.backend, &sql_b, time_index),
    )?;
    let partitions: BTreeSet<Option<i64>> = tally_a.keys().chain(tally_b.keys()).copied().collect();
    let label_width = 12;
    println!(
        "{:<label_width$}  {:>12}  {:>12}  result",
        match &time {
            Some(column) => format!("day({column})"),
            None => "partition".into(),
        },
        request.a,
        request.b
    );
    let mut differing = 0;
    let (mut rows_a, mut rows_b) = (0, 0);
    for partition in &partitions {
        let left = tally_a.get(partition).copied().unwrap_or_default();
        let right = tally_b.get(partition).copied().unwrap_or_default();
        rows_a += left.rows;
        rows_b += right.rows;
        let verdict = if left == right {
            "equal"
        } else if left.rows != right.rows {
            "DIFFER (row counts)"
        } else {
            "DIFFER (values)"
        };
        if left != right {
            differing += 1;
        }
        println!(
            "{:<label_width$}  {:>12}  {:>12}  {verdict}",
            partition_label(*partition, time.is_some()),
            left.rows,
            right.rows
        );
    }
    if differing == 0 {
        println!(
            "equal: {} rows in {} partitions on {} and {}",
            rows_a,
            partitions.len(),
            request.a,
            request.b
        );
    } else {
        println!(
            "DIFFERENT: {differing} of {} partitions differ ({rows_a} rows on {}, {rows_b} on {})",
            partitions.len(),
            request.a,
            request.b
        );
    }
    Ok(differing == 0)
}

fn partition_label(partition: Option<i64>, timed: bool) -> String {
    match partition {
        Some(day) => format_instant(day * super::MICROS_PER_DAY)[..10].to_owned(),
        None if timed => "NULL".into(),
        None => "all".into(),
    }
}

/// Streams `sql` and tallies its rows by day of column `time_index`.
async fn tally(
    backend: &crate::backend::BackendRef,
    sql: &str,
    time_index: Option<usize>,
) -> Result<Partitions> {
    let mut result = backend.execute(sql).await?;
    let mut partitions = Partitions::new();
    while let Some(batch) = result.batches.next().await {
        tally_batch(&batch?, time_index, &mut partitions);
    }
    Ok(partitions)
}

/// Adds a batch's rows to `partitions`.
pub fn tally_batch(batch: &RecordBatch, time_index: Option<usize>, partitions: &mut Partitions) {
    let mut text = String::new();
    for row in 0..batch.num_rows() {
        let day = time_index
            .and_then(|i| micros_at(batch.column(i).as_ref(), row))
            .map(|micros| micros.div_euclid(super::MICROS_PER_DAY));
        let entry = partitions.entry(day).or_default();
        entry.rows += 1;
        entry.sum = entry.sum.wrapping_add(row_hash(batch, row, &mut text));
    }
}

/// The hash of one row's canonical rendering. SipHash with fixed keys
/// (`DefaultHasher::new`): both sides are hashed by the same process.
pub fn row_hash(batch: &RecordBatch, row: usize, text: &mut String) -> u64 {
    text.clear();
    for column in batch.columns() {
        render(column.as_ref(), row, text);
        text.push('\u{1f}');
    }
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// Appends the canonical rendering of one value: a tag for its kind of value, then
/// the value in a form equal across physical types that mean the same.
pub fn render(array: &dyn Array, row: usize, out: &mut String) {
    if array.is_null(row) {
        out.push('N');
        return;
    }
    macro_rules! integer {
        ($t:ty) => {{
            out.push('n');
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    match array.data_type() {
        DataType::Null => out.push('N'),
        DataType::Boolean => {
            out.push('b');
            out.push(if array.as_boolean().value(row) {
                '1'
            } else {
                '0'
            });
        }
        DataType::Int8 => integer!(Int8Type),
        DataType::Int16 => integer!(Int16Type),
        DataType::Int32 => integer!(Int32Type),
        DataType::Int64 => integer!(Int64Type),
        DataType::UInt8 => integer!(UInt8Type),
        DataType::UInt16 => integer!(UInt16Type),
        DataType::UInt32 => integer!(UInt32Type),
        DataType::UInt64 => integer!(UInt64Type),
        DataType::Decimal128(_, scale) => {
            let value = array.as_primitive::<Decimal128Type>().value(row);
            decimal(&value.to_string(), *scale, out);
        }
        DataType::Decimal256(_, scale) => {
            let value = array.as_primitive::<Decimal256Type>().value(row);
            decimal(&value.to_string(), *scale, out);
        }
        DataType::Float16 => float(
            f64::from(array.as_primitive::<Float16Type>().value(row)),
            None,
            out,
        ),
        DataType::Float32 => {
            let value = array.as_primitive::<Float32Type>().value(row);
            float(f64::from(value), Some(value), out)
        }
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row), None, out),
        DataType::Utf8 => string(array.as_string::<i32>().value(row), out),
        DataType::LargeUtf8 => string(array.as_string::<i64>().value(row), out),
        DataType::Utf8View => string(array.as_string_view().value(row), out),
        DataType::Binary => binary(array.as_binary::<i32>().value(row), out),
        DataType::LargeBinary => binary(array.as_binary::<i64>().value(row), out),
        DataType::BinaryView => binary(array.as_binary_view().value(row), out),
        DataType::FixedSizeBinary(_) => binary(array.as_fixed_size_binary().value(row), out),
        DataType::Timestamp(unit, _) => {
            let value = match unit {
                TimeUnit::Second => {
                    array.as_primitive::<TimestampSecondType>().value(row) as i128 * 1_000_000_000
                }
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row) as i128 * 1_000_000
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row) as i128 * 1_000
                }
                TimeUnit::Nanosecond => {
                    array.as_primitive::<TimestampNanosecondType>().value(row) as i128
                }
            };
            let _ = write!(out, "t{value}");
        }
        DataType::Date32 => {
            let _ = write!(out, "d{}", array.as_primitive::<Date32Type>().value(row));
        }
        DataType::Date64 => {
            let millis = array.as_primitive::<Date64Type>().value(row);
            if millis % 86_400_000 == 0 {
                let _ = write!(out, "d{}", millis / 86_400_000);
            } else {
                let _ = write!(out, "t{}", millis as i128 * 1_000_000);
            }
        }
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let key = dictionary.normalized_keys()[row];
            render(dictionary.values().as_ref(), key, out);
        }
        DataType::List(_) => elements(&array.as_list::<i32>().value(row), out),
        DataType::LargeList(_) => elements(&array.as_list::<i64>().value(row), out),
        DataType::FixedSizeList(_, _) => elements(&array.as_fixed_size_list().value(row), out),
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            out.push('m');
            for i in 0..entries.len() {
                for column in entries.columns() {
                    render(column.as_ref(), i, out);
                    out.push('\u{1e}');
                }
            }
            out.push(']');
        }
        DataType::Struct(_) => {
            out.push('r');
            for column in array.as_struct().columns() {
                render(column.as_ref(), row, out);
                out.push('\u{1e}');
            }
            out.push(']');
        }
        _ => {
            // Times of day, durations, intervals: Arrow's display, tagged by type.
            let shown = arrow::util::display::array_value_to_string(&array.slice(row, 1), 0)
                .unwrap_or_default();
            let _ = write!(out, "o{}:{shown}", array.data_type());
        }
    }
}

fn elements(values: &dyn Array, out: &mut String) {
    out.push('[');
    for i in 0..values.len() {
        render(values, i, out);
        out.push('\u{1e}');
    }
    out.push(']');
}

fn string(value: &str, out: &mut String) {
    let _ = write!(out, "s{}:{value}", value.len());
}

fn binary(value: &[u8], out: &mut String) {
    out.push('x');
    for byte in value {
        let _ = write!(out, "{byte:02x}");
    }
}

/// Exact numbers (integers and decimals of any scale) as `n<digits>[.<digits>]`
/// without trailing fractional zeros: 5, 5.00 and UInt64 5 render alike.
fn decimal(unscaled: &str, scale: i8, out: &mut String) {
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, unscaled),
    };
    let mut digits = digits.to_owned();
    if scale < 0 {
        digits.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
    }
    let scale = scale.max(0) as usize;
    if digits.len() <= scale {
        digits = format!("{}{digits}", "0".repeat(scale + 1 - digits.len()));
    }
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    out.push('n');
    if negative && !(whole.is_empty() && fraction.is_empty()) {
        out.push('-');
    }
    out.push_str(if whole.is_empty() { "0" } else { whole });
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
}

/// Floats by their shortest round-trip text (a Float32 by its own, so 0.1f32 matches
/// a Float64 0.1); -0 is 0.
fn float(value: f64, single: Option<f32>, out: &mut String) {
    out.push('f');
    if value == 0.0 {
        out.push('0');
    } else if let Some(single) = single {
        let _ = write!(out, "{single}");
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::*;
    use std::sync::Arc;

    fn rendered(array: ArrayRef) -> String {
        let mut out = String::new();
        render(array.as_ref(), 0, &mut out);
        out
    }

    fn decimal_array(value: i128, precision: u8, scale: i8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(vec![value])
                .with_precision_and_scale(precision, scale)
                .unwrap(),
        )
    }

    #[test]
    fn equal_values_render_alike_across_physical_types() {
        let five = rendered(Arc::new(Int64Array::from(vec![5])));
        assert_eq!(five, rendered(Arc::new(UInt64Array::from(vec![5]))));
        assert_eq!(five, rendered(Arc::new(Int8Array::from(vec![5]))));
        assert_eq!(five, rendered(decimal_array(5, 20, 0)));
        assert_eq!(five, rendered(decimal_array(500, 10, 2)));
        assert_eq!(
            rendered(decimal_array(15_000, 18, 4)),
            rendered(decimal_array(150, 10, 2))
        );
        assert_eq!(rendered(decimal_array(-5, 10, 2)), "n-0.05");
        assert_eq!(rendered(decimal_array(0, 10, 2)), "n0");
        let text = rendered(Arc::new(StringArray::from(vec!["héllo"])));
        assert_eq!(
            text,
            rendered(Arc::new(LargeStringArray::from(vec!["héllo"])))
        );
        assert_eq!(
            text,
            rendered(Arc::new(StringViewArray::from(vec!["héllo"])))
        );
        let dictionary: DictionaryArray<Int32Type> = vec!["héllo"].into_iter().collect();
        assert_eq!(text, rendered(Arc::new(dictionary)));
        let micros = rendered(Arc::new(
            TimestampMicrosecondArray::from(vec![1_500_000]).with_timezone("UTC"),
        ));
        assert_eq!(
            micros,
            rendered(Arc::new(TimestampMillisecondArray::from(vec![1_500])))
        );
        assert_eq!(
            micros,
            rendered(Arc::new(TimestampNanosecondArray::from(vec![
                1_500_000_000
            ])))
        );
        assert_eq!(
            rendered(Arc::new(Float32Array::from(vec![0.1f32]))),
            rendered(Arc::new(Float64Array::from(vec![0.1f64])))
        );
        assert_eq!(
            rendered(Arc::new(Float64Array::from(vec![-0.0]))),
            rendered(Arc::new(Float64Array::from(vec![0.0])))
        );
        assert_eq!(
            rendered(Arc::new(Date32Array::from(vec![3]))),
            rendered(Arc::new(Date64Array::from(vec![3 * 86_400_000])))
        );
    }

    #[test]
    fn different_values_never_render_alike() {
        let five = rendered(Arc::new(Int64Array::from(vec![5])));
        assert_ne!(five, rendered(Arc::new(Int64Array::from(vec![6]))));
        assert_ne!(five, rendered(Arc::new(StringArray::from(vec!["5"]))));
        assert_ne!(five, rendered(Arc::new(Float64Array::from(vec![5.0]))));
        assert_ne!(five, rendered(decimal_array(501, 10, 2)));
        assert_ne!(
            rendered(Arc::new(StringArray::from(vec![""]))),
            rendered(Arc::new(StringArray::from(vec![None::<&str>])))
        );
        assert_ne!(
            rendered(Arc::new(TimestampMicrosecondArray::from(vec![1]))),
            rendered(Arc::new(TimestampMicrosecondArray::from(vec![2])))
        );
        assert_ne!(
            rendered(Arc::new(Date32Array::from(vec![0]))),
            rendered(Arc::new(TimestampMicrosecondArray::from(vec![0])))
        );
    }

    #[test]
    fn checksums_ignore_row_order_and_see_every_change() {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("s", DataType::Utf8, true),
        ]));
        let day = super::super::MICROS_PER_DAY;
        let batch = |ts: Vec<i64>, s: Vec<Option<&str>>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(TimestampMicrosecondArray::from(ts)),
                    Arc::new(StringArray::from(s)),
                ],
            )
            .unwrap()
        };
        let tally = |b: &RecordBatch| {
            let mut partitions = Partitions::new();
            tally_batch(b, Some(0), &mut partitions);
            partitions
        };
        let original = tally(&batch(vec![0, 1, day], vec![Some("a"), None, Some("b")]));
        let reordered = tally(&batch(vec![day, 1, 0], vec![Some("b"), None, Some("a")]));
        assert_eq!(original, reordered);
        assert_eq!(original.len(), 2);
        assert_eq!(original[&Some(0)].rows, 2);
        // Columns shifted between rows: same multiset of values, different rows.
        let swapped = tally(&batch(vec![0, 1, day], vec![None, Some("a"), Some("b")]));
        assert_ne!(original[&Some(0)], swapped[&Some(0)]);
        assert_eq!(original[&Some(1)], swapped[&Some(1)]);
        // The sum is wrapping: tallies still combine across batches.
        let mut split = Partitions::new();
        tally_batch(&batch(vec![0], vec![Some("a")]), Some(0), &mut split);
        tally_batch(
            &batch(vec![1, day], vec![None, Some("b")]),
            Some(0),
            &mut split,
        );
        assert_eq!(original, split);
    }
}
