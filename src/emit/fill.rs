//! ClickHouse `ORDER BY x WITH FILL` for DataFusion: the query's rows, plus one row per
//! missing grid value of `x`, other columns at their type's default.
//!
//! ClickHouse's semantics, established on the engine (fixtures/translate/clauses.txt and
//! fixtures/differential/12_with_fill.sql hold them as tests): the grid is `from + k·step`
//! (`from` absent: the smallest value), up to `to` exclusive (absent: up to the largest
//! value, inclusive); rows off the grid or outside it are kept; a grid value some row has
//! adds no row; filled rows hold 0 / '' / false / epoch (NULL for a Nullable column); with
//! no rows at all and constant FROM/TO the grid alone is returned. ORDER BY columns before
//! the fill column split the rows into groups, each filled on its own (bounds per group),
//! filled rows holding the group's values; with no rows, one group of default values.
//! Emitted as
//!
//! ```sql
//! WITH __switchyard_fill (c1, …) AS (<query without ORDER BY / LIMIT>)
//! SELECT c1, … FROM __switchyard_fill
//! UNION ALL
//! SELECT <defaults, x = grid value> FROM (SELECT unnest(range(from, to, step)) AS v) g
//!   WHERE NOT EXISTS (SELECT 1 FROM __switchyard_fill f WHERE f.x = g.v)
//! ORDER BY x LIMIT … OFFSET …
//! ```
//!
//! (with groups, the grid is unnested per row of `SELECT p, from|min(x), to|max(x) …
//! GROUP BY p` and matched on `p IS NOT DISTINCT FROM`).
//!
//! Refused: a fill column (or group column) that is not a result column, a Nullable fill
//! column (ClickHouse's filling goes astray around NULLs), ORDER BY items after the fill
//! column, several fill columns, DESC fills, month / quarter / year steps (ClickHouse adds
//! them one after another: Jan 31, Feb 29, Mar 29, which `range` does not), FROM / TO /
//! STEP that read columns, and columns whose type or default has no spelling here.

use arrow::datatypes::DataType as Arrow;
use sqlparser::ast;
use sqlparser::ast::helpers::attached_token::AttachedToken;

use super::{object_name, query_node, select_node, unique_output_names, Emitter};
use crate::ir::types::Type;
use crate::ir::{visit, Expr, Literal, OrderByItem, Query, SelectItem, SetExpr};

const FILL: &str = "__switchyard_fill";
const GRID: &str = "__switchyard_grid";
const VALUE: &str = "__switchyard_value";
const BOUNDS: &str = "__switchyard_bounds";
const LO: &str = "__switchyard_lo";
const HI: &str = "__switchyard_hi";

/// The grid's step: an integer, or an interval literal's text.
enum Step {
    Int(i64),
    Interval(String),
}

impl Emitter<'_> {
    /// `q` (whose ORDER BY has a WITH FILL item) for DataFusion.
    pub(super) fn fill_query(&mut self, q: &Query) -> ast::Query {
        match self.try_fill_query(q) {
            Ok(query) => query,
            Err(construct) => {
                self.reject(construct);
                super::empty_query()
            }
        }
    }

    fn try_fill_query(&mut self, q: &Query) -> Result<ast::Query, String> {
        let Some((item, prefix_items)) = q.order_by.split_last() else {
            return Err("ORDER BY … WITH FILL".into());
        };
        let Some(fill) = &item.fill else {
            return Err("ORDER BY columns after a WITH FILL column".into());
        };
        if prefix_items.iter().any(|i| i.fill.is_some()) {
            return Err("ORDER BY with several WITH FILL columns".into());
        }
        if item.desc {
            return Err("ORDER BY … DESC WITH FILL".into());
        }
        let SetExpr::Select(select) = &q.body else {
            return Err("ORDER BY … WITH FILL on a set operation".into());
        };
        let Some(names) = unique_output_names(&select.projection)
            .into_iter()
            .collect::<Option<Vec<String>>>()
        else {
            return Err("ORDER BY … WITH FILL with SELECT *".into());
        };
        let position = fill_position(item, &select.projection, &names)
            .ok_or("ORDER BY … WITH FILL on an expression that is not a result column")?;
        let prefix = prefix_items
            .iter()
            .map(|i| fill_position(i, &select.projection, &names))
            .collect::<Option<Vec<usize>>>()
            .filter(|prefix| !prefix.contains(&position))
            .ok_or("ORDER BY … WITH FILL after an expression that is not a result column")?;
        for bound in [&fill.from, &fill.to, &fill.step].into_iter().flatten() {
            if !is_constant(bound) {
                return Err("WITH FILL FROM / TO / STEP that are not constants".into());
            }
        }
        let mut inner = q.clone();
        inner.order_by = Vec::new();
        inner.limit = None;
        inner.offset = None;
        let types = self.typer.query_columns(&inner);
        let fill_type = types
            .get(position)
            .and_then(|(_, ty)| ty.clone())
            .ok_or("ORDER BY … WITH FILL on a column of unknown type")?;
        if fill_type.nullable {
            // ClickHouse's filling goes astray around NULLs (a NULL row restarts it).
            return Err("ORDER BY … WITH FILL on a Nullable column".into());
        }
        let step = match &fill.step {
            None if fill_type.is_integer() => Step::Int(1),
            None if matches!(fill_type.data_type, Arrow::Timestamp(..)) => {
                Step::Interval("1 second".into())
            }
            None if matches!(fill_type.data_type, Arrow::Date32) => Step::Interval("1 day".into()),
            Some(Expr::Literal(Literal::Int(n))) if *n > 0 && fill_type.is_integer() => {
                Step::Int(*n)
            }
            Some(Expr::Literal(Literal::Typed {
                value,
                ty: crate::ir::DataType::Interval,
            })) if fill_type.is_temporal() => {
                let unit = value.split_whitespace().nth(1).unwrap_or("");
                if ["month", "quarter", "year"].contains(&unit) {
                    return Err(format!("WITH FILL STEP {value} (calendar steps)"));
                }
                Step::Interval(value.clone())
            }
            _ => {
                return Err(format!(
                    "WITH FILL STEP of this kind on a column of type {}",
                    fill_type.data_type
                ))
            }
        };
        let fill_name = &names[position];

        // The defaults, each cast to its column's type, checked before emitting anything.
        let mut defaults = Vec::new();
        for (i, (_, ty)) in types.iter().enumerate() {
            if i == position {
                defaults.push(None);
                continue;
            }
            let ty = ty
                .as_ref()
                .ok_or("ORDER BY … WITH FILL with a column of unknown type")?;
            defaults.push(Some(default_value(ty).ok_or_else(|| {
                format!(
                    "ORDER BY … WITH FILL with a column of type {}",
                    ty.data_type
                )
            })?));
        }

        let ident = |this: &Self, name: &str| ast::Expr::Identifier(this.ident(name));
        let compound = |this: &Self, a: &str, b: &str| {
            ast::Expr::CompoundIdentifier(vec![this.ident(a), this.ident(b)])
        };
        let step_expr = |this: &mut Self| match &step {
            Step::Int(n) => super::number(n.to_string()),
            Step::Interval(text) => this.literal(&Literal::Typed {
                value: text.clone(),
                ty: crate::ir::DataType::Interval,
            }),
        };
        // min(x) / max(x) over the query's rows, for an absent FROM / TO.
        let extreme = |this: &Self, func: &str| {
            let mut sub = select_node(vec![ast::SelectItem::UnnamedExpr(call(
                func,
                vec![ident(this, fill_name)],
            ))]);
            sub.from = vec![table(this, FILL, None)];
            ast::Expr::Subquery(Box::new(query_node(ast::SetExpr::Select(Box::new(sub)))))
        };
        let source = if prefix.is_empty() {
            let from = match &fill.from {
                Some(e) => self.expr(e),
                None => extreme(self, "min"),
            };
            let series = match &fill.to {
                Some(e) => {
                    let to = self.expr(e);
                    call("range", vec![from, to, step_expr(self)])
                }
                None => {
                    let to = extreme(self, "max");
                    call("generate_series", vec![from, to, step_expr(self)])
                }
            };
            // SELECT unnest(range(…)) AS value
            select_node(vec![ast::SelectItem::ExprWithAlias {
                expr: call("unnest", vec![series]),
                alias: self.ident(VALUE),
            }])
        } else {
            // Per prefix group: its bounds, then its grid.
            let bound = |this: &mut Self, e: &Option<Expr>, func: &str, alias: &str| {
                ast::SelectItem::ExprWithAlias {
                    expr: match e {
                        Some(e) => this.expr(e),
                        None => call(func, vec![ident(this, fill_name)]),
                    },
                    alias: this.ident(alias),
                }
            };
            let mut groups = select_node(
                prefix
                    .iter()
                    .map(|&i| ast::SelectItem::UnnamedExpr(ident(self, &names[i])))
                    .collect(),
            );
            groups.projection.push(bound(self, &fill.from, "min", LO));
            groups.projection.push(bound(self, &fill.to, "max", HI));
            groups.from = vec![table(self, FILL, None)];
            groups.group_by = ast::GroupByExpr::Expressions(
                prefix.iter().map(|&i| ident(self, &names[i])).collect(),
                Vec::new(),
            );
            let mut groups = ast::SetExpr::Select(Box::new(groups));
            if fill.from.is_some() && fill.to.is_some() {
                // With no rows at all, ClickHouse fills one group of default prefix values.
                let mut empty = select_node(
                    prefix
                        .iter()
                        .map(|&i| {
                            let (value, ty) = defaults[i].clone().expect("not the fill column");
                            ast::SelectItem::ExprWithAlias {
                                expr: arrow_cast(value, &ty),
                                alias: self.ident(&names[i]),
                            }
                        })
                        .collect(),
                );
                empty.projection.push(bound(self, &fill.from, "min", LO));
                empty.projection.push(bound(self, &fill.to, "max", HI));
                let mut any_row = select_node(vec![ast::SelectItem::UnnamedExpr(super::number(
                    "1".into(),
                ))]);
                any_row.from = vec![table(self, FILL, None)];
                empty.selection = Some(ast::Expr::Exists {
                    subquery: Box::new(query_node(ast::SetExpr::Select(Box::new(any_row)))),
                    negated: true,
                });
                groups = ast::SetExpr::SetOperation {
                    op: ast::SetOperator::Union,
                    set_quantifier: ast::SetQuantifier::All,
                    left: Box::new(groups),
                    right: Box::new(ast::SetExpr::Select(Box::new(empty))),
                };
            }
            let series = call(
                if fill.to.is_some() {
                    "range"
                } else {
                    "generate_series"
                },
                vec![ident(self, LO), ident(self, HI), step_expr(self)],
            );
            let mut grid = select_node(
                prefix
                    .iter()
                    .map(|&i| ast::SelectItem::UnnamedExpr(ident(self, &names[i])))
                    .collect(),
            );
            grid.projection.push(ast::SelectItem::ExprWithAlias {
                expr: call("unnest", vec![series]),
                alias: self.ident(VALUE),
            });
            grid.from = vec![ast::TableWithJoins {
                relation: ast::TableFactor::Derived {
                    lateral: false,
                    subquery: Box::new(query_node(groups)),
                    alias: Some(self.table_alias(BOUNDS, &[], true)),
                    sample: None,
                },
                joins: Vec::new(),
            }];
            grid
        };
        let arrow_type = fill_type.data_type.to_string();

        // SELECT unnest(range(…)) AS value
        let grid = ast::TableFactor::Derived {
            lateral: false,
            subquery: Box::new(query_node(ast::SetExpr::Select(Box::new(source)))),
            alias: Some(self.table_alias(GRID, &[], true)),
            sample: None,
        };
        let grid_value = compound(self, GRID, VALUE);
        let filled_projection = names
            .iter()
            .zip(&defaults)
            .enumerate()
            .map(|(i, (name, default))| {
                let value = match default {
                    _ if prefix.contains(&i) => compound(self, GRID, name),
                    None => arrow_cast(grid_value.clone(), &arrow_type),
                    Some((value, ty)) => arrow_cast(value.clone(), ty),
                };
                ast::SelectItem::ExprWithAlias {
                    expr: value,
                    alias: self.ident(name),
                }
            })
            .collect();
        let mut exists = select_node(vec![ast::SelectItem::UnnamedExpr(super::number(
            "1".into(),
        ))]);
        exists.from = vec![table(self, FILL, None)];
        let mut matches = ast::Expr::BinaryOp {
            left: Box::new(compound(self, FILL, fill_name)),
            op: ast::BinaryOperator::Eq,
            right: Box::new(grid_value.clone()),
        };
        for &i in prefix.iter().rev() {
            let same_group = ast::Expr::IsNotDistinctFrom(
                Box::new(compound(self, FILL, &names[i])),
                Box::new(compound(self, GRID, &names[i])),
            );
            matches = ast::Expr::BinaryOp {
                left: Box::new(ast::Expr::Nested(Box::new(same_group))),
                op: ast::BinaryOperator::And,
                right: Box::new(super::operand(matches)),
            };
        }
        exists.selection = Some(matches);
        let mut filled = select_node(filled_projection);
        filled.from = vec![ast::TableWithJoins {
            relation: grid,
            joins: Vec::new(),
        }];
        filled.selection = Some(ast::Expr::Exists {
            subquery: Box::new(query_node(ast::SetExpr::Select(Box::new(exists)))),
            negated: true,
        });
        let mut rows = select_node(
            names
                .iter()
                .map(|n| ast::SelectItem::UnnamedExpr(ident(self, n)))
                .collect(),
        );
        rows.from = vec![table(self, FILL, None)];

        let body = ast::SetExpr::SetOperation {
            op: ast::SetOperator::Union,
            set_quantifier: ast::SetQuantifier::All,
            left: Box::new(ast::SetExpr::Select(Box::new(rows))),
            right: Box::new(ast::SetExpr::Select(Box::new(filled))),
        };
        let cte = ast::Cte {
            alias: self.table_alias(FILL, &names, false),
            query: Box::new(self.query(&inner)),
            from: None,
            materialized: None,
            closing_paren_token: AttachedToken::empty(),
        };
        let order: Vec<OrderByItem> = prefix
            .iter()
            .zip(prefix_items)
            .chain([(&position, item)])
            .map(|(&i, item)| OrderByItem {
                expr: Expr::Column(crate::ir::ColumnRef {
                    qualifier: Vec::new(),
                    name: names[i].clone(),
                }),
                desc: item.desc,
                nulls_first: Some(item.nulls_first.unwrap_or(false)),
                fill: None,
            })
            .collect();
        let mut query = query_node(body);
        query.with = Some(ast::With {
            with_token: AttachedToken::empty(),
            recursive: false,
            cte_tables: vec![cte],
        });
        query.order_by = Some(ast::OrderBy {
            kind: ast::OrderByKind::Expressions(self.order_by(&order)),
            interpolate: None,
        });
        if q.limit.is_some() || q.offset.is_some() {
            query.limit_clause = Some(ast::LimitClause::LimitOffset {
                limit: q.limit.as_ref().map(|e| self.expr(e)),
                offset: q.offset.as_ref().map(|e| ast::Offset {
                    value: self.expr(e),
                    rows: ast::OffsetRows::None,
                }),
                limit_by: Vec::new(),
            });
        }
        Ok(query)
    }
}

/// The result column `item` orders by: a result column's name, its position, or its
/// expression.
fn fill_position(item: &OrderByItem, projection: &[SelectItem], names: &[String]) -> Option<usize> {
    match &item.expr {
        Expr::Literal(Literal::Int(p)) => {
            let p = usize::try_from(*p).ok()?;
            (1..=names.len()).contains(&p).then(|| p - 1)
        }
        Expr::Column(c) if c.qualifier.is_empty() && names.contains(&c.name) => {
            names.iter().position(|n| *n == c.name)
        }
        e => projection
            .iter()
            .position(|p| matches!(p, SelectItem::Expr { expr, .. } if expr == e)),
    }
}

/// Whether `e` reads no column and no table: the same value for every row.
fn is_constant(e: &Expr) -> bool {
    let mut constant = true;
    visit::for_each_in_expr_mut(&mut e.clone(), &mut |e| {
        if matches!(
            e,
            Expr::Column(_)
                | Expr::Subquery(_)
                | Expr::Exists { .. }
                | Expr::InSubquery { .. }
                | Expr::Unsupported(_)
        ) {
            constant = false;
        }
    });
    constant
}

/// The value ClickHouse gives a filled row's column of type `ty`, and the Arrow type to
/// cast it to; `None` if there is no exact spelling here.
fn default_value(ty: &Type) -> Option<(ast::Expr, String)> {
    let value = if ty.nullable {
        ast::Expr::value(ast::Value::Null)
    } else if ty.is_integer() || ty.is_float() || ty.is_decimal() {
        super::number("0".into())
    } else if ty.is_string() {
        super::standard_string_literal("")
    } else if ty.data_type == Arrow::Boolean {
        ast::Expr::value(ast::Value::Boolean(false))
    } else if matches!(ty.data_type, Arrow::Timestamp(..)) {
        super::number("0".into())
    } else {
        return None;
    };
    Some((value, ty.data_type.to_string()))
}

fn call(name: &str, args: Vec<ast::Expr>) -> ast::Expr {
    ast::Expr::Function(ast::Function {
        name: object_name(vec![ast::Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        within_group: Vec::new(),
        filter: None,
        null_treatment: None,
        over: None,
    })
}

/// `arrow_cast(value, 'type')`: DataFusion's cast to an exact Arrow type.
fn arrow_cast(value: ast::Expr, ty: &str) -> ast::Expr {
    call(
        "arrow_cast",
        vec![value, super::standard_string_literal(ty)],
    )
}

fn table(this: &Emitter<'_>, name: &str, alias: Option<&str>) -> ast::TableWithJoins {
    ast::TableWithJoins {
        relation: ast::TableFactor::Table {
            name: object_name(vec![this.ident(name)]),
            alias: alias.map(|a| this.table_alias(a, &[], true)),
            args: None,
            with_hints: Vec::new(),
            version: None,
            with_ordinality: false,
            partitions: Vec::new(),
            json_path: None,
            sample: None,
            index_directives: Default::default(),
            inheritance: Default::default(),
        },
        joins: Vec::new(),
    }
}
