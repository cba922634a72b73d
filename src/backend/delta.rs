//! The Delta backend: Apache DataFusion over Delta Lake tables (local directories
//! now; object stores later). It owns one DataFusion `SessionContext` with every
//! routed Delta table registered under its case-preserved name.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::SessionConfig;
use futures::StreamExt;

use super::{Backend, Description, ResultStream, TableInfo};
use crate::emit::Target;
use crate::error::{Error, Result};

pub struct DeltaBackend {
    name: String,
    ctx: SessionContext,
    tables: Vec<TableInfo>,
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
        let mut infos = Vec::new();
        for (table, location) in tables {
            let url = deltalake::table::builder::ensure_table_uri(location)
                .map_err(|e| Error::Config(format!("table {table} at {location}: {e}")))?;
            let delta = deltalake::open_table(url)
                .await
                .map_err(|e| Error::Config(format!("table {table} at {location}: {e}")))?;
            delta
                .update_datafusion_session(&ctx.state())
                .map_err(Error::internal)?;
            let provider = delta.table_provider().await.map_err(Error::internal)?;
            infos.push(TableInfo {
                name: table.clone(),
                schema: provider.schema(),
            });
            ctx.register_table(
                datafusion::common::TableReference::bare(table.as_str()),
                provider,
            )
            .map_err(Error::internal)?;
        }
        Ok(DeltaBackend {
            name: name.to_owned(),
            ctx,
            tables: infos,
        })
    }
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
        self.tables.clone()
    }

    async fn describe(&self, sql: &str, parameter_count: usize) -> Result<Description> {
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
    match e.find_root() {
        DataFusionError::SchemaError(err, _) => {
            let text = err.to_string();
            if text.contains("No field named") {
                Error::UndefinedColumn(text)
            } else {
                Error::Backend {
                    backend: "datafusion".into(),
                    message: text,
                }
            }
        }
        DataFusionError::Plan(text) if text.contains("table") && text.contains("not found") => {
            Error::UndefinedTable(text.clone())
        }
        DataFusionError::NotImplemented(text) => Error::unsupported(text, "datafusion"),
        other => Error::Backend {
            backend: "datafusion".into(),
            message: other.to_string(),
        },
    }
}
