//! Running one corpus query: directly on ClickHouse over HTTP (`param_<name>=` URL
//! parameters, TabSeparatedWithNames), and through switchyard with the extended protocol
//! (Parse + Describe to learn the parameter count, Parse again declaring every parameter
//! `text`, Bind the params.json texts, Execute) on a raw connection. Raw because
//! tokio-postgres always asks for binary results: text results read every type alike,
//! the way `simple_query` rows do in the differential suite.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use switchyard::shadow::compare::{cell, Cell, Rows};

use crate::raw::{Message, Raw};

/// How long one query may take on one side.
const QUERY_TIMEOUT: Duration = Duration::from_secs(120);
const TEXT_OID: u32 = 25;

/// One side's answer.
#[derive(Debug, Clone)]
pub enum Outcome {
    Rows {
        columns: usize,
        rows: Rows,
    },
    /// SQLSTATE 0A000: switchyard names the construct it cannot translate exactly.
    Refused(String),
    /// Anything else: `code: message`.
    Failed(String),
}

/// `{name:Type}` parameters in order of first appearance (switchyard's `$1, $2, …`).
pub fn parameter_names(sql: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for tok in super::sqltext::tokens(sql) {
        if let super::sqltext::Tok::Param(name, _) = tok {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The query run by ClickHouse itself, its parameters bound by the server
/// (`param_<name>=` in the URL, as dashboards send them).
pub async fn direct(url: &str, sql: &str, params: &[(String, String)]) -> Outcome {
    match tokio::time::timeout(QUERY_TIMEOUT, http_query(url, sql, params)).await {
        Err(_) => Outcome::Failed("timed out".into()),
        Ok(Err(e)) => Outcome::Failed(e),
        Ok(Ok(text)) => {
            let mut lines = text.lines();
            let columns = lines.next().map_or(0, |names| names.split('\t').count());
            let rows = lines
                .map(|line| line.split('\t').map(tsv_cell).collect())
                .collect();
            Outcome::Rows { columns, rows }
        }
    }
}

/// POSTs `sql` over plain HTTP/1.1. Not the `clickhouse` crate: it sends parameters as a
/// multipart body, which the chdb shim does not read.
async fn http_query(url: &str, sql: &str, params: &[(String, String)]) -> Result<String, String> {
    let host = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs"))?
        .trim_end_matches('/');
    let mut target = "/?default_format=TabSeparatedWithNames".to_owned();
    for (name, value) in params {
        target.push_str(&format!(
            "&param_{}={}",
            crate::clickhouse::percent_encode(name),
            crate::clickhouse::percent_encode(value)
        ));
    }
    let mut stream = TcpStream::connect(host)
        .await
        .map_err(|e| format!("{host}: {e}"))?;
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sql}",
        sql.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header")?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body = &response[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_vec()
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    // A failure mid-stream is appended to the rows.
    let failed = body.lines().last().is_some_and(|l| l.starts_with("Code: "));
    if !head.starts_with("http/1.1 200") || failed {
        return Err(body.trim().lines().last().unwrap_or(&head).to_owned());
    }
    Ok(body)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        let rest = &body[eol + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
    }
    out
}

fn tsv_cell(field: &str) -> Cell {
    if field == "\\N" {
        return Cell::Null;
    }
    cell(Some(&crate::differential::unescape_tsv(field)))
}

/// A Postgres connection speaking the extended protocol by hand.
pub struct Pg {
    stream: TcpStream,
}

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Parse with every parameter declared `text` (`Raw::parse` declares none).
fn parse_typed(sql: &str, parameters: usize) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend_from_slice(sql.as_bytes());
    body.push(0);
    body.extend_from_slice(&(parameters as i16).to_be_bytes());
    for _ in 0..parameters {
        body.extend_from_slice(&TEXT_OID.to_be_bytes());
    }
    frame(b'P', &body)
}

fn error(message: &Message) -> Outcome {
    let code = message.field(b'C').unwrap_or_default();
    let text = message.field(b'M').unwrap_or_default();
    if code == "0A000" {
        Outcome::Refused(text)
    } else {
        Outcome::Failed(format!("{code}: {text}"))
    }
}

impl Pg {
    pub async fn connect(addr: SocketAddr) -> Pg {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connect to switchyard");
        let mut pg = Pg { stream };
        let mut body = 196_608i32.to_be_bytes().to_vec();
        for part in [
            "user",
            "tester",
            "database",
            "clickhouse",
            "application_name",
            "it-corpus",
            "",
        ] {
            body.extend_from_slice(part.as_bytes());
            body.push(0);
        }
        let mut packet = (body.len() as i32 + 4).to_be_bytes().to_vec();
        packet.extend_from_slice(&body);
        let startup = pg.exchange(&packet).await.expect("startup");
        assert!(startup.iter().all(|m| m.tag != b'E'), "startup refused");
        pg
    }

    /// Sends `bytes` and reads through the next ReadyForQuery.
    async fn exchange(&mut self, bytes: &[u8]) -> Option<Vec<Message>> {
        self.stream.write_all(bytes).await.ok()?;
        let mut out = Vec::new();
        loop {
            let mut header = [0u8; 5];
            self.stream.read_exact(&mut header).await.ok()?;
            let len = i32::from_be_bytes(header[1..5].try_into().unwrap()) as usize;
            let mut body = vec![0u8; len - 4];
            self.stream.read_exact(&mut body).await.ok()?;
            let message = Message {
                tag: header[0],
                body,
            };
            let done = message.tag == b'Z';
            out.push(message);
            if done {
                return Some(out);
            }
        }
    }

    /// Prepares `sql` to learn its parameter count, then runs it with `values` bound as
    /// text in that order.
    pub async fn run(&mut self, sql: &str, values: &[String]) -> Outcome {
        match tokio::time::timeout(QUERY_TIMEOUT, self.run_inner(sql, values)).await {
            Ok(outcome) => outcome,
            // The connection is mid-answer now: the caller reconnects.
            Err(_) => Outcome::Failed("timed out".into()),
        }
    }

    async fn run_inner(&mut self, sql: &str, values: &[String]) -> Outcome {
        let mut prepare = Raw::parse("", sql);
        prepare.extend(Raw::describe(b'S', ""));
        prepare.extend(Raw::sync());
        let Some(described) = self.exchange(&prepare).await else {
            return Outcome::Failed("connection lost".into());
        };
        if let Some(failure) = described.iter().find(|m| m.tag == b'E') {
            return error(failure);
        }
        let Some(parameters) = described.iter().find(|m| m.tag == b't') else {
            return Outcome::Failed("no ParameterDescription".into());
        };
        let count = i16::from_be_bytes([parameters.body[0], parameters.body[1]]) as usize;
        if count != values.len() {
            return Outcome::Failed(format!(
                "switchyard counts {count} parameters, the query names {}",
                values.len()
            ));
        }
        let texts: Vec<Option<&str>> = values.iter().map(|v| Some(v.as_str())).collect();
        let mut run = parse_typed(sql, count);
        run.extend(Raw::bind("", "", &texts));
        run.extend(Raw::describe(b'P', ""));
        run.extend(Raw::execute("", 0));
        run.extend(Raw::sync());
        let Some(answer) = self.exchange(&run).await else {
            return Outcome::Failed("connection lost".into());
        };
        if let Some(failure) = answer.iter().find(|m| m.tag == b'E') {
            return error(failure);
        }
        let columns = answer
            .iter()
            .find(|m| m.tag == b'T')
            .map_or(0, |m| i16::from_be_bytes([m.body[0], m.body[1]]) as usize);
        let rows = answer
            .iter()
            .filter(|m| m.tag == b'D')
            .map(|m| m.row().iter().map(|v| cell(v.as_deref())).collect())
            .collect();
        Outcome::Rows { columns, rows }
    }
}
