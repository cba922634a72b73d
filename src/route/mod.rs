//! Routing: which backend answers a query, decided from the tables it reads, and
//! which backend shadows it (runs it too, in the background, for comparison).
//! Synchronous and free of I/O, so every decision is unit-testable and explainable.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};

/// The routing table: table name (case kept) → its primary and optional shadow.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    tables: BTreeMap<String, TableRoute>,
    /// Answers queries that read no table (`SELECT 1`, `SELECT now()`).
    default_backend: String,
}

/// One table's routing.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRoute {
    pub primary: String,
    pub shadow: Option<ShadowRoute>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShadowRoute {
    pub backend: String,
    /// The share of queries shadowed, 0.0..=1.0.
    pub sample: f64,
}

/// A routing decision, printable for `EXPLAIN`-style output and logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub backend: String,
    pub reason: Reason,
    pub shadow: Shadow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Every table the query reads lives on this backend.
    Tables(Vec<String>),
    /// The query reads no table.
    NoTables,
}

/// Whether a query is shadowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Shadow {
    /// None of its tables has a shadow.
    None,
    /// Every table it reads shadows to this backend (sampled at the smallest rate).
    Run(ShadowRoute),
    /// Some tables have a shadow but the query cannot run on one backend: why.
    Skip(String),
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

impl fmt::Display for Shadow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shadow::None => f.write_str("none"),
            Shadow::Run(shadow) => write!(f, "{} (sample {})", shadow.backend, shadow.sample),
            Shadow::Skip(why) => write!(f, "none ({why})"),
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

    /// Routes `table` to `backend`, unshadowed.
    pub fn insert(&mut self, table: impl Into<String>, backend: impl Into<String>) {
        self.insert_route(
            table,
            TableRoute {
                primary: backend.into(),
                shadow: None,
            },
        );
    }

    pub fn insert_route(&mut self, table: impl Into<String>, route: TableRoute) {
        self.tables.insert(table.into(), route);
    }

    /// The primary backend of `table`.
    pub fn backend_of(&self, table: &str) -> Option<&str> {
        self.tables.get(table).map(|r| r.primary.as_str())
    }

    pub fn default_backend(&self) -> &str {
        &self.default_backend
    }

    /// Every table with its primary backend.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tables
            .iter()
            .map(|(t, r)| (t.as_str(), r.primary.as_str()))
    }

    /// Every table with its routing, sorted by name.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &TableRoute)> {
        self.tables.iter().map(|(t, r)| (t.as_str(), r))
    }

    /// Routes a query reading `tables`. Unknown tables are 42P01; tables on
    /// different backends are rejected rather than half-executed.
    pub fn route(&self, tables: &[String]) -> Result<Route> {
        if tables.is_empty() {
            return Ok(Route {
                backend: self.default_backend.clone(),
                reason: Reason::NoTables,
                shadow: Shadow::None,
            });
        }
        let mut placed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut shadows: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
        let mut sample = 1.0f64;
        for table in tables {
            let route = self
                .lookup(table)
                .ok_or_else(|| Error::UndefinedTable(table.clone()))?;
            placed.entry(&route.primary).or_default().push(table);
            let shadow = route.shadow.as_ref();
            shadows
                .entry(shadow.map(|s| s.backend.as_str()))
                .or_default()
                .push(table);
            sample = sample.min(shadow.map_or(1.0, |s| s.sample));
        }
        if placed.len() > 1 {
            return Err(Error::unsupported(
                format!(
                    "a query reading tables on different backends ({})",
                    spread(&placed)
                ),
                "switchyard",
            ));
        }
        let (backend, _) = placed.into_iter().next().expect("one backend");
        let shadow = match shadows.len() {
            1 => match shadows.into_keys().next().expect("one shadow") {
                None => Shadow::None,
                Some(shadow) => Shadow::Run(ShadowRoute {
                    backend: shadow.to_owned(),
                    sample,
                }),
            },
            _ => {
                let named: BTreeMap<&str, Vec<&str>> = shadows
                    .into_iter()
                    .map(|(shadow, tables)| (shadow.unwrap_or("no shadow"), tables))
                    .collect();
                Shadow::Skip(format!("its tables' shadows differ: {}", spread(&named)))
            }
        };
        Ok(Route {
            backend: backend.to_owned(),
            reason: Reason::Tables(tables.to_vec()),
            shadow,
        })
    }

    /// Exact name first; a qualified `db.t` (`public.t` from Postgres clients,
    /// `default.t` from ClickHouse ones) falls back to `t`.
    fn lookup(&self, table: &str) -> Option<&TableRoute> {
        self.tables.get(table).or_else(|| {
            let (_, bare) = table.split_once('.')?;
            self.tables.get(bare)
        })
    }

    /// The primary backend of `table` as a query writes it (qualified or not).
    pub fn primary_of(&self, table: &str) -> Option<&str> {
        self.lookup(table).map(|r| r.primary.as_str())
    }

    /// The routing table's own name for `table` as a query writes it (`default.t` →
    /// `t`), when that differs; backends know their tables by these names.
    pub fn routed_name(&self, table: &str) -> Option<&str> {
        if self.tables.contains_key(table) {
            return None;
        }
        let (_, bare) = table.split_once('.')?;
        self.tables
            .get_key_value(bare)
            .map(|(name, _)| name.as_str())
    }
}

/// `a, b on x; c on y`
fn spread(placed: &BTreeMap<&str, Vec<&str>>) -> String {
    placed
        .iter()
        .map(|(backend, tables)| format!("{} on {backend}", tables.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
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

    fn shadowed() -> RoutingTable {
        let mut routes = table();
        let shadow = |backend: &str, sample| {
            Some(ShadowRoute {
                backend: backend.into(),
                sample,
            })
        };
        for (name, primary, shadow) in [
            ("a", "ch", shadow("lake", 1.0)),
            ("b", "ch", shadow("lake", 0.25)),
            ("c", "ch", shadow("sr", 1.0)),
            ("d", "ch", None),
            ("e", "lake", shadow("ch", 1.0)),
        ] {
            routes.insert_route(
                name,
                TableRoute {
                    primary: primary.into(),
                    shadow,
                },
            );
        }
        routes
    }

    #[test]
    fn shadows_run_when_every_table_shares_one() {
        let routes = shadowed();
        let route = routes.route(&["a".into(), "b".into()]).unwrap();
        assert_eq!(route.backend, "ch");
        assert_eq!(route.shadow.to_string(), "lake (sample 0.25)");
        assert_eq!(routes.route(&["d".into()]).unwrap().shadow, Shadow::None);
        let mixed = routes.route(&["a".into(), "c".into(), "d".into()]).unwrap();
        assert_eq!(
            mixed.shadow.to_string(),
            "none (its tables' shadows differ: a on lake; d on no shadow; c on sr)"
        );
    }

    #[test]
    fn a_shadow_never_makes_a_cross_backend_query_legal() {
        // `a` shadows to lake and `e` lives there: still two primaries.
        let err = shadowed().route(&["a".into(), "e".into()]).unwrap_err();
        assert_eq!(err.sqlstate(), "0A000");
        assert!(err.to_string().contains("a on ch; e on lake"), "{err}");
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
