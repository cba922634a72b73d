//! ClickHouse functions for targets other than ClickHouse: how StarRocks and DataFusion
//! compute each ClickHouse function a dashboard uses, or nothing (rejected, 0A000).
//!
//! A handler receives the whole call (parameters, arguments, DISTINCT, FILTER, OVER) and
//! builds the target's expression, rejecting through the emitter what it cannot express.
//! Where ClickHouse's meaning depends on argument types, handlers ask the emitter
//! (`Emitter::type_of`, from the routed tables' schemas): `sum` of a Nullable column is
//! NULL over no values, of a non-Nullable one 0. An argument of unknown type (offline
//! translation without a schema) counts as non-Nullable, ClickHouse's default for a
//! column. Where DataFusion can test a type at run time (`arrow_typeof`), some handlers do.
//! Documented approximations (all listed in `dialects/*.toml` notes):
//! - `any`/`anyLast` are "any value of the group": `min`/`max` are one;
//! - `uniq`/`uniqCombined` are exact counts (ClickHouse's are exact below 65536 values);
//! - StarRocks has no NaN: `avg` and the variance family give NULL where ClickHouse gives
//!   NaN, and `intDiv` by zero gives NULL where ClickHouse fails;
//! - `quantileExact` of no rows is NULL (ClickHouse: the type's default or NaN).

use sqlparser::ast;

use super::{operand, Emitter, Target};
use crate::ir::types::Type;
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
    ("add_days", add_days),
    ("add_hours", add_hours),
    ("add_minutes", add_minutes),
    ("add_months", add_months),
    ("add_quarters", add_quarters),
    ("add_seconds", add_seconds),
    ("add_weeks", add_weeks),
    ("add_years", add_years),
    ("any", any),
    ("any_if", any_if),
    ("any_last", any_last),
    ("any_last_if", any_last_if),
    ("avg", avg),
    ("avg_if", avg_if),
    ("char_length", char_length),
    ("char_length_sr", char_length_sr),
    ("count_if", count_if),
    ("count_if_any", count_if_any),
    ("date_add", date_add),
    ("date_sub", date_sub),
    ("date_trunc_ch", date_trunc_ch),
    ("df_arg_max", df_arg_max),
    ("df_arg_min", df_arg_min),
    ("df_ceil", df_ceil),
    ("df_concat", df_concat),
    ("df_json", df_json),
    ("df_to_string", df_to_string),
    ("df_date_diff", df_date_diff),
    ("df_floor", df_floor),
    ("df_greatest", df_greatest),
    ("df_group_array", df_group_array),
    ("df_group_uniq_array", df_group_uniq_array),
    ("df_group_uniq_array_if", df_group_uniq_array_if),
    ("df_int_div", df_int_div),
    ("df_least", df_least),
    ("df_lower_ascii", df_lower_ascii),
    ("df_map", df_map),
    ("df_map_contains", df_map_contains),
    ("df_match", df_match),
    ("df_median", df_median),
    ("df_now64", df_now64),
    ("df_parse_time", df_parse_time),
    ("df_position", df_position),
    ("df_position_case_insensitive", df_position_case_insensitive),
    ("df_position_utf8", df_position_utf8),
    ("df_quantile", df_quantile),
    ("df_quantile_exact", df_quantile_exact),
    ("df_quantile_exact_if", df_quantile_exact_if),
    ("df_replace_regexp_all", df_replace_regexp_all),
    ("df_replace_regexp_one", df_replace_regexp_one),
    ("df_round", df_round),
    ("df_split_by_char", df_split_by_char),
    ("df_start_of_interval", df_start_of_interval),
    ("df_to_date_time", df_to_date_time),
    ("df_to_date_time64", df_to_date_time64),
    ("df_to_day_of_month", df_to_day_of_month),
    ("df_to_day_of_week", df_to_day_of_week),
    ("df_to_day_of_year", df_to_day_of_year),
    ("df_to_hour", df_to_hour),
    ("df_to_minute", df_to_minute),
    ("df_to_month", df_to_month),
    ("df_to_quarter", df_to_quarter),
    ("df_to_second", df_to_second),
    ("df_to_uint32", df_to_uint32),
    ("df_to_uint64", df_to_uint64),
    ("df_to_unix_timestamp", df_to_unix_timestamp),
    ("df_to_year", df_to_year),
    ("df_to_yyyymm", df_to_yyyymm),
    ("df_to_yyyymmdd", df_to_yyyymmdd),
    ("df_trim_both", df_trim_both),
    ("trim_left", trim_left),
    ("trim_right", trim_right),
    ("df_upper_ascii", df_upper_ascii),
    ("df_yesterday", df_yesterday),
    ("divide", divide),
    ("empty", empty),
    ("empty_sr", empty_sr),
    ("format_date_time", format_date_time),
    ("if_", if_),
    ("if_null", if_null),
    ("ilike_fn", ilike_fn),
    ("is_not_null", is_not_null),
    ("is_null", is_null),
    ("like_fn", like_fn),
    ("lower", lower),
    ("map_keys", map_keys),
    ("map_values", map_values),
    ("max", max),
    ("max_if", max_if),
    ("min", min),
    ("min_if", min_if),
    ("multi_if", multi_if),
    ("not_empty", not_empty),
    ("not_empty_sr", not_empty_sr),
    ("not_ilike_fn", not_ilike_fn),
    ("not_like_fn", not_like_fn),
    ("now", now),
    ("octet_length", octet_length),
    ("quantile_approx", quantile_approx),
    ("quantiles", quantiles),
    ("quantiles_if", quantiles_if),
    ("quantile_approx_if", quantile_approx_if),
    ("sr_arg_max", sr_arg_max),
    ("sr_arg_min", sr_arg_min),
    ("sr_avg", sr_avg),
    ("sr_avg_if", sr_avg_if),
    ("sr_concat", sr_concat),
    ("sr_date_diff", sr_date_diff),
    ("sr_greatest", sr_greatest),
    ("sr_int_div", sr_int_div),
    ("sr_least", sr_least),
    ("sr_length", sr_length),
    ("sr_map_contains", sr_map_contains),
    ("sr_match", sr_match),
    (
        "sr_parse_date_time_best_effort",
        sr_parse_date_time_best_effort,
    ),
    ("sr_quantile", sr_quantile),
    ("sr_round", sr_round),
    ("sr_replace_regexp_all", sr_replace_regexp_all),
    ("sr_start_of_fifteen_minutes", sr_start_of_fifteen_minutes),
    ("sr_start_of_five_minutes", sr_start_of_five_minutes),
    ("sr_start_of_interval", sr_start_of_interval),
    ("sr_to_date_time", sr_to_date_time),
    ("sr_to_day_of_month", sr_to_day_of_month),
    ("sr_to_day_of_week", sr_to_day_of_week),
    ("sr_to_day_of_year", sr_to_day_of_year),
    ("sr_to_hour", sr_to_hour),
    ("sr_to_minute", sr_to_minute),
    ("sr_to_month", sr_to_month),
    ("sr_to_quarter", sr_to_quarter),
    ("sr_to_second", sr_to_second),
    ("sr_to_unix_timestamp", sr_to_unix_timestamp),
    ("sr_to_year", sr_to_year),
    ("sr_to_yyyymm", sr_to_yyyymm),
    ("sr_to_yyyymmdd", sr_to_yyyymmdd),
    ("sr_today", sr_today),
    ("sr_trim_both", sr_trim_both),
    ("sr_yesterday", sr_yesterday),
    ("start_of_day", start_of_day),
    ("start_of_fifteen_minutes", start_of_fifteen_minutes),
    ("start_of_five_minutes", start_of_five_minutes),
    ("start_of_hour", start_of_hour),
    ("start_of_minute", start_of_minute),
    ("start_of_month", start_of_month),
    ("start_of_year", start_of_year),
    ("starts_with", starts_with),
    ("stddev_pop", stddev_pop),
    ("stddev_pop_if", stddev_pop_if),
    ("stddev_samp", stddev_samp),
    ("stddev_samp_if", stddev_samp_if),
    ("subtract_days", subtract_days),
    ("subtract_hours", subtract_hours),
    ("subtract_minutes", subtract_minutes),
    ("subtract_months", subtract_months),
    ("subtract_quarters", subtract_quarters),
    ("subtract_seconds", subtract_seconds),
    ("subtract_weeks", subtract_weeks),
    ("subtract_years", subtract_years),
    ("sum", sum),
    ("sum_if", sum_if),
    ("to_date", to_date),
    ("to_time_zone", to_time_zone),
    ("to_float64", to_float64),
    ("to_float64_or_null", to_float64_or_null),
    ("to_float64_or_zero", to_float64_or_zero),
    ("to_int32", to_int32),
    ("to_int32_or_null", to_int32_or_null),
    ("to_int32_or_zero", to_int32_or_zero),
    ("to_int64", to_int64),
    ("to_int64_or_null", to_int64_or_null),
    ("to_int64_or_zero", to_int64_or_zero),
    ("today", today),
    ("uniq_exact", uniq_exact),
    ("uniq_exact_if", uniq_exact_if),
    ("upper", upper),
    ("var_pop", var_pop),
    ("var_pop_if", var_pop_if),
    ("var_samp", var_samp),
    ("var_samp_if", var_samp_if),
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

/// Whether the aggregated argument is Nullable. An argument of unknown type counts as
/// non-Nullable, ClickHouse's default for a column.
fn nullable_argument(e: &Emitter, call: &FunctionCall) -> bool {
    call.args
        .first()
        .and_then(|a| e.type_of(a))
        .is_some_and(|t| t.nullable)
}

/// The aggregated argument's type, if known.
fn argument_type(e: &Emitter, call: &FunctionCall) -> Option<Type> {
    call.args.first().and_then(|a| e.type_of(a))
}

/// ClickHouse averages a decimal (and a UInt64, which backends present as
/// numeric(20,0)) as a Float64: the exact sum over the count, where DataFusion's `avg`
/// would stay decimal.
fn df_decimal_avg(
    e: &mut Emitter,
    call: &FunctionCall,
    with_if: bool,
    nullable: bool,
) -> ast::Expr {
    let (Some(total), Some(count)) = (
        simple_aggregate(e, call, "sum", with_if),
        simple_aggregate(e, call, "count", with_if),
    ) else {
        return or_null(None);
    };
    let double = |x| ast::Expr::Cast {
        kind: ast::CastKind::Cast,
        expr: Box::new(x),
        data_type: ast::DataType::DoublePrecision,
        format: None,
    };
    let avg = binary(double(total), ast::BinaryOperator::Divide, double(count));
    // Over no values: NULL / 0.0 is NULL in DataFusion.
    if nullable {
        avg
    } else {
        let nan = nan(e);
        coalesce(avg, nan)
    }
}

/// ClickHouse's `sum` is NULL over a Nullable argument with no value, 0 over any other.
fn sum(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let nullable = nullable_argument(e, call);
    let s = simple_aggregate(e, call, "sum", false);
    or_null(s.map(|s| if nullable { s } else { coalesce(s, zero()) }))
}

fn sum_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let nullable = nullable_argument(e, call);
    let s = simple_aggregate(e, call, "sum", true);
    or_null(s.map(|s| if nullable { s } else { coalesce(s, zero()) }))
}

fn nan(e: &mut Emitter) -> ast::Expr {
    let text = string(e, "NaN");
    cast(e, text, &crate::ir::DataType::Float64)
}

/// ClickHouse's `avg` is NULL over a Nullable argument with no value, NaN over any other.
fn avg(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    avg_of(e, call, false)
}

fn avg_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    avg_of(e, call, true)
}

fn avg_of(e: &mut Emitter, call: &FunctionCall, with_if: bool) -> ast::Expr {
    let nullable = nullable_argument(e, call);
    let decimal = argument_type(e, call).is_some_and(|t| t.is_decimal());
    if decimal && e.target == Target::DataFusion {
        return df_decimal_avg(e, call, with_if, nullable);
    }
    match simple_aggregate(e, call, "avg", with_if) {
        Some(a) if nullable => a,
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

/// ClickHouse's `quantile` keeps up to 8192 values per group and interpolates linearly
/// between the two nearest: exact on the small groups of per-minute panels. DataFusion
/// runs ClickHouse's own rule (`ch_quantile`, `crate::udf`) over every value, which
/// is that answer below 8192 values and within ClickHouse's own sampling error above.
/// Over no values ClickHouse gives NULL for a Nullable argument and NaN otherwise.
fn df_quantile(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(level) = quantile_level(e, call) else {
        return or_null(None);
    };
    let plain = FunctionCall {
        params: Vec::new(),
        ..call.clone()
    };
    let nullable = nullable_argument(e, &plain);
    let ty = argument_type(e, &plain);
    let Some((mut args, filter)) = aggregate_args(e, &plain, 1) else {
        return or_null(None);
    };
    // numeric(20,0) is how backends present ClickHouse's UInt64, whose quantile is a
    // Float64; other decimals keep their type, and read 0 over no values.
    let presented_uint64 = ty
        .as_ref()
        .is_some_and(|t| t.data_type == arrow::datatypes::DataType::Decimal128(20, 0));
    if presented_uint64 {
        args[0] = ast::Expr::Cast {
            kind: ast::CastKind::Cast,
            expr: Box::new(args[0].clone()),
            data_type: ast::DataType::DoublePrecision,
            format: None,
        };
    }
    args.push(level);
    let q = aggregate(e, "ch_quantile", args, false, Vec::new(), filter);
    match ty {
        _ if nullable => q,
        Some(t) if t.is_decimal() && !presented_uint64 => coalesce(q, zero()),
        // Dates and times: ClickHouse gives the epoch over no values; we give NULL.
        Some(t) if t.is_temporal() => q,
        _ => {
            let nan = nan(e);
            coalesce(q, nan)
        }
    }
}

fn df_median(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_quantile(e, call)
}

/// StarRocks' `percentile_cont` interpolates linearly over every value: ClickHouse's
/// exact regime (see `df_quantile`). StarRocks has no NaN, so no rows give NULL.
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
    aggregate(e, "percentile_cont", args, false, Vec::new(), filter)
}

/// `groupArray(x)` skips NULLs.
fn df_group_array(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_array_agg(e, call, call.distinct)
}

/// `array_agg` of the non-NULL values, `[]` (not NULL) over none, as ClickHouse's
/// `groupArray` / `groupUniqArray` give.
fn df_array_agg(e: &mut Emitter, call: &FunctionCall, distinct: bool) -> ast::Expr {
    let Some((args, filter)) = aggregate_args(e, call, 1) else {
        return or_null(None);
    };
    let not_null = ast::Expr::Nested(Box::new(ast::Expr::IsNotNull(Box::new(operand(
        args[0].clone(),
    )))));
    let agg = aggregate(
        e,
        "array_agg",
        args,
        distinct,
        Vec::new(),
        and(Some(not_null), filter),
    );
    coalesce(agg, function("make_array", Vec::new()))
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
        _ => return e.reject("toStartOfInterval with an interval that is not a constant"),
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
        // ClickHouse's weeks start on Monday, as DataFusion's (ISO) `date_trunc` weeks do.
        (None, 1) if matches!(unit.as_str(), "week" | "month" | "year" | "quarter") => {
            let unit = string(e, &unit);
            let t = function("date_trunc", vec![unit, ts]);
            cast(e, t, &crate::ir::DataType::Date)
        }
        _ => e.reject(format!("toStartOfInterval with INTERVAL '{interval}'")),
    }
}

/// `toTimeZone(t, 'UTC')`: the same instant shown in UTC, which is how every instant is
/// presented here; another zone changes the wall-clock text, so it is refused.
fn to_time_zone(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if call.args.len() != 2 {
        return e.reject("toTimeZone without a time zone");
    }
    let Some(call) = utc_only(e, call, 1) else {
        return or_null(None);
    };
    match scalar_args::<1>(e, &call) {
        Some([t]) => t,
        None => or_null(None),
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

/// `to<T>OrNull(s)`: `s` parsed as ClickHouse parses it, else NULL. DataFusion's casts
/// accept surrounding whitespace that ClickHouse refuses, so only text of the accepted
/// shape is cast: digits with an optional sign for integers, no whitespace for floats.
fn try_cast(e: &mut Emitter, call: &FunctionCall, ty: crate::ir::DataType) -> Option<ast::Expr> {
    let [x] = scalar_args(e, call)?;
    let data_type = match e.dialect.data_type(&ty) {
        Some(t) => t,
        None => {
            e.reject(format!("type {ty}"));
            return None;
        }
    };
    let shape = match ty {
        crate::ir::DataType::Float32 | crate::ir::DataType::Float64 => r"^\S+$",
        _ => "^[+-]?[0-9]+$",
    };
    let shape = string(e, shape);
    let parsed = ast::Expr::Cast {
        kind: ast::CastKind::TryCast,
        expr: Box::new(x.clone()),
        data_type,
        format: None,
    };
    let well_formed = function("regexp_like", vec![x, shape]);
    Some(ast::Expr::Case {
        case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![ast::CaseWhen {
            condition: well_formed,
            result: parsed,
        }],
        else_result: None,
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

/// `empty(x)` / `notEmpty(x)` on DataFusion: no bytes in a string, no elements in an
/// array or map (an untyped array fails to plan rather than answer wrongly).
fn empty(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    size_compared(e, call, ast::BinaryOperator::Eq)
}

fn not_empty(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    size_compared(e, call, ast::BinaryOperator::Gt)
}

fn size_compared(e: &mut Emitter, call: &FunctionCall, op: ast::BinaryOperator) -> ast::Expr {
    let container = call
        .args
        .first()
        .and_then(|a| e.type_of(a))
        .is_some_and(|t| t.is_array() || t.is_map());
    let size = if container {
        "cardinality"
    } else {
        "octet_length"
    };
    match scalar_args(e, call) {
        Some([x]) => binary(function(size, vec![x]), op, zero()),
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
/// ClickHouse's `length` on DataFusion: bytes of a string, elements of an array or map.
fn octet_length(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let container = call
        .args
        .first()
        .and_then(|a| e.type_of(a))
        .is_some_and(|t| t.is_array() || t.is_map());
    let name = if container {
        "cardinality"
    } else {
        "octet_length"
    };
    rename::<1>(e, call, name)
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
        _ => return e.reject("toStartOfInterval with an interval that is not a constant"),
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

// ---------------------------------------------------------------------------------------
// Literal arguments, runtime type tests and small AST builders for the handlers below.

fn number_text(text: impl Into<String>) -> ast::Expr {
    ast::Expr::value(ast::Value::Number(text.into(), false))
}

fn literal_string(expr: Option<&Expr>) -> Option<&str> {
    match expr {
        Some(Expr::Literal(Literal::String(s))) => Some(s),
        _ => None,
    }
}

fn literal_int(expr: Option<&Expr>) -> Option<i64> {
    match expr {
        Some(Expr::Literal(Literal::Int(i))) => Some(*i),
        Some(Expr::Unary {
            op: crate::ir::UnaryOp::Minus,
            expr,
        }) => literal_int(Some(expr)).and_then(i64::checked_neg),
        _ => None,
    }
}

/// The call with only its first `n` arguments (the rest checked as literals by the caller).
fn first_args(call: &FunctionCall, n: usize) -> FunctionCall {
    FunctionCall {
        args: call.args[..n.min(call.args.len())].to_vec(),
        ..call.clone()
    }
}

fn without_first_arg(call: &FunctionCall) -> FunctionCall {
    FunctionCall {
        args: call.args.iter().skip(1).cloned().collect(),
        ..call.clone()
    }
}

/// An optional trailing time-zone argument is accepted only when it names UTC, the zone
/// every switchyard session computes in.
fn utc_only(e: &mut Emitter, call: &FunctionCall, max_plain: usize) -> Option<FunctionCall> {
    let name = call.func.name().to_string();
    if call.args.len() <= max_plain {
        return Some(call.clone());
    }
    match literal_string(call.args.get(max_plain)) {
        Some("UTC" | "Etc/UTC") if call.args.len() == max_plain + 1 => {
            Some(first_args(call, max_plain))
        }
        _ => {
            e.reject(format!("{name} with a time zone other than 'UTC'"));
            None
        }
    }
}

/// DataFusion: `arrow_typeof(x) IN (types)`, a test on the argument's runtime type where
/// ClickHouse's semantics depend on it (the translator does not know column types).
fn arrow_type_in(x: ast::Expr, types: &[&str], e: &mut Emitter) -> ast::Expr {
    ast::Expr::In {
        expr: Box::new(function("arrow_typeof", vec![x])),
        target: ast::InTarget::List(types.iter().map(|t| string(e, t)).collect()),
        negated: false,
        global: false,
    }
}

fn interval_sr(value: ast::Expr, unit: &str) -> ast::Expr {
    ast::Expr::Interval(ast::Interval {
        value: Box::new(value),
        leading_field: Some(ast::DateTimeField::Custom(ast::Ident::new(
            unit.to_ascii_uppercase(),
        ))),
        leading_precision: None,
        last_field: None,
        fractional_seconds_precision: None,
    })
}

fn nan_or(e: &mut Emitter, x: ast::Expr) -> ast::Expr {
    let nan = nan(e);
    coalesce(x, nan)
}

// Time parts. ClickHouse reads them in the session time zone, UTC here as in every target
// switchyard talks to (StarRocks sessions run with time_zone '+00:00').

fn df_part(e: &mut Emitter, call: &FunctionCall, field: &str) -> ast::Expr {
    match utc_only(e, call, 1).and_then(|c| scalar_args::<1>(e, &c)) {
        Some([x]) => {
            let field = string(e, field);
            function("date_part", vec![field, x])
        }
        None => or_null(None),
    }
}

fn sr_part(e: &mut Emitter, call: &FunctionCall, name: &str) -> ast::Expr {
    match utc_only(e, call, 1).and_then(|c| scalar_args::<1>(e, &c)) {
        Some([x]) => function(name, vec![x]),
        None => or_null(None),
    }
}

macro_rules! part_handlers {
    ($($df:ident $sr:ident $field:literal $srname:literal;)*) => {$(
        fn $df(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
            df_part(e, call, $field)
        }
        fn $sr(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
            sr_part(e, call, $srname)
        }
    )*};
}

part_handlers! {
    df_to_second sr_to_second "second" "second";
    df_to_minute sr_to_minute "minute" "minute";
    df_to_hour sr_to_hour "hour" "hour";
    df_to_day_of_month sr_to_day_of_month "day" "dayofmonth";
    df_to_month sr_to_month "month" "month";
    df_to_quarter sr_to_quarter "quarter" "quarter";
    df_to_year sr_to_year "year" "year";
    df_to_day_of_year sr_to_day_of_year "doy" "dayofyear";
}

/// `toDayOfWeek(t)`: Monday = 1 … Sunday = 7 (ISO), DataFusion's `isodow`.
fn df_to_day_of_week(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_part(e, call, "isodow")
}

/// StarRocks' `dayofweek` counts Sunday = 1 … Saturday = 7; shifted to ISO.
fn sr_to_day_of_week(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match utc_only(e, call, 1).and_then(|c| scalar_args::<1>(e, &c)) {
        Some([x]) => {
            let shifted = binary(
                function("dayofweek", vec![x]),
                ast::BinaryOperator::Plus,
                number_text("5"),
            );
            let modulo = binary(shifted, ast::BinaryOperator::Modulo, number_text("7"));
            binary(modulo, ast::BinaryOperator::Plus, number_text("1"))
        }
        None => or_null(None),
    }
}

/// `toYYYYMM` / `toYYYYMMDD`: the calendar fields as one number.
fn yyyymm(
    e: &mut Emitter,
    call: &FunctionCall,
    with_day: bool,
    part: fn(&mut Emitter, ast::Expr, &str) -> ast::Expr,
) -> ast::Expr {
    let Some([x]) = utc_only(e, call, 1).and_then(|c| scalar_args::<1>(e, &c)) else {
        return or_null(None);
    };
    let year = part(e, x.clone(), "year");
    let month = part(e, x.clone(), "month");
    let (year_scale, month_scale) = if with_day {
        ("10000", "100")
    } else {
        ("100", "1")
    };
    let mut sum = binary(
        binary(year, ast::BinaryOperator::Multiply, number_text(year_scale)),
        ast::BinaryOperator::Plus,
        if with_day {
            binary(
                month,
                ast::BinaryOperator::Multiply,
                number_text(month_scale),
            )
        } else {
            month
        },
    );
    if with_day {
        let day = part(e, x, "day");
        sum = binary(sum, ast::BinaryOperator::Plus, day);
    }
    cast(e, sum, &crate::ir::DataType::Int64)
}

fn df_field(e: &mut Emitter, x: ast::Expr, field: &str) -> ast::Expr {
    let field = string(e, field);
    function("date_part", vec![field, x])
}

fn sr_field(_e: &mut Emitter, x: ast::Expr, field: &str) -> ast::Expr {
    let name = if field == "day" { "dayofmonth" } else { field };
    function(name, vec![x])
}

fn df_to_yyyymm(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    yyyymm(e, call, false, df_field)
}

fn df_to_yyyymmdd(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    yyyymm(e, call, true, df_field)
}

fn sr_to_yyyymm(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    yyyymm(e, call, false, sr_field)
}

fn sr_to_yyyymmdd(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    yyyymm(e, call, true, sr_field)
}

// Conversions to date-times.

/// `toDateTime(x)`: a string parsed, a number read as Unix seconds, a date-time truncated
/// to seconds; DataFusion's `to_timestamp_seconds` does each of these.
fn df_to_date_time(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    // A date is its midnight (UTC, the session's zone); DataFusion reads no date as seconds.
    let date = call
        .args
        .first()
        .and_then(|a| e.type_of(a))
        .is_some_and(|t| matches!(t.data_type, arrow::datatypes::DataType::Date32));
    match utc_only(e, call, 1).and_then(|c| scalar_args::<1>(e, &c)) {
        Some([x]) if date => {
            let midnight = cast(e, x, &crate::ir::DataType::Timestamp);
            function("to_timestamp_seconds", vec![midnight])
        }
        Some([x]) => function("to_timestamp_seconds", vec![x]),
        None => or_null(None),
    }
}

/// StarRocks: only a literal `'YYYY-MM-DD hh:mm:ss'` (or a date), whose meaning does not
/// depend on the argument's type.
fn sr_to_date_time(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(call) = utc_only(e, call, 1) else {
        return or_null(None);
    };
    match literal_string(call.args.first()) {
        Some(text) if plain_date_time(text).is_some() => {
            let value = string(e, &plain_date_time(text).expect("checked"));
            cast(e, value, &crate::ir::DataType::Timestamp)
        }
        _ => e.reject("toDateTime of anything but a literal 'YYYY-MM-DD[ hh:mm:ss]'"),
    }
}

/// `YYYY-MM-DD`, `YYYY-MM-DD hh:mm:ss`, with `T` and a trailing `Z` accepted, normalised to
/// `YYYY-MM-DD hh:mm:ss`; anything else is `None`.
fn plain_date_time(text: &str) -> Option<String> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = match text.len() {
        10 => (text, "00:00:00"),
        19 if matches!(text.as_bytes()[10], b' ' | b'T') => (&text[..10], &text[11..]),
        _ => return None,
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let shape = d.len() == 3
        && [4, 2, 2] == [d[0].len(), d[1].len(), d[2].len()]
        && t.len() == 3
        && t.iter().all(|p| p.len() == 2)
        && d.iter().chain(&t).all(|p| digits(p));
    let month: u32 = d.get(1)?.parse().ok()?;
    let day: u32 = d.get(2)?.parse().ok()?;
    let (h, m, s): (u32, u32, u32) = (t[0].parse().ok()?, t[1].parse().ok()?, t[2].parse().ok()?);
    (shape && (1..=12).contains(&month) && (1..=31).contains(&day) && h < 24 && m < 60 && s < 60)
        .then(|| format!("{date} {time}"))
}

/// `toDateTime64('literal', p)`: ClickHouse reads a number as seconds whatever `p` is, so
/// only string literals are translated (parsed, then truncated to `p` digits).
fn df_to_date_time64(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(call) = utc_only(e, call, 2) else {
        return or_null(None);
    };
    let name = match literal_int(call.args.get(1)) {
        Some(0) => "to_timestamp_seconds",
        Some(3) => "to_timestamp_millis",
        Some(6) => "to_timestamp_micros",
        Some(9) => "to_timestamp_nanos",
        _ => return e.reject("toDateTime64 with a precision other than 0, 3, 6 or 9"),
    };
    if literal_string(call.args.first()).is_none() {
        return e.reject("toDateTime64 of anything but a string literal");
    }
    match scalar_args::<1>(e, &first_args(&call, 1)) {
        Some([x]) => function(name, vec![x]),
        None => or_null(None),
    }
}

/// `parseDateTimeBestEffort('literal')` for the unambiguous ISO subset only (StarRocks).
fn sr_parse_best_effort(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(call) = utc_only(e, call, 1) else {
        return or_null(None);
    };
    match literal_string(call.args.first()).and_then(plain_date_time) {
        Some(text) if call.args.len() == 1 => {
            let value = string(e, &text);
            cast(e, value, &crate::ir::DataType::Timestamp)
        }
        _ => e.reject("parseDateTimeBestEffort of anything but a literal 'YYYY-MM-DD[ hh:mm:ss]'"),
    }
}

fn sr_parse_date_time_best_effort(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    sr_parse_best_effort(e, call)
}

/// `toUnixTimestamp(t)`: whole seconds, truncated.
fn df_to_unix_timestamp(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match utc_only(e, call, 1).and_then(|c| scalar_args::<1>(e, &c)) {
        Some([x]) => function("to_unixtime", vec![x]),
        None => or_null(None),
    }
}

fn sr_to_unix_timestamp(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match utc_only(e, call, 1).and_then(|c| scalar_args::<1>(e, &c)) {
        Some([x]) => function("unix_timestamp", vec![x]),
        None => or_null(None),
    }
}

fn df_yesterday(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !call.args.is_empty() {
        return e.reject("yesterday with arguments");
    }
    let today = today(e, call);
    let day = df_interval(e, 1, "day");
    let minus = binary(today, ast::BinaryOperator::Minus, day);
    cast(e, minus, &crate::ir::DataType::Date)
}

fn sr_yesterday(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !call.args.is_empty() {
        return e.reject("yesterday with arguments");
    }
    function(
        "date_sub",
        vec![
            function("curdate", Vec::new()),
            interval_sr(number_text("1"), "day"),
        ],
    )
}

/// `now64([p])`: now, truncated to `p` (default 3) fractional digits.
fn df_now64(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let unit = match (call.args.len(), literal_int(call.args.first())) {
        (0, _) | (1, Some(3)) => "millisecond",
        (1, Some(0)) => "second",
        (1, Some(6)) => "microsecond",
        _ => return e.reject("now64 with a precision other than 0, 3 or 6, or a time zone"),
    };
    let unit = string(e, unit);
    function("date_trunc", vec![unit, function("now", Vec::new())])
}

// Date arithmetic and differences.

/// ClickHouse interval units (`dateDiff`, `dateAdd`, `date_trunc`), normalised.
/// `dateDiff`'s unit: a string (`'hour'`) or, as ClickHouse also reads it, a bare keyword.
fn diff_unit(arg: Option<&Expr>) -> Option<&'static str> {
    match arg {
        Some(Expr::Column(c)) if c.qualifier.is_empty() => time_unit(&c.name),
        other => literal_string(other).and_then(time_unit),
    }
}

pub(super) fn time_unit(text: &str) -> Option<&'static str> {
    Some(match text.to_ascii_lowercase().as_str() {
        "second" | "seconds" | "ss" | "s" => "second",
        "minute" | "minutes" | "mi" | "n" => "minute",
        "hour" | "hours" | "hh" | "h" => "hour",
        "day" | "days" | "dd" | "d" => "day",
        "week" | "weeks" | "wk" | "ww" => "week",
        "month" | "months" | "mm" | "m" => "month",
        "quarter" | "quarters" | "qq" | "q" => "quarter",
        "year" | "years" | "yyyy" | "yy" => "year",
        _ => return None,
    })
}

fn df_interval(e: &mut Emitter, n: i64, unit: &str) -> ast::Expr {
    let (n, unit) = match unit {
        "quarter" => (n * 3, "month"),
        other => (n, other),
    };
    let text = string(e, &format!("{n} {unit}s"));
    cast(e, text, &crate::ir::DataType::Interval)
}

/// `x ± n unit` with a literal `n` (DataFusion builds intervals from literals only).
/// ClickHouse clamps month arithmetic to the month's last day, as both targets do.
fn add_interval(
    e: &mut Emitter,
    x: &Expr,
    n: Option<i64>,
    unit: &str,
    subtract: bool,
) -> ast::Expr {
    let op = if subtract {
        ast::BinaryOperator::Minus
    } else {
        ast::BinaryOperator::Plus
    };
    match e.target {
        Target::DataFusion => {
            let Some(n) = n else {
                return e.reject(format!("adding a non-literal number of {unit}s"));
            };
            let x = e.expr(x);
            let interval = df_interval(e, n, unit);
            binary(x, op, interval)
        }
        _ => {
            let Some(n) = n else {
                return e.reject(format!("adding a non-literal number of {unit}s"));
            };
            let x = e.expr(x);
            let (n, unit) = if unit == "quarter" {
                (n * 3, "month")
            } else {
                (n, unit)
            };
            binary(x, op, interval_sr(number_text(n.to_string()), unit))
        }
    }
}

/// `dateAdd(unit, n, x)` / `dateSub(unit, n, x)` (also `date_add`, `date_sub`), the unit a
/// bare keyword as ClickHouse requires (it rejects a quoted one), or `dateAdd(x, INTERVAL …)`.
fn date_add_unit(e: &mut Emitter, call: &FunctionCall, subtract: bool) -> ast::Expr {
    let name = call.func.name().to_string();
    let plain = call.params.is_empty() && call.over.is_none() && call.filter.is_none();
    let keyword = match call.args.first() {
        Some(Expr::Column(c)) if c.qualifier.is_empty() => time_unit(&c.name),
        _ => None,
    };
    match (keyword, call.args.as_slice(), plain) {
        (Some(unit), [_, n, x], true) => add_interval(e, x, literal_int(Some(n)), unit, subtract),
        (
            None,
            [x, Expr::Literal(Literal::Typed {
                value,
                ty: crate::ir::DataType::Interval,
            })],
            true,
        ) => match value
            .split_once(' ')
            .and_then(|(n, unit)| Some((n.parse::<i64>().ok()?, time_unit(unit)?)))
        {
            Some((n, unit)) => add_interval(e, x, Some(n), unit, subtract),
            None => e.reject(format!("{name} with INTERVAL '{value}'")),
        },
        _ => e.reject(format!(
            "{name} other than {name}(unit, n, x) or {name}(x, INTERVAL …)"
        )),
    }
}

fn date_add(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    date_add_unit(e, call, false)
}

fn date_sub(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    date_add_unit(e, call, true)
}

/// `addHours(x, n)`, `subtractWeeks(x, n)` and kin.
fn add_named(e: &mut Emitter, call: &FunctionCall, unit: &str, subtract: bool) -> ast::Expr {
    let name = call.func.name().to_string();
    let plain = call.params.is_empty() && call.over.is_none() && call.filter.is_none();
    if call.args.len() != 2 || !plain {
        return e.reject(format!("{name} with {} argument(s)", call.args.len()));
    }
    add_interval(
        e,
        &call.args[0],
        literal_int(call.args.get(1)),
        unit,
        subtract,
    )
}

macro_rules! add_handlers {
    ($($add:ident $sub:ident $unit:literal;)*) => {$(
        fn $add(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
            add_named(e, call, $unit, false)
        }
        fn $sub(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
            add_named(e, call, $unit, true)
        }
    )*};
}

add_handlers! {
    add_seconds subtract_seconds "second";
    add_minutes subtract_minutes "minute";
    add_hours subtract_hours "hour";
    add_days subtract_days "day";
    add_weeks subtract_weeks "week";
    add_months subtract_months "month";
    add_quarters subtract_quarters "quarter";
    add_years subtract_years "year";
}

/// `date_trunc('unit', x)` in ClickHouse SQL: a date-time for units up to a day, a Date for
/// week (Monday), month, quarter and year.
fn date_trunc_ch(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(call) = utc_only(e, call, 2) else {
        return or_null(None);
    };
    let Some(unit) = literal_string(call.args.first()).and_then(time_unit) else {
        return e.reject("date_trunc with a unit other than second … year");
    };
    let Some([x]) = scalar_args::<1>(e, &without_first_arg(&call)) else {
        return or_null(None);
    };
    let unit_text = string(e, unit);
    let truncated = function("date_trunc", vec![unit_text, x]);
    if matches!(unit, "week" | "month" | "quarter" | "year") {
        cast(e, truncated, &crate::ir::DataType::Date)
    } else {
        truncated
    }
}

/// `dateDiff('unit', a, b)` counts the unit boundaries crossed from `a` to `b` (not elapsed
/// whole units): `dateDiff('hour', 00:59, 01:00)` is 1. Both ends are truncated to the unit
/// first, which makes elapsed and crossed agree.
fn df_date_diff(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(call) = utc_only(e, call, 3) else {
        return or_null(None);
    };
    let Some(unit) = diff_unit(call.args.first()) else {
        return e.reject("dateDiff with a unit other than second … year");
    };
    let Some([a, b]) = scalar_args::<2>(e, &without_first_arg(&call)) else {
        return or_null(None);
    };
    let seconds = match unit {
        "second" => Some("1"),
        "minute" => Some("60"),
        "hour" => Some("3600"),
        "day" => Some("86400"),
        "week" => Some("604800"),
        _ => None,
    };
    let diff = if let Some(seconds) = seconds {
        let epoch = |e: &mut Emitter, x: ast::Expr| {
            let unit = string(e, unit);
            function("to_unixtime", vec![function("date_trunc", vec![unit, x])])
        };
        let (b, a) = (epoch(e, b), epoch(e, a));
        let diff = binary(b, ast::BinaryOperator::Minus, a);
        if seconds == "1" {
            diff
        } else {
            binary(diff, ast::BinaryOperator::Divide, number_text(seconds))
        }
    } else {
        // Months, quarters, years: differences of calendar ordinals.
        let ordinal = |e: &mut Emitter, x: ast::Expr| {
            let year = df_field(e, x.clone(), "year");
            match unit {
                "year" => year,
                _ => {
                    let (per_year, field) = if unit == "month" {
                        ("12", "month")
                    } else {
                        ("4", "quarter")
                    };
                    let part = df_field(e, x, field);
                    binary(
                        binary(year, ast::BinaryOperator::Multiply, number_text(per_year)),
                        ast::BinaryOperator::Plus,
                        part,
                    )
                }
            }
        };
        let (b, a) = (ordinal(e, b), ordinal(e, a));
        binary(b, ast::BinaryOperator::Minus, a)
    };
    cast(e, diff, &crate::ir::DataType::Int64)
}

/// StarRocks' `<unit>s_diff(b, a)` counts elapsed units; on unit-truncated ends that is the
/// number of boundaries crossed.
fn sr_date_diff(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(call) = utc_only(e, call, 3) else {
        return or_null(None);
    };
    let Some(unit) = diff_unit(call.args.first()) else {
        return e.reject("dateDiff with a unit other than second … year");
    };
    let Some([a, b]) = scalar_args::<2>(e, &without_first_arg(&call)) else {
        return or_null(None);
    };
    let trunc = |e: &mut Emitter, x: ast::Expr| {
        let unit = string(e, unit);
        function("date_trunc", vec![unit, x])
    };
    let (b, a) = (trunc(e, b), trunc(e, a));
    match unit {
        "quarter" => binary(
            function("months_diff", vec![b, a]),
            ast::BinaryOperator::MyIntegerDivide,
            number_text("3"),
        ),
        unit => function(&format!("{unit}s_diff"), vec![b, a]),
    }
}

/// `formatDateTime(t, 'format')`: ClickHouse's MySQL-style specifiers, one by one, into the
/// target's; a specifier without an exact counterpart is rejected.
fn format_date_time(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some(call) = utc_only(e, call, 2) else {
        return or_null(None);
    };
    let Some(format) = literal_string(call.args.get(1)).map(str::to_string) else {
        return e.reject("formatDateTime with a non-literal format");
    };
    let df = e.target == Target::DataFusion;
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            // chrono and MySQL both copy other characters; a lone '%' cannot occur here.
            out.push(c);
            continue;
        }
        let spec = chars.next();
        // (chrono for DataFusion, MySQL for StarRocks)
        let translated = match spec {
            Some('Y') => Some(("%Y", "%Y")),
            Some('m') => Some(("%m", "%m")),
            Some('d') => Some(("%d", "%d")),
            Some('H') => Some(("%H", "%H")),
            Some('i') => Some(("%M", "%i")),
            Some('S' | 's') => Some(("%S", "%S")),
            Some('e') => Some(("%-d", "%e")),
            Some('j') => Some(("%j", "%j")),
            Some('w') => Some(("%w", "%w")),
            Some('p') => Some(("%p", "%p")),
            Some('I' | 'h') => Some(("%I", "%h")),
            Some('a') => Some(("%a", "%a")),
            Some('b') => Some(("%b", "%b")),
            Some('M') => Some(("%B", "%M")),
            Some('y') => Some(("%y", "%y")),
            Some('F') => Some(("%Y-%m-%d", "%Y-%m-%d")),
            Some('T') => Some(("%H:%M:%S", "%H:%i:%S")),
            Some('R') => Some(("%H:%M", "%H:%i")),
            Some('D') => Some(("%m/%d/%y", "%m/%d/%y")),
            Some('n') => Some(("%n", "\n")),
            Some('t') => Some(("%t", "\t")),
            Some('%') => Some(("%%", "%%")),
            // ISO weekday, ISO week and year, century: chrono only.
            Some('u') if df => Some(("%u", "")),
            Some('V') if df => Some(("%V", "")),
            Some('G') if df => Some(("%G", "")),
            Some('C') if df => Some(("%C", "")),
            _ => None,
        };
        match translated {
            Some((chrono, mysql)) => out.push_str(if df { chrono } else { mysql }),
            None => {
                let spec = spec.map(String::from).unwrap_or_default();
                return e.reject(format!("formatDateTime specifier %{spec}"));
            }
        }
    }
    let Some([t]) = scalar_args::<1>(e, &first_args(&call, 1)) else {
        return or_null(None);
    };
    let format = string(e, &out);
    function(if df { "to_char" } else { "date_format" }, vec![t, format])
}

// Arithmetic.

/// `intDiv(a, b)`: the quotient truncated toward zero. DataFusion divides integers as
/// integers (an error on zero, as ClickHouse) and floats as floats, which the cast then
/// truncates (an infinite quotient fails the cast, as ClickHouse fails).
fn df_int_div(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args::<2>(e, call) {
        Some([a, b]) => {
            let q = binary(a, ast::BinaryOperator::Divide, b);
            cast(e, q, &crate::ir::DataType::Int64)
        }
        None => or_null(None),
    }
}

/// StarRocks' `DIV` truncates toward zero too (a zero divisor gives NULL, not an error).
fn sr_int_div(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args::<2>(e, call) {
        Some([a, b]) => binary(a, ast::BinaryOperator::MyIntegerDivide, b),
        None => or_null(None),
    }
}

/// `round(x[, n])`: ClickHouse rounds a float as `nearbyint(x * 10^n) / 10^n` (ties to
/// even), decimals and integers half away from zero. DataFusion's `round` is exact for
/// the latter and rounds float ties away from zero, so floats get the tie-to-even formula:
/// a tie `y` (fraction exactly .5) becomes `2 * round(y / 2)`, where `y / 2` is no tie.
/// Integer constants keep the arithmetic in the argument's own type (Float32 stays
/// Float32, an integer is never widened to a float by the branch it does not take).
fn df_round(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let places = match call.args.len() {
        1 => 0,
        2 => match literal_int(call.args.get(1)) {
            Some(n @ 0..=10) => n,
            _ => return e.reject("round with places other than a literal 0 … 10"),
        },
        n => return e.reject(format!("round with {n} arguments")),
    };
    let Some([x]) = scalar_args::<1>(e, &first_args(call, 1)) else {
        return or_null(None);
    };
    let factor = number_text(10_i64.pow(places as u32).to_string());
    let y = binary(x.clone(), ast::BinaryOperator::Multiply, factor.clone());
    let float = binary(round_ties_to_even(y), ast::BinaryOperator::Divide, factor);
    let is_float = arrow_type_in(x.clone(), &["Float64", "Float32"], e);
    let places = number_text(places.to_string());
    case(vec![(is_float, float)], function("round", vec![x, places]))
}

/// A float `y` rounded to an integer with ties to even (C's `rint`): DataFusion's
/// `round` takes ties away from zero, so a tie (fraction exactly .5) becomes
/// `2 * round(y / 2)`, where `y / 2` is no tie.
fn round_ties_to_even(y: ast::Expr) -> ast::Expr {
    let fraction = function(
        "abs",
        vec![binary(
            y.clone(),
            ast::BinaryOperator::Minus,
            function("trunc", vec![y.clone()]),
        )],
    );
    let is_tie = binary(fraction, ast::BinaryOperator::Eq, number_text("0.5"));
    let to_even = binary(
        function(
            "round",
            vec![binary(
                y.clone(),
                ast::BinaryOperator::Divide,
                number_text("2"),
            )],
        ),
        ast::BinaryOperator::Multiply,
        number_text("2"),
    );
    case(vec![(is_tie, to_even)], function("round", vec![y]))
}

/// A Postgres cast of a float to an integer type, on DataFusion: Postgres rounds ties
/// to even (`rint`) where DataFusion truncates. The operand's type is known only at run
/// time, so floats get their own branch; every branch must plan for any operand type,
/// hence the float branch works on `CAST(x AS DOUBLE)`, and the others (integers, text)
/// cast as before. Numerics still truncate (see the closing note of session 3).
pub(super) fn df_postgres_integer_cast(
    e: &mut Emitter,
    x: ast::Expr,
    data_type: ast::DataType,
) -> ast::Expr {
    let cast = |value: ast::Expr, data_type: ast::DataType| ast::Expr::Cast {
        kind: ast::CastKind::Cast,
        expr: Box::new(value),
        data_type,
        format: None,
    };
    // A numeric literal is numeric to Postgres (half away from zero), a float to
    // DataFusion: round it here, exactly.
    if let Some(rounded) = rounded_numeric_literal(&x) {
        return cast(number_text(rounded), data_type);
    }
    if let ast::Expr::Value(v) = &x {
        if matches!(v.value, ast::Value::SingleQuotedString(_)) {
            return cast(x, data_type);
        }
    }
    let is_float = arrow_type_in(x.clone(), &["Float64", "Float32", "Float16"], e);
    let float = cast(x.clone(), ast::DataType::DoublePrecision);
    case(
        vec![(is_float, cast(round_ties_to_even(float), data_type.clone()))],
        cast(x, data_type),
    )
}

/// `2.5` → `3`, `-2.5` → `-3`, `7` → `7`: a decimal literal (optionally negated)
/// rounded half away from zero, as Postgres casts a numeric to an integer. None for
/// anything else (exponents included).
fn rounded_numeric_literal(x: &ast::Expr) -> Option<String> {
    let (negative, text) = match x {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(text, _) => (false, text.as_str()),
            _ => return None,
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(text, _) => (true, text.as_str()),
                _ => return None,
            },
            _ => return None,
        },
        ast::Expr::Nested(inner) => return rounded_numeric_literal(inner),
        _ => return None,
    };
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (!negative, rest),
        None => (negative, text),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut magnitude: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if fraction.bytes().next().is_some_and(|b| b >= b'5') {
        magnitude += 1;
    }
    Some(if negative && magnitude != 0 {
        format!("-{magnitude}")
    } else {
        magnitude.to_string()
    })
}

fn floor_ceil(e: &mut Emitter, call: &FunctionCall, name: &str) -> ast::Expr {
    if call.args.len() != 1 {
        return e.reject(format!("{} with a number of places", call.func.name()));
    }
    rename::<1>(e, call, name)
}

/// `round(x[, n])` on StarRocks, by the argument's type: a decimal or an integer rounds
/// half away from zero in both engines; a float rounds ties to even in ClickHouse and
/// away from zero in StarRocks, so floats (and arguments of unknown type) are refused.
fn sr_round(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let exact = call
        .args
        .first()
        .and_then(|a| e.type_of(a))
        .is_some_and(|t| t.is_decimal() || t.is_integer());
    if !exact {
        return e.reject(
            "round of a float or of a value of unknown type (ClickHouse rounds float ties to even)",
        );
    }
    match call.args.len() {
        1 => rename::<1>(e, call, "round"),
        2 if literal_int(call.args.get(1)).is_some() => rename::<2>(e, call, "round"),
        _ => e.reject("round with places other than a literal"),
    }
}

fn df_floor(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    floor_ceil(e, call, "floor")
}

fn df_ceil(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    floor_ceil(e, call, "ceil")
}

/// `greatest`/`least` skip NULL arguments in ClickHouse, as in DataFusion.
fn df_greatest(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    variadic(e, call, "greatest")
}

fn df_least(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    variadic(e, call, "least")
}

fn variadic(e: &mut Emitter, call: &FunctionCall, name: &str) -> ast::Expr {
    let plain =
        call.params.is_empty() && call.over.is_none() && call.filter.is_none() && !call.distinct;
    if !plain || call.args.is_empty() {
        return e.reject(format!(
            "{} with parameters or no arguments",
            call.func.name()
        ));
    }
    let args = call.args.iter().map(|a| e.expr(a)).collect();
    function(name, args)
}

/// StarRocks' `greatest` is NULL if any argument is: each argument is replaced by the first
/// non-NULL of it and the others, which leaves the greatest of the non-NULL ones.
fn sr_greatest(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    sr_skip_nulls(e, call, "greatest")
}

fn sr_least(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    sr_skip_nulls(e, call, "least")
}

fn sr_skip_nulls(e: &mut Emitter, call: &FunctionCall, name: &str) -> ast::Expr {
    let ast::Expr::Function(f) = variadic(e, call, name) else {
        return or_null(None);
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return or_null(None);
    };
    let args: Vec<ast::Expr> = list
        .args
        .iter()
        .filter_map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x.clone()),
            _ => None,
        })
        .collect();
    let rotated = (0..args.len())
        .map(|i| {
            let mut order = vec![args[i].clone()];
            order.extend(
                args.iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, a)| a.clone()),
            );
            function("coalesce", order)
        })
        .collect();
    function(name, rotated)
}

// Variance family: NaN where ClickHouse gives NaN (fewer rows than the estimator needs).

fn spread(e: &mut Emitter, call: &FunctionCall, name: &str, with_if: bool) -> ast::Expr {
    match simple_aggregate(e, call, name, with_if) {
        Some(a) if e.target == Target::DataFusion => nan_or(e, a),
        Some(a) => a,
        None => or_null(None),
    }
}

macro_rules! spread_handlers {
    ($($plain:ident $if_:ident $name:literal;)*) => {$(
        fn $plain(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
            spread(e, call, $name, false)
        }
        fn $if_(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
            spread(e, call, $name, true)
        }
    )*};
}

spread_handlers! {
    stddev_pop stddev_pop_if "stddev_pop";
    stddev_samp stddev_samp_if "stddev_samp";
    var_pop var_pop_if "var_pop";
    var_samp var_samp_if "var_samp";
}

// More aggregates.

/// `anyLast` is, like `any`, "some value of the group": `max` is one.
fn any_last(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "max", false))
}

fn any_last_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(simple_aggregate(e, call, "max", true))
}

/// `groupUniqArray(x)`: the distinct non-NULL values, in no particular order.
fn df_group_uniq_array(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_array_agg(e, call, true)
}

/// `quantileExact(level)(x)`: ClickHouse sorts the non-NULL values and picks the one at
/// 0-based index `floor(level * n)` (the last one for level 1), no interpolation.
fn df_quantile_exact_impl(e: &mut Emitter, call: &FunctionCall, with_if: bool) -> ast::Expr {
    let level = match call.params.as_slice() {
        [] => 0.5,
        [Expr::Literal(Literal::Numeric(text))] => match text.parse::<f64>() {
            Ok(l) => l,
            Err(_) => return e.reject("quantileExact with a non-literal level"),
        },
        [Expr::Literal(Literal::Float(l))] => *l,
        [Expr::Literal(Literal::Int(i @ 0..=1))] => *i as f64,
        _ => return e.reject("quantileExact with a non-literal level"),
    };
    if !(0.0..=1.0).contains(&level) {
        return e.reject("quantileExact with a level outside [0, 1]");
    }
    let plain = FunctionCall {
        params: Vec::new(),
        ..call.clone()
    };
    let Some((mut args, filter)) = aggregate_args(e, &plain, if with_if { 2 } else { 1 }) else {
        return or_null(None);
    };
    let cond = if with_if { args.pop() } else { None };
    let x = args.pop().expect("one argument");
    let filter = and(cond, filter);
    let not_null = ast::Expr::Nested(Box::new(ast::Expr::IsNotNull(Box::new(operand(x.clone())))));
    let values = aggregate(
        e,
        "array_agg",
        vec![x.clone()],
        false,
        Vec::new(),
        and(Some(not_null), filter.clone()),
    );
    let count = aggregate(e, "count", vec![x], false, Vec::new(), filter);
    let index = if level >= 1.0 {
        count
    } else {
        let product = binary(
            number_text(format!("{level:?}")),
            ast::BinaryOperator::Multiply,
            count,
        );
        let floor = cast(
            e,
            function("floor", vec![product]),
            &crate::ir::DataType::Int64,
        );
        binary(floor, ast::BinaryOperator::Plus, number_text("1"))
    };
    function(
        "array_element",
        vec![function("array_sort", vec![values]), index],
    )
}

fn df_quantile_exact(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_quantile_exact_impl(e, call, false)
}

fn df_quantile_exact_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_quantile_exact_impl(e, call, true)
}

/// `quantiles(l1, l2, …)(x)` (and `quantilesTDigest`): an array of approximate quantiles.
fn quantiles(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if call.params.is_empty() {
        return e.reject("quantiles without levels");
    }
    let mut items = Vec::new();
    for level in &call.params {
        let single = FunctionCall {
            params: vec![level.clone()],
            ..call.clone()
        };
        items.push(if e.target == Target::DataFusion {
            df_quantile(e, &single)
        } else {
            sr_quantile(e, &single)
        });
    }
    if e.target == Target::DataFusion {
        function("make_array", items)
    } else {
        ast::Expr::Array(ast::Array {
            elem: items,
            named: false,
        })
    }
}

fn quantile_approx(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if e.target == Target::DataFusion {
        df_quantile(e, call)
    } else {
        sr_quantile(e, call)
    }
}

/// The `-If` combinator: `fIf(x, cond)` is `f(x)` over the rows where `cond` holds, i.e.
/// `f(x) FILTER (WHERE cond)` (the base handler spells the filter for its target).
fn if_combinator(e: &mut Emitter, call: &FunctionCall, base: Handler) -> ast::Expr {
    let Some((cond, args)) = call.args.split_last() else {
        return e.reject(format!("{} without arguments", call.func.name()));
    };
    let filter = match &call.filter {
        Some(f) => Expr::Binary {
            left: f.clone(),
            op: crate::ir::BinaryOp::And,
            right: Box::new(cond.clone()),
        },
        None => cond.clone(),
    };
    let plain = FunctionCall {
        args: args.to_vec(),
        filter: Some(Box::new(filter)),
        ..call.clone()
    };
    base(e, &plain)
}

fn quantile_approx_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if_combinator(e, call, quantile_approx)
}

fn df_group_uniq_array_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if_combinator(e, call, df_group_uniq_array)
}

fn quantiles_if(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if_combinator(e, call, quantiles)
}

// Strings.

/// ClickHouse's `upper`/`lower` change ASCII letters only.
fn ascii_case(e: &mut Emitter, call: &FunctionCall, to_upper: bool) -> ast::Expr {
    let Some([s]) = scalar_args::<1>(e, call) else {
        return or_null(None);
    };
    let (lower, upper) = ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    let (from, to) = if to_upper {
        (lower, upper)
    } else {
        (upper, lower)
    };
    let (from, to) = (string(e, from), string(e, to));
    function("translate", vec![s, from, to])
}

fn df_upper_ascii(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    ascii_case(e, call, true)
}

fn df_lower_ascii(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    ascii_case(e, call, false)
}

/// `concat(a, b, …)` is NULL if any argument is: `||` (DataFusion's `concat` skips NULLs).
/// ClickHouse's JSON functions run as our DataFusion UDFs (src/udf/json.rs), which
/// follow ClickHouse's path rules and answers.
fn df_json(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_udf(e, call, &crate::udf::json::FUNCTIONS)
}

/// The UDF `table` pairs with the call's ClickHouse name, called with the same arguments.
fn df_udf(e: &mut Emitter, call: &FunctionCall, table: &[(&str, &str)]) -> ast::Expr {
    let name = call.func.name();
    match table.iter().find(|(clickhouse, _)| *clickhouse == name) {
        Some((_, udf)) => variadic(e, call, udf),
        None => e.reject(format!("function {name}")),
    }
}

/// ClickHouse's best-effort date-time parsing and `fromUnixTimestamp64*` run as our
/// DataFusion UDFs (src/udf/parse_time.rs), a port of ClickHouse's own parser.
fn df_parse_time(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_udf(e, call, &crate::udf::parse_time::FUNCTIONS)
}

/// ClickHouse's toString picks its text by the value's type, which only run time knows
/// here: our UDF does the same (src/udf/to_string.rs).
fn df_to_string(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, crate::udf::to_string::NAME)
}

fn df_concat(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let ast::Expr::Function(f) = variadic(e, call, "concat") else {
        return or_null(None);
    };
    let ast::FunctionArguments::List(list) = f.args else {
        return or_null(None);
    };
    let mut args = list.args.into_iter().filter_map(|a| match a {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x),
        _ => None,
    });
    let first = args.next().expect("at least one argument");
    args.fold(first, |acc, x| ast::Expr::BinaryOp {
        left: Box::new(operand(acc)),
        op: ast::BinaryOperator::StringConcat,
        right: Box::new(operand(x)),
    })
}

/// StarRocks' `concat` is NULL if any argument is, as ClickHouse's.
fn sr_concat(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    variadic(e, call, "concat")
}

/// `position(haystack, needle)`: a 1-based byte offset, 0 when absent. DataFusion's
/// `strpos` counts characters; the bytes before the match give the byte offset.
fn byte_position(h: ast::Expr, n: ast::Expr) -> ast::Expr {
    let at = function("strpos", vec![h.clone(), n]);
    let found = binary(at.clone(), ast::BinaryOperator::Eq, zero());
    let before = function(
        "left",
        vec![h, binary(at, ast::BinaryOperator::Minus, number_text("1"))],
    );
    let bytes = binary(
        function("octet_length", vec![before]),
        ast::BinaryOperator::Plus,
        number_text("1"),
    );
    case(vec![(found, zero())], bytes)
}

fn df_position(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args::<2>(e, call) {
        Some([h, n]) => byte_position(h, n),
        None => or_null(None),
    }
}

/// `positionCaseInsensitive`: ASCII letters compare without case (bytes keep their
/// offsets under ASCII case mapping).
fn df_position_case_insensitive(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    let Some([h, n]) = scalar_args::<2>(e, call) else {
        return or_null(None);
    };
    let fold = |e: &mut Emitter, x: ast::Expr| {
        let from = string(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        let to = string(e, "abcdefghijklmnopqrstuvwxyz");
        function("translate", vec![x, from, to])
    };
    let (h, n) = (fold(e, h), fold(e, n));
    byte_position(h, n)
}

fn df_position_utf8(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<2>(e, call, "strpos")
}

fn trim_handler(e: &mut Emitter, call: &FunctionCall, name: &str) -> ast::Expr {
    rename::<1>(e, call, name)
}

fn trim_left(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    trim_handler(e, call, "ltrim")
}

fn trim_right(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    trim_handler(e, call, "rtrim")
}

fn df_trim_both(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    trim_handler(e, call, "btrim")
}

fn sr_trim_both(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    trim_handler(e, call, "trim")
}

/// `splitByChar(sep, s)`: ClickHouse splits '' into [''], DataFusion into [].
fn df_split_by_char(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match literal_string(call.args.first()) {
        Some(sep) if sep.len() == 1 => {}
        _ => return e.reject("splitByChar with a separator other than one literal byte"),
    }
    let Some([sep, s]) = scalar_args::<2>(e, call) else {
        return or_null(None);
    };
    let empty_string = string(e, "");
    let is_empty = binary(s.clone(), ast::BinaryOperator::Eq, empty_string.clone());
    case(
        vec![(is_empty, function("make_array", vec![empty_string]))],
        function("string_to_array", vec![s, sep]),
    )
}

fn like_call(
    e: &mut Emitter,
    call: &FunctionCall,
    negated: bool,
    case_insensitive: bool,
) -> ast::Expr {
    let plain = call.params.is_empty() && call.over.is_none() && call.filter.is_none();
    if call.args.len() != 2 || !plain {
        return e.reject(format!(
            "{} with {} argument(s)",
            call.func.name(),
            call.args.len()
        ));
    }
    e.expr(&Expr::Like {
        expr: Box::new(call.args[0].clone()),
        pattern: Box::new(call.args[1].clone()),
        negated,
        case_insensitive,
    })
}

fn like_fn(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    like_call(e, call, false, false)
}

fn not_like_fn(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    like_call(e, call, true, false)
}

fn ilike_fn(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    like_call(e, call, false, true)
}

fn not_ilike_fn(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    like_call(e, call, true, true)
}

/// Regular expressions in the subset where ClickHouse's re2 and the target's engine agree:
/// no Perl classes (`\d`, `\w`, `\s`, `\b` are ASCII in re2, Unicode in Rust's regex), no
/// flags or special groups (`(?…)`) except non-capturing `(?:…)`, ASCII only; the error
/// names what is outside it.
fn portable_regex(pattern: &str) -> Result<(), String> {
    if !pattern.is_ascii() {
        return Err("a non-ASCII regular expression".into());
    }
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(d) if "dDwWsSbBpPQEzAC".contains(d) || d.is_ascii_digit() => {
                    return Err(format!("regular expression escape \\{d}"))
                }
                _ => {}
            },
            '(' if chars.peek() == Some(&'?') => {
                chars.next();
                if chars.peek() != Some(&':') {
                    return Err("regular expression group (?…)".into());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A pattern that cannot match the empty string (ClickHouse's replaceRegexp* skips empty
/// matches; re2's and Rust's global replacement insert at them): no `*`, `?`, `{`, `|`,
/// and something besides anchors and groups; or a letter every match must contain.
fn never_empty(pattern: &str) -> bool {
    let plain = !pattern.contains(['*', '?', '{', '|'])
        && pattern
            .replace("\\b", "")
            .replace("\\B", "")
            .chars()
            .any(|c| !"^$()".contains(c));
    plain || has_required_letter(pattern)
}

/// Does every match contain some letter or digit? True when one stands at the top level
/// (outside groups and classes, unescaped, not quantified) of a pattern without top-level
/// alternation, e.g. `^https?://(?:www\.)?([^/]+)/.*$` needs its `h`.
fn has_required_letter(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let (mut depth, mut in_class, mut found) = (0usize, false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => return false,
            c if c.is_ascii_alphanumeric() && !in_class && depth == 0 => {
                let quantified = matches!(chars.get(i + 1), Some('?' | '*' | '{'));
                found |= !quantified;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn regex_arg(e: &mut Emitter, call: &FunctionCall, index: usize, replacing: bool) -> bool {
    let name = call.func.name().to_string();
    let Some(pattern) = literal_string(call.args.get(index)) else {
        e.reject(format!("{name} with a non-literal pattern"));
        return false;
    };
    if let Err(construct) = portable_regex(pattern) {
        e.reject(format!("{name} with {construct}"));
        return false;
    }
    if replacing && !never_empty(pattern) {
        e.reject(format!(
            "{name} with a pattern that may match the empty string"
        ));
        return false;
    }
    true
}

fn df_match(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !regex_arg(e, call, 1, false) {
        return or_null(None);
    }
    rename::<2>(e, call, "regexp_like")
}

fn sr_match(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !regex_arg(e, call, 1, false) {
        return or_null(None);
    }
    rename::<2>(e, call, "regexp")
}

/// ClickHouse replacements refer to groups as `\0`–`\9`; Rust's regex as `${0}`–`${9}`,
/// with `$` itself written `$$`.
fn rust_replacement(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                d @ '0'..='9' => out.push_str(&format!("${{{d}}}")),
                '\\' => out.push('\\'),
                _ => return None,
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    Some(out)
}

fn df_replace_regexp(e: &mut Emitter, call: &FunctionCall, all: bool) -> ast::Expr {
    if !regex_arg(e, call, 1, true) {
        return or_null(None);
    }
    let Some(replacement) = literal_string(call.args.get(2)).and_then(rust_replacement) else {
        return e.reject(format!(
            "{} with a non-literal or unusual replacement",
            call.func.name()
        ));
    };
    let Some([s, p, _]) = scalar_args::<3>(e, call) else {
        return or_null(None);
    };
    let mut args = vec![s, p, string(e, &replacement)];
    if all {
        args.push(string(e, "g"));
    }
    function("regexp_replace", args)
}

fn df_replace_regexp_all(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_replace_regexp(e, call, true)
}

fn df_replace_regexp_one(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_replace_regexp(e, call, false)
}

/// StarRocks' `regexp_replace` replaces every match, with re2's `\N` references as
/// ClickHouse writes them.
fn sr_replace_regexp_all(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if !regex_arg(e, call, 1, true) {
        return or_null(None);
    }
    if literal_string(call.args.get(2))
        .and_then(rust_replacement)
        .is_none()
    {
        return e.reject(format!(
            "{} with a non-literal or unusual replacement",
            call.func.name()
        ));
    }
    rename::<3>(e, call, "regexp_replace")
}

// Maps.

fn map_keys(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "map_keys")
}

fn map_values(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    rename::<1>(e, call, "map_values")
}

fn df_map_contains(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args::<2>(e, call) {
        Some([m, k]) => function("array_has", vec![function("map_keys", vec![m]), k]),
        None => or_null(None),
    }
}

fn sr_map_contains(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    match scalar_args::<2>(e, call) {
        Some([m, k]) => function("array_contains", vec![function("map_keys", vec![m]), k]),
        None => or_null(None),
    }
}

/// ClickHouse `m['key']` of a map gives the value type's default when the key is absent.
/// DataFusion gives NULL, so the default is supplied: `''`, which DataFusion cannot
/// coerce to a number (a map of numbers fails to plan rather than answer wrongly). Other
/// subscripts (array indexes, non-literal keys) and other targets are rejected.
/// ClickHouse's `m[key]` / `a[i]`: a missing key or an index out of range reads as the
/// value type's default ('' or 0) unless the value type is Nullable (then NULL). The
/// other targets give NULL, so a non-Nullable value gets its default back with
/// `coalesce`. A value of unknown type is taken as a non-Nullable String, a form that
/// fails to plan (never answers differently) if it is something else.
pub(super) fn clickhouse_subscript(e: &mut Emitter, expr: &Expr, index: &Expr) -> ast::Expr {
    let value = e.type_of(expr).and_then(|container| container.element());
    let element = ast::Expr::CompoundFieldAccess {
        root: Box::new(operand(e.expr(expr))),
        access_chain: vec![ast::AccessExpr::Subscript(ast::Subscript::Index {
            index: e.expr(index),
        })],
    };
    match value {
        Some(value) if value.nullable => element,
        Some(value) => match default_of(e, &value) {
            Some(default) => coalesce(element, default),
            None => e.reject(format!(
                "subscript x[…] of {} values (ClickHouse gives the type's default when absent)",
                value.data_type
            )),
        },
        // Unknown: only a string key on DataFusion, read as a String value ('' when
        // absent); DataFusion cannot coalesce another value type with '' and says so.
        None if e.target == Target::DataFusion
            && matches!(index, Expr::Literal(Literal::String(_))) =>
        {
            let empty = string(e, "");
            coalesce(element, empty)
        }
        None => e.reject(
            "subscript x[…] of unknown type (ClickHouse gives the type's default when absent)",
        ),
    }
}

/// The default value ClickHouse fills in for a type (missing map keys, unmatched outer
/// join columns): 0, '', false, the epoch; `None` for types without a spelled default.
fn default_of(e: &mut Emitter, ty: &Type) -> Option<ast::Expr> {
    use arrow::datatypes::DataType as A;
    Some(match &ty.data_type {
        _ if ty.is_string() => string(e, ""),
        // A decimal's 0 as an integer: every target widens it to the decimal's type.
        _ if ty.is_integer() || ty.is_float() || ty.is_decimal() => zero(),
        A::Boolean => ast::Expr::value(ast::Value::Boolean(false)),
        _ => return None,
    })
}

/// `map(k1, v1, k2, v2, …)`: DataFusion's `map([keys], [values])`.
fn df_map(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    if call.args.is_empty() || call.args.len() % 2 != 0 {
        return e.reject("map with an odd number of arguments");
    }
    let ast::Expr::Function(f) = variadic(e, call, "map") else {
        return or_null(None);
    };
    let ast::FunctionArguments::List(list) = f.args else {
        return or_null(None);
    };
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    for (i, arg) in list.args.into_iter().enumerate() {
        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = arg {
            if i % 2 == 0 {
                keys.push(x)
            } else {
                values.push(x)
            }
        }
    }
    function(
        "map",
        vec![function("make_array", keys), function("make_array", values)],
    )
}

// Unsigned and narrower conversions.

/// `toUInt32(x)` / `toUInt64(x)`: DataFusion's unsigned casts truncate floats and parse
/// strings as ClickHouse does; a negative value fails the cast where ClickHouse wraps it
/// around (an error, never a different answer).
fn df_unsigned(e: &mut Emitter, call: &FunctionCall, data_type: ast::DataType) -> ast::Expr {
    match scalar_args::<1>(e, call) {
        Some([x]) => ast::Expr::Cast {
            kind: ast::CastKind::Cast,
            expr: Box::new(x),
            data_type,
            format: None,
        },
        None => or_null(None),
    }
}

fn df_to_uint32(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_unsigned(e, call, ast::DataType::IntUnsigned(None))
}

fn df_to_uint64(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    df_unsigned(e, call, ast::DataType::BigIntUnsigned(None))
}

fn to_int32_or_zero(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(try_cast(e, call, crate::ir::DataType::Int32).map(|x| coalesce(x, zero())))
}

fn to_int32_or_null(e: &mut Emitter, call: &FunctionCall) -> ast::Expr {
    or_null(try_cast(e, call, crate::ir::DataType::Int32))
}

/// The DataFusion translations compute what ClickHouse computes: each expected value was
/// read from ClickHouse 26.9 (chdb) for the same ClickHouse expression.
#[cfg(test)]
mod against_clickhouse_values {

    #[test]
    fn regex_subset_and_empty_matches() {
        use super::{never_empty, portable_regex};
        assert!(portable_regex("^https?://(?:www\\.)?([^/]+)/.*$").is_ok());
        assert!(portable_regex("(?i)abc").is_err());
        assert!(portable_regex("(?=a)").is_err());
        assert!(never_empty("^https?://(?:www\\.)?([^/]+)/.*$"));
        assert!(never_empty("abc"));
        assert!(!never_empty("a?"));
        assert!(!never_empty("a|b*"));
        assert!(!never_empty("[a-z]*"));
        assert!(!never_empty("(ab)*"));
    }

    use datafusion::arrow::util::display::array_value_to_string;
    use datafusion::prelude::SessionContext;

    use crate::emit::{translate, EmitContext, Target};
    use crate::sql::DialectSetting;

    const CASES: &[(&str, &str)] = &[
        // dateDiff counts unit boundaries crossed, not elapsed units.
        ("dateDiff('hour', toDateTime('2024-01-01 00:59:00'), toDateTime('2024-01-01 01:00:00'))", "1"),
        ("dateDiff('minute', toDateTime('2024-01-01 00:00:59'), toDateTime('2024-01-01 00:01:00'))", "1"),
        ("dateDiff('day', toDateTime('2024-01-01 23:59:59'), toDateTime('2024-01-02 00:00:00'))", "1"),
        ("dateDiff('second', toDateTime64('2024-01-01 00:00:00.900', 3), toDateTime64('2024-01-01 00:00:01.100', 3))", "1"),
        ("dateDiff('second', toDateTime64('2024-01-01 00:00:01.100', 3), toDateTime64('2024-01-01 00:00:00.900', 3))", "-1"),
        ("dateDiff('month', toDate('2024-01-31'), toDate('2024-02-01'))", "1"),
        ("dateDiff('week', toDate('2024-01-06'), toDate('2024-01-07'))", "0"),
        ("dateDiff('week', toDate('2024-01-07'), toDate('2024-01-08'))", "1"),
        ("dateDiff('quarter', toDate('2024-03-31'), toDate('2024-04-01'))", "1"),
        ("dateDiff('year', toDate('2023-12-31'), toDate('2024-01-01'))", "1"),
        // Monday = 1 … Sunday = 7.
        ("toDayOfWeek(toDate('2024-01-07'))", "7"),
        ("toDayOfWeek(toDate('2024-01-08'))", "1"),
        ("toDayOfYear(toDate('2024-12-31'))", "366"),
        ("toQuarter(toDate('2024-05-01'))", "2"),
        ("toYYYYMM(toDateTime('2024-05-01 00:00:00'))", "202405"),
        ("toDateTime(1748476800)", "2025-05-29T00:00:00"),
        ("toUnixTimestamp(toDateTime64('2024-01-01 00:00:00.9', 3))", "1704067200"),
        ("date_trunc('week', toDateTime('2024-01-07 10:00:00'))", "2024-01-01"),
        ("date_trunc('hour', toDateTime('2024-01-07 10:59:00'))", "2024-01-07T10:00:00"),
        ("addMonths(toDate('2024-01-31'), 1)", "2024-02-29"),
        ("subtractWeeks(toDateTime('2024-01-15 00:00:00'), 2)", "2024-01-01T00:00:00"),
        ("dateAdd(minute, 90, toDateTime('2024-01-01 00:00:00'))", "2024-01-01T01:30:00"),
        ("dateSub(HOUR, 2, toDateTime('2024-01-01 00:00:00'))", "2023-12-31T22:00:00"),
        (
            "formatDateTime(toDateTime('2024-01-07 10:00:00'), '%Y-%m-%d %H:%i:%S %e %M %j %u %p %I %F %T')",
            "2024-01-07 10:00:00 7 January 007 7 AM 10 2024-01-07 10:00:00",
        ),
        // Float ties to even; decimals and integers unchanged in kind.
        ("round(0.125, 2)", "0.12"),
        ("round(2.675, 2)", "2.68"),
        ("round(0.135, 2)", "0.14"),
        ("round(2.5)", "2"),
        ("round(3.5)", "4"),
        ("round(toInt64(9007199254740993))", "9007199254740993"),
        ("intDiv(toInt64(-7), 2)", "-3"),
        ("intDiv(7.9, 2)", "3"),
        ("intDiv(-7, 2.5)", "-2"),
        ("greatest(1, NULL, 3)", "3"),
        ("least(2, NULL)", "2"),
        // Strings: bytes, ASCII-only case mapping, NULL-propagating concat.
        ("position('héllo', 'l')", "4"),
        ("positionCaseInsensitive('ABC', 'b')", "2"),
        ("upper('héllo')", "HéLLO"),
        ("concat('a', NULL)", "NULL"),
        ("replaceRegexpAll('abcb', 'b', '[\\\\0]')", "a[b]c[b]"),
        ("replaceRegexpOne('abcb', '(b)', '<\\\\1>')", "a<b>cb"),
        ("match('abc', '[a-c]')", "true"),
        ("splitByChar(',', 'a,,b')", "[a, , b]"),
        // Conversions: failed parses give 0 (OrZero), floats truncate.
        ("toInt32OrZero('1.5')", "0"),
        ("toInt32OrZero(' 12')", "0"),
        ("toInt32OrZero('99999999999')", "0"),
        ("toInt32OrZero('-5')", "-5"),
        ("toInt32OrZero('+12')", "12"),
        ("toInt32OrNull('12 ')", "NULL"),
        ("toFloat64OrZero(' 1.5')", "0"),
        ("toFloat64OrZero('1e3')", "1000"),
        ("toInt64OrZero('-9223372036854775808')", "-9223372036854775808"),
        ("toUInt32(1.9)", "1"),
        ("toUInt64('12')", "12"),
        // A missing map key reads as the value type's default.
        ("map('env', 'prod')['zone']", ""),
        ("map('env', 'prod')['env']", "prod"),
    ];

    async fn value(ctx: &SessionContext, clickhouse: &str) -> String {
        let sql = translate(
            clickhouse,
            DialectSetting::ClickHouse,
            Target::DataFusion,
            &EmitContext::default(),
        )
        .unwrap_or_else(|e| panic!("{clickhouse}: {e}"));
        let batches = ctx
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let column = batches[0].column(0);
        if column.is_null(0) {
            "NULL".into()
        } else {
            array_value_to_string(column, 0).unwrap()
        }
    }

    fn same(actual: &str, expected: &str) -> bool {
        match (actual.parse::<f64>(), expected.parse::<f64>()) {
            (Ok(a), Ok(b)) => a == b,
            _ => actual == expected,
        }
    }

    #[tokio::test]
    async fn datafusion_translations_give_clickhouse_values() {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE nums AS SELECT * FROM (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10)) AS v(n)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let mut failures = Vec::new();
        for (expr, expected) in CASES {
            let actual = value(&ctx, &format!("SELECT {expr} AS v")).await;
            if !same(&actual, expected) {
                failures.push(format!("{expr}: expected {expected}, got {actual}"));
            }
        }
        // quantileExact picks the element at floor(level * n), no interpolation.
        for (level, expected) in [
            ("0.9", "10"),
            ("0.5", "6"),
            ("1", "10"),
            ("0.05", "1"),
            ("0", "1"),
        ] {
            let sql = format!("SELECT quantileExact({level})(n) AS v FROM nums");
            let actual = value(&ctx, &sql).await;
            if !same(&actual, expected) {
                failures.push(format!("{sql}: expected {expected}, got {actual}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }
}
