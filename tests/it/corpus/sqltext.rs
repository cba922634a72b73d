//! Reading the corpus files (`queries.sql` blocks, the flat `params.json`) and the hints
//! the data generator takes from the SQL: which values each column is compared with,
//! which Map keys and JSON keys the queries read, which literal days they name. General
//! rules over tokens, never a per-query list, so new queries steer the data the same way.

use std::collections::{BTreeMap, BTreeSet};

/// One corpus query: `-- id: <id> | source: <repo> | note: <text>` and its SQL.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: String,
    pub sql: String,
}

/// The blocks of queries.sql, each SQL without its final `;` (comments and SETTINGS kept).
pub fn parse_queries(text: &str) -> Vec<Query> {
    let mut queries: Vec<Query> = Vec::new();
    for line in text.lines() {
        let header = line
            .strip_prefix("-- id: ")
            .and_then(|rest| rest.split_once(" | source: "))
            .filter(|(_, rest)| rest.contains(" | note: "));
        if let Some((id, _)) = header {
            queries.push(Query {
                id: id.trim().to_owned(),
                sql: String::new(),
            });
        } else if let Some(query) = queries.last_mut() {
            query.sql.push_str(line);
            query.sql.push('\n');
        }
    }
    for query in &mut queries {
        let sql = query.sql.trim();
        query.sql = sql.strip_suffix(';').unwrap_or(sql).trim_end().to_owned();
    }
    queries
}

/// schema.sql's statements: split on `;` at a line end, comment-only chunks dropped (as
/// the corpus's check.py does).
pub fn split_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            let body: Vec<&str> = current
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect();
            let body = body.join("\n");
            let body = body.trim().trim_end_matches(';').trim();
            if !body.is_empty() {
                out.push(current.trim().trim_end_matches(';').to_owned());
            }
            current.clear();
        }
    }
    out
}

/// params.json: one flat object of string values (`_comment` dropped).
pub fn parse_params(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut chars = text.chars().peekable();
    let mut out = BTreeMap::new();
    let skip = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    };
    let string = |chars: &mut std::iter::Peekable<std::str::Chars>| -> Result<String, String> {
        if chars.next() != Some('"') {
            return Err("expected a string".into());
        }
        let mut s = String::new();
        loop {
            match chars.next().ok_or("unterminated string")? {
                '"' => return Ok(s),
                '\\' => match chars.next().ok_or("bad escape")? {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        let code = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                        s.push(char::from_u32(code).ok_or("bad \\u")?);
                    }
                    other => s.push(other),
                },
                c => s.push(c),
            }
        }
    };
    skip(&mut chars);
    if chars.next() != Some('{') {
        return Err("params.json is not an object".into());
    }
    loop {
        skip(&mut chars);
        if chars.peek() == Some(&'}') {
            break;
        }
        let key = string(&mut chars)?;
        skip(&mut chars);
        if chars.next() != Some(':') {
            return Err(format!("expected ':' after {key:?}"));
        }
        skip(&mut chars);
        let value = string(&mut chars)?;
        if !key.starts_with('_') {
            out.insert(key, value);
        }
        skip(&mut chars);
        match chars.next() {
            Some(',') => continue,
            Some('}') => break,
            other => return Err(format!("expected ',' or '}}', got {other:?}")),
        }
    }
    Ok(out)
}

/// The items of a ClickHouse array text (`['a','b']`, `[1,2]`, `[]`), unquoted.
pub fn array_items(text: &str) -> Vec<String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(|item| item.trim().trim_matches('\'').to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    /// `{name:Type}`
    Param(String, String),
    Op(String),
}

/// ClickHouse SQL as tokens (comments dropped; quoted identifiers are identifiers).
pub fn tokens(sql: &str) -> Vec<Tok> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let until = |from: usize, end: &dyn Fn(usize) -> bool| {
        let mut j = from;
        while j < chars.len() && !end(j) {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            i = until(i, &|j| chars[j] == '\n');
        } else if c == '/' && next == Some('*') {
            i = until(i + 2, &|j| {
                chars[j] == '*' && chars.get(j + 1) == Some(&'/')
            }) + 2;
        } else if c == '\'' || c == '`' || c == '"' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                text.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(if c == '\'' {
                Tok::Str(text)
            } else {
                Tok::Ident(text)
            });
        } else if c == '{' {
            let end = until(i, &|j| chars[j] == '}');
            let inner: String = chars[i + 1..end.min(chars.len())].iter().collect();
            match inner.split_once(':') {
                Some((name, ty)) => out.push(Tok::Param(name.trim().into(), ty.trim().into())),
                None => out.push(Tok::Op("{".into())),
            }
            i = end + 1;
        } else if c.is_ascii_digit() {
            let end = until(i, &|j| !(chars[j].is_alphanumeric() || chars[j] == '.'));
            out.push(Tok::Num(chars[i..end].iter().collect()));
            i = end;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let end = until(i, &|j| {
                !(chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '$')
            });
            out.push(Tok::Ident(chars[i..end].iter().collect()));
            i = end;
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let len = if ["!=", "<>", ">=", "<=", "==", "||", "->", "::"].contains(&two.as_str()) {
                2
            } else {
                1
            };
            out.push(Tok::Op(chars[i..i + len].iter().collect()));
            i += len;
        }
    }
    out
}

/// A JSON shape a String column must have for the queries' `JSONExtract*` calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Object(BTreeMap<String, Json>),
    /// A scalar of this kind, and values it is compared with.
    Leaf(Leaf, Vec<String>),
    /// A string holding JSON text (`JSONExtractInt(JSONExtractString(c, 'k'), 'x')`).
    Embedded(Box<Json>),
    /// An array of objects (`JSONExtractArrayRaw`).
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leaf {
    String,
    Int,
    Float,
    Bool,
    Raw,
}

/// What the queries look for, by column name (names are unique enough across the corpus;
/// a name shared by two tables gets the union, which only adds values).
#[derive(Debug, Default)]
pub struct Hints {
    /// Values a column is compared with by `=`, `IN`, `LIKE` (pattern without `%`), `has`.
    pub equal: BTreeMap<String, Vec<String>>,
    /// Values compared with `!=`, `NOT IN`: sentinels the queries exclude (kept rare).
    pub unequal: BTreeMap<String, Vec<String>>,
    /// Map column → key read as `col['key']` → values that key is compared with.
    pub map_keys: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// String column parsed as JSON → the shape the queries read.
    pub json: BTreeMap<String, Json>,
    /// Array column → elements searched with `has`/`indexOf`.
    pub elements: BTreeMap<String, Vec<String>>,
    /// Days (since the epoch) that literal instants and time parameters name.
    pub days: BTreeSet<i64>,
}

const KEYWORDS: &[&str] = &[
    "AND", "OR", "NOT", "WHERE", "ON", "BY", "WHEN", "THEN", "ELSE", "AS", "IN", "IS", "SELECT",
    "HAVING", "CASE", "END", "NULL", "LIKE", "ILIKE", "ARRAY", "JOIN", "FROM", "WITH",
];

fn push(list: &mut Vec<String>, values: impl IntoIterator<Item = String>) {
    for value in values {
        if !list.contains(&value) {
            list.push(value);
        }
    }
}

fn ident(tok: Option<&Tok>) -> Option<&str> {
    match tok {
        Some(Tok::Ident(name)) if !KEYWORDS.contains(&name.to_ascii_uppercase().as_str()) => {
            Some(name)
        }
        _ => None,
    }
}

/// `col [NOT] IN|LIKE|ILIKE …` at `i`: the column and whether negated (the functional
/// `in(col, …)` has no column on its left).
fn infix(toks: &[Tok], i: usize, word: &str) -> Option<(String, bool)> {
    if !["IN", "LIKE", "ILIKE"].contains(&word.to_ascii_uppercase().as_str()) {
        return None;
    }
    let negated =
        matches!(toks.get(i.wrapping_sub(1)), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("NOT"));
    let at = if negated {
        i.wrapping_sub(2)
    } else {
        i.wrapping_sub(1)
    };
    ident(toks.get(at)).map(|c| (c.to_owned(), negated))
}

fn op(tok: Option<&Tok>) -> Option<&str> {
    match tok {
        Some(Tok::Op(o)) => Some(o),
        _ => None,
    }
}

impl Hints {
    /// Reads one query (or the schema's MATERIALIZED expressions) for hints.
    pub fn scan(&mut self, sql: &str, params: &BTreeMap<String, String>) {
        let toks = tokens(sql);
        for (i, tok) in toks.iter().enumerate() {
            match tok {
                Tok::Op(o) if ["=", "==", "!=", "<>"].contains(&o.as_str()) => {
                    self.comparison(&toks, i, o == "=" || o == "==", params)
                }
                Tok::Ident(word) if infix(&toks, i, word).is_some() => {
                    let (column, negated) = infix(&toks, i, word).unwrap();
                    if let Some((values, _)) = list(&toks, i + 1, params) {
                        let values = values.into_iter().map(|v| v.replace('%', ""));
                        let target = if negated {
                            &mut self.unequal
                        } else {
                            &mut self.equal
                        };
                        push(target.entry(column).or_default(), values);
                    }
                }
                Tok::Ident(word) if toks.get(i + 1) == Some(&Tok::Op("(".into())) => {
                    self.call(&toks, i, word, params)
                }
                Tok::Op(o) if o == "[" => {
                    let key = match toks.get(i + 1) {
                        Some(Tok::Str(_) | Tok::Param(..)) => operand(toks.get(i + 1), params),
                        _ => None,
                    };
                    if let (Some(column), Some(key), Some("]")) = (
                        ident(toks.get(i.wrapping_sub(1))),
                        key.and_then(|v| v.into_iter().next()),
                        op(toks.get(i + 2)),
                    ) {
                        let values = self.map_keys.entry(column.to_owned()).or_default();
                        let values = values.entry(key).or_default();
                        if let (Some("="), Some(v)) =
                            (op(toks.get(i + 3)), operand(toks.get(i + 4), params))
                        {
                            push(values, v);
                        }
                        // `{p:String} = col[key]`, written the other way round.
                        if let (Some("="), Some(v)) = (
                            op(toks.get(i.wrapping_sub(2))),
                            operand(toks.get(i.wrapping_sub(3)), params),
                        ) {
                            push(values, v);
                        }
                    }
                }
                Tok::Str(text) => self.day(text),
                Tok::Num(digits) if digits.len() == 13 => {
                    if let Ok(ms) = digits.parse::<i64>() {
                        self.days.insert(ms.div_euclid(86_400_000));
                    }
                }
                _ => {}
            }
        }
    }

    /// The days the time parameters name (`2024-05-01 00:00:00`, epoch milliseconds).
    pub fn scan_params(&mut self, params: &BTreeMap<String, String>) {
        for value in params.values() {
            self.day(value);
            if value.len() == 13 {
                if let Ok(ms) = value.parse::<i64>() {
                    self.days.insert(ms.div_euclid(86_400_000));
                }
            }
        }
    }

    fn day(&mut self, text: &str) {
        if let Some(day) = days_from_date(text) {
            self.days.insert(day);
        }
    }

    /// `col = X`, `X = col`, `upper(col) = X`, `JSONExtract…(…) = X`.
    fn comparison(
        &mut self,
        toks: &[Tok],
        i: usize,
        equal: bool,
        params: &BTreeMap<String, String>,
    ) {
        let target = if equal {
            &mut self.equal
        } else {
            &mut self.unequal
        };
        let right = operand(toks.get(i + 1), params);
        if let (Some(column), Some(values)) = (ident(toks.get(i.wrapping_sub(1))), right.clone()) {
            push(target.entry(column.to_owned()).or_default(), values);
            return;
        }
        if let (Some(values), Some(column)) = (
            operand(toks.get(i.wrapping_sub(1)), params),
            ident(toks.get(i + 1)),
        ) {
            if op(toks.get(i + 2)) != Some("[") && op(toks.get(i + 2)) != Some("(") {
                push(target.entry(column.to_owned()).or_default(), values);
            }
            return;
        }
        // A simple wrapper on the left: upper(col) = 'USD'.
        let Some(values) = right else { return };
        if op(toks.get(i.wrapping_sub(1))) == Some(")") {
            let open = matching_open(toks, i - 1);
            if let (Some(open), Some(Tok::Ident(f))) =
                (open, open.and_then(|o| toks.get(o.wrapping_sub(1))))
            {
                let inner = &toks[open + 1..i - 1];
                let column = match inner {
                    [Tok::Ident(c)] | [Tok::Ident(_), Tok::Op(_), Tok::Ident(c)] => Some(c),
                    _ => None,
                };
                let wrapper = ["upper", "lower", "trim", "upperutf8", "lowerutf8"]
                    .contains(&f.to_ascii_lowercase().as_str());
                if let (Some(column), true) = (column, wrapper) {
                    push(target.entry(column.clone()).or_default(), values);
                }
            }
        }
    }

    /// Function calls: `JSONExtract*`, `has`/`indexOf`, `hasToken`/`position*`,
    /// and the functional comparisons `equals`, `notEquals`, `in`.
    fn call(&mut self, toks: &[Tok], i: usize, name: &str, params: &BTreeMap<String, String>) {
        let lower = name.to_ascii_lowercase();
        let args = arguments(toks, i + 1);
        let column = |arg: &[Tok]| -> Option<String> {
            match arg {
                [Tok::Ident(c)] | [Tok::Ident(_), Tok::Op(_), Tok::Ident(c)] => Some(c.clone()),
                _ => None,
            }
        };
        let values = |arg: &[Tok]| -> Option<Vec<String>> {
            match arg {
                [single] => operand(Some(single), params),
                _ => list(arg, 0, params).map(|(v, _)| v),
            }
        };
        match lower.as_str() {
            "equals" | "notequals" | "in" | "notin" | "like" | "ilike" if args.len() == 2 => {
                if let (Some(c), Some(v)) = (column(&args[0]), values(&args[1])) {
                    let target = if lower.starts_with("not") {
                        &mut self.unequal
                    } else {
                        &mut self.equal
                    };
                    push(
                        target.entry(c).or_default(),
                        v.into_iter().map(|v| v.replace('%', "")),
                    );
                }
            }
            "has" | "indexof" if args.len() == 2 => {
                if let (Some(c), Some(v)) = (column(&args[0]), values(&args[1])) {
                    push(self.elements.entry(c).or_default(), v);
                }
            }
            "hastoken" | "position" | "positioncaseinsensitive" if args.len() == 2 => {
                if let (Some(c), Some(v)) = (column(&args[0]), values(&args[1])) {
                    push(self.equal.entry(c).or_default(), v);
                }
            }
            _ if lower.contains("jsonextract") || lower.starts_with("jsonhas") => {
                if let Some((c, path, mut shape)) = json_call(toks, i) {
                    let close = closing(toks, i + 1);
                    let compared = close.filter(|c| match toks.get(c + 1) {
                        Some(Tok::Op(o)) => o == "=",
                        Some(Tok::Ident(w)) => w.eq_ignore_ascii_case("LIKE"),
                        _ => false,
                    });
                    if let (Some(v), Json::Leaf(_, values)) = (
                        compared.and_then(|c| operand(toks.get(c + 2), params)),
                        &mut shape,
                    ) {
                        push(values, v.into_iter().map(|v| v.replace('%', "")));
                    }
                    let root = self.json.entry(c).or_insert(Json::Object(BTreeMap::new()));
                    merge(root, &path, shape);
                }
            }
            _ => {}
        }
    }
}

/// A `JSONExtract…(column, 'k1', …)` call at `i`: the column, the key path and the shape
/// at its end. A first argument that is itself `JSONExtractString(column, 'k')` makes
/// that key a string holding JSON.
fn json_call(toks: &[Tok], i: usize) -> Option<(String, Vec<String>, Json)> {
    let Tok::Ident(name) = &toks[i] else {
        return None;
    };
    let lower = name.to_ascii_lowercase();
    let args = arguments(toks, i + 1);
    let first = args.first()?;
    let mut keys: Vec<String> = args[1..]
        .iter()
        .map_while(|a| match a.as_slice() {
            [Tok::Str(k)] => Some(k.clone()),
            _ => None,
        })
        .collect();
    let leaf = |kind: &str| {
        let kind = kind.to_ascii_lowercase();
        if kind.contains("arrayraw") || kind.starts_with("array") {
            Json::Array
        } else if kind.contains("raw") || kind.starts_with("jsonhas") {
            Json::Leaf(Leaf::Raw, Vec::new())
        } else if kind.contains("string") {
            Json::Leaf(Leaf::String, Vec::new())
        } else if kind.contains("int") {
            Json::Leaf(Leaf::Int, Vec::new())
        } else if kind.contains("float") {
            Json::Leaf(Leaf::Float, Vec::new())
        } else if kind.contains("bool") {
            Json::Leaf(Leaf::Bool, Vec::new())
        } else {
            Json::Leaf(Leaf::Raw, Vec::new())
        }
    };
    // Plain JSONExtract(json, 'k', 'Type'): the last string names the type.
    let shape = if lower == "jsonextract" {
        leaf(&keys.pop().unwrap_or_default())
    } else {
        leaf(&lower)
    };
    match first.as_slice() {
        [Tok::Ident(c)] | [Tok::Ident(_), Tok::Op(_), Tok::Ident(c)] => {
            Some((c.clone(), keys, shape))
        }
        [Tok::Ident(_), Tok::Op(open), ..] if open == "(" => {
            let (c, path, _) = json_call(first, 0)?;
            let mut inner = Json::Object(BTreeMap::new());
            merge(&mut inner, &keys, shape);
            Some((c, path, Json::Embedded(Box::new(inner))))
        }
        _ => None,
    }
}

/// Puts `shape` at `path` under `root`; richer shapes win over plain strings.
fn merge(root: &mut Json, path: &[String], shape: Json) {
    let Some((key, rest)) = path.split_first() else {
        match (&mut *root, shape) {
            (Json::Leaf(_, values), Json::Leaf(_, more)) => push(values, more),
            (Json::Object(children), Json::Object(more)) if !more.is_empty() => {
                children.extend(more)
            }
            (Json::Object(children), shape) if children.is_empty() => *root = shape,
            (
                Json::Leaf(Leaf::String | Leaf::Raw, _),
                shape @ (Json::Embedded(_) | Json::Array),
            ) => *root = shape,
            (Json::Embedded(inner), Json::Embedded(more)) => {
                if let Json::Object(more) = *more {
                    for (k, v) in more {
                        merge(inner, &[k], v);
                    }
                }
            }
            _ => {}
        }
        return;
    };
    if !matches!(root, Json::Object(_)) {
        if let Json::Embedded(inner) = root {
            return merge(inner, path, shape);
        }
        *root = Json::Object(BTreeMap::new());
    }
    if let Json::Object(children) = root {
        let child = children
            .entry(key.clone())
            .or_insert_with(|| Json::Object(BTreeMap::new()));
        merge(child, rest, shape);
    }
}

/// The values one token stands for: a literal, or a parameter's value (its items for an
/// array parameter).
fn operand(tok: Option<&Tok>, params: &BTreeMap<String, String>) -> Option<Vec<String>> {
    match tok? {
        Tok::Str(s) => Some(vec![s.clone()]),
        Tok::Num(n) => Some(vec![n.clone()]),
        Tok::Ident(b) if b.eq_ignore_ascii_case("true") || b.eq_ignore_ascii_case("false") => {
            Some(vec![b.to_ascii_lowercase()])
        }
        Tok::Param(name, ty) => {
            let value = params.get(name)?;
            Some(if ty.starts_with("Array") {
                array_items(value)
            } else {
                vec![value.clone()]
            })
        }
        _ => None,
    }
}

/// The values of an `IN` right-hand side at `i`: `(a, b)`, `[a, b]`, `tuple(a, b)`, a
/// parameter, `({p:Array(T)})`; None for a subquery.
fn list(toks: &[Tok], i: usize, params: &BTreeMap<String, String>) -> Option<(Vec<String>, usize)> {
    let mut at = i;
    if matches!(toks.get(at), Some(Tok::Ident(t)) if t.eq_ignore_ascii_case("tuple")) {
        at += 1;
    }
    match toks.get(at)? {
        Tok::Op(open) if open == "(" || open == "[" => {
            let mut values = Vec::new();
            let mut j = at + 1;
            loop {
                values.extend(operand(toks.get(j), params)?);
                match op(toks.get(j + 1))? {
                    "," => j += 2,
                    ")" | "]" => return Some((values, j + 2 - i)),
                    _ => return None,
                }
            }
        }
        single => operand(Some(single), params).map(|v| (v, 1)),
    }
}

/// The index of the `)` closing the `(` at `open`.
fn closing(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (j, tok) in toks.iter().enumerate().skip(open) {
        match op(Some(tok)) {
            Some("(") => depth += 1,
            Some(")") => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

fn matching_open(toks: &[Tok], close: usize) -> Option<usize> {
    let mut depth = 0;
    for j in (0..=close).rev() {
        match op(toks.get(j)) {
            Some(")") => depth += 1,
            Some("(") => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// The arguments of the call whose `(` is at `open`, split at top-level commas.
fn arguments(toks: &[Tok], open: usize) -> Vec<Vec<Tok>> {
    let Some(close) = closing(toks, open) else {
        return Vec::new();
    };
    let mut args = vec![Vec::new()];
    let mut depth = 0;
    for tok in &toks[open + 1..close] {
        match op(Some(tok)) {
            Some("(") | Some("[") => depth += 1,
            Some(")") | Some("]") => depth -= 1,
            Some(",") if depth == 0 => {
                args.push(Vec::new());
                continue;
            }
            _ => {}
        }
        args.last_mut().unwrap().push(tok.clone());
    }
    args
}

/// Days since the epoch of a text starting `YYYY-MM-DD` (from the year 2000 on).
pub fn days_from_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i64 = text[0..4].parse().ok()?;
    let month: i64 = text[5..7].parse().ok()?;
    let day: i64 = text[8..10].parse().ok()?;
    if year < 2000 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}
