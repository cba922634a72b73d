//! `SwitchyardDialect`: our sqlparser dialect, ClickHouse's with a few deliberate changes.
//!
//! It delegates every fact to `ClickHouseDialect` (including its `TypeId`, so the parser's
//! `dialect_of!(… is ClickHouseDialect)` checks still hold). Parser hooks for ClickHouse
//! syntax sqlparser lacks (ternary `?:`, `FINAL`, `{name:Type}` parameters) belong here as
//! overrides of `parse_prefix` / `parse_infix` / `parse_statement`; nothing else may parse.

use std::any::TypeId;

use sqlparser::dialect::{ClickHouseDialect, Dialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;

#[derive(Debug, Default, Clone, Copy)]
pub struct SwitchyardDialect {
    inner: ClickHouseDialect,
}

/// Forwards argument-less `bool` facts to the ClickHouse dialect.
macro_rules! delegate {
    ($($name:ident),* $(,)?) => {
        $(fn $name(&self) -> bool { self.inner.$name() })*
    };
}

impl Dialect for SwitchyardDialect {
    fn dialect(&self) -> TypeId {
        self.inner.dialect()
    }

    // Deliberate differences from ClickHouse's dialect.

    /// Postgres' `INTERVAL '1 hour'` (unit inside the string) is valid ClickHouse too.
    fn require_interval_qualifier(&self) -> bool {
        false
    }

    /// `agg(x) FILTER (WHERE …)` is valid ClickHouse (it becomes the `-If` combinator).
    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }

    // Everything else is ClickHouse's.

    fn is_identifier_start(&self, ch: char) -> bool {
        self.inner.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        self.inner.is_identifier_part(ch)
    }

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.inner.identifier_quote_style(identifier)
    }

    fn is_table_factor(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.inner.is_table_factor(kw, parser)
    }

    fn supports_string_literal_column_alias(&self, explicit: bool) -> bool {
        self.inner.supports_string_literal_column_alias(explicit)
    }

    fn supports_string_literal_table_alias(&self, explicit: bool) -> bool {
        self.inner.supports_string_literal_table_alias(explicit)
    }

    delegate!(
        supports_string_literal_backslash_escape,
        supports_select_wildcard_except,
        describe_requires_table_keyword,
        supports_limit_comma,
        supports_insert_table_function,
        supports_insert_format,
        supports_numeric_literal_underscores,
        supports_partition_by_after_order_by,
        supports_array_join_syntax,
        supports_array_typedef_with_parentheses,
        supports_map_typedef_with_parentheses,
        supports_dictionary_syntax,
        supports_in_unparenthesized_expr,
        supports_global_in,
        supports_lambda_functions,
        supports_from_first_select,
        supports_order_by_all,
        supports_group_by_expr,
        supports_group_by_with_modifier,
        supports_nested_comments,
        supports_hash_comment,
        requires_hash_comment_space,
        supports_optimize_table,
        supports_prewhere,
        supports_with_fill,
        supports_limit_by,
        supports_interpolate,
        supports_settings,
        supports_select_format,
        supports_select_wildcard_replace,
        supports_comma_separated_trim,
        supports_alter_column_position,
        supports_tuple_element_access,
    );
}
