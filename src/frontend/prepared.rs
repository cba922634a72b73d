//! What a Parse message becomes: a planned query with its described result and
//! parameter types, or a statement the frontend answers itself.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
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
}
