//! ClickHouse type names → the Arrow types switchyard presents. Owns the parser for
//! ClickHouse's type syntax (`Nullable(DateTime64(3, 'UTC'))`, `Map(String, Array(UInt8))`,
//! `Enum8('a' = 1)`) and the one table of how each ClickHouse type reaches Postgres
//! clients (through arrow-pg). Never touches the network.
//!
//! Presentation rules, chosen so every value keeps its meaning in Postgres:
//! - unsigned integers widen to the next signed type; UInt64 becomes numeric(20,0);
//!   128/256-bit integers become numeric(38,0) / text (Postgres has no wider integer);
//! - DateTime/DateTime64 are instants: Timestamp(µs or ns, "UTC") whatever the column's zone;
//! - Enum, UUID, IPv4/6 and FixedString are text (FixedString without its NUL padding);
//! - LowCardinality is transparent; Nullable is the field's nullability.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use crate::error::{Error, Result};

pub const UTC: &str = "UTC";

#[derive(Debug, Clone, PartialEq)]
pub enum ChType {
    Int {
        bits: u16,
        signed: bool,
    },
    Float32,
    Float64,
    Decimal {
        precision: u8,
        scale: i8,
    },
    String,
    FixedString(usize),
    Date,
    Date32,
    /// The column's time zone, if it names one.
    DateTime(Option<String>),
    DateTime64(u8, Option<String>),
    Uuid,
    Bool,
    /// Enum8/Enum16: value → name.
    Enum(Vec<(i16, String)>),
    Ipv4,
    Ipv6,
    Array(Box<ChType>),
    Map(Box<ChType>, Box<ChType>),
    Tuple(Vec<(Option<String>, ChType)>),
    Nullable(Box<ChType>),
    Nothing,
    /// Anything else (JSON, Variant, AggregateFunction…): presented as text.
    Other(String),
}

impl ChType {
    /// Parses a ClickHouse type name as `system.columns`, `DESCRIBE` and
    /// `…WithNamesAndTypes` print it.
    pub fn parse(text: &str) -> Result<ChType> {
        let mut parser = Parser {
            text: text.as_bytes(),
            at: 0,
        };
        let parsed = parser.ty()?;
        parser.skip_space();
        if parser.at != parser.text.len() {
            return Err(type_error(text, "trailing text"));
        }
        Ok(parsed)
    }

    pub fn is_nullable(&self) -> bool {
        matches!(self, ChType::Nullable(_) | ChType::Nothing)
    }

    /// The type without its Nullable wrapper.
    pub fn base(&self) -> &ChType {
        match self {
            ChType::Nullable(inner) => inner.base(),
            other => other,
        }
    }

    /// The Arrow type this ClickHouse type is presented as.
    pub fn arrow_type(&self) -> DataType {
        match self.base() {
            ChType::Int { bits, signed } => match (bits, signed) {
                (8, true) => DataType::Int8,
                (16, true) | (8, false) => DataType::Int16,
                (32, true) | (16, false) => DataType::Int32,
                (64, true) | (32, false) => DataType::Int64,
                (64, false) => DataType::Decimal128(20, 0),
                (128, _) => DataType::Decimal128(38, 0),
                _ => DataType::Utf8,
            },
            ChType::Float32 => DataType::Float32,
            ChType::Float64 => DataType::Float64,
            ChType::Decimal { precision, scale } if *precision <= 38 => {
                DataType::Decimal128(*precision, *scale)
            }
            ChType::Decimal { .. } => DataType::Utf8,
            ChType::Date | ChType::Date32 => DataType::Date32,
            ChType::DateTime(_) => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            ChType::DateTime64(precision, _) => DataType::Timestamp(
                if *precision > 6 {
                    TimeUnit::Nanosecond
                } else {
                    TimeUnit::Microsecond
                },
                Some(UTC.into()),
            ),
            ChType::Bool => DataType::Boolean,
            ChType::Array(element) => DataType::List(Arc::new(element.field("item"))),
            ChType::Map(key, value) => {
                let entries = Field::new_struct(
                    "entries",
                    vec![
                        Field::new("key", key.arrow_type(), false),
                        value.field("value"),
                    ],
                    false,
                );
                DataType::Map(Arc::new(entries), false)
            }
            ChType::Tuple(elements) => DataType::Struct(Fields::from(
                elements
                    .iter()
                    .enumerate()
                    .map(|(i, (name, ty))| {
                        ty.field(name.clone().unwrap_or_else(|| (i + 1).to_string()))
                    })
                    .collect::<Vec<_>>(),
            )),
            ChType::Nothing => DataType::Null,
            ChType::String
            | ChType::FixedString(_)
            | ChType::Uuid
            | ChType::Enum(_)
            | ChType::Ipv4
            | ChType::Ipv6
            | ChType::Other(_)
            | ChType::Nullable(_) => DataType::Utf8,
        }
    }

    /// An Arrow field of this type; nullable only for Nullable (and Nothing).
    pub fn field(&self, name: impl Into<String>) -> Field {
        Field::new(name, self.arrow_type(), self.is_nullable())
    }

    /// True when the time zone of a DateTime is UTC, so wall-clock text is the instant.
    pub fn zone_is_utc(zone: Option<&str>, server_zone: &str) -> bool {
        let zone = zone.unwrap_or(server_zone);
        matches!(
            zone,
            "UTC" | "Etc/UTC" | "UCT" | "Etc/UCT" | "GMT" | "Etc/GMT" | "Universal" | "Zulu"
        )
    }
}

fn type_error(text: &str, why: &str) -> Error {
    Error::internal(format!("unrecognised ClickHouse type {text:?}: {why}"))
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn whole(&self) -> String {
        String::from_utf8_lossy(self.text).into_owned()
    }

    fn skip_space(&mut self) {
        while self.at < self.text.len() && self.text[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.text.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Result<()> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(type_error(
                &self.whole(),
                &format!("expected {:?}", byte as char),
            ))
        }
    }

    fn word(&mut self) -> String {
        self.skip_space();
        let start = self.at;
        while self.at < self.text.len()
            && (self.text[self.at].is_ascii_alphanumeric() || self.text[self.at] == b'_')
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
    }

    fn number(&mut self) -> Result<i64> {
        self.skip_space();
        let start = self.at;
        if self.text.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        while self.at < self.text.len() && self.text[self.at].is_ascii_digit() {
            self.at += 1;
        }
        std::str::from_utf8(&self.text[start..self.at])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| type_error(&self.whole(), "expected a number"))
    }

    fn quoted(&mut self) -> Result<String> {
        self.skip_space();
        if self.text.get(self.at) != Some(&b'\'') {
            return Err(type_error(&self.whole(), "expected a quoted string"));
        }
        self.at += 1;
        let mut out = Vec::new();
        while let Some(&b) = self.text.get(self.at) {
            self.at += 1;
            match b {
                b'\\' => {
                    if let Some(&next) = self.text.get(self.at) {
                        out.push(next);
                        self.at += 1;
                    }
                }
                b'\'' if self.text.get(self.at) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.at += 1;
                }
                b'\'' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                other => out.push(other),
            }
        }
        Err(type_error(&self.whole(), "unterminated string"))
    }

    /// Skips one balanced argument list the caller does not interpret.
    fn skip_arguments(&mut self) -> Result<()> {
        let mut depth = 0usize;
        while let Some(&b) = self.text.get(self.at) {
            match b {
                b'\'' => {
                    self.quoted()?;
                    continue;
                }
                b'(' => depth += 1,
                b')' if depth == 0 => return Ok(()),
                b')' => depth -= 1,
                b',' if depth == 0 => return Ok(()),
                _ => {}
            }
            self.at += 1;
        }
        Ok(())
    }

    fn ty(&mut self) -> Result<ChType> {
        let start = self.at;
        let name = self.word();
        let int = |bits, signed| ChType::Int { bits, signed };
        Ok(match name.as_str() {
            "Int8" => int(8, true),
            "Int16" => int(16, true),
            "Int32" => int(32, true),
            "Int64" => int(64, true),
            "Int128" => int(128, true),
            "Int256" => int(256, true),
            "UInt8" => int(8, false),
            "UInt16" => int(16, false),
            "UInt32" => int(32, false),
            "UInt64" => int(64, false),
            "UInt128" => int(128, false),
            "UInt256" => int(256, false),
            "Float32" => ChType::Float32,
            "Float64" => ChType::Float64,
            "Bool" | "Boolean" => ChType::Bool,
            "String" => ChType::String,
            "UUID" => ChType::Uuid,
            "Date" => ChType::Date,
            "Date32" => ChType::Date32,
            "IPv4" => ChType::Ipv4,
            "IPv6" => ChType::Ipv6,
            "Nothing" => ChType::Nothing,
            "FixedString" => {
                self.expect(b'(')?;
                let n = self.number()?;
                self.expect(b')')?;
                ChType::FixedString(n.max(0) as usize)
            }
            "DateTime" => {
                let zone = if self.eat(b'(') {
                    let zone = self.quoted()?;
                    self.expect(b')')?;
                    Some(zone)
                } else {
                    None
                };
                ChType::DateTime(zone)
            }
            // A bare `DateTime64` (DDL, parameters) has ClickHouse's default precision, 3.
            "DateTime64" if !self.eat(b'(') => ChType::DateTime64(3, None),
            "DateTime64" => {
                let precision = self.number()?;
                let zone = if self.eat(b',') {
                    Some(self.quoted()?)
                } else {
                    None
                };
                self.expect(b')')?;
                ChType::DateTime64(precision.clamp(0, 9) as u8, zone)
            }
            "Decimal" | "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => {
                self.expect(b'(')?;
                let first = self.number()?;
                let (precision, scale) = if self.eat(b',') {
                    (first, self.number()?)
                } else {
                    let precision = match name.as_str() {
                        "Decimal32" => 9,
                        "Decimal64" => 18,
                        "Decimal128" => 38,
                        _ => 76,
                    };
                    if name == "Decimal" {
                        (first, 0)
                    } else {
                        (precision, first)
                    }
                };
                self.expect(b')')?;
                ChType::Decimal {
                    precision: precision.clamp(1, 76) as u8,
                    scale: scale.clamp(0, 76) as i8,
                }
            }
            "Enum8" | "Enum16" | "Enum" => {
                self.expect(b'(')?;
                let mut values = Vec::new();
                loop {
                    let label = self.quoted()?;
                    // In DDL the values may be left out: they count up from 1.
                    let value = if self.eat(b'=') {
                        self.number()?
                    } else {
                        values.last().map_or(1, |(v, _)| i64::from(*v) + 1)
                    };
                    values.push((value as i16, label));
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b')')?;
                ChType::Enum(values)
            }
            "Nullable" | "LowCardinality" | "SimpleAggregateFunction" => {
                self.expect(b'(')?;
                if name == "SimpleAggregateFunction" {
                    self.skip_arguments()?;
                    self.expect(b',')?;
                }
                let inner = self.ty()?;
                self.expect(b')')?;
                match name.as_str() {
                    "Nullable" => ChType::Nullable(Box::new(inner)),
                    _ => inner,
                }
            }
            "Array" => {
                self.expect(b'(')?;
                let inner = self.ty()?;
                self.expect(b')')?;
                ChType::Array(Box::new(inner))
            }
            "Map" => {
                self.expect(b'(')?;
                let key = self.ty()?;
                self.expect(b',')?;
                let value = self.ty()?;
                self.expect(b')')?;
                ChType::Map(Box::new(key), Box::new(value))
            }
            "Tuple" | "Nested" => {
                self.expect(b'(')?;
                let mut elements = Vec::new();
                loop {
                    // `Tuple(a UInt8, b String)` names its elements; `Tuple(UInt8, String)` doesn't.
                    let save = self.at;
                    let first = self.word();
                    self.skip_space();
                    let named = !first.is_empty()
                        && self
                            .text
                            .get(self.at)
                            .is_some_and(|b| b.is_ascii_alphabetic());
                    let element = if named {
                        (Some(first), self.ty()?)
                    } else {
                        self.at = save;
                        (None, self.ty()?)
                    };
                    elements.push(element);
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b')')?;
                let tuple = ChType::Tuple(elements);
                if name == "Nested" {
                    ChType::Array(Box::new(tuple))
                } else {
                    tuple
                }
            }
            "" => return Err(type_error(&self.whole(), "expected a type name")),
            _ => {
                if self.eat(b'(') {
                    self.skip_arguments()?;
                    while self.eat(b',') {
                        self.skip_arguments()?;
                    }
                    self.expect(b')')?;
                }
                let text = String::from_utf8_lossy(&self.text[start..self.at]);
                ChType::Other(text.trim().to_owned())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_types_dashboards_use() {
        let cases = [
            ("UInt64", DataType::Decimal128(20, 0)),
            ("UInt32", DataType::Int64),
            ("Int8", DataType::Int8),
            ("LowCardinality(String)", DataType::Utf8),
            ("FixedString(3)", DataType::Utf8),
            ("Decimal(18, 4)", DataType::Decimal128(18, 4)),
            ("Decimal64(3)", DataType::Decimal128(18, 3)),
            ("Date", DataType::Date32),
            (
                "DateTime('Europe/Berlin')",
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            ),
            (
                "DateTime64(9, 'UTC')",
                DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())),
            ),
            ("Enum8('a' = 1, 'b\\'c' = -2)", DataType::Utf8),
            ("IPv6", DataType::Utf8),
            ("AggregateFunction(uniq, String)", DataType::Utf8),
        ];
        for (text, expected) in cases {
            assert_eq!(
                ChType::parse(text).unwrap().arrow_type(),
                expected,
                "{text}"
            );
        }
        assert_eq!(
            ChType::parse("Enum8('a' = 1, 'b\\'c' = -2)").unwrap(),
            ChType::Enum(vec![(1, "a".into()), (-2, "b'c".into())])
        );
        assert_eq!(
            ChType::parse("Enum8('x', 'y')").unwrap(),
            ChType::Enum(vec![(1, "x".into()), (2, "y".into())])
        );
    }

    #[test]
    fn nesting_keeps_nullability_inside() {
        let ty = ChType::parse("Map(LowCardinality(String), Array(Nullable(UInt8)))").unwrap();
        let DataType::Map(entries, _) = ty.arrow_type() else {
            panic!("{ty:?}")
        };
        let DataType::Struct(fields) = entries.data_type() else {
            panic!()
        };
        let DataType::List(item) = fields[1].data_type() else {
            panic!()
        };
        assert!(item.is_nullable());
        assert_eq!(item.data_type(), &DataType::Int16);
        let tuple = ChType::parse("Tuple(a UInt8, b Nullable(String))").unwrap();
        let DataType::Struct(fields) = tuple.arrow_type() else {
            panic!()
        };
        assert_eq!(fields[0].name(), "a");
        assert!(fields[1].is_nullable());
        let unnamed = ChType::parse("Tuple(UInt8, String)").unwrap();
        let DataType::Struct(fields) = unnamed.arrow_type() else {
            panic!()
        };
        assert_eq!(fields[1].name(), "2");
    }

    #[test]
    fn rejects_garbage() {
        assert!(ChType::parse("Array(").is_err());
        assert!(ChType::parse("UInt8 x").is_err());
    }
}
