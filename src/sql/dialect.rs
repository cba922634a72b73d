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
use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::lower::{FINAL_MARKER, SCALAR_ALIAS_MARKER};

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

    /// Only ever reached through `rewrite_tokens`, which turns a ClickHouse `LIMIT` after
    /// `LIMIT … BY` into `|> LIMIT`; any other pipe operator is rejected by lowering.
    fn supports_pipe_operator(&self) -> bool {
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

/// ClickHouse clause forms sqlparser's grammar has no hook for, rewritten at the token
/// level into sqlparser syntax that lowering reads back with the same meaning (inserted
/// tokens take the span of the token they replace, so error positions stay right):
/// - `FROM t [AS] v FINAL` → `FROM t [AS] v WITH (<FINAL_MARKER>)`, a table hint lowering
///   reads as FINAL (`FROM t FINAL` already parses: as the alias FINAL, see lowering);
/// - `LIMIT m, n BY …` and `LIMIT n OFFSET m BY …` → `OFFSET m LIMIT n BY …`;
/// - the `LIMIT k [OFFSET o]` / `LIMIT o, k` that may follow `LIMIT … BY …` →
///   `|> LIMIT k [OFFSET o]` (ClickHouse applies it after LIMIT BY, as a pipe would).
pub fn rewrite_tokens(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let token = |k: usize| significant.get(k).map(|&i| &tokens[i].token);
    // Replacements keyed by position in `tokens`: (first, last) replaced by new tokens.
    let mut edits: Vec<(usize, usize, Vec<Token>)> = Vec::new();
    for k in 0..significant.len() {
        if is_keyword(token(k), Keyword::FINAL)
            && k >= 2
            && follows_alias(token(k - 1), token(k - 2))
        {
            let i = significant[k];
            edits.push((
                i,
                i,
                vec![
                    Token::make_keyword("WITH"),
                    Token::LParen,
                    Token::make_word(FINAL_MARKER, None),
                    Token::RParen,
                ],
            ));
        }
        if is_keyword(token(k), Keyword::LIMIT) {
            limit_by_edits(&tokens, &significant, k, &mut edits);
        }
        // ClickHouse's join strictness (`t ANY LEFT JOIN u`), which sqlparser would read
        // as the alias `any`, silently dropping "first match only". ALL is the default
        // strictness: dropped. The others become a table hint that lowering names.
        if let Some(strictness) = join_strictness(token(k)) {
            let joins = [
                Keyword::JOIN,
                Keyword::LEFT,
                Keyword::RIGHT,
                Keyword::INNER,
                Keyword::FULL,
                Keyword::OUTER,
            ];
            let before_join = joins.iter().any(|kw| is_keyword(token(k + 1), *kw));
            let after_table = k >= 1
                && !is_keyword(token(k - 1), Keyword::AS)
                && !is_keyword(token(k - 1), Keyword::FROM)
                && !is_keyword(token(k - 1), Keyword::JOIN)
                && !is_keyword(token(k - 1), Keyword::GLOBAL);
            if before_join && after_table {
                let i = significant[k];
                let replacement = match strictness {
                    "ALL" => Vec::new(),
                    other => vec![
                        Token::make_keyword("WITH"),
                        Token::LParen,
                        Token::make_word(&format!("{JOIN_STRICTNESS_MARKER}{other}"), None),
                        Token::RParen,
                    ],
                };
                edits.push((i, i, replacement));
            }
        }
    }
    if edits.is_empty() {
        return tokens;
    }
    edits.sort_by_key(|e| e.0);
    let mut out = Vec::with_capacity(tokens.len() + 8);
    let mut next = 0;
    for (first, last, replacement) in edits {
        if first < next {
            continue;
        }
        out.extend_from_slice(&tokens[next..first]);
        let span = tokens[first].span;
        out.extend(
            replacement
                .into_iter()
                .map(|token| TokenWithSpan { token, span }),
        );
        next = last + 1;
    }
    out.extend_from_slice(&tokens[next..]);
    out
}

/// The prefix of the table hint standing for a join strictness other than ALL
/// (`__switchyard_join_ANY`); see `rewrite_tokens`.
pub const JOIN_STRICTNESS_MARKER: &str = "__switchyard_join_";

/// ClickHouse's join strictness keywords, as an unquoted word.
fn join_strictness(token: Option<&Token>) -> Option<&'static str> {
    let Some(Token::Word(w)) = token else {
        return None;
    };
    if w.quote_style.is_some() {
        return None;
    }
    ["ALL", "ANY", "SEMI", "ANTI", "ASOF"]
        .into_iter()
        .find(|s| w.value.eq_ignore_ascii_case(s))
}

fn is_keyword(token: Option<&Token>, keyword: Keyword) -> bool {
    matches!(token, Some(Token::Word(w)) if w.keyword == keyword && w.quote_style.is_none())
}

/// Whether `previous` is a table alias: an identifier after `AS` or after a table name
/// (anything but FROM/JOIN, which make `previous` the table itself).
fn follows_alias(previous: Option<&Token>, before: Option<&Token>) -> bool {
    let identifier = |t: Option<&Token>| {
        matches!(t, Some(Token::Word(w))
            if w.quote_style.is_some()
                || !sqlparser::keywords::RESERVED_FOR_TABLE_ALIAS.contains(&w.keyword))
    };
    identifier(previous)
        && !is_keyword(previous, Keyword::AS)
        && (is_keyword(before, Keyword::AS)
            || (identifier(before)
                && !is_keyword(before, Keyword::FROM)
                && !is_keyword(before, Keyword::JOIN)))
}

/// Words that end a LIMIT clause's expressions at the same nesting depth.
const CLAUSE_ENDS: &[Keyword] = &[
    Keyword::BY,
    Keyword::LIMIT,
    Keyword::OFFSET,
    Keyword::SETTINGS,
    Keyword::FORMAT,
    Keyword::FETCH,
    Keyword::UNION,
    Keyword::EXCEPT,
    Keyword::INTERSECT,
];

/// From significant position `k`, the position of the first token at depth 0 that ends
/// the expressions there (a `CLAUSE_ENDS` word, `)`, `;`, a comma if `comma`, or the end).
fn clause_end(tokens: &[TokenWithSpan], significant: &[usize], k: usize, comma: bool) -> usize {
    let mut depth = 0i32;
    for (j, &i) in significant.iter().enumerate().skip(k) {
        match &tokens[i].token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket if depth == 0 => return j,
            Token::RParen | Token::RBracket => depth -= 1,
            Token::SemiColon | Token::EOF if depth == 0 => return j,
            Token::Comma if depth == 0 && comma => return j,
            Token::Word(w)
                if depth == 0 && w.quote_style.is_none() && CLAUSE_ENDS.contains(&w.keyword) =>
            {
                return j
            }
            _ => {}
        }
    }
    significant.len()
}

/// The edits for a `LIMIT` at significant position `k` that starts a `LIMIT … BY` clause.
fn limit_by_edits(
    tokens: &[TokenWithSpan],
    significant: &[usize],
    k: usize,
    edits: &mut Vec<(usize, usize, Vec<Token>)>,
) {
    let word = |j: usize, keyword| {
        significant
            .get(j)
            .is_some_and(|&i| is_keyword(Some(&tokens[i].token), keyword))
    };
    let at = |j: usize| significant.get(j).map(|&i| &tokens[i].token);
    // `LIMIT first [, second | OFFSET second] BY`
    let first_end = clause_end(tokens, significant, k + 1, true);
    let (offset, count, by) = if at(first_end) == Some(&Token::Comma) {
        let end = clause_end(tokens, significant, first_end + 1, false);
        ((k + 1, first_end), (first_end + 1, end), end)
    } else if word(first_end, Keyword::OFFSET) {
        let end = clause_end(tokens, significant, first_end + 1, false);
        ((first_end + 1, end), (k + 1, first_end), end)
    } else {
        ((0, 0), (k + 1, first_end), first_end)
    };
    if !word(by, Keyword::BY) {
        return;
    }
    let copy = |(from, to): (usize, usize)| -> Vec<Token> {
        significant[from..to]
            .iter()
            .map(|&i| tokens[i].token.clone())
            .collect()
    };
    if offset.1 > offset.0 {
        let mut head = vec![Token::make_keyword("OFFSET")];
        head.extend(copy(offset));
        head.push(Token::make_keyword("LIMIT"));
        head.extend(copy(count));
        edits.push((significant[k], significant[by - 1], head));
    }
    // A second LIMIT right after the BY list applies to the LIMIT BY result.
    let by_end = clause_end(tokens, significant, by + 1, false);
    if !word(by_end, Keyword::LIMIT) {
        return;
    }
    let first_end = clause_end(tokens, significant, by_end + 1, true);
    let mut tail = vec![
        Token::VerticalBarRightAngleBracket,
        Token::make_keyword("LIMIT"),
    ];
    if at(first_end) == Some(&Token::Comma) {
        let end = clause_end(tokens, significant, first_end + 1, false);
        tail.extend(copy((first_end + 1, end)));
        tail.push(Token::make_keyword("OFFSET"));
        tail.extend(copy((by_end + 1, first_end)));
        edits.push((significant[by_end], significant[end - 1], tail));
    } else {
        edits.push((significant[by_end], significant[by_end], tail));
    }
}
