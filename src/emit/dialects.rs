//! The flat half of each dialect, as data: `dialects/<target>.toml`, compiled in with
//! `include_str!` and read once. `[functions]` maps catalogue functions to the target's
//! spelling (a rename; the same name means "same"); `[clickhouse_functions]` maps
//! ClickHouse functions to the Rust handler (`functions.rs`) that spells them for the
//! target. A row naming an unknown catalogue function or handler fails the tests below,
//! and `translate_tests` fails on a handler row no fixture covers.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::{FunctionSpelling, Target};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialectFile {
    #[serde(default)]
    functions: BTreeMap<String, String>,
    #[serde(default)]
    clickhouse_functions: BTreeMap<String, String>,
}

pub(super) struct DialectData {
    pub functions: BTreeMap<String, FunctionSpelling>,
    pub clickhouse_functions: BTreeMap<String, String>,
}

fn load(text: &str) -> DialectData {
    let file: DialectFile = toml::from_str(text).expect("dialect files are valid TOML");
    let functions = file
        .functions
        .into_iter()
        .map(|(name, spelling)| {
            let spelling = if spelling == name {
                FunctionSpelling::Same
            } else {
                // Read once per process; the tables live as long as it does.
                FunctionSpelling::Rename(Box::leak(spelling.into_boxed_str()))
            };
            (name, spelling)
        })
        .collect();
    DialectData {
        functions,
        clickhouse_functions: file.clickhouse_functions,
    }
}

static CLICKHOUSE: LazyLock<DialectData> =
    LazyLock::new(|| load(include_str!("../../dialects/clickhouse.toml")));
static STARROCKS: LazyLock<DialectData> =
    LazyLock::new(|| load(include_str!("../../dialects/starrocks.toml")));
static DATAFUSION: LazyLock<DialectData> =
    LazyLock::new(|| load(include_str!("../../dialects/datafusion.toml")));

pub(super) fn data(target: Target) -> &'static DialectData {
    match target {
        Target::ClickHouse => &CLICKHOUSE,
        Target::StarRocks => &STARROCKS,
        Target::DataFusion => &DATAFUSION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::functions::lookup;

    #[test]
    fn rows_name_known_functions_and_handlers() {
        for target in Target::ALL {
            let data = data(target);
            for name in data.functions.keys() {
                assert!(
                    lookup(name).is_some_and(|def| def.name == name),
                    "dialects/{}.toml: {name} is not a catalogue function",
                    target.name()
                );
            }
            for (name, handler) in &data.clickhouse_functions {
                assert!(
                    super::super::functions::handler_named(handler).is_some(),
                    "dialects/{}.toml: {name} names the unknown handler {handler}",
                    target.name()
                );
            }
            assert!(
                target != Target::ClickHouse || data.clickhouse_functions.is_empty(),
                "ClickHouse SQL passes through to ClickHouse; it needs no handlers"
            );
        }
    }
}
