//! The accept loop: one task per connection, a cap on connections, graceful shutdown,
//! and each connection's message loop.
//! Takes an already-bound listener so tests can bind port 0 in-process.

use std::future::Future;
use std::os::fd::AsFd;
use std::sync::Arc;

use futures::StreamExt;
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers};
use pgwire::messages::PgWireFrontendMessage;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Handlers, WRITE_BUFFER};

/// Serves connections until `shutdown` completes, then waits for open connections
/// to finish their current work.
pub async fn run(
    listener: TcpListener,
    frontend: Arc<Frontend>,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) {
    let handlers = Handlers(frontend);
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (socket, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: keep serving the others.
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: too many clients");
            refuse(socket).await;
            continue;
        };
        let _ = socket.set_nodelay(true);
        let handlers = handlers.clone();
        connections.spawn(async move {
            let watcher = match watch_departure(&socket) {
                Ok(watch) => {
                    let gone = CancellationToken::new();
                    handlers.0.expect_client(peer, gone.clone());
                    Some(tokio::spawn(wait_for_hangup(watch, gone)))
                }
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "cannot watch the socket for hang-ups");
                    None
                }
            };
            if let Err(e) = serve_connection(socket, handlers.clone()).await {
                // Garbage, truncated or oversized messages end only this connection.
                tracing::info!(%peer, error = %e, "connection closed on a protocol error");
            }
            // The watcher holds a second descriptor of the socket: close it too, or
            // the client would never see the connection end.
            if let Some(watcher) = watcher {
                watcher.abort();
            }
            handlers.0.forget_client(peer);
            drop(permit);
        });
    }
    tracing::info!(
        open = connections.len(),
        "shutting down; draining connections"
    );
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        tracing::info!("closing connections still open after the drain period");
    }
}

/// How long a client has to finish startup (as in pgwire's own loop).
const STARTUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// One client connection: pgwire's connection loop (`process_socket`), with our write
/// buffer size, and simple queries answered by the frontend itself (see
/// `frontend::send`). pgwire does the rest of the protocol.
async fn serve_connection(socket: TcpStream, handlers: Handlers) -> std::io::Result<()> {
    let startup_timeout = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_timeout);
    let negotiated = tokio::select! {
        _ = &mut startup_timeout => return Ok(()),
        negotiated = negotiate_tls(socket, None) => negotiated?,
    };
    // None: the client opened with a direct TLS handshake, which we do not serve.
    let Some(mut socket) = negotiated else {
        return Ok(());
    };
    socket.set_backpressure_boundary(WRITE_BUFFER);

    // The frontend plays every role; pgwire's defaults serve COPY and error hooks.
    let frontend = handlers.0.clone();
    let copy = handlers.copy_handler();
    let errors = handlers.error_handler();
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let message = if starting {
            tokio::select! {
                _ = &mut startup_timeout => None,
                message = socket.next() => message,
            }
        } else {
            socket.next().await
        };
        // End of stream, a read error or a Terminate ('X') ends the connection;
        // asyncpg waits for the socket to close after sending Terminate.
        let message = match message {
            Some(Ok(PgWireFrontendMessage::Terminate(_))) | Some(Err(_)) | None => break,
            Some(Ok(message)) => message,
        };
        let is_extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let ready = matches!(socket.state(), PgWireConnectionState::ReadyForQuery);
        let processed = match message {
            PgWireFrontendMessage::Query(query) if ready => {
                frontend.answer_simple_query(&mut socket, query).await
            }
            PgWireFrontendMessage::Execute(execute) if ready => {
                frontend.answer_execute(&mut socket, execute).await
            }
            message => {
                process_message(
                    message,
                    &mut socket,
                    frontend.clone(),
                    frontend.clone(),
                    frontend.clone(),
                    copy.clone(),
                    frontend.clone(),
                )
                .await
            }
        };
        if let Err(mut e) = processed {
            errors.on_error(&socket, &mut e);
            process_error(&mut socket, e, is_extended_query).await?;
        }
    }
    Ok(())
}

/// A second descriptor of the accepted connection that only ever peeks, to notice a
/// client that hangs up while its query is still running (pgwire reads the socket
/// only between messages). Shares the original's non-blocking mode.
fn watch_departure(socket: &TcpStream) -> std::io::Result<TcpStream> {
    let fd = socket.as_fd().try_clone_to_owned()?;
    TcpStream::from_std(std::net::TcpStream::from(fd))
}

/// Cancels `gone` once the client has closed its side (the peek reads end of file) or
/// the socket failed. Bytes waiting to be read mean the client is alive and has sent
/// its next message early; look again a little later.
async fn wait_for_hangup(watch: TcpStream, gone: CancellationToken) {
    let mut byte = [0u8; 1];
    loop {
        match watch.peek(&mut byte).await {
            Ok(0) | Err(_) => {
                gone.cancel();
                return;
            }
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

/// How long shutdown lets open connections finish before closing them.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A FATAL ErrorResponse with SQLSTATE 53300, as Postgres sends when full.
async fn refuse(mut socket: TcpStream) {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "53300"),
        (b'M', "sorry, too many clients already"),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    message.extend_from_slice(&body);
    let _ = socket.write_all(&message).await;
    let _ = socket.shutdown().await;
}
