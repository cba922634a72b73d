//! A stable, readable text dump of the IR for tests and EXPLAIN. It looks like SQL but is no
//! dialect: every operator application is parenthesised so the tree shape is visible, and it
//! must never be sent to a backend (that is `emit`'s job).

use std::fmt::{self, Display, Formatter, Write};

use super::{
    BinaryOp, ColumnRef, DataType, Expr, FrameBound, FrameUnits, FunctionCall, JoinConstraint,
    JoinKind, Literal, OrderByItem, Query, Select, SelectItem, SetExpr, SetOperator, TableAlias,
    TableRef, UnaryOp, WindowSpec,
};

/// An identifier, quoted only when it is not plain lower-case.
struct Name<'a>(&'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let plain = self
            .0
            .starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && self
                .0
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "\"{}\"", self.0.replace('"', "\"\""))
        }
    }
}

/// `items` separated by `sep`, each formatted with `each`.
fn list<T>(
    f: &mut Formatter,
    items: &[T],
    sep: &str,
    mut each: impl FnMut(&mut Formatter, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        each(f, item)?;
    }
    Ok(())
}

fn names(f: &mut Formatter, parts: &[String]) -> fmt::Result {
    list(f, parts, ".", |f, p| Name(p).fmt(f))
}

fn exprs(f: &mut Formatter, items: &[Expr]) -> fmt::Result {
    list(f, items, ", ", |f, e| e.fmt(f))
}

fn order_by(f: &mut Formatter, items: &[OrderByItem]) -> fmt::Result {
    list(f, items, ", ", |f, item| {
        write!(f, "{}", item.expr)?;
        if item.desc {
            f.write_str(" DESC")?;
        }
        match item.nulls_first {
            Some(true) => f.write_str(" NULLS FIRST")?,
            Some(false) => f.write_str(" NULLS LAST")?,
            None => {}
        }
        if let Some(fill) = &item.fill {
            f.write_str(" WITH FILL")?;
            for (keyword, bound) in [
                (" FROM ", &fill.from),
                (" TO ", &fill.to),
                (" STEP ", &fill.step),
            ] {
                if let Some(bound) = bound {
                    write!(f, "{keyword}{bound}")?;
                }
            }
        }
        Ok(())
    })
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        if let Some(with) = &self.with {
            f.write_str(if with.recursive {
                "WITH RECURSIVE "
            } else {
                "WITH "
            })?;
            list(f, &with.ctes, ", ", |f, cte| {
                Name(&cte.name).fmt(f)?;
                if !cte.columns.is_empty() {
                    f.write_str(" (")?;
                    list(f, &cte.columns, ", ", |f, c| Name(c).fmt(f))?;
                    f.write_str(")")?;
                }
                write!(f, " AS ({})", cte.query)
            })?;
            f.write_char(' ')?;
        }
        write!(f, "{}", self.body)?;
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            order_by(f, &self.order_by)?;
        }
        if let Some(limit_by) = &self.clickhouse.limit_by {
            write!(f, " LIMIT {}", limit_by.limit)?;
            if let Some(offset) = &limit_by.offset {
                write!(f, " OFFSET {offset}")?;
            }
            f.write_str(" BY ")?;
            exprs(f, &limit_by.by)?;
        }
        if let Some(limit) = &self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        if let Some(offset) = &self.offset {
            write!(f, " OFFSET {offset}")?;
        }
        if !self.clickhouse.settings.is_empty() {
            f.write_str(" SETTINGS ")?;
            list(f, &self.clickhouse.settings, ", ", |f, (k, v)| {
                write!(f, "{} = {v}", Name(k))
            })?;
        }
        if let Some(format) = &self.clickhouse.format {
            write!(f, " FORMAT {}", Name(format))?;
        }
        for construct in &self.unsupported {
            write!(f, " <unsupported: {construct}>")?;
        }
        Ok(())
    }
}

impl Display for SetExpr {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self {
            SetExpr::Select(select) => select.fmt(f),
            SetExpr::Query(query) => write!(f, "({query})"),
            SetExpr::SetOperation {
                op,
                all,
                left,
                right,
            } => {
                let op = match op {
                    SetOperator::Union => "UNION",
                    SetOperator::Intersect => "INTERSECT",
                    SetOperator::Except => "EXCEPT",
                };
                let all = if *all { " ALL" } else { "" };
                write!(f, "{left} {op}{all} {right}")
            }
            SetExpr::Unsupported(construct) => write!(f, "<unsupported: {construct}>"),
        }
    }
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        f.write_str(if self.distinct {
            "SELECT DISTINCT "
        } else {
            "SELECT "
        })?;
        list(f, &self.projection, ", ", |f, item| match item {
            SelectItem::Expr { expr, alias } => {
                expr.fmt(f)?;
                match alias {
                    Some(alias) => write!(f, " AS {}", Name(alias)),
                    None => Ok(()),
                }
            }
            SelectItem::Wildcard => f.write_str("*"),
            SelectItem::QualifiedWildcard(qualifier) => {
                names(f, qualifier)?;
                f.write_str(".*")
            }
        })?;
        if !self.from.is_empty() {
            f.write_str(" FROM ")?;
            list(f, &self.from, ", ", |f, t| t.fmt(f))?;
        }
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            exprs(f, &self.group_by)?;
        }
        for modifier in &self.group_by_modifiers {
            write!(f, " {}", modifier.keyword())?;
        }
        if let Some(having) = &self.having {
            write!(f, " HAVING {having}")?;
        }
        Ok(())
    }
}

fn alias(f: &mut Formatter, alias: &Option<TableAlias>) -> fmt::Result {
    let Some(alias) = alias else { return Ok(()) };
    write!(f, " AS {}", Name(&alias.name))?;
    if !alias.columns.is_empty() {
        f.write_str(" (")?;
        list(f, &alias.columns, ", ", |f, c| Name(c).fmt(f))?;
        f.write_str(")")?;
    }
    Ok(())
}

impl Display for TableRef {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self {
            TableRef::Table {
                name,
                alias: a,
                final_modifier,
                sample,
            } => {
                names(f, &name.parts)?;
                alias(f, a)?;
                if *final_modifier {
                    f.write_str(" FINAL")?;
                }
                if let Some(sample) = sample {
                    write!(f, " SAMPLE {}", sample.ratio)?;
                    if let Some(offset) = &sample.offset {
                        write!(f, " OFFSET {offset}")?;
                    }
                }
                Ok(())
            }
            TableRef::Derived { query, alias: a } => {
                write!(f, "({query})")?;
                alias(f, a)
            }
            TableRef::Join {
                left,
                right,
                kind,
                constraint,
                global,
            } => {
                if *global {
                    write!(f, "GLOBAL ")?;
                }
                let kind = match kind {
                    JoinKind::Inner => "JOIN",
                    JoinKind::Left => "LEFT JOIN",
                    JoinKind::Right => "RIGHT JOIN",
                    JoinKind::Full => "FULL JOIN",
                    JoinKind::Cross => "CROSS JOIN",
                };
                // A join nested on the right needs parentheses to keep its shape.
                if matches!(**right, TableRef::Join { .. }) {
                    write!(f, "{left} {kind} ({right})")?;
                } else {
                    write!(f, "{left} {kind} {right}")?;
                }
                match constraint {
                    JoinConstraint::On(on) => write!(f, " ON {on}"),
                    JoinConstraint::Using(columns) => {
                        f.write_str(" USING (")?;
                        list(f, columns, ", ", |f, c| Name(c).fmt(f))?;
                        f.write_str(")")
                    }
                    JoinConstraint::None => Ok(()),
                }
            }
            TableRef::Unsupported(construct) => write!(f, "<unsupported: {construct}>"),
        }
    }
}

impl Display for ColumnRef {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        for part in &self.qualifier {
            write!(f, "{}.", Name(part))?;
        }
        Name(&self.name).fmt(f)
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x:?}"),
            Literal::Numeric(text) => f.write_str(text),
            Literal::String(s) => f.write_str(&quoted(s)),
            Literal::Typed {
                value,
                ty: DataType::Interval,
            } => write!(f, "INTERVAL {}", quoted(value)),
            Literal::Typed { value, ty } => write!(f, "{ty} {}", quoted(value)),
        }
    }
}

impl Display for DataType {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self {
            DataType::Bool => f.write_str("boolean"),
            DataType::Int16 => f.write_str("smallint"),
            DataType::Int32 => f.write_str("int"),
            DataType::Int64 => f.write_str("bigint"),
            DataType::Float32 => f.write_str("real"),
            DataType::Float64 => f.write_str("double"),
            DataType::Numeric(None) => f.write_str("numeric"),
            DataType::Numeric(Some((p, s))) => write!(f, "numeric({p}, {s})"),
            DataType::Text => f.write_str("text"),
            DataType::Date => f.write_str("date"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::TimestampTz => f.write_str("timestamptz"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Bytea => f.write_str("bytea"),
            DataType::Interval => f.write_str("interval"),
            DataType::Array(element) => write!(f, "{element}[]"),
        }
    }
}

impl BinaryOp {
    /// The operator's standard SQL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Plus => "+",
            BinaryOp::Minus => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Modulo => "%",
            BinaryOp::Concat => "||",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::RegexMatch => "~",
            BinaryOp::RegexIMatch => "~*",
            BinaryOp::RegexNotMatch => "!~",
            BinaryOp::RegexNotIMatch => "!~*",
        }
    }
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self {
            Expr::Column(column) => column.fmt(f),
            Expr::Literal(literal) => literal.fmt(f),
            Expr::Param(n) => write!(f, "${n}"),
            Expr::Unary { op, expr } => match op {
                UnaryOp::Not => write!(f, "(NOT {expr})"),
                UnaryOp::Minus => write!(f, "(- {expr})"),
                UnaryOp::Plus => write!(f, "(+ {expr})"),
            },
            Expr::Binary { left, op, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let like = if *case_insensitive { "ILIKE" } else { "LIKE" };
                write!(f, "({expr} {}{like} {pattern})", not(*negated))
            }
            Expr::IsNull { expr, negated } => write!(f, "({expr} IS {}NULL)", not(*negated)),
            Expr::IsBool {
                expr,
                value,
                negated,
            } => {
                let value = if *value { "TRUE" } else { "FALSE" };
                write!(f, "({expr} IS {}{value})", not(*negated))
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => write!(f, "({left} IS {}DISTINCT FROM {right})", not(*negated)),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => write!(f, "({expr} {}BETWEEN {low} AND {high})", not(*negated)),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                write!(f, "({expr} {}IN (", not(*negated))?;
                exprs(f, list)?;
                f.write_str("))")
            }
            Expr::InSubquery {
                expr,
                query,
                negated,
                global,
            } => {
                let global = if *global { "GLOBAL " } else { "" };
                write!(f, "({expr} {global}{}IN ({query}))", not(*negated))
            }
            Expr::AnyOp { left, op, array } => {
                write!(f, "({left} {} ANY({array}))", op.symbol())
            }
            Expr::Case {
                operand,
                branches,
                else_result,
            } => {
                f.write_str("CASE")?;
                if let Some(operand) = operand {
                    write!(f, " {operand}")?;
                }
                for (when, then) in branches {
                    write!(f, " WHEN {when} THEN {then}")?;
                }
                if let Some(else_result) = else_result {
                    write!(f, " ELSE {else_result}")?;
                }
                f.write_str(" END")
            }
            Expr::Cast { expr, ty } => write!(f, "CAST({expr} AS {ty})"),
            Expr::Extract { field, expr } => write!(f, "EXTRACT({field} FROM {expr})"),
            Expr::Function(call) => call.fmt(f),
            Expr::Array(items) => {
                f.write_str("ARRAY[")?;
                exprs(f, items)?;
                f.write_str("]")
            }
            Expr::Subscript { expr, index } => write!(f, "{expr}[{index}]"),
            Expr::Subquery(query) => write!(f, "({query})"),
            Expr::Exists { query, negated } => write!(f, "{}EXISTS ({query})", not(*negated)),
            Expr::Lambda { params, body } => {
                f.write_char('(')?;
                list(f, params, ", ", |f, p| Name(p).fmt(f))?;
                write!(f, ") -> {body}")
            }
            Expr::Tuple(items) => {
                f.write_str("tuple(")?;
                exprs(f, items)?;
                f.write_char(')')
            }
            Expr::Unsupported(construct) => write!(f, "<unsupported: {construct}>"),
        }
    }
}

impl Display for FunctionCall {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        f.write_str(self.func.name())?;
        if !self.params.is_empty() {
            f.write_char('(')?;
            exprs(f, &self.params)?;
            f.write_char(')')?;
        }
        let keyword = matches!(self.func, super::Func::Known(def) if def.keyword);
        if !(keyword && self.args.is_empty()) {
            f.write_char('(')?;
            if self.distinct {
                f.write_str("DISTINCT ")?;
            }
            if self.star {
                f.write_char('*')?;
            }
            exprs(f, &self.args)?;
            if !self.order_by.is_empty() {
                f.write_str(" ORDER BY ")?;
                order_by(f, &self.order_by)?;
            }
            f.write_char(')')?;
        }
        if let Some(filter) = &self.filter {
            write!(f, " FILTER (WHERE {filter})")?;
        }
        if let Some(over) = &self.over {
            write!(f, " OVER ({over})")?;
        }
        Ok(())
    }
}

impl Display for WindowSpec {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let mut sep = "";
        if !self.partition_by.is_empty() {
            f.write_str("PARTITION BY ")?;
            exprs(f, &self.partition_by)?;
            sep = " ";
        }
        if !self.order_by.is_empty() {
            write!(f, "{sep}ORDER BY ")?;
            order_by(f, &self.order_by)?;
            sep = " ";
        }
        if let Some(frame) = &self.frame {
            let units = match frame.units {
                FrameUnits::Rows => "ROWS",
                FrameUnits::Range => "RANGE",
                FrameUnits::Groups => "GROUPS",
            };
            let bound = |b: &FrameBound| match b {
                FrameBound::CurrentRow => "CURRENT ROW".to_string(),
                FrameBound::Preceding(None) => "UNBOUNDED PRECEDING".to_string(),
                FrameBound::Following(None) => "UNBOUNDED FOLLOWING".to_string(),
                FrameBound::Preceding(Some(n)) => format!("{n} PRECEDING"),
                FrameBound::Following(Some(n)) => format!("{n} FOLLOWING"),
            };
            match &frame.end {
                Some(end) => write!(
                    f,
                    "{sep}{units} BETWEEN {} AND {}",
                    bound(&frame.start),
                    bound(end)
                )?,
                None => write!(f, "{sep}{units} {}", bound(&frame.start))?,
            }
        }
        Ok(())
    }
}
