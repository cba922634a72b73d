//! ClickHouse SQL sent to ClickHouse as the client wrote it, for statements the IR cannot
//! carry (`ARRAY JOIN`, `ANY JOIN`, a named WINDOW, grammar sqlparser lacks): a ClickHouse
//! query reading only ClickHouse tables never fails where ClickHouse would not.
//!
//! A light scanner (strings, quoted identifiers and comments understood) finds the names
//! the text mentions, so the router can check that every table it reads lives on one
//! ClickHouse backend, and the `{name:Type}` parameters, which are bound by substituting
//! `CAST('value' AS Type)` — ClickHouse's own reading of a parameter's text.

use super::Flavor;
use crate::error::{Error, Result};
use crate::ir::Literal;

/// One ClickHouse statement as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RawStatement {
    text: String,
    /// `{name:Type}` parameters in order of first appearance (`$1`, `$2`, …), with the
    /// type as written.
    pub params: Vec<(String, String)>,
    /// Every identifier, dotted names joined (`db.t`), in order: the candidate tables.
    pub names: Vec<String>,
    /// Byte ranges of parameter uses and which parameter (index into `params`).
    uses: Vec<(usize, usize, usize)>,
}

impl RawStatement {
    /// Scans `text` (one statement; a final `;` is dropped). `None` if it does not scan:
    /// an unterminated string or comment.
    pub fn scan(text: &str) -> Option<RawStatement> {
        let text = text.trim().trim_end_matches(';').trim_end().to_owned();
        let bytes = text.as_bytes();
        let mut statement = RawStatement {
            text: String::new(),
            params: Vec::new(),
            names: Vec::new(),
            uses: Vec::new(),
        };
        let mut i = 0;
        // The name being built from `a.b.c`, and whether a dot is pending.
        let mut dotted: Option<String> = None;
        let mut after_dot = false;
        while i < bytes.len() {
            let b = bytes[i];
            let mut word = None;
            match b {
                b'\'' => i = skip_quoted(bytes, i, b'\'')?,
                b'`' | b'"' => {
                    let end = skip_quoted(bytes, i, b)?;
                    word = Some(unquote(&text[i + 1..end - 1], b));
                    i = end;
                }
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = text[i + 2..].find("*/").map(|n| i + 2 + n + 2)?;
                }
                b'{' => {
                    if let Some((end, name, ty)) = parameter(&text, i) {
                        let index = match statement.params.iter().position(|(n, _)| *n == name) {
                            Some(index) => index,
                            None => {
                                statement.params.push((name, ty));
                                statement.params.len() - 1
                            }
                        };
                        statement.uses.push((i, end, index));
                        i = end;
                    } else {
                        i += 1;
                    }
                }
                b if b.is_ascii_alphabetic() || b == b'_' => {
                    let end = i + text[i..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                        .unwrap_or(text.len() - i);
                    word = Some(text[i..end].to_owned());
                    i = end;
                }
                b'.' if dotted.is_some() => {
                    after_dot = true;
                    i += 1;
                    continue;
                }
                b if b.is_ascii_whitespace() => {
                    i += 1;
                    continue;
                }
                _ => i += 1,
            }
            match word {
                Some(w) => {
                    dotted = Some(match (dotted.take(), after_dot) {
                        (Some(prefix), true) => format!("{prefix}.{w}"),
                        (Some(previous), false) => {
                            statement.names.push(previous);
                            w
                        }
                        (None, _) => w,
                    });
                }
                None => {
                    if let Some(previous) = dotted.take() {
                        statement.names.push(previous);
                    }
                }
            }
            after_dot = false;
        }
        if let Some(last) = dotted {
            statement.names.push(last);
        }
        statement.text = text;
        Some(statement)
    }

    /// The text with parameter `i` (0-based) replaced by `values[i]` read as its type.
    pub fn bind(&self, values: &[Literal]) -> Result<String> {
        if values.len() < self.params.len() {
            return Err(Error::InvalidParameter(format!(
                "no value supplied for parameter ${} ({} given)",
                values.len() + 1,
                values.len()
            )));
        }
        self.substitute(|index| {
            let (name, ty) = &self.params[index];
            literal_as(name, &values[index], ty)
        })
    }

    /// The text with every parameter replaced by its type's default value: what
    /// describing the result needs before values are bound.
    pub fn with_defaults(&self) -> Result<String> {
        self.substitute(|index| {
            let (name, ty) = &self.params[index];
            if ty.trim() == "Identifier" {
                return Err(Error::InvalidParameter(format!(
                    "parameter {{{name}:Identifier}} needs a value to be described"
                )));
            }
            Ok(format!("defaultValueOfTypeName({})", quote(ty.trim())))
        })
    }

    fn substitute(&self, mut value: impl FnMut(usize) -> Result<String>) -> Result<String> {
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for &(start, end, index) in &self.uses {
            out.push_str(&self.text[at..start]);
            out.push_str(&value(index)?);
            at = end;
        }
        out.push_str(&self.text[at..]);
        Ok(out)
    }

    /// The flavour of a raw statement: ClickHouse, by construction.
    pub fn flavor(&self) -> Flavor {
        Flavor::ClickHouse
    }
}

/// `{name:Type}` at `start`: its end and parts.
fn parameter(text: &str, start: usize) -> Option<(usize, String, String)> {
    let rest = &text[start + 1..];
    let colon = rest.find(':')?;
    let name = rest[..colon].trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    // The type may hold parentheses and quoted zones; it ends at the matching `}`.
    let mut depth = 0usize;
    let bytes = rest.as_bytes();
    let mut i = colon + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                i = skip_quoted(bytes, i, b'\'')?;
                continue;
            }
            b'(' => depth += 1,
            b')' => depth = depth.checked_sub(1)?,
            b'}' if depth == 0 => {
                let ty = rest[colon + 1..i].trim();
                return (!ty.is_empty()).then(|| (start + 1 + i + 1, name.to_owned(), ty.into()));
            }
            b'{' | b';' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the quoted text starting at `start` (ClickHouse doubles a quote
/// or escapes it with a backslash).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn unquote(inner: &str, quote: u8) -> String {
    let q = quote as char;
    inner
        .replace(&format!("{q}{q}"), &q.to_string())
        .replace(&format!("\\{q}"), &q.to_string())
}

/// A ClickHouse string literal: backslash and quote escaped.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `value` as ClickHouse reads a parameter of type `ty`: its text cast to the type, or a
/// backquoted name for `Identifier`.
fn literal_as(name: &str, value: &Literal, ty: &str) -> Result<String> {
    let text = match value {
        Literal::Null => return Ok(format!("CAST(NULL AS {ty})")),
        Literal::Bool(b) => (if *b { "true" } else { "false" }).to_owned(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(x) => format!("{x:?}"),
        Literal::Numeric(t) | Literal::String(t) => t.clone(),
        Literal::Typed { value, .. } => value.clone(),
    };
    if ty.trim() == "Identifier" {
        if text.contains('`') || text.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "parameter {{{name}:Identifier}}: {text:?} is not a name"
            )));
        }
        return Ok(format!("`{text}`"));
    }
    Ok(format!("CAST({} AS {ty})", quote(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parameters() {
        let raw = RawStatement::scan(
            "SELECT a.b, `x y`.z -- from nowhere\n FROM default.t /* c.d */ \
             WHERE s = 'it''s {no:String}' AND k IN {ids:Array(String)} \
             AND ts > {since:DateTime64(3, 'UTC')} AND u = {ids:Array(String)};",
        )
        .unwrap();
        assert_eq!(
            raw.names,
            [
                "SELECT",
                "a.b",
                "x y.z",
                "FROM",
                "default.t",
                "WHERE",
                "s",
                "AND",
                "k",
                "IN",
                "AND",
                "ts",
                "AND",
                "u"
            ]
        );
        assert_eq!(
            raw.params,
            [
                ("ids".to_string(), "Array(String)".to_string()),
                ("since".to_string(), "DateTime64(3, 'UTC')".to_string())
            ]
        );
        let bound = raw
            .bind(&[
                Literal::String("['a','b']".into()),
                Literal::String("2024-06-01 00:00:00".into()),
            ])
            .unwrap();
        assert!(
            bound.contains("k IN CAST('[\\'a\\',\\'b\\']' AS Array(String))"),
            "{bound}"
        );
        assert!(
            bound.ends_with("u = CAST('[\\'a\\',\\'b\\']' AS Array(String))"),
            "{bound}"
        );
        assert!(bound.contains("'it''s {no:String}'"), "{bound}");
        assert!(raw
            .with_defaults()
            .unwrap()
            .contains("defaultValueOfTypeName('DateTime64(3, \\'UTC\\')')"));
        assert!(raw.bind(&[]).is_err());
    }

    #[test]
    fn identifier_parameters_and_bad_text() {
        let raw = RawStatement::scan("SELECT * FROM {db:Identifier}.{t:Identifier}").unwrap();
        let bound = raw
            .bind(&[
                Literal::String("default".into()),
                Literal::String("x".into()),
            ])
            .unwrap();
        assert_eq!(bound, "SELECT * FROM `default`.`x`");
        assert!(raw.with_defaults().is_err());
        assert!(raw
            .bind(&[Literal::String("a`b".into()), Literal::String("x".into())])
            .is_err());
        assert!(RawStatement::scan("SELECT 'open").is_none());
        assert!(RawStatement::scan("SELECT /* open").is_none());
    }
}
