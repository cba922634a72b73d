//! Prometheus metrics: queries and errors per backend, and the shadow-read report, in
//! the text exposition format at `GET /metrics` on `metrics_listen`. The responder is a
//! few lines over tokio: one request per connection, nothing else served.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::engine::Engine;
use crate::shadow::Outcome;

/// Counters that survive reloads.
#[derive(Default)]
pub struct Metrics {
    /// backend → (queries started, queries failed).
    queries: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl Metrics {
    pub fn query(&self, backend: &str) {
        self.queries
            .lock()
            .unwrap()
            .entry(backend.to_owned())
            .or_default()
            .0 += 1;
    }

    pub fn error(&self, backend: &str) {
        self.queries
            .lock()
            .unwrap()
            .entry(backend.to_owned())
            .or_default()
            .1 += 1;
    }

    pub fn queries(&self) -> BTreeMap<String, (u64, u64)> {
        self.queries.lock().unwrap().clone()
    }
}

/// The exposition text.
pub fn render(engine: &Engine) -> String {
    let mut out = String::new();
    let queries = engine.metrics().queries();
    let _ = writeln!(
        out,
        "# HELP switchyard_queries_total Queries sent to each backend (primaries).\n\
         # TYPE switchyard_queries_total counter"
    );
    for (backend, (total, _)) in &queries {
        let _ = writeln!(
            out,
            "switchyard_queries_total{{backend=\"{}\"}} {total}",
            label(backend)
        );
    }
    let _ = writeln!(
        out,
        "# HELP switchyard_query_errors_total Queries that failed on each backend.\n\
         # TYPE switchyard_query_errors_total counter"
    );
    for (backend, (_, errors)) in &queries {
        let _ = writeln!(
            out,
            "switchyard_query_errors_total{{backend=\"{}\"}} {errors}",
            label(backend)
        );
    }
    let report = engine.shadow_report().snapshot();
    let _ = writeln!(
        out,
        "# HELP switchyard_shadow_queries_total Shadow reads by query fingerprint and outcome.\n\
         # TYPE switchyard_shadow_queries_total counter"
    );
    for (key, stats) in &report {
        for outcome in Outcome::ALL {
            let _ = writeln!(
                out,
                "switchyard_shadow_queries_total{{fingerprint=\"{}\",primary=\"{}\",shadow=\"{}\",outcome=\"{}\"}} {}",
                label(&key.fingerprint),
                label(&key.primary),
                label(&key.shadow),
                outcome.name(),
                stats.count(outcome)
            );
        }
    }
    for (name, help) in [
        ("sum", "Total seconds"),
        ("count", "Queries timed"),
        ("max", "Slowest query, seconds,"),
    ] {
        let kind = if name == "max" { "gauge" } else { "counter" };
        let _ = writeln!(
            out,
            "# HELP switchyard_shadow_latency_seconds_{name} {help} per side of shadowed queries.\n\
             # TYPE switchyard_shadow_latency_seconds_{name} {kind}"
        );
        for (key, stats) in &report {
            for (side, latency) in [
                ("primary", &stats.primary_latency),
                ("shadow", &stats.shadow_latency),
            ] {
                let value = match name {
                    "sum" => latency.sum.as_secs_f64().to_string(),
                    "count" => latency.count.to_string(),
                    _ => latency.max.as_secs_f64().to_string(),
                };
                let _ = writeln!(
                    out,
                    "switchyard_shadow_latency_seconds_{name}{{fingerprint=\"{}\",side=\"{side}\"}} {value}",
                    label(&key.fingerprint)
                );
            }
        }
    }
    out
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Answers `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, engine: Arc<Engine>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let engine = engine.clone();
        tokio::spawn(async move {
            // A client that never finishes its request only holds its own task.
            let _ = tokio::time::timeout(Duration::from_secs(10), respond(socket, &engine)).await;
        });
    }
}

async fn respond(mut socket: TcpStream, engine: &Engine) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let mut words = line.split_whitespace();
    let (status, body) = match (words.next(), words.next()) {
        (Some("GET"), Some("/metrics")) => ("200 OK", render(engine)),
        (Some("GET"), _) => ("404 Not Found", "not found: try /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "GET only\n".to_owned()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body.as_bytes()).await?;
    socket.shutdown().await
}
