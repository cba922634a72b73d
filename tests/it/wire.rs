//! The Postgres wire protocol end to end: real clients against switchyard serving
//! DataFusion over Delta tables.

use std::time::Duration;

use crate::raw::{self, Raw};
use crate::support::{
    append_delta_rows, connect, server, simple_rows, sqlstate, DEMO_ROWS, FRESHNESS_TABLE,
};

#[tokio::test]
async fn simple_query_reads_the_delta_table() {
    let client = connect().await;
    let messages = client
        .simple_query("SELECT count(*) FROM llm_requests")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&messages),
        vec![vec![Some(DEMO_ROWS.to_string())]]
    );
}

#[tokio::test]
async fn columns_get_postgres_names_and_keep_case() {
    let client = connect().await;
    let rows = client
        .query(
            "SELECT model AS \"Model\", count(*), max(latency_ms) FROM llm_requests GROUP BY model ORDER BY 2 DESC LIMIT 3",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<&str> = rows[0].columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["Model", "count", "max"]);
    let counts: Vec<i64> = rows.iter().map(|r| r.get(1)).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
}

#[tokio::test]
async fn extended_protocol_binds_parameters_and_returns_binary() {
    let client = connect().await;
    let statement = client
        .prepare("SELECT request_id, latency_ms FROM llm_requests WHERE latency_ms > $1 AND provider = $2 ORDER BY latency_ms DESC LIMIT 5")
        .await
        .unwrap();
    assert_eq!(statement.params()[0], tokio_postgres::types::Type::INT8);
    for threshold in [100i64, 2_000] {
        let rows = client
            .query(&statement, &[&threshold, &"openai"])
            .await
            .unwrap();
        assert!(!rows.is_empty());
        for row in &rows {
            let latency: i64 = row.get("latency_ms");
            assert!(latency > threshold);
            let id: &str = row.get("request_id");
            assert_eq!(id.len(), 36);
        }
    }
}

#[tokio::test]
async fn types_round_trip_in_text_and_binary() {
    let client = connect().await;
    let sql = "SELECT true AS b, CAST(1 AS SMALLINT) AS i2, CAST(2 AS INT) AS i4, CAST(3 AS BIGINT) AS i8, \
               CAST(1.5 AS REAL) AS f4, CAST(2.25 AS DOUBLE PRECISION) AS f8, 'héllo' AS t, \
               CAST('2024-05-01' AS DATE) AS d, CAST('2024-05-01 12:34:56' AS TIMESTAMP) AS ts";
    let text = simple_rows(&client.simple_query(sql).await.unwrap());
    assert_eq!(
        text[0],
        [
            "t",
            "1",
            "2",
            "3",
            "1.5",
            "2.25",
            "héllo",
            "2024-05-01",
            "2024-05-01 12:34:56"
        ]
        .map(|s| Some(s.to_owned()))
    );
    let row = client.query_one(sql, &[]).await.unwrap();
    assert!(row.get::<_, bool>("b"));
    assert_eq!(row.get::<_, i16>("i2"), 1);
    assert_eq!(row.get::<_, i32>("i4"), 2);
    assert_eq!(row.get::<_, i64>("i8"), 3);
    assert_eq!(row.get::<_, f32>("f4"), 1.5);
    assert_eq!(row.get::<_, f64>("f8"), 2.25);
    assert_eq!(row.get::<_, &str>("t"), "héllo");
    assert_eq!(
        row.get::<_, chrono::NaiveDate>("d"),
        chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()
    );
    assert_eq!(
        row.get::<_, chrono::NaiveDateTime>("ts").to_string(),
        "2024-05-01 12:34:56"
    );
}

/// Postgres casts to integers round (floats ties to even, numerics half away from
/// zero); DataFusion alone would truncate. Values from PostgreSQL 15.
#[tokio::test]
async fn integer_casts_round_as_postgres_does() {
    let client = connect().await;
    let sql = "SELECT 2.7::int, 3.5::float8::int, 2.5::float8::int, (-2.5)::int, '12'::int, \
               max(cost_usd * 0 + 1.5)::bigint FROM llm_requests";
    let text = simple_rows(&client.simple_query(sql).await.unwrap());
    assert_eq!(
        text[0],
        ["3", "4", "2", "-3", "12", "2"].map(|s| Some(s.to_owned()))
    );
}

#[tokio::test]
async fn timestamps_are_utc_instants() {
    let client = connect().await;
    let row = client
        .query_one(
            "SELECT min(\"timestamp\") AS first, max(\"timestamp\") AS last FROM llm_requests",
            &[],
        )
        .await
        .unwrap();
    let first: chrono::DateTime<chrono::Utc> = row.get("first");
    let last: chrono::DateTime<chrono::Utc> = row.get("last");
    let anchor = chrono::DateTime::from_timestamp_millis(switchyard::demo::ANCHOR_MS).unwrap();
    assert!(last <= anchor && first >= anchor - chrono::Duration::days(7));
    let text = simple_rows(
        &client
            .simple_query("SELECT max(\"timestamp\") FROM llm_requests")
            .await
            .unwrap(),
    );
    let text = text[0][0].clone().unwrap();
    assert!(text.ends_with("+00:00") || text.ends_with("+00"), "{text}");
}

/// Thousands of rows span several batches and several of the encoder's slices; both
/// protocols must deliver every row, tag the count, and agree on every value.
#[tokio::test]
async fn large_results_stream_completely() {
    let client = connect().await;
    let messages = client
        .simple_query("SELECT * FROM llm_requests")
        .await
        .unwrap();
    assert_eq!(simple_rows(&messages).len(), DEMO_ROWS);
    let tagged = messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::CommandComplete(rows) => Some(*rows),
        _ => None,
    });
    assert_eq!(tagged, Some(DEMO_ROWS as u64));

    let sql = "SELECT request_id, error_type, ttft_ms, cost_usd, cached \
               FROM llm_requests ORDER BY request_id";
    let text = simple_rows(&client.simple_query(sql).await.unwrap());
    let binary = client.query(sql, &[]).await.unwrap();
    assert_eq!((text.len(), binary.len()), (DEMO_ROWS, DEMO_ROWS));
    for (text, row) in text.iter().zip(&binary) {
        let cost: f64 = text[3].as_deref().unwrap().parse().unwrap();
        assert_eq!(text[0].as_deref(), Some(row.get::<_, &str>(0)));
        assert_eq!(text[1].as_deref(), row.get::<_, Option<&str>>(1));
        assert_eq!(
            text[2].as_deref().map(|t| t.parse::<i64>().unwrap()),
            row.get::<_, Option<i64>>(2)
        );
        assert_eq!(cost, row.get::<_, f64>(3), "text {:?}", text[3]);
        assert_eq!(text[4].as_deref() == Some("t"), row.get::<_, bool>(4));
    }
}

#[tokio::test]
async fn portals_suspend_at_max_rows() {
    let mut client = connect().await;
    let transaction = client.transaction().await.unwrap();
    let portal = transaction
        .bind("SELECT request_id FROM llm_requests LIMIT 250", &[])
        .await
        .unwrap();
    let mut sizes = Vec::new();
    loop {
        let rows = transaction.query_portal(&portal, 100).await.unwrap();
        sizes.push(rows.len());
        if rows.len() < 100 {
            break;
        }
    }
    assert_eq!(sizes, [100, 100, 50]);
}

/// SQL cursors, as psql's FETCH_COUNT and psycopg's named cursors use them: slices of
/// the running result in order, errors with Postgres's SQLSTATEs, gone at COMMIT.
#[tokio::test]
async fn sql_cursors_fetch_a_result_in_slices() {
    let client = connect().await;
    let err = client
        .simple_query("DECLARE c CURSOR FOR SELECT 1")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "25P01", "outside a transaction block");

    let all = "SELECT request_id FROM llm_requests ORDER BY timestamp, request_id LIMIT 250";
    let expected = simple_rows(&client.simple_query(all).await.unwrap());
    client.simple_query("BEGIN").await.unwrap();
    client
        .simple_query(&format!("DECLARE c NO SCROLL CURSOR FOR {all}"))
        .await
        .unwrap();
    let mut fetched = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let rows = simple_rows(
            &client
                .simple_query("FETCH FORWARD 100 FROM c")
                .await
                .unwrap(),
        );
        sizes.push(rows.len());
        fetched.extend(rows);
        if sizes.last() < Some(&100) {
            break;
        }
    }
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(fetched, expected);
    let err = client.simple_query("FETCH PRIOR FROM c").await.unwrap_err();
    assert_eq!(sqlstate(&err), "0A000", "cursors only move forward");
    client.simple_query("ROLLBACK").await.unwrap();

    // A cursor read with NEXT and ALL; COMMIT closes cursors declared without HOLD.
    client.simple_query("BEGIN").await.unwrap();
    client
        .simple_query("DECLARE \"Mixed\" CURSOR FOR SELECT model FROM llm_requests LIMIT 5")
        .await
        .unwrap();
    let one = client
        .simple_query("FETCH NEXT FROM \"Mixed\"")
        .await
        .unwrap();
    assert_eq!(simple_rows(&one).len(), 1);
    let rest = client
        .simple_query("FETCH ALL FROM \"Mixed\"")
        .await
        .unwrap();
    assert_eq!(simple_rows(&rest).len(), 4);
    client.simple_query("COMMIT").await.unwrap();
    let err = client
        .simple_query("FETCH 1 FROM \"Mixed\"")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "34000");

    // WITH HOLD outlives its transaction; CLOSE ends it.
    client
        .simple_query("DECLARE h CURSOR WITH HOLD FOR SELECT 1 AS one")
        .await
        .unwrap();
    let one = simple_rows(&client.simple_query("FETCH 5 FROM h").await.unwrap());
    assert_eq!(one, vec![vec![Some("1".to_owned())]]);
    client.simple_query("CLOSE h").await.unwrap();
    let err = client.simple_query("CLOSE h").await.unwrap_err();
    assert_eq!(sqlstate(&err), "34000");
}

/// `EXPLAIN TRANSLATE`: the flavour it read, the IR, the route and every target's SQL, or
/// per target why it refuses.
#[tokio::test]
async fn explain_translate_shows_every_target() {
    let client = connect().await;
    let lines = |sql: &'static str| {
        let client = &client;
        async move {
            simple_rows(&client.simple_query(sql).await.unwrap())
                .into_iter()
                .map(|row| row[0].clone().unwrap())
                .collect::<Vec<String>>()
        }
    };
    let plan =
        lines("EXPLAIN TRANSLATE SELECT countIf(latency_ms > 100) AS slow FROM llm_requests").await;
    let line = |prefix: &str| {
        plan.iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line: {plan:#?}"))
            .clone()
    };
    assert_eq!(
        line("flavor: "),
        "flavor: clickhouse (it has ClickHouse markers or string escapes)"
    );
    // Output columns with the types the translator works out (count-like: never NULL).
    assert_eq!(line("columns: "), "columns: slow UInt64");
    assert!(line("route: ").contains("local"), "{plan:#?}");
    assert!(line("ir: ").contains("countIf"), "{plan:#?}");
    assert!(
        line("clickhouse: ").contains("countIf(\"latency_ms\" > 100)"),
        "{plan:#?}"
    );
    assert!(
        line("starrocks: ").contains("count(CASE WHEN `latency_ms` > 100 THEN 1 END)"),
        "{plan:#?}"
    );
    assert!(
        line("datafusion: ").contains("FILTER (WHERE \"latency_ms\" > 100)"),
        "{plan:#?}"
    );

    let plan =
        lines("EXPLAIN TRANSLATE SELECT formatDateTime(timestamp, '%f') AS j FROM llm_requests")
            .await;
    let datafusion = plan.iter().find(|l| l.starts_with("datafusion: ")).unwrap();
    assert!(
        datafusion.starts_with("datafusion: refused (0A000)"),
        "{plan:#?}"
    );
    assert!(datafusion.contains("formatDateTime"), "{plan:#?}");
    assert!(
        plan.iter()
            .any(|l| l.starts_with("clickhouse: SELECT formatDateTime")),
        "{plan:#?}"
    );
}

#[tokio::test]
async fn errors_carry_sqlstate_and_leave_the_connection_usable() {
    let client = connect().await;
    let cases = [
        ("SELEC 1", "42601"),
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_column FROM llm_requests", "42703"),
        ("SELECT made_up_function(1)", "0A000"),
        ("INSERT INTO llm_requests (model) VALUES ('x')", "0A000"),
        ("SET no_such_setting = 1", "42704"),
    ];
    for (sql, expected) in cases {
        let simple = client.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&simple), expected, "simple: {sql}");
        let extended = client.query(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&extended), expected, "extended: {sql}");
        let ok = client.query_one("SELECT 1 AS one", &[]).await.unwrap();
        assert_eq!(ok.get::<_, i64>("one"), 1);
    }
}

/// An error after thousands of rows were sent: the rows already written stay, then
/// ErrorResponse and ReadyForQuery, and the connection goes on.
#[tokio::test]
async fn an_error_mid_stream_ends_the_result_cleanly() {
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    let failing = "SELECT CAST(CASE WHEN r = 15000 THEN 'x' ELSE '1' END AS INT) AS x \
                   FROM (SELECT row_number() OVER (ORDER BY request_id) AS r FROM llm_requests) t";
    let messages = raw.query(failing).await;
    let tags = raw::tags(&messages);
    let rows = tags.matches('D').count();
    assert!(
        tags.starts_with('T') && tags.ends_with("EZ"),
        "{}",
        &tags[tags.len() - 3..]
    );
    assert!((1..15_000).contains(&rows), "{rows} rows before the error");
    let error = &messages[messages.len() - 2];
    assert_eq!(error.field(b'C').as_deref(), Some("22P02"));
    assert_eq!(raw::status(&messages), 'I');
    let messages = raw.query("SELECT 1 AS one").await;
    assert_eq!(raw::tags(&messages), "TDCZ");
}

#[tokio::test]
async fn syntax_errors_report_a_position() {
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    let messages = raw.query("SELECT (1 + FROM llm_requests").await;
    let error = messages.iter().find(|m| m.tag == b'E').expect("error");
    assert_eq!(error.field(b'C').as_deref(), Some("42601"));
    let position: usize = error.field(b'P').expect("position").parse().unwrap();
    assert!((11..=30).contains(&position), "position {position}");
}

#[tokio::test]
async fn multi_statement_simple_queries() {
    let client = connect().await;
    let messages = client
        .simple_query("SELECT 1 AS a; SELECT 2 AS b")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&messages),
        vec![vec![Some("1".into())], vec![Some("2".into())]]
    );

    // The first error ends the string; earlier results stand, later statements don't run.
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    let messages = raw
        .query("SELECT 1; SELECT * FROM no_such_table; SELECT 3")
        .await;
    assert_eq!(raw::tags(&messages), "TDCEZ");
    // A syntax error anywhere runs nothing.
    let messages = raw.query("SELECT 1; SELEC 2").await;
    assert_eq!(raw::tags(&messages), "EZ");
}

/// ClickHouse `SETTINGS` mean nothing to DataFusion and change no result: stripped, and
/// the client is told so with a NOTICE before the rows.
#[tokio::test]
async fn stripped_clickhouse_settings_are_reported_as_notices() {
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    let messages = raw
        .query("SELECT count() AS n FROM llm_requests SETTINGS max_threads = 2")
        .await;
    assert_eq!(raw::tags(&messages), "NTDCZ", "{messages:?}");
    let notice = &messages[0];
    assert_eq!(notice.field(b'S').as_deref(), Some("NOTICE"));
    let text = notice.field(b'M').unwrap();
    assert!(text.contains("max_threads"), "{text}");
    assert_eq!(messages[2].row(), vec![Some(DEMO_ROWS.to_string())]);
}

#[tokio::test]
async fn empty_and_comment_only_queries() {
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    for sql in [";", "", "-- ping", "/* nothing */ ;"] {
        let messages = raw.query(sql).await;
        assert_eq!(raw::tags(&messages), "IZ", "{sql:?}");
    }
}

#[tokio::test]
async fn startup_reports_postgres_15_parameters() {
    let (_, messages) = Raw::connect(&[("user", "tester"), ("application_name", "raw-it")]).await;
    let params: std::collections::HashMap<String, String> = messages
        .iter()
        .filter(|m| m.tag == b'S')
        .map(|m| m.parameter())
        .collect();
    assert!(params["server_version"].starts_with("15."), "{params:?}");
    assert!(params["server_version"].contains("switchyard"));
    assert_eq!(params["server_encoding"], "UTF8");
    assert_eq!(params["client_encoding"], "UTF8");
    assert_eq!(params["DateStyle"], "ISO, MDY");
    assert_eq!(params["integer_datetimes"], "on");
    assert_eq!(params["standard_conforming_strings"], "on");
    assert_eq!(params["TimeZone"], "UTC");
    assert_eq!(params["application_name"], "raw-it");
    assert!(messages.iter().any(|m| m.tag == b'K'), "BackendKeyData");
}

#[tokio::test]
async fn set_reports_parameter_status_and_show_reads_it() {
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    let messages = raw.query("SET application_name = 'renamed'").await;
    let reported: Vec<_> = messages
        .iter()
        .filter(|m| m.tag == b'S')
        .map(|m| m.parameter())
        .collect();
    assert_eq!(reported, [("application_name".into(), "renamed".into())]);
    let messages = raw.query("SHOW application_name").await;
    let row = messages.iter().find(|m| m.tag == b'D').unwrap().row();
    assert_eq!(row, [Some("renamed".into())]);
    let messages = raw.query("SET TIME ZONE 'UTC'; SHOW TimeZone").await;
    let row = messages.iter().find(|m| m.tag == b'D').unwrap().row();
    assert_eq!(row, [Some("UTC".into())]);
    let messages = raw.query("SET client_encoding = 'LATIN1'").await;
    let error = messages.iter().find(|m| m.tag == b'E').unwrap();
    assert_eq!(error.field(b'C').as_deref(), Some("0A000"));
}

#[tokio::test]
async fn transaction_status_follows_begin_error_and_rollback() {
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    assert_eq!(raw::status(&raw.query("BEGIN").await), 'T');
    assert_eq!(raw::status(&raw.query("SAVEPOINT s1").await), 'T');
    assert_eq!(raw::status(&raw.query("SELECT 1").await), 'T');
    assert_eq!(raw::status(&raw.query("SELECT * FROM nope").await), 'E');
    let messages = raw.query("SELECT 1").await;
    let error = messages.iter().find(|m| m.tag == b'E').unwrap();
    assert_eq!(error.field(b'C').as_deref(), Some("25P02"));
    assert_eq!(raw::status(&messages), 'E');
    assert_eq!(raw::status(&raw.query("ROLLBACK").await), 'I');
    assert_eq!(
        raw::status(&raw.query("BEGIN; SELECT 1; COMMIT").await),
        'I'
    );
    let messages = raw.query("SAVEPOINT outside").await;
    let error = messages.iter().find(|m| m.tag == b'E').unwrap();
    assert_eq!(error.field(b'C').as_deref(), Some("25P01"));
}

#[tokio::test]
async fn pipelined_extended_messages_before_one_sync() {
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    let mut batch = Vec::new();
    batch.extend(Raw::parse(
        "by_model",
        "SELECT count(*) AS n FROM llm_requests WHERE model = $1",
    ));
    batch.extend(Raw::describe(b'S', "by_model"));
    batch.extend(Raw::bind("p1", "by_model", &[Some("no-such-model")]));
    batch.extend(Raw::execute("p1", 0));
    batch.extend(Raw::parse("", "SELECT 42 AS answer"));
    batch.extend(Raw::bind("", "", &[]));
    batch.extend(Raw::describe(b'P', ""));
    batch.extend(Raw::execute("", 0));
    batch.extend(Raw::close(b'S', "by_model"));
    batch.extend(Raw::sync());
    raw.send_bytes(&batch).await;
    let messages = raw.until_ready().await;
    // Parse, ParameterDescription, RowDescription, Bind, Data, Complete,
    // Parse, Bind, RowDescription, Data, Complete, CloseComplete, Ready.
    assert_eq!(raw::tags(&messages), "1tT2DC12TDC3Z");
    let rows: Vec<_> = messages
        .iter()
        .filter(|m| m.tag == b'D')
        .map(|m| m.row())
        .collect();
    assert_eq!(rows, [vec![Some("0".into())], vec![Some("42".into())]]);

    // An error skips to Sync, then the connection goes on.
    let mut batch = Raw::parse("", "SELECT * FROM nope");
    batch.extend(Raw::bind("", "", &[]));
    batch.extend(Raw::execute("", 0));
    batch.extend(Raw::sync());
    raw.send_bytes(&batch).await;
    assert_eq!(raw::tags(&raw.until_ready().await), "EZ");
    assert_eq!(raw::tags(&raw.query("SELECT 1").await), "TDCZ");
}

#[tokio::test]
async fn cancel_request_stops_a_running_query() {
    let client = connect().await;
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let started = std::time::Instant::now();
    let error = client
        .simple_query(
            "SELECT count(*) FROM llm_requests a CROSS JOIN llm_requests b WHERE a.latency_ms + b.latency_ms = -1",
        )
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert_eq!(sqlstate(&error), "57014");
    assert!(started.elapsed() < Duration::from_secs(30));
    let ok = client.query_one("SELECT 1 AS one", &[]).await.unwrap();
    assert_eq!(ok.get::<_, i64>("one"), 1);
}

#[tokio::test]
async fn garbage_closes_only_that_connection() {
    let client = connect().await;
    let mut stream = tokio::net::TcpStream::connect(server().addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"\x00\x00\x00\x08garbage that is no startup packet at all")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "the server kept a garbage connection open");

    // A message claiming to be 1 GiB long, after a valid startup.
    let (mut raw, _) = Raw::connect(&[("user", "tester")]).await;
    raw.send_bytes(&[b'Q', 0x40, 0, 0, 0]).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = raw.read().await {
            if message.tag == b'E' {
                continue;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "oversized message did not end the connection"
    );

    let ok = client.query_one("SELECT 1 AS one", &[]).await.unwrap();
    assert_eq!(ok.get::<_, i64>("one"), 1);
}

#[tokio::test]
async fn new_delta_commits_are_seen_without_a_restart() {
    let client = connect().await;
    let sql = format!("SELECT count(*) AS n, sum(n) AS total FROM {FRESHNESS_TABLE}");
    let before = client.query_one(&sql, &[]).await.unwrap();
    let (count, total): (i64, i64) = (before.get("n"), before.get("total"));
    append_delta_rows(&server().data_dir, FRESHNESS_TABLE, vec![10, 20]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = client.query_one(&sql, &[]).await.unwrap();
        if row.get::<_, i64>("n") == count + 2 {
            assert_eq!(row.get::<_, i64>("total"), total + 30);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new commit never became visible"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
