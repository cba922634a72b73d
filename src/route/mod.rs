//! Routing: which backend answers a query, decided from the tables it reads.
//! Synchronous and free of I/O, so every decision is unit-testable and explainable.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};

/// The routing table: table name (case kept) → backend name.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    tables: BTreeMap<String, String>,
    /// Answers queries that read no table (`SELECT 1`, `SELECT now()`).
    default_backend: String,
}

/// A routing decision, printable for `EXPLAIN`-style output and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub backend: String,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Every table the query reads lives on this backend.
    Tables(Vec<String>),
    /// The query reads no table.
    NoTables,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Reason::Tables(tables) => {
                write!(f, "{} (holds {})", self.backend, tables.join(", "))
            }
            Reason::NoTables => write!(f, "{} (default: the query reads no table)", self.backend),
        }
    }
}

impl RoutingTable {
    pub fn new(default_backend: impl Into<String>) -> Self {
        RoutingTable {
            tables: BTreeMap::new(),
            default_backend: default_backend.into(),
        }
    }

    pub fn insert(&mut self, table: impl Into<String>, backend: impl Into<String>) {
        self.tables.insert(table.into(), backend.into());
    }

    pub fn backend_of(&self, table: &str) -> Option<&str> {
        self.tables.get(table).map(String::as_str)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tables.iter().map(|(t, b)| (t.as_str(), b.as_str()))
    }

    /// Routes a query reading `tables`. Unknown tables are 42P01; tables on
    /// different backends are rejected rather than half-executed.
    pub fn route(&self, tables: &[String]) -> Result<Route> {
        if tables.is_empty() {
            return Ok(Route {
                backend: self.default_backend.clone(),
                reason: Reason::NoTables,
            });
        }
        let mut placed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for table in tables {
            let backend = self
                .lookup(table)
                .ok_or_else(|| Error::UndefinedTable(table.clone()))?;
            placed.entry(backend).or_default().push(table);
        }
        if placed.len() > 1 {
            let spread: Vec<String> = placed
                .iter()
                .map(|(backend, tables)| format!("{} on {backend}", tables.join(", ")))
                .collect();
            return Err(Error::unsupported(
                format!(
                    "a query reading tables on different backends ({})",
                    spread.join("; ")
                ),
                "switchyard",
            ));
        }
        let (backend, _) = placed.into_iter().next().expect("one backend");
        Ok(Route {
            backend: backend.to_owned(),
            reason: Reason::Tables(tables.to_vec()),
        })
    }

    /// Exact name first; `public.t` falls back to `t`, as clients qualify with the
    /// default schema.
    fn lookup(&self, table: &str) -> Option<&str> {
        self.backend_of(table).or_else(|| {
            table
                .strip_prefix("public.")
                .and_then(|bare| self.backend_of(bare))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RoutingTable {
        let mut routes = RoutingTable::new("local");
        routes.insert("llm_requests", "lake");
        routes.insert("llm_feedback", "lake");
        routes.insert("events", "ch");
        routes
    }

    #[test]
    fn routes_by_table() {
        let route = table()
            .route(&["llm_requests".into(), "llm_feedback".into()])
            .unwrap();
        assert_eq!(route.backend, "lake");
        assert_eq!(route.to_string(), "lake (holds llm_requests, llm_feedback)");
    }

    #[test]
    fn no_tables_goes_to_the_default() {
        assert_eq!(table().route(&[]).unwrap().backend, "local");
    }

    #[test]
    fn unknown_table_is_42p01() {
        let err = table().route(&["nope".into()]).unwrap_err();
        assert_eq!(err.sqlstate(), "42P01");
    }

    #[test]
    fn identifiers_are_case_sensitive() {
        assert!(table().route(&["LLM_REQUESTS".into()]).is_err());
        assert!(table().route(&["public.llm_requests".into()]).is_ok());
    }

    #[test]
    fn cross_backend_queries_are_rejected_naming_both_sides() {
        let err = table()
            .route(&["llm_requests".into(), "events".into()])
            .unwrap_err();
        assert_eq!(err.sqlstate(), "0A000");
        let text = err.to_string();
        assert!(
            text.contains("events on ch") && text.contains("llm_requests on lake"),
            "{text}"
        );
    }
}
