//! Values of ClickHouse `{name:Type}` parameters. Clients send them as text (Grafana,
//! psql, drivers binding strings) in ClickHouse's text form; the declared type says what
//! the text means: `['a','b']` for `Array(String)` is a two-element array, never one
//! string, and `2024-06-01 00:00:00` for `DateTime` is an instant.

use super::{DataType, Expr, Literal};
use crate::error::{Error, Result};

/// The IR value of parameter `name`, declared `ty`, bound to `value`.
pub fn typed_value(name: &str, value: &Literal, ty: &DataType) -> Result<Expr> {
    let Literal::String(text) = value else {
        // A value the client typed (or NULL) already means what it says.
        return Ok(Expr::Literal(value.clone()));
    };
    let bad = |why: &str| {
        Error::InvalidParameter(format!(
            "parameter {{{name}}}: {why} in {text:?} for type {ty}"
        ))
    };
    Ok(match ty {
        DataType::Array(element) => {
            let items = array_items(text).ok_or_else(|| bad("not an array"))?;
            let items = items
                .into_iter()
                .map(|item| scalar(item, element).ok_or_else(|| bad("a bad element")))
                .collect::<Result<Vec<_>>>()?;
            Expr::Array(items.into_iter().map(Expr::Literal).collect())
        }
        _ => Expr::Literal(scalar(text.clone(), ty).ok_or_else(|| bad("a bad value"))?),
    })
}

/// One scalar of type `ty` from its text.
fn scalar(text: String, ty: &DataType) -> Option<Literal> {
    Some(match ty {
        DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            Literal::Int(text.trim().parse().ok()?)
        }
        DataType::Float32 | DataType::Float64 => match text.trim() {
            t if super::is_plain_number(t) => Literal::Float(t.parse().ok()?),
            "nan" | "NaN" => Literal::Float(f64::NAN),
            "inf" | "+inf" | "Infinity" => Literal::Float(f64::INFINITY),
            "-inf" | "-Infinity" => Literal::Float(f64::NEG_INFINITY),
            _ => return None,
        },
        DataType::Numeric(_) => {
            let t = text.trim();
            super::is_plain_number(t).then(|| Literal::Numeric(t.to_owned()))?
        }
        DataType::Bool => match text.trim() {
            "1" | "true" | "TRUE" | "True" => Literal::Bool(true),
            "0" | "false" | "FALSE" | "False" => Literal::Bool(false),
            _ => return None,
        },
        DataType::Text | DataType::Uuid => Literal::String(text),
        DataType::Array(_) => return None,
        other => Literal::Typed {
            value: text,
            ty: other.clone(),
        },
    })
}

/// The elements of an array's text: ClickHouse's `['a', 'b']` / `[1, 2]` (quoted
/// elements with `\` escapes and doubled quotes), or Postgres' `{a,b}` / `{"a b",c}`.
fn array_items(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    if let Some(body) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return split_items(body, '\'', true);
    }
    if let Some(body) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        return split_items(body, '"', false);
    }
    None
}

/// Comma-separated items, each bare or quoted with `quote`; `\x` escapes `x` inside
/// quotes, and with `doubled` a doubled quote stands for one.
fn split_items(body: &str, quote: char, doubled: bool) -> Option<Vec<String>> {
    let mut items = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            // `[]` has no items; `[a,]` is malformed.
            return items.is_empty().then_some(items);
        };
        let mut item = String::new();
        if first == quote {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => item.push(unescape(chars.next()?)),
                    c if c == quote && doubled && chars.peek() == Some(&quote) => {
                        chars.next();
                        item.push(quote);
                    }
                    c if c == quote => break,
                    c => item.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            let trimmed = item.trim_end().to_owned();
            if trimmed.is_empty() {
                return None;
            }
            item = trimmed;
        }
        items.push(item);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Some(items),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
}

/// ClickHouse's escapes in quoted text.
fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Option<Vec<String>> {
        array_items(text)
    }

    #[test]
    fn array_texts_of_both_engines() {
        let s = |v: &[&str]| Some(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(items("['a','b']"), s(&["a", "b"]));
        assert_eq!(
            items(" [ 'a' , 'it''s', 'x\\'y' ] "),
            s(&["a", "it's", "x'y"])
        );
        assert_eq!(items("[1, 2,3]"), s(&["1", "2", "3"]));
        assert_eq!(items("[]"), s(&[]));
        assert_eq!(items("{a,b}"), s(&["a", "b"]));
        assert_eq!(items("{\"a b\",c}"), s(&["a b", "c"]));
        assert_eq!(items("['a',]"), None);
        assert_eq!(items("['a' 'b']"), None);
        assert_eq!(items("'a'"), None);
    }

    #[test]
    fn typed_values() {
        let text = |s: &str| Literal::String(s.into());
        let strings = DataType::Array(Box::new(DataType::Text));
        assert_eq!(
            typed_value("p", &text("['x','y']"), &strings).unwrap(),
            Expr::Array(vec![Expr::Literal(text("x")), Expr::Literal(text("y"))])
        );
        let ints = DataType::Array(Box::new(DataType::Int64));
        assert_eq!(
            typed_value("p", &text("[1,2]"), &ints).unwrap(),
            Expr::Array(vec![
                Expr::Literal(Literal::Int(1)),
                Expr::Literal(Literal::Int(2))
            ])
        );
        assert!(typed_value("p", &text("[1,'x']"), &ints).is_err());
        assert_eq!(
            typed_value("n", &text("42"), &DataType::Int64).unwrap(),
            Expr::Literal(Literal::Int(42))
        );
        assert_eq!(
            typed_value("t", &text("2024-06-01 00:00:00"), &DataType::TimestampTz).unwrap(),
            Expr::Literal(Literal::Typed {
                value: "2024-06-01 00:00:00".into(),
                ty: DataType::TimestampTz
            })
        );
        let err = typed_value("n", &text("4x"), &DataType::Int64).unwrap_err();
        assert!(err.to_string().contains("{n}"), "{err}");
    }
}
