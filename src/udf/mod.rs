//! ClickHouse functions DataFusion runs as UDFs, with ClickHouse's answers: the JSON
//! functions, `toString`, and `quantile`/`quantiles` as aggregates. Each function's
//! answers are read off the real ClickHouse engine (chdb) and pinned by its tests. Where
//! ClickHouse's answer depends on something a function cannot see (a column's
//! nullability, a quirk not reproduced), it fails or is documented, never guesses.

pub mod json;
pub mod parse_time;
pub mod quantile;
pub mod to_string;

use datafusion::prelude::SessionContext;

/// Registers every ClickHouse function in `ctx`.
pub fn register_all(ctx: &SessionContext) {
    json::register(ctx);
    to_string::register(ctx);
    quantile::register(ctx);
    parse_time::register(ctx);
}
