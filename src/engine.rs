//! The query pipeline, free of wire concerns: lower a parsed query to IR, route it,
//! emit the backend's dialect, and run it. The frontend calls this; backends are
//! reached only through here.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use futures::StreamExt;

use crate::backend::starrocks::StarRocksBackend;
use crate::backend::{BackendRef, DeltaBackend, Description, ResultStream};
use crate::config::{BackendConfig, Config, LOCAL_BACKEND};
use crate::error::{Error, Result};
use crate::ir;
use crate::route::{Route, RoutingTable};
use crate::{emit, sql};

pub struct Engine {
    backends: BTreeMap<String, BackendRef>,
    routes: RoutingTable,
    /// Table facts for emitting (FINAL dedup rules from `[tables.*] dedup`).
    emit_context: emit::EmitContext,
}

/// A query ready to run: its IR and where it goes. Parameters are bound and the
/// dialect emitted at execution, so one plan serves every Bind of a statement.
pub struct Plan {
    pub query: ir::Query,
    pub route: Route,
    backend: BackendRef,
}

impl Engine {
    /// Opens every configured backend. Delta tables found under `data_dir` are
    /// served by the `local` backend unless `[tables]` routes them elsewhere.
    pub async fn start(config: &Config) -> Result<Engine> {
        let mut delta_tables: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
        let mut routes = RoutingTable::new(LOCAL_BACKEND);
        for (table, route) in &config.tables {
            routes.insert(table, &route.backend);
            if let Some(location) = &route.location {
                delta_tables
                    .entry(&route.backend)
                    .or_default()
                    .push((table.clone(), location.clone()));
            }
        }
        if config.data_dir.is_dir() {
            for (table, path) in crate::demo::discover_tables(&config.data_dir)? {
                if routes.backend_of(&table).is_none() {
                    routes.insert(&table, LOCAL_BACKEND);
                    delta_tables
                        .entry(LOCAL_BACKEND)
                        .or_default()
                        .push((table, path.display().to_string()));
                }
            }
        }
        let mut backends: BTreeMap<String, BackendRef> = BTreeMap::new();
        // Discovered tables that dedup on write (StarRocks primary-key tables).
        let mut dedup_on_write: Vec<String> = Vec::new();
        for (name, backend) in &config.backends {
            let opened: BackendRef = match backend {
                BackendConfig::Delta {} => {
                    let tables = delta_tables.remove(name.as_str()).unwrap_or_default();
                    Arc::new(DeltaBackend::open(name, &tables).await?)
                }
                BackendConfig::Starrocks(starrocks) => {
                    let routed: Vec<String> = config
                        .tables
                        .iter()
                        .filter(|(_, route)| &route.backend == name)
                        .map(|(table, _)| table.clone())
                        .collect();
                    let opened = StarRocksBackend::open(name, starrocks, &routed).await?;
                    dedup_on_write.extend(opened.dedup_on_write_tables());
                    // With no table routed to it, it serves every table it discovers.
                    for table in crate::backend::Backend::tables(&opened) {
                        if routes.backend_of(&table.name).is_none() {
                            routes.insert(&table.name, name);
                        }
                    }
                    Arc::new(opened)
                }
                BackendConfig::Clickhouse(clickhouse) => {
                    let opened =
                        crate::backend::clickhouse::ClickHouseBackend::open(name, clickhouse)
                            .await?;
                    // Discovered tables no [tables] entry or Delta directory claims.
                    for table in crate::backend::Backend::tables(&opened) {
                        if routes.backend_of(&table.name).is_none() {
                            routes.insert(&table.name, name);
                        }
                    }
                    Arc::new(opened)
                }
            };
            tracing::info!(
                backend = %name,
                kind = backend.kind(),
                tables = opened.tables().len(),
                "backend ready"
            );
            backends.insert(name.clone(), opened);
        }
        let mut emit_context = emit::EmitContext::default();
        for (table, table_config) in &config.tables {
            if let Some(rule) = &table_config.dedup {
                emit_context.dedup.insert(table.clone(), rule.clone());
            }
        }
        for table in dedup_on_write {
            let on_write = emit::DedupRule::OnWrite(emit::OnWrite::OnWrite);
            emit_context.dedup.entry(table).or_insert(on_write);
        }
        Ok(Engine {
            backends,
            routes,
            emit_context,
        })
    }

    pub fn routes(&self) -> &RoutingTable {
        &self.routes
    }

    pub fn backends(&self) -> impl Iterator<Item = &BackendRef> {
        self.backends.values()
    }

    /// Lowers and routes a parsed Postgres-flavoured query.
    pub fn plan(&self, query: &sqlparser::ast::Query) -> Result<Plan> {
        self.plan_as(query, sql::Flavor::Postgres)
    }

    /// Lowers and routes a query parsed in `flavor` (`sql::Parsed::flavor`).
    pub fn plan_as(&self, query: &sqlparser::ast::Query, flavor: sql::Flavor) -> Result<Plan> {
        let query = sql::lower_query_as(query, flavor)?;
        let route = self.routes.route(&query.tables())?;
        let backend = self
            .backends
            .get(&route.backend)
            .cloned()
            .ok_or_else(|| Error::internal(format!("backend {} is not open", route.backend)))?;
        Ok(Plan {
            query,
            route,
            backend,
        })
    }

    /// The result schema and parameter types, without running the query.
    pub async fn describe(&self, plan: &Plan) -> Result<Description> {
        let text = emit::emit_with(&plan.query, plan.backend.target(), &self.emit_context)?;
        let mut description = plan
            .backend
            .describe(&text, plan.query.param_count())
            .await?;
        description.schema = present(&plan.query, &description.schema);
        Ok(description)
    }

    /// The text sent to the backend once `params` are bound.
    pub fn emitted_sql(&self, plan: &Plan, params: &[ir::Literal]) -> Result<String> {
        let bound = if params.is_empty() && plan.query.param_count() == 0 {
            None
        } else {
            Some(plan.query.bind(params)?)
        };
        emit::emit_with(
            bound.as_ref().unwrap_or(&plan.query),
            plan.backend.target(),
            &self.emit_context,
        )
    }

    pub async fn execute(&self, plan: &Plan, params: &[ir::Literal]) -> Result<ResultStream> {
        let text = self.emitted_sql(plan, params)?;
        tracing::debug!(backend = plan.backend.name(), sql = %text, "execute");
        let result = plan.backend.execute(&text).await?;
        let schema = present(&plan.query, &result.schema);
        if Arc::ptr_eq(&schema, &result.schema) {
            return Ok(result);
        }
        let renamed = schema.clone();
        let batches = result.batches.map(move |batch| {
            let batch = batch?;
            RecordBatch::try_new(renamed.clone(), batch.columns().to_vec()).map_err(Error::internal)
        });
        Ok(ResultStream {
            schema,
            batches: Box::pin(batches),
        })
    }
}

/// Gives result columns the names Postgres would (`count`, `?column?`), which the
/// emitter had to make unique for the backend.
fn present(query: &ir::Query, schema: &SchemaRef) -> SchemaRef {
    let Some(names) = query.output_names() else {
        return schema.clone();
    };
    if names.len() != schema.fields().len()
        || names
            .iter()
            .zip(schema.fields())
            .all(|(n, f)| n == f.name())
    {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(names)
        .map(|(field, name)| field.as_ref().clone().with_name(name))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
