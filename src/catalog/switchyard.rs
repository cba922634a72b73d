//! The `switchyard` schema: switchyard's own state as tables, built on every read —
//! `switchyard.shadow_report` (shadow-read outcomes) and `switchyard.routes`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{MemTable, SchemaProvider};
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result};

use crate::engine::Engine;

pub const SCHEMA: &str = "switchyard";
pub const TABLES: [&str; 2] = ["shadow_report", "routes"];

pub struct SwitchyardSchema {
    pub engine: Arc<Engine>,
}

impl std::fmt::Debug for SwitchyardSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SwitchyardSchema")
    }
}

#[async_trait]
impl SchemaProvider for SwitchyardSchema {
    fn table_names(&self) -> Vec<String> {
        TABLES.iter().map(|t| t.to_string()).collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let batch = match name {
            "shadow_report" => self.engine.shadow_report_batch(),
            "routes" => self.engine.routes_batch(),
            _ => return Ok(None),
        }
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(Arc::new(MemTable::try_new(
            batch.schema(),
            vec![vec![batch]],
        )?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        TABLES.contains(&name)
    }
}
