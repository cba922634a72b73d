//! Parsing client SQL (ClickHouse- or Postgres-flavoured) into sqlparser's AST, and lowering
//! queries into the IR. Nothing here knows about backends or the wire.

pub mod dialect;
mod lower;

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, PostgreSqlDialect};
use sqlparser::parser::{Parser, ParserError};

use crate::error::{Error, Result};
pub use dialect::SwitchyardDialect;
pub use lower::lower_query;

/// Which grammar to read a statement with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `SwitchyardDialect` (ClickHouse plus our hooks).
    ClickHouse,
    /// sqlparser's `PostgreSqlDialect`.
    Postgres,
}

/// Parses a query string (possibly several statements; empty or comment-only gives none).
/// Tries the ClickHouse flavour first, then Postgres; if both fail, reports the error of
/// the attempt that got further into the text.
///
/// Note the flavours read some text differently, notably backslashes in string literals
/// (an escape in ClickHouse, a plain character in Postgres). Callers that know the client
/// speaks Postgres should use `parse_as(sql, Flavor::Postgres)`.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    match parse_as(sql, Flavor::ClickHouse) {
        Ok(statements) => Ok(statements),
        Err(clickhouse) => parse_as(sql, Flavor::Postgres).map_err(|postgres| {
            let reach = |e: &Error| match e {
                Error::Syntax { position, .. } => position.unwrap_or(0),
                _ => 0,
            };
            if reach(&postgres) > reach(&clickhouse) {
                postgres
            } else {
                clickhouse
            }
        }),
    }
}

/// Parses with one flavour only.
pub fn parse_as(sql: &str, flavor: Flavor) -> Result<Vec<Statement>> {
    let dialect: &dyn Dialect = match flavor {
        Flavor::ClickHouse => &SwitchyardDialect::default(),
        Flavor::Postgres => &PostgreSqlDialect {},
    };
    Parser::parse_sql(dialect, sql).map_err(|e| syntax_error(sql, e))
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
