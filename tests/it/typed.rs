//! Typed translation over the wire, on the demo Delta tables: answers that depend on
//! column types (Nullable or not, map value types) and on `{name:Type}` parameters'
//! declared types, as a ClickHouse-speaking client sends them.

use tokio_postgres::types::Type;

use crate::support::{connect, simple_rows};

/// One text value per row of a query run with text-typed parameters.
async fn text_rows(sql: &str, params: &[&str]) -> Vec<Vec<Option<String>>> {
    let client = connect().await;
    let statement = client
        .prepare_typed(sql, &vec![Type::TEXT; params.len()])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let rows = client.query(&statement, &params).await.unwrap();
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| match *row.columns()[i].type_() {
                    Type::INT8 => row.get::<_, Option<i64>>(i).map(|v| v.to_string()),
                    Type::FLOAT8 => row.get::<_, Option<f64>>(i).map(|v| v.to_string()),
                    Type::BOOL => row.get::<_, Option<bool>>(i).map(|v| v.to_string()),
                    _ => row.get::<_, Option<String>>(i),
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn an_array_parameter_means_membership() {
    let models = "['gpt-4o','claude-sonnet-4-20250514']";
    let expected = simple_rows(
        &connect()
            .await
            .simple_query(
                "SELECT count() FROM llm_requests \
                 WHERE model IN ('gpt-4o', 'claude-sonnet-4-20250514')",
            )
            .await
            .unwrap(),
    );
    let n: i64 = expected[0][0].as_deref().unwrap().parse().unwrap();
    assert!(n > 0, "the demo has rows for both models");
    for sql in [
        "SELECT count() FROM llm_requests WHERE model IN {models:Array(String)}",
        "SELECT count() FROM llm_requests WHERE model IN ({models:Array(String)})",
    ] {
        assert_eq!(text_rows(sql, &[models]).await, expected, "{sql}");
    }
    // An empty array matches nothing; NOT IN an empty array, everything.
    let none = text_rows(
        "SELECT count() FROM llm_requests WHERE model IN {m:Array(String)}",
        &["[]"],
    )
    .await;
    assert_eq!(none, vec![vec![Some("0".to_string())]]);
    let all = text_rows(
        "SELECT count() = (SELECT count() FROM llm_requests) FROM llm_requests \
         WHERE model NOT IN {m:Array(String)}",
        &["[]"],
    )
    .await;
    assert_eq!(all, vec![vec![Some("true".to_string())]]);
}

#[tokio::test]
async fn empty_aggregates_follow_nullable_ness() {
    let client = connect().await;
    // ttft_ms is Nullable, latency_ms is not: over no rows ClickHouse gives NULL for the
    // first and 0 / nan for the second.
    let rows = simple_rows(
        &client
            .simple_query(
                "SELECT sum(ttft_ms), avg(ttft_ms), sum(latency_ms), avg(latency_ms), \
                 quantile(0.5)(latency_ms), quantile(0.5)(ttft_ms) \
                 FROM llm_requests WHERE model = 'no such model' SETTINGS max_threads = 1",
            )
            .await
            .unwrap(),
    );
    let text = |s: &str| Some(s.to_string());
    assert_eq!(
        rows,
        vec![vec![None, None, text("0"), text("NaN"), text("NaN"), None]]
    );
}

#[tokio::test]
async fn a_missing_map_key_is_the_value_types_default() {
    let client = connect().await;
    let rows = simple_rows(
        &client
            .simple_query(
                "SELECT count() FROM llm_requests WHERE tags['no such key'] = '' \
                 AND tags['$odd key'] = '' SETTINGS max_threads = 1",
            )
            .await
            .unwrap(),
    );
    let all = simple_rows(
        &client
            .simple_query("SELECT count() FROM llm_requests")
            .await
            .unwrap(),
    );
    assert_eq!(rows, all);
}

#[tokio::test]
async fn unmarked_sql_gets_postgres_answers_unless_the_session_says_clickhouse() {
    let client = connect().await;
    let empty = "SELECT sum(latency_ms), avg(latency_ms), 7 / 2 FROM llm_requests \
                 WHERE model = 'no such model'";
    // No marker either way: PostgreSQL 15's answers (NULL over no rows, 7 / 2 = 3).
    let rows = simple_rows(&client.simple_query(empty).await.unwrap());
    assert_eq!(rows, vec![vec![None, None, Some("3".to_string())]]);
    // A ClickHouse session reads the same text as ClickHouse does.
    client
        .simple_query("SET switchyard.dialect = clickhouse")
        .await
        .unwrap();
    let rows = simple_rows(&client.simple_query(empty).await.unwrap());
    let text = |s: &str| Some(s.to_string());
    assert_eq!(rows, vec![vec![text("0"), text("NaN"), text("3.5")]]);
}
