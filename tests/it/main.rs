//! The one integration-test binary (one link of DataFusion, not one per file).
//! `support` starts switchyard in-process over freshly generated demo Delta tables;
//! the other modules drive it with real clients: tokio-postgres, a raw protocol
//! client for what drivers hide, and the psql binary when it is installed.

mod catalog;
mod clickhouse;
mod clients;
mod corpus;
mod differential;
mod migrate;
mod psql;
mod raw;
mod routing;
mod starrocks;
mod support;
mod typed;
mod wire;
