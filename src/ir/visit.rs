//! Walking the IR: a read-only `Visitor` with overridable hooks (defaults recurse) and
//! `for_each_expr[_mut]` for passes that only care about expressions. Subqueries inside
//! expressions and FROM items are always visited.

use std::collections::HashSet;

use super::{
    Expr, FrameBound, FunctionCall, JoinConstraint, OrderByItem, Query, Select, SelectItem,
    SetExpr, TableRef, WindowSpec,
};

pub trait Visitor {
    fn visit_query(&mut self, query: &Query) {
        walk_query(self, query)
    }
    fn visit_table_ref(&mut self, table: &TableRef) {
        walk_table_ref(self, table)
    }
    fn visit_expr(&mut self, expr: &Expr) {
        walk_expr(self, expr)
    }
}

pub fn walk_query<V: Visitor + ?Sized>(v: &mut V, query: &Query) {
    if let Some(with) = &query.with {
        for cte in &with.ctes {
            v.visit_query(&cte.query);
        }
    }
    walk_set_expr(v, &query.body);
    walk_order_by(v, &query.order_by);
    for e in query.limit.iter().chain(&query.offset) {
        v.visit_expr(e);
    }
    if let Some(limit_by) = &query.clickhouse.limit_by {
        v.visit_expr(&limit_by.limit);
        limit_by.offset.iter().for_each(|e| v.visit_expr(e));
        limit_by.by.iter().for_each(|e| v.visit_expr(e));
    }
}

fn walk_set_expr<V: Visitor + ?Sized>(v: &mut V, body: &SetExpr) {
    match body {
        SetExpr::Select(select) => walk_select(v, select),
        SetExpr::Query(query) => v.visit_query(query),
        SetExpr::SetOperation { left, right, .. } => {
            walk_set_expr(v, left);
            walk_set_expr(v, right);
        }
        SetExpr::Unsupported(_) => {}
    }
}

fn walk_select<V: Visitor + ?Sized>(v: &mut V, select: &Select) {
    for item in &select.projection {
        if let SelectItem::Expr { expr, .. } = item {
            v.visit_expr(expr);
        }
    }
    for table in &select.from {
        v.visit_table_ref(table);
    }
    let clauses = select.filter.iter().chain(&select.group_by);
    for e in clauses.chain(&select.having) {
        v.visit_expr(e);
    }
}

pub fn walk_table_ref<V: Visitor + ?Sized>(v: &mut V, table: &TableRef) {
    match table {
        TableRef::Table { .. } | TableRef::Unsupported(_) => {}
        TableRef::Derived { query, .. } => v.visit_query(query),
        TableRef::Join {
            left,
            right,
            constraint,
            ..
        } => {
            v.visit_table_ref(left);
            v.visit_table_ref(right);
            if let JoinConstraint::On(e) = constraint {
                v.visit_expr(e);
            }
        }
    }
}

fn walk_order_by<V: Visitor + ?Sized>(v: &mut V, items: &[OrderByItem]) {
    for item in items {
        v.visit_expr(&item.expr);
        if let Some(fill) = &item.fill {
            for bound in [&fill.from, &fill.to, &fill.step].into_iter().flatten() {
                v.visit_expr(bound);
            }
        }
    }
}

pub fn walk_expr<V: Visitor + ?Sized>(v: &mut V, expr: &Expr) {
    match expr {
        Expr::Column(_) | Expr::Literal(_) | Expr::Param(_) | Expr::Unsupported(_) => {}
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::IsBool { expr, .. }
        | Expr::Cast { expr, .. }
        | Expr::Extract { expr, .. } => v.visit_expr(expr),
        Expr::Binary { left, right, .. }
        | Expr::IsDistinctFrom { left, right, .. }
        | Expr::AnyOp {
            left, array: right, ..
        }
        | Expr::Like {
            expr: left,
            pattern: right,
            ..
        }
        | Expr::Subscript {
            expr: left,
            index: right,
        } => {
            v.visit_expr(left);
            v.visit_expr(right);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            v.visit_expr(expr);
            v.visit_expr(low);
            v.visit_expr(high);
        }
        Expr::InList { expr, list, .. } => {
            v.visit_expr(expr);
            list.iter().for_each(|e| v.visit_expr(e));
        }
        Expr::InSubquery { expr, query, .. } => {
            v.visit_expr(expr);
            v.visit_query(query);
        }
        Expr::Case {
            operand,
            branches,
            else_result,
        } => {
            operand.iter().for_each(|e| v.visit_expr(e));
            for (when, then) in branches {
                v.visit_expr(when);
                v.visit_expr(then);
            }
            else_result.iter().for_each(|e| v.visit_expr(e));
        }
        Expr::Function(call) => walk_function(v, call),
        Expr::Array(items) | Expr::Tuple(items) => items.iter().for_each(|e| v.visit_expr(e)),
        Expr::Lambda { body, .. } => v.visit_expr(body),
        Expr::Subquery(query) | Expr::Exists { query, .. } => v.visit_query(query),
    }
}

fn walk_function<V: Visitor + ?Sized>(v: &mut V, call: &FunctionCall) {
    call.params.iter().for_each(|e| v.visit_expr(e));
    call.args.iter().for_each(|e| v.visit_expr(e));
    walk_order_by(v, &call.order_by);
    call.filter.iter().for_each(|e| v.visit_expr(e));
    if let Some(WindowSpec {
        partition_by,
        order_by,
        frame,
    }) = &call.over
    {
        partition_by.iter().for_each(|e| v.visit_expr(e));
        walk_order_by(v, order_by);
        for bound in frame
            .iter()
            .flat_map(|f| std::iter::once(&f.start).chain(&f.end))
        {
            if let FrameBound::Preceding(Some(e)) | FrameBound::Following(Some(e)) = bound {
                v.visit_expr(e);
            }
        }
    }
}

/// Calls `f` on every expression (pre-order), including those inside subqueries.
pub fn for_each_expr(query: &Query, f: &mut dyn FnMut(&Expr)) {
    struct Each<'a>(&'a mut dyn FnMut(&Expr));
    impl Visitor for Each<'_> {
        fn visit_expr(&mut self, expr: &Expr) {
            (self.0)(expr);
            walk_expr(self, expr);
        }
    }
    Each(f).visit_query(query);
}

/// Calls `f` on every expression (post-order: children first), including those inside
/// subqueries; `f` may replace the expression.
pub fn for_each_expr_mut(query: &mut Query, f: &mut dyn FnMut(&mut Expr)) {
    mut_walk::query(query, f);
}

/// Calls `f` on `expr` and every expression inside it (post-order), including those inside
/// subqueries; `f` may replace the expression.
pub fn for_each_in_expr_mut(expr: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    mut_walk::expr(expr, f);
}

/// The mutable walk mirrors the `Visitor` walk above; kept private and minimal until a
/// rewrite pass needs more than expression replacement.
mod mut_walk {
    use super::super::*;

    type F<'a> = dyn FnMut(&mut Expr) + 'a;

    pub(super) fn query(q: &mut Query, f: &mut F) {
        if let Some(with) = &mut q.with {
            for cte in &mut with.ctes {
                query(&mut cte.query, f);
            }
        }
        set_expr(&mut q.body, f);
        order_by(&mut q.order_by, f);
        for e in q.limit.iter_mut().chain(&mut q.offset) {
            expr(e, f);
        }
        if let Some(limit_by) = &mut q.clickhouse.limit_by {
            expr(&mut limit_by.limit, f);
            limit_by.offset.iter_mut().for_each(|e| expr(e, f));
            limit_by.by.iter_mut().for_each(|e| expr(e, f));
        }
    }

    fn set_expr(body: &mut SetExpr, f: &mut F) {
        match body {
            SetExpr::Select(s) => {
                for item in &mut s.projection {
                    if let SelectItem::Expr { expr: e, .. } = item {
                        expr(e, f);
                    }
                }
                s.from.iter_mut().for_each(|t| table_ref(t, f));
                let clauses = s.filter.iter_mut().chain(&mut s.group_by);
                clauses.chain(&mut s.having).for_each(|e| expr(e, f));
            }
            SetExpr::Query(q) => query(q, f),
            SetExpr::SetOperation { left, right, .. } => {
                set_expr(left, f);
                set_expr(right, f);
            }
            SetExpr::Unsupported(_) => {}
        }
    }

    fn table_ref(t: &mut TableRef, f: &mut F) {
        match t {
            TableRef::Table { .. } | TableRef::Unsupported(_) => {}
            TableRef::Derived { query: q, .. } => query(q, f),
            TableRef::Join {
                left,
                right,
                constraint,
                ..
            } => {
                table_ref(left, f);
                table_ref(right, f);
                if let JoinConstraint::On(e) = constraint {
                    expr(e, f);
                }
            }
        }
    }

    fn order_by(items: &mut [OrderByItem], f: &mut F) {
        for item in items {
            expr(&mut item.expr, f);
            if let Some(fill) = &mut item.fill {
                for bound in [&mut fill.from, &mut fill.to, &mut fill.step]
                    .into_iter()
                    .flatten()
                {
                    expr(bound, f);
                }
            }
        }
    }

    pub(super) fn expr(e: &mut Expr, f: &mut F) {
        match e {
            Expr::Column(_) | Expr::Literal(_) | Expr::Param(_) | Expr::Unsupported(_) => {}
            Expr::Unary { expr: x, .. }
            | Expr::IsNull { expr: x, .. }
            | Expr::IsBool { expr: x, .. }
            | Expr::Cast { expr: x, .. }
            | Expr::Extract { expr: x, .. } => expr(x, f),
            Expr::Binary { left, right, .. }
            | Expr::IsDistinctFrom { left, right, .. }
            | Expr::AnyOp {
                left, array: right, ..
            }
            | Expr::Like {
                expr: left,
                pattern: right,
                ..
            }
            | Expr::Subscript {
                expr: left,
                index: right,
            } => {
                expr(left, f);
                expr(right, f);
            }
            Expr::Between {
                expr: x, low, high, ..
            } => {
                expr(x, f);
                expr(low, f);
                expr(high, f);
            }
            Expr::InList { expr: x, list, .. } => {
                expr(x, f);
                list.iter_mut().for_each(|e| expr(e, f));
            }
            Expr::InSubquery {
                expr: x, query: q, ..
            } => {
                expr(x, f);
                query(q, f);
            }
            Expr::Case {
                operand,
                branches,
                else_result,
            } => {
                operand.iter_mut().for_each(|e| expr(e, f));
                for (when, then) in branches {
                    expr(when, f);
                    expr(then, f);
                }
                else_result.iter_mut().for_each(|e| expr(e, f));
            }
            Expr::Function(call) => {
                call.params.iter_mut().for_each(|e| expr(e, f));
                call.args.iter_mut().for_each(|e| expr(e, f));
                order_by(&mut call.order_by, f);
                call.filter.iter_mut().for_each(|e| expr(e, f));
                if let Some(over) = &mut call.over {
                    over.partition_by.iter_mut().for_each(|e| expr(e, f));
                    order_by(&mut over.order_by, f);
                    if let Some(frame) = &mut over.frame {
                        for bound in std::iter::once(&mut frame.start).chain(&mut frame.end) {
                            if let FrameBound::Preceding(Some(x)) | FrameBound::Following(Some(x)) =
                                bound
                            {
                                expr(x, f);
                            }
                        }
                    }
                }
            }
            Expr::Array(items) | Expr::Tuple(items) => items.iter_mut().for_each(|e| expr(e, f)),
            Expr::Lambda { body, .. } => expr(body, f),
            Expr::Subquery(q) | Expr::Exists { query: q, .. } => query(q, f),
        }
        f(e);
    }
}

/// Collects base-table names for `Query::tables`, tracking which CTE names are in scope.
#[derive(Default)]
pub(super) struct TableCollector {
    pub(super) tables: Vec<String>,
    seen: HashSet<String>,
    cte_scopes: Vec<Vec<String>>,
}

impl Visitor for TableCollector {
    fn visit_query(&mut self, query: &Query) {
        let Some(with) = &query.with else {
            return walk_query(self, query);
        };
        // A CTE is visible to the body, to later CTEs and (if RECURSIVE) to itself.
        self.cte_scopes.push(Vec::new());
        for cte in &with.ctes {
            if with.recursive {
                self.cte_scopes.last_mut().unwrap().push(cte.name.clone());
            }
            self.visit_query(&cte.query);
            if !with.recursive {
                self.cte_scopes.last_mut().unwrap().push(cte.name.clone());
            }
        }
        walk_set_expr(self, &query.body);
        walk_order_by(self, &query.order_by);
        for e in query.limit.iter().chain(&query.offset) {
            self.visit_expr(e);
        }
        self.cte_scopes.pop();
    }

    fn visit_table_ref(&mut self, table: &TableRef) {
        if let TableRef::Table { name, .. } = table {
            let is_cte = matches!(name.parts.as_slice(), [single]
                if self.cte_scopes.iter().flatten().any(|cte| cte == single));
            let dotted = name.dotted();
            if !is_cte && self.seen.insert(dotted.clone()) {
                self.tables.push(dotted);
            }
        }
        walk_table_ref(self, table)
    }
}
