//! Comparisons do not chain. The grammar reads infix operators flat
//! (`parser::tree` gives them their precedence), so [`ChainCheck`] refuses
//! a chained comparison (`a < b < c`) as the second comparison's token
//! reaches the parser: there, and not when the chain is finished, because
//! a later syntax error in the same item must not hide it.

use crate::ast::Span;
use crate::lexer::Token;

/// A comparison operator right after a comparison's right operand (the
/// grammar's user error): its span.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChainedComparison(pub(crate) Span);

/// Watches an item's tokens on their way to the parser for a comparison
/// whose left operand is itself a comparison. Comparisons do not chain: a
/// comparison's operands bind more tightly than it, so a second one at the
/// same parenthesis depth, with nothing looser (`&&`, `||`, `,`, a keyword,
/// `=`) between, right after an operand, is exactly where the grammar of
/// non-associative comparisons stopped.
#[derive(Debug, Default)]
pub(crate) struct ChainCheck {
    /// `compared` of each enclosing parenthesis depth.
    outer: Vec<bool>,
    /// A comparison was read at this depth since the last looser token.
    compared: bool,
    /// The last token ended an operand.
    after_operand: bool,
}

impl ChainCheck {
    /// The check at the start of an item, with the list's room kept.
    pub(crate) fn reset(&mut self) {
        let mut outer = std::mem::take(&mut self.outer);
        outer.clear();
        *self = ChainCheck {
            outer,
            ..ChainCheck::default()
        };
    }

    /// Looks at the next token of the item. (Inlined: it runs for every
    /// token.)
    #[inline]
    pub(crate) fn next(
        &mut self,
        token: Token,
        span: Span,
    ) -> Result<(), ChainedComparison> {
        match token {
            Token::LParen => self.outer.push(std::mem::replace(&mut self.compared, false)),
            Token::RParen => self.compared = self.outer.pop().unwrap_or(false),
            _ if token.is_comparison() => {
                if self.compared && self.after_operand {
                    return Err(ChainedComparison(span));
                }
                self.compared = true;
            }
            Token::AndAnd
            | Token::OrOr
            | Token::Comma
            | Token::Assign
            | Token::Fn
            | Token::If
            | Token::Then
            | Token::Else
            | Token::Let
            | Token::In => self.compared = false,
            _ => {}
        }
        self.after_operand = matches!(token, Token::Ident | Token::Int | Token::RParen);
        Ok(())
    }
}
