//! Catalogue function spellings for ClickHouse and StarRocks, read from their dialect
//! files (`dialects/*.toml`).

use super::{FunctionSpelling, Target};

pub(super) fn lookup(target: Target, name: &str) -> Option<&'static FunctionSpelling> {
    super::dialects::data(target).functions.get(name)
}
