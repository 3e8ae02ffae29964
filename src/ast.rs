//! The parsed program: a typed tree with a byte span on every node.
//!
//! Names are still strings here; `check` resolves them and produces the
//! [`crate::ir`] tree that code generation consumes.

use std::fmt;

/// A half-open byte range `start..end` into the source text.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl From<Span> for std::ops::Range<usize> {
    fn from(span: Span) -> Self {
        span.start..span.end
    }
}

/// A whole source file: its items in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    pub items: Vec<Item>,
}

/// One top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `fn name(params) = body`
    Func(FuncDef),
    /// A top-level expression, evaluated and printed when the program runs.
    Expr(Expr),
}

/// A name together with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `fn name(p1, p2, ...) = body`
#[derive(Clone, Debug, PartialEq)]
pub struct FuncDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub body: Expr,
    /// From `fn` to the end of the body.
    pub span: Span,
}

/// An expression node.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal (hex and binary literals already reinterpreted as
    /// their 64-bit pattern, `-9223372036854775808` already folded).
    Int(i64),
    /// The decimal literal `9223372036854775808`, which is only valid as the
    /// operand of unary minus. The parser folds `-9223372036854775808` into
    /// [`ExprKind::Int`]; anywhere else `check` reports it as out of range.
    IntMinMagnitude,
    /// A parameter or `let` binding.
    Var(String),
    /// `callee(args...)`
    Call { callee: Ident, args: Vec<Expr> },
    Unary {
        op: UnOp,
        op_span: Span,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then_branch: Box<Expr>,
        else_branch: Box<Expr>,
    },
    Let {
        name: Ident,
        value: Box<Expr>,
        body: Box<Expr>,
    },
}

/// Prefix operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`, wrapping.
    Neg,
    /// `!x`: 1 if x is 0, else 0.
    Not,
    /// `~x`: bitwise not.
    BitNot,
}

/// Infix operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    BitOr,
    BitXor,
    BitAnd,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl UnOp {
    /// Every prefix operator (for the tests' program generator).
    #[cfg(any(test, feature = "internals"))]
    pub const ALL: [UnOp; 3] = [UnOp::Neg, UnOp::Not, UnOp::BitNot];

    /// The operator's value on `operand`: the language's semantics, shared
    /// by the reference interpreter and constant folding.
    pub fn apply(self, operand: i64) -> i64 {
        match self {
            UnOp::Neg => operand.wrapping_neg(),
            UnOp::Not => i64::from(operand == 0),
            UnOp::BitNot => !operand,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Not => "!",
            UnOp::BitNot => "~",
        }
    }
}

impl BinOp {
    /// Every infix operator, lowest precedence first (for the tests'
    /// program generator).
    #[cfg(any(test, feature = "internals"))]
    pub const ALL: [BinOp; 18] = [
        BinOp::Or,
        BinOp::And,
        BinOp::Eq,
        BinOp::Ne,
        BinOp::Lt,
        BinOp::Le,
        BinOp::Gt,
        BinOp::Ge,
        BinOp::BitOr,
        BinOp::BitXor,
        BinOp::BitAnd,
        BinOp::Shl,
        BinOp::Shr,
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Rem,
    ];

    /// The operator's value on two evaluated operands, or `None` for a
    /// division or remainder by zero: the language's semantics, shared by the
    /// reference interpreter and constant folding. Arithmetic wraps, `/`
    /// truncates toward zero (`i64::MIN / -1` is `i64::MIN`), `%` takes the
    /// dividend's sign, shift counts are taken modulo 64 and `>>` is
    /// arithmetic. `&&` and `||` give the truth of both operands here; their
    /// short-circuit evaluation is the evaluator's business.
    pub fn apply(self, lhs: i64, rhs: i64) -> Option<i64> {
        Some(match self {
            BinOp::Or => i64::from(lhs != 0 || rhs != 0),
            BinOp::And => i64::from(lhs != 0 && rhs != 0),
            BinOp::Eq => i64::from(lhs == rhs),
            BinOp::Ne => i64::from(lhs != rhs),
            BinOp::Lt => i64::from(lhs < rhs),
            BinOp::Le => i64::from(lhs <= rhs),
            BinOp::Gt => i64::from(lhs > rhs),
            BinOp::Ge => i64::from(lhs >= rhs),
            BinOp::BitOr => lhs | rhs,
            BinOp::BitXor => lhs ^ rhs,
            BinOp::BitAnd => lhs & rhs,
            // `wrapping_shl` takes the count modulo 64, as x86 does.
            BinOp::Shl => lhs.wrapping_shl(rhs as u32),
            BinOp::Shr => lhs.wrapping_shr(rhs as u32),
            BinOp::Add => lhs.wrapping_add(rhs),
            BinOp::Sub => lhs.wrapping_sub(rhs),
            BinOp::Mul => lhs.wrapping_mul(rhs),
            BinOp::Div | BinOp::Rem if rhs == 0 => return None,
            BinOp::Div => lhs.wrapping_div(rhs),
            BinOp::Rem => lhs.wrapping_rem(rhs),
        })
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// True for `== != < <= > >=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

impl fmt::Display for UnOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// Renders the program as S-expressions, one item per line, e.g.
/// `(fn fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))`.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            match item {
                Item::Func(def) => {
                    let params: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
                    writeln!(
                        f,
                        "(fn {} ({}) {})",
                        def.name.name,
                        params.join(" "),
                        def.body
                    )?;
                }
                Item::Expr(expr) => writeln!(f, "{expr}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Int(value) => write!(f, "{value}"),
            ExprKind::IntMinMagnitude => f.write_str("9223372036854775808"),
            ExprKind::Var(name) => f.write_str(name),
            ExprKind::Call { callee, args } => {
                write!(f, "({}", callee.name)?;
                for arg in args {
                    write!(f, " {arg}")?;
                }
                f.write_str(")")
            }
            ExprKind::Unary { op, operand, .. } => write!(f, "({op} {operand})"),
            ExprKind::Binary { op, lhs, rhs, .. } => write!(f, "({op} {lhs} {rhs})"),
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => write!(f, "(if {cond} {then_branch} {else_branch})"),
            ExprKind::Let { name, value, body } => {
                write!(f, "(let {} {value} {body})", name.name)
            }
        }
    }
}
