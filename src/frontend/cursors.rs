//! SQL cursors: `DECLARE name CURSOR FOR query`, `FETCH [FORWARD n | NEXT | ALL] FROM
//! name`, `CLOSE name | ALL` — what psql's FETCH_COUNT and psycopg's named cursors send
//! to read a large result in slices. A cursor is the query's running result stream;
//! each FETCH takes the next rows from it, so nothing is materialised, and the backend
//! query ends when the cursor is closed or its transaction ends.
//!
//! Cursors only move forward (backends stream, they do not rewind): SCROLL and the
//! backward/absolute directions are rejected with 0A000.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use futures::StreamExt;
use pgwire::messages::response::TransactionStatus;
use sqlparser::ast::{CloseCursor, Declare, FetchDirection, Ident, Statement, Value};
use tokio::sync::Mutex;

use crate::backend::{BatchStream, ResultStream};
use crate::error::{Error, Result};

/// The open cursors of one connection, by name (Postgres folds unquoted names).
#[derive(Default)]
pub struct Cursors {
    open: HashMap<String, Open>,
}

struct Open {
    /// WITH HOLD: survives the end of the transaction that declared it.
    hold: bool,
    rows: Arc<Mutex<Rows>>,
}

/// The unread rest of a result: the stream, and the part of a batch a FETCH left over.
struct Rows {
    schema: SchemaRef,
    batches: BatchStream,
    leftover: Option<RecordBatch>,
}

/// How many rows a FETCH asks for (`None`: all that remain).
pub type Count = Option<usize>;

impl Cursors {
    pub fn declare(&mut self, name: &Ident, hold: bool, result: ResultStream) -> Result<()> {
        let key = fold(name);
        if self.open.contains_key(&key) {
            return Err(Error::Session {
                code: "42P03",
                message: format!("cursor \"{key}\" already exists"),
            });
        }
        let rows = Rows {
            schema: result.schema,
            batches: result.batches,
            leftover: None,
        };
        self.open.insert(
            key,
            Open {
                hold,
                rows: Arc::new(Mutex::new(rows)),
            },
        );
        Ok(())
    }

    /// The next `count` rows of cursor `name`, streamed from the backend's result.
    pub fn fetch(&self, name: &Ident, count: Count) -> Result<ResultStream> {
        let key = fold(name);
        let open = self.open.get(&key).ok_or_else(|| undefined(&key))?;
        let rows = open.rows.clone();
        let schema = self.schema(name)?;
        let batches = futures::stream::unfold(
            (rows, count.unwrap_or(usize::MAX)),
            |(rows, wanted)| async move {
                if wanted == 0 {
                    return None;
                }
                let next = rows.lock().await.take(wanted).await;
                match next {
                    Ok(Some(batch)) => {
                        let left = wanted - batch.num_rows();
                        Some((Ok(batch), (rows, left)))
                    }
                    Ok(None) => None,
                    Err(e) => Some((Err(e), (rows, 0))),
                }
            },
        );
        Ok(ResultStream {
            schema,
            batches: Box::pin(batches),
        })
    }

    pub fn close(&mut self, which: &CloseCursor) -> Result<()> {
        match which {
            CloseCursor::All => self.open.clear(),
            CloseCursor::Specific { name } => {
                let key = fold(name);
                self.open.remove(&key).ok_or_else(|| undefined(&key))?;
            }
        }
        Ok(())
    }

    /// The columns cursor `name` returns (what Describe of a FETCH answers).
    pub fn schema(&self, name: &Ident) -> Result<SchemaRef> {
        self.schema_of_portal(&fold(name))
            .ok_or_else(|| undefined(&fold(name)))?
    }

    /// A cursor is also a protocol-level portal of the same (exact) name: psycopg
    /// describes its server-side cursors that way.
    pub fn schema_of_portal(&self, key: &str) -> Option<Result<SchemaRef>> {
        let open = self.open.get(key)?;
        Some(match open.rows.try_lock() {
            Ok(rows) => Ok(rows.schema.clone()),
            Err(_) => Err(busy(key)),
        })
    }

    /// The transaction ended: cursors without HOLD go with it.
    pub fn end_transaction(&mut self) {
        self.open.retain(|_, open| open.hold);
    }
}

impl Rows {
    /// At most `wanted` (> 0) rows: the leftover first, then the next batch.
    async fn take(&mut self, wanted: usize) -> Result<Option<RecordBatch>> {
        let batch = match self.leftover.take() {
            Some(batch) => batch,
            None => loop {
                match self.batches.next().await {
                    Some(Ok(batch)) if batch.num_rows() == 0 => continue,
                    Some(Ok(batch)) => break batch,
                    Some(Err(e)) => return Err(e),
                    None => return Ok(None),
                }
            },
        };
        if batch.num_rows() <= wanted {
            return Ok(Some(batch));
        }
        self.leftover = Some(batch.slice(wanted, batch.num_rows() - wanted));
        Ok(Some(batch.slice(0, wanted)))
    }
}

/// The one cursor a DECLARE statement opens, checked against what switchyard can honour
/// and against the transaction state (`status`): only WITH HOLD cursors live outside a
/// transaction block.
pub fn declaration(statement: &Statement, status: TransactionStatus) -> Result<&Declare> {
    let Statement::Declare { stmts, .. } = statement else {
        return Err(Error::internal("not a DECLARE"));
    };
    let [declare] = stmts.as_slice() else {
        return Err(Error::unsupported(
            "DECLARE of several cursors",
            "switchyard",
        ));
    };
    check_declare(declare)?;
    if declare.hold != Some(true) && status != TransactionStatus::Transaction {
        return Err(Error::Session {
            code: "25P01",
            message: "DECLARE CURSOR can only be used in transaction blocks".into(),
        });
    }
    Ok(declare)
}

/// The cursor options switchyard can honour; the rest are 0A000.
fn check_declare(declare: &Declare) -> Result<()> {
    let mut unsupported = Vec::new();
    if declare.scroll == Some(true) {
        unsupported.push("SCROLL cursors (results stream forward only)");
    }
    if declare.binary == Some(true) {
        unsupported.push("BINARY cursors");
    }
    if declare.for_query.is_none() || declare.names.len() != 1 {
        unsupported.push("DECLARE without a single cursor name and FOR query");
    }
    if unsupported.is_empty() {
        Ok(())
    } else {
        Err(Error::Unsupported {
            constructs: unsupported.into_iter().map(String::from).collect(),
            backend: "switchyard".into(),
        })
    }
}

/// The row count of a forward FETCH direction.
pub fn fetch_count(direction: &FetchDirection) -> Result<Count> {
    let number = |limit: &sqlparser::ast::ValueWithSpan| match &limit.value {
        Value::Number(n, _) => n.parse::<i64>().ok(),
        _ => None,
    };
    let count = match direction {
        FetchDirection::Next => Some(1),
        FetchDirection::Forward { limit: None } => Some(1),
        FetchDirection::All | FetchDirection::ForwardAll => return Ok(None),
        FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
            number(limit)
        }
        _ => None,
    };
    // FORWARD 0 re-reads the current row, which a stream no longer has.
    match count {
        Some(n) if n > 0 => Ok(Some(n as usize)),
        _ => Err(Error::unsupported(
            format!("FETCH {direction} (cursors move forward only)"),
            "switchyard",
        )),
    }
}

fn fold(name: &Ident) -> String {
    match name.quote_style {
        Some(_) => name.value.clone(),
        None => name.value.to_lowercase(),
    }
}

fn undefined(name: &str) -> Error {
    Error::Session {
        code: "34000",
        message: format!("cursor \"{name}\" does not exist"),
    }
}

fn busy(name: &str) -> Error {
    Error::Session {
        code: "55006",
        message: format!("cursor \"{name}\" is in use"),
    }
}
