//! Catalog emulation: pg_catalog, information_schema and the catalog functions clients
//! call (`version()`, `current_setting`, `format_type`, `::regclass`, …), answered by an
//! embedded DataFusion context that datafusion-pg-catalog fills from the routed tables
//! of every backend. It never reaches a backend and never sees a socket; the frontend
//! decides (with `Catalog::claims`) which statements come here.

pub mod functions;
mod information_schema;
mod routed;
mod session_tables;
mod switchyard;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    SchemaProvider,
};
use datafusion::common::ParamValues;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{create_udf, ColumnarValue, LogicalPlan, Volatility};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArguments, GroupByExpr, Ident, OrderByKind, Query, SelectItem, SetExpr,
    Statement, Value, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    setup_pg_catalog, PgCatalogSchemaProvider, PgCatalogStaticTables, PG_CATALOG_TABLES,
};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use futures::StreamExt;

use crate::backend::ResultStream;
use crate::engine::Engine;
use crate::error::{Error, Result};
pub use functions::SessionView;
pub use information_schema::{data_type_spelling, pg_type};
use routed::RoutedTables;
pub use routed::DATABASE;

/// Functions whose call makes a statement a catalog statement.
const CATALOG_FUNCTIONS: &[&str] = &[
    "version",
    "current_setting",
    "current_schema",
    "current_schemas",
    "current_database",
    "format_type",
    "pg_get_userbyid",
    "pg_table_is_visible",
    "pg_type_is_visible",
    "pg_function_is_visible",
    "quote_ident",
    "parse_ident",
    "pg_get_expr",
    "pg_get_constraintdef",
    "pg_get_indexdef",
    "pg_get_viewdef",
    "pg_get_keywords",
    "pg_encoding_to_char",
    "pg_backend_pid",
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "has_any_column_privilege",
    "obj_description",
    "col_description",
    "shobj_description",
    "pg_relation_size",
    "pg_total_relation_size",
    "pg_table_size",
    "pg_indexes_size",
    "pg_size_pretty",
    "pg_is_in_recovery",
    "to_regtype",
];

/// Casts to these types name catalog objects (`'t'::regclass`, `oid::regtype`).
const OID_TYPES: &[&str] = &[
    "regclass",
    "regtype",
    "regproc",
    "regprocedure",
    "regnamespace",
    "regoper",
    "regrole",
];

/// Grafana's "schemas on the search_path" subquery. DataFusion cannot run it (scalar
/// functions in FROM); datafusion-pg-catalog blanks it out, which empties Grafana's
/// column list, so we replace it by the schemas it would name.
const GRAFANA_SEARCH_PATH: &str = r#"SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
        FROM
            generate_series(
                array_lower(string_to_array(current_setting('search_path'),','),1),
                array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s"#;

/// One statement of a catalog query string: a query for the catalog context, or
/// something else (SET, BEGIN, …) for the frontend's own hooks, as SQL text.
pub enum Piece {
    Query(Box<Statement>),
    Other(String),
}

/// A catalog statement planned at Parse time: its result columns and `$n` types.
pub struct Described {
    pub schema: SchemaRef,
    pub parameter_types: Vec<Option<DataType>>,
}

pub struct Catalog {
    /// pg_catalog, information_schema and the session-independent functions; each
    /// statement runs in a copy with the session's own functions added.
    state: SessionState,
    parser: PostgresCompatibilityParser,
    tables: RoutedTables,
    /// OIDs are handed out on first sight; listing pg_class once, in sorted order,
    /// makes them the same on every start with the same tables.
    primed: tokio::sync::OnceCell<()>,
    grafana_search_path: Vec<Token>,
}

impl Catalog {
    pub fn new(engine: Arc<Engine>) -> Result<Catalog> {
        let tables = RoutedTables::new(engine.clone());
        let config = SessionConfig::new()
            .with_default_catalog_and_schema(DATABASE, routed::PUBLIC)
            .with_information_schema(false);
        let ctx = SessionContext::new_with_config(config);
        setup_pg_catalog(&ctx, DATABASE, EmptyContextProvider).map_err(|e| Error::internal(*e))?;
        let static_tables = Arc::new(PgCatalogStaticTables::try_new().map_err(Error::internal)?);
        ctx.register_udf(functions::to_regtype(type_oids(&static_tables)));
        let pg_catalog =
            PgCatalogSchemaProvider::try_new(tables.clone(), static_tables, EmptyContextProvider)
                .map_err(Error::internal)?;
        let database = ctx
            .catalog(DATABASE)
            .ok_or_else(|| Error::internal("catalog database missing"))?;
        database
            .register_schema("pg_catalog", Arc::new(pg_catalog))
            .map_err(Error::internal)?;
        database
            .register_schema(
                "information_schema",
                Arc::new(information_schema::InformationSchema::new(tables.clone())),
            )
            .map_err(Error::internal)?;
        database
            .register_schema(
                switchyard::SCHEMA,
                Arc::new(switchyard::SwitchyardSchema { engine }),
            )
            .map_err(Error::internal)?;
        ctx.register_udf(functions::version());
        ctx.register_udf(functions::quote_ident());
        ctx.register_udf(functions::pg_size_pretty());
        for udf in functions::unknown_sizes() {
            ctx.register_udf(udf);
        }
        for name in [
            "obj_description",
            "col_description",
            "shobj_description",
            "pg_get_function_result",
            "pg_get_function_arguments",
            "pg_get_function_identity_arguments",
            "pg_get_viewdef",
            "pg_get_indexdef",
            "pg_get_serial_sequence",
            // Only reached (by SQLAlchemy) for identity columns and non-default
            // collations, which routed tables never have.
            "json_build_object",
        ] {
            ctx.register_udf(fixed(name, ScalarValue::Utf8(None)));
        }
        for name in [
            "pg_function_is_visible",
            "pg_type_is_visible",
            "pg_collation_is_visible",
        ] {
            ctx.register_udf(fixed(name, ScalarValue::from(true)));
        }
        ctx.register_udf(create_udf(
            "pg_is_in_recovery",
            vec![],
            DataType::Boolean,
            Volatility::Stable,
            Arc::new(|_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(ScalarValue::from(false)))),
        ));
        Ok(Catalog {
            state: ctx.state(),
            parser: PostgresCompatibilityParser::new(),
            tables,
            primed: tokio::sync::OnceCell::new(),
            grafana_search_path: significant(&tokenize(GRAFANA_SEARCH_PATH).unwrap_or_default())
                .into_iter()
                .map(|(_, t)| t.clone())
                .collect(),
        })
    }

    /// Is `sql` a catalog query? It is when it reads a pg_catalog or
    /// information_schema relation, calls a catalog function or casts to an oid alias
    /// type. A statement that also reads a routed table is refused: the catalog
    /// cannot join backend data.
    pub fn claims(&self, sql: &str) -> Result<bool> {
        let Ok(tokens) = tokenize(sql) else {
            return Ok(false);
        };
        let tokens = significant(&tokens);
        let word = |i: usize| match tokens.get(i).map(|(_, t)| *t) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        };
        let is = |i: usize, token: Token| tokens.get(i).is_some_and(|(_, t)| **t == token);
        let mut catalog = false;
        let mut names = Vec::new();
        for i in 0..tokens.len() {
            let Some(w) = word(i) else { continue };
            let name = w.value.to_ascii_lowercase();
            let qualified = i > 0 && is(i - 1, Token::Period);
            let unquoted = w.quote_style.is_none();
            let n = name.as_str();
            // `switchyard.shadow_report`, `switchyard.routes`: switchyard's own tables.
            let own_table = n == switchyard::SCHEMA
                && is(i + 1, Token::Period)
                && word(i + 2).is_some_and(|t| {
                    switchyard::TABLES.contains(&t.value.to_ascii_lowercase().as_str())
                });
            let marks_catalog = own_table
                || n == "pg_catalog"
                || n == "information_schema"
                || (unquoted
                    && (PG_CATALOG_TABLES.contains(&n)
                        || (CATALOG_FUNCTIONS.contains(&n) && is(i + 1, Token::LParen))
                        || (OID_TYPES.contains(&n) && i > 0 && is(i - 1, Token::DoubleColon))
                        || (n == "operator" && is(i + 1, Token::LParen))
                        || matches!(n, "current_user" | "session_user")));
            if marks_catalog {
                catalog = true;
            } else if !qualified {
                names.push(&w.value);
            }
        }
        // Only a catalog query pays for listing the routed tables.
        let routed = if catalog {
            let tables = self.tables.snapshot();
            names
                .into_iter()
                .find(|n| tables.keys().any(|t| t.eq_ignore_ascii_case(n)))
        } else {
            None
        };
        match (catalog, routed) {
            (true, Some(table)) => Err(Error::unsupported(
                format!(
                    "a query that reads both catalog relations and the routed table \"{table}\" \
                     (catalog queries are answered locally)"
                ),
                "switchyard",
            )),
            (catalog, _) => Ok(catalog),
        }
    }

    /// Splits a catalog query string into statements.
    pub fn split(&self, sql: &str, view: &SessionView) -> Result<Vec<Piece>> {
        let statements = self.parse(sql, view)?;
        Ok(statements
            .into_iter()
            .map(|statement| match statement {
                Statement::Query(_) => Piece::Query(Box::new(statement)),
                other => Piece::Other(other.to_string()),
            })
            .collect())
    }

    /// Plans a single catalog statement (an extended-protocol Parse).
    pub async fn describe(&self, sql: &str, view: &SessionView) -> Result<Described> {
        let statement = self.single(sql, view)?;
        let (_, plan) = self
            .plan(statement, view, sql)
            .await
            .map_err(|e| failed(sql, e))?;
        let types = plan.get_parameter_types().map_err(|e| failed(sql, e))?;
        let parameter_types = (1..=types.len())
            .map(|i| types.get(&format!("${i}")).cloned().flatten())
            .collect();
        Ok(Described {
            schema: Arc::new(plan.schema().as_arrow().clone()),
            parameter_types,
        })
    }

    /// Runs a single catalog statement with bound parameters (an extended Execute).
    pub async fn execute_text(
        &self,
        sql: &str,
        view: &SessionView,
        params: Option<ParamValues>,
    ) -> Result<ResultStream> {
        let statement = self.single(sql, view)?;
        self.execute(statement, view, params, sql).await
    }

    /// Runs one statement from `split`; `sql` is the client's text, for errors.
    pub async fn execute(
        &self,
        statement: Statement,
        view: &SessionView,
        params: Option<ParamValues>,
        sql: &str,
    ) -> Result<ResultStream> {
        let stream = match self
            .stream(statement.clone(), view, params.clone(), sql)
            .await
        {
            Err(e) if e.to_string().to_ascii_lowercase().contains("subquery") => {
                // DataFusion cannot decorrelate a subquery inside CASE, nor some in
                // result columns. Tools' metadata queries use those to look up column
                // defaults, identities, collations and comments, which routed tables
                // never have: NULL is their answer here (datafusion-pg-catalog answers
                // every correlated result-column subquery so).
                let mut statement = statement;
                let _ = statement.visit(&mut NullSubqueriesInCase::default());
                let _ = statement.visit(&mut NullProjectionSubqueries);
                tracing::info!(query = sql, "catalog: correlated subqueries answered NULL");
                self.stream(statement, view, params, sql).await
            }
            other => other,
        }
        .map_err(|e| failed(sql, e))?;
        let schema = stream.schema();
        let query = sql.to_owned();
        let batches = stream.map(move |batch| batch.map_err(|e| failed(&query, e)));
        Ok(ResultStream {
            schema,
            batches: Box::pin(batches),
        })
    }

    async fn stream(
        &self,
        statement: Statement,
        view: &SessionView,
        params: Option<ParamValues>,
        sql: &str,
    ) -> Result<datafusion::execution::SendableRecordBatchStream, DataFusionError> {
        let (ctx, plan) = self.plan(statement, view, sql).await?;
        let plan = match params {
            Some(params) => plan.with_param_values(params)?,
            None => plan,
        };
        ctx.execute_logical_plan(plan).await?.execute_stream().await
    }

    fn single(&self, sql: &str, view: &SessionView) -> Result<Statement> {
        let mut statements = self.parse(sql, view)?;
        if statements.len() != 1 {
            return Err(Error::Syntax {
                message: "cannot insert multiple commands into a prepared statement".into(),
                position: None,
            });
        }
        Ok(statements.remove(0))
    }

    fn parse(&self, sql: &str, view: &SessionView) -> Result<Vec<Statement>> {
        let sql = self.fill_search_path(sql, view);
        let sql = self.own_rewrites(&sql, view).unwrap_or(sql);
        let mut statements = self.parser.parse(&sql).map_err(|e| Error::Syntax {
            message: e.to_string(),
            position: None,
        })?;
        // Names come from the statement as written: the compatibility rules rename some
        // calls (`current_user` becomes `session_user`), which Postgres would not show.
        let written = Parser::parse_sql(&PostgreSqlDialect {}, &sql).unwrap_or_default();
        for (i, statement) in statements.iter_mut().enumerate() {
            if let Statement::Query(query) = statement {
                let names = match written.get(i) {
                    Some(Statement::Query(original)) => output_names(&original.body),
                    _ => None,
                };
                name_columns(&mut query.body, names);
                let _ = query.visit(&mut ArraySubqueries);
                let _ = query.visit(&mut AggregateScalarSubqueries);
            }
        }
        Ok(statements)
    }

    /// Our rewrites of the statement text before the compatibility parser's
    /// (`regclass_as_names`, `protect_projection_subqueries`), unless that parser's
    /// blacklist replaces the whole query with a stand-in: its entries match the
    /// client's exact tokens, which re-rendered text would no longer have.
    fn own_rewrites(&self, sql: &str, view: &SessionView) -> Option<String> {
        let named = regclass_as_names(sql, &search_path_schemas(view));
        let protected = protect_projection_subqueries(named.as_deref().unwrap_or(sql));
        let rewritten = protected.or(named)?;
        let plain = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
        let by_rules: Vec<Statement> = plain.into_iter().map(|s| self.parser.rewrite(s)).collect();
        let blacklisted = self
            .parser
            .parse(sql)
            .is_ok_and(|parsed| parsed != by_rules);
        (!blacklisted).then_some(rewritten)
    }

    async fn plan(
        &self,
        statement: Statement,
        view: &SessionView,
        sql: &str,
    ) -> Result<(SessionContext, LogicalPlan), DataFusionError> {
        self.prime().await;
        let ctx = SessionContext::new_with_state(self.session_state(view)?);
        ctx.register_udf(functions::current_setting(view));
        for udf in functions::users(view) {
            ctx.register_udf(udf);
        }
        let plan = ctx
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(statement)))
            .await?;
        let _ = sql;
        Ok((ctx, plan))
    }

    /// The shared state with a catalog list of this statement's own, whose pg_catalog
    /// shows the session's settings in pg_settings.
    fn session_state(&self, view: &SessionView) -> Result<SessionState, DataFusionError> {
        let shared = self
            .state
            .catalog_list()
            .catalog(DATABASE)
            .ok_or_else(|| DataFusionError::Internal("catalog database missing".into()))?;
        let database = MemoryCatalogProvider::new();
        for name in shared.schema_names() {
            let Some(schema) = shared.schema(&name) else {
                continue;
            };
            let schema: Arc<dyn SchemaProvider> = if name == "pg_catalog" {
                Arc::new(session_tables::SessionPgCatalog {
                    shared: schema,
                    view: view.clone(),
                })
            } else {
                schema
            };
            database.register_schema(&name, schema)?;
        }
        let catalogs = MemoryCatalogProviderList::new();
        catalogs.register_catalog(DATABASE.to_owned(), Arc::new(database));
        Ok(SessionStateBuilder::new_from_existing(self.state.clone())
            .with_catalog_list(Arc::new(catalogs))
            .build())
    }

    async fn prime(&self) {
        self.primed
            .get_or_init(|| async {
                let ctx = SessionContext::new_with_state(self.state.clone());
                let listed = async {
                    ctx.sql("SELECT count(*) FROM pg_catalog.pg_class")
                        .await?
                        .collect()
                        .await
                };
                if let Err(e) = listed.await {
                    tracing::warn!(error = %e, "listing pg_class to assign OIDs failed");
                }
            })
            .await;
    }

    /// Replaces Grafana's search_path subquery by the list of schemas it names.
    fn fill_search_path(&self, sql: &str, view: &SessionView) -> String {
        let Ok(tokens) = tokenize(sql) else {
            return sql.to_owned();
        };
        let pattern = &self.grafana_search_path;
        let significant = significant(&tokens);
        if pattern.is_empty() || significant.len() < pattern.len() {
            return sql.to_owned();
        }
        let Some(start) = (0..=significant.len() - pattern.len()).find(|&s| {
            significant[s..s + pattern.len()]
                .iter()
                .zip(pattern)
                .all(|((_, t), p)| *t == p)
        }) else {
            return sql.to_owned();
        };
        let (from, to) = (
            significant[start].0,
            significant[start + pattern.len() - 1].0,
        );
        let schemas = search_path_schemas(view)
            .iter()
            .map(|s| format!("'{}'", s.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        let mut out = render(&tokens[..from]);
        out.push_str(&schemas);
        out.push_str(&render(&tokens[to + 1..]));
        // The pattern may occur more than once (Grafana repeats it in ORDER BY).
        self.fill_search_path(&out, view)
    }
}

/// pg_type.typname → oid, from the pg_type rows datafusion-pg-catalog ships.
fn type_oids(tables: &PgCatalogStaticTables) -> BTreeMap<String, i32> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;
    let mut oids = BTreeMap::new();
    for batch in tables.pg_type.data() {
        let (Some(names), Some(ids)) =
            (batch.column_by_name("typname"), batch.column_by_name("oid"))
        else {
            continue;
        };
        let (Ok(names), Ok(ids)) = (
            arrow::compute::cast(names, &DataType::Utf8),
            arrow::compute::cast(ids, &DataType::Int32),
        ) else {
            continue;
        };
        let (names, ids) = (names.as_string::<i32>(), ids.as_primitive::<Int32Type>());
        for row in 0..batch.num_rows() {
            if !names.is_null(row) && !ids.is_null(row) {
                oids.insert(names.value(row).to_owned(), ids.value(row));
            }
        }
    }
    oids
}

/// Wraps the one column of an unaggregated scalar subquery in `max()`: DataFusion
/// plans a correlated scalar subquery only when it is aggregated. Exact, since a
/// scalar subquery yields at most one row (Postgres raises an error otherwise); used
/// by SQLAlchemy's column reflection (`CASE WHEN … THEN (SELECT … WHERE oid = a.x)`).
struct AggregateScalarSubqueries;

impl VisitorMut for AggregateScalarSubqueries {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::Subquery(query) = expr else {
            return ControlFlow::Continue(());
        };
        if query.limit_clause.is_some() || query.order_by.is_some() || query.fetch.is_some() {
            return ControlFlow::Continue(());
        }
        let SetExpr::Select(select) = query.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
        if grouped || select.projection.len() != 1 || select.from.is_empty() {
            return ControlFlow::Continue(());
        }
        let item = match &mut select.projection[0] {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => return ControlFlow::Continue(()),
        };
        let text = item.to_string().to_ascii_lowercase();
        let aggregated = [
            "count(",
            "sum(",
            "max(",
            "min(",
            "avg(",
            "_agg(",
            "bool_and(",
            "bool_or(",
        ]
        .iter()
        .any(|f| text.contains(f));
        if aggregated {
            return ControlFlow::Continue(());
        }
        let wrapped = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(&format!("max({item})"))
            .and_then(|mut p| p.parse_expr());
        if let Ok(wrapped) = wrapped {
            *item = wrapped;
        }
        ControlFlow::Continue(())
    }
}

/// Rewrites `ARRAY(SELECT e FROM … [ORDER BY o])`, which DataFusion cannot plan, into
/// the scalar subquery `(SELECT coalesce(array_agg(e ORDER BY o), <empty>) FROM …)`:
/// the same array, in the same order, and `{}` (not NULL) when no row matches, as
/// Postgres gives (psql's `\du` reads role memberships this way).
struct ArraySubqueries;

impl VisitorMut for ArraySubqueries {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::Function(function) = expr else {
            return ControlFlow::Continue(());
        };
        if !function.name.to_string().eq_ignore_ascii_case("array") {
            return ControlFlow::Continue(());
        }
        let FunctionArguments::Subquery(query) = &function.args else {
            return ControlFlow::Continue(());
        };
        if let Some(rewritten) = array_of_subquery(query) {
            *expr = rewritten;
        }
        ControlFlow::Continue(())
    }
}

fn array_of_subquery(query: &Query) -> Option<Expr> {
    let mut query = query.clone();
    if query.limit_clause.is_some() || query.fetch.is_some() || query.with.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let ungrouped = matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if !ungrouped || select.distinct.is_some() || select.projection.len() != 1 {
        return None;
    }
    let item = match &select.projection[0] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
        _ => return None,
    };
    let mut order = Vec::new();
    if let Some(order_by) = query.order_by.take() {
        let OrderByKind::Expressions(keys) = order_by.kind else {
            return None;
        };
        for mut key in keys {
            // `ORDER BY 1` names the output column; inside the aggregate it would be a constant.
            if let Expr::Value(v) = &key.expr {
                if v.value == Value::Number("1".into(), false) {
                    key.expr = item.clone();
                } else {
                    return None;
                }
            }
            order.push(key.to_string());
        }
    }
    let order = if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.join(", "))
    };
    let aggregate = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&format!("coalesce(array_agg({item}{order}), make_array())"))
        .and_then(|mut p| p.parse_expr())
        .ok()?;
    select.projection = vec![SelectItem::UnnamedExpr(aggregate)];
    Some(Expr::Subquery(Box::new(query)))
}

/// A regclass value that is shown (a result column) or turned into text prints as the
/// relation's name in Postgres, schema-qualified when the search path does not reach
/// it, quoted where needed. datafusion-pg-catalog turns every `::regclass` into the
/// OID; this rewrites those two uses into a lookup of the name first (the OID itself
/// when no relation has it, as Postgres prints). Returns the statements to parse
/// instead, if any changed.
fn regclass_as_names(sql: &str, search_path: &[String]) -> Option<String> {
    if !sql.to_ascii_lowercase().contains("regclass") {
        return None;
    }
    let mut names = RegclassNames {
        search_path: search_path.to_vec(),
        changed: false,
    };
    rewritten_text(sql, &mut names, |names| names.changed)
}

/// `sql` re-rendered after `visitor` rewrote it, or None where `changed` says it did not.
fn rewritten_text<V: VisitorMut>(
    sql: &str,
    visitor: &mut V,
    changed: impl Fn(&V) -> bool,
) -> Option<String> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    for statement in &mut statements {
        let _ = statement.visit(visitor);
    }
    changed(visitor).then(|| {
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

struct RegclassNames {
    search_path: Vec<String>,
    changed: bool,
}

fn is_cast_to(data_type: &datafusion::sql::sqlparser::ast::DataType, names: &[&str]) -> bool {
    let text = data_type.to_string().to_ascii_lowercase();
    let text = text.strip_prefix("pg_catalog.").unwrap_or(&text);
    names.contains(&text)
}

/// `x` when `expr` is `x::regclass`.
fn regclass_operand(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Cast {
            expr, data_type, ..
        } if is_cast_to(data_type, &["regclass"]) => Some(expr),
        _ => None,
    }
}

impl RegclassNames {
    /// The name lookup for the relation whose OID is `operand::regclass`.
    fn name_of(&self, operand: &Expr) -> Option<Expr> {
        let visible: Vec<String> = std::iter::once("pg_catalog".to_owned())
            .chain(self.search_path.iter().cloned())
            .map(|schema| format!("n.nspname = '{}'", schema.replace('\'', "''")))
            .collect();
        let operand = match operand {
            Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                operand.to_string()
            }
            _ => format!("({operand})"),
        };
        let oid = format!("CAST({operand}::regclass AS OID)");
        let sql = format!(
            "coalesce((SELECT CASE WHEN {visible} THEN quote_ident(c.relname) \
             ELSE quote_ident(n.nspname) || '.' || quote_ident(c.relname) END \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = {oid}), CAST({oid} AS TEXT))",
            visible = visible.join(" OR ")
        );
        Parser::new(&PostgreSqlDialect {})
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_expr())
            .ok()
    }

    /// Postgres' name for a result column `expr` (a cast names it after its operand's
    /// column, else after the type).
    fn column_name(expr: &Expr, type_name: &str) -> String {
        match expr {
            Expr::Identifier(i) => i.value.clone(),
            Expr::CompoundIdentifier(parts) => parts
                .last()
                .map_or_else(|| type_name.to_owned(), |i| i.value.clone()),
            Expr::Cast { expr, .. } => Self::column_name(expr, type_name),
            _ => type_name.to_owned(),
        }
    }
}

impl VisitorMut for RegclassNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        // Shown: a result column that is `x::regclass` itself.
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                let (expr, alias) = match item {
                    SelectItem::UnnamedExpr(expr) => (expr.clone(), None),
                    SelectItem::ExprWithAlias { expr, alias } => {
                        (expr.clone(), Some(alias.clone()))
                    }
                    _ => continue,
                };
                // `x::regclass::text` as a column: rewritten below, named here.
                if let (
                    None,
                    Expr::Cast {
                        expr: inner,
                        data_type,
                        ..
                    },
                ) = (&alias, &expr)
                {
                    if let Some(operand) = regclass_operand(inner) {
                        let type_name = data_type.to_string().to_ascii_lowercase();
                        let alias = Ident::with_quote('"', Self::column_name(operand, &type_name));
                        *item = SelectItem::ExprWithAlias { expr, alias };
                        continue;
                    }
                }
                let Some(operand) = regclass_operand(&expr) else {
                    continue;
                };
                let Some(name) = self.name_of(operand) else {
                    continue;
                };
                let alias = alias.unwrap_or_else(|| {
                    Ident::with_quote('"', Self::column_name(operand, "regclass"))
                });
                *item = SelectItem::ExprWithAlias { expr: name, alias };
                self.changed = true;
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // Turned into text: `x::regclass::text` (or varchar, name).
        let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        else {
            return ControlFlow::Continue(());
        };
        if !is_cast_to(data_type, &["text", "varchar", "character varying", "name"]) {
            return ControlFlow::Continue(());
        }
        let Some(operand) = regclass_operand(inner) else {
            return ControlFlow::Continue(());
        };
        if let Some(name) = self.name_of(operand) {
            **inner = name;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}

/// datafusion-pg-catalog answers every correlated subquery in a result column with
/// NULL, wrong whenever the subquery would find a row (`(SELECT nspname FROM
/// pg_namespace WHERE oid = c.relnamespace)`). Wrapping such a subquery in
/// parentheses hides it from that rule; DataFusion then runs it (after
/// `AggregateScalarSubqueries`). Returns the statements to parse instead, if any
/// changed.
fn protect_projection_subqueries(sql: &str) -> Option<String> {
    let mut protect = ProtectProjectionSubqueries { changed: false };
    rewritten_text(sql, &mut protect, |protect| protect.changed)
}

struct ProtectProjectionSubqueries {
    changed: bool,
}

impl VisitorMut for ProtectProjectionSubqueries {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item
                {
                    if matches!(expr, Expr::Subquery(_)) {
                        *expr = Expr::Nested(Box::new(expr.clone()));
                        self.changed = true;
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Replaces the correlated result-column subqueries `ProtectProjectionSubqueries`
/// kept by NULL (see `Catalog::execute`).
struct NullProjectionSubqueries;

impl VisitorMut for NullProjectionSubqueries {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item
                {
                    let correlated = match expr {
                        Expr::Nested(inner) => match inner.as_ref() {
                            Expr::Subquery(subquery) => refers_outside(subquery),
                            _ => false,
                        },
                        _ => false,
                    };
                    if correlated {
                        *expr = Expr::Value(datafusion::sql::sqlparser::ast::Value::Null.into());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether a subquery names a table qualifier (`c.oid`) that its own FROM does not
/// define: a correlated subquery. (Unqualified outer references go unseen.)
fn refers_outside(subquery: &Query) -> bool {
    use datafusion::sql::sqlparser::ast::{TableFactor, Visit, Visitor};
    struct Names {
        defined: Vec<String>,
        used: Vec<String>,
    }
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, alias, .. } = factor {
                if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
                    self.defined.push(last.value.to_ascii_lowercase());
                }
                if let Some(alias) = alias {
                    self.defined.push(alias.name.value.to_ascii_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::CompoundIdentifier(parts) = expr {
                if parts.len() >= 2 {
                    self.used
                        .push(parts[parts.len() - 2].value.to_ascii_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut names = Names {
        defined: Vec::new(),
        used: Vec::new(),
    };
    let _ = subquery.visit(&mut names);
    names.used.iter().any(|q| !names.defined.contains(q))
}

/// Replaces every subquery inside a CASE expression by NULL (see `Catalog::execute`).
#[derive(Default)]
struct NullSubqueriesInCase {
    depth: usize,
}

impl VisitorMut for NullSubqueriesInCase {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            Expr::Case { .. } => self.depth += 1,
            Expr::Subquery(_) if self.depth > 0 => {
                *expr = Expr::Value(datafusion::sql::sqlparser::ast::Value::Null.into())
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if matches!(expr, Expr::Case { .. }) {
            self.depth -= 1;
        }
        ControlFlow::Continue(())
    }
}

/// Names unnamed result columns as Postgres does (`current_schema`, `?column?`)
/// rather than as DataFusion does (`current_schema()`), where that keeps names unique.
fn name_columns(body: &mut SetExpr, written: Option<Vec<Option<String>>>) {
    let select = match body {
        SetExpr::Select(select) => select,
        SetExpr::SetOperation { left, .. } => return name_columns(left, written),
        _ => return,
    };
    let names = match written {
        Some(names) if names.len() == select.projection.len() => names,
        _ => projection_names(&select.projection),
    };
    let taken: Vec<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(i.value.clone()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                parts.last().map(|i| i.value.clone())
            }
            _ => None,
        })
        .collect();
    for (item, name) in select.projection.iter_mut().zip(&names) {
        let Some(name) = name else { continue };
        let unique =
            names.iter().filter(|n| n.as_ref() == Some(name)).count() == 1 && !taken.contains(name);
        if let (true, SelectItem::UnnamedExpr(expr)) = (unique, &*item) {
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: Ident::with_quote('"', name.clone()),
            };
        }
    }
}

/// The Postgres names of a query's unaliased output columns (`None` where it keeps the
/// expression's own name), from its left-most SELECT.
fn output_names(body: &SetExpr) -> Option<Vec<Option<String>>> {
    match body {
        SetExpr::Select(select) => Some(projection_names(&select.projection)),
        SetExpr::SetOperation { left, .. } => output_names(left),
        _ => None,
    }
}

fn projection_names(projection: &[SelectItem]) -> Vec<Option<String>> {
    projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => postgres_name(expr),
            _ => None,
        })
        .collect()
}

fn postgres_name(expr: &Expr) -> Option<String> {
    match expr {
        // A special register written bare is a function call to Postgres.
        Expr::Identifier(i)
            if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("current_schema") =>
        {
            Some("current_schema".to_owned())
        }
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
        Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .map(|ident| ident.value.to_ascii_lowercase()),
        Expr::Nested(inner) => postgres_name(inner),
        // A scalar subquery takes its one result column's name.
        Expr::Subquery(query) => Some(match query.body.as_ref() {
            SetExpr::Select(select) if select.projection.len() == 1 => {
                match &select.projection[0] {
                    SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                    SelectItem::UnnamedExpr(Expr::Identifier(i)) => i.value.clone(),
                    SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts
                        .last()
                        .map_or_else(|| "?column?".to_owned(), |i| i.value.clone()),
                    SelectItem::UnnamedExpr(other) => {
                        postgres_name(other).unwrap_or_else(|| "?column?".to_owned())
                    }
                    _ => "?column?".to_owned(),
                }
            }
            _ => "?column?".to_owned(),
        }),
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Function(_) | Expr::Nested(_) => postgres_name(expr),
            _ => None,
        },
        _ => Some("?column?".to_owned()),
    }
}

/// The schemas `search_path` names, `"$user"` replaced by the session's user.
fn search_path_schemas(view: &SessionView) -> Vec<String> {
    let path = view
        .settings
        .get("search_path")
        .map(String::as_str)
        .unwrap_or("public");
    path.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "\"$user\"" {
                view.user.clone()
            } else {
                s.trim_matches('"').to_owned()
            }
        })
        .collect()
}

fn tokenize(sql: &str) -> Result<Vec<Token>, ()> {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|_| ())
}

/// Tokens other than whitespace and comments, with their index in `tokens`.
fn significant(tokens: &[Token]) -> Vec<(usize, &Token)> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t, Token::Whitespace(_)))
        .collect()
}

/// Tokens back to SQL text (string literals re-escaped, which Token's Display skips).
fn render(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::SingleQuotedString(s) => format!("'{}'", s.replace('\'', "''")),
            other => other.to_string(),
        })
        .collect()
}

/// A function of any arguments that always answers `value`: for catalog facts we
/// have none of (comments, function signatures) or that are always so (visibility).
fn fixed(name: &str, value: ScalarValue) -> datafusion::logical_expr::ScalarUDF {
    use datafusion::logical_expr::{ScalarUDF, Signature};
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct Fixed {
        name: String,
        value: ScalarValue,
        signature: Signature,
    }
    impl datafusion::logical_expr::ScalarUDFImpl for Fixed {
        fn name(&self) -> &str {
            &self.name
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
            Ok(self.value.data_type())
        }
        fn invoke_with_args(
            &self,
            _: datafusion::logical_expr::ScalarFunctionArgs,
        ) -> datafusion::error::Result<ColumnarValue> {
            Ok(ColumnarValue::Scalar(self.value.clone()))
        }
    }
    ScalarUDF::new_from_impl(Fixed {
        name: name.to_owned(),
        value,
        signature: Signature::variadic_any(Volatility::Stable),
    })
}

/// A catalog statement DataFusion could not answer: a clear error, and a log line
/// naming the query so the gap can be filled.
fn failed(sql: &str, error: datafusion::error::DataFusionError) -> Error {
    let message = error.strip_backtrace();
    tracing::warn!(error = %message, query = sql, "catalog query not answered");
    Error::unsupported(format!("catalog query ({message})"), "switchyard catalog")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_names_the_user_and_public() {
        let mut view = SessionView {
            user: "grafana".into(),
            ..SessionView::default()
        };
        view.settings
            .insert("search_path".into(), "\"$user\", public".into());
        assert_eq!(search_path_schemas(&view), vec!["grafana", "public"]);
    }

    #[test]
    fn render_keeps_quotes_in_literals() {
        let tokens = tokenize("SELECT 'it''s' AS x").unwrap();
        assert_eq!(render(&tokens), "SELECT 'it''s' AS x");
    }
}
