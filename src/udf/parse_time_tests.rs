//! The parse_time UDFs run through DataFusion SQL against the answers ClickHouse 26.9
//! (chdb 4.4, session time zone UTC) gave for the same inputs; each expected value is
//! ClickHouse's printed text, with the query that printed it beside it. Beyond these
//! tables the reader was compared with chdb on ~130,000 generated strings (random
//! tokens and mutated dates) for DateTime and DateTime64(0/3/6/9), and the throwing
//! variants on 2,000 of them, without a difference.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, Int8Array, LargeStringArray, RecordBatch,
    StringArray, StringViewArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit, TimestampMicrosecondType};
use chrono::NaiveDate;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

use super::best_effort::best_effort;

/// Runs `sql` over table `t` whose column `x` holds `column`; the answer's first column.
async fn run(column: ArrayRef, sql: &str) -> Result<ArrayRef> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "x",
        column.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema.clone(), vec![column])?;
    let ctx = SessionContext::new();
    crate::udf::register_all(&ctx);
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;
    let batches = ctx.sql(sql).await?.collect().await?;
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches)?;
    Ok(batch.column(0).clone())
}

fn strings(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

/// Microseconds since 1970 of a date-time as ClickHouse prints it (UTC).
fn micros(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
        .timestamp_micros()
}

/// The rows of an answer, which must be `Timestamp(Microsecond, "UTC")`.
fn rows(answer: &ArrayRef) -> Vec<Option<i64>> {
    assert_eq!(
        answer.data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    answer
        .as_primitive::<TimestampMicrosecondType>()
        .iter()
        .collect()
}

async fn one(text: &str, call: &str) -> Result<Option<i64>> {
    let answer = run(strings(&[text]), &format!("SELECT {call} FROM t")).await?;
    Ok(rows(&answer)[0])
}

/// (input, DateTime, DateTime64(6)) as printed by
/// `SELECT s, parseDateTimeBestEffortOrNull(s), parseDateTime64BestEffortOrNull(s, 6)
///  FROM values('s String', ...)`; `None` is ClickHouse's NULL, where the plain
/// variants throw CANNOT_PARSE_DATETIME (or CANNOT_PARSE_TEXT for leftover text).
const FORMS: [(&str, Option<&str>, Option<&str>); 59] = [
    (
        "2024-06-01 12:00:00",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "2024-06-01T12:00:00",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "2024-06-01T12:00:00Z",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "2024-06-01T12:00:00.123Z",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.123000"),
    ),
    (
        "2024-06-01T12:00:00.123456789Z",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.123456"),
    ),
    (
        "2024-06-01T12:00:00.123+02:00",
        Some("2024-06-01 10:00:00"),
        Some("2024-06-01 10:00:00.123000"),
    ),
    (
        "2024-06-01T12:00:00+0200",
        Some("2024-06-01 10:00:00"),
        Some("2024-06-01 10:00:00.000000"),
    ),
    (
        "2024-06-01T12:00:00-05",
        Some("2024-06-01 17:00:00"),
        Some("2024-06-01 17:00:00.000000"),
    ),
    (
        "2024-06-01T12:00:00+05:30",
        Some("2024-06-01 06:30:00"),
        Some("2024-06-01 06:30:00.000000"),
    ),
    (
        "2024-06-01 12:00:00 +02:00",
        Some("2024-06-01 10:00:00"),
        Some("2024-06-01 10:00:00.000000"),
    ),
    (
        "2024-06-01 12:00:00 UTC",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "2024-06-01 12:00:00 MSK",
        Some("2024-06-01 09:00:00"),
        Some("2024-06-01 09:00:00.000000"),
    ),
    // Offsets add up.
    (
        "2024-06-01 12:00:00+02:00+01:00",
        Some("2024-06-01 09:00:00"),
        Some("2024-06-01 09:00:00.000000"),
    ),
    (
        "2024-06-01",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "2024/06/01",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "2024/06/01 12:00:00",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "2024-6-1 1:2:3",
        Some("2024-06-01 01:02:03"),
        Some("2024-06-01 01:02:03.000000"),
    ),
    // Day first, unless the second number cannot be a month.
    (
        "01/06/2024 12:00:00",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "06/13/2024",
        Some("2024-06-13 00:00:00"),
        Some("2024-06-13 00:00:00.000000"),
    ),
    (
        "12/25/2024",
        Some("2024-12-25 00:00:00"),
        Some("2024-12-25 00:00:00.000000"),
    ),
    (
        "01.06.2024",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "01-06-24",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "01-Jun-2024",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "Sat, 01 Jun 2024 12:00:00 GMT",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "Saturday, June 1, 2024 12:00 PM",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "Jun 1 2024",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "Jun 1, 2024 12:00:00 AM",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "1 June 2024",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "Jun 2024",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "Sat Jun  1 12:00:00 UTC 2024",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    // Unix timestamps: 9 or 10 digits are seconds, 13/16/19 carry milli/micro/nano.
    (
        "1717243200",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    ("1717243200.5", None, Some("2024-06-01 12:00:00.500000")),
    (
        "1717243200123",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.123000"),
    ),
    (
        "1717243200123456",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.123456"),
    ),
    (
        "1717243200123456789",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.123456"),
    ),
    (
        "171724320",
        Some("1975-06-11 13:12:00"),
        Some("1975-06-11 13:12:00.000000"),
    ),
    (
        "20240601120000",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "20240601",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "202406",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "2024-06",
        Some("2024-06-01 00:00:00"),
        Some("2024-06-01 00:00:00.000000"),
    ),
    (
        "2024",
        Some("2024-01-01 00:00:00"),
        Some("2024-01-01 00:00:00.000000"),
    ),
    (
        "2024-06-01 12",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    (
        "2024-06-01 25:00:00",
        Some("2024-06-02 01:00:00"),
        Some("2024-06-02 01:00:00.000000"),
    ),
    (
        "  2024-06-01 12:00:00  ",
        Some("2024-06-01 12:00:00"),
        Some("2024-06-01 12:00:00.000000"),
    ),
    // DateTime saturates; DateTime64 keeps the instant.
    (
        "1900-01-01 00:00:00.25",
        Some("1970-01-01 00:00:00"),
        Some("1900-01-01 00:00:00.250000"),
    ),
    (
        "2299-12-31 23:59:59",
        Some("2106-02-07 06:28:15"),
        Some("2299-12-31 23:59:59.000000"),
    ),
    (
        "2024-02-29",
        Some("2024-02-29 00:00:00"),
        Some("2024-02-29 00:00:00.000000"),
    ),
    ("2023-02-29", None, None),
    ("2024-13-01", None, None),
    ("", None, None),
    ("garbage", None, None),
    ("2024-06-01 12:00:00 EST", None, None),
    ("2024-06-01 12:00:00xyz", None, None),
    ("1717243200 ", None, None),
    ("17172432001", None, None),
    ("202406011200", None, None),
    ("2024-06-01T12:00:00.12345678901234567890", None, None),
    ("Sept 1 2024", None, None),
    ("2024-06-01, ", None, None),
];

#[tokio::test]
async fn best_effort_forms_answer_like_clickhouse() {
    let inputs: Vec<&str> = FORMS.iter().map(|(input, ..)| *input).collect();
    let column = strings(&inputs);
    let answer = |sql: &'static str| {
        let column = column.clone();
        async move { rows(&run(column, sql).await.unwrap()) }
    };
    let narrow_or_null = answer("SELECT ch_parse_date_time_best_effort_or_null(x) FROM t").await;
    let narrow_or_zero = answer("SELECT ch_parse_date_time_best_effort_or_zero(x) FROM t").await;
    let wide_or_null = answer("SELECT ch_parse_date_time64_best_effort_or_null(x, 6) FROM t").await;
    let wide_or_zero = answer("SELECT ch_parse_date_time64_best_effort_or_zero(x, 6) FROM t").await;
    for (row, (input, narrow, wide)) in FORMS.iter().enumerate() {
        let narrow = narrow.map(micros);
        let wide = wide.map(micros);
        assert_eq!(narrow_or_null[row], narrow, "DateTime of {input:?}");
        assert_eq!(narrow_or_zero[row], Some(narrow.unwrap_or(0)), "{input:?}");
        assert_eq!(wide_or_null[row], wide, "DateTime64(6) of {input:?}");
        assert_eq!(wide_or_zero[row], Some(wide.unwrap_or(0)), "{input:?}");
        for (call, want) in [
            ("ch_parse_date_time_best_effort(x)", narrow),
            ("ch_parse_date_time64_best_effort(x, 6)", wide),
        ] {
            match (one(input, call).await, want) {
                (Ok(got), Some(_)) => assert_eq!(got, want, "{call} of {input:?}"),
                (Err(e), None) => {
                    assert!(
                        matches!(e.find_root(), DataFusionError::Execution(_))
                            && e.to_string().contains("CANNOT_PARSE_"),
                        "{call} of {input:?}: {e}"
                    )
                }
                (got, _) => panic!("{call} of {input:?}: {got:?}, want {want:?}"),
            }
        }
    }
}

#[tokio::test]
async fn precision_cuts_the_fraction() {
    // SELECT parseDateTime64BestEffort('2024-06-01T12:00:00.123456789Z'[, p]) for no p,
    // 0, 7, 9: .123, no fraction, .1234567, .123456789 (kept to the microsecond here).
    let text = "2024-06-01T12:00:00.123456789Z";
    for (call, want) in [
        (
            "ch_parse_date_time64_best_effort(x)",
            "2024-06-01 12:00:00.123",
        ),
        (
            "ch_parse_date_time64_best_effort(x, 0)",
            "2024-06-01 12:00:00",
        ),
        (
            "ch_parse_date_time64_best_effort(x, 7)",
            "2024-06-01 12:00:00.123456",
        ),
        (
            "ch_parse_date_time64_best_effort(x, 9)",
            "2024-06-01 12:00:00.123456",
        ),
    ] {
        assert_eq!(one(text, call).await.unwrap(), Some(micros(want)), "{call}");
    }
    // SELECT parseDateTime64BestEffort('1969-12-31 23:59:59.1234567', 9|6): ClickHouse
    // prints .123456700 and .123456; cut at the microsecond, both are .123456.
    let text = "1969-12-31 23:59:59.1234567";
    for p in [6, 9] {
        let call = format!("ch_parse_date_time64_best_effort(x, {p})");
        let got = one(text, &call).await.unwrap();
        assert_eq!(got, Some(micros("1969-12-31 23:59:59.123456")), "{call}");
    }
}

#[tokio::test]
async fn nanoseconds_overflow_like_clickhouse() {
    // SELECT parseDateTime64BestEffort('2262-04-11 23:47:16.854775807', 9) prints
    // 2262-04-11 23:47:16.854775807; one nanosecond later is DECIMAL_OVERFLOW (NULL in
    // OrNull, 1970-01-01 00:00:00.000000000 in OrZero) while precision 6 prints
    // 2262-04-11 23:47:16.854775.
    let last = "2262-04-11 23:47:16.854775807";
    let past = "2262-04-11 23:47:16.854775808";
    let call = "ch_parse_date_time64_best_effort(x, 9)";
    let want = Some(micros("2262-04-11 23:47:16.854775"));
    assert_eq!(one(last, call).await.unwrap(), want);
    let e = one(past, call).await.unwrap_err();
    assert!(e.to_string().contains("DECIMAL_OVERFLOW"), "{e}");
    let or_null = "ch_parse_date_time64_best_effort_or_null(x, 9)";
    assert_eq!(one(past, or_null).await.unwrap(), None);
    let or_zero = "ch_parse_date_time64_best_effort_or_zero(x, 9)";
    assert_eq!(one(past, or_zero).await.unwrap(), Some(0));
    let six = "ch_parse_date_time64_best_effort(x, 6)";
    assert_eq!(one(past, six).await.unwrap(), want);
}

#[tokio::test]
async fn date_time_saturates_to_its_range() {
    // SELECT parseDateTimeBestEffort('1969-12-31 23:59:59'),
    //        parseDateTimeBestEffort('2106-02-07 06:28:15'),
    //        parseDateTimeBestEffort('2106-02-07 06:28:16'),
    //        parseDateTimeBestEffort('2106-02-07 07:28:15+01:00'),
    //        parseDateTimeBestEffort('9999-12-31 23:59:59-01:00')
    let inputs = [
        "1969-12-31 23:59:59",
        "2106-02-07 06:28:15",
        "2106-02-07 06:28:16",
        "2106-02-07 07:28:15+01:00",
        "9999-12-31 23:59:59-01:00",
    ];
    let answer = run(
        strings(&inputs),
        "SELECT ch_parse_date_time_best_effort(x) FROM t",
    )
    .await
    .unwrap();
    let last = Some(micros("2106-02-07 06:28:15"));
    assert_eq!(rows(&answer), [Some(0), last, last, last, last]);
}

#[tokio::test]
async fn instants_clickhouse_cannot_print_are_refused() {
    // SELECT parseDateTime64BestEffort('9999-12-31 23:59:59-01:00', 0) prints
    // 9999-12-31 23:59:59 though the value is an hour later.
    let e = one(
        "9999-12-31 23:59:59-01:00",
        "ch_parse_date_time64_best_effort_or_null(x, 0)",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e.find_root(), DataFusionError::NotImplemented(_)),
        "{e}"
    );
    // SELECT parseDateTime64BestEffort('0001-01-01 00:00:00+01:00') prints
    // 0000-12-31 23:00:00.000, which is still printed as it is.
    let got = one(
        "0001-01-01 00:00:00+01:00",
        "ch_parse_date_time64_best_effort(x)",
    )
    .await;
    assert_eq!(got.unwrap(), Some(-62_135_600_400_000_000));
}

#[test]
fn a_missing_year_is_this_year_unless_the_date_is_to_come() {
    // chdb on 2026-12-06: SELECT parseDateTimeBestEffort('Jun 1'), ('Dec 31'),
    // ('Dec 6 10:00'), ('Dec 7 10:00'), ('12:00:00'), parseDateTimeBestEffortOrNull('Feb 29')
    let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    for (text, want) in [
        ("Jun 1", Some("2026-06-01 00:00:00")),
        ("Dec 31", Some("2025-12-31 00:00:00")),
        ("Dec 6 10:00", Some("2026-12-06 10:00:00")),
        ("Dec 7 10:00", Some("2025-12-07 10:00:00")),
        ("12:00:00", Some("2026-01-01 12:00:00")),
        ("Feb 29", None),
    ] {
        let got = best_effort(text.as_bytes(), false, today).ok();
        let want = want.map(|w| micros(w) / 1_000_000);
        assert_eq!(got.map(|p| p.seconds), want, "{text}");
    }
}

#[tokio::test]
async fn other_string_types_and_arguments() {
    let text = "2024-06-01T12:00:00.5Z";
    let want = Some(micros("2024-06-01 12:00:00.500"));
    let call = "SELECT ch_parse_date_time64_best_effort(x) FROM t";
    let large: ArrayRef = Arc::new(LargeStringArray::from(vec![Some(text), None]));
    let view: ArrayRef = Arc::new(StringViewArray::from(vec![Some(text), None]));
    for column in [large, view] {
        assert_eq!(rows(&run(column, call).await.unwrap()), [want, None]);
    }
    // SELECT parseDateTimeBestEffort(NULL) is NULL.
    let null = run(strings(&[]), "SELECT ch_parse_date_time_best_effort(NULL)").await;
    assert_eq!(rows(&null.unwrap()), [None]);
    // SELECT parseDateTime64BestEffort('...', 3, 'UTC'), parseDateTimeBestEffort('...',
    // 'Etc/UTC') are the UTC answers; other zones read zone-less strings differently.
    let utc = one(text, "ch_parse_date_time64_best_effort(x, 3, 'UTC')").await;
    assert_eq!(utc.unwrap(), want);
    let utc = one(text, "ch_parse_date_time_best_effort(x, 'Etc/UTC')").await;
    assert_eq!(utc.unwrap(), Some(micros("2024-06-01 12:00:00")));
    let berlin = one(text, "ch_parse_date_time_best_effort(x, 'Europe/Berlin')").await;
    let e = berlin.unwrap_err();
    assert!(
        matches!(e.find_root(), DataFusionError::NotImplemented(_)),
        "{e}"
    );
    // ClickHouse: "Scale 10 is too large for DateTime64"; the precision is a constant.
    for call in [
        "ch_parse_date_time64_best_effort(x, 10)",
        "ch_parse_date_time64_best_effort(x, '3')",
        "ch_parse_date_time64_best_effort(x, length(x))",
        "ch_parse_date_time_best_effort(x, 3)",
    ] {
        assert!(one(text, call).await.is_err(), "{call}");
    }
}

#[tokio::test]
async fn from_unix_timestamp64_scales_the_integer() {
    // SELECT fromUnixTimestamp64Second(1717243200), fromUnixTimestamp64Milli(1717243200123),
    //   fromUnixTimestamp64Micro(1717243200123456), fromUnixTimestamp64Nano(1717243200123456789)
    // SELECT fromUnixTimestamp64Second(-1), fromUnixTimestamp64Milli(-1),
    //   fromUnixTimestamp64Micro(-1), fromUnixTimestamp64Nano(-1)
    for (function, values, want) in [
        (
            "second",
            [1_717_243_200, -1],
            ["2024-06-01 12:00:00", "1969-12-31 23:59:59"],
        ),
        (
            "milli",
            [1_717_243_200_123, -1],
            ["2024-06-01 12:00:00.123", "1969-12-31 23:59:59.999"],
        ),
        (
            "micro",
            [1_717_243_200_123_456, -1],
            ["2024-06-01 12:00:00.123456", "1969-12-31 23:59:59.999999"],
        ),
        // ClickHouse prints .123456789 and 23:59:59.999999999: cut at the microsecond.
        (
            "nano",
            [1_717_243_200_123_456_789, -1],
            ["2024-06-01 12:00:00.123456", "1969-12-31 23:59:59.999999"],
        ),
    ] {
        let column: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(values[0]),
            Some(values[1]),
            None,
        ]));
        let sql = format!("SELECT ch_from_unix_timestamp64_{function}(x) FROM t");
        let answer = run(column, &sql).await.unwrap();
        let want = [Some(micros(want[0])), Some(micros(want[1])), None];
        assert_eq!(rows(&answer), want, "{function}");
    }
    // SELECT fromUnixTimestamp64Milli(toInt8(-5)), fromUnixTimestamp64Milli(toInt32(5)),
    //   fromUnixTimestamp64Milli(toUInt64(18446744073709551615)): .995 before 1970, .005,
    //   and UInt64 read as Int64 (-1 ms).
    let sql = "SELECT ch_from_unix_timestamp64_milli(x) FROM t";
    let cases: [(ArrayRef, &str); 3] = [
        (
            Arc::new(Int8Array::from(vec![-5])),
            "1969-12-31 23:59:59.995",
        ),
        (
            Arc::new(Int32Array::from(vec![5])),
            "1970-01-01 00:00:00.005",
        ),
        (
            Arc::new(UInt64Array::from(vec![u64::MAX])),
            "1969-12-31 23:59:59.999",
        ),
    ];
    for (column, want) in cases {
        let answer = run(column.clone(), sql).await.unwrap();
        assert_eq!(
            rows(&answer),
            [Some(micros(want))],
            "{:?}",
            column.data_type()
        );
    }
    // SELECT fromUnixTimestamp64Milli(5, 'UTC') is .005; Asia/Tokyo is refused.
    let column: ArrayRef = Arc::new(Int64Array::from(vec![5]));
    let utc = "SELECT ch_from_unix_timestamp64_milli(x, 'UTC') FROM t";
    assert_eq!(
        rows(&run(column.clone(), utc).await.unwrap()),
        [Some(5_000)]
    );
    let tokyo = "SELECT ch_from_unix_timestamp64_milli(x, 'Asia/Tokyo') FROM t";
    assert!(run(column, tokyo).await.is_err());
    // SELECT fromUnixTimestamp64Second(253402300800) prints 9999-12-31 23:59:59, and
    // fromUnixTimestamp64Milli(9223372036854775807) 9999-12-31 23:59:59.807: refused.
    for (function, value) in [("second", 253_402_300_800), ("milli", i64::MAX)] {
        let column: ArrayRef = Arc::new(Int64Array::from(vec![value]));
        let sql = format!("SELECT ch_from_unix_timestamp64_{function}(x) FROM t");
        let e = run(column, &sql).await.unwrap_err();
        assert!(
            matches!(e.find_root(), DataFusionError::NotImplemented(_)),
            "{e}"
        );
    }
    // SELECT fromUnixTimestamp64Milli('5'): "must be integer".
    let text = run(strings(&["5"]), sql).await;
    assert!(text.is_err());
}
