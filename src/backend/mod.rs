//! Backends: the engines that hold the data. Each runs SQL already emitted in its own
//! dialect and returns a stream of Arrow record batches — the one currency between
//! backends, the cache and the wire encoder. A backend never sees Postgres wire types.

pub mod clickhouse;
pub mod delta;
pub mod starrocks;

use std::pin::Pin;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use futures::Stream;

use crate::emit::Target;
use crate::error::Result;

pub use delta::DeltaBackend;

/// Batches as the backend produces them; the consumer pulls, so nothing is held
/// beyond the batch in flight.
pub type BatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>;

/// A running query's result: its schema (known before the first batch) and batches.
pub struct ResultStream {
    pub schema: SchemaRef,
    pub batches: BatchStream,
}

/// What a statement will return, and the types of its `$n` parameters
/// (`None` where the backend cannot infer one).
#[derive(Debug, Clone)]
pub struct Description {
    pub schema: SchemaRef,
    pub parameter_types: Vec<Option<DataType>>,
}

/// A table the backend serves, for routing and the catalog.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub name: String,
    pub schema: SchemaRef,
}

#[async_trait]
pub trait Backend: Send + Sync {
    /// The configured name, e.g. `local`.
    fn name(&self) -> &str;
    /// The SQL dialect this backend accepts.
    fn target(&self) -> Target;
    /// Tables served by this backend.
    fn tables(&self) -> Vec<TableInfo>;
    /// Plans `sql` (which may hold `$n` placeholders) without running it.
    async fn describe(&self, sql: &str, parameter_count: usize) -> Result<Description>;
    /// Runs `sql` and streams its result.
    async fn execute(&self, sql: &str) -> Result<ResultStream>;
}

pub type BackendRef = Arc<dyn Backend>;
