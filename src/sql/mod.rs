//! Parsing client SQL (ClickHouse- or Postgres-flavoured) into sqlparser's AST, and lowering
//! queries into the IR. Nothing here knows about backends or the wire.

pub mod dialect;
mod lower;
pub mod raw;

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, PostgreSqlDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};
pub use crate::ir::Flavor;
pub use dialect::SwitchyardDialect;
pub use lower::{clickhouse_type_name, lower_query, lower_query_as};

/// The session's `switchyard.dialect` setting: a pinned flavour or `auto` detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DialectSetting {
    ClickHouse,
    Postgres,
    #[default]
    Auto,
}

impl DialectSetting {
    /// Reads the setting's value (`clickhouse`, `postgres`, `auto`; any case).
    pub fn from_setting(value: &str) -> Option<DialectSetting> {
        match value.trim().to_ascii_lowercase().as_str() {
            "clickhouse" => Some(DialectSetting::ClickHouse),
            "postgres" | "postgresql" => Some(DialectSetting::Postgres),
            "auto" => Some(DialectSetting::Auto),
            _ => None,
        }
    }
}

/// A parsed query string and the flavour it was read in (which lowering needs:
/// `lower_query_as`).
#[derive(Debug)]
pub struct Parsed {
    pub statements: Vec<Statement>,
    pub flavor: Flavor,
}

/// Parses a query string (possibly several statements; empty or comment-only gives none)
/// with automatic flavour detection; see `parse_with`.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    parse_with(sql, DialectSetting::Auto).map(|p| p.statements)
}

/// Parses a query string in the flavour `setting` pins, or (`Auto`) in the detected one
/// (`detect_flavor`). Under `Auto`, if the detected flavour fails to parse and the text
/// reads the same in both flavours (no backslash inside a string literal), the other
/// flavour is tried; if both fail, the error of the attempt that got further is reported.
/// A whole query string has one flavour: a client speaks one SQL.
pub fn parse_with(sql: &str, setting: DialectSetting) -> Result<Parsed> {
    let parsed = |flavor| parse_as(sql, flavor).map(|statements| Parsed { statements, flavor });
    let detection = match setting {
        DialectSetting::ClickHouse => return parsed(Flavor::ClickHouse),
        DialectSetting::Postgres => return parsed(Flavor::Postgres),
        DialectSetting::Auto => detect(sql),
    };
    let first = match parsed(detection.flavor) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    if detection.backslash_in_string {
        return Err(first);
    }
    let other = match detection.flavor {
        Flavor::ClickHouse => Flavor::Postgres,
        Flavor::Postgres => Flavor::ClickHouse,
    };
    parsed(other).map_err(|second| {
        let reach = |e: &Error| match e {
            Error::Syntax { position, .. } => position.unwrap_or(0),
            _ => 0,
        };
        if reach(&second) > reach(&first) {
            second
        } else {
            first
        }
    })
}

/// The flavour `auto` reads `sql` in.
///
/// The rule, from the tokens (read the Postgres way):
/// - Postgres markers: `$n` parameters, `::` casts, `E'…'` and `$$…$$` strings, the regex
///   operators `~ ~* !~ !~*`, `->>`;
/// - ClickHouse markers: `{name:Type}` parameters (`{`), the ternary `?`, the clauses
///   FINAL / PREWHERE / SETTINGS / FORMAT / SAMPLE, and calls of camelCase functions
///   (`countIf(`, `toStartOfHour(`) or of ClickHouse-only lower-case ones (`if(`, `any(`,
///   `uniq(`, `has(`, `empty(`, `match(`, `median(`, `quantile(`…);
/// - only ClickHouse markers → ClickHouse; only Postgres markers → Postgres;
/// - both → ClickHouse (which reads `::` casts too), unless a string literal holds a
///   backslash (the wire announces standard_conforming_strings = on, and misreading
///   `'C:\new'` as an escape would change the value);
/// - neither → Postgres: a Postgres client gets PostgreSQL's answers unless its SQL is
///   unmistakably ClickHouse's, or its session's `switchyard.dialect` pins ClickHouse
///   (as a configured database or user can).
///
/// Text that does not tokenize the Postgres way (e.g. `'it\'s'`) is ClickHouse.
pub fn detect_flavor(sql: &str) -> Flavor {
    detect(sql).flavor
}

struct Detection {
    flavor: Flavor,
    backslash_in_string: bool,
}

/// Why `setting` reads `sql` in the flavour it does, for `EXPLAIN TRANSLATE`.
pub fn flavor_reason(sql: &str, setting: DialectSetting) -> &'static str {
    match setting {
        DialectSetting::ClickHouse => "the session's dialect is clickhouse",
        DialectSetting::Postgres => "the session's dialect is postgres",
        DialectSetting::Auto => match detect(sql).flavor {
            Flavor::ClickHouse => "it has ClickHouse markers or string escapes",
            Flavor::Postgres => "it has Postgres markers, or no markers either way",
        },
    }
}

/// Lower-case function names only ClickHouse has.
const CLICKHOUSE_ONLY_FUNCTIONS: &[&str] = &[
    "if",
    "any",
    "anylast",
    "uniq",
    "has",
    "hasany",
    "empty",
    "notempty",
    "match",
    "median",
    "quantile",
    "quantiles",
    "arrayjoin",
    "grouparray",
    "topk",
    "tostring",
    "todate",
    "todatetime",
    "now64",
    "today",
    "yesterday",
    "multiif",
    "ifnull",
    "countif",
    "sumif",
    "avgif",
    "argmax",
    "argmin",
    "tuple",
    "tupleelement",
    "datediff",
    "date_diff",
];

fn detect(sql: &str) -> Detection {
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return Detection {
            flavor: Flavor::ClickHouse,
            backslash_in_string: true,
        };
    };
    let significant: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let (mut postgres, mut clickhouse, mut backslash) = (false, false, false);
    for (i, token) in significant.iter().enumerate() {
        let next = significant.get(i + 1);
        match token {
            Token::Placeholder(p) if p.starts_with('$') => postgres = true,
            Token::Placeholder(p) if p.starts_with('?') => clickhouse = true,
            Token::DoubleColon
            | Token::EscapedStringLiteral(_)
            | Token::DollarQuotedString(_)
            | Token::Tilde
            | Token::TildeAsterisk
            | Token::ExclamationMarkTilde
            | Token::ExclamationMarkTildeAsterisk
            | Token::LongArrow => postgres = true,
            // `{name:Type}` parameters; the ternary `c ? a : b`.
            Token::LBrace | Token::Question => clickhouse = true,
            Token::SingleQuotedString(s) if s.contains('\\') => backslash = true,
            Token::Word(w) => {
                let clause = matches!(
                    w.keyword,
                    Keyword::FINAL
                        | Keyword::PREWHERE
                        | Keyword::SETTINGS
                        | Keyword::FORMAT
                        | Keyword::SAMPLE
                );
                let called = next == Some(&&Token::LParen) && w.quote_style.is_none();
                let camel = w
                    .value
                    .as_bytes()
                    .windows(2)
                    .any(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase());
                let lower = w.value.to_ascii_lowercase();
                if clause
                    || (called && (camel || CLICKHOUSE_ONLY_FUNCTIONS.contains(&lower.as_str())))
                {
                    clickhouse = true;
                }
            }
            _ => {}
        }
    }
    let flavor = match (postgres, clickhouse) {
        (false, true) => Flavor::ClickHouse,
        // ClickHouse reads `::` casts too; a backslash in a string decides for Postgres.
        (true, true) if !backslash => Flavor::ClickHouse,
        _ => Flavor::Postgres,
    };
    Detection {
        flavor,
        backslash_in_string: backslash,
    }
}

/// Parses with one flavour only.
pub fn parse_as(sql: &str, flavor: Flavor) -> Result<Vec<Statement>> {
    if let Some((start, option)) = explain_option(sql) {
        // `EXPLAIN ROUTE q` is `EXPLAIN (ROUTE) q`; blanking the prefix keeps positions.
        let mut statements = parse_as(&format!("{}{}", " ".repeat(start), &sql[start..]), flavor)?;
        if let Some(first) = statements.first_mut() {
            *first = Statement::Explain {
                describe_alias: sqlparser::ast::DescribeAlias::Explain,
                analyze: false,
                verbose: false,
                query_plan: false,
                estimate: false,
                statement: Box::new(first.clone()),
                format: None,
                options: Some(vec![sqlparser::ast::UtilityOption {
                    name: sqlparser::ast::Ident::new(option),
                    arg: None,
                }]),
            };
        }
        return Ok(statements);
    }
    let dialect: &dyn Dialect = match flavor {
        Flavor::ClickHouse => &SwitchyardDialect::default(),
        Flavor::Postgres => &PostgreSqlDialect {},
    };
    let tokens = Tokenizer::new(dialect, sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| syntax_error(sql, e.into()))?;
    let tokens = match flavor {
        Flavor::ClickHouse => dialect::rewrite_tokens(tokens),
        Flavor::Postgres => tokens,
    };
    Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| syntax_error(sql, e))
}

/// The byte offset of the statement after a leading `EXPLAIN ROUTE` or
/// `EXPLAIN TRANSLATE`, and which of the two it is.
fn explain_option(sql: &str) -> Option<(usize, &'static str)> {
    ["ROUTE", "TRANSLATE"]
        .into_iter()
        .find_map(|option| explain_with(sql, option).map(|start| (start, option)))
}

/// The byte offset of the statement after a leading `EXPLAIN <option>`.
fn explain_with(sql: &str, option: &str) -> Option<usize> {
    let word = |text: &str, word: &str| -> Option<usize> {
        let rest = text.trim_start();
        let skipped = text.len() - rest.len();
        let head = rest.get(..word.len())?;
        let next = rest[word.len()..].chars().next()?;
        (head.eq_ignore_ascii_case(word) && next.is_whitespace()).then_some(skipped + word.len())
    };
    let after_explain = word(sql, "explain")?;
    let after_option = word(&sql[after_explain..], option)?;
    Some(after_explain + after_option)
}

/// Turns sqlparser's "… at Line: L, Column: C" message into a message plus a 1-based
/// character position, as Postgres reports it.
fn syntax_error(sql: &str, error: ParserError) -> Error {
    let message = match error {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => {
            return Error::Syntax {
                message: "statement is nested too deeply".to_string(),
                position: None,
            }
        }
    };
    let located = message.rsplit_once(" at Line: ").and_then(|(text, at)| {
        let (line, column) = at.split_once(", Column: ")?;
        Some((
            text,
            line.parse::<usize>().ok()?,
            column.parse::<usize>().ok()?,
        ))
    });
    match located {
        Some((text, line, column)) => Error::Syntax {
            message: text.to_string(),
            position: Some(position(sql, line, column)),
        },
        None => Error::Syntax {
            message,
            position: None,
        },
    }
}

/// The 1-based character offset of 1-based (line, column); sqlparser counts characters
/// and starts a new line after each `\n`.
fn position(sql: &str, line: usize, column: usize) -> usize {
    let before: usize = sql
        .split_inclusive('\n')
        .take(line - 1)
        .map(|l| l.chars().count())
        .sum();
    before + column
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_clickhouse_and_postgres_flavoured_statements() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("-- just a comment", 0),
            ("/* block */ ;", 0),
            ("SELECT 1; SELECT 2", 2),
            (
                "SELECT a FROM t WHERE b = $1 AND c::int > 2 AND d ILIKE 'x%'",
                1,
            ),
            (
                "SELECT now() - interval '1 hour', extract(epoch from ts) FROM t",
                1,
            ),
            (
                "SELECT date_trunc('hour', ts) FROM t WHERE x = ANY(ARRAY[1, 2])",
                1,
            ),
            ("SELECT count(*) FILTER (WHERE x > 1) FROM t", 1),
            (
                "SELECT count() FROM t FINAL PREWHERE x = 1 LIMIT 1 BY y SETTINGS a = 1",
                1,
            ),
            ("SET TIME ZONE 'UTC'", 1),
            ("SET search_path TO public", 1),
            ("SHOW search_path", 1),
            ("BEGIN; COMMIT; ROLLBACK", 3),
            (
                "SAVEPOINT s1; RELEASE SAVEPOINT s1; ROLLBACK TO SAVEPOINT s1",
                3,
            ),
        ];
        for (sql, count) in cases {
            let statements = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(statements.len(), *count, "{sql}");
        }
    }

    #[test]
    fn explain_route_wraps_the_statement() {
        for flavor in [Flavor::ClickHouse, Flavor::Postgres] {
            let statements = parse_as("  explain\n ROUTE SELECT 1 FROM t", flavor).unwrap();
            let Statement::Explain {
                options: Some(options),
                statement,
                ..
            } = &statements[0]
            else {
                panic!("{statements:?}");
            };
            assert_eq!(options[0].name.value, "ROUTE");
            assert_eq!(statement.to_string(), "SELECT 1 FROM t");
        }
        // Positions of errors stay those of the client's text.
        let Err(Error::Syntax { position, .. }) =
            parse_as("EXPLAIN ROUTE SELEC 1", Flavor::Postgres)
        else {
            panic!("parsed")
        };
        assert_eq!(position, Some(15));
        assert!(explain_option("EXPLAIN routes").is_none());
        assert_eq!(
            explain_option("explain translate SELECT 1"),
            Some((17, "TRANSLATE"))
        );
    }

    #[test]
    fn syntax_errors_carry_postgres_positions() {
        let cases: &[(&str, usize, &str)] = &[
            ("SELECT a FROM t WHERE a = = 1", 27, "found: ="),
            ("SELEC 1", 1, "SELEC"),
            ("SELECT a,\n  b c d FROM t", 17, "d"),
            ("SELECT 'unterminated", 8, "Unterminated string"),
            // Multi-byte characters count as one, like Postgres' character positions.
            ("SELECT 'é', ) FROM t", 13, ")"),
        ];
        for (sql, expected, fragment) in cases {
            let Err(Error::Syntax { message, position }) = parse(sql) else {
                panic!("{sql} parsed")
            };
            assert_eq!(position, Some(*expected), "{sql}: {message}");
            assert!(message.contains(fragment), "{sql}: {message}");
            assert!(!message.contains("Line:"), "{message}");
        }
    }

    #[test]
    fn postgres_flavour_reads_backslashes_literally() {
        let text = |flavor| {
            let statements = parse_as(r"SELECT 'a\nb'", flavor).unwrap();
            statements[0].to_string()
        };
        assert_eq!(text(Flavor::Postgres), r"SELECT 'a\nb'");
        assert_ne!(text(Flavor::ClickHouse), r"SELECT 'a\nb'");
    }
}

#[cfg(test)]
mod flavor_tests {
    use super::*;
    use crate::ir::{DataType, Expr, TableRef};

    #[test]
    fn auto_detection_follows_the_documented_rule() {
        let cases: &[(&str, Flavor)] = &[
            // Postgres markers.
            ("SELECT a FROM t WHERE b = $1", Flavor::Postgres),
            ("SELECT a::int FROM t", Flavor::Postgres),
            ("SELECT E'a\\nb'", Flavor::Postgres),
            ("SELECT $$x$$", Flavor::Postgres),
            ("SELECT 1 FROM t WHERE s ~* 'x'", Flavor::Postgres),
            ("SELECT j->>'k' FROM t", Flavor::Postgres),
            // ClickHouse markers.
            ("SELECT a FROM t WHERE b = {b:UInt32}", Flavor::ClickHouse),
            ("SELECT countIf(a > 1) FROM t", Flavor::ClickHouse),
            ("SELECT count() FROM t FINAL", Flavor::ClickHouse),
            ("SELECT if(a, 1, 2) FROM t", Flavor::ClickHouse),
            ("SELECT a ? 1 : 2 FROM t", Flavor::ClickHouse),
            (
                "SELECT a FROM t SETTINGS max_threads = 1",
                Flavor::ClickHouse,
            ),
            // Neither: Postgres.
            ("SELECT a, count(*) FROM t GROUP BY a", Flavor::Postgres),
            ("SELECT 'C:\\new' FROM t", Flavor::Postgres),
            // Both: the backslash rule again.
            ("SELECT toString(a::int) FROM t", Flavor::ClickHouse),
            ("SELECT toString(a::int), 'x\\y' FROM t", Flavor::Postgres),
            // Does not tokenize the Postgres way: ClickHouse escapes.
            ("SELECT 'it\\'s' FROM t", Flavor::ClickHouse),
        ];
        for (sql, expected) in cases {
            assert_eq!(detect_flavor(sql), *expected, "{sql}");
        }
    }

    #[test]
    fn the_setting_pins_the_flavour() {
        let value = |sql: &str, setting| {
            let parsed = parse_with(sql, setting).unwrap();
            (parsed.flavor, parsed.statements[0].to_string())
        };
        // A Postgres client's backslash is a plain character...
        assert_eq!(
            value(r"SELECT 'C:\new'", DialectSetting::Postgres),
            (Flavor::Postgres, r"SELECT 'C:\new'".to_string())
        );
        assert_eq!(
            value(r"SELECT 'C:\new'", DialectSetting::Auto).0,
            Flavor::Postgres
        );
        // ...and an escape in ClickHouse SQL.
        assert_eq!(
            value(r"SELECT 'C:\new'", DialectSetting::ClickHouse).0,
            Flavor::ClickHouse
        );
        assert_eq!(
            DialectSetting::from_setting("ClickHouse"),
            Some(DialectSetting::ClickHouse)
        );
        assert_eq!(DialectSetting::from_setting("mysql"), None);
    }

    fn lower_ch(sql: &str) -> crate::ir::Query {
        let parsed = parse_with(sql, DialectSetting::ClickHouse).unwrap();
        let Statement::Query(q) = &parsed.statements[0] else {
            panic!("{sql}")
        };
        lower_query_as(q, Flavor::ClickHouse).unwrap()
    }

    #[test]
    fn final_is_a_modifier_not_an_alias() {
        for (sql, final_modifier, alias) in [
            ("SELECT * FROM t FINAL", true, None),
            ("SELECT * FROM t final WHERE a = 1", true, None),
            ("SELECT * FROM t AS final", false, Some("final")),
            ("SELECT * FROM t \"FINAL\"", false, Some("FINAL")),
            ("SELECT * FROM t x", false, Some("x")),
            ("SELECT * FROM t x FINAL", true, Some("x")),
            ("SELECT * FROM t AS x FINAL WHERE a = 1", true, Some("x")),
            ("SELECT * FROM db.t AS final FINAL", true, Some("final")),
            ("SELECT * FROM t AS \"FINAL\" FINAL", true, Some("FINAL")),
        ] {
            let q = lower_ch(sql);
            let crate::ir::SetExpr::Select(s) = &q.body else {
                panic!()
            };
            let TableRef::Table {
                final_modifier: f,
                alias: a,
                ..
            } = &s.from[0]
            else {
                panic!()
            };
            assert_eq!(*f, final_modifier, "{sql}");
            assert_eq!(a.as_ref().map(|a| a.name.as_str()), alias, "{sql}");
        }
    }

    #[test]
    fn scalar_aliases_are_inlined_and_named() {
        let q = lower_ch(
            "WITH parseDateTimeBestEffort('2024-05-01') AS start, (SELECT max(a) FROM u) AS m \
             SELECT start, count() FROM t WHERE ts > start AND a < m",
        );
        assert_eq!(
            q.to_string(),
            "SELECT parseDateTimeBestEffort('2024-05-01') AS start, count(*) FROM t \
             WHERE ((ts > parseDateTimeBestEffort('2024-05-01')) AND (a < (SELECT max(a) FROM u)))"
        );
        assert_eq!(q.tables(), ["t", "u"]);
        // Ordinary CTEs still parse, also mixed with scalar aliases.
        let q = lower_ch("WITH 5 AS n, c AS (SELECT a FROM t) SELECT a + n FROM c");
        assert_eq!(
            q.to_string(),
            "WITH c AS (SELECT a FROM t) SELECT (a + 5) FROM c"
        );
        let q = lower_ch("WITH c AS (SELECT a FROM t) SELECT a FROM c");
        assert_eq!(q.to_string(), "WITH c AS (SELECT a FROM t) SELECT a FROM c");
    }

    #[test]
    fn named_parameters_become_typed_dollar_parameters() {
        let q = lower_ch(
            "SELECT a FROM t WHERE a = {id:UInt32} AND s = {name:Nullable(String)} \
             AND ts > {since:DateTime64(3)} AND b = {id:UInt32} AND c IN {ids:Array(Int64)}",
        );
        assert_eq!(q.param_count(), 4);
        assert_eq!(
            q.named_params,
            vec![
                ("id".to_string(), Some(DataType::Int64)),
                ("name".to_string(), Some(DataType::Text)),
                ("since".to_string(), Some(DataType::TimestampTz)),
                (
                    "ids".to_string(),
                    Some(DataType::Array(Box::new(DataType::Int64)))
                ),
            ]
        );
    }

    #[test]
    fn ternary_is_if_and_right_associative() {
        let q = lower_ch("SELECT a > 1 ? 'x' : b ? 'y' : 'z', c OR d ? 1 : 2 FROM t");
        assert_eq!(
            q.to_string(),
            "SELECT if((a > 1), 'x', if(b, 'y', 'z')), if((c OR d), 1, 2) FROM t"
        );
        let q = lower_ch("SELECT {m:Map(String, String)} FROM t");
        assert!(matches!(
            &q.body,
            crate::ir::SetExpr::Select(s)
                if matches!(&s.projection[0], crate::ir::SelectItem::Expr { expr: Expr::Param(1), .. })
        ));
    }
}
