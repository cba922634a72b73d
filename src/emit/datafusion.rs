//! The DataFusion target (DataFusion 55, Postgres-like SQL): only where it differs from the
//! standard defaults, plus the table of catalogue functions it evaluates exactly as
//! Postgres does. A function missing from the table is rejected, never guessed.

use sqlparser::ast;

use super::{operand, FunctionSpelling, TargetDialect};
use crate::ir::DataType;

pub(super) struct DataFusion;

impl TargetDialect for DataFusion {
    fn name(&self) -> &'static str {
        "datafusion"
    }

    fn data_type(&self, ty: &DataType) -> Option<ast::DataType> {
        match ty {
            // DataFusion's SQL has no UUID type.
            DataType::Uuid => None,
            DataType::Array(element) if **element == DataType::Uuid => None,
            other => super::standard_data_type(other),
        }
    }

    fn function(&self, name: &str) -> Option<&'static FunctionSpelling> {
        FUNCTIONS
            .iter()
            .find(|(canonical, _)| *canonical == name)
            .map(|(_, spelling)| spelling)
    }
}

use FunctionSpelling::{Handler, Rename, Same};

/// Catalogue functions DataFusion computes as Postgres does, and how it spells them.
const FUNCTIONS: &[(&str, FunctionSpelling)] = &[
    ("count", Same),
    ("sum", Same),
    ("avg", Same),
    ("min", Same),
    ("max", Same),
    ("stddev", Same),
    ("stddev_samp", Same),
    ("stddev_pop", Same),
    ("variance", Rename("var_samp")),
    ("var_samp", Same),
    ("var_pop", Same),
    ("bool_and", Same),
    ("bool_or", Same),
    ("string_agg", Same),
    ("array_agg", Same),
    ("row_number", Same),
    ("rank", Same),
    ("dense_rank", Same),
    ("percent_rank", Same),
    ("cume_dist", Same),
    ("ntile", Same),
    ("lag", Same),
    ("lead", Same),
    ("first_value", Same),
    ("last_value", Same),
    ("nth_value", Same),
    ("abs", Same),
    ("ceil", Same),
    ("floor", Same),
    ("round", Same),
    ("trunc", Same),
    ("sqrt", Same),
    ("power", Same),
    ("ln", Same),
    ("log", Same),
    ("exp", Same),
    ("mod", Handler(modulo)),
    ("random", Same),
    ("greatest", Same),
    ("least", Same),
    ("coalesce", Same),
    ("nullif", Same),
    ("lower", Same),
    ("upper", Same),
    ("length", Same),
    ("char_length", Same),
    ("character_length", Same),
    ("octet_length", Same),
    ("substr", Same),
    ("substring", Same),
    ("btrim", Same),
    ("ltrim", Same),
    ("rtrim", Same),
    ("replace", Same),
    ("concat", Same),
    ("concat_ws", Same),
    ("split_part", Same),
    ("starts_with", Same),
    ("strpos", Same),
    ("left", Same),
    ("right", Same),
    ("lpad", Same),
    ("rpad", Same),
    ("md5", Same),
    ("regexp_replace", Same),
    ("regexp_match", Same),
    ("date_trunc", Same),
    ("date_part", Same),
    ("to_timestamp", Handler(to_timestamp)),
    ("now", Same),
    ("current_date", Same),
    ("current_timestamp", Same),
    ("version", Same),
];

/// DataFusion has no `mod()`; `%` means the same for every numeric type.
fn modulo(args: Vec<ast::Expr>) -> Result<ast::Expr, String> {
    let [left, right] = <[ast::Expr; 2]>::try_from(args).map_err(|_| "mod arity")?;
    Ok(ast::Expr::Nested(Box::new(ast::Expr::BinaryOp {
        left: Box::new(operand(left)),
        op: ast::BinaryOperator::Modulo,
        right: Box::new(operand(right)),
    })))
}

/// `to_timestamp(x)` agrees; the two-argument form takes Postgres format patterns
/// (`YYYY-MM-DD`) where DataFusion takes chrono's (`%Y-%m-%d`).
fn to_timestamp(args: Vec<ast::Expr>) -> Result<ast::Expr, String> {
    if args.len() != 1 {
        return Err("to_timestamp with a format argument".to_string());
    }
    let arg =
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(args.into_iter().next().unwrap()));
    Ok(ast::Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new("to_timestamp")]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![arg],
            clauses: Vec::new(),
        }),
        within_group: Vec::new(),
        filter: None,
        null_treatment: None,
        over: None,
    }))
}

#[cfg(test)]
mod tests {
    use crate::emit::{emit, Target};
    use crate::error::Error;
    use crate::ir::functions::FUNCTIONS as CATALOGUE;

    fn translate(sql: &str) -> Result<String, Error> {
        let statements = crate::sql::parse(sql)?;
        let sqlparser::ast::Statement::Query(query) = &statements[0] else {
            panic!("not a query: {sql}")
        };
        emit(&crate::sql::lower_query(query)?, Target::DataFusion)
    }

    /// Input SQL → expected DataFusion SQL.
    const CASES: &[(&str, &str)] = &[
        // Projection, names and aliases.
        ("SELECT 1", r#"SELECT 1 AS "?column?""#),
        ("SELECT version()", r#"SELECT version() AS "version""#),
        ("SELECT a, b AS B2, Mixed FROM t", r#"SELECT "a", "b" AS "B2", "Mixed" FROM "t""#),
        ("SELECT *, t.* FROM public.t", r#"SELECT *, "t".* FROM "t""#),
        (
            "SELECT count(*), count(x), count(DISTINCT y) FROM t",
            r#"SELECT count(*) AS "count", count("x") AS "count_1", count(DISTINCT "y") AS "count_2" FROM "t""#,
        ),
        ("SELECT a, a FROM t", r#"SELECT "a", "a" AS "a_1" FROM "t""#),
        ("SELECT count() FROM t", r#"SELECT count(*) AS "count" FROM "t""#),
        // FROM, joins, schemas.
        (
            "SELECT x.a FROM logs.Events AS x JOIN t y ON x.id = y.id LEFT JOIN u USING (id)",
            r#"SELECT "x"."a" FROM "logs"."Events" AS "x" INNER JOIN "t" AS "y" ON "x"."id" = "y"."id" LEFT JOIN "u" USING("id")"#,
        ),
        (
            "SELECT 1 FROM a RIGHT JOIN b ON true FULL OUTER JOIN c ON false CROSS JOIN d, e",
            r#"SELECT 1 AS "?column?" FROM "a" RIGHT JOIN "b" ON true FULL JOIN "c" ON false CROSS JOIN "d", "e""#,
        ),
        (
            "SELECT 1 FROM a JOIN (b JOIN c ON b.x = c.x) ON a.x = b.x",
            r#"SELECT 1 AS "?column?" FROM "a" INNER JOIN ("b" INNER JOIN "c" ON "b"."x" = "c"."x") ON "a"."x" = "b"."x""#,
        ),
        (
            "SELECT s.n FROM (SELECT count(*) AS n FROM t) AS s (n)",
            r#"SELECT "s"."n" FROM (SELECT count(*) AS "n" FROM "t") AS "s" ("n")"#,
        ),
        // Clauses.
        (
            "SELECT DISTINCT a FROM t WHERE b > 1 GROUP BY a, 2 HAVING count(*) > 1 \
             ORDER BY a DESC NULLS LAST, 2 LIMIT 10 OFFSET 20",
            r#"SELECT DISTINCT "a" FROM "t" WHERE "b" > 1 GROUP BY "a", 2 HAVING count(*) > 1 ORDER BY "a" DESC NULLS LAST, 2 LIMIT 10 OFFSET 20"#,
        ),
        (
            "SELECT date_trunc('hour', ts), count(*) FROM t GROUP BY 1 ORDER BY count DESC",
            r#"SELECT date_trunc('hour', "ts") AS "date_trunc", count(*) AS "count" FROM "t" GROUP BY 1 ORDER BY "count" DESC"#,
        ),
        (
            "SELECT a FROM t FETCH FIRST 5 ROWS ONLY",
            r#"SELECT "a" FROM "t" LIMIT 5"#,
        ),
        (
            "WITH c (k) AS (SELECT a FROM t), d AS (SELECT k FROM c) SELECT k FROM d",
            r#"WITH "c" ("k") AS (SELECT "a" FROM "t"), "d" AS (SELECT "k" FROM "c") SELECT "k" FROM "d""#,
        ),
        (
            "SELECT a FROM t UNION SELECT b FROM u UNION ALL (SELECT c FROM v ORDER BY c LIMIT 1) \
             INTERSECT SELECT d FROM w EXCEPT SELECT e FROM x",
            r#"SELECT "a" FROM "t" UNION SELECT "b" FROM "u" UNION ALL (SELECT "c" FROM "v" ORDER BY "c" LIMIT 1) INTERSECT SELECT "d" FROM "w" EXCEPT SELECT "e" FROM "x""#,
        ),
        // Subqueries.
        (
            "SELECT (SELECT max(v) FROM u) FROM t WHERE a IN (SELECT a FROM u) \
             AND NOT EXISTS (SELECT 1 FROM v WHERE v.a = t.a)",
            r#"SELECT (SELECT max("v") AS "max" FROM "u") AS "max" FROM "t" WHERE ("a" IN (SELECT "a" FROM "u")) AND (NOT EXISTS (SELECT 1 AS "?column?" FROM "v" WHERE "v"."a" = "t"."a"))"#,
        ),
        // Operators and predicates; compound operands are parenthesised.
        (
            "SELECT a + b * c, (a + b) * c, -a, - -5, NOT a AND b OR c, 'x' || s FROM t",
            r#"SELECT "a" + ("b" * "c") AS "?column?", ("a" + "b") * "c" AS "?column?_1", -"a" AS "?column?_2", -(-5) AS "?column?_3", ((NOT "a") AND "b") OR "c" AS "?column?_4", 'x' || "s" AS "?column?_5" FROM "t""#,
        ),
        (
            "SELECT 1 FROM t WHERE a LIKE 'x%' AND b NOT ILIKE $1 AND c IS NULL AND d IS NOT NULL \
             AND e IS TRUE AND f IS NOT FALSE AND g IS DISTINCT FROM h AND i IS NOT DISTINCT FROM j",
            r#"SELECT 1 AS "?column?" FROM "t" WHERE ((((((("a" LIKE 'x%') AND ("b" NOT ILIKE $1)) AND ("c" IS NULL)) AND ("d" IS NOT NULL)) AND ("e" IS TRUE)) AND ("f" IS NOT FALSE)) AND ("g" IS DISTINCT FROM "h")) AND ("i" IS NOT DISTINCT FROM "j")"#,
        ),
        (
            "SELECT 1 FROM t WHERE a BETWEEN 1 AND 2 OR b NOT IN (1, 2) OR c = ANY(ARRAY[1, 2]) OR d ~* '^x'",
            r#"SELECT 1 AS "?column?" FROM "t" WHERE ((("a" BETWEEN 1 AND 2) OR ("b" NOT IN (1, 2))) OR ("c" = ANY(ARRAY[1, 2]))) OR ("d" ~* '^x')"#,
        ),
        (
            "SELECT CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' ELSE 'zero' END, \
             CASE a WHEN 1 THEN 'one' END FROM t",
            r#"SELECT CASE WHEN "a" > 0 THEN 'pos' WHEN "a" < 0 THEN 'neg' ELSE 'zero' END AS "case", CASE "a" WHEN 1 THEN 'one' END AS "case_1" FROM "t""#,
        ),
        // Literals, casts, intervals, EXTRACT, arrays.
        (
            "SELECT 1.50, 9223372036854775808, -9223372036854775808, NULL, true, 'it''s', E'a\\nb'",
            "SELECT 1.50 AS \"?column?\", 9223372036854775808 AS \"?column?_1\", -9223372036854775808 AS \"?column?_2\", NULL AS \"?column?_3\", true AS \"?column?_4\", 'it''s' AS \"?column?_5\", 'a\nb' AS \"?column?_6\"",
        ),
        (
            "SELECT a::text, CAST(b AS varchar), c::timestamptz, d::numeric(10,2), e::double precision, f::text[] FROM t",
            r#"SELECT CAST("a" AS TEXT) AS "a", CAST("b" AS TEXT) AS "b", CAST("c" AS TIMESTAMP WITH TIME ZONE) AS "c", CAST("d" AS NUMERIC(10,2)) AS "d", CAST("e" AS DOUBLE PRECISION) AS "e", CAST("f" AS TEXT[]) AS "f" FROM "t""#,
        ),
        (
            "SELECT TIMESTAMP '2024-05-01 00:00:00', DATE '2024-05-01' FROM t \
             WHERE ts > now() - interval '1 hour' AND ts < now() + INTERVAL 2 DAY",
            r#"SELECT CAST('2024-05-01 00:00:00' AS TIMESTAMP) AS "timestamp", CAST('2024-05-01' AS DATE) AS "date" FROM "t" WHERE ("ts" > (now() - CAST('1 hour' AS INTERVAL))) AND ("ts" < (now() + CAST('2 day' AS INTERVAL)))"#,
        ),
        (
            "SELECT extract(epoch from ts), EXTRACT(HOUR FROM ts), ARRAY[1, 2][1], tags[2] FROM t",
            r#"SELECT EXTRACT(epoch FROM "ts") AS "extract", EXTRACT(hour FROM "ts") AS "extract_1", ARRAY[1, 2][1] AS "array", "tags"[2] AS "tags" FROM "t""#,
        ),
        // Functions: special syntax, renames, handlers, keyword functions.
        (
            "SELECT substring(s FROM 2 FOR 3), substr(s, 2), trim(s), trim(LEADING 'x' FROM s), \
             position('a' IN s), ceil(x), floor(x), current_date, current_timestamp FROM t",
            r#"SELECT substring("s", 2, 3) AS "substring", substr("s", 2) AS "substr", btrim("s") AS "btrim", ltrim("s", 'x') AS "ltrim", strpos("s", 'a') AS "strpos", ceil("x") AS "ceil", floor("x") AS "floor", current_date AS "current_date", current_timestamp AS "current_timestamp" FROM "t""#,
        ),
        (
            "SELECT variance(x), mod(a, 3) * 2, 2 * mod(a, 3), to_timestamp(ts) FROM t",
            r#"SELECT var_samp("x") AS "variance", ("a" % 3) * 2 AS "?column?", 2 * ("a" % 3) AS "?column?_1", to_timestamp("ts") AS "to_timestamp" FROM "t""#,
        ),
        // Aggregates and windows.
        (
            "SELECT sum(x) FILTER (WHERE y > 0), string_agg(s, ',' ORDER BY s DESC) FROM t",
            r#"SELECT sum("x") FILTER (WHERE "y" > 0) AS "sum", string_agg("s", ',' ORDER BY "s" DESC) AS "string_agg" FROM "t""#,
        ),
        (
            "SELECT row_number() OVER (PARTITION BY a ORDER BY b), \
             sum(x) OVER (ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), \
             lag(x, 1) OVER (ORDER BY ts RANGE UNBOUNDED PRECEDING) FROM t",
            r#"SELECT row_number() OVER (PARTITION BY "a" ORDER BY "b") AS "row_number", sum("x") OVER (ORDER BY "ts" ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS "sum", lag("x", 1) OVER (ORDER BY "ts" RANGE UNBOUNDED PRECEDING) AS "lag" FROM "t""#,
        ),
        // Identifiers keep their case and have embedded quotes doubled.
        (
            r#"SELECT "Odd""Name", `backtick` FROM "My Table""#,
            r#"SELECT "Odd""Name", "backtick" FROM "My Table""#,
        ),
    ];

    #[test]
    fn translates_to_datafusion() {
        let failures: Vec<String> = CASES
            .iter()
            .filter_map(|(sql, expected)| match translate(sql) {
                Ok(actual) if actual == *expected => None,
                Ok(actual) => Some(format!(
                    "{sql}\n  expected: {expected}\n  actual:   {actual}"
                )),
                Err(e) => Some(format!("{sql}\n  error: {e}")),
            })
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    }

    /// Input SQL → every construct named in the single 0A000 error.
    const UNSUPPORTED: &[(&str, &[&str])] = &[
        (
            "SELECT foo(x), bar() FROM t",
            &["function foo", "function bar"],
        ),
        ("SELECT countIf(x > 1) FROM t", &["function countIf"]),
        (
            "SELECT * FROM t, LATERAL (SELECT 1) s",
            &["LATERAL subquery"],
        ),
        ("SELECT DISTINCT ON (a) a FROM t", &["DISTINCT ON"]),
        // PREWHERE merges into WHERE and max_threads changes no result: both go.
        (
            "SELECT count() FROM t FINAL PREWHERE a = 1 LIMIT 1 BY b SETTINGS max_threads = 1, join_use_nulls = 1",
            &[
                "FINAL on t (no dedup rule configured)",
                "SETTINGS join_use_nulls",
            ],
        ),
        (
            "SELECT quantile(0.5)(x) FROM t",
            &["quantile() with parameters (…)(…)"],
        ),
        ("SELECT a::uuid FROM t", &["type uuid"]),
        ("SELECT a::varchar(3) FROM t", &["type VARCHAR(3)"]),
        (
            "SELECT to_timestamp(s, 'YYYY') FROM t",
            &["to_timestamp with a format argument"],
        ),
        (
            "SELECT row_number() FROM t",
            &["window function row_number without OVER"],
        ),
        (
            "SELECT lower(s) OVER () FROM t",
            &["OVER on non-window function lower"],
        ),
        (
            "SELECT sum(x) OVER w FROM t WINDOW w AS (ORDER BY y)",
            &["WINDOW clause", "named window w"],
        ),
        ("SELECT * FROM t NATURAL JOIN u", &["NATURAL JOIN"]),
        ("SELECT * FROM (VALUES (1)) v", &["VALUES"]),
        (
            "SELECT x = ANY(SELECT y FROM u) FROM t",
            &["ANY (subquery)"],
        ),
        (
            "SELECT a FROM t WHERE s LIKE 'a!%' ESCAPE '!'",
            &["LIKE … ESCAPE"],
        ),
        ("SELECT a FROM t GROUP BY ROLLUP (a)", &["ROLLUP (a)"]),
        (
            "SELECT ts AT TIME ZONE 'UTC', (a, b) FROM t",
            &["AT TIME ZONE", "tuple"],
        ),
        ("SELECT a FROM t FOR UPDATE", &["FOR UPDATE/SHARE"]),
        ("SELECT a[1:2] FROM t", &["array slice"]),
        ("SELECT a & b FROM t", &["operator &"]),
        ("SELECT ? FROM t", &["placeholder ?"]),
        ("SELECT * EXCEPT (a) FROM t", &["* EXCEPT (a)"]),
    ];

    #[test]
    fn rejects_what_datafusion_cannot_express() {
        for (sql, expected) in UNSUPPORTED {
            match translate(sql) {
                Err(Error::Unsupported {
                    constructs,
                    backend,
                }) => {
                    assert_eq!(backend, "datafusion");
                    assert_eq!(constructs, *expected, "\n  input: {sql}");
                }
                other => panic!("{sql}: expected unsupported, got {other:?}"),
            }
        }
    }

    #[test]
    fn hard_errors_for_statements_wrong_everywhere() {
        let cases = [
            ("SELECT lower(a, b) FROM t", "42883"),
            ("SELECT sum(*) FROM t", "42883"),
            ("SELECT $0", "22023"),
        ];
        for (sql, sqlstate) in cases {
            let err = translate(sql).unwrap_err();
            assert_eq!(err.sqlstate(), sqlstate, "{sql}: {err}");
        }
    }

    #[test]
    fn every_catalogue_function_has_a_datafusion_spelling() {
        for def in CATALOGUE {
            assert!(
                super::FUNCTIONS.iter().any(|(name, _)| *name == def.name),
                "{} has no DataFusion entry",
                def.name
            );
        }
        for (name, _) in super::FUNCTIONS {
            assert!(
                CATALOGUE.iter().any(|def| def.name == *name),
                "{name} is not in the catalogue"
            );
        }
    }

    #[test]
    fn bound_parameters_print_as_literals() {
        use crate::ir::{DataType, Literal};
        let statements = crate::sql::parse(
            "SELECT a FROM t WHERE b = $1 AND c > $2 AND d < $3 AND e = $4 LIMIT $5",
        )
        .unwrap();
        let sqlparser::ast::Statement::Query(query) = &statements[0] else {
            unreachable!()
        };
        let query = crate::sql::lower_query(query).unwrap();
        assert_eq!(
            emit(&query, Target::DataFusion).unwrap(),
            r#"SELECT "a" FROM "t" WHERE ((("b" = $1) AND ("c" > $2)) AND ("d" < $3)) AND ("e" = $4) LIMIT $5"#
        );
        let bound = query
            .bind(&[
                Literal::String("o'k".into()),
                Literal::Typed {
                    value: "2024-05-01T00:00:00Z".into(),
                    ty: DataType::TimestampTz,
                },
                Literal::Float(-1.5),
                Literal::Float(f64::NAN),
                Literal::Int(10),
            ])
            .unwrap();
        assert_eq!(
            emit(&bound, Target::DataFusion).unwrap(),
            r#"SELECT "a" FROM "t" WHERE ((("b" = 'o''k') AND ("c" > CAST('2024-05-01T00:00:00Z' AS TIMESTAMP WITH TIME ZONE))) AND ("d" < (-1.5))) AND ("e" = CAST('NaN' AS DOUBLE PRECISION)) LIMIT 10"#
        );
    }

    /// The emitted SQL must plan and run in DataFusion 55 itself, on a small schema, with
    /// result columns named as Postgres would name them.
    mod against_datafusion {
        use datafusion::arrow::util::display::array_value_to_string;
        use datafusion::prelude::SessionContext;

        use super::translate;

        const SETUP: &[&str] = &[
            "CREATE TABLE t (a BIGINT, b BIGINT, s VARCHAR, ts TIMESTAMP, x DOUBLE, \
             flag BOOLEAN, tags BIGINT[], \"Mixed\" BIGINT)",
            "INSERT INTO t VALUES (1, 2, 'abc', TIMESTAMP '2024-05-01 10:00:00', 2.5, true, \
             [1, 2, 3], 7)",
            "CREATE TABLE u (a BIGINT, v DOUBLE)",
            "INSERT INTO u VALUES (1, 1.5)",
        ];

        /// Client SQL (ClickHouse- or Postgres-flavoured) using every supported construct
        /// and every catalogue function at least once.
        const QUERIES: &[&str] = &[
            "SELECT 1",
            "SELECT version()",
            "SELECT a, b AS B2, \"Mixed\" FROM t",
            "SELECT count(*), count(a), count(DISTINCT b), count() FROM t",
            "SELECT a, a, t.a FROM t",
            "SELECT t.a, u.v FROM public.t JOIN u ON t.a = u.a LEFT JOIN u AS u2 ON u2.a = t.a",
            "SELECT a, v FROM t JOIN u USING (a)",
            "SELECT 1 FROM t RIGHT JOIN u ON true FULL OUTER JOIN u u2 ON false CROSS JOIN u u3",
            "SELECT t.a FROM t JOIN (u JOIN u AS u2 ON u.a = u2.a) ON t.a = u.a",
            "SELECT s2.n FROM (SELECT count(*) AS n FROM t) AS s2 (n)",
            "SELECT a, b, count(*) FROM t WHERE b > 1 GROUP BY a, 2 HAVING count(*) > 0 \
             ORDER BY a DESC NULLS LAST, 2 LIMIT 10 OFFSET 0",
            "SELECT date_trunc('hour', ts), count(*) FROM t GROUP BY 1 ORDER BY count DESC",
            "SELECT a + 1 AS y FROM t ORDER BY y",
            "SELECT a + 1, lower(s) FROM t ORDER BY 1, \"lower\"",
            "SELECT DISTINCT a FROM t",
            "SELECT a FROM t FETCH FIRST 5 ROWS ONLY",
            "WITH c (k) AS (SELECT a FROM t), d AS (SELECT k FROM c) SELECT k FROM d",
            "SELECT a FROM t UNION SELECT a FROM u UNION ALL (SELECT a FROM t ORDER BY a LIMIT 1) \
             INTERSECT SELECT a FROM u EXCEPT SELECT b FROM t",
            "SELECT (SELECT max(v) FROM u) FROM t WHERE a IN (SELECT a FROM u) \
             AND NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.b)",
            "SELECT a + b * 2, (a + b) * 2, -a, - -5, NOT flag AND flag OR flag, 'x' || s, \
             a % 3, a / 2 FROM t",
            "SELECT 1 FROM t WHERE s LIKE 'a%' AND s NOT ILIKE 'y' AND a IS NOT NULL \
             AND b IS NOT NULL AND flag IS TRUE AND flag IS NOT FALSE \
             AND a IS DISTINCT FROM b AND a IS NOT DISTINCT FROM a AND x IS NULL IS FALSE",
            "SELECT 1 FROM t WHERE a BETWEEN 1 AND 2 OR b NOT IN (1, 2) OR a = ANY(ARRAY[1, 2]) \
             OR s ~* '^x' OR s !~ 'y' OR s ~ 'a' OR s !~* 'b'",
            "SELECT CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' ELSE 'zero' END, \
             CASE a WHEN 1 THEN 'one' END FROM t",
            "SELECT 1.50, -9223372036854775808, NULL, true, 'it''s', E'a\\nb', $$dollar$$",
            "SELECT a::int, CAST(b AS varchar), ts::timestamptz, x::numeric(10,2), \
             a::double precision, CAST(a AS smallint), a::real, '1'::bigint, 'true'::boolean, \
             '2024-01-01'::date, s::bytea, CAST(tags AS text[]) FROM t",
            "SELECT CAST(x AS Float64), a::Nullable(Int64), CAST(tags AS Array(String)) FROM t",
            "SELECT TIMESTAMP '2024-05-01 00:00:00', DATE '2024-05-01' FROM t \
             WHERE ts > TIMESTAMP '2024-05-01 10:00:00' - interval '1 hour' \
             AND ts < TIMESTAMP '2024-05-01' + INTERVAL 2 DAY AND ts > now() - INTERVAL '1' YEAR",
            "SELECT extract(epoch from ts), EXTRACT(HOUR FROM ts), EXTRACT(dow FROM ts), \
             ARRAY[1, 2][1], tags[2] FROM t",
            "SELECT sum(x) FILTER (WHERE a > 0), string_agg(s, ',' ORDER BY s DESC), array_agg(a), \
             bool_and(flag), bool_or(flag), avg(x), min(a), max(a), stddev(x), stddev_samp(x), \
             stddev_pop(x), variance(x), var_samp(x), var_pop(x), sum(DISTINCT a) FROM t",
            "SELECT row_number() OVER (PARTITION BY a ORDER BY b), rank() OVER (ORDER BY a), \
             dense_rank() OVER (ORDER BY a), percent_rank() OVER (ORDER BY a), \
             cume_dist() OVER (ORDER BY a), ntile(4) OVER (ORDER BY a), \
             lag(x, 1) OVER (ORDER BY ts), lead(x) OVER (ORDER BY ts), \
             first_value(x) OVER (ORDER BY ts), \
             last_value(x) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), \
             nth_value(x, 1) OVER (ORDER BY ts), \
             sum(x) OVER (ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), \
             avg(x) OVER (ORDER BY a RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING), \
             count(*) OVER (ORDER BY a GROUPS UNBOUNDED PRECEDING) FROM t",
            "SELECT abs(x), ceil(x), floor(x), round(x), round(x, 2), trunc(x), trunc(x, 1), \
             sqrt(x), power(x, 2), ln(x), log(x), log(2, x), exp(x), mod(a, 3), random(), \
             greatest(a, b), least(a, b), coalesce(a, b, 0), nullif(a, b) FROM t",
            "SELECT lower(s), upper(s), length(s), char_length(s), character_length(s), \
             octet_length(s), substr(s, 2), substr(s, 2, 3), substring(s FROM 2 FOR 3), \
             substring(s, 2), trim(s), trim(LEADING 'x' FROM s), trim(TRAILING FROM s), ltrim(s), \
             rtrim(s, 'x'), btrim(s), replace(s, 'a', 'b'), concat(s, a), concat_ws('-', s, s), \
             split_part(s, ',', 1), starts_with(s, 'a'), strpos(s, 'a'), position('a' IN s), \
             left(s, 2), right(s, 2), lpad(s, 5), lpad(s, 5, '*'), rpad(s, 5), rpad(s, 5, '*'), \
             md5(s), regexp_replace(s, 'a', 'b'), regexp_replace(s, 'a', 'b', 'g'), \
             regexp_match(s, 'a(b)'), regexp_match(s, 'A', 'i') FROM t",
            "SELECT date_trunc('day', ts), date_part('hour', ts), to_timestamp(a), now(), \
             current_date, current_timestamp FROM t",
        ];

        async fn context() -> SessionContext {
            let ctx = SessionContext::new();
            for sql in SETUP {
                ctx.sql(sql).await.unwrap().collect().await.unwrap();
            }
            ctx
        }

        #[tokio::test]
        async fn emitted_sql_runs_in_datafusion() {
            let ctx = context().await;
            let mut failures = Vec::new();
            for sql in QUERIES {
                let emitted = match translate(sql) {
                    Ok(emitted) => emitted,
                    Err(e) => {
                        failures.push(format!("{sql}\n  translate: {e}"));
                        continue;
                    }
                };
                let frame = match ctx.sql(&emitted).await {
                    Ok(frame) => frame,
                    Err(e) => {
                        failures.push(format!("{sql}\n  emitted: {emitted}\n  plan: {e}"));
                        continue;
                    }
                };
                // Result columns carry the Postgres names (suffixed where duplicated).
                let statements = crate::sql::parse(sql).unwrap();
                let sqlparser::ast::Statement::Query(query) = &statements[0] else {
                    unreachable!()
                };
                let expected = crate::sql::lower_query(query)
                    .unwrap()
                    .output_names()
                    .unwrap();
                let actual: Vec<String> = frame
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let named_alike = expected.len() == actual.len()
                    && expected.iter().zip(&actual).all(|(pg, df)| {
                        df == pg
                            || df
                                .strip_prefix(pg.as_str())
                                .is_some_and(|s| s.starts_with('_'))
                    });
                if !named_alike {
                    failures.push(format!("{sql}\n  names: {actual:?}, expected {expected:?}"));
                }
                if let Err(e) = frame.collect().await {
                    failures.push(format!("{sql}\n  emitted: {emitted}\n  run: {e}"));
                }
            }
            assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
        }

        /// The injection trap: a literal must reach DataFusion as exactly the client's text.
        #[tokio::test]
        async fn string_literals_reach_datafusion_unchanged() {
            let ctx = SessionContext::new();
            let tricky = [
                "",
                "'",
                "''",
                "\\",
                "\\'",
                "a\\'b",
                "it's",
                "\n",
                "\r\n\t",
                "$$",
                "$x$ $x$",
                "é中文🙂",
                "\"",
                "--",
                "/*",
                "';DROP TABLE t;--",
                "\\\\''",
            ];
            for text in tricky {
                let query = crate::ir::Query {
                    with: None,
                    body: crate::ir::SetExpr::Select(Box::new(crate::ir::Select {
                        distinct: false,
                        projection: vec![crate::ir::SelectItem::Expr {
                            expr: crate::ir::Expr::Literal(crate::ir::Literal::String(
                                text.to_string(),
                            )),
                            alias: None,
                        }],
                        from: Vec::new(),
                        filter: None,
                        group_by: Vec::new(),
                        group_by_modifiers: Vec::new(),
                        having: None,
                    })),
                    order_by: Vec::new(),
                    limit: None,
                    offset: None,
                    unsupported: Vec::new(),
                    clickhouse: Default::default(),
                    flavor: Default::default(),
                    named_params: Vec::new(),
                };
                let sql = crate::emit::emit(&query, crate::emit::Target::DataFusion).unwrap();
                let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                let value = array_value_to_string(batches[0].column(0), 0).unwrap();
                assert_eq!(value, text, "{sql}");
            }
        }
    }
}
