//! Errors raised while a program runs, the same whichever back end runs it
//! (the JIT or the reference interpreter in [`crate::interp`]).

use crate::ast::Span;
use crate::diag::{Diagnostic, ErrorCode};
use crate::ir;

/// An error raised while a program ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeError {
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
    /// An [`Interrupt`](crate::jit::Interrupt) stopped the run.
    Interrupted,
}

impl RuntimeError {
    /// The function whose source the error points into, if any.
    pub fn func(&self) -> Option<ir::FuncId> {
        match self {
            RuntimeError::DivisionByZero { func, .. }
            | RuntimeError::StackOverflow { func, .. } => Some(*func),
            RuntimeError::Interrupted => None,
        }
    }

    /// The error as a diagnostic pointing at its source location.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            RuntimeError::DivisionByZero { span, .. } => {
                Diagnostic::new(ErrorCode::DivisionByZero, "division by zero", *span)
                    .with_label("the divisor is 0")
            }
            RuntimeError::StackOverflow { name, span, .. } => Diagnostic::new(
                ErrorCode::StackOverflow,
                format!("stack overflow in function '{name}'"),
                *span,
            )
            .with_label("recursion nested too deeply here"),
            RuntimeError::Interrupted => {
                Diagnostic::new(ErrorCode::Interrupted, "interrupted", Span::default())
            }
        }
    }
}
