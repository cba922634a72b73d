//! The Delta backend: Apache DataFusion over Delta Lake tables (local directories
//! now; object stores later). It owns one DataFusion `SessionContext` with every
//! routed Delta table registered under its case-preserved name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::SessionConfig;
use deltalake::DeltaTable;
use futures::StreamExt;
use tokio::sync::Mutex;

use super::{Backend, Description, ResultStream, TableInfo};
use crate::emit::Target;
use crate::error::{Error, Result};

pub struct DeltaBackend {
    name: String,
    ctx: SessionContext,
    tables: Vec<DeltaTableState>,
}

/// How stale a table's snapshot may get before a query looks for new commits.
/// Writers (backfills, pipelines) commit while we serve; a query issued a second
/// after a commit sees it.
const FRESHNESS: Duration = Duration::from_secs(1);

struct DeltaTableState {
    name: String,
    table: Mutex<(DeltaTable, Instant)>,
    schema: std::sync::Mutex<SchemaRef>,
}

impl DeltaBackend {
    /// Opens each `(table name, location)` as a Delta table. A location is a local
    /// directory or a URL.
    pub async fn open(name: &str, tables: &[(String, String)]) -> Result<DeltaBackend> {
        let config = SessionConfig::new()
            .with_information_schema(false)
            // Postgres clients expect identifiers exactly as quoted; the emitter quotes all.
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false);
        let ctx = SessionContext::new_with_config(config);
        crate::udf::register_all(&ctx);
        let mut states = Vec::new();
        for (table, location) in tables {
            let url = deltalake::table::builder::ensure_table_uri(location)
                .map_err(|e| Error::Config(format!("table {table} at {location}: {e}")))?;
            let delta = deltalake::open_table(url)
                .await
                .map_err(|e| Error::Config(format!("table {table} at {location}: {e}")))?;
            delta
                .update_datafusion_session(&ctx.state())
                .map_err(Error::internal)?;
            let schema = register(&ctx, table, &delta).await?;
            states.push(DeltaTableState {
                name: table.clone(),
                table: Mutex::new((delta, Instant::now())),
                schema: std::sync::Mutex::new(schema),
            });
        }
        Ok(DeltaBackend {
            name: name.to_owned(),
            ctx,
            tables: states,
        })
    }

    /// Picks up commits made since a table was last checked.
    async fn refresh(&self) -> Result<()> {
        for state in &self.tables {
            let mut guard = state.table.lock().await;
            let (table, checked) = &mut *guard;
            if checked.elapsed() < FRESHNESS {
                continue;
            }
            let before = table.version();
            table.update_incremental(None).await.map_err(|e| {
                Error::backend(&self.name, format!("refreshing table {}: {e}", state.name))
            })?;
            *checked = Instant::now();
            if table.version() != before {
                let schema = register(&self.ctx, &state.name, table).await?;
                *state.schema.lock().unwrap() = schema;
                tracing::debug!(table = %state.name, version = ?table.version(), "delta table refreshed");
            }
        }
        Ok(())
    }
}

/// (Re-)registers `table`'s current snapshot under `name`; returns its schema.
async fn register(ctx: &SessionContext, name: &str, table: &DeltaTable) -> Result<SchemaRef> {
    let provider = table.table_provider().await.map_err(Error::internal)?;
    let schema = provider.schema();
    let reference = datafusion::common::TableReference::bare(name);
    // Replacing a snapshot: DataFusion refuses to register over an existing name.
    ctx.deregister_table(reference.clone())
        .map_err(Error::internal)?;
    ctx.register_table(reference, provider)
        .map_err(Error::internal)?;
    Ok(schema)
}

#[async_trait]
impl Backend for DeltaBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn target(&self) -> Target {
        Target::DataFusion
    }

    fn tables(&self) -> Vec<TableInfo> {
        self.tables
            .iter()
            .map(|state| TableInfo {
                name: state.name.clone(),
                schema: state.schema.lock().unwrap().clone(),
            })
            .collect()
    }

    async fn describe(&self, sql: &str, parameter_count: usize) -> Result<Description> {
        self.refresh().await?;
        let frame = self.ctx.sql(sql).await.map_err(map_datafusion_error)?;
        let inferred = frame
            .logical_plan()
            .get_parameter_types()
            .map_err(map_datafusion_error)?;
        let parameter_types = (1..=parameter_count)
            .map(|n| inferred.get(&format!("${n}")).cloned().flatten())
            .collect();
        Ok(Description {
            schema: Arc::new(frame.schema().as_arrow().clone()),
            parameter_types,
        })
    }

    async fn execute(&self, sql: &str) -> Result<ResultStream> {
        self.refresh().await?;
        let frame = self.ctx.sql(sql).await.map_err(map_datafusion_error)?;
        let stream = frame.execute_stream().await.map_err(map_datafusion_error)?;
        let schema = stream.schema();
        let batches = stream.map(|batch| batch.map_err(map_datafusion_error));
        Ok(ResultStream {
            schema,
            batches: Box::pin(batches),
        })
    }
}

/// Maps DataFusion's planning errors onto the Postgres error classes clients
/// expect; anything else is the backend's own failure.
pub(crate) fn map_datafusion_error(e: DataFusionError) -> Error {
    let failed = |sqlstate: &'static str, message: String| Error::Backend {
        backend: "datafusion".into(),
        sqlstate,
        message,
    };
    match e.find_root() {
        DataFusionError::SchemaError(err, _) => {
            let text = err.to_string();
            if text.contains("No field named") {
                Error::UndefinedColumn(text)
            } else if text.contains("Ambiguous") {
                failed("42702", text)
            } else if text.contains("uplicate") {
                failed("42701", text)
            } else {
                failed("XX000", text)
            }
        }
        DataFusionError::Plan(text) if text.contains("table") && text.contains("not found") => {
            Error::UndefinedTable(text.clone())
        }
        DataFusionError::NotImplemented(text) => Error::unsupported(text, "datafusion"),
        DataFusionError::ArrowError(arrow, _) => {
            let sqlstate = match arrow.as_ref() {
                ArrowError::DivideByZero => "22012",
                ArrowError::ArithmeticOverflow(_) => "22003",
                ArrowError::CastError(_) | ArrowError::ParseError(_) => "22P02",
                _ => "XX000",
            };
            failed(sqlstate, arrow.to_string())
        }
        DataFusionError::ResourcesExhausted(text) => failed("53200", text.clone()),
        other => failed("XX000", other.to_string()),
    }
}
