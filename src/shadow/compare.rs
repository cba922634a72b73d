//! The tolerant result comparison shared by shadow reads and the differential test
//! suite (tests/it/differential.rs), so the two cannot drift apart.
//!
//! Values are reduced to their meaning (`Cell`), from Arrow arrays or from result
//! text (ClickHouse TabSeparated, Postgres text format): NULL only equals NULL,
//! numbers of any physical type compare within a relative tolerance (ClickHouse's
//! UInt64 equals DataFusion's Int64, a Decimal equals a Float64), timestamps compare
//! as UTC instants whatever their unit or zone, booleans by value, other text exactly.
//! Unordered results are sorted before comparing.

use std::fmt::{self, Write as _};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// A value's meaning.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Number(f64),
    Text(String),
    /// Arrays: Arrow lists, ClickHouse `[a,b]` and Postgres `{a,b}` (flat elements).
    List(Vec<Cell>),
}

pub type Row = Vec<Cell>;
pub type Rows = Vec<Row>;

/// How two results may differ and still be equal.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    /// Relative tolerance for numbers (1e-9 for exact computations; approximate
    /// aggregates need their documented bound).
    pub relative: f64,
    /// Compare row by row in order (the query has an ORDER BY), or as multisets.
    pub ordered: bool,
}

/// Why two results differ, with a few of the differing rows.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub message: String,
    /// `expected | actual` pairs of differing rows, at most `SAMPLE_ROWS`.
    pub samples: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

const SAMPLE_ROWS: usize = 3;

/// A cell's meaning from result text (`None` is NULL).
pub fn cell(text: Option<&str>) -> Cell {
    let Some(text) = text else {
        return Cell::Null;
    };
    match text {
        "t" | "true" => return Cell::Text("true".into()),
        "f" | "false" => return Cell::Text("false".into()),
        "nan" | "NaN" => return Cell::Number(f64::NAN),
        "inf" | "Infinity" => return Cell::Number(f64::INFINITY),
        "-inf" | "-Infinity" => return Cell::Number(f64::NEG_INFINITY),
        _ => {}
    }
    if !text.starts_with('+') {
        if let Ok(n) = text.parse::<f64>() {
            return Cell::Number(n);
        }
    }
    let list = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .or_else(|| text.strip_prefix('{').and_then(|t| t.strip_suffix('}')));
    if let Some(items) = list {
        if !items.contains(['{', '[', '"', ':']) {
            return Cell::List(
                items
                    .split(',')
                    .filter(|i| !i.is_empty())
                    .map(|i| match i.trim_matches('\'') {
                        "NULL" => Cell::Null,
                        item => cell(Some(item)),
                    })
                    .collect(),
            );
        }
    }
    Cell::Text(timestamp(text).unwrap_or_else(|| text.to_owned()))
}

/// `2025-05-25 10:00:00.500+00` and `2025-05-25 10:00:00.500` → `2025-05-25 10:00:00.5`.
fn timestamp(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[10] != b' ' || bytes[13] != b':' {
        return None;
    }
    let text = text.strip_suffix("+00").unwrap_or(text);
    Some(match text.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => text.to_owned(),
    })
}

/// The rows of Arrow batches, as cells.
pub fn rows_from_batches(batches: &[RecordBatch]) -> Rows {
    let mut rows = Vec::new();
    for batch in batches {
        let columns: Vec<Vec<Cell>> = batch.columns().iter().map(column_cells).collect();
        for i in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c[i].clone()).collect());
        }
    }
    rows
}

/// One Arrow column's cells.
pub fn column_cells(array: &ArrayRef) -> Vec<Cell> {
    let data_type = array.data_type();
    let nulls = |cells: Vec<Cell>| -> Vec<Cell> {
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| if array.is_null(i) { Cell::Null } else { c })
            .collect()
    };
    if data_type.is_numeric() {
        if let Ok(floats) = arrow::compute::cast(array, &DataType::Float64) {
            let floats = floats.as_primitive::<arrow::datatypes::Float64Type>();
            return nulls(floats.values().iter().map(|v| Cell::Number(*v)).collect());
        }
    }
    match data_type {
        DataType::Null => vec![Cell::Null; array.len()],
        DataType::Timestamp(_, _) => {
            // One unit and zone for every side: instants, printed in UTC.
            let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
            match arrow::compute::cast(array, &utc) {
                Ok(micros) => {
                    let micros = micros.as_primitive::<TimestampMicrosecondType>();
                    nulls(
                        micros
                            .values()
                            .iter()
                            .map(|v| match chrono::DateTime::from_timestamp_micros(*v) {
                                Some(t) => {
                                    cell(Some(&t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()))
                                }
                                None => Cell::Number(*v as f64),
                            })
                            .collect(),
                    )
                }
                Err(_) => text_cells(array),
            }
        }
        DataType::Dictionary(_, values) => match arrow::compute::cast(array, values) {
            Ok(plain) => column_cells(&plain),
            Err(_) => text_cells(array),
        },
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => (0..array
            .len())
            .map(|i| {
                if array.is_null(i) {
                    return Cell::Null;
                }
                let items = match data_type {
                    DataType::List(_) => array.as_list::<i32>().value(i),
                    DataType::LargeList(_) => array.as_list::<i64>().value(i),
                    _ => array.as_fixed_size_list().value(i),
                };
                Cell::List(column_cells(&items))
            })
            .collect(),
        _ => text_cells(array),
    }
}

/// Cells of a column through its text, read as result text is.
fn text_cells(array: &ArrayRef) -> Vec<Cell> {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => (0..array.len())
            .map(|i| {
                if array.is_null(i) {
                    Cell::Null
                } else {
                    cell(Some(&formatter.value(i).to_string()))
                }
            })
            .collect(),
        Err(e) => vec![Cell::Text(format!("<unprintable: {e}>")); array.len()],
    }
}

/// Do two cells mean the same, numbers within `relative` tolerance?
pub fn same(a: &Cell, b: &Cell, relative: f64) -> bool {
    match (a, b) {
        (Cell::Number(x), Cell::Number(y)) => {
            (x.is_nan() && y.is_nan())
                || x == y
                || (x - y).abs() <= relative * x.abs().max(y.abs()).max(1e-300)
        }
        (Cell::List(x), Cell::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b, relative))
        }
        _ => a == b,
    }
}

fn sort_key(row: &[Cell]) -> String {
    let mut key = String::new();
    for cell in row {
        match cell {
            Cell::Null => key.push_str("\u{0}NULL"),
            // Rounded so values within tolerance sort alike.
            Cell::Number(n) => {
                let _ = write!(key, "{n:.6e}");
            }
            Cell::Text(t) => key.push_str(t),
            Cell::List(items) => key.push_str(&sort_key(items)),
        }
        key.push('\u{1}');
    }
    key
}

/// A row for messages: `[1, "a", NULL]`.
pub fn show_row(row: Option<&Row>) -> String {
    let Some(row) = row else {
        return "(no row)".into();
    };
    let cells: Vec<String> = row.iter().map(show_cell).collect();
    format!("[{}]", cells.join(", "))
}

fn show_cell(cell: &Cell) -> String {
    match cell {
        Cell::Null => "NULL".into(),
        Cell::Number(n) => n.to_string(),
        Cell::Text(t) => format!("{t:?}"),
        Cell::List(items) => show_row(Some(items)),
    }
}

/// Compares `actual` with `expected`.
pub fn compare(expected: &Rows, actual: &Rows, tolerance: Tolerance) -> Result<(), Mismatch> {
    let (mut expected, mut actual) = (expected.clone(), actual.clone());
    if !tolerance.ordered {
        expected.sort_by_cached_key(|r| sort_key(r));
        actual.sort_by_cached_key(|r| sort_key(r));
    }
    let row_matches = |e: &Row, a: &Row| {
        e.len() == a.len() && e.iter().zip(a).all(|(x, y)| same(x, y, tolerance.relative))
    };
    let differing: Vec<usize> = (0..expected.len().max(actual.len()))
        .filter(|&i| match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) => !row_matches(e, a),
            _ => true,
        })
        .collect();
    let Some(&first) = differing.first() else {
        return Ok(());
    };
    let samples = differing
        .iter()
        .take(SAMPLE_ROWS)
        .map(|&i| {
            format!(
                "row {i}: {} | {}",
                show_row(expected.get(i)),
                show_row(actual.get(i))
            )
        })
        .collect();
    let message = if expected.len() != actual.len() {
        format!("{} rows expected, {} here", expected.len(), actual.len())
    } else {
        let (e, a) = (&expected[first], &actual[first]);
        if e.len() != a.len() {
            format!("{} columns expected, {} here", e.len(), a.len())
        } else {
            let j = (0..e.len())
                .find(|&j| !same(&e[j], &a[j], tolerance.relative))
                .unwrap_or(0);
            format!(
                "row {first} column {j}: {:?} expected, {:?} here",
                e[j], a[j]
            )
        }
    };
    Err(Mismatch { message, samples })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        Decimal128Array, DictionaryArray, Float64Array, Int64Array, ListArray, StringArray,
        TimestampMillisecondArray, TimestampSecondArray, UInt64Array,
    };
    use arrow::datatypes::{Field, Int32Type, Int64Type, Schema};

    use super::*;

    fn batch(columns: Vec<ArrayRef>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    const EXACT: Tolerance = Tolerance {
        relative: 1e-9,
        ordered: false,
    };

    #[test]
    fn physical_types_do_not_matter() {
        let clickhouse = batch(vec![
            Arc::new(UInt64Array::from(vec![3, 1])),
            Arc::new(
                TimestampMillisecondArray::from(vec![1_700_000_000_500, 0]).with_timezone("UTC"),
            ),
            Arc::new(DictionaryArray::<Int32Type>::from_iter(["b", "a"])),
            Arc::new(
                Decimal128Array::from(vec![1250, 0])
                    .with_precision_and_scale(10, 3)
                    .unwrap(),
            ),
        ]);
        let delta = batch(vec![
            Arc::new(Int64Array::from(vec![1, 3])),
            Arc::new(
                TimestampSecondArray::from(vec![0, 1_700_000_000]).with_timezone("Asia/Tokyo"),
            ),
            Arc::new(StringArray::from(vec!["a", "b"])),
            Arc::new(Float64Array::from(vec![0.0, 1.25])),
        ]);
        let (a, b) = (
            rows_from_batches(&[clickhouse]),
            rows_from_batches(&[delta]),
        );
        // Half a second apart: timestamps are instants, not rounded.
        let err = compare(&a, &b, EXACT).unwrap_err();
        assert!(err.message.contains("column 1"), "{err}");
        assert_eq!(err.samples.len(), 1);
        let exact = batch(vec![Arc::new(
            TimestampSecondArray::from(vec![1_700_000_000]).with_timezone("Asia/Tokyo"),
        )]);
        let naive = batch(vec![Arc::new(TimestampMillisecondArray::from(vec![
            1_700_000_000_000,
        ]))]);
        let (x, y) = (rows_from_batches(&[exact]), rows_from_batches(&[naive]));
        compare(&x, &y, EXACT).unwrap();
        assert_eq!(x[0][0], cell(Some("2023-11-14 22:13:20.000+00")));
    }

    #[test]
    fn order_matters_only_when_asked_and_floats_have_slack() {
        let a = rows_from_batches(&[batch(vec![Arc::new(Float64Array::from(vec![
            1.0,
            2.0 + 1e-12,
        ]))])]);
        let b = rows_from_batches(&[batch(vec![Arc::new(Float64Array::from(vec![2.0, 1.0]))])]);
        compare(&a, &b, EXACT).unwrap();
        let ordered = Tolerance {
            ordered: true,
            ..EXACT
        };
        assert!(compare(&a, &b, ordered).is_err());
        let far = rows_from_batches(&[batch(vec![Arc::new(Float64Array::from(vec![2.1, 1.0]))])]);
        assert!(compare(&a, &far, EXACT).is_err());
        let loose = Tolerance {
            relative: 0.1,
            ..EXACT
        };
        compare(&a, &far, loose).unwrap();
    }

    #[test]
    fn lists_nulls_and_row_counts() {
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
        ]);
        let rows = rows_from_batches(&[batch(vec![Arc::new(list)])]);
        assert_eq!(rows[0][0], cell(Some("[1,NULL]")));
        assert_eq!(rows[1][0], Cell::Null);
        let err = compare(&rows, &rows[..1].to_vec(), EXACT).unwrap_err();
        assert_eq!(err.message, "2 rows expected, 1 here");
    }

    #[test]
    fn text_cells_read_both_wire_spellings() {
        assert_eq!(
            cell(Some("2025-05-25 10:00:00.500+00")),
            cell(Some("2025-05-25 10:00:00.500"))
        );
        assert_eq!(cell(Some("t")), cell(Some("true")));
        assert_eq!(cell(Some("{1,2}")), cell(Some("[1,2]")));
        assert!(same(&cell(Some("3")), &cell(Some("3.0000000001")), 1e-9));
    }
}
