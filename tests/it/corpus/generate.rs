//! Test data for the corpus tables, generated inside ClickHouse: one
//! `INSERT INTO t (…) SELECT … FROM numbers(N)` per table, each column's expression derived
//! from its type as `system.columns` gives it, steered by the `Hints` taken from the queries
//! (values compared with, Map keys, JSON keys, literal days). Deterministic: every choice is
//! a hash of the row number, so reloading gives the same rows.
//!
//! The rules: times spread over the corpus window (2024-06-01..2024-06-08, README.md) with
//! a fifth of the rows on the other days the queries name, unique per row to the
//! millisecond (Delta keeps microseconds); a column's compared values on most rows (one
//! value: 3 rows in 4; several: 2 in 3, or 1 in 3 for ids) and excluded sentinels on 1 in
//! 10; otherwise few distinct values so GROUP BYs group (ids from one pool shared by all
//! tables, so joins match); NULL on 1 row in 7; Maps hold every key the queries read; JSON
//! strings hold every key the queries extract; time-named String columns hold ISO-8601.

use super::sqltext::{Hints, Json, Leaf};

/// First day of the corpus window, and its length (params.json / README.md).
const WINDOW_START: i64 = 1_717_200_000; // 2024-06-01 00:00:00 UTC
const WINDOW_SECONDS: i64 = 7 * 86_400;
/// Distinct generic ids (shared by every id column, so joins find partners).
const ID_POOL: u32 = 64;

/// A writable column (not MATERIALIZED or ALIAS) as system.columns gives it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: String,
}

/// The INSERT that fills `table` with `rows` rows.
pub fn insert_sql(table: &str, columns: &[Column], rows: usize, hints: &Hints) -> String {
    let anchors: Vec<i64> = hints
        .days
        .iter()
        .map(|d| d * 86_400)
        .filter(|s| !(WINDOW_START..WINDOW_START + WINDOW_SECONDS).contains(s))
        .collect();
    let generator = Generator { hints, anchors };
    let names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    let values: Vec<String> = columns
        .iter()
        .map(|c| {
            let expr = generator.value(&c.name, &c.ty, "number", 0);
            format!("CAST({expr} AS {})", c.ty)
        })
        .collect();
    format!(
        "INSERT INTO default.{} ({}) SELECT {} FROM numbers({rows}) \
         SETTINGS max_partitions_per_insert_block = 0",
        quote_ident(table),
        names.join(", "),
        values.join(",\n ")
    )
}

pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

pub fn quote_str(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A type's name and its top-level arguments: `Map(K, V)` → ("Map", ["K", "V"]).
fn parse_type(ty: &str) -> (&str, Vec<&str>) {
    let ty = ty.trim();
    let Some(open) = ty.find('(') else {
        return (ty, Vec::new());
    };
    let inner = &ty[open + 1..ty.rfind(')').unwrap_or(ty.len())];
    (&ty[..open], split_top(inner))
}

/// Splits at commas outside parentheses and quotes.
fn split_top(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut quoted, mut start) = (Vec::new(), 0, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(text[start..].trim());
    }
    out
}

/// Ids and hashes: values from one pool, so keys of different tables meet.
fn is_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.ends_with("id") && !lower.ends_with("valid")) || lower.ends_with("hash")
}

fn is_time_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("time") || lower.ends_with("_at") || lower == "timestamp"
}

/// Values a column is compared with, split into those wanted and sentinels excluded.
#[derive(Default, Clone)]
struct Specials {
    wanted: Vec<String>,
    excluded: Vec<String>,
}

impl Specials {
    fn filtered(&self, keep: impl Fn(&str) -> bool) -> Specials {
        let wanted: Vec<String> = self.wanted.iter().filter(|v| keep(v)).cloned().collect();
        Specials {
            excluded: self
                .excluded
                .iter()
                .filter(|v| keep(v) && !wanted.contains(v))
                .cloned()
                .collect(),
            wanted,
        }
    }
}

struct Generator<'a> {
    hints: &'a Hints,
    /// Other days the queries name (seconds), each getting a share of the rows.
    anchors: Vec<i64>,
}

fn hash(n: &str, salt: &str) -> String {
    format!("cityHash64({n}, {})", quote_str(salt))
}

fn pick(values: &[String], n: &str, salt: &str) -> String {
    format!(
        "[{}][1 + {} % {}]",
        values.join(", "),
        hash(n, salt),
        values.len()
    )
}

impl Generator<'_> {
    fn specials(&self, column: &str) -> Specials {
        Specials {
            wanted: self.hints.equal.get(column).cloned().unwrap_or_default(),
            excluded: self.hints.unequal.get(column).cloned().unwrap_or_default(),
        }
        .filtered(|_| true)
    }

    /// A wanted value on most rows, a sentinel on a few, else `generic`.
    fn choose(
        &self,
        specials: &Specials,
        literal: impl Fn(&str) -> String,
        generic: String,
        id: bool,
        n: &str,
        salt: &str,
    ) -> String {
        let mut arms = Vec::new();
        let wanted: Vec<String> = specials.wanted.iter().map(|v| literal(v)).collect();
        let excluded: Vec<String> = specials.excluded.iter().map(|v| literal(v)).collect();
        match wanted.len() {
            0 => {}
            1 => arms.push(format!("({n}) % 4 != 3, {}", wanted[0])),
            _ if id => arms.push(format!("({n}) % 3 = 0, {}", pick(&wanted, n, salt))),
            _ => arms.push(format!("({n}) % 3 != 2, {}", pick(&wanted, n, salt))),
        }
        if !excluded.is_empty() {
            arms.push(format!(
                "{} % 10 = 0, {}",
                hash(n, &format!("{salt}!")),
                pick(&excluded, n, salt)
            ));
        }
        if arms.is_empty() {
            generic
        } else {
            format!("multiIf({}, {generic})", arms.join(", "))
        }
    }

    /// The row's instant in seconds: mostly inside the window, a fifth on other named days.
    fn seconds(&self, column: &str, n: &str) -> String {
        let within = format!("{WINDOW_START} + {} % {WINDOW_SECONDS}", hash(n, "@time"));
        let base = if self.anchors.is_empty() {
            within
        } else {
            let days: Vec<String> = self.anchors.iter().map(|s| s.to_string()).collect();
            format!(
                "if(({n}) % 5 = 4, [{}][1 + intDiv({n}, 5) % {}] + {} % 86400, {within})",
                days.join(", "),
                days.len(),
                hash(n, "@time")
            )
        };
        // Ends come after starts.
        let lower = column.to_ascii_lowercase();
        if ["end", "last", "updated", "max"]
            .iter()
            .any(|w| lower.contains(w))
        {
            format!("({base} + 1 + {} % 600)", hash(n, column))
        } else {
            format!("({base})")
        }
    }

    /// Microseconds since the epoch, unique per row to the millisecond.
    fn micros(&self, column: &str, n: &str) -> String {
        format!(
            "(toInt64({}) * 1000000 + ({n}) % 1000000 * 1000)",
            self.seconds(column, n)
        )
    }

    fn string(&self, column: &str, specials: &Specials, n: &str) -> String {
        if let Some(shape) = self.hints.json.get(column) {
            return self.json(shape, column, n);
        }
        if is_time_name(column) && specials.wanted.is_empty() {
            return format!(
                "concat(replaceOne(toString(fromUnixTimestamp64Micro({}, 'UTC')), ' ', 'T'), 'Z')",
                self.micros(column, n)
            );
        }
        let generic = if is_id(column) {
            id_text(&format!("{} % {ID_POOL}", hash(n, column)))
        } else {
            format!(
                "concat({}, toString({} % 5))",
                quote_str(&format!("{column}_")),
                hash(n, column)
            )
        };
        self.choose(specials, quote_str, generic, is_id(column), n, column)
    }

    fn number(&self, base: &str, column: &str, specials: &Specials, n: &str) -> String {
        let specials = specials.filtered(|v| v.parse::<f64>().is_ok());
        let h = hash(n, column);
        let generic = match base {
            _ if is_id(column) => format!("{h} % {ID_POOL}"),
            _ if !specials.wanted.is_empty() || !specials.excluded.is_empty() => {
                format!("{h} % 10")
            }
            "Int8" | "UInt8" | "Int16" | "UInt16" => format!("{h} % 5"),
            "Int32" | "UInt32" => format!("{h} % 1000"),
            b if b.starts_with("Int") || b.starts_with("UInt") => format!("{h} % 1000000000"),
            _ => format!("({h} % 1000000) / 1000"),
        };
        self.choose(
            &specials,
            |v| v.to_owned(),
            generic,
            is_id(column),
            n,
            column,
        )
    }

    /// An SQL expression for a `ty` value of `column` in row `n` (`depth` names lambdas).
    fn value(&self, column: &str, ty: &str, n: &str, depth: usize) -> String {
        let (base, args) = parse_type(ty);
        let specials = self.specials(column);
        match base {
            "Nullable" => format!(
                "if({} % 7 = 0, NULL, {})",
                hash(n, &format!("{column}?")),
                self.value(column, args[0], n, depth)
            ),
            "LowCardinality" => self.value(column, args[0], n, depth),
            "SimpleAggregateFunction" => self.value(column, args[1], n, depth),
            "AggregateFunction" => {
                // `quantile(0.9)` → `quantileState(0.9)`.
                let (name, parameters) = match args[0].find('(') {
                    Some(at) => args[0].split_at(at),
                    None => (args[0], ""),
                };
                let values: Vec<String> = args[1..]
                    .iter()
                    .map(|t| format!("CAST({} AS {t})", self.value(column, t, n, depth)))
                    .collect();
                format!(
                    "initializeAggregation({}, {})",
                    quote_str(&format!("{name}State{parameters}")),
                    values.join(", ")
                )
            }
            "String" => self.string(column, &specials, n),
            "FixedString" => {
                let len: usize = args[0].parse().unwrap_or(16);
                // Fixed-width ids: values of other widths belong to other tables.
                let specials = specials.filtered(|v| v.len() == len);
                format!("substring({}, 1, {len})", self.string(column, &specials, n))
            }
            "UUID" => {
                let specials = specials.filtered(is_uuid);
                format!("toUUID({})", self.string_id(column, &specials, n))
            }
            "Enum8" | "Enum16" => {
                let names: Vec<String> = args
                    .iter()
                    .filter_map(|a| a.split('=').next())
                    .map(|a| a.trim().trim_matches('\'').to_owned())
                    .collect();
                let specials = specials.filtered(|v| names.iter().any(|name| name == v));
                let all: Vec<String> = names.iter().map(|v| quote_str(v)).collect();
                self.choose(
                    &specials,
                    quote_str,
                    pick(&all, n, column),
                    false,
                    n,
                    column,
                )
            }
            "Bool" => format!("{} % 3 = 0", hash(n, column)),
            "Date" | "Date32" => format!("toDate(toDateTime({}, 'UTC'))", self.seconds(column, n)),
            "DateTime" => format!("toDateTime({}, 'UTC')", self.seconds(column, n)),
            "DateTime64" => format!(
                "fromUnixTimestamp64Micro({}, 'UTC')",
                self.micros(column, n)
            ),
            "Array" => {
                let i = format!("i{depth}");
                let element = format!("(({n}) * 8 + {i})");
                // Element hints (has/indexOf) stand in for the column's.
                let inner = match self.hints.elements.get(column) {
                    Some(values) if args[0].contains("String") => self.choose(
                        &Specials {
                            wanted: values.clone(),
                            excluded: Vec::new(),
                        },
                        quote_str,
                        format!(
                            "concat({}, toString({} % 5))",
                            quote_str(&format!("{column}_")),
                            hash(&element, column)
                        ),
                        false,
                        &element,
                        column,
                    ),
                    _ => self.value(column, args[0], &element, depth + 1),
                };
                // One length per row, so Nested columns' arrays line up.
                format!("arrayMap({i} -> {inner}, range(toUInt64(({n}) % 4)))")
            }
            "Map" => {
                let keys = self.hints.map_keys.get(column).cloned().unwrap_or_default();
                let mut names = Vec::new();
                let mut values = Vec::new();
                for (key, compared) in &keys {
                    names.push(quote_str(key));
                    let wanted = Specials {
                        wanted: compared.clone(),
                        excluded: Vec::new(),
                    };
                    values.push(if args[1].contains("String") {
                        let generic = format!(
                            "concat({}, toString({} % 3))",
                            quote_str(&format!("{key}_")),
                            hash(n, key)
                        );
                        self.choose(&wanted, quote_str, generic, false, n, key)
                    } else {
                        self.number(parse_type(args[1]).0, key, &wanted, n)
                    });
                }
                names.push(format!(
                    "concat({}, toString({} % 3))",
                    quote_str(&format!("{column}_")),
                    hash(n, column)
                ));
                values.push(self.value(&format!("{column}.value"), args[1], n, depth));
                format!(
                    "mapFromArrays([{}], [{}])",
                    names.join(", "),
                    values.join(", ")
                )
            }
            "Tuple" => {
                let items: Vec<String> = args
                    .iter()
                    .map(|item| {
                        // `name Type` or just `Type`.
                        let ty = match item.split_once(' ') {
                            Some((name, ty)) if !name.contains('(') => ty,
                            _ => item,
                        };
                        self.value(column, ty, n, depth)
                    })
                    .collect();
                format!("tuple({})", items.join(", "))
            }
            b if b.starts_with("Int")
                || b.starts_with("UInt")
                || b.starts_with("Float")
                || b.starts_with("Decimal") =>
            {
                self.number(b, column, &specials, n)
            }
            _ => format!("defaultValueOfTypeName({})", quote_str(ty)),
        }
    }

    fn string_id(&self, column: &str, specials: &Specials, n: &str) -> String {
        let generic = id_text(&format!("{} % {ID_POOL}", hash(n, column)));
        self.choose(specials, quote_str, generic, true, n, column)
    }

    /// JSON text of `shape` (keys in key order; each key left out on 1 row in 6).
    fn json(&self, shape: &Json, key: &str, n: &str) -> String {
        let h = hash(n, key);
        match shape {
            Json::Object(children) => {
                let members: Vec<String> = children
                    .iter()
                    .map(|(k, child)| {
                        let name = quote_str(&format!("\"{}\":", k.replace('\\', "\\\\").replace('"', "\\\"")));
                        let salt = format!("{key}/{k}");
                        format!(
                            "if({} % 6 = 0, '', concat({name}, {}))",
                            hash(n, &format!("{salt}?")),
                            self.json(child, &salt, n)
                        )
                    })
                    .collect();
                format!(
                    "concat('{{', arrayStringConcat(arrayFilter(x -> x != '', [{}]), ','), '}}')",
                    members.join(", ")
                )
            }
            Json::Embedded(inner) => format!("toJSONString({})", self.json(inner, key, n)),
            Json::Array => format!(
                "concat('[', arrayStringConcat(arrayMap(j -> concat('{{\"role\":\"', ['system','user','assistant'][1 + j % 3], \
                 '\",\"content\":\"message ', toString({h} % 5 + j), '\"}}'), range(1 + ({n}) % 3)), ','), ']')"
            ),
            Json::Leaf(leaf, compared) => {
                let wanted = Specials {
                    wanted: compared.clone(),
                    excluded: Vec::new(),
                };
                let leaf_name = key.rsplit('/').next().unwrap_or(key);
                match leaf {
                    Leaf::String => {
                        let generic = format!("concat({}, toString({h} % 5))", quote_str(&format!("{leaf_name}_")));
                        format!("toJSONString({})", self.choose(&wanted, quote_str, generic, false, n, key))
                    }
                    Leaf::Int => format!("toString({})", self.number("Int32", key, &wanted, n)),
                    Leaf::Float => format!("toString(({h} % 100000) / 100)"),
                    Leaf::Bool => format!("if({h} % 3 = 0, 'true', 'false')"),
                    Leaf::Raw => format!(
                        "multiIf({h} % 3 = 0, 'null', {h} % 3 = 1, toString({h} % 1000), toJSONString(concat({}, toString({h} % 5))))",
                        quote_str(&format!("{leaf_name}_"))
                    ),
                }
            }
        }
    }
}

/// A UUID-shaped id text for pool slot `k` (valid as UUID, 36 bytes for FixedString(36)).
fn id_text(k: &str) -> String {
    format!("concat('00000000-0000-4000-8000-', leftPad(toString({k}), 12, '0'))")
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}
