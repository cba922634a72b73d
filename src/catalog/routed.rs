//! The routed tables of every backend, seen as one Postgres database with one `public`
//! schema: what pg_class, pg_attribute, pg_namespace and information_schema list.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion_pg_catalog::pg_catalog::catalog_info::CatalogInfo;

use crate::engine::Engine;

/// The database name clients see (pg_database, current_database()).
pub const DATABASE: &str = "switchyard";
/// Every routed table lives here.
pub const PUBLIC: &str = "public";
/// Schemas listed in pg_namespace and information_schema.schemata, in OID order.
pub const SCHEMAS: [&str; 3] = [PUBLIC, "pg_catalog", "information_schema"];

/// Reads the engine's backends on every call, so a table a backend starts serving
/// shows up without a restart. Sorted, so OIDs are handed out in a stable order.
#[derive(Clone)]
pub struct RoutedTables {
    engine: Arc<Engine>,
}

impl fmt::Debug for RoutedTables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RoutedTables")
    }
}

impl RoutedTables {
    pub fn new(engine: Arc<Engine>) -> Self {
        RoutedTables { engine }
    }

    /// Table name → Arrow schema, for every backend (the first backend to name a
    /// table wins, as it does in routing).
    pub fn snapshot(&self) -> BTreeMap<String, SchemaRef> {
        let mut tables = BTreeMap::new();
        for backend in self.engine.backends() {
            for table in backend.tables() {
                tables.entry(table.name).or_insert(table.schema);
            }
        }
        tables
    }
}

#[async_trait]
impl CatalogInfo for RoutedTables {
    async fn catalog_names(&self) -> Result<Vec<String>, DataFusionError> {
        Ok(vec![DATABASE.to_owned()])
    }

    async fn schema_names(&self, catalog: &str) -> Result<Option<Vec<String>>, DataFusionError> {
        Ok((catalog == DATABASE).then(|| SCHEMAS.iter().map(|s| s.to_string()).collect()))
    }

    async fn table_names(
        &self,
        catalog: &str,
        schema: &str,
    ) -> Result<Option<Vec<String>>, DataFusionError> {
        if catalog != DATABASE {
            return Ok(None);
        }
        Ok(Some(if schema == PUBLIC {
            self.snapshot().into_keys().collect()
        } else {
            vec![]
        }))
    }

    async fn table_schema(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Result<Option<SchemaRef>, DataFusionError> {
        if catalog != DATABASE || schema != PUBLIC {
            return Ok(None);
        }
        Ok(self.snapshot().remove(table))
    }

    async fn table_type(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Result<Option<TableType>, DataFusionError> {
        Ok(self
            .table_schema(catalog, schema, table)
            .await?
            .map(|_| TableType::Base))
    }
}
