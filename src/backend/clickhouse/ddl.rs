//! Table schemas from ClickHouse `CREATE TABLE` statements, for typed offline translation
//! (`switchyard translate --schema FILE`): the columns and their types, presented as the
//! ClickHouse backend presents a live table's (`types::ChType::field`). Everything after
//! the column list (engine, ORDER BY, SETTINGS) and every non-column item in it (INDEX,
//! PROJECTION, CONSTRAINT) is skipped; column clauses (DEFAULT, MATERIALIZED, CODEC, …)
//! are cut off after the type.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};

use super::types::ChType;
use crate::error::{Error, Result};

/// Every table created in `text` (statements separated by `;`), by name; a database
/// prefix is kept as written and also dropped (both names find the table).
pub fn schemas(text: &str) -> Result<HashMap<String, SchemaRef>> {
    let mut tables = HashMap::new();
    for statement in split_statements(text) {
        let Some((name, body)) = create_table(&statement) else {
            continue;
        };
        let mut fields = Vec::new();
        for item in split_top_level(body) {
            let item = item.trim();
            let first = item.split_whitespace().next().unwrap_or("");
            let upper = first.to_ascii_uppercase();
            if item.is_empty()
                || ["INDEX", "PROJECTION", "CONSTRAINT", "PRIMARY"].contains(&upper.as_str())
            {
                continue;
            }
            let (column, rest) = identifier(item)
                .ok_or_else(|| Error::internal(format!("{name}: bad column {item:?}")))?;
            let ty = ChType::parse(type_text(rest))
                .map_err(|e| Error::internal(format!("{name}.{column}: {e}")))?;
            fields.push(ty.field(column));
        }
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        if let Some((_, bare)) = name.rsplit_once('.') {
            tables.insert(bare.to_owned(), schema.clone());
        }
        tables.insert(name, schema);
    }
    Ok(tables)
}

/// Statements split at `;` outside quotes, with `--` comments removed.
fn split_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = strip_comment(line);
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            statements.push(std::mem::take(&mut current));
        }
    }
    statements.push(current);
    statements
}

/// The line without a `--` comment that starts outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'`' || b == b'"' => quote = Some(b),
            None if b == b'-' && bytes.get(i + 1) == Some(&b'-') => return &line[..i],
            None => {}
        }
    }
    line
}

/// `CREATE TABLE [IF NOT EXISTS] name (body) …` → (name, body).
fn create_table(statement: &str) -> Option<(String, &str)> {
    let trimmed = statement.trim_start();
    let mut words = trimmed.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("CREATE") {
        return None;
    }
    let lower = trimmed.to_ascii_lowercase();
    let after = lower.find("table")? + "table".len();
    let mut rest = &trimmed[after..];
    let upper = rest.trim_start().to_ascii_uppercase();
    if upper.starts_with("IF NOT EXISTS") {
        rest = &rest.trim_start()["IF NOT EXISTS".len()..];
    }
    let open = rest.find('(')?;
    let name: String = rest[..open]
        .split_whitespace()
        .next()?
        .chars()
        .filter(|c| *c != '`' && *c != '"')
        .collect();
    let body = &rest[open + 1..];
    let close = matching_close(body)?;
    Some((name, &body[..close]))
}

/// Each character of `text` outside quotes, with its byte index and how many
/// parentheses are open around it (a closing one counts as still open).
fn unquoted(text: &str) -> impl Iterator<Item = (usize, char, usize)> + '_ {
    let (mut depth, mut quote) = (0usize, None);
    text.char_indices()
        .filter_map(move |(i, c)| match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                None
            }
            (Some(_), _) => None,
            (None, '\'' | '`' | '"') => {
                quote = Some(c);
                None
            }
            (None, '(') => {
                depth += 1;
                Some((i, c, depth))
            }
            (None, ')') => {
                let open = depth;
                depth = depth.saturating_sub(1);
                Some((i, c, open))
            }
            (None, c) => Some((i, c, depth)),
        })
}

/// The index of the `)` closing an already opened parenthesis.
fn matching_close(body: &str) -> Option<usize> {
    unquoted(body).find_map(|(i, c, open)| (c == ')' && open == 0).then_some(i))
}

/// Items separated by commas outside parentheses and quotes.
fn split_top_level(body: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut start = 0;
    for (i, _, _) in unquoted(body).filter(|&(_, c, depth)| c == ',' && depth == 0) {
        items.push(&body[start..i]);
        start = i + 1;
    }
    items.push(&body[start..]);
    items
}

/// A column name (bare, backquoted or double-quoted) and the text after it.
fn identifier(item: &str) -> Option<(String, &str)> {
    let quote = item.chars().next()?;
    if quote == '`' || quote == '"' {
        let end = item[1..].find(quote)? + 1;
        return Some((item[1..end].to_owned(), &item[end + 1..]));
    }
    let end = item.find(char::is_whitespace)?;
    Some((item[..end].to_owned(), &item[end..]))
}

/// The type at the start of `rest`: up to the first column clause keyword outside
/// parentheses (DEFAULT, MATERIALIZED, ALIAS, EPHEMERAL, CODEC, COMMENT, TTL, …).
fn type_text(rest: &str) -> &str {
    const CLAUSES: &[&str] = &[
        "DEFAULT",
        "MATERIALIZED",
        "ALIAS",
        "EPHEMERAL",
        "CODEC",
        "COMMENT",
        "TTL",
        "STATISTICS",
        "SETTINGS",
        "NOT",
        "NULL",
        "PRIMARY",
    ];
    for (i, c, depth) in unquoted(rest) {
        if depth != 0 || !c.is_whitespace() {
            continue;
        }
        let word: String = rest[i..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let before = rest[..i].trim();
        if !before.is_empty() && CLAUSES.contains(&word.to_ascii_uppercase().as_str()) {
            return before;
        }
    }
    rest.trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::DataType;

    #[test]
    fn columns_and_types_of_create_table() {
        let ddl = "-- a comment; with a semicolon\n\
            CREATE TABLE IF NOT EXISTS db.spans\n(\n\
              id FixedString(36),\n\
              `start time` DateTime64(9, 'UTC') DEFAULT now64(9),\n\
              attrs Map(LowCardinality(String), String) CODEC(ZSTD(1)),\n\
              cost Nullable(Decimal(38, 12)),\n\
              d UInt64 MATERIALIZED if(a > 0, 1, 0) COMMENT 'x, y',\n\
              INDEX idx id TYPE bloom_filter GRANULARITY 1\n\
            ) ENGINE = ReplacingMergeTree ORDER BY (id);\n\
            CREATE VIEW v AS SELECT 1;";
        let tables = schemas(ddl).unwrap();
        let spans = &tables["spans"];
        assert_eq!(tables["db.spans"], *spans);
        let names: Vec<&str> = spans.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "start time", "attrs", "cost", "d"]);
        assert_eq!(spans.field(0).data_type(), &DataType::Utf8);
        assert!(spans.field(3).is_nullable());
        assert!(!spans.field(2).is_nullable());
        assert!(matches!(spans.field(2).data_type(), DataType::Map(..)));
        assert_eq!(spans.field(4).data_type(), &DataType::Decimal128(20, 0));
    }
}
