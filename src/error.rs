//! The crate's error type. Every area returns `Error`; the frontend maps it to a
//! Postgres ErrorResponse exactly once (see `Error::sqlstate`).

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The statement does not parse. `position` is a 1-based character offset
    /// into the statement text, as Postgres reports it.
    #[error("syntax error: {message}")]
    Syntax {
        message: String,
        position: Option<usize>,
    },
    #[error("relation \"{0}\" does not exist")]
    UndefinedTable(String),
    #[error("column {0} does not exist")]
    UndefinedColumn(String),
    #[error("function {0} does not exist")]
    UndefinedFunction(String),
    /// Constructs that cannot be expressed exactly on `backend`, reported together.
    #[error("{}", unsupported_message(.constructs, .backend))]
    Unsupported {
        constructs: Vec<String>,
        backend: String,
    },
    #[error("invalid parameter value: {0}")]
    InvalidParameter(String),
    /// Session-level refusals with their own SQLSTATE (25P02 aborted transaction,
    /// 42704 unknown setting, 55P02 read-only setting, …).
    #[error("{message}")]
    Session { code: &'static str, message: String },
    #[error("canceling statement due to user request")]
    Cancelled,
    /// The backend failed: its own error (its code kept in the message, mapped onto the
    /// nearest Postgres SQLSTATE), or it could not be reached (08001, as postgres_fdw says).
    #[error("{backend}: {message}")]
    Backend {
        backend: String,
        sqlstate: &'static str,
        message: String,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn unsupported_message(constructs: &[String], backend: &str) -> String {
    format!(
        "not supported on backend {backend}: {}",
        constructs.join("; ")
    )
}

impl Error {
    pub fn unsupported(construct: impl fmt::Display, backend: impl fmt::Display) -> Self {
        Error::Unsupported {
            constructs: vec![construct.to_string()],
            backend: backend.to_string(),
        }
    }

    /// A backend failure with no more specific SQLSTATE than XX000.
    pub fn backend(backend: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Backend {
            backend: backend.into(),
            sqlstate: "XX000",
            message: message.into(),
        }
    }

    /// The backend cannot be reached; only the queries routed to it fail.
    pub fn unavailable(backend: impl Into<String>, why: impl fmt::Display) -> Self {
        Error::Backend {
            backend: backend.into(),
            sqlstate: "08001",
            message: format!("backend unavailable: {why}"),
        }
    }

    /// The same error attributed to the named backend (errors are built before the
    /// backend's configured name is known).
    pub fn on_backend(self, name: &str) -> Self {
        match self {
            Error::Backend {
                sqlstate, message, ..
            } => Error::Backend {
                backend: name.to_owned(),
                sqlstate,
                message,
            },
            other => other,
        }
    }

    pub fn internal(e: impl fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    /// The Postgres SQLSTATE for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Error::Syntax { .. } => "42601",
            Error::UndefinedTable(_) => "42P01",
            Error::UndefinedColumn(_) => "42703",
            Error::UndefinedFunction(_) => "42883",
            Error::Unsupported { .. } => "0A000",
            Error::InvalidParameter(_) => "22023",
            Error::Session { code, .. } => code,
            Error::Cancelled => "57014",
            Error::Backend { sqlstate, .. } => sqlstate,
            Error::Config(_) => "F0000",
            Error::Internal(_) => "XX000",
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Internal(e.to_string())
    }
}
