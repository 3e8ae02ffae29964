//! Infix operators: the grammar reads `a + b * c - d` as a flat chain of
//! operands and operators, and [`Chains`] gives the operators their
//! precedence and associativity (precedence climbing, shunting-yard style,
//! on one operator stack shared by every chain of an item). A nested chain
//! (in parentheses, an argument, a branch) is finished before the chain
//! around it goes on, so all chains can share the stacks.
//!
//! [`ChainCheck`] refuses a chained comparison (`a < b < c`) as the second
//! comparison's token reaches the parser: there, and not when the chain is
//! finished, because a later syntax error in the same item must not hide it.

use crate::ast::{BinOp, Expr, ExprKind, Span};
use crate::lexer::Token;

/// Where a chain starts on [`Chains`]' operator stack (the value the
/// grammar's `Chain` nonterminal carries).
pub(crate) type ChainStart = usize;

/// A comparison operator right after a comparison's right operand (the
/// grammar's user error): its span.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChainedComparison(pub(crate) Span);

/// The shared stacks of the chains being read.
#[derive(Debug, Default)]
pub(crate) struct Chains {
    operands: Vec<Expr>,
    operators: Vec<(BinOp, Span)>,
}

impl Chains {
    /// Forgets what an item that failed to parse left behind.
    pub(crate) fn clear(&mut self) {
        self.operands.clear();
        self.operators.clear();
    }

    /// A chain starts with its first operand.
    pub(crate) fn start(&mut self, first: Expr) -> ChainStart {
        self.operands.push(first);
        self.operators.len()
    }

    /// The chain that started at `start` goes on with `op rhs`. The
    /// operators on the stack that bind at least as tightly as `op` (all
    /// operators are left-associative; comparisons never meet another
    /// comparison here) take their operands first.
    pub(crate) fn push(&mut self, start: ChainStart, op: BinOp, op_span: Span, rhs: Expr) {
        let level = precedence(op);
        while self.operators.len() > start
            && precedence(self.operators[self.operators.len() - 1].0) >= level
        {
            self.apply_top();
        }
        self.operators.push((op, op_span));
        self.operands.push(rhs);
    }

    /// The chain that started at `start` has ended: its tree.
    pub(crate) fn finish(&mut self, start: ChainStart) -> Expr {
        while self.operators.len() > start {
            self.apply_top();
        }
        self.operands
            .pop()
            .expect("a chain has at least one operand")
    }

    /// Replaces the top two operands by the top operator applied to them.
    fn apply_top(&mut self) {
        let (op, op_span) = self.operators.pop().expect("an operator to apply");
        let rhs = self.operands.pop().expect("a right operand");
        let lhs = self.operands.pop().expect("a left operand");
        let span = lhs.span.to(rhs.span);
        self.operands.push(Expr {
            span,
            kind: ExprKind::Binary {
                op,
                op_span,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        });
    }
}

/// How tightly `op` binds, the same order as Rust: `||`, `&&`,
/// comparisons, `|`, `^`, `&`, shifts, `+ -`, `* / %`.
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::BitOr => 4,
        BinOp::BitXor => 5,
        BinOp::BitAnd => 6,
        BinOp::Shl | BinOp::Shr => 7,
        BinOp::Add | BinOp::Sub => 8,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 9,
    }
}

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
    /// Looks at the next token of the item.
    pub(crate) fn next(
        &mut self,
        token: Token<'_>,
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
        self.after_operand = matches!(token, Token::Ident(_) | Token::Int(_) | Token::RParen);
        Ok(())
    }
}
