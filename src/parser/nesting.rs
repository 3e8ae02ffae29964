//! The nesting limit: counted on each item's tokens as they pass
//! ([`NestingCount`], which bounds the parser's stack), and on the tree as
//! the parser makes each node (`Tree::height`); only an item past the
//! limit is walked ([`too_deep`]), to find the node the error points at.

use crate::ast::{Item, Program, Span};
use crate::diag::{Diagnostic, ErrorCode};
use crate::lexer::Token;

/// Deepest expression nesting accepted. The later stages recurse at most
/// once per level (a left-leaning operator chain not at all) on a stack
/// sized for this (`pipeline::COMPILER_STACK_SIZE`); deeper input gets a
/// clear error instead of a crash.
pub const MAX_NESTING: usize = 1_000_000;

/// The error for `item` if its expression nests deeper than
/// [`MAX_NESTING`] (the parser asks only for an item whose height says
/// so): at the first node past the limit in a walk with an explicit stack
/// (which cannot overflow itself), last child first.
pub(super) fn too_deep(program: &Program, item: Item) -> Option<Diagnostic> {
    let root = match item {
        Item::Func(def) => def.body,
        Item::Expr(expr) => expr,
    };
    let mut work = vec![(root, 1usize)];
    let mut children = Vec::new();
    while let Some((id, depth)) = work.pop() {
        let node = program.node(id);
        if depth > MAX_NESTING {
            return Some(nested_too_deeply(node.span()));
        }
        program.push_children(node, &mut children);
        work.extend(children.drain(..).map(|child| (child, depth + 1)));
    }
    None
}

/// The error for an expression whose nesting passes [`MAX_NESTING`] at
/// `span`.
pub(super) fn nested_too_deeply(span: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NestedTooDeeply,
        "expression nested too deeply",
        span,
    )
    .with_label(format!("more than {MAX_NESTING} levels of nesting"))
}

/// What an open construct of the item being read waits for. The grammar's
/// stack holds a few symbols for each, so counting them bounds it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Open {
    /// `(` (of a call or a parenthesized expression): its `)`.
    Paren,
    /// A prefix operator: its operand, which ends at the next atom.
    Prefix,
    /// `if`: its `then`, then its `else`, then the end of the expression
    /// around it.
    IfCondition,
    IfThen,
    IfElse,
    /// `let`: its `in`, then the end of the expression around it.
    LetValue,
    LetBody,
}

/// The nesting of an item counted as its tokens pass, before the grammar
/// has built anything: one level for each `(`, prefix operator, `if` and
/// `let` still open. The grammar's stack grows with these and only these
/// (chains of infix operators, argument and parameter lists reduce as
/// they go), so refusing the item when the count passes [`MAX_NESTING`]
/// bounds the parser's memory by the limit, not by the source's length:
/// `((((...` or `- - - ...` filling a file is refused at its millionth
/// level, where the grammar's stack (and then the tree) used to grow with
/// the whole depth first, 60 to 80 bytes per source byte.
///
/// Each open construct counted is a node around the token on the tree,
/// except a parenthesis that only groups: the count is at most the depth
/// [`too_deep`] measures, plus the grouping parentheses open.
#[derive(Debug, Default)]
pub(super) struct NestingCount {
    open: Vec<Open>,
    /// The last token was a name: a call if `(` follows, else an atom.
    after_name: bool,
    /// The last token ended an operand, so a `-` is infix.
    after_operand: bool,
}

/// The token that took an item's nesting past [`MAX_NESTING`]: its span.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TooDeep(pub(crate) Span);

impl NestingCount {
    /// The count at the start of an item, with the list's room kept.
    pub(super) fn reset(&mut self) {
        let mut open = std::mem::take(&mut self.open);
        open.clear();
        *self = NestingCount {
            open,
            ..NestingCount::default()
        };
    }

    /// Counts the item's next token, `token` at `span`. (Inlined: it runs
    /// for every token, and its call cost more than its work.)
    #[inline]
    pub(super) fn next(&mut self, token: Token, span: Span) -> Result<(), TooDeep> {
        if std::mem::take(&mut self.after_name) && token != Token::LParen {
            self.atom_ended();
        }
        match token {
            Token::LParen => self.open.push(Open::Paren),
            Token::RParen => {
                self.close_to(Open::Paren);
                if self.open.last() == Some(&Open::Paren) {
                    self.open.pop();
                }
                self.atom_ended();
            }
            Token::Comma => self.close_to(Open::Paren),
            Token::Minus | Token::Bang | Token::Tilde if !self.after_operand => {
                self.open.push(Open::Prefix);
            }
            Token::If => self.open.push(Open::IfCondition),
            Token::Then => self.advance(Open::IfCondition, Open::IfThen),
            Token::Else => self.advance(Open::IfThen, Open::IfElse),
            Token::Let => self.open.push(Open::LetValue),
            Token::In => self.advance(Open::LetValue, Open::LetBody),
            Token::Int => self.atom_ended(),
            Token::Ident => self.after_name = true,
            _ => {}
        }
        self.after_operand = matches!(token, Token::Ident | Token::Int | Token::RParen);
        if self.open.len() > MAX_NESTING {
            return Err(TooDeep(span));
        }
        Ok(())
    }

    /// An operand is complete: so are the prefix operators waiting for it.
    fn atom_ended(&mut self) {
        while self.open.last() == Some(&Open::Prefix) {
            self.open.pop();
        }
    }

    /// A `,` or `)`: everything opened since the innermost `(` ends (an
    /// `if` or `let` extends as far right as it can).
    fn close_to(&mut self, kind: Open) {
        while self.open.last().is_some_and(|&open| open != kind && open != Open::Paren) {
            self.open.pop();
        }
    }

    /// A `then`, `else` or `in`: what was opened since the innermost `from`
    /// ends, and `from` goes on as `to`. (Without a `from` before the
    /// innermost `(`, the grammar refuses the token.)
    fn advance(&mut self, from: Open, to: Open) {
        self.close_to(from);
        if let Some(open) = self.open.last_mut()
            && *open == from
        {
            *open = to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Tokens;

    /// The deepest count reached over `source`'s tokens.
    fn deepest(source: &str) -> usize {
        let mut count = NestingCount::default();
        let mut deepest = 0;
        for (start, token, end) in Tokens::new(source) {
            count.next(token, Span::new(start, end)).expect("within the limit");
            deepest = deepest.max(count.open.len());
        }
        deepest
    }

    #[test]
    fn counts_what_is_open_not_what_was_read() {
        assert_eq!(deepest("1 + 2 * 3 - 4"), 0);
        assert_eq!(deepest("- - 1 + - 2"), 2);
        assert_eq!(deepest("a - -b"), 1);
        assert_eq!(deepest("((1)) + (2)"), 2);
        assert_eq!(deepest("f(-1, -2, -3)"), 2);
        assert_eq!(deepest("-f(x)"), 2);
        assert_eq!(deepest("if a then b else if c then d else e"), 2);
        assert_eq!(deepest("if if a then b else c then d else e"), 2);
        assert_eq!(deepest("f(if a then b else c, if d then e else g)"), 2);
        assert_eq!(deepest("let x = let y = 1 in y in let z = x in z"), 2);
        assert_eq!(deepest("fn f(a, b) = a"), 1);
    }

    #[test]
    fn a_long_list_of_flat_items_stays_flat() {
        let args: Vec<String> = (0..1000).map(|i| format!("-{i}")).collect();
        assert_eq!(deepest(&format!("f({})", args.join(", "))), 2);
        let lets: String = (0..1000).map(|i| format!("let x{i} = -{i} in ")).collect();
        assert_eq!(deepest(&format!("{lets}x0")), 1001);
    }
}
