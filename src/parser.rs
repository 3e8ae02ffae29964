//! The parser: tokens to the [`ast`] tree, with the LALRPOP grammar in
//! `grammar/exprjit.lalrpop` doing the work for each item.
//!
//! Before the grammar sees anything, `split_items` applies the layout rule
//! of the language: it drops the newlines that do not end an item (inside
//! parentheses, after a token that cannot end an expression, before a line
//! that starts with `then`/`else`/`in`, an infix operator or `=`) and cuts the
//! stream into items at the others and at `;`. Each item is parsed on its
//! own, so one syntax error does not hide the errors in later items.
//!
//! The grammar is an LR automaton with its own heap-allocated stack, so no
//! input nesting can exhaust the Rust stack here.

use lalrpop_util::{ParseError, lalrpop_mod};

use crate::ast::{self, Expr, ExprKind, Span};
use crate::diag::{Diagnostic, ErrorCode};
use crate::lexer::{Lexed, Token};

mod chain;

pub(crate) use chain::{ChainStart, ChainedComparison, Chains};
use chain::ChainCheck;

lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_qualifications, dead_code)]
    grammar,
    "/exprjit.rs"
);

/// The outcome of parsing: every item that parsed, and an error for each
/// one that did not.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub program: ast::Program,
    /// Lexical and syntax errors, in source order.
    pub errors: Vec<Diagnostic>,
    /// Names of the functions whose definitions failed to parse.
    pub broken_definitions: Vec<String>,
    /// True when the input stops in the middle of an item (an open
    /// parenthesis, or an item cut short by the end of the input): a REPL
    /// should ask for another line rather than report the error.
    pub incomplete: bool,
}

/// Lexes and parses `source` (for tests; the pipeline times the two
/// apart with [`parse_tokens`]).
#[cfg(any(test, feature = "internals"))]
pub fn parse(source: &str) -> Parsed {
    parse_tokens(source, crate::lexer::tokenize(source))
}

/// Parses already-lexed `source` (so that callers can time the two apart).
pub fn parse_tokens(source: &str, lexed: Lexed<'_>) -> Parsed {
    let layout = split_items(&lexed.tokens);
    let parser = grammar::ItemParser::new();
    let mut parsed = Parsed {
        errors: lexed.errors,
        ..Parsed::default()
    };
    let mut chains = Chains::default();
    for item in &layout.items {
        let tokens = &layout.tokens[item.range.clone()];
        let mut chain_check = ChainCheck::default();
        let checked = tokens.iter().map(|&(start, token, end)| {
            chain_check.next(token, Span::new(start, end))?;
            Ok((start, token, end))
        });
        match parser.parse(&mut chains, checked) {
            Ok(parsed_item) => parsed.program.items.push(parsed_item),
            Err(error) => {
                chains.clear();
                if let [(_, Token::Fn, _), (_, Token::Ident(name), _), ..] = tokens {
                    parsed.broken_definitions.push((*name).to_owned());
                }
                let at_end_of_input = matches!(error, ParseError::UnrecognizedEof { .. })
                    && item.ended_by == Terminator::EndOfInput;
                parsed.incomplete |= at_end_of_input;
                let context = ErrorContext {
                    source,
                    item,
                    tokens,
                    unmatched_closes: &layout.unmatched_closes,
                };
                parsed.errors.push(context.diagnose(error));
            }
        }
    }
    parsed.errors.sort_by_key(|error| error.span.start);
    parsed
}

/// Builds an expression node (used by the grammar's actions).
pub(crate) fn node(span: Span, kind: ExprKind) -> Expr {
    Expr { kind, span }
}

type Spanned<'src> = (usize, Token<'src>, usize);

/// What ended an item.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Terminator {
    Newline,
    Semicolon,
    EndOfInput,
}

/// One item's slice of [`Layout::tokens`].
#[derive(Clone, Debug)]
struct ItemTokens {
    range: std::ops::Range<usize>,
    ended_by: Terminator,
    /// Positions of the `(` still open where the item ended.
    open_parens: Vec<usize>,
}

/// The token stream with the layout rule applied.
#[derive(Debug, Default)]
struct Layout<'src> {
    /// All tokens except newlines and item-ending `;`.
    tokens: Vec<Spanned<'src>>,
    items: Vec<ItemTokens>,
    /// Positions of `)` with no `(` to close.
    unmatched_closes: Vec<usize>,
}

/// Applies the layout rule (see the module documentation).
fn split_items<'src>(all: &[Spanned<'src>]) -> Layout<'src> {
    let mut layout = Layout {
        tokens: Vec::with_capacity(all.len()),
        ..Layout::default()
    };
    let mut item_start = 0;
    let mut open_parens: Vec<usize> = Vec::new();
    let mut index = 0;
    while index < all.len() {
        let (start, token, _) = all[index];
        index += 1;
        let ends_item = match token {
            Token::Newline => {
                // Decide once for a whole run of blank lines.
                while index < all.len() && all[index].1 == Token::Newline {
                    index += 1;
                }
                let continues = |next: &Token<'_>| {
                    matches!(next, Token::Then | Token::Else | Token::In)
                        || next.continues_previous_line()
                };
                open_parens.is_empty()
                    && layout.tokens[item_start..]
                        .last()
                        .is_some_and(|(_, last, _)| last.can_end_expression())
                    && !all.get(index).is_some_and(|(_, next, _)| continues(next))
            }
            Token::Semicolon if open_parens.is_empty() => true,
            _ => {
                match token {
                    Token::LParen => open_parens.push(start),
                    Token::RParen if open_parens.pop().is_none() => {
                        layout.unmatched_closes.push(start);
                    }
                    _ => {}
                }
                layout.tokens.push(all[index - 1]);
                false
            }
        };
        if ends_item && layout.tokens.len() > item_start {
            let ended_by = if token == Token::Newline {
                Terminator::Newline
            } else {
                Terminator::Semicolon
            };
            layout.items.push(ItemTokens {
                range: item_start..layout.tokens.len(),
                ended_by,
                open_parens: Vec::new(),
            });
            item_start = layout.tokens.len();
        }
    }
    if layout.tokens.len() > item_start {
        layout.items.push(ItemTokens {
            range: item_start..layout.tokens.len(),
            ended_by: Terminator::EndOfInput,
            open_parens,
        });
    }
    layout
}

/// What is needed to turn a parse error of one item into a diagnostic.
struct ErrorContext<'a, 'src> {
    source: &'a str,
    item: &'a ItemTokens,
    tokens: &'a [Spanned<'src>],
    unmatched_closes: &'a [usize],
}

impl ErrorContext<'_, '_> {
    fn diagnose(&self, error: ParseError<usize, Token<'_>, ChainedComparison>) -> Diagnostic {
        match error {
            ParseError::UnrecognizedEof { expected, .. } => self.unexpected_end(&expected),
            ParseError::UnrecognizedToken {
                token: (start, token, end),
                expected,
            } => self.unexpected_token(Span::new(start, end), token, &expected),
            ParseError::ExtraToken {
                token: (start, token, end),
            } => self.unexpected_token(Span::new(start, end), token, &[]),
            // Neither can come from our token iterator, which never fails
            // and never skips input; report them plainly all the same.
            ParseError::InvalidToken { location } => Diagnostic::new(
                ErrorCode::SyntaxError,
                "invalid token",
                Span::new(location, location),
            ),
            ParseError::User {
                error: ChainedComparison(span),
            } => Diagnostic::new(
                ErrorCode::ChainedComparison,
                "comparison operators cannot be chained",
                span,
            )
            .with_label("a second comparison")
            .with_help("combine comparisons with `&&`, as in `a < b && b < c`"),
        }
    }

    fn item_span(&self) -> Span {
        match (self.tokens.first(), self.tokens.last()) {
            (Some(first), Some(last)) => Span::new(first.0, last.2),
            _ => Span::default(),
        }
    }

    /// The item stopped before the grammar was satisfied.
    fn unexpected_end(&self, expected: &[String]) -> Diagnostic {
        if let Some(&open) = self.item.open_parens.first() {
            return Diagnostic::new(
                ErrorCode::UnclosedParen,
                "unclosed parenthesis",
                Span::new(open, open + 1),
            )
            .with_label("this `(` is never closed");
        }
        let end = self.item_span().end;
        let found = match self.item.ended_by {
            Terminator::Newline => "end of line",
            Terminator::Semicolon => "`;`",
            Terminator::EndOfInput => "end of input",
        };
        let wanted = describe_expected(expected);
        let mut diagnostic = Diagnostic::new(
            ErrorCode::SyntaxError,
            format!("expected {wanted}, found {found}"),
            Span::new(end, end),
        )
        .with_label(format!("expected {wanted} after this"));
        if self.item.ended_by != Terminator::EndOfInput {
            diagnostic = diagnostic.with_help(
                "an item ends at a newline unless the line ends with an operator, `=`, `,`, \
                 `(` or a keyword; continue it there or in parentheses",
            );
        }
        diagnostic
    }

    /// The grammar could not use `token` at `span`.
    fn unexpected_token(&self, span: Span, token: Token<'_>, expected: &[String]) -> Diagnostic {
        let has = |name: &str| expected.iter().any(|e| e.trim_matches('"') == name);
        if token == Token::Error {
            let text = &self.source[span.start..span.end];
            return Diagnostic::new(
                ErrorCode::UnknownCharacter,
                format!("unknown character `{}`", text.escape_debug()),
                span,
            )
            .with_label("not part of the language");
        }
        if token == Token::RParen && self.unmatched_closes.contains(&span.start) {
            return Diagnostic::new(ErrorCode::UnmatchedParen, "unmatched `)`", span)
                .with_label("there is no `(` for this to close");
        }
        let wanted = describe_expected(expected);
        let mut diagnostic = Diagnostic::new(
            ErrorCode::SyntaxError,
            format!("expected {wanted}, found {token}"),
            span,
        )
        .with_label(match token {
            Token::Ident(_) | Token::Int(_) => "unexpected here".to_owned(),
            _ => format!("unexpected {token}"),
        });
        if token.is_keyword() && has("name") && !has("integer") {
            let keyword = token.symbol().unwrap_or_default();
            diagnostic =
                diagnostic.with_help(format!("`{keyword}` is a keyword and cannot be a name"));
        }
        if matches!(token, Token::If | Token::Let) && has("integer") && !has("if") {
            let keyword = token.symbol().unwrap_or_default();
            diagnostic = diagnostic.with_help(format!(
                "put the `{keyword}` expression in parentheses to use it as an operand"
            ));
        }
        if has("+") && !has("integer") && !has(")") && !has(",") {
            diagnostic = diagnostic.with_help("separate items with a newline or `;`");
        }
        if has(")")
            && let Some(open) = self.innermost_open_paren(span.start)
        {
            diagnostic = diagnostic.with_related(
                Span::new(open, open + 1),
                "the `(` opened here is not closed yet",
            );
        }
        diagnostic
    }

    /// The innermost `(` of this item still open just before `position`.
    fn innermost_open_paren(&self, position: usize) -> Option<usize> {
        let mut open = Vec::new();
        for &(start, token, _) in self.tokens.iter().take_while(|t| t.0 < position) {
            match token {
                Token::LParen => open.push(start),
                Token::RParen => {
                    open.pop();
                }
                _ => {}
            }
        }
        open.pop()
    }
}

/// Phrases the set of tokens the grammar would have accepted, grouping the
/// tokens that start an expression and the infix operators.
fn describe_expected(expected: &[String]) -> String {
    let names: Vec<&str> = expected.iter().map(|e| e.trim_matches('"')).collect();
    let has = |name: &str| names.contains(&name);
    let expression_start = ["integer", "name", "(", "-", "!", "~", "if", "let"];
    let infix = [
        "||", "&&", "==", "!=", "<", "<=", ">", ">=", "|", "^", "&", "<<", ">>", "+", "-", "*",
        "/", "%",
    ];
    let mut parts: Vec<String> = Vec::new();
    if has("integer") {
        parts.push("an expression".to_owned());
    }
    if has("+") || has("*") {
        parts.push("an operator".to_owned());
    }
    for name in &names {
        let grouped = (has("integer") && expression_start.contains(name))
            || ((has("+") || has("*")) && infix.contains(name));
        if grouped {
            continue;
        }
        parts.push(match *name {
            "name" => "a name".to_owned(),
            other => format!("`{other}`"),
        });
    }
    match parts.len() {
        0 => "the end of the item".to_owned(),
        1 => parts.remove(0),
        n => format!("{} or {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sexpr(source: &str) -> String {
        let parsed = parse(source);
        assert!(parsed.errors.is_empty(), "{source}: {:?}", parsed.errors);
        parsed.program.to_string().trim_end().to_owned()
    }

    fn first_error(source: &str) -> String {
        let parsed = parse(source);
        assert!(!parsed.errors.is_empty(), "{source} parsed");
        parsed.errors[0].message.clone()
    }

    #[test]
    fn precedence_follows_rust() {
        assert_eq!(sexpr("1 + 2 * 3"), "(+ 1 (* 2 3))");
        assert_eq!(sexpr("1 - 2 - 3"), "(- (- 1 2) 3)");
        assert_eq!(sexpr("1 << 2 + 3"), "(<< 1 (+ 2 3))");
        assert_eq!(sexpr("a | b ^ c & d"), "(| a (^ b (& c d)))");
        assert_eq!(sexpr("a == b && c || d"), "(|| (&& (== a b) c) d)");
        assert_eq!(sexpr("a & b == c"), "(== (& a b) c)");
        assert_eq!(sexpr("-a * !b"), "(* (- a) (! b))");
        assert_eq!(sexpr("~-~1"), "(~ (- (~ 1)))");
    }

    #[test]
    fn if_and_let_extend_to_the_right() {
        assert_eq!(sexpr("if a then b else c + 1"), "(if a b (+ c 1))");
        assert_eq!(sexpr("let x = 1 in x * 2"), "(let x 1 (* x 2))");
        assert_eq!(sexpr("f(if a then 1 else 2, 3)"), "(f (if a 1 2) 3)");
    }

    #[test]
    fn functions_and_calls() {
        assert_eq!(sexpr("fn f() = 1"), "(fn f () 1)");
        assert_eq!(sexpr("fn g(a, b,) = f(a, b,)"), "(fn g (a b) (f a b))");
    }

    #[test]
    fn spans_cover_the_source_text() {
        let parsed = parse("x + (y * 2)");
        let ast::Item::Expr(expr) = &parsed.program.items[0] else {
            panic!("not an expression")
        };
        assert_eq!(expr.span, Span::new(0, 11));
        let ExprKind::Binary { op_span, rhs, .. } = &expr.kind else {
            panic!("not binary")
        };
        assert_eq!(*op_span, Span::new(2, 3));
        assert_eq!(rhs.span, Span::new(4, 11));
    }

    #[test]
    fn layout_rule() {
        assert_eq!(sexpr("1\n2"), "1\n2");
        assert_eq!(sexpr("1 +\n2"), "(+ 1 2)");
        assert_eq!(sexpr("1\n+ 2"), "(+ 1 2)");
        assert_eq!(sexpr("1\n-2"), "1\n(- 2)");
        assert_eq!(sexpr("(1\n-2)"), "(- 1 2)");
        assert_eq!(sexpr("if 1\nthen 2\n\n# note\nelse 3"), "(if 1 2 3)");
        assert_eq!(sexpr("let x = 1\nin x"), "(let x 1 x)");
        assert_eq!(sexpr("fn f(x) =\n  x"), "(fn f (x) x)");
        assert_eq!(sexpr("fn g(a,\nb)\n= a + b"), "(fn g (a b) (+ a b))");
        assert_eq!(sexpr(";1;;2;"), "1\n2");
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            first_error("1 < 2 < 3"),
            "comparison operators cannot be chained"
        );
        assert_eq!(first_error("(1 + 2"), "unclosed parenthesis");
        assert_eq!(first_error("1 + 2)"), "unmatched `)`");
        assert_eq!(first_error("1 $ 2"), "unknown character `$`");
        assert_eq!(
            first_error("fn if(x) = x"),
            "expected a name, found keyword `if`"
        );
        assert_eq!(first_error("1 +* 2"), "expected an expression, found `*`");
        assert_eq!(
            first_error("f(1 2)"),
            "expected an operator, `,` or `)`, found integer `2`"
        );
    }

    #[test]
    fn every_item_is_reported() {
        assert_eq!(parse("1 +* 2\n3\n)").errors.len(), 2);
    }

    #[test]
    fn unfinished_input_is_incomplete() {
        for source in ["fn f(x) =", "(1 +\n2", "if 1 then 2", "let x = 1", "1 +"] {
            assert!(parse(source).incomplete, "{source}");
        }
        for source in ["1 + 2", "1 +* 2", "1 + 2)", "if 1 then 2\n3"] {
            assert!(!parse(source).incomplete, "{source}");
        }
    }
}
