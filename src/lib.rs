//! exprjit compiles a small language of 64-bit integer functions
//! (`fn add(x, y) = x + y`, `if`/`then`/`else`, `let`/`in`, calls and
//! recursion) straight to x86-64 machine code in memory, and calls it.
//!
//! Compile a formula once, then call it as often as you like at the speed
//! of machine code:
//!
//! ```
//! # fn main() -> Result<(), exprjit::Error> {
//! let program = exprjit::compile("fn score(a, b) = a * 3 + b")?;
//! let score = program.func::<2>("score")?; // name and arity checked here
//! assert_eq!(score.call([4, 5])?, 17);
//! assert_eq!(exprjit::eval("1 + 2 * 3")?, 7);
//! # Ok(())
//! # }
//! ```
//!
//! - [`compile`], [`compile_named`] and [`compile_with`] (a [`Config`] with
//!   the stack size) give a [`Program`]; [`eval`] compiles and evaluates at
//!   once.
//! - [`Program::func`] gives a [`Func`] whose arity is part of its type;
//!   [`Program::func_dyn`] a [`DynFunc`] whose arity is checked per call,
//!   for formulas whose variables are known only at run time.
//! - [`Func::call_many`] and [`DynFunc::call_many`] run one formula over
//!   many rows in one entry into the generated code.
//! - An [`Interrupt`] stops a running call from another thread.
//! - Errors are values: [`CompileError`], [`LookupError`] and
//!   [`RuntimeError`] (division by zero, stack overflow), each with an
//!   [`ErrorCode`] (listed in `docs/errors.md`) and a source location;
//!   [`Error`] is any of them.
//!
//! Generated code is never writable and executable at once, and a mistake
//! in a formula is an error, never a crash. The command-line tool and its
//! REPL come with the default `cli` feature; a library user can build
//! without it (`default-features = false`), and so without `clap` and
//! `rustyline`. How the compiler is built is in `ARCHITECTURE.md`.

// Without the `cli` feature the interpreter, the disassembler and the
// REPL's helpers still compile (the pipeline names them) but nothing calls
// them; dead code is checked in the default build, where everything is used.
#![cfg_attr(not(feature = "cli"), allow(dead_code))]

/// Declares the compiler's stages: private to the crate, so that the
/// compiler reports dead code in them, and public (but hidden from the
/// docs) with the `internals` feature, which only exprjit's own tests,
/// benchmarks and fuzz targets turn on.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(feature = "internals")]
            #[doc(hidden)]
            pub mod $name;
            #[cfg(not(feature = "internals"))]
            mod $name;
        )*
    };
}

internal_modules! {
    lexer, parser, ast, check, ir,
    codegen, artifact, abi, jit, interp, fault,
    pipeline, diag, suggest, disasm, perf_map, perf_jitdump, debuginfo,
}

mod api;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[cfg(feature = "cli")]
mod continuation;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
#[cfg(feature = "cli")]
mod repl;
// The REPL's model of a session; public with `internals` for the memory
// test of redefinitions.
#[cfg(all(feature = "cli", feature = "internals"))]
#[doc(hidden)]
pub mod session;
#[cfg(all(feature = "cli", not(feature = "internals")))]
mod session;

pub use api::{
    CompileError, Config, DEFAULT_SOURCE_NAME, Diagnostic, DynFunc, Error, ErrorCode, Func,
    FunctionInfo, Interrupt, LookupError, Program, Related, RuntimeError, compile, compile_named,
    compile_with, eval,
};
