//! The checked program: every name resolved, every call's arity verified.
//!
//! Code generation and any other back end consume this tree and never see
//! names: variables are numbered slots of their function, calls name a
//! function by index.

use crate::ast::{BinOp, Span, UnOp};

/// Index of a function in [`CheckedProgram::funcs`].
pub type FuncId = usize;

/// A function's number in the whole program or REPL session, which its
/// definition keeps when it is replaced: the slot of the session's
/// function table that holds its code. (In a program compiled on its own,
/// the same as its [`FuncId`].)
pub type GlobalId = usize;

/// Index of a variable (parameter or `let` binding) within its function.
/// Parameters are `0..arity`; each `let` gets the next free index.
pub type LocalId = usize;

/// A program ready for code generation.
#[derive(Clone, Debug, Default)]
pub struct CheckedProgram {
    /// The user's functions, then one zero-parameter function per top-level
    /// expression.
    pub funcs: Vec<Func>,
    /// The functions holding the top-level expressions, in source order.
    pub top_level: Vec<FuncId>,
    /// The items of the checked source, in order.
    pub items: Vec<Item>,
}

/// An item of the checked source.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A function definition.
    Def(FuncId),
    /// A top-level expression, held by a zero-parameter function.
    Expr(FuncId),
}

/// One function.
#[derive(Clone, Debug)]
pub struct Func {
    /// The user's name, or a description such as `<top-level expression 1>`.
    pub name: String,
    /// Where the name is written (for a top-level expression: the expression).
    pub name_span: Span,
    /// How the user declared it, e.g. `add(x, y)`.
    pub signature: String,
    /// Number of parameters.
    pub arity: usize,
    /// Parameters plus `let` bindings: the number of distinct [`LocalId`]s.
    pub locals: usize,
    pub body: Expr,
    /// What the function is to the world outside this program.
    pub link: Link,
    /// For a definition: from its name to the end of its body, the text a
    /// REPL session compiles again when the function must be recompiled
    /// (the `fn` before it is found in the text).
    pub def_span: Span,
}

/// How a function of a [`CheckedProgram`] is linked to the code outside it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Defined here: the program's (or session's) function `GlobalId`.
    Defined(GlobalId),
    /// A top-level expression: nothing calls it.
    TopLevel,
    /// Only declared here, for the calls of this program into another
    /// entry of a REPL session: the session's function `GlobalId`, reached
    /// through the function table, which may not be defined yet. Its
    /// `body` is unused.
    External(GlobalId),
}

impl Func {
    /// True for a declaration of a function of another entry
    /// ([`Link::External`]): it has no code here and is never inlined.
    pub fn is_external(&self) -> bool {
        matches!(self.link, Link::External(_))
    }
}

/// An expression. Spans are kept where a runtime error can point, and on
/// calls and `if`s for the line table of debug info (`-g`).
#[derive(Clone, Debug)]
pub enum Expr {
    Int(i64),
    Local(LocalId),
    Call {
        func: FuncId,
        args: Vec<Expr>,
        /// The whole call, name to closing parenthesis.
        span: Span,
    },
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        /// The operator, where a division by zero is reported.
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then_branch: Box<Expr>,
        else_branch: Box<Expr>,
        /// The whole `if ... then ... else ...`.
        span: Span,
    },
    Let {
        local: LocalId,
        value: Box<Expr>,
        body: Box<Expr>,
    },
}

impl Expr {
    /// True for expressions that are a constant or a variable: they cannot
    /// fail, have no effects, and can be read at any time.
    pub fn is_leaf(&self) -> bool {
        matches!(self, Expr::Int(_) | Expr::Local(_))
    }

    /// True if this expression calls `func` anywhere.
    pub fn calls(&self, func: FuncId) -> bool {
        let mut work = vec![self];
        while let Some(expr) = work.pop() {
            if matches!(expr, Expr::Call { func: callee, .. } if *callee == func) {
                return true;
            }
            expr.push_children(&mut work);
        }
        false
    }

    /// Pushes the direct subexpressions onto `work`, for walks with an
    /// explicit stack (which survive any nesting depth).
    pub fn push_children<'e>(&'e self, work: &mut Vec<&'e Expr>) {
        match self {
            Expr::Int(_) | Expr::Local(_) => {}
            Expr::Call { args, .. } => work.extend(args),
            Expr::Unary { operand, .. } => work.push(operand),
            Expr::Binary { lhs, rhs, .. } => work.extend([&**lhs, rhs]),
            Expr::If {
                cond,
                then_branch,
                else_branch,
                ..
            } => work.extend([&**cond, then_branch, else_branch]),
            Expr::Let { value, body, .. } => work.extend([&**value, body]),
        }
    }
}
