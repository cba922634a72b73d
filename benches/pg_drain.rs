//! The Postgres-side counterpart of `curl -o /dev/null` for the throughput benches:
//! runs one simple query and reads every message, counting DataRows but decoding no
//! value, so a bench measures the server's cost rather than a client's formatting.
//!
//!   pg_drain HOST:PORT USER DATABASE 'SELECT …'
//!
//! Prints `rows bytes` on success; exits 1 with the server's message on an error.
//! Speaks protocol 3.0 with trust authentication only (what the benches start).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, user, database, query] = args.as_slice() else {
        eprintln!("usage: pg_drain HOST:PORT USER DATABASE QUERY");
        return ExitCode::from(2);
    };
    match drain(address, user, database, query) {
        Ok((rows, bytes)) => {
            println!("{rows} {bytes}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("pg_drain: {message}");
            ExitCode::FAILURE
        }
    }
}

fn drain(address: &str, user: &str, database: &str, query: &str) -> Result<(u64, u64), String> {
    let mut socket = TcpStream::connect(address).map_err(|e| format!("{address}: {e}"))?;
    socket.set_nodelay(true).map_err(|e| e.to_string())?;

    let mut startup = Vec::new();
    startup.extend_from_slice(&196_608i32.to_be_bytes()); // protocol 3.0
    for (key, value) in [("user", user), ("database", database)] {
        startup.extend_from_slice(key.as_bytes());
        startup.push(0);
        startup.extend_from_slice(value.as_bytes());
        startup.push(0);
    }
    startup.push(0);
    send(&mut socket, None, &startup)?;

    let mut reader = Messages::new(socket.try_clone().map_err(|e| e.to_string())?);
    loop {
        let (kind, body) = reader.next()?;
        match kind {
            b'R' if body.get(..4) != Some(&[0, 0, 0, 0]) => {
                return Err("the server asks for a password; pg_drain speaks trust only".into())
            }
            b'E' => return Err(error_text(body)),
            b'Z' => break,
            _ => {}
        }
    }

    let mut text = query.as_bytes().to_vec();
    text.push(0);
    send(&mut socket, Some(b'Q'), &text)?;
    let (mut rows, mut failure) = (0u64, None);
    loop {
        let (kind, body) = reader.next()?;
        match kind {
            b'D' => rows += 1,
            b'E' => failure = Some(error_text(body)),
            b'Z' => break,
            _ => {}
        }
    }
    let _ = send(&mut socket, Some(b'X'), &[]);
    match failure {
        Some(message) => Err(message),
        None => Ok((rows, reader.bytes)),
    }
}

fn send(socket: &mut TcpStream, kind: Option<u8>, body: &[u8]) -> Result<(), String> {
    let mut message = Vec::with_capacity(body.len() + 5);
    message.extend(kind);
    message.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    message.extend_from_slice(body);
    socket.write_all(&message).map_err(|e| e.to_string())
}

/// The `M` (message) field of an ErrorResponse, with its SQLSTATE.
fn error_text(body: &[u8]) -> String {
    let mut fields = body.split(|b| *b == 0).filter(|f| !f.is_empty());
    let (mut code, mut message) = (String::new(), String::new());
    for field in fields.by_ref() {
        let value = String::from_utf8_lossy(&field[1..]).into_owned();
        match field[0] {
            b'C' => code = value,
            b'M' => message = value,
            _ => {}
        }
    }
    format!("{message} (SQLSTATE {code})")
}

/// Backend messages from a socket, read in large chunks.
struct Messages {
    socket: TcpStream,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    bytes: u64,
}

impl Messages {
    fn new(socket: TcpStream) -> Self {
        Messages {
            socket,
            buffer: vec![0; 1 << 20],
            start: 0,
            end: 0,
            bytes: 0,
        }
    }

    fn next(&mut self) -> Result<(u8, &[u8]), String> {
        self.fill(5)?;
        let header = &self.buffer[self.start..self.start + 5];
        let kind = header[0];
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        self.fill(1 + len)?;
        let body = self.start + 5..self.start + 1 + len;
        self.start += 1 + len;
        Ok((kind, &self.buffer[body]))
    }

    /// Ensures `want` unread bytes are buffered, growing the buffer for large messages.
    fn fill(&mut self, want: usize) -> Result<(), String> {
        if self.end - self.start >= want {
            return Ok(());
        }
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.buffer.len() < want {
            self.buffer.resize(want, 0);
        }
        while self.end < want {
            let read = self
                .socket
                .read(&mut self.buffer[self.end..])
                .map_err(|e| e.to_string())?;
            if read == 0 {
                return Err("the server closed the connection".into());
            }
            self.end += read;
            self.bytes += read as u64;
        }
        Ok(())
    }
}
