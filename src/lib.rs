//! switchyard: one PostgreSQL-wire endpoint in front of ClickHouse, StarRocks and
//! DataFusion over Delta Lake.
//!
//! Data flow: `frontend` (pgwire) → `sql` (parse + lower to `ir`) → `route` (which
//! backend holds the tables) → `emit` (the backend's dialect) → `backend` (runs it,
//! streams Arrow batches) → `frontend::encode` (Arrow → Postgres rows).

pub mod backend;
pub mod catalog;
pub mod config;
pub mod demo;
pub mod emit;
pub mod engine;
pub mod error;
pub mod frontend;
pub mod ir;
pub mod metrics;
pub mod migrate;
pub mod route;
pub mod server;
pub mod shadow;
pub mod sql;
pub mod udf;

pub use error::{Error, Result};
