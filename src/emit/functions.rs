//! ClickHouse functions for targets other than ClickHouse: how StarRocks and DataFusion
//! compute each ClickHouse function a dashboard uses, or nothing (rejected, 0A000).
//!
//! A handler receives the whole call (parameters, arguments, DISTINCT, FILTER, OVER) and
//! builds the target's expression, rejecting through the emitter what it cannot express.
//! Documented approximations (all listed in `dialects/*.toml` notes):
//! - ClickHouse columns are assumed non-Nullable where empty input matters: `sum`/`sumIf`
//!   give 0 and `avg`/`avgIf` NaN on empty input, as ClickHouse does for such columns;
//! - `any` is "any value of the group": `min` is one.

use sqlparser::ast;

use super::{operand, Emitter, Target};
use crate::ir::{Expr, FunctionCall, Literal};

pub(super) type Handler = fn(&mut Emitter, &FunctionCall) -> ast::Expr;

/// The handler for ClickHouse function `name` on `target` (never ClickHouse itself), as
/// `dialects/<target>.toml` names it.
pub(super) fn clickhouse(target: Target, name: &str) -> Option<Handler> {
    let handler = super::dialects::data(target)
        .clickhouse_functions
        .get(name)?;
    handler_named(handler)
}

/// The Rust handler called `name` in the dialect files.
pub(super) fn handler_named(name: &str) -> Option<Handler> {
    HANDLERS.iter().find(|(n, _)| *n == name).map(|(_, h)| *h)
}

/// Every ClickHouse function name some non-ClickHouse target handles (for the table tests).
#[cfg(test)]
pub(super) fn handled_names(target: Target) -> Vec<&'static str> {
    let data = super::dialects::data(target);
    data.clickhouse_functions
        .keys()
        .map(String::as_str)
        .collect()
}

const HANDLERS: &[(&str, Handler)] = &[
    ("any", any),
    ("any_if", any_if),
    ("avg", avg),
    ("avg_if", avg_if),
    ("char_length", char_length),
    ("char_length_sr", char_length_sr),
    ("count_if", count_if),
    ("count_if_any", count_if_any),
    ("df_arg_max", df_arg_max),
    ("df_arg_min", df_arg_min),
    ("df_group_array", df_group_array),
    ("df_median", df_median),
    ("df_quantile", df_quantile),
    ("df_start_of_interval", df_start_of_interval),
    ("df_uniq", df_uniq),
    ("divide", divide),
    ("empty", empty),
    ("empty_sr", empty_sr),
    ("if_", if_),
    ("if_null", if_null),
    ("is_not_null", is_not_null),
    ("is_null", is_null),
    ("lower", lower),
    ("max", max),
    ("max_if", max_if),
    ("min", min),
    ("min_if", min_if),
    ("multi_if", multi_if),
    ("not_empty", not_empty),
    ("not_empty_sr", not_empty_sr),
    ("now", now),
    ("octet_length", octet_length),
    ("sr_arg_max", sr_arg_max),
    ("sr_arg_min", sr_arg_min),
    ("sr_avg", sr_avg),
    ("sr_avg_if", sr_avg_if),
    ("sr_length", sr_length),
    ("sr_quantile", sr_quantile),
    ("sr_start_of_fifteen_minutes", sr_start_of_fifteen_minutes),
    ("sr_start_of_five_minutes", sr_start_of_five_minutes),
    ("sr_start_of_interval", sr_start_of_interval),
    ("sr_today", sr_today),
    ("sr_uniq", sr_uniq),
    ("start_of_day", start_of_day),
    ("start_of_fifteen_minutes", start_of_fifteen_minutes),
    ("start_of_five_minutes", start_of_five_minutes),
    ("start_of_hour", start_of_hour),
    ("start_of_minute", start_of_minute),
    ("start_of_month", start_of_month),
    ("start_of_year", start_of_year),
    ("starts_with", starts_with),
    ("sum", sum),
    ("sum_if", sum_if),
    ("to_date", to_date),
    ("to_float64", to_float64),
    ("to_float64_or_null", to_float64_or_null),
    ("to_float64_or_zero", to_float64_or_zero),
    ("to_int32", to_int32),
    ("to_int64", to_int64),
    ("to_int64_or_null", to_int64_or_null),
    ("to_int64_or_zero", to_int64_or_zero),
    ("today", today),
    ("uniq_exact", uniq_exact),
    ("uniq_exact_if", uniq_exact_if),
    ("upper", upper),
];

// Building blocks.

fn function(name: &str, args: Vec<ast::Expr>) -> ast::Expr {
    ast::Expr::Function(call_node(name, args, false, Vec::new(), None))
}

fn aggregate(
    e: &mut Emitter,
    name: &str,
    args: Vec<ast::Expr>,
    distinct: bool,
    order_by: Vec<ast::OrderByExpr>,
    filter: Option<ast::Expr>,
) -> ast::Expr {
    let f = call_node(name, args, distinct, order_by, filter);
    e.aggregate_filter(f)
}

fn call_node(
    name: &str,
    args: Vec<ast::Expr>,
    distinct: bool,
    order_by: Vec<ast::OrderByExpr>,
    filter: Option<ast::Expr>,
) -> ast::Function {
    let clauses = if order_by.is_empty() {
        Vec::new()
    } else {
        vec![ast::FunctionArgumentClause::OrderBy(order_by)]
    };
    ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: distinct.then_some(ast::DuplicateTreatment::Distinct),
            args: args
                .into_iter()
                .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)))
                .collect(),
            clauses,
        }),
        within_group: Vec::new(),
        filter: filter.map(Box::new),
        null_treatment: None,
        over: None,
    }
}

fn string(e: &mut Emitter, text: &str) -> ast::Expr {
    e.dialect.string_literal(text)
}

fn cast(e: &mut Emitter, expr: ast::Expr, ty: &crate::ir::DataType) -> ast::Expr {
    match e.dialect.data_type(ty) {
        Some(data_type) => ast::Expr::Cast {
            kind: ast::CastKind::Cast,
            expr: Box::new(expr),
            data_type,
            format: None,
        },
        None => e.reject(format!("type {ty}")),
    }
}

fn binary(left: ast::Expr, op: ast::BinaryOperator, right: ast::Expr) -> ast::Expr {
    ast::Expr::Nested(Box::new(ast::Expr::BinaryOp {
        left: Box::new(operand(left)),
        op,
        right: Box::new(operand(right)),
    }))
}

/// The call's arguments, emitted, if there are `n` of them and the call is a plain scalar
/// call (no parameters, DISTINCT, ORDER BY, FILTER or OVER); otherwise rejects.
fn scalar_args<const N: usize>(e: &mut Emitter, call: &FunctionCall) -> Option<[ast::Expr; N]> {
    let name = call.func.name();
    let plain = call.params.is_empty()
        && !call.distinct
        && !call.star
        && call.order_by.is_empty()
        && call.filter.is_none()
        && call.over.is_none();
    if !plain {
        e.reject(format!("{name} with parameters/DISTINCT/FILTER/OVER"));
        return None;
    }
    if call.args.len() != N {
        e.reject(format!("{name} with {} argument(s)", call.args.len()));
        return None;
    }
    let args: Vec<ast::Expr> = call.args.iter().map(|a| e.expr(a)).collect();
    args.try_into().ok()
}

/// Arguments of an aggregate call (no parameters or OVER), plus its FILTER, emitted.
fn aggregate_args(
    e: &mut Emitter,
    call: &FunctionCall,
    n: usize,
) -> Option<(Vec<ast::Expr>, Option<ast::Expr>)> {
    let name = call.func.name();
    if !call.params.is_empty() || call.over.is_some() || !call.order_by.is_empty() || call.star {
        e.reject(format!("{name} with parameters/ORDER BY/OVER"));
        return None;
    }
    if call.args.len() != n {
        e.reject(format!("{name} with {} argument(s)", call.args.len()));
        return None;
    }
    let args = call.args.iter().map(|a| e.expr(a)).collect();
    let filter = call.filter.as_ref().map(|f| e.expr(f));
    Some((args, filter))
}

/// `cond1 AND cond2`, either possibly absent.
fn and(a: Option<ast::Expr>, b: Option<ast::Expr>) -> Option<ast::Expr> {
    match (a, b) {
        (Some(a), Some(b)) => Some(binary(a, ast::BinaryOperator::And, b)),
        (a, b) => a.or(b),
    }
}

fn coalesce(value: ast::Expr, default: ast::Expr) -> ast::Expr {
    function("coalesce", vec![value, default])
}

fn zero() -> ast::Expr {
    ast::Expr::value(ast::Value::Number("0".into(), false))
}

// Arithmetic and conditionals.

/// ClickHouse's `/` divides as Float64 whatever the operand types.
fn divide(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some([a, b]) = scalar_args(e, call) else {
        return e.reject("divide");
    };
    let a = cast(e, a, &crate::ir::DataType::Float64);
    let b = cast(e, b, &crate::ir::DataType::Float64);
    binary(a, ast::BinaryOperator::Divide, b)
}

fn case(conditions: Vec<(ast::Expr, ast::Expr)>, else_result: ast::Expr) -> ast::Expr {
    ast::Expr::Case {
        case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: conditions
            .into_iter()
            .map(|(condition, result)| ast::CaseWhen { condition, result })
            .collect(),
        else_result: Some(Box::new(else_result)),
    }
}

fn if_(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([c, a, b]) => case(vec![(c, a)], b),
        None => ast::Expr::value(ast::Value::Null),
    }
}

fn multi_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if call.args.len() < 3 || call.args.len() % 2 == 0 || !call.params.is_empty() {
        return e.reject("multiIf with an even number of arguments");
    }
    let args: Vec<ast::Expr> = call.args.iter().map(|a| e.expr(a)).collect();
    let mut pairs = Vec::new();
    let mut iter = args.into_iter();
    let mut last = None;
    while let Some(first) = iter.next() {
        match iter.next() {
            Some(second) => pairs.push((first, second)),
            None => last = Some(first),
        }
    }
    case(pairs, last.expect("odd argument count"))
}

fn if_null(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([a, b]) => coalesce(a, b),
        None => ast::Expr::value(ast::Value::Null),
    }
}

fn is_null(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([a]) => ast::Expr::Nested(Box::new(ast::Expr::IsNull(Box::new(operand(a))))),
        None => ast::Expr::value(ast::Value::Null),
    }
}

fn is_not_null(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([a]) => ast::Expr::Nested(Box::new(ast::Expr::IsNotNull(Box::new(operand(a))))),
        None => ast::Expr::value(ast::Value::Null),
    }
}

// Aggregates.

/// `count` reaches here only with ClickHouse-only shapes (parameters): rejected.
fn count_if_any(e: &mut Emitter, _call: &FunctionCall) -> ast::Expr {
    e.reject("count with parameters")
}

fn count_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let distinct = call.distinct;
    match aggregate_args(e, call, 1) {
        Some((mut args, filter)) => {
            let cond = args.pop();
            if distinct {
                return e.reject("countIf(DISTINCT …)");
            }
            let f = count_star(and(cond, filter));
            e.aggregate_filter(f)
        }
        None => ast::Expr::value(ast::Value::Null),
    }
}

fn count_star(filter: Option<ast::Expr>) -> ast::Function {
    ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new("count")]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)],
            clauses: Vec::new(),
        }),
        within_group: Vec::new(),
        filter: filter.map(Box::new),
        null_treatment: None,
        over: None,
    }
}

/// `f(x)` or `f(x) FILTER (WHERE cond)` for a ClickHouse aggregate `f` / `fIf(x, cond)`.
fn simple_aggregate(
    e: &mut Emitter,
    call: &FunctionCall,
    name: &str,
    with_if: bool,
) -> Option<ast::Expr> {
    let distinct = call.distinct;
    let n = if with_if { 2 } else { 1 };
    let (mut args, filter) = aggregate_args(e, call, n)?;
    let cond = if with_if { args.pop() } else { None };
    Some(aggregate(
        e,
        name,
        args,
        distinct,
        Vec::new(),
        and(cond, filter),
    ))
}

fn or_null(e: Option<ast::Expr>) -> ast::Expr {
    e.unwrap_or_else(|| ast::Expr::value(ast::Value::Null))
}

fn sum(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "sum", false).map(|s| coalesce(s, zero())))
}

fn sum_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "sum", true).map(|s| coalesce(s, zero())))
}

fn nan(e: &mut Emitter) -> ast::Expr {
    let text = string(e, "NaN");
    cast(e, text, &crate::ir::DataType::Float64)
}

fn avg(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match simple_aggregate(e, call, "avg", false) {
        Some(a) => {
            let nan = nan(e);
            coalesce(a, nan)
        }
        None => or_null(None),
    }
}

fn avg_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match simple_aggregate(e, call, "avg", true) {
        Some(a) => {
            let nan = nan(e);
            coalesce(a, nan)
        }
        None => or_null(None),
    }
}

fn min(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "min", false))
}

fn max(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "max", false))
}

fn min_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "min", true))
}

fn max_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "max", true))
}

fn any(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "min", false))
}

fn any_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "min", true))
}

fn uniq_exact(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let (args, filter) = match aggregate_args(e, call, 1) {
        Some(x) => x,
        None => return or_null(None),
    };
    aggregate(e, "count", args, true, Vec::new(), filter)
}

fn uniq_exact_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let (mut args, filter) = match aggregate_args(e, call, 2) {
        Some(x) => x,
        None => return or_null(None),
    };
    let cond = args.pop();
    aggregate(e, "count", args, true, Vec::new(), and(cond, filter))
}

fn df_uniq(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "approx_distinct", false))
}

fn sr_uniq(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "approx_count_distinct", false))
}

/// StarRocks has no NaN literal: `avg` of empty input is NULL there, NaN in ClickHouse (a
/// documented difference, global aggregates over nothing only).
fn sr_avg(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "avg", false))
}

fn sr_avg_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "avg", true))
}

/// `argMax(a, b)`: `a` of a row with the greatest `b`, rows with NULL `b` ignored.
fn df_arg(e: &mut Emitter, call: &FunctionCall, desc: bool) -> ast::Expr {
    let (mut args, filter) = match aggregate_args(e, call, 2) {
        Some(x) => x,
        None => return or_null(None),
    };
    let by = args.pop().expect("two arguments");
    let not_null = ast::Expr::Nested(Box::new(ast::Expr::IsNotNull(Box::new(operand(
        by.clone(),
    )))));
    aggregate(
        e,
        "first_value",
        args,
        false,
        vec![ast::OrderByExpr {
            expr: by,
            options: ast::OrderByOptions {
                sort: Some(if desc {
                    ast::OrderBySort::Desc
                } else {
                    ast::OrderBySort::Asc
                }),
                nulls_first: Some(false),
            },
            with_fill: None,
        }],
        and(Some(not_null), filter),
    )
}

fn df_arg_max(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_arg(e, call, true)
}

fn df_arg_min(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_arg(e, call, false)
}

fn sr_arg_max(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate_n(e, call, "max_by", 2))
}

fn sr_arg_min(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate_n(e, call, "min_by", 2))
}

fn simple_aggregate_n(
    e: &mut Emitter,
    call: &FunctionCall,
    name: &str,
    n: usize,
) -> Option<ast::Expr> {
    let (args, filter) = aggregate_args(e, call, n)?;
    Some(aggregate(e, name, args, false, Vec::new(), filter))
}

/// The level of `quantile(level)(x)`: a literal in [0, 1]; `quantile(x)` is the median.
fn quantile_level(e: &mut Emitter, call: &FunctionCall) -> Option<ast::Expr> {
    match call.params.as_slice() {
        [] => Some(ast::Expr::value(ast::Value::Number("0.5".into(), false))),
        [Expr::Literal(Literal::Numeric(text))] => {
            Some(ast::Expr::value(ast::Value::Number(text.clone(), false)))
        }
        [Expr::Literal(Literal::Int(i @ 0..=1))] => {
            Some(ast::Expr::value(ast::Value::Number(i.to_string(), false)))
        }
        _ => {
            e.reject("quantile with a non-literal level");
            None
        }
    }
}

/// ClickHouse's `quantile` is approximate (reservoir sampling); DataFusion's
/// `approx_percentile_cont` (t-digest) is too: equal within the documented tolerance.
fn df_quantile(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(level) = quantile_level(e, call) else {
        return or_null(None);
    };
    let plain = FunctionCall {
        params: Vec::new(),
        ..call.clone()
    };
    let Some((mut args, filter)) = aggregate_args(e, &plain, 1) else {
        return or_null(None);
    };
    args.push(level);
    aggregate(e, "approx_percentile_cont", args, false, Vec::new(), filter)
}

fn df_median(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_quantile(e, call)
}

fn sr_quantile(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(level) = quantile_level(e, call) else {
        return or_null(None);
    };
    let plain = FunctionCall {
        params: Vec::new(),
        ..call.clone()
    };
    let Some((mut args, filter)) = aggregate_args(e, &plain, 1) else {
        return or_null(None);
    };
    args.push(level);
    aggregate(e, "percentile_approx", args, false, Vec::new(), filter)
}

/// `groupArray(x)` skips NULLs.
fn df_group_array(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some((args, filter)) = aggregate_args(e, call, 1) else {
        return or_null(None);
    };
    let not_null = ast::Expr::Nested(Box::new(ast::Expr::IsNotNull(Box::new(operand(
        args[0].clone(),
    )))));
    aggregate(
        e,
        "array_agg",
        args,
        false,
        Vec::new(),
        and(Some(not_null), filter),
    )
}

// Time. ClickHouse DateTime values are UTC instants here (the session time zone is UTC).

fn truncate(e: &mut Emitter, call: &FunctionCall, unit: &str) -> Option<ast::Expr> {
    let [ts] = scalar_args(e, call)?;
    let unit = string(e, unit);
    Some(function("date_trunc", vec![unit, ts]))
}

fn start_of_minute(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(truncate(e, call, "minute"))
}

fn start_of_hour(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(truncate(e, call, "hour"))
}

fn start_of_day(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(truncate(e, call, "day"))
}

/// `toStartOfMonth`/`toStartOfYear` return a Date.
fn start_of_month(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match truncate(e, call, "month") {
        Some(t) => cast(e, t, &crate::ir::DataType::Date),
        None => or_null(None),
    }
}

fn start_of_year(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match truncate(e, call, "year") {
        Some(t) => cast(e, t, &crate::ir::DataType::Date),
        None => or_null(None),
    }
}

fn bin(e: &mut Emitter, ts: ast::Expr, interval: &str) -> ast::Expr {
    let width = string(e, interval);
    let width = cast(e, width, &crate::ir::DataType::Interval);
    let origin = string(e, "1970-01-01T00:00:00");
    let origin = cast(e, origin, &crate::ir::DataType::Timestamp);
    function("date_bin", vec![width, ts, origin])
}

fn start_of_five_minutes(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([ts]) => bin(e, ts, "5 minutes"),
        None => or_null(None),
    }
}

fn start_of_fifteen_minutes(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([ts]) => bin(e, ts, "15 minutes"),
        None => or_null(None),
    }
}

/// `toStartOfInterval(ts, INTERVAL n unit)`. ClickHouse aligns sub-day buckets to the
/// start of the day and day buckets to 1970-01-01; `date_bin` aligns to the epoch, which
/// agrees exactly when the bucket divides a day. Other widths are rejected.
fn df_start_of_interval(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let interval = match call.args.get(1) {
        Some(Expr::Literal(Literal::Typed {
            value,
            ty: crate::ir::DataType::Interval,
        })) => value.clone(),
        _ => return e.reject("toStartOfInterval with a non-literal interval"),
    };
    let Some((n, unit)) = interval
        .split_once(' ')
        .and_then(|(n, u)| Some((n.parse::<u64>().ok()?, u.trim_end_matches('s').to_string())))
    else {
        return e.reject(format!("toStartOfInterval with INTERVAL '{interval}'"));
    };
    let seconds = match unit.as_str() {
        "second" => Some(1),
        "minute" => Some(60),
        "hour" => Some(3600),
        "day" => Some(86_400),
        _ => None,
    };
    let single = FunctionCall {
        args: call.args[..1].to_vec(),
        ..call.clone()
    };
    let Some([ts]) = scalar_args(e, &single) else {
        return or_null(None);
    };
    match (seconds, n) {
        (_, 0) => e.reject("toStartOfInterval with a zero interval"),
        (Some(86_400), n) => bin(e, ts, &format!("{n} days")),
        (Some(s), n) if 86_400 % (s * n) == 0 => bin(e, ts, &format!("{n} {unit}s")),
        (None, 1) if matches!(unit.as_str(), "month" | "year" | "quarter") => {
            let unit = string(e, &unit);
            let t = function("date_trunc", vec![unit, ts]);
            cast(e, t, &crate::ir::DataType::Date)
        }
        _ => e.reject(format!("toStartOfInterval with INTERVAL '{interval}'")),
    }
}

fn to_date(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([x]) => cast(e, x, &crate::ir::DataType::Date),
        None => or_null(None),
    }
}

fn now(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !call.args.is_empty() {
        return e.reject("now with a time zone");
    }
    function("now", Vec::new())
}

fn today(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !call.args.is_empty() {
        return e.reject("today with arguments");
    }
    ast::Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new("current_date")]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::None,
        within_group: Vec::new(),
        filter: None,
        null_treatment: None,
        over: None,
    })
}

// Conversions.

fn convert(e: &mut Emitter, call: &FunctionCall, ty: crate::ir::DataType) -> ast::Expr {
    match scalar_args(e, call) {
        Some([x]) => cast(e, x, &ty),
        None => or_null(None),
    }
}

fn to_int32(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    convert(e, call, crate::ir::DataType::Int32)
}

fn to_int64(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    convert(e, call, crate::ir::DataType::Int64)
}

fn to_float64(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    convert(e, call, crate::ir::DataType::Float64)
}

fn try_cast(e: &mut Emitter, call: &FunctionCall, ty: crate::ir::DataType) -> Option<ast::Expr> {
    let [x] = scalar_args(e, call)?;
    let data_type = match e.dialect.data_type(&ty) {
        Some(t) => t,
        None => {
            e.reject(format!("type {ty}"));
            return None;
        }
    };
    Some(ast::Expr::Cast {
        kind: ast::CastKind::TryCast,
        expr: Box::new(x),
        data_type,
        format: None,
    })
}

fn to_int64_or_zero(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(try_cast(e, call, crate::ir::DataType::Int64).map(|x| coalesce(x, zero())))
}

fn to_float64_or_zero(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(try_cast(e, call, crate::ir::DataType::Float64).map(|x| coalesce(x, zero())))
}

fn to_int64_or_null(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(try_cast(e, call, crate::ir::DataType::Int64))
}

fn to_float64_or_null(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(try_cast(e, call, crate::ir::DataType::Float64))
}

// Strings.

/// `empty(s)` for strings (arrays fail to plan rather than answer wrongly).
fn empty(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([s]) => binary(
            function("octet_length", vec![s]),
            ast::BinaryOperator::Eq,
            zero(),
        ),
        None => or_null(None),
    }
}

fn not_empty(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([s]) => binary(
            function("octet_length", vec![s]),
            ast::BinaryOperator::Gt,
            zero(),
        ),
        None => or_null(None),
    }
}

fn rename<const N: usize>(e: &mut Emitter, call: &FunctionCall, name: &str) -> ast::Expr {
    match scalar_args::<N>(e, call) {
        Some(args) => function(name, args.into()),
        None => or_null(None),
    }
}

/// ClickHouse's `length` of a string counts bytes.
fn octet_length(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "octet_length")
}

fn char_length(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "character_length")
}

fn lower(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "lower")
}

fn upper(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "upper")
}

fn starts_with(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<2>(e, call, "starts_with")
}

// StarRocks time and strings.

/// `time_slice(ts, INTERVAL n unit)` floors to buckets counted from 0001-01-01, which
/// agree with ClickHouse's when the bucket divides a day.
fn slice(e: &mut Emitter, ts: ast::Expr, n: u64, unit: &str) -> ast::Expr {
    let interval = ast::Expr::Interval(ast::Interval {
        value: Box::new(ast::Expr::value(ast::Value::Number(n.to_string(), false))),
        leading_field: Some(ast::DateTimeField::Custom(ast::Ident::new(
            unit.to_ascii_uppercase(),
        ))),
        leading_precision: None,
        last_field: None,
        fractional_seconds_precision: None,
    });
    let _ = e;
    function("time_slice", vec![ts, interval])
}

fn sr_start_of_five_minutes(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([ts]) => slice(e, ts, 5, "minute"),
        None => or_null(None),
    }
}

fn sr_start_of_fifteen_minutes(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([ts]) => slice(e, ts, 15, "minute"),
        None => or_null(None),
    }
}

fn sr_start_of_interval(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let interval = match call.args.get(1) {
        Some(Expr::Literal(Literal::Typed {
            value,
            ty: crate::ir::DataType::Interval,
        })) => value.clone(),
        _ => return e.reject("toStartOfInterval with a non-literal interval"),
    };
    let Some((n, unit)) = interval
        .split_once(' ')
        .and_then(|(n, u)| Some((n.parse::<u64>().ok()?, u.trim_end_matches('s').to_string())))
    else {
        return e.reject(format!("toStartOfInterval with INTERVAL '{interval}'"));
    };
    let seconds: u64 = match unit.as_str() {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" if n == 1 => 86_400,
        _ => return e.reject(format!("toStartOfInterval with INTERVAL '{interval}'")),
    };
    if n == 0 || 86_400 % (seconds * n) != 0 {
        return e.reject(format!("toStartOfInterval with INTERVAL '{interval}'"));
    }
    let single = FunctionCall {
        args: call.args[..1].to_vec(),
        ..call.clone()
    };
    match scalar_args(e, &single) {
        Some([ts]) => slice(e, ts, n, &unit),
        None => or_null(None),
    }
}

fn sr_today(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !call.args.is_empty() {
        return e.reject("today with arguments");
    }
    function("curdate", Vec::new())
}

/// StarRocks' `length` counts bytes, as ClickHouse's does.
fn sr_length(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "length")
}

fn char_length_sr(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "char_length")
}

fn empty_sr(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([s]) => binary(function("length", vec![s]), ast::BinaryOperator::Eq, zero()),
        None => or_null(None),
    }
}

fn not_empty_sr(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args(e, call) {
        Some([s]) => binary(function("length", vec![s]), ast::BinaryOperator::Gt, zero()),
        None => or_null(None),
    }
}
