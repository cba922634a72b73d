//! What a Parse message becomes: a planned query with its described result and
//! parameter types, or a statement the frontend answers itself.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use pgwire::api::Type;
use sqlparser::ast::Statement;

use crate::engine::Plan;

#[derive(Clone)]
pub enum Prepared {
    Query {
        plan: Arc<Plan>,
        /// Result columns as the backend describes them (presentation names applied).
        schema: SchemaRef,
        parameter_types: Vec<Type>,
    },
    /// SET, SHOW, BEGIN, … answered locally.
    Local(Arc<Statement>),
    /// `DECLARE name CURSOR FOR query`: the query planned like `Query`, so `$n`
    /// parameters bind (psycopg's server-side cursors send them).
    Cursor {
        declare: Arc<Statement>,
        plan: Arc<Plan>,
        parameter_types: Vec<Type>,
    },
    /// A pg_catalog / information_schema query for `catalog`; planned again at
    /// Execute, with the session's settings of that moment.
    Catalog {
        sql: Arc<str>,
        schema: SchemaRef,
        parameter_types: Vec<Type>,
        /// What the catalog context infers for each `$n`, to decode values by.
        parameter_data_types: Vec<Option<DataType>>,
    },
}
