//! The query pipeline, free of wire concerns: lower a parsed query to IR, route it,
//! emit the backend's dialect, and run it — and, for shadowed tables, run it on the
//! shadow too (`crate::shadow`). The frontend calls this; backends are reached only
//! through here.
//!
//! The routing (backends, routing table, emit facts) is one immutable generation
//! behind an `RwLock<Arc<…>>`; `reload` builds the next generation from a new config
//! (reusing backends whose settings did not change) and swaps it in whole. A query in
//! flight keeps the generation it started on; a prepared statement made on an older
//! generation is routed again when executed, so it follows a cutover. `watch_config`
//! reloads on SIGHUP and on config-file changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::backend::starrocks::StarRocksBackend;
use crate::backend::{BackendRef, DeltaBackend, Description, ResultStream};
use crate::config::{BackendConfig, Config, LOCAL_BACKEND};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::route::{Route, RoutingTable, Shadow, ShadowRoute, TableRoute};
use crate::shadow::{self, Outcome};
use crate::sql::raw::RawStatement;
use crate::{emit, ir, sql};

pub struct Engine {
    routing: RwLock<Arc<Routing>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    report: Arc<shadow::Report>,
    metrics: Arc<Metrics>,
    /// Queries considered for shadowing, for deterministic sampling.
    shadow_tick: AtomicU64,
}

/// One generation of the routing, built from one config.
struct Routing {
    backends: BTreeMap<String, Opened>,
    routes: RoutingTable,
    /// Table facts for emitting (FINAL dedup rules from `[tables.*] dedup`); the
    /// schemas are added per query (`Routing::emit_context`).
    dedup_facts: emit::EmitContext,
    shadow_permits: Arc<Semaphore>,
    shadow_concurrency: usize,
    shadow_max_rows: usize,
    /// The config's session flavour (`dialect`) and its defaults by database and user.
    dialect: Option<String>,
    dialects: crate::config::DialectDefaults,
}

/// An open backend and what it was opened with: the next generation reuses it when
/// both are unchanged.
struct Opened {
    backend: BackendRef,
    settings: BackendSettings,
    /// Discovered tables that dedup on write (StarRocks primary-key tables).
    dedup_on_write: Vec<String>,
}

/// A backend's config and the tables (with locations) routed to it as primary or shadow.
type BackendSettings = (BackendConfig, Vec<(String, Option<String>)>);

/// A query ready to run: its IR and where it goes. Parameters are bound and the
/// dialect emitted at execution, so one plan serves every Bind of a statement.
pub struct Plan {
    pub query: ir::Query,
    pub route: Route,
    backend: BackendRef,
    routing: Arc<Routing>,
    /// A ClickHouse statement the IR cannot carry, going to its ClickHouse backend as
    /// written (`sql::raw`), and why; `query` is then a stand-in without parameters.
    raw: Option<Arc<(RawStatement, String)>>,
}

impl Plan {
    /// How many `$n` (or `{name:Type}`) parameters a Bind must supply.
    pub fn parameter_count(&self) -> usize {
        match &self.raw {
            Some(raw) => raw.0.params.len(),
            None => self.query.param_count(),
        }
    }
}

impl Engine {
    /// Opens every configured backend. Delta tables found under `data_dir` are
    /// served by the `local` backend unless `[tables]` routes them elsewhere.
    pub async fn start(config: &Config) -> Result<Engine> {
        let routing = Routing::build(config, None).await?;
        Ok(Engine {
            routing: RwLock::new(Arc::new(routing)),
            reloading: tokio::sync::Mutex::new(()),
            report: Arc::default(),
            metrics: Arc::default(),
            shadow_tick: AtomicU64::new(0),
        })
    }

    /// Replaces the routing with one built from `config`, opening backends that are
    /// new or changed. On any error (validation, a backend that does not open) the
    /// running routing stays as it was. Connections and queries in flight are untouched.
    pub async fn reload(&self, config: &Config) -> Result<()> {
        let _one = self.reloading.lock().await;
        let mut config = config.clone();
        config.validate()?;
        let previous = self.current();
        let next = Routing::build(&config, Some(&previous)).await?;
        for (table, route) in next.routes.routes() {
            let before = previous.routes.routes().find(|(t, _)| *t == table);
            if before.map(|(_, r)| r) != Some(route) {
                tracing::info!(
                    table,
                    primary = %route.primary,
                    shadow = route.shadow.as_ref().map_or("none", |s| s.backend.as_str()),
                    "route changed"
                );
            }
        }
        *self.routing.write().unwrap() = Arc::new(next);
        tracing::info!("configuration reloaded");
        Ok(())
    }

    fn current(&self) -> Arc<Routing> {
        self.routing.read().unwrap().clone()
    }

    pub fn routes(&self) -> RoutingTable {
        self.current().routes.clone()
    }

    pub fn backends(&self) -> impl Iterator<Item = BackendRef> {
        let routing = self.current();
        let backends: Vec<BackendRef> = routing
            .backends
            .values()
            .map(|o| o.backend.clone())
            .collect();
        backends.into_iter()
    }

    pub fn shadow_report(&self) -> &shadow::Report {
        &self.report
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The SQL flavour (`switchyard.dialect`) a session of `user` on `database` starts
    /// in, as configured.
    pub fn session_dialect(&self, user: Option<&str>, database: Option<&str>) -> String {
        let routing = self.current();
        routing
            .dialects
            .session_dialect(routing.dialect.as_deref(), user, database)
    }

    /// Shadow queries running or being compared now.
    pub fn shadows_in_flight(&self) -> usize {
        let routing = self.current();
        routing.shadow_concurrency - routing.shadow_permits.available_permits()
    }

    /// Lowers and routes a parsed Postgres-flavoured query.
    pub fn plan(&self, query: &sqlparser::ast::Query) -> Result<Plan> {
        self.plan_as(query, sql::Flavor::Postgres)
    }

    /// Lowers and routes a query parsed in `flavor` (`sql::Parsed::flavor`).
    pub fn plan_as(&self, query: &sqlparser::ast::Query, flavor: sql::Flavor) -> Result<Plan> {
        let query = sql::lower_query_as(query, flavor)?;
        let routing = self.current();
        let (route, backend) = routing.resolve(&query)?;
        Ok(Plan {
            query,
            route,
            backend,
            routing,
            raw: None,
        })
    }

    /// Plans one statement that is the client's whole query string `text` (if it is),
    /// parsed in `flavor`. A ClickHouse statement that cannot be translated for the
    /// ClickHouse backend holding its tables goes there as written (`plan_raw`).
    pub fn plan_statement(
        &self,
        text: Option<&str>,
        query: &sqlparser::ast::Query,
        flavor: sql::Flavor,
    ) -> Result<Plan> {
        let planned = self.plan_as(query, flavor).and_then(|plan| {
            if flavor == sql::Flavor::ClickHouse
                && plan.backend.target() == emit::Target::ClickHouse
            {
                let context = plan.routing.emit_context(&plan.query, &plan.backend);
                emit::emit_with(&plan.query, emit::Target::ClickHouse, &context)?;
            }
            Ok(plan)
        });
        match (planned, text) {
            (Err(why), Some(text))
                if flavor == sql::Flavor::ClickHouse && passes_as_written(&why) =>
            {
                self.plan_raw(text, why)
            }
            (planned, _) => planned,
        }
    }

    /// Plans ClickHouse SQL `text` that switchyard cannot translate (`why`: it does not
    /// parse, or the IR cannot carry it) to run on ClickHouse as written, when every
    /// table it names is routed to one ClickHouse backend and none elsewhere (a name that
    /// is a table on another backend refuses it: that table may have moved). Else `why`.
    pub fn plan_raw(&self, text: &str, why: Error) -> Result<Plan> {
        let Some(raw) = RawStatement::scan(text) else {
            return Err(why);
        };
        let routing = self.current();
        let mut tables: Vec<String> = Vec::new();
        let mut holder: Option<&str> = None;
        for name in &raw.names {
            let Some(backend) = routing.routes.primary_of(name) else {
                continue;
            };
            if holder.is_some_and(|h| h != backend) {
                return Err(why);
            }
            holder = Some(backend);
            if !tables.contains(name) {
                tables.push(name.clone());
            }
        }
        let Some(opened) = holder.and_then(|h| routing.backends.get(h)) else {
            return Err(why);
        };
        if opened.backend.target() != emit::Target::ClickHouse {
            return Err(why);
        }
        let backend = opened.backend.clone();
        let mut route = routing.routes.route(&tables)?;
        route.shadow = Shadow::Skip("sent to ClickHouse as written".into());
        let query = ir::Query {
            with: None,
            body: ir::SetExpr::Unsupported("ClickHouse SQL sent as written".into()),
            order_by: Vec::new(),
            limit: None,
            offset: None,
            unsupported: Vec::new(),
            clickhouse: ir::ClickHouseClauses::default(),
            flavor: sql::Flavor::ClickHouse,
            named_params: Vec::new(),
        };
        tracing::debug!(backend = backend.name(), %why, "sent to ClickHouse as written");
        Ok(Plan {
            query,
            route,
            backend,
            routing,
            raw: Some(Arc::new((raw, why.to_string()))),
        })
    }

    /// The result schema and parameter types, without running the query.
    pub async fn describe(&self, plan: &Plan) -> Result<Description> {
        if let Some(raw) = &plan.raw {
            // With each parameter at its type's default, ClickHouse can often describe the
            // result; where a default is no valid value (an interval unit, a date in a
            // String) the result is known only once bound: an empty schema says so.
            let text = raw.0.with_defaults()?;
            let parameter_types = vec![None; raw.0.params.len()];
            return Ok(match plan.backend.describe(&text, 0).await {
                Ok(description) => Description {
                    parameter_types,
                    ..description
                },
                Err(_) if !parameter_types.is_empty() => Description {
                    schema: Arc::new(Schema::empty()),
                    parameter_types,
                },
                Err(e) => return Err(e),
            });
        }
        let context = plan.routing.emit_context(&plan.query, &plan.backend);
        let parameter_count = plan.query.param_count();
        let text = match emit::emit_with(&plan.query, plan.backend.target(), &context) {
            Ok(text) => text,
            // What a parameter's value decides (`toStartOfInterval(t, toInterval(1,
            // {unit:String}))`) translates once bound: the result is known then.
            Err(Error::Unsupported { .. }) if parameter_count > 0 => {
                return Ok(Description {
                    schema: Arc::new(Schema::empty()),
                    parameter_types: vec![None; parameter_count],
                })
            }
            Err(e) => return Err(e),
        };
        let described = plan.backend.describe(&text, parameter_count).await;
        let mut description = match described {
            // A ClickHouse parameter where only a value will do (`LIMIT {n:UInt32}`):
            // the result is known once bound (`describe_bound`).
            Err(_) if parameter_count > 0 && plan.backend.target() == emit::Target::ClickHouse => {
                return Ok(Description {
                    schema: Arc::new(Schema::empty()),
                    parameter_types: vec![None; parameter_count],
                })
            }
            described => described?,
        };
        description.schema = present(&plan.query, &description.schema);
        Ok(description)
    }

    /// The result schema of `plan` with `params` bound: for ClickHouse SQL whose result
    /// may be known only then (`describe` gave an empty schema).
    pub async fn describe_bound(&self, plan: &Plan, params: &[ir::Literal]) -> Result<SchemaRef> {
        match &plan.raw {
            Some(raw) => {
                let text = raw.0.bind(params)?;
                Ok(plan.backend.describe(&text, 0).await?.schema)
            }
            None => {
                let text = self.emitted_sql(plan, params)?;
                let schema = plan.backend.describe(&text, 0).await?.schema;
                Ok(present(&plan.query, &schema))
            }
        }
    }

    /// What the client should be told about how the query was translated for its
    /// backend (clauses stripped because they change no result there, such as
    /// `SETTINGS` or `FORMAT` for a non-ClickHouse backend).
    pub fn notices(&self, plan: &Plan) -> Vec<String> {
        if let Some(raw) = &plan.raw {
            return vec![format!(
                "sent to ClickHouse as written: switchyard cannot translate it ({})",
                raw.1
            )];
        }
        let context = plan.routing.emit_context(&plan.query, &plan.backend);
        emit::emit_with_notices(&plan.query, plan.backend.target(), &context)
            .map(|emitted| emitted.notices)
            .unwrap_or_default()
    }

    /// The text sent to the backend once `params` are bound.
    pub fn emitted_sql(&self, plan: &Plan, params: &[ir::Literal]) -> Result<String> {
        if let Some(raw) = &plan.raw {
            return raw.0.bind(params);
        }
        let bound = bind(&plan.query, params)?;
        let context = plan.routing.emit_context(&plan.query, &plan.backend);
        emit::emit_with(
            bound.as_ref().unwrap_or(&plan.query),
            plan.backend.target(),
            &context,
        )
    }

    pub async fn execute(&self, plan: &Plan, params: &[ir::Literal]) -> Result<ResultStream> {
        let routing = self.current();
        let (route, backend) = if Arc::ptr_eq(&routing, &plan.routing) || plan.raw.is_some() {
            (plan.route.clone(), plan.backend.clone())
        } else {
            // Prepared before a reload: the current routing decides.
            routing.resolve(&plan.query)?
        };
        let bound = bind(&plan.query, params)?;
        let query = bound.as_ref().unwrap_or(&plan.query);
        let text = match &plan.raw {
            Some(raw) => raw.0.bind(params)?,
            None => {
                let context = routing.emit_context(query, &backend);
                emit::emit_with(query, backend.target(), &context)?
            }
        };
        tracing::debug!(backend = backend.name(), sql = %text, "execute");
        let started = Instant::now();
        self.metrics.query(backend.name());
        let result = backend.execute(&text).await.inspect_err(|_| {
            self.metrics.error(backend.name());
        })?;
        let (metrics, name) = (self.metrics.clone(), backend.name().to_owned());
        let mut batches: crate::backend::BatchStream =
            Box::pin(result.batches.inspect(move |batch| {
                if batch.is_err() {
                    metrics.error(&name);
                }
            }));
        if let Some(job) = self.shadow_job(&routing, &route, &backend, query, &text) {
            batches = job.start(batches, started);
        }
        let schema = present(&plan.query, &result.schema);
        if Arc::ptr_eq(&schema, &result.schema) {
            return Ok(ResultStream { schema, batches });
        }
        let presented = schema.clone();
        let batches = batches.map(move |batch| present_batch(&presented, batch?));
        Ok(ResultStream {
            schema,
            batches: Box::pin(batches),
        })
    }

    /// The shadow run for one execution, if its route has a shadow, the sample picks it
    /// and a slot is free; every other case is counted (except sampling out).
    fn shadow_job(
        &self,
        routing: &Routing,
        route: &Route,
        primary: &BackendRef,
        query: &ir::Query,
        primary_sql: &str,
    ) -> Option<shadow::Job> {
        let Shadow::Run(ShadowRoute { backend, sample }) = &route.shadow else {
            return None;
        };
        if !shadow::sampled(self.shadow_tick.fetch_add(1, Ordering::Relaxed), *sample) {
            return None;
        }
        let shadow = routing.backends.get(backend)?.backend.clone();
        let (fingerprint, normalized) = shadow::fingerprint(primary_sql, primary.target());
        let key = shadow::Key {
            fingerprint,
            primary: route.backend.clone(),
            shadow: backend.clone(),
        };
        let context = routing.emit_context(query, &shadow);
        let shadow_sql = match emit::emit_with(query, shadow.target(), &context) {
            Ok(sql) => sql,
            Err(e) => {
                let outcome = if e.sqlstate() == "0A000" {
                    Outcome::Rejected
                } else {
                    Outcome::Error
                };
                self.report
                    .record(&key, &normalized, outcome, Some(e.to_string()));
                return None;
            }
        };
        let Ok(permit) = routing.shadow_permits.clone().try_acquire_owned() else {
            self.report
                .record(&key, &normalized, Outcome::Skipped, None);
            return None;
        };
        Some(shadow::Job {
            report: self.report.clone(),
            key,
            query: normalized,
            primary_sql: primary_sql.to_owned(),
            shadow_sql,
            backend: shadow,
            tolerance: shadow::tolerance(query),
            max_rows: routing.shadow_max_rows,
            permit,
        })
    }

    /// `EXPLAIN ROUTE`: which backend answers and why, each table's routing, the
    /// shadow, and the SQL each side would run.
    pub fn explain_route(&self, plan: &Plan) -> Vec<String> {
        let routing = &plan.routing;
        let mut lines = vec![format!("primary: {}", plan.route)];
        match &plan.route.reason {
            crate::route::Reason::Tables(tables) => {
                for table in tables {
                    let bare = table.strip_prefix("public.").unwrap_or(table);
                    if let Some((name, route)) = routing.routes.routes().find(|(t, _)| *t == bare) {
                        lines.push(format!("table {name}: {}", describe_route(route)));
                    }
                }
            }
            crate::route::Reason::NoTables => {}
        }
        lines.push(format!("shadow: {}", plan.route.shadow));
        lines.push(match self.emitted_sql(plan, &[]) {
            Ok(sql) => format!("primary sql: {sql}"),
            Err(e) => format!("primary sql: refused: {e}"),
        });
        if let Shadow::Run(shadow) = &plan.route.shadow {
            if let Some(opened) = routing.backends.get(&shadow.backend) {
                let target = opened.backend.target();
                let context = routing.emit_context(&plan.query, &opened.backend);
                lines.push(match emit::emit_with(&plan.query, target, &context) {
                    Ok(sql) => format!("shadow sql: {sql}"),
                    Err(e) => format!("shadow sql: refused (counted as rejected): {e}"),
                });
            }
        }
        lines
    }

    /// `query` in every target's dialect, with the current tables' dedup rules (what
    /// `EXPLAIN TRANSLATE` shows): the SQL, or why the target refuses it.
    pub fn translations(&self, query: &ir::Query) -> Vec<(emit::Target, Result<String>)> {
        let routing = self.current();
        // Types come from the tables as their primary backend holds them.
        let context = match routing.resolve(query) {
            Ok((_, backend)) => routing.emit_context(query, &backend),
            Err(_) => routing.dedup_facts.clone(),
        };
        emit::Target::ALL
            .into_iter()
            .map(|target| (target, emit::emit_with(query, target, &context)))
            .collect()
    }

    /// The output columns of `query` with their types as the translator works them out
    /// from the routed tables (`?` where unknown; `NULL` marks Nullable), for `EXPLAIN
    /// TRANSLATE`.
    pub fn output_types(&self, query: &ir::Query) -> String {
        let routing = self.current();
        let context = match routing.resolve(query) {
            Ok((_, backend)) => routing.emit_context(query, &backend),
            Err(_) => routing.dedup_facts.clone(),
        };
        let mut typer = ir::types::Typer::new(&context.tables, query);
        typer
            .query_columns(query)
            .into_iter()
            .map(|(name, ty)| match ty {
                Some(ty) if ty.nullable => format!("{name} {} NULL", ty.data_type),
                Some(ty) => format!("{name} {}", ty.data_type),
                None => format!("{name} ?"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SHOW switchyard.routes`: every routed table, text columns.
    pub fn routes_batch(&self) -> Result<RecordBatch> {
        let routing = self.current();
        let (mut tables, mut primaries, mut shadows, mut samples, mut dedups) =
            (vec![], vec![], vec![], vec![], vec![]);
        for (table, route) in routing.routes.routes() {
            tables.push(Some(table.to_owned()));
            primaries.push(Some(route.primary.clone()));
            shadows.push(route.shadow.as_ref().map(|s| s.backend.clone()));
            samples.push(route.shadow.as_ref().map(|s| s.sample.to_string()));
            dedups.push(routing.dedup_facts.dedup.get(table).map(describe_dedup));
        }
        text_batch(
            &ROUTES_COLUMNS,
            vec![tables, primaries, shadows, samples, dedups],
        )
    }

    /// `switchyard.shadow_report`: one row per query fingerprint and primary/shadow pair.
    pub fn shadow_report_batch(&self) -> Result<RecordBatch> {
        let rows = self.report.snapshot();
        let text = |f: &dyn Fn(&shadow::Key, &shadow::Stats) -> String| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(k, s)| f(k, s)),
            ))
        };
        let count = |outcome: Outcome| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|(_, s)| s.count(outcome) as i64),
            ))
        };
        let ms = |f: &dyn Fn(&shadow::Stats) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|(_, s)| f(s)),
            ))
        };
        let avg = |l: &shadow::Latency| {
            if l.count == 0 {
                0.0
            } else {
                l.sum.as_secs_f64() * 1000.0 / l.count as f64
            }
        };
        let mut columns = vec![
            text(&|k, _| k.fingerprint.clone()),
            text(&|_, s| s.query.clone()),
            text(&|k, _| k.primary.clone()),
            text(&|k, _| k.shadow.clone()),
        ];
        columns.extend(Outcome::ALL.map(count));
        columns.extend([
            ms(&|s| avg(&s.primary_latency)),
            ms(&|s| s.primary_latency.max.as_secs_f64() * 1000.0),
            ms(&|s| avg(&s.shadow_latency)),
            ms(&|s| s.shadow_latency.max.as_secs_f64() * 1000.0),
        ]);
        columns.push(Arc::new(StringArray::from(
            rows.iter()
                .map(|(_, s)| s.last_detail.clone())
                .collect::<Vec<_>>(),
        )));
        RecordBatch::try_new(shadow_report_schema(), columns).map_err(Error::internal)
    }
}

pub const ROUTES_COLUMNS: [&str; 5] = ["table", "primary", "shadow", "sample", "dedup"];

/// The columns of `switchyard.shadow_report`.
pub fn shadow_report_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("fingerprint", DataType::Utf8, false),
        Field::new("query", DataType::Utf8, false),
        Field::new("primary", DataType::Utf8, false),
        Field::new("shadow", DataType::Utf8, false),
    ];
    fields.extend(Outcome::ALL.map(|o| Field::new(o.name(), DataType::Int64, false)));
    for name in [
        "primary_ms_avg",
        "primary_ms_max",
        "shadow_ms_avg",
        "shadow_ms_max",
    ] {
        fields.push(Field::new(name, DataType::Float64, false));
    }
    fields.push(Field::new("last_detail", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// All-text columns, for SHOW-style answers.
pub fn text_batch(names: &[&str], columns: Vec<Vec<Option<String>>>) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect();
    RecordBatch::try_new(schema, columns).map_err(Error::internal)
}

fn describe_route(route: &TableRoute) -> String {
    match &route.shadow {
        Some(shadow) => format!(
            "primary {}, shadow {} (sample {})",
            route.primary, shadow.backend, shadow.sample
        ),
        None => format!("primary {}, no shadow", route.primary),
    }
}

fn describe_dedup(rule: &emit::DedupRule) -> String {
    match rule {
        emit::DedupRule::OnWrite(_) => "on_write".into(),
        emit::DedupRule::Key {
            key,
            version,
            is_deleted,
        } => {
            let mut text = format!("key ({})", key.join(", "));
            if let Some(version) = version {
                text.push_str(&format!(" version {version}"));
            }
            if let Some(is_deleted) = is_deleted {
                text.push_str(&format!(" is_deleted {is_deleted}"));
            }
            text
        }
    }
}

/// Whether a refusal of ClickHouse SQL may be answered by sending it to ClickHouse as
/// written: what switchyard cannot read or translate, never what ClickHouse would refuse
/// too (a wrong parameter, a missing table).
fn passes_as_written(why: &Error) -> bool {
    matches!(why.sqlstate(), "0A000" | "42601" | "42883" | "42P01")
}

fn bind(query: &ir::Query, params: &[ir::Literal]) -> Result<Option<ir::Query>> {
    if params.is_empty() && query.param_count() == 0 {
        Ok(None)
    } else {
        query.bind(params).map(Some)
    }
}

impl Routing {
    /// Builds a generation from a validated `config`, reusing `previous`'s backends
    /// whose settings are unchanged.
    async fn build(config: &Config, previous: Option<&Routing>) -> Result<Routing> {
        let mut routes = RoutingTable::new(LOCAL_BACKEND);
        // Backend → the tables it serves as primary or shadow, with their locations.
        let mut assigned: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
        for (table, route) in &config.tables {
            let shadow = route.shadow.as_ref().map(|backend| ShadowRoute {
                backend: backend.clone(),
                sample: route.shadow_sample.unwrap_or(1.0),
            });
            routes.insert_route(
                table,
                TableRoute {
                    primary: route.backend.clone(),
                    shadow,
                },
            );
            let primary = (&route.backend, &route.location);
            let shadow = route.shadow.as_ref().map(|b| (b, route.shadow_location()));
            for (backend, location) in std::iter::once(primary).chain(shadow) {
                assigned
                    .entry(backend.clone())
                    .or_default()
                    .push((table.clone(), location.clone()));
            }
        }
        if config.data_dir.is_dir() {
            for (table, path) in crate::demo::discover_tables(&config.data_dir)? {
                if routes.backend_of(&table).is_none() {
                    routes.insert(&table, LOCAL_BACKEND);
                    assigned
                        .entry(LOCAL_BACKEND.to_owned())
                        .or_default()
                        .push((table, Some(path.display().to_string())));
                }
            }
        }
        let mut backends = BTreeMap::new();
        for (name, backend) in &config.backends {
            let settings = (
                backend.clone(),
                assigned.remove(name.as_str()).unwrap_or_default(),
            );
            let reused = previous
                .and_then(|p| p.backends.get(name))
                .filter(|o| o.settings == settings);
            let opened = match reused {
                Some(o) => Opened {
                    backend: o.backend.clone(),
                    settings,
                    dedup_on_write: o.dedup_on_write.clone(),
                },
                None => {
                    let opened = open(name, settings).await?;
                    tracing::info!(
                        backend = %name,
                        kind = backend.kind(),
                        tables = opened.backend.tables().len(),
                        "backend ready"
                    );
                    opened
                }
            };
            if !matches!(backend, BackendConfig::Delta {}) {
                // Discovered tables no [tables] entry or Delta directory claims.
                for table in opened.backend.tables() {
                    if routes.backend_of(&table.name).is_none() {
                        routes.insert(&table.name, name);
                    }
                }
            }
            backends.insert(name.clone(), opened);
        }
        let mut emit_context = emit::EmitContext::default();
        for (table, table_config) in &config.tables {
            if let Some(rule) = &table_config.dedup {
                emit_context.dedup.insert(table.clone(), rule.clone());
            }
        }
        for table in backends.values().flat_map(|o| &o.dedup_on_write) {
            let on_write = emit::DedupRule::OnWrite(emit::OnWrite::OnWrite);
            emit_context.dedup.entry(table.clone()).or_insert(on_write);
        }
        Ok(Routing {
            backends,
            routes,
            dedup_facts: emit_context,
            dialect: config.dialect.clone(),
            dialects: config.dialects.clone(),
            shadow_permits: Arc::new(Semaphore::new(config.shadow_concurrency)),
            shadow_concurrency: config.shadow_concurrency,
            shadow_max_rows: config.shadow_max_rows,
        })
    }

    /// The emit facts for `query` on `backend`: the configured dedup rules, and the
    /// schemas `backend` gives the tables the query reads (by name as written; a
    /// database-qualified name also finds the table by its last part).
    fn emit_context(&self, query: &ir::Query, backend: &BackendRef) -> emit::EmitContext {
        let mut context = self.dedup_facts.clone();
        let wanted = query.tables();
        if wanted.is_empty() {
            return context;
        }
        for name in &wanted {
            if let Some(routed) = self.routes.routed_name(name) {
                context.renames.insert(name.clone(), routed.to_owned());
            }
        }
        let served = backend.tables();
        for name in wanted {
            let last = name.rsplit('.').next().unwrap_or(&name).to_owned();
            let found = served
                .iter()
                .find(|t| t.name == name)
                .or_else(|| served.iter().find(|t| t.name == last));
            if let Some(table) = found {
                context.tables.insert(name, table.schema.clone());
            }
        }
        context
    }

    /// The route of `query` and its primary backend.
    fn resolve(&self, query: &ir::Query) -> Result<(Route, BackendRef)> {
        let route = self.routes.route(&query.tables())?;
        let backend = self
            .backends
            .get(&route.backend)
            .map(|o| o.backend.clone())
            .ok_or_else(|| Error::internal(format!("backend {} is not open", route.backend)))?;
        Ok((route, backend))
    }
}

async fn open(name: &str, settings: BackendSettings) -> Result<Opened> {
    let (config, tables) = &settings;
    let mut dedup_on_write = Vec::new();
    let backend: BackendRef = match config {
        BackendConfig::Delta {} => {
            let located: Vec<(String, String)> = tables
                .iter()
                .filter_map(|(t, l)| Some((t.clone(), l.clone()?)))
                .collect();
            Arc::new(DeltaBackend::open(name, &located).await?)
        }
        BackendConfig::Starrocks(starrocks) => {
            let routed: Vec<String> = tables.iter().map(|(t, _)| t.clone()).collect();
            let opened = StarRocksBackend::open(name, starrocks, &routed).await?;
            dedup_on_write = opened.dedup_on_write_tables();
            Arc::new(opened)
        }
        BackendConfig::Clickhouse(clickhouse) => {
            Arc::new(crate::backend::clickhouse::ClickHouseBackend::open(name, clickhouse).await?)
        }
    };
    Ok(Opened {
        backend,
        settings,
        dedup_on_write,
    })
}

/// Reloads the configuration on SIGHUP and whenever `file`'s modification time
/// changes (checked every `poll`). `load` reads the configuration as at start
/// (file, environment, flags). A configuration that fails to load or validate, or
/// whose backends do not open, is logged and the running one kept. Runs forever.
pub async fn watch_config(
    file: Option<PathBuf>,
    load: impl Fn() -> crate::Result<Config>,
    engine: Arc<Engine>,
    poll: Duration,
) {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let modified = |file: &Option<PathBuf>| -> Option<SystemTime> {
        std::fs::metadata(file.as_ref()?)
            .and_then(|m| m.modified())
            .ok()
    };
    let mut seen = modified(&file);
    let mut tick = tokio::time::interval(poll);
    let running = load().ok();
    loop {
        let why = tokio::select! {
            Some(()) = async { hangup.as_mut()?.recv().await } => "SIGHUP",
            _ = tick.tick() => {
                let now = modified(&file);
                if now == seen {
                    continue;
                }
                seen = now;
                "configuration file changed"
            }
        };
        tracing::info!("{why}: reloading the configuration");
        let outcome = match load() {
            Ok(config) => {
                if let Some(running) = &running {
                    if (
                        &running.listen,
                        running.max_connections,
                        &running.metrics_listen,
                    ) != (
                        &config.listen,
                        config.max_connections,
                        &config.metrics_listen,
                    ) {
                        tracing::warn!(
                            "listen, max_connections and metrics_listen take effect on restart only"
                        );
                    }
                }
                engine.reload(&config).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::error!(error = %e, "reload failed; the running configuration stays");
        }
    }
}

/// Gives result columns the names Postgres would (`count`, `?column?`), which the
/// emitter had to make unique for the backend, and the types: counts are int8 on every
/// backend (ClickHouse counts in UInt64; see `ir::counting_outputs`).
fn present(query: &ir::Query, schema: &SchemaRef) -> SchemaRef {
    let names = query
        .output_names()
        .filter(|names| names.len() == schema.fields().len());
    let counting =
        ir::counting_outputs(query).filter(|counting| counting.len() == schema.fields().len());
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let mut field = field.as_ref().clone();
            if let Some(names) = &names {
                field = field.with_name(names[i].clone());
            }
            let unsigned_count = matches!(
                field.data_type(),
                DataType::UInt64 | DataType::UInt32 | DataType::Decimal128(20, 0)
            );
            if unsigned_count && counting.as_ref().is_some_and(|c| c[i]) {
                field = field.with_data_type(DataType::Int64);
            }
            field
        })
        .collect();
    if fields
        .iter()
        .zip(schema.fields())
        .all(|(a, b)| a == b.as_ref())
    {
        return schema.clone();
    }
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A backend batch in the presented schema: same columns, Postgres names, counts cast
/// to int8 (exact: a count beyond i64 would be an error, not a wrong number).
fn present_batch(schema: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch> {
    let options = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                arrow::compute::cast_with_options(column, field.data_type(), &options)
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::internal)?;
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::internal)
}
