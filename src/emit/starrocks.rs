//! The StarRocks target (MySQL-flavoured SQL). Identifiers are backquoted (a backquote is
//! doubled, backslash is literal there); string literals read backslash as an escape, so
//! backslashes are doubled as well as quotes.

use sqlparser::ast;

use super::{FunctionSpelling, TargetDialect};
use crate::ir::DataType;

pub(super) struct StarRocks;

impl TargetDialect for StarRocks {
    fn name(&self) -> &'static str {
        "starrocks"
    }

    fn identifier(&self, name: &str) -> ast::Ident {
        super::quoted_identifier('`', name)
    }

    fn string_literal(&self, value: &str) -> ast::Expr {
        // See `super::quoted_identifier` for why the escapes are applied here.
        ast::Expr::value(ast::Value::SingleQuotedString(
            value.replace('\\', "\\\\").replace('\'', "''"),
        ))
    }

    fn data_type(&self, ty: &DataType) -> Option<ast::DataType> {
        starrocks_type(ty).map(|name| {
            ast::DataType::Custom(
                ast::ObjectName::from(vec![ast::Ident::new(name)]),
                Vec::new(),
            )
        })
    }

    /// StarRocks has no `FILTER (WHERE …)` on aggregates.
    fn supports_aggregate_filter(&self) -> bool {
        false
    }

    fn function(&self, name: &str) -> Option<&'static FunctionSpelling> {
        super::tables::lookup(super::Target::StarRocks, name)
    }
}

/// The StarRocks spelling of an IR type, `None` where no type holds the same values.
fn starrocks_type(ty: &DataType) -> Option<String> {
    Some(match ty {
        DataType::Bool => "BOOLEAN".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Numeric(Some((p, s))) if *p <= 38 => format!("DECIMAL({p}, {s})"),
        DataType::Text => "VARCHAR".into(),
        DataType::Date => "DATE".into(),
        DataType::Timestamp => "DATETIME".into(),
        DataType::Array(element) => format!("ARRAY<{}>", starrocks_type(element)?),
        // No time-zone-aware instant type, no UUID, no unbounded numeric.
        _ => return None,
    })
}
