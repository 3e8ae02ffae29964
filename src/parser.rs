//! The parser: tokens to the [`ast`] tree, with the LALRPOP grammar in
//! `grammar/exprjit.lalrpop` doing the work for each item.
//!
//! Tokens stream from the lexer through the layout rule (`layout`), which
//! cuts them into items, into the grammar; none is stored. Each item is
//! parsed on its own, so one syntax error does not hide the errors in later
//! items. The grammar reads infix operators flat; `tree`, which builds the
//! flat syntax tree from the grammar's actions, gives them their
//! precedence, and `chain` refuses chained comparisons. `nesting` applies
//! the nesting limit to each item, on its tokens as they pass and on its
//! tree; `items` bounds the number of items; `parallel` parses a large
//! source in parts on several threads.
//!
//! The grammar is an LR automaton with its own heap-allocated stack, so no
//! input nesting can exhaust the Rust stack here. (LALRPOP's
//! `#[recursive_ascent]` code generator, measured, runs 17% fewer
//! instructions but recurses on the Rust stack per nesting level, about
//! 1.5 KB a level: 1.5 GB for a million parentheses.)

use lalrpop_util::{ParseError, lalrpop_mod};

use crate::ast::{self, Span};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode};
use crate::lexer::Token;

mod chain;
mod items;
mod layout;
mod nesting;
mod parallel;
mod tree;

pub use items::MAX_ITEMS;
use items::{ItemAllowance, ItemBudget};
pub use nesting::MAX_NESTING;
use layout::{ItemState, Layout, Terminator};
pub(crate) use tree::{ArgsStart, ChainStart, Tree};

/// A token refused on its way to the grammar (the grammar's user error),
/// with its span.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RefusedToken {
    /// A second comparison in a row ([`chain`]).
    ChainedComparison(Span),
    /// The token that took the item's nesting past [`MAX_NESTING`]
    /// ([`nesting::NestingCount`]).
    NestedTooDeeply(Span),
}

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
    /// Lexical and syntax errors, in source order (the first hundred, and a
    /// count of the rest).
    pub errors: Diagnostics,
    /// Names of the functions whose definitions failed to parse.
    pub broken_definitions: Vec<String>,
    /// True when the input stops in the middle of an item (an open
    /// parenthesis, or an item cut short by the end of the input): a REPL
    /// should ask for another line rather than report the error.
    pub incomplete: bool,
    /// The source has more than [`MAX_ITEMS`] items: parsing stopped there
    /// (`errors` says so), and the program holds only some of them.
    pub too_many_items: bool,
}

/// Lexes and parses `source`: tokens stream from the lexer through the
/// layout rule into the grammar, one item at a time. A large source is cut
/// into parts parsed on several threads (`parallel`), with the same
/// result.
pub fn parse(source: &str) -> Parsed {
    parallel::parse(source)
}

/// What each item is handed to as soon as it has parsed, in source order:
/// the checker, so that a program is checked as it is read and its syntax
/// tree never exists as a whole.
pub(crate) trait ItemSink {
    /// Whether the tree is kept ([`parse`]); otherwise each item is dropped
    /// from it once the sink has seen it (only the interned names stay).
    const KEEPS_TREE: bool;
    /// Takes `item`, whose nodes are in `program`.
    fn item(&mut self, program: &ast::Program, item: ast::Item);
}

/// The sink of a plain parse: the tree keeps every item.
pub(crate) struct KeepTree;

impl ItemSink for KeepTree {
    const KEEPS_TREE: bool = true;
    fn item(&mut self, _: &ast::Program, _: ast::Item) {}
}

/// Parses `source` as [`parse`] does, handing each item to a sink as it
/// parses. The source may be parsed in parts on several threads, each
/// with a sink of its own from `new_sink`: the result is the parse's
/// outcome (its program holds no items) and, in source order, each part's
/// sink with the names its items were interned in.
pub(crate) fn parse_into<S: ItemSink + Send>(
    source: &str,
    new_sink: &(dyn Fn() -> S + Sync),
) -> (Parsed, Vec<(S, ast::Names)>) {
    parallel::parse_into(source, new_sink)
}

/// [`parse_into`] with the source cut into `parts` parts whatever its
/// size, for tests that the cuts change nothing.
#[cfg(test)]
pub(crate) fn parse_into_parts<S: ItemSink + Send>(
    source: &str,
    parts: usize,
    new_sink: &(dyn Fn() -> S + Sync),
) -> (Parsed, Vec<(S, ast::Names)>) {
    parallel::parse_into_parts(source, parts, new_sink)
}

/// One part of a source, parsed.
struct Part<S> {
    parsed: Parsed,
    /// The part's last item ended before the part did (at a newline or a
    /// `;`), so the next part starts a new item.
    ends_between_items: bool,
    /// What the part's items were handed to.
    sink: S,
}

/// Parses the items of `source[start..end]` (`start` is where an item
/// starts, `end` the end of the source or of a line), each taken from
/// `budget`, shared with the source's other parts, and handed to `sink`.
fn parse_part<S: ItemSink>(
    source: &str,
    start: usize,
    end: usize,
    budget: &ItemBudget,
    mut sink: S,
) -> Part<S> {
    let mut allowance = ItemAllowance::new(budget);
    let mut layout = Layout::new(&source[start..end], start);
    let parser = grammar::ItemParser::new();
    let mut parsed = Parsed::default();
    let mut syntax_errors = Diagnostics::new();
    let mut tree = Tree::new(source);
    let mut item = ItemState::default();
    let mut ends_between_items = true;
    while let Some((first, mut tokens)) = layout.next_item(&mut item) {
        if !allowance.take() {
            // The parts that read this far are refused as a whole: the
            // rest of the source is not read.
            parsed.too_many_items = true;
            ends_between_items = true;
            break;
        }
        let mark = tree.mark();
        let result = parser.parse(&mut tree, std::iter::once(Ok(first)).chain(&mut tokens));
        match result {
            Ok(()) => {
                let parsed_item = tree.program.items[tree.program.items.len() - 1];
                let root = match parsed_item {
                    ast::Item::Func(def) => def.body,
                    ast::Item::Expr(expr) => expr,
                };
                if tree.height(root) as usize > nesting::MAX_NESTING
                    && let Some(error) = nesting::too_deep(&tree.program, parsed_item)
                {
                    // The stages after parsing never see the item.
                    if let ast::Item::Func(def) = parsed_item {
                        let name = &tree.program.names[def.name.name];
                        parsed.broken_definitions.push(name.to_owned());
                    }
                    tree.undo(mark);
                    syntax_errors.push(error);
                } else {
                    tree.heights_done();
                    sink.item(&tree.program, parsed_item);
                    if !S::KEEPS_TREE {
                        tree.clear();
                    }
                }
            }
            Err(error) => {
                tree.undo(mark);
                let state = tokens.state();
                let at_end_of_input = matches!(error, ParseError::UnrecognizedEof { .. })
                    && state.ended_by == Terminator::EndOfInput;
                parsed.incomplete |= at_end_of_input;
                let context = ErrorContext {
                    source,
                    item: state,
                };
                syntax_errors.push(context.diagnose(error));
                tokens.drain();
                if let Some(name) = tokens.state().defines {
                    parsed.broken_definitions.push(source[name.start..name.end].to_owned());
                }
            }
        }
        ends_between_items = tokens.state().ended_by != Terminator::EndOfInput;
    }
    parsed.program = tree.program;
    // The lexer's errors first where both point at the same place.
    parsed.errors = layout.into_errors();
    parsed.errors.append(syntax_errors);
    Part {
        parsed,
        ends_between_items,
        sink,
    }
}

/// What is needed to turn a parse error of one item into a diagnostic.
struct ErrorContext<'a> {
    source: &'a str,
    /// What was recorded of the item up to the error: the token the grammar
    /// refused is the last one read.
    item: &'a ItemState,
}

impl ErrorContext<'_> {
    fn diagnose(&self, error: ParseError<usize, Token, RefusedToken>) -> Diagnostic {
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
                error: RefusedToken::NestedTooDeeply(span),
            } => nesting::nested_too_deeply(span),
            ParseError::User {
                error: RefusedToken::ChainedComparison(span),
            } => Diagnostic::new(
                ErrorCode::ChainedComparison,
                "comparison operators cannot be chained",
                span,
            )
            .with_label("a second comparison")
            .with_help("combine comparisons with `&&`, as in `a < b && b < c`"),
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
        let end = self.item.span().end;
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
    fn unexpected_token(&self, span: Span, token: Token, expected: &[String]) -> Diagnostic {
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
        if token == Token::RParen && self.item.last_is_unmatched_close {
            return Diagnostic::new(ErrorCode::UnmatchedParen, "unmatched `)`", span)
                .with_label("there is no `(` for this to close");
        }
        let wanted = describe_expected(expected);
        let shown = token.shown(&self.source[span.start..span.end]);
        let mut diagnostic = Diagnostic::new(
            ErrorCode::SyntaxError,
            format!("expected {wanted}, found {shown}"),
            span,
        )
        .with_label(match token {
            Token::Ident | Token::Int => "unexpected here".to_owned(),
            _ => format!("unexpected {shown}"),
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
            && let Some(open) = self.item.open_before_last
        {
            diagnostic = diagnostic.with_related(
                Span::new(open, open + 1),
                "the `(` opened here is not closed yet",
            );
        }
        diagnostic
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
        let program = &parsed.program;
        let ast::Item::Expr(expr) = program.items[0] else {
            panic!("not an expression")
        };
        let expr = program.node(expr);
        assert_eq!(expr.span(), Span::new(0, 11));
        let ast::ExprKind::Binary { op, op_start, rhs, .. } = expr.kind else {
            panic!("not binary")
        };
        assert_eq!(ast::ExprKind::binary_op_span(op, op_start), Span::new(2, 3));
        assert_eq!(program.node(rhs).span(), Span::new(4, 11));
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
