//! Why a run stopped before it returned a value, the same whichever back
//! end ran it (the JIT or the reference interpreter in [`crate::interp`]).
//! The library wraps a [`Fault`] with its source as `api::RuntimeError`.

use crate::ast::Span;
use crate::diag::{Diagnostic, ErrorCode};
use crate::ir;

/// Why a run stopped: a trap (division by zero, stack overflow) or an
/// interrupt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `/` or `%` by zero, at the operator `span` in function `func`.
    DivisionByZero { func: ir::FuncId, span: Span },
    /// Recursion went too deep (it exhausted the JIT stack, or the
    /// interpreter's call-depth limit) on entry to `func`, whose name is at
    /// `span`.
    StackOverflow {
        func: ir::FuncId,
        name: String,
        span: Span,
    },
    /// A call at `span` in function `func` reached function `name`, which
    /// a REPL definition calls but no entry has defined yet.
    UndefinedFunction {
        func: ir::FuncId,
        name: String,
        span: Span,
    },
    /// An [`Interrupt`](crate::jit::LimitInterrupt) stopped the run.
    Interrupted,
}

impl Fault {
    /// The function whose source the error points into, if any.
    pub fn func(&self) -> Option<ir::FuncId> {
        match self {
            Fault::DivisionByZero { func, .. }
            | Fault::StackOverflow { func, .. }
            | Fault::UndefinedFunction { func, .. } => Some(*func),
            Fault::Interrupted => None,
        }
    }

    /// The error as a diagnostic pointing at its source location.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            Fault::DivisionByZero { span, .. } => {
                Diagnostic::new(ErrorCode::DivisionByZero, "division by zero", *span)
                    .with_label("the divisor is 0")
            }
            Fault::StackOverflow { name, span, .. } => Diagnostic::new(
                ErrorCode::StackOverflow,
                format!("stack overflow in function '{name}'"),
                *span,
            )
            .with_label("recursion nested too deeply here"),
            Fault::UndefinedFunction { name, span, .. } => Diagnostic::new(
                ErrorCode::UndefinedFunction,
                format!("function '{name}' is not defined yet"),
                *span,
            )
            .with_label(format!("'{name}' is called here"))
            .with_help(format!("define '{name}' in a later entry, then run this again")),
            Fault::Interrupted => {
                Diagnostic::new(ErrorCode::Interrupted, "interrupted", Span::default())
            }
        }
    }
}
