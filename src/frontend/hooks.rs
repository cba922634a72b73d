//! Statements the frontend answers itself, before any planning: SET/SHOW/RESET,
//! transaction control, DISCARD, EXPLAIN and `EXPLAIN ROUTE`, `SHOW switchyard.routes`.
//! switchyard is read-only and stateless across connections, so transactions only
//! track the status clients expect.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use pgwire::messages::response::TransactionStatus;
use sqlparser::ast::{Expr, Ident, Reset, Set, Statement, Value};

use super::session::{Changed, Session};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::sql::Flavor;

/// What a local statement answers.
pub enum Answer {
    /// Rows, all text.
    Rows(RecordBatch),
    /// A command tag, with what it does to the transaction status.
    Command { tag: &'static str, tx: TxEffect },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxEffect {
    None,
    Begin,
    End,
}

pub fn is_local(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Set(_)
            | Statement::ShowVariable { .. }
            | Statement::Reset(_)
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Discard { .. }
            | Statement::Explain { .. }
    )
}

/// Is the statement allowed in a failed transaction (status `E`)?
pub fn ends_failed_transaction(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Commit { .. } | Statement::Rollback { .. }
    )
}

/// The result columns of a local statement, for Describe.
pub fn schema_of(statement: &Statement) -> Option<SchemaRef> {
    match statement {
        Statement::ShowVariable { variable } if is_routes(variable) => {
            Some(text_schema(&crate::engine::ROUTES_COLUMNS))
        }
        Statement::ShowVariable { variable } => Some(show_schema(variable)),
        Statement::Explain { .. } => Some(text_schema(&["QUERY PLAN"])),
        _ => None,
    }
}

pub fn answer(
    statement: &Statement,
    flavor: Flavor,
    session: &mut Session,
    status: TransactionStatus,
    engine: &Engine,
    changed: &mut Vec<Changed>,
) -> Result<Answer> {
    let command = |tag, tx| Ok(Answer::Command { tag, tx });
    match statement {
        Statement::Set(set) => {
            changed.extend(apply_set(set, session)?);
            command("SET", TxEffect::None)
        }
        Statement::Reset(reset) => {
            match &reset.reset {
                Reset::ALL => changed.extend(session.reset_all()),
                Reset::ConfigurationParameter(name) => {
                    changed.push(session.reset(&name.to_string())?)
                }
                Reset::SessionAuthorization => {
                    return Err(Error::unsupported(
                        "RESET SESSION AUTHORIZATION",
                        "switchyard",
                    ))
                }
            }
            command("RESET", TxEffect::None)
        }
        Statement::ShowVariable { variable } if is_routes(variable) => {
            engine.routes_batch().map(Answer::Rows)
        }
        Statement::ShowVariable { variable } => show(variable, session),
        Statement::StartTransaction { .. } => command("BEGIN", TxEffect::Begin),
        Statement::Commit { .. } if status == TransactionStatus::Error => {
            command("ROLLBACK", TxEffect::End)
        }
        Statement::Commit { .. } => command("COMMIT", TxEffect::End),
        Statement::Rollback {
            savepoint: None, ..
        } => command("ROLLBACK", TxEffect::End),
        Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
            if status == TransactionStatus::Idle =>
        {
            Err(Error::Session {
                code: "25P01",
                message: "savepoints can only be used in transaction blocks".into(),
            })
        }
        Statement::Rollback { .. } => command("ROLLBACK", TxEffect::None),
        Statement::Savepoint { .. } => command("SAVEPOINT", TxEffect::None),
        Statement::ReleaseSavepoint { .. } => command("RELEASE", TxEffect::None),
        Statement::Discard { .. } => {
            changed.extend(session.reset_all());
            command("DISCARD ALL", TxEffect::None)
        }
        Statement::Explain {
            statement: inner,
            analyze: false,
            options: Some(options),
            ..
        } if is_option(options, "route") => explain_route(inner, flavor, engine),
        Statement::Explain {
            statement: inner,
            analyze: false,
            options: Some(options),
            ..
        } if is_option(options, "translate") => {
            let setting = session
                .get("switchyard.dialect")
                .ok()
                .and_then(crate::sql::DialectSetting::from_setting)
                .unwrap_or_default();
            explain_translate(inner, flavor, setting, engine)
        }
        Statement::Explain {
            statement: inner,
            analyze: false,
            ..
        } => explain(inner, flavor, engine),
        other => Err(Error::unsupported(statement_kind(other), "switchyard")),
    }
}

/// `SELECT`, `INSERT`, … — the first keyword, for messages.
pub fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, second] if matches!(*first, "CREATE" | "DROP" | "ALTER" | "EXPLAIN") => {
            format!("{first} {second}")
        }
        [first, ..] => first.to_string(),
        [] => "statement".into(),
    }
}

fn apply_set(set: &Set, session: &mut Session) -> Result<Vec<Changed>> {
    let one = |session: &mut Session, name: &str, value: &str| -> Result<Changed> {
        if value.eq_ignore_ascii_case("default") {
            session.reset(name)
        } else {
            session.set(name, value)
        }
    };
    match set {
        Set::SingleAssignment {
            variable, values, ..
        } => {
            let value = values
                .iter()
                .map(setting_value)
                .collect::<Vec<_>>()
                .join(", ");
            Ok(vec![one(session, &variable.to_string(), &value)?])
        }
        Set::SetTimeZone { value, .. } => {
            Ok(vec![one(session, "TimeZone", &setting_value(value))?])
        }
        Set::SetNames { charset_name, .. } => {
            Ok(vec![one(session, "client_encoding", &charset_name.value)?])
        }
        // Reads see one consistent answer whatever the isolation level asked for.
        Set::SetTransaction { .. } => Ok(vec![]),
        other => Err(Error::unsupported(other.to_string(), "switchyard")),
    }
}

fn setting_value(expr: &Expr) -> String {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            Value::Number(n, _) => n.to_string(),
            Value::Boolean(true) => "on".into(),
            Value::Boolean(false) => "off".into(),
            other => other.to_string(),
        },
        Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    }
}

/// `SHOW TIME ZONE` and `SHOW TRANSACTION ISOLATION LEVEL` are spelled as words.
fn show_name(variable: &[Ident]) -> String {
    let words: Vec<String> = variable
        .iter()
        .map(|i| i.value.to_ascii_lowercase())
        .collect();
    match words.join(" ").as_str() {
        "time zone" => "TimeZone".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        _ => variable
            .iter()
            .map(|i| i.value.as_str())
            .collect::<Vec<_>>()
            .join("."),
    }
}

fn show_schema(variable: &[Ident]) -> SchemaRef {
    let name = show_name(variable);
    if name.eq_ignore_ascii_case("all") {
        text_schema(&["name", "setting"])
    } else {
        text_schema(&[&name.to_ascii_lowercase()])
    }
}

fn show(variable: &[Ident], session: &Session) -> Result<Answer> {
    let name = show_name(variable);
    let schema = show_schema(variable);
    if name.eq_ignore_ascii_case("all") {
        let (names, values): (Vec<&str>, Vec<&str>) = session.all().unzip();
        return rows(schema, vec![names, values]);
    }
    let value = session.get(&name)?;
    rows(schema, vec![vec![value]])
}

fn explain(statement: &Statement, flavor: Flavor, engine: &Engine) -> Result<Answer> {
    let Statement::Query(query) = statement else {
        return Err(Error::unsupported(
            format!("EXPLAIN of {}", statement_kind(statement)),
            "switchyard",
        ));
    };
    let plan = engine.plan_as(query, flavor)?;
    let sql = engine.emitted_sql(&plan, &[])?;
    let mut lines = vec![format!("route: {}", plan.route)];
    lines.extend(plan.query.to_string().lines().map(|l| format!("ir: {l}")));
    lines.push(format!("sql: {sql}"));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    rows(text_schema(&["QUERY PLAN"]), vec![lines])
}

/// `SHOW switchyard.routes`
fn is_routes(variable: &[Ident]) -> bool {
    show_name(variable).eq_ignore_ascii_case("switchyard.routes")
}

/// `EXPLAIN ROUTE q` / `EXPLAIN TRANSLATE q` (parsed as `EXPLAIN (ROUTE) q`, …).
fn is_option(options: &[sqlparser::ast::UtilityOption], name: &str) -> bool {
    matches!(options, [option] if option.name.value.eq_ignore_ascii_case(name) && option.arg.is_none())
}

/// `EXPLAIN TRANSLATE q`: the query as read (flavour and IR), where it would go, and its
/// SQL for every target — or, per target, why that target refuses it.
fn explain_translate(
    statement: &Statement,
    flavor: Flavor,
    setting: crate::sql::DialectSetting,
    engine: &Engine,
) -> Result<Answer> {
    let Statement::Query(query) = statement else {
        return Err(Error::unsupported(
            format!("EXPLAIN TRANSLATE of {}", statement_kind(statement)),
            "switchyard",
        ));
    };
    let ir = crate::sql::lower_query_as(query, flavor)?;
    let source = query.to_string();
    let mut lines = vec![
        format!("source: {source}"),
        format!(
            "flavor: {} ({})",
            flavor.name(),
            crate::sql::flavor_reason(&source, setting)
        ),
    ];
    lines.extend(ir.to_string().lines().map(|l| format!("ir: {l}")));
    lines.push(format!("columns: {}", engine.output_types(&ir)));
    lines.push(match engine.plan_as(query, flavor) {
        Ok(plan) => format!("route: {}", plan.route),
        Err(e) => format!("route: none ({e})"),
    });
    for (target, sql) in engine.translations(&ir) {
        lines.push(match sql {
            Ok(sql) => format!("{}: {sql}", target.name()),
            Err(e) => format!("{}: refused ({}): {e}", target.name(), e.sqlstate()),
        });
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    rows(text_schema(&["QUERY PLAN"]), vec![lines])
}

fn explain_route(statement: &Statement, flavor: Flavor, engine: &Engine) -> Result<Answer> {
    let Statement::Query(query) = statement else {
        return Err(Error::unsupported(
            format!("EXPLAIN ROUTE of {}", statement_kind(statement)),
            "switchyard",
        ));
    };
    let plan = engine.plan_as(query, flavor)?;
    let lines = engine.explain_route(&plan);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    rows(text_schema(&["QUERY PLAN"]), vec![lines])
}

fn text_schema(names: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

fn rows(schema: SchemaRef, columns: Vec<Vec<&str>>) -> Result<Answer> {
    let columns: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect();
    RecordBatch::try_new(schema, columns)
        .map(Answer::Rows)
        .map_err(Error::internal)
}
