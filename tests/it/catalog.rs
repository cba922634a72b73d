//! Catalog emulation over the wire: pg_catalog, information_schema and the catalog
//! functions, answered locally from the routed tables, over the simple and the
//! extended protocol, plus the exact statements Grafana sends (shared/clients/grafana.sql).

use tokio_postgres::types::Type;

use crate::support::{connect, simple_rows, sqlstate};

async fn one(sql: &str) -> String {
    let client = connect().await;
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    simple_rows(&messages)[0][0].clone().unwrap_or_default()
}

/// Special registers keep the names Postgres gives them, however the catalog context
/// spells them inside (it calls `current_user` `session_user`).
#[tokio::test]
async fn special_registers_keep_their_postgres_names() {
    let client = connect().await;
    let rows = client
        .query(
            "SELECT current_user, session_user, current_schema, current_database()",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<&str> = rows[0].columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "current_user",
            "session_user",
            "current_schema",
            "current_database"
        ]
    );
    let values: Vec<String> = (0..4).map(|i| rows[0].get(i)).collect();
    assert_eq!(values, ["tester", "tester", "public", "switchyard"]);
}

#[tokio::test]
async fn catalog_functions_answer_from_the_session() {
    assert!(one("SELECT version()").await.starts_with("PostgreSQL 15.8"));
    assert_eq!(
        one("SELECT quote_ident('MixedCase')").await,
        "\"MixedCase\""
    );
    assert_eq!(one("SELECT quote_ident('user')").await, "\"user\"");
    assert_eq!(
        one("SELECT quote_ident('llm_requests')").await,
        "llm_requests"
    );
    assert_eq!(
        one("SELECT pg_size_pretty(CAST(10752 AS BIGINT))").await,
        "11 kB"
    );
    // A routed table's bytes live in its engine: unknown, not a made-up 0.
    assert_eq!(
        one("SELECT pg_table_size('llm_requests'::regclass) IS NULL").await,
        "t"
    );
    assert_eq!(
        one("SELECT current_setting('server_version_num')").await,
        "150008"
    );
    assert_eq!(one("SELECT current_database()").await, "switchyard");
    assert_eq!(one("SELECT current_schema()").await, "public");
    assert_eq!(one("SELECT current_user").await, "tester");
    assert_eq!(
        one("SELECT pg_catalog.format_type(1184, NULL)").await,
        "timestamp with time zone"
    );
    assert_eq!(
        one("SELECT quote_ident('Mixed Case')").await,
        "\"Mixed Case\""
    );

    let client = connect().await;
    client
        .simple_query("SET application_name = 'catalog-test'")
        .await
        .unwrap();
    let messages = client
        .simple_query("SELECT current_setting('application_name')")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&messages)[0][0].as_deref(),
        Some("catalog-test")
    );
    // pg_settings is the connection's own, too.
    let messages = client
        .simple_query(
            "SELECT setting FROM pg_catalog.pg_settings \
             WHERE name IN ('application_name', 'server_version_num') ORDER BY name",
        )
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&messages),
        vec![
            vec![Some("catalog-test".into())],
            vec![Some("150008".into())]
        ]
    );
}

#[tokio::test]
async fn pg_class_and_pg_attribute_list_the_routed_tables() {
    let client = connect().await;
    let tables = client
        .simple_query(
            "SELECT c.relname, n.nspname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1",
        )
        .await
        .unwrap();
    let names: Vec<String> = simple_rows(&tables)
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    // Other test modules may add tables of their own to the shared server.
    assert!(names.contains(&"llm_feedback".to_owned()), "{names:?}");
    assert!(names.contains(&"llm_requests".to_owned()), "{names:?}");

    // OIDs are stable from one query to the next (psql looks a table up, then
    // inlines its OID into the next queries).
    let oid = || async {
        let client = connect().await;
        let m = client
            .simple_query("SELECT oid FROM pg_catalog.pg_class WHERE relname = 'llm_requests'")
            .await
            .unwrap();
        simple_rows(&m)[0][0].clone().unwrap()
    };
    let first = oid().await;
    assert_eq!(first, oid().await);

    let columns = client
        .simple_query(&format!(
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) \
             FROM pg_catalog.pg_attribute a WHERE a.attrelid = {first} AND a.attnum > 0 \
             ORDER BY a.attnum"
        ))
        .await
        .unwrap();
    let columns = simple_rows(&columns);
    assert_eq!(
        columns[0],
        [
            Some("timestamp".into()),
            Some("timestamp with time zone".into())
        ]
    );
    assert!(columns.contains(&vec![
        Some("cost_usd".into()),
        Some("double precision".into())
    ]));
    assert!(columns.contains(&vec![Some("latency_ms".into()), Some("bigint".into())]));
}

/// Correlated subqueries in result columns (how pgAdmin, DBeaver and hand-written
/// queries name a table's schema) answer their rows, not NULL, over both protocols;
/// an unaliased one takes its column's name, as in Postgres.
#[tokio::test]
async fn correlated_subqueries_in_result_columns_answer() {
    let client = connect().await;
    let sql = "SELECT c.relname, (SELECT nspname FROM pg_catalog.pg_namespace n \
               WHERE n.oid = c.relnamespace), \
               (SELECT x.relname FROM pg_catalog.pg_class x WHERE x.oid = c.oid) AS same \
               FROM pg_catalog.pg_class c WHERE c.relname = 'llm_requests'";
    let messages = client.simple_query(sql).await.unwrap();
    assert_eq!(
        simple_rows(&messages)[0],
        [Some("llm_requests"), Some("public"), Some("llm_requests")].map(|v| v.map(str::to_owned))
    );
    let row = client.query_one(sql, &[]).await.unwrap();
    assert_eq!(row.columns()[1].name(), "nspname");
    assert_eq!(row.get::<_, &str>(1), "public");
    assert_eq!(row.get::<_, &str>("same"), "llm_requests");
}

#[tokio::test]
async fn regclass_casts_and_pg_operators_resolve() {
    let client = connect().await;
    let m = client
        .simple_query(
            "SELECT c.relname FROM pg_catalog.pg_class c \
             WHERE c.relname OPERATOR(pg_catalog.~) '^(llm_requests)$' COLLATE pg_catalog.default",
        )
        .await
        .unwrap();
    assert_eq!(simple_rows(&m), vec![vec![Some("llm_requests".into())]]);
    let m = client
        .simple_query(
            "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'llm_requests'::regclass",
        )
        .await
        .unwrap();
    assert_eq!(simple_rows(&m)[0][0].as_deref(), Some("20"));

    // Shown or turned into text, a regclass is the relation's name, as Postgres prints it.
    let row = client
        .query_one(
            "SELECT 'llm_requests'::regclass, c.oid::regclass, c.oid::regclass::text AS t, \
             'llm_requests'::regclass::oid = c.oid AS same \
             FROM pg_catalog.pg_class c WHERE c.oid = 'llm_requests'::regclass",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["regclass", "oid", "t", "same"]);
    assert_eq!(row.get::<_, &str>(0), "llm_requests");
    assert_eq!(row.get::<_, &str>(1), "llm_requests");
    assert_eq!(row.get::<_, &str>(2), "llm_requests");
    assert!(row.get::<_, bool>(3));
}

#[tokio::test]
async fn information_schema_spells_postgres_types() {
    let client = connect().await;
    let m = client
        .simple_query(
            "SELECT column_name, data_type, udt_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'llm_feedback' ORDER BY ordinal_position",
        )
        .await
        .unwrap();
    let text = |s: &str| Some(s.to_owned());
    assert_eq!(
        simple_rows(&m),
        vec![
            vec![text("request_id"), text("text"), text("text")],
            vec![text("metric"), text("text"), text("text")],
            vec![text("value"), text("double precision"), text("float8")],
            vec![
                text("created_at"),
                text("timestamp with time zone"),
                text("timestamptz")
            ],
        ]
    );
    let m = client
        .simple_query(
            "SELECT table_name, table_type FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY 1",
        )
        .await
        .unwrap();
    assert!(simple_rows(&m).contains(&vec![text("llm_requests"), text("BASE TABLE")]));
}

/// Every catalog statement of shared/clients/grafana.sql, over the simple protocol.
#[tokio::test]
async fn grafana_metadata_queries_answer() {
    let client = connect().await;
    // Health checks.
    client.simple_query("-- ping").await.unwrap();
    client.simple_query(";").await.unwrap();

    let m = client
        .simple_query("SELECT current_setting('server_version_num')::int/100 as version")
        .await
        .unwrap();
    assert_eq!(simple_rows(&m), vec![vec![Some("1500".into())]]);

    let m = client
        .simple_query("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        .await
        .unwrap();
    assert!(simple_rows(&m).is_empty());

    let show_tables = r#"SELECT
    CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1"#;
    let m = client.simple_query(show_tables).await.unwrap();
    // Tables on the search path come back unqualified.
    let tables = simple_rows(&m);
    assert!(
        tables.contains(&vec![Some("llm_feedback".into())]),
        "{tables:?}"
    );
    assert!(
        tables.contains(&vec![Some("llm_requests".into())]),
        "{tables:?}"
    );

    let get_schema = r#"SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('llm_feedback'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('llm_feedback'))[1]
          AND quote_ident(table_name) = (parse_ident('llm_feedback'))[2]
        ELSE quote_ident(table_name) = 'llm_feedback'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END"#;
    let m = client.simple_query(get_schema).await.unwrap();
    let columns = simple_rows(&m);
    assert_eq!(columns.len(), 4, "{columns:?}");
    assert!(columns.contains(&vec![
        Some("created_at".into()),
        Some("timestamp with time zone".into())
    ]));

    let schemas = r#"SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name"#;
    let m = client.simple_query(schemas).await.unwrap();
    assert_eq!(simple_rows(&m), vec![vec![Some("public".into())]]);

    let m = client
        .simple_query(
            "SELECT quote_ident(table_name) AS \"table\"\n      FROM information_schema.tables\n      WHERE quote_ident(table_schema) = 'public'\n      ORDER BY 1",
        )
        .await
        .unwrap();
    assert!(simple_rows(&m).contains(&vec![Some("llm_requests".into())]));
}

/// The schema resource handler's statements, as pgx sends them: named statement,
/// Describe, parameters, binary results.
#[tokio::test]
async fn grafana_schema_queries_over_the_extended_protocol() {
    let client = connect().await;
    let schemas = client
        .query(
            "SELECT schema_name FROM information_schema.schemata\n\t\t WHERE schema_name NOT LIKE 'pg_%' AND schema_name != 'information_schema'\n\t\t ORDER BY schema_name",
            &[],
        )
        .await
        .unwrap();
    let schemas: Vec<String> = schemas.iter().map(|r| r.get(0)).collect();
    assert_eq!(schemas, ["public"]);

    let statement = client
        .prepare(
            "SELECT table_name FROM information_schema.tables\n\t\t WHERE table_schema = $1 AND table_type IN ('BASE TABLE', 'VIEW')\n\t\t ORDER BY table_name",
        )
        .await
        .unwrap();
    assert_eq!(statement.params(), [Type::TEXT]);
    let tables = client.query(&statement, &[&"public"]).await.unwrap();
    let tables: Vec<String> = tables.iter().map(|r| r.get(0)).collect();
    assert!(tables.contains(&"llm_feedback".to_owned()), "{tables:?}");
    assert!(tables.contains(&"llm_requests".to_owned()), "{tables:?}");

    let statement = client
        .prepare(
            "SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale\n\t\t FROM information_schema.columns\n\t\t WHERE table_schema = $1 AND table_name = $2\n\t\t ORDER BY ordinal_position",
        )
        .await
        .unwrap();
    let columns = client
        .query(&statement, &[&"public", &"llm_feedback"])
        .await
        .unwrap();
    assert_eq!(columns.len(), 4);
    let value: (String, String, Option<i32>) =
        (columns[2].get(0), columns[2].get(1), columns[2].get(3));
    assert_eq!(value, ("value".into(), "double precision".into(), Some(53)));

    let version = client
        .query_one(
            "SELECT current_setting('server_version_num')::int/100 as version",
            &[],
        )
        .await
        .unwrap();
    // Postgres says int4; DataFusion widens `int / 100` to int8. Grafana takes either.
    assert_eq!(version.get::<_, i64>(0), 1500);
}

#[tokio::test]
async fn an_unknown_catalog_query_is_a_clear_error_not_a_hang() {
    let client = connect().await;
    let error = client
        .simple_query("SELECT pg_catalog.no_such_function(1) FROM pg_catalog.pg_class")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "0A000");
    let message = error.as_db_error().unwrap().message().to_owned();
    assert!(message.contains("catalog"), "{message}");
    // The connection is still usable.
    assert_eq!(
        simple_rows(
            &client
                .simple_query("SELECT current_schema()")
                .await
                .unwrap()
        ),
        vec![vec![Some("public".into())]]
    );

    let error = client
        .query(
            "SELECT * FROM pg_catalog.pg_class c JOIN llm_requests r ON true",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "0A000");
    let message = error.as_db_error().unwrap().message().to_owned();
    assert!(message.contains("llm_requests"), "{message}");
}

#[tokio::test]
async fn catalog_queries_mix_with_session_statements() {
    let client = connect().await;
    let m = client
        .simple_query(
            "SET search_path = public; SELECT current_setting('search_path'); SHOW search_path",
        )
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&m),
        vec![vec![Some("public".into())], vec![Some("public".into())]]
    );
}

/// Grafana's macro-expanded panel queries (shared/clients/grafana.sql, on the demo
/// table) over the simple protocol and as pgx sends them (named statement, Describe,
/// binary results): the types Grafana turns into a time series.
#[tokio::test]
async fn grafana_time_series_queries_return_series_types() {
    let client = connect().await;
    let series = "SELECT\n  floor(extract(epoch from \"timestamp\")/300)*300 AS \"time\",\n  provider AS metric,\n  avg(latency_ms) AS \"value\"\nFROM llm_requests\nWHERE \"timestamp\" BETWEEN '2025-05-30T00:00:00Z' AND '2025-05-30T06:00:00Z'\nGROUP BY 1, 2\nORDER BY 1";
    let simple = simple_rows(&client.simple_query(series).await.unwrap());
    let statement = client.prepare(series).await.unwrap();
    let types: Vec<&Type> = statement.columns().iter().map(|c| c.type_()).collect();
    assert!(
        matches!(types[0], &Type::FLOAT8 | &Type::NUMERIC),
        "{types:?}"
    );
    assert_eq!(types[1], &Type::TEXT);
    assert!(
        matches!(types[2], &Type::FLOAT8 | &Type::NUMERIC),
        "{types:?}"
    );
    let binary = client.query(&statement, &[]).await.unwrap();
    assert_eq!(binary.len(), simple.len());
    assert!(!binary.is_empty());

    let points = "SELECT timestamp AS \"time\", cost_usd FROM llm_requests WHERE timestamp >= '2025-05-30T00:00:00Z' AND timestamp < '2025-05-30T06:00:00Z' ORDER BY 1";
    let statement = client.prepare(points).await.unwrap();
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["time", "cost_usd"]);
    assert_eq!(statement.columns()[0].type_(), &Type::TIMESTAMPTZ);
    assert_eq!(statement.columns()[1].type_(), &Type::FLOAT8);
    let rows = client.query(&statement, &[]).await.unwrap();
    assert!(!rows.is_empty());
}
