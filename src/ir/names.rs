//! Output column names by Postgres' rules (`FigureColname` in parse_target.c), which clients
//! see in RowDescription. Emitters also use them to alias unnamed projection items.

use super::{DataType, Expr, Literal, Query, SelectItem, SetExpr};

/// Postgres' placeholder name for an expression it cannot name.
pub const UNNAMED: &str = "?column?";

/// The name Postgres gives an unaliased projection item.
pub fn output_name(expr: &Expr) -> String {
    figure(expr)
        .map(|(_, name)| name)
        .unwrap_or_else(|| UNNAMED.to_string())
}

/// How sure a name is: a cast names its result after the inner expression only if the
/// inner's name is strong, else after the type (`1::int8` → `int8`, `a::int8` → `a`).
enum Strength {
    Weak,
    Strong,
}

fn figure(expr: &Expr) -> Option<(Strength, String)> {
    let strong = |name: &str| Some((Strength::Strong, name.to_string()));
    let weak = |name: &str| Some((Strength::Weak, name.to_string()));
    match expr {
        Expr::Column(column) => strong(&column.name),
        Expr::Function(call) => strong(call.func.name()),
        Expr::Cast { expr, ty } => match figure(expr) {
            Some((Strength::Strong, name)) => Some((Strength::Strong, name)),
            _ => weak(pg_type_name(ty)),
        },
        Expr::Literal(Literal::Typed { ty, .. }) => weak(pg_type_name(ty)),
        Expr::Case { .. } => weak("case"),
        Expr::Array(_) => strong("array"),
        Expr::Exists { .. } => strong("exists"),
        Expr::Extract { .. } => strong("extract"),
        Expr::Subscript { expr, .. } => figure(expr),
        Expr::Subquery(query) => {
            let name = query_output_names(query)?.into_iter().next()?;
            Some((Strength::Strong, name))
        }
        _ => None,
    }
}

/// Postgres' internal type name, which it uses to name `CAST(1 AS integer)` (`int4`).
fn pg_type_name(ty: &DataType) -> &'static str {
    match ty {
        DataType::Bool => "bool",
        DataType::Int16 => "int2",
        DataType::Int32 => "int4",
        DataType::Int64 => "int8",
        DataType::Float32 => "float4",
        DataType::Float64 => "float8",
        DataType::Numeric(_) => "numeric",
        DataType::Text => "text",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp",
        DataType::TimestampTz => "timestamptz",
        DataType::Uuid => "uuid",
        DataType::Bytea => "bytea",
        DataType::Interval => "interval",
        // `'{1}'::int[]` is named after the element type.
        DataType::Array(element) => pg_type_name(element),
    }
}

/// For each output column, whether it is a bare counting aggregate (`count`, `countIf`,
/// `uniq*`, …). Postgres counts are bigint; ClickHouse's are UInt64, which would reach the
/// client as numeric, so the engine presents these columns as int8 on every backend.
pub fn counting_outputs(query: &Query) -> Option<Vec<bool>> {
    fn of(body: &SetExpr) -> Option<Vec<bool>> {
        match body {
            SetExpr::Select(select) => select
                .projection
                .iter()
                .map(|item| match item {
                    SelectItem::Expr { expr, .. } => Some(is_count(expr)),
                    SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => None,
                })
                .collect(),
            SetExpr::Query(query) => of(&query.body),
            SetExpr::SetOperation { left, .. } => of(left),
            SetExpr::Unsupported(_) => None,
        }
    }
    of(&query.body)
}

fn is_count(expr: &Expr) -> bool {
    const COUNTING: &[&str] = &[
        "count",
        "countIf",
        "countDistinct",
        "uniq",
        "uniqIf",
        "uniqExact",
        "uniqExactIf",
        "uniqCombined",
        "uniqCombinedIf",
        "uniqCombined64",
        "uniqHLL12",
        "uniqTheta",
    ];
    match expr {
        Expr::Function(call) => call.over.is_none() && COUNTING.contains(&call.func.name()),
        _ => false,
    }
}

pub(super) fn query_output_names(query: &Query) -> Option<Vec<String>> {
    set_expr_names(&query.body)
}

fn set_expr_names(body: &SetExpr) -> Option<Vec<String>> {
    match body {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::Expr {
                    alias: Some(alias), ..
                } => Some(alias.clone()),
                SelectItem::Expr { expr, alias: None } => Some(output_name(expr)),
                SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => None,
            })
            .collect(),
        SetExpr::Query(query) => query_output_names(query),
        // A set operation takes its column names from its left-most SELECT.
        SetExpr::SetOperation { left, .. } => set_expr_names(left),
        SetExpr::Unsupported(_) => None,
    }
}
