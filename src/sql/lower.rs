//! Lowering: sqlparser's AST → the IR.
//!
//! Constructs the IR cannot represent are not errors here: they stay in the tree as named
//! `Unsupported` markers (or in `Query::unsupported` for whole clauses), so `emit` can
//! name every one of them, for the chosen backend, in a single error. Lowering fails only
//! on statements that are wrong everywhere: a known function with the wrong number of
//! arguments, or an invalid `$n`. It must never drop a clause silently.

use sqlparser::ast as sp;

use crate::error::{Error, Result};
use crate::ir::functions::{self, FunctionKind};
use crate::ir::{
    BinaryOp, ClickHouseClauses, ColumnRef, Cte, DataType, Expr, Flavor, FrameBound, FrameUnits,
    Func, FunctionCall, GroupByModifier, JoinConstraint, JoinKind, LimitBy, Literal, OrderByItem,
    Query, Sample, Select, SelectItem, SetExpr, SetOperator, TableAlias, TableName, TableRef,
    UnaryOp, WindowFrame, WindowSpec, With,
};

/// Lowers one Postgres-flavoured query (a `Statement::Query`'s body) into the IR.
pub fn lower_query(query: &sp::Query) -> Result<Query> {
    lower_query_as(query, Flavor::Postgres)
}

/// Lowers one query written in `flavor`. ClickHouse-flavoured function calls keep their
/// ClickHouse name unless the catalogue function means exactly the same (`Func::Anonymous`
/// then stands for "a ClickHouse function"); `a / b` becomes ClickHouse's `divide(a, b)`
/// (always Float64); `{name:Type}` parameters become `$n` in order of first appearance.
pub fn lower_query_as(query: &sp::Query, flavor: Flavor) -> Result<Query> {
    let previous = CONTEXT.with(|c| {
        std::mem::replace(
            &mut *c.borrow_mut(),
            Context {
                flavor,
                ..Context::default()
            },
        )
    });
    let result = lower(query).and_then(|mut q| {
        let named = CONTEXT.with(|c| std::mem::take(&mut c.borrow_mut().named_params));
        if !named.is_empty() && q.param_count() > named.len() {
            return Err(Error::InvalidParameter(
                "a query cannot mix {name:Type} and $n parameters".into(),
            ));
        }
        q.named_params = named;
        crate::ir::fold::intervals(&mut q);
        Ok(q)
    });
    CONTEXT.with(|c| *c.borrow_mut() = previous);
    result
}

/// What lowering one statement needs besides the AST node at hand. Lowering is a set of
/// plain recursive functions; the few facts they share live here for the duration of one
/// `lower_query_as` call (restored afterwards, so nested calls are safe).
#[derive(Default)]
struct Context {
    flavor: Flavor,
    /// ClickHouse scalar aliases (`WITH <expr> AS name`), already lowered; inlined where
    /// the name is used as an unqualified identifier.
    scalar_aliases: Vec<(String, Expr)>,
    /// `{name:Type}` parameters in order of first appearance (`$1`, `$2`, …).
    named_params: Vec<(String, Option<DataType>)>,
}

thread_local! {
    static CONTEXT: std::cell::RefCell<Context> = std::cell::RefCell::new(Context::default());
}

fn flavor() -> Flavor {
    CONTEXT.with(|c| c.borrow().flavor)
}

fn scalar_alias(name: &str) -> Option<Expr> {
    CONTEXT.with(|c| {
        c.borrow()
            .scalar_aliases
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.clone())
    })
}

/// The marker `sql::dialect` puts in `Cte::from` of a ClickHouse scalar alias
/// `WITH <expr> AS name`, encoded as the CTE `name AS (SELECT <expr>)`.
pub const SCALAR_ALIAS_MARKER: &str = "__switchyard_scalar_alias";

/// The table hint `sql::dialect::rewrite_tokens` puts where ClickHouse wrote FINAL after a
/// table alias (`FROM t AS v FINAL` → `FROM t AS v WITH (__switchyard_final)`).
pub const FINAL_MARKER: &str = "__switchyard_final";

use super::dialect::JOIN_STRICTNESS_MARKER;

/// Names of constructs found in one query level that the IR cannot represent.
type Unsupported = Vec<String>;

/// A short SQL rendering of an AST node, to name it in an error message.
fn describe(node: &impl std::fmt::Display) -> String {
    const MAX: usize = 60;
    let text = node.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn lower(q: &sp::Query) -> Result<Query> {
    let mut unsupported = Unsupported::new();
    let mut clickhouse = ClickHouseClauses::default();
    let scalar_count = CONTEXT.with(|c| c.borrow().scalar_aliases.len());
    let result = lower_inner(q, &mut unsupported, &mut clickhouse);
    CONTEXT.with(|c| c.borrow_mut().scalar_aliases.truncate(scalar_count));
    let (with, body, order_by, limit, offset) = result?;
    Ok(Query {
        with,
        body,
        order_by,
        limit,
        offset,
        unsupported,
        clickhouse,
        flavor: flavor(),
        named_params: Vec::new(),
    })
}

type Lowered = (
    Option<With>,
    SetExpr,
    Vec<OrderByItem>,
    Option<Expr>,
    Option<Expr>,
);

fn lower_inner(
    q: &sp::Query,
    unsupported: &mut Unsupported,
    clickhouse: &mut ClickHouseClauses,
) -> Result<Lowered> {
    let with = match &q.with {
        Some(w) => with(w)?,
        None => None,
    };
    let unsupported = &mut *unsupported;
    let body = set_expr(&q.body, unsupported)?;

    let mut order_by = Vec::new();
    if let Some(clause) = &q.order_by {
        if clause.interpolate.is_some() {
            unsupported.push("ORDER BY … INTERPOLATE".into());
        }
        match &clause.kind {
            sp::OrderByKind::Expressions(items) => {
                for item in items {
                    order_by.push(order_by_item(item, unsupported)?);
                }
            }
            sp::OrderByKind::All(_) => unsupported.push("ORDER BY ALL".into()),
        }
    }

    let (mut limit, offset) = match &q.limit_clause {
        None => (None, None),
        Some(sp::LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            let offset = offset.as_ref().map(|o| expr(&o.value)).transpose()?;
            let limit = limit.as_ref().map(expr).transpose()?;
            if limit_by.is_empty() {
                (limit, offset)
            } else {
                match limit {
                    Some(limit) => {
                        clickhouse.limit_by = Some(LimitBy {
                            limit,
                            offset,
                            by: limit_by.iter().map(expr).collect::<Result<_>>()?,
                        });
                    }
                    None => unsupported.push("LIMIT BY".into()),
                }
                (None, None)
            }
        }
        Some(sp::LimitClause::OffsetCommaLimit { offset, limit }) => {
            (Some(expr(limit)?), Some(expr(offset)?))
        }
    };
    // `FETCH FIRST n ROWS ONLY` is the standard spelling of LIMIT.
    if let Some(fetch) = &q.fetch {
        match &fetch.quantity {
            Some(quantity) if !fetch.percent && !fetch.with_ties && limit.is_none() => {
                limit = Some(expr(quantity)?)
            }
            _ => unsupported.push(describe(fetch)),
        }
    }

    for setting in q.settings.iter().flatten() {
        clickhouse
            .settings
            .push((setting.key.value.clone(), expr(&setting.value)?));
    }
    match &q.format_clause {
        None => {}
        Some(sp::FormatClause::Identifier(name)) => clickhouse.format = Some(name.value.clone()),
        Some(sp::FormatClause::Null) => clickhouse.format = Some("Null".into()),
    }
    // `LIMIT … BY … LIMIT k [OFFSET o]` reaches here as `… |> LIMIT k [OFFSET o]`
    // (`dialect::rewrite_tokens`); the plain LIMIT/OFFSET went to the LIMIT BY.
    let mut pipes = q.pipe_operators.as_slice();
    let mut offset = offset;
    if let (Some(_), None, None, [sp::PipeOperator::Limit { expr: l, offset: o }, rest @ ..]) =
        (&clickhouse.limit_by, &limit, &offset, pipes)
    {
        limit = Some(expr(l)?);
        offset = o.as_ref().map(expr).transpose()?;
        pipes = rest;
    }
    let clauses = [
        (!q.locks.is_empty(), "FOR UPDATE/SHARE"),
        (q.for_clause.is_some(), "FOR XML/JSON"),
        (!pipes.is_empty(), "pipe operator |>"),
    ];
    unsupported.extend(clauses.iter().filter(|c| c.0).map(|c| c.1.to_string()));

    Ok((with, body, order_by, limit, offset))
}

fn with(w: &sp::With) -> Result<Option<With>> {
    let mut ctes = Vec::new();
    for cte in &w.cte_tables {
        if cte
            .from
            .as_ref()
            .is_some_and(|f| f.value == SCALAR_ALIAS_MARKER)
        {
            let value = scalar_alias_value(&cte.query)?;
            CONTEXT.with(|c| {
                c.borrow_mut()
                    .scalar_aliases
                    .push((cte.alias.name.value.clone(), value))
            });
        } else {
            ctes.push(cte);
        }
    }
    if ctes.is_empty() {
        return Ok(None);
    }
    let ctes = ctes
        .into_iter()
        .map(|cte| {
            let mut query = lower(&cte.query)?;
            if cte.materialized.is_some() || cte.from.is_some() {
                query
                    .unsupported
                    .push(format!("CTE option on {}", cte.alias.name));
            }
            let (name, columns) = alias_parts(&cte.alias, &mut query.unsupported);
            Ok(Cte {
                name,
                columns,
                query,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some(With {
        recursive: w.recursive,
        ctes,
    }))
}

/// The expression of a scalar alias, encoded by the dialect as `SELECT <expr>`.
fn scalar_alias_value(q: &sp::Query) -> Result<Expr> {
    match q.body.as_ref() {
        sp::SetExpr::Select(s) => match s.projection.as_slice() {
            [sp::SelectItem::UnnamedExpr(e)] => expr(e),
            _ => Ok(Expr::Unsupported("scalar alias".into())),
        },
        _ => Ok(Expr::Unsupported("scalar alias".into())),
    }
}

fn set_expr(body: &sp::SetExpr, unsupported: &mut Unsupported) -> Result<SetExpr> {
    Ok(match body {
        sp::SetExpr::Select(s) => SetExpr::Select(Box::new(select(s, unsupported)?)),
        sp::SetExpr::Query(q) => SetExpr::Query(Box::new(lower(q)?)),
        sp::SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            let op = match op {
                sp::SetOperator::Union => SetOperator::Union,
                sp::SetOperator::Intersect => SetOperator::Intersect,
                // MINUS is another spelling of EXCEPT.
                sp::SetOperator::Except | sp::SetOperator::Minus => SetOperator::Except,
            };
            let all = match set_quantifier {
                sp::SetQuantifier::All => true,
                sp::SetQuantifier::Distinct | sp::SetQuantifier::None => false,
                other => {
                    unsupported.push(format!("set operation {other}"));
                    false
                }
            };
            SetExpr::SetOperation {
                op,
                all,
                left: Box::new(set_expr(left, unsupported)?),
                right: Box::new(set_expr(right, unsupported)?),
            }
        }
        sp::SetExpr::Values(_) => SetExpr::Unsupported("VALUES".into()),
        other => SetExpr::Unsupported(describe(other)),
    })
}

fn select(s: &sp::Select, unsupported: &mut Unsupported) -> Result<Select> {
    let distinct = match &s.distinct {
        None | Some(sp::Distinct::All) => false,
        Some(sp::Distinct::Distinct) => true,
        Some(sp::Distinct::On(_)) => {
            unsupported.push("DISTINCT ON".into());
            false
        }
    };
    let clauses = [
        (!s.optimizer_hints.is_empty(), "optimizer hints"),
        (s.select_modifiers.is_some(), "SELECT modifiers"),
        (s.top.is_some(), "TOP"),
        (s.exclude.is_some(), "SELECT … EXCLUDE"),
        (s.into.is_some(), "SELECT INTO"),
        (!s.lateral_views.is_empty(), "LATERAL VIEW"),
        (!s.connect_by.is_empty(), "CONNECT BY"),
        (!s.cluster_by.is_empty(), "CLUSTER BY"),
        (!s.distribute_by.is_empty(), "DISTRIBUTE BY"),
        (!s.sort_by.is_empty(), "SORT BY"),
        (!s.named_window.is_empty(), "WINDOW clause"),
        (s.qualify.is_some(), "QUALIFY"),
        (s.value_table_mode.is_some(), "SELECT AS VALUE/STRUCT"),
        (s.flavor != sp::SelectFlavor::Standard, "FROM-first SELECT"),
        (s.projection.is_empty(), "empty select list"),
    ];
    unsupported.extend(clauses.iter().filter(|c| c.0).map(|c| c.1.to_string()));

    let mut group_by_modifiers = Vec::new();
    let group_by = match &s.group_by {
        sp::GroupByExpr::All(_) => {
            unsupported.push("GROUP BY ALL".into());
            Vec::new()
        }
        sp::GroupByExpr::Expressions(exprs, modifiers) => {
            for modifier in modifiers {
                match modifier {
                    sp::GroupByWithModifier::Rollup => {
                        group_by_modifiers.push(GroupByModifier::Rollup)
                    }
                    sp::GroupByWithModifier::Cube => group_by_modifiers.push(GroupByModifier::Cube),
                    sp::GroupByWithModifier::Totals => {
                        group_by_modifiers.push(GroupByModifier::Totals)
                    }
                    other => unsupported.push(format!("GROUP BY … {other}")),
                }
            }
            exprs.iter().map(expr).collect::<Result<_>>()?
        }
    };
    Ok(Select {
        distinct,
        projection: s
            .projection
            .iter()
            .map(select_item)
            .collect::<Result<_>>()?,
        from: s
            .from
            .iter()
            .map(|t| table_with_joins(t, unsupported))
            .collect::<Result<_>>()?,
        // PREWHERE is an optimisation hint with WHERE's meaning: merged into WHERE.
        filter: match (&s.prewhere, &s.selection) {
            (Some(pre), Some(filter)) => Some(Expr::Binary {
                left: boxed(pre)?,
                op: BinaryOp::And,
                right: boxed(filter)?,
            }),
            (Some(only), None) | (None, Some(only)) => Some(expr(only)?),
            (None, None) => None,
        },
        group_by,
        group_by_modifiers,
        having: s.having.as_ref().map(expr).transpose()?,
    })
}

fn select_item(item: &sp::SelectItem) -> Result<SelectItem> {
    let unsupported = |construct: String| SelectItem::Expr {
        expr: Expr::Unsupported(construct),
        alias: None,
    };
    Ok(match item {
        // A projected scalar alias keeps its name as the column name.
        sp::SelectItem::UnnamedExpr(sp::Expr::Identifier(ident))
            if scalar_alias(&ident.value).is_some() =>
        {
            SelectItem::Expr {
                expr: expr(&sp::Expr::Identifier(ident.clone()))?,
                alias: Some(ident.value.clone()),
            }
        }
        sp::SelectItem::UnnamedExpr(e) => SelectItem::Expr {
            expr: expr(e)?,
            alias: None,
        },
        sp::SelectItem::ExprWithAlias { expr: e, alias } => SelectItem::Expr {
            expr: expr(e)?,
            alias: Some(alias.value.clone()),
        },
        sp::SelectItem::Wildcard(options) if !has_wildcard_options(options) => SelectItem::Wildcard,
        sp::SelectItem::QualifiedWildcard(
            sp::SelectItemQualifiedWildcardKind::ObjectName(name),
            options,
        ) if !has_wildcard_options(options) => match name_parts(name) {
            Some(parts) => SelectItem::QualifiedWildcard(strip_public(parts)),
            None => unsupported(describe(item)),
        },
        other => unsupported(describe(other)),
    })
}

/// `* EXCEPT (…)`, `* REPLACE (…)`, … (ClickHouse, DuckDB, BigQuery extensions).
fn has_wildcard_options(o: &sp::WildcardAdditionalOptions) -> bool {
    o.opt_ilike.is_some()
        || o.opt_exclude.is_some()
        || o.opt_except.is_some()
        || o.opt_replace.is_some()
        || o.opt_rename.is_some()
        || o.opt_alias.is_some()
}

fn name_parts(name: &sp::ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|part| part.as_ident().map(|ident| ident.value.clone()))
        .collect()
}

/// Drops a leading `public` schema: Postgres clients qualify with it, our backends have
/// no such schema. `public.t` → `t`, `public.t.c` → `t.c`.
fn strip_public(mut parts: Vec<String>) -> Vec<String> {
    if parts.len() >= 2 && parts[0].eq_ignore_ascii_case("public") {
        parts.remove(0);
    }
    parts
}

fn alias_parts(alias: &sp::TableAlias, unsupported: &mut Unsupported) -> (String, Vec<String>) {
    if alias.at.is_some() || alias.columns.iter().any(|c| c.data_type.is_some()) {
        unsupported.push(format!("table alias {}", describe(alias)));
    }
    let columns = alias.columns.iter().map(|c| c.name.value.clone()).collect();
    (alias.name.value.clone(), columns)
}

fn table_alias(
    alias: &Option<sp::TableAlias>,
    unsupported: &mut Unsupported,
) -> Option<TableAlias> {
    alias.as_ref().map(|a| {
        let (name, columns) = alias_parts(a, unsupported);
        TableAlias { name, columns }
    })
}

fn table_with_joins(t: &sp::TableWithJoins, unsupported: &mut Unsupported) -> Result<TableRef> {
    let mut tree = table_factor(&t.relation, unsupported)?;
    for join in &t.joins {
        let right = table_factor(&join.relation, unsupported)?;
        use sp::JoinOperator as Op;
        let (kind, constraint) = match &join.join_operator {
            Op::Join(c) | Op::Inner(c) => (JoinKind::Inner, c),
            Op::Left(c) | Op::LeftOuter(c) => (JoinKind::Left, c),
            Op::Right(c) | Op::RightOuter(c) => (JoinKind::Right, c),
            Op::FullOuter(c) => (JoinKind::Full, c),
            Op::CrossJoin(c) => (JoinKind::Cross, c),
            Op::Semi(_) | Op::LeftSemi(_) | Op::RightSemi(_) => {
                unsupported.push("SEMI JOIN".into());
                (JoinKind::Inner, &sp::JoinConstraint::None)
            }
            Op::Anti(_) | Op::LeftAnti(_) | Op::RightAnti(_) => {
                unsupported.push("ANTI JOIN".into());
                (JoinKind::Inner, &sp::JoinConstraint::None)
            }
            Op::AsOf { .. } => {
                unsupported.push("ASOF JOIN".into());
                (JoinKind::Inner, &sp::JoinConstraint::None)
            }
            Op::CrossApply | Op::OuterApply => {
                unsupported.push("APPLY".into());
                (JoinKind::Cross, &sp::JoinConstraint::None)
            }
            Op::StraightJoin(_) => {
                unsupported.push("STRAIGHT_JOIN".into());
                (JoinKind::Inner, &sp::JoinConstraint::None)
            }
            Op::ArrayJoin | Op::LeftArrayJoin | Op::InnerArrayJoin => {
                unsupported.push("ARRAY JOIN".into());
                (JoinKind::Cross, &sp::JoinConstraint::None)
            }
        };
        let constraint = match constraint {
            sp::JoinConstraint::On(on) => JoinConstraint::On(expr(on)?),
            sp::JoinConstraint::Using(names) => {
                let columns = names.iter().map(|n| match name_parts(n).as_deref() {
                    Some([column]) => Some(column.clone()),
                    _ => None,
                });
                match columns.collect::<Option<Vec<_>>>() {
                    Some(columns) => JoinConstraint::Using(columns),
                    None => {
                        unsupported.push("qualified USING column".into());
                        JoinConstraint::None
                    }
                }
            }
            sp::JoinConstraint::None => JoinConstraint::None,
            sp::JoinConstraint::Natural => {
                unsupported.push("NATURAL JOIN".into());
                JoinConstraint::None
            }
            sp::JoinConstraint::UsingAlias(..) => {
                unsupported.push("JOIN USING … AS alias".into());
                JoinConstraint::None
            }
        };
        tree = TableRef::Join {
            left: Box::new(tree),
            right: Box::new(right),
            kind,
            constraint,
            global: join.global,
        };
    }
    Ok(tree)
}

fn table_factor(t: &sp::TableFactor, unsupported: &mut Unsupported) -> Result<TableRef> {
    Ok(match t {
        sp::TableFactor::Table {
            name,
            alias,
            args,
            with_hints,
            version,
            with_ordinality,
            partitions,
            json_path,
            sample,
            index_directives,
            inheritance,
        } => {
            let Some(parts) = name_parts(name) else {
                return Ok(TableRef::Unsupported(describe(t)));
            };
            if args.is_some() {
                return Ok(TableRef::Unsupported(format!("table function {name}")));
            }
            let sample = match sample {
                None => None,
                Some(
                    sp::TableSampleKind::BeforeTableAlias(s)
                    | sp::TableSampleKind::AfterTableAlias(s),
                ) => match (&s.modifier, &s.name, &s.quantity, &s.seed, &s.bucket) {
                    (
                        sp::TableSampleModifier::Sample,
                        None,
                        Some(sp::TableSampleQuantity {
                            value, unit: None, ..
                        }),
                        None,
                        None,
                    ) if flavor() == Flavor::ClickHouse => Some(Box::new(Sample {
                        ratio: sample_ratio(value)?,
                        offset: s.offset.as_ref().map(sample_ratio).transpose()?,
                    })),
                    _ => {
                        unsupported.push(format!("table sample {}", describe(s)));
                        None
                    }
                },
            };
            let marked_final = matches!(with_hints.as_slice(),
                [sp::Expr::Identifier(i)] if i.value == FINAL_MARKER && i.quote_style.is_none());
            let strictness = with_hints.iter().find_map(|h| match h {
                sp::Expr::Identifier(i) if i.quote_style.is_none() => {
                    i.value.strip_prefix(JOIN_STRICTNESS_MARKER)
                }
                _ => None,
            });
            if let Some(strictness) = strictness {
                unsupported.push(format!("{strictness} JOIN (ClickHouse's join strictness)"));
            }
            let extras = (!with_hints.is_empty() && !marked_final && strictness.is_none())
                || version.is_some()
                || *with_ordinality
                || !partitions.is_empty()
                || json_path.is_some()
                || !index_directives.is_empty()
                || inheritance.is_some();
            if extras {
                unsupported.push(format!("table modifiers in {}", describe(t)));
            }
            // sqlparser reads ClickHouse's `FROM t FINAL` as the alias FINAL (unquoted,
            // no AS). Postgres has no FINAL, so in either flavour that is the modifier;
            // `t AS final` or `t "final"` stays an alias.
            let final_alias = alias.as_ref().is_some_and(|a| {
                !a.explicit
                    && a.name.quote_style.is_none()
                    && a.name.value.eq_ignore_ascii_case("final")
            });
            let final_modifier = final_alias || marked_final;
            let alias = if final_alias {
                None
            } else {
                table_alias(alias, unsupported)
            };
            TableRef::Table {
                name: TableName {
                    parts: strip_public(parts),
                },
                alias,
                final_modifier,
                sample,
            }
        }
        sp::TableFactor::Derived {
            lateral,
            subquery,
            alias,
            sample,
        } => {
            if *lateral {
                unsupported.push("LATERAL subquery".into());
            }
            if sample.is_some() {
                unsupported.push("SAMPLE".into());
            }
            TableRef::Derived {
                query: Box::new(lower(subquery)?),
                alias: table_alias(alias, unsupported),
            }
        }
        sp::TableFactor::NestedJoin {
            table_with_joins: inner,
            alias,
        } => {
            if alias.is_some() {
                unsupported.push("alias on a parenthesised join".into());
            }
            table_with_joins(inner, unsupported)?
        }
        other => TableRef::Unsupported(format!("FROM item {}", describe(other))),
    })
}

/// A SAMPLE ratio is a number or the fraction `n / m`, which ClickHouse reads as a
/// literal there (not as its `divide` function).
fn sample_ratio(e: &sp::Expr) -> Result<Expr> {
    match e {
        sp::Expr::BinaryOp {
            left,
            op: sp::BinaryOperator::Divide,
            right,
        } => Ok(Expr::Binary {
            left: boxed(left)?,
            op: BinaryOp::Divide,
            right: boxed(right)?,
        }),
        other => expr(other),
    }
}

fn order_by_item(o: &sp::OrderByExpr, unsupported: &mut Unsupported) -> Result<OrderByItem> {
    let desc = match &o.options.sort {
        None | Some(sp::OrderBySort::Asc) => false,
        Some(sp::OrderBySort::Desc) => true,
        Some(sp::OrderBySort::Using(op)) => {
            unsupported.push(format!("ORDER BY … USING {op}"));
            false
        }
    };
    Ok(OrderByItem {
        expr: expr(&o.expr)?,
        desc,
        nulls_first: o.options.nulls_first,
        fill: match &o.with_fill {
            Some(fill) => Some(crate::ir::Fill {
                from: fill.from.as_ref().map(expr).transpose()?,
                to: fill.to.as_ref().map(expr).transpose()?,
                step: fill.step.as_ref().map(expr).transpose()?,
            }),
            None => None,
        },
    })
}

fn boxed(e: &sp::Expr) -> Result<Box<Expr>> {
    expr(e).map(Box::new)
}

fn expr(e: &sp::Expr) -> Result<Expr> {
    use sp::Expr as E;
    Ok(match e {
        E::Identifier(ident) => match scalar_alias(&ident.value) {
            Some(value) => value,
            None => Expr::Column(ColumnRef {
                qualifier: Vec::new(),
                name: ident.value.clone(),
            }),
        },
        E::CompoundIdentifier(idents) => {
            let mut parts = strip_public(idents.iter().map(|i| i.value.clone()).collect());
            let name = parts.pop().unwrap_or_default();
            Expr::Column(ColumnRef {
                qualifier: parts,
                name,
            })
        }
        E::Value(v) => value(&v.value)?,
        E::TypedString(typed) => {
            let text = match &typed.value.value {
                sp::Value::SingleQuotedString(s) => Some(s),
                sp::Value::DollarQuotedString(d) => Some(&d.value),
                _ => None,
            };
            match (text, data_type(&typed.data_type)) {
                (Some(text), Some(ty)) if !typed.uses_odbc_syntax => {
                    Expr::Literal(Literal::Typed {
                        value: text.clone(),
                        ty,
                    })
                }
                _ => Expr::Unsupported(format!("typed literal {}", describe(e))),
            }
        }
        E::Interval(interval) => lower_interval(interval)?,
        E::Nested(inner) => expr(inner)?,
        E::UnaryOp { op, expr: inner } => unary(*op, inner)?,
        // ClickHouse's `/` always divides as Float64; its function form is `divide`.
        E::BinaryOp {
            left,
            op: sp::BinaryOperator::Divide,
            right,
        } if flavor() == Flavor::ClickHouse => {
            clickhouse_call("divide", vec![expr(left)?, expr(right)?])
        }
        E::BinaryOp { left, op, right } => match binary_op(op) {
            Some(op) => Expr::Binary {
                left: boxed(left)?,
                op,
                right: boxed(right)?,
            },
            None => Expr::Unsupported(format!("operator {op}")),
        },
        E::Like {
            negated,
            any,
            expr: inner,
            pattern,
            escape_char,
        }
        | E::ILike {
            negated,
            any,
            expr: inner,
            pattern,
            escape_char,
        } => {
            if *any {
                Expr::Unsupported("LIKE ANY".into())
            } else if escape_char.is_some() {
                Expr::Unsupported("LIKE … ESCAPE".into())
            } else {
                Expr::Like {
                    expr: boxed(inner)?,
                    pattern: boxed(pattern)?,
                    negated: *negated,
                    case_insensitive: matches!(e, E::ILike { .. }),
                }
            }
        }
        E::IsNull(inner) | E::IsNotNull(inner) => Expr::IsNull {
            expr: boxed(inner)?,
            negated: matches!(e, E::IsNotNull(_)),
        },
        E::IsTrue(inner) | E::IsNotTrue(inner) | E::IsFalse(inner) | E::IsNotFalse(inner) => {
            Expr::IsBool {
                expr: boxed(inner)?,
                value: matches!(e, E::IsTrue(_) | E::IsNotTrue(_)),
                negated: matches!(e, E::IsNotTrue(_) | E::IsNotFalse(_)),
            }
        }
        E::IsDistinctFrom(left, right) | E::IsNotDistinctFrom(left, right) => {
            Expr::IsDistinctFrom {
                left: boxed(left)?,
                right: boxed(right)?,
                negated: matches!(e, E::IsNotDistinctFrom(..)),
            }
        }
        E::Between {
            expr: inner,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: boxed(inner)?,
            low: boxed(low)?,
            high: boxed(high)?,
            negated: *negated,
        },
        // GLOBAL before an IN list changes nothing (no subquery to distribute).
        E::In {
            expr: inner,
            target,
            negated,
            global,
        } => match target {
            sp::InTarget::List(list) => Expr::InList {
                expr: boxed(inner)?,
                list: list.iter().map(expr).collect::<Result<_>>()?,
                negated: *negated,
            },
            sp::InTarget::Subquery(query) => Expr::InSubquery {
                expr: boxed(inner)?,
                query: Box::new(lower(query)?),
                negated: *negated,
                global: *global,
            },
            _ => Expr::Unsupported(format!("IN {}", describe(e))),
        },
        E::AnyOp {
            left,
            compare_op,
            right,
            ..
        } => match (binary_op(compare_op), right.as_ref()) {
            (_, E::Subquery(_)) => Expr::Unsupported("ANY (subquery)".into()),
            (Some(op), _) if op.is_comparison() => Expr::AnyOp {
                left: boxed(left)?,
                op,
                array: boxed(right)?,
            },
            _ => Expr::Unsupported(format!("{compare_op} ANY")),
        },
        E::AllOp { .. } => Expr::Unsupported("ALL (…)".into()),
        E::Case {
            operand,
            conditions,
            else_result,
            ..
        } => Expr::Case {
            operand: operand.as_deref().map(boxed).transpose()?,
            branches: conditions
                .iter()
                .map(|w| Ok((expr(&w.condition)?, expr(&w.result)?)))
                .collect::<Result<_>>()?,
            else_result: else_result.as_deref().map(boxed).transpose()?,
        },
        E::Cast {
            kind,
            expr: inner,
            data_type: ty,
            format,
        } => match (kind, format, data_type(ty)) {
            (sp::CastKind::Cast | sp::CastKind::DoubleColon, None, Some(ty)) => Expr::Cast {
                expr: boxed(inner)?,
                ty,
            },
            (sp::CastKind::Cast | sp::CastKind::DoubleColon, None, None) => {
                Expr::Unsupported(format!("type {ty}"))
            }
            _ => Expr::Unsupported(describe(e)),
        },
        E::Extract {
            field, expr: inner, ..
        } => match extract_field(field) {
            Some(field) => Expr::Extract {
                field,
                expr: boxed(inner)?,
            },
            None => Expr::Unsupported(format!("EXTRACT field {field}")),
        },
        E::Ceil { expr: inner, field } | E::Floor { expr: inner, field } => match field {
            sp::CeilFloorKind::DateTimeField(sp::DateTimeField::NoDateTime) => {
                let name = if matches!(e, E::Ceil { .. }) {
                    "ceil"
                } else {
                    "floor"
                };
                call(name, vec![expr(inner)?])
            }
            _ => Expr::Unsupported(describe(e)),
        },
        E::Substring {
            expr: inner,
            substring_from,
            substring_for,
            shorthand,
            ..
        } => {
            let from = match substring_from {
                Some(from) => expr(from)?,
                None => Expr::Literal(Literal::Int(1)),
            };
            let mut args = vec![expr(inner)?, from];
            if let Some(length) = substring_for {
                args.push(expr(length)?);
            }
            call(if *shorthand { "substr" } else { "substring" }, args)
        }
        E::Trim {
            trim_where,
            trim_what,
            expr: inner,
            trim_characters,
        } => {
            // Postgres names these calls btrim/ltrim/rtrim, and so do we.
            let name = match trim_where {
                None | Some(sp::TrimWhereField::Both) => "btrim",
                Some(sp::TrimWhereField::Leading) => "ltrim",
                Some(sp::TrimWhereField::Trailing) => "rtrim",
            };
            let mut args = vec![expr(inner)?];
            match (trim_what, trim_characters.as_deref()) {
                (Some(what), None) => args.push(expr(what)?),
                (None, Some([what])) => args.push(expr(what)?),
                (None, None) => {}
                _ => return Ok(Expr::Unsupported(describe(e))),
            }
            call(name, args)
        }
        E::Position { expr: needle, r#in } => call("strpos", vec![expr(r#in)?, expr(needle)?]),
        E::Function(f) => function(f)?,
        E::Exists { subquery, negated } => Expr::Exists {
            query: Box::new(lower(subquery)?),
            negated: *negated,
        },
        E::Subquery(query) => Expr::Subquery(Box::new(lower(query)?)),
        E::Array(array) => Expr::Array(array.elem.iter().map(expr).collect::<Result<_>>()?),
        E::CompoundFieldAccess { root, access_chain } => {
            let mut tree = expr(root)?;
            for access in access_chain {
                tree = match access {
                    sp::AccessExpr::Subscript(sp::Subscript::Index { index }) => Expr::Subscript {
                        expr: Box::new(tree),
                        index: boxed(index)?,
                    },
                    sp::AccessExpr::Subscript(sp::Subscript::Slice { .. }) => {
                        return Ok(Expr::Unsupported("array slice".into()))
                    }
                    // ClickHouse tuple element access `t.1`.
                    sp::AccessExpr::Dot(sp::Expr::Value(v))
                        if flavor() == Flavor::ClickHouse
                            && matches!(v.value, sp::Value::Number(..)) =>
                    {
                        clickhouse_call("tupleElement", vec![tree, value(&v.value)?])
                    }
                    sp::AccessExpr::Dot(_) => {
                        return Ok(Expr::Unsupported(format!("field access {}", describe(e))))
                    }
                };
            }
            tree
        }
        E::AtTimeZone { .. } => Expr::Unsupported("AT TIME ZONE".into()),
        E::Lambda(lambda) if flavor() == Flavor::ClickHouse => {
            let params = match &lambda.params {
                sp::OneOrManyWithParens::One(p) => vec![p.name.value.clone()],
                sp::OneOrManyWithParens::Many(ps) => {
                    ps.iter().map(|p| p.name.value.clone()).collect()
                }
            };
            Expr::Lambda {
                params,
                body: boxed(&lambda.body)?,
            }
        }
        E::Tuple(items) if flavor() == Flavor::ClickHouse => {
            Expr::Tuple(items.iter().map(expr).collect::<Result<_>>()?)
        }
        E::Dictionary(fields) if flavor() == Flavor::ClickHouse => named_param(e, fields),
        E::Lambda(_) => Expr::Unsupported("lambda".into()),
        E::Tuple(_) => Expr::Unsupported("tuple".into()),
        other => Expr::Unsupported(describe(other)),
    })
}

/// `{name:Type}` (parsed by sqlparser as a one-entry dictionary `{name: Type}`) → `$n`.
fn named_param(e: &sp::Expr, fields: &[sp::DictionaryField]) -> Expr {
    let [field] = fields else {
        return Expr::Unsupported(format!("dictionary {}", describe(e)));
    };
    let name = field.key.value.clone();
    let ty = clickhouse_type_name(&field.value.to_string());
    CONTEXT.with(|c| {
        let mut c = c.borrow_mut();
        let n = match c.named_params.iter().position(|(n, _)| *n == name) {
            Some(i) => i + 1,
            None => {
                c.named_params.push((name, ty));
                c.named_params.len()
            }
        };
        Expr::Param(n)
    })
}

/// The IR type of a ClickHouse type name as written in `{name:Type}`; `None` when the IR
/// has none (the parameter is then typed by the client or the backend).
pub fn clickhouse_type_name(text: &str) -> Option<DataType> {
    let text = text.trim();
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(t) = inner("Nullable(").or_else(|| inner("LowCardinality(")) {
        return clickhouse_type_name(t);
    }
    if let Some(t) = inner("Array(") {
        return Some(DataType::Array(Box::new(clickhouse_type_name(t)?)));
    }
    if text.starts_with("DateTime64(") || text.starts_with("DateTime(") {
        return Some(DataType::TimestampTz);
    }
    Some(match text {
        "Bool" | "Boolean" => DataType::Bool,
        "Int8" | "UInt8" | "Int16" => DataType::Int16,
        "UInt16" | "Int32" => DataType::Int32,
        "UInt32" | "Int64" => DataType::Int64,
        "UInt64" => DataType::Numeric(None),
        "Float32" => DataType::Float32,
        "Float64" => DataType::Float64,
        "String" | "FixedString" => DataType::Text,
        "UUID" => DataType::Uuid,
        "Date" | "Date32" => DataType::Date,
        "DateTime" | "DateTime64" => DataType::TimestampTz,
        _ => return None,
    })
}

/// A call to a ClickHouse function by its ClickHouse name.
fn clickhouse_call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(FunctionCall {
        func: Func::Anonymous(name.to_string()),
        params: Vec::new(),
        args,
        star: false,
        distinct: false,
        order_by: Vec::new(),
        filter: None,
        over: None,
    })
}

/// A call to a catalogue function that the parser gave special syntax (TRIM, SUBSTRING…).
fn call(name: &str, args: Vec<Expr>) -> Expr {
    let def = functions::lookup(name).expect("special-syntax functions are in the catalogue");
    Expr::Function(FunctionCall {
        func: Func::Known(def),
        params: Vec::new(),
        args,
        star: false,
        distinct: false,
        order_by: Vec::new(),
        filter: None,
        over: None,
    })
}

fn unary(op: sp::UnaryOperator, inner: &sp::Expr) -> Result<Expr> {
    let op = match op {
        sp::UnaryOperator::Not => UnaryOp::Not,
        sp::UnaryOperator::Plus => UnaryOp::Plus,
        sp::UnaryOperator::Minus => {
            // Fold `-5` into a literal, which also admits i64::MIN.
            if let sp::Expr::Value(v) = inner {
                if let sp::Value::Number(text, _) = &v.value {
                    return number(&format!("-{text}"));
                }
            }
            UnaryOp::Minus
        }
        other => return Ok(Expr::Unsupported(format!("operator {other}"))),
    };
    Ok(Expr::Unary {
        op,
        expr: boxed(inner)?,
    })
}

/// Binary operators with the same meaning in every target; the rest are unsupported.
const BINARY_OPS: &[(sp::BinaryOperator, BinaryOp)] = &[
    (sp::BinaryOperator::Plus, BinaryOp::Plus),
    (sp::BinaryOperator::Minus, BinaryOp::Minus),
    (sp::BinaryOperator::Multiply, BinaryOp::Multiply),
    (sp::BinaryOperator::Divide, BinaryOp::Divide),
    (sp::BinaryOperator::Modulo, BinaryOp::Modulo),
    (sp::BinaryOperator::StringConcat, BinaryOp::Concat),
    (sp::BinaryOperator::Eq, BinaryOp::Eq),
    (sp::BinaryOperator::NotEq, BinaryOp::NotEq),
    (sp::BinaryOperator::Lt, BinaryOp::Lt),
    (sp::BinaryOperator::LtEq, BinaryOp::LtEq),
    (sp::BinaryOperator::Gt, BinaryOp::Gt),
    (sp::BinaryOperator::GtEq, BinaryOp::GtEq),
    (sp::BinaryOperator::And, BinaryOp::And),
    (sp::BinaryOperator::Or, BinaryOp::Or),
    (sp::BinaryOperator::PGRegexMatch, BinaryOp::RegexMatch),
    (sp::BinaryOperator::PGRegexIMatch, BinaryOp::RegexIMatch),
    (sp::BinaryOperator::PGRegexNotMatch, BinaryOp::RegexNotMatch),
    (
        sp::BinaryOperator::PGRegexNotIMatch,
        BinaryOp::RegexNotIMatch,
    ),
];

fn binary_op(op: &sp::BinaryOperator) -> Option<BinaryOp> {
    BINARY_OPS
        .iter()
        .find(|(sp_op, _)| sp_op == op)
        .map(|(_, ir_op)| *ir_op)
}

fn number(text: &str) -> Result<Expr> {
    // ClickHouse allows `1_000_000`.
    let text = text.replace('_', "");
    Ok(Expr::Literal(match text.parse::<i64>() {
        Ok(i) => Literal::Int(i),
        Err(_) if crate::ir::is_plain_number(&text) => Literal::Numeric(text),
        Err(_) => return Ok(Expr::Unsupported(format!("number {text}"))),
    }))
}

fn value(v: &sp::Value) -> Result<Expr> {
    use sp::Value as V;
    let literal = match v {
        V::Number(text, _) => return number(text),
        V::SingleQuotedString(s)
        | V::EscapedStringLiteral(s)
        | V::UnicodeStringLiteral(s)
        | V::NationalStringLiteral(s)
        | V::TripleSingleQuotedString(s) => Literal::String(s.clone()),
        V::DollarQuotedString(d) => Literal::String(d.value.clone()),
        V::Boolean(b) => Literal::Bool(*b),
        V::Null => Literal::Null,
        V::Placeholder(p) => {
            return match p.strip_prefix('$').map(str::parse::<usize>) {
                Some(Ok(n)) if n >= 1 => Ok(Expr::Param(n)),
                Some(_) => Err(Error::InvalidParameter(format!(
                    "there is no parameter {p}"
                ))),
                None => Ok(Expr::Unsupported(format!("placeholder {p}"))),
            }
        }
        other => return Ok(Expr::Unsupported(format!("literal {}", describe(other)))),
    };
    Ok(Expr::Literal(literal))
}

/// Units an interval literal may name, in every target's spelling.
const INTERVAL_UNITS: &[&str] = &[
    "year",
    "month",
    "week",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
];

/// `INTERVAL '1 hour'`, `INTERVAL '1' HOUR` and `INTERVAL 1 HOUR` all become the typed
/// literal `INTERVAL '1 hour'`.
fn lower_interval(interval: &sp::Interval) -> Result<Expr> {
    let qualified = interval.last_field.is_some()
        || interval.leading_precision.is_some()
        || interval.fractional_seconds_precision.is_some();
    let text = match expr(&interval.value)? {
        Expr::Literal(Literal::String(s) | Literal::Numeric(s)) => s,
        Expr::Literal(Literal::Int(i)) => i.to_string(),
        // ClickHouse's `INTERVAL {n:UInt32} MINUTE` is `toInterval(n, 'minute')`, an
        // interval literal once `n` is bound (`ir::fold`).
        value if flavor() == Flavor::ClickHouse && !qualified => {
            let unit = interval
                .leading_field
                .as_ref()
                .map(|f| f.to_string().to_ascii_lowercase());
            match unit.as_deref().map(|u| u.strip_suffix('s').unwrap_or(u)) {
                Some(unit) if INTERVAL_UNITS.contains(&unit) => {
                    return Ok(clickhouse_call(
                        "toInterval",
                        vec![value, Expr::Literal(Literal::String(unit.to_owned()))],
                    ))
                }
                _ => {
                    return Ok(Expr::Unsupported(
                        "INTERVAL with a non-literal value".into(),
                    ))
                }
            }
        }
        _ => {
            return Ok(Expr::Unsupported(
                "INTERVAL with a non-literal value".into(),
            ))
        }
    };
    let text = match &interval.leading_field {
        None if !qualified => text,
        Some(field) if !qualified => {
            let unit = field.to_string().to_ascii_lowercase();
            let unit = unit.strip_suffix('s').unwrap_or(&unit);
            if !INTERVAL_UNITS.contains(&unit) {
                return Ok(Expr::Unsupported(format!("INTERVAL unit {field}")));
            }
            format!("{text} {unit}")
        }
        _ => return Ok(Expr::Unsupported(describe(interval))),
    };
    Ok(Expr::Literal(Literal::Typed {
        value: text,
        ty: DataType::Interval,
    }))
}

/// EXTRACT fields with the same meaning in Postgres, ClickHouse-compatible targets and
/// DataFusion.
const EXTRACT_FIELDS: &[&str] = &[
    "year",
    "quarter",
    "month",
    "week",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
    "dow",
    "doy",
    "epoch",
];

fn extract_field(field: &sp::DateTimeField) -> Option<String> {
    let text = field.to_string().to_ascii_lowercase();
    let name = text.trim_matches('\'');
    let singular = name.strip_suffix('s').unwrap_or(name);
    let known = [name, singular]
        .into_iter()
        .find(|n| EXTRACT_FIELDS.contains(n));
    known.map(str::to_string)
}

/// Maps a parsed type to the IR's; `None` if the IR has no exact equivalent (e.g. lengths
/// on VARCHAR, whose truncation semantics differ between engines).
fn data_type(ty: &sp::DataType) -> Option<DataType> {
    use sp::DataType as T;
    use sp::ExactNumberInfo as N;
    use sp::TimezoneInfo as Tz;
    Some(match ty {
        T::Bool | T::Boolean => DataType::Bool,
        T::SmallInt(None) | T::Int2(None) | T::Int16 => DataType::Int16,
        T::Int(None) | T::Integer(None) | T::Int4(None) | T::Int32 => DataType::Int32,
        // `int8` is Postgres' bigint; ClickHouse's 8-bit Int8 parses the same and is
        // taken as bigint too (sqlparser keeps no case to tell them apart).
        T::BigInt(None) | T::Int8(None) | T::Int64 => DataType::Int64,
        T::Real | T::Float4 | T::Float32 => DataType::Float32,
        T::Double(N::None) | T::DoublePrecision | T::Float8 | T::Float64 | T::Float(N::None) => {
            DataType::Float64
        }
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => match info {
            N::None => DataType::Numeric(None),
            N::Precision(p) => DataType::Numeric(Some((u8::try_from(*p).ok()?, 0))),
            N::PrecisionAndScale(p, s) => {
                DataType::Numeric(Some((u8::try_from(*p).ok()?, i8::try_from(*s).ok()?)))
            }
        },
        T::Text | T::String(None) | T::Varchar(None) | T::CharacterVarying(None) => DataType::Text,
        T::Date => DataType::Date,
        T::Timestamp(None, Tz::None | Tz::WithoutTimeZone) => DataType::Timestamp,
        T::Timestamp(None, Tz::WithTimeZone | Tz::Tz) => DataType::TimestampTz,
        T::Uuid => DataType::Uuid,
        T::Bytea => DataType::Bytea,
        T::Interval {
            fields: None,
            precision: None,
        } => DataType::Interval,
        T::Array(
            sp::ArrayElemTypeDef::SquareBracket(element, None)
            | sp::ArrayElemTypeDef::AngleBracket(element)
            | sp::ArrayElemTypeDef::Parenthesis(element),
        ) => DataType::Array(Box::new(data_type(element)?)),
        // Every IR type admits NULL.
        T::Nullable(inner) => return data_type(inner),
        _ => return None,
    })
}

fn function(f: &sp::Function) -> Result<Expr> {
    let name = match name_parts(&f.name).as_deref() {
        Some([single]) => single.clone(),
        _ => f.name.to_string(),
    };
    let clickhouse = flavor() == Flavor::ClickHouse;
    let name = match clickhouse_case_insensitive(&name) {
        Some(canonical) if clickhouse => canonical.to_string(),
        _ => name,
    };
    let mut problems: Vec<String> = Vec::new();
    let mut params = Vec::new();
    if let (true, sp::FunctionArguments::List(list)) = (clickhouse, &f.parameters) {
        for arg in &list.args {
            match arg {
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Expr(e)) => params.push(expr(e)?),
                other => return Ok(Expr::Unsupported(format!("parameter {other} of {name}"))),
            }
        }
    }
    let checks = [
        (f.uses_odbc_syntax, "ODBC call syntax"),
        (
            !clickhouse && !matches!(f.parameters, sp::FunctionArguments::None),
            "parameters (…)(…)",
        ),
        (!f.within_group.is_empty(), "WITHIN GROUP"),
        (f.null_treatment.is_some(), "IGNORE/RESPECT NULLS"),
        (
            matches!(f.args, sp::FunctionArguments::Subquery(_)),
            "a subquery argument",
        ),
    ];
    for (present, construct) in checks {
        if present {
            problems.push(format!("{name}() with {construct}"));
        }
    }

    let mut args = Vec::new();
    let mut star = false;
    let mut distinct = false;
    let mut order_by = Vec::new();
    match &f.args {
        sp::FunctionArguments::None | sp::FunctionArguments::Subquery(_) => {}
        sp::FunctionArguments::List(list) => {
            distinct = matches!(
                list.duplicate_treatment,
                Some(sp::DuplicateTreatment::Distinct)
            );
            for clause in &list.clauses {
                match clause {
                    sp::FunctionArgumentClause::OrderBy(items) => {
                        for item in items {
                            order_by.push(order_by_item(item, &mut problems)?);
                        }
                    }
                    other => problems.push(format!("{name}(… {other})")),
                }
            }
            for arg in &list.args {
                match arg {
                    sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Expr(e)) => args.push(expr(e)?),
                    sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Wildcard) => star = true,
                    other => problems.push(format!("argument {other} of {name}")),
                }
            }
        }
    }
    let filter = f.filter.as_deref().map(boxed).transpose()?;
    let over = match &f.over {
        None => None,
        Some(sp::WindowType::WindowSpec(spec)) => Some(window_spec(spec, &mut problems)?),
        Some(sp::WindowType::NamedWindow(w)) => {
            problems.push(format!("named window {w}"));
            None
        }
    };

    let plain_call = params.is_empty()
        && over.is_none()
        && !distinct
        && !star
        && filter.is_none()
        && order_by.is_empty()
        && problems.is_empty();
    if clickhouse && plain_call {
        if let Some(operator) = clickhouse_operator(&name, &mut args) {
            return Ok(operator);
        }
    }
    // A qualified name (`pg_catalog.now`) is never a catalogue name. In ClickHouse SQL only
    // the functions that mean exactly what the catalogue entry means resolve to it.
    let known = if clickhouse {
        clickhouse_catalogue_name(&name).and_then(functions::lookup)
    } else {
        functions::lookup(&name)
    };
    let func = match known {
        Some(def) => {
            // ClickHouse's `count()` is `count(*)`.
            if def.name == "count" && args.is_empty() {
                star = true;
            }
            if star && (def.name != "count" || !args.is_empty()) {
                return Err(Error::UndefinedFunction(format!("{}(*)", def.name)));
            }
            if !def.accepts_arity(args.len()) {
                return Err(Error::UndefinedFunction(format!(
                    "{}() with {} argument(s)",
                    def.name,
                    args.len()
                )));
            }
            let aggregate_only = [
                (distinct, "DISTINCT"),
                (!order_by.is_empty(), "ORDER BY"),
                (filter.is_some(), "FILTER"),
            ];
            for (present, clause) in aggregate_only {
                if present && def.kind != FunctionKind::Aggregate {
                    problems.push(format!("{clause} in non-aggregate function {}", def.name));
                }
            }
            match (def.kind, &over) {
                (FunctionKind::Scalar, Some(_)) => {
                    problems.push(format!("OVER on non-window function {}", def.name))
                }
                (FunctionKind::Window, None) => {
                    problems.push(format!("window function {} without OVER", def.name))
                }
                _ => {}
            }
            Func::Known(def)
        }
        None => Func::Anonymous(name),
    };
    if !problems.is_empty() {
        return Ok(Expr::Unsupported(problems.join("; ")));
    }
    Ok(Expr::Function(FunctionCall {
        func,
        params,
        args,
        star,
        distinct,
        order_by,
        filter,
        over,
    }))
}

/// ClickHouse's functional spelling of an operator (`and(a, b, c)`, `equals(a, b)`,
/// `not(a)`: the operators are these very functions) as the operator's IR; `None` for
/// any other name or arity.
fn clickhouse_operator(name: &str, args: &mut Vec<Expr>) -> Option<Expr> {
    let op = match name {
        "and" => BinaryOp::And,
        "or" => BinaryOp::Or,
        "equals" => BinaryOp::Eq,
        "notEquals" => BinaryOp::NotEq,
        "less" => BinaryOp::Lt,
        "greater" => BinaryOp::Gt,
        "lessOrEquals" => BinaryOp::LtEq,
        "greaterOrEquals" => BinaryOp::GtEq,
        "plus" => BinaryOp::Plus,
        "minus" => BinaryOp::Minus,
        "multiply" => BinaryOp::Multiply,
        "not" | "negate" if args.len() == 1 => {
            let op = if name == "not" {
                UnaryOp::Not
            } else {
                UnaryOp::Minus
            };
            return Some(Expr::Unary {
                op,
                expr: Box::new(args.pop()?),
            });
        }
        _ => return None,
    };
    let logical = matches!(op, BinaryOp::And | BinaryOp::Or);
    if args.len() < 2 || (!logical && args.len() != 2) {
        return None;
    }
    let mut operands = std::mem::take(args).into_iter();
    let first = operands.next()?;
    Some(operands.fold(first, |left, right| Expr::Binary {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }))
}

/// ClickHouse functions whose names it reads in any case (`SUM`, `Date_Trunc`), and the
/// spelling they are kept under (`REGEXP_REPLACE` is an alias of `replaceRegexpAll`).
fn clickhouse_case_insensitive(name: &str) -> Option<&'static str> {
    // ClickHouse registers these case-insensitively (checked in chdb: `IF`, `ROUND`,
    // `IFNULL`, `DATEDIFF` work; `COUNTIF`, `MULTIIF`, `TOSTRING` do not).
    const NAMES: &[(&str, &str)] = &[
        ("sum", "sum"),
        ("avg", "avg"),
        ("min", "min"),
        ("max", "max"),
        ("count", "count"),
        ("lower", "lower"),
        ("upper", "upper"),
        ("length", "length"),
        ("substring", "substring"),
        ("concat", "concat"),
        ("date_trunc", "date_trunc"),
        ("regexp_replace", "replaceRegexpAll"),
        ("if", "if"),
        ("round", "round"),
        ("floor", "floor"),
        ("ceil", "ceil"),
        ("ceiling", "ceil"),
        ("coalesce", "coalesce"),
        ("ifnull", "ifNull"),
        ("nullif", "nullIf"),
        ("greatest", "greatest"),
        ("least", "least"),
        ("now", "now"),
        ("today", "today"),
        ("abs", "abs"),
        ("position", "position"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, canonical)| *canonical)
}

/// ClickHouse functions that compute exactly what a catalogue function computes, and its
/// canonical name. Everything else in ClickHouse SQL stays a ClickHouse function
/// (`Func::Anonymous`): e.g. `sum` (0 on empty input), `lower` (ASCII only), `length`
/// (bytes), `concat` (NULL if any argument is), `greatest` (NULL if any argument is).
fn clickhouse_catalogue_name(name: &str) -> Option<&'static str> {
    const SAME: &[(&str, &str)] = &[
        ("count", "count"),
        ("coalesce", "coalesce"),
        ("nullIf", "nullif"),
        ("abs", "abs"),
        ("row_number", "row_number"),
        ("rank", "rank"),
        ("dense_rank", "dense_rank"),
    ];
    // Standard-SQL names are case-insensitive in ClickHouse; the others are not.
    SAME.iter()
        .find(|(ch, _)| {
            *ch == name
                || (ch.bytes().all(|b| !b.is_ascii_uppercase()) && ch.eq_ignore_ascii_case(name))
        })
        .map(|(_, canonical)| *canonical)
}

fn window_spec(spec: &sp::WindowSpec, problems: &mut Vec<String>) -> Result<WindowSpec> {
    if let Some(name) = &spec.window_name {
        problems.push(format!("window reference {name}"));
    }
    let frame = match &spec.window_frame {
        None => None,
        Some(frame) => Some(WindowFrame {
            units: match frame.units {
                sp::WindowFrameUnits::Rows => FrameUnits::Rows,
                sp::WindowFrameUnits::Range => FrameUnits::Range,
                sp::WindowFrameUnits::Groups => FrameUnits::Groups,
            },
            start: frame_bound(&frame.start_bound)?,
            end: frame.end_bound.as_ref().map(frame_bound).transpose()?,
        }),
    };
    Ok(WindowSpec {
        partition_by: spec.partition_by.iter().map(expr).collect::<Result<_>>()?,
        order_by: spec
            .order_by
            .iter()
            .map(|o| order_by_item(o, problems))
            .collect::<Result<_>>()?,
        frame,
    })
}

fn frame_bound(bound: &sp::WindowFrameBound) -> Result<FrameBound> {
    let offset = |n: &Option<Box<sp::Expr>>| n.as_deref().map(boxed).transpose();
    Ok(match bound {
        sp::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
        sp::WindowFrameBound::Preceding(n) => FrameBound::Preceding(offset(n)?),
        sp::WindowFrameBound::Following(n) => FrameBound::Following(offset(n)?),
    })
}
