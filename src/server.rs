//! The accept loop: one task per connection, a cap on connections, graceful shutdown.
//! Takes an already-bound listener so tests can bind port 0 in-process.

use std::future::Future;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::frontend::{Frontend, Handlers};

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
            if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
                // Garbage, truncated or oversized messages end only this connection.
                tracing::info!(%peer, error = %e, "connection closed on a protocol error");
            }
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
