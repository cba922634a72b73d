//! Folding ClickHouse's interval constructors with constant arguments into interval
//! literals: `toInterval(1, 'hour')`, `toIntervalHour(1)` and `INTERVAL {n:UInt32} MINUTE`
//! (once `n` is bound) all mean `INTERVAL '1 hour'`, which every target spells.

use super::{visit, DataType, Expr, Func, Literal, Query};

/// Interval units ClickHouse's constructors name, singular and lower-case.
const UNITS: &[&str] = &[
    "nanosecond",
    "microsecond",
    "millisecond",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "year",
];

/// Replaces every interval constructor with constant arguments in `query`.
pub fn intervals(query: &mut Query) {
    visit::for_each_expr_mut(query, &mut |e| {
        if let Some(text) = constant_interval(e) {
            *e = Expr::Literal(Literal::Typed {
                value: text,
                ty: DataType::Interval,
            });
        }
    });
}

/// `n unit` if `e` constructs an interval from constants.
fn constant_interval(e: &Expr) -> Option<String> {
    let Expr::Function(call) = e else {
        return None;
    };
    let Func::Anonymous(name) = &call.func else {
        return None;
    };
    if !call.params.is_empty() || call.over.is_some() || call.distinct || call.star {
        return None;
    }
    let (count, unit) = match (name.as_str(), call.args.as_slice()) {
        ("toInterval", [count, Expr::Literal(Literal::String(unit))]) => {
            (count, unit.to_ascii_lowercase())
        }
        (name, [count]) => (count, name.strip_prefix("toInterval")?.to_ascii_lowercase()),
        _ => return None,
    };
    if !UNITS.contains(&unit.as_str()) {
        return None;
    }
    let count = match count {
        Expr::Literal(Literal::Int(n)) if *n >= 0 => n.to_string(),
        Expr::Literal(Literal::String(s) | Literal::Numeric(s))
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.clone()
        }
        _ => return None,
    };
    Some(format!("{count} {unit}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(sql: &str) -> String {
        let parsed = crate::sql::parse_with(sql, crate::sql::DialectSetting::ClickHouse).unwrap();
        let sqlparser::ast::Statement::Query(q) = &parsed.statements[0] else {
            panic!()
        };
        let mut query = crate::sql::lower_query_as(q, parsed.flavor).unwrap();
        intervals(&mut query);
        query.to_string()
    }

    #[test]
    fn constant_constructors_become_literals() {
        assert_eq!(
            folded("SELECT toInterval(5, 'Minute'), toIntervalHour(1), toIntervalDay(x), toInterval(1, 'hours')"),
            "SELECT INTERVAL '5 minute', INTERVAL '1 hour', toIntervalDay(x), toInterval(1, 'hours')"
        );
    }
}
