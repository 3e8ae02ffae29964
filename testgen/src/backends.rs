//! Everything this crate takes from exprjit's internals, in one place: the
//! operator lists, the front end, the two back ends and their runtime
//! errors. When exprjit's module paths change, this file is the one to fix.

use exprjit::ast::{BinOp, UnOp};
use exprjit::diag::SourceFile;
use exprjit::fault::Fault;
use exprjit::ir;
use exprjit::pipeline::{self, Backend, Runner, Timings};

use crate::agree::ErrorKind;

/// Every infix operator, the language's own list.
pub(crate) const BINARY_OPS: [BinOp; 18] = BinOp::ALL;

/// Every prefix operator, the language's own list.
pub(crate) const UNARY_OPS: [UnOp; 3] = UnOp::ALL;

/// The two back ends compared.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Jit,
    Interp,
}

impl Side {
    pub(crate) fn name(self) -> &'static str {
        self.backend().name()
    }

    fn backend(self) -> Backend {
        match self {
            Side::Jit => Backend::Jit,
            Side::Interp => Backend::Interp,
        }
    }
}

/// A program that passed the front end.
pub(crate) struct Checked {
    program: ir::CheckedProgram,
}

/// Parses and checks `source`; on failure, the rendered diagnostics.
pub(crate) fn check(source: &str) -> Result<Checked, String> {
    match pipeline::front_end(source, &mut Timings::default()) {
        Ok(program) => Ok(Checked { program }),
        Err(diagnostics) => {
            let file = SourceFile::new("generated.ex", source);
            Err(diagnostics.iter().map(|d| d.render(&file)).collect())
        }
    }
}

impl Checked {
    /// The functions holding the top-level expressions, in order.
    pub(crate) fn top_level(&self) -> &[usize] {
        &self.program.top_level
    }

    /// The name of function `func` (a description for a top-level
    /// expression), if there is such a function.
    pub(crate) fn name(&self, func: usize) -> Option<&str> {
        self.program.funcs.get(func).map(|f| f.name.as_str())
    }

    /// The source line (from 1) where function `func` is named (for a
    /// top-level expression: where it starts).
    pub(crate) fn line(&self, func: usize, source: &str) -> Option<usize> {
        let start = self.program.funcs.get(func)?.name_span.start;
        Some(line_of(source, start))
    }

    /// The number of parameters of function `func`.
    pub(crate) fn params(&self, func: usize) -> Option<usize> {
        self.program.funcs.get(func).map(|f| f.arity)
    }

    /// Prepares the program for one back end (the JIT generates and loads
    /// its code here).
    pub(crate) fn prepare(&self, side: Side) -> std::io::Result<Prepared<'_>> {
        Runner::new(&self.program, side.backend(), &mut Timings::default())
            .map(|runner| Prepared { runner })
    }
}

/// A program ready to run on one back end.
pub(crate) struct Prepared<'p> {
    runner: Runner<'p>,
}

impl Prepared<'_> {
    /// Calls function `func` with `args`; the outer error is the system
    /// refusing memory for the JIT stack.
    pub(crate) fn call(&self, func: usize, args: &[i64]) -> std::io::Result<Outcome> {
        self.runner.call(func, args, None).map(Outcome)
    }
}

/// What one call gave: a value, or a runtime error with its kind, function
/// and source span, all of which take part in comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outcome(Result<i64, Fault>);

impl Outcome {
    pub(crate) fn is_err(&self) -> bool {
        self.0.is_err()
    }

    pub(crate) fn value(&self) -> Option<i64> {
        self.0.as_ref().ok().copied()
    }

    pub(crate) fn error_kind(&self) -> Option<ErrorKind> {
        match self.0.as_ref().err()? {
            Fault::DivisionByZero { .. } => Some(ErrorKind::DivisionByZero),
            Fault::StackOverflow { .. } => Some(ErrorKind::StackOverflow),
            Fault::Interrupted => Some(ErrorKind::Interrupted),
            Fault::UndefinedFunction { .. } => Some(ErrorKind::UndefinedFunction),
        }
    }

    /// The outcome for a report: the value, or the error with the function
    /// it is in and the source text, line and bytes it points at.
    pub(crate) fn describe(&self, checked: &Checked, source: &str) -> String {
        let error = match &self.0 {
            Ok(value) => return format!("{value}"),
            Err(error) => error,
        };
        let (what, func, span) = match error {
            Fault::DivisionByZero { func, span } => ("division by zero", *func, *span),
            Fault::StackOverflow { func, span, .. } => ("stack overflow", *func, *span),
            Fault::UndefinedFunction { func, span, .. } => ("undefined function", *func, *span),
            Fault::Interrupted => return "error: interrupted".to_string(),
        };
        let name = checked.name(func).unwrap_or("<no such function>");
        let line = line_of(source, span.start);
        let text = source
            .get(span.start..span.end)
            .unwrap_or("<outside the source>");
        format!(
            "error: {what} in function {func} ({name}) at bytes {}..{} (line {line}): `{text}`",
            span.start, span.end
        )
    }
}

/// The line (from 1) of byte `offset` of `source`.
fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
