//! Answers the connection loop sends itself rather than through pgwire: simple
//! queries, and Executes that want every row. The messages are the ones pgwire would
//! send, but result rows reach the socket's write buffer a slice of complete messages
//! at a time (`encode::with_packed_rows`) instead of one Sink call per row, which was
//! a quarter of the cost of streaming a large result. Row-limited Executes keep
//! pgwire's portal suspension.

use futures::{SinkExt, StreamExt};
use pgwire::api::portal::PortalExecutionState;
use pgwire::api::query::{
    send_execution_response, send_ready_for_query, ExtendedQueryHandler, SimpleQueryHandler,
};
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, DEFAULT_NAME};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::RowDescription;
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::response::EmptyQueryResponse;
use pgwire::messages::simplequery::Query;
use pgwire::messages::PgWireBackendMessage;
use pgwire::tokio::server::{MaybeTls, PgWireMessageServerCodec};
use tokio_util::codec::Framed;

use super::datarow;
use super::encode;
use super::prepared::Prepared;
use super::{to_pg_error, Frontend};
use crate::error::Error;

/// A client connection as the connection loop holds it.
pub type Socket = Framed<MaybeTls, PgWireMessageServerCodec<Prepared>>;

/// Bytes of outgoing messages buffered before a write. pgwire's default, 8 KiB, costs
/// a system call per hundred rows or so of a large result; results smaller than this
/// still go out at the end of each response.
pub const WRITE_BUFFER: usize = 256 * 1024;

impl Frontend {
    /// Answers a simple Query message, as pgwire's `on_query` would.
    pub async fn answer_simple_query(&self, socket: &mut Socket, query: Query) -> PgWireResult<()> {
        if !matches!(socket.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let mut status = socket.transaction_status();
        socket.set_state(PgWireConnectionState::QueryInProgress);
        // Only semicolons and blanks: Postgres answers EmptyQueryResponse.
        if query.query.chars().all(|c| c == ';' || c.is_whitespace()) {
            socket
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        } else {
            let responses =
                encode::with_packed_rows(SimpleQueryHandler::do_query(self, socket, &query.query))
                    .await?;
            for response in responses {
                match response {
                    Response::EmptyQuery => {
                        socket
                            .feed(PgWireBackendMessage::EmptyQueryResponse(
                                EmptyQueryResponse::new(),
                            ))
                            .await?
                    }
                    Response::Query(results) => send_rows(socket, results, true).await?,
                    Response::Execution(tag) => send_execution_response(socket, tag).await?,
                    Response::TransactionStart(tag) => {
                        send_execution_response(socket, tag).await?;
                        status = status.to_in_transaction_state();
                    }
                    Response::TransactionEnd(tag) => {
                        send_execution_response(socket, tag).await?;
                        status = status.to_idle_state();
                    }
                    Response::Error(e) => {
                        socket
                            .feed(PgWireBackendMessage::ErrorResponse((*e).into()))
                            .await?;
                        status = status.to_error_state();
                    }
                    Response::CopyIn(_) | Response::CopyOut(_) | Response::CopyBoth(_) => {
                        return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                            "ERROR".into(),
                            "0A000".into(),
                            "COPY is not supported by switchyard".into(),
                        ))));
                    }
                }
            }
        }
        socket.set_state(PgWireConnectionState::ReadyForQuery);
        socket.set_transaction_status(status);
        send_ready_for_query(socket, status).await
    }
}

impl Frontend {
    /// Answers an Execute. One that wants every row of a query portal streams it here
    /// (pgwire's default would collect every row before sending the first); others
    /// go to pgwire.
    pub async fn answer_execute(&self, socket: &mut Socket, message: Execute) -> PgWireResult<()> {
        let portal_name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match socket.portal_store().get_portal(portal_name) {
            Some(Entry::Value(portal))
                if message.max_rows == 0
                    && matches!(portal.statement.statement, Prepared::Query { .. })
                    && matches!(socket.state(), PgWireConnectionState::ReadyForQuery)
                    && matches!(*portal.state().lock().await, PortalExecutionState::Initial) =>
            {
                portal
            }
            _ => return self.on_execute(socket, message).await,
        };
        let response = encode::with_packed_rows(ExtendedQueryHandler::do_query(
            self,
            socket,
            portal.as_ref(),
            0,
        ))
        .await?;
        let Response::Query(results) = response else {
            return Err(to_pg_error(&Error::internal(
                "a query answered without rows",
            )));
        };
        // The portal's rows were described at Describe, not here.
        send_rows(socket, results, false).await?;
        *portal.state().lock().await = PortalExecutionState::Finished;
        Ok(())
    }
}

/// [RowDescription,] the rows, CommandComplete: pgwire's `send_query_response`, with
/// packed items copied into the write buffer as they are.
async fn send_rows(
    socket: &mut Socket,
    mut results: QueryResponse,
    describe: bool,
) -> PgWireResult<()> {
    if describe {
        let fields = results.row_schema();
        let description = RowDescription::new(fields.iter().map(Into::into).collect());
        socket
            .feed(PgWireBackendMessage::RowDescription(description))
            .await?;
    }
    let tag = results.command_tag().to_owned();
    let rows = results.data_rows();
    let mut sent = 0;
    while let Some(row) = rows.next().await {
        let row = row?;
        match datarow::unpack(&row) {
            Some((count, messages)) => {
                socket.write_buffer_mut().extend_from_slice(messages);
                sent += count;
            }
            None => {
                socket.feed(PgWireBackendMessage::DataRow(row)).await?;
                sent += 1;
            }
        }
        // Like Framed's own backpressure: write out once the buffer is full, and wait
        // for the client to take it.
        if socket.write_buffer().len() >= WRITE_BUFFER {
            socket.flush().await?;
        }
    }
    let tag = Tag::new(&tag).with_rows(sent);
    socket
        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
        .await?;
    Ok(())
}
