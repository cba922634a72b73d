//! Configuration: the TOML file, `SWITCHYARD_*` environment variables and CLI flags,
//! merged in that order of increasing precedence (the CLI owns the last two via clap).
//!
//! The routing table maps each table to a named primary backend, optionally with a
//! shadow backend that answers the same queries in the background for comparison
//! (`crate::shadow`). Backends are a tagged enum (`kind = "..."`) so new engines are
//! new variants; several of each kind may coexist. `validate` is what a reload runs
//! too: a file that fails it never replaces the running configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:5433";
pub const DEFAULT_DATA_DIR: &str = "switchyard-data";
pub const DEFAULT_DEMO_ROWS: usize = 1_000_000;
/// The backend that serves Delta tables found under `data_dir` when no
/// `[tables]` entry names them.
pub const LOCAL_BACKEND: &str = "local";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Rows of demo data to generate when `data_dir` holds no table (0 disables).
    #[serde(default = "default_demo_rows")]
    pub demo_rows: usize,
    /// Most simultaneous client connections; more are refused with SQLSTATE 53300.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// `127.0.0.1:9187`: serve Prometheus metrics at `GET /metrics` there.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// Most shadow queries running at once; a shadow that finds none free is skipped.
    #[serde(default = "default_shadow_concurrency")]
    pub shadow_concurrency: usize,
    /// Most rows per side a shadow comparison holds; larger results count as too_large.
    #[serde(default = "default_shadow_max_rows")]
    pub shadow_max_rows: usize,
    /// The SQL flavour a session starts in (`switchyard.dialect`): `auto` (each
    /// statement's markers decide; unmarked statements are Postgres), `clickhouse` or
    /// `postgres`.
    #[serde(default)]
    pub dialect: Option<String>,
    /// The starting flavour for sessions on a database name, or of a user: the first
    /// that names the session's database, then its user, wins over `dialect`.
    #[serde(default)]
    pub dialects: DialectDefaults,
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
}

/// `[dialects] databases = { clickhouse = "clickhouse" }, users = { grafana = "clickhouse" }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialectDefaults {
    #[serde(default)]
    pub databases: BTreeMap<String, String>,
    #[serde(default)]
    pub users: BTreeMap<String, String>,
}

impl DialectDefaults {
    /// The `switchyard.dialect` a session of `user` on `database` starts with, `global`
    /// (the config's `dialect`) failing a match, `auto` failing that.
    pub fn session_dialect(
        &self,
        global: Option<&str>,
        user: Option<&str>,
        database: Option<&str>,
    ) -> String {
        let by_database = database.and_then(|d| self.databases.get(d));
        let by_user = user.and_then(|u| self.users.get(u));
        by_database
            .or(by_user)
            .map(String::as_str)
            .or(global)
            .unwrap_or("auto")
            .to_owned()
    }
}

/// One named backend. The `kind` tag selects the engine.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BackendConfig {
    /// Apache DataFusion over Delta Lake tables; table locations come from `[tables]`.
    Delta {},
    /// StarRocks (or any MySQL-protocol server) over the MySQL protocol.
    Starrocks(StarRocksConfig),
    /// ClickHouse over its HTTP interface.
    Clickhouse(ClickHouseConfig),
}

/// `[backends.<name>] kind = "clickhouse"`. Durations are in seconds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    #[serde(default = "default_clickhouse_user")]
    pub user: String,
    #[serde(default)]
    pub password: Option<String>,
    /// The database holding the routed tables (the user's default if unset).
    #[serde(default)]
    pub database: Option<String>,
    /// Response compression: `none` or `lz4` (ignored for servers older than 21).
    #[serde(default)]
    pub compression: ClickHouseCompression,
    /// A query running longer is killed on the server and fails.
    #[serde(default = "default_clickhouse_timeout_secs")]
    pub timeout_secs: u64,
    /// How long discovered table schemas (system.tables/system.columns) are trusted.
    #[serde(default = "default_clickhouse_schema_ttl_secs")]
    pub schema_ttl_secs: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClickHouseCompression {
    #[default]
    None,
    Lz4,
}

/// `[backends.<name>] kind = "starrocks"`. Durations are in seconds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarRocksConfig {
    /// `mysql://user:password@host:9030/database`; the database holds the routed tables.
    pub url: String,
    /// Most pooled connections (queries beyond this wait for one, within `timeout_secs`).
    #[serde(default = "default_starrocks_pool_size")]
    pub pool_size: usize,
    /// A query (connect, run and stream) running longer is killed: SQLSTATE 57014.
    #[serde(default = "default_starrocks_timeout_secs")]
    pub timeout_secs: u64,
    /// Establishing a connection; a backend that is down fails its queries this fast.
    #[serde(default = "default_starrocks_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// How long discovered table schemas (information_schema) are trusted.
    #[serde(default = "default_starrocks_schema_ttl_secs")]
    pub schema_ttl_secs: u64,
}

impl BackendConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            BackendConfig::Delta {} => "delta",
            BackendConfig::Starrocks(_) => "starrocks",
            BackendConfig::Clickhouse(_) => "clickhouse",
        }
    }
}

/// Where a table lives: the backend that answers for it (`primary`, also spelled
/// `backend`), an optional shadow backend and, for Delta, its location.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The primary: the backend whose answers clients get.
    #[serde(rename = "primary", alias = "backend")]
    pub backend: String,
    /// Runs the same queries in the background and compares (`crate::shadow`).
    #[serde(default)]
    pub shadow: Option<String>,
    /// The share of queries shadowed, 0.0..=1.0 (default 1.0 when `shadow` is set).
    #[serde(default)]
    pub shadow_sample: Option<f64>,
    /// Delta table location: a directory path (relative paths are taken from the
    /// config file's directory). Serves whichever of primary and shadow is Delta.
    pub location: Option<String>,
    /// The shadow's Delta location when it differs from `location` (a copy of the
    /// table elsewhere, e.g. moving from local disk to object storage).
    #[serde(default)]
    pub shadow_location: Option<String>,
    /// What ClickHouse's `FROM t FINAL` means for this table on a backend without FINAL:
    /// `dedup = "on_write"` or `dedup = { key = ["id"], version = "updated_at",
    /// is_deleted = "is_deleted" }` (see `emit::DedupRule`).
    #[serde(default)]
    pub dedup: Option<crate::emit::DedupRule>,
}

impl TableConfig {
    /// Where the shadow reads a Delta table: `shadow_location`, else `location`.
    pub fn shadow_location(&self) -> &Option<String> {
        if self.shadow_location.is_some() {
            &self.shadow_location
        } else {
            &self.location
        }
    }
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_owned()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}
fn default_demo_rows() -> usize {
    DEFAULT_DEMO_ROWS
}
fn default_max_connections() -> usize {
    1024
}
fn default_shadow_concurrency() -> usize {
    8
}
fn default_shadow_max_rows() -> usize {
    10_000
}
fn default_starrocks_pool_size() -> usize {
    16
}
fn default_starrocks_timeout_secs() -> u64 {
    300
}
fn default_starrocks_connect_timeout_secs() -> u64 {
    10
}
fn default_starrocks_schema_ttl_secs() -> u64 {
    60
}
fn default_clickhouse_user() -> String {
    "default".to_owned()
}
fn default_clickhouse_timeout_secs() -> u64 {
    300
}
fn default_clickhouse_schema_ttl_secs() -> u64 {
    60
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            data_dir: default_data_dir(),
            demo_rows: default_demo_rows(),
            max_connections: default_max_connections(),
            metrics_listen: None,
            shadow_concurrency: default_shadow_concurrency(),
            shadow_max_rows: default_shadow_max_rows(),
            dialect: None,
            dialects: DialectDefaults::default(),
            backends: BTreeMap::new(),
            tables: BTreeMap::new(),
        }
    }
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Config> {
        toml::from_str(text).map_err(|e| Error::Config(e.to_string()))
    }

    /// Reads a config file; relative table locations and `data_dir` resolve
    /// against the file's directory, so a config works from any working directory.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let mut config = Config::from_toml(&text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        if config.data_dir.is_relative() {
            config.data_dir = base.join(&config.data_dir);
        }
        for table in config.tables.values_mut() {
            for location in [&mut table.location, &mut table.shadow_location]
                .into_iter()
                .flatten()
            {
                if !location.contains("://") && Path::new(location.as_str()).is_relative() {
                    *location = base.join(location.as_str()).display().to_string();
                }
            }
        }
        Ok(config)
    }

    /// Adds the implicit `local` Delta backend and checks that every table names
    /// backends that exist and has what they need. Errors name the table.
    pub fn validate(&mut self) -> Result<()> {
        self.backends
            .entry(LOCAL_BACKEND.to_owned())
            .or_insert(BackendConfig::Delta {});
        let dialects = self.dialect.iter().chain(self.dialects.databases.values());
        for value in dialects.chain(self.dialects.users.values()) {
            if crate::sql::DialectSetting::from_setting(value).is_none() {
                return Err(Error::Config(format!(
                    "dialect {value:?}: must be auto, clickhouse or postgres"
                )));
            }
        }
        if self.shadow_concurrency == 0 || self.shadow_max_rows == 0 {
            return Err(Error::Config(
                "shadow_concurrency and shadow_max_rows must be at least 1".into(),
            ));
        }
        for (name, table) in &self.tables {
            let fail = |what: String| Err(Error::Config(format!("table {name}: {what}")));
            let mut roles = vec![("primary", &table.backend, &table.location)];
            roles.extend(
                table
                    .shadow
                    .iter()
                    .map(|s| ("shadow", s, table.shadow_location())),
            );
            for (role, backend, location) in roles {
                match self.backends.get(backend) {
                    None => {
                        return fail(format!(
                            "{role} backend {backend:?} is not defined under [backends]"
                        ))
                    }
                    Some(BackendConfig::Delta {}) if location.is_none() => {
                        return fail(format!(
                            "{role} backend {backend:?} is Delta but the table has no location"
                        ))
                    }
                    Some(_) => {}
                }
            }
            if table.shadow.as_ref() == Some(&table.backend) {
                return fail(format!(
                    "shadow backend {:?} is its primary too",
                    table.backend
                ));
            }
            if table.shadow_location.is_some() && table.shadow.is_none() {
                return fail("shadow_location is set but shadow is not".into());
            }
            match (table.shadow_sample, &table.shadow) {
                (Some(_), None) => return fail("shadow_sample is set but shadow is not".into()),
                (Some(rate), _) if !(0.0..=1.0).contains(&rate) => {
                    return fail(format!("shadow_sample {rate} is not within 0.0..=1.0"))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_example_config() {
        let text = include_str!("../../deploy/switchyard.example.toml");
        let mut config = Config::from_toml(text).unwrap();
        config.validate().unwrap();
        assert!(config.backends.contains_key(LOCAL_BACKEND));
        assert!(!config.tables.is_empty());
    }

    #[test]
    fn defaults_apply_to_an_empty_file() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert_eq!(config.demo_rows, DEFAULT_DEMO_ROWS);
    }

    #[test]
    fn rejects_unknown_backend_kind_and_fields() {
        assert!(Config::from_toml("[backends.x]\nkind = \"oracle\"\n").is_err());
        assert!(Config::from_toml("listen_on = \"x\"\n").is_err());
    }

    #[test]
    fn rejects_a_route_to_a_missing_backend() {
        let mut config =
            Config::from_toml("[tables.t]\nbackend = \"nowhere\"\nlocation = \"/x\"\n").unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("nowhere") && err.contains("table t"), "{err}");
    }

    #[test]
    fn primary_and_backend_are_one_key() {
        let config = |text: &str| {
            let mut config = Config::from_toml(text)?;
            config.validate().map(|_| config)
        };
        let a = config("[tables.t]\nprimary = \"local\"\nlocation = \"/x\"\n").unwrap();
        let b = config("[tables.t]\nbackend = \"local\"\nlocation = \"/x\"\n").unwrap();
        assert_eq!(a.tables["t"], b.tables["t"]);
        assert!(config("[tables.t]\nprimary = \"local\"\nbackend = \"local\"\n").is_err());
    }

    #[test]
    fn shadow_settings_are_checked_per_table() {
        let check = |table: &str| {
            let text = format!(
                "[backends.ch]\nkind = \"clickhouse\"\nurl = \"http://x\"\n[tables.t]\n{table}\n"
            );
            let mut config = Config::from_toml(&text).unwrap();
            config.validate().map_err(|e| e.to_string())
        };
        check("primary = \"ch\"\nshadow = \"local\"\nlocation = \"/x\"\nshadow_sample = 0.5")
            .unwrap();
        for (table, needle) in [
            ("primary = \"ch\"\nshadow = \"local\"", "no location"),
            (
                "primary = \"ch\"\nshadow = \"nope\"",
                "\"nope\" is not defined",
            ),
            ("primary = \"ch\"\nshadow = \"ch\"", "its primary too"),
            ("primary = \"ch\"\nshadow_sample = 0.5", "shadow is not"),
            (
                "primary = \"ch\"\nshadow = \"local\"\nlocation = \"/x\"\nshadow_sample = 1.5",
                "not within",
            ),
        ] {
            let err = check(table).unwrap_err();
            assert!(
                err.contains("table t") && err.contains(needle),
                "{table}: {err}"
            );
        }
    }
}
