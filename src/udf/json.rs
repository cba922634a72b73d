//! ClickHouse's JSON functions as DataFusion UDFs, so ClickHouse SQL over JSON text
//! columns runs on Delta tables with ClickHouse's answers: `JSONHas`, `JSONLength`,
//! `JSONExtractString`, `JSONExtractRaw`, `JSONExtractInt`, `JSONExtractUInt` and
//! `JSONExtractFloat`, with ClickHouse's path rules (keys match exactly, the first of
//! duplicate keys wins, integers index 1-based from the front or negative from the
//! back, into arrays and objects alike) and its answers for a missing path or invalid
//! JSON (`''`, `0`). The rules were read off ClickHouse 26 (chdb).
//!
//! Where ClickHouse's behaviour depends on quirks we have not reproduced (numbers
//! written inside JSON strings, integer literals outside 64 bits), the function fails
//! with SQLSTATE 0A000 for that row rather than guess.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
    UInt8Builder,
};
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// The UDFs' names, as the DataFusion emitter spells the ClickHouse functions.
pub const FUNCTIONS: [(&str, &str); 7] = [
    ("JSONHas", "ch_json_has"),
    ("JSONLength", "ch_json_length"),
    ("JSONExtractString", "ch_json_extract_string"),
    ("JSONExtractRaw", "ch_json_extract_raw"),
    ("JSONExtractInt", "ch_json_extract_int"),
    ("JSONExtractUInt", "ch_json_extract_uint"),
    ("JSONExtractFloat", "ch_json_extract_float"),
];

/// Registers every function in `ctx`.
pub fn register(ctx: &SessionContext) {
    for kind in [
        Extract::Has,
        Extract::Length,
        Extract::String,
        Extract::Raw,
        Extract::Int,
        Extract::UInt,
        Extract::Float,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(JsonFunction {
            kind,
            signature: Signature::variadic_any(Volatility::Immutable),
        }));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Extract {
    Has,
    Length,
    String,
    Raw,
    Int,
    UInt,
    Float,
}

impl Extract {
    fn name(self) -> &'static str {
        FUNCTIONS[self as usize].1
    }

    fn clickhouse_name(self) -> &'static str {
        FUNCTIONS[self as usize].0
    }

    fn output(self) -> DataType {
        match self {
            Extract::Has => DataType::UInt8,
            Extract::Length => DataType::UInt64,
            Extract::String | Extract::Raw => DataType::Utf8,
            Extract::Int => DataType::Int64,
            Extract::UInt => DataType::UInt64,
            Extract::Float => DataType::Float64,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonFunction {
    kind: Extract,
    signature: Signature,
}

impl ScalarUDFImpl for JsonFunction {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.kind.output())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|arg| arg.to_array(rows))
            .collect::<Result<_>>()?;
        let Some((documents, path)) = arrays.split_first() else {
            return Err(unsupported(self.kind, "a call without a JSON argument"));
        };
        let documents = arrow::compute::cast(documents, &DataType::Utf8)?;
        let documents = documents.as_string::<i32>();
        let path: Vec<PathArg> = path
            .iter()
            .map(|array| PathArg::new(array, self.kind))
            .collect::<Result<_>>()?;
        let mut out = Output::new(self.kind, rows);
        for row in 0..rows {
            if documents.is_null(row) || path.iter().any(|p| p.is_null(row)) {
                out.null();
                continue;
            }
            let steps: Vec<Step> = path.iter().map(|p| p.step(row)).collect();
            let document = parse(documents.value(row));
            out.push(self.kind, document.as_ref().and_then(|d| d.find(&steps)))?;
        }
        Ok(ColumnarValue::Array(out.finish()))
    }
}

/// Reaches the client as SQLSTATE 0A000 naming the function and the value.
fn unsupported(kind: Extract, what: &str) -> DataFusionError {
    DataFusionError::NotImplemented(format!("{} of {what}", kind.clickhouse_name()))
}

/// One path argument: a key or a 1-based (negative: from the end) index per row.
enum PathArg {
    Keys(ArrayRef),
    Indexes(ArrayRef),
}

impl PathArg {
    fn new(array: &ArrayRef, kind: Extract) -> Result<Self> {
        match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Ok(PathArg::Keys(arrow::compute::cast(array, &DataType::Utf8)?))
            }
            t if t.is_integer() => Ok(PathArg::Indexes(arrow::compute::cast(
                array,
                &DataType::Int64,
            )?)),
            t => Err(unsupported(kind, &format!("a path argument of type {t}"))),
        }
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            PathArg::Keys(a) | PathArg::Indexes(a) => a.is_null(row),
        }
    }

    fn step(&self, row: usize) -> Step<'_> {
        match self {
            PathArg::Keys(a) => Step::Key(a.as_string::<i32>().value(row)),
            PathArg::Indexes(a) => {
                Step::Index(a.as_primitive::<arrow::datatypes::Int64Type>().value(row))
            }
        }
    }
}

enum Step<'a> {
    Key(&'a str),
    Index(i64),
}

/// A parsed JSON value. Objects keep every member in order, duplicates included.
#[derive(Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// An integer literal beyond 64 bits, which ClickHouse treats in ways we do not.
    BigInt,
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn find(&self, steps: &[Step]) -> Option<&Json> {
        let mut value = self;
        for step in steps {
            value = match (value, step) {
                (Json::Object(members), Step::Key(key)) => {
                    &members.iter().find(|(name, _)| name == key)?.1
                }
                (Json::Object(members), Step::Index(i)) => {
                    &members.get(position(*i, members.len())?)?.1
                }
                (Json::Array(items), Step::Index(i)) => items.get(position(*i, items.len())?)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

/// A 1-based index (negative counts from the end) as a position, if in range.
fn position(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let at = match index {
        0 => return None,
        i if i > 0 => i - 1,
        i => len + i,
    };
    (0..len).contains(&at).then_some(at as usize)
}

/// The answer column being built.
enum Output {
    UInt8(UInt8Builder),
    UInt64(UInt64Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Utf8(StringBuilder, String),
}

impl Output {
    fn new(kind: Extract, rows: usize) -> Self {
        match kind.output() {
            DataType::UInt8 => Output::UInt8(UInt8Builder::with_capacity(rows)),
            DataType::UInt64 => Output::UInt64(UInt64Builder::with_capacity(rows)),
            DataType::Int64 => Output::Int64(Int64Builder::with_capacity(rows)),
            DataType::Float64 => Output::Float64(Float64Builder::with_capacity(rows)),
            _ => Output::Utf8(StringBuilder::with_capacity(rows, rows * 16), String::new()),
        }
    }

    fn null(&mut self) {
        match self {
            Output::UInt8(b) => b.append_null(),
            Output::UInt64(b) => b.append_null(),
            Output::Int64(b) => b.append_null(),
            Output::Float64(b) => b.append_null(),
            Output::Utf8(b, _) => b.append_null(),
        }
    }

    /// Appends the answer for `value`, the value at the path (None: no such path, or
    /// the document is not JSON).
    fn push(&mut self, kind: Extract, value: Option<&Json>) -> Result<()> {
        if let Some(Json::BigInt) = value {
            if !matches!(kind, Extract::Has | Extract::Length) {
                return Err(unsupported(kind, "an integer beyond 64 bits"));
            }
        }
        match (self, kind) {
            (Output::UInt8(b), _) => b.append_value(value.is_some() as u8),
            (Output::UInt64(b), Extract::Length) => b.append_value(match value {
                Some(Json::Array(items)) => items.len() as u64,
                Some(Json::Object(members)) => members.len() as u64,
                _ => 0,
            }),
            (Output::UInt64(b), _) => b.append_value(match value {
                Some(Json::Int(i)) => u64::try_from(*i).unwrap_or(0),
                Some(Json::UInt(u)) => *u,
                Some(Json::Float(f)) if *f > -1.0 && *f < 18_446_744_073_709_551_616.0 => *f as u64,
                Some(Json::Str(_)) => {
                    return Err(unsupported(kind, "a number inside a JSON string"))
                }
                _ => 0,
            }),
            (Output::Int64(b), _) => b.append_value(match value {
                Some(Json::Int(i)) => *i,
                Some(Json::UInt(u)) => i64::try_from(*u).unwrap_or(0),
                Some(Json::Float(f))
                    if *f > -9_223_372_036_854_775_809.0 && *f < 9_223_372_036_854_775_808.0 =>
                {
                    *f as i64
                }
                Some(Json::Str(_)) => {
                    return Err(unsupported(kind, "a number inside a JSON string"))
                }
                _ => 0,
            }),
            (Output::Float64(b), _) => b.append_value(match value {
                Some(Json::Int(i)) => *i as f64,
                Some(Json::UInt(u)) => *u as f64,
                Some(Json::Float(f)) => *f,
                Some(Json::Str(_)) => {
                    return Err(unsupported(kind, "a number inside a JSON string"))
                }
                _ => 0.0,
            }),
            (Output::Utf8(b, text), _) => {
                text.clear();
                match (kind, value) {
                    (_, None) | (Extract::String, Some(Json::Null)) => {}
                    (Extract::String, Some(Json::Str(s))) => text.push_str(s),
                    (_, Some(value)) => write_json(text, value),
                }
                b.append_value(&*text);
            }
        }
        Ok(())
    }

    fn finish(self) -> ArrayRef {
        match self {
            Output::UInt8(mut b) => Arc::new(b.finish()),
            Output::UInt64(mut b) => Arc::new(b.finish()),
            Output::Int64(mut b) => Arc::new(b.finish()),
            Output::Float64(mut b) => Arc::new(b.finish()),
            Output::Utf8(mut b, _) => Arc::new(b.finish()),
        }
    }
}

/// `value` as ClickHouse re-serializes it: compact, strings escaped minimally
/// (control characters as `\uXXXX` in upper-case hex), doubles as toString prints them.
fn write_json(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Json::UInt(u) => out.push_str(itoa::Buffer::new().format(*u)),
        Json::Float(f) => super::to_string::push_clickhouse_double(out, *f),
        Json::BigInt => unreachable!("rejected before writing"),
        Json::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, &Json::Str(name.clone()));
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

/// Parses a whole document (RFC 8259, surrounding whitespace allowed); None if it is
/// not JSON.
fn parse(text: &str) -> Option<Json> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = parser.value(0)?;
    parser.skip_space();
    (parser.at == parser.bytes.len()).then_some(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// Deeper nesting is treated as invalid rather than risking the stack.
const MAX_DEPTH: usize = 512;

impl Parser<'_> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Option<Json> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end) == Some(word.as_bytes())).then(|| {
            self.at = end;
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_space();
        match *self.bytes.get(self.at)? {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Some(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                if self.eat(b'}') {
                    return Some(Json::Object(members));
                }
                loop {
                    self.skip_space();
                    if self.bytes.get(self.at) != Some(&b'"') {
                        return None;
                    }
                    let name = self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    members.push((name, self.value(depth + 1)?));
                    if self.eat(b'}') {
                        return Some(Json::Object(members));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while let Some(b'0'..=b'9') = p.bytes.get(p.at) {
                p.at += 1;
            }
            p.at - from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let whole_start = self.at;
        let whole = digits(self);
        if whole == 0 || (whole > 1 && self.bytes[whole_start] == b'0') {
            return None;
        }
        let mut integer = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            integer = false;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        if !integer {
            return text.parse::<f64>().ok().map(Json::Float);
        }
        Some(if let Ok(i) = text.parse::<i64>() {
            Json::Int(i)
        } else if let Ok(u) = text.parse::<u64>() {
            Json::UInt(u)
        } else {
            Json::BigInt
        })
    }

    fn string(&mut self) -> Option<String> {
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(&b) = self.bytes.get(self.at) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.push_str(std::str::from_utf8(&self.bytes[start..self.at]).ok()?);
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.at += 1;
                    let escape = *self.bytes.get(self.at)?;
                    self.at += 1;
                    out.push(match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// The code point of `\uXXXX` (the `\u` read), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                return None;
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return None;
            }
            return char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
        }
        char::from_u32(first)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.bytes.get(self.at..self.at + 4)?).ok()?;
        let value = u32::from_str_radix(digits, 16).ok()?;
        self.at += 4;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(value: f64) -> String {
        let mut out = String::new();
        super::super::to_string::push_clickhouse_double(&mut out, value);
        out
    }

    /// Expected texts are what ClickHouse 26 (chdb) printed for the same values.
    #[test]
    fn doubles_print_like_clickhouse() {
        for (value, text) in [
            (0.1, "0.1"),
            (1e21, "1e21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.0001, "0.0001"),
            (0.00001, "0.00001"),
            (1e15, "1000000000000000"),
            (12345600.0, "12345600"),
            (-2.5e-10, "-2.5e-10"),
            (1.0, "1"),
            (1.5, "1.5"),
            (-0.0, "-0"),
            (1e300, "1e300"),
            (12345678901234567890.5, "12345678901234567000"),
        ] {
            assert_eq!(double(value), text, "{value:e}");
        }
    }

    fn extract(kind: Extract, doc: &str, steps: &[Step]) -> String {
        let mut out = Output::new(kind, 1);
        let document = parse(doc);
        let value = document.as_ref().and_then(|d| d.find(steps));
        out.push(kind, value).unwrap();
        let array = out.finish();
        arrow::util::display::array_value_to_string(&array, 0).unwrap()
    }

    #[test]
    fn paths_and_answers_follow_clickhouse() {
        use Extract::*;
        let doc =
            r#"{"s":"x","i":1,"f":1.50,"t":true,"n":null,"o":{"d":"y"},"a":["p",1],"s":"dup"}"#;
        assert_eq!(extract(String, doc, &[Step::Key("s")]), "x");
        assert_eq!(extract(String, doc, &[Step::Key("i")]), "1");
        assert_eq!(extract(String, doc, &[Step::Key("f")]), "1.5");
        assert_eq!(extract(String, doc, &[Step::Key("t")]), "true");
        assert_eq!(extract(String, doc, &[Step::Key("n")]), "");
        assert_eq!(extract(String, doc, &[Step::Key("o")]), r#"{"d":"y"}"#);
        assert_eq!(extract(String, doc, &[Step::Key("o"), Step::Key("d")]), "y");
        assert_eq!(
            extract(String, doc, &[Step::Key("a"), Step::Index(-2)]),
            "p"
        );
        assert_eq!(extract(String, doc, &[Step::Index(1)]), "x");
        assert_eq!(extract(String, doc, &[Step::Key("a"), Step::Index(0)]), "");
        assert_eq!(extract(Raw, doc, &[Step::Key("s")]), r#""x""#);
        assert_eq!(extract(Raw, doc, &[Step::Key("n")]), "null");
        assert_eq!(extract(Raw, doc, &[Step::Key("zz")]), "");
        assert_eq!(extract(Has, doc, &[Step::Key("n")]), "1");
        assert_eq!(extract(Has, doc, &[Step::Key("zz")]), "0");
        assert_eq!(extract(Length, doc, &[Step::Key("a")]), "2");
        assert_eq!(extract(Int, doc, &[Step::Key("f")]), "1");
        assert_eq!(extract(Int, doc, &[Step::Key("t")]), "0");
        assert_eq!(extract(Float, doc, &[Step::Key("i")]), "1.0");
        assert_eq!(extract(UInt, r#"{"a":-3}"#, &[Step::Key("a")]), "0");
        for invalid in [
            r#"{"a":01}"#,
            r#"{"a":"x\q"}"#,
            r#"{"a":"x"} trailing"#,
            "not json",
        ] {
            assert_eq!(extract(String, invalid, &[Step::Key("a")]), "", "{invalid}");
            assert_eq!(extract(Has, invalid, &[Step::Key("a")]), "0", "{invalid}");
        }
        assert_eq!(
            extract(String, r#"{"a":"\u00e9\ud83d\ude00\n"}"#, &[Step::Key("a")]),
            "é😀\n"
        );
    }
}
