//! Per-connection session state: the settings clients read with SHOW and change with
//! SET, and which of them Postgres reports back as ParameterStatus. Never touches a
//! backend; values here shape how the frontend answers, not what backends compute.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// What `server_version` reports: Postgres 15 (what clients check for) plus who we are.
pub fn server_version() -> String {
    format!("15.8 (switchyard {})", env!("CARGO_PKG_VERSION"))
}

struct Setting {
    /// Spelling as Postgres shows it (`DateStyle`, `TimeZone`).
    name: &'static str,
    default: fn() -> String,
    /// Sent as ParameterStatus at startup and after a change (GUC_REPORT).
    reported: bool,
    read_only: bool,
}

const fn setting(
    name: &'static str,
    default: fn() -> String,
    reported: bool,
    read_only: bool,
) -> Setting {
    Setting {
        name,
        default,
        reported,
        read_only,
    }
}

/// The settings we know. Keys of the session map are lower-cased names.
const SETTINGS: &[Setting] = &[
    setting("server_version", server_version, true, true),
    setting("server_version_num", || "150008".into(), false, true),
    setting("server_encoding", || "UTF8".into(), true, true),
    setting("client_encoding", || "UTF8".into(), true, false),
    setting("DateStyle", || "ISO, MDY".into(), true, false),
    setting("IntervalStyle", || "postgres".into(), true, false),
    setting("TimeZone", || "UTC".into(), true, false),
    setting("integer_datetimes", || "on".into(), true, true),
    setting("standard_conforming_strings", || "on".into(), true, false),
    setting("application_name", String::new, true, false),
    setting("is_superuser", || "off".into(), true, true),
    setting("session_authorization", || "switchyard".into(), true, true),
    setting("in_hot_standby", || "off".into(), true, true),
    setting(
        "default_transaction_read_only",
        || "off".into(),
        true,
        false,
    ),
    setting("transaction_read_only", || "off".into(), false, false),
    setting("search_path", || "\"$user\", public".into(), false, false),
    setting("extra_float_digits", || "1".into(), false, false),
    setting(
        "transaction_isolation",
        || "read committed".into(),
        false,
        false,
    ),
    setting(
        "default_transaction_isolation",
        || "read committed".into(),
        false,
        false,
    ),
    setting("statement_timeout", || "0".into(), false, false),
    setting("lock_timeout", || "0".into(), false, false),
    setting(
        "idle_in_transaction_session_timeout",
        || "0".into(),
        false,
        false,
    ),
    setting("max_identifier_length", || "63".into(), false, true),
    setting("lc_collate", || "C.UTF-8".into(), false, true),
    setting("lc_ctype", || "C.UTF-8".into(), false, true),
    setting("lc_messages", || "C.UTF-8".into(), false, false),
    setting("lc_monetary", || "C.UTF-8".into(), false, false),
    setting("lc_numeric", || "C.UTF-8".into(), false, false),
    setting("lc_time", || "C.UTF-8".into(), false, false),
    setting("bytea_output", || "hex".into(), false, false),
    setting("client_min_messages", || "notice".into(), false, false),
    setting("row_security", || "on".into(), false, false),
    setting("jit", || "off".into(), false, false),
    setting("synchronous_commit", || "on".into(), false, false),
    setting("max_connections", || "1024".into(), false, true),
    setting("block_size", || "8192".into(), false, true),
    setting("switchyard.dialect", || "auto".into(), false, false),
];

fn known(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

#[derive(Debug, Clone)]
pub struct Session {
    values: BTreeMap<String, (String, String)>,
}

impl Default for Session {
    fn default() -> Self {
        let values = SETTINGS
            .iter()
            .map(|s| {
                (
                    s.name.to_ascii_lowercase(),
                    (s.name.to_owned(), (s.default)()),
                )
            })
            .collect();
        Session { values }
    }
}

/// A setting changed by SET; `reported` ones go back to the client as ParameterStatus.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub name: String,
    pub value: String,
    pub reported: bool,
}

impl Session {
    /// Startup packet parameters (`application_name`, `DateStyle`, `TimeZone`, …).
    /// Unknown or invalid ones are ignored, as the startup has no way to refuse them.
    pub fn apply_startup(&mut self, params: &BTreeMap<String, String>) {
        for (name, value) in params {
            if matches!(
                name.as_str(),
                "user" | "database" | "options" | "replication"
            ) {
                continue;
            }
            if let Some(setting) = known(name) {
                if !setting.read_only {
                    let _ = self.set(name, value);
                }
            }
        }
        if let Some(user) = params.get("user") {
            self.values.insert(
                "session_authorization".into(),
                ("session_authorization".into(), user.clone()),
            );
        }
    }

    pub fn get(&self, name: &str) -> Result<&str> {
        self.values
            .get(&name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| unrecognized(name))
    }

    /// Postgres-spelled name of a setting (`datestyle` → `DateStyle`).
    pub fn display_name(&self, name: &str) -> String {
        self.values
            .get(&name.to_ascii_lowercase())
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| name.to_owned())
    }

    pub fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.values().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Values reported at startup.
    pub fn reported(&self) -> Vec<(String, String)> {
        SETTINGS
            .iter()
            .filter(|s| s.reported)
            .map(|s| {
                let value = self.get(s.name).unwrap_or_default().to_owned();
                (s.name.to_owned(), value)
            })
            .collect()
    }

    pub fn set(&mut self, name: &str, value: &str) -> Result<Changed> {
        let lower = name.to_ascii_lowercase();
        let (display, reported) = match known(&lower) {
            Some(s) if s.read_only => {
                return Err(Error::Session {
                    code: "55P02",
                    message: format!("parameter \"{}\" cannot be changed", s.name),
                })
            }
            Some(s) => (s.name.to_owned(), s.reported),
            // Postgres accepts any two-part (`prefix.name`) custom setting.
            None if lower.contains('.') => (name.to_owned(), false),
            None => return Err(unrecognized(name)),
        };
        let value = validate(&lower, value)?;
        self.values.insert(lower, (display.clone(), value.clone()));
        Ok(Changed {
            name: display,
            value,
            reported,
        })
    }

    pub fn reset(&mut self, name: &str) -> Result<Changed> {
        let default = known(name)
            .map(|s| (s.default)())
            .ok_or_else(|| unrecognized(name))?;
        self.set(name, &default)
    }

    pub fn reset_all(&mut self) -> Vec<Changed> {
        SETTINGS
            .iter()
            .filter(|s| !s.read_only)
            .filter_map(|s| self.set(s.name, &(s.default)()).ok())
            .collect()
    }
}

fn unrecognized(name: &str) -> Error {
    Error::Session {
        code: "42704",
        message: format!("unrecognized configuration parameter \"{name}\""),
    }
}

/// Refuses values we could not honour exactly rather than answering in another way.
fn validate(name: &str, value: &str) -> Result<String> {
    match name {
        "client_encoding" => match value.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
            "UTF8" | "UNICODE" => Ok("UTF8".into()),
            _ => Err(Error::unsupported(
                format!("client_encoding {value} (only UTF8 is served)"),
                "switchyard",
            )),
        },
        "standard_conforming_strings" => match value.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" => Ok("on".into()),
            _ => Err(Error::unsupported(
                "standard_conforming_strings = off",
                "switchyard",
            )),
        },
        "datestyle" => {
            let upper = value.to_ascii_uppercase();
            if upper.contains("ISO") || !upper.chars().any(|c| c.is_ascii_alphabetic()) {
                Ok(value.to_owned())
            } else if ["MDY", "DMY", "YMD", "US", "EUROPEAN", "NONEURO"]
                .iter()
                .any(|order| upper.trim() == *order)
            {
                // Only the field order changed; output stays ISO.
                Ok(format!("ISO, {}", upper.trim()))
            } else {
                Err(Error::unsupported(
                    format!("DateStyle {value} (only ISO output is served)"),
                    "switchyard",
                ))
            }
        }
        "switchyard.dialect" => match value.to_ascii_lowercase().as_str() {
            v @ ("clickhouse" | "postgres" | "auto") => Ok(v.to_owned()),
            _ => Err(Error::InvalidParameter(format!(
                "switchyard.dialect must be 'clickhouse', 'postgres' or 'auto', not '{value}'"
            ))),
        },
        _ => Ok(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_postgres_15_at_startup() {
        let session = Session::default();
        let reported: BTreeMap<_, _> = session.reported().into_iter().collect();
        assert!(reported["server_version"].starts_with("15."));
        assert!(reported["server_version"].contains("switchyard"));
        assert_eq!(reported["DateStyle"], "ISO, MDY");
        assert_eq!(reported["TimeZone"], "UTC");
        assert_eq!(reported["integer_datetimes"], "on");
        assert_eq!(reported["standard_conforming_strings"], "on");
        assert_eq!(reported["client_encoding"], "UTF8");
    }

    #[test]
    fn set_and_show_are_case_insensitive_and_report() {
        let mut session = Session::default();
        let changed = session.set("APPLICATION_NAME", "grafana").unwrap();
        assert_eq!(changed.name, "application_name");
        assert!(changed.reported);
        assert_eq!(session.get("application_name").unwrap(), "grafana");
        assert_eq!(session.display_name("datestyle"), "DateStyle");
    }

    #[test]
    fn refuses_what_cannot_be_honoured() {
        let mut session = Session::default();
        assert_eq!(
            session
                .set("client_encoding", "LATIN1")
                .unwrap_err()
                .sqlstate(),
            "0A000"
        );
        assert!(session.set("server_version", "9").is_err());
        assert!(session.set("no_such_setting", "1").is_err());
        assert!(session.set("myapp.custom", "1").is_ok());
        assert!(session.set("switchyard.dialect", "mysql").is_err());
    }

    #[test]
    fn reset_restores_defaults() {
        let mut session = Session::default();
        session.set("extra_float_digits", "3").unwrap();
        session.reset("extra_float_digits").unwrap();
        assert_eq!(session.get("extra_float_digits").unwrap(), "1");
    }

    #[test]
    fn startup_parameters_apply() {
        let mut session = Session::default();
        let params = BTreeMap::from([
            ("user".to_owned(), "alice".to_owned()),
            ("application_name".to_owned(), "psql".to_owned()),
            ("client_encoding".to_owned(), "UTF8".to_owned()),
        ]);
        session.apply_startup(&params);
        assert_eq!(session.get("application_name").unwrap(), "psql");
        assert_eq!(session.get("session_authorization").unwrap(), "alice");
    }
}
