//! `SwitchyardDialect`: our sqlparser dialect, ClickHouse's with a few deliberate changes.
//!
//! It delegates every fact to `ClickHouseDialect` (including its `TypeId`, so the parser's
//! `dialect_of!(… is ClickHouseDialect)` checks still hold). Parser hooks for ClickHouse
//! syntax sqlparser lacks (ternary `?:`, `FINAL`, `{name:Type}` parameters) belong here as
//! overrides of `parse_prefix` / `parse_infix` / `parse_statement`; nothing else may parse.

use std::any::TypeId;

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{self, Expr, Statement};
use sqlparser::dialect::{ClickHouseDialect, Dialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::lower::SCALAR_ALIAS_MARKER;

/// Ternary `c ? a : b` binds more loosely than every operator (OR is 5).
const TERNARY_PRECEDENCE: u8 = 1;

fn is_question_mark(token: &Token) -> bool {
    matches!(token, Token::Placeholder(p) if p == "?")
}

/// One item of a ClickHouse `WITH` list.
enum WithItem {
    /// `<expr> AS name`
    Scalar(Box<Expr>, ast::Ident),
    /// `name AS (query)`
    Cte(ast::Ident, Box<ast::Query>),
}

/// `WITH item, …` where at least one item is a scalar alias; `Err` (and the caller
/// rewinds) otherwise, leaving ordinary CTE lists to sqlparser.
fn parse_with_items(parser: &mut Parser) -> Result<Vec<WithItem>, ParserError> {
    parser.expect_keyword(Keyword::WITH)?;
    let mut items = Vec::new();
    loop {
        let [first, second, third] = parser.peek_tokens::<3>();
        let is_cte = matches!(first, Token::Word(_))
            && matches!(second, Token::Word(ref w) if w.keyword == Keyword::AS)
            && third == Token::LParen
            && {
                let fourth = parser.peek_nth_token(3).token;
                matches!(fourth, Token::Word(ref w) if matches!(w.keyword, Keyword::SELECT | Keyword::WITH))
            };
        if is_cte {
            let name = parser.parse_identifier()?;
            parser.expect_keyword(Keyword::AS)?;
            parser.expect_token(&Token::LParen)?;
            let query = parser.parse_query()?;
            parser.expect_token(&Token::RParen)?;
            items.push(WithItem::Cte(name, query));
        } else {
            let value = parser.parse_expr()?;
            parser.expect_keyword(Keyword::AS)?;
            let name = parser.parse_identifier()?;
            items.push(WithItem::Scalar(Box::new(value), name));
        }
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    if !items.iter().any(|i| matches!(i, WithItem::Scalar(..))) {
        return Err(ParserError::ParserError("no scalar alias".into()));
    }
    if !parser.peek_keyword(Keyword::SELECT) && parser.peek_token().token != Token::LParen {
        return Err(ParserError::ParserError("not a query".into()));
    }
    Ok(items)
}

/// A scalar alias encoded as the marked CTE `name AS (SELECT <expr>)`; see
/// `lower::SCALAR_ALIAS_MARKER`.
fn scalar_alias_cte(value: Expr, name: ast::Ident) -> ast::Cte {
    let mut query = sqlparser::parser::Parser::parse_sql(&ClickHouseDialect {}, "SELECT 1")
        .ok()
        .and_then(|mut s| s.pop())
        .and_then(|s| match s {
            Statement::Query(q) => Some(q),
            _ => None,
        })
        .expect("SELECT 1 parses");
    if let ast::SetExpr::Select(s) = query.body.as_mut() {
        s.projection = vec![ast::SelectItem::UnnamedExpr(value)];
    }
    ast::Cte {
        alias: table_alias(name),
        query,
        from: Some(ast::Ident::new(SCALAR_ALIAS_MARKER)),
        materialized: None,
        closing_paren_token: AttachedToken::empty(),
    }
}

fn table_alias(name: ast::Ident) -> ast::TableAlias {
    ast::TableAlias {
        explicit: true,
        name,
        columns: Vec::new(),
        at: None,
    }
}

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

    /// `c ? a : b`.
    /// ClickHouse has no `a:b` JSON traversal, so a colon ends an expression (the
    /// ternary's `then` branch stops there).
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        match &parser.peek_token().token {
            token if is_question_mark(token) => Some(Ok(TERNARY_PRECEDENCE)),
            Token::Colon => Some(Ok(0)),
            _ => None,
        }
    }

    /// `c ? a : b` becomes `if(c, a, b)`, its ClickHouse function form.
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        _precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if !is_question_mark(&parser.peek_token().token) {
            return None;
        }
        parser.next_token();
        let parsed = (|| {
            let then = parser.parse_expr()?;
            parser.expect_token(&Token::Colon)?;
            // Right-associative: `a ? b : c ? d : e` is `a ? b : (c ? d : e)`.
            let otherwise = parser.parse_subexpr(0)?;
            let arg = |e: Expr| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e));
            Ok(Expr::Function(ast::Function {
                name: ast::ObjectName::from(vec![ast::Ident::new("if")]),
                uses_odbc_syntax: false,
                parameters: ast::FunctionArguments::None,
                args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                    duplicate_treatment: None,
                    args: vec![arg(expr.clone()), arg(then), arg(otherwise)],
                    clauses: Vec::new(),
                }),
                within_group: Vec::new(),
                filter: None,
                null_treatment: None,
                over: None,
            }))
        })();
        Some(parsed)
    }

    /// ClickHouse scalar aliases `WITH <expr> AS name, … SELECT …` (OpenLIT dashboards),
    /// possibly mixed with ordinary CTEs. Each scalar alias is handed to lowering as a
    /// marked CTE and inlined there.
    fn parse_statement(&self, parser: &mut Parser) -> Option<Result<Statement, ParserError>> {
        if !parser.peek_keyword(Keyword::WITH) {
            return None;
        }
        let items = match parser.maybe_parse(parse_with_items) {
            Ok(Some(items)) => items,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        Some(parser.parse_query().map(|mut query| {
            let cte_tables = items
                .into_iter()
                .map(|item| match item {
                    WithItem::Scalar(value, name) => scalar_alias_cte(*value, name),
                    WithItem::Cte(name, query) => ast::Cte {
                        alias: table_alias(name),
                        query,
                        from: None,
                        materialized: None,
                        closing_paren_token: AttachedToken::empty(),
                    },
                })
                .collect();
            query.with = Some(ast::With {
                with_token: AttachedToken::empty(),
                recursive: false,
                cte_tables,
            });
            Statement::Query(query)
        }))
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
