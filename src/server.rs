//! The accept loop: one task per connection, a cap on connections, graceful shutdown;
//! and configuration reloads (SIGHUP, config-file changes) that swap the engine's
//! routing under open connections. Takes an already-bound listener so tests can bind
//! port 0 in-process.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::engine::Engine;
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

/// Reloads the configuration on SIGHUP and whenever `file`'s modification time
/// changes (checked every `poll`). `load` reads the configuration as at start
/// (file, environment, flags). A configuration that fails to load or validate, or
/// whose backends do not open, is logged and the running one kept. Runs forever.
pub async fn watch_config(
    file: Option<PathBuf>,
    load: impl Fn() -> crate::Result<Config>,
    engine: Arc<Engine>,
    poll: Duration,
) {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let modified = |file: &Option<PathBuf>| -> Option<SystemTime> {
        std::fs::metadata(file.as_ref()?)
            .and_then(|m| m.modified())
            .ok()
    };
    let mut seen = modified(&file);
    let mut tick = tokio::time::interval(poll);
    let running = load().ok();
    loop {
        let why = tokio::select! {
            Some(()) = async { hangup.as_mut()?.recv().await } => "SIGHUP",
            _ = tick.tick() => {
                let now = modified(&file);
                if now == seen {
                    continue;
                }
                seen = now;
                "configuration file changed"
            }
        };
        tracing::info!("{why}: reloading the configuration");
        let outcome = match load() {
            Ok(config) => {
                if let Some(running) = &running {
                    if (
                        &running.listen,
                        running.max_connections,
                        &running.metrics_listen,
                    ) != (
                        &config.listen,
                        config.max_connections,
                        &config.metrics_listen,
                    ) {
                        tracing::warn!(
                            "listen, max_connections and metrics_listen take effect on restart only"
                        );
                    }
                }
                engine.reload(&config).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::error!(error = %e, "reload failed; the running configuration stays");
        }
    }
}
