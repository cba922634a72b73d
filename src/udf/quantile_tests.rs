//! `ch_quantile`/`ch_quantiles` run through DataFusion SQL against the answers ClickHouse
//! gave for the same values. Every expected value was read from chdb 4.4 (ClickHouse
//! 26.9) with the query quoted beside it; floats compare bit for bit (ClickHouse prints
//! the shortest text that reads back as the same double).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int32Array, Int64Array, Int8Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampSecondArray, UInt64Array,
    UInt8Array,
};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit};
use arrow::util::display::array_value_to_string;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::{SessionConfig, SessionContext};

/// Runs `sql` over table `t` holding `columns`, its rows spread over three partitions so
/// that partial aggregation (state, merge) runs as well as the final one.
async fn run(columns: Vec<(&str, ArrayRef)>, sql: &str) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, array)| array).collect(),
    )?;
    let parts = 3.min(batch.num_rows()).max(1);
    let chunk = batch.num_rows().div_ceil(parts).max(1);
    let partitions = (0..parts)
        .map(|p| {
            let start = (p * chunk).min(batch.num_rows());
            let len = chunk.min(batch.num_rows() - start);
            vec![batch.slice(start, len)]
        })
        .collect();
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
    super::register(&ctx);
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, partitions)?))?;
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(arrow::compute::concat_batches(
        &batches[0].schema(),
        &batches,
    )?)
}

async fn one(column: ArrayRef, sql: &str) -> ArrayRef {
    run(vec![("x", column)], sql)
        .await
        .unwrap()
        .column(0)
        .clone()
}

/// A double as ClickHouse printed it.
fn ch(text: &str) -> f64 {
    match text {
        "nan" => f64::NAN,
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => text.parse().unwrap(),
    }
}

fn same(got: f64, want: f64) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

fn assert_double(answer: &ArrayRef, row: usize, want: &str, context: &str) {
    assert_eq!(answer.data_type(), &DataType::Float64, "{context}");
    let got = answer.as_primitive::<Float64Type>();
    assert!(got.is_valid(row), "{context}: NULL, want {want}");
    let got = got.value(row);
    assert!(same(got, ch(want)), "{context}: {got:?}, want {want}");
}

fn assert_doubles(answer: &ArrayRef, row: usize, want: &[&str], context: &str) {
    let list = answer.as_list::<i32>().value(row);
    let got = list.as_primitive::<Float64Type>();
    assert_eq!(got.len(), want.len(), "{context}");
    for (i, want) in want.iter().enumerate() {
        assert!(
            same(got.value(i), ch(want)),
            "{context}: {got:?}, want {want}"
        );
    }
}

fn floats(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

#[tokio::test]
async fn floats_interpolate_bit_for_bit() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let cases: &[(&[Option<f64>], &str, &str)] = &[
        // quantile(0.5)(x) FROM values('x Float64', 1, 2, 3, 10)
        (&[Some(1.0), Some(2.0), Some(3.0), Some(10.0)], "0.5", "2.5"),
        // quantile(0.71)(x) FROM values('x Float64', 0.1, 0.7, 0.2, 1e-300, 3.3e10, -2.5)
        (
            &[
                Some(0.1),
                Some(0.7),
                Some(0.2),
                Some(1e-300),
                Some(3.3e10),
                Some(-2.5),
            ],
            "0.71",
            "0.47499999999999987",
        ),
        // quantile(0)(x), quantile(1)(x) FROM values('x Float64', 1, 5, 2)
        (&[Some(1.0), Some(5.0), Some(2.0)], "0", "1"),
        (&[Some(1.0), Some(5.0), Some(2.0)], "1", "5"),
        // NaN is skipped: quantile(0.5)(x) FROM values('x Float64', 1, nan, 3, nan, nan)
        (
            &[Some(1.0), Some(nan), Some(3.0), Some(nan), Some(nan)],
            "0.5",
            "2",
        ),
        // … and only NaN gives NaN: values('x Float64', nan, nan)
        (&[Some(nan), Some(nan)], "0.5", "nan"),
        // … even for a Nullable column: values('x Nullable(Float64)', nan, NULL)
        (&[Some(nan), None], "0.5", "nan"),
        // NULL is skipped: values('x Nullable(Int64)', NULL, 3, NULL, 5)
        (&[None, Some(3.0), None, Some(5.0)], "0.5", "4"),
        // values('x Float64', inf, -inf, 1): inf * 0 is NaN
        (&[Some(inf), Some(-inf), Some(1.0)], "0.5", "nan"),
        // quantile(0.3)(x) FROM values('x Float64', 1, inf)
        (&[Some(1.0), Some(inf)], "0.3", "inf"),
    ];
    for (values, level, want) in cases {
        let sql = format!("SELECT ch_quantile(x, {level}) FROM t");
        let answer = one(floats(values), &sql).await;
        assert_double(&answer, 0, want, &format!("{values:?} at {level}"));
    }
}

#[tokio::test]
async fn other_numbers_answer_float64() {
    let cases: Vec<(ArrayRef, &str, &str)> = vec![
        // quantile(0.3)(x) FROM values('x Float32', 1.1, 2.2, 3.3, 10.7)
        (
            Arc::new(Float32Array::from(vec![1.1, 2.2, 3.3, 10.7])),
            "0.3",
            "2.09000004529953",
        ),
        (
            Arc::new(Float32Array::from(vec![1.1, 2.2, 3.3, 10.7])),
            "0.5",
            "2.75",
        ),
        // values('x Int64', 9223372036854775807, 9223372036854775806)
        (
            Arc::new(Int64Array::from(vec![i64::MAX, i64::MAX - 1])),
            "0.5",
            "9223372036854776000",
        ),
        // values('x UInt64', 18446744073709551615, 18446744073709551614)
        (
            Arc::new(UInt64Array::from(vec![u64::MAX, u64::MAX - 1])),
            "0.5",
            "18446744073709552000",
        ),
        // values('x Int8', -128, 127, 3)
        (Arc::new(Int8Array::from(vec![-128, 127, 3])), "0.5", "3"),
        // quantile(0.37)(x) FROM values('x Int32', 7, -3, 12, 100, 4, 4)
        (
            Arc::new(Int32Array::from(vec![7, -3, 12, 100, 4, 4])),
            "0.37",
            "4",
        ),
        // quantile(0.3)(x) FROM values('x Int32', 0, 10)
        (Arc::new(Int32Array::from(vec![0, 10])), "0.3", "3"),
        // values('x Bool', true, false)
        (
            Arc::new(BooleanArray::from(vec![true, false])),
            "0.5",
            "0.5",
        ),
    ];
    for (column, level, want) in cases {
        let context = format!("{column:?} at {level}");
        let answer = one(column, &format!("SELECT ch_quantile(x, {level}) FROM t")).await;
        assert_double(&answer, 0, want, &context);
    }
}

#[tokio::test]
async fn nothing_to_interpolate() {
    // ClickHouse: quantile(0.5)(x) over no rows is nan for Float64/Int64/UInt8 and NULL for
    // Nullable(Float64/Int64); we give NULL and leave NaN to the caller.
    let answer = one(
        floats(&[Some(1.0)]),
        "SELECT ch_quantile(x, 0.5) FROM t WHERE x > 5",
    )
    .await;
    assert!(answer.is_null(0));
    let answer = one(floats(&[None, None]), "SELECT ch_quantile(x, 0.5) FROM t").await;
    assert!(answer.is_null(0));
    // quantiles(0.1, 0.5, 0.9)(x) FROM values('x Nullable(Float64)', 1) WHERE x > 5
    let answer = one(
        floats(&[Some(1.0)]),
        "SELECT ch_quantiles(x, 0.1, 0.5, 0.9) FROM t WHERE x > 5",
    )
    .await;
    assert_doubles(&answer, 0, &["nan", "nan", "nan"], "empty quantiles");
    // quantiles(0.5)(x) FROM values('x Nullable(Float64)', NULL, NULL)
    let answer = one(floats(&[None, None]), "SELECT ch_quantiles(x, 0.5) FROM t").await;
    assert_doubles(&answer, 0, &["nan"], "quantiles of NULLs");
}

#[tokio::test]
async fn quantiles_keep_the_levels_order() {
    let x = floats(&[Some(1.0), Some(2.0), Some(3.0), Some(10.0)]);
    // quantiles(0.1, 0.5, 0.9)(x) FROM values('x Float64', 1, 2, 3, 10), and for Int32
    let answer = one(x.clone(), "SELECT ch_quantiles(x, 0.1, 0.5, 0.9) FROM t").await;
    assert_doubles(
        &answer,
        0,
        &["1.3", "2.5", "7.900000000000001"],
        "0.1, 0.5, 0.9",
    );
    let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3, 10]));
    let answer = one(ints, "SELECT ch_quantiles(x, 0.1, 0.5, 0.9) FROM t").await;
    assert_doubles(&answer, 0, &["1.3", "2.5", "7.900000000000001"], "Int32");
    // quantiles(0.9, 0.1)(x) FROM values('x Float64', 1, 2, 3, 10)
    let answer = one(x, "SELECT ch_quantiles(x, 0.9, 0.1) FROM t").await;
    assert_doubles(&answer, 0, &["7.900000000000001", "1.3"], "0.9, 0.1");
    // quantiles(0.5, 0.1)(x) FROM values('x Nullable(Float64)', NULL, 3, 1)
    let answer = one(
        floats(&[None, Some(3.0), Some(1.0)]),
        "SELECT ch_quantiles(x, 0.5, 0.1) FROM t",
    )
    .await;
    assert_doubles(&answer, 0, &["2", "1.2000000000000002"], "with NULL");
}

#[tokio::test]
async fn groups_answer_like_clickhouse() {
    // SELECT number % 7 AS g, quantile(0.33)((number * 37 % 101) / 7) AS q,
    //   quantiles(0, 0.5, 0.999, 1)((number * 37 % 101) / 7) AS qs
    // FROM numbers(1000) GROUP BY g ORDER BY g
    let want: [(&str, [&str; 4]); 7] = [
        (
            "4.571428571428571",
            [
                "0",
                "7.142857142857143",
                "14.265428571428572",
                "14.285714285714286",
            ],
        ),
        (
            "4.837142857142857",
            [
                "0",
                "7.142857142857143",
                "14.285714285714286",
                "14.285714285714286",
            ],
        ),
        (
            "4.714285714285714",
            [
                "0",
                "7.285714285714286",
                "14.285714285714286",
                "14.285714285714286",
            ],
        ),
        (
            "4.551428571428572",
            ["0", "7", "14.265428571428572", "14.285714285714286"],
        ),
        (
            "4.694285714285714",
            [
                "0",
                "7.142857142857143",
                "14.265428571428572",
                "14.285714285714286",
            ],
        ),
        (
            "4.837142857142857",
            [
                "0",
                "7.285714285714286",
                "14.285714285714286",
                "14.285714285714286",
            ],
        ),
        (
            "4.647142857142857",
            [
                "0",
                "7.071428571428571",
                "14.26557142857143",
                "14.285714285714286",
            ],
        ),
    ];
    let numbers = 0..1000u64;
    let g: ArrayRef = Arc::new(UInt8Array::from_iter_values(
        numbers.clone().map(|n| (n % 7) as u8),
    ));
    let x: ArrayRef = Arc::new(Float64Array::from_iter_values(
        numbers.map(|n| (n * 37 % 101) as f64 / 7.0),
    ));
    let batch = run(
        vec![("g", g), ("x", x.clone())],
        "SELECT g, ch_quantile(x, 0.33), ch_quantiles(x, 0, 0.5, 0.999, 1) FROM t \
         GROUP BY g ORDER BY g",
    )
    .await
    .unwrap();
    assert_eq!(batch.num_rows(), 7);
    for (row, (q, qs)) in want.iter().enumerate() {
        assert_double(batch.column(1), row, q, &format!("group {row}"));
        assert_doubles(batch.column(2), row, qs, &format!("group {row}"));
    }
    // SELECT quantile(0.33)((number * 37 % 101) / 7) FROM numbers(1000)
    let answer = one(x, "SELECT ch_quantile(x, 0.33) FROM t").await;
    assert_double(&answer, 0, "4.714285714285714", "all rows");
}

fn decimals(values: &[i128], precision: u8, scale: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values.to_vec())
            .with_precision_and_scale(precision, scale)
            .unwrap(),
    )
}

fn text(answer: &ArrayRef) -> String {
    array_value_to_string(answer, 0).unwrap()
}

#[tokio::test]
async fn decimals_keep_their_type_and_truncate() {
    let money = decimals(&[110, 225, 333, 1071], 10, 2);
    let debts = decimals(&[-110, -225, -333, -1071], 10, 2);
    let cases: Vec<(ArrayRef, &str, &str)> = vec![
        // quantile(0.5)(x) FROM values('x Decimal(10,2)', 1.10, 2.25, 3.33, 10.71)
        (money.clone(), "0.5", "2.79"),
        // quantile(0.3)(…) of the same values: 2.135 truncated
        (money, "0.3", "2.13"),
        // quantile(0.3)(x) FROM values('x Decimal(10,2)', -1.10, -2.25, -3.33, -10.71):
        // -4.068 truncated toward zero
        (debts.clone(), "0.3", "-4.06"),
        // quantile(0.7)(…) of the same values
        (debts, "0.7", "-2.13"),
        // quantile(0.3)(x) FROM values('x Decimal(18,0)', 0, 999999999999999999): exact,
        // where f64 would give 300000000000000000
        (
            decimals(&[0, 999_999_999_999_999_999], 18, 0),
            "0.3",
            "299999999999999988",
        ),
        // quantile(0.1)(x) FROM values('x Decimal(18,0)', 123456789012345677, 999999999999999993)
        (
            decimals(&[123_456_789_012_345_677, 999_999_999_999_999_993], 18, 0),
            "0.1",
            "211111110111111113",
        ),
        // quantile(0.5)(x) FROM values('x Decimal(18,0)', 999999999999999999, 999999999999999997)
        (
            decimals(&[999_999_999_999_999_999, 999_999_999_999_999_997], 18, 0),
            "0.5",
            "999999999999999998",
        ),
        // quantile(0.3)(x) FROM values('x Decimal(38,0)', 0, 36893488147419103233) (2^65 + 1)
        (
            decimals(&[0, (1 << 65) + 1], 38, 0),
            "0.3",
            "11068046444225730560",
        ),
    ];
    for (column, level, want) in cases {
        let data_type = column.data_type().clone();
        let answer = one(column, &format!("SELECT ch_quantile(x, {level}) FROM t")).await;
        assert_eq!(answer.data_type(), &data_type);
        assert_eq!(text(&answer), want, "{data_type} at {level}");
    }
    // quantiles(0.1, 0.5)(x) FROM values('x Decimal(10,2)', 1.10, 2.25)
    let answer = one(
        decimals(&[110, 225], 10, 2),
        "SELECT ch_quantiles(x, 0.1, 0.5) FROM t",
    )
    .await;
    assert_eq!(text(&answer), "[1.21, 1.67]");
    // quantiles(0.5)(x) FROM values('x Decimal(10,2)', 1.5) WHERE x > 5
    let answer = one(
        decimals(&[150], 10, 2),
        "SELECT ch_quantiles(x, 0.5) FROM t WHERE x > 5",
    )
    .await;
    assert_eq!(text(&answer), "[0.00]");
}

#[tokio::test]
async fn dates_interpolate_in_f64_and_truncate() {
    let day = |d: &str| {
        (chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
            - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
        .num_days() as i32
    };
    let cases: Vec<(Vec<i32>, &str, &str)> = vec![
        // quantile(0.5)(x) FROM values('x Date', '2024-01-01', '2024-01-02')
        (
            vec![day("2024-01-01"), day("2024-01-02")],
            "0.5",
            "2024-01-01",
        ),
        // values('x Date', '2024-01-01', '2024-01-02', '2024-01-03', '2024-01-08')
        (
            ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-08"]
                .map(day)
                .to_vec(),
            "0.5",
            "2024-01-02",
        ),
        // quantile(0.3)(x) FROM values('x Date', 0, 10): f64 rounds 2.9999… up to 3
        (vec![0, 10], "0.3", "1970-01-04"),
    ];
    for (days, level, want) in cases {
        let column: ArrayRef = Arc::new(Date32Array::from(days));
        let answer = one(column, &format!("SELECT ch_quantile(x, {level}) FROM t")).await;
        assert_eq!(answer.data_type(), &DataType::Date32);
        assert_eq!(text(&answer), want);
    }
    // quantiles(0.5)(x) FROM values('x Date', 1) WHERE x > today()
    let column: ArrayRef = Arc::new(Date32Array::from(vec![1]));
    let answer = one(column, "SELECT ch_quantiles(x, 0.5) FROM t WHERE x > 5").await;
    assert_eq!(text(&answer), "[1970-01-01]");
}

#[tokio::test]
async fn timestamps_interpolate_exactly_like_datetime64() {
    // quantile(0.5)(x) FROM values('x DateTime64(3)', '2024-01-01 00:00:00.000',
    //   '… .001', '… .002', '… .007') → 2024-01-01 00:00:00.001
    let base = 1_704_067_200_000i64;
    let ms: ArrayRef = Arc::new(
        TimestampMillisecondArray::from(vec![base, base + 1, base + 2, base + 7])
            .with_timezone("UTC"),
    );
    let answer = one(ms, "SELECT ch_quantile(x, 0.5) FROM t").await;
    assert_eq!(
        answer.data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    assert_eq!(
        answer
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
            .value(0),
        base + 1
    );
    // values('x DateTime64(3)', '1969-12-31 23:59:59.998', '1969-12-31 23:59:59.995')
    //   → 1969-12-31 23:59:59.997: -3.5 ms truncated toward zero
    let before_epoch: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![-2, -5]));
    let answer = one(before_epoch, "SELECT ch_quantile(x, 0.5) FROM t").await;
    assert_eq!(text(&answer), "1969-12-31T23:59:59.997");
    // quantile(0.3)(x) FROM values('x DateTime64(6, \'UTC\')', '2024-05-01 10:00:00.000000',
    //   '2024-05-01 10:00:10.000000') → 2024-05-01 10:00:02.999999
    let start = 1_714_557_600_000_000i64;
    let us: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(vec![start, start + 10_000_000]).with_timezone("UTC"),
    );
    let answer = one(us, "SELECT ch_quantile(x, 0.3) FROM t").await;
    assert_eq!(text(&answer), "2024-05-01T10:00:02.999999Z");
    // quantile(0.3)(x) FROM values('x DateTime64(0)', 0, 10) → 1970-01-01 00:00:02
    // (DateTime, interpolated in f64, gives 00:00:03)
    let s: ArrayRef = Arc::new(TimestampSecondArray::from(vec![0, 10]));
    let answer = one(s.clone(), "SELECT ch_quantile(x, 0.3) FROM t").await;
    assert_eq!(text(&answer), "1970-01-01T00:00:02");
    // quantiles(0.5)(x) FROM values('x DateTime', 1) WHERE x > now() → ['1970-01-01 00:00:00']
    let answer = one(
        s,
        "SELECT ch_quantiles(x, 0.5) FROM t WHERE CAST(x AS BIGINT) > 100",
    )
    .await;
    assert_eq!(text(&answer), "[1970-01-01T00:00:00]");
}

#[tokio::test]
async fn refusals() {
    let x = floats(&[Some(1.0)]);
    for sql in [
        // ClickHouse: "Quantile level is out of range [0..1]" (PARAMETER_OUT_OF_BOUND)
        "SELECT ch_quantile(x, 1.5) FROM t",
        "SELECT ch_quantile(x, -0.5) FROM t",
        "SELECT ch_quantile(x, x) FROM t",
        "SELECT ch_quantile(x, 0.1, 0.2) FROM t",
        "SELECT ch_quantile(x) FROM t",
        "SELECT ch_quantiles(x) FROM t",
    ] {
        let result = run(vec![("x", x.clone())], sql).await;
        assert!(result.is_err(), "{sql}: {result:?}");
    }
    // ClickHouse: "Illegal type String of argument for aggregate function quantile"
    let s: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
    assert!(run(vec![("x", s)], "SELECT ch_quantile(x, 0.5) FROM t")
        .await
        .is_err());
}

#[test]
fn exact_interpolation_truncates_toward_zero() {
    // 0.5 is exact: the halves truncate toward zero.
    assert_eq!(super::exact(0, 1, 0.5), 0);
    assert_eq!(super::exact(-1, 0, 0.5), 0);
    assert_eq!(super::exact(-3, -2, 0.5), -2);
    assert_eq!(super::exact(-1071, -333, 0.8999999999999999), -406);
    // The whole range: -2^127 + (2^128 - 1) * 0.5 = -0.5, which truncates to 0.
    assert_eq!(super::exact(i128::MIN, i128::MAX, 0.5), 0);
    // A tiny coefficient moves nothing but still counts as a fraction.
    assert_eq!(super::exact(-5, 5, f64::MIN_POSITIVE), -4);
    assert_eq!(super::exact(5, 7, 1e-300), 5);
}
