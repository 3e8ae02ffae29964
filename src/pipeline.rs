//! The stages strung together, for the CLI (and later the REPL and the
//! library API): source text in, a loaded [`jit::Program`] or diagnostics out.

use std::time::{Duration, Instant};

use crate::ast::{self, ExprKind, Span};
use crate::diag::{Diagnostic, ErrorCode};
use crate::jit::Interrupt;
use crate::runtime_error::RuntimeError;
use crate::{check, codegen, interp, ir, jit, lexer, parser};

/// Deepest expression nesting accepted. The later stages recurse once per
/// level on a stack sized for this ([`COMPILER_STACK_SIZE`]); deeper input
/// gets a clear error instead of a crash.
pub const MAX_NESTING: usize = 2_000_000;

const NESTED_TOO_DEEPLY: &str = "expression nested too deeply";

/// Stack for the thread that compiles (the stages after parsing recurse per
/// nesting level). Reserved, not committed: only what is used costs memory.
pub const COMPILER_STACK_SIZE: usize = 4 << 30;

/// Wall time spent in each stage.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    pub lex: Duration,
    pub parse: Duration,
    pub check: Duration,
    pub codegen: Duration,
    pub load: Duration,
}

/// Converts raw bytes to text, or reports the first invalid UTF-8 sequence
/// together with a lossy text to show it in.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, Box<(String, Diagnostic)>> {
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let len = error.utf8_error().error_len().unwrap_or(1);
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        let diagnostic = Diagnostic::new(
            ErrorCode::InvalidUtf8,
            "invalid UTF-8 in source",
            Span::new(at, at + len),
        )
        .with_label("this byte is not valid UTF-8")
        .with_help("exprjit source files must be encoded as UTF-8");
        Box::new((text, diagnostic))
    })
}

/// Parses and checks `source`, in which the `earlier` definitions (of a
/// REPL session) are visible; see [`check::check_with`].
pub fn front_end(
    source: &str,
    earlier: &[ir::Func],
    timings: &mut Timings,
) -> Result<ir::Program, Vec<Diagnostic>> {
    let start = Instant::now();
    let lexed = lexer::tokenize(source);
    timings.lex = start.elapsed();
    let start = Instant::now();
    let parsed = parser::parse_tokens(source, lexed);
    let mut errors = parsed.errors;
    errors.extend(nesting_errors(&parsed.program));
    timings.parse = start.elapsed();
    if !errors.is_empty() {
        // Still check what did parse, so that every error is reported at
        // once; the checker's stages recurse, so not past the nesting limit.
        if !errors.iter().any(|e| e.message == NESTED_TOO_DEEPLY)
            && let Err(more) =
                check::check_with(&parsed.program, earlier, &parsed.broken_definitions)
        {
            errors.extend(more);
        }
        errors.sort_by_key(|error| error.span.start);
        return Err(errors);
    }
    let start = Instant::now();
    let checked = check::check_with(&parsed.program, earlier, &[]);
    timings.check = start.elapsed();
    checked
}

/// Generates code for `program` and loads it into executable memory.
pub fn back_end(program: &ir::Program, timings: &mut Timings) -> std::io::Result<jit::Program> {
    let start = Instant::now();
    let compiled = codegen::lower::compile(program);
    timings.codegen = start.elapsed();
    let start = Instant::now();
    let loaded = jit::Program::load(program, compiled);
    timings.load = start.elapsed();
    loaded
}

/// Which back end runs a checked program.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// Compile to machine code and run it (the real thing).
    #[default]
    Jit,
    /// Walk the checked tree with the reference interpreter ([`interp`]).
    Interp,
}

/// A checked program made ready to run by a [`Backend`].
pub enum Runner<'p> {
    Jit(jit::Program),
    Interp(&'p ir::Program),
}

impl<'p> Runner<'p> {
    /// Prepares `program` for `backend`: the JIT generates and loads code,
    /// the interpreter needs nothing.
    pub fn new(
        program: &'p ir::Program,
        backend: Backend,
        timings: &mut Timings,
    ) -> std::io::Result<Runner<'p>> {
        Ok(match backend {
            Backend::Jit => Runner::Jit(back_end(program, timings)?),
            Backend::Interp => Runner::Interp(program),
        })
    }

    /// Calls function `func` with `args` (which must match its arity);
    /// `interrupt`, if given, can stop the call. The outer error is the
    /// system refusing memory for the JIT stack.
    pub fn call(
        &self,
        func: ir::FuncId,
        args: &[i64],
        interrupt: Option<&Interrupt>,
    ) -> std::io::Result<Result<i64, RuntimeError>> {
        match self {
            Runner::Jit(loaded) => loaded.call(func, args, interrupt),
            Runner::Interp(program) => Ok(interp::call(program, func, args, interrupt)),
        }
    }

    /// The loaded machine code, if the JIT prepared it.
    pub fn into_jit(self) -> Option<jit::Program> {
        match self {
            Runner::Jit(loaded) => Some(loaded),
            Runner::Interp(_) => None,
        }
    }
}

/// Reports every item whose expressions nest deeper than [`MAX_NESTING`].
/// Walks with an explicit stack so that it cannot overflow itself.
fn nesting_errors(program: &ast::Program) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for item in &program.items {
        let root = match item {
            ast::Item::Func(def) => &def.body,
            ast::Item::Expr(expr) => expr,
        };
        let mut work = vec![(root, 1usize)];
        while let Some((expr, depth)) = work.pop() {
            if depth > MAX_NESTING {
                errors.push(
                    Diagnostic::new(ErrorCode::NestedTooDeeply, NESTED_TOO_DEEPLY, expr.span)
                        .with_label(format!("more than {MAX_NESTING} levels of nesting")),
                );
                break;
            }
            let depth = depth + 1;
            match &expr.kind {
                ExprKind::Int(_) | ExprKind::IntMinMagnitude | ExprKind::Var(_) => {}
                ExprKind::Call { args, .. } => work.extend(args.iter().map(|a| (a, depth))),
                ExprKind::Unary { operand, .. } => work.push((operand, depth)),
                ExprKind::Binary { lhs, rhs, .. } => {
                    work.push((lhs, depth));
                    work.push((rhs, depth));
                }
                ExprKind::If {
                    cond,
                    then_branch,
                    else_branch,
                } => work.extend([(&**cond, depth), (then_branch, depth), (else_branch, depth)]),
                ExprKind::Let { value, body, .. } => {
                    work.push((value, depth));
                    work.push((body, depth));
                }
            }
        }
    }
    errors
}
