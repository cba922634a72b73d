//! Structured values compared by meaning: ClickHouse prints a Map as `{'k':1}`, a tuple as
//! `('a',1)` and nested arrays as `[['a']]`; switchyard presents a Map as the JSON object
//! `{"k": 1}` and arrays as Postgres arrays `{a,b}`. `shadow::compare::cell` reads flat
//! arrays alike; this module brings the rest to one canonical text (map entries in key
//! order, scalars through `cell`, so numbers and timestamps compare by value).
//!
//! Applied per column, only where ClickHouse's answer holds such values: a String column
//! holding JSON text is compared as text, byte for byte.

use switchyard::shadow::compare::{cell, Cell, Rows};

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Scalar(Cell),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

/// Rewrites, in both results, the cells of every column whose ClickHouse values are
/// structured (`{'…`, `[…`, `(…`) to their canonical text.
pub fn canonicalize(expected: &mut Rows, actual: &mut Rows) {
    let columns = expected.iter().map(|r| r.len()).max().unwrap_or(0);
    for j in 0..columns {
        let structured = expected.iter().any(|row| {
            matches!(row.get(j), Some(Cell::Text(t)) if t.starts_with("{'") || t.starts_with('[') || t.starts_with('('))
        });
        if !structured {
            continue;
        }
        for row in expected.iter_mut().chain(actual.iter_mut()) {
            if let Some(Cell::Text(text)) = row.get(j) {
                if let Some(canonical) = parse(text).map(|v| render(&v)) {
                    row[j] = Cell::Text(canonical);
                }
            }
        }
    }
}

fn parse(text: &str) -> Option<Value> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut at = 0;
    let value = value(&chars, &mut at)?;
    (at == chars.len()).then_some(value)
}

fn skip(chars: &[char], at: &mut usize) {
    while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
        *at += 1;
    }
}

fn value(chars: &[char], at: &mut usize) -> Option<Value> {
    skip(chars, at);
    let parsed = match chars.get(*at)? {
        '[' | '(' => {
            let close = if chars[*at] == '[' { ']' } else { ')' };
            *at += 1;
            Value::List(items(chars, at, close)?)
        }
        '{' => {
            *at += 1;
            skip(chars, at);
            let keyed = matches!(chars.get(*at), Some('\'' | '"')) && {
                let mut probe = *at;
                quoted(chars, &mut probe).is_some() && {
                    skip(chars, &mut probe);
                    chars.get(probe) == Some(&':')
                }
            };
            if keyed {
                let mut entries = Vec::new();
                loop {
                    skip(chars, at);
                    if chars.get(*at) == Some(&'}') {
                        *at += 1;
                        break;
                    }
                    let key = quoted(chars, at)?;
                    skip(chars, at);
                    (chars.get(*at) == Some(&':')).then_some(())?;
                    *at += 1;
                    entries.push((key, value(chars, at)?));
                    skip(chars, at);
                    match chars.get(*at)? {
                        ',' => *at += 1,
                        '}' => {
                            *at += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Map(entries)
            } else {
                // A Postgres array: `{a,"b c",NULL}`.
                Value::List(items(chars, at, '}')?)
            }
        }
        '\'' | '"' => Value::Scalar(cell(Some(&quoted(chars, at)?))),
        _ => {
            let start = *at;
            while chars
                .get(*at)
                .is_some_and(|c| !matches!(c, ',' | ']' | '}' | ')' | ':'))
            {
                *at += 1;
            }
            let word: String = chars[start..*at].iter().collect();
            match word.trim() {
                "NULL" | "null" => Value::Scalar(Cell::Null),
                w => Value::Scalar(cell(Some(w))),
            }
        }
    };
    Some(parsed)
}

fn items(chars: &[char], at: &mut usize, close: char) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    skip(chars, at);
    if chars.get(*at) == Some(&close) {
        *at += 1;
        return Some(out);
    }
    loop {
        out.push(value(chars, at)?);
        skip(chars, at);
        match *chars.get(*at)? {
            ',' => *at += 1,
            c if c == close => {
                *at += 1;
                return Some(out);
            }
            _ => return None,
        }
    }
}

/// A `'…'` or `"…"` string with backslash escapes.
fn quoted(chars: &[char], at: &mut usize) -> Option<String> {
    let quote = *chars.get(*at)?;
    *at += 1;
    let mut out = String::new();
    loop {
        match *chars.get(*at)? {
            c if c == quote => {
                *at += 1;
                return Some(out);
            }
            '\\' => {
                *at += 1;
                match *chars.get(*at)? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'u' => {
                        let hex: String = chars.get(*at + 1..*at + 5)?.iter().collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        *at += 4;
                    }
                    c => out.push(c),
                }
            }
            c => out.push(c),
        }
        *at += 1;
    }
}

fn render(value: &Value) -> String {
    match value {
        Value::Scalar(Cell::Null) => "NULL".into(),
        Value::Scalar(Cell::Number(n)) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
        Value::Scalar(Cell::Number(n)) => format!("{n:.9e}"),
        Value::Scalar(Cell::Text(t)) => format!("{t:?}"),
        Value::Scalar(Cell::List(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|c| render(&Value::Scalar(c.clone())))
                .collect();
            format!("[{}]", items.join(","))
        }
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", items.join(","))
        }
        Value::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", render(v)))
                .collect();
            format!("{{{}}}", entries.join(","))
        }
    }
}

#[test]
fn maps_and_tuples_compare_by_meaning() {
    let same = |a: &str, b: &str| parse(a).map(|v| render(&v)) == parse(b).map(|v| render(&v));
    assert!(same("{'b':2,'a':1.5}", r#"{"a": 1.5, "b": 2}"#));
    assert!(same("['a','b c']", r#"{a,"b c"}"#));
    assert!(same(
        "('2024-06-01 00:00:00.000000000',NULL)",
        "(\"2024-06-01 00:00:00\",NULL)"
    ));
    assert!(!same("{'a':1}", r#"{"a": 2}"#));
}
