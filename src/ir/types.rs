//! Types of IR expressions: what a column, literal, parameter or function call holds, as
//! an Arrow type plus whether NULL is one of its values (ClickHouse's `Nullable`).
//!
//! Types come from the routed backend's table schemas (the `TableTypes` the caller
//! provides), from literals and `{name:Type}` parameters, and from the function
//! catalogue's result rules (`dialects/types.toml`). They are what lets a translation be
//! exact where ClickHouse's meaning depends on them: `sum` of an empty Nullable column is
//! NULL, of a non-Nullable one 0; a missing map key reads as the value type's default;
//! `round` of a float rounds ties to even. An expression whose type cannot be worked out
//! has type `None`; callers then keep the documented defaults of an untyped translation.
//!
//! Arrow types are the one currency: backends describe tables in them, and the ClickHouse
//! backend maps its own types onto them (UInt8 → Int16, DateTime → Timestamp(µs, UTC)).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType as Arrow, Field, SchemaRef, TimeUnit};
use serde::Deserialize;

use super::{
    BinaryOp, DataType, Expr, Flavor, Func, JoinKind, Literal, Query, Select, SelectItem, SetExpr,
    TableRef, UnaryOp,
};

/// A value type: its Arrow type, and whether NULL is one of its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Type {
    pub data_type: Arrow,
    pub nullable: bool,
}

impl Type {
    pub fn new(data_type: Arrow, nullable: bool) -> Type {
        Type {
            data_type,
            nullable,
        }
    }

    pub fn not_null(data_type: Arrow) -> Type {
        Type::new(data_type, false)
    }

    pub fn of_field(field: &Field) -> Type {
        Type::new(field.data_type().clone(), field.is_nullable())
    }

    fn with_nullable(mut self, nullable: bool) -> Type {
        self.nullable = nullable;
        self
    }

    pub fn is_float(&self) -> bool {
        matches!(
            self.data_type,
            Arrow::Float16 | Arrow::Float32 | Arrow::Float64
        )
    }

    pub fn is_integer(&self) -> bool {
        self.data_type.is_integer()
    }

    pub fn is_decimal(&self) -> bool {
        matches!(
            self.data_type,
            Arrow::Decimal128(..) | Arrow::Decimal256(..)
        )
    }

    pub fn is_string(&self) -> bool {
        matches!(
            self.data_type,
            Arrow::Utf8 | Arrow::LargeUtf8 | Arrow::Utf8View
        ) || matches!(&self.data_type, Arrow::Dictionary(_, v) if v.is_string())
    }

    /// A date or an instant (not an interval or a duration).
    pub fn is_temporal(&self) -> bool {
        matches!(
            self.data_type,
            Arrow::Date32 | Arrow::Date64 | Arrow::Timestamp(..)
        )
    }

    /// The value type of a map, the element type of an array.
    pub fn element(&self) -> Option<Type> {
        match &self.data_type {
            Arrow::Map(entries, _) => match entries.data_type() {
                Arrow::Struct(fields) if fields.len() == 2 => Some(Type::of_field(&fields[1])),
                _ => None,
            },
            Arrow::List(item) | Arrow::LargeList(item) | Arrow::FixedSizeList(item, _) => {
                Some(Type::of_field(item))
            }
            _ => None,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.data_type, Arrow::Map(..))
    }

    pub fn is_array(&self) -> bool {
        matches!(
            self.data_type,
            Arrow::List(_) | Arrow::LargeList(_) | Arrow::FixedSizeList(..)
        )
    }
}

/// The IR's declared types (casts, typed literals, parameters) as Arrow types.
pub fn of_data_type(ty: &DataType) -> Arrow {
    match ty {
        DataType::Bool => Arrow::Boolean,
        DataType::Int16 => Arrow::Int16,
        DataType::Int32 => Arrow::Int32,
        DataType::Int64 => Arrow::Int64,
        DataType::Float32 => Arrow::Float32,
        DataType::Float64 => Arrow::Float64,
        DataType::Numeric(Some((p, s))) => Arrow::Decimal128(*p, *s),
        DataType::Numeric(None) => Arrow::Decimal128(38, 10),
        DataType::Text => Arrow::Utf8,
        DataType::Date => Arrow::Date32,
        DataType::Timestamp => Arrow::Timestamp(TimeUnit::Microsecond, None),
        DataType::TimestampTz => Arrow::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Uuid => Arrow::Utf8,
        DataType::Bytea => Arrow::Binary,
        DataType::Interval => Arrow::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
        DataType::Array(element) => {
            Arrow::List(Arc::new(Field::new("item", of_data_type(element), true)))
        }
    }
}

/// Table schemas by name as the query writes it (`TableName::dotted`); the engine gives
/// those of the backend that answers.
pub trait TableTypes {
    fn table(&self, name: &str) -> Option<SchemaRef>;
}

impl TableTypes for HashMap<String, SchemaRef> {
    fn table(&self, name: &str) -> Option<SchemaRef> {
        self.get(name).cloned()
    }
}

/// One column visible at a query level: the table (alias) that provides it, its name and
/// its type (`None` when unknown).
#[derive(Debug, Clone)]
struct Visible {
    qualifier: Option<String>,
    name: String,
    ty: Option<Type>,
}

/// Output columns of a query: names and types, in order.
pub type Columns = Vec<(String, Option<Type>)>;

/// Works out expression types, query level by query level. The emitter keeps one and
/// enters each SELECT it emits, so every expression it spells can ask for its type.
pub struct Typer<'a> {
    tables: &'a dyn TableTypes,
    flavor: Flavor,
    params: Vec<Option<Type>>,
    /// CTEs in scope, innermost last.
    ctes: Vec<(String, Columns)>,
    /// Columns visible at each SELECT being emitted, innermost last; the outer ones serve
    /// correlated references.
    scopes: Vec<Vec<Visible>>,
}

impl<'a> Typer<'a> {
    pub fn new(tables: &'a dyn TableTypes, query: &Query) -> Typer<'a> {
        let params = query
            .named_params
            .iter()
            .map(|(_, ty)| ty.as_ref().map(|t| Type::new(of_data_type(t), false)))
            .collect();
        Typer {
            tables,
            flavor: query.flavor,
            params,
            ctes: Vec::new(),
            scopes: Vec::new(),
        }
    }

    /// Makes the CTEs of `query` visible (until `leave_ctes` with the returned mark).
    pub fn enter_ctes(&mut self, query: &Query) -> usize {
        let mark = self.ctes.len();
        if let Some(with) = &query.with {
            for cte in &with.ctes {
                let mut columns = self.query_columns(&cte.query);
                for (column, name) in columns.iter_mut().zip(&cte.columns) {
                    column.0 = name.clone();
                }
                self.ctes.push((cte.name.clone(), columns));
            }
        }
        mark
    }

    pub fn leave_ctes(&mut self, mark: usize) {
        self.ctes.truncate(mark);
    }

    /// Makes the columns of `select`'s FROM visible, then its output aliases (ClickHouse
    /// and Postgres both let ORDER BY and HAVING name them).
    pub fn enter_select(&mut self, select: &Select) {
        let mut visible = Vec::new();
        for table in &select.from {
            self.add_from_item(table, &mut visible);
        }
        self.scopes.push(visible);
        let aliases: Vec<Visible> = select
            .projection
            .iter()
            .filter_map(|item| match item {
                SelectItem::Expr {
                    expr,
                    alias: Some(alias),
                } => Some(Visible {
                    qualifier: None,
                    name: alias.clone(),
                    ty: self.type_of(expr),
                }),
                _ => None,
            })
            .collect();
        self.scopes.last_mut().expect("just pushed").extend(aliases);
    }

    pub fn leave_select(&mut self) {
        self.scopes.pop();
    }

    /// The output columns of `query`, typed in the scopes around it.
    pub fn query_columns(&mut self, query: &Query) -> Columns {
        let mark = self.enter_ctes(query);
        let columns = self.set_columns(&query.body);
        self.leave_ctes(mark);
        columns
    }

    fn set_columns(&mut self, body: &SetExpr) -> Columns {
        match body {
            SetExpr::Select(select) => {
                self.enter_select(select);
                let mut columns = Vec::new();
                for item in &select.projection {
                    match item {
                        SelectItem::Expr { expr, alias } => columns.push((
                            alias.clone().unwrap_or_else(|| expr_name(expr)),
                            self.type_of(expr),
                        )),
                        SelectItem::Wildcard => {
                            let scope = self.scopes.last().expect("entered");
                            columns.extend(
                                scope
                                    .iter()
                                    .filter(|v| v.qualifier.is_some())
                                    .map(|v| (v.name.clone(), v.ty.clone())),
                            );
                        }
                        SelectItem::QualifiedWildcard(parts) => {
                            let qualifier = parts.last().cloned();
                            let scope = self.scopes.last().expect("entered");
                            columns.extend(
                                scope
                                    .iter()
                                    .filter(|v| v.qualifier.is_some() && v.qualifier == qualifier)
                                    .map(|v| (v.name.clone(), v.ty.clone())),
                            );
                        }
                    }
                }
                self.leave_select();
                columns
            }
            SetExpr::Query(query) => self.query_columns(query),
            SetExpr::SetOperation { left, right, .. } => {
                let left = self.set_columns(left);
                let right = self.set_columns(right);
                left.into_iter()
                    .zip(right)
                    .map(|((name, l), (_, r))| (name, common(l, r)))
                    .collect()
            }
            SetExpr::Unsupported(_) => Vec::new(),
        }
    }

    fn add_from_item(&mut self, table: &TableRef, visible: &mut Vec<Visible>) {
        match table {
            TableRef::Table { name, alias, .. } => {
                let dotted = name.dotted();
                let qualifier = alias
                    .as_ref()
                    .map(|a| a.name.clone())
                    .or_else(|| name.parts.last().cloned());
                let renames = alias
                    .as_ref()
                    .map(|a| a.columns.clone())
                    .unwrap_or_default();
                let cte = (name.parts.len() == 1)
                    .then(|| self.ctes.iter().rev().find(|(n, _)| *n == dotted))
                    .flatten();
                let columns: Columns = match cte {
                    Some((_, columns)) => columns.clone(),
                    None => match self.tables.table(&dotted) {
                        Some(schema) => schema
                            .fields()
                            .iter()
                            .map(|f| (f.name().clone(), Some(Type::of_field(f))))
                            .collect(),
                        None => return,
                    },
                };
                for (i, (column, ty)) in columns.into_iter().enumerate() {
                    visible.push(Visible {
                        qualifier: qualifier.clone(),
                        name: renames.get(i).cloned().unwrap_or(column),
                        ty,
                    });
                }
            }
            TableRef::Derived { query, alias } => {
                let columns = self.query_columns(query);
                let qualifier = alias.as_ref().map(|a| a.name.clone());
                let renames = alias
                    .as_ref()
                    .map(|a| a.columns.clone())
                    .unwrap_or_default();
                for (i, (column, ty)) in columns.into_iter().enumerate() {
                    visible.push(Visible {
                        // An unaliased derived table's columns still answer to `*`.
                        qualifier: Some(qualifier.clone().unwrap_or_default()),
                        name: renames.get(i).cloned().unwrap_or(column),
                        ty,
                    });
                }
            }
            TableRef::Join {
                left, right, kind, ..
            } => {
                let start = visible.len();
                self.add_from_item(left, visible);
                let middle = visible.len();
                self.add_from_item(right, visible);
                // Postgres fills the unmatched side with NULL; ClickHouse (join_use_nulls
                // = 0) with the column type's default, so its types stay as they are.
                if self.flavor == Flavor::Postgres {
                    let (left_null, right_null) = match kind {
                        JoinKind::Left => (false, true),
                        JoinKind::Right => (true, false),
                        JoinKind::Full => (true, true),
                        JoinKind::Inner | JoinKind::Cross => (false, false),
                    };
                    for (i, v) in visible[start..].iter_mut().enumerate() {
                        let on_left = start + i < middle;
                        if (on_left && left_null) || (!on_left && right_null) {
                            if let Some(ty) = &mut v.ty {
                                ty.nullable = true;
                            }
                        }
                    }
                }
            }
            TableRef::Unsupported(_) => {}
        }
    }

    /// ClickHouse's `Events.Timestamp` when it names one column called that (a Nested
    /// column's part) rather than column `Timestamp` of a table `Events`: the dotted name.
    pub fn dotted_column(&self, qualifier: &[String], name: &str) -> Option<String> {
        if qualifier.is_empty() || self.flavor != Flavor::ClickHouse {
            return None;
        }
        let dotted = format!("{}.{name}", qualifier.join("."));
        let scope = self.scopes.last()?;
        let is_table = scope
            .iter()
            .any(|v| v.qualifier.as_deref() == qualifier.last().map(String::as_str));
        let is_column = scope.iter().any(|v| v.name == dotted);
        (is_column && !is_table).then_some(dotted)
    }

    /// The column `qualifier.name` (or `name`) in the innermost scope that has it.
    fn column(&self, qualifier: &[String], name: &str) -> Option<Type> {
        let qualifier = qualifier.last();
        for scope in self.scopes.iter().rev() {
            let mut found = scope.iter().filter(|v| {
                v.name == name
                    && match qualifier {
                        Some(q) => v.qualifier.as_ref() == Some(q),
                        None => true,
                    }
            });
            if let Some(first) = found.next() {
                return first.ty.clone();
            }
        }
        None
    }

    /// The type of `e` in the current scopes; `None` if unknown.
    pub fn type_of(&self, e: &Expr) -> Option<Type> {
        let clickhouse = self.flavor == Flavor::ClickHouse;
        let boolean = |nullable: bool| Some(Type::new(Arrow::Boolean, nullable));
        match e {
            Expr::Column(c) => match self.dotted_column(&c.qualifier, &c.name) {
                Some(dotted) => self.column(&[], &dotted),
                None => self.column(&c.qualifier, &c.name),
            },
            Expr::Literal(literal) => Some(literal_type(literal, self.flavor)),
            Expr::Param(n) => self.params.get(n - 1).cloned().flatten(),
            Expr::Unary {
                op: UnaryOp::Not,
                expr,
            } => boolean(self.type_of(expr)?.nullable),
            Expr::Unary { expr, .. } => self.type_of(expr),
            Expr::Binary { left, op, right } => {
                let (l, r) = (self.type_of(left)?, self.type_of(right)?);
                let nullable = l.nullable || r.nullable;
                match op {
                    BinaryOp::And | BinaryOp::Or => boolean(nullable),
                    op if op.is_comparison() => boolean(nullable),
                    BinaryOp::RegexMatch
                    | BinaryOp::RegexIMatch
                    | BinaryOp::RegexNotMatch
                    | BinaryOp::RegexNotIMatch => boolean(nullable),
                    BinaryOp::Concat => Some(Type::new(Arrow::Utf8, nullable)),
                    op => arithmetic(*op, &l, &r, clickhouse),
                }
            }
            Expr::Like { expr, pattern, .. } => {
                boolean(self.type_of(expr)?.nullable || self.type_of(pattern)?.nullable)
            }
            Expr::IsNull { .. } | Expr::IsBool { .. } | Expr::IsDistinctFrom { .. } => {
                boolean(false)
            }
            Expr::Exists { .. } => boolean(false),
            Expr::Between {
                expr, low, high, ..
            } => boolean(
                self.type_of(expr)?.nullable
                    || self.type_of(low)?.nullable
                    || self.type_of(high)?.nullable,
            ),
            // ClickHouse's IN is never NULL (transform_null_in aside, a NULL matches nothing).
            Expr::InList { expr, .. } | Expr::InSubquery { expr, .. } => {
                boolean(!clickhouse && self.type_of(expr)?.nullable)
            }
            Expr::AnyOp { .. } => boolean(true),
            Expr::Case {
                branches,
                else_result,
                ..
            } => {
                let mut result = match else_result {
                    Some(e) => self.type_of(e),
                    None => None,
                };
                for (_, then) in branches {
                    let ty = self.type_of(then);
                    result = match result {
                        None => ty,
                        some => common(some, ty),
                    };
                }
                let mut result = result?;
                if else_result.is_none() {
                    result.nullable = true;
                }
                Some(result)
            }
            Expr::Cast { expr, ty } => Some(Type::new(
                of_data_type(ty),
                self.type_of(expr).is_none_or(|t| t.nullable),
            )),
            Expr::Extract { expr, .. } => {
                Some(Type::new(Arrow::Float64, self.type_of(expr)?.nullable))
            }
            Expr::Function(call) => {
                let args: Vec<Option<Type>> = call.args.iter().map(|a| self.type_of(a)).collect();
                let rules = rules();
                let rule = match &call.func {
                    Func::Known(def) if !clickhouse => rules.postgres.get(def.name),
                    // A catalogue function in ClickHouse SQL means what ClickHouse's does.
                    Func::Known(def) => rules
                        .clickhouse
                        .get(def.name)
                        .or_else(|| rules.postgres.get(def.name)),
                    Func::Anonymous(name) => rules.clickhouse.get(name.as_str()),
                }?;
                let star = call.star.then_some(Type::not_null(Arrow::Int64));
                let ty = rule.apply(&args, star.as_ref())?;
                // ClickHouse's toStartOfInterval is a Date for calendar units.
                let calendar = matches!(call.args.get(1), Some(Expr::Literal(Literal::Typed {
                        value,
                        ty: DataType::Interval,
                    })) if ["week", "month", "quarter", "year"]
                        .iter()
                        .any(|u| value.trim_end_matches('s').ends_with(u)));
                if call.func.name() == "toStartOfInterval" && calendar {
                    return Some(Type::new(Arrow::Date32, ty.nullable));
                }
                Some(ty)
            }
            Expr::Array(items) => {
                let element = items
                    .iter()
                    .map(|i| self.type_of(i))
                    .reduce(common)
                    .flatten()?;
                Some(Type::not_null(Arrow::List(Arc::new(Field::new(
                    "item",
                    element.data_type,
                    element.nullable,
                )))))
            }
            Expr::Subscript { expr, .. } => {
                let container = self.type_of(expr)?;
                let element = container.element()?;
                // ClickHouse gives the value type's default for a missing key or index.
                Some(if clickhouse {
                    element
                } else {
                    element.with_nullable(true)
                })
            }
            Expr::Subquery(_) => None,
            Expr::Lambda { .. } | Expr::Tuple(_) | Expr::Unsupported(_) => None,
        }
    }
}

/// A literal's type. ClickHouse reads `1.5` as Float64, Postgres as numeric.
fn literal_type(literal: &Literal, flavor: Flavor) -> Type {
    match literal {
        Literal::Null => Type::new(Arrow::Null, true),
        Literal::Bool(_) => Type::not_null(Arrow::Boolean),
        Literal::Int(_) => Type::not_null(Arrow::Int64),
        Literal::Float(_) => Type::not_null(Arrow::Float64),
        Literal::Numeric(_) if flavor == Flavor::ClickHouse => Type::not_null(Arrow::Float64),
        Literal::Numeric(_) => Type::not_null(Arrow::Decimal128(38, 10)),
        Literal::String(_) => Type::not_null(Arrow::Utf8),
        Literal::Typed { ty, .. } => Type::not_null(of_data_type(ty)),
    }
}

/// `+ - * / %` on numbers (dates and intervals: unknown, `None`). ClickHouse's `/` is
/// always Float64 unless a decimal is involved; Postgres divides integers as integers.
fn arithmetic(op: BinaryOp, l: &Type, r: &Type, clickhouse: bool) -> Option<Type> {
    let nullable = l.nullable || r.nullable;
    let numeric = |t: &Type| t.is_integer() || t.is_float() || t.is_decimal();
    if !numeric(l) || !numeric(r) {
        if l.is_temporal() && matches!(op, BinaryOp::Plus | BinaryOp::Minus) {
            return match (&r.data_type, op) {
                (Arrow::Interval(_), _) => Some(l.clone().with_nullable(nullable)),
                _ => None,
            };
        }
        return None;
    }
    let data_type = if l.is_decimal() || r.is_decimal() {
        if l.is_float() || r.is_float() {
            Arrow::Float64
        } else {
            Arrow::Decimal128(38, decimal_scale(l).max(decimal_scale(r)))
        }
    } else if l.is_float() || r.is_float() || (clickhouse && op == BinaryOp::Divide) {
        Arrow::Float64
    } else {
        Arrow::Int64
    };
    Some(Type::new(data_type, nullable))
}

fn decimal_scale(t: &Type) -> i8 {
    match t.data_type {
        Arrow::Decimal128(_, s) | Arrow::Decimal256(_, s) => s,
        _ => 0,
    }
}

/// The type both `a` and `b` convert to (a UNION's column, `if`'s branches), nullable if
/// either is; `None` when either is unknown.
pub fn common(a: Option<Type>, b: Option<Type>) -> Option<Type> {
    let (a, b) = (a?, b?);
    let nullable = a.nullable || b.nullable;
    if a.data_type == b.data_type || b.data_type == Arrow::Null {
        return Some(a.with_nullable(nullable));
    }
    if a.data_type == Arrow::Null {
        return Some(b.with_nullable(nullable));
    }
    let numeric = |t: &Type| t.is_integer() || t.is_float() || t.is_decimal();
    if numeric(&a) && numeric(&b) {
        return arithmetic(BinaryOp::Plus, &a, &b, false).map(|t| t.with_nullable(nullable));
    }
    if a.is_string() && b.is_string() {
        return Some(Type::new(Arrow::Utf8, nullable));
    }
    None
}

/// The name an unaliased projection item gets (what `*` of a derived table exposes).
fn expr_name(e: &Expr) -> String {
    match e {
        Expr::Column(c) => c.name.clone(),
        other => super::output_name(other),
    }
}

/// A function's result type rule, as written in `dialects/types.toml`.
#[derive(Debug, Clone)]
struct Rule {
    result: Result_,
    nulls: Nulls,
}

#[derive(Debug, Clone)]
enum Result_ {
    Fixed(Arrow),
    /// The type of argument n (0-based).
    Arg(usize),
    /// The common type of these arguments.
    Common(Vec<usize>),
    /// The value type of a map / element type of an array argument.
    Element(usize),
    /// An array of argument n's type.
    ArrayOf(usize),
    /// ClickHouse `sum`: integers widen to 64 bits, floats to Float64, decimals keep scale.
    Sum(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Nulls {
    /// Nullable iff some argument is (ClickHouse's default for functions and for
    /// aggregates over a Nullable argument).
    Propagate,
    Never,
    Always,
    /// Nullable iff every argument is (`coalesce`).
    All,
    /// Nullable iff argument n is.
    Of(usize),
}

impl Rule {
    fn apply(&self, args: &[Option<Type>], star: Option<&Type>) -> Option<Type> {
        let arg = |i: usize| -> Option<Type> {
            match args.get(i) {
                Some(t) => t.clone(),
                None => star.cloned(),
            }
        };
        let data_type = match &self.result {
            Result_::Fixed(t) => t.clone(),
            Result_::Arg(i) => arg(*i)?.data_type,
            Result_::Common(indices) => {
                indices
                    .iter()
                    .map(|i| arg(*i))
                    .reduce(common)
                    .flatten()?
                    .data_type
            }
            Result_::Element(i) => arg(*i)?.element()?.data_type,
            Result_::ArrayOf(i) => {
                let t = arg(*i)?;
                Arrow::List(Arc::new(Field::new("item", t.data_type, false)))
            }
            Result_::Sum(i) => {
                let t = arg(*i)?;
                match t.data_type {
                    _ if t.is_float() => Arrow::Float64,
                    Arrow::UInt8 | Arrow::UInt16 | Arrow::UInt32 | Arrow::UInt64 => Arrow::UInt64,
                    _ if t.is_integer() => Arrow::Int64,
                    Arrow::Decimal128(_, s) => Arrow::Decimal128(38, s),
                    other => other,
                }
            }
        };
        let known = |i: usize| arg(i).map(|t| t.nullable);
        let nullable = match self.nulls {
            Nulls::Never => false,
            Nulls::Always => true,
            Nulls::Propagate => {
                let mut any = false;
                for i in 0..args.len() {
                    any |= known(i)?;
                }
                any
            }
            Nulls::All => {
                let mut all = true;
                for i in 0..args.len() {
                    all &= known(i)?;
                }
                all
            }
            Nulls::Of(i) => known(i)?,
        };
        Some(Type::new(data_type, nullable))
    }
}

/// The parsed `dialects/types.toml`.
struct Rules {
    clickhouse: HashMap<String, Rule>,
    postgres: HashMap<String, Rule>,
}

#[derive(Deserialize)]
struct RulesFile {
    clickhouse: HashMap<String, String>,
    postgres: HashMap<String, String>,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let file: RulesFile = toml::from_str(include_str!("../../dialects/types.toml"))
            .expect("dialects/types.toml parses");
        let parse = |table: HashMap<String, String>| {
            table
                .into_iter()
                .map(|(name, text)| {
                    let rule = parse_rule(&text)
                        .unwrap_or_else(|e| panic!("dialects/types.toml: {name} = {text:?}: {e}"));
                    (name, rule)
                })
                .collect()
        };
        Rules {
            clickhouse: parse(file.clickhouse),
            postgres: parse(file.postgres),
        }
    })
}

/// `"<result> [nulls]"`: result is a type name (`Int64`, `Float64`, `String`, `Bool`,
/// `Date`, `DateTime`), `$n` (argument n, 1-based), `common($1,$2)`, `element($1)`,
/// `array($1)` or `sum($1)`; nulls is `propagate` (default), `never`, `always`, `all` or
/// `of($n)`.
fn parse_rule(text: &str) -> Result<Rule, String> {
    let mut words = text.split_whitespace();
    let result = words.next().ok_or("empty rule")?;
    let nulls = words.next().unwrap_or("propagate");
    if words.next().is_some() {
        return Err("more than two words".into());
    }
    let arg = |s: &str| -> Result<usize, String> {
        s.trim()
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .map(|n| n - 1)
            .ok_or_else(|| format!("bad argument reference {s:?}"))
    };
    let call = |s: &str, f: &str| -> Option<String> {
        s.strip_prefix(f)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
            .map(str::to_owned)
    };
    let result = if result.starts_with('$') {
        Result_::Arg(arg(result)?)
    } else if let Some(inner) = call(result, "common") {
        Result_::Common(inner.split(',').map(arg).collect::<Result<_, _>>()?)
    } else if let Some(inner) = call(result, "element") {
        Result_::Element(arg(&inner)?)
    } else if let Some(inner) = call(result, "array") {
        Result_::ArrayOf(arg(&inner)?)
    } else if let Some(inner) = call(result, "sum") {
        Result_::Sum(arg(&inner)?)
    } else {
        Result_::Fixed(match result {
            "Int64" => Arrow::Int64,
            "Int32" => Arrow::Int32,
            "UInt64" => Arrow::UInt64,
            "UInt8" => Arrow::UInt8,
            "Float64" => Arrow::Float64,
            "String" => Arrow::Utf8,
            "Bool" => Arrow::Boolean,
            "Date" => Arrow::Date32,
            "DateTime" => Arrow::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "Array(String)" => Arrow::List(Arc::new(Field::new("item", Arrow::Utf8, false))),
            other => return Err(format!("unknown type {other:?}")),
        })
    };
    let nulls = match nulls {
        "propagate" => Nulls::Propagate,
        "never" => Nulls::Never,
        "always" => Nulls::Always,
        "all" => Nulls::All,
        other => Nulls::Of(arg(
            &call(other, "of").ok_or(format!("bad nulls {other:?}"))?
        )?),
    };
    Ok(Rule { result, nulls })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Schema;

    fn typer_for(sql: &str, flavor: Flavor, f: impl FnOnce(&mut Typer, &Query)) {
        let parsed = crate::sql::parse_with(
            sql,
            match flavor {
                Flavor::ClickHouse => crate::sql::DialectSetting::ClickHouse,
                Flavor::Postgres => crate::sql::DialectSetting::Postgres,
            },
        )
        .unwrap();
        let sqlparser::ast::Statement::Query(q) = &parsed.statements[0] else {
            panic!()
        };
        let query = crate::sql::lower_query_as(q, flavor).unwrap();
        let tables = demo_tables();
        let mut typer = Typer::new(&tables, &query);
        f(&mut typer, &query);
    }

    fn demo_tables() -> HashMap<String, SchemaRef> {
        let map = Arrow::Map(
            Arc::new(Field::new_struct(
                "entries",
                vec![
                    Field::new("key", Arrow::Utf8, false),
                    Field::new("value", Arrow::Float64, false),
                ],
                false,
            )),
            false,
        );
        let t = Schema::new(vec![
            Field::new("a", Arrow::Int64, false),
            Field::new("n", Arrow::Int64, true),
            Field::new("f", Arrow::Float64, false),
            Field::new("s", Arrow::Utf8, false),
            Field::new("m", map, false),
        ]);
        HashMap::from([("t".to_string(), Arc::new(t))])
    }

    /// The types of the top-level projection, in order.
    fn projection_types(sql: &str, flavor: Flavor) -> Vec<Option<Type>> {
        let mut out = Vec::new();
        typer_for(sql, flavor, |typer, q| {
            out = typer.query_columns(q).into_iter().map(|(_, t)| t).collect();
        });
        out
    }

    #[test]
    fn columns_literals_and_arithmetic() {
        let t = projection_types(
            "SELECT a, n, a / 2, a + n, f * 2, s, 1.5, m['k'], x.a FROM t AS x",
            Flavor::ClickHouse,
        );
        let ty = |d: Arrow, n: bool| Some(Type::new(d, n));
        assert_eq!(
            t,
            vec![
                ty(Arrow::Int64, false),
                ty(Arrow::Int64, true),
                ty(Arrow::Float64, false),
                ty(Arrow::Int64, true),
                ty(Arrow::Float64, false),
                ty(Arrow::Utf8, false),
                ty(Arrow::Float64, false),
                ty(Arrow::Float64, false),
                ty(Arrow::Int64, false),
            ]
        );
        // Postgres divides integers as integers, and a decimal literal is numeric.
        let t = projection_types("SELECT a / 2, 1.5 FROM t", Flavor::Postgres);
        assert_eq!(t[0], ty(Arrow::Int64, false));
        assert!(matches!(
            t[1].as_ref().unwrap().data_type,
            Arrow::Decimal128(..)
        ));
    }

    #[test]
    fn aggregates_follow_their_arguments() {
        let t = projection_types(
            "SELECT count(), sum(a), sum(n), avg(n), uniq(s), max(s), countIf(a > 1) FROM t",
            Flavor::ClickHouse,
        );
        let nullable: Vec<bool> = t.iter().map(|t| t.as_ref().unwrap().nullable).collect();
        assert_eq!(nullable, [false, false, true, true, false, false, false]);
        assert_eq!(t[1].as_ref().unwrap().data_type, Arrow::Int64);
        assert_eq!(t[3].as_ref().unwrap().data_type, Arrow::Float64);
    }

    #[test]
    fn derived_tables_ctes_and_outer_joins() {
        let t = projection_types(
            "WITH c AS (SELECT n AS k FROM t) SELECT d.x, c.k FROM (SELECT sum(a) AS x FROM t) d, c",
            Flavor::ClickHouse,
        );
        assert_eq!(t[0], Some(Type::not_null(Arrow::Int64)));
        assert_eq!(t[1], Some(Type::new(Arrow::Int64, true)));
        let t = projection_types(
            "SELECT u.a FROM t LEFT JOIN t AS u ON t.a = u.a",
            Flavor::Postgres,
        );
        assert_eq!(t[0], Some(Type::new(Arrow::Int64, true)));
        let t = projection_types(
            "SELECT u.a FROM t LEFT JOIN t AS u ON t.a = u.a",
            Flavor::ClickHouse,
        );
        assert_eq!(t[0], Some(Type::not_null(Arrow::Int64)));
    }

    #[test]
    fn every_rule_parses() {
        let rules = rules();
        assert!(rules.clickhouse.contains_key("sum"));
        assert!(parse_rule("Int64 sometimes").is_err());
        assert!(parse_rule("$0").is_err());
    }
}
