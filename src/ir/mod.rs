//! The backend-neutral IR: a typed SELECT tree close to the SQL surface (sqlglot's model),
//! produced by `sql::lower` and consumed by the router, the rewrite passes and `emit`.
//!
//! The IR owns meaning, never spelling: it holds no dialect syntax and no SQL text, and
//! nothing here does I/O. Identifiers are kept exactly as the client wrote them (ClickHouse
//! is case-sensitive). A construct the lowering could not represent stays in the tree as an
//! explicit `Unsupported` marker so that `emit` can report every one of them in one error.

mod display;
pub mod fold;
pub mod functions;
mod names;
mod params;
pub mod types;
pub mod visit;

use crate::error::{Error, Result};
pub use functions::{FunctionDef, FunctionKind};
pub use names::{counting_outputs, output_name};

/// A query expression: `[WITH …] body [ORDER BY …] [LIMIT …] [OFFSET …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub with: Option<With>,
    pub body: SetExpr,
    pub order_by: Vec<OrderByItem>,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
    /// Clause-level constructs of this query level that the IR cannot represent
    /// (e.g. `DISTINCT ON`). Never silently dropped: `emit` reports them.
    pub unsupported: Vec<String>,
    /// ClickHouse-only clauses of this query level (`LIMIT n BY`, `SETTINGS`, …): passed
    /// through to ClickHouse, rewritten or rejected for other targets.
    pub clickhouse: ClickHouseClauses,
    /// The grammar and semantics the client wrote the query in. ClickHouse-flavoured
    /// functions outside the catalogue pass through to ClickHouse only.
    pub flavor: Flavor,
    /// ClickHouse `{name:Type}` parameters of the statement (top level only), in the order
    /// of their `$n` numbers, with the IR type when it has one.
    pub named_params: Vec<(String, Option<DataType>)>,
}

/// Which SQL the client speaks; decides grammar (backslash escapes) and function meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// ClickHouse SQL (`SwitchyardDialect`).
    ClickHouse,
    /// PostgreSQL SQL (sqlparser's `PostgreSqlDialect`).
    #[default]
    Postgres,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::ClickHouse => "clickhouse",
            Flavor::Postgres => "postgres",
        }
    }
}

/// ClickHouse clauses kept for pass-through.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClickHouseClauses {
    /// `LIMIT n [OFFSET m] BY exprs`
    pub limit_by: Option<LimitBy>,
    /// `SETTINGS k = v, …` (values as written).
    pub settings: Vec<(String, Expr)>,
    /// `FORMAT name`: never sent to any backend (switchyard picks the wire format), so it
    /// is stripped everywhere; kept only so that EXPLAIN can show it.
    pub format: Option<String>,
}

impl ClickHouseClauses {
    pub fn is_empty(&self) -> bool {
        self.limit_by.is_none() && self.settings.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LimitBy {
    pub limit: Expr,
    pub offset: Option<Expr>,
    pub by: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct With {
    pub recursive: bool,
    pub ctes: Vec<Cte>,
}

/// `name [(columns)] AS (query)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    pub name: String,
    pub columns: Vec<String>,
    pub query: Query,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetExpr {
    Select(Box<Select>),
    /// A parenthesised query with its own ORDER BY / LIMIT, e.g. one side of a UNION.
    Query(Box<Query>),
    SetOperation {
        op: SetOperator,
        /// `UNION ALL` rather than `UNION [DISTINCT]`.
        all: bool,
        left: Box<SetExpr>,
        right: Box<SetExpr>,
    },
    /// A query body the IR cannot represent (`VALUES`, `TABLE t`), named for the error.
    Unsupported(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    Union,
    Intersect,
    Except,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub distinct: bool,
    pub projection: Vec<SelectItem>,
    /// Comma-separated FROM items; each may be a join tree.
    pub from: Vec<TableRef>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    /// ClickHouse `GROUP BY … WITH ROLLUP | CUBE | TOTALS`, in written order.
    pub group_by_modifiers: Vec<GroupByModifier>,
    pub having: Option<Expr>,
}

/// ClickHouse's GROUP BY modifiers. Its rolled-up rows hold the key columns' default values
/// (0, ''), not NULL, and TOTALS is an extra row outside the result set proper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupByModifier {
    Rollup,
    Cube,
    Totals,
}

impl GroupByModifier {
    pub fn keyword(self) -> &'static str {
        match self {
            GroupByModifier::Rollup => "WITH ROLLUP",
            GroupByModifier::Cube => "WITH CUBE",
            GroupByModifier::Totals => "WITH TOTALS",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Expr {
        expr: Expr,
        alias: Option<String>,
    },
    /// `*`
    Wildcard,
    /// `t.*` (the qualifier's parts)
    QualifiedWildcard(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableRef {
    Table {
        name: TableName,
        alias: Option<TableAlias>,
        /// ClickHouse `FROM t FINAL`: read the table deduplicated (ReplacingMergeTree).
        /// Targets without the modifier need the table's dedup rule (`emit::EmitContext`).
        final_modifier: bool,
        /// ClickHouse `SAMPLE k [OFFSET m]`: a deterministic subset by the table's
        /// sampling key, which only ClickHouse has.
        sample: Option<Box<Sample>>,
    },
    Derived {
        query: Box<Query>,
        alias: Option<TableAlias>,
    },
    Join {
        left: Box<TableRef>,
        right: Box<TableRef>,
        kind: JoinKind,
        constraint: JoinConstraint,
        /// ClickHouse `GLOBAL JOIN`: a distribution hint whose meaning (the right side read
        /// in full, not per shard) is what every single-engine target does anyway.
        global: bool,
    },
    /// A FROM item the IR cannot represent, named for the error message.
    Unsupported(String),
}

/// `SAMPLE ratio [OFFSET offset]` (ratio: a fraction, or a row count when > 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub ratio: Expr,
    pub offset: Option<Expr>,
}

/// A table name as written, minus a leading `public.` schema (Postgres clients add it;
/// our backends have no such schema). Other qualifications are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub parts: Vec<String>,
}

impl TableName {
    /// The dotted name, e.g. `t` or `logs.requests`.
    pub fn dotted(&self) -> String {
        self.parts.join(".")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAlias {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JoinConstraint {
    On(Expr),
    Using(Vec<String>),
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderByItem {
    pub expr: Expr,
    pub desc: bool,
    /// `None`: the source dialect's default null ordering.
    pub nulls_first: Option<bool>,
    /// ClickHouse `WITH FILL [FROM a] [TO b] [STEP s]` (query-level ORDER BY only).
    pub fill: Option<Fill>,
}

/// ClickHouse `ORDER BY x WITH FILL`: rows inserted for the missing values of `x` on the
/// grid `from + k·step` (`from` absent: the first value; `to`, exclusive, absent: up to
/// the last value; `step` absent: 1, or 1 second / 1 day for times), their other columns
/// holding their type's default (NULL if Nullable).
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    pub from: Option<Expr>,
    pub to: Option<Expr>,
    pub step: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column(ColumnRef),
    Literal(Literal),
    /// `$n`, 1-based.
    Param(usize),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        left: Box<Expr>,
        op: BinaryOp,
        right: Box<Expr>,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `expr IS [NOT] TRUE|FALSE`
    IsBool {
        expr: Box<Expr>,
        value: bool,
        negated: bool,
    },
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSubquery {
        expr: Box<Expr>,
        query: Box<Query>,
        negated: bool,
        /// ClickHouse `GLOBAL IN`; see `TableRef::Join::global`.
        global: bool,
    },
    /// `left op ANY (array)`
    AnyOp {
        left: Box<Expr>,
        op: BinaryOp,
        array: Box<Expr>,
    },
    Case {
        operand: Option<Box<Expr>>,
        branches: Vec<(Expr, Expr)>,
        else_result: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        ty: DataType,
    },
    /// `EXTRACT(field FROM expr)`; `field` is lower-case (`epoch`, `hour`, …).
    Extract {
        field: String,
        expr: Box<Expr>,
    },
    Function(FunctionCall),
    /// `ARRAY[…]`
    Array(Vec<Expr>),
    /// `expr[index]` (1-based, as in Postgres and DataFusion).
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    Subquery(Box<Query>),
    Exists {
        query: Box<Query>,
        negated: bool,
    },
    /// A ClickHouse lambda `(x, y) -> body`, only ever an argument of a higher-order
    /// function (`arrayMap`, `arrayFilter`, …). Parameters are column-like names in `body`.
    Lambda {
        params: Vec<String>,
        body: Box<Expr>,
    },
    /// A ClickHouse tuple `(a, b)` (`IN` lists of tuples, `tuple()` arguments).
    Tuple(Vec<Expr>),
    /// An expression the IR cannot represent, named for the error message.
    Unsupported(String),
}

/// A column reference; `qualifier` is empty or the table (alias) name, possibly with schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    pub qualifier: Vec<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Minus,
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Plus,
    Minus,
    Multiply,
    Divide,
    Modulo,
    /// `||`
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// `~`, `~*`, `!~`, `!~*`
    RegexMatch,
    RegexIMatch,
    RegexNotMatch,
    RegexNotIMatch,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | NotEq | Lt | LtEq | Gt | GtEq)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    pub func: Func,
    /// ClickHouse parametric-aggregate parameters: `quantile(0.9)(x)` has params `[0.9]`.
    pub params: Vec<Expr>,
    pub args: Vec<Expr>,
    /// `f(*)`; `args` is then empty.
    pub star: bool,
    pub distinct: bool,
    /// Aggregate-internal ordering, `string_agg(x, ',' ORDER BY y)`.
    pub order_by: Vec<OrderByItem>,
    /// `FILTER (WHERE …)`
    pub filter: Option<Box<Expr>>,
    pub over: Option<WindowSpec>,
}

/// Which function is called: a catalogue entry, or a name the catalogue does not know
/// (kept so that a pass-through target could still spell it; other targets reject it).
#[derive(Debug, Clone, PartialEq)]
pub enum Func {
    Known(&'static FunctionDef),
    Anonymous(String),
}

impl Func {
    pub fn name(&self) -> &str {
        match self {
            Func::Known(def) => def.name,
            Func::Anonymous(name) => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<OrderByItem>,
    pub frame: Option<WindowFrame>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowFrame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: Option<FrameBound>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameUnits {
    Rows,
    Range,
    Groups,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FrameBound {
    CurrentRow,
    /// `None`: UNBOUNDED
    Preceding(Option<Box<Expr>>),
    Following(Option<Box<Expr>>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An exact decimal number, kept as its text (`1.50`, `1e3`, `-12345678901234567890`).
    Numeric(String),
    String(String),
    /// A string with a declared type: `DATE '2024-01-01'`, `INTERVAL '1 hour'`, or a
    /// typed bind parameter. The text is interpreted by the backend's cast.
    Typed {
        value: String,
        ty: DataType,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataType {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// `NUMERIC[(precision, scale)]`
    Numeric(Option<(u8, i8)>),
    Text,
    Date,
    Timestamp,
    TimestampTz,
    Uuid,
    Bytea,
    Interval,
    Array(Box<DataType>),
}

impl Query {
    /// Base tables read anywhere in the query (subqueries included), excluding names
    /// that refer to a CTE in scope; deduplicated, in first-seen order, as written.
    pub fn tables(&self) -> Vec<String> {
        let mut collector = visit::TableCollector::default();
        visit::Visitor::visit_query(&mut collector, self);
        collector.tables
    }

    /// The highest `$n` used (0 if none).
    pub fn param_count(&self) -> usize {
        let mut max = 0;
        visit::for_each_expr(self, &mut |e| {
            if let Expr::Param(n) = e {
                max = max.max(*n);
            }
        });
        max
    }

    /// A copy with every `$n` replaced by `params[n - 1]`.
    pub fn bind(&self, params: &[Literal]) -> Result<Query> {
        for p in params {
            if let Literal::Numeric(text) = p {
                if !is_plain_number(text) {
                    return Err(Error::InvalidParameter(format!(
                        "invalid numeric value {text:?}"
                    )));
                }
            }
        }
        // A `{name:Type}` parameter sent as text means a value of its declared type.
        let values: Vec<Expr> = params
            .iter()
            .enumerate()
            .map(|(i, value)| match self.named_params.get(i) {
                Some((name, Some(ty))) => params::typed_value(name, value, ty),
                _ => Ok(Expr::Literal(value.clone())),
            })
            .collect::<Result<_>>()?;
        let mut bound = self.clone();
        let mut missing = None;
        visit::for_each_expr_mut(&mut bound, &mut |e| {
            if let Expr::Param(n) = *e {
                match values.get(n - 1) {
                    Some(value) => *e = value.clone(),
                    None => missing = missing.max(Some(n)),
                }
            }
        });
        fold::intervals(&mut bound);
        // `x IN {list:Array(T)}` means membership in the array, on every backend.
        visit::for_each_expr_mut(&mut bound, &mut |e| {
            if let Expr::InList { list, .. } = e {
                if let [Expr::Array(items)] = list.as_slice() {
                    *list = items.clone();
                }
            }
        });
        match missing {
            Some(n) => Err(Error::InvalidParameter(format!(
                "no value supplied for parameter ${n} ({} given)",
                params.len()
            ))),
            None => Ok(bound),
        }
    }

    /// Output column names by Postgres' rules (unaliased column → its name, function call →
    /// the function's name, CAST → the inner's name, else `?column?`). Duplicates are kept.
    /// `None` if a wildcard is involved, since the names then depend on table schemas.
    pub fn output_names(&self) -> Option<Vec<String>> {
        names::query_output_names(self)
    }
}

/// Whether `text` is a plain decimal number that may be printed into SQL as-is.
pub fn is_plain_number(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(sql: &str) -> Query {
        let statements = crate::sql::parse(sql).unwrap();
        let sqlparser::ast::Statement::Query(q) = &statements[0] else {
            panic!("not a query: {sql}")
        };
        crate::sql::lower_query(q).unwrap()
    }

    #[test]
    fn tables_exclude_ctes_and_dedupe() {
        let cases: &[(&str, &[&str])] = &[
            ("SELECT 1", &[]),
            ("SELECT * FROM public.t", &["t"]),
            (
                "SELECT * FROM logs.Requests r JOIN t USING (id)",
                &["logs.Requests", "t"],
            ),
            (
                "WITH c AS (SELECT * FROM a) SELECT * FROM c JOIN b ON c.x = b.x, a",
                &["a", "b"],
            ),
            (
                "SELECT (SELECT max(x) FROM s) FROM t WHERE y IN (SELECT y FROM u) \
                 AND EXISTS (SELECT 1 FROM t)",
                &["s", "t", "u"],
            ),
            ("SELECT * FROM (SELECT * FROM Inner_T) d", &["Inner_T"]),
            // A CTE name only hides tables inside its scope.
            (
                "SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) d, c",
                &["c"],
            ),
            ("SELECT 1 FROM a UNION SELECT 2 FROM b", &["a", "b"]),
            // Tables stay visible even when a clause around them is unsupported.
            ("SELECT count() FROM events FINAL", &["events"]),
            (
                "WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT n FROM r) SELECT * FROM r",
                &[],
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(lower(sql).tables(), *expected, "{sql}");
        }
    }

    #[test]
    fn param_count_and_bind() {
        let q = lower("SELECT a FROM t WHERE b = $2 AND c IN (SELECT d FROM u WHERE e = $1)");
        assert_eq!(q.param_count(), 2);
        assert_eq!(lower("SELECT 1").param_count(), 0);

        let bound = q
            .bind(&[Literal::Int(7), Literal::String("x'y".into())])
            .unwrap();
        assert_eq!(bound.param_count(), 0);
        assert_eq!(
            bound.to_string(),
            "SELECT a FROM t WHERE ((b = 'x''y') AND (c IN (SELECT d FROM u WHERE (e = 7))))"
        );

        let err = q.bind(&[Literal::Int(1)]).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter(_)), "{err}");
        assert!(err.to_string().contains("$2"), "{err}");

        let err = lower("SELECT $1")
            .bind(&[Literal::Numeric("1; DROP TABLE t".into())])
            .unwrap_err();
        assert!(matches!(err, Error::InvalidParameter(_)), "{err}");
    }

    #[test]
    fn output_names_follow_postgres() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("SELECT a, t.b, c AS x FROM t", Some(&["a", "b", "x"])),
            (
                "SELECT count(*), COUNT(a), sum(b), 1, a + 1, 'x' FROM t",
                Some(&["count", "count", "sum", "?column?", "?column?", "?column?"]),
            ),
            (
                "SELECT CAST(a AS int), b::text, 1::int8, '1'::text, (a), -a FROM t",
                Some(&["a", "b", "int8", "text", "a", "?column?"]),
            ),
            (
                "SELECT CASE WHEN a THEN 1 END, ARRAY[1], a[1], EXISTS (SELECT 1), \
                 (SELECT max(x) FROM u), EXTRACT(hour FROM ts), DATE '2024-01-01', now() FROM t",
                Some(&[
                    "case", "array", "a", "exists", "max", "extract", "date", "now",
                ]),
            ),
            (
                "SELECT trim(s), substring(s FROM 2), current_date FROM t",
                Some(&["btrim", "substring", "current_date"]),
            ),
            (
                "SELECT row_number() OVER (ORDER BY a) FROM t",
                Some(&["row_number"]),
            ),
            ("SELECT a FROM t UNION SELECT b AS z FROM u", Some(&["a"])),
            ("WITH c AS (SELECT 1) SELECT x.y FROM c x", Some(&["y"])),
            ("SELECT * FROM t", None),
            ("SELECT a, t.* FROM t", None),
        ];
        for (sql, expected) in cases {
            let expected = expected.map(|names| names.iter().map(|n| n.to_string()).collect());
            assert_eq!(lower(sql).output_names(), expected, "{sql}");
        }
    }

    #[test]
    fn display_is_a_stable_neutral_dump() {
        let q = lower(
            "WITH c (k) AS (SELECT a FROM public.t) \
             SELECT DISTINCT k, count(DISTINCT v) FILTER (WHERE v > 0) AS n \
             FROM c LEFT JOIN \"Other\" o ON c.k = o.k \
             WHERE k::text ILIKE $1 AND ts >= now() - INTERVAL '1 hour' \
             GROUP BY 1 HAVING count(*) > 1 ORDER BY n DESC NULLS LAST LIMIT 10 OFFSET 5",
        );
        assert_eq!(
            q.to_string(),
            "WITH c (k) AS (SELECT a FROM t) \
             SELECT DISTINCT k, count(DISTINCT v) FILTER (WHERE (v > 0)) AS n \
             FROM c LEFT JOIN \"Other\" AS o ON (c.k = o.k) \
             WHERE ((CAST(k AS text) ILIKE $1) AND (ts >= (now() - INTERVAL '1 hour'))) \
             GROUP BY 1 HAVING (count(*) > 1) ORDER BY n DESC NULLS LAST LIMIT 10 OFFSET 5"
        );
    }

    #[test]
    fn plain_numbers() {
        for ok in ["0", "-1", "1.5", ".5", "5.", "1e10", "1.5E-3", "-0.0e+1"] {
            assert!(is_plain_number(ok), "{ok}");
        }
        for bad in [
            "", "-", ".", "e5", "1e", "1..2", "1 ", "NaN", "0x10", "1;", "--1",
        ] {
            assert!(!is_plain_number(bad), "{bad}");
        }
    }
}
