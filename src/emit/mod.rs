//! Emitting: IR → a target backend's SQL text. The emitter builds `sqlparser::ast` nodes and
//! prints them; it never concatenates SQL strings.
//!
//! A target is a `TargetDialect`: small hooks with defaults (DataFusion unparser style), so a
//! target states only how it differs. Anything a target cannot express exactly is collected
//! while emitting and reported in one `Error::Unsupported` (0A000) naming every construct.

mod clickhouse;
mod datafusion;
mod dialects;
mod fill;
mod functions;
mod starrocks;
mod tables;
#[cfg(test)]
mod translate_tests;

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use sqlparser::ast;
use sqlparser::ast::helpers::attached_token::AttachedToken;

use crate::error::{Error, Result};
use crate::ir::types::{Type, Typer};
use crate::ir::{
    self, BinaryOp, DataType, Expr, Flavor, FrameBound, FrameUnits, Func, FunctionCall,
    GroupByModifier, JoinConstraint, JoinKind, Literal, OrderByItem, Query, Select, SelectItem,
    SetExpr, SetOperator, TableRef, UnaryOp, WindowSpec,
};

/// A backend dialect switchyard can emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    DataFusion,
    ClickHouse,
    StarRocks,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::ClickHouse, Target::StarRocks, Target::DataFusion];

    pub fn name(&self) -> &'static str {
        self.dialect().name()
    }

    /// The target named `name` (`clickhouse`, `starrocks`, `datafusion`).
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    fn dialect(&self) -> &'static dyn TargetDialect {
        match self {
            Target::DataFusion => &datafusion::DataFusion,
            Target::ClickHouse => &clickhouse::ClickHouse,
            Target::StarRocks => &starrocks::StarRocks,
        }
    }
}

/// How a table's rows are deduplicated, which is what ClickHouse's `FROM t FINAL` means
/// (ReplacingMergeTree semantics). Configured per table (`dedup = …` in the table's config)
/// or discovered from a ClickHouse table's engine; both feed `EmitContext::dedup`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum DedupRule {
    /// `dedup = "on_write"`: the table holds one row per key already (a StarRocks primary
    /// key table, a Delta table maintained with MERGE), so FINAL changes nothing.
    OnWrite(OnWrite),
    /// `dedup = { key = [...], version = "...", is_deleted = "..." }`: keep, per key, the row
    /// with the greatest version, then drop it if `is_deleted` is set.
    Key {
        key: Vec<String>,
        version: Option<String>,
        is_deleted: Option<String>,
    },
}

/// The literal `"on_write"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnWrite {
    OnWrite,
}

/// What emitting needs to know beyond the query: facts about tables.
#[derive(Debug, Clone, Default)]
pub struct EmitContext {
    /// Dedup rules by table name as the query writes it (`TableName::dotted`).
    pub dedup: HashMap<String, DedupRule>,
    /// Schemas of the tables the query reads, by name as written, from the backend that
    /// answers: what types the translation is exact by (`ir::types`).
    pub tables: HashMap<String, arrow::datatypes::SchemaRef>,
    /// Table names as written → the name the backend knows the table by, where they
    /// differ (`default.otel_logs` → `otel_logs`).
    pub renames: HashMap<String, String>,
}

/// ClickHouse settings that change only how a query runs, never its result, so a target
/// without them may drop them (every other setting is rejected for such targets).
const RESULT_NEUTRAL_SETTINGS: &[&str] = &[
    "max_threads",
    "max_execution_time",
    "max_memory_usage",
    "use_query_cache",
    "query_cache_ttl",
    "max_block_size",
    "optimize_read_in_order",
    "log_comment",
    "priority",
    "readonly",
    "max_ast_elements",
    "max_expanded_ast_elements",
    "max_bytes_before_external_group_by",
    "max_bytes_before_external_sort",
    "optimize_min_equality_disjunction_chain_length",
    "optimize_aggregation_in_order",
    "allow_experimental_object_type",
    "allow_experimental_join_condition",
    "allow_experimental_analyzer",
    "enable_analyzer",
    "use_hive_partitioning",
    "short_circuit_function_evaluation",
    "use_skip_indexes",
    "force_primary_key",
    "optimize_move_to_prewhere",
];

/// Emits `query` as SQL text for `target`. Unbound parameters print as `$n`.
pub fn emit(query: &Query, target: Target) -> Result<String> {
    emit_with(query, target, &EmitContext::default())
}

/// Emits `query` for `target` with the table facts in `context`.
pub fn emit_with(query: &Query, target: Target, context: &EmitContext) -> Result<String> {
    emit_with_notices(query, target, context).map(|emitted| emitted.sql)
}

/// SQL for a backend, and what the client should be told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub sql: String,
    /// Clauses stripped because they mean nothing to the target and change no result
    /// (`SETTINGS max_threads`, `FORMAT`): one NOTICE each for the client.
    pub notices: Vec<String>,
}

/// `emit_with`, with the notices the client should see.
pub fn emit_with_notices(query: &Query, target: Target, context: &EmitContext) -> Result<Emitted> {
    let mut emitter = Emitter {
        target,
        dialect: target.dialect(),
        context,
        flavor: query.flavor,
        typer: Typer::new(&context.tables, query),
        unsupported: Vec::new(),
        notices: Vec::new(),
    };
    let ast = emitter.query(query);
    if emitter.unsupported.is_empty() {
        Ok(Emitted {
            sql: ast.to_string(),
            notices: emitter.notices,
        })
    } else {
        Err(Error::Unsupported {
            constructs: emitter.unsupported,
            backend: target.name().to_string(),
        })
    }
}

/// Translates one query from client SQL to `target`'s SQL: parse (flavour pinned or
/// detected), lower, emit. What `switchyard translate` prints.
pub fn translate(
    sql: &str,
    from: crate::sql::DialectSetting,
    target: Target,
    context: &EmitContext,
) -> Result<String> {
    let parsed = crate::sql::parse_with(sql, from)?;
    let query = match parsed.statements.as_slice() {
        [ast::Statement::Query(query)] => query,
        [_] => {
            return Err(Error::unsupported(
                "translating anything but a query",
                "switchyard",
            ))
        }
        _ => {
            return Err(Error::Syntax {
                message: "expected exactly one statement".into(),
                position: None,
            })
        }
    };
    let query = crate::sql::lower_query_as(query, parsed.flavor)?;
    emit_with(&query, target, context)
}

/// How a target spells a catalogue function.
pub enum FunctionSpelling {
    /// The canonical name.
    Same,
    Rename(&'static str),
    /// Builds the expression from the emitted arguments; `Err` names what the target cannot
    /// express. Only for plain scalar calls (no DISTINCT, FILTER, ORDER BY or OVER).
    Handler(fn(Vec<ast::Expr>) -> std::result::Result<ast::Expr, String>),
}

/// The facts of one target's SQL. Defaults are standard SQL as Postgres writes it.
pub trait TargetDialect: Sync {
    /// The backend name used in error messages (`Target::name`).
    fn name(&self) -> &'static str;

    /// An identifier. Default: always double-quoted, so case is kept exactly.
    fn identifier(&self, name: &str) -> ast::Ident {
        quoted_identifier('"', name)
    }

    /// A string literal. Default: standard SQL (quotes doubled, backslash is no escape).
    fn string_literal(&self, value: &str) -> ast::Expr {
        standard_string_literal(value)
    }

    /// A type's spelling; `None` if the target has no exact equivalent.
    fn data_type(&self, ty: &DataType) -> Option<ast::DataType> {
        standard_data_type(ty)
    }

    /// How the target spells the catalogue function `name`; `None` if it has no exact
    /// equivalent (fail closed).
    fn function(&self, name: &str) -> Option<&'static FunctionSpelling>;

    /// Whether `agg(…) FILTER (WHERE …)` is accepted; if not, the filter moves into the
    /// arguments of NULL-ignoring aggregates (`Emitter::aggregate_filter`).
    fn supports_aggregate_filter(&self) -> bool {
        true
    }

    /// A typed literal spelled some other way than `CAST('text' AS type)`; `None` for the
    /// cast.
    fn typed_literal(&self, _value: &str, _ty: &DataType) -> Option<ast::Expr> {
        None
    }
}

/// `"name"`, with embedded quotes doubled.
pub fn quoted_identifier(quote: char, name: &str) -> ast::Ident {
    // sqlparser's printer doubles a lone quote but leaves pairs (and quotes after a
    // backslash) alone, which loses information; pre-doubling every quote makes it print
    // the text verbatim. The round-trip tests below hold it to that.
    let doubled = name.replace(quote, &format!("{quote}{quote}"));
    ast::Ident::with_quote(quote, doubled)
}

/// `'value'` with quotes doubled and nothing else escaped, as Postgres reads it with
/// standard_conforming_strings (and DataFusion always).
pub fn standard_string_literal(value: &str) -> ast::Expr {
    // See `quoted_identifier` for why the quotes are doubled here.
    ast::Expr::value(ast::Value::SingleQuotedString(value.replace('\'', "''")))
}

pub fn standard_data_type(ty: &DataType) -> Option<ast::DataType> {
    use ast::DataType as T;
    Some(match ty {
        DataType::Bool => T::Boolean,
        DataType::Int16 => T::SmallInt(None),
        DataType::Int32 => T::Int(None),
        DataType::Int64 => T::BigInt(None),
        DataType::Float32 => T::Real,
        DataType::Float64 => T::DoublePrecision,
        DataType::Numeric(None) => T::Numeric(ast::ExactNumberInfo::None),
        DataType::Numeric(Some((p, s))) => T::Numeric(ast::ExactNumberInfo::PrecisionAndScale(
            u64::from(*p),
            i64::from(*s),
        )),
        DataType::Text => T::Text,
        DataType::Date => T::Date,
        DataType::Timestamp => T::Timestamp(None, ast::TimezoneInfo::None),
        DataType::TimestampTz => T::Timestamp(None, ast::TimezoneInfo::WithTimeZone),
        DataType::Uuid => T::Uuid,
        DataType::Bytea => T::Bytea,
        DataType::Interval => T::Interval {
            fields: None,
            precision: None,
        },
        DataType::Array(element) => T::Array(ast::ArrayElemTypeDef::SquareBracket(
            Box::new(standard_data_type(element)?),
            None,
        )),
    })
}

/// Wraps an operand in parentheses unless it is atomic, so that the printed text keeps the
/// tree's shape whatever the target's operator precedence. Negative numbers count as
/// compound: `- -5` would print as the comment `--5`.
pub fn operand(e: ast::Expr) -> ast::Expr {
    let atomic = match &e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(text, _) => !text.starts_with('-'),
            _ => true,
        },
        ast::Expr::Identifier(_)
        | ast::Expr::CompoundIdentifier(_)
        | ast::Expr::Function(_)
        | ast::Expr::Cast { .. }
        | ast::Expr::Case { .. }
        | ast::Expr::Extract { .. }
        | ast::Expr::Array(_)
        | ast::Expr::Nested(_)
        | ast::Expr::Subquery(_)
        | ast::Expr::CompoundFieldAccess { .. } => true,
        _ => false,
    };
    if atomic {
        e
    } else {
        ast::Expr::Nested(Box::new(e))
    }
}

fn number(text: String) -> ast::Expr {
    ast::Expr::value(ast::Value::Number(text, false))
}

fn object_name(idents: Vec<ast::Ident>) -> ast::ObjectName {
    ast::ObjectName::from(idents)
}

/// The IR → AST walk for one statement, collecting what the target cannot express.
struct Emitter<'a> {
    target: Target,
    dialect: &'static dyn TargetDialect,
    context: &'a EmitContext,
    /// The flavour the client wrote the statement in.
    flavor: Flavor,
    /// Types of the expressions being emitted, scope by scope.
    typer: Typer<'a>,
    unsupported: Vec<String>,
    notices: Vec<String>,
}

impl Emitter<'_> {
    /// ClickHouse SQL sent on to ClickHouse: ClickHouse functions and clauses pass through.
    fn passes_through(&self) -> bool {
        self.target == Target::ClickHouse && self.flavor == Flavor::ClickHouse
    }

    /// Records an unsupported construct; the returned placeholder is never printed.
    fn reject(&mut self, construct: impl Into<String>) -> ast::Expr {
        let construct = construct.into();
        if !self.unsupported.contains(&construct) {
            self.unsupported.push(construct);
        }
        ast::Expr::value(ast::Value::Null)
    }

    fn ident(&self, name: &str) -> ast::Ident {
        self.dialect.identifier(name)
    }

    /// The type of `e` where it is being emitted; `None` if unknown.
    fn type_of(&self, e: &Expr) -> Option<Type> {
        self.typer.type_of(e)
    }

    fn idents(&self, parts: &[String]) -> Vec<ast::Ident> {
        parts.iter().map(|p| self.ident(p)).collect()
    }

    fn query(&mut self, q: &Query) -> ast::Query {
        if self.target == Target::DataFusion && q.order_by.iter().any(|i| i.fill.is_some()) {
            if q.clickhouse.limit_by.is_some() {
                self.reject("ORDER BY … WITH FILL with LIMIT BY");
            } else {
                return self.fill_query(q);
            }
        }
        if q.clickhouse.limit_by.is_some() && self.target != Target::ClickHouse {
            match limit_by_as_window(q) {
                Ok(rewritten) => return self.query(&rewritten),
                Err(construct) => {
                    self.reject(construct);
                }
            }
        }
        for construct in &q.unsupported {
            self.reject(construct.clone());
        }
        let ctes = self.typer.enter_ctes(q);
        let with = q.with.as_ref().map(|w| ast::With {
            with_token: AttachedToken::empty(),
            recursive: w.recursive,
            cte_tables: w
                .ctes
                .iter()
                .map(|cte| ast::Cte {
                    alias: self.table_alias(&cte.name, &cte.columns, false),
                    query: Box::new(self.query(&cte.query)),
                    from: None,
                    materialized: None,
                    closing_paren_token: AttachedToken::empty(),
                })
                .collect(),
        });
        let body = self.set_expr(&q.body);
        let order_by = (!q.order_by.is_empty()).then(|| ast::OrderBy {
            kind: ast::OrderByKind::Expressions(self.order_by(&q.order_by)),
            interpolate: None,
        });
        let mut limit_clause =
            (q.limit.is_some() || q.offset.is_some()).then(|| ast::LimitClause::LimitOffset {
                limit: q.limit.as_ref().map(|e| self.expr(e)),
                offset: q.offset.as_ref().map(|e| ast::Offset {
                    value: self.expr(e),
                    rows: ast::OffsetRows::None,
                }),
                limit_by: Vec::new(),
            });
        let mut fetch = None;
        if let (Some(limit_by), Target::ClickHouse) = (&q.clickhouse.limit_by, self.target) {
            // ClickHouse reads `LIMIT n BY b LIMIT k` or `… FETCH FIRST k ROWS ONLY`; the
            // AST holds one LIMIT clause, so the second limit prints as FETCH, which has
            // no OFFSET.
            if q.offset.is_some() {
                self.reject("LIMIT BY followed by LIMIT … OFFSET");
            }
            fetch = q.limit.as_ref().map(|k| ast::Fetch {
                with_ties: false,
                percent: false,
                quantity: Some(self.expr(k)),
            });
            limit_clause = Some(ast::LimitClause::LimitOffset {
                limit: Some(self.expr(&limit_by.limit)),
                offset: limit_by.offset.as_ref().map(|e| ast::Offset {
                    value: self.expr(e),
                    rows: ast::OffsetRows::None,
                }),
                limit_by: limit_by.by.iter().map(|e| self.expr(e)).collect(),
            });
        }
        let mut settings = Vec::new();
        for (key, value) in &q.clickhouse.settings {
            if self.target == Target::ClickHouse {
                settings.push(ast::Setting {
                    key: self.setting_name(key),
                    value: self.expr(value),
                });
            } else if RESULT_NEUTRAL_SETTINGS.contains(&key.as_str()) {
                self.notices.push(format!(
                    "SETTINGS {key} ignored: it has no meaning on {}",
                    self.target.name()
                ));
            } else {
                self.reject(format!("SETTINGS {key}"));
            }
        }
        // FORMAT is never emitted: the backend client chooses the result format.
        if let Some(format) = &q.clickhouse.format {
            self.notices.push(format!(
                "FORMAT {format} ignored: results are sent in the Postgres wire format"
            ));
        }
        self.typer.leave_ctes(ctes);
        ast::Query {
            with,
            body: Box::new(body),
            order_by,
            limit_clause,
            fetch,
            locks: Vec::new(),
            for_clause: None,
            settings: (!settings.is_empty()).then_some(settings),
            format_clause: None,
            pipe_operators: Vec::new(),
        }
    }

    /// A setting name is an identifier ClickHouse reads unquoted only.
    fn setting_name(&mut self, key: &str) -> ast::Ident {
        if !is_plain_name(key) {
            self.reject(format!("setting name {key:?}"));
        }
        ast::Ident::new(key)
    }

    fn set_expr(&mut self, body: &SetExpr) -> ast::SetExpr {
        match body {
            SetExpr::Select(select) => ast::SetExpr::Select(Box::new(self.select(select))),
            SetExpr::Query(query) => ast::SetExpr::Query(Box::new(self.query(query))),
            SetExpr::SetOperation {
                op,
                all,
                left,
                right,
            } => ast::SetExpr::SetOperation {
                left: Box::new(self.set_expr(left)),
                op: match op {
                    SetOperator::Union => ast::SetOperator::Union,
                    SetOperator::Intersect => ast::SetOperator::Intersect,
                    SetOperator::Except => ast::SetOperator::Except,
                },
                set_quantifier: if *all {
                    ast::SetQuantifier::All
                } else {
                    ast::SetQuantifier::None
                },
                right: Box::new(self.set_expr(right)),
            },
            SetExpr::Unsupported(construct) => {
                self.reject(construct.clone());
                ast::SetExpr::Select(Box::new(select_node(Vec::new())))
            }
        }
    }

    fn select(&mut self, s: &Select) -> ast::Select {
        self.typer.enter_select(s);
        let select = self.select_in_scope(s);
        self.typer.leave_select();
        select
    }

    fn select_in_scope(&mut self, s: &Select) -> ast::Select {
        let mut select = select_node(self.projection(&s.projection));
        select.distinct = s.distinct.then_some(ast::Distinct::Distinct);
        select.from = s.from.iter().map(|t| self.table_with_joins(t)).collect();
        select.selection = s.filter.as_ref().map(|e| self.expr(e));
        let mut modifiers = Vec::new();
        for modifier in &s.group_by_modifiers {
            if self.passes_through() {
                modifiers.push(match modifier {
                    GroupByModifier::Rollup => ast::GroupByWithModifier::Rollup,
                    GroupByModifier::Cube => ast::GroupByWithModifier::Cube,
                    GroupByModifier::Totals => ast::GroupByWithModifier::Totals,
                });
            } else {
                // Rolled-up keys hold default values (0, '') in ClickHouse where GROUPING
                // SETS give NULL, and which keys are Nullable is unknown here; TOTALS is a
                // row outside the result set.
                let why = match modifier {
                    GroupByModifier::Totals => "a totals row outside the result set",
                    _ => "ClickHouse fills rolled-up keys with default values",
                };
                self.reject(format!("GROUP BY … {} ({why})", modifier.keyword()));
            }
        }
        select.group_by = ast::GroupByExpr::Expressions(
            s.group_by.iter().map(|e| self.expr(e)).collect(),
            modifiers,
        );
        select.having = s.having.as_ref().map(|e| self.expr(e));
        select
    }

    /// Every unaliased item that is not a plain column gets its Postgres name as an alias,
    /// so that result columns are named as Postgres would name them; duplicate names get a
    /// suffix (`count`, `count_1`) because some targets (DataFusion) reject duplicates.
    /// ORDER BY on an output name or ordinal keeps working: names and positions are kept.
    fn projection(&mut self, items: &[SelectItem]) -> Vec<ast::SelectItem> {
        let names = unique_output_names(items);
        items
            .iter()
            .zip(&names)
            .map(|(item, name)| match (item, name) {
                (SelectItem::Expr { expr, alias }, Some(unique)) => {
                    let is_named_column =
                        matches!(expr, Expr::Column(c) if alias.is_none() && c.name == *unique);
                    let expr = self.expr(expr);
                    if is_named_column {
                        ast::SelectItem::UnnamedExpr(expr)
                    } else {
                        ast::SelectItem::ExprWithAlias {
                            expr,
                            alias: self.ident(unique),
                        }
                    }
                }
                (SelectItem::QualifiedWildcard(qualifier), _) => {
                    ast::SelectItem::QualifiedWildcard(
                        ast::SelectItemQualifiedWildcardKind::ObjectName(object_name(
                            self.idents(qualifier),
                        )),
                        ast::WildcardAdditionalOptions::default(),
                    )
                }
                _ => ast::SelectItem::Wildcard(ast::WildcardAdditionalOptions::default()),
            })
            .collect()
    }

    fn table_alias(&self, name: &str, columns: &[String], explicit: bool) -> ast::TableAlias {
        ast::TableAlias {
            explicit,
            name: self.ident(name),
            columns: columns
                .iter()
                .map(|c| ast::TableAliasColumnDef {
                    name: self.ident(c),
                    data_type: None,
                })
                .collect(),
            at: None,
        }
    }

    fn table_with_joins(&mut self, t: &TableRef) -> ast::TableWithJoins {
        let TableRef::Join {
            left,
            right,
            kind,
            constraint,
            global,
        } = t
        else {
            return ast::TableWithJoins {
                relation: self.table_factor(t),
                joins: Vec::new(),
            };
        };
        let mut tree = self.table_with_joins(left);
        let relation = self.table_factor(right);
        let constraint = match constraint {
            JoinConstraint::On(on) => ast::JoinConstraint::On(self.expr(on)),
            JoinConstraint::Using(columns) => ast::JoinConstraint::Using(
                columns
                    .iter()
                    .map(|c| object_name(vec![self.ident(c)]))
                    .collect(),
            ),
            JoinConstraint::None => ast::JoinConstraint::None,
        };
        // ClickHouse (join_use_nulls = 0) fills the unmatched side of an outer join
        // with column defaults (0, ''), not NULL; other engines give NULL.
        if self.flavor == Flavor::ClickHouse
            && self.target != Target::ClickHouse
            && matches!(kind, JoinKind::Left | JoinKind::Right | JoinKind::Full)
        {
            self.reject(
                "outer JOIN (ClickHouse fills unmatched columns with default values, not NULL)",
            );
        }
        let join_operator = match kind {
            JoinKind::Inner => ast::JoinOperator::Inner(constraint),
            JoinKind::Left => ast::JoinOperator::Left(constraint),
            JoinKind::Right => ast::JoinOperator::Right(constraint),
            JoinKind::Full => ast::JoinOperator::FullOuter(constraint),
            JoinKind::Cross => ast::JoinOperator::CrossJoin(constraint),
        };
        tree.joins.push(ast::Join {
            relation,
            // A distribution hint only ClickHouse reads; the others read the right side
            // in full, which is what GLOBAL asks for.
            global: *global && self.target == Target::ClickHouse,
            join_operator,
        });
        tree
    }

    fn table_factor(&mut self, t: &TableRef) -> ast::TableFactor {
        let alias = |this: &Self, a: &Option<ir::TableAlias>| {
            a.as_ref()
                .map(|a| this.table_alias(&a.name, &a.columns, true))
        };
        match t {
            TableRef::Table {
                sample: Some(sample),
                ..
            } if self.target != Target::ClickHouse => {
                // Sampling all of a table is reading it; any other sample is a subset
                // only ClickHouse's sampling key defines.
                let everything = matches!(&sample.ratio, Expr::Literal(Literal::Int(1)))
                    && sample.offset.is_none();
                if !everything {
                    self.reject("SAMPLE (a subset by ClickHouse's sampling key)");
                }
                let TableRef::Table {
                    name,
                    alias,
                    final_modifier,
                    ..
                } = t
                else {
                    unreachable!()
                };
                self.table_factor(&TableRef::Table {
                    name: name.clone(),
                    alias: alias.clone(),
                    final_modifier: *final_modifier,
                    sample: None,
                })
            }
            TableRef::Table {
                name,
                alias: a,
                final_modifier: true,
                ..
            } if self.target != Target::ClickHouse => {
                let dotted = name.dotted();
                let routed = self.context.renames.get(&dotted).unwrap_or(&dotted);
                match self.context.dedup.get(routed).cloned() {
                    Some(DedupRule::OnWrite(_)) => self.table_factor(&TableRef::Table {
                        name: name.clone(),
                        alias: a.clone(),
                        final_modifier: false,
                        sample: None,
                    }),
                    Some(DedupRule::Key {
                        key,
                        version: Some(version),
                        is_deleted,
                    }) if self.target == Target::DataFusion => {
                        let subquery =
                            self.deduplicated(name, &key, &version, is_deleted.as_deref());
                        let alias_name = a.as_ref().map_or_else(
                            || name.parts.last().cloned().unwrap_or_default(),
                            |a| a.name.clone(),
                        );
                        let columns = a.as_ref().map(|a| a.columns.clone()).unwrap_or_default();
                        ast::TableFactor::Derived {
                            lateral: false,
                            subquery: Box::new(subquery),
                            alias: Some(self.table_alias(&alias_name, &columns, true)),
                            sample: None,
                        }
                    }
                    Some(_) => {
                        self.reject(format!(
                            "FINAL on {} (its dedup rule cannot be expressed for {})",
                            name.dotted(),
                            self.target.name()
                        ));
                        ast::TableFactor::Derived {
                            lateral: false,
                            subquery: Box::new(empty_query()),
                            alias: None,
                            sample: None,
                        }
                    }
                    None => {
                        self.reject(format!(
                            "FINAL on {} (no dedup rule configured)",
                            name.dotted()
                        ));
                        ast::TableFactor::Derived {
                            lateral: false,
                            subquery: Box::new(empty_query()),
                            alias: None,
                            sample: None,
                        }
                    }
                }
            }
            TableRef::Table {
                name,
                alias: a,
                final_modifier,
                sample,
            } => ast::TableFactor::Table {
                name: object_name(match self.context.renames.get(&name.dotted()) {
                    Some(routed) => vec![self.ident(routed)],
                    None => self.idents(&name.parts),
                }),
                alias: alias(self, a),
                args: None,
                with_hints: Vec::new(),
                // ClickHouse's FINAL prints after the alias, where sqlparser prints a
                // "version" function.
                version: final_modifier.then(|| {
                    ast::TableVersion::Function(ast::Expr::Identifier(ast::Ident::new("FINAL")))
                }),
                with_ordinality: false,
                partitions: Vec::new(),
                json_path: None,
                sample: sample.as_ref().map(|s| {
                    ast::TableSampleKind::AfterTableAlias(Box::new(ast::TableSample {
                        modifier: ast::TableSampleModifier::Sample,
                        name: None,
                        quantity: Some(ast::TableSampleQuantity {
                            parenthesized: false,
                            value: self.expr(&s.ratio),
                            unit: None,
                        }),
                        seed: None,
                        bucket: None,
                        offset: s.offset.as_ref().map(|e| self.expr(e)),
                    }))
                }),
                index_directives: Vec::new(),
                inheritance: None,
            },
            TableRef::Derived { query, alias: a } => ast::TableFactor::Derived {
                lateral: false,
                subquery: Box::new(self.query(query)),
                alias: alias(self, a),
                sample: None,
            },
            TableRef::Join { .. } => ast::TableFactor::NestedJoin {
                table_with_joins: Box::new(self.table_with_joins(t)),
                alias: None,
            },
            TableRef::Unsupported(construct) => {
                self.reject(construct.clone());
                ast::TableFactor::Derived {
                    lateral: false,
                    subquery: Box::new(empty_query()),
                    alias: None,
                    sample: None,
                }
            }
        }
    }

    /// `FROM t FINAL` under a key/version rule, as DataFusion SQL:
    /// `(SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY key ORDER BY
    /// version DESC) AS rn FROM t) WHERE rn = 1 [AND NOT is_deleted])`.
    fn deduplicated(
        &mut self,
        name: &ir::TableName,
        key: &[String],
        version: &str,
        is_deleted: Option<&str>,
    ) -> ast::Query {
        const RN: &str = "__switchyard_row";
        let row_number = ast::Expr::Function(ast::Function {
            name: object_name(vec![ast::Ident::new("row_number")]),
            uses_odbc_syntax: false,
            parameters: ast::FunctionArguments::None,
            args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: None,
                args: Vec::new(),
                clauses: Vec::new(),
            }),
            within_group: Vec::new(),
            filter: None,
            null_treatment: None,
            over: Some(ast::WindowType::WindowSpec(ast::WindowSpec {
                window_name: None,
                partition_by: key
                    .iter()
                    .map(|k| ast::Expr::Identifier(self.ident(k)))
                    .collect(),
                order_by: vec![ast::OrderByExpr {
                    expr: ast::Expr::Identifier(self.ident(version)),
                    options: ast::OrderByOptions {
                        sort: Some(ast::OrderBySort::Desc),
                        nulls_first: Some(false),
                    },
                    with_fill: None,
                }],
                window_frame: None,
            })),
        });
        let mut inner = select_node(vec![
            ast::SelectItem::Wildcard(ast::WildcardAdditionalOptions::default()),
            ast::SelectItem::ExprWithAlias {
                expr: row_number,
                alias: self.ident(RN),
            },
        ]);
        inner.from = vec![ast::TableWithJoins {
            relation: self.table_factor(&TableRef::Table {
                name: name.clone(),
                alias: None,
                final_modifier: false,
                sample: None,
            }),
            joins: Vec::new(),
        }];
        let mut filter = ast::Expr::BinaryOp {
            left: Box::new(ast::Expr::Identifier(self.ident(RN))),
            op: ast::BinaryOperator::Eq,
            right: Box::new(number("1".into())),
        };
        if let Some(is_deleted) = is_deleted {
            // ClickHouse's is_deleted is UInt8: 1 marks a deletion.
            filter = ast::Expr::BinaryOp {
                left: Box::new(ast::Expr::Nested(Box::new(filter))),
                op: ast::BinaryOperator::And,
                right: Box::new(ast::Expr::Nested(Box::new(ast::Expr::BinaryOp {
                    left: Box::new(ast::Expr::Cast {
                        kind: ast::CastKind::Cast,
                        expr: Box::new(ast::Expr::Identifier(self.ident(is_deleted))),
                        data_type: ast::DataType::Int(None),
                        format: None,
                    }),
                    op: ast::BinaryOperator::Eq,
                    right: Box::new(number("0".into())),
                }))),
            };
        }
        let mut outer = select_node(vec![ast::SelectItem::Wildcard(
            ast::WildcardAdditionalOptions {
                opt_exclude: Some(ast::ExcludeSelectItem::Single(ast::ObjectName::from(vec![
                    self.ident(RN),
                ]))),
                ..Default::default()
            },
        )]);
        outer.from = vec![ast::TableWithJoins {
            relation: ast::TableFactor::Derived {
                lateral: false,
                subquery: Box::new(query_node(ast::SetExpr::Select(Box::new(inner)))),
                alias: Some(self.table_alias(RN, &[], true)),
                sample: None,
            },
            joins: Vec::new(),
        }];
        outer.selection = Some(filter);
        query_node(ast::SetExpr::Select(Box::new(outer)))
    }

    fn order_by(&mut self, items: &[OrderByItem]) -> Vec<ast::OrderByExpr> {
        items
            .iter()
            .map(|item| ast::OrderByExpr {
                expr: self.expr(&item.expr),
                options: ast::OrderByOptions {
                    sort: item.desc.then_some(ast::OrderBySort::Desc),
                    nulls_first: item.nulls_first,
                },
                with_fill: item.fill.as_ref().map(|fill| {
                    if self.target != Target::ClickHouse {
                        self.reject("ORDER BY … WITH FILL");
                    }
                    ast::WithFill {
                        from: fill.from.as_ref().map(|e| self.expr(e)),
                        to: fill.to.as_ref().map(|e| self.expr(e)),
                        step: fill.step.as_ref().map(|e| self.expr(e)),
                    }
                }),
            })
            .collect()
    }

    fn boxed(&mut self, e: &Expr) -> Box<ast::Expr> {
        Box::new(self.expr(e))
    }

    fn operand(&mut self, e: &Expr) -> Box<ast::Expr> {
        Box::new(operand(self.expr(e)))
    }

    fn literal(&mut self, literal: &Literal) -> ast::Expr {
        let cast = |this: &mut Self, text: &str, ty: &DataType| match this.dialect.data_type(ty) {
            Some(data_type) => ast::Expr::Cast {
                kind: ast::CastKind::Cast,
                expr: Box::new(this.dialect.string_literal(text)),
                data_type,
                format: None,
            },
            None => this.reject(format!("type {ty}")),
        };
        if let Literal::Typed { value, ty } = literal {
            if let Some(e) = self.dialect.typed_literal(value, ty) {
                return e;
            }
        }
        match literal {
            Literal::Null => ast::Expr::value(ast::Value::Null),
            Literal::Bool(b) => ast::Expr::value(ast::Value::Boolean(*b)),
            Literal::Int(i) => number(i.to_string()),
            // `{:?}` prints the shortest text that reads back as the same f64.
            Literal::Float(x) if x.is_finite() => number(format!("{x:?}")),
            Literal::Float(x) => {
                let text = if x.is_nan() {
                    "NaN"
                } else if *x > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                cast(self, text, &DataType::Float64)
            }
            // Numeric text only ever prints as a number if it is one; anything else is
            // quoted and left to the backend's cast to reject.
            Literal::Numeric(text) if ir::is_plain_number(text) => number(text.clone()),
            Literal::Numeric(text) => cast(self, text, &DataType::Numeric(None)),
            Literal::String(s) => self.dialect.string_literal(s),
            Literal::Typed { value, ty } => cast(self, value, ty),
        }
    }

    fn expr(&mut self, e: &Expr) -> ast::Expr {
        match e {
            Expr::Column(c) => {
                if let Some(dotted) = self.typer.dotted_column(&c.qualifier, &c.name) {
                    ast::Expr::Identifier(self.ident(&dotted))
                } else if c.qualifier.is_empty() {
                    ast::Expr::Identifier(self.ident(&c.name))
                } else {
                    let mut parts = self.idents(&c.qualifier);
                    parts.push(self.ident(&c.name));
                    ast::Expr::CompoundIdentifier(parts)
                }
            }
            Expr::Literal(literal) => self.literal(literal),
            Expr::Param(n) => ast::Expr::value(ast::Value::Placeholder(format!("${n}"))),
            Expr::Unary { op, expr } => ast::Expr::UnaryOp {
                op: match op {
                    UnaryOp::Not => ast::UnaryOperator::Not,
                    UnaryOp::Minus => ast::UnaryOperator::Minus,
                    UnaryOp::Plus => ast::UnaryOperator::Plus,
                },
                expr: self.operand(expr),
            },
            // Constructs only DataFusion spells (and means) as Postgres does.
            Expr::Binary {
                op:
                    BinaryOp::RegexMatch
                    | BinaryOp::RegexIMatch
                    | BinaryOp::RegexNotMatch
                    | BinaryOp::RegexNotIMatch,
                ..
            } if self.target != Target::DataFusion => {
                self.reject("regular-expression operator ~ (POSIX regex dialect)")
            }
            Expr::AnyOp { .. } if self.target != Target::DataFusion => {
                self.reject("op ANY (array)")
            }
            // StarRocks names these fields' extractors as functions (MySQL's).
            Expr::Extract { field, expr }
                if self.target == Target::StarRocks
                    && ["year", "quarter", "month", "day", "hour", "minute"]
                        .contains(&field.as_str()) =>
            {
                let arg = self.expr(expr);
                ast::Expr::Function(ast::Function {
                    name: object_name(vec![ast::Ident::new(field)]),
                    uses_odbc_syntax: false,
                    parameters: ast::FunctionArguments::None,
                    args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))],
                        clauses: Vec::new(),
                    }),
                    within_group: Vec::new(),
                    filter: None,
                    null_treatment: None,
                    over: None,
                })
            }
            Expr::Extract { .. } if self.target != Target::DataFusion && !self.passes_through() => {
                self.reject("EXTRACT")
            }
            Expr::IsDistinctFrom { .. } | Expr::IsBool { .. }
                if self.target != Target::DataFusion && !self.passes_through() =>
            {
                self.reject("IS [NOT] DISTINCT FROM / IS TRUE")
            }
            Expr::Like {
                case_insensitive: true,
                ..
            } if self.target == Target::StarRocks => self.reject("ILIKE"),
            // MySQL reads `||` as OR; `concat` is NULL if any argument is, as `||` is.
            Expr::Binary {
                left,
                op: BinaryOp::Concat,
                right,
            } if self.target == Target::StarRocks => {
                let args = vec![
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(self.expr(left))),
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(self.expr(right))),
                ];
                ast::Expr::Function(ast::Function {
                    name: object_name(vec![ast::Ident::new("concat")]),
                    uses_odbc_syntax: false,
                    parameters: ast::FunctionArguments::None,
                    args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args,
                        clauses: Vec::new(),
                    }),
                    within_group: Vec::new(),
                    filter: None,
                    null_treatment: None,
                    over: None,
                })
            }
            // ClickHouse subtracts instants as a number of seconds (Int32 for DateTime,
            // Decimal for DateTime64, days for Date); the other engines give an interval.
            Expr::Binary {
                left,
                op: BinaryOp::Minus,
                right,
            } if self.flavor == Flavor::ClickHouse
                && !self.passes_through()
                && self.type_of(left).is_some_and(|t| t.is_temporal())
                && self.type_of(right).is_some_and(|t| t.is_temporal()) =>
            {
                self.reject("DateTime - DateTime (ClickHouse gives a number of seconds)")
            }
            // Postgres divides integers as integers; ClickHouse and StarRocks never do, and
            // the operand types are unknown here.
            Expr::Binary {
                op: BinaryOp::Divide,
                ..
            } if self.flavor == Flavor::Postgres && self.target != Target::DataFusion => {
                self.reject("operator / (Postgres divides integers as integers)")
            }
            Expr::Binary { left, op, right } => ast::Expr::BinaryOp {
                left: self.operand(left),
                op: binary_operator(*op),
                right: self.operand(right),
            },
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let (expr, pattern) = (self.operand(expr), self.operand(pattern));
                let negated = *negated;
                if *case_insensitive {
                    ast::Expr::ILike {
                        negated,
                        any: false,
                        expr,
                        pattern,
                        escape_char: None,
                    }
                } else {
                    ast::Expr::Like {
                        negated,
                        any: false,
                        expr,
                        pattern,
                        escape_char: None,
                    }
                }
            }
            Expr::IsNull { expr, negated } => {
                let expr = self.operand(expr);
                if *negated {
                    ast::Expr::IsNotNull(expr)
                } else {
                    ast::Expr::IsNull(expr)
                }
            }
            Expr::IsBool {
                expr,
                value,
                negated,
            } => {
                let expr = self.operand(expr);
                match (value, negated) {
                    (true, false) => ast::Expr::IsTrue(expr),
                    (true, true) => ast::Expr::IsNotTrue(expr),
                    (false, false) => ast::Expr::IsFalse(expr),
                    (false, true) => ast::Expr::IsNotFalse(expr),
                }
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let (left, right) = (self.operand(left), self.operand(right));
                if *negated {
                    ast::Expr::IsNotDistinctFrom(left, right)
                } else {
                    ast::Expr::IsDistinctFrom(left, right)
                }
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => ast::Expr::Between {
                expr: self.operand(expr),
                negated: *negated,
                low: self.operand(low),
                high: self.operand(high),
            },
            // An empty list (a bound empty array) holds nothing, not even NULL.
            Expr::InList { list, negated, .. } if list.is_empty() => {
                ast::Expr::value(ast::Value::Boolean(*negated))
            }
            Expr::InList {
                expr,
                list,
                negated,
            } if matches!(**expr, Expr::Tuple(_)) && !self.passes_through() => {
                let membership = self.tuple_in_list(expr, list);
                self.negated(membership, *negated)
            }
            Expr::InSubquery {
                expr,
                query,
                negated,
                ..
            } if matches!(**expr, Expr::Tuple(_)) && !self.passes_through() => {
                self.tuple_in_subquery(expr, query, *negated)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => ast::Expr::In {
                expr: self.operand(expr),
                target: ast::InTarget::List(list.iter().map(|e| self.expr(e)).collect()),
                negated: *negated,
                global: false,
            },
            Expr::InSubquery {
                expr,
                query,
                negated,
                global,
            } => ast::Expr::In {
                expr: self.operand(expr),
                target: ast::InTarget::Subquery(Box::new(self.query(query))),
                negated: *negated,
                // See `TableRef::Join::global`.
                global: *global && self.target == Target::ClickHouse,
            },
            Expr::AnyOp { left, op, array } => ast::Expr::AnyOp {
                left: self.operand(left),
                compare_op: binary_operator(*op),
                right: self.boxed(array),
                is_some: false,
            },
            Expr::Case {
                operand,
                branches,
                else_result,
            } => ast::Expr::Case {
                case_token: AttachedToken::empty(),
                end_token: AttachedToken::empty(),
                operand: operand.as_ref().map(|e| self.boxed(e)),
                conditions: branches
                    .iter()
                    .map(|(when, then)| ast::CaseWhen {
                        condition: self.expr(when),
                        result: self.expr(then),
                    })
                    .collect(),
                else_result: else_result.as_ref().map(|e| self.boxed(e)),
            },
            Expr::Cast { expr, ty } => match self.dialect.data_type(ty) {
                Some(data_type)
                    if self.flavor == Flavor::Postgres
                        && self.target == Target::DataFusion
                        && matches!(ty, DataType::Int16 | DataType::Int32 | DataType::Int64) =>
                {
                    let operand = self.expr(expr);
                    functions::df_postgres_integer_cast(self, operand, data_type)
                }
                Some(data_type) => ast::Expr::Cast {
                    kind: ast::CastKind::Cast,
                    expr: self.boxed(expr),
                    data_type,
                    format: None,
                },
                None => self.reject(format!("type {ty}")),
            },
            Expr::Extract { field, expr } => ast::Expr::Extract {
                field: ast::DateTimeField::Custom(ast::Ident::new(field)),
                syntax: ast::ExtractSyntax::From,
                expr: self.boxed(expr),
            },
            Expr::Function(call) => self.function(call),
            // `ARRAY[…]` is Postgres'; ClickHouse and StarRocks write `[…]`.
            Expr::Array(items) => ast::Expr::Array(ast::Array {
                elem: items.iter().map(|e| self.expr(e)).collect(),
                named: self.target == Target::DataFusion,
            }),
            // ClickHouse reads a missing map key or an out-of-range index as the type's
            // default ('' or 0); the others give NULL.
            Expr::Subscript { expr, index }
                if self.flavor == Flavor::ClickHouse && self.target != Target::ClickHouse =>
            {
                functions::clickhouse_subscript(self, expr, index)
            }
            Expr::Subscript { .. }
                if self.target == Target::ClickHouse && !self.passes_through() =>
            {
                self.reject(
                    "subscript x[…] (ClickHouse gives a default value, not NULL, when absent)",
                )
            }
            Expr::Subscript { expr, index } => ast::Expr::CompoundFieldAccess {
                root: self.operand(expr),
                access_chain: vec![ast::AccessExpr::Subscript(ast::Subscript::Index {
                    index: self.expr(index),
                })],
            },
            Expr::Subquery(query) => ast::Expr::Subquery(Box::new(self.query(query))),
            Expr::Exists { query, negated } => ast::Expr::Exists {
                subquery: Box::new(self.query(query)),
                negated: *negated,
            },
            Expr::Lambda { params, body } if self.passes_through() => {
                // Printed unquoted: a reserved word there would not read back as a name.
                let reserved = |p: &str| {
                    let upper = p.to_ascii_uppercase();
                    sqlparser::keywords::RESERVED_FOR_COLUMN_ALIAS
                        .iter()
                        .any(|k| format!("{k:?}") == upper)
                };
                if let Some(bad) = params.iter().find(|p| !is_plain_name(p) || reserved(p)) {
                    return self.reject(format!("lambda parameter {bad:?}"));
                }
                let params: Vec<ast::LambdaFunctionParameter> = params
                    .iter()
                    .map(|p| ast::LambdaFunctionParameter {
                        name: ast::Ident::new(p),
                        data_type: None,
                    })
                    .collect();
                ast::Expr::Lambda(ast::LambdaFunction {
                    params: ast::OneOrManyWithParens::Many(params),
                    body: self.boxed(body),
                    syntax: ast::LambdaSyntax::Arrow,
                })
            }
            Expr::Tuple(items) if self.passes_through() => {
                ast::Expr::Tuple(items.iter().map(|e| self.expr(e)).collect())
            }
            Expr::Lambda { .. } => self.reject("lambda"),
            Expr::Tuple(_) => self.reject("tuple"),
            Expr::Unsupported(construct) => self.reject(construct.clone()),
        }
    }

    fn negated(&mut self, e: ast::Expr, negated: bool) -> ast::Expr {
        if negated {
            ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Not,
                expr: Box::new(operand(e)),
            }
        } else {
            e
        }
    }

    /// ClickHouse's `(a, b) IN ((1, 'x'), …)`: true iff some tuple matches element-wise,
    /// and false (never NULL) otherwise, also when an element is NULL. As standard SQL:
    /// `coalesce((a = 1 AND b = 'x') OR …, false)`.
    fn tuple_in_list(&mut self, tuple: &Expr, list: &[Expr]) -> ast::Expr {
        let Expr::Tuple(left) = tuple else {
            return self.reject("tuple IN");
        };
        let mut alternatives = Vec::new();
        for item in list {
            match item {
                Expr::Tuple(right) if right.len() == left.len() => {
                    let equalities = left.iter().zip(right).map(|(l, r)| Expr::Binary {
                        left: Box::new(l.clone()),
                        op: BinaryOp::Eq,
                        right: Box::new(r.clone()),
                    });
                    alternatives.push(conjunction(equalities.collect(), BinaryOp::And));
                }
                _ => return self.reject("tuple IN with an item that is not a tuple of its size"),
            }
        }
        if alternatives.is_empty() {
            return self.reject("tuple IN ()");
        }
        let any = conjunction(alternatives, BinaryOp::Or);
        self.never_null(any)
    }

    /// ClickHouse's `(a, b) IN (SELECT x, y …)` (false, never NULL, when nothing matches):
    /// `EXISTS (SELECT 1 FROM (…) AS __switchyard_in (c1, c2) WHERE c1 = a AND c2 = b)`.
    fn tuple_in_subquery(&mut self, tuple: &Expr, query: &Query, negated: bool) -> ast::Expr {
        const ALIAS: &str = "__switchyard_in";
        let Expr::Tuple(left) = tuple else {
            return self.reject("tuple IN");
        };
        // StarRocks: no column list on a derived table; DataFusion cannot plan this
        // correlated NOT EXISTS.
        if self.target == Target::StarRocks || negated {
            let not = if negated { "NOT " } else { "" };
            return self.reject(format!("tuple {not}IN (subquery)"));
        }
        let columns: Vec<String> = (1..=left.len()).map(|i| format!("{ALIAS}_{i}")).collect();
        let equalities = left
            .iter()
            .zip(&columns)
            .map(|(l, c)| Expr::Binary {
                left: Box::new(Expr::Column(ir::ColumnRef {
                    qualifier: vec![ALIAS.into()],
                    name: c.clone(),
                })),
                op: BinaryOp::Eq,
                right: Box::new(l.clone()),
            })
            .collect();
        let probe = Query {
            with: None,
            body: SetExpr::Select(Box::new(Select {
                distinct: false,
                projection: vec![SelectItem::Expr {
                    expr: Expr::Literal(Literal::Int(1)),
                    alias: None,
                }],
                from: vec![TableRef::Derived {
                    query: Box::new(query.clone()),
                    alias: Some(ir::TableAlias {
                        name: ALIAS.into(),
                        columns,
                    }),
                }],
                filter: Some(conjunction(equalities, BinaryOp::And)),
                group_by: Vec::new(),
                group_by_modifiers: Vec::new(),
                having: None,
            })),
            order_by: Vec::new(),
            limit: None,
            offset: None,
            unsupported: Vec::new(),
            clickhouse: Default::default(),
            flavor: self.flavor,
            named_params: Vec::new(),
        };
        ast::Expr::Exists {
            subquery: Box::new(self.query(&probe)),
            negated,
        }
    }

    /// `coalesce(e, false)`.
    fn never_null(&mut self, e: Expr) -> ast::Expr {
        match ir::functions::lookup("coalesce") {
            Some(coalesce) => self.expr(&Expr::Function(FunctionCall {
                func: Func::Known(coalesce),
                params: Vec::new(),
                args: vec![e, Expr::Literal(Literal::Bool(false))],
                star: false,
                distinct: false,
                order_by: Vec::new(),
                filter: None,
                over: None,
            })),
            None => self.reject("coalesce"),
        }
    }

    /// ClickHouse calls whose meaning is query structure rather than a function: tuple
    /// element access and aggregates over a window. `None`: not one of them.
    fn structural_call(&mut self, name: &str, call: &FunctionCall) -> Option<ast::Expr> {
        if name == "tupleElement" {
            // Only a literal tuple has elements every target can name.
            return Some(match call.args.as_slice() {
                [Expr::Tuple(items), Expr::Literal(Literal::Int(i))] => {
                    match usize::try_from(*i)
                        .ok()
                        .and_then(|i| items.get(i.wrapping_sub(1)))
                    {
                        Some(item) => self.expr(item),
                        None => self.reject("tupleElement with an index out of range"),
                    }
                }
                _ => self.reject("tuple element access of a non-literal tuple"),
            });
        }
        let window = call.over.as_ref()?;
        // Over a frame that holds the current row (never empty), these ClickHouse
        // aggregates compute what the standard ones do: NULLs skipped, NULL only if
        // every input is NULL. (ClickHouse's default frame is the standard one.)
        const SAME_OVER_A_WINDOW: &[&str] = &["sum", "avg", "min", "max"];
        // Standard aggregate names are case-insensitive in ClickHouse.
        let Some(canonical) = SAME_OVER_A_WINDOW
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
        else {
            return Some(self.reject(format!("{name} over a window")));
        };
        let holds_current_row = window.frame.as_ref().is_none_or(|frame| {
            matches!(
                frame.start,
                FrameBound::Preceding(_) | FrameBound::CurrentRow
            ) && matches!(
                frame.end,
                None | Some(FrameBound::CurrentRow | FrameBound::Following(_))
            )
        });
        let def = ir::functions::lookup(canonical)?;
        let plain = call.params.is_empty()
            && !call.distinct
            && call.order_by.is_empty()
            && call.filter.is_none()
            && call.args.len() == 1;
        Some(if !holds_current_row {
            self.reject(format!("{name} over a window frame that may be empty"))
        } else if !plain {
            self.reject(format!(
                "{name} with parameters/DISTINCT/ORDER BY/FILTER over a window"
            ))
        } else {
            self.function(&FunctionCall {
                func: Func::Known(def),
                ..call.clone()
            })
        })
    }

    fn function(&mut self, call: &FunctionCall) -> ast::Expr {
        if let (Func::Anonymous(name), false, Flavor::ClickHouse) =
            (&call.func, self.passes_through(), self.flavor)
        {
            if let Some(e) = self.structural_call(name, call) {
                return e;
            }
        }
        let def = match &call.func {
            Func::Known(def) => *def,
            Func::Anonymous(name) if self.passes_through() => {
                return self.call(name, call);
            }
            Func::Anonymous(name) if self.flavor == Flavor::ClickHouse => {
                return match functions::clickhouse(self.target, name) {
                    Some(handler) => handler(self, call),
                    None => self.reject(format!("function {name}")),
                }
            }
            Func::Anonymous(name) => return self.reject(format!("function {name}")),
        };
        if self.passes_through() {
            return self.call(def.name, call);
        }
        let Some(spelling) = self.dialect.function(def.name) else {
            return self.reject(format!("function {}", def.name));
        };
        let args: Vec<ast::Expr> = call.args.iter().map(|e| self.expr(e)).collect();
        let name = match spelling {
            FunctionSpelling::Same => def.name,
            FunctionSpelling::Rename(name) => name,
            FunctionSpelling::Handler(handler) => {
                let plain = !call.distinct
                    && call.order_by.is_empty()
                    && call.filter.is_none()
                    && call.over.is_none();
                if !plain {
                    return self.reject(format!("{} with DISTINCT/ORDER BY/FILTER/OVER", def.name));
                }
                return match handler(args) {
                    Ok(e) => e,
                    Err(construct) => self.reject(construct),
                };
            }
        };
        let args = if def.keyword && args.is_empty() {
            ast::FunctionArguments::None
        } else {
            let mut list: Vec<ast::FunctionArg> = args
                .into_iter()
                .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)))
                .collect();
            if call.star {
                list.push(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard));
            }
            let clauses = if call.order_by.is_empty() {
                Vec::new()
            } else {
                vec![ast::FunctionArgumentClause::OrderBy(
                    self.order_by(&call.order_by),
                )]
            };
            ast::FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: call.distinct.then_some(ast::DuplicateTreatment::Distinct),
                args: list,
                clauses,
            })
        };
        let function = ast::Function {
            name: object_name(vec![ast::Ident::new(name)]),
            uses_odbc_syntax: false,
            parameters: ast::FunctionArguments::None,
            args,
            within_group: Vec::new(),
            filter: call.filter.as_ref().map(|e| self.boxed(e)),
            null_treatment: None,
            over: call
                .over
                .as_ref()
                .map(|w| ast::WindowType::WindowSpec(self.window_spec(w))),
        };
        self.aggregate_filter(function)
    }

    /// Finishes an aggregate call: for targets without `FILTER (WHERE c)`, aggregates that
    /// ignore NULL inputs get `CASE WHEN c THEN arg END` arguments instead (`count(*)`
    /// counts `CASE WHEN c THEN 1 END`); any other filtered aggregate is rejected.
    fn aggregate_filter(&mut self, mut f: ast::Function) -> ast::Expr {
        const NULL_IGNORING: &[&str] = &[
            "count",
            "sum",
            "avg",
            "min",
            "max",
            "approx_count_distinct",
            "stddev_samp",
            "var_samp",
        ];
        if self.dialect.supports_aggregate_filter() {
            return ast::Expr::Function(f);
        }
        let Some(condition) = f.filter.take() else {
            return ast::Expr::Function(f);
        };
        let name = f.name.to_string();
        let ast::FunctionArguments::List(list) = &mut f.args else {
            return self.reject(format!("{name} with FILTER"));
        };
        if !NULL_IGNORING.contains(&name.as_str()) || list.args.len() != 1 {
            return self.reject(format!("{name} with FILTER"));
        }
        let when = |value: ast::Expr| ast::Expr::Case {
            case_token: AttachedToken::empty(),
            end_token: AttachedToken::empty(),
            operand: None,
            conditions: vec![ast::CaseWhen {
                condition: (*condition).clone(),
                result: value,
            }],
            else_result: None,
        };
        let arg = match &list.args[0] {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => when(number("1".into())),
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => when(e.clone()),
            _ => return self.reject(format!("{name} with FILTER")),
        };
        list.args = vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))];
        ast::Expr::Function(f)
    }

    /// `name(params)(args)` exactly as written, for ClickHouse → ClickHouse.
    fn call(&mut self, name: &str, call: &FunctionCall) -> ast::Expr {
        if !is_plain_name(name) {
            return self.reject(format!("function {name:?}"));
        }
        let list = |this: &mut Self, exprs: &[Expr]| {
            exprs
                .iter()
                .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(this.expr(e))))
                .collect::<Vec<_>>()
        };
        let parameters = if call.params.is_empty() {
            ast::FunctionArguments::None
        } else {
            ast::FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: None,
                args: list(self, &call.params),
                clauses: Vec::new(),
            })
        };
        let mut args = list(self, &call.args);
        if let (Some(Expr::Column(unit)), Some(first)) = (call.args.first(), args.first_mut()) {
            if takes_unit_keyword(name) && unit.qualifier.is_empty() && is_time_unit(&unit.name) {
                // `dateAdd(minute, …)`: a keyword to ClickHouse, which quoting would turn
                // into an unknown column.
                let keyword = ast::Expr::Identifier(ast::Ident::new(&unit.name));
                *first = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(keyword));
            }
        }
        if call.star {
            args.push(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard));
        }
        let clauses = if call.order_by.is_empty() {
            Vec::new()
        } else {
            vec![ast::FunctionArgumentClause::OrderBy(
                self.order_by(&call.order_by),
            )]
        };
        ast::Expr::Function(ast::Function {
            name: object_name(vec![ast::Ident::new(name)]),
            uses_odbc_syntax: false,
            parameters,
            args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: call.distinct.then_some(ast::DuplicateTreatment::Distinct),
                args,
                clauses,
            }),
            within_group: Vec::new(),
            filter: call.filter.as_ref().map(|e| self.boxed(e)),
            null_treatment: None,
            over: call
                .over
                .as_ref()
                .map(|w| ast::WindowType::WindowSpec(self.window_spec(w))),
        })
    }

    fn window_spec(&mut self, w: &WindowSpec) -> ast::WindowSpec {
        let mut bound = |b: &FrameBound| {
            let mut offset = |n: &Option<Box<Expr>>| n.as_ref().map(|e| self.boxed(e));
            match b {
                FrameBound::CurrentRow => ast::WindowFrameBound::CurrentRow,
                FrameBound::Preceding(n) => ast::WindowFrameBound::Preceding(offset(n)),
                FrameBound::Following(n) => ast::WindowFrameBound::Following(offset(n)),
            }
        };
        let window_frame = w.frame.as_ref().map(|frame| ast::WindowFrame {
            units: match frame.units {
                FrameUnits::Rows => ast::WindowFrameUnits::Rows,
                FrameUnits::Range => ast::WindowFrameUnits::Range,
                FrameUnits::Groups => ast::WindowFrameUnits::Groups,
            },
            start_bound: bound(&frame.start),
            end_bound: frame.end.as_ref().map(&mut bound),
        });
        ast::WindowSpec {
            window_name: None,
            partition_by: w.partition_by.iter().map(|e| self.expr(e)).collect(),
            order_by: self.order_by(&w.order_by),
            window_frame,
        }
    }
}

/// `e1 op e2 op …` for a non-empty list.
fn conjunction(mut items: Vec<Expr>, op: BinaryOp) -> Expr {
    let first = items.remove(0);
    items.into_iter().fold(first, |left, right| Expr::Binary {
        left: Box::new(left),
        op,
        right: Box::new(right),
    })
}

/// The result column names of a select list by Postgres' rules (`ir::output_name`), made
/// unique with suffixes (`count`, `count_1`) because some targets (DataFusion) reject
/// duplicates; `None` for wildcards.
fn unique_output_names(items: &[SelectItem]) -> Vec<Option<String>> {
    let names: Vec<Option<String>> = items
        .iter()
        .map(|item| match item {
            SelectItem::Expr { alias: Some(a), .. } => Some(a.clone()),
            SelectItem::Expr { expr, alias: None } => Some(ir::output_name(expr)),
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => None,
        })
        .collect();
    let all_names: HashSet<&String> = names.iter().flatten().collect();
    let mut used: HashSet<String> = HashSet::new();
    names
        .iter()
        .map(|name| {
            let name = name.as_ref()?;
            let unique = if used.contains(name) {
                (1..)
                    .map(|i| format!("{name}_{i}"))
                    .find(|n| !used.contains(n) && !all_names.contains(n))
                    .expect("an unused suffix exists")
            } else {
                name.clone()
            };
            used.insert(unique.clone());
            Some(unique)
        })
        .collect()
}

/// ClickHouse's `SELECT … ORDER BY o LIMIT n [OFFSET m] BY b [LIMIT k [OFFSET j]]` for
/// targets without LIMIT BY. ClickHouse sorts, keeps rows m+1..m+n of each b group in that
/// order, then applies LIMIT k OFFSET j; as standard SQL:
///
/// ```sql
/// SELECT <names> FROM (
///   SELECT <items AS names>,
///          row_number() OVER (PARTITION BY b ORDER BY o) AS __switchyard_rn,
///          <o items that are not result columns> AS __switchyard_order_<i>
///   FROM … WHERE … GROUP BY … HAVING …) AS __switchyard_limit_by
/// WHERE __switchyard_rn > m AND __switchyard_rn <= m + n
/// ORDER BY <o by result column> LIMIT k OFFSET j
/// ```
///
/// ClickHouse resolves select-list aliases and positions in o and b; so does this (other
/// engines do not in window clauses), and its default null order (last) is made explicit.
fn limit_by_as_window(q: &Query) -> std::result::Result<Query, &'static str> {
    const RN: &str = "__switchyard_rn";
    let Some(limit_by) = &q.clickhouse.limit_by else {
        return Err("LIMIT BY");
    };
    let SetExpr::Select(select) = &q.body else {
        return Err("LIMIT BY on a set operation");
    };
    if select.distinct {
        // The window would number rows before DISTINCT removes duplicates.
        return Err("LIMIT BY with DISTINCT");
    }
    let names = unique_output_names(&select.projection);
    let Some(names) = names.into_iter().collect::<Option<Vec<String>>>() else {
        return Err("LIMIT BY with SELECT *");
    };
    let items: Vec<(&Expr, Option<&String>)> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::Expr { expr, alias } => Some((expr, alias.as_ref())),
            _ => None,
        })
        .collect();
    // Select-list aliases and positions, as ClickHouse reads them anywhere in the query.
    let resolve = |e: &Expr| -> Expr {
        if let Expr::Literal(Literal::Int(i)) = e {
            if let Some((item, _)) = usize::try_from(*i)
                .ok()
                .and_then(|i| items.get(i.wrapping_sub(1)))
            {
                return (*item).clone();
            }
        }
        let mut resolved = e.clone();
        ir::visit::for_each_in_expr_mut(&mut resolved, &mut |e| {
            if let Expr::Column(c) = e {
                let aliased = items
                    .iter()
                    .find(|(_, alias)| c.qualifier.is_empty() && *alias == Some(&c.name));
                if let Some((item, _)) = aliased {
                    *e = (*item).clone();
                }
            }
        });
        resolved
    };
    let nulls_last = |item: &OrderByItem| item.nulls_first.or(Some(false));

    let mut inner = (**select).clone();
    inner.projection = items
        .iter()
        .zip(&names)
        .map(|((expr, alias), name)| SelectItem::Expr {
            expr: (*expr).clone(),
            // A plain column keeps its name unaliased; everything else is named.
            alias: match expr {
                Expr::Column(c) if alias.is_none() && c.name == *name => None,
                _ => Some(name.clone()),
            },
        })
        .collect();
    let window_order: Vec<OrderByItem> = q
        .order_by
        .iter()
        .map(|item| OrderByItem {
            expr: resolve(&item.expr),
            desc: item.desc,
            nulls_first: nulls_last(item),
            fill: None,
        })
        .collect();
    let row_number = ir::functions::lookup("row_number").ok_or("LIMIT BY")?;
    inner.projection.push(SelectItem::Expr {
        expr: Expr::Function(FunctionCall {
            func: Func::Known(row_number),
            params: Vec::new(),
            args: Vec::new(),
            star: false,
            distinct: false,
            order_by: Vec::new(),
            filter: None,
            over: Some(WindowSpec {
                partition_by: limit_by.by.iter().map(&resolve).collect(),
                order_by: window_order.clone(),
                frame: None,
            }),
        }),
        alias: Some(RN.into()),
    });
    let column = |name: &str| {
        Expr::Column(ir::ColumnRef {
            qualifier: Vec::new(),
            name: name.to_string(),
        })
    };
    // The final order, by result column where the item is one, else by a hidden column.
    let mut outer_order = Vec::new();
    for (i, (item, resolved)) in q.order_by.iter().zip(window_order).enumerate() {
        let expr = match &item.expr {
            Expr::Literal(Literal::Int(p)) if (1..=names.len() as i64).contains(p) => {
                item.expr.clone()
            }
            Expr::Column(c) if c.qualifier.is_empty() && names.contains(&c.name) => {
                item.expr.clone()
            }
            _ => {
                let hidden = format!("__switchyard_order_{}", i + 1);
                inner.projection.push(SelectItem::Expr {
                    expr: resolved.expr,
                    alias: Some(hidden.clone()),
                });
                column(&hidden)
            }
        };
        outer_order.push(OrderByItem {
            expr,
            desc: item.desc,
            nulls_first: nulls_last(item),
            fill: item.fill.clone(),
        });
    }
    let binary = |left: Expr, op, right: Expr| Expr::Binary {
        left: Box::new(left),
        op,
        right: Box::new(right),
    };
    let filter = match &limit_by.offset {
        None => binary(column(RN), BinaryOp::LtEq, limit_by.limit.clone()),
        Some(m) => binary(
            binary(column(RN), BinaryOp::Gt, m.clone()),
            BinaryOp::And,
            binary(
                column(RN),
                BinaryOp::LtEq,
                match (m, &limit_by.limit) {
                    (Expr::Literal(Literal::Int(m)), Expr::Literal(Literal::Int(n)))
                        if m.checked_add(*n).is_some() =>
                    {
                        Expr::Literal(Literal::Int(m + n))
                    }
                    (m, n) => binary(m.clone(), BinaryOp::Plus, n.clone()),
                },
            ),
        ),
    };
    let query = |body, order_by, limit, offset, clickhouse| Query {
        with: None,
        body,
        order_by,
        limit,
        offset,
        unsupported: Vec::new(),
        clickhouse,
        flavor: q.flavor,
        named_params: Vec::new(),
    };
    let derived = TableRef::Derived {
        query: Box::new(query(
            SetExpr::Select(Box::new(inner)),
            Vec::new(),
            None,
            None,
            ir::ClickHouseClauses::default(),
        )),
        alias: Some(ir::TableAlias {
            name: "__switchyard_limit_by".into(),
            columns: Vec::new(),
        }),
    };
    let outer = Select {
        distinct: false,
        projection: names
            .iter()
            .map(|name| SelectItem::Expr {
                expr: column(name),
                alias: None,
            })
            .collect(),
        from: vec![derived],
        filter: Some(filter),
        group_by: Vec::new(),
        group_by_modifiers: Vec::new(),
        having: None,
    };
    let mut clickhouse = q.clickhouse.clone();
    clickhouse.limit_by = None;
    Ok(Query {
        with: q.with.clone(),
        unsupported: q.unsupported.clone(),
        named_params: q.named_params.clone(),
        ..query(
            SetExpr::Select(Box::new(outer)),
            outer_order,
            q.limit.clone(),
            q.offset.clone(),
            clickhouse,
        )
    })
}

fn binary_operator(op: BinaryOp) -> ast::BinaryOperator {
    use ast::BinaryOperator as B;
    match op {
        BinaryOp::Plus => B::Plus,
        BinaryOp::Minus => B::Minus,
        BinaryOp::Multiply => B::Multiply,
        BinaryOp::Divide => B::Divide,
        BinaryOp::Modulo => B::Modulo,
        BinaryOp::Concat => B::StringConcat,
        BinaryOp::Eq => B::Eq,
        BinaryOp::NotEq => B::NotEq,
        BinaryOp::Lt => B::Lt,
        BinaryOp::LtEq => B::LtEq,
        BinaryOp::Gt => B::Gt,
        BinaryOp::GtEq => B::GtEq,
        BinaryOp::And => B::And,
        BinaryOp::Or => B::Or,
        BinaryOp::RegexMatch => B::PGRegexMatch,
        BinaryOp::RegexIMatch => B::PGRegexIMatch,
        BinaryOp::RegexNotMatch => B::PGRegexNotMatch,
        BinaryOp::RegexNotIMatch => B::PGRegexNotIMatch,
    }
}

/// A plain `SELECT <projection>` node; callers fill in the clauses they have.
fn select_node(projection: Vec<ast::SelectItem>) -> ast::Select {
    ast::Select {
        select_token: AttachedToken::empty(),
        optimizer_hints: Vec::new(),
        distinct: None,
        select_modifiers: None,
        top: None,
        top_before_distinct: false,
        projection,
        exclude: None,
        into: None,
        from: Vec::new(),
        lateral_views: Vec::new(),
        prewhere: None,
        selection: None,
        connect_by: Vec::new(),
        group_by: ast::GroupByExpr::Expressions(Vec::new(), Vec::new()),
        cluster_by: Vec::new(),
        distribute_by: Vec::new(),
        sort_by: Vec::new(),
        having: None,
        named_window: Vec::new(),
        qualify: None,
        window_before_qualify: false,
        value_table_mode: None,
        flavor: ast::SelectFlavor::Standard,
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`: safe to print unquoted as a function or setting name.
fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The placeholder behind a rejected FROM item; never printed.
fn empty_query() -> ast::Query {
    query_node(ast::SetExpr::Select(Box::new(select_node(Vec::new()))))
}

/// A query with only a body.
fn query_node(body: ast::SetExpr) -> ast::Query {
    ast::Query {
        with: None,
        body: Box::new(body),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    }
}

/// ClickHouse functions whose first argument is an unquoted time unit keyword.
fn takes_unit_keyword(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "dateadd",
        "date_add",
        "datesub",
        "date_sub",
        "timestampadd",
        "timestamp_add",
        "timestampsub",
        "timestamp_sub",
        "datediff",
        "date_diff",
        "timestampdiff",
        "timestamp_diff",
        "age",
    ];
    NAMES.contains(&name.to_ascii_lowercase().as_str())
}

/// A word ClickHouse's parser reads as an interval kind in a unit position, abbreviations
/// included (`s`, `mi`, `hh`, …): even where a column has that name, it is the unit.
fn is_time_unit(word: &str) -> bool {
    let word = word.to_ascii_lowercase();
    functions::time_unit(&word).is_some()
        || matches!(
            word.as_str(),
            "nanosecond"
                | "nanoseconds"
                | "ns"
                | "microsecond"
                | "microseconds"
                | "us"
                | "millisecond"
                | "milliseconds"
                | "ms"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn parse_single_expr(sql: &str) -> ast::Expr {
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap_or_else(|e| panic!("{sql:?} does not parse: {e}"));
        let [ast::Statement::Query(query)] = statements.as_slice() else {
            panic!("{sql:?} is not one query")
        };
        let ast::SetExpr::Select(select) = query.body.as_ref() else {
            panic!("{sql:?} is not a SELECT")
        };
        match &select.projection[..] {
            [ast::SelectItem::UnnamedExpr(e)] => e.clone(),
            other => panic!("{sql:?}: unexpected projection {other:?}"),
        }
    }

    #[test]
    fn string_literals_round_trip_through_postgres_parsing() {
        for s in super::translate_tests::tricky_strings() {
            let sql = format!("SELECT {}", standard_string_literal(&s));
            match parse_single_expr(&sql) {
                ast::Expr::Value(v) => {
                    assert_eq!(
                        v.value,
                        ast::Value::SingleQuotedString(s.clone()),
                        "{sql:?}"
                    )
                }
                other => panic!("{sql:?} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn identifiers_round_trip_through_postgres_parsing() {
        // Postgres rejects the zero-length identifier "".
        for s in super::translate_tests::tricky_strings()
            .into_iter()
            .filter(|s| !s.is_empty())
        {
            let sql = format!("SELECT {}", quoted_identifier('"', &s));
            match parse_single_expr(&sql) {
                ast::Expr::Identifier(ident) => assert_eq!(ident.value, s, "{sql:?}"),
                other => panic!("{sql:?} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn negative_numbers_never_form_comments() {
        let minus = |e: ast::Expr| ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr: Box::new(operand(e)),
        };
        assert_eq!(minus(number("-5".into())).to_string(), "-(-5)");
        assert_eq!(minus(number("5".into())).to_string(), "-5");
    }
}
