//! A minimal Postgres protocol client for what drivers hide: ParameterStatus,
//! ReadyForQuery status bytes, pipelined extended-protocol messages, garbage input.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::server;

pub struct Raw {
    stream: TcpStream,
}

/// One backend message: its type byte and body.
#[derive(Debug, Clone)]
pub struct Message {
    pub tag: u8,
    pub body: Vec<u8>,
}

impl Message {
    /// ErrorResponse/NoticeResponse field by code (`C` = SQLSTATE).
    pub fn field(&self, code: u8) -> Option<String> {
        let mut parts = self.body.split(|b| *b == 0);
        parts.find_map(|p| {
            (p.first() == Some(&code)).then(|| String::from_utf8_lossy(&p[1..]).into_owned())
        })
    }

    /// ParameterStatus name and value.
    pub fn parameter(&self) -> (String, String) {
        let mut parts = self.body.split(|b| *b == 0);
        let name = String::from_utf8_lossy(parts.next().unwrap()).into_owned();
        let value = String::from_utf8_lossy(parts.next().unwrap()).into_owned();
        (name, value)
    }

    /// DataRow values as text (for text-format results).
    pub fn row(&self) -> Vec<Option<String>> {
        let count = i16::from_be_bytes([self.body[0], self.body[1]]) as usize;
        let mut at = 2;
        (0..count)
            .map(|_| {
                let len = i32::from_be_bytes(self.body[at..at + 4].try_into().unwrap());
                at += 4;
                (len >= 0).then(|| {
                    let value = &self.body[at..at + len as usize];
                    at += len as usize;
                    String::from_utf8_lossy(value).into_owned()
                })
            })
            .collect()
    }
}

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

impl Raw {
    /// Connects and completes startup; returns the startup messages too.
    pub async fn connect(params: &[(&str, &str)]) -> (Raw, Vec<Message>) {
        let stream = TcpStream::connect(server().addr).await.expect("connect");
        let mut raw = Raw { stream };
        let mut body = 196608i32.to_be_bytes().to_vec();
        for (k, v) in params {
            cstr(&mut body, k);
            cstr(&mut body, v);
        }
        body.push(0);
        let mut packet = (body.len() as i32 + 4).to_be_bytes().to_vec();
        packet.extend_from_slice(&body);
        raw.send_bytes(&packet).await;
        let messages = raw.until_ready().await;
        (raw, messages)
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    pub async fn query(&mut self, sql: &str) -> Vec<Message> {
        let mut body = Vec::new();
        cstr(&mut body, sql);
        self.send_bytes(&frame(b'Q', &body)).await;
        self.until_ready().await
    }

    pub fn parse(name: &str, sql: &str) -> Vec<u8> {
        let mut body = Vec::new();
        cstr(&mut body, name);
        cstr(&mut body, sql);
        body.extend_from_slice(&0i16.to_be_bytes());
        frame(b'P', &body)
    }

    /// Bind with text parameters and text results.
    pub fn bind(portal: &str, statement: &str, params: &[Option<&str>]) -> Vec<u8> {
        let mut body = Vec::new();
        cstr(&mut body, portal);
        cstr(&mut body, statement);
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&(params.len() as i16).to_be_bytes());
        for p in params {
            match p {
                Some(v) => {
                    body.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    body.extend_from_slice(v.as_bytes());
                }
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        body.extend_from_slice(&0i16.to_be_bytes());
        frame(b'B', &body)
    }

    pub fn describe(kind: u8, name: &str) -> Vec<u8> {
        let mut body = vec![kind];
        cstr(&mut body, name);
        frame(b'D', &body)
    }

    pub fn execute(portal: &str, max_rows: i32) -> Vec<u8> {
        let mut body = Vec::new();
        cstr(&mut body, portal);
        body.extend_from_slice(&max_rows.to_be_bytes());
        frame(b'E', &body)
    }

    pub fn close(kind: u8, name: &str) -> Vec<u8> {
        let mut body = vec![kind];
        cstr(&mut body, name);
        frame(b'C', &body)
    }

    pub fn sync() -> Vec<u8> {
        frame(b'S', &[])
    }

    /// Reads one message; `None` when the server closed the connection.
    pub async fn read(&mut self) -> Option<Message> {
        let mut header = [0u8; 5];
        self.stream.read_exact(&mut header).await.ok()?;
        let len = i32::from_be_bytes(header[1..5].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len - 4];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(Message {
            tag: header[0],
            body,
        })
    }

    /// Reads through the next ReadyForQuery (included).
    pub async fn until_ready(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let message = self.read().await.expect("server closed the connection");
            let done = message.tag == b'Z';
            out.push(message);
            if done {
                return out;
            }
        }
    }
}

/// The tags of `messages` as a string, e.g. "TDC Z" → "TDCZ".
pub fn tags(messages: &[Message]) -> String {
    messages.iter().map(|m| m.tag as char).collect()
}

/// The transaction status byte of the final ReadyForQuery.
pub fn status(messages: &[Message]) -> char {
    let last = messages.last().expect("messages");
    assert_eq!(last.tag, b'Z');
    last.body[0] as char
}
