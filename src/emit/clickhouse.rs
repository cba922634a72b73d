//! The ClickHouse target. ClickHouse reads backslash as an escape inside quoted strings
//! *and* quoted identifiers, so both are escaped here; getting that wrong is an injection
//! hole, which the round-trip tests below guard.

use sqlparser::ast;

use super::{FunctionSpelling, TargetDialect};
use crate::ir::DataType;

pub(super) struct ClickHouse;

/// Escapes `text` for a ClickHouse quoted token delimited by `quote`: backslashes doubled,
/// the delimiter doubled (ClickHouse accepts both `''` and `\'`).
fn escape(text: &str, quote: char) -> String {
    // Pre-doubling both makes sqlparser's printer emit the text verbatim (see
    // `super::quoted_identifier`).
    text.replace('\\', "\\\\")
        .replace(quote, &format!("{quote}{quote}"))
}

impl TargetDialect for ClickHouse {
    fn name(&self) -> &'static str {
        "clickhouse"
    }

    fn identifier(&self, name: &str) -> ast::Ident {
        ast::Ident::with_quote('"', escape(name, '"'))
    }

    fn string_literal(&self, value: &str) -> ast::Expr {
        ast::Expr::value(ast::Value::SingleQuotedString(escape(value, '\'')))
    }

    fn data_type(&self, ty: &DataType) -> Option<ast::DataType> {
        clickhouse_type(ty).map(|name| {
            ast::DataType::Custom(
                ast::ObjectName::from(vec![ast::Ident::new(name)]),
                Vec::new(),
            )
        })
    }

    fn function(&self, name: &str) -> Option<&'static FunctionSpelling> {
        super::tables::lookup(super::Target::ClickHouse, name)
    }

    /// Intervals as `INTERVAL n UNIT`; timestamps parsed as UTC instants with
    /// `parseDateTime64BestEffort`, which reads the ISO-8601 forms Grafana sends
    /// (`2024-05-01T00:00:00Z`, offsets) where CAST reads only `YYYY-MM-DD hh:mm:ss`.
    fn typed_literal(&self, value: &str, ty: &DataType) -> Option<ast::Expr> {
        match ty {
            DataType::Interval => {
                let (n, unit) = value.trim().split_once(' ')?;
                let n: u64 = n.parse().ok()?;
                let unit = unit.trim().trim_end_matches('s').to_ascii_uppercase();
                const UNITS: &[&str] = &[
                    "YEAR",
                    "QUARTER",
                    "MONTH",
                    "WEEK",
                    "DAY",
                    "HOUR",
                    "MINUTE",
                    "SECOND",
                    "MILLISECOND",
                    "MICROSECOND",
                ];
                if !UNITS.contains(&unit.as_str()) {
                    return None;
                }
                Some(ast::Expr::Interval(ast::Interval {
                    value: Box::new(ast::Expr::value(ast::Value::Number(n.to_string(), false))),
                    leading_field: Some(ast::DateTimeField::Custom(ast::Ident::new(unit))),
                    leading_precision: None,
                    last_field: None,
                    fractional_seconds_precision: None,
                }))
            }
            DataType::Timestamp | DataType::TimestampTz => {
                let arg = |e: ast::Expr| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e));
                Some(ast::Expr::Function(ast::Function {
                    name: ast::ObjectName::from(vec![ast::Ident::new("parseDateTime64BestEffort")]),
                    uses_odbc_syntax: false,
                    parameters: ast::FunctionArguments::None,
                    args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: vec![
                            arg(self.string_literal(value)),
                            arg(ast::Expr::value(ast::Value::Number("6".into(), false))),
                            arg(self.string_literal("UTC")),
                        ],
                        clauses: Vec::new(),
                    }),
                    within_group: Vec::new(),
                    filter: None,
                    null_treatment: None,
                    over: None,
                }))
            }
            _ => None,
        }
    }
}

/// The ClickHouse spelling of an IR type, `None` where no type holds the same values.
pub(super) fn clickhouse_type(ty: &DataType) -> Option<String> {
    Some(match ty {
        DataType::Bool => "Bool".into(),
        DataType::Int16 => "Int16".into(),
        DataType::Int32 => "Int32".into(),
        DataType::Int64 => "Int64".into(),
        DataType::Float32 => "Float32".into(),
        DataType::Float64 => "Float64".into(),
        DataType::Numeric(Some((p, s))) if *p <= 76 => format!("Decimal({p}, {s})"),
        DataType::Text => "String".into(),
        DataType::Date => "Date32".into(),
        // Instants with microseconds, as Postgres keeps them; naive timestamps are read
        // as UTC (the session time zone).
        DataType::Timestamp | DataType::TimestampTz => "DateTime64(6, 'UTC')".into(),
        DataType::Uuid => "UUID".into(),
        DataType::Array(element) => format!("Array({})", clickhouse_type(element)?),
        // Unbounded numeric, bytea and intervals have no exact equivalent.
        _ => return None,
    })
}
